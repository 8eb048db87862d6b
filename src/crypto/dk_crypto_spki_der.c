/* The DER SubjectPublicKeyInfo parser of the private certificate-key
 * context (dk_crypto_spki.c explains why it exists), with our bounds-checked
 * reader, and the default-context keys built from what it parses. */
#include <openssl/core_names.h>
#include <string.h>

#include "crypto/dk_crypto_spki.h"

const dk_spki_type dk_spki_types[KT_COUNT] = {
    {"EC", "ECDSA", "ECDH"},
    {"ED25519", "ED25519", NULL},
    {"ED448", "ED448", NULL},
};

/* ---- SubjectPublicKeyInfo ------------------------------------------------ */

/* AlgorithmIdentifier OIDs (content octets). */
static const uint8_t k_oid_ec[] = {0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01};
static const uint8_t k_oid_ed25519[] = {0x2b, 0x65, 0x70};
static const uint8_t k_oid_ed448[] = {0x2b, 0x65, 0x71};

static const struct {
    uint8_t oid[8];
    size_t oid_len;
    dk_curve cid;
    size_t field_len;
} k_curves[] = {
    {{0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}, 8, DK_CURVE_P256, 32},
    {{0x2b, 0x81, 0x04, 0x00, 0x22}, 5, DK_CURVE_P384, 48},
    {{0x2b, 0x81, 0x04, 0x00, 0x23}, 5, DK_CURVE_P521, 66},
};


/* One DER TLV with the given tag: definite length in minimal form, at most
 * two length octets. */
static bool der_tlv(dk_reader *r, uint8_t tag, dk_reader *val)
{
    uint8_t t, l0;
    if (dk_read_u8(r, &t) != DK_OK || t != tag || dk_read_u8(r, &l0) != DK_OK) return false;
    size_t len = l0;
    if (l0 == 0x81) {
        uint8_t b;
        if (dk_read_u8(r, &b) != DK_OK || b < 0x80) return false;
        len = b;
    } else if (l0 == 0x82) {
        uint16_t v;
        if (dk_read_u16(r, &v) != DK_OK || v < 0x100) return false;
        len = v;
    } else if (l0 & 0x80) {
        return false;
    }
    const uint8_t *p;
    if (dk_read_bytes(r, len, &p) != DK_OK) return false;
    dk_reader_init(val, p, len);
    return true;
}

static bool reader_is(const dk_reader *r, const uint8_t *want, size_t n)
{
    return dk_reader_left(r) == n && memcmp(dk_reader_ptr(r), want, n) == 0;
}

/* SEQUENCE { SEQUENCE { OID [, OID namedCurve] }, BIT STRING } in DER, for
 * the key types above only (RFC 5480 2, RFC 8410 4: Ed25519/Ed448 have no
 * parameters). The EC point is left to the default provider to check. */
bool dk_spki_parse(const uint8_t *der, size_t len, spki_key *k)
{
    dk_reader r, spki, alg, oid, bits;
    dk_reader_init(&r, der, len);
    if (!der_tlv(&r, 0x30, &spki) || dk_reader_done(&r) != DK_OK) return false;
    if (!der_tlv(&spki, 0x30, &alg) || !der_tlv(&spki, 0x03, &bits) ||
        dk_reader_done(&spki) != DK_OK || !der_tlv(&alg, 0x06, &oid))
        return false;
    size_t field_len = 0;
    memset(k, 0, sizeof *k);
    if (reader_is(&oid, k_oid_ec, sizeof k_oid_ec)) {
        dk_reader curve;
        if (!der_tlv(&alg, 0x06, &curve)) return false;
        k->type = KT_EC;
        for (size_t i = 0; i < DK_ARRAY_LEN(k_curves) && !field_len; i++) {
            if (reader_is(&curve, k_curves[i].oid, k_curves[i].oid_len)) {
                k->curve = i;
                field_len = k_curves[i].field_len;
            }
        }
        if (!field_len) return false;
    } else if (reader_is(&oid, k_oid_ed25519, sizeof k_oid_ed25519)) {
        k->type = KT_ED25519;
    } else if (reader_is(&oid, k_oid_ed448, sizeof k_oid_ed448)) {
        k->type = KT_ED448;
    } else {
        return false;
    }
    uint8_t unused;
    if (dk_reader_done(&alg) != DK_OK || dk_read_u8(&bits, &unused) != DK_OK || unused != 0)
        return false;
    k->pub = dk_reader_ptr(&bits);
    k->pub_len = dk_reader_left(&bits);
    switch (k->type) {
    case KT_EC: /* uncompressed or compressed (SEC 1 2.3.3) */
        if (k->pub_len == 1 + 2 * field_len) return k->pub[0] == 0x04;
        if (k->pub_len == 1 + field_len) return k->pub[0] == 0x02 || k->pub[0] == 0x03;
        return false;
    case KT_ED25519:
        return k->pub_len == 32;
    default:
        return k->pub_len == 57;
    }
}

/* A public key of the given type in the default library context, from
 * parameters (the default provider's import validates them). */
EVP_PKEY *dk_spki_default_key_fromdata(int type, int selection, OSSL_PARAM *params)
{
    EVP_PKEY *pk = NULL;
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, dk_spki_types[type].evp_name, NULL);
    if (!pc || EVP_PKEY_fromdata_init(pc) != 1 || EVP_PKEY_fromdata(pc, &pk, selection, params) != 1)
        pk = NULL;
    EVP_PKEY_CTX_free(pc);
    return pk;
}

/* The key in the default library context. For EC, EVP_PKEY_set1_encoded_public_key
 * decodes the point as the default SubjectPublicKeyInfo decoder does
 * (EC_KEY_oct2key: the point must be on the curve; the encoding's form is
 * kept). */
EVP_PKEY *dk_spki_default_key(const spki_key *k)
{
    if (k->type == KT_EC) {
        /* a copy of the curve's parameters (dk_crypto_curve.c) with the point set */
        EVP_PKEY *params = dk_curve_params(k_curves[k->curve].cid);
        EVP_PKEY *pk = params ? EVP_PKEY_dup(params) : NULL;
        if (pk && EVP_PKEY_set1_encoded_public_key(pk, k->pub, k->pub_len) != 1) {
            EVP_PKEY_free(pk);
            pk = NULL;
        }
        return pk;
    }
    return EVP_PKEY_new_raw_public_key_ex(NULL, dk_spki_types[k->type].evp_name, NULL, k->pub,
                                          k->pub_len);
}

bool dk_spki_may_decode(const uint8_t *der, size_t len)
{
    /* A cheap screen: the certificate mentions one of our key OIDs (with
     * its DER tag and length). False positives only cost a parse. */
    static const uint8_t *const oids[] = {k_oid_ec, k_oid_ed25519, k_oid_ed448};
    static const size_t oid_lens[] = {sizeof k_oid_ec, sizeof k_oid_ed25519, sizeof k_oid_ed448};
    for (size_t i = 0; i < DK_ARRAY_LEN(oids); i++) {
        for (size_t off = 0; off + 2 + oid_lens[i] <= len; off++) {
            if (der[off] == 0x06 && der[off + 1] == oid_lens[i] &&
                memcmp(der + off + 2, oids[i], oid_lens[i]) == 0)
                return true;
        }
    }
    return false;
}
