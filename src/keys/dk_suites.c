/* dtlskit cipher suite table.
 *
 * Suites: RFC 5289 (ECDHE AES-GCM), RFC 7251 (ECDHE_ECDSA AES-CCM_8),
 * RFC 6655 (PSK AES-CCM_8), RFC 5487 (PSK AES-GCM), RFC 7905 (ChaCha20-
 * Poly1305). All use the TLS 1.2 PRF with SHA-256 except the *_SHA384 suites
 * (RFC 5289 3.2: "The PRF ... use[s] SHA-384").
 */
#include <strings.h>

#include "keys/dk_keys.h"

#define SUITE(id_, iana, ossl, kx_, auth_, aead_, prf_, klen, ivlen)                              \
    {                                                                                              \
        .id = (id_), .iana_name = (iana), .openssl_name = (ossl), .kx = (kx_), .auth = (auth_),     \
        .aead = (aead_), .prf = (prf_), .key_len = (klen), .fixed_iv_len = (ivlen)                 \
    }

/* In dtlskit's default preference order. */
static const dk_suite suites[] = {
    SUITE(DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
          "ECDHE-ECDSA-AES128-GCM-SHA256", DK_KX_ECDHE_SIGN, DK_AUTH_ECDSA, DK_AEAD_AES128_GCM,
          DK_HASH_SHA256, 16, 4),
    SUITE(DK_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
          "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305",
          DK_KX_ECDHE_SIGN, DK_AUTH_ECDSA, DK_AEAD_CHACHA20_POLY1305, DK_HASH_SHA256, 32, 12),
    SUITE(DK_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
          "ECDHE-ECDSA-AES256-GCM-SHA384", DK_KX_ECDHE_SIGN, DK_AUTH_ECDSA, DK_AEAD_AES256_GCM,
          DK_HASH_SHA384, 32, 4),
    SUITE(DK_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8",
          "ECDHE-ECDSA-AES128-CCM8", DK_KX_ECDHE_SIGN, DK_AUTH_ECDSA, DK_AEAD_AES128_CCM8,
          DK_HASH_SHA256, 16, 4),
    SUITE(DK_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
          "ECDHE-RSA-AES128-GCM-SHA256", DK_KX_ECDHE_SIGN, DK_AUTH_RSA, DK_AEAD_AES128_GCM,
          DK_HASH_SHA256, 16, 4),
    SUITE(DK_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
          "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305",
          DK_KX_ECDHE_SIGN, DK_AUTH_RSA, DK_AEAD_CHACHA20_POLY1305, DK_HASH_SHA256, 32, 12),
    SUITE(DK_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
          "ECDHE-RSA-AES256-GCM-SHA384", DK_KX_ECDHE_SIGN, DK_AUTH_RSA, DK_AEAD_AES256_GCM,
          DK_HASH_SHA384, 32, 4),
    SUITE(DK_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256,
          "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-PSK-CHACHA20-POLY1305",
          DK_KX_ECDHE_PSK, DK_AUTH_PSK, DK_AEAD_CHACHA20_POLY1305, DK_HASH_SHA256, 32, 12),
    SUITE(DK_TLS_PSK_WITH_AES_128_GCM_SHA256, "TLS_PSK_WITH_AES_128_GCM_SHA256",
          "PSK-AES128-GCM-SHA256", DK_KX_PSK, DK_AUTH_PSK, DK_AEAD_AES128_GCM, DK_HASH_SHA256, 16,
          4),
    SUITE(DK_TLS_PSK_WITH_AES_128_CCM_8, "TLS_PSK_WITH_AES_128_CCM_8", "PSK-AES128-CCM8",
          DK_KX_PSK, DK_AUTH_PSK, DK_AEAD_AES128_CCM8, DK_HASH_SHA256, 16, 4),
};

static const dk_suite *const order[] = {
    &suites[0], &suites[1], &suites[2], &suites[3], &suites[4],
    &suites[5], &suites[6], &suites[7], &suites[8], &suites[9],
};

_Static_assert(DK_ARRAY_LEN(order) == DK_ARRAY_LEN(suites), "every suite is in the order");

const dk_suite *dk_suite_by_id(uint16_t id)
{
    for (size_t i = 0; i < DK_ARRAY_LEN(suites); i++)
        if (suites[i].id == id) return &suites[i];
    return NULL;
}

const dk_suite *dk_suite_by_name(const char *name)
{
    if (!name) return NULL;
    for (size_t i = 0; i < DK_ARRAY_LEN(suites); i++) {
        if (strcasecmp(name, suites[i].iana_name) == 0 ||
            strcasecmp(name, suites[i].openssl_name) == 0)
            return &suites[i];
    }
    return NULL;
}

const dk_suite *const *dk_suites_all(size_t *n)
{
    if (n) *n = DK_ARRAY_LEN(order);
    return order;
}
