/* The gate's bounded, server-wide pool for fragmented ClientHellos. */
#ifndef DK_GATE_POOL_H
#define DK_GATE_POOL_H

#include "handshake/dk_reasm.h"

#define DK_GATE_POOL_ENTRIES 16
#define DK_GATE_POOL_MAX_HELLO 8192 /* largest ClientHello reassembled before a cookie */

typedef struct dk_gate_pool dk_gate_pool;
typedef struct dk_gate_pool_entry dk_gate_pool_entry;

void dk_gate_pool_free(dk_gate_pool *p);
dk_gate_pool_entry *dk_gate_pool_find(dk_gate_pool *p, const void *peer, size_t peer_len,
                                      uint16_t seq);
/* Add a fragment (allocating the pool on first use). DK_OK with *body set
 * when the ClientHello is whole (valid until dk_gate_pool_done), DK_DISCARD
 * while it is not or when the fragment is unusable. */
DK_MUST_CHECK dk_result dk_gate_pool_add(dk_gate_pool **pp, const void *peer, size_t peer_len,
                                         const dk_hs_header *h, const uint8_t *frag,
                                         uint64_t rec_seq, uint64_t now, const uint8_t **body);
void dk_gate_pool_done(dk_gate_pool *p, const void *peer, size_t peer_len, uint16_t seq);

#endif
