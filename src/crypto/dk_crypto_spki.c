/* A private library context for decoding the public keys of peer
 * certificates cheaply.
 *
 * OpenSSL 3.0 decodes the SubjectPublicKeyInfo of every certificate it
 * parses with OSSL_DECODER_CTX_new_for_pkey, which enumerates every key
 * manager and decoder of the certificate's library context: in the default
 * context that is most of the cost of d2i_X509. Certificates parsed in the
 * context made here see one small built-in provider instead ("dtlskit-spki"),
 * offering only:
 *
 *   - a DER SubjectPublicKeyInfo decoder for EC keys on a named curve
 *     (P-256, P-384, P-521), Ed25519 and Ed448, which parses the structure
 *     with dk_reader and builds the key in the default library context
 *     (EVP_PKEY_fromdata: the default provider's import checks the point);
 *   - a key manager whose key object holds that default-context EVP_PKEY and
 *     forwards parameters (bits, security bits, group, ...) and export to it;
 *   - ECDSA, Ed25519 and Ed448 signature verification and SHA-1, which call
 *     EVP_DigestVerify* and EVP_Digest* on the default library context (no
 *     cryptography here: X509_verify_cert fetches these from the
 *     certificate's library context, SHA-1 for the certificate fingerprint).
 *
 * Anything else (RSA, explicit curve parameters, an unusual encoding, a
 * point that is not on the curve) is not decoded here, and dk_x509_from_der
 * parses such a certificate again in the default context: behaviour for it
 * is exactly the default one.
 *
 * The context is made on first use and freed by OPENSSL_cleanup (an
 * OPENSSL_atexit handler), so it lives as long as libcrypto's own state. */
#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/core_object.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/provider.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"
#include "crypto/dk_crypto_spki.h"

#define PROV_NAME "dtlskit-spki"
#define PROV_PROPS "provider=" PROV_NAME
#define DEC_PROPS PROV_PROPS ",input=der,structure=SubjectPublicKeyInfo"
/* Our key objects answer this parameter with the default-context EVP_PKEY
 * they hold (the pointer's bytes); see dk_spki_get1_default_key. */
#define PARAM_DEFAULT_PKEY "dtlskit-default-pkey"
/* ---- provider state -------------------------------------------------------- */

typedef struct prov_ctx {
    OSSL_FUNC_BIO_read_ex_fn *bio_read_ex;
    EVP_MD *sha1; /* from the default library context */
} prov_ctx;

static prov_ctx g_prov;

/* ---- key management -------------------------------------------------------- */

/* A key object: a public key of one type, held as a default-context
 * EVP_PKEY (NULL until imported). */
typedef struct spki_keydata {
    int type;
    EVP_PKEY *pk;
} spki_keydata;

static spki_keydata *keydata_new(int type, EVP_PKEY *pk)
{
    spki_keydata *k = dk_calloc(1, sizeof *k);
    if (k) {
        k->type = type;
        k->pk = pk;
    }
    return k;
}

static void km_free(void *vk)
{
    spki_keydata *k = vk;
    if (!k) return;
    EVP_PKEY_free(k->pk);
    dk_free(k);
}

static void *km_new_ec(void *provctx)
{
    (void)provctx;
    return keydata_new(KT_EC, NULL);
}
static void *km_new_ed25519(void *provctx)
{
    (void)provctx;
    return keydata_new(KT_ED25519, NULL);
}
static void *km_new_ed448(void *provctx)
{
    (void)provctx;
    return keydata_new(KT_ED448, NULL);
}

/* Takes the key object the decoder passed by reference. */
static void *km_load(const void *reference, size_t reference_sz)
{
    if (!reference || reference_sz != sizeof(spki_keydata *)) return NULL;
    spki_keydata *k = *(spki_keydata **)reference;
    *(spki_keydata **)reference = NULL;
    return k;
}

static int km_has(const void *vk, int selection)
{
    const spki_keydata *k = vk;
    if (!k) return 0;
    if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) return 0; /* public keys only */
    if (selection & (OSSL_KEYMGMT_SELECT_PUBLIC_KEY | OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS))
        return k->pk != NULL;
    return 1;
}

static int km_match(const void *va, const void *vb, int selection)
{
    const spki_keydata *a = va, *b = vb;
    if (!a || !b || !a->pk || !b->pk || a->type != b->type) return 0;
    if (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) return EVP_PKEY_eq(a->pk, b->pk) == 1;
    if (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS)
        return EVP_PKEY_parameters_eq(a->pk, b->pk) == 1;
    return 1;
}

static void *km_dup(const void *vk, int selection)
{
    const spki_keydata *k = vk;
    (void)selection;
    if (!k || (k->pk && EVP_PKEY_up_ref(k->pk) != 1)) return NULL;
    spki_keydata *d = keydata_new(k->type, k->pk);
    if (!d) EVP_PKEY_free(k->pk);
    return d;
}

static int km_get_params(void *vk, OSSL_PARAM params[])
{
    spki_keydata *k = vk;
    if (!k || !k->pk) return 0;
    OSSL_PARAM *p = OSSL_PARAM_locate(params, PARAM_DEFAULT_PKEY);
    if (p) {
        if (p->data_type != OSSL_PARAM_OCTET_STRING || p->data_size != sizeof k->pk) return 0;
        memcpy(p->data, &k->pk, sizeof k->pk);
        p->return_size = sizeof k->pk;
    }
    return EVP_PKEY_get_params(k->pk, params);
}

static const OSSL_PARAM k_gettable[] = {
    OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
    OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *km_gettable_params(void *provctx)
{
    (void)provctx;
    return k_gettable;
}

static const OSSL_PARAM k_key_types[] = {
    OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
    OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_PUB_KEY, NULL, 0),
    OSSL_PARAM_END,
};

static const OSSL_PARAM *km_key_types(int selection)
{
    (void)selection;
    return k_key_types;
}

/* A key exported from another key manager (libcrypto does so when one of our
 * operations gets a key of the default provider). The public part only. */
static int km_import(void *vk, int selection, const OSSL_PARAM params[])
{
    spki_keydata *k = vk;
    if (!k || k->pk) return 0;
    int sel = (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) ? EVP_PKEY_PUBLIC_KEY
              : (selection & OSSL_KEYMGMT_SELECT_DOMAIN_PARAMETERS) ? EVP_PKEY_KEY_PARAMETERS
                                                                     : 0;
    if (!sel) return 0;
    k->pk = dk_spki_default_key_fromdata(k->type, sel, (OSSL_PARAM *)params);
    return k->pk != NULL;
}

static int km_export(void *vk, int selection, OSSL_CALLBACK *cb, void *cbarg)
{
    spki_keydata *k = vk;
    if (!k || !k->pk) return 0;
    return EVP_PKEY_export(k->pk, selection, cb, cbarg);
}

static const char *km_op_name(int type, int operation_id)
{
    if (operation_id == OSSL_OP_SIGNATURE) return dk_spki_types[type].sig_name;
    if (operation_id == OSSL_OP_KEYEXCH) return dk_spki_types[type].kex_name;
    return NULL;
}
static const char *km_op_ec(int op) { return km_op_name(KT_EC, op); }
static const char *km_op_ed25519(int op) { return km_op_name(KT_ED25519, op); }
static const char *km_op_ed448(int op) { return km_op_name(KT_ED448, op); }

#define FN(id, f) {id, (void (*)(void))(f)}
#define KEYMGMT_FUNCS(newf, opf)                                          \
    {                                                                     \
        FN(OSSL_FUNC_KEYMGMT_NEW, newf), FN(OSSL_FUNC_KEYMGMT_FREE, km_free), \
        FN(OSSL_FUNC_KEYMGMT_LOAD, km_load), FN(OSSL_FUNC_KEYMGMT_HAS, km_has), \
        FN(OSSL_FUNC_KEYMGMT_MATCH, km_match), FN(OSSL_FUNC_KEYMGMT_DUP, km_dup), \
        FN(OSSL_FUNC_KEYMGMT_GET_PARAMS, km_get_params),                  \
        FN(OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS, km_gettable_params),        \
        FN(OSSL_FUNC_KEYMGMT_IMPORT, km_import),                          \
        FN(OSSL_FUNC_KEYMGMT_IMPORT_TYPES, km_key_types),                 \
        FN(OSSL_FUNC_KEYMGMT_EXPORT, km_export),                          \
        FN(OSSL_FUNC_KEYMGMT_EXPORT_TYPES, km_key_types),                 \
        FN(OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME, opf), {0, NULL},       \
    }

static const OSSL_DISPATCH k_km_ec[] = KEYMGMT_FUNCS(km_new_ec, km_op_ec);
static const OSSL_DISPATCH k_km_ed25519[] = KEYMGMT_FUNCS(km_new_ed25519, km_op_ed25519);
static const OSSL_DISPATCH k_km_ed448[] = KEYMGMT_FUNCS(km_new_ed448, km_op_ed448);

/* The default provider's names, so that EVP_PKEY_is_a and the names
 * X509_verify_cert looks up ("id-ecPublicKey", OIDs) match. */
#define NAMES_EC "EC:id-ecPublicKey:1.2.840.10045.2.1"
#define NAMES_ED25519 "ED25519:1.3.101.112"
#define NAMES_ED448 "ED448:1.3.101.113"

static const OSSL_ALGORITHM k_keymgmt_algs[] = {
    {NAMES_EC, PROV_PROPS, k_km_ec, NULL},
    {NAMES_ED25519, PROV_PROPS, k_km_ed25519, NULL},
    {NAMES_ED448, PROV_PROPS, k_km_ed448, NULL},
    {NULL, NULL, NULL, NULL},
};

/* ---- the SubjectPublicKeyInfo decoder ----------------------------------------- */

typedef struct dec_ctx {
    int type;
} dec_ctx;

static dec_ctx k_dec_ctx[KT_COUNT] = {{KT_EC}, {KT_ED25519}, {KT_ED448}};

static void *dec_new_ec(void *provctx)
{
    (void)provctx;
    return &k_dec_ctx[KT_EC];
}
static void *dec_new_ed25519(void *provctx)
{
    (void)provctx;
    return &k_dec_ctx[KT_ED25519];
}
static void *dec_new_ed448(void *provctx)
{
    (void)provctx;
    return &k_dec_ctx[KT_ED448];
}
static void dec_free(void *ctx) { (void)ctx; } /* static contexts */

static int dec_does_selection(void *provctx, int selection)
{
    (void)provctx;
    return selection == 0 || (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) != 0;
}

/* Returns 1 without calling data_cb when the input is not ours: libcrypto
 * then has no key, and dk_x509_from_der falls back to the default context. */
static int dec_decode(void *vctx, OSSL_CORE_BIO *in, int selection, OSSL_CALLBACK *data_cb,
                      void *data_cbarg, OSSL_PASSPHRASE_CALLBACK *pw_cb, void *pw_cbarg)
{
    const dec_ctx *dc = vctx;
    (void)pw_cb;
    (void)pw_cbarg;
    if (selection != 0 && (selection & OSSL_KEYMGMT_SELECT_PUBLIC_KEY) == 0) return 1;
    uint8_t buf[DK_SPKI_MAX + 1];
    size_t n = 0, got = 0;
    while (n < sizeof buf && g_prov.bio_read_ex(in, buf + n, sizeof buf - n, &got) == 1 && got)
        n += got;
    spki_key k;
    if (n > DK_SPKI_MAX || !dk_spki_parse(buf, n, &k) || k.type != dc->type) return 1;
    EVP_PKEY *pk = dk_spki_default_key(&k);
    if (!pk) {
        ERR_clear_error();
        return 1;
    }
    spki_keydata *kd = keydata_new(k.type, pk);
    if (!kd) {
        EVP_PKEY_free(pk);
        return 0;
    }
    int object_type = OSSL_OBJECT_PKEY;
    OSSL_PARAM params[4] = {
        OSSL_PARAM_construct_int(OSSL_OBJECT_PARAM_TYPE, &object_type),
        OSSL_PARAM_construct_utf8_string(OSSL_OBJECT_PARAM_DATA_TYPE,
                                         (char *)dk_spki_types[k.type].evp_name, 0),
        OSSL_PARAM_construct_octet_string(OSSL_OBJECT_PARAM_REFERENCE, &kd, sizeof kd),
        OSSL_PARAM_construct_end(),
    };
    int ok = data_cb(params, data_cbarg);
    km_free(kd); /* NULL when km_load took it */
    return ok;
}

static int dec_export_object(void *vctx, const void *objref, size_t objref_sz,
                             OSSL_CALLBACK *export_cb, void *export_cbarg)
{
    (void)vctx;
    if (!objref || objref_sz != sizeof(spki_keydata *)) return 0;
    const spki_keydata *k = *(spki_keydata *const *)objref;
    if (!k || !k->pk) return 0;
    return EVP_PKEY_export(k->pk, OSSL_KEYMGMT_SELECT_ALL, export_cb, export_cbarg);
}

#define DECODER_FUNCS(newf)                                                       \
    {                                                                             \
        FN(OSSL_FUNC_DECODER_NEWCTX, newf), FN(OSSL_FUNC_DECODER_FREECTX, dec_free), \
        FN(OSSL_FUNC_DECODER_DOES_SELECTION, dec_does_selection),                 \
        FN(OSSL_FUNC_DECODER_DECODE, dec_decode),                                 \
        FN(OSSL_FUNC_DECODER_EXPORT_OBJECT, dec_export_object), {0, NULL},        \
    }

static const OSSL_DISPATCH k_dec_ec[] = DECODER_FUNCS(dec_new_ec);
static const OSSL_DISPATCH k_dec_ed25519[] = DECODER_FUNCS(dec_new_ed25519);
static const OSSL_DISPATCH k_dec_ed448[] = DECODER_FUNCS(dec_new_ed448);

static const OSSL_ALGORITHM k_decoder_algs[] = {
    {NAMES_EC, DEC_PROPS, k_dec_ec, NULL},
    {NAMES_ED25519, DEC_PROPS, k_dec_ed25519, NULL},
    {NAMES_ED448, DEC_PROPS, k_dec_ed448, NULL},
    {NULL, NULL, NULL, NULL},
};

/* ---- signature verification, forwarded to the default context ----------------- */

typedef struct sig_ctx {
    EVP_MD_CTX *md;
} sig_ctx;

static void *sig_newctx(void *provctx, const char *propq)
{
    (void)provctx;
    (void)propq;
    return dk_calloc(1, sizeof(sig_ctx));
}

static void sig_freectx(void *vctx)
{
    sig_ctx *c = vctx;
    if (!c) return;
    EVP_MD_CTX_free(c->md);
    dk_free(c);
}

static int sig_digest_verify_init(void *vctx, const char *mdname, void *provkey,
                                  const OSSL_PARAM params[])
{
    sig_ctx *c = vctx;
    const spki_keydata *k = provkey;
    if (!c || !k || !k->pk) return 0;
    EVP_MD_CTX_free(c->md);
    c->md = EVP_MD_CTX_new();
    return c->md && EVP_DigestVerifyInit_ex(c->md, NULL, mdname && *mdname ? mdname : NULL, NULL,
                                            NULL, k->pk, params) == 1;
}

static int sig_digest_verify_update(void *vctx, const unsigned char *data, size_t len)
{
    sig_ctx *c = vctx;
    return c && c->md && EVP_DigestVerifyUpdate(c->md, data, len) == 1;
}

static int sig_digest_verify_final(void *vctx, const unsigned char *sig, size_t siglen)
{
    sig_ctx *c = vctx;
    return c && c->md && EVP_DigestVerifyFinal(c->md, sig, siglen) == 1;
}

static int sig_digest_verify(void *vctx, const unsigned char *sig, size_t siglen,
                             const unsigned char *tbs, size_t tbslen)
{
    sig_ctx *c = vctx;
    return c && c->md && EVP_DigestVerify(c->md, sig, siglen, tbs, tbslen) == 1;
}

static const OSSL_DISPATCH k_sig_funcs[] = {
    FN(OSSL_FUNC_SIGNATURE_NEWCTX, sig_newctx),
    FN(OSSL_FUNC_SIGNATURE_FREECTX, sig_freectx),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_INIT, sig_digest_verify_init),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_UPDATE, sig_digest_verify_update),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY_FINAL, sig_digest_verify_final),
    FN(OSSL_FUNC_SIGNATURE_DIGEST_VERIFY, sig_digest_verify),
    {0, NULL},
};

static const OSSL_ALGORITHM k_signature_algs[] = {
    {"ECDSA", PROV_PROPS, k_sig_funcs, NULL},
    {NAMES_ED25519, PROV_PROPS, k_sig_funcs, NULL},
    {NAMES_ED448, PROV_PROPS, k_sig_funcs, NULL},
    {NULL, NULL, NULL, NULL},
};

/* ---- SHA-1 for the certificate fingerprint, forwarded ----------------------- */

static void *md_newctx(void *provctx)
{
    (void)provctx;
    return EVP_MD_CTX_new();
}
static void md_freectx(void *c) { EVP_MD_CTX_free(c); }
static void *md_dupctx(void *c)
{
    EVP_MD_CTX *d = EVP_MD_CTX_new();
    if (d && EVP_MD_CTX_copy_ex(d, c) != 1) {
        EVP_MD_CTX_free(d);
        d = NULL;
    }
    return d;
}
static int md_init(void *c, const OSSL_PARAM params[])
{
    (void)params;
    return EVP_DigestInit_ex2(c, g_prov.sha1, NULL) == 1;
}
static int md_update(void *c, const unsigned char *in, size_t inl)
{
    return EVP_DigestUpdate(c, in, inl) == 1;
}
static int md_final(void *c, unsigned char *out, size_t *outl, size_t outsz)
{
    unsigned int n = 0;
    if (outsz < (size_t)EVP_MD_get_size(g_prov.sha1) || EVP_DigestFinal_ex(c, out, &n) != 1)
        return 0;
    *outl = n;
    return 1;
}
static int md_get_params(OSSL_PARAM params[])
{
    OSSL_PARAM *p;
    if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_BLOCK_SIZE)) &&
        !OSSL_PARAM_set_size_t(p, (size_t)EVP_MD_get_block_size(g_prov.sha1)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_SIZE)) &&
        !OSSL_PARAM_set_size_t(p, (size_t)EVP_MD_get_size(g_prov.sha1)))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_XOF)) && !OSSL_PARAM_set_int(p, 0))
        return 0;
    if ((p = OSSL_PARAM_locate(params, OSSL_DIGEST_PARAM_ALGID_ABSENT)) &&
        !OSSL_PARAM_set_int(p, 1))
        return 0;
    return 1;
}
static const OSSL_PARAM k_md_gettable[] = {
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_BLOCK_SIZE, NULL),
    OSSL_PARAM_size_t(OSSL_DIGEST_PARAM_SIZE, NULL),
    OSSL_PARAM_int(OSSL_DIGEST_PARAM_XOF, NULL),
    OSSL_PARAM_int(OSSL_DIGEST_PARAM_ALGID_ABSENT, NULL),
    OSSL_PARAM_END,
};
static const OSSL_PARAM *md_gettable_params(void *provctx)
{
    (void)provctx;
    return k_md_gettable;
}

static const OSSL_DISPATCH k_sha1_funcs[] = {
    FN(OSSL_FUNC_DIGEST_NEWCTX, md_newctx),
    FN(OSSL_FUNC_DIGEST_FREECTX, md_freectx),
    FN(OSSL_FUNC_DIGEST_DUPCTX, md_dupctx),
    FN(OSSL_FUNC_DIGEST_INIT, md_init),
    FN(OSSL_FUNC_DIGEST_UPDATE, md_update),
    FN(OSSL_FUNC_DIGEST_FINAL, md_final),
    FN(OSSL_FUNC_DIGEST_GET_PARAMS, md_get_params),
    FN(OSSL_FUNC_DIGEST_GETTABLE_PARAMS, md_gettable_params),
    {0, NULL},
};

static const OSSL_ALGORITHM k_digest_algs[] = {
    {"SHA1:SHA-1:SSL3-SHA1:1.3.14.3.2.26", PROV_PROPS, k_sha1_funcs, NULL},
    {NULL, NULL, NULL, NULL},
};

/* ---- the provider -------------------------------------------------------------- */

static const OSSL_ALGORITHM *prov_query(void *provctx, int operation_id, int *no_cache)
{
    (void)provctx;
    *no_cache = 0;
    switch (operation_id) {
    case OSSL_OP_KEYMGMT:
        return k_keymgmt_algs;
    case OSSL_OP_DECODER:
        return k_decoder_algs;
    case OSSL_OP_SIGNATURE:
        return k_signature_algs;
    case OSSL_OP_DIGEST:
        return k_digest_algs;
    default:
        return NULL;
    }
}

static void prov_teardown(void *provctx)
{
    prov_ctx *pc = provctx;
    EVP_MD_free(pc->sha1);
    pc->sha1 = NULL;
}

static const OSSL_DISPATCH k_prov_funcs[] = {
    FN(OSSL_FUNC_PROVIDER_QUERY_OPERATION, prov_query),
    FN(OSSL_FUNC_PROVIDER_TEARDOWN, prov_teardown),
    {0, NULL},
};

static int prov_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
                     const OSSL_DISPATCH **out, void **provctx)
{
    (void)handle;
    for (; in && in->function_id != 0; in++)
        if (in->function_id == OSSL_FUNC_BIO_READ_EX) g_prov.bio_read_ex = OSSL_FUNC_BIO_read_ex(in);
    if (!g_prov.bio_read_ex) return 0;
    g_prov.sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
    if (!g_prov.sha1) return 0;
    *out = k_prov_funcs;
    *provctx = &g_prov;
    return 1;
}

/* ---- the library context ------------------------------------------------------- */

static OSSL_LIB_CTX *g_libctx;
static OSSL_PROVIDER *g_provider;
static CRYPTO_ONCE g_once = CRYPTO_ONCE_STATIC_INIT;
static bool g_enabled = true;

/* Registered with OPENSSL_atexit: runs first thing in OPENSSL_cleanup (at
 * exit, or when the application calls it), while the default context still
 * exists. Certificates parsed in the context must be gone by then, as every
 * libcrypto object must. */
static void spki_cleanup(void)
{
    OSSL_PROVIDER_unload(g_provider); /* prov_teardown */
    OSSL_LIB_CTX_free(g_libctx);
    g_libctx = NULL;
    g_provider = NULL;
}

static void spki_init_once(void)
{
    OSSL_LIB_CTX *ctx = OSSL_LIB_CTX_new();
    OSSL_PROVIDER *prov = NULL;
    if (ctx && OSSL_PROVIDER_add_builtin(ctx, PROV_NAME, prov_init) == 1)
        prov = OSSL_PROVIDER_load(ctx, PROV_NAME);
    if (prov) {
        g_libctx = ctx;
        g_provider = prov;
    } else {
        OSSL_LIB_CTX_free(ctx);
    }
    if (!OPENSSL_atexit(spki_cleanup)) spki_cleanup();
    ERR_clear_error();
}

OSSL_LIB_CTX *dk_spki_libctx(void)
{
    if (!g_enabled || !CRYPTO_THREAD_run_once(&g_once, spki_init_once)) return NULL;
    return g_libctx;
}

bool dk_spki_set_enabled(bool on)
{
    bool was = g_enabled;
    g_enabled = on;
    return was;
}

EVP_PKEY *dk_spki_get1_default_key(EVP_PKEY *pk)
{
    if (!pk || !g_provider || EVP_PKEY_get0_provider(pk) != g_provider) return NULL;
    EVP_PKEY *inner = NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_octet_string(PARAM_DEFAULT_PKEY, &inner, sizeof inner),
        OSSL_PARAM_construct_end(),
    };
    if (EVP_PKEY_get_params(pk, params) != 1 || !OSSL_PARAM_modified(params) || !inner ||
        EVP_PKEY_up_ref(inner) != 1) {
        ERR_clear_error();
        return NULL;
    }
    return inner;
}

/* ---- test aids ------------------------------------------------------------------ */

/* A whole DER SubjectPublicKeyInfo as a key of library context ctx. */
static EVP_PKEY *pubkey_parse(OSSL_LIB_CTX *ctx, const uint8_t *der, size_t len)
{
    const unsigned char *p = der;
    EVP_PKEY *pk = d2i_PUBKEY_ex(NULL, &p, (long)len, ctx, NULL);
    if (pk && p != der + len) {
        EVP_PKEY_free(pk);
        pk = NULL;
    }
    return pk;
}

bool dk_spki_decode_agrees(const uint8_t *spki, size_t len, bool *fast, bool *dflt)
{
    *fast = *dflt = false;
    if (!spki || len == 0 || len > (size_t)INT32_MAX) return false;
    OSSL_LIB_CTX *ctx = dk_spki_libctx();
    EVP_PKEY *a = ctx ? pubkey_parse(ctx, spki, len) : NULL;
    EVP_PKEY *a_dflt = dk_spki_get1_default_key(a);
    EVP_PKEY *b = pubkey_parse(NULL, spki, len);
    *fast = a_dflt != NULL;
    *dflt = b != NULL;
    bool agree = (!a && !b) || (a_dflt && b && EVP_PKEY_eq(a_dflt, b) == 1 &&
                                EVP_PKEY_get_id(a_dflt) == EVP_PKEY_get_id(b) &&
                                EVP_PKEY_get_bits(a) == EVP_PKEY_get_bits(b) &&
                                EVP_PKEY_get_security_bits(a) == EVP_PKEY_get_security_bits(b) &&
                                EVP_PKEY_get_size(a) == EVP_PKEY_get_size(b));
    EVP_PKEY_free(a);
    EVP_PKEY_free(a_dflt);
    EVP_PKEY_free(b);
    ERR_clear_error();
    return agree;
}
