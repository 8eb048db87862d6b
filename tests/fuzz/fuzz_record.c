/* Record layer decoder: dk_record_next over a datagram, the replay window,
 * and dk_record_open with a fixed key.
 *
 * Input: byte 0 selects the AEAD (low 2 bits) and the replay window size;
 * the rest is one datagram. Invariants:
 *  - dk_record_next: a record it returns lies inside the datagram, its header
 *    right before its fragment; a record it discards without consuming the
 *    rest is exactly 13 + length bytes;
 *  - dk_record_open: the plaintext lies inside the fragment, after the
 *    explicit nonce, and is shorter by the cipher's overhead; sealing it
 *    again under the same epoch and sequence number gives back the record's
 *    bytes (when the record's explicit nonce is the one we would send);
 *  - the replay window refuses a sequence number once it is marked.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "record/dk_record.h"

static dk_cipher dec[4], enc[4];

static void init_ciphers(void)
{
    static bool done;
    if (done) return;
    uint8_t key[32], iv[12];
    fuzz_record_key(key, iv);
    for (int a = 0; a < 4; a++) {
        if (dk_cipher_init(&dec[a], (dk_aead_alg)a, key, iv, false) != DK_OK ||
            dk_cipher_init(&enc[a], (dk_aead_alg)a, key, iv, true) != DK_OK)
            abort();
    }
    done = true;
}

static void check_reseal(const dk_cipher *e, const dk_record *rec, const uint8_t *orig,
                         const uint8_t *pt, size_t pt_len)
{
    uint8_t es[8];
    dk_store_u16(es, rec->epoch);
    dk_store_u48(es + 2, rec->seq);
    if (e->explicit_len && memcmp(orig + DK_RECORD_HEADER_LEN, es, 8) != 0) return;
    uint8_t out[DK_RECORD_HEADER_LEN + DK_MAX_PLAINTEXT + 64];
    size_t n = 0;
    FUZZ_CHECK(dk_record_seal(e, rec->type, rec->version, rec->epoch, rec->seq, pt, pt_len, out,
                              sizeof out, &n) == DK_OK);
    FUZZ_CHECK(n == DK_RECORD_HEADER_LEN + (size_t)rec->length);
    FUZZ_CHECK(memcmp(out, orig, n) == 0);
}

static void one_record(dk_replay *w, const dk_cipher *d, const dk_cipher *e, dk_record *rec)
{
    if (dk_replay_check(w, rec->seq) != DK_OK) return;
    /* Keep the protected bytes: dk_record_open decrypts in place. */
    size_t total = DK_RECORD_HEADER_LEN + (size_t)rec->length;
    uint8_t *orig = malloc(total);
    if (!orig) return;
    memcpy(orig, rec->header, total);
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    const dk_cipher *c = rec->epoch == 0 ? NULL : d;
    if (dk_record_open(c, rec, &pt, &pt_len) == DK_OK) {
        size_t explicit_len = c ? c->explicit_len : 0;
        FUZZ_CHECK(pt == rec->fragment + explicit_len);
        FUZZ_CHECK(pt_len + dk_cipher_overhead(c) == rec->length);
        FUZZ_CHECK(pt_len <= DK_MAX_PLAINTEXT);
        fuzz_touch(pt, pt_len);
        if (c) check_reseal(e, rec, orig, pt, pt_len);
        dk_replay_mark(w, rec->seq);
        FUZZ_CHECK(dk_replay_check(w, rec->seq) == DK_DISCARD);
    }
    free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    init_ciphers();
    unsigned alg = data[0] & 3;
    static const unsigned windows[4] = {32, 64, 256, 1024};
    dk_replay w;
    dk_replay_init(&w, windows[(data[0] >> 2) & 3]);
    size_t len = size - 1;
    uint8_t *dgram = malloc(len ? len : 1);
    if (!dgram) return 0;
    memcpy(dgram, data + 1, len);

    dk_reader r;
    dk_reader_init(&r, dgram, len);
    while (dk_reader_left(&r) > 0) {
        size_t before = r.off;
        dk_record rec;
        dk_result res = dk_record_next(&r, &rec);
        FUZZ_CHECK(r.off > before && r.off <= len);
        if (res != DK_OK) {
            FUZZ_CHECK(res == DK_DISCARD);
            if (r.off != len) FUZZ_CHECK(r.off == before + DK_RECORD_HEADER_LEN + rec.length);
            continue;
        }
        FUZZ_CHECK(rec.header == dgram + before);
        FUZZ_CHECK(rec.fragment == rec.header + DK_RECORD_HEADER_LEN);
        FUZZ_CHECK(r.off == before + DK_RECORD_HEADER_LEN + rec.length);
        FUZZ_CHECK(rec.seq <= DK_SEQ_MAX);
        one_record(&w, &dec[alg], &enc[alg], &rec);
    }
    free(dgram);
    return 0;
}

const char *fuzz_outcome(void) { return NULL; }
