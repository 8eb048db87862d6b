/* Conformance: ClientHellos reaching a peer that has state (T6, T6a-T6d,
 * T24). RULES.md R38: a cookie proves reachability once; RFC 6347 4.2.8
 * (R16): a new epoch-0 ClientHello never destroys the existing state until
 * the peer demonstrated reachability. */
#include "conf.h"

/* The HVR-answering cookie of list l (one HVR). */
static void hvr_cookie(const dk_dgl *l, uint8_t *cookie, size_t *len)
{
    dk_obsl ol;
    dk_obs_parse(&ol, l);
    const dk_obs *o = dk_obs_find(&ol, DK_CT_HANDSHAKE, DK_HT_HELLO_VERIFY_REQUEST, 0);
    assert_non_null(o);
    memcpy(cookie, o->cookie, o->cookie_len);
    *len = o->cookie_len;
}

/* A copy of datagram src with the ClientHello's ms and rs replaced. */
static size_t hello_as(const dk_dgl *src, uint16_t ms, uint64_t rs, uint8_t *dg)
{
    size_t n = conf_copy(src, 0, dg);
    assert_true(dk_craft_set_ms(dg, n, 0, ms));
    assert_true(dk_craft_set_rseq(dg, n, 0, rs));
    return n;
}

/* The server's connection is the one that was there, untouched: no new
 * connection, no successor, still waiting for the client's flight. */
static void assert_pending_untouched(const dk_duo *d, const dk_conn *pending)
{
    assert_ptr_equal(d->s, pending);
    assert_int_equal(d->server_conns, 1);
    assert_int_equal(d->new_handshakes, 0);
    assert_int_equal(dk_conn_state(d->s), DK_STATE_HANDSHAKING);
    assert_int_equal(dk_knob_next_recv_seq(d->s), 2);
}

/* Complete the pending handshake with the client's real flights. */
static void finish_pending(dk_duo *d, dk_duo_run *r, const dk_conn *pending)
{
    dk_dgl to_s = {0};
    conf_finish(d, &to_s, &r->flight4);
    assert_ptr_equal(d->s, pending);
    assert_int_equal(d->new_handshakes, 0);
}

/* T6 (headline): CH0, HVR, CH1(ok), server flight; then CH(3,rs,0,-) gets a
 * stateless HVR echoing ms 3 and rs (R5, R11), no new ServerHello flight,
 * and the pending handshake completes with the client's flight (R3, R16). */
static void run_T6(const char *kind, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, kind, kind, seed);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_conn *pending = d.s;
    dk_dgl out = {0};
    dk_obsl ol;
    uint8_t dg[DK_DG_CAP];

    size_t n = hello_as(&r.ch0, 3, 5, dg);
    assert_int_equal(dk_duo_to_server(&d, dg, n, &out), DK_OK);
    conf_only_hvr(&ol, &out, 3, 5);
    assert_pending_untouched(&d, pending);
    dk_dgl_clear(&out);

    /* R14: that HVR is not retransmitted; the timer resends flight 4 only. */
    d.now = dk_conn_next_timeout(d.s);
    assert_int_equal(dk_duo_server_timer(&d, &out), DK_OK);
    dk_obsl o4;
    dk_obs_parse(&o4, &r.flight4);
    dk_obs_parse(&ol, &out);
    assert_int_equal(dk_obs_count(&ol, -1, DK_HT_HELLO_VERIFY_REQUEST), 0);
    assert_int_equal(ol.n, o4.n);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 1, o4.o[o4.n - 1].rseq + 1);
    dk_dgl_clear(&out);

    finish_pending(&d, &r, pending);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_T6_R3_R5_R11_R16_midhandshake_hello_gets_stateless_hvr(void **st)
{
    (void)st;
    run_T6("psk", 6);
}

static void test_T6_R3_R5_R11_R16_midhandshake_hello_gets_stateless_hvr_ec(void **st)
{
    (void)st;
    run_T6("ec", 66);
}

/* R38 (a) after the handshake: the ClientHello that created the
 * association, resent (new record number), is dropped: no flight, no HVR,
 * the association untouched. */
static void test_R38a_creating_hello_after_handshake_dropped(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 380);
    dk_duo_run r;
    dk_duo_establish(&d, &r);
    dk_conn *assoc = d.s;
    uint8_t dg[DK_DG_CAP];
    dk_dgl out = {0};
    size_t n = hello_as(&r.ch1, 1, 9, dg);
    assert_int_equal(dk_duo_to_server(&d, dg, n, &out), DK_OK);
    conf_expect_silence(&out, "creating ClientHello after the handshake");
    assert_ptr_equal(d.s, assoc);
    assert_int_equal(d.new_handshakes, 0);
    assert_true(dk_duo_data_flows(&d));
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T6a: CH(2) then CH(3), both still carrying the first cookie (the seed's
 * own sequence): HVR(ms 2), then HVR(ms 3), no ServerHello, and the pending
 * handshake completes (R38 c). step_ms moves the clock between steps. */
static void run_T6a(uint64_t step_ms, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", seed);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_conn *pending = d.s;
    dk_dgl out = {0};
    dk_obsl ol;
    uint8_t dg[DK_DG_CAP];

    d.now += step_ms;
    size_t n = hello_as(&r.ch1, 2, 2, dg);
    assert_int_equal(dk_duo_to_server(&d, dg, n, &out), DK_OK);
    conf_only_hvr(&ol, &out, 2, 2);
    assert_pending_untouched(&d, pending);
    dk_dgl_clear(&out);

    d.now += step_ms;
    n = hello_as(&r.ch1, 3, 3, dg);
    assert_int_equal(dk_duo_to_server(&d, dg, n, &out), DK_OK);
    conf_only_hvr(&ol, &out, 3, 3);
    assert_pending_untouched(&d, pending);
    dk_dgl_clear(&out);

    finish_pending(&d, &r, pending);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_T6a_R38_seed_sequence_ms2_ms3_first_cookie(void **st)
{
    (void)st;
    run_T6a(300, 61);
}

/* T6b: as T6, but CH(3) still carries the first cookie: a stateless HVR(3),
 * pending handshake untouched; then CH(4) with the cookie of that HVR: a new
 * handshake with ServerHello ms 4, which replaces the pending one (R16, R38
 * b). The restarted client is a second client connection whose first
 * ClientHello is byte for byte the first client's CH1 (same random, same
 * cookie) but for ms 3. */
static void run_T6b(uint64_t step_ms, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", seed);
    uint64_t rand_state = d.crand;
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_conn *pending = d.s;
    dk_dgl ch3 = {0}, hvr3 = {0}, ch4 = {0}, f4 = {0}, out = {0};
    dk_obsl ol;
    uint8_t cookie1[255];
    size_t cookie1_len;
    hvr_cookie(&r.hvr, cookie1, &cookie1_len);

    d.now += step_ms;
    d.crand = rand_state; /* the restarted client draws the same random */
    dk_conn *b = dk_conn_new(d.ccfg, NULL, 0);
    dk_knob_client_seq(b, 3, 10);
    dk_knob_client_cookie(b, cookie1, cookie1_len);
    assert_int_equal(dk_conn_connect(b, d.now), DK_OK);
    dk_duo_poll(b, &ch3);
    uint32_t l1, l3;
    uint8_t *b1 = dk_craft_hs_body(r.ch1.p[0], r.ch1.len[0], 0, &l1, NULL, NULL);
    uint8_t *b3 = dk_craft_hs_body(ch3.p[0], ch3.len[0], 0, &l3, NULL, NULL);
    assert_int_equal(l1, l3);
    assert_memory_equal(b1, b3, l1); /* CH(3) is CH1 with ms 3 */

    assert_int_equal(dk_duo_to_server(&d, ch3.p[0], ch3.len[0], &hvr3), DK_OK);
    conf_only_hvr(&ol, &hvr3, 3, 10);
    assert_pending_untouched(&d, pending);

    d.now += step_ms;
    assert_int_equal(dk_duo_to_client(&d, b, hvr3.p[0], hvr3.len[0], &ch4), DK_OK);
    dk_obs_parse(&ol, &ch4);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 4, 11);
    assert_int_equal(dk_duo_to_server(&d, ch4.p[0], ch4.len[0], &f4), DK_NEW_HANDSHAKE);
    assert_int_equal(d.new_handshakes, 1);
    assert_null(d.s_old); /* the pending handshake was replaced at once */
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 4, 11);
    assert_int_equal(dk_knob_next_recv_seq(d.s), 5);

    /* The first client's late flight reaches the new handshake: ignored. */
    dk_dgl a5 = {0};
    dk_duo_all_to_client(&d, &r.flight4, &a5);
    dk_duo_all_to_server(&d, &a5, &out);
    conf_expect_silence(&out, "new handshake after the old client's flight");
    assert_int_equal(dk_conn_state(d.s), DK_STATE_HANDSHAKING);

    dk_conn_free(d.c);
    d.c = b;
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f4);
    assert_int_equal(d.new_handshakes, 1);
    dk_dgl_clear(&a5);
    dk_dgl_clear(&ch3);
    dk_dgl_clear(&hvr3);
    dk_dgl_clear(&ch4);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_T6b_R16_R38_stale_cookie_hvr_then_new_cookie_replaces(void **st)
{
    (void)st;
    run_T6b(1500, 62);
}

/* T6c: the exact CH1 again (the client's own retransmission, new record
 * number): flight 4 is retransmitted with the same message_seq values (R2,
 * R18), no restart, no new state; a duplicate right after does not trigger
 * another resend. */
static void test_T6c_R2_R3_R18_exact_ch1_resent_retransmits_flight(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 63);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_conn *pending = d.s;
    dk_dgl ch1b = {0}, again = {0}, dup = {0};
    dk_obsl o4, ol;
    dk_obs_parse(&o4, &r.flight4);

    d.now = dk_conn_next_timeout(d.c); /* flight 4 was lost; the client resends */
    assert_int_equal(dk_duo_client_timer(&d, &ch1b), DK_OK);
    dk_obs_parse(&ol, &ch1b);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 1, 2);
    assert_int_equal(dk_duo_to_server(&d, ch1b.p[0], ch1b.len[0], &again), DK_OK);
    dk_obs_parse(&ol, &again);
    assert_int_equal(ol.n, o4.n);
    for (size_t i = 0; i < ol.n; i++) {
        assert_int_equal(ol.o[i].hs_type, o4.o[i].hs_type);
        assert_int_equal(ol.o[i].ms, o4.o[i].ms);
        assert_int_equal(ol.o[i].rseq, o4.o[o4.n - 1].rseq + 1 + i); /* new records */
    }
    assert_pending_untouched(&d, pending);
    dk_conn_stats sst;
    dk_conn_get_stats(d.s, &sst);
    assert_int_equal(sst.retransmissions, 1);

    assert_int_equal(dk_duo_to_server(&d, ch1b.p[0], ch1b.len[0], &dup), DK_OK);
    conf_expect_silence(&dup, "duplicate of the resent CH1");
    assert_pending_untouched(&d, pending);

    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &again);
    assert_ptr_equal(d.s, pending);
    dk_dgl_clear(&ch1b);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T6d: T6a then T6b with the clock frozen: the same results; ordering never
 * depends on time (R38). */
static void test_T6d_R38_frozen_clock_same_results(void **st)
{
    (void)st;
    run_T6a(0, 641);
    run_T6b(0, 642);
}


/* One record from the client connection a to the server endpoint, which
 * must hand it to the association kept beside the new handshake. */
static void old_association_works(dk_duo *d, dk_conn *a)
{
    static const uint8_t ping[] = "old association";
    dk_dgl x = {0}, y = {0};
    size_t s0 = d->s_rx_len, c0 = d->c_rx_len;
    assert_int_equal(dk_conn_write(a, ping, sizeof ping), DK_OK);
    dk_duo_poll(a, &x);
    dk_duo_all_to_server(d, &x, &y);
    assert_int_equal(d->s_rx_len, s0 + sizeof ping);
    assert_memory_equal(d->s_rx + s0, ping, sizeof ping);
    dk_dgl_clear(&y);
    dk_conn *srv = d->s_old ? d->s_old : d->s;
    assert_int_equal(dk_conn_write(srv, ping, sizeof ping), DK_OK);
    dk_duo_poll(srv, &y);
    for (size_t i = 0; i < y.n; i++) assert_int_equal(dk_duo_to_client(d, a, y.p[i], y.len[i], &x), DK_OK);
    assert_int_equal(d->c_rx_len, c0 + sizeof ping);
    dk_dgl_clear(&x);
    dk_dgl_clear(&y);
}

/* A forged ClientHello (body of hello, a cookie that is not ours) gets an
 * HVR and leaves the association alone. */
static void forged_hello_gets_hvr(dk_duo *d, const dk_dgl *hello, const dk_conn *assoc)
{
    uint8_t dg[DK_DG_CAP], junk[32], forged[1200];
    uint32_t blen;
    uint8_t *body = dk_craft_hs_body(hello->p[0], hello->len[0], 0, &blen, NULL, NULL);
    memset(junk, 0x77, sizeof junk);
    size_t fl = dk_craft_ch_with_cookie(body, blen, junk, sizeof junk, forged, sizeof forged);
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, 40, DK_HT_CLIENT_HELLO, 1, forged,
                                  (uint32_t)fl, 0, (uint32_t)fl);
    dk_dgl out = {0};
    dk_obsl ol;
    assert_int_equal(dk_duo_to_server(d, dg, n, &out), DK_OK);
    conf_only_hvr(&ol, &out, 1, 40);
    dk_dgl_clear(&out);
    assert_ptr_equal(d->s, assoc);
    assert_true(dk_duo_data_flows(d));
}

/* T24: on an established association, an epoch-0 CH(-) from the same peer
 * gets an HVR and the association keeps working; a forged CH with a bad
 * cookie cannot kill it; a CH with a valid cookie (answering that HVR)
 * starts a new handshake beside the association, which is dropped only
 * once the new Finished verified (R16, R38 b). */
static void test_T24_R16_R38_hello_on_established_association(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 24);
    dk_duo_run r;
    dk_duo_establish(&d, &r);
    dk_conn *assoc = d.s, *a = d.c;
    dk_dgl bch0 = {0}, hvr = {0}, bch1 = {0}, f4 = {0}, f5 = {0}, out = {0};
    dk_obsl ol;
    uint8_t dg[DK_DG_CAP];

    dk_conn *b = dk_conn_new(d.ccfg, NULL, 0);
    assert_int_equal(dk_conn_connect(b, d.now), DK_OK);
    dk_duo_poll(b, &bch0);
    assert_int_equal(dk_duo_to_server(&d, bch0.p[0], bch0.len[0], &hvr), DK_OK);
    conf_only_hvr(&ol, &hvr, 0, 0);
    assert_ptr_equal(d.s, assoc);
    assert_int_equal(dk_conn_state(assoc), DK_STATE_ESTABLISHED);
    assert_true(dk_duo_data_flows(&d));

    forged_hello_gets_hvr(&d, &bch0, assoc);

    /* The second client answers the first HVR: a new handshake. */
    assert_int_equal(dk_duo_to_client(&d, b, hvr.p[0], hvr.len[0], &bch1), DK_OK);
    assert_int_equal(dk_duo_to_server(&d, bch1.p[0], bch1.len[0], &f4), DK_NEW_HANDSHAKE);
    assert_ptr_equal(d.s_old, assoc);
    assert_ptr_not_equal(d.s, assoc);
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 1, 1);
    old_association_works(&d, a);

    /* Its key exchange and CCS: the old association is still there. */
    for (size_t i = 0; i < f4.n; i++) (void)dk_duo_to_client(&d, b, f4.p[i], f4.len[i], &f5);
    assert_int_equal(f5.n, 1);
    size_t n;
    for (size_t i = 0; i < 2; i++) {
        n = conf_record(&f5, 0, i, dg);
        (void)dk_duo_to_server(&d, dg, n, &out);
    }
    dk_dgl_clear(&out);
    assert_ptr_equal(d.s_old, assoc);
    old_association_works(&d, a);

    /* Its Finished verifies: now, and only now, the old one goes. */
    n = conf_record(&f5, 0, 2, dg);
    (void)dk_duo_to_server(&d, dg, n, &out);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_ESTABLISHED);
    assert_null(d.s_old);
    dk_conn_free(a);
    d.c = b;
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &out);
    dk_dgl_clear(&bch0);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&bch1);
    dk_dgl_clear(&f4);
    dk_dgl_clear(&f5);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T6_R3_R5_R11_R16_midhandshake_hello_gets_stateless_hvr),
        cmocka_unit_test(test_T6_R3_R5_R11_R16_midhandshake_hello_gets_stateless_hvr_ec),
        cmocka_unit_test(test_R38a_creating_hello_after_handshake_dropped),
        cmocka_unit_test(test_T6a_R38_seed_sequence_ms2_ms3_first_cookie),
        cmocka_unit_test(test_T6b_R16_R38_stale_cookie_hvr_then_new_cookie_replaces),
        cmocka_unit_test(test_T6c_R2_R3_R18_exact_ch1_resent_retransmits_flight),
        cmocka_unit_test(test_T6d_R38_frozen_clock_same_results),
        cmocka_unit_test(test_T24_R16_R38_hello_on_established_association),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
