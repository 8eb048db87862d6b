/* Spare libcrypto contexts kept for reuse: see dk_crypto_pool.h. */
#include "crypto/dk_crypto.h"
#include "crypto/dk_crypto_pool.h"

void *dk_pool_take(dk_pool *p)
{
    for (size_t i = 0; i < DK_POOL_SLOTS; i++) {
        if (!atomic_load_explicit(&p->slot[i], memory_order_relaxed)) continue;
        void *obj = atomic_exchange(&p->slot[i], NULL);
        if (obj) return obj;
    }
    return NULL;
}

bool dk_pool_put(dk_pool *p, void *obj)
{
    for (size_t i = 0; i < DK_POOL_SLOTS; i++) {
        void *expect = NULL;
        if (atomic_compare_exchange_strong(&p->slot[i], &expect, obj)) return true;
    }
    return false;
}
