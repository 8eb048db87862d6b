/* DER SubjectPublicKeyInfo of the key types decoded in the private library
 * context (dk_crypto_spki.c), and the default-context keys built from them
 * (dk_crypto_spki_der.c). Internal to those two files. */
#ifndef DK_CRYPTO_SPKI_H
#define DK_CRYPTO_SPKI_H

#include <openssl/core.h>

#include "crypto/dk_crypto_internal.h"

/* The largest SubjectPublicKeyInfo decoded here is P-521's, 158 bytes. */
#define DK_SPKI_MAX 256

/* Key types, indexing dk_spki_types. */
enum { KT_EC, KT_ED25519, KT_ED448, KT_COUNT };

typedef struct dk_spki_type {
    const char *evp_name; /* for EVP_PKEY_CTX_new_from_name in the default context */
    const char *sig_name; /* OSSL_OP_SIGNATURE */
    const char *kex_name; /* OSSL_OP_KEYEXCH (NULL: none) */
} dk_spki_type;
extern const dk_spki_type dk_spki_types[KT_COUNT];

typedef struct spki_key {
    int type;
    size_t curve; /* EC only: index in the curve table */
    const uint8_t *pub;
    size_t pub_len;
} spki_key;

/* SEQUENCE { SEQUENCE { OID [, OID namedCurve] }, BIT STRING } in strict DER,
 * for the key types above only; false for anything else. */
bool dk_spki_parse(const uint8_t *der, size_t len, spki_key *k);
/* The key in the default library context (the point checked there). */
EVP_PKEY *dk_spki_default_key(const spki_key *k);
/* A key of the type in the default library context from parameters (the
 * default provider's import validates them). */
EVP_PKEY *dk_spki_default_key_fromdata(int type, int selection, OSSL_PARAM *params);

#endif
