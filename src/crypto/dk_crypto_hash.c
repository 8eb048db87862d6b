/* SHA-2 hashes (one-shot and incremental), HMAC and the TLS 1.2 PRF. */
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"

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

dk_hash_ctx *dk_hash_new(dk_hash_alg alg)
{
    const EVP_MD *md = dk_crypto_md(alg);
    if (!md) return NULL;
    dk_hash_ctx *h = dk_calloc(1, sizeof *h);
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
    EVP_MD_CTX_free(h->md);
    EVP_MD_CTX_free(h->scratch);
    dk_free(h);
}

/* HMAC (RFC 2104) over the concatenation of parts. */
struct dk_hmac_key {
    EVP_MAC_CTX *ctx;
    size_t out_len;
};

dk_hmac_key *dk_hmac_key_new(dk_hash_alg alg, const uint8_t *key, size_t key_len)
{
    const dk_crypto_algs *a = dk_crypto_algs_get();
    const char *mdname = dk_crypto_md_name(alg);
    if (!a || !mdname || !key || !key_len) return NULL;
    dk_hmac_key *k = dk_calloc(1, sizeof *k);
    if (!k) return NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)mdname, 0),
        OSSL_PARAM_construct_end(),
    };
    k->out_len = dk_hash_len(alg);
    k->ctx = EVP_MAC_CTX_new(a->hmac);
    if (!k->ctx || EVP_MAC_init(k->ctx, key, key_len, params) != 1) {
        ERR_clear_error();
        dk_hmac_key_free(k);
        return NULL;
    }
    return k;
}

void dk_hmac_key_free(dk_hmac_key *k)
{
    if (!k) return;
    EVP_MAC_CTX_free(k->ctx); /* cleanses the key schedule */
    dk_free(k);
}

/* EVP_MAC_init with a NULL key restarts HMAC with the key already set
 * (OpenSSL 3.0 providers/implementations/macs/hmac_prov.c). */
dk_result dk_hmac_keyed(dk_hmac_key *k, const dk_iovec *parts, size_t nparts, uint8_t *out)
{
    if (!k || !out || (!parts && nparts)) return DK_ERR_INVALID_ARG;
    if (EVP_MAC_init(k->ctx, NULL, 0, NULL) != 1) goto fail;
    for (size_t i = 0; i < nparts; i++) {
        if (parts[i].len == 0) continue;
        if (!parts[i].p) return DK_ERR_INVALID_ARG;
        if (EVP_MAC_update(k->ctx, parts[i].p, parts[i].len) != 1) goto fail;
    }
    size_t outl = 0;
    if (EVP_MAC_final(k->ctx, out, &outl, k->out_len) != 1) goto fail;
    return DK_OK;
fail:
    ERR_clear_error();
    return DK_ERR_CRYPTO;
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
dk_result dk_tls12_prf(dk_hash_alg alg, const uint8_t *secret, size_t secret_len,
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
