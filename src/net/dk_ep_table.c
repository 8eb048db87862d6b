/* The endpoint's peer table and timer heap.
 *
 * Table: chained hash keyed by the peer's normalized address bytes, with a
 * per-endpoint random hash key so that nobody can aim many addresses at one
 * chain; it doubles at load factor 1. (A Connection ID index would be a
 * second table over the same handles.)
 *
 * Heap: a binary min-heap of handles by deadline (the earlier of the engine's
 * retransmission timer and the idle timeout); a handle without a deadline is
 * not in it. The loop sleeps until the top's deadline, so it never wakes for
 * nothing however many connections it holds.
 */
#define _GNU_SOURCE
#include <string.h>

#include "crypto/dk_crypto.h"
#include "net/dk_ep_int.h"

#define DK_EP_MIN_BUCKETS 64

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

dk_result dk_ep_table_init(dk_endpoint *ep)
{
    ep->buckets = dk_calloc(DK_EP_MIN_BUCKETS, sizeof *ep->buckets);
    if (!ep->buckets) return DK_ERR_NOMEM;
    ep->nbuckets = DK_EP_MIN_BUCKETS;
    uint8_t k[16];
    DK_TRY(dk_random_bytes(k, sizeof k));
    ep->hash_key[0] = load64(k);
    ep->hash_key[1] = load64(k + 8);
    return DK_OK;
}

void dk_ep_table_free(dk_endpoint *ep)
{
    dk_free(ep->buckets);
    ep->buckets = NULL;
    dk_free(ep->heap);
    ep->heap = NULL;
    ep->nbuckets = ep->count = ep->heap_n = ep->heap_cap = 0;
}

/* Zero padding and the fields that do not identify a peer (IPv6 flow
 * label), so equal peers have equal bytes. */
size_t dk_ep_addr_norm(const struct sockaddr *sa, socklen_t len, dk_ep_addr *out)
{
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof out->v4) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        out->v4.sin_family = AF_INET;
        out->v4.sin_port = in->sin_port;
        out->v4.sin_addr = in->sin_addr;
        return sizeof out->v4;
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof out->v6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        out->v6.sin6_family = AF_INET6;
        out->v6.sin6_port = in6->sin6_port;
        out->v6.sin6_addr = in6->sin6_addr;
        out->v6.sin6_scope_id = in6->sin6_scope_id;
        return sizeof out->v6;
    }
    return 0;
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 32;
    h *= 0xD6E8FEB86659FD93ULL;
    h ^= h >> 32;
    return h;
}

static uint32_t addr_hash(const dk_endpoint *ep, const dk_ep_addr *a, size_t len)
{
    const uint8_t *p = (const uint8_t *)a;
    uint64_t h = ep->hash_key[0] ^ len;
    for (size_t i = 0; i + 8 <= len; i += 8) h = mix(h ^ load64(p + i)) + ep->hash_key[1];
    if (len % 8) {
        uint8_t tail[8] = {0};
        memcpy(tail, p + len - len % 8, len % 8);
        h = mix(h ^ load64(tail));
    }
    return (uint32_t)mix(h ^ ep->hash_key[1]);
}

dk_endpoint_conn *dk_ep_table_find(const dk_endpoint *ep, const dk_ep_addr *a, size_t len)
{
    uint32_t hv = addr_hash(ep, a, len);
    for (dk_endpoint_conn *h = ep->buckets[hv & (ep->nbuckets - 1)]; h; h = h->hnext)
        if (h->hash == hv && h->addr_len == len && memcmp(&h->addr, a, len) == 0) return h;
    return NULL;
}

static void table_grow(dk_endpoint *ep)
{
    size_t n = ep->nbuckets * 2;
    dk_endpoint_conn **b = dk_calloc(n, sizeof *b);
    if (!b) return; /* longer chains, still correct */
    for (size_t i = 0; i < ep->nbuckets; i++) {
        dk_endpoint_conn *h = ep->buckets[i];
        while (h) {
            dk_endpoint_conn *next = h->hnext;
            h->hnext = b[h->hash & (n - 1)];
            b[h->hash & (n - 1)] = h;
            h = next;
        }
    }
    dk_free(ep->buckets);
    ep->buckets = b;
    ep->nbuckets = n;
}

dk_result dk_ep_table_insert(dk_endpoint *ep, dk_endpoint_conn *h)
{
    if (ep->count >= ep->nbuckets) table_grow(ep);
    h->hash = addr_hash(ep, &h->addr, h->addr_len);
    dk_endpoint_conn **slot = &ep->buckets[h->hash & (ep->nbuckets - 1)];
    h->hnext = *slot;
    *slot = h;
    h->flags |= DK_EPF_IN_TABLE;
    ep->count++;
    return DK_OK;
}

static dk_endpoint_conn **find_slot(dk_endpoint *ep, dk_endpoint_conn *h)
{
    dk_endpoint_conn **pp = &ep->buckets[h->hash & (ep->nbuckets - 1)];
    while (*pp && *pp != h) pp = &(*pp)->hnext;
    return *pp ? pp : NULL;
}

void dk_ep_table_remove(dk_endpoint *ep, dk_endpoint_conn *h)
{
    if (!(h->flags & DK_EPF_IN_TABLE)) return;
    dk_endpoint_conn **pp = find_slot(ep, h);
    if (pp) *pp = h->hnext;
    h->hnext = NULL;
    h->flags &= (uint8_t)~DK_EPF_IN_TABLE;
    ep->count--;
}

void dk_ep_table_replace(dk_endpoint *ep, dk_endpoint_conn *old_h, dk_endpoint_conn *new_h)
{
    dk_endpoint_conn **pp = find_slot(ep, old_h);
    if (!pp) return;
    new_h->hash = old_h->hash;
    new_h->hnext = old_h->hnext;
    *pp = new_h;
    new_h->flags |= DK_EPF_IN_TABLE;
    old_h->hnext = NULL;
    old_h->flags &= (uint8_t)~DK_EPF_IN_TABLE;
}

/* ---- timer heap ------------------------------------------------------- */

static void heap_place(dk_endpoint *ep, size_t i, dk_endpoint_conn *h)
{
    ep->heap[i] = h;
    h->heap_idx = (uint32_t)i;
}

static void sift_up(dk_endpoint *ep, size_t i)
{
    dk_endpoint_conn *h = ep->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (ep->heap[parent]->deadline <= h->deadline) break;
        heap_place(ep, i, ep->heap[parent]);
        i = parent;
    }
    heap_place(ep, i, h);
}

static void sift_down(dk_endpoint *ep, size_t i)
{
    dk_endpoint_conn *h = ep->heap[i];
    for (;;) {
        size_t l = 2 * i + 1, best = i;
        uint64_t bd = h->deadline;
        if (l < ep->heap_n && ep->heap[l]->deadline < bd) {
            best = l;
            bd = ep->heap[l]->deadline;
        }
        if (l + 1 < ep->heap_n && ep->heap[l + 1]->deadline < bd) best = l + 1;
        if (best == i) break;
        heap_place(ep, i, ep->heap[best]);
        i = best;
    }
    heap_place(ep, i, h);
}

static void heap_remove(dk_endpoint *ep, dk_endpoint_conn *h)
{
    size_t i = h->heap_idx;
    h->heap_idx = DK_EP_NO_HEAP;
    dk_endpoint_conn *last = ep->heap[--ep->heap_n];
    if (i == ep->heap_n) return;
    heap_place(ep, i, last);
    sift_up(ep, i);
    sift_down(ep, last->heap_idx);
}

dk_result dk_ep_heap_set(dk_endpoint *ep, dk_endpoint_conn *h, uint64_t deadline)
{
    uint64_t prev = h->deadline;
    h->deadline = deadline;
    if (h->heap_idx != DK_EP_NO_HEAP) {
        if (deadline == UINT64_MAX) heap_remove(ep, h);
        else if (deadline < prev) sift_up(ep, h->heap_idx);
        else if (deadline > prev) sift_down(ep, h->heap_idx);
        return DK_OK;
    }
    if (deadline == UINT64_MAX) return DK_OK;
    if (ep->heap_n == ep->heap_cap) {
        size_t cap = ep->heap_cap ? ep->heap_cap * 2 : 64;
        dk_endpoint_conn **p = dk_realloc(ep->heap, cap * sizeof *p);
        if (!p) {
            h->deadline = UINT64_MAX;
            return DK_ERR_NOMEM;
        }
        ep->heap = p;
        ep->heap_cap = cap;
    }
    heap_place(ep, ep->heap_n++, h);
    sift_up(ep, h->heap_idx);
    return DK_OK;
}

void dk_ep_heap_clear(dk_endpoint *ep, dk_endpoint_conn *h)
{
    if (h->heap_idx != DK_EP_NO_HEAP) heap_remove(ep, h);
    h->deadline = UINT64_MAX;
}

dk_endpoint_conn *dk_ep_heap_top(const dk_endpoint *ep) { return ep->heap_n ? ep->heap[0] : NULL; }
