/* The gate's server-wide ClientHello reassembly pool (RULES.md, after R38):
 * "A fragmented ClientHello is handled without per-peer allocation before its
 * cookie is valid: the cookie is checked from the offset-0 fragment when it
 * holds everything through compression_methods; otherwise the fragments are
 * reassembled in a small pool whose size is capped for the whole server, not
 * per peer."
 *
 * A fixed number of entries, each reassembling one (peer, message_seq)
 * ClientHello of at most DK_GATE_POOL_MAX_HELLO bytes; when every entry is in
 * use, the least recently touched one is evicted, so a flood of partial
 * hellos costs a bounded amount of memory and cannot pin it. */
#include <string.h>

#include "conn/dk_conn_int.h"
#include "conn/dk_gate_pool.h"

struct dk_gate_pool_entry {
    bool used;
    uint8_t peer[DK_MAX_PEER_ID];
    size_t peer_len;
    uint16_t seq;
    uint64_t touched;
    uint64_t last_rec_seq;
    dk_reasm ra;
};

struct dk_gate_pool {
    dk_gate_pool_entry e[DK_GATE_POOL_ENTRIES];
};

static void entry_clear(dk_gate_pool_entry *e)
{
    if (e->used) dk_reasm_reset(&e->ra);
    e->used = false;
}

void dk_gate_pool_free(dk_gate_pool *p)
{
    if (!p) return;
    for (size_t i = 0; i < DK_GATE_POOL_ENTRIES; i++) entry_clear(&p->e[i]);
    dk_free(p);
}

dk_gate_pool_entry *dk_gate_pool_find(dk_gate_pool *p, const void *peer, size_t peer_len,
                                      uint16_t seq)
{
    for (size_t i = 0; p && i < DK_GATE_POOL_ENTRIES; i++) {
        dk_gate_pool_entry *e = &p->e[i];
        if (e->used && e->seq == seq && e->peer_len == peer_len && !memcmp(e->peer, peer, peer_len))
            return e;
    }
    return NULL;
}

static dk_gate_pool_entry *entry_take(dk_gate_pool *p)
{
    dk_gate_pool_entry *victim = &p->e[0];
    for (size_t i = 0; i < DK_GATE_POOL_ENTRIES; i++) {
        if (!p->e[i].used) return &p->e[i];
        if (p->e[i].touched < victim->touched) victim = &p->e[i];
    }
    entry_clear(victim); /* evict the least recently touched */
    return victim;
}

dk_result dk_gate_pool_add(dk_gate_pool **pp, const void *peer, size_t peer_len,
                           const dk_hs_header *h, const uint8_t *frag, uint64_t rec_seq,
                           uint64_t now, const uint8_t **body)
{
    *body = NULL;
    if (h->length > DK_GATE_POOL_MAX_HELLO || peer_len > DK_MAX_PEER_ID) return DK_DISCARD;
    if (!*pp && !(*pp = dk_calloc(1, sizeof **pp))) return DK_ERR_NOMEM;
    dk_gate_pool *p = *pp;
    dk_gate_pool_entry *e = dk_gate_pool_find(p, peer, peer_len, h->seq);
    if (!e) {
        e = entry_take(p);
        memset(e, 0, sizeof *e);
        e->used = true;
        memcpy(e->peer, peer, peer_len);
        e->peer_len = peer_len;
        e->seq = h->seq;
        dk_reasm_init(&e->ra, DK_GATE_POOL_MAX_HELLO, 2 * DK_GATE_POOL_MAX_HELLO);
    }
    e->touched = now;
    dk_result r = dk_reasm_add(&e->ra, h->seq, h, frag, 0);
    if (r != DK_OK) return r;
    e->last_rec_seq = rec_seq;
    const dk_reasm_slot *s;
    if (!dk_reasm_ready(&e->ra, h->seq, &s)) return DK_DISCARD;
    *body = s->body;
    return DK_OK;
}

void dk_gate_pool_done(dk_gate_pool *p, const void *peer, size_t peer_len, uint16_t seq)
{
    dk_gate_pool_entry *e = dk_gate_pool_find(p, peer, peer_len, seq);
    if (e) entry_clear(e);
}
