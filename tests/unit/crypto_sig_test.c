/* Unit tests for src/crypto keys and signatures, using the test PKI in
 * tests/vectors/certs (made by scripts/gen-test-certs.sh). The signatures in
 * certs/sig/ were made by the openssl CLI: dk_verify must accept them, and
 * for the deterministic schemes (RSA PKCS#1 v1.5, Ed25519) dk_sign must
 * reproduce them byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/dk_crypto.h"
#include "crypto_test_util.h"

/* The public key of the first certificate in a PEM file. */
static dk_pkey *load_cert_key(const char *name)
{
    size_t len;
    char path[128];
    snprintf(path, sizeof path, "certs/%s", name);
    char *pem = read_vector_file(path, &len);
    dk_chain c;
    assert_int_equal(dk_chain_from_pem(pem, len, &c), DK_OK);
    dk_pkey *k = NULL;
    assert_int_equal(dk_cert_public_key(c.der[0], c.len[0], &k), DK_OK);
    dk_chain_clear(&c);
    free(pem);
    return k;
}

static void test_key_formats_and_types(void **state)
{
    (void)state;
    const struct {
        const char *file;
        dk_pkey_type type;
    } keys[] = {
        {"ec-server.key", DK_PKEY_EC_P256},      /* PKCS#8 */
        {"ec-server.sec1.key", DK_PKEY_EC_P256}, /* EC PRIVATE KEY */
        {"ec384-server.key", DK_PKEY_EC_P384},
        {"rsa-server.key", DK_PKEY_RSA},
        {"rsa-server.pkcs1.key", DK_PKEY_RSA}, /* RSA PRIVATE KEY */
        {"ed25519.key", DK_PKEY_ED25519},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        dk_pkey *k = load_private_key(keys[i].file);
        if (!k) fail_msg("%s did not load", keys[i].file);
        assert_int_equal(dk_pkey_get_type(k), keys[i].type);
        dk_pkey_free(k);
    }
    /* Encrypted: refused without prompting for a passphrase. */
    assert_null(load_private_key("ec-server.enc.key"));
    /* A certificate is not a private key. */
    assert_null(load_private_key("ec-server.pem"));
    assert_null(dk_pkey_from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                                 56));
    assert_null(dk_pkey_from_pem("", 0));
    assert_int_equal(dk_pkey_get_type(NULL), DK_PKEY_OTHER);
    dk_pkey_free(NULL);
}

static const uint16_t k_all_schemes[] = {
    DK_SIG_RSA_PKCS1_SHA256,       DK_SIG_RSA_PKCS1_SHA384,       DK_SIG_ECDSA_SECP256R1_SHA256,
    DK_SIG_ECDSA_SECP384R1_SHA384, DK_SIG_RSA_PSS_RSAE_SHA256,    DK_SIG_RSA_PSS_RSAE_SHA384,
    DK_SIG_ED25519,
};

/* Which key can use which scheme: exactly the pairs of RFC 8446 4.2.3. */
static void test_can_sign_scheme_matrix(void **state)
{
    (void)state;
    const struct {
        const char *file;
        const uint16_t ok[4];
    } rows[] = {
        {"ec-server.key", {DK_SIG_ECDSA_SECP256R1_SHA256}},
        {"ec384-server.key", {DK_SIG_ECDSA_SECP384R1_SHA384}},
        {"ed25519.key", {DK_SIG_ED25519}},
        {"rsa-server.key",
         {DK_SIG_RSA_PKCS1_SHA256, DK_SIG_RSA_PKCS1_SHA384, DK_SIG_RSA_PSS_RSAE_SHA256,
          DK_SIG_RSA_PSS_RSAE_SHA384}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        dk_pkey *k = load_private_key(rows[r].file);
        assert_non_null(k);
        for (size_t s = 0; s < sizeof k_all_schemes / sizeof k_all_schemes[0]; s++) {
            bool want = false;
            for (size_t j = 0; j < 4; j++) want = want || rows[r].ok[j] == k_all_schemes[s];
            if (dk_pkey_can_sign_scheme(k, k_all_schemes[s]) != want)
                fail_msg("%s scheme %04x: expected %d", rows[r].file, k_all_schemes[s], want);
        }
        assert_false(dk_pkey_can_sign_scheme(k, 0x0601)); /* ecdsa_secp521r1_sha512 */
        assert_false(dk_pkey_can_sign_scheme(k, 0x0201)); /* rsa_pkcs1_sha1 */
        dk_pkey_free(k);
    }
    assert_false(dk_pkey_can_sign_scheme(NULL, DK_SIG_ED25519));
}

typedef struct sig_case {
    uint16_t scheme;
    const char *key, *cert, *sig;
    bool deterministic;
} sig_case;

static const sig_case k_cases[] = {
    {DK_SIG_RSA_PKCS1_SHA256, "rsa-server.key", "rsa-server.pem", "rsa_pkcs1_sha256", true},
    {DK_SIG_RSA_PKCS1_SHA384, "rsa-server.key", "rsa-server.pem", "rsa_pkcs1_sha384", true},
    {DK_SIG_ECDSA_SECP256R1_SHA256, "ec-server.key", "ec-server.pem", "ecdsa_secp256r1_sha256",
     false},
    {DK_SIG_ECDSA_SECP384R1_SHA384, "ec384-server.key", "ec384-server.pem",
     "ecdsa_secp384r1_sha384", false},
    {DK_SIG_RSA_PSS_RSAE_SHA256, "rsa-server.key", "rsa-server.pem", "rsa_pss_rsae_sha256",
     false},
    {DK_SIG_RSA_PSS_RSAE_SHA384, "rsa-server.key", "rsa-server.pem", "rsa_pss_rsae_sha384",
     false},
    {DK_SIG_ED25519, "ed25519.key", "ed25519.pem", "ed25519", true},
};

static char *read_sig(const char *name, size_t *len)
{
    char path[128];
    snprintf(path, sizeof path, "certs/sig/%s.sig", name);
    return read_vector_file(path, len);
}

/* CLI-made signatures verify; any flipped bit, another message or another
 * scheme does not. */
static void test_verify_cli_signatures(void **state)
{
    (void)state;
    size_t mlen, slen;
    char *msg = read_vector_file("certs/sig/msg.txt", &mlen);
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const sig_case *c = &k_cases[i];
        print_message("scheme %04x\n", c->scheme);
        dk_pkey *pub = load_cert_key(c->cert);
        char *sig = read_sig(c->sig, &slen);
        const uint8_t *m = (const uint8_t *)msg;
        uint8_t *s = (uint8_t *)sig;
        assert_int_equal(dk_verify(pub, c->scheme, m, mlen, s, slen), DK_OK);
        for (size_t bit = 0; bit < slen * 8; bit += 61) {
            s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
            assert_int_equal(dk_verify(pub, c->scheme, m, mlen, s, slen), DK_ERR_SIGNATURE);
            s[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
        assert_int_equal(dk_verify(pub, c->scheme, m, mlen - 1, s, slen), DK_ERR_SIGNATURE);
        assert_int_equal(dk_verify(pub, c->scheme, m, mlen, s, slen - 1), DK_ERR_SIGNATURE);
        assert_int_equal(dk_verify(pub, c->scheme, m, mlen, s, 0), DK_ERR_SIGNATURE);
        for (size_t j = 0; j < sizeof k_cases / sizeof k_cases[0]; j++)
            if (k_cases[j].scheme != c->scheme)
                assert_int_equal(dk_verify(pub, k_cases[j].scheme, m, mlen, s, slen),
                                 DK_ERR_SIGNATURE);
        free(sig);
        dk_pkey_free(pub);
    }
    free(msg);
}

/* RFC 8446 4.2.3: the PSS salt length must equal the hash length; a
 * signature with the longest possible salt is refused. */
static void test_pss_salt_length_enforced(void **state)
{
    (void)state;
    size_t mlen, slen;
    char *msg = read_vector_file("certs/sig/msg.txt", &mlen);
    char *sig = read_sig("rsa_pss_rsae_sha256_maxsalt", &slen);
    dk_pkey *pub = load_cert_key("rsa-server.pem");
    assert_int_equal(dk_verify(pub, DK_SIG_RSA_PSS_RSAE_SHA256, (const uint8_t *)msg, mlen,
                               (const uint8_t *)sig, slen),
                     DK_ERR_SIGNATURE);
    dk_pkey_free(pub);
    free(sig);
    free(msg);
}

/* Sign with every scheme: the result verifies with the certificate's key,
 * equals the CLI's bytes when the scheme is deterministic, and fails once
 * corrupted. */
static void test_sign_round_trip(void **state)
{
    (void)state;
    size_t mlen, slen;
    char *msg = read_vector_file("certs/sig/msg.txt", &mlen);
    const uint8_t *m = (const uint8_t *)msg;
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const sig_case *c = &k_cases[i];
        print_message("scheme %04x\n", c->scheme);
        dk_pkey *priv = load_private_key(c->key);
        dk_pkey *pub = load_cert_key(c->cert);
        uint8_t sig[512];
        size_t n = 0;
        assert_int_equal(dk_sign(priv, c->scheme, m, mlen, sig, sizeof sig, &n), DK_OK);
        assert_int_equal(dk_verify(pub, c->scheme, m, mlen, sig, n), DK_OK);
        assert_int_equal(dk_verify(priv, c->scheme, m, mlen, sig, n), DK_OK);
        if (c->deterministic) {
            char *cli = read_sig(c->sig, &slen);
            assert_int_equal(n, slen);
            assert_memory_equal(sig, cli, slen);
            free(cli);
        }
        sig[n / 2] ^= 0x10;
        assert_int_equal(dk_verify(pub, c->scheme, m, mlen, sig, n), DK_ERR_SIGNATURE);
        /* Empty message. */
        assert_int_equal(dk_sign(priv, c->scheme, NULL, 0, sig, sizeof sig, &n), DK_OK);
        assert_int_equal(dk_verify(pub, c->scheme, NULL, 0, sig, n), DK_OK);
        assert_int_equal(dk_sign(priv, c->scheme, m, mlen, sig, 8, &n), DK_ERR_BUFFER_TOO_SMALL);
        dk_pkey_free(priv);
        dk_pkey_free(pub);
    }
    free(msg);
}

static void test_sign_wrong_scheme(void **state)
{
    (void)state;
    dk_pkey *ec = load_private_key("ec-server.key");
    dk_pkey *rsa = load_cert_key("rsa-server.pem");
    uint8_t sig[512];
    size_t n;
    assert_int_equal(dk_sign(ec, DK_SIG_ECDSA_SECP384R1_SHA384, (const uint8_t *)"x", 1, sig,
                             sizeof sig, &n),
                     DK_ERR_UNSUPPORTED);
    assert_int_equal(dk_sign(ec, DK_SIG_RSA_PSS_RSAE_SHA256, (const uint8_t *)"x", 1, sig,
                             sizeof sig, &n),
                     DK_ERR_UNSUPPORTED);
    assert_int_equal(dk_sign(ec, DK_SIG_ECDSA_SECP256R1_SHA256, (const uint8_t *)"x", 1, sig,
                             sizeof sig, &n),
                     DK_OK);
    /* An ECDSA signature offered to an RSA key. */
    assert_int_equal(dk_verify(rsa, DK_SIG_ECDSA_SECP256R1_SHA256, (const uint8_t *)"x", 1, sig, n),
                     DK_ERR_SIGNATURE);
    dk_pkey_free(ec);
    dk_pkey_free(rsa);
}

static void test_pkey_matches_cert(void **state)
{
    (void)state;
    const char *pairs[][2] = {{"ec-server.key", "ec-server.pem"},
                              {"ec384-server.key", "ec384-server.pem"},
                              {"rsa-server.key", "rsa-server.pem"},
                              {"ed25519.key", "ed25519.pem"},
                              {"ec-client.key", "ec-client.pem"}};
    dk_chain certs[5];
    dk_pkey *keys[5];
    for (size_t i = 0; i < 5; i++) {
        size_t len;
        char path[128];
        snprintf(path, sizeof path, "certs/%s", pairs[i][1]);
        char *pem = read_vector_file(path, &len);
        assert_int_equal(dk_chain_from_pem(pem, len, &certs[i]), DK_OK);
        free(pem);
        keys[i] = load_private_key(pairs[i][0]);
        assert_non_null(keys[i]);
    }
    for (size_t k = 0; k < 5; k++)
        for (size_t c = 0; c < 5; c++)
            assert_int_equal(dk_pkey_matches_cert(keys[k], certs[c].der[0], certs[c].len[0]),
                             k == c);
    assert_false(dk_pkey_matches_cert(keys[0], certs[0].der[0], certs[0].len[0] - 1));
    assert_false(dk_pkey_matches_cert(keys[0], (const uint8_t *)"junk", 4));
    for (size_t i = 0; i < 5; i++) {
        dk_pkey_free(keys[i]);
        dk_chain_clear(&certs[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_formats_and_types),
        cmocka_unit_test(test_can_sign_scheme_matrix),
        cmocka_unit_test(test_verify_cli_signatures),
        cmocka_unit_test(test_pss_salt_length_enforced),
        cmocka_unit_test(test_sign_round_trip),
        cmocka_unit_test(test_sign_wrong_scheme),
        cmocka_unit_test(test_pkey_matches_cert),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
