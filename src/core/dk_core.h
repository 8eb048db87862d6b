/* dtlskit core: result codes, bounds-checked reader/writer, secure memory.
 *
 * Every decoder in dtlskit reads through dk_reader; every encoder writes through
 * dk_writer. Neither can step outside its buffer: a read past the end sets
 * nothing and returns DK_ERR_DECODE, a write past the end sets w->overflow and
 * every later write is a no-op, so an encoder checks once at the end.
 */
#ifndef DK_CORE_H
#define DK_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtlskit/dtlskit.h"

#define DK_MUST_CHECK __attribute__((warn_unused_result))

/* Internal-only result: the record or message is to be silently discarded
 * (RFC 6347 4.1.2.7). Never returned through the public API. */
#define DK_DISCARD (-1000)

/* ---- reader ---------------------------------------------------------- */

typedef struct dk_reader {
    const uint8_t *p;
    size_t len;
    size_t off;
} dk_reader;

static inline void dk_reader_init(dk_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->off = 0;
}

static inline size_t dk_reader_left(const dk_reader *r) { return r->len - r->off; }
static inline const uint8_t *dk_reader_ptr(const dk_reader *r) { return r->p + r->off; }

DK_MUST_CHECK dk_result dk_read_u8(dk_reader *r, uint8_t *v);
DK_MUST_CHECK dk_result dk_read_u16(dk_reader *r, uint16_t *v);
DK_MUST_CHECK dk_result dk_read_u24(dk_reader *r, uint32_t *v);
DK_MUST_CHECK dk_result dk_read_u32(dk_reader *r, uint32_t *v);
DK_MUST_CHECK dk_result dk_read_u48(dk_reader *r, uint64_t *v);
/* n raw bytes: *out points into the reader's buffer. */
DK_MUST_CHECK dk_result dk_read_bytes(dk_reader *r, size_t n, const uint8_t **out);
DK_MUST_CHECK dk_result dk_read_copy(dk_reader *r, void *dst, size_t n);
DK_MUST_CHECK dk_result dk_read_skip(dk_reader *r, size_t n);
/* A length-prefixed vector (prefix of 1, 2 or 3 bytes) opened as a sub-reader.
 * The vector's length must lie within [min, max]. */
DK_MUST_CHECK dk_result dk_read_vec(dk_reader *r, unsigned prefix, size_t min, size_t max,
                                    dk_reader *sub);
/* DK_OK when everything was consumed, DK_ERR_DECODE otherwise. */
DK_MUST_CHECK dk_result dk_reader_done(const dk_reader *r);

/* ---- writer ---------------------------------------------------------- */

typedef struct dk_writer {
    uint8_t *p;
    size_t cap;
    size_t off;
    bool overflow;
} dk_writer;

static inline void dk_writer_init(dk_writer *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = cap;
    w->off = 0;
    w->overflow = false;
}

void dk_write_u8(dk_writer *w, uint8_t v);
void dk_write_u16(dk_writer *w, uint16_t v);
void dk_write_u24(dk_writer *w, uint32_t v);
void dk_write_u32(dk_writer *w, uint32_t v);
void dk_write_u48(dk_writer *w, uint64_t v);
void dk_write_bytes(dk_writer *w, const void *src, size_t n);
/* Reserve n bytes, returning where they start (NULL on overflow). */
uint8_t *dk_write_reserve(dk_writer *w, size_t n);
/* Open a length prefix of 1, 2 or 3 bytes; close it once the body is written.
 * Closing fails (overflow) if the body exceeds what the prefix can hold. */
size_t dk_write_vec_open(dk_writer *w, unsigned prefix);
void dk_write_vec_close(dk_writer *w, size_t mark, unsigned prefix);
static inline DK_MUST_CHECK dk_result dk_writer_status(const dk_writer *w)
{
    return w->overflow ? DK_ERR_BUFFER_TOO_SMALL : DK_OK;
}

/* ---- byte helpers ---------------------------------------------------- */

static inline uint16_t dk_load_u16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t dk_load_u24(const uint8_t *p)
{
    return ((uint32_t)p[0] << 16) | ((uint32_t)p[1] << 8) | p[2];
}
static inline uint64_t dk_load_u48(const uint8_t *p)
{
    return ((uint64_t)p[0] << 40) | ((uint64_t)p[1] << 32) | ((uint64_t)p[2] << 24) |
           ((uint64_t)p[3] << 16) | ((uint64_t)p[4] << 8) | p[5];
}
/* Written out byte by byte (not as loops) so that compilers turn them into
 * one load or store and a byte swap. */
static inline uint64_t dk_load_u64(const uint8_t *p)
{
    return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
           ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
           ((uint64_t)p[6] << 8) | p[7];
}
static inline void dk_store_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void dk_store_u24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}
static inline void dk_store_u48(uint8_t *p, uint64_t v)
{
    for (int i = 5; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}
static inline void dk_store_u64(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)(v >> 56);
    p[1] = (uint8_t)(v >> 48);
    p[2] = (uint8_t)(v >> 40);
    p[3] = (uint8_t)(v >> 32);
    p[4] = (uint8_t)(v >> 24);
    p[5] = (uint8_t)(v >> 16);
    p[6] = (uint8_t)(v >> 8);
    p[7] = (uint8_t)v;
}

/* ---- secure memory --------------------------------------------------- */

/* Wipe that the compiler may not elide. */
void dk_wipe(void *p, size_t n);
/* Constant-time equality of two equal-length buffers: true when equal. */
bool dk_ct_equal(const void *a, const void *b, size_t n);
/* Allocation through the library's hooks (counted for benchmarks). */
void *dk_malloc(size_t n);
void *dk_calloc(size_t n, size_t size);
void *dk_realloc(void *p, size_t n);
void dk_free(void *p);
/* Wipe n bytes then free. */
void dk_free_secret(void *p, size_t n);
/* Process-wide counts of the calls above that returned memory (allocs:
 * dk_malloc, dk_calloc, dk_realloc of NULL; reallocs: dk_realloc of a block)
 * and of blocks freed. allocs - frees is the number of live blocks.
 * Allocations made inside libcrypto are not counted. */
typedef struct dk_alloc_stats {
    uint64_t allocs, frees, reallocs;
} dk_alloc_stats;
void dk_alloc_stats_get(dk_alloc_stats *st);

#define DK_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define DK_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DK_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Propagate a failing result. */
#define DK_TRY(expr)                                                                               \
    do {                                                                                           \
        dk_result dk_try_r_ = (expr);                                                              \
        if (dk_try_r_ != DK_OK) return dk_try_r_;                                                  \
    } while (0)

#endif
