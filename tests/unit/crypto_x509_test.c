/* Unit tests for src/crypto certificates: PEM chains, public keys, names,
 * trust stores, path validation and the self-signed certificate maker.
 *
 * Uses the test PKI in tests/vectors/certs (scripts/gen-test-certs.sh);
 * expected DER fingerprints come from `openssl x509 -outform DER | openssl
 * dgst -sha256` (certs/fingerprints.txt). Validation uses injected times:
 * 2100-01-01 lies inside every test certificate's 100-year validity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/dk_crypto.h"
#include "crypto_test_util.h"

#define T_2100 INT64_C(4102444800) /* 2100-01-01T00:00:00Z */
#define T_1990 INT64_C(631152000)  /* 1990-01-01T00:00:00Z */
#define T_2200 INT64_C(7258118400) /* 2200-01-01T00:00:00Z */

static void cert_path(const char *name, char *out, size_t cap)
{
    snprintf(out, cap, "%s/certs/%s", DK_TEST_DATA_DIR, name);
}

static dk_trust *trust_of(const char *name)
{
    char path[1024];
    cert_path(name, path, sizeof path);
    dk_trust *t = dk_trust_new();
    assert_non_null(t);
    assert_int_equal(dk_trust_load_file(t, path), DK_OK);
    return t;
}

/* The fingerprint recorded by the generator for a certificate file. */
static void expected_fingerprint(const char *name, uint8_t out[32])
{
    char *txt = read_vector_file("certs/fingerprints.txt", NULL);
    size_t nl = strlen(name);
    for (char *line = txt; line && *line;) {
        if (strncmp(line, name, nl) == 0 && line[nl] == ' ') {
            char hex[65];
            memcpy(hex, line + nl + 1, 64);
            hex[64] = '\0';
            assert_int_equal(unhex(hex, out, 32), 32);
            free(txt);
            return;
        }
        line = strchr(line, '\n');
        if (line) line++;
    }
    free(txt);
    fail_msg("no fingerprint for %s", name);
}

static void assert_der_is(const uint8_t *der, size_t len, const char *name)
{
    uint8_t want[32], got[32];
    expected_fingerprint(name, want);
    assert_int_equal(dk_hash(DK_HASH_SHA256, der, len, got), DK_OK);
    assert_memory_equal(got, want, 32);
}

static void test_chain_from_pem(void **state)
{
    (void)state;
    dk_chain c;
    load_chain("ec-server-chain.pem", &c);
    assert_int_equal(c.n, 2);
    assert_der_is(c.der[0], c.len[0], "ec-server.pem");
    assert_der_is(c.der[1], c.len[1], "ec-ca.pem");
    dk_chain_clear(&c);
    assert_int_equal(c.n, 0);
    assert_null(c.der);
    dk_chain_clear(&c); /* twice is harmless */

    /* A private key block before the certificate is skipped. */
    size_t kl, cl;
    char *key = read_vector_file("certs/ec-server.key", &kl);
    char *cert = read_vector_file("certs/rsa-server.pem", &cl);
    char *both = malloc(kl + cl);
    memcpy(both, key, kl);
    memcpy(both + kl, cert, cl);
    assert_int_equal(dk_chain_from_pem(both, kl + cl, &c), DK_OK);
    assert_int_equal(c.n, 1);
    assert_der_is(c.der[0], c.len[0], "rsa-server.pem");
    dk_chain_clear(&c);

    /* No certificate at all, or a damaged one. */
    assert_int_equal(dk_chain_from_pem(key, kl, &c), DK_ERR_DECODE);
    assert_int_equal(c.n, 0);
    assert_int_equal(dk_chain_from_pem("hello", 5, &c), DK_ERR_DECODE);
    char *bad = strstr(cert, "\n") + 1;
    bad[10] = bad[10] == 'A' ? 'B' : 'A'; /* corrupt the DER inside the base64 */
    bad[11] = bad[11] == 'A' ? 'B' : 'A';
    assert_int_equal(dk_chain_from_pem(cert, cl, &c), DK_ERR_DECODE);
    assert_int_equal(c.n, 0);
    free(both);
    free(key);
    free(cert);
}

static void test_cert_public_key_and_cn(void **state)
{
    (void)state;
    const struct {
        const char *file, *cn;
        dk_pkey_type type;
    } rows[] = {
        {"ec-server.pem", "localhost", DK_PKEY_EC_P256},
        {"ec-client.pem", "client", DK_PKEY_EC_P256},
        {"ec384-server.pem", "localhost", DK_PKEY_EC_P384},
        {"rsa-server.pem", "localhost", DK_PKEY_RSA},
        {"ed25519.pem", "localhost", DK_PKEY_ED25519},
        {"ec-ca.pem", "dtlskit test EC CA", DK_PKEY_EC_P256},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        dk_chain c;
        load_chain(rows[i].file, &c);
        dk_pkey *k = NULL;
        assert_int_equal(dk_cert_public_key(c.der[0], c.len[0], &k), DK_OK);
        assert_int_equal(dk_pkey_get_type(k), rows[i].type);
        dk_pkey_free(k);
        char cn[64];
        dk_cert_subject_cn(c.der[0], c.len[0], cn, sizeof cn);
        assert_string_equal(cn, rows[i].cn);
        dk_cert_subject_cn(c.der[0], c.len[0], cn, 4);
        assert_string_equal(cn, rows[i].cn[0] == 'l' ? "loc" : rows[i].cn[0] == 'c' ? "cli" : "dtl");
        /* Trailing bytes or truncation: not a certificate. */
        uint8_t *ext = malloc(c.len[0] + 1);
        memcpy(ext, c.der[0], c.len[0]);
        ext[c.len[0]] = 0;
        assert_int_equal(dk_cert_public_key(ext, c.len[0] + 1, &k), DK_ERR_CERT);
        assert_null(k);
        assert_int_equal(dk_cert_public_key(ext, c.len[0] - 1, &k), DK_ERR_CERT);
        dk_cert_subject_cn(ext, c.len[0] - 1, cn, sizeof cn);
        assert_string_equal(cn, "");
        free(ext);
        dk_chain_clear(&c);
    }
}

/* Verify a PEM chain file; return the result and the reason. */
static dk_result verify_file(const dk_trust *t, const char *chain, const char *host, int64_t now,
                             bool server, char *reason, size_t cap)
{
    dk_chain c;
    load_chain(chain, &c);
    dk_result r = dk_chain_verify(t, (const uint8_t *const *)c.der, c.len, c.n, host, now, server,
                                  reason, cap);
    dk_chain_clear(&c);
    return r;
}

static void test_verify_ec_chain(void **state)
{
    (void)state;
    dk_trust *ec = trust_of("ec-ca.pem");
    char why[128];
    assert_int_equal(verify_file(ec, "ec-server-chain.pem", "localhost", T_2100, true, why, 128),
                     DK_OK);
    assert_string_equal(why, "");
    /* The leaf alone: the root is in the store. */
    assert_int_equal(verify_file(ec, "ec-server.pem", "localhost", T_2100, true, why, 128), DK_OK);
    assert_int_equal(verify_file(ec, "ec-server.pem", NULL, T_2100, true, why, 128), DK_OK);
    assert_int_equal(verify_file(ec, "ec384-server.pem", "localhost", T_2100, true, why, 128),
                     DK_OK);
    /* IP literal against the IP SAN. */
    assert_int_equal(verify_file(ec, "ec-server.pem", "127.0.0.1", T_2100, true, why, 128), DK_OK);
    assert_int_equal(verify_file(ec, "ec-server.pem", "127.0.0.2", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "IP address mismatch");
    assert_int_equal(
        verify_file(ec, "ec-server-chain.pem", "example.com", T_2100, true, why, 128), DK_ERR_CERT);
    assert_non_null(strstr(why, "hostname mismatch"));
    /* Time. */
    assert_int_equal(verify_file(ec, "ec-server-chain.pem", "localhost", T_1990, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "certificate is not yet valid");
    assert_int_equal(verify_file(ec, "ec-server-chain.pem", "localhost", T_2200, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "certificate has expired");
    /* A short reason buffer is truncated, not overrun. */
    char tiny[8];
    assert_int_equal(verify_file(ec, "ec-server.pem", "x.test", T_2100, true, tiny, 8), DK_ERR_CERT);
    assert_string_equal(tiny, "hostnam");
    dk_trust_free(ec);
}

static void test_verify_wrong_anchor(void **state)
{
    (void)state;
    dk_trust *rsa = trust_of("rsa-ca.pem");
    char why[128];
    assert_int_equal(verify_file(rsa, "ec-server-chain.pem", "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "unable to get local issuer certificate");
    assert_int_equal(verify_file(rsa, "ec-server.pem", "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "unable to get local issuer certificate");
    assert_int_equal(verify_file(rsa, "rsa-server-chain.pem", "localhost", T_2100, true, why, 128),
                     DK_OK);
    assert_int_equal(verify_file(rsa, "rsa-server.pem", "127.0.0.1", T_2100, true, why, 128),
                     DK_OK);
    dk_trust_free(rsa);
    /* An empty store trusts nothing. */
    dk_trust *none = dk_trust_new();
    assert_int_equal(verify_file(none, "ec-server-chain.pem", "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "unable to get local issuer certificate");
    dk_trust_free(none);
    dk_trust_free(NULL);
}

/* Server certificates have EKU serverAuth, client ones clientAuth. */
static void test_verify_purpose(void **state)
{
    (void)state;
    dk_trust *ec = trust_of("ec-ca.pem");
    dk_trust *rsa = trust_of("rsa-ca.pem");
    char why[128];
    assert_int_equal(verify_file(ec, "ec-client.pem", NULL, T_2100, false, why, 128), DK_OK);
    assert_int_equal(verify_file(rsa, "rsa-client.pem", NULL, T_2100, false, why, 128), DK_OK);
    assert_int_equal(verify_file(ec, "ec-client.pem", NULL, T_2100, true, why, 128), DK_ERR_CERT);
    assert_string_equal(why, "unsuitable certificate purpose");
    assert_int_equal(verify_file(ec, "ec-server.pem", NULL, T_2100, false, why, 128), DK_ERR_CERT);
    assert_string_equal(why, "unsuitable certificate purpose");
    dk_trust_free(ec);
    dk_trust_free(rsa);
}

/* The peer sends leaf + intermediate; only the root is trusted. */
static void test_verify_untrusted_intermediate(void **state)
{
    (void)state;
    dk_trust *ec = trust_of("ec-ca.pem");
    char why[128];
    assert_int_equal(
        verify_file(ec, "ec-int-server-chain.pem", "localhost", T_2100, true, why, 128), DK_OK);
    assert_int_equal(verify_file(ec, "ec-int-server.pem", "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "unable to get local issuer certificate");
    dk_trust_free(ec);
}

static void test_verify_self_signed_ed25519(void **state)
{
    (void)state;
    dk_trust *t = trust_of("ed25519.pem");
    char why[128];
    assert_int_equal(verify_file(t, "ed25519.pem", "localhost", T_2100, true, why, 128), DK_OK);
    dk_trust_free(t);
    t = trust_of("ec-ca.pem");
    assert_int_equal(verify_file(t, "ed25519.pem", "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "self-signed certificate");
    dk_trust_free(t);
}

static void test_verify_bad_input(void **state)
{
    (void)state;
    dk_trust *t = trust_of("ec-ca.pem");
    char why[128];
    const uint8_t junk[] = {0x30, 0x03, 0x02, 0x01, 0x01};
    const uint8_t *ders[1] = {junk};
    size_t lens[1] = {sizeof junk};
    assert_int_equal(dk_chain_verify(t, ders, lens, 1, "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "certificate does not parse");
    assert_int_equal(dk_chain_verify(t, ders, lens, 0, "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    assert_int_equal(dk_chain_verify(NULL, ders, lens, 1, NULL, T_2100, true, why, 128),
                     DK_ERR_CERT);
    /* A good leaf followed by junk. */
    dk_chain c;
    load_chain("ec-server.pem", &c);
    const uint8_t *two[2] = {c.der[0], junk};
    size_t two_len[2] = {c.len[0], sizeof junk};
    assert_int_equal(dk_chain_verify(t, two, two_len, 2, "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    dk_chain_clear(&c);
    dk_trust_free(t);
}

static void test_trust_load(void **state)
{
    (void)state;
    char path[1024];
    dk_trust *t = dk_trust_new();
    cert_path("does-not-exist.pem", path, sizeof path);
    assert_int_equal(dk_trust_load_file(t, path), DK_ERR_FILE);
    cert_path("no-such-dir", path, sizeof path);
    assert_int_equal(dk_trust_load_dir(t, path), DK_ERR_FILE);
    /* capath holds ec-ca under its subject hash. */
    cert_path("capath", path, sizeof path);
    assert_int_equal(dk_trust_load_dir(t, path), DK_OK);
    char why[128];
    assert_int_equal(verify_file(t, "ec-server.pem", "localhost", T_2100, true, why, 128), DK_OK);
    assert_int_equal(verify_file(t, "rsa-server.pem", "localhost", T_2100, true, why, 128),
                     DK_ERR_CERT);
    /* A file with several certificates: all become anchors. */
    cert_path("rsa-server-chain.pem", path, sizeof path);
    assert_int_equal(dk_trust_load_file(t, path), DK_OK);
    assert_int_equal(verify_file(t, "rsa-server.pem", "localhost", T_2100, true, why, 128), DK_OK);
    dk_trust_free(t);
}

/* Minimal PEM writer for the self-signed test (base64, 64 per line). */
static void test_make_selfsigned(void **state)
{
    (void)state;
    uint8_t *der = NULL, *der2 = NULL;
    size_t len = 0, len2 = 0;
    dk_pkey *key = NULL, *key2 = NULL;
    assert_int_equal(dk_cert_make_selfsigned("peer.dtlskit.test", &der, &len, &key), DK_OK);
    assert_int_equal(dk_cert_make_selfsigned("peer.dtlskit.test", &der2, &len2, &key2), DK_OK);
    assert_non_null(der);
    assert_int_equal(dk_pkey_get_type(key), DK_PKEY_EC_P256);
    assert_true(dk_pkey_matches_cert(key, der, len));
    assert_false(dk_pkey_matches_cert(key2, der, len)); /* a fresh key each time */
    char cn[64];
    dk_cert_subject_cn(der, len, cn, sizeof cn);
    assert_string_equal(cn, "peer.dtlskit.test");
    /* The key signs and the certificate's key verifies. */
    dk_pkey *pub = NULL;
    uint8_t sig[80];
    size_t sl;
    assert_int_equal(dk_cert_public_key(der, len, &pub), DK_OK);
    assert_int_equal(
        dk_sign(key, DK_SIG_ECDSA_SECP256R1_SHA256, der, len, sig, sizeof sig, &sl), DK_OK);
    assert_int_equal(dk_verify(pub, DK_SIG_ECDSA_SECP256R1_SHA256, der, len, sig, sl), DK_OK);
    dk_pkey_free(pub);
    dk_pkey_free(key);
    dk_pkey_free(key2);
    free(der);
    free(der2);
    assert_int_equal(dk_cert_make_selfsigned("", &der, &len, &key), DK_ERR_INVALID_ARG);
}

/* Signature, SAN and validity window (now - 1 h .. now + 30 days), checked
 * by path validation against the certificate itself. */
static void test_selfsigned_validates(void **state)
{
    (void)state;
    uint8_t *der = NULL;
    size_t len = 0;
    dk_pkey *key = NULL;
    assert_int_equal(dk_cert_make_selfsigned("peer.dtlskit.test", &der, &len, &key), DK_OK);
    char path[64];
    snprintf(path, sizeof path, "/tmp/dk-crypto-selfsigned-%ld.pem", (long)getpid());
    write_pem(path, der, len);
    dk_trust *t = dk_trust_new();
    assert_int_equal(dk_trust_load_file(t, path), DK_OK);
    unlink(path);
    int64_t now = (int64_t)time(NULL);
    const uint8_t *d[1] = {der};
    char why[128];
    const char *host = "peer.dtlskit.test";
    assert_int_equal(dk_chain_verify(t, d, &len, 1, host, now, true, why, 128), DK_OK);
    assert_int_equal(dk_chain_verify(t, d, &len, 1, host, now, false, why, 128), DK_OK);
    assert_int_equal(dk_chain_verify(t, d, &len, 1, "other.test", now, true, why, 128),
                     DK_ERR_CERT);
    assert_int_equal(dk_chain_verify(t, d, &len, 1, NULL, now - 3000, true, why, 128), DK_OK);
    assert_int_equal(dk_chain_verify(t, d, &len, 1, NULL, now - 3700, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "certificate is not yet valid");
    assert_int_equal(dk_chain_verify(t, d, &len, 1, NULL, now + 29 * 86400, true, why, 128),
                     DK_OK);
    assert_int_equal(dk_chain_verify(t, d, &len, 1, NULL, now + 31 * 86400, true, why, 128),
                     DK_ERR_CERT);
    assert_string_equal(why, "certificate has expired");
    dk_trust_free(t);
    dk_pkey_free(key);
    free(der);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_from_pem),
        cmocka_unit_test(test_cert_public_key_and_cn),
        cmocka_unit_test(test_verify_ec_chain),
        cmocka_unit_test(test_verify_wrong_anchor),
        cmocka_unit_test(test_verify_purpose),
        cmocka_unit_test(test_verify_untrusted_intermediate),
        cmocka_unit_test(test_verify_self_signed_ed25519),
        cmocka_unit_test(test_verify_bad_input),
        cmocka_unit_test(test_trust_load),
        cmocka_unit_test(test_make_selfsigned),
        cmocka_unit_test(test_selfsigned_validates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
