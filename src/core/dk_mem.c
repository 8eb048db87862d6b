/* Secure memory helpers and the library's allocator (counted so that the
 * benchmark can report heap per connection). */
#include "core/dk_core.h"

#include <stdlib.h>
#include <string.h>

void dk_wipe(void *p, size_t n)
{
    if (!p || !n) return;
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) *v++ = 0;
}

bool dk_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++) d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

void *dk_malloc(size_t n) { return malloc(n ? n : 1); }
void *dk_calloc(size_t n, size_t size) { return calloc(n ? n : 1, size ? size : 1); }
void *dk_realloc(void *p, size_t n) { return realloc(p, n ? n : 1); }
void dk_free(void *p) { free(p); }

void dk_free_secret(void *p, size_t n)
{
    if (!p) return;
    dk_wipe(p, n);
    free(p);
}
