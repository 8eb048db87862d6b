/* The gate's server-wide ClientHello pool (RULES.md, after R38): fragmented
 * hellos that cannot be judged from their first fragment are reassembled in
 * a pool bounded for the whole server; a flood of partial hellos from many
 * spoofed addresses costs a bounded amount of memory, and a real fragmented
 * hello still gets its answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "conn/dk_conn_int.h"
#include "conn/dk_gate_pool.h"
#include "dk_craft.h"
#include "dk_sim.h"

static size_t hello(uint8_t *body, size_t cap, uint8_t seed, size_t pad)
{
    dk_craft_ch ch;
    memset(&ch, 0, sizeof ch);
    ch.version = 0xFEFD;
    memset(ch.random, seed, sizeof ch.random);
    ch.suites[0] = 0xC0A8;
    ch.n_suites = 1;
    ch.ems = true;
    ch.pad_len = pad;
    return dk_craft_ch_body(body, cap, &ch);
}

/* Live library allocations now. */
static long long live(void)
{
    dk_alloc_stats st;
    dk_alloc_stats_get(&st);
    return (long long)st.allocs - (long long)st.frees;
}

static void test_pool_bounded_under_partial_hello_flood(void **st)
{
    (void)st;
    dk_config *sc = dk_test_server_config("psk");
    uint8_t body[4096], dg[4200], out[DK_GATE_OUT_MAX];
    size_t L = hello(body, sizeof body, 1, 2000);
    size_t n = 0;
    /* warm up: the pool itself and the cookie secret */
    uint8_t warm_peer[6] = {9, 9, 9, 9, 9, 9};
    size_t dl = dk_craft_hs_record(dg, sizeof dg, 0, 1, 1, 0, body, (uint32_t)L, 100, 200);
    assert_int_equal(dk_server_gate(sc, warm_peer, 6, dg, dl, 1000, out, sizeof out, &n), DK_GATE_DROP);
    long long base = live();
    long long peak = base;
    for (uint32_t i = 0; i < 20000; i++) {
        uint8_t peer[6] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i, 0x30, 0x39};
        /* a middle fragment: never completes */
        dl = dk_craft_hs_record(dg, sizeof dg, 0, i, 1, 0, body, (uint32_t)L, 500, 600);
        assert_int_equal(dk_server_gate(sc, peer, 6, dg, dl, 1000 + i, out, sizeof out, &n),
                         DK_GATE_DROP);
        assert_int_equal(n, 0);
        if (live() > peak) peak = live();
    }
    /* each entry holds at most one hello body and its bitmap */
    assert_true(peak - base <= 2 * DK_GATE_POOL_ENTRIES);
    /* a real, fragmented, cookie-less hello (tail first) is still answered
     * with a HelloVerifyRequest once whole */
    uint8_t peer[6] = {127, 0, 0, 1, 0x30, 0x39};
    dl = dk_craft_hs_record(dg, sizeof dg, 0, 7, 1, 0, body, (uint32_t)L, 1000, (uint32_t)L - 1000);
    assert_int_equal(dk_server_gate(sc, peer, 6, dg, dl, 50000, out, sizeof out, &n), DK_GATE_DROP);
    dl = dk_craft_hs_record(dg, sizeof dg, 0, 8, 1, 0, body, (uint32_t)L, 0, 1000);
    assert_int_equal(dk_server_gate(sc, peer, 6, dg, dl, 50000, out, sizeof out, &n), DK_GATE_HVR);
    assert_int_equal(n, 50); /* R5: a 50-byte HVR (22-byte cookie), smaller than the 2 KB hello */
    assert_int_equal(out[0], 22);
    assert_int_equal(dk_load_u48(out + 5), 8);  /* R5: echoes the completing record number */
    assert_int_equal(out[13], DK_HT_HELLO_VERIFY_REQUEST);
    dk_config_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pool_bounded_under_partial_hello_flood),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
