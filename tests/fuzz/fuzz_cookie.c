/* Stateless cookies: dk_cookie_verify on attacker-chosen cookies, and the
 * make/verify contract on cookies dtlskit mints.
 *
 * Input: peer length (1 byte, folded to 0..128) and peer bytes, now (uint48),
 * state tag (uint64), lifetime and rotation (uint16 each, scaled), a bit
 * index (uint16), then a ClientHello body (its cookie field is the cookie
 * under test). Invariants:
 *  - a cookie dk_cookie_verify accepts was minted no later than now, within
 *    the lifetime and the current or previous rotation period, and equals
 *    what dk_cookie_make gives for its own timestamp (no other cookie
 *    verifies: the MAC covers everything it must);
 *  - a minted cookie verifies at once, and fails for another state tag,
 *    another peer, another client random, one flipped bit, a clock before
 *    its timestamp or beyond its lifetime.
 */
#include <string.h>

#include "cookie/dk_cookie.h"
#include "fuzz_common.h"

typedef struct input {
    uint8_t peer[129];
    size_t peer_len;
    uint64_t now, tag;
    uint32_t lifetime, rotation;
    unsigned flip;
} input;

static bool take(const uint8_t **p, size_t *n, size_t k, const uint8_t **out)
{
    if (*n < k) return false;
    *out = *p;
    *p += k;
    *n -= k;
    return true;
}

static bool parse(const uint8_t **p, size_t *n, input *in)
{
    const uint8_t *b;
    if (!take(p, n, 1, &b)) return false;
    in->peer_len = b[0] % 129;
    if (!take(p, n, in->peer_len, &b)) return false;
    memcpy(in->peer, b, in->peer_len);
    if (!take(p, n, 6 + 8 + 2 + 2 + 2, &b)) return false;
    in->now = dk_load_u48(b);
    in->tag = ((uint64_t)dk_load_u48(b + 6) << 16) | dk_load_u16(b + 12);
    in->lifetime = 1 + (uint32_t)dk_load_u16(b + 14) * 8;
    in->rotation = 1 + (uint32_t)dk_load_u16(b + 16) * 64;
    in->flip = dk_load_u16(b + 18);
    return true;
}

static dk_result verify(dk_cookie_ctx *ctx, const input *in, uint64_t now, uint64_t tag,
                        const dk_client_hello *ch)
{
    return dk_cookie_verify(ctx, now, in->peer, in->peer_len, tag, ch);
}

/* An attacker's cookie that verifies must be the one we would mint. */
static void check_accepted(dk_cookie_ctx *ctx, const input *in, const dk_client_hello *ch)
{
    FUZZ_CHECK(ch->cookie_len == DK_COOKIE_LEN);
    uint64_t t = dk_load_u48(ch->cookie);
    FUZZ_CHECK(t <= in->now && in->now - t <= in->lifetime);
    FUZZ_CHECK(in->now / in->rotation - t / in->rotation <= 1);
    uint8_t want[DK_COOKIE_LEN];
    FUZZ_CHECK(dk_cookie_make(ctx, t, in->peer, in->peer_len, in->tag, ch, want) == DK_OK);
    FUZZ_CHECK(memcmp(want, ch->cookie, DK_COOKIE_LEN) == 0);
}

static void check_minted(dk_cookie_ctx *ctx, const input *in, const dk_client_hello *orig)
{
    uint8_t cookie[DK_COOKIE_LEN];
    FUZZ_CHECK(dk_cookie_make(ctx, in->now, in->peer, in->peer_len, in->tag, orig, cookie) == DK_OK);
    FUZZ_CHECK(dk_load_u48(cookie) == in->now);
    dk_client_hello ch = *orig;
    ch.cookie = cookie;
    ch.cookie_len = DK_COOKIE_LEN;
    FUZZ_CHECK(verify(ctx, in, in->now, in->tag, &ch) == DK_OK);
    FUZZ_CHECK(verify(ctx, in, in->now, in->tag ^ (1ULL << (in->flip % 64)), &ch) == DK_DISCARD);
    if (in->now > 0) FUZZ_CHECK(verify(ctx, in, in->now - 1, in->tag, &ch) == DK_DISCARD);
    FUZZ_CHECK(verify(ctx, in, in->now + in->lifetime + 1, in->tag, &ch) == DK_DISCARD);
    /* another peer: one more byte, or one bit changed */
    input other = *in;
    other.peer[other.peer_len] = 0;
    other.peer_len++;
    FUZZ_CHECK(verify(ctx, &other, in->now, in->tag, &ch) == DK_DISCARD);
    if (in->peer_len) {
        other = *in;
        other.peer[in->flip % in->peer_len] ^= (uint8_t)(1u << (in->flip % 8));
        FUZZ_CHECK(verify(ctx, &other, in->now, in->tag, &ch) == DK_DISCARD);
    }
    uint8_t random[32];
    memcpy(random, ch.random, 32);
    random[in->flip % 32] ^= 0x80;
    dk_client_hello ch2 = ch;
    ch2.random = random;
    FUZZ_CHECK(verify(ctx, in, in->now, in->tag, &ch2) == DK_DISCARD);
    uint8_t bad[DK_COOKIE_LEN];
    memcpy(bad, cookie, sizeof bad);
    bad[(in->flip / 8) % DK_COOKIE_LEN] ^= (uint8_t)(1u << (in->flip % 8));
    ch2 = ch;
    ch2.cookie = bad;
    FUZZ_CHECK(verify(ctx, in, in->now, in->tag, &ch2) == DK_DISCARD);
    dk_wipe(cookie, sizeof cookie);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input in;
    const uint8_t *p = data;
    size_t n = size;
    if (!parse(&p, &n, &in)) return 0;
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_client_hello ch;
    if (dk_client_hello_read(&r, &ch) != DK_OK) return 0;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, fuzz_cookie_master, in.lifetime, in.rotation);
    if (verify(&ctx, &in, in.now, in.tag, &ch) == DK_OK) check_accepted(&ctx, &in, &ch);
    check_minted(&ctx, &in, &ch);
    dk_cookie_clear(&ctx);
    return 0;
}

const char *fuzz_outcome(void) { return NULL; }
