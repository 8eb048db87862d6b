/* Spare libcrypto contexts kept for reuse (src/crypto only).
 *
 * Making and freeing an HMAC or digest context costs libcrypto a provider
 * lookup, several allocations and a cleanse; a PSK handshake made and freed
 * six of them. A pool holds a few spare contexts of one kind in atomic slots:
 * dk_pool_take empties a slot (NULL when all are empty), dk_pool_put fills one
 * (false when all are full: the caller frees the context). A context in a
 * pool holds no secret: whoever puts one back scrubs it first. Pools live for
 * the process, like the fetched algorithms. */
#ifndef DK_CRYPTO_POOL_H
#define DK_CRYPTO_POOL_H

#include <stdatomic.h>
#include <stdbool.h>

#define DK_POOL_SLOTS 8

typedef struct dk_pool {
    _Atomic(void *) slot[DK_POOL_SLOTS];
} dk_pool;

void *dk_pool_take(dk_pool *p);
DK_MUST_CHECK bool dk_pool_put(dk_pool *p, void *obj);

#endif
