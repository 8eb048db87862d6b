/* Floors: what the cryptography alone costs, with every context prefetched
 * and keyed, timed in the same run as the handshakes.
 *
 * Handshake floor (ECDHE-ECDSA, P-256): the server generates an ECDHE key,
 * derives the secret from the client's point (validated on decode) and
 * signs its ServerKeyExchange; the client generates its key, derives, and
 * verifies two signatures (the CA's over the leaf certificate, the server's
 * over the key exchange). Record floor: one AES-128-GCM seal and one open,
 * through EVP's generic AEAD calls and through its TLS record construction. */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "crypto/dk_crypto.h"

static EVP_PKEY *g_skey, *g_ca_pub, *g_leaf_pub;
static EVP_PKEY_CTX *g_kg;
static uint8_t *g_tbs;
static size_t g_tbs_len;
static uint8_t g_cert_sig[128];
static size_t g_cert_sig_len;
/* dtlskit's wrappers over the same keys */
static dk_pkey *g_dk_skey, *g_dk_ca, *g_dk_leaf;

static void ossl_die(const char *what)
{
    ERR_print_errors_fp(stderr);
    bench_die("floor: %s", what);
}

static X509 *read_cert(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) bench_die("floor: %s", path);
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x) ossl_die(path);
    return x;
}

static char *read_text(const char *path, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (!f) bench_die("floor: %s", path);
    char *buf = calloc(1, 65536);
    *len = fread(buf, 1, 65535, f);
    fclose(f);
    return buf;
}

static dk_pkey *dk_cert_key(X509 *x)
{
    uint8_t *der = NULL;
    int n = i2d_X509(x, &der);
    dk_pkey *k = NULL;
    if (n <= 0 || dk_cert_public_key(der, (size_t)n, &k) != DK_OK) bench_die("floor: cert key");
    OPENSSL_free(der);
    return k;
}

void floor_init(void)
{
    size_t len;
    char *pem = read_text(BENCH_CERT("ec-server.key"), &len);
    BIO *b = BIO_new_mem_buf(pem, (int)len);
    g_skey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    BIO_free(b);
    g_dk_skey = dk_pkey_from_pem(pem, len);
    free(pem);
    if (!g_skey || !g_dk_skey) ossl_die("server key");
    X509 *leaf = read_cert(BENCH_CERT("ec-server.pem")), *ca = read_cert(BENCH_CERT("ec-ca.pem"));
    g_leaf_pub = X509_get_pubkey(leaf);
    g_ca_pub = X509_get_pubkey(ca);
    uint8_t *tbs = NULL;
    int n = i2d_re_X509_tbs(leaf, &tbs);
    if (n <= 0) ossl_die("tbs");
    g_tbs = tbs;
    g_tbs_len = (size_t)n;
    const ASN1_BIT_STRING *sig;
    X509_get0_signature(&sig, NULL, leaf);
    g_cert_sig_len = (size_t)ASN1_STRING_length(sig);
    memcpy(g_cert_sig, ASN1_STRING_get0_data(sig), g_cert_sig_len);
    g_dk_leaf = dk_cert_key(leaf);
    g_dk_ca = dk_cert_key(ca);
    X509_free(leaf);
    X509_free(ca);
    g_kg = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!g_kg || EVP_PKEY_keygen_init(g_kg) <= 0 ||
        EVP_PKEY_CTX_set_group_name(g_kg, "P-256") <= 0)
        ossl_die("keygen ctx");
}

void floor_free(void)
{
    EVP_PKEY_free(g_skey);
    EVP_PKEY_free(g_ca_pub);
    EVP_PKEY_free(g_leaf_pub);
    EVP_PKEY_CTX_free(g_kg);
    OPENSSL_free(g_tbs);
    dk_pkey_free(g_dk_skey);
    dk_pkey_free(g_dk_ca);
    dk_pkey_free(g_dk_leaf);
}

/* ---- raw EVP ----------------------------------------------------------- */

static EVP_PKEY *raw_keygen(uint8_t pub[65])
{
    EVP_PKEY *k = NULL;
    if (EVP_PKEY_keygen(g_kg, &k) <= 0) ossl_die("keygen");
    uint8_t *p = NULL;
    size_t n = EVP_PKEY_get1_encoded_public_key(k, &p);
    if (n != 65) ossl_die("encoded point");
    memcpy(pub, p, 65);
    OPENSSL_free(p);
    return k;
}

static void raw_derive(EVP_PKEY *mine, const uint8_t peer_pt[65])
{
    EVP_PKEY *peer = EVP_PKEY_new();
    if (!peer || EVP_PKEY_copy_parameters(peer, mine) != 1 ||
        EVP_PKEY_set1_encoded_public_key(peer, peer_pt, 65) != 1)
        ossl_die("peer point");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, mine, NULL);
    uint8_t secret[32];
    size_t n = sizeof secret;
    /* The point was checked on decode (on the curve); P-256 has cofactor 1,
     * so that is full validation and libcrypto need not redo it. */
    if (!ctx || EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) <= 0 ||
        EVP_PKEY_derive(ctx, secret, &n) <= 0)
        ossl_die("derive");
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(peer);
}

static size_t raw_sign(EVP_MD_CTX *md, const uint8_t *msg, size_t len, uint8_t *sig)
{
    size_t n = 80;
    EVP_MD_CTX_reset(md);
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, g_skey) != 1 ||
        EVP_DigestSign(md, sig, &n, msg, len) != 1)
        ossl_die("sign");
    return n;
}

static void raw_verify(EVP_MD_CTX *md, EVP_PKEY *pub, const uint8_t *msg, size_t len,
                       const uint8_t *sig, size_t sig_len)
{
    EVP_MD_CTX_reset(md);
    if (EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pub) != 1 ||
        EVP_DigestVerify(md, sig, sig_len, msg, len) != 1)
        ossl_die("verify");
}

/* ---- through dtlskit's crypto wrappers ----------------------------------- */

static dk_kex *dk_keygen(uint8_t pub[65])
{
    dk_kex *k = dk_kex_new(DK_GROUP_SECP256R1, NULL, 0);
    size_t n;
    if (!k || dk_kex_public(k, pub, 65, &n) != DK_OK || n != 65) bench_die("floor: dk keygen");
    return k;
}

static void dk_derive(dk_kex *k, const uint8_t pt[65])
{
    uint8_t secret[66];
    size_t n;
    if (dk_kex_derive(k, pt, 65, secret, sizeof secret, &n) != DK_OK) bench_die("floor: dk derive");
}

static void one_handshake(bool wrapped, EVP_MD_CTX *md, bench_m *m)
{
    uint8_t spub[65], cpub[65], msg[32 + 32 + 4 + 65], sig[80];
    memset(msg, 7, sizeof msg);
    double t0 = bench_split_start();
    size_t sig_len = 0;
    EVP_PKEY *sk = NULL, *ck = NULL;
    dk_kex *dsk = NULL, *dck = NULL;
    if (wrapped) dsk = dk_keygen(spub);
    else sk = raw_keygen(spub);
    double t1 = bench_split_start();
    if (wrapped) dck = dk_keygen(cpub);
    else ck = raw_keygen(cpub);
    memcpy(msg + 4 + 64, spub, 65);
    double t2 = bench_split_start();
    if (wrapped) {
        dk_derive(dsk, cpub);
        if (dk_sign(g_dk_skey, DK_SIG_ECDSA_SECP256R1_SHA256, msg, sizeof msg, sig, sizeof sig,
                    &sig_len) != DK_OK)
            bench_die("floor: dk sign");
    } else {
        raw_derive(sk, cpub);
        sig_len = raw_sign(md, msg, sizeof msg, sig);
    }
    double t3 = bench_split_start();
    if (wrapped) {
        dk_derive(dck, spub);
        if (dk_verify(g_dk_ca, DK_SIG_ECDSA_SECP256R1_SHA256, g_tbs, g_tbs_len, g_cert_sig,
                      g_cert_sig_len) != DK_OK ||
            dk_verify(g_dk_leaf, DK_SIG_ECDSA_SECP256R1_SHA256, msg, sizeof msg, sig, sig_len) !=
                DK_OK)
            bench_die("floor: dk verify");
    } else {
        raw_derive(ck, spub);
        raw_verify(md, g_ca_pub, g_tbs, g_tbs_len, g_cert_sig, g_cert_sig_len);
        raw_verify(md, g_leaf_pub, msg, sizeof msg, sig, sig_len);
    }
    double t4 = bench_split_start();
    dk_kex_free(dsk);
    dk_kex_free(dck);
    EVP_PKEY_free(sk);
    EVP_PKEY_free(ck);
    double t5 = bench_split_start();
    if (!bench_split) return;
    /* Five intervals, each holding about one clock reading: 2.5 per side. */
    double c = bench_split_clock_cost() * 2.5;
    m->server_cpu += (t1 - t0) + (t3 - t2) + (t5 - t4) / 2 - c;
    m->client_cpu += (t2 - t1) + (t4 - t3) + (t5 - t4) / 2 - c;
    m->client_cpu += ((t2 - t1) + (t4 - t3) + (t5 - t4) / 2) * c;
}

/* n floor handshakes, through dtlskit's wrappers when *(bool *)arg. */
void floor_handshake_step(void *arg, int n, bench_m *m)
{
    static EVP_MD_CTX *md;
    if (!md && !(md = EVP_MD_CTX_new())) ossl_die("md ctx");
    bool wrapped = *(const bool *)arg;
    for (int i = 0; i < n; i++) one_handshake(wrapped, md, m);
    m->ops += n;
}

/* The record floor, two ways through EVP on prefetched, keyed AES-128-GCM
 * contexts; the bench takes the cheaper as "the cheapest seal+open path the
 * crypto library offers".
 *  - generic: per record init-with-nonce, AAD update, update, final, tag
 *    (get on seal, set on open);
 *  - TLS record: libcrypto's construction for libssl. The 4-byte fixed IV is
 *    set once; per record, the 13-byte TLS AAD as a parameter and one
 *    EVP_Cipher call in place over nonce_explicit || data || tag (the
 *    provider generates nonce_explicit on seal, as libssl uses it). */
typedef struct floor_rec_loop {
    EVP_CIPHER *gcm;
    EVP_CIPHER_CTX *enc, *dec;
    bool tls;
    size_t len;
    uint8_t *buf;
    uint8_t aad[13], nonce[12], tag[16];
    unsigned i;
} floor_rec_loop;

void *floor_records_open(size_t len, bool tls_path)
{
    floor_rec_loop *l = calloc(1, sizeof *l);
    if (!l) bench_die("out of memory");
    uint8_t key[16] = {1}, salt[4] = {2};
    static const uint8_t aad0[13] = {0, 1, 0, 0, 0, 0, 0, 0, 23, 0xfe, 0xfd};
    memcpy(l->aad, aad0, sizeof aad0);
    l->gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    l->enc = EVP_CIPHER_CTX_new();
    l->dec = EVP_CIPHER_CTX_new();
    l->tls = tls_path;
    l->len = len;
    l->buf = calloc(1, 8 + len + 16);
    if (!l->gcm || !l->enc || !l->dec || !l->buf ||
        EVP_EncryptInit_ex(l->enc, l->gcm, NULL, key, NULL) != 1 ||
        EVP_DecryptInit_ex(l->dec, l->gcm, NULL, key, NULL) != 1)
        ossl_die("gcm");
    if (tls_path) {
        OSSL_PARAM fixed[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED,
                                                                 salt, sizeof salt),
                               OSSL_PARAM_construct_end()};
        if (EVP_CIPHER_CTX_set_params(l->enc, fixed) != 1 ||
            EVP_CIPHER_CTX_set_params(l->dec, fixed) != 1)
            ossl_die("gcm tls");
    }
    return l;
}

static void tls_aad(EVP_CIPHER_CTX *ctx, uint8_t aad[13], size_t len)
{
    aad[11] = (uint8_t)(len >> 8);
    aad[12] = (uint8_t)len;
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, aad, 13),
                       OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(ctx, p) != 1) ossl_die("tls aad");
}

/* n seal+open pairs of len bytes: through EVP's generic AEAD calls (per
 * record init-with-nonce, AAD update, update, final, tag get/set), or through
 * libcrypto's TLS record construction for libssl (the 4-byte fixed IV set
 * once; per record the 13-byte TLS AAD as a parameter and one EVP_Cipher
 * call in place over nonce_explicit || data || tag; the provider generates
 * nonce_explicit on seal, as libssl uses it). */
void floor_records_step(void *arg, int n, bench_m *m)
{
    floor_rec_loop *l = arg;
    size_t len = l->len, frag = 8 + len + 16;
    int out;
    for (int k = 0; k < n; k++, l->i++) {
        if (l->tls) {
            memcpy(l->aad + 4, &l->i, sizeof l->i);
            tls_aad(l->enc, l->aad, 8 + len); /* seal: the length without the tag */
            if (EVP_Cipher(l->enc, l->buf, l->buf, (unsigned)frag) <= 0) ossl_die("tls seal");
            tls_aad(l->dec, l->aad, frag);
            if (EVP_Cipher(l->dec, l->buf, l->buf, (unsigned)frag) <= 0) ossl_die("tls open");
            continue;
        }
        memcpy(l->nonce, &l->i, sizeof l->i);
        if (EVP_EncryptInit_ex(l->enc, NULL, NULL, NULL, l->nonce) != 1 ||
            EVP_EncryptUpdate(l->enc, NULL, &out, l->aad, sizeof l->aad) != 1 ||
            EVP_EncryptUpdate(l->enc, l->buf, &out, l->buf, (int)len) != 1 ||
            EVP_EncryptFinal_ex(l->enc, l->buf + out, &out) != 1 ||
            EVP_CIPHER_CTX_ctrl(l->enc, EVP_CTRL_AEAD_GET_TAG, 16, l->tag) != 1)
            ossl_die("seal");
        if (EVP_DecryptInit_ex(l->dec, NULL, NULL, NULL, l->nonce) != 1 ||
            EVP_DecryptUpdate(l->dec, NULL, &out, l->aad, sizeof l->aad) != 1 ||
            EVP_DecryptUpdate(l->dec, l->buf, &out, l->buf, (int)len) != 1 ||
            EVP_CIPHER_CTX_ctrl(l->dec, EVP_CTRL_AEAD_SET_TAG, 16, l->tag) != 1 ||
            EVP_DecryptFinal_ex(l->dec, l->buf + out, &out) != 1)
            ossl_die("open");
    }
    m->ops += n;
}

void floor_records_close(void *arg)
{
    floor_rec_loop *l = arg;
    free(l->buf);
    EVP_CIPHER_CTX_free(l->enc);
    EVP_CIPHER_CTX_free(l->dec);
    EVP_CIPHER_free(l->gcm);
    free(l);
}

/* ---- raw records for the socket loop's AEAD echo ---------------------------
 * The floor's TLS record construction, framed as a DTLS record: a 13-byte
 * header (type, version, epoch || sequence, length), nonce_explicit, content,
 * tag. No protocol around it: no replay window, no epochs, no connection. */
struct raw_rec {
    EVP_CIPHER_CTX *ctx;
    bool seal;
};

raw_rec *raw_rec_new(bool seal, uint8_t key_id)
{
    raw_rec *r = calloc(1, sizeof *r);
    EVP_CIPHER *gcm = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    uint8_t key[16] = {key_id}, salt[4] = {key_id, 1};
    if (!r || !gcm || !(r->ctx = EVP_CIPHER_CTX_new()) ||
        EVP_CipherInit_ex(r->ctx, gcm, NULL, key, NULL, seal) != 1)
        ossl_die("raw record");
    EVP_CIPHER_free(gcm);
    OSSL_PARAM fixed[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED,
                                                             salt, sizeof salt),
                           OSSL_PARAM_construct_end()};
    if (EVP_CIPHER_CTX_set_params(r->ctx, fixed) != 1) ossl_die("raw record iv");
    r->seal = seal;
    return r;
}

void raw_rec_free(raw_rec *r)
{
    if (!r) return;
    EVP_CIPHER_CTX_free(r->ctx);
    free(r);
}

static bool raw_cipher(raw_rec *r, uint8_t *d, size_t frag)
{
    size_t aad_len = r->seal ? frag - 16 : frag;
    uint8_t aad[13];
    memcpy(aad, d + 3, 8);
    memcpy(aad + 8, d, 3);
    aad[11] = (uint8_t)(aad_len >> 8);
    aad[12] = (uint8_t)aad_len;
    OSSL_PARAM p[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, aad, 13),
                       OSSL_PARAM_construct_end()};
    return EVP_CIPHER_CTX_set_params(r->ctx, p) == 1 &&
           EVP_Cipher(r->ctx, d + 13, d + 13, (unsigned)frag) > 0;
}

size_t raw_rec_seal(raw_rec *r, uint8_t *d, size_t content_len, uint64_t seq)
{
    size_t frag = RAW_REC_EXPLICIT + content_len + 16;
    d[0] = 23, d[1] = 0xfe, d[2] = 0xfd;
    for (int i = 0; i < 8; i++) d[3 + i] = (uint8_t)(seq >> (56 - 8 * i));
    d[11] = (uint8_t)(frag >> 8), d[12] = (uint8_t)frag;
    if (!raw_cipher(r, d, frag)) ossl_die("raw seal");
    return 13 + frag;
}

bool raw_rec_open(raw_rec *r, uint8_t *d, size_t len)
{
    if (len < RAW_REC_OVERHEAD || (size_t)(d[11] << 8 | d[12]) != len - 13) return false;
    return raw_cipher(r, d, len - 13);
}
