/* The certificate public-key decoder of src/crypto/dk_crypto_spki.c, against
 * libcrypto's own decoding in the default library context.
 *
 * Every input is tried both ways, so that the seeds are plain DER files
 * (`openssl pkey -pubout -outform DER`, `openssl x509 -outform DER`) and a
 * mutation that turns one kind into the other is still checked:
 *
 *  1. as a DER SubjectPublicKeyInfo: dk_spki_decode_agrees decodes it in the
 *     private context (the fast path) and in the default one. Whenever the
 *     fast path gives a key, the default path gives one too and the two are
 *     equal (type, public key, bits, security bits, size). When it gives
 *     none, the certificate falls back to the default path, so nothing is
 *     asked of the default path; the function then reports agreement exactly
 *     when the default path gave no key either.
 *     The same bytes are also put in place of the SubjectPublicKeyInfo of a
 *     template certificate (the EC test server certificate, lengths fixed),
 *     which is then checked as in 2; a key the fast path decodes alone must
 *     be decoded there in the certificate too.
 *  2. as DER certificates, one after the other (leaf first; a tail that is
 *     no whole TLV belongs to the last one): with the fast path enabled and
 *     disabled (dk_spki_set_enabled),
 *     - dk_cert_leaf_info on each certificate gives the same result, subject
 *       CN and key: same dk_pkey type and schemes, and each path's key equals
 *       the certificate's key as the other path decodes it
 *       (dk_pkey_matches_cert, EVP_PKEY_eq inside); a certificate whose key
 *       dk_cert_key_decoded_fast says the private context decoded has a key
 *       in the default path as well;
 *     - dk_chain_verify_leaf of the chain against the EC, RSA and Ed25519
 *       test anchors (host "localhost", server purpose, at FUZZ_WALLCLOCK)
 *       gives the same result, reason, CN and key. This runs the private
 *       context's forwarding signature verification and SHA-1, and the import
 *       of anchor keys into its key manager.
 * Any disagreement aborts (FUZZ_CHECK).
 */
#include <stdlib.h>
#include <string.h>

#include "crypto/dk_crypto.h"
#include "fuzz_common.h"

#define MAX_CERTS 4
#define MAX_INPUT 16384

static char g_outcome[256];

const char *fuzz_outcome(void) { return g_outcome[0] ? g_outcome : NULL; }

/* ---- DER framing ----------------------------------------------------------- */

/* The TLV at p (n bytes): header and value lengths; false unless it fits. */
static bool tlv(const uint8_t *p, size_t n, size_t *hdr, size_t *len)
{
    if (n < 2) return false;
    size_t l = p[1], h = 2;
    if (l & 0x80) {
        size_t k = l & 0x7f;
        if (k == 0 || k > 3 || n < 2 + k) return false;
        l = 0;
        for (size_t i = 0; i < k; i++) l = (l << 8) | p[2 + i];
        h += k;
    }
    if (l > n - h) return false;
    *hdr = h;
    *len = l;
    return true;
}

static size_t split_chain(const uint8_t *p, size_t n, const uint8_t **der, size_t *len)
{
    size_t k = 0;
    while (n > 0 && k < MAX_CERTS) {
        size_t h, l, take = n;
        if (k + 1 < MAX_CERTS && tlv(p, n, &h, &l)) take = h + l;
        der[k] = p;
        len[k] = take;
        k++;
        p += take;
        n -= take;
    }
    return k;
}

/* ---- the template certificate ------------------------------------------------ */

/* Certificate ::= SEQUENCE { tbs SEQUENCE { ..., spki, ... }, sigalg, sig }:
 * the template cut around its SubjectPublicKeyInfo (the seventh element of
 * the TBSCertificate, after the [0] version). */
typedef struct cert_template {
    uint8_t *der;
    size_t tbs_pre_off, tbs_pre_len;   /* TBSCertificate content before the SPKI */
    size_t tbs_post_off, tbs_post_len; /* ... after it */
    size_t tail_off, tail_len;         /* signatureAlgorithm and signatureValue */
} cert_template;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = f ? malloc(1 << 16) : NULL;
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    if (f) fclose(f);
    if (!buf || n == 0) {
        fprintf(stderr, "fuzz_spki: cannot read %s\n", path);
        abort();
    }
    *len = n;
    return buf;
}

static const char *data_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("DK_FUZZ_DATA_DIR");
    snprintf(path, sizeof path, "%s/certs/%s", dir ? dir : DK_TEST_DATA_DIR, name);
    return path;
}

static void template_init(cert_template *t)
{
    size_t n;
    char *pem = read_file(data_path("ec-server.pem"), &n);
    dk_chain ch;
    FUZZ_CHECK(dk_chain_from_pem(pem, n, &ch) == DK_OK && ch.n == 1);
    free(pem);
    t->der = ch.der[0];
    size_t len = ch.len[0], h, l, th, tl;
    ch.der[0] = NULL;
    ch.n = 0;
    dk_chain_clear(&ch);
    const uint8_t *d = t->der;
    FUZZ_CHECK(tlv(d, len, &h, &l) && h + l == len);
    FUZZ_CHECK(tlv(d + h, l, &th, &tl));
    size_t tbs = h + th, off = tbs;
    for (int i = 0; i < 6; i++) { /* version, serial, signature, issuer, validity, subject */
        size_t eh, el;
        FUZZ_CHECK(tlv(d + off, tbs + tl - off, &eh, &el));
        off += eh + el;
    }
    size_t sh, sl;
    FUZZ_CHECK(tlv(d + off, tbs + tl - off, &sh, &sl) && d[off] == 0x30);
    t->tbs_pre_off = tbs;
    t->tbs_pre_len = off - tbs;
    t->tbs_post_off = off + sh + sl;
    t->tbs_post_len = tbs + tl - t->tbs_post_off;
    t->tail_off = tbs + tl;
    t->tail_len = len - t->tail_off;
}

/* The template with spki in place of its key (long-form lengths, as DER has
 * them for these sizes); the length written to *out_len. */
static uint8_t *template_with(const cert_template *t, const uint8_t *spki, size_t n,
                              size_t *out_len)
{
    size_t tbs_len = t->tbs_pre_len + n + t->tbs_post_len;
    size_t cert_len = 4 + tbs_len + t->tail_len;
    if (cert_len > 0xffff) return NULL;
    uint8_t *c = malloc(4 + cert_len), *p = c;
    if (!c) abort();
    *p++ = 0x30, *p++ = 0x82, *p++ = (uint8_t)(cert_len >> 8), *p++ = (uint8_t)cert_len;
    *p++ = 0x30, *p++ = 0x82, *p++ = (uint8_t)(tbs_len >> 8), *p++ = (uint8_t)tbs_len;
    memcpy(p, t->der + t->tbs_pre_off, t->tbs_pre_len);
    p += t->tbs_pre_len;
    memcpy(p, spki, n);
    p += n;
    memcpy(p, t->der + t->tbs_post_off, t->tbs_post_len);
    p += t->tbs_post_len;
    memcpy(p, t->der + t->tail_off, t->tail_len);
    p += t->tail_len;
    *out_len = (size_t)(p - c);
    return c;
}

/* ---- the world ---------------------------------------------------------------- */

static cert_template g_tmpl;
static dk_trust *g_trust;

static void world_init(void)
{
    if (g_trust) return;
    template_init(&g_tmpl);
    g_trust = dk_trust_new();
    FUZZ_CHECK(g_trust != NULL);
    static const char *const anchors[] = {"ec-ca.pem", "rsa-ca.pem", "ed25519.pem"};
    for (size_t i = 0; i < sizeof anchors / sizeof anchors[0]; i++)
        FUZZ_CHECK(dk_trust_load_file(g_trust, data_path(anchors[i])) == DK_OK);
}

/* ---- the oracles ----------------------------------------------------------------- */

static const uint16_t k_schemes[] = {
    DK_SIG_RSA_PKCS1_SHA256,       DK_SIG_RSA_PKCS1_SHA384,     DK_SIG_ECDSA_SECP256R1_SHA256,
    DK_SIG_ECDSA_SECP384R1_SHA384, DK_SIG_RSA_PSS_RSAE_SHA256, DK_SIG_RSA_PSS_RSAE_SHA384,
    DK_SIG_ED25519,
};

/* A key from each path (both present): the same kind of key, and each one
 * is the certificate's key as the other path decodes it. */
static void check_same_key(const dk_pkey *fast, const dk_pkey *dflt, const uint8_t *der,
                           size_t len)
{
    FUZZ_CHECK(fast && dflt);
    FUZZ_CHECK(dk_pkey_get_type(fast) == dk_pkey_get_type(dflt));
    for (size_t i = 0; i < sizeof k_schemes / sizeof k_schemes[0]; i++)
        FUZZ_CHECK(dk_pkey_can_sign_scheme(fast, k_schemes[i]) ==
                   dk_pkey_can_sign_scheme(dflt, k_schemes[i]));
    dk_spki_set_enabled(false);
    FUZZ_CHECK(dk_pkey_matches_cert(fast, der, len));
    dk_spki_set_enabled(true);
    FUZZ_CHECK(dk_pkey_matches_cert(dflt, der, len));
}

typedef struct leaf_result {
    dk_result r;
    dk_pkey *key;
    char cn[256];
} leaf_result;

/* dk_cert_leaf_info both ways. Returns what the certificate came to: 'f'
 * its key decoded in the private context, 'd' a key from the default path
 * only, 'x' no key (no certificate, or a key neither path decodes). */
static char check_cert(const uint8_t *der, size_t len)
{
    leaf_result v[2];
    for (int fast = 0; fast < 2; fast++) {
        dk_spki_set_enabled(fast);
        memset(v[fast].cn, 0x55, sizeof v[fast].cn);
        v[fast].cn[0] = '\0';
        v[fast].r = dk_cert_leaf_info(der, len, &v[fast].key, v[fast].cn, sizeof v[fast].cn);
        FUZZ_CHECK(memchr(v[fast].cn, 0, sizeof v[fast].cn) != NULL);
        FUZZ_CHECK((v[fast].r == DK_OK) == (v[fast].key != NULL));
    }
    dk_spki_set_enabled(true);
    bool decoded_fast = dk_cert_key_decoded_fast(der, len);
    FUZZ_CHECK(v[0].r == v[1].r);
    FUZZ_CHECK(strcmp(v[0].cn, v[1].cn) == 0);
    if (decoded_fast) FUZZ_CHECK(v[0].r == DK_OK);
    if (v[0].r == DK_OK) check_same_key(v[1].key, v[0].key, der, len);
    dk_pkey_free(v[0].key);
    dk_pkey_free(v[1].key);
    if (decoded_fast) return 'f';
    return v[0].r == DK_OK ? 'd' : 'x';
}

typedef struct chain_result {
    dk_result r;
    char reason[160];
    char cn[256];
    dk_pkey *key;
} chain_result;

/* dk_chain_verify_leaf both ways; the verdict for the outcome line. */
static void check_chain(const uint8_t *const *der, const size_t *len, size_t n, char *reason,
                        size_t cap)
{
    chain_result v[2];
    for (int fast = 0; fast < 2; fast++) {
        dk_spki_set_enabled(fast);
        v[fast].cn[0] = '\0';
        v[fast].r = dk_chain_verify_leaf(g_trust, der, len, n, "localhost", FUZZ_WALLCLOCK, true,
                                         v[fast].reason, sizeof v[fast].reason, &v[fast].key,
                                         v[fast].cn, sizeof v[fast].cn);
        FUZZ_CHECK((v[fast].r == DK_OK) == (v[fast].key != NULL));
    }
    dk_spki_set_enabled(true);
    FUZZ_CHECK(v[0].r == v[1].r);
    FUZZ_CHECK(strcmp(v[0].reason, v[1].reason) == 0);
    FUZZ_CHECK(strcmp(v[0].cn, v[1].cn) == 0);
    if (v[0].r == DK_OK) check_same_key(v[1].key, v[0].key, der[0], len[0]);
    dk_pkey_free(v[0].key);
    dk_pkey_free(v[1].key);
    snprintf(reason, cap, "%s", v[0].r == DK_OK ? "verified" : v[0].reason);
}

/* The input as DER certificates: each one's leaf info, and the chain. */
static void check_certs(const uint8_t *data, size_t size, char *what, size_t what_cap,
                        char *reason, size_t reason_cap)
{
    const uint8_t *der[MAX_CERTS];
    size_t len[MAX_CERTS];
    size_t n = split_chain(data, size, der, len);
    for (size_t i = 0; i < n && i + 1 < what_cap; i++) what[i] = check_cert(der[i], len[i]);
    what[n < what_cap ? n : what_cap - 1] = '\0';
    check_chain(der, len, n, reason, reason_cap);
}

/* The input as a SubjectPublicKeyInfo, alone and in the template. */
static const char *check_spki(const uint8_t *data, size_t size, char *reason, size_t reason_cap)
{
    bool fast, dflt;
    dk_spki_set_enabled(true);
    bool agree = dk_spki_decode_agrees(data, size, &fast, &dflt);
    if (fast)
        FUZZ_CHECK(agree && dflt); /* the fast key is the default path's key */
    else
        FUZZ_CHECK(agree == !dflt); /* left to the default path */
    reason[0] = '\0';
    size_t n;
    uint8_t *cert = template_with(&g_tmpl, data, size, &n);
    if (!cert) return fast ? "fast" : dflt ? "default only" : "none";
    char what[2];
    what[0] = check_cert(cert, n);
    if (fast) FUZZ_CHECK(what[0] == 'f'); /* the certificate takes the fast path too */
    const uint8_t *d[1] = {cert};
    check_chain(d, &n, 1, reason, reason_cap);
    free(cert);
    return fast ? "fast" : dflt ? "default only" : "none";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    g_outcome[0] = '\0';
    /* dk_spki_decode_agrees refuses an empty input; longer ones are no key
     * the fast path decodes and cost libcrypto's full parse each way. */
    if (size == 0 || size > MAX_INPUT) return 0;
    world_init();
    char tmpl_reason[160], chain_reason[160], certs[MAX_CERTS + 1];
    const char *spki = check_spki(data, size, tmpl_reason, sizeof tmpl_reason);
    check_certs(data, size, certs, sizeof certs, chain_reason, sizeof chain_reason);
    if (snprintf(g_outcome, sizeof g_outcome, "spki: %s (in template: %s); certs: %s (chain: %s)",
                 spki, tmpl_reason[0] ? tmpl_reason : "-", certs, chain_reason) < 0)
        g_outcome[0] = '\0';
    return 0;
}
