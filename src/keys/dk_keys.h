/* dtlskit key schedule (RFC 5246 5, 6.3, 7.4.9; RFC 7627; RFC 5705;
 * RFC 4279 2; RFC 5489 2) and the cipher suite table. */
#ifndef DK_KEYS_H
#define DK_KEYS_H

#include "core/dk_core.h"
#include "crypto/dk_crypto.h"
#include "handshake/dk_msg.h"

typedef enum { DK_AUTH_ECDSA = 0, DK_AUTH_RSA = 1, DK_AUTH_PSK = 2 } dk_auth_kind;

typedef struct dk_suite {
    uint16_t id;
    const char *iana_name;    /* "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" */
    const char *openssl_name; /* "ECDHE-ECDSA-AES128-GCM-SHA256" */
    dk_kx_kind kx;
    dk_auth_kind auth;
    dk_aead_alg aead;
    dk_hash_alg prf;
    uint8_t key_len;   /* 16 or 32 */
    uint8_t fixed_iv_len; /* 4 or 12 */
} dk_suite;

const dk_suite *dk_suite_by_id(uint16_t id);
/* By RFC or OpenSSL name, case-insensitive. */
const dk_suite *dk_suite_by_name(const char *name);
/* All suites in dtlskit's default preference order. */
const dk_suite *const *dk_suites_all(size_t *n);

#define DK_MASTER_SECRET_LEN 48

/* master_secret = PRF(pms, "master secret", client_random + server_random)
 * or, with EMS, PRF(pms, "extended master secret", session_hash). */
DK_MUST_CHECK dk_result dk_derive_master_secret(dk_hash_alg prf, const uint8_t *pms, size_t pms_len,
                                                bool ems, const uint8_t *session_hash,
                                                const uint8_t client_random[32],
                                                const uint8_t server_random[32],
                                                uint8_t ms[DK_MASTER_SECRET_LEN]);

typedef struct dk_key_block {
    uint8_t client_key[32], server_key[32];
    uint8_t client_iv[12], server_iv[12];
} dk_key_block;
/* key_block = PRF(ms, "key expansion", server_random + client_random):
 * client_write_key, server_write_key, client_write_IV, server_write_IV (AEAD:
 * no MAC keys). */
DK_MUST_CHECK dk_result dk_derive_key_block(const dk_suite *s, const uint8_t ms[DK_MASTER_SECRET_LEN],
                                            const uint8_t client_random[32],
                                            const uint8_t server_random[32], dk_key_block *kb);

/* The same over the premaster secret already keyed into pmsk (hash_len:
 * the PRF hash's length, the session hash's). */
DK_MUST_CHECK dk_result dk_derive_master_secret_k(dk_hmac_key *pmsk, size_t hash_len, bool ems,
                                                  const uint8_t *session_hash,
                                                  const uint8_t client_random[32],
                                                  const uint8_t server_random[32],
                                                  uint8_t ms[DK_MASTER_SECRET_LEN]);

/* The same over the master secret keyed once into an HMAC key
 * (dk_master_key_new): the engine derives the key block and both Finished
 * values from one key schedule. */
dk_hmac_key *dk_master_key_new(dk_hash_alg prf, const uint8_t ms[DK_MASTER_SECRET_LEN]);
DK_MUST_CHECK dk_result dk_derive_key_block_k(const dk_suite *s, dk_hmac_key *msk,
                                              const uint8_t client_random[32],
                                              const uint8_t server_random[32], dk_key_block *kb);
DK_MUST_CHECK dk_result dk_finished_data_k(dk_hmac_key *msk, bool client,
                                           const uint8_t *transcript_hash, size_t hash_len,
                                           uint8_t out[DK_VERIFY_DATA_LEN]);

/* verify_data = PRF(ms, "client finished"/"server finished", Hash(handshake_messages))[0..11] */
DK_MUST_CHECK dk_result dk_finished_data(dk_hash_alg prf, const uint8_t ms[DK_MASTER_SECRET_LEN],
                                         bool client, const uint8_t *transcript_hash,
                                         uint8_t out[DK_VERIFY_DATA_LEN]);

/* RFC 5705 exporter. */
DK_MUST_CHECK dk_result dk_export_keying_material(dk_hash_alg prf,
                                                  const uint8_t ms[DK_MASTER_SECRET_LEN],
                                                  const uint8_t client_random[32],
                                                  const uint8_t server_random[32], const char *label,
                                                  const uint8_t *context, size_t ctx_len,
                                                  bool use_context, uint8_t *out, size_t out_len);

/* PSK premaster secrets. out must hold 4 + other_len + 2 * psk_len bytes.
 * Plain PSK (RFC 4279): other = N zero bytes; ECDHE_PSK (RFC 5489): other =
 * the ECDH shared secret. */
DK_MUST_CHECK dk_result dk_psk_premaster(const uint8_t *other, size_t other_len, bool zeros,
                                         const uint8_t *psk, size_t psk_len, uint8_t *out,
                                         size_t cap, size_t *out_len);

/* NSS key log line: "CLIENT_RANDOM <hex cr> <hex ms>". line must hold 180 bytes. */
void dk_keylog_line(const uint8_t client_random[32], const uint8_t ms[DK_MASTER_SECRET_LEN],
                    char *line, size_t cap);

#endif
