/* dtlskit anti-replay window (RFC 6347 4.1.2.6, R29).
 *
 * "For each received record, the receiver MUST verify that the record
 * contains a sequence number that does not duplicate the sequence number of
 * any other record received during the life of this session."
 * "A window size of 32 MUST be supported, but a window size of 64 is
 * preferred and SHOULD be employed as the default."
 * "If the received record falls within the window and is new, or if the
 * packet is to the right of the window, then the receiver proceeds to MAC
 * verification." "The receive window is updated only if the MAC verification
 * succeeds."
 *
 * Bit i of the bitmap (word i / 64, bit i % 64) stands for sequence number
 * top - i. Records left of the window (top - seq >= size) are rejected.
 */
#include <string.h>

#include "record/dk_record.h"

#define DK_REPLAY_MIN_BITS 32
#define DK_REPLAY_WORDS (DK_REPLAY_MAX_BITS / 64)

void dk_replay_init(dk_replay *w, unsigned size)
{
    memset(w, 0, sizeof *w);
    if (size < DK_REPLAY_MIN_BITS) size = DK_REPLAY_MIN_BITS;
    if (size > DK_REPLAY_MAX_BITS) size = DK_REPLAY_MAX_BITS;
    w->size = size;
}

static unsigned used_words(const dk_replay *w) { return (w->size + 63) / 64; }

static bool bit_get(const dk_replay *w, uint64_t i)
{
    return (w->bits[i / 64] >> (i % 64)) & 1u;
}

static void bit_set(dk_replay *w, uint64_t i) { w->bits[i / 64] |= 1ULL << (i % 64); }

dk_result dk_replay_check(const dk_replay *w, uint64_t seq)
{
    if (seq > DK_SEQ_MAX) return DK_DISCARD;
    if (!w->any || seq > w->top) return DK_OK;
    uint64_t diff = w->top - seq;
    if (diff >= w->size) return DK_DISCARD; /* left of the window */
    return bit_get(w, diff) ? DK_DISCARD : DK_OK;
}

/* Move every bit n places towards older sequence numbers (higher index),
 * then drop what falls beyond the window. */
static void shift_bits(dk_replay *w, uint64_t n)
{
    unsigned words = used_words(w);
    if (n >= w->size) {
        memset(w->bits, 0, sizeof w->bits);
        return;
    }
    unsigned ws = (unsigned)(n / 64), bs = (unsigned)(n % 64);
    for (unsigned i = words; i-- > 0;) {
        uint64_t v = 0;
        if (i >= ws) {
            v = w->bits[i - ws] << bs;
            if (bs && i >= ws + 1) v |= w->bits[i - ws - 1] >> (64 - bs);
        }
        w->bits[i] = v;
    }
    unsigned tail = w->size % 64;
    if (tail) w->bits[words - 1] &= (1ULL << tail) - 1;
}

void dk_replay_mark(dk_replay *w, uint64_t seq)
{
    if (seq > DK_SEQ_MAX) return;
    if (!w->any) {
        memset(w->bits, 0, sizeof w->bits);
        w->any = true;
        w->top = seq;
    } else if (seq > w->top) {
        uint64_t n = seq - w->top;
        if (w->size <= 64 && n < 64) {
            /* One word (the default window of 64): the common case of a
             * record a little ahead of the last. */
            w->bits[0] <<= n;
            if (w->size < 64) w->bits[0] &= (1ULL << w->size) - 1;
        } else {
            shift_bits(w, n);
        }
        w->top = seq;
    } else if (w->top - seq >= w->size) {
        return; /* left of the window: nothing to remember */
    }
    bit_set(w, w->top - seq);
}
