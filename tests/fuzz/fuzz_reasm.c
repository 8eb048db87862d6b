/* Handshake reassembly (dk_reasm) driven by a stream of operations, checked
 * against a shadow model.
 *
 * Input: 4 setup bytes (caps, first next_seq), 16 bytes of message lengths
 * (8 x uint16, message seq s has length lens[s % 8] and type 1 + s % 20), then
 * operations, each one opcode byte and its arguments:
 *   0 truthful fragment: seq delta (int8), offset, length (uint16 each, folded
 *     into the message); the bytes are the message's true bytes
 *   1 arbitrary fragment: seq delta, type, length, offset, fragment length
 *     (uint16s), epoch, then as many bytes as the input still has, up to the
 *     fragment length
 *   2 deliver: take every complete message from next_seq on, as the engine does
 *   3 advance next_seq by 1..4 without taking anything (stale slots stay)
 *   4 reset
 * Invariants, after every operation:
 *  - buffered equals the sum of the held allocations (body + bitmap) of the
 *    used slots and never exceeds max_buffered; have counts the bitmap bits;
 *  - a slot only fed truthful fragments holds exactly the bytes fed, with the
 *    message's type and length, and is complete exactly when those bytes cover
 *    the message; its message then equals the true bytes;
 *  - a truthful fragment inside the window that fits the caps is accepted,
 *    overlapping or not (R24); a rejected fragment changes nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "handshake/dk_reasm.h"

#define MAX_LEN 4200

typedef struct shadow {
    bool tainted;         /* an arbitrary fragment was accepted for this slot */
    uint8_t covered[(MAX_LEN + 7) / 8];
} shadow;

typedef struct world {
    const uint8_t *p;
    size_t n, off;
    dk_reasm ra;
    uint16_t next_seq;
    uint32_t lens[8];
    shadow sh[DK_REASM_SLOTS];
    uint16_t sh_seq[DK_REASM_SLOTS];
    bool sh_used[DK_REASM_SLOTS];
} world;

static uint8_t take8(world *w) { return w->off < w->n ? w->p[w->off++] : 0; }
static uint16_t take16(world *w) { return (uint16_t)((take8(w) << 8) | take8(w)); }

static uint8_t true_type(uint16_t seq) { return (uint8_t)(1 + seq % 20); }
static uint8_t true_byte(uint16_t seq, uint32_t i) { return (uint8_t)(seq * 31u + i * 7u + (i >> 8)); }

static bool bit(const uint8_t *bm, size_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }

/* Follow the slot table: a slot that was freed or reused for another seq
 * starts a fresh shadow. */
static void resync(world *w)
{
    for (size_t i = 0; i < DK_REASM_SLOTS; i++) {
        const dk_reasm_slot *s = &w->ra.slot[i];
        if (s->used && w->sh_used[i] && w->sh_seq[i] == s->seq) continue;
        memset(&w->sh[i], 0, sizeof w->sh[i]);
        w->sh_used[i] = s->used;
        w->sh_seq[i] = s->seq;
    }
}

static void check_slot(const world *w, size_t i)
{
    const dk_reasm_slot *s = &w->ra.slot[i];
    FUZZ_CHECK(s->seq % DK_REASM_SLOTS == i);
    FUZZ_CHECK(s->length <= w->ra.max_message && s->have <= s->length);
    size_t bits = 0;
    for (size_t k = 0; k < s->length; k++) bits += bit(s->bitmap, k);
    FUZZ_CHECK(bits == s->have);
    if (w->sh[i].tainted) return;
    FUZZ_CHECK(s->type == true_type(s->seq) && s->length == w->lens[s->seq % 8] && s->epoch == 0);
    for (size_t k = 0; k < s->length; k++) {
        FUZZ_CHECK(bit(s->bitmap, k) == bit(w->sh[i].covered, k));
        if (bit(s->bitmap, k)) FUZZ_CHECK(s->body[k] == true_byte(s->seq, (uint32_t)k));
    }
}

static void check_all(world *w)
{
    resync(w);
    size_t sum = 0;
    for (size_t i = 0; i < DK_REASM_SLOTS; i++) {
        const dk_reasm_slot *s = &w->ra.slot[i];
        if (!s->used) continue;
        sum += s->length + (s->length + 7u) / 8u;
        check_slot(w, i);
    }
    FUZZ_CHECK(w->ra.buffered == sum);
    FUZZ_CHECK(w->ra.buffered <= w->ra.max_buffered);
}

static bool in_window(const world *w, uint16_t seq)
{
    return seq >= w->next_seq && (uint32_t)seq < (uint32_t)w->next_seq + DK_REASM_SLOTS;
}

/* Whether dk_reasm must take a truthful fragment. */
static bool must_accept(const world *w, const dk_hs_header *h)
{
    if (!in_window(w, h->seq) || h->length > w->ra.max_message) return false;
    if (h->frag_length == 0 && h->length != 0) return false;
    size_t i = h->seq % DK_REASM_SLOTS;
    const dk_reasm_slot *s = &w->ra.slot[i];
    if (s->used && s->seq == h->seq) return !w->sh[i].tainted;
    size_t held = w->ra.buffered - (s->used ? s->length + (s->length + 7u) / 8u : 0);
    return h->length + (h->length + 7u) / 8u <= w->ra.max_buffered - held;
}

static void op_truthful(world *w)
{
    uint16_t seq = (uint16_t)(w->next_seq + (int8_t)take8(w));
    uint32_t len = w->lens[seq % 8];
    uint32_t off = take16(w) % (len + 1);
    uint32_t flen = take16(w) % (len - off + 1);
    uint8_t *frag = malloc(flen ? flen : 1);
    if (!frag) return;
    for (uint32_t i = 0; i < flen; i++) frag[i] = true_byte(seq, off + i);
    dk_hs_header h = {true_type(seq), len, seq, off, flen};
    bool must = must_accept(w, &h);
    dk_result r = dk_reasm_add(&w->ra, w->next_seq, &h, frag, 0);
    FUZZ_CHECK(r == DK_OK || r == DK_DISCARD);
    if (must) FUZZ_CHECK(r == DK_OK);
    free(frag);
    resync(w);
    if (r != DK_OK) return;
    shadow *sh = &w->sh[seq % DK_REASM_SLOTS];
    for (uint32_t i = 0; i < flen; i++) sh->covered[(off + i) >> 3] |= (uint8_t)(1u << ((off + i) & 7));
}

static void op_arbitrary(world *w)
{
    dk_hs_header h;
    h.seq = (uint16_t)(w->next_seq + (int8_t)take8(w));
    h.type = take8(w);
    h.length = take16(w) % (MAX_LEN + 1);
    h.frag_offset = take16(w);
    h.frag_length = take16(w);
    uint8_t epoch = take8(w) & 1;
    size_t avail = w->n - w->off;
    if (h.frag_length > avail) h.frag_length = (uint32_t)avail;
    uint8_t *frag = malloc(h.frag_length ? h.frag_length : 1);
    if (!frag) return;
    memcpy(frag, w->p + w->off, h.frag_length);
    w->off += h.frag_length;
    size_t i = h.seq % DK_REASM_SLOTS;
    const dk_reasm_slot *s = &w->ra.slot[i];
    bool existed = s->used && s->seq == h.seq;
    uint32_t have = s->have;
    dk_result r = dk_reasm_add(&w->ra, w->next_seq, &h, frag, epoch);
    FUZZ_CHECK(r == DK_OK || r == DK_DISCARD);
    if (r != DK_OK && existed) FUZZ_CHECK(s->used && s->seq == h.seq && s->have == have);
    free(frag);
    resync(w);
    if (r == DK_OK) w->sh[i].tainted = true;
}

static bool covered_all(const shadow *sh, uint32_t len)
{
    for (uint32_t k = 0; k < len; k++)
        if (!bit(sh->covered, k)) return false;
    return true;
}

static void op_deliver(world *w)
{
    for (;;) {
        uint16_t seq = w->next_seq;
        size_t i = seq % DK_REASM_SLOTS;
        const dk_reasm_slot *s = &w->ra.slot[i];
        bool here = s->used && s->seq == seq;
        const dk_reasm_slot *got = NULL;
        bool ready = dk_reasm_ready(&w->ra, seq, &got);
        FUZZ_CHECK(ready == (here && s->have == s->length));
        if (here && !w->sh[i].tainted) FUZZ_CHECK(ready == covered_all(&w->sh[i], s->length));
        if (!ready) return;
        FUZZ_CHECK(got == s && dk_reasm_has(&w->ra, seq));
        fuzz_touch(got->body, got->length);
        size_t before = w->ra.buffered;
        size_t cost = got->length + (got->length + 7u) / 8u;
        dk_reasm_release(&w->ra, seq);
        FUZZ_CHECK(!dk_reasm_has(&w->ra, seq) && w->ra.buffered == before - cost);
        w->next_seq++;
        resync(w);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static world w;
    memset(&w, 0, sizeof w);
    w.p = data;
    w.n = size;
    uint8_t caps = take8(&w), bufs = take8(&w);
    size_t max_message = (size_t)256 << (caps % 5); /* 256 .. 4096 */
    size_t max_buffered = max_message * (1 + bufs % 16) / 2;
    if (max_buffered < max_message) max_buffered = max_message;
    dk_reasm_init(&w.ra, max_message, max_buffered);
    w.next_seq = take16(&w);
    for (int i = 0; i < 8; i++) w.lens[i] = take16(&w) % (max_message + 65);
    for (int i = 0; i < 8; i++) w.lens[i] = DK_MIN(w.lens[i], (uint32_t)MAX_LEN);
    while (w.off < w.n) {
        switch (take8(&w) % 5) {
        case 0: op_truthful(&w); break;
        case 1: op_arbitrary(&w); break;
        case 2: op_deliver(&w); break;
        case 3: w.next_seq = (uint16_t)(w.next_seq + 1 + take8(&w) % 4); break;
        default:
            dk_reasm_reset(&w.ra);
            FUZZ_CHECK(w.ra.buffered == 0);
            break;
        }
        check_all(&w);
    }
    dk_reasm_reset(&w.ra);
    FUZZ_CHECK(w.ra.buffered == 0);
    return 0;
}

const char *fuzz_outcome(void) { return NULL; }
