/* Bounded handshake reassembly (RFC 6347 4.2.3; R3, R4, R21 to R24).
 *
 * Slot i holds the message whose message_seq is congruent to i modulo
 * DK_REASM_SLOTS; the window [next_seq, next_seq + DK_REASM_SLOTS) maps each
 * seq to its own slot. A slot left over from a seq below the window is stale
 * and is freed when its index is needed again, so callers release a message
 * they took before advancing next_seq past it.
 */
#include "handshake/dk_reasm.h"

#include <string.h>

static size_t bitmap_bytes(uint32_t length) { return ((size_t)length + 7) / 8; }

/* Bytes a message of this length holds in body and bitmap. */
static size_t slot_cost(uint32_t length) { return (size_t)length + bitmap_bytes(length); }

static bool bit_get(const uint8_t *bm, size_t i) { return (bm[i >> 3] >> (i & 7)) & 1; }
static void bit_set(uint8_t *bm, size_t i) { bm[i >> 3] |= (uint8_t)(1u << (i & 7)); }

static dk_reasm_slot *slot_of(dk_reasm *ra, uint16_t seq)
{
    return &ra->slot[seq % DK_REASM_SLOTS];
}

static void slot_free(dk_reasm *ra, dk_reasm_slot *s)
{
    if (!s->used) return;
    dk_free(s->body);
    dk_free(s->bitmap);
    ra->buffered -= slot_cost(s->length);
    memset(s, 0, sizeof *s);
}

void dk_reasm_init(dk_reasm *ra, size_t max_message, size_t max_buffered)
{
    memset(ra, 0, sizeof *ra);
    ra->max_message = max_message;
    ra->max_buffered = max_buffered;
}

void dk_reasm_reset(dk_reasm *ra)
{
    for (size_t i = 0; i < DK_REASM_SLOTS; i++) slot_free(ra, &ra->slot[i]);
}

/* Open a slot for the first fragment of a message: its type, length and
 * epoch are fixed from here on (R22). */
static dk_result slot_open(dk_reasm *ra, dk_reasm_slot *s, const dk_hs_header *h, uint8_t epoch)
{
    size_t cost = slot_cost(h->length);
    if (cost > ra->max_buffered - DK_MIN(ra->buffered, ra->max_buffered)) return DK_DISCARD;
    uint8_t *body = dk_malloc(h->length);
    uint8_t *bitmap = dk_calloc(bitmap_bytes(h->length), 1);
    if (!body || !bitmap) {
        dk_free(body);
        dk_free(bitmap);
        return DK_ERR_NOMEM;
    }
    s->used = true;
    s->type = h->type;
    s->seq = h->seq;
    s->length = h->length;
    s->have = 0;
    s->epoch = epoch;
    s->body = body;
    s->bitmap = bitmap;
    ra->buffered += cost;
    return DK_OK;
}

/* R24: "DTLS implementations MUST be able to handle overlapping fragment
 * ranges." Bytes already held must agree with the new fragment; a fragment
 * that contradicts them is discarded whole, before anything is written. */
static bool overlap_agrees(const dk_reasm_slot *s, uint32_t off, uint32_t len, const uint8_t *frag)
{
    for (uint32_t i = 0; i < len; i++) {
        if (bit_get(s->bitmap, off + i) && s->body[off + i] != frag[i]) return false;
    }
    return true;
}

static void slot_fill(dk_reasm_slot *s, uint32_t off, uint32_t len, const uint8_t *frag)
{
    for (uint32_t i = 0; i < len; i++) {
        if (bit_get(s->bitmap, off + i)) continue;
        bit_set(s->bitmap, off + i);
        s->body[off + i] = frag[i];
        s->have++;
    }
}

/* Checks that need no slot: window (R3, R4), fragment range (R21) and caps. */
static bool fragment_acceptable(const dk_reasm *ra, uint16_t next_seq, const dk_hs_header *h)
{
    /* R3: "If the sequence number is less than next_receive_seq, the message
     * MUST be discarded." R4: future messages "SHOULD queue the message but
     * MAY discard it": we queue within the window only. */
    if (h->seq < next_seq) return false;
    if ((uint32_t)h->seq >= (uint32_t)next_seq + DK_REASM_SLOTS) return false;
    if ((uint64_t)h->frag_offset + h->frag_length > h->length) return false;
    if (h->frag_length == 0 && h->length != 0) return false;
    return h->length <= ra->max_message;
}

dk_result dk_reasm_add(dk_reasm *ra, uint16_t next_seq, const dk_hs_header *h,
                       const uint8_t *frag, uint8_t epoch)
{
    if (!fragment_acceptable(ra, next_seq, h)) return DK_DISCARD;
    dk_reasm_slot *s = slot_of(ra, h->seq);
    if (s->used && s->seq != h->seq) slot_free(ra, s); /* stale: below the window */
    if (!s->used) {
        DK_TRY(slot_open(ra, s, h, epoch));
    } else if (s->type != h->type || s->length != h->length || s->epoch != epoch) {
        /* R22: every fragment carries the original message's type and
         * length; a fragment that disagrees with the first is discarded. */
        return DK_DISCARD;
    }
    if (!overlap_agrees(s, h->frag_offset, h->frag_length, frag)) return DK_DISCARD;
    slot_fill(s, h->frag_offset, h->frag_length, frag);
    return DK_OK;
}

bool dk_reasm_ready(dk_reasm *ra, uint16_t seq, const dk_reasm_slot **slot)
{
    dk_reasm_slot *s = slot_of(ra, seq);
    if (!s->used || s->seq != seq || s->have != s->length) return false;
    if (slot) *slot = s;
    return true;
}

void dk_reasm_release(dk_reasm *ra, uint16_t seq)
{
    dk_reasm_slot *s = slot_of(ra, seq);
    if (s->used && s->seq == seq) slot_free(ra, s);
}

bool dk_reasm_has(const dk_reasm *ra, uint16_t seq)
{
    const dk_reasm_slot *s = &ra->slot[seq % DK_REASM_SLOTS];
    return s->used && s->seq == seq;
}
