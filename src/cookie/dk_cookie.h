/* dtlskit stateless cookies (RFC 6347 4.2.1, R7, R8, R10, R11, R38).
 *
 * Cookie = t || MAC, 22 bytes in all (within the 32 bytes several deployed
 * clients cap cookies at), where t is the minting time (48-bit ms, as passed
 * in by the caller) and MAC = SipHash-2-4-128(secret_i[0..16), t || peer_id ||
 * state_tag || client_version || random || session_id || cipher_suites ||
 * compression_methods). secret_i is derived from a random master key and the
 * rotation index i = t / rotation_ms, so the secret
 * changes every rotation_ms and a cookie minted under the previous index is
 * still accepted. A cookie older than lifetime_ms is invalid. Time bounds a
 * cookie's life but never decides order: with a frozen clock every check
 * still works (T6d).
 *
 * state_tag is 0 for a peer without state; otherwise the 64-bit tag of the
 * peer's current connection (R38 b): a cookie minted for one state is invalid
 * for any other.
 */
#ifndef DK_COOKIE_H
#define DK_COOKIE_H

#include "core/dk_core.h"
#include "crypto/dk_crypto.h"
#include "handshake/dk_msg.h"

#define DK_COOKIE_LEN 22 /* t (6) || SipHash-2-4-128 (16) */

typedef struct dk_cookie_ctx {
    uint8_t master[32];
    uint32_t lifetime_ms;
    uint32_t rotation_ms;
    /* cache of derived secrets: index -> secret (mutable, not shared across threads) */
    uint64_t cache_index[2];
    bool cache_valid[2];
    uint8_t cache_secret[2][32];
    dk_siphash_key *cache_key[2]; /* SipHash keyed with cache_secret[k][0..16) */
} dk_cookie_ctx;

void dk_cookie_init(dk_cookie_ctx *ctx, const uint8_t master[32], uint32_t lifetime_ms,
                    uint32_t rotation_ms);
void dk_cookie_clear(dk_cookie_ctx *ctx);

DK_MUST_CHECK dk_result dk_cookie_make(dk_cookie_ctx *ctx, uint64_t now_ms, const void *peer,
                                       size_t peer_len, uint64_t state_tag,
                                       const dk_client_hello *ch, uint8_t out[DK_COOKIE_LEN]);
/* DK_OK when ch->cookie is valid for this peer, tag and time; DK_DISCARD
 * otherwise (any length, constant-time MAC compare). */
DK_MUST_CHECK dk_result dk_cookie_verify(dk_cookie_ctx *ctx, uint64_t now_ms, const void *peer,
                                         size_t peer_len, uint64_t state_tag,
                                         const dk_client_hello *ch);

#endif
