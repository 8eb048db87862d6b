/* The replay window through a real connection (RFC 6347 4.1.2.6, R29, R30):
 * 1,000,000 application records sealed by a dtlskit client are delivered to
 * the dtlskit server duplicated, reordered, replayed long after, forged
 * under far-ahead sequence numbers and copied into wrong epochs. Checked for
 * every datagram, against the window's definition (the highest accepted
 * sequence number `top`, size 64 by default):
 *  - a record is delivered at most once, byte for byte as sealed;
 *  - a record left of the window (seq + size <= top) is never delivered;
 *  - a fresh record inside or right of the window is always delivered
 *    (so a forged high-sequence record did not move the window);
 *  - forged and wrong-epoch records are never delivered.
 * DK_RB_REPLAY_RECORDS overrides the count. */
#include <stdlib.h>
#include <string.h>

#include "rb_util.h"

#define POOL 48

typedef struct net {
    uint8_t *p[POOL * 2];
    size_t len[POOL * 2];
    size_t n;
} net;

typedef struct arch {
    uint8_t p[4096][64];
    size_t len[4096];
    size_t n;
} arch;

typedef struct tally {
    uint64_t top;
    bool any;
    unsigned window;
    uint8_t *seen;
    unsigned long long delivered, dup_fed, left_rejected, forged_fed, replays_fed;
} tally;

static uint64_t rng_state;
static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint64_t rec_seq(const uint8_t *p)
{
    uint64_t s = 0;
    for (int i = 5; i < 11; i++) s = (s << 8) | p[i];
    return s;
}

/* Feed one datagram to the server; check what it delivers. */
static void feed(dk_duo *d, tally *t, const uint8_t *p, size_t len, bool legit, unsigned long total)
{
    uint8_t buf[128];
    assert_true(len <= sizeof buf);
    memcpy(buf, p, len);
    uint64_t seq = rec_seq(p);
    bool left = t->any && seq + t->window <= t->top;
    assert_int_equal(dk_conn_receive(d->s, buf, len, d->now), DK_OK);
    uint8_t out[64];
    size_t n;
    bool got = false;
    while (dk_conn_read(d->s, out, sizeof out, &n) == DK_OK) {
        assert_false(got); /* one record per datagram */
        got = true;
        assert_true(legit);
        assert_false(left);
        assert_int_equal(n, 8);
        uint64_t k = 0;
        for (int i = 0; i < 8; i++) k = (k << 8) | out[i];
        assert_true(k < total);
        assert_int_equal(t->seen[k], 0); /* never twice */
        t->seen[k] = 1;
        t->delivered++;
        if (!t->any || seq > t->top) t->top = seq;
        t->any = true;
    }
    if (!legit) return;
    uint64_t k = 0;
    /* a fresh record inside or right of the window must be delivered */
    if (!got && !left) {
        /* fresh = never delivered; we cannot read the plaintext, but the
         * sender's index is seq - 1 (Finished took epoch-1 seq 0) */
        k = seq - 1;
        assert_true(k < total);
        assert_int_equal(t->seen[k], 1);
        t->dup_fed++;
    }
    if (!got && left) t->left_rejected++;
}

static void forge(dk_duo *d, tally *t, const uint8_t *p, size_t len, unsigned long total)
{
    uint8_t f[128];
    memcpy(f, p, len);
    switch (rnd() % 4) {
    case 0: { /* far-ahead sequence number on real ciphertext */
        uint64_t s = t->top + 64 + rnd() % 1000000;
        for (int i = 0; i < 6; i++) f[5 + i] = (uint8_t)(s >> (8 * (5 - i)));
        break;
    }
    case 1: /* maximal sequence number */
        memset(f + 5, 0xFF, 6);
        break;
    case 2: /* one bit of the ciphertext */
        f[13 + rnd() % (len - 13)] ^= (uint8_t)(1u << (rnd() % 8));
        break;
    default: /* wrong epoch: 0, 2 or 0xFFFF */
        f[3] = rnd() % 2 ? 0xFF : 0;
        f[4] = f[3] ? 0xFF : (uint8_t)(rnd() % 2 ? 0 : 2);
        break;
    }
    t->forged_fed++;
    feed(d, t, f, len, false, total);
}

static void deliver_one(dk_duo *d, net *nw, tally *t, arch *a, unsigned long total)
{
    size_t i = (size_t)(rnd() % nw->n);
    uint8_t *p = nw->p[i];
    size_t len = nw->len[i];
    nw->p[i] = nw->p[nw->n - 1];
    nw->len[i] = nw->len[nw->n - 1];
    nw->n--;
    feed(d, t, p, len, true, total);
    if (rnd() % 100 < 2) forge(d, t, p, len, total);
    size_t slot = a->n++ % 4096;
    memcpy(a->p[slot], p, len);
    a->len[slot] = len;
    free(p);
}

static void push(net *nw, const uint8_t *p, size_t len)
{
    nw->p[nw->n] = malloc(len);
    memcpy(nw->p[nw->n], p, len);
    nw->len[nw->n++] = len;
}

static void run(const char *ciphers, unsigned window, unsigned long total, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", seed);
    assert_int_equal(dk_config_set_ciphers(d.ccfg, ciphers), DK_OK);
    assert_int_equal(dk_config_set_replay_window(d.scfg, window), DK_OK);
    dk_duo_run r;
    dk_duo_establish(&d, &r);
    dk_duo_run_free(&r);
    rng_state = seed;
    net nw = {0};
    arch *a = calloc(1, sizeof *a);
    tally t = {0, false, window, calloc(total, 1), 0, 0, 0, 0, 0};
    for (unsigned long k = 0; k < total; k++) {
        uint8_t rec[8], dg[128];
        for (int i = 0; i < 8; i++) rec[i] = (uint8_t)(k >> (8 * (7 - i)));
        assert_int_equal(dk_conn_write(d.c, rec, sizeof rec), DK_OK);
        size_t n;
        assert_int_equal(dk_conn_poll_datagram(d.c, dg, sizeof dg, &n), DK_OK);
        push(&nw, dg, n);
        if (rnd() % 100 < 10) push(&nw, dg, n); /* duplicated on the way */
        while (nw.n > POOL || (nw.n && rnd() % 4 == 0)) deliver_one(&d, &nw, &t, a, total);
        if (a->n && rnd() % 100 < 5) { /* a replay from the recent past */
            size_t back = (size_t)(rnd() % (a->n < 4096 ? a->n : 4096));
            size_t slot = (a->n - 1 - back) % 4096;
            t.replays_fed++;
            feed(&d, &t, a->p[slot], a->len[slot], true, total);
        }
    }
    while (nw.n) deliver_one(&d, &nw, &t, a, total);
    dk_conn_stats st;
    dk_conn_get_stats(d.s, &st);
    print_message("%s window %u: %lu records, %llu delivered once, %llu duplicates/replays "
                  "refused in the window, %llu refused left of it, %llu forged refused; "
                  "engine: %llu replayed, %llu bad MAC\n",
                  ciphers, window, total, t.delivered, t.dup_fed, t.left_rejected, t.forged_fed,
                  (unsigned long long)st.replayed_records, (unsigned long long)st.bad_mac_records);
    assert_true(t.delivered > total / 2);
    assert_true(t.dup_fed > 0 && t.left_rejected > 0 && t.forged_fed > 0);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_ESTABLISHED);
    assert_true(dk_duo_data_flows(&d));
    free(t.seen);
    free(a);
    dk_duo_free(&d);
}

static void test_million_ccm8_w64(void **st)
{
    (void)st;
    run("PSK-AES128-CCM8", 64, rb_count("REPLAY_RECORDS", 1000000), 1);
}

static void test_gcm_w1024(void **st)
{
    (void)st;
    run("PSK-AES128-GCM-SHA256", 1024, rb_count("REPLAY_RECORDS", 1000000) / 4, 2);
}

static void test_chacha_w32(void **st)
{
    (void)st;
    run("ECDHE-PSK-CHACHA20-POLY1305", 32, rb_count("REPLAY_RECORDS", 1000000) / 4, 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_million_ccm8_w64),
        cmocka_unit_test(test_gcm_w1024),
        cmocka_unit_test(test_chacha_w32),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
