/* A throwaway self-signed ECDSA P-256 certificate (for WebRTC-style
 * fingerprint pinning, where no CA is involved). */
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"

#define DK_SELFSIGNED_BACKDATE (-3600L)
#define DK_SELFSIGNED_LIFETIME (30L * 24 * 3600)

/* RFC 5280 4.1.2.2: a positive serial of at most 20 octets; 16 random bytes
 * with the top bit cleared. */
static bool set_random_serial(X509 *x)
{
    uint8_t raw[16];
    if (dk_random_bytes(raw, sizeof raw) != DK_OK) return false;
    raw[0] &= 0x7f;
    raw[0] |= 0x01; /* never zero, never a short encoding */
    BIGNUM *bn = BN_bin2bn(raw, sizeof raw, NULL);
    ASN1_INTEGER *serial = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
    bool ok = serial && X509_set_serialNumber(x, serial) == 1;
    ASN1_INTEGER_free(serial);
    BN_free(bn);
    return ok;
}

/* Subject = issuer = CN=common_name; subjectAltName = dNSName common_name. */
static bool set_names(X509 *x, const char *cn)
{
    X509_NAME *name = X509_NAME_new();
    bool ok = name &&
              X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
                                         (const unsigned char *)cn, -1, -1, 0) == 1 &&
              X509_set_subject_name(x, name) == 1 && X509_set_issuer_name(x, name) == 1;
    X509_NAME_free(name);
    if (!ok) return false;
    GENERAL_NAMES *sans = GENERAL_NAMES_new();
    GENERAL_NAME *gn = GENERAL_NAME_new();
    ASN1_IA5STRING *dns = ASN1_IA5STRING_new();
    if (!sans || !gn || !dns || ASN1_STRING_set(dns, cn, (int)strlen(cn)) != 1) {
        ASN1_IA5STRING_free(dns);
        GENERAL_NAME_free(gn);
        GENERAL_NAMES_free(sans);
        return false;
    }
    GENERAL_NAME_set0_value(gn, GEN_DNS, dns);
    ok = sk_GENERAL_NAME_push(sans, gn) > 0;
    if (!ok) GENERAL_NAME_free(gn);
    ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, X509V3_ADD_DEFAULT) == 1;
    GENERAL_NAMES_free(sans);
    return ok;
}

static X509 *build_cert(EVP_PKEY *pkey, const char *cn)
{
    X509 *x = X509_new();
    if (!x) return NULL;
    bool ok = X509_set_version(x, X509_VERSION_3) == 1 && set_random_serial(x) &&
              X509_gmtime_adj(X509_getm_notBefore(x), DK_SELFSIGNED_BACKDATE) &&
              X509_gmtime_adj(X509_getm_notAfter(x), DK_SELFSIGNED_LIFETIME) &&
              set_names(x, cn) && X509_set_pubkey(x, pkey) == 1 &&
              X509_sign(x, pkey, dk_crypto_md(DK_HASH_SHA256)) > 0;
    if (!ok) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

static dk_result cert_to_der(X509 *x, uint8_t **der, size_t *der_len)
{
    int n = i2d_X509(x, NULL);
    if (n <= 0) return DK_ERR_CRYPTO;
    uint8_t *buf = dk_malloc((size_t)n);
    if (!buf) return DK_ERR_NOMEM;
    unsigned char *p = buf;
    if (i2d_X509(x, &p) != n) {
        dk_free(buf);
        return DK_ERR_CRYPTO;
    }
    *der = buf;
    *der_len = (size_t)n;
    return DK_OK;
}

dk_result dk_cert_make_selfsigned(const char *common_name, uint8_t **der, size_t *der_len,
                                  dk_pkey **key)
{
    if (!common_name || !*common_name || !der || !der_len || !key) return DK_ERR_INVALID_ARG;
    *der = NULL;
    *der_len = 0;
    *key = NULL;
    if (dk_crypto_init() != DK_OK) return DK_ERR_CRYPTO;
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509 *x = pkey ? build_cert(pkey, common_name) : NULL;
    dk_result r = x ? cert_to_der(x, der, der_len) : DK_ERR_CRYPTO;
    X509_free(x);
    ERR_clear_error();
    if (r == DK_OK) {
        *key = dk_pkey_wrap(pkey);
        pkey = NULL;
        if (!*key) r = DK_ERR_NOMEM;
    }
    EVP_PKEY_free(pkey);
    if (r != DK_OK) {
        dk_free(*der);
        *der = NULL;
        *der_len = 0;
    }
    return r;
}
