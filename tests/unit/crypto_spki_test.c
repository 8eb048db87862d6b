/* Unit tests for the private library context that decodes certificate
 * public keys (src/crypto/dk_crypto_spki.c): every verdict of
 * dk_chain_verify_leaf, and every key it returns, must be the same as with
 * libcrypto's own decoding in the default context (dk_spki_set_enabled(false)).
 *
 * Certificates: the test PKI in tests/vectors/certs. SubjectPublicKeyInfo
 * vectors: made with `openssl genpkey` and `openssl pkey -pubout -outform DER`
 * (-ec_conv_form compressed, -pkeyopt ec_param_enc:explicit). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto/dk_crypto.h"
#include "crypto_test_util.h"

#define T_2100 INT64_C(4102444800) /* 2100-01-01: inside every test certificate's validity */
#define T_1990 INT64_C(631152000)
#define T_2200 INT64_C(7258118400)

/* ---- SubjectPublicKeyInfo vectors ------------------------------------------- */

static const char k_p256[] =
    "3059301306072a8648ce3d020106082a8648ce3d030107034200048516b138643bdc40f65b7731ebfb8d97d8ab"
    "3021e91c0565c454b2b44db466ed524ed3ddafe139bda17a14991571e6c1aebad43b91ebc07ecea832272e0288"
    "1c";
static const char k_p256_compressed[] =
    "3039301306072a8648ce3d020106082a8648ce3d030107032200028516b138643bdc40f65b7731ebfb8d97d8ab"
    "3021e91c0565c454b2b44db466ed";
static const char k_p384[] =
    "3076301006072a8648ce3d020106052b8104002203620004c71c83f211487e2be77d8a1ae65c368e52fbc13950"
    "1e16973db5dd10f1dd7802ff7cb024b378ee0b0e8d05da9500e7c6768e9c8e83ee3c9e1bc5756a06ad5f389225"
    "bffe0dabe71096aa9dfc0711fcbfb5ebcad456a8c05078cb5a22d8456bee";
static const char k_p384_compressed[] =
    "3046301006072a8648ce3d020106052b8104002203320002c71c83f211487e2be77d8a1ae65c368e52fbc13950"
    "1e16973db5dd10f1dd7802ff7cb024b378ee0b0e8d05da9500e7c6";
static const char k_p521[] =
    "30819b301006072a8648ce3d020106052b810400230381860004018b49ee7ce77103d36f43a1cfe426a5c805a2"
    "036914441448a848a71639245779fae7eb87544fe02e750c4a25dbc4f1c7d995238623bd244892ef519ffe8bf7"
    "deb900f60d3ff8af159b5beed38b68d3ee9c8d652109fbbe49e0977f73a7e7778411f6cab375a4c0a05b11e4cb"
    "ea44da67568d51e8050410ddf27aea30f083a0ff6b364e";
static const char k_p521_compressed[] =
    "3058301006072a8648ce3d020106052b8104002303440002018b49ee7ce77103d36f43a1cfe426a5c805a20369"
    "14441448a848a71639245779fae7eb87544fe02e750c4a25dbc4f1c7d995238623bd244892ef519ffe8bf7deb9";
static const char k_ed25519[] =
    "302a300506032b657003210060a4520ec85258b29eded03e86cd20c1d26dbd7c2d9d0abffee9d848e3a48b21";
static const char k_ed448[] =
    "3043300506032b6571033a0056b1c47e3da2a5cc3c2dfd96f7bdac9c2b4ef702122cc9c92b7057c10b76cb695f"
    "78ab554a2d7135589c8e9c14bfc5aa4eabb12a669b1ac580";
/* Keys this context leaves to the default one. */
static const char k_p256_explicit[] =
    "3082014b3082010306072a8648ce3d02013081f7020101302c06072a8648ce3d0101022100ffffffff000000010"
    "00000000000000000000000ffffffffffffffffffffffff305b0420ffffffff0000000100000000000000000000"
    "0000fffffffffffffffffffffffc04205ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d"
    "2604b031500c49d360886e704936a6678e1139d26b7819f7e900441046b17d1f2e12c4247f8bce6e563a440f277"
    "037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf5"
    "1f5022100ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc63255102010103420004a0d96"
    "29fd1d814f67816161bab153f2894e04504025b25ecaaa00dc408f4b1f6ab627730ff3951d3a21862434bbc1870"
    "3982476f63e8d295492615309875ab02";
static const char k_x25519[] =
    "302a300506032b656e032100b70f53d522690118d5e9f1580452dccfa852eef594dbe843b428f6008a25ff06";
static const char k_secp256k1[] =
    "3056301006072a8648ce3d020106052b8104000a034200040eee23a4dff47a982864abb107ab390ac1973a4cab"
    "5a43c5621742b256ad53c983e9b9a6b247918bf03af9e21d94a9b90cb0b1f4ec095e624bcdf4c88fd8a488";

/* Decodes spki both ways; whenever this context gives a key, it must be the
 * default context's key. Returns whether this context gave one. */
static bool decode_both(const uint8_t *spki, size_t len, bool want_dflt)
{
    bool fast, dflt;
    bool agree = dk_spki_decode_agrees(spki, len, &fast, &dflt);
    assert_int_equal(dflt, want_dflt);
    if (fast) assert_true(agree && dflt);
    return fast;
}

static bool decode_hex(const char *hex, bool want_dflt)
{
    uint8_t der[512];
    size_t n = unhex(hex, der, sizeof der);
    return decode_both(der, n, want_dflt);
}

static void test_spki_decoded_here(void **state)
{
    (void)state;
    const char *const ours[] = {k_p256,           k_p256_compressed, k_p384, k_p384_compressed,
                                k_p521,           k_p521_compressed, k_ed25519, k_ed448};
    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++) assert_true(decode_hex(ours[i], true));
    /* Decoded by the default context only. */
    assert_false(decode_hex(k_p256_explicit, true));
    assert_false(decode_hex(k_x25519, true));
    assert_false(decode_hex(k_secp256k1, true));
}

/* Malformed or unusual encodings: this context gives no key unless the
 * default one gives the same key. */
static void test_spki_malformed(void **state)
{
    (void)state;
    uint8_t der[512], m[520];
    size_t n = unhex(k_p256, der, sizeof der);

    /* A point not on the curve (last byte of y changed): no key either way. */
    memcpy(m, der, n);
    m[n - 1] ^= 0x01;
    assert_false(decode_both(m, n, false));
    /* Point encodings other than SEC 1 compressed and uncompressed (hybrid,
     * an unknown form byte) and a BIT STRING with unused bits are left to
     * the default context. */
    bool fast, dflt;
    const size_t at[] = {26, 26, 25};
    const uint8_t val[] = {0x06, 0x05, 0x01};
    for (size_t i = 0; i < 3; i++) {
        memcpy(m, der, n);
        m[at[i]] = val[i];
        (void)dk_spki_decode_agrees(m, n, &fast, &dflt);
        assert_false(fast);
    }
    /* Truncated, trailing byte, wrong outer length. */
    assert_false(decode_both(der, n - 1, false));
    memcpy(m, der, n);
    m[n] = 0x00;
    assert_false(decode_both(m, n + 1, false));
    /* Non-minimal length form (0x81 0x59): DER only here. */
    m[0] = 0x30;
    m[1] = 0x81;
    m[2] = 0x59;
    memcpy(m + 3, der + 2, n - 2);
    (void)dk_spki_decode_agrees(m, n + 1, &fast, &dflt);
    assert_false(fast);
    /* An unknown curve OID (P-256's with the last arc changed). */
    memcpy(m, der, n);
    m[22] = 0x08;
    assert_false(decode_both(m, n, false));

    /* Ed25519: RFC 8410 3 says the parameters MUST be absent; a NULL is an
     * error either way. Wrong key length too. */
    n = unhex(k_ed25519, der, sizeof der);
    static const uint8_t ed_null[] = {0x30, 0x2c, 0x30, 0x07, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x05, 0x00};
    memcpy(m, ed_null, sizeof ed_null);
    memcpy(m + sizeof ed_null, der + 9, n - 9);
    assert_false(decode_both(m, sizeof ed_null + n - 9, false));
    memcpy(m, der, n);
    m[1] = 0x29;
    m[10] = 0x20;
    assert_false(decode_both(m, n - 1, false));

    /* Every single-byte change of the P-256 vector: never a key that differs
     * from the default context's. */
    n = unhex(k_p256, der, sizeof der);
    for (size_t i = 0; i < n; i++) {
        for (int bit = 0; bit < 8; bit += 3) {
            memcpy(m, der, n);
            m[i] ^= (uint8_t)(1u << bit);
            (void)dk_spki_decode_agrees(m, n, &fast, &dflt);
            if (fast) assert_true(dk_spki_decode_agrees(m, n, &fast, &dflt));
        }
    }
}

/* ---- certificate chains, both paths ------------------------------------------ */

typedef struct chain_case {
    const char *anchor; /* trust file */
    const char *chain;  /* peer chain file */
    const char *host;
    int64_t now;
    bool server;
    dk_result want;
    const char *reason; /* expected reason ("" on success) */
    bool leaf_fast;     /* the leaf's key is decoded in the private context */
    const char *key;    /* the leaf's private key file, to check the returned key (or NULL) */
} chain_case;

static const chain_case k_cases[] = {
    {"ec-ca.pem", "ec-server-chain.pem", "localhost", T_2100, true, DK_OK, "", true,
     "ec-server.key"},
    {"ec-ca.pem", "ec-server.pem", "127.0.0.1", T_2100, true, DK_OK, "", true, "ec-server.key"},
    {"ec-ca.pem", "ec-server-chain.pem", "example.com", T_2100, true, DK_ERR_CERT,
     "hostname mismatch", true, NULL},
    {"ec-ca.pem", "ec-server.pem", "127.0.0.2", T_2100, true, DK_ERR_CERT, "IP address mismatch",
     true, NULL},
    {"rsa-ca.pem", "ec-server-chain.pem", "localhost", T_2100, true, DK_ERR_CERT,
     "unable to get local issuer certificate", true, NULL},
    {"ec-ca.pem", "ec-server-chain.pem", "localhost", T_2200, true, DK_ERR_CERT,
     "certificate has expired", true, NULL},
    {"ec-ca.pem", "ec-server-chain.pem", "localhost", T_1990, true, DK_ERR_CERT,
     "certificate is not yet valid", true, NULL},
    {"ec-ca.pem", "ec-client.pem", NULL, T_2100, false, DK_OK, "", true, "ec-client.key"},
    {"ec-ca.pem", "ec-client.pem", NULL, T_2100, true, DK_ERR_CERT,
     "unsuitable certificate purpose", true, NULL},
    {"ec-ca.pem", "ec-int-server-chain.pem", "localhost", T_2100, true, DK_OK, "", true,
     "ec-int-server.key"},
    /* An intermediate alone is no anchor (no X509_V_FLAG_PARTIAL_CHAIN). */
    {"ec-int-ca.pem", "ec-int-server.pem", "localhost", T_2100, true, DK_ERR_CERT,
     "unable to get issuer certificate", true, NULL},
    {"ec-ca.pem", "ec-int-server.pem", "localhost", T_2100, true, DK_ERR_CERT,
     "unable to get local issuer certificate", true, NULL},
    {"ec-ca.pem", "ec384-server.pem", "localhost", T_2100, true, DK_OK, "", true,
     "ec384-server.key"},
    {"ed25519.pem", "ed25519.pem", "localhost", T_2100, true, DK_OK, "", true, "ed25519.key"},
    {"ec-ca.pem", "ed25519.pem", "localhost", T_2100, true, DK_ERR_CERT, "self-signed certificate",
     true, NULL},
    /* The CA itself as a peer's leaf: trusted, but no server certificate. */
    {"ec-ca.pem", "ec-ca.pem", NULL, T_2100, true, DK_ERR_CERT, "unsuitable certificate purpose",
     true, NULL},
    {"rsa-ca.pem", "rsa-server-chain.pem", "localhost", T_2100, true, DK_OK, "", false,
     "rsa-server.key"},
    {"rsa-ca.pem", "rsa-server.pem", "example.com", T_2100, true, DK_ERR_CERT, "hostname mismatch",
     false, NULL},
    {"ec-ca.pem", "rsa-server-chain.pem", "localhost", T_2100, true, DK_ERR_CERT,
     "unable to get local issuer certificate", false, NULL},
};

static dk_trust *trust_of(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/certs/%s", DK_TEST_DATA_DIR, name);
    dk_trust *t = dk_trust_new();
    assert_non_null(t);
    assert_int_equal(dk_trust_load_file(t, path), DK_OK);
    return t;
}

static uint16_t scheme_of(const dk_pkey *k)
{
    switch (dk_pkey_get_type(k)) {
    case DK_PKEY_EC_P256:
        return DK_SIG_ECDSA_SECP256R1_SHA256;
    case DK_PKEY_EC_P384:
        return DK_SIG_ECDSA_SECP384R1_SHA384;
    case DK_PKEY_ED25519:
        return DK_SIG_ED25519;
    default:
        return DK_SIG_RSA_PSS_RSAE_SHA256;
    }
}

/* The returned leaf key verifies what the certificate's private key signs,
 * and nothing else. */
static void check_leaf_key(const dk_pkey *leaf, const char *key_file)
{
    dk_pkey *priv = load_private_key(key_file);
    assert_non_null(priv);
    uint16_t scheme = scheme_of(priv);
    assert_int_equal(dk_pkey_get_type(leaf), dk_pkey_get_type(priv));
    assert_true(dk_pkey_can_sign_scheme(leaf, scheme));
    static const uint8_t msg[] = "ServerKeyExchange params";
    uint8_t sig[512];
    size_t sig_len;
    assert_int_equal(dk_sign(priv, scheme, msg, sizeof msg, sig, sizeof sig, &sig_len), DK_OK);
    assert_int_equal(dk_verify(leaf, scheme, msg, sizeof msg, sig, sig_len), DK_OK);
    assert_int_equal(dk_verify(leaf, scheme, msg, sizeof msg - 1, sig, sig_len),
                     DK_ERR_SIGNATURE);
    sig[sig_len / 2] ^= 0x10;
    assert_int_not_equal(dk_verify(leaf, scheme, msg, sizeof msg, sig, sig_len), DK_OK);
    dk_pkey_free(priv);
}

typedef struct verdict {
    dk_result r;
    char reason[160];
    char cn[128];
    dk_pkey *key;
} verdict;

static void verify_der(const dk_trust *t, const uint8_t *const *der, const size_t *len, size_t n,
                       const char *host, int64_t now, bool server, bool fast, verdict *v)
{
    bool was = dk_spki_set_enabled(fast);
    v->cn[0] = '\0';
    v->r = dk_chain_verify_leaf(t, der, len, n, host, now, server, v->reason, sizeof v->reason,
                                &v->key, v->cn, sizeof v->cn);
    dk_spki_set_enabled(was);
}

/* Both paths give the same verdict, reason, name and (on success) a key
 * that verifies the same signatures. */
static void test_chain_verdicts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof k_cases / sizeof k_cases[0]; i++) {
        const chain_case *c = &k_cases[i];
        print_message("case %zu: %s against %s\n", i, c->chain, c->anchor);
        dk_trust *t = trust_of(c->anchor);
        dk_chain ch;
        load_chain(c->chain, &ch);
        assert_int_equal(dk_cert_key_decoded_fast(ch.der[0], ch.len[0]), c->leaf_fast);
        verdict v[2];
        for (int fast = 0; fast < 2; fast++) {
            verify_der(t, (const uint8_t *const *)ch.der, ch.len, ch.n, c->host, c->now,
                       c->server, fast, &v[fast]);
            if (v[fast].r != c->want) print_message("  (fast=%d) %s\n", fast, v[fast].reason);
            assert_int_equal(v[fast].r, c->want);
            if (c->want == DK_OK)
                assert_string_equal(v[fast].reason, "");
            else
                assert_non_null(strstr(v[fast].reason, c->reason));
            if (c->key) check_leaf_key(v[fast].key, c->key);
        }
        assert_string_equal(v[0].reason, v[1].reason);
        assert_string_equal(v[0].cn, v[1].cn);
        assert_int_equal(v[0].key == NULL, v[1].key == NULL);
        dk_pkey_free(v[0].key);
        dk_pkey_free(v[1].key);
        dk_chain_clear(&ch);
        dk_trust_free(t);
    }
}

/* A self-signed P-256 leaf made now (dk_cert_make_selfsigned: valid from
 * now-1h for 30 days) and pinned in the trust store: the same verdicts both
 * ways for the name, both ends of the validity, an unpinned store, and a
 * copy whose signature was changed (same TBSCertificate as the anchor: the
 * certificate fingerprint, SHA-1 through the private context, decides). */
static void test_pinned_selfsigned(void **state)
{
    (void)state;
    uint8_t *der = NULL;
    size_t len = 0;
    dk_pkey *key = NULL;
    assert_int_equal(dk_cert_make_selfsigned("peer.dtlskit.test", &der, &len, &key), DK_OK);
    assert_true(dk_cert_key_decoded_fast(der, len));
    char path[64];
    snprintf(path, sizeof path, "/tmp/dk-crypto-spki-%ld.pem", (long)getpid());
    write_pem(path, der, len);
    dk_trust *pinned = dk_trust_new();
    assert_int_equal(dk_trust_load_file(pinned, path), DK_OK);
    unlink(path);
    dk_trust *other = trust_of("ec-ca.pem");
    int64_t now = (int64_t)time(NULL);
    uint8_t *bad_sig = malloc(len);
    assert_non_null(bad_sig);
    memcpy(bad_sig, der, len);
    bad_sig[len - 3] ^= 0x01;
    const struct {
        const dk_trust *t;
        const uint8_t *der;
        const char *host;
        int64_t now;
        bool server;
        dk_result want;
        const char *reason;
    } cases[] = {
        {pinned, der, "peer.dtlskit.test", now, true, DK_OK, ""},
        {pinned, der, "peer.dtlskit.test", now, false, DK_OK, ""},
        {pinned, der, "other.test", now, true, DK_ERR_CERT, "hostname mismatch"},
        {pinned, der, NULL, now - 3700, true, DK_ERR_CERT, "certificate is not yet valid"},
        {pinned, der, NULL, now + 31 * 86400, true, DK_ERR_CERT, "certificate has expired"},
        {other, der, "peer.dtlskit.test", now, true, DK_ERR_CERT, "self-signed certificate"},
        {pinned, bad_sig, "peer.dtlskit.test", now, true, DK_ERR_CERT, "self-signed certificate"},
    };
    static const uint8_t msg[] = "params";
    uint8_t sig[128];
    size_t sig_len;
    assert_int_equal(dk_sign(key, DK_SIG_ECDSA_SECP256R1_SHA256, msg, sizeof msg, sig, sizeof sig,
                             &sig_len),
                     DK_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        verdict v[2];
        const uint8_t *d[1] = {cases[i].der};
        for (int fast = 0; fast < 2; fast++) {
            verify_der(cases[i].t, d, &len, 1, cases[i].host, cases[i].now, cases[i].server, fast,
                       &v[fast]);
            print_message("pinned case %zu (fast=%d): %s\n", i, fast, v[fast].reason);
            assert_int_equal(v[fast].r, cases[i].want);
            assert_non_null(strstr(v[fast].reason, cases[i].reason));
            if (v[fast].r == DK_OK)
                assert_int_equal(dk_verify(v[fast].key, DK_SIG_ECDSA_SECP256R1_SHA256, msg,
                                           sizeof msg, sig, sig_len),
                                 DK_OK);
            dk_pkey_free(v[fast].key);
        }
        assert_string_equal(v[0].reason, v[1].reason);
        assert_string_equal(v[0].cn, v[1].cn);
    }
    free(bad_sig);
    dk_trust_free(pinned);
    dk_trust_free(other);
    dk_pkey_free(key);
    free(der);
}

/* Find needle in hay; the offset (the test fails when absent). */
static size_t find(const uint8_t *hay, size_t n, const uint8_t *needle, size_t m)
{
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return i;
    fail_msg("pattern not found");
    return 0;
}

/* A certificate whose P-256 point is not on the curve: no key in either
 * path, so verification fails the same way; and a chain whose intermediate
 * has such a key. */
static void test_corrupt_point(void **state)
{
    (void)state;
    static const uint8_t bitstr_p256[] = {0x03, 0x42, 0x00, 0x04};
    dk_trust *t = trust_of("ec-ca.pem");
    const char *chains[] = {"ec-server-chain.pem", "ec-int-server-chain.pem"};
    for (size_t which = 0; which < 2; which++) {
        dk_chain ch;
        load_chain(chains[which], &ch);
        /* Leaf first, then (for the intermediate chain) the intermediate. */
        for (size_t victim = 0; victim < (which ? 2u : 1u); victim++) {
            uint8_t *d = ch.der[victim];
            size_t at = find(d, ch.len[victim], bitstr_p256, sizeof bitstr_p256);
            d[at + sizeof bitstr_p256 + 63] ^= 0x01; /* last byte of y */
            dk_pkey *k = NULL;
            for (int fast = 0; fast < 2; fast++) {
                bool was = dk_spki_set_enabled(fast);
                assert_int_equal(dk_cert_public_key(d, ch.len[victim], &k), DK_ERR_CERT);
                assert_false(dk_cert_key_decoded_fast(d, ch.len[victim]));
                dk_spki_set_enabled(was);
            }
            verdict v[2];
            for (int fast = 0; fast < 2; fast++) {
                verify_der(t, (const uint8_t *const *)ch.der, ch.len, ch.n, "localhost", T_2100,
                           true, fast, &v[fast]);
                assert_int_equal(v[fast].r, DK_ERR_CERT);
                assert_null(v[fast].key);
            }
            print_message("corrupt point in cert %zu of %s: %s\n", victim, chains[which],
                          v[1].reason);
            assert_string_equal(v[0].reason, v[1].reason);
            d[at + sizeof bitstr_p256 + 63] ^= 0x01;
        }
        dk_chain_clear(&ch);
    }
    dk_trust_free(t);
}

/* A leaf signed by an intermediate whose key the private context decoded
 * (the signature check then runs through its forwarding ECDSA), and a
 * signature that does not verify: a changed byte in the leaf's signature. */
static void test_bad_signature(void **state)
{
    (void)state;
    const char *chains[] = {"ec-server-chain.pem", "ec-int-server-chain.pem", "ed25519.pem"};
    const char *anchors[] = {"ec-ca.pem", "ec-ca.pem", "ed25519.pem"};
    for (size_t i = 0; i < 3; i++) {
        dk_trust *t = trust_of(anchors[i]);
        dk_chain ch;
        load_chain(chains[i], &ch);
        ch.der[0][ch.len[0] - 3] ^= 0x01; /* inside the signature value */
        verdict v[2];
        for (int fast = 0; fast < 2; fast++) {
            verify_der(t, (const uint8_t *const *)ch.der, ch.len, ch.n, "localhost", T_2100, true,
                       fast, &v[fast]);
            assert_int_equal(v[fast].r, DK_ERR_CERT);
        }
        print_message("%s with a bad signature: %s\n", chains[i], v[1].reason);
        assert_string_equal(v[0].reason, v[1].reason);
        dk_chain_clear(&ch);
        dk_trust_free(t);
    }
}

/* dk_cert_leaf_info / dk_cert_public_key (the no-trust-store paths) give
 * the same keys both ways. */
static void test_leaf_info(void **state)
{
    (void)state;
    const char *certs[] = {"ec-server.pem", "ec384-server.pem", "ed25519.pem", "rsa-server.pem"};
    const char *keys[] = {"ec-server.key", "ec384-server.key", "ed25519.key", "rsa-server.key"};
    for (size_t i = 0; i < 4; i++) {
        dk_chain ch;
        load_chain(certs[i], &ch);
        for (int fast = 0; fast < 2; fast++) {
            bool was = dk_spki_set_enabled(fast);
            dk_pkey *k = NULL;
            char cn[64];
            assert_int_equal(dk_cert_leaf_info(ch.der[0], ch.len[0], &k, cn, sizeof cn), DK_OK);
            check_leaf_key(k, keys[i]);
            dk_pkey_free(k);
            dk_pkey *priv = load_private_key(keys[i]);
            assert_non_null(priv);
            assert_true(dk_pkey_matches_cert(priv, ch.der[0], ch.len[0]));
            dk_pkey_free(priv);
            dk_spki_set_enabled(was);
        }
        dk_chain_clear(&ch);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_spki_decoded_here), cmocka_unit_test(test_spki_malformed),
        cmocka_unit_test(test_chain_verdicts),    cmocka_unit_test(test_corrupt_point),
        cmocka_unit_test(test_bad_signature),     cmocka_unit_test(test_leaf_info),
        cmocka_unit_test(test_pinned_selfsigned),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
