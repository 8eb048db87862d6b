/* Ephemeral key exchange for the TLS 1.2 ECDHE suites: X25519 (RFC 7748) and
 * the NIST curves secp256r1 and secp384r1 (RFC 8422). */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <string.h>

#include "crypto/dk_crypto_internal.h"
#include "crypto/dk_crypto_pool.h"

#define DK_KEX_MAX_PUB 97
#define DK_KEX_MAX_SECRET 48

struct dk_kex {
    uint16_t group;
    EVP_PKEY *pkey;
    uint8_t pub[DK_KEX_MAX_PUB];
    size_t pub_len;
};

typedef struct kex_group_info {
    uint16_t group;
    const char *keytype;    /* OpenSSL key type */
    const char *curve;      /* OpenSSL group name, NULL for X25519 */
    dk_curve cid;           /* NIST curves: the parameter template */
    int nid;
    size_t pub_len;         /* uncompressed point or raw key */
    size_t secret_len;
} kex_group_info;

static const kex_group_info k_groups[] = {
    {DK_GROUP_SECP256R1, "EC", "P-256", DK_CURVE_P256, NID_X9_62_prime256v1, 65, 32},
    {DK_GROUP_SECP384R1, "EC", "P-384", DK_CURVE_P384, NID_secp384r1, 97, 48},
    {DK_GROUP_X25519, "X25519", NULL, DK_CURVE_COUNT, NID_undef, 32, 32},
};

static const kex_group_info *group_info(uint16_t group)
{
    for (size_t i = 0; i < DK_ARRAY_LEN(k_groups); i++)
        if (k_groups[i].group == group) return &k_groups[i];
    return NULL;
}

bool dk_group_supported(uint16_t group) { return group_info(group) != NULL; }

/* The curve's parameter template (dk_crypto_curve.c), for key generation
 * and for peer keys. */
static EVP_PKEY *group_template(const kex_group_info *gi)
{
    return gi->curve ? dk_curve_params(gi->cid) : NULL;
}

/* Key-generation contexts, set up once and reused (dk_crypto_pool.h):
 * making one per key (a provider lookup and keygen_init) cost as much as a
 * sixth of the key generation. A keygen context holds no key material. */
static dk_pool g_kg[DK_ARRAY_LEN(k_groups)];

static EVP_PKEY_CTX *kg_take(const kex_group_info *gi, EVP_PKEY *t)
{
    /* t: the curve's template (NIST curves); NULL: by key type (X25519) */
    EVP_PKEY_CTX *ctx = dk_pool_take(&g_kg[gi - k_groups]);
    if (ctx) return ctx;
    ctx = t ? EVP_PKEY_CTX_new_from_pkey(NULL, t, NULL)
            : EVP_PKEY_CTX_new_from_name(NULL, gi->keytype, NULL);
    if (ctx && EVP_PKEY_keygen_init(ctx) != 1) {
        EVP_PKEY_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

static void kg_put(const kex_group_info *gi, EVP_PKEY_CTX *ctx)
{
    if (!dk_pool_put(&g_kg[gi - k_groups], ctx)) EVP_PKEY_CTX_free(ctx);
}

static EVP_PKEY *fresh_keygen(const kex_group_info *gi)
{
    EVP_PKEY *t = NULL, *k = NULL;
    if (gi->curve && !(t = group_template(gi))) return EVP_PKEY_Q_keygen(NULL, NULL, "EC", gi->curve);
    EVP_PKEY_CTX *ctx = kg_take(gi, t);
    if (!ctx) return NULL;
    if (EVP_PKEY_keygen(ctx, &k) != 1) {
        k = NULL;
        EVP_PKEY_CTX_free(ctx); /* not reused after a failure */
        return NULL;
    }
    kg_put(gi, ctx);
    return k;
}

/* Peer-key objects, one per derive, reused (dk_crypto_pool.h): a new one
 * copies the curve from the template, which builds a new EC_GROUP (a tenth
 * of the derive's cost); setting the next peer's point on a used one keeps
 * its group. They hold public values only. */
static dk_pool g_peer_keys[DK_ARRAY_LEN(k_groups)];

/* A peer's point on our curve; setting it decodes the point, which checks
 * that it lies on the curve. A key whose point failed to set is freed, not
 * reused. */
static EVP_PKEY *ec_peer(const kex_group_info *gi, const uint8_t *pub, size_t pub_len)
{
    EVP_PKEY *t = group_template(gi);
    if (!t) return NULL;
    EVP_PKEY *k = dk_pool_take(&g_peer_keys[gi - k_groups]);
    if (!k && (!(k = EVP_PKEY_new()) || EVP_PKEY_copy_parameters(k, t) != 1)) {
        EVP_PKEY_free(k);
        return NULL;
    }
    if (EVP_PKEY_set1_encoded_public_key(k, pub, pub_len) != 1) {
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

static void peer_key_done(const kex_group_info *gi, EVP_PKEY *k)
{
    if (k && gi->curve && dk_pool_put(&g_peer_keys[gi - k_groups], k)) return;
    EVP_PKEY_free(k);
}

/* An EC key from its parts: the public point alone (a peer's key) or the
 * private scalar with its public point (a key pair). Importing the point
 * checks that it lies on the curve. */
static EVP_PKEY *ec_from_parts(const kex_group_info *gi, const BIGNUM *priv, const uint8_t *pub,
                               size_t pub_len)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM *params = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (!bld || !ctx) goto done;
    if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, gi->curve, 0) ||
        !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, pub_len) ||
        (priv && !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv)))
        goto done;
    params = OSSL_PARAM_BLD_to_param(bld);
    if (!params || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, priv ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
done:
    OSSL_PARAM_free(params); /* the secure-heap part (private BN) is cleared */
    OSSL_PARAM_BLD_free(bld);
    EVP_PKEY_CTX_free(ctx);
    return pkey;
}

/* Deterministic NIST-curve key for tests and fuzzing: the seed, read as a
 * big-endian integer, is reduced to a scalar d = (seed mod (n - 1)) + 1, which
 * is never zero; the public point is d * G. */
static EVP_PKEY *ec_from_seed(const kex_group_info *gi, const uint8_t *seed, size_t seed_len)
{
    EVP_PKEY *pkey = NULL;
    uint8_t pub[DK_KEX_MAX_PUB];
    EC_GROUP *g = EC_GROUP_new_by_curve_name(gi->nid);
    BN_CTX *bctx = BN_CTX_secure_new();
    BIGNUM *d = BN_secure_new();
    BIGNUM *nm1 = g ? BN_dup(EC_GROUP_get0_order(g)) : NULL;
    EC_POINT *p = g ? EC_POINT_new(g) : NULL;
    if (!p || !bctx || !d || !nm1 || !BN_bin2bn(seed, (int)seed_len, d) ||
        !BN_sub_word(nm1, 1) || !BN_mod(d, d, nm1, bctx) || !BN_add_word(d, 1) ||
        !EC_POINT_mul(g, p, d, NULL, NULL, bctx))
        goto done;
    size_t pub_len = EC_POINT_point2oct(g, p, POINT_CONVERSION_UNCOMPRESSED, pub, sizeof pub, bctx);
    if (pub_len == gi->pub_len) pkey = ec_from_parts(gi, d, pub, pub_len);
done:
    EC_POINT_free(p);
    BN_free(nm1);
    BN_clear_free(d);
    BN_CTX_free(bctx);
    EC_GROUP_free(g);
    return pkey;
}

static EVP_PKEY *kex_keygen(const kex_group_info *gi, const uint8_t *seed, size_t seed_len)
{
    if (!seed) return fresh_keygen(gi);
    if (seed_len < 64) return NULL;
    if (gi->curve) return ec_from_seed(gi, seed, seed_len);
    /* X25519: the first 32 seed bytes are the private key (RFC 7748 5
     * clamps them). */
    return EVP_PKEY_new_raw_private_key_ex(NULL, gi->keytype, NULL, seed, 32);
}

dk_kex *dk_kex_new(uint16_t group, const uint8_t *seed, size_t seed_len)
{
    const kex_group_info *gi = group_info(group);
    if (!gi || dk_crypto_init() != DK_OK) return NULL;
    dk_kex *k = dk_calloc(1, sizeof *k);
    if (!k) return NULL;
    k->group = group;
    k->pkey = kex_keygen(gi, seed, seed_len);
    /* The encoded public key: uncompressed point for EC, raw for X25519. */
    if (!k->pkey ||
        EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, k->pub,
                                        sizeof k->pub, &k->pub_len) != 1 ||
        k->pub_len != gi->pub_len || (gi->curve && k->pub[0] != 0x04)) {
        ERR_clear_error();
        dk_kex_free(k);
        return NULL;
    }
    return k;
}

void dk_kex_free(dk_kex *k)
{
    if (!k) return;
    EVP_PKEY_free(k->pkey); /* cleanses the private key */
    dk_wipe(k, sizeof *k);
    dk_free(k);
}

dk_result dk_kex_public(const dk_kex *k, uint8_t *out, size_t cap, size_t *len)
{
    if (!k || !out || !len) return DK_ERR_INVALID_ARG;
    if (cap < k->pub_len) return DK_ERR_BUFFER_TOO_SMALL;
    memcpy(out, k->pub, k->pub_len);
    *len = k->pub_len;
    return DK_OK;
}

/* RFC 8422 5.4: "the point MUST be in uncompressed format" here (we offer no
 * other ec_point_formats), and 5.11: "ECDH ... the point MUST be validated"
 * (on the curve, not the point at infinity). */
static dk_result kex_peer_key(const kex_group_info *gi, const uint8_t *peer, size_t peer_len,
                              EVP_PKEY **out)
{
    if (peer_len != gi->pub_len) return DK_ERR_DECODE;
    if (gi->curve && peer[0] != 0x04) return DK_ERR_DECODE;
    if (gi->curve)
        *out = ec_peer(gi, peer, peer_len);
    else
        *out = EVP_PKEY_new_raw_public_key_ex(NULL, gi->keytype, NULL, peer, peer_len);
    /* Validation is the decode itself: EVP_PKEY_set1_encoded_public_key
     * turns the 0x04 || X || Y octets into a point with EC_POINT_oct2point,
     * which refuses any (X, Y) off the curve, and the point at infinity has
     * no 65- or 97-byte uncompressed encoding. P-256 and P-384 have cofactor
     * 1, so that is full validation; a separate public-key check would only
     * repeat it (tests/unit/crypto_kex_test.c test_nist_rejects). */
    return *out ? DK_OK : DK_ERR_CRYPTO;
}

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

dk_result dk_kex_derive(dk_kex *k, const uint8_t *peer, size_t peer_len, uint8_t *secret,
                        size_t cap, size_t *secret_len)
{
    const kex_group_info *gi = k ? group_info(k->group) : NULL;
    if (!gi || !secret || !secret_len || (!peer && peer_len)) return DK_ERR_INVALID_ARG;
    if (cap < gi->secret_len) return DK_ERR_BUFFER_TOO_SMALL;
    EVP_PKEY *pk = NULL;
    dk_result r = kex_peer_key(gi, peer, peer_len, &pk);
    if (r != DK_OK) {
        ERR_clear_error();
        return r;
    }
    uint8_t tmp[DK_KEX_MAX_SECRET];
    size_t n = sizeof tmp;
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
    r = DK_ERR_CRYPTO;
    /* RFC 8422 5.11 / RFC 7748 6.1: an all-zero X25519 result (a peer
     * point of small order) is rejected; libcrypto fails the derive too. */
    /* The peer value was validated in kex_peer_key (on the curve, not the
     * point at infinity: full validation for these cofactor-1 curves), so
     * libcrypto is not asked to check it again (validate_peer = 0), which
     * would add a scalar multiplication by the group order. */
    if (ctx && EVP_PKEY_derive_init(ctx) == 1 && EVP_PKEY_derive_set_peer_ex(ctx, pk, 0) == 1 &&
        EVP_PKEY_derive(ctx, tmp, &n) == 1 && n == gi->secret_len && !all_zero(tmp, n)) {
        memcpy(secret, tmp, n);
        *secret_len = n;
        r = DK_OK;
    }
    dk_wipe(tmp, sizeof tmp);
    EVP_PKEY_CTX_free(ctx); /* drops its reference to pk */
    peer_key_done(gi, pk);
    if (r != DK_OK) ERR_clear_error();
    return r;
}
