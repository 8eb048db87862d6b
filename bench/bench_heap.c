/* Heap accounting for the heap rows: this binary interposes malloc and
 * friends (so dtlskit's dk_malloc, libcrypto's and libssl's CRYPTO_malloc
 * and everything else are seen) and, while counting, keeps the live total of
 * malloc_usable_size of the blocks. Only the blocks' usable sizes are
 * counted, not the allocator's per-block header (8 bytes on glibc). */
#include <malloc.h>
#include <stddef.h>

#include "bench.h"

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);
extern void __libc_free(void *p);

static volatile int g_counting;
static long long g_live;

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    if (g_counting && p) g_live += (long long)malloc_usable_size(p);
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    if (g_counting && p) g_live += (long long)malloc_usable_size(p);
    return p;
}

void *realloc(void *old, size_t n)
{
    long long before = g_counting && old ? (long long)malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if (g_counting && (p || n == 0)) {
        g_live -= before;
        if (p) g_live += (long long)malloc_usable_size(p);
    }
    return p;
}

void free(void *p)
{
    if (g_counting && p) g_live -= (long long)malloc_usable_size(p);
    __libc_free(p);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    if (g_counting) g_live += (long long)malloc_usable_size(p);
    *out = p;
    return 0;
}

void heap_start(void)
{
    g_live = 0;
    g_counting = 1;
}

long long heap_live(void) { return g_live; }

void heap_stop(void) { g_counting = 0; }
