/* Unit tests for stateless cookies (RFC 6347 4.2.1; R7, R8, R10, R11, R38;
 * T6d: a frozen clock works).
 *
 * The known-answer cookie was computed independently in Python: hmac and
 * hashlib for the rotation secret, and a SipHash-2-4-128 written from the
 * paper and checked against the reference implementation's vectors_sip128,
 * from the layout documented in src/cookie/dk_cookie.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "cookie/dk_cookie.h"
#include "crypto/dk_crypto.h"

#define LIFETIME 60000
#define ROTATION 60000

static uint8_t master[32];
static uint8_t rnd[32];
static const uint8_t sid[] = {9, 8, 7};
static const uint8_t suites[] = {0xC0, 0x2B, 0xCC, 0xA9};
static const uint8_t comp[] = {0};
static const uint8_t peer[] = {127, 0, 0, 1, 0x30, 0x39};
static const uint64_t tag = 0x1122334455667788ULL;

static int setup(void **state)
{
    (void)state;
    for (int i = 0; i < 32; i++) {
        master[i] = (uint8_t)i;
        rnd[i] = (uint8_t)(0xA0 + i);
    }
    return dk_crypto_init() == DK_OK ? 0 : -1;
}

/* A ClientHello as the codec would decode it, filled by hand. */
static void hello(dk_client_hello *ch)
{
    memset(ch, 0, sizeof *ch);
    ch->version = 0xFEFD;
    ch->random = rnd;
    ch->session_id = sid;
    ch->session_id_len = sizeof sid;
    ch->suites = suites;
    ch->suites_len = sizeof suites;
    ch->compressions = comp;
    ch->compressions_len = sizeof comp;
}

static void make(dk_cookie_ctx *ctx, uint64_t now, const dk_client_hello *ch, uint8_t c[DK_COOKIE_LEN])
{
    assert_int_equal(dk_cookie_make(ctx, now, peer, sizeof peer, tag, ch, c), DK_OK);
}

static dk_result verify(dk_cookie_ctx *ctx, uint64_t now, dk_client_hello *ch, const uint8_t *c,
                        size_t len)
{
    ch->cookie = c;
    ch->cookie_len = (uint8_t)len;
    return dk_cookie_verify(ctx, now, peer, sizeof peer, tag, ch);
}

static void test_known_answer(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, LIFETIME, ROTATION);
    dk_client_hello ch;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    make(&ctx, 0x0102030405ULL, &ch, c);
    const uint8_t want[DK_COOKIE_LEN] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0xa0, 0xaa,
                                         0xdb, 0x59, 0x5c, 0x15, 0xa6, 0xf7, 0xcc, 0xaf,
                                         0xdb, 0x0d, 0x00, 0xc0, 0xec, 0xfe};
    assert_memory_equal(c, want, DK_COOKIE_LEN);
    dk_cookie_clear(&ctx);
}

static void test_round_trip_and_frozen_clock(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, LIFETIME, ROTATION);
    dk_client_hello ch;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    /* The clock never moves (T6d): minting and checking at the same instant
     * works, again and again. */
    for (int i = 0; i < 5; i++) {
        make(&ctx, 777, &ch, c);
        assert_int_equal(verify(&ctx, 777, &ch, c, DK_COOKIE_LEN), DK_OK);
    }
    make(&ctx, 0, &ch, c); /* time zero is a valid time too */
    assert_int_equal(verify(&ctx, 0, &ch, c, DK_COOKIE_LEN), DK_OK);
    make(&ctx, 1000, &ch, c);
    assert_int_equal(verify(&ctx, 1000 + 59000, &ch, c, DK_COOKIE_LEN), DK_OK);
    /* Two cookies of one instant for one hello are identical (stateless). */
    uint8_t c2[DK_COOKIE_LEN];
    make(&ctx, 1000, &ch, c2);
    assert_memory_equal(c, c2, DK_COOKIE_LEN);
    dk_cookie_clear(&ctx);
}

/* R8, R38: the MAC covers peer, state tag and every hello parameter. */
static void test_binding(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, LIFETIME, ROTATION);
    dk_client_hello ch, other;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    make(&ctx, 5000, &ch, c);
    hello(&other);
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_OK);

    const uint8_t peer2[] = {127, 0, 0, 1, 0x30, 0x3a};
    other.cookie = c;
    other.cookie_len = DK_COOKIE_LEN;
    assert_int_equal(dk_cookie_verify(&ctx, 5000, peer2, sizeof peer2, tag, &other), DK_DISCARD);
    assert_int_equal(dk_cookie_verify(&ctx, 5000, peer, sizeof peer - 1, tag, &other), DK_DISCARD);
    assert_int_equal(dk_cookie_verify(&ctx, 5000, peer, sizeof peer, tag + 1, &other), DK_DISCARD);
    assert_int_equal(dk_cookie_verify(&ctx, 5000, peer, sizeof peer, 0, &other), DK_DISCARD);

    uint8_t rnd2[32];
    memcpy(rnd2, rnd, 32);
    rnd2[31] ^= 1;
    other.random = rnd2;
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);

    hello(&other);
    other.version = 0xFEFF;
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);

    const uint8_t suites2[] = {0xC0, 0x2B, 0xCC, 0xA8};
    hello(&other);
    other.suites = suites2;
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);
    hello(&other);
    other.suites_len = 2; /* a suite dropped */
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);

    const uint8_t sid2[] = {9, 8, 6};
    hello(&other);
    other.session_id = sid2;
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);
    hello(&other);
    other.session_id_len = 0;
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);

    const uint8_t comp2[] = {0, 1};
    hello(&other);
    other.compressions = comp2;
    other.compressions_len = 2;
    assert_int_equal(verify(&ctx, 5000, &other, c, DK_COOKIE_LEN), DK_DISCARD);
    dk_cookie_clear(&ctx);
}

/* Length prefixes keep bytes from moving between fields: session_id
 * "9 8 7" + suites "c0 2b cc a9" and session_id "9 8 7 c0 2b" + suites
 * "cc a9" concatenate to the same bytes but give different cookies. */
static void test_fields_cannot_shift(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, LIFETIME, ROTATION);
    dk_client_hello ch, shifted;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    make(&ctx, 5000, &ch, c);
    const uint8_t joined[] = {9, 8, 7, 0xC0, 0x2B, 0xCC, 0xA9};
    hello(&shifted);
    shifted.session_id = joined;
    shifted.session_id_len = 5;
    shifted.suites = joined + 5;
    shifted.suites_len = 2;
    assert_int_equal(verify(&ctx, 5000, &shifted, c, DK_COOKIE_LEN), DK_DISCARD);
    dk_cookie_clear(&ctx);
}

static void test_bad_lengths(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, LIFETIME, ROTATION);
    dk_client_hello ch;
    hello(&ch);
    uint8_t big[255];
    memset(big, 0, sizeof big);
    make(&ctx, 5000, &ch, big); /* a valid cookie in the first DK_COOKIE_LEN bytes */
    assert_int_equal(verify(&ctx, 5000, &ch, big, DK_COOKIE_LEN), DK_OK);
    const size_t lens[] = {0, 1, DK_COOKIE_LEN - 1, DK_COOKIE_LEN + 1, 32, 64, 255};
    for (size_t i = 0; i < DK_ARRAY_LEN(lens); i++)
        assert_int_equal(verify(&ctx, 5000, &ch, big, lens[i]), DK_DISCARD);
    /* No cookie at all. */
    ch.cookie = NULL;
    ch.cookie_len = 0;
    assert_int_equal(dk_cookie_verify(&ctx, 5000, peer, sizeof peer, tag, &ch), DK_DISCARD);
    dk_cookie_clear(&ctx);
}

static void test_expiry_and_future(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, 10000, 60000);
    dk_client_hello ch;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    make(&ctx, 20000, &ch, c);
    assert_int_equal(verify(&ctx, 30000, &ch, c, DK_COOKIE_LEN), DK_OK); /* exactly lifetime old */
    assert_int_equal(verify(&ctx, 30001, &ch, c, DK_COOKIE_LEN), DK_DISCARD);
    assert_int_equal(verify(&ctx, 19999, &ch, c, DK_COOKIE_LEN), DK_DISCARD); /* minted "later" than now */
    dk_cookie_clear(&ctx);
}

/* Secret rotation: a cookie of the previous index is still good, one two
 * indexes back is not, even when it is younger than its lifetime. */
static void test_rotation(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, 5000, 1000);
    dk_client_hello ch;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    make(&ctx, 1500, &ch, c);                                 /* index 1 */
    assert_int_equal(verify(&ctx, 1999, &ch, c, DK_COOKIE_LEN), DK_OK);  /* index 1 */
    assert_int_equal(verify(&ctx, 2999, &ch, c, DK_COOKIE_LEN), DK_OK);  /* index 2: previous */
    assert_int_equal(verify(&ctx, 3000, &ch, c, DK_COOKIE_LEN), DK_DISCARD); /* index 3: two back */
    /* Many rotations in a row exercise the two-entry secret cache. */
    for (uint64_t t = 0; t < 20000; t += 700) {
        make(&ctx, t, &ch, c);
        assert_int_equal(verify(&ctx, t + 999, &ch, c, DK_COOKIE_LEN), DK_OK);
        assert_int_equal(verify(&ctx, (t / 1000 + 2) * 1000, &ch, c, DK_COOKIE_LEN), DK_DISCARD);
        assert_int_equal(verify(&ctx, t, &ch, c, DK_COOKIE_LEN), DK_OK);
    }
    dk_cookie_clear(&ctx);
}

/* A cookie from another master key is not ours. */
static void test_other_master(void **state)
{
    (void)state;
    uint8_t m2[32];
    memcpy(m2, master, 32);
    m2[0] ^= 0x80;
    dk_cookie_ctx a, b;
    dk_cookie_init(&a, master, LIFETIME, ROTATION);
    dk_cookie_init(&b, m2, LIFETIME, ROTATION);
    dk_client_hello ch;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN];
    make(&a, 100, &ch, c);
    assert_int_equal(verify(&b, 100, &ch, c, DK_COOKIE_LEN), DK_DISCARD);
    assert_int_equal(verify(&a, 100, &ch, c, DK_COOKIE_LEN), DK_OK);
    dk_cookie_clear(&a);
    dk_cookie_clear(&b);
}

static void test_any_bit_flip(void **state)
{
    (void)state;
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, master, LIFETIME, ROTATION);
    dk_client_hello ch;
    hello(&ch);
    uint8_t c[DK_COOKIE_LEN], f[DK_COOKIE_LEN];
    make(&ctx, 30000, &ch, c);
    for (int byte = 0; byte < DK_COOKIE_LEN; byte++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(f, c, DK_COOKIE_LEN);
            f[byte] ^= (uint8_t)(1u << bit);
            assert_int_equal(verify(&ctx, 30000, &ch, f, DK_COOKIE_LEN), DK_DISCARD);
            /* A later clock must not rescue a cookie whose time was lowered. */
            assert_int_equal(verify(&ctx, 59000, &ch, f, DK_COOKIE_LEN), DK_DISCARD);
        }
    }
    assert_int_equal(verify(&ctx, 30000, &ch, c, DK_COOKIE_LEN), DK_OK);
    dk_cookie_clear(&ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_known_answer),
        cmocka_unit_test(test_round_trip_and_frozen_clock),
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_fields_cannot_shift),
        cmocka_unit_test(test_bad_lengths),
        cmocka_unit_test(test_expiry_and_future),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_other_master),
        cmocka_unit_test(test_any_bit_flip),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
