/* SHA-2 hashes (one-shot and incremental), HMAC and the TLS 1.2 PRF. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"
#include "crypto/dk_crypto_pool.h"

struct dk_hash_ctx {
    dk_hash_alg alg;
    EVP_MD_CTX *md;
    EVP_MD_CTX *scratch; /* copy target for peek, so peek does not allocate */
};

size_t dk_hash_len(dk_hash_alg alg)
{
    switch (alg) {
    case DK_HASH_SHA256: return 32;
    case DK_HASH_SHA384: return 48;
    }
    return 0;
}

dk_result dk_hash(dk_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
    const EVP_MD *md = dk_crypto_md(alg);
    if (!md) return DK_ERR_INVALID_ARG;
    if (!data && len) return DK_ERR_INVALID_ARG;
    unsigned int outl = 0;
    if (EVP_Digest(data, len, out, &outl, md, NULL) != 1) {
        ERR_clear_error();
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}

static dk_pool g_hash_pool[2], g_hmac_pool[2]; /* by dk_hash_alg */

/* Both contexts back to a fresh state: nothing hashed stays behind. */
static bool hash_reset(dk_hash_ctx *h, const EVP_MD *md)
{
    return EVP_DigestInit_ex2(h->md, md, NULL) == 1 && EVP_DigestInit_ex2(h->scratch, md, NULL) == 1;
}

dk_hash_ctx *dk_hash_new(dk_hash_alg alg)
{
    const EVP_MD *md = dk_crypto_md(alg);
    if (!md) return NULL;
    dk_hash_ctx *h = dk_pool_take(&g_hash_pool[alg]);
    if (h) return h; /* reset when it was put back */
    h = dk_calloc(1, sizeof *h);
    if (!h) return NULL;
    h->alg = alg;
    h->md = EVP_MD_CTX_new();
    h->scratch = EVP_MD_CTX_new();
    if (!h->md || !h->scratch || EVP_DigestInit_ex2(h->md, md, NULL) != 1) {
        ERR_clear_error();
        dk_hash_free(h);
        return NULL;
    }
    return h;
}

dk_result dk_hash_update(dk_hash_ctx *h, const uint8_t *data, size_t len)
{
    if (!h || (!data && len)) return DK_ERR_INVALID_ARG;
    if (len == 0) return DK_OK;
    if (EVP_DigestUpdate(h->md, data, len) != 1) {
        ERR_clear_error();
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}

/* The digest of a copy of the running state: the original keeps going. */
dk_result dk_hash_peek(const dk_hash_ctx *h, uint8_t *out)
{
    if (!h || !out) return DK_ERR_INVALID_ARG;
    unsigned int outl = 0;
    if (EVP_MD_CTX_copy_ex(h->scratch, h->md) != 1 ||
        EVP_DigestFinal_ex(h->scratch, out, &outl) != 1) {
        ERR_clear_error();
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}

void dk_hash_free(dk_hash_ctx *h)
{
    if (!h) return;
    const EVP_MD *md = dk_crypto_md(h->alg);
    if (md && h->md && h->scratch && hash_reset(h, md) && dk_pool_put(&g_hash_pool[h->alg], h))
        return;
    ERR_clear_error();
    EVP_MD_CTX_free(h->md);
    EVP_MD_CTX_free(h->scratch);
    dk_free(h);
}

/* HMAC (RFC 2104) over the concatenation of parts. */
struct dk_hmac_key {
    EVP_MAC_CTX *ctx;
    size_t out_len;
    dk_hash_alg alg;
};

/* A pooled HMAC context is re-keyed with this public key before it goes
 * back: HMAC_Init_ex re-initialises the inner, outer and working digest
 * states in place, so nothing of the old key's schedule remains. */
static const uint8_t k_scrub_key[32] = {0};

dk_hmac_key *dk_hmac_key_new(dk_hash_alg alg, const uint8_t *key, size_t key_len)
{
    const dk_crypto_algs *a = dk_crypto_algs_get();
    const char *mdname = dk_crypto_md_name(alg);
    if (!a || !mdname || !key) return NULL; /* an empty key is HMAC's all-zero block */
    dk_hmac_key *k = dk_pool_take(&g_hmac_pool[alg]);
    if (k) {
        if (EVP_MAC_init(k->ctx, key, key_len, NULL) == 1) return k;
        ERR_clear_error();
        EVP_MAC_CTX_free(k->ctx);
        dk_free(k);
    }
    k = dk_calloc(1, sizeof *k);
    if (!k) return NULL;
    k->out_len = dk_hash_len(alg);
    k->alg = alg;
    /* from the template: no digest fetch per key */
    k->ctx = EVP_MAC_CTX_dup(a->hmac_tmpl[alg]);
    if (!k->ctx || EVP_MAC_init(k->ctx, key, key_len, NULL) != 1) {
        ERR_clear_error();
        dk_hmac_key_free(k);
        return NULL;
    }
    return k;
}

void dk_hmac_key_free(dk_hmac_key *k)
{
    if (!k) return;
    if (k->ctx && EVP_MAC_init(k->ctx, k_scrub_key, sizeof k_scrub_key, NULL) == 1 &&
        dk_pool_put(&g_hmac_pool[k->alg], k))
        return;
    ERR_clear_error();
    EVP_MAC_CTX_free(k->ctx); /* cleanses the key schedule */
    dk_free(k);
}

dk_result dk_hmac_key_rekey(dk_hmac_key *k, const uint8_t *key, size_t key_len)
{
    if (!k || !key || !key_len) return DK_ERR_INVALID_ARG;
    if (EVP_MAC_init(k->ctx, key, key_len, NULL) != 1) {
        ERR_clear_error();
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}

/* Small parts are gathered into one buffer first: each EVP_MAC_update call
 * costs about as much as hashing 20 bytes, and the PRF passes 4 short
 * pieces. A lone part, or one larger than the buffer, goes straight in. */
#define DK_MAC_GATHER 256

static bool mac_flush(EVP_MAC_CTX *ctx, const uint8_t *buf, size_t *n, size_t *used)
{
    bool ok = *n == 0 || EVP_MAC_update(ctx, buf, *n) == 1;
    if (*n > *used) *used = *n;
    *n = 0;
    return ok;
}

/* One MAC over the parts. EVP_MAC_init with a NULL key restarts the MAC with
 * the key already set (OpenSSL 3.0 providers: hmac_prov.c, siphash_prov.c). */
static dk_result mac_parts(EVP_MAC_CTX *ctx, const dk_iovec *parts, size_t nparts, uint8_t *out,
                           size_t out_len)
{
    for (size_t i = 0; i < nparts; i++)
        if (parts[i].len && !parts[i].p) return DK_ERR_INVALID_ARG;
    uint8_t buf[DK_MAC_GATHER];
    size_t n = 0, used = 0, outl = 0;
    bool ok = EVP_MAC_init(ctx, NULL, 0, NULL) == 1;
    for (size_t i = 0; ok && i < nparts; i++) {
        const dk_iovec *v = &parts[i];
        if (!v->len) continue;
        if (nparts == 1 || v->len > sizeof buf) {
            ok = mac_flush(ctx, buf, &n, &used) && EVP_MAC_update(ctx, v->p, v->len) == 1;
            continue;
        }
        if (v->len > sizeof buf - n) ok = mac_flush(ctx, buf, &n, &used);
        memcpy(buf + n, v->p, v->len);
        n += v->len;
    }
    ok = ok && mac_flush(ctx, buf, &n, &used) && EVP_MAC_final(ctx, out, &outl, out_len) == 1 &&
         outl == out_len;
    dk_wipe(buf, used > n ? used : n); /* PRF chain values pass through it */
    if (ok) return DK_OK;
    ERR_clear_error();
    return DK_ERR_CRYPTO;
}

dk_result dk_hmac_keyed(dk_hmac_key *k, const dk_iovec *parts, size_t nparts, uint8_t *out)
{
    if (!k || !out || (!parts && nparts)) return DK_ERR_INVALID_ARG;
    return mac_parts(k->ctx, parts, nparts, out, k->out_len);
}

struct dk_siphash_key {
    EVP_MAC_CTX *ctx;
};

dk_siphash_key *dk_siphash_key_new(const uint8_t key[DK_SIPHASH_KEY_LEN])
{
    const dk_crypto_algs *a = dk_crypto_algs_get();
    if (!a || !key) return NULL;
    dk_siphash_key *k = dk_calloc(1, sizeof *k);
    if (!k) return NULL;
    k->ctx = EVP_MAC_CTX_dup(a->siphash_tmpl);
    if (!k->ctx || EVP_MAC_init(k->ctx, key, DK_SIPHASH_KEY_LEN, NULL) != 1) {
        ERR_clear_error();
        dk_siphash_key_free(k);
        return NULL;
    }
    return k;
}

/* libcrypto 3.0's SipHash context is freed without a cleanse: re-keying it
 * with a public all-zero key first overwrites both the running state and
 * the copy that restarts it (nothing else of the key is kept). */
void dk_siphash_key_free(dk_siphash_key *k)
{
    if (!k) return;
    if (k->ctx) {
        static const uint8_t scrub[DK_SIPHASH_KEY_LEN] = {0};
        if (EVP_MAC_init(k->ctx, scrub, sizeof scrub, NULL) != 1) ERR_clear_error();
        EVP_MAC_CTX_free(k->ctx);
    }
    dk_free(k);
}

dk_result dk_siphash_keyed(dk_siphash_key *k, const dk_iovec *parts, size_t nparts,
                           uint8_t out[DK_SIPHASH_TAG_LEN])
{
    if (!k || !out || (!parts && nparts)) return DK_ERR_INVALID_ARG;
    return mac_parts(k->ctx, parts, nparts, out, DK_SIPHASH_TAG_LEN);
}

dk_result dk_hmac(dk_hash_alg alg, const uint8_t *key, size_t key_len, const dk_iovec *parts,
                  size_t nparts, uint8_t *out)
{
    const dk_crypto_algs *a = dk_crypto_algs_get();
    const char *mdname = dk_crypto_md_name(alg);
    if (!a) return DK_ERR_CRYPTO;
    if (!mdname || !out || (!key && key_len) || (!parts && nparts)) return DK_ERR_INVALID_ARG;
    static const uint8_t empty_key[1] = {0};
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)mdname, 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(a->hmac);
    dk_result r = DK_ERR_CRYPTO;
    if (!ctx || EVP_MAC_init(ctx, key_len ? key : empty_key, key_len, params) != 1) goto done;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len == 0) continue;
        if (!parts[i].p) {
            r = DK_ERR_INVALID_ARG;
            goto done;
        }
        if (EVP_MAC_update(ctx, parts[i].p, parts[i].len) != 1) goto done;
    }
    size_t outl = 0;
    if (EVP_MAC_final(ctx, out, &outl, dk_hash_len(alg)) != 1) goto done;
    r = DK_OK;
done:
    EVP_MAC_CTX_free(ctx);
    if (r != DK_OK) ERR_clear_error();
    return r;
}

/* RFC 5246 section 5:
 *   PRF(secret, label, seed) = P_<hash>(secret, label + seed)
 * The TLS1-PRF KDF concatenates its seed parameters in order, so the seed is
 * label || seed1 || seed2. */
static dk_result prf_kdf(dk_hash_alg alg, const uint8_t *secret, size_t secret_len,
                         const char *label, const uint8_t *seed1, size_t seed1_len,
                         const uint8_t *seed2, size_t seed2_len, uint8_t *out, size_t out_len);

/* RFC 5246 5: P_hash(secret, seed) = HMAC(secret, A(1) + seed) +
 * HMAC(secret, A(2) + seed) + ..., A(0) = seed, A(i) = HMAC(secret, A(i-1)).
 * Over one keyed HMAC context: libcrypto's TLS1-PRF KDF re-fetches and
 * re-keys for every call and was half of a PSK handshake's cost. */
static dk_result p_hash(dk_hmac_key *k, size_t hlen, const dk_iovec seed[3], uint8_t *out,
                        size_t out_len)
{
    uint8_t a[DK_MAX_HASH_LEN], blk[DK_MAX_HASH_LEN];
    dk_result r = dk_hmac_keyed(k, seed, 3, a);
    for (size_t off = 0; r == DK_OK && off < out_len;) {
        const dk_iovec parts[4] = {{a, hlen}, seed[0], seed[1], seed[2]};
        r = dk_hmac_keyed(k, parts, 4, blk);
        if (r != DK_OK) break;
        size_t n = DK_MIN(hlen, out_len - off);
        memcpy(out + off, blk, n);
        off += n;
        if (off < out_len) {
            const dk_iovec prev = {a, hlen};
            r = dk_hmac_keyed(k, &prev, 1, a);
        }
    }
    dk_wipe(a, sizeof a);
    dk_wipe(blk, sizeof blk);
    return r;
}

dk_result dk_tls12_prf(dk_hash_alg alg, const uint8_t *secret, size_t secret_len,
                       const char *label, const uint8_t *seed1, size_t seed1_len,
                       const uint8_t *seed2, size_t seed2_len, uint8_t *out, size_t out_len)
{
    if (secret && secret_len && label && out && (seed1 || !seed1_len) && (seed2 || !seed2_len) &&
        dk_crypto_md_name(alg)) {
        if (out_len == 0) return DK_OK;
        dk_hmac_key *k = dk_hmac_key_new(alg, secret, secret_len);
        if (!k) return DK_ERR_CRYPTO;
        const dk_iovec seed[3] = {
            {(const uint8_t *)label, strlen(label)}, {seed1, seed1_len}, {seed2, seed2_len}};
        dk_result r = p_hash(k, dk_hash_len(alg), seed, out, out_len);
        dk_hmac_key_free(k);
        if (r != DK_OK) dk_wipe(out, out_len);
        return r;
    }
    return prf_kdf(alg, secret, secret_len, label, seed1, seed1_len, seed2, seed2_len, out, out_len);
}

dk_result dk_tls12_prf_keyed(dk_hmac_key *k, const char *label, const uint8_t *seed1,
                             size_t seed1_len, const uint8_t *seed2, size_t seed2_len,
                             uint8_t *out, size_t out_len)
{
    if (!k || !label || !out || (!seed1 && seed1_len) || (!seed2 && seed2_len))
        return DK_ERR_INVALID_ARG;
    if (out_len == 0) return DK_OK;
    const dk_iovec seed[3] = {
        {(const uint8_t *)label, strlen(label)}, {seed1, seed1_len}, {seed2, seed2_len}};
    dk_result r = p_hash(k, k->out_len, seed, out, out_len);
    if (r != DK_OK) dk_wipe(out, out_len);
    return r;
}

/* The general path (an empty secret, argument checks): libcrypto's KDF. */
static dk_result prf_kdf(dk_hash_alg alg, const uint8_t *secret, size_t secret_len,
                         const char *label, const uint8_t *seed1, size_t seed1_len,
                         const uint8_t *seed2, size_t seed2_len, uint8_t *out, size_t out_len)
{
    const dk_crypto_algs *a = dk_crypto_algs_get();
    const char *mdname = dk_crypto_md_name(alg);
    if (!a) return DK_ERR_CRYPTO;
    if (!mdname || !out || !label || (!secret && secret_len) || (!seed1 && seed1_len) ||
        (!seed2 && seed2_len))
        return DK_ERR_INVALID_ARG;
    if (out_len == 0) return DK_OK;
    static const uint8_t empty[1] = {0};
    OSSL_PARAM params[6];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)mdname, 0);
    params[n++] = OSSL_PARAM_construct_octet_string(
        OSSL_KDF_PARAM_SECRET, (void *)(secret_len ? secret : empty), secret_len);
    params[n++] =
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)label, strlen(label));
    if (seed1_len)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed1, seed1_len);
    if (seed2_len)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SEED, (void *)seed2, seed2_len);
    params[n] = OSSL_PARAM_construct_end();

    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(a->tls1_prf);
    dk_result r = DK_ERR_CRYPTO;
    if (ctx && EVP_KDF_derive(ctx, out, out_len, params) == 1) r = DK_OK;
    EVP_KDF_CTX_free(ctx);
    if (r != DK_OK) {
        ERR_clear_error();
        dk_wipe(out, out_len);
    }
    return r;
}
