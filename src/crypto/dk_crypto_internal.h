/* Internals shared by the files of src/crypto/ only. */
#ifndef DK_CRYPTO_INTERNAL_H
#define DK_CRYPTO_INTERNAL_H

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "crypto/dk_crypto.h"

/* Algorithms fetched once by dk_crypto_init and kept for the process. */
typedef struct dk_crypto_algs {
    EVP_MD *md[2];         /* indexed by dk_hash_alg */
    EVP_CIPHER *cipher[4]; /* indexed by dk_aead_alg */
    EVP_MAC *hmac;
    EVP_MAC_CTX *hmac_tmpl[2]; /* HMAC with the digest already set, per dk_hash_alg;
                                  duplicated, never used directly */
    EVP_KDF *tls1_prf;
    EVP_MAC *siphash;
    EVP_MAC_CTX *siphash_tmpl; /* SipHash-2-4 with a 16-byte tag; duplicated, never used */
} dk_crypto_algs;

/* The fetched algorithms, or NULL when initialisation failed. */
const dk_crypto_algs *dk_crypto_algs_get(void);

/* The fetched digest for alg (NULL for an unknown alg or failed init). */
const EVP_MD *dk_crypto_md(dk_hash_alg alg);
/* The OpenSSL name of the digest ("SHA256", "SHA384"). */
const char *dk_crypto_md_name(dk_hash_alg alg);

/* Domain parameters of a NIST curve (dk_crypto_curve.c), made once per
 * process: a template to dup, copy parameters from or make a key-generation
 * context from. NULL when libcrypto could not make them. */
typedef enum { DK_CURVE_P256, DK_CURVE_P384, DK_CURVE_P521, DK_CURVE_COUNT } dk_curve;
EVP_PKEY *dk_curve_params(dk_curve c);

struct dk_pkey {
    EVP_PKEY *pkey;
    dk_pkey_type type;
};

/* Wrap an EVP_PKEY (takes ownership; frees it on failure). */
dk_pkey *dk_pkey_wrap(EVP_PKEY *pkey);

/* Parse exactly one DER certificate (NULL if it does not parse or has
 * trailing bytes). */
X509 *dk_x509_from_der(const uint8_t *der, size_t len);

/* The leaf's public key and printable subject CN, from a parsed X509. */
DK_MUST_CHECK dk_result dk_x509_public_key(X509 *x, dk_pkey **out);
void dk_x509_subject_cn(X509 *x, char *out, size_t cap);

/* Peer certificates are parsed in a private library context whose only
 * provider decodes EC (P-256/384/521), Ed25519 and Ed448 public keys cheaply
 * (dk_crypto_spki.c); NULL when it could not be set up or is disabled. */
OSSL_LIB_CTX *dk_spki_libctx(void);
/* Whether a certificate's DER may hold a key that context decodes. */
bool dk_spki_may_decode(const uint8_t *der, size_t len);
/* For a key decoded in that context: the same public key in the default
 * library context (a new reference). NULL for any other key. */
EVP_PKEY *dk_spki_get1_default_key(EVP_PKEY *pk);

/* Drop whatever libcrypto left on this thread's error queue. */
void dk_crypto_clear_errors(void);

#endif
