/* AEAD ciphers for DTLS 1.2 records: AES-GCM (RFC 5288), AES-128-CCM with an
 * 8-byte tag (RFC 6655) and ChaCha20-Poly1305 (RFC 7905).
 *
 * Each dk_aead holds one EVP_CIPHER_CTX whose key schedule is expanded once in
 * dk_aead_new. Seal and open only set the 12-byte nonce, the AAD and (to
 * open) the expected tag, so the per-record path neither re-keys nor
 * allocates. */
#include <limits.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include "crypto/dk_crypto_internal.h"

#define DK_AEAD_NONCE_LEN 12

struct dk_aead {
    EVP_CIPHER_CTX *ctx;
    dk_aead_alg alg;
    bool encrypt;
    bool ccm;
    int tag_len;
};

size_t dk_aead_key_len(dk_aead_alg alg)
{
    switch (alg) {
    case DK_AEAD_AES128_GCM: return 16;
    case DK_AEAD_AES256_GCM: return 32;
    case DK_AEAD_AES128_CCM8: return 16;
    case DK_AEAD_CHACHA20_POLY1305: return 32;
    }
    return 0;
}

size_t dk_aead_tag_len(dk_aead_alg alg)
{
    switch (alg) {
    case DK_AEAD_AES128_GCM:
    case DK_AEAD_AES256_GCM:
    case DK_AEAD_CHACHA20_POLY1305: return 16;
    case DK_AEAD_AES128_CCM8: return 8;
    }
    return 0;
}

/* Nonce length, and for CCM the tag length M (RFC 3610 section 2), must be
 * fixed before the key goes in. */
static bool aead_setup(dk_aead *a, const EVP_CIPHER *cipher, const uint8_t *key)
{
    int enc = a->encrypt ? 1 : 0;
    if (EVP_CipherInit_ex2(a->ctx, cipher, NULL, NULL, enc, NULL) != 1) return false;
    if (EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_IVLEN, DK_AEAD_NONCE_LEN, NULL) != 1)
        return false;
    if (a->ccm && EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_AEAD_SET_TAG, a->tag_len, NULL) != 1)
        return false;
    if (EVP_CIPHER_CTX_get_key_length(a->ctx) != (int)dk_aead_key_len(a->alg)) return false;
    return EVP_CipherInit_ex2(a->ctx, NULL, key, NULL, enc, NULL) == 1;
}

dk_aead *dk_aead_new(dk_aead_alg alg, const uint8_t *key, bool encrypt)
{
    const dk_crypto_algs *algs = dk_crypto_algs_get();
    if (!algs || !key || (unsigned)alg >= DK_ARRAY_LEN(algs->cipher)) return NULL;
    dk_aead *a = dk_calloc(1, sizeof *a);
    if (!a) return NULL;
    a->alg = alg;
    a->encrypt = encrypt;
    a->ccm = alg == DK_AEAD_AES128_CCM8;
    a->tag_len = (int)dk_aead_tag_len(alg);
    a->ctx = EVP_CIPHER_CTX_new();
    if (!a->ctx || !aead_setup(a, algs->cipher[alg], key)) {
        ERR_clear_error();
        dk_aead_free(a);
        return NULL;
    }
    return a;
}

/* EVP_CIPHER_CTX_free cleanses the expanded key. */
void dk_aead_free(dk_aead *a)
{
    if (!a) return;
    EVP_CIPHER_CTX_free(a->ctx);
    dk_free(a);
}

/* The tag through the provider's parameters directly: the legacy ctrl call
 * builds and translates a parameter array on every record. */
static bool aead_tag_param(dk_aead *a, uint8_t *tag, bool set)
{
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, (size_t)a->tag_len);
    params[1] = OSSL_PARAM_construct_end();
    return (set ? EVP_CIPHER_CTX_set_params(a->ctx, params) : EVP_CIPHER_CTX_get_params(a->ctx, params)) == 1;
}

/* New nonce, expected tag (open only) and AAD for one record. CCM must learn
 * the message length before the AAD (it is part of the first CBC-MAC block,
 * RFC 3610 section 2.2), and the expected tag before the data, since it
 * verifies in the update call. */
static bool aead_start(dk_aead *a, const uint8_t nonce[12], const uint8_t *tag, const uint8_t *aad,
                       size_t aad_len, size_t len)
{
    int outl = 0;
    if (EVP_CipherInit_ex2(a->ctx, NULL, NULL, nonce, a->encrypt ? 1 : 0, NULL) != 1)
        return false;
    if (tag && !aead_tag_param(a, (uint8_t *)tag, true)) return false;
    if (a->ccm && EVP_CipherUpdate(a->ctx, NULL, &outl, NULL, (int)len) != 1) return false;
    if (aad_len && EVP_CipherUpdate(a->ctx, NULL, &outl, aad, (int)aad_len) != 1) return false;
    return true;
}

static bool aead_args_ok(const dk_aead *a, bool encrypt, const uint8_t *nonce, const uint8_t *aad,
                         size_t aad_len, const uint8_t *buf, size_t len, const uint8_t *tag)
{
    return a && a->encrypt == encrypt && nonce && tag && (aad || !aad_len) && (buf || !len) &&
           len <= (size_t)INT_MAX && aad_len <= (size_t)INT_MAX;
}

dk_result dk_aead_seal(dk_aead *a, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                       uint8_t *buf, size_t len, uint8_t *tag)
{
    if (!aead_args_ok(a, true, nonce, aad, aad_len, buf, len, tag)) return DK_ERR_INVALID_ARG;
    uint8_t dummy[1];
    uint8_t *p = buf ? buf : dummy;
    int outl = 0, finl = 0;
    if (!aead_start(a, nonce, NULL, aad, aad_len, len) ||
        EVP_CipherUpdate(a->ctx, p, &outl, p, (int)len) != 1 ||
        EVP_CipherFinal_ex(a->ctx, p + outl, &finl) != 1 || (size_t)(outl + finl) != len ||
        !aead_tag_param(a, tag, false)) {
        ERR_clear_error();
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}

/* Open: CCM verifies the tag in the update call, GCM and ChaCha20-Poly1305 in
 * the final call. */
dk_result dk_aead_open(dk_aead *a, const uint8_t nonce[12], const uint8_t *aad, size_t aad_len,
                       uint8_t *buf, size_t len, const uint8_t *tag)
{
    if (!aead_args_ok(a, false, nonce, aad, aad_len, buf, len, tag)) return DK_ERR_INVALID_ARG;
    uint8_t dummy[1];
    uint8_t *p = buf ? buf : dummy;
    int outl = 0, finl = 0;
    if (!aead_start(a, nonce, tag, aad, aad_len, len) ||
        EVP_CipherUpdate(a->ctx, p, &outl, p, (int)len) != 1 ||
        (!a->ccm && EVP_CipherFinal_ex(a->ctx, p + outl, &finl) != 1) ||
        (size_t)(outl + finl) != len) {
        ERR_clear_error();
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}
