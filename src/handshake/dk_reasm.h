/* dtlskit handshake reassembly (RFC 6347 4.2.3, R21 to R24).
 *
 * Buffers fragments of handshake messages whose message_seq lies in
 * [next_seq, next_seq + DK_REASM_SLOTS) until each message is whole.
 * Overlapping fragments are accepted (R24) as long as the overlapping bytes
 * agree; fragments that disagree with the first one seen for that message_seq
 * on type or length, or whose bytes contradict bytes already held, are
 * discarded (R22, T12). Memory is bounded by max_buffered bytes in total and
 * max_message bytes per message; bodies are allocated on demand and freed
 * when taken or reset, so an idle connection holds nothing.
 */
#ifndef DK_REASM_H
#define DK_REASM_H

#include "handshake/dk_msg.h"

#define DK_REASM_SLOTS 8

typedef struct dk_reasm_slot {
    bool used;
    uint8_t type;
    uint16_t seq;
    uint32_t length;
    uint32_t have;    /* distinct bytes received */
    uint8_t epoch;    /* record epoch of the first fragment */
    uint8_t *body;    /* length bytes */
    uint8_t *bitmap;  /* one bit per body byte */
} dk_reasm_slot;

typedef struct dk_reasm {
    dk_reasm_slot slot[DK_REASM_SLOTS];
    size_t buffered;     /* bytes held in bodies and bitmaps */
    size_t max_buffered; /* cap over all slots */
    size_t max_message;  /* cap on one message's length */
} dk_reasm;

void dk_reasm_init(dk_reasm *ra, size_t max_message, size_t max_buffered);
/* Free all slots. */
void dk_reasm_reset(dk_reasm *ra);

/* Add one fragment. next_seq is the receiver's next_receive_seq; fragments
 * with h->seq < next_seq must be handled by the caller (R3) and are rejected
 * here with DK_DISCARD, as are h->seq >= next_seq + DK_REASM_SLOTS (R4: we may
 * discard), inconsistent fragments, and fragments that would exceed a cap.
 * DK_ERR_NOMEM on allocation failure. */
DK_MUST_CHECK dk_result dk_reasm_add(dk_reasm *ra, uint16_t next_seq, const dk_hs_header *h,
                                     const uint8_t *frag, uint8_t epoch);

/* If the message with this seq is complete, hand it out: *slot points to the
 * slot (body, length, type, epoch) until dk_reasm_release(ra, seq). */
bool dk_reasm_ready(dk_reasm *ra, uint16_t seq, const dk_reasm_slot **slot);
void dk_reasm_release(dk_reasm *ra, uint16_t seq);
/* Any fragment buffered for this seq (for "partial flight" detection). */
bool dk_reasm_has(const dk_reasm *ra, uint16_t seq);

#endif
