/* A libFuzzer custom mutator for the engine harnesses: it keeps the chunk
 * framing (fuzz_common.h) and, inside a datagram, the record and handshake
 * framing valid, so that most mutated inputs get past the record layer and
 * the handshake header and reach the message decoders and the state machine.
 *
 * Mutations: a record's fragment or one handshake fragment's body mutated by
 * libFuzzer with the length fields fixed up; a record header field (type,
 * version, epoch, sequence number) changed; a handshake fragment split in two
 * (reassembly); a datagram duplicated, dropped, swapped with another or
 * mutated as raw bytes; a clock advance inserted; a datagram switched to or
 * from plaintext injection (its epoch-1 records sealed by the harness); or a
 * plain libFuzzer mutation of the whole input.
 *
 * Linked only into the libFuzzer binaries (it calls LLVMFuzzerMutate).
 */
#include <string.h>

#include "core/dk_core.h"
#include "fuzz_common.h"
#include "record/dk_record.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

#define MAX_CHUNKS 64
#define REC_HDR 13
#define HS_HDR 12
#define WORK (64 * 1024)

typedef struct mchunk {
    bool timer;
    bool seal;       /* epoch-1 records in plaintext, sealed by the harness */
    uint16_t head;   /* the 2-byte header as read */
    uint8_t *p;      /* datagram bytes (in one of the pools) */
    size_t len;
} mchunk;

typedef struct span {
    size_t off, len; /* where a header starts, and the length of its body */
} span;

static uint32_t rng_state;
static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}
static size_t pick(size_t n) { return n ? rnd() % n : 0; }

static uint8_t in_pool[WORK], new_dgram[WORK], tmp[WORK], out_buf[WORK];

static size_t parse(uint8_t *p, size_t n, mchunk *c)
{
    size_t k = 0, off = 0;
    while (k < MAX_CHUNKS && n - off >= 2) {
        uint16_t h = (uint16_t)((p[off] << 8) | p[off + 1]);
        off += 2;
        c[k].seal = h == FUZZ_SEAL_MARK && n - off >= 2;
        if (c[k].seal) {
            h = (uint16_t)(((p[off] << 8) | p[off + 1]) & FUZZ_MAX_DGRAM);
            off += 2;
        }
        c[k].head = h;
        c[k].timer = (h & FUZZ_TIMER_FLAG) != 0;
        c[k].p = p + off;
        c[k].len = 0;
        if (!c[k].timer) {
            c[k].len = DK_MIN((size_t)h, n - off);
            off += c[k].len;
        }
        k++;
    }
    return k;
}

static size_t serialize(const mchunk *c, size_t n, uint8_t *out, size_t cap)
{
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i].len > FUZZ_MAX_DGRAM || cap - off < 4 + c[i].len) return 0;
        if (c[i].seal) {
            out[off++] = (uint8_t)(FUZZ_SEAL_MARK >> 8);
            out[off++] = (uint8_t)FUZZ_SEAL_MARK;
        }
        uint16_t h = c[i].timer ? c[i].head : (uint16_t)c[i].len;
        out[off++] = (uint8_t)(h >> 8);
        out[off++] = (uint8_t)h;
        if (c[i].len) memcpy(out + off, c[i].p, c[i].len);
        off += c[i].len;
    }
    return off;
}

/* Records of a datagram: header offset and fragment length. */
static size_t records(const uint8_t *d, size_t n, span *out, size_t max)
{
    size_t k = 0, off = 0;
    while (k < max && n - off >= REC_HDR) {
        size_t len = dk_load_u16(d + off + 11);
        if (len > n - off - REC_HDR) break;
        out[k].off = off;
        out[k].len = len;
        k++;
        off += REC_HDR + len;
    }
    return k;
}

/* Handshake fragments inside one record's fragment. */
static size_t fragments(const uint8_t *f, size_t n, span *out, size_t max)
{
    size_t k = 0, off = 0;
    while (k < max && n - off >= HS_HDR) {
        size_t len = dk_load_u24(f + off + 9);
        if (len > n - off - HS_HDR) break;
        out[k].off = off;
        out[k].len = len;
        k++;
        off += HS_HDR + len;
    }
    return k;
}

static int pick_datagram(const mchunk *c, size_t n)
{
    size_t cand[MAX_CHUNKS], m = 0;
    for (size_t i = 0; i < n; i++)
        if (!c[i].timer && c[i].len >= REC_HDR) cand[m++] = i;
    return m ? (int)cand[pick(m)] : -1;
}

/* new_dgram = d with [a, b) replaced by x; the record length at rec (and the
 * handshake lengths at hs, if any) grow by the difference. */
static size_t splice(const uint8_t *d, size_t n, size_t a, size_t b, const uint8_t *x, size_t xn,
                     size_t rec, long hs, bool whole)
{
    size_t out = a + xn + (n - b);
    if (out > FUZZ_MAX_DGRAM) return 0;
    memcpy(new_dgram, d, a);
    memcpy(new_dgram + a, x, xn);
    memcpy(new_dgram + a + xn, d + b, n - b);
    size_t rlen = dk_load_u16(d + rec + 11) + xn - (b - a);
    if (rlen > 0xFFFF) return 0;
    dk_store_u16(new_dgram + rec + 11, (uint16_t)rlen);
    if (hs >= 0) {
        size_t flen = dk_load_u24(d + hs + 9) + xn - (b - a);
        dk_store_u24(new_dgram + hs + 9, (uint32_t)flen);
        if (whole) dk_store_u24(new_dgram + hs + 1, (uint32_t)flen);
    }
    return out;
}

static size_t mutate_body(const uint8_t *src, size_t len)
{
    size_t cap = DK_MIN(len * 2 + 64, (size_t)4096);
    size_t n = DK_MIN(len, cap);
    memcpy(tmp, src, n);
    if (n == 0) tmp[n++] = 0;
    return LLVMFuzzerMutate(tmp, n, cap);
}

/* Mutate one record's fragment, or one handshake fragment's body (epoch 0,
 * or any epoch in a datagram the harness seals). */
static size_t mutate_record(const uint8_t *d, size_t n, bool plain)
{
    span rec[32], fr[32];
    size_t nr = records(d, n, rec, 32);
    if (!nr) return 0;
    span r = rec[pick(nr)];
    const uint8_t *frag = d + r.off + REC_HDR;
    bool hs0 = d[r.off] == DK_CT_HANDSHAKE && (plain || dk_load_u16(d + r.off + 3) == 0);
    size_t nf = hs0 ? fragments(frag, r.len, fr, 32) : 0;
    if (nf && rnd() % 4) {
        span f = fr[pick(nf)];
        const uint8_t *h = frag + f.off;
        bool whole = dk_load_u24(h + 6) == 0 && dk_load_u24(h + 1) == f.len;
        size_t m = mutate_body(h + HS_HDR, f.len);
        size_t a = r.off + REC_HDR + f.off + HS_HDR;
        return splice(d, n, a, a + f.len, tmp, m, r.off, (long)(r.off + REC_HDR + f.off), whole);
    }
    size_t m = mutate_body(frag, r.len);
    return splice(d, n, r.off + REC_HDR, r.off + REC_HDR + r.len, tmp, m, r.off, -1, false);
}

static size_t mutate_header(const uint8_t *d, size_t n)
{
    span rec[32];
    size_t nr = records(d, n, rec, 32);
    if (!nr) return 0;
    memcpy(new_dgram, d, n);
    uint8_t *h = new_dgram + rec[pick(nr)].off;
    switch (rnd() % 5) {
    case 0: h[0] = (uint8_t)(20 + rnd() % 5); break;
    case 1: dk_store_u16(h + 1, rnd() % 2 ? 0xFEFF : 0xFEFD); break;
    case 2: dk_store_u16(h + 3, (uint16_t)(rnd() % 3)); break;
    case 3: dk_store_u48(h + 5, dk_load_u48(h + 5) + (rnd() % 9) - 4); break;
    default: dk_store_u48(h + 5, ((uint64_t)rnd() << 16) ^ rnd()); break;
    }
    return n;
}

/* Split one epoch-0 handshake fragment in two, inside its record. */
static size_t split_fragment(const uint8_t *d, size_t n)
{
    span rec[32], fr[32];
    size_t nr = records(d, n, rec, 32);
    if (!nr) return 0;
    span r = rec[pick(nr)];
    if (d[r.off] != DK_CT_HANDSHAKE) return 0;
    const uint8_t *frag = d + r.off + REC_HDR;
    size_t nf = fragments(frag, r.len, fr, 32);
    if (!nf) return 0;
    span f = fr[pick(nf)];
    if (f.len < 2 || n + HS_HDR > FUZZ_MAX_DGRAM || r.len + HS_HDR > 0xFFFF) return 0;
    size_t cut = 1 + pick(f.len - 1);
    size_t at = r.off + REC_HDR + f.off; /* the fragment's header */
    const uint8_t *h = d + at;
    memcpy(new_dgram, d, at);
    size_t o = at;
    memcpy(new_dgram + o, h, HS_HDR);
    dk_store_u24(new_dgram + o + 9, (uint32_t)cut);
    o += HS_HDR;
    memcpy(new_dgram + o, h + HS_HDR, cut);
    o += cut;
    memcpy(new_dgram + o, h, HS_HDR);
    dk_store_u24(new_dgram + o + 6, dk_load_u24(h + 6) + (uint32_t)cut);
    dk_store_u24(new_dgram + o + 9, (uint32_t)(f.len - cut));
    o += HS_HDR;
    size_t rest = n - (at + HS_HDR);
    memcpy(new_dgram + o, h + HS_HDR + cut, rest - cut);
    o += rest - cut;
    dk_store_u16(new_dgram + r.off + 11, (uint16_t)(r.len + HS_HDR));
    return o;
}

static size_t mutate_raw(const uint8_t *d, size_t n)
{
    memcpy(new_dgram, d, n);
    return LLVMFuzzerMutate(new_dgram, n ? n : 1, DK_MIN(n * 2 + 64, (size_t)FUZZ_MAX_DGRAM));
}

/* One structural mutation of the chunk list; false when it did not apply. */
static bool mutate_chunks(mchunk *c, size_t *n)
{
    unsigned op = rnd() % 11;
    if (op <= 5) {
        int i = pick_datagram(c, *n);
        if (i < 0) return false;
        size_t m = op <= 2   ? mutate_record(c[i].p, c[i].len, c[i].seal)
                   : op == 3 ? mutate_header(c[i].p, c[i].len)
                   : op == 4 ? split_fragment(c[i].p, c[i].len)
                             : mutate_raw(c[i].p, c[i].len);
        if (m == 0) return false;
        c[i].p = new_dgram;
        c[i].len = m;
        return true;
    }
    if (op == 6 && *n < MAX_CHUNKS && *n > 0) { /* duplicate */
        size_t i = pick(*n), at = pick(*n + 1);
        mchunk dup = c[i];
        memmove(c + at + 1, c + at, (*n - at) * sizeof *c);
        c[at] = dup;
        (*n)++;
        return true;
    }
    if (op == 7 && *n > 1) { /* drop */
        size_t i = pick(*n);
        memmove(c + i, c + i + 1, (*n - i - 1) * sizeof *c);
        (*n)--;
        return true;
    }
    if (op == 8 && *n > 1) { /* swap */
        size_t i = pick(*n), j = pick(*n);
        mchunk t = c[i];
        c[i] = c[j];
        c[j] = t;
        return true;
    }
    if (op == 9 && *n < MAX_CHUNKS) { /* clock advance: one tick to a few minutes */
        size_t at = pick(*n + 1);
        memmove(c + at + 1, c + at, (*n - at) * sizeof *c);
        uint16_t t = (uint16_t)(rnd() % 2 ? 1 + rnd() % 256 : 1 + rnd() % 0x7FFF);
        c[at] = (mchunk){true, false, (uint16_t)(FUZZ_TIMER_FLAG | t), NULL, 0};
        (*n)++;
        return true;
    }
    if (op == 10) { /* plaintext injection on or off */
        int i = pick_datagram(c, *n);
        if (i < 0) return false;
        c[i].seal = !c[i].seal;
        return true;
    }
    return false;
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
    rng_state = seed ? seed : 0x9E3779B9u;
    if (size > 0 && size <= WORK && rnd() % 8 != 0) {
        memcpy(in_pool, data, size);
        mchunk c[MAX_CHUNKS];
        size_t n = parse(in_pool, size, c);
        if (n > 0 && mutate_chunks(c, &n)) {
            size_t out = serialize(c, n, out_buf, DK_MIN(max_size, (size_t)WORK));
            if (out > 0) {
                memcpy(data, out_buf, out);
                return out;
            }
        }
    }
    return LLVMFuzzerMutate(data, size, max_size);
}
