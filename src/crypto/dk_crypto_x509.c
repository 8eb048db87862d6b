/* Certificates as DER: PEM chains, the leaf's public key and subject name,
 * and whether a private key belongs to a certificate. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"

/* One DER certificate parsed into an X509 of library context ctx (NULL:
 * the default one); NULL unless it parses with no trailing bytes. */
static X509 *x509_parse(OSSL_LIB_CTX *ctx, const uint8_t *der, size_t len)
{
    X509 *x = X509_new_ex(ctx, NULL);
    if (!x) return NULL;
    const unsigned char *p = der;
    if (!d2i_X509(&x, &p, (long)len)) {
        X509_free(x); /* d2i_X509 freed it and set it to NULL on failure */
        return NULL;
    }
    if (p != der + len) {
        X509_free(x);
        return NULL;
    }
    return x;
}

/* One DER certificate, which must parse and have no trailing bytes. A
 * certificate whose public key dk_spki_libctx() decodes is parsed there;
 * any other (RSA, an unknown key type or encoding, a key that does not
 * decode) is parsed in the default library context, as libcrypto alone
 * would. */
X509 *dk_x509_from_der(const uint8_t *der, size_t len)
{
    if (!der || len == 0 || len > (size_t)INT32_MAX) return NULL;
    OSSL_LIB_CTX *spki = dk_spki_may_decode(der, len) ? dk_spki_libctx() : NULL;
    if (spki) {
        X509 *x = x509_parse(spki, der, len);
        if (x && X509_get0_pubkey(x)) return x;
        X509_free(x);
        ERR_clear_error();
    }
    X509 *x = x509_parse(NULL, der, len);
    if (!x) ERR_clear_error();
    return x;
}

bool dk_cert_key_decoded_fast(const uint8_t *der, size_t len)
{
    X509 *x = dk_x509_from_der(der, len);
    EVP_PKEY *dflt = x ? dk_spki_get1_default_key(X509_get0_pubkey(x)) : NULL;
    bool fast = dflt != NULL;
    EVP_PKEY_free(dflt);
    X509_free(x);
    ERR_clear_error();
    return fast;
}

static dk_result chain_push(dk_chain *c, const uint8_t *der, size_t len)
{
    uint8_t **ders = dk_realloc(c->der, (c->n + 1) * sizeof *ders);
    if (!ders) return DK_ERR_NOMEM;
    c->der = ders;
    size_t *lens = dk_realloc(c->len, (c->n + 1) * sizeof *lens);
    if (!lens) return DK_ERR_NOMEM;
    c->len = lens;
    uint8_t *copy = dk_malloc(len);
    if (!copy) return DK_ERR_NOMEM;
    memcpy(copy, der, len);
    c->der[c->n] = copy;
    c->len[c->n] = len;
    c->n++;
    return DK_OK;
}

/* Reads the next PEM block; true with name/data set, false at the end. */
static bool pem_next(BIO *bio, char **name, uint8_t **data, long *len)
{
    char *header = NULL;
    *name = NULL;
    *data = NULL;
    int ok = PEM_read_bio(bio, name, &header, data, len);
    OPENSSL_free(header);
    return ok == 1;
}

/* Every "CERTIFICATE" block in order (leaf first); other blocks, such as a
 * private key in the same file, are skipped. DK_ERR_DECODE when there is no
 * certificate or one does not parse. */
dk_result dk_chain_from_pem(const char *pem, size_t len, dk_chain *out)
{
    if (!out) return DK_ERR_INVALID_ARG;
    memset(out, 0, sizeof *out);
    if (!pem || len == 0 || len > (size_t)INT32_MAX) return DK_ERR_DECODE;
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (!bio) return DK_ERR_NOMEM;
    dk_result r = DK_OK;
    char *name;
    uint8_t *data;
    long dlen;
    while (r == DK_OK && pem_next(bio, &name, &data, &dlen)) {
        if (strcmp(name, PEM_STRING_X509) == 0) {
            X509 *x = dk_x509_from_der(data, (size_t)dlen);
            r = x ? chain_push(out, data, (size_t)dlen) : DK_ERR_DECODE;
            X509_free(x);
        }
        OPENSSL_free(name);
        OPENSSL_free(data);
    }
    BIO_free(bio);
    ERR_clear_error();
    if (r == DK_OK && out->n == 0) r = DK_ERR_DECODE;
    if (r != DK_OK) dk_chain_clear(out);
    return r;
}

void dk_chain_clear(dk_chain *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) dk_free(c->der[i]);
    dk_free(c->der);
    dk_free(c->len);
    memset(c, 0, sizeof *c);
}

/* The public key of a parsed certificate, in the default library context
 * (a new reference): a key decoded by dk_spki_libctx() is swapped for the
 * default-context key it holds, so callers see what a default parse gives. */
static EVP_PKEY *x509_get1_default_key(X509 *x)
{
    EVP_PKEY *pk = X509_get0_pubkey(x);
    EVP_PKEY *dflt = dk_spki_get1_default_key(pk);
    if (dflt) return dflt;
    if (pk && EVP_PKEY_up_ref(pk) != 1) pk = NULL;
    return pk;
}

/* The public key of a parsed certificate, wrapped. */
dk_result dk_x509_public_key(X509 *x, dk_pkey **out)
{
    EVP_PKEY *pk = x509_get1_default_key(x);
    if (!pk) {
        ERR_clear_error();
        return DK_ERR_CERT;
    }
    *out = dk_pkey_wrap(pk);
    return *out ? DK_OK : DK_ERR_NOMEM;
}

dk_result dk_cert_public_key(const uint8_t *der, size_t len, dk_pkey **out)
{
    if (!out) return DK_ERR_INVALID_ARG;
    *out = NULL;
    if (dk_crypto_init() != DK_OK) return DK_ERR_CRYPTO;
    X509 *x = dk_x509_from_der(der, len);
    if (!x) return DK_ERR_CERT;
    dk_result r = dk_x509_public_key(x, out);
    X509_free(x);
    return r;
}

/* Printable ASCII only; anything else becomes '?'. */
void dk_x509_subject_cn(X509 *x, char *out, size_t cap)
{
    if (!out || cap == 0) return;
    out[0] = '\0';
    const X509_NAME *subj = X509_get_subject_name(x);
    int idx = X509_NAME_get_index_by_NID(subj, NID_commonName, -1);
    X509_NAME_ENTRY *e = idx >= 0 ? X509_NAME_get_entry(subj, idx) : NULL;
    unsigned char *utf8 = NULL;
    int n = e ? ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e)) : -1;
    size_t o = 0;
    for (int i = 0; i < n && o + 1 < cap; i++)
        out[o++] = (utf8[i] >= 0x20 && utf8[i] < 0x7f) ? (char)utf8[i] : '?';
    out[o] = '\0';
    OPENSSL_free(utf8);
    ERR_clear_error();
}

void dk_cert_subject_cn(const uint8_t *der, size_t len, char *out, size_t cap)
{
    if (!out || cap == 0) return;
    out[0] = '\0';
    X509 *x = dk_x509_from_der(der, len);
    if (!x) return;
    dk_x509_subject_cn(x, out, cap);
    X509_free(x);
}

dk_result dk_cert_leaf_info(const uint8_t *der, size_t len, dk_pkey **key, char *cn, size_t cn_cap)
{
    if (!key) return DK_ERR_INVALID_ARG;
    *key = NULL;
    if (dk_crypto_init() != DK_OK) return DK_ERR_CRYPTO;
    X509 *x = dk_x509_from_der(der, len);
    if (!x) return DK_ERR_CERT;
    dk_result r = dk_x509_public_key(x, key);
    if (r == DK_OK) dk_x509_subject_cn(x, cn, cn_cap);
    X509_free(x);
    return r;
}

bool dk_pkey_matches_cert(const dk_pkey *priv, const uint8_t *der, size_t der_len)
{
    if (!priv) return false;
    X509 *x = dk_x509_from_der(der, der_len);
    if (!x) return false;
    EVP_PKEY *pub = x509_get1_default_key(x);
    bool ok = pub && EVP_PKEY_eq(pub, priv->pkey) == 1;
    EVP_PKEY_free(pub);
    X509_free(x);
    ERR_clear_error();
    return ok;
}
