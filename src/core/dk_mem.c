/* Secure memory helpers and the library's allocator (counted so that the
 * benchmark can report heap per connection). */
#include "core/dk_core.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Allocation counters: relaxed atomics, so the cost is one uncontended
 * add per call. Tests read them to prove that a path allocates nothing
 * (the cookie gate under a ClientHello flood) or frees what it took. */
static _Atomic uint64_t n_allocs, n_frees, n_reallocs;

void dk_alloc_stats_get(dk_alloc_stats *st)
{
    st->allocs = atomic_load_explicit(&n_allocs, memory_order_relaxed);
    st->frees = atomic_load_explicit(&n_frees, memory_order_relaxed);
    st->reallocs = atomic_load_explicit(&n_reallocs, memory_order_relaxed);
}

static void *counted(void *p, _Atomic uint64_t *ctr)
{
    if (p) atomic_fetch_add_explicit(ctr, 1, memory_order_relaxed);
    return p;
}

/* memset at full speed, then a barrier that tells the compiler the zeroed
 * memory is read, so the store cannot be elided as dead. */
void dk_wipe(void *p, size_t n)
{
    if (!p || !n) return;
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

bool dk_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

void *dk_malloc(size_t n) { return counted(malloc(n ? n : 1), &n_allocs); }
void *dk_calloc(size_t n, size_t size) { return counted(calloc(n ? n : 1, size ? size : 1), &n_allocs); }
void *dk_realloc(void *p, size_t n)
{
    return counted(realloc(p, n ? n : 1), p ? &n_reallocs : &n_allocs);
}

void dk_free(void *p)
{
    if (p) atomic_fetch_add_explicit(&n_frees, 1, memory_order_relaxed);
    free(p);
}

void dk_free_secret(void *p, size_t n)
{
    if (!p) return;
    dk_wipe(p, n);
    dk_free(p);
}
