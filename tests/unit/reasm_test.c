/* Unit tests for handshake reassembly (RFC 6347 4.2.3; R3, R4, R21 to R24). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "handshake/dk_reasm.h"

static dk_hs_header hdr(uint8_t type, uint32_t length, uint16_t seq, uint32_t off, uint32_t len)
{
    dk_hs_header h = {.type = type, .length = length, .seq = seq, .frag_offset = off,
                      .frag_length = len};
    return h;
}

/* Add body[off, off+len) of a message as one fragment. */
static dk_result add(dk_reasm *ra, uint16_t next_seq, uint8_t type, const uint8_t *body,
                     uint32_t length, uint16_t seq, uint32_t off, uint32_t len, uint8_t epoch)
{
    dk_hs_header h = hdr(type, length, seq, off, len);
    return dk_reasm_add(ra, next_seq, &h, body + off, epoch);
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (uint8_t)(seed + i * 13);
}

static void test_out_of_order_with_overlap(void **state)
{
    (void)state;
    uint8_t body[30];
    fill_pattern(body, sizeof body, 1);
    dk_reasm ra;
    dk_reasm_init(&ra, 1000, 10000);
    const dk_reasm_slot *s = NULL;
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 10, 15, 0), DK_OK);
    assert_true(dk_reasm_has(&ra, 0));
    assert_false(dk_reasm_ready(&ra, 0, &s));
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 20, 10, 0), DK_OK);
    assert_false(dk_reasm_ready(&ra, 0, &s));
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 0, 12, 0), DK_OK);
    assert_true(dk_reasm_ready(&ra, 0, &s));
    assert_non_null(s);
    assert_int_equal(s->type, DK_HT_CERTIFICATE);
    assert_int_equal(s->seq, 0);
    assert_int_equal(s->length, 30);
    assert_int_equal(s->have, 30);
    assert_int_equal(s->epoch, 0);
    assert_memory_equal(s->body, body, 30);
    assert_int_equal(ra.buffered, 30 + 4);
    /* A retransmitted copy of a complete message is consistent: accepted. */
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 0, 30, 0), DK_OK);
    dk_reasm_release(&ra, 0);
    assert_false(dk_reasm_has(&ra, 0));
    assert_false(dk_reasm_ready(&ra, 0, &s));
    assert_int_equal(ra.buffered, 0);
}

/* R22: "The length field in all messages is the same as the length field of
 * the original message." A fragment that disagrees is discarded and the slot
 * stays as it was. */
static void test_inconsistent_fragments_discarded(void **state)
{
    (void)state;
    uint8_t body[40];
    fill_pattern(body, sizeof body, 7);
    dk_reasm ra;
    dk_reasm_init(&ra, 1000, 10000);
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 0, 10, 0), DK_OK);
    size_t buffered = ra.buffered;
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 31, 0, 10, 21, 0), DK_DISCARD);
    assert_int_equal(add(&ra, 0, DK_HT_SERVER_KEY_EXCHANGE, body, 30, 0, 10, 20, 0), DK_DISCARD);
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 10, 20, 1), DK_DISCARD);
    assert_int_equal(ra.buffered, buffered);
    assert_int_equal(ra.slot[0].have, 10);
    assert_int_equal(ra.slot[0].length, 30);
    assert_int_equal(ra.slot[0].type, DK_HT_CERTIFICATE);
    assert_false(dk_reasm_ready(&ra, 0, NULL));
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 30, 0, 10, 20, 0), DK_OK);
    assert_true(dk_reasm_ready(&ra, 0, NULL));
    /* A range reaching past the length (R21). */
    dk_hs_header h = hdr(DK_HT_FINISHED, 12, 1, 8, 5);
    assert_int_equal(dk_reasm_add(&ra, 0, &h, body, 1), DK_DISCARD);
    h = hdr(DK_HT_FINISHED, 12, 1, 4, 0); /* empty fragment of a non-empty message */
    assert_int_equal(dk_reasm_add(&ra, 0, &h, body, 1), DK_DISCARD);
    assert_false(dk_reasm_has(&ra, 1));
    dk_reasm_reset(&ra);
    assert_int_equal(ra.buffered, 0);
}

/* R24 / RFC 9147: overlapping bytes must agree with what is held. */
static void test_conflicting_overlap_discarded(void **state)
{
    (void)state;
    uint8_t body[20], evil[20];
    fill_pattern(body, sizeof body, 3);
    memcpy(evil, body, sizeof evil);
    evil[7] ^= 0x01;
    dk_reasm ra;
    dk_reasm_init(&ra, 1000, 10000);
    assert_int_equal(add(&ra, 3, DK_HT_CLIENT_KEY_EXCHANGE, body, 20, 2, 0, 10, 0), DK_DISCARD);
    assert_int_equal(add(&ra, 2, DK_HT_CLIENT_KEY_EXCHANGE, body, 20, 2, 0, 10, 0), DK_OK);
    assert_int_equal(add(&ra, 2, DK_HT_CLIENT_KEY_EXCHANGE, evil, 20, 2, 5, 15, 0), DK_DISCARD);
    const dk_reasm_slot *s = &ra.slot[2];
    assert_int_equal(s->have, 10);
    /* Nothing of the rejected fragment was written, not even its new bytes. */
    for (size_t i = 10; i < 20; i++) assert_false((s->bitmap[i / 8] >> (i % 8)) & 1);
    /* The conflict outside the held range does not matter. */
    assert_int_equal(add(&ra, 2, DK_HT_CLIENT_KEY_EXCHANGE, evil, 20, 2, 8, 12, 0), DK_OK);
    assert_true(dk_reasm_ready(&ra, 2, &s));
    uint8_t want[20];
    memcpy(want, body, 10);
    memcpy(want + 10, evil + 10, 10);
    assert_memory_equal(s->body, want, 20);
    dk_reasm_reset(&ra);
    assert_int_equal(ra.buffered, 0);
}

/* R3: below next_receive_seq is discarded. R4: we queue only within the
 * window of DK_REASM_SLOTS messages. */
static void test_window(void **state)
{
    (void)state;
    uint8_t body[4] = {1, 2, 3, 4};
    dk_reasm ra;
    dk_reasm_init(&ra, 1000, 10000);
    assert_int_equal(add(&ra, 3, DK_HT_FINISHED, body, 4, 2, 0, 4, 0), DK_DISCARD);
    assert_int_equal(add(&ra, 3, DK_HT_FINISHED, body, 4, 3 + DK_REASM_SLOTS, 0, 4, 0),
                     DK_DISCARD);
    assert_int_equal(add(&ra, 3, DK_HT_FINISHED, body, 4, 3 + DK_REASM_SLOTS - 1, 0, 4, 0),
                     DK_OK);
    assert_true(dk_reasm_ready(&ra, 3 + DK_REASM_SLOTS - 1, NULL));
    for (uint16_t seq = 3; seq < 3 + DK_REASM_SLOTS - 1; seq++) {
        assert_int_equal(add(&ra, 3, DK_HT_CERTIFICATE, body, 4, seq, 0, 2, 0), DK_OK);
    }
    for (uint16_t seq = 3; seq < 3 + DK_REASM_SLOTS - 1; seq++) {
        assert_true(dk_reasm_has(&ra, seq));
        assert_false(dk_reasm_ready(&ra, seq, NULL));
    }
    assert_int_equal(ra.buffered, DK_REASM_SLOTS * (4 + 1));
    /* Near the top of the seq space the window does not wrap. */
    assert_int_equal(add(&ra, 0xFFFE, DK_HT_FINISHED, body, 4, 0, 0, 4, 0), DK_DISCARD);
    /* After next_seq moves on, a stale partial slot is reclaimed. */
    uint16_t next = 3 + DK_REASM_SLOTS;
    assert_int_equal(add(&ra, next, DK_HT_FINISHED, body, 4, next + 2, 0, 4, 0), DK_OK);
    assert_false(dk_reasm_has(&ra, 3 + 2));
    assert_true(dk_reasm_ready(&ra, next + 2, NULL));
    assert_int_equal(ra.buffered, DK_REASM_SLOTS * (4 + 1));
    dk_reasm_reset(&ra);
    assert_int_equal(ra.buffered, 0);
    for (size_t i = 0; i < DK_REASM_SLOTS; i++) assert_false(ra.slot[i].used);
}

static void test_caps(void **state)
{
    (void)state;
    static uint8_t body[200];
    fill_pattern(body, sizeof body, 9);
    dk_reasm ra;
    dk_reasm_init(&ra, 100, 150);
    /* One message over max_message. */
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 101, 0, 0, 10, 0), DK_DISCARD);
    assert_false(dk_reasm_has(&ra, 0));
    /* 100 + 13 bitmap bytes */
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 100, 0, 0, 10, 0), DK_OK);
    assert_int_equal(ra.buffered, 113);
    /* 40 + 5 would reach 158 > 150 */
    assert_int_equal(add(&ra, 0, DK_HT_SERVER_KEY_EXCHANGE, body, 40, 1, 0, 40, 0), DK_DISCARD);
    assert_false(dk_reasm_has(&ra, 1));
    assert_int_equal(ra.buffered, 113);
    /* 32 + 4 = 36 reaches 149 */
    assert_int_equal(add(&ra, 0, DK_HT_SERVER_KEY_EXCHANGE, body, 32, 1, 0, 32, 0), DK_OK);
    assert_int_equal(ra.buffered, 149);
    assert_true(dk_reasm_ready(&ra, 1, NULL));
    /* An empty message costs nothing and still fits. */
    dk_hs_header h = hdr(DK_HT_SERVER_HELLO_DONE, 0, 2, 0, 0);
    assert_int_equal(dk_reasm_add(&ra, 0, &h, NULL, 0), DK_OK);
    assert_int_equal(ra.buffered, 149);
    /* Further fragments of a held message need no new room. */
    assert_int_equal(add(&ra, 0, DK_HT_CERTIFICATE, body, 100, 0, 10, 90, 0), DK_OK);
    assert_true(dk_reasm_ready(&ra, 0, NULL));
    dk_reasm_release(&ra, 1);
    assert_int_equal(ra.buffered, 113);
    dk_reasm_release(&ra, 1); /* twice: no effect */
    assert_int_equal(ra.buffered, 113);
    dk_reasm_release(&ra, 9); /* slot 1, other seq: no effect */
    dk_reasm_release(&ra, 0);
    dk_reasm_release(&ra, 2);
    assert_int_equal(ra.buffered, 0);
    for (size_t i = 0; i < DK_REASM_SLOTS; i++) assert_false(ra.slot[i].used);
}

static void test_zero_length_complete_at_once(void **state)
{
    (void)state;
    dk_reasm ra;
    dk_reasm_init(&ra, 100, 1000);
    dk_hs_header h = hdr(DK_HT_SERVER_HELLO_DONE, 0, 4, 0, 0);
    assert_int_equal(dk_reasm_add(&ra, 1, &h, NULL, 0), DK_OK);
    const dk_reasm_slot *s = NULL;
    assert_true(dk_reasm_ready(&ra, 4, &s));
    assert_int_equal(s->type, DK_HT_SERVER_HELLO_DONE);
    assert_int_equal(s->length, 0);
    assert_int_equal(ra.buffered, 0);
    dk_reasm_release(&ra, 4);
    assert_false(dk_reasm_has(&ra, 4));
}

/* ---- property: random fragmentation reassembles exactly ------------------- */

static uint64_t g_rng;
static uint32_t rnd(void)
{
    /* xorshift64* */
    g_rng ^= g_rng >> 12;
    g_rng ^= g_rng << 25;
    g_rng ^= g_rng >> 27;
    return (uint32_t)((g_rng * 0x2545F4914F6CDD1DULL) >> 32);
}
static uint32_t rnd_range(uint32_t lo, uint32_t hi) { return lo + rnd() % (hi - lo + 1); }

typedef struct {
    uint32_t off, len;
} range;

/* Cut [0, length) into pieces, then add random extra ranges that overlap. */
static size_t make_fragments(uint32_t length, range *out, size_t cap)
{
    size_t n = 0;
    for (uint32_t off = 0; off < length;) {
        uint32_t len = rnd_range(1, DK_MIN(length - off, 300));
        out[n++] = (range){off, len};
        off += len;
    }
    size_t extra = rnd_range(0, 6);
    for (size_t i = 0; i < extra && n < cap; i++) {
        uint32_t off = rnd_range(0, length - 1);
        out[n++] = (range){off, rnd_range(1, length - off)};
    }
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
        size_t j = rnd() % i;
        range t = out[i - 1];
        out[i - 1] = out[j];
        out[j] = t;
    }
    return n;
}

static void test_random_fragmentation(void **state)
{
    (void)state;
    enum { MAX_LEN = 3000, MAX_FRAGS = MAX_LEN + 8 };
    static uint8_t body[MAX_LEN];
    static bool covered[MAX_LEN];
    static range frags[MAX_FRAGS];
    g_rng = 0x9E3779B97F4A7C15ULL;
    dk_reasm ra;
    dk_reasm_init(&ra, MAX_LEN, 4 * MAX_LEN);
    for (int iter = 0; iter < 1000; iter++) {
        uint32_t length = rnd_range(1, MAX_LEN);
        uint16_t next = (uint16_t)rnd_range(0, 20);
        uint16_t seq = (uint16_t)(next + rnd_range(0, DK_REASM_SLOTS - 1));
        for (uint32_t i = 0; i < length; i++) body[i] = (uint8_t)rnd();
        memset(covered, 0, length);
        size_t n = make_fragments(length, frags, MAX_FRAGS);
        uint32_t have = 0;
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(add(&ra, next, DK_HT_CERTIFICATE, body, length, seq, frags[k].off,
                                 frags[k].len, 1),
                             DK_OK);
            for (uint32_t i = frags[k].off; i < frags[k].off + frags[k].len; i++) {
                if (!covered[i]) have++;
                covered[i] = true;
            }
            const dk_reasm_slot *s = NULL;
            bool ready = dk_reasm_ready(&ra, seq, &s);
            assert_int_equal(ready, have == length);
            assert_int_equal(ra.slot[seq % DK_REASM_SLOTS].have, have);
        }
        const dk_reasm_slot *s = NULL;
        assert_true(dk_reasm_ready(&ra, seq, &s));
        assert_int_equal(s->length, length);
        assert_int_equal(s->epoch, 1);
        assert_memory_equal(s->body, body, length);
        dk_reasm_release(&ra, seq);
        assert_int_equal(ra.buffered, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_with_overlap),
        cmocka_unit_test(test_inconsistent_fragments_discarded),
        cmocka_unit_test(test_conflicting_overlap_discarded),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_zero_length_complete_at_once),
        cmocka_unit_test(test_random_fragmentation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
