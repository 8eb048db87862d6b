/* Bounds-checked reader and writer: the only way dtlskit parses or builds
 * wire bytes. */
#include "core/dk_core.h"

#include <string.h>

dk_result dk_read_u8(dk_reader *r, uint8_t *v)
{
    if (dk_reader_left(r) < 1) return DK_ERR_DECODE;
    *v = r->p[r->off++];
    return DK_OK;
}

dk_result dk_read_u16(dk_reader *r, uint16_t *v)
{
    if (dk_reader_left(r) < 2) return DK_ERR_DECODE;
    *v = dk_load_u16(r->p + r->off);
    r->off += 2;
    return DK_OK;
}

dk_result dk_read_u24(dk_reader *r, uint32_t *v)
{
    if (dk_reader_left(r) < 3) return DK_ERR_DECODE;
    *v = dk_load_u24(r->p + r->off);
    r->off += 3;
    return DK_OK;
}

dk_result dk_read_u32(dk_reader *r, uint32_t *v)
{
    if (dk_reader_left(r) < 4) return DK_ERR_DECODE;
    const uint8_t *p = r->p + r->off;
    *v = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
    r->off += 4;
    return DK_OK;
}

dk_result dk_read_u48(dk_reader *r, uint64_t *v)
{
    if (dk_reader_left(r) < 6) return DK_ERR_DECODE;
    *v = dk_load_u48(r->p + r->off);
    r->off += 6;
    return DK_OK;
}

dk_result dk_read_bytes(dk_reader *r, size_t n, const uint8_t **out)
{
    if (dk_reader_left(r) < n) return DK_ERR_DECODE;
    *out = r->p + r->off;
    r->off += n;
    return DK_OK;
}

dk_result dk_read_copy(dk_reader *r, void *dst, size_t n)
{
    if (dk_reader_left(r) < n) return DK_ERR_DECODE;
    if (n) memcpy(dst, r->p + r->off, n);
    r->off += n;
    return DK_OK;
}

dk_result dk_read_skip(dk_reader *r, size_t n)
{
    if (dk_reader_left(r) < n) return DK_ERR_DECODE;
    r->off += n;
    return DK_OK;
}

dk_result dk_read_vec(dk_reader *r, unsigned prefix, size_t min, size_t max, dk_reader *sub)
{
    size_t save = r->off;
    uint32_t n = 0;
    dk_result rc;
    switch (prefix) {
    case 1: {
        uint8_t v;
        rc = dk_read_u8(r, &v);
        n = v;
        break;
    }
    case 2: {
        uint16_t v;
        rc = dk_read_u16(r, &v);
        n = v;
        break;
    }
    case 3: rc = dk_read_u24(r, &n); break;
    default: return DK_ERR_INVALID_ARG;
    }
    if (rc != DK_OK || n < min || n > max || dk_reader_left(r) < n) {
        r->off = save;
        return DK_ERR_DECODE;
    }
    dk_reader_init(sub, r->p + r->off, n);
    r->off += n;
    return DK_OK;
}

dk_result dk_reader_done(const dk_reader *r)
{
    return r->off == r->len ? DK_OK : DK_ERR_DECODE;
}

uint8_t *dk_write_reserve(dk_writer *w, size_t n)
{
    if (w->overflow || w->cap - w->off < n) {
        w->overflow = true;
        return NULL;
    }
    uint8_t *p = w->p + w->off;
    w->off += n;
    return p;
}

void dk_write_u8(dk_writer *w, uint8_t v)
{
    uint8_t *p = dk_write_reserve(w, 1);
    if (p) p[0] = v;
}

void dk_write_u16(dk_writer *w, uint16_t v)
{
    uint8_t *p = dk_write_reserve(w, 2);
    if (p) dk_store_u16(p, v);
}

void dk_write_u24(dk_writer *w, uint32_t v)
{
    uint8_t *p = dk_write_reserve(w, 3);
    if (p) dk_store_u24(p, v);
}

void dk_write_u32(dk_writer *w, uint32_t v)
{
    uint8_t *p = dk_write_reserve(w, 4);
    if (p) {
        p[0] = (uint8_t)(v >> 24);
        p[1] = (uint8_t)(v >> 16);
        p[2] = (uint8_t)(v >> 8);
        p[3] = (uint8_t)v;
    }
}

void dk_write_u48(dk_writer *w, uint64_t v)
{
    uint8_t *p = dk_write_reserve(w, 6);
    if (p) dk_store_u48(p, v);
}

void dk_write_bytes(dk_writer *w, const void *src, size_t n)
{
    uint8_t *p = dk_write_reserve(w, n);
    if (p && n) memcpy(p, src, n);
}

size_t dk_write_vec_open(dk_writer *w, unsigned prefix)
{
    size_t mark = w->off;
    (void)dk_write_reserve(w, prefix);
    return mark;
}

void dk_write_vec_close(dk_writer *w, size_t mark, unsigned prefix)
{
    if (w->overflow) return;
    size_t n = w->off - mark - prefix;
    uint8_t *p = w->p + mark;
    switch (prefix) {
    case 1:
        if (n > 0xFF) w->overflow = true;
        else p[0] = (uint8_t)n;
        break;
    case 2:
        if (n > 0xFFFF) w->overflow = true;
        else dk_store_u16(p, (uint16_t)n);
        break;
    case 3:
        if (n > 0xFFFFFF) w->overflow = true;
        else dk_store_u24(p, (uint32_t)n);
        break;
    default: w->overflow = true;
    }
}
