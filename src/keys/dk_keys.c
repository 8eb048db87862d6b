/* dtlskit key schedule: master secret, key block, Finished, exporter, PSK
 * premaster secrets and the NSS key log line. The PRF itself is
 * dk_tls12_prf (src/crypto).
 */
#include <string.h>

#include "keys/dk_keys.h"

#define DK_RANDOM_LEN 32

dk_result dk_derive_master_secret_k(dk_hmac_key *pmsk, size_t hash_len, bool ems,
                                    const uint8_t *session_hash, const uint8_t client_random[32],
                                    const uint8_t server_random[32],
                                    uint8_t ms[DK_MASTER_SECRET_LEN])
{
    if (!pmsk || !ms) return DK_ERR_INVALID_ARG;
    if (ems) {
        /* RFC 7627 4: master_secret = PRF(pre_master_secret,
         *   "extended master secret", session_hash)[0..47]; session_hash is
         *   the hash of the handshake through ClientKeyExchange. */
        if (!session_hash) return DK_ERR_INVALID_ARG;
        return dk_tls12_prf_keyed(pmsk, "extended master secret", session_hash, hash_len, NULL, 0,
                                  ms, DK_MASTER_SECRET_LEN);
    }
    /* RFC 5246 8.1: master_secret = PRF(pre_master_secret, "master secret",
     *   ClientHello.random + ServerHello.random)[0..47]; */
    if (!client_random || !server_random) return DK_ERR_INVALID_ARG;
    return dk_tls12_prf_keyed(pmsk, "master secret", client_random, DK_RANDOM_LEN, server_random,
                              DK_RANDOM_LEN, ms, DK_MASTER_SECRET_LEN);
}

dk_result dk_derive_master_secret(dk_hash_alg prf, const uint8_t *pms, size_t pms_len, bool ems,
                                  const uint8_t *session_hash, const uint8_t client_random[32],
                                  const uint8_t server_random[32],
                                  uint8_t ms[DK_MASTER_SECRET_LEN])
{
    if (!pms || !ms) return DK_ERR_INVALID_ARG;
    dk_hmac_key *k = dk_hmac_key_new(prf, pms, pms_len);
    if (!k) return DK_ERR_CRYPTO;
    dk_result rc = dk_derive_master_secret_k(k, dk_hash_len(prf), ems, session_hash, client_random,
                                             server_random, ms);
    dk_hmac_key_free(k);
    return rc;
}

dk_hmac_key *dk_master_key_new(dk_hash_alg prf, const uint8_t ms[DK_MASTER_SECRET_LEN])
{
    return ms ? dk_hmac_key_new(prf, ms, DK_MASTER_SECRET_LEN) : NULL;
}

dk_result dk_derive_key_block_k(const dk_suite *s, dk_hmac_key *msk,
                                const uint8_t client_random[32], const uint8_t server_random[32],
                                dk_key_block *kb)
{
    if (!s || !msk || !client_random || !server_random || !kb) return DK_ERR_INVALID_ARG;
    if (s->key_len > sizeof kb->client_key || s->fixed_iv_len > sizeof kb->client_iv)
        return DK_ERR_INTERNAL;
    /* RFC 5246 6.3: key_block = PRF(SecurityParameters.master_secret,
     *   "key expansion", SecurityParameters.server_random +
     *   SecurityParameters.client_random);
     * partitioned as client_write_MAC_key, server_write_MAC_key (both empty
     * for AEAD), client_write_key, server_write_key, client_write_IV,
     * server_write_IV. */
    uint8_t block[2 * 32 + 2 * 12];
    size_t kl = s->key_len, il = s->fixed_iv_len, total = 2 * kl + 2 * il;
    dk_result rc = dk_tls12_prf_keyed(msk, "key expansion", server_random, DK_RANDOM_LEN,
                                      client_random, DK_RANDOM_LEN, block, total);
    if (rc == DK_OK) {
        memset(kb, 0, sizeof *kb);
        memcpy(kb->client_key, block, kl);
        memcpy(kb->server_key, block + kl, kl);
        memcpy(kb->client_iv, block + 2 * kl, il);
        memcpy(kb->server_iv, block + 2 * kl + il, il);
    }
    dk_wipe(block, sizeof block);
    return rc;
}

dk_result dk_derive_key_block(const dk_suite *s, const uint8_t ms[DK_MASTER_SECRET_LEN],
                              const uint8_t client_random[32], const uint8_t server_random[32],
                              dk_key_block *kb)
{
    if (!s || !ms || !client_random || !server_random || !kb) return DK_ERR_INVALID_ARG;
    dk_hmac_key *k = dk_master_key_new(s->prf, ms);
    if (!k) return DK_ERR_CRYPTO;
    dk_result rc = dk_derive_key_block_k(s, k, client_random, server_random, kb);
    dk_hmac_key_free(k);
    return rc;
}

dk_result dk_finished_data_k(dk_hmac_key *msk, bool client, const uint8_t *transcript_hash,
                             size_t hash_len, uint8_t out[DK_VERIFY_DATA_LEN])
{
    if (!msk || !transcript_hash || !out) return DK_ERR_INVALID_ARG;
    /* RFC 5246 7.4.9: verify_data = PRF(master_secret, finished_label,
     *   Hash(handshake_messages))[0..verify_data_length-1]; */
    return dk_tls12_prf_keyed(msk, client ? "client finished" : "server finished",
                              transcript_hash, hash_len, NULL, 0, out, DK_VERIFY_DATA_LEN);
}

dk_result dk_finished_data(dk_hash_alg prf, const uint8_t ms[DK_MASTER_SECRET_LEN], bool client,
                           const uint8_t *transcript_hash, uint8_t out[DK_VERIFY_DATA_LEN])
{
    if (!ms || !transcript_hash || !out) return DK_ERR_INVALID_ARG;
    dk_hmac_key *k = dk_master_key_new(prf, ms);
    if (!k) return DK_ERR_CRYPTO;
    dk_result rc = dk_finished_data_k(k, client, transcript_hash, dk_hash_len(prf), out);
    dk_hmac_key_free(k);
    return rc;
}

/* RFC 5705 4: labels already used by TLS itself are not exporter labels
 * (the same list OpenSSL refuses), so an exporter can never reproduce a
 * Finished or key-block value. */
static bool reserved_label(const char *label)
{
    static const char *const reserved[] = {"client finished", "server finished", "master secret",
                                           "extended master secret", "key expansion"};
    for (size_t i = 0; i < DK_ARRAY_LEN(reserved); i++)
        if (strcmp(label, reserved[i]) == 0) return true;
    return false;
}

dk_result dk_export_keying_material(dk_hash_alg prf, const uint8_t ms[DK_MASTER_SECRET_LEN],
                                    const uint8_t client_random[32],
                                    const uint8_t server_random[32], const char *label,
                                    const uint8_t *context, size_t ctx_len, bool use_context,
                                    uint8_t *out, size_t out_len)
{
    if (!ms || !client_random || !server_random || !label || !out) return DK_ERR_INVALID_ARG;
    if (reserved_label(label)) return DK_ERR_INVALID_ARG;
    /* RFC 5705 4: "If no context is provided, it then computes:
     *   PRF(SecurityParameters.master_secret, label,
     *       SecurityParameters.client_random + SecurityParameters.server_random)
     * If context is provided, it computes:
     *   PRF(SecurityParameters.master_secret, label,
     *       SecurityParameters.client_random + SecurityParameters.server_random +
     *       context_value_length + context_value)"
     * "The context value length is encoded as an unsigned, 16-bit quantity". */
    if (use_context && (ctx_len > UINT16_MAX || (ctx_len && !context))) return DK_ERR_INVALID_ARG;
    uint8_t seed1[2 * DK_RANDOM_LEN + 2];
    size_t seed1_len = 2 * DK_RANDOM_LEN;
    memcpy(seed1, client_random, DK_RANDOM_LEN);
    memcpy(seed1 + DK_RANDOM_LEN, server_random, DK_RANDOM_LEN);
    if (use_context) {
        dk_store_u16(seed1 + seed1_len, (uint16_t)ctx_len);
        seed1_len += 2;
    }
    return dk_tls12_prf(prf, ms, DK_MASTER_SECRET_LEN, label, seed1, seed1_len,
                        use_context ? context : NULL, use_context ? ctx_len : 0, out, out_len);
}

dk_result dk_psk_premaster(const uint8_t *other, size_t other_len, bool zeros, const uint8_t *psk,
                           size_t psk_len, uint8_t *out, size_t cap, size_t *out_len)
{
    /* RFC 4279 2: "The premaster secret is formed as follows: if the PSK is
     * N octets long, concatenate a uint16 with the value N, N zero octets, a
     * second uint16 with the value N, and the PSK itself."
     * RFC 5489 2: struct { opaque other_secret<0..2^16-1>;
     *                      opaque psk<0..2^16-1>; };
     * "other_secret: the Diffie-Hellman shared secret". */
    if (!out || !out_len || (psk_len && !psk)) return DK_ERR_INVALID_ARG;
    if (zeros) other_len = psk_len;
    else if (other_len && !other) return DK_ERR_INVALID_ARG;
    if (psk_len > UINT16_MAX || other_len > UINT16_MAX) return DK_ERR_INVALID_ARG;

    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_write_u16(&w, (uint16_t)other_len);
    uint8_t *o = dk_write_reserve(&w, other_len);
    if (o && other_len) {
        if (zeros) memset(o, 0, other_len);
        else memcpy(o, other, other_len);
    }
    dk_write_u16(&w, (uint16_t)psk_len);
    dk_write_bytes(&w, psk, psk_len);
    dk_result rc = dk_writer_status(&w);
    if (rc != DK_OK) {
        dk_wipe(out, cap);
        return rc;
    }
    *out_len = w.off;
    return DK_OK;
}

static void hex_lower(char *dst, const uint8_t *src, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        dst[2 * i] = digits[src[i] >> 4];
        dst[2 * i + 1] = digits[src[i] & 15];
    }
}

void dk_keylog_line(const uint8_t client_random[32], const uint8_t ms[DK_MASTER_SECRET_LEN],
                    char *line, size_t cap)
{
    /* NSS key log format: "CLIENT_RANDOM <64 hex digits> <96 hex digits>". */
    static const char prefix[] = "CLIENT_RANDOM ";
    const size_t plen = sizeof prefix - 1;
    const size_t need = plen + 2 * 32 + 1 + 2 * DK_MASTER_SECRET_LEN + 1;
    if (!line || cap == 0) return;
    if (cap < need) {
        line[0] = '\0';
        return;
    }
    memcpy(line, prefix, plen);
    hex_lower(line + plen, client_random, 32);
    line[plen + 64] = ' ';
    hex_lower(line + plen + 65, ms, DK_MASTER_SECRET_LEN);
    line[need - 1] = '\0';
}
