/* Conformance: retransmission timers (T22). RFC 6347 4.2.4, 4.2.4.1. */
#include "conf.h"

/* Fire conn's timer n times with the peer silent: the gaps between
 * retransmissions are gaps[i]; every retransmission carries message ms0
 * of type first_type; then the next timeout ends the handshake quietly. */
static void expect_backoff(dk_duo *d, dk_conn *conn, bool server, const uint32_t *gaps, size_t n,
                           uint8_t first_type, uint16_t ms0)
{
    uint64_t last = d->now;
    for (size_t i = 0; i < n; i++) {
        uint64_t t = dk_conn_next_timeout(conn);
        assert_int_equal(t - last, gaps[i]);
        d->now = t - 1; /* not yet */
        dk_dgl out = {0};
        assert_int_equal(server ? dk_duo_server_timer(d, &out) : dk_duo_client_timer(d, &out), DK_OK);
        conf_expect_silence(&out, "before the deadline");
        d->now = t;
        assert_int_equal(server ? dk_duo_server_timer(d, &out) : dk_duo_client_timer(d, &out), DK_OK);
        dk_obsl ol;
        dk_obs_parse(&ol, &out);
        assert_true(ol.n >= 1);
        ASSERT_HS(&ol.o[0], first_type, ms0, ol.o[0].rseq);
        dk_dgl_clear(&out);
        last = t;
    }
    /* The budget is spent: the next deadline fails the handshake, silently. */
    uint64_t t = dk_conn_next_timeout(conn);
    assert_int_equal(t - last, gaps[n]);
    d->now = t;
    dk_dgl out = {0};
    dk_result r = server ? dk_duo_server_timer(d, &out) : dk_duo_client_timer(d, &out);
    assert_int_equal(r, DK_ERR_TIMEOUT);
    conf_expect_silence(&out, "after the last timeout");
    assert_int_equal(dk_conn_state(conn), DK_STATE_FAILED);
    assert_int_equal(dk_conn_next_timeout(conn), UINT64_MAX);
}

/* T22a: the server's flight 4 with the client silent: retransmissions after
 * 1, 2, 4, 8, 16, 32 s, then every 60 s (R17: initial 1 s, doubling, "up to
 * no less than" 60 s), eight times by default. */
static void test_T22_R17_R18_server_backoff_1_2_4_to_60s(void **st)
{
    (void)st;
    static const uint32_t gaps[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 22);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    expect_backoff(&d, d.s, true, gaps, 8, DK_HT_SERVER_HELLO, 1);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T22b: configured timers (500 ms initial, 3 s cap, 5 retransmissions). */
static void test_T22_R17_configured_timer_and_cap(void **st)
{
    (void)st;
    static const uint32_t gaps[] = {500, 1000, 2000, 3000, 3000, 3000};
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 221);
    assert_int_equal(dk_config_set_timers(d.scfg, 500, 3000, 5), DK_OK);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    expect_backoff(&d, d.s, true, gaps, 5, DK_HT_SERVER_HELLO, 1);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T22c: the client's first ClientHello with no answer backs off the same
 * way (R17), keeping message_seq 0 (R2). */
static void test_T22_R2_R17_client_backoff(void **st)
{
    (void)st;
    static const uint32_t gaps[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 222);
    dk_dgl ch0 = {0};
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    expect_backoff(&d, d.c, false, gaps, 8, DK_HT_CLIENT_HELLO, 0);
    dk_dgl_clear(&ch0);
    dk_duo_free(&d);
}

/* T22d: a retransmitted peer flight triggers an immediate resend (R18 b):
 * the client, waiting for the server's Finished, receives flight 4 again
 * and resends flight 5 before its own timer expires. */
static void test_T22_R18_peer_retransmission_triggers_resend(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 223);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    d.now += 300;
    dk_duo_all_to_client(&d, &r.flight4, &r.flight5); /* flight 5 is then lost */
    uint64_t client_deadline = dk_conn_next_timeout(d.c);
    d.now = dk_conn_next_timeout(d.s);
    assert_true(d.now < client_deadline);
    dk_dgl f4b = {0}, f5b = {0};
    assert_int_equal(dk_duo_server_timer(&d, &f4b), DK_OK);
    dk_duo_all_to_client(&d, &f4b, &f5b);
    dk_obsl ol, o5;
    dk_obs_parse(&ol, &f5b);
    dk_obs_parse(&o5, &r.flight5);
    assert_int_equal(ol.n, o5.n);
    /* the same messages in new records (R2): epoch 0 after the CCS's number,
     * epoch 1 after the Finished's */
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_KEY_EXCHANGE, 2, o5.o[1].rseq + 1);
    assert_true(ol.o[1].ccs);
    assert_int_equal(ol.o[2].epoch, 1);
    assert_int_equal(ol.o[2].rseq, o5.o[2].rseq + 1);
    dk_conn_stats cs;
    dk_conn_get_stats(d.c, &cs);
    assert_int_equal(cs.retransmissions, 1);
    dk_dgl to_c = {0};
    conf_finish(&d, &f5b, &to_c);
    dk_dgl_clear(&f4b);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T22e: a partial flight does not reset the timer (R18: partial reads "do
 * not cause state transitions or timer resets"), on either side. */
static void test_T22_R18_partial_flight_keeps_timer(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 224);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint8_t dg[DK_DG_CAP];
    dk_dgl out = {0};

    /* client: only the ServerHello of flight 4 */
    uint64_t cdl = dk_conn_next_timeout(d.c);
    d.now += 500;
    size_t n = conf_record(&r.flight4, 0, 0, dg);
    (void)dk_duo_to_client(&d, NULL, dg, n, &out);
    conf_expect_silence(&out, "client after a partial flight");
    assert_int_equal(dk_conn_next_timeout(d.c), cdl);

    /* server: only the CKE of flight 5 */
    dk_duo_all_to_client(&d, &r.flight4, &r.flight5);
    uint64_t sdl = dk_conn_next_timeout(d.s);
    n = conf_record(&r.flight5, 0, 0, dg);
    (void)dk_duo_to_server(&d, dg, n, &out);
    conf_expect_silence(&out, "server after a partial flight");
    assert_int_equal(dk_conn_next_timeout(d.s), sdl);
    d.now = sdl;
    assert_int_equal(dk_duo_server_timer(&d, &out), DK_OK);
    dk_obsl ol;
    dk_obs_parse(&ol, &out);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 1, ol.o[0].rseq);
    dk_dgl_clear(&out);
    dk_dgl none = {0};
    conf_finish(&d, &r.flight5, &none);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T22_R17_R18_server_backoff_1_2_4_to_60s),
        cmocka_unit_test(test_T22_R17_configured_timer_and_cap),
        cmocka_unit_test(test_T22_R2_R17_client_backoff),
        cmocka_unit_test(test_T22_R18_peer_retransmission_triggers_resend),
        cmocka_unit_test(test_T22_R18_partial_flight_keeps_timer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
