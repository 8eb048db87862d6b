/* A ClientHello flood from spoofed addresses through the stateless gate
 * (dk_server_gate, RFC 6347 4.2.1, R7, R13): 1,000,000 datagrams, each from
 * a different source address, made of real ClientHellos, ClientHellos with
 * forged cookies of every length, a valid cookie replayed from another
 * address, and truncated or mangled ClientHellos.
 * Checked: dtlskit allocates nothing during the flood (dk_alloc_stats:
 * allocations equal frees and no live block appears; heap in use by the
 * whole process, mallinfo2, does not grow), no datagram is admitted, and every
 * HelloVerifyRequest is no larger than the ClientHello that caused it.
 * Prints "FLOOD: ..." with the HelloVerifyRequests per second (one core).
 * DK_RB_FLOOD overrides the count. */
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/dk_core.h"
#include "rb_util.h"

#define VARIANTS 300

typedef struct variant {
    uint8_t p[1500];
    size_t len;
} variant;

/* The client's first ClientHello, as sent. */
static size_t real_hello(dk_config *ccfg, uint8_t *out, size_t cap)
{
    dk_conn *c = dk_conn_new(ccfg, NULL, 0);
    assert_int_equal(dk_conn_connect(c, 1000), DK_OK);
    size_t n;
    assert_int_equal(dk_conn_poll_datagram(c, out, cap, &n), DK_OK);
    dk_conn_free(c);
    return n;
}

static void make_variants(variant *v, const uint8_t *ch, size_t ch_len, const uint8_t *valid,
                          size_t valid_len)
{
    const uint8_t *body = ch + 13 + 12;
    size_t body_len = ch_len - 25;
    uint8_t cookie[255], nb[1400], hs[1500];
    for (size_t i = 0; i < VARIANTS; i++) {
        size_t k = i % 6, clen = (i * 7) % 256;
        if (k == 0) { /* the real one */
            memcpy(v[i].p, ch, ch_len);
            v[i].len = ch_len;
            continue;
        }
        if (k == 1) { /* a valid cookie for another address */
            memcpy(v[i].p, valid, valid_len);
            v[i].len = valid_len;
            continue;
        }
        if (k == 5) { /* truncated anywhere */
            v[i].len = 1 + (i * 13) % (ch_len - 1);
            memcpy(v[i].p, ch, v[i].len);
            continue;
        }
        for (size_t j = 0; j < clen; j++) cookie[j] = (uint8_t)(i * 31 + j);
        size_t nl = dk_craft_ch_with_cookie(body, body_len, cookie, clen, nb, sizeof nb);
        assert_true(nl > 0);
        if (k == 4) nb[nl - 1 - (i % 8)] ^= 0x5A; /* mangled extensions */
        size_t hl = dk_craft_handshake(hs, sizeof hs, 1, (uint32_t)nl, 0, 0, (uint32_t)nl, nb);
        v[i].len = dk_craft_record(v[i].p, sizeof v[i].p, 22, k == 3 ? 0xFEFF : 0xFEFD, 0,
                                   i, hs, hl);
        assert_true(v[i].len > 0);
    }
}

/* A ClientHello carrying a valid cookie for peer "A". */
static size_t valid_cookie_hello(dk_duo *d, uint8_t *out)
{
    dk_duo_run r;
    dk_duo_to_flight4(d, &r);
    memcpy(out, r.ch1.p[0], r.ch1.len[0]);
    size_t n = r.ch1.len[0];
    dk_duo_run_free(&r);
    return n;
}

static void test_flood(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "ec", "ec", 5);
    static variant v[VARIANTS];
    uint8_t ch[1500], valid[1500];
    size_t ch_len = real_hello(d.ccfg, ch, sizeof ch);
    size_t valid_len = valid_cookie_hello(&d, valid);
    make_variants(v, ch, ch_len, valid, valid_len);
    unsigned long total = rb_count("FLOOD", 1000000);
    uint8_t out[1500], peer[16] = {10, 0, 0, 0, 0x30, 0x39};
    size_t out_len;
    /* warm-up: the cookie secret is derived on first use */
    (void)dk_server_gate(d.scfg, peer, 6, ch, ch_len, d.now, out, sizeof out, &out_len);
    dk_alloc_stats a0, a1;
    dk_alloc_stats_get(&a0);
    struct mallinfo2 m0 = mallinfo2();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    unsigned long hvr = 0, drop = 0, accept = 0;
    double worst = 0;
    for (unsigned long i = 0; i < total; i++) {
        memcpy(peer, &i, 4); /* a new spoofed address each time */
        const variant *x = &v[i % VARIANTS];
        out_len = 0;
        dk_gate_verdict g = dk_server_gate(d.scfg, peer, 6, x->p, x->len, d.now + i / 1000, out,
                                           sizeof out, &out_len);
        if (g == DK_GATE_HVR) {
            hvr++;
            assert_true(out_len > 0 && out_len <= x->len); /* no amplification */
            double ratio = (double)out_len / (double)x->len;
            if (ratio > worst) worst = ratio;
        } else if (g == DK_GATE_ACCEPT) {
            accept++;
        } else {
            drop++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    struct mallinfo2 m1 = mallinfo2();
    dk_alloc_stats_get(&a1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("FLOOD: datagrams=%lu hvr=%lu dropped=%lu admitted=%lu seconds=%.2f "
           "hvr_per_second=%.0f largest_hvr_to_ch_ratio=%.2f dk_allocs=%llu heap_growth=%lld\n",
           total, hvr, drop, accept, secs, (double)hvr / secs, worst,
           (unsigned long long)(a1.allocs - a0.allocs), (long long)(m1.uordblks - m0.uordblks));
    assert_int_equal(accept, 0);
    assert_true(hvr > total / 2);
    assert_int_equal(a1.allocs, a0.allocs);
    assert_int_equal(a1.frees, a0.frees);
    assert_int_equal(a1.reallocs, a0.reallocs);
    assert_true(m1.uordblks <= m0.uordblks + 4096);
    dk_duo_free(&d);
}

/* Every cookie length 0..255 at the gate: an HVR, never admitted, never
 * larger than the ClientHello. */
static void test_cookie_every_length(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 6);
    uint8_t ch[1500], nb[1500], hs[1600], dg[1700], out[600], cookie[255];
    size_t ch_len = real_hello(d.ccfg, ch, sizeof ch);
    for (size_t clen = 0; clen <= 255; clen++) {
        for (size_t j = 0; j < clen; j++) cookie[j] = (uint8_t)(clen + j);
        size_t nl = dk_craft_ch_with_cookie(ch + 25, ch_len - 25, cookie, clen, nb, sizeof nb);
        size_t hl = dk_craft_handshake(hs, sizeof hs, 1, (uint32_t)nl, 0, 0, (uint32_t)nl, nb);
        size_t n = dk_craft_record(dg, sizeof dg, 22, 0xFEFD, 0, 0, hs, hl);
        size_t out_len = 0;
        dk_gate_verdict g =
            dk_server_gate(d.scfg, d.peer, 6, dg, n, d.now, out, sizeof out, &out_len);
        assert_int_equal(g, DK_GATE_HVR);
        assert_true(out_len <= n);
    }
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_every_length),
        cmocka_unit_test(test_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
