/* Handshake limits (dk_config_set_handshake_limits) and slow or silent
 * peers, on a server connection waiting for the client's second flight:
 *  - max_message applies to every handshake message, fragmented or not;
 *  - max_buffered bounds the reassembly buffers of one connection;
 *  - fragments are held for at most DK_REASM_SLOTS message_seq values, and a
 *    flood of tiny overlapping fragments allocates once;
 *  - max_chain bounds the certificate chain on both sides (bad_certificate);
 *  - a silent peer's connection fails on its own timer (8 retransmissions,
 *    243 s with the defaults) and a slow one (a fragment now and then) too,
 *    while other handshakes on the same configuration complete meanwhile. */
#include <string.h>

#include "conn/dk_conn_int.h"
#include "core/dk_core.h"
#include "rb_util.h"

#define CERTS DK_TEST_DATA_DIR "/certs/"
#define CT_HS 22
#define HT_CKE 16
#define BUDGET_MS 243000 /* 1+2+4+8+16+32+60+60+60 s */

/* A plaintext handshake fragment from the client, epoch 0. */
static size_t frag(uint8_t *out, uint64_t rseq, uint8_t type, uint16_t ms, const uint8_t *body,
                   uint32_t length, uint32_t off, uint32_t flen)
{
    return dk_craft_hs_record(out, DK_DG_CAP, 0, rseq, type, ms, body, length, off, flen);
}

static void finish(dk_duo *d, dk_duo_run *r)
{
    dk_dgl f6 = {0}, none = {0};
    dk_duo_all_to_server(d, &r->flight5, &f6);
    dk_duo_all_to_client(d, &f6, &none);
    dk_dgl_clear(&f6);
    dk_dgl_clear(&none);
    assert_int_equal(dk_conn_state(d->c), DK_STATE_ESTABLISHED);
    assert_int_equal(dk_conn_state(d->s), DK_STATE_ESTABLISHED);
    assert_true(dk_duo_data_flows(d));
}

static void start(dk_duo *d, dk_duo_run *r, size_t max_message, size_t max_buffered)
{
    dk_duo_init(d, "psk", "psk", 21);
    assert_int_equal(dk_config_set_handshake_limits(d->scfg, max_message, max_buffered, 4), DK_OK);
    dk_duo_to_flight5(d, r); /* the server waits for flight 5, next_receive_seq 2 */
    assert_int_equal(dk_knob_next_recv_seq(d->s), 2);
}

/* A whole ClientKeyExchange longer than max_message, in one fragment: it is
 * discarded like an oversized fragmented one (before, it reached the state
 * machine: the PSK identity lookup failed with unknown_psk_identity). */
static void test_max_message_unfragmented(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    start(&d, &r, 256, 4096);
    uint8_t body[300], dg[DK_DG_CAP];
    memset(body, 'x', sizeof body);
    body[0] = 0x01;
    body[1] = 0x2A; /* identity length 298 */
    size_t n = frag(dg, 20, HT_CKE, 2, body, sizeof body, 0, sizeof body);
    rb_outcome o = rb_feed(&d, d.s, dg, n);
    rb_assert_discarded(&o);
    finish(&d, &r);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_max_message_fragmented(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    start(&d, &r, 256, 4096);
    uint8_t body[300] = {0}, dg[DK_DG_CAP];
    size_t n = frag(dg, 20, HT_CKE, 2, body, sizeof body, 0, 100);
    rb_outcome o = rb_feed(&d, d.s, dg, n);
    rb_assert_discarded(&o);
    assert_int_equal(d.s->reasm->buffered, 0);
    finish(&d, &r);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* Future messages (message_seq 4.., after this handshake's) partly sent:
 * what is held never exceeds max_buffered. */
static void test_max_buffered(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    start(&d, &r, 1024, 2048);
    uint8_t body[1000] = {0}, dg[DK_DG_CAP];
    for (uint16_t ms = 4; ms < 8; ms++) {
        size_t n = frag(dg, 20 + ms, HT_CKE, ms, body, sizeof body, 0, 100);
        rb_outcome o = rb_feed(&d, d.s, dg, n);
        rb_assert_discarded(&o);
        assert_true(d.s->reasm->buffered <= 2048);
    }
    assert_true(d.s->reasm->buffered > 0);
    finish(&d, &r);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static size_t slots_used(const dk_reasm *ra)
{
    size_t n = 0;
    for (size_t i = 0; i < DK_REASM_SLOTS; i++) n += ra->slot[i].used;
    return n;
}

/* Fragments for 40 message_seq values: at most DK_REASM_SLOTS are held;
 * 10,000 overlapping one-byte fragments of one message allocate once. */
static void test_fragment_slots_and_tiny_fragments(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    start(&d, &r, 4096, 65536);
    uint8_t body[500] = {0}, dg[DK_DG_CAP];
    for (uint16_t ms = 4; ms < 44; ms++) {
        size_t n = frag(dg, 100 + ms, HT_CKE, ms, body, 100, 0, 10);
        rb_outcome o = rb_feed(&d, d.s, dg, n);
        rb_assert_discarded(&o);
    }
    assert_true(slots_used(d.s->reasm) <= DK_REASM_SLOTS);
    dk_alloc_stats a0, a1;
    dk_alloc_stats_get(&a0);
    for (unsigned i = 0; i < 10000; i++) {
        size_t n = frag(dg, 200 + i, HT_CKE, 5, body, sizeof body, i % 499, 1 + i % 2);
        rb_outcome o = rb_feed(&d, d.s, dg, n);
        rb_assert_discarded(&o);
    }
    dk_alloc_stats_get(&a1);
    assert_true(a1.allocs - a0.allocs <= 2);
    finish(&d, &r);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* max_chain: ec-server-chain.pem holds 2 certificates. */
static void test_max_chain_client(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "ec", "ec", 22);
    assert_int_equal(dk_config_set_handshake_limits(d.ccfg, 32768, 65536, 1), DK_OK);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_dgl out = {0};
    dk_result res = DK_OK;
    for (size_t i = 0; i < r.flight4.n && res == DK_OK; i++)
        res = dk_duo_to_client(&d, NULL, r.flight4.p[i], r.flight4.len[i], &out);
    assert_int_equal(res, DK_ERR_LIMIT);
    assert_int_equal(dk_conn_state(d.c), DK_STATE_FAILED);
    assert_int_equal(out.n, 1); /* the alert */
    assert_int_equal(out.p[0][0], 21);
    assert_int_equal(out.p[0][14], 42); /* bad_certificate */
    dk_dgl_clear(&out);
    assert_int_equal(dk_config_set_handshake_limits(d.ccfg, 32768, 65536, 2), DK_OK);
    assert_true(rb_fresh_handshake(&d));
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_max_chain_server(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "ec+auth", "ec+auth", 23);
    assert_int_equal(dk_config_set_cert_chain_file(d.ccfg, CERTS "ec-int-server-chain.pem"), DK_OK);
    assert_int_equal(dk_config_set_private_key_file(d.ccfg, CERTS "ec-int-server.key"), DK_OK);
    assert_int_equal(dk_config_set_handshake_limits(d.scfg, 32768, 65536, 1), DK_OK);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl out = {0};
    dk_duo_all_to_server(&d, &r.flight5, &out);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_FAILED);
    assert_int_equal(dk_conn_error(d.s), DK_ERR_LIMIT);
    assert_true(out.n >= 1);
    assert_int_equal(out.p[0][14], 42);
    dk_dgl_clear(&out);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_limit_arguments(void **st)
{
    (void)st;
    dk_config *c = dk_config_new(DK_ROLE_SERVER);
    assert_int_equal(dk_config_set_handshake_limits(c, 255, 4096, 4), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_config_set_handshake_limits(c, 4096, 4095, 4), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_config_set_handshake_limits(c, 4096, 4096, 0), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_config_set_handshake_limits(c, 4096, 4096, DK_MAX_CHAIN + 1),
                     DK_ERR_INVALID_ARG);
    assert_int_equal(dk_config_set_handshake_limits(c, 256, 256, 1), DK_OK);
    dk_config_free(c);
}

/* Run the server connection's timers until it ends; returns when. */
static uint64_t until_server_fails(dk_duo *d, void (*meanwhile)(dk_duo *d))
{
    uint64_t t0 = d->now;
    dk_dgl out = {0};
    while (dk_conn_state(d->s) == DK_STATE_HANDSHAKING) {
        uint64_t t = dk_conn_next_timeout(d->s);
        assert_true(t != UINT64_MAX);
        if (meanwhile) meanwhile(d);
        if (t > d->now) d->now = t;
        (void)dk_duo_server_timer(d, &out);
        dk_dgl_clear(&out);
    }
    return d->now - t0;
}

/* Other clients of the same server configuration complete meanwhile. */
static void others_complete(dk_duo *d)
{
    uint64_t seed = d->now;
    dk_config *cc = dk_test_client_config("psk");
    dk_config_set_random(cc, dk_test_random, &seed);
    dk_sim sim;
    dk_sim_init(&sim, cc, d->scfg, seed);
    sim.now = d->now;
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 1000));
    assert_true(sim.now - d->now <= 10);
    dk_sim_free(&sim);
    dk_config_free(cc);
}

static void test_silent_peer(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    start(&d, &r, 32768, 65536);
    uint64_t took = until_server_fails(&d, others_complete);
    assert_int_equal(took, BUDGET_MS);
    assert_int_equal(dk_conn_error(d.s), DK_ERR_TIMEOUT);
    dk_conn_stats s;
    dk_conn_get_stats(d.s, &s);
    assert_int_equal(s.retransmissions, 8);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* A slowloris client: one byte of a large future message every 500 ms. */
static void drip(dk_duo *d)
{
    static uint32_t off;
    uint8_t body[1000] = {0}, dg[DK_DG_CAP];
    uint64_t next = dk_conn_next_timeout(d->s);
    for (; d->now + 500 < next; d->now += 500) {
        size_t n = frag(dg, 1000 + off, HT_CKE, 4, body, sizeof body, off % 999, 1);
        off++;
        rb_outcome o = rb_feed(d, d->s, dg, n);
        rb_assert_discarded(&o);
    }
}

static void test_slow_peer(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    start(&d, &r, 32768, 65536);
    uint64_t took = until_server_fails(&d, drip);
    assert_int_equal(took, BUDGET_MS);
    assert_int_equal(dk_conn_error(d.s), DK_ERR_TIMEOUT);
    assert_null(d.s->reasm); /* freed with the handshake */
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_message_unfragmented),
        cmocka_unit_test(test_max_message_fragmented),
        cmocka_unit_test(test_max_buffered),
        cmocka_unit_test(test_fragment_slots_and_tiny_fragments),
        cmocka_unit_test(test_max_chain_client),
        cmocka_unit_test(test_max_chain_server),
        cmocka_unit_test(test_limit_arguments),
        cmocka_unit_test(test_silent_peer),
        cmocka_unit_test(test_slow_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
