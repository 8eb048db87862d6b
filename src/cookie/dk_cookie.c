/* dtlskit stateless cookies (RFC 6347 4.2.1; R7, R8, R10, R11, R38).
 *
 * R7: "The DTLS server SHOULD generate cookies in such a way that they can be
 * verified without retaining any per-client state on the server."
 *   Cookie = HMAC(Secret, Client-IP, Client-Parameters)
 * R8: "When responding to a HelloVerifyRequest, the client MUST use the same
 * parameter values (version, random, session_id, cipher_suites,
 * compression_method) as it did in the original ClientHello. The server SHOULD
 * use those values to generate its cookie and verify that they are correct
 * upon cookie receipt."
 *
 * R7 gives HMAC as one way to build the cookie; any MAC keyed by a server
 * secret does. dtlskit uses SipHash-2-4 with a 128-bit tag, a PRF built for
 * short inputs (the stateless gate MACs every cookieless ClientHello, so the
 * MAC is most of the gate's cost: about a third of HMAC-SHA256's here).
 *
 * Layout (22 bytes, see dk_cookie.h): t (uint48, ms) || MAC[16], where
 *   MAC = SipHash-2-4-128(secret_i[0..16), label || t || uint16 len(peer) ||
 *         peer || uint64 state_tag || client_version || random[32] ||
 *         uint8 len(session_id) || session_id || uint16 len(cipher_suites) ||
 *         cipher_suites || uint8 len(compression_methods) || compression_methods)
 *   secret_i = HMAC-SHA256(master, "dtlskit cookie secret" || uint64 i),
 *   i = t / rotation_ms.
 * Every variable field carries its length, so bytes cannot move between
 * fields and keep the MAC.
 */
#include <string.h>

#include "cookie/dk_cookie.h"
#include "crypto/dk_crypto.h"

#define DK_COOKIE_T_LEN 6
#define DK_COOKIE_MAC_LEN (DK_COOKIE_LEN - DK_COOKIE_T_LEN)
#define DK_T_MAX ((1ULL << 48) - 1)

static const char secret_label[] = "dtlskit cookie secret";
static const char mac_label[] = "dtlskit cookie v2";

void dk_cookie_init(dk_cookie_ctx *ctx, const uint8_t master[32], uint32_t lifetime_ms,
                    uint32_t rotation_ms)
{
    memset(ctx, 0, sizeof *ctx);
    memcpy(ctx->master, master, sizeof ctx->master);
    ctx->lifetime_ms = lifetime_ms;
    ctx->rotation_ms = rotation_ms;
}

void dk_cookie_clear(dk_cookie_ctx *ctx)
{
    if (!ctx) return;
    for (int k = 0; k < 2; k++) dk_siphash_key_free(ctx->cache_key[k]);
    dk_wipe(ctx, sizeof *ctx);
}

static uint64_t rotation_index(const dk_cookie_ctx *ctx, uint64_t t)
{
    return ctx->rotation_ms ? t / ctx->rotation_ms : 0;
}

/* secret_i from the two-entry cache, deriving it on a miss. The entry with
 * the lower index (the older secret) is replaced. */
static dk_result secret_for(dk_cookie_ctx *ctx, uint64_t index, int *which)
{
    for (int k = 0; k < 2; k++) {
        if (ctx->cache_valid[k] && ctx->cache_index[k] == index) {
            *which = k;
            return DK_OK;
        }
    }
    int slot = 0;
    if (!ctx->cache_valid[0]) slot = 0;
    else if (!ctx->cache_valid[1]) slot = 1;
    else slot = ctx->cache_index[0] <= ctx->cache_index[1] ? 0 : 1;

    uint8_t ib[8];
    dk_store_u64(ib, index);
    const dk_iovec parts[] = {
        {(const uint8_t *)secret_label, sizeof secret_label - 1},
        {ib, sizeof ib},
    };
    ctx->cache_valid[slot] = false;
    dk_siphash_key_free(ctx->cache_key[slot]);
    ctx->cache_key[slot] = NULL;
    DK_TRY(dk_hmac(DK_HASH_SHA256, ctx->master, sizeof ctx->master, parts, DK_ARRAY_LEN(parts),
                   ctx->cache_secret[slot]));
    ctx->cache_key[slot] = dk_siphash_key_new(ctx->cache_secret[slot]);
    if (!ctx->cache_key[slot]) return DK_ERR_CRYPTO;
    ctx->cache_index[slot] = index;
    ctx->cache_valid[slot] = true;
    *which = slot;
    return DK_OK;
}

static bool hello_usable(const dk_client_hello *ch)
{
    return ch && ch->random && (ch->session_id || !ch->session_id_len) &&
           (ch->suites || !ch->suites_len) && (ch->compressions || !ch->compressions_len);
}

/* The MAC over t, the peer, the state tag and the R8 parameters. */
static dk_result cookie_mac(dk_cookie_ctx *ctx, uint64_t t, const void *peer, size_t peer_len,
                            uint64_t state_tag, const dk_client_hello *ch,
                            uint8_t mac[DK_COOKIE_MAC_LEN])
{
    int which;
    DK_TRY(secret_for(ctx, rotation_index(ctx, t), &which));

    /* The fields with small bounds are laid out in buffers; the peer id and
     * the cipher suite list (up to 64 KiB) go between them as they are: five
     * parts, which dk_siphash_keyed gathers into one update. */
    uint8_t head[sizeof mac_label - 1 + DK_COOKIE_T_LEN + 2], mid[8 + 2 + 32 + 1 + 32 + 2];
    uint8_t tail[1 + 255];
    memcpy(head, mac_label, sizeof mac_label - 1);
    dk_store_u48(head + sizeof mac_label - 1, t);
    dk_store_u16(head + sizeof mac_label - 1 + DK_COOKIE_T_LEN, (uint16_t)peer_len);
    dk_store_u64(mid, state_tag);
    dk_writer w, t_w;
    dk_writer_init(&w, mid + 8, sizeof mid - 8);
    dk_write_u16(&w, ch->version);
    dk_write_bytes(&w, ch->random, 32);
    dk_write_u8(&w, ch->session_id_len);
    dk_write_bytes(&w, ch->session_id, ch->session_id_len);
    dk_write_u16(&w, ch->suites_len);
    dk_writer_init(&t_w, tail, sizeof tail);
    dk_write_u8(&t_w, ch->compressions_len);
    dk_write_bytes(&t_w, ch->compressions, ch->compressions_len);
    DK_TRY(dk_writer_status(&w));
    DK_TRY(dk_writer_status(&t_w));
    const dk_iovec parts[] = {
        {head, sizeof head}, {peer, peer_len}, {mid, 8 + w.off},
        {ch->suites, ch->suites_len}, {tail, t_w.off},
    };
    return dk_siphash_keyed(ctx->cache_key[which], parts, DK_ARRAY_LEN(parts), mac);
}

dk_result dk_cookie_make(dk_cookie_ctx *ctx, uint64_t now_ms, const void *peer, size_t peer_len,
                         uint64_t state_tag, const dk_client_hello *ch, uint8_t out[DK_COOKIE_LEN])
{
    if (!ctx || !out || !hello_usable(ch) || (peer_len && !peer)) return DK_ERR_INVALID_ARG;
    if (peer_len > UINT16_MAX || now_ms > DK_T_MAX) return DK_ERR_INVALID_ARG;
    DK_TRY(cookie_mac(ctx, now_ms, peer, peer_len, state_tag, ch, out + DK_COOKIE_T_LEN));
    dk_store_u48(out, now_ms);
    return DK_OK;
}

/* Time bounds a cookie's life but never orders anything: t equal to now_ms
 * (a frozen clock) is fine. */
static bool cookie_time_ok(const dk_cookie_ctx *ctx, uint64_t t, uint64_t now_ms)
{
    if (t > now_ms) return false; /* minted in the future: forged */
    if (now_ms - t > ctx->lifetime_ms) return false;
    uint64_t it = rotation_index(ctx, t), in = rotation_index(ctx, now_ms);
    /* The current secret, or the one just before it. */
    return it == in || it + 1 == in;
}

dk_result dk_cookie_verify(dk_cookie_ctx *ctx, uint64_t now_ms, const void *peer,
                           size_t peer_len, uint64_t state_tag, const dk_client_hello *ch)
{
    if (!ctx || !hello_usable(ch) || (peer_len && !peer) || peer_len > UINT16_MAX)
        return DK_DISCARD;
    /* R11: "If a server receives a ClientHello with an invalid cookie, it
     * SHOULD treat it the same as a ClientHello with no cookie." Every cookie
     * we mint is exactly DK_COOKIE_LEN bytes (R10). */
    if (ch->cookie_len != DK_COOKIE_LEN || !ch->cookie) return DK_DISCARD;
    uint64_t t = dk_load_u48(ch->cookie);
    if (!cookie_time_ok(ctx, t, now_ms)) return DK_DISCARD;

    uint8_t mac[DK_COOKIE_MAC_LEN];
    if (cookie_mac(ctx, t, peer, peer_len, state_tag, ch, mac) != DK_OK) return DK_DISCARD;
    bool ok = dk_crypto_memeq(mac, ch->cookie + DK_COOKIE_T_LEN, DK_COOKIE_MAC_LEN);
    dk_wipe(mac, sizeof mac);
    return ok ? DK_OK : DK_DISCARD;
}
