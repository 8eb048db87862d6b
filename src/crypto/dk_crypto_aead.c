/* AEAD ciphers for DTLS 1.2 records: AES-GCM (RFC 5288), AES-128-CCM with an
 * 8-byte tag (RFC 6655) and ChaCha20-Poly1305 (RFC 7905).
 *
 * Each dk_aead holds one EVP_CIPHER_CTX whose key schedule is expanded once in
 * dk_aead_new or dk_aead_new_record; the per-record path neither re-keys nor
 * allocates.
 *
 * Two ways through libcrypto:
 *  - generic (dk_aead_seal/open): a 12-byte nonce, AAD and data, in the
 *    usual init/update/final calls;
 *  - record (dk_aead_seal/open_record): the TLS record construction that
 *    libcrypto's providers implement for libssl. The fixed IV is set once;
 *    per record, one parameter (the 13-byte TLS AAD) and one EVP_Cipher call
 *    over nonce_explicit || content || tag. This is the cheaper path (fewer
 *    calls and checks per record, and a one-shot GCM), so the record layer
 *    uses it. */
#include <limits.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>

#include "crypto/dk_crypto_internal.h"

#define DK_AEAD_NONCE_LEN 12

#define DK_AEAD_AAD_LEN 13
#define DK_AEAD_EXPLICIT_LEN 8

/* Small on purpose: two per connection, kept for its life (the 4 KiB heap
 * budget per connection). */
struct dk_aead {
    EVP_CIPHER_CTX *ctx;
    uint64_t next_explicit; /* gcm_seal: the provider's next nonce_explicit, when iv_synced */
    uint8_t alg;            /* dk_aead_alg */
    uint8_t tag_len;
    uint8_t explicit_len;   /* record mode: 8 (GCM, CCM) or 0 (ChaCha20-Poly1305) */
    bool encrypt : 1;
    bool ccm : 1;
    bool record : 1;        /* made by dk_aead_new_record */
    bool gcm_seal : 1;      /* record mode, AES-GCM, sealing: see gcm_sync */
    bool iv_synced : 1;
    uint8_t salt[4];
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

/* GCM and ChaCha20-Poly1305 default to the 12-byte nonce: cipher and key go
 * in with one call. CCM's nonce length (15 - L) and tag length M (RFC 3610
 * section 2) must be set before the key, as parameters of a first keyless
 * call: the provider applies them after the (absent) key. The key length is
 * the fetched cipher's, checked without a parameter round trip. */
static bool aead_setup(dk_aead *a, const EVP_CIPHER *cipher, const uint8_t *key)
{
    int enc = a->encrypt ? 1 : 0;
    if (EVP_CIPHER_get_key_length(cipher) != (int)dk_aead_key_len(a->alg)) return false;
    if (!a->ccm) return EVP_CipherInit_ex2(a->ctx, cipher, key, NULL, enc, NULL) == 1;
    size_t ivlen = DK_AEAD_NONCE_LEN, taglen = a->tag_len;
    OSSL_PARAM params[3] = {
        OSSL_PARAM_construct_size_t(OSSL_CIPHER_PARAM_AEAD_IVLEN, &ivlen),
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, NULL, taglen),
        OSSL_PARAM_construct_end(),
    };
    return EVP_CipherInit_ex2(a->ctx, cipher, NULL, NULL, enc, params) == 1 &&
           EVP_CipherInit_ex2(a->ctx, NULL, key, NULL, enc, NULL) == 1;
}

dk_aead *dk_aead_new(dk_aead_alg alg, const uint8_t *key, bool encrypt)
{
    const dk_crypto_algs *algs = dk_crypto_algs_get();
    if (!algs || !key || (unsigned)alg >= DK_ARRAY_LEN(algs->cipher)) return NULL;
    dk_aead *a = dk_calloc(1, sizeof *a);
    if (!a) return NULL;
    a->alg = (uint8_t)alg;
    a->encrypt = encrypt;
    a->ccm = alg == DK_AEAD_AES128_CCM8;
    a->tag_len = (uint8_t)dk_aead_tag_len(alg);
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
    return a && !a->record && a->encrypt == encrypt && nonce && tag && (aad || !aad_len) &&
           (buf || !len) && len <= (size_t)INT_MAX && aad_len <= (size_t)INT_MAX;
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

/* ---- the TLS record construction --------------------------------------------
 *
 * libcrypto's TLS AEAD mode (OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, then one
 * EVP_Cipher call in place over the record fragment) per cipher:
 *  - AES-GCM: the fixed IV (salt) is set once. Opening takes nonce_explicit
 *    from the fragment. Sealing *generates* nonce_explicit: the IV's last 8
 *    bytes, written to the fragment and then incremented as a 64-bit
 *    big-endian counter. dtlskit sends nonce_explicit = epoch || seq (the
 *    record tests pin these bytes), so gcm_sync loads the whole IV,
 *    salt || epoch || seq, whenever the counter is not already there (the
 *    first record of a key, or a sequence number that skipped); records
 *    sealed in order (seq + 1 each) keep it in step with no extra call. The
 *    bytes written are compared with epoch || seq after every seal.
 *  - AES-CCM: the fixed IV is set once; sealing copies nonce_explicit from
 *    the AAD's first 8 bytes (epoch || seq), opening from the fragment.
 *  - ChaCha20-Poly1305: the 12-byte IV is set once; the provider XORs the
 *    AAD's first 8 bytes (epoch || seq) into it (RFC 7905 section 2).
 * The AAD's length field counts what EVP_Cipher is given, minus the tag when
 * sealing: libcrypto subtracts nonce_explicit (and, to open, the tag) to get
 * the content length that is authenticated. */

static bool set_fixed_iv(dk_aead *a, const uint8_t *iv, size_t len)
{
    OSSL_PARAM params[2];
    params[0] =
        OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_IV_FIXED, (void *)iv, len);
    params[1] = OSSL_PARAM_construct_end();
    return EVP_CIPHER_CTX_set_params(a->ctx, params) == 1;
}

/* AES-GCM sealing: load salt || explicit8 as the whole IV (the fixed-IV
 * parameter with length (size_t)-1 loads all 12 bytes, as
 * EVP_CTRL_GCM_SET_IV_FIXED with -1 does). */
static bool gcm_sync(dk_aead *a, const uint8_t explicit8[8])
{
    uint8_t iv[DK_AEAD_NONCE_LEN];
    memcpy(iv, a->salt, 4);
    memcpy(iv + 4, explicit8, 8);
    a->iv_synced = set_fixed_iv(a, iv, (size_t)-1);
    a->next_explicit = dk_load_u64(explicit8);
    return a->iv_synced;
}

dk_aead *dk_aead_new_record(dk_aead_alg alg, const uint8_t *key, const uint8_t *iv, bool encrypt)
{
    if (!iv) return NULL;
    dk_aead *a = dk_aead_new(alg, key, encrypt);
    if (!a) return NULL;
    a->record = true;
    bool chacha = alg == DK_AEAD_CHACHA20_POLY1305;
    a->explicit_len = (uint8_t)(chacha ? 0 : DK_AEAD_EXPLICIT_LEN);
    a->gcm_seal = encrypt && (alg == DK_AEAD_AES128_GCM || alg == DK_AEAD_AES256_GCM);
    bool ok;
    if (a->gcm_seal) {
        static const uint8_t zero[8];
        memcpy(a->salt, iv, 4);
        ok = gcm_sync(a, zero);
    } else {
        ok = set_fixed_iv(a, iv, chacha ? DK_AEAD_NONCE_LEN : 4);
    }
    if (!ok) {
        ERR_clear_error();
        dk_aead_free(a);
        return NULL;
    }
    return a;
}

/* One record in place; frag_len counts nonce_explicit, content and tag. */
static dk_result record_cipher(dk_aead *a, bool encrypt, const uint8_t hdr[13], uint8_t *frag,
                               size_t frag_len)
{
    if (!a || !a->record || a->encrypt != encrypt || !hdr || !frag) return DK_ERR_INVALID_ARG;
    if (frag_len < a->explicit_len + (size_t)a->tag_len || frag_len > 0xFFFF)
        return DK_ERR_INVALID_ARG;
    const uint8_t *seq_num = hdr + 3; /* epoch || sequence_number */
    if (a->gcm_seal && (!a->iv_synced || a->next_explicit != dk_load_u64(seq_num)) &&
        !gcm_sync(a, seq_num))
        goto fail;
    /* libcrypto's TLS AAD: its length field counts what EVP_Cipher is given,
     * less the tag when sealing (see above). */
    uint8_t tls_aad[DK_AEAD_AAD_LEN];
    memcpy(tls_aad, seq_num, 8);
    tls_aad[8] = hdr[0];
    tls_aad[9] = hdr[1];
    tls_aad[10] = hdr[2];
    dk_store_u16(tls_aad + 11, (uint16_t)(encrypt ? frag_len - (size_t)a->tag_len : frag_len));
    OSSL_PARAM aad_param[2] = {
        OSSL_PARAM_octet_string(OSSL_CIPHER_PARAM_AEAD_TLS1_AAD, tls_aad, sizeof tls_aad),
        OSSL_PARAM_END,
    };
    /* EVP_Cipher returns -1 on failure, else a length: 0 is the content
     * length of an empty ChaCha20-Poly1305 record being opened. */
    if (EVP_CIPHER_CTX_set_params(a->ctx, aad_param) != 1 ||
        EVP_Cipher(a->ctx, frag, frag, (unsigned)frag_len) < 0)
        goto fail;
    if (a->gcm_seal) {
        /* Fail closed should the provider ever write another nonce. */
        if (memcmp(frag, seq_num, DK_AEAD_EXPLICIT_LEN) != 0) goto fail;
        a->next_explicit++;
    }
    return DK_OK;
fail:
    if (a->gcm_seal) a->iv_synced = false;
    ERR_clear_error();
    dk_wipe(frag, frag_len);
    return DK_ERR_CRYPTO;
}

dk_result dk_aead_seal_record(dk_aead *a, const uint8_t hdr[13], uint8_t *frag, size_t frag_len)
{
    return record_cipher(a, true, hdr, frag, frag_len);
}

dk_result dk_aead_open_record(dk_aead *a, const uint8_t hdr[13], uint8_t *frag, size_t frag_len)
{
    return record_cipher(a, false, hdr, frag, frag_len);
}
