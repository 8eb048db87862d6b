/* Private keys from PEM, and signatures for the TLS SignatureScheme values
 * dtlskit supports (RFC 8446 4.2.3, used by TLS 1.2 through RFC 5246
 * signature_algorithms). */
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"

typedef struct sig_scheme_info {
    uint16_t scheme;
    dk_pkey_type type;
    const char *md; /* NULL: the message is signed as is (Ed25519) */
    bool pss;
} sig_scheme_info;

/* RFC 8446 4.2.3: ECDSA schemes name the curve ("ecdsa_secp256r1_sha256"),
 * rsa_pss_rsae_* use "RSASSA-PSS ... The length of the Salt MUST be equal to
 * the length of the output of the digest algorithm", with MGF1 over the same
 * hash; ed25519 signs the message itself. */
static const sig_scheme_info k_schemes[] = {
    {DK_SIG_RSA_PKCS1_SHA256, DK_PKEY_RSA, "SHA256", false},
    {DK_SIG_RSA_PKCS1_SHA384, DK_PKEY_RSA, "SHA384", false},
    {DK_SIG_ECDSA_SECP256R1_SHA256, DK_PKEY_EC_P256, "SHA256", false},
    {DK_SIG_ECDSA_SECP384R1_SHA384, DK_PKEY_EC_P384, "SHA384", false},
    {DK_SIG_RSA_PSS_RSAE_SHA256, DK_PKEY_RSA, "SHA256", true},
    {DK_SIG_RSA_PSS_RSAE_SHA384, DK_PKEY_RSA, "SHA384", true},
    {DK_SIG_ED25519, DK_PKEY_ED25519, NULL, false},
};

static const sig_scheme_info *scheme_info(uint16_t scheme)
{
    for (size_t i = 0; i < DK_ARRAY_LEN(k_schemes); i++)
        if (k_schemes[i].scheme == scheme) return &k_schemes[i];
    return NULL;
}

static dk_pkey_type classify(EVP_PKEY *p)
{
    if (EVP_PKEY_is_a(p, "RSA")) return DK_PKEY_RSA;
    if (EVP_PKEY_is_a(p, "ED25519")) return DK_PKEY_ED25519;
    if (!EVP_PKEY_is_a(p, "EC")) return DK_PKEY_OTHER;
    char name[64];
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof name, &len) !=
        1)
        return DK_PKEY_OTHER;
    int nid = OBJ_sn2nid(name);
    if (nid == NID_undef) nid = EC_curve_nist2nid(name);
    if (nid == NID_X9_62_prime256v1) return DK_PKEY_EC_P256;
    if (nid == NID_secp384r1) return DK_PKEY_EC_P384;
    return DK_PKEY_OTHER;
}

dk_pkey *dk_pkey_wrap(EVP_PKEY *pkey)
{
    if (!pkey) return NULL;
    dk_pkey *k = dk_calloc(1, sizeof *k);
    if (!k) {
        EVP_PKEY_free(pkey);
        return NULL;
    }
    k->pkey = pkey;
    k->type = classify(pkey);
    ERR_clear_error();
    return k;
}

/* Never prompt for a passphrase: an encrypted key simply fails to load. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return -1;
}

/* PKCS#8 ("PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY") or PKCS#1 ("RSA PRIVATE
 * KEY"); other PEM blocks before the key (a certificate) are skipped. */
dk_pkey *dk_pkey_from_pem(const char *pem, size_t len)
{
    if (!pem || len == 0 || len > (size_t)INT32_MAX || dk_crypto_init() != DK_OK) return NULL;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    EVP_PKEY *pkey = NULL;
    if (bio) pkey = PEM_read_bio_PrivateKey_ex(bio, NULL, no_passphrase, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    return dk_pkey_wrap(pkey);
}

void dk_pkey_free(dk_pkey *k)
{
    if (!k) return;
    EVP_PKEY_free(k->pkey); /* cleanses private key material */
    dk_free(k);
}

dk_pkey_type dk_pkey_get_type(const dk_pkey *k) { return k ? k->type : DK_PKEY_OTHER; }

bool dk_pkey_can_sign_scheme(const dk_pkey *k, uint16_t scheme)
{
    const sig_scheme_info *si = scheme_info(scheme);
    return k && si && si->type == k->type;
}

/* Set up md for signing or verifying with the scheme's hash and padding. */
static bool sig_init(EVP_MD_CTX *md, const sig_scheme_info *si, EVP_PKEY *pkey, bool sign)
{
    EVP_PKEY_CTX *pctx = NULL;
    int ok = sign ? EVP_DigestSignInit_ex(md, &pctx, si->md, NULL, NULL, pkey, NULL)
                  : EVP_DigestVerifyInit_ex(md, &pctx, si->md, NULL, NULL, pkey, NULL);
    if (ok != 1) return false;
    if (si->type != DK_PKEY_RSA) return true;
    if (!si->pss) return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md_name(pctx, si->md, NULL) == 1;
}

/* ECDSA signatures are the DER Ecdsa-Sig-Value of RFC 8422 5.4. */
dk_result dk_sign(const dk_pkey *k, uint16_t scheme, const uint8_t *msg, size_t msg_len,
                  uint8_t *sig, size_t cap, size_t *sig_len)
{
    if (!k || !sig || !sig_len || (!msg && msg_len)) return DK_ERR_INVALID_ARG;
    if (!dk_pkey_can_sign_scheme(k, scheme)) return DK_ERR_UNSUPPORTED;
    const sig_scheme_info *si = scheme_info(scheme);
    static const uint8_t empty[1] = {0};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    uint8_t *tmp = NULL;
    size_t max = 0;
    dk_result r = DK_ERR_CRYPTO;
    if (!md || !sig_init(md, si, k->pkey, true) ||
        EVP_DigestSign(md, NULL, &max, msg_len ? msg : empty, msg_len) != 1)
        goto done;
    /* The maximum may exceed the actual (ECDSA DER): sign aside if cap is
     * between the two. */
    uint8_t *out = sig;
    if (max > cap && !(out = tmp = dk_malloc(max))) {
        r = DK_ERR_NOMEM;
        goto done;
    }
    size_t n = max;
    if (EVP_DigestSign(md, out, &n, msg_len ? msg : empty, msg_len) != 1) goto done;
    r = DK_ERR_BUFFER_TOO_SMALL;
    if (n > cap) goto done;
    if (tmp) memcpy(sig, tmp, n);
    *sig_len = n;
    r = DK_OK;
done:
    dk_free(tmp);
    EVP_MD_CTX_free(md);
    if (r != DK_OK) ERR_clear_error();
    return r;
}

dk_result dk_verify(const dk_pkey *pub, uint16_t scheme, const uint8_t *msg, size_t msg_len,
                    const uint8_t *sig, size_t sig_len)
{
    if (!pub || (!msg && msg_len) || (!sig && sig_len)) return DK_ERR_INVALID_ARG;
    if (!dk_pkey_can_sign_scheme(pub, scheme) || sig_len == 0) return DK_ERR_SIGNATURE;
    const sig_scheme_info *si = scheme_info(scheme);
    static const uint8_t empty[1] = {0};
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    if (!md) return DK_ERR_NOMEM;
    dk_result r = DK_ERR_SIGNATURE;
    if (sig_init(md, si, pub->pkey, false) &&
        EVP_DigestVerify(md, sig, sig_len, msg_len ? msg : empty, msg_len) == 1)
        r = DK_OK;
    EVP_MD_CTX_free(md);
    ERR_clear_error();
    return r;
}
