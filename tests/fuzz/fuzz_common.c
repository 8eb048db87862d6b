/* Shared pieces of every fuzz harness: deterministic randomness and clock,
 * fixed keys, input framing, invariant failures. */
#include "fuzz_common.h"

#include <stdlib.h>
#include <string.h>

const uint8_t fuzz_peer[FUZZ_PEER_LEN] = {0x7f, 0x00, 0x00, 0x01, 0x30, 0x39};

const uint8_t fuzz_cookie_master[32] = {0x6b, 0x65, 0x79, 0x21, 0x01, 0x02, 0x03, 0x04};

void fuzz_record_key(uint8_t key[32], uint8_t iv[12])
{
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(0xA0 + i);
    for (int i = 0; i < 12; i++) iv[i] = (uint8_t)(0x10 + i);
}

void fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: fuzz invariant violated: %s\n", file, line, what);
    abort();
}

unsigned fuzz_touch(const uint8_t *p, size_t n)
{
    volatile unsigned acc = 0;
    for (size_t i = 0; i < n; i++) acc += p[i];
    return acc;
}

/* splitmix64: one 64-bit output per 8 bytes. */
int fuzz_random(void *arg, uint8_t *buf, size_t n)
{
    uint64_t *st = arg;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t z = (*st += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        z ^= z >> 31;
        for (size_t k = 0; k < 8 && i + k < n; k++) buf[i + k] = (uint8_t)(z >> (8 * k));
    }
    return 0;
}

int64_t fuzz_wallclock(void *arg)
{
    (void)arg;
    return FUZZ_WALLCLOCK;
}

/* ---- framing ------------------------------------------------------------- */

void fuzz_chunks_init(fuzz_chunks *it, const uint8_t *p, size_t len)
{
    it->p = p;
    it->len = len;
    it->off = 0;
}

bool fuzz_chunks_next(fuzz_chunks *it, fuzz_chunk *out)
{
    if (it->len - it->off < 2) return false;
    unsigned h = ((unsigned)it->p[it->off] << 8) | it->p[it->off + 1];
    it->off += 2;
    memset(out, 0, sizeof *out);
    if (h == FUZZ_SEAL_MARK) {
        if (it->len - it->off < 2) return false;
        h = ((unsigned)it->p[it->off] << 8) | it->p[it->off + 1];
        it->off += 2;
        out->seal = true;
        h &= FUZZ_MAX_DGRAM;
    } else if (h & FUZZ_TIMER_FLAG) {
        out->timer = true;
        out->advance_ms = (h & ~FUZZ_TIMER_FLAG) * FUZZ_TICK_MS;
        return true;
    }
    size_t n = h;
    if (n > it->len - it->off) n = it->len - it->off;
    out->p = it->p + it->off;
    out->len = n;
    it->off += n;
    return true;
}

