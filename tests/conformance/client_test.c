/* Conformance: dtlskit's client against a scripted server (T20 client
 * side, T26, T27). The server's datagrams come from dtlskit's own server and
 * gate, edited or replaced before they reach the client. */
#include "conf.h"

/* A HelloVerifyRequest from the gate for datagram ch, at time now. */
static void gate_hvr(dk_duo *d, const dk_dgl *ch, uint64_t now, dk_dgl *out)
{
    uint8_t hvr[256];
    size_t n = 0;
    assert_int_equal(dk_server_gate(d->scfg, d->peer, sizeof d->peer, ch->p[0], ch->len[0], now, hvr,
                                    sizeof hvr, &n),
                     DK_GATE_HVR);
    dk_dgl_push(out, hvr, n);
}

/* The client answers l with exactly one ClientHello: its ms and cookie. */
static void expect_hello(const dk_dgl *l, uint16_t ms, const dk_dgl *hvr)
{
    dk_obsl ol;
    dk_obs_parse(&ol, l);
    if (l->n != 1 || ol.n != 1) conf_dump("expected one ClientHello", l);
    assert_int_equal(ol.n, 1);
    assert_int_equal(ol.o[0].hs_type, DK_HT_CLIENT_HELLO);
    assert_int_equal(ol.o[0].ms, ms);
    uint32_t L;
    const uint8_t *b = dk_craft_hs_body(l->p[0], l->len[0], 0, &L, NULL, NULL);
    size_t co = dk_craft_ch_cookie_offset(b, L);
    dk_obsl hl;
    dk_obs_parse(&hl, hvr);
    assert_int_equal(b[co], hl.o[0].cookie_len);
    assert_memory_equal(b + co + 1, hl.o[0].cookie, hl.o[0].cookie_len);
}

/* No ClientHello (and nothing else but possibly an alert) from the client. */
static void no_hello(const dk_dgl *l)
{
    dk_obsl ol;
    dk_obs_parse(&ol, l);
    assert_int_equal(dk_obs_count(&ol, -1, DK_HT_CLIENT_HELLO), 0);
}

/* T20 (client): an HVR with record number 2^32-1, then a second HVR (new
 * cookie) with record number 0 as GnuTLS sends it, then a ServerHello with
 * record number 53: the client restarts its epoch-0 replay state on each
 * HVR it answers, so none of them is stalled (R29, R30). */
static void test_T20_R29_R30_client_hvr_huge_rs_then_sh_rs53(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 2020);
    dk_dgl ch0 = {0}, hvr_a = {0}, hvr_b = {0}, ch1 = {0}, ch2 = {0}, f4 = {0};
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    gate_hvr(&d, &ch0, d.now, &hvr_a);
    assert_true(dk_craft_set_rseq(hvr_a.p[0], hvr_a.len[0], 0, 0xFFFFFFFFULL));
    dk_duo_all_to_client(&d, &hvr_a, &ch1);
    expect_hello(&ch1, 1, &hvr_a);

    gate_hvr(&d, &ch0, d.now + 2000, &hvr_b); /* another second, another cookie */
    dk_obsl ol;
    dk_obs_parse(&ol, &hvr_b);
    assert_int_equal(ol.o[0].rseq, 0);
    dk_duo_all_to_client(&d, &hvr_b, &ch2);
    expect_hello(&ch2, 2, &hvr_b);

    d.now += 2000;
    dk_duo_all_to_server(&d, &ch2, &f4);
    assert_int_equal(f4.n, 1);
    size_t off[8], sz[8];
    size_t nrec = dk_craft_records(f4.p[0], f4.len[0], off, sz, 8);
    for (size_t i = 0; i < nrec; i++) assert_true(dk_craft_set_rseq(f4.p[0], f4.len[0], i, 53 + i));
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 2, 53);
    dk_dgl f5 = {0};
    dk_duo_all_to_client(&d, &f4, &f5);
    dk_obs_parse(&ol, &f5);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_KEY_EXCHANGE, 3, ol.o[0].rseq);
    dk_dgl to_c = {0};
    conf_finish(&d, &f5, &to_c);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr_a);
    dk_dgl_clear(&hvr_b);
    dk_dgl_clear(&ch1);
    dk_dgl_clear(&ch2);
    dk_dgl_clear(&f4);
    dk_duo_free(&d);
}

/* T26a: an HVR after the ServerHello is ignored: no new ClientHello, no
 * restart (R12 applies only before it). */
static void test_T26_R12_client_ignores_hvr_after_server_hello(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 261);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl hvr = {0}, out = {0};
    gate_hvr(&d, &r.ch0, d.now + 5000, &hvr);
    dk_duo_all_to_client(&d, &hvr, &out);
    conf_expect_silence(&out, "client after a late HVR");
    assert_int_equal(dk_conn_state(d.c), DK_STATE_HANDSHAKING);
    dk_dgl to_c = {0};
    conf_finish(&d, &r.flight5, &to_c);
    dk_dgl_clear(&hvr);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* A plaintext epoch-0 HelloRequest (empty body) with message_seq ms. */
static void hello_request(dk_dgl *l, uint16_t ms, uint64_t rs)
{
    uint8_t dg[64];
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, rs, DK_HT_HELLO_REQUEST, ms, NULL, 0, 0, 0);
    assert_true(n > 0);
    dk_dgl_push(l, dg, n);
}

/* T26b: HelloRequest in the middle of the handshake "SHOULD be ignored by
 * the client" (R36): while waiting for the ServerHello and while waiting for
 * the server's Finished, numbered 0 (as on renegotiation, R2) and numbered
 * ahead of the next expected message. (One numbered exactly as the next
 * expected message is in gaps/known_gaps_test.c.) */
static void test_T26_R36_client_ignores_hello_request_midhandshake(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 262);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_dgl hr = {0}, out = {0};
    hello_request(&hr, 0, 100);
    hello_request(&hr, 7, 101);
    dk_duo_all_to_client(&d, &hr, &out);
    conf_expect_silence(&out, "client waiting for ServerHello, after HelloRequest");
    assert_int_equal(dk_conn_state(d.c), DK_STATE_HANDSHAKING);
    dk_duo_all_to_client(&d, &r.flight4, &r.flight5);
    assert_int_equal(r.flight5.n, 1);
    dk_dgl_clear(&hr);
    hello_request(&hr, 0, 102);
    hello_request(&hr, 5, 103);
    dk_duo_all_to_client(&d, &hr, &out);
    conf_expect_silence(&out, "client waiting for Finished, after HelloRequest");
    assert_int_equal(dk_conn_state(d.c), DK_STATE_HANDSHAKING);
    dk_dgl to_c = {0};
    conf_finish(&d, &r.flight5, &to_c);
    dk_dgl_clear(&hr);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T26c: two HVRs with new cookies: a new ClientHello each time, with
 * message_seq one above the previous (R1, R12); then the handshake. */
static void test_T26_R1_R12_client_two_hvrs_new_hello_each(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 263);
    dk_dgl ch0 = {0}, hvr_a = {0}, hvr_b = {0}, ch1 = {0}, ch2 = {0};
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    gate_hvr(&d, &ch0, d.now, &hvr_a);
    dk_duo_all_to_client(&d, &hvr_a, &ch1);
    expect_hello(&ch1, 1, &hvr_a);
    gate_hvr(&d, &ch0, d.now + 3000, &hvr_b);
    d.now += 3000;
    dk_duo_all_to_client(&d, &hvr_b, &ch2);
    expect_hello(&ch2, 2, &hvr_b);
    dk_dgl to_c = {0};
    conf_finish(&d, &ch2, &to_c);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr_a);
    dk_dgl_clear(&hvr_b);
    dk_dgl_clear(&ch1);
    dk_duo_free(&d);
}

/* T26d: HVR.server_version 1.0 (dtlskit's own gate) and 1.2 are both
 * answered (R9). */
static void test_T26_R9_client_accepts_hvr_version_10_and_12(void **st)
{
    (void)st;
    for (int v12 = 0; v12 <= 1; v12++) {
        dk_duo d;
        dk_duo_init(&d, "psk", "psk", 264 + (uint64_t)v12);
        dk_dgl ch0 = {0}, hvr = {0}, ch1 = {0};
        assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
        gate_hvr(&d, &ch0, d.now, &hvr);
        uint32_t L;
        uint8_t *b = dk_craft_hs_body(hvr.p[0], hvr.len[0], 0, &L, NULL, NULL);
        assert_int_equal(dk_load_u16(b), DK_DTLS10);
        if (v12) {
            dk_store_u16(b, DK_DTLS12);
            dk_store_u16(hvr.p[0] + 1, DK_DTLS12);
        }
        dk_duo_all_to_client(&d, &hvr, &ch1);
        expect_hello(&ch1, 1, &hvr);
        dk_dgl to_c = {0};
        conf_finish(&d, &ch1, &to_c);
        dk_dgl_clear(&ch0);
        dk_dgl_clear(&hvr);
        dk_duo_free(&d);
    }
}

/* T27a: the server's Finished without its CCS is unreadable and dropped;
 * no ClientHello, no failure; then CCS and Finished complete (R33). */
static void test_T27_R33_client_finished_without_ccs(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 271);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl f6 = {0}, out = {0};
    dk_duo_all_to_server(&d, &r.flight5, &f6);
    assert_int_equal(f6.n, 1);
    uint8_t dg[DK_DG_CAP];
    size_t n = conf_record(&f6, 0, 1, dg); /* the Finished alone */
    (void)dk_duo_to_client(&d, NULL, dg, n, &out);
    conf_expect_silence(&out, "client after Finished without CCS");
    assert_int_equal(dk_conn_state(d.c), DK_STATE_HANDSHAKING);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f6);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* The server's Finished, as the client expects it, in a plaintext epoch-0
 * record. */
static size_t plaintext_server_finished(dk_duo *d, uint16_t ms, uint64_t rs, uint8_t *dg)
{
    uint8_t vd[12];
    assert_int_equal(dk_knob_finished(d->c, false, 0, vd), DK_OK);
    return dk_craft_hs_record(dg, DK_DG_CAP, 0, rs, DK_HT_FINISHED, ms, vd, 12, 0, 12);
}

/* T27b: an epoch-0 Finished (right verify_data) after the server's CCS is
 * discarded (R26, R30); the real one completes the handshake. Before the
 * CCS it is rejected or discarded; never a ClientHello in response. */
static void test_T27_R26_R33_client_epoch0_finished(void **st)
{
    (void)st;
    for (int after_ccs = 1; after_ccs >= 0; after_ccs--) {
        dk_duo d;
        dk_duo_init(&d, "psk", "psk", 272 + (uint64_t)after_ccs);
        dk_duo_run r;
        dk_duo_to_flight5(&d, &r);
        dk_dgl f6 = {0}, out = {0};
        dk_duo_all_to_server(&d, &r.flight5, &f6);
        uint8_t dg[DK_DG_CAP];
        size_t n;
        if (after_ccs) {
            n = conf_record(&f6, 0, 0, dg);
            (void)dk_duo_to_client(&d, NULL, dg, n, &out);
            assert_true(dk_knob_ccs_received(d.c));
        }
        n = plaintext_server_finished(&d, 4, 40, dg);
        (void)dk_duo_to_client(&d, NULL, dg, n, &out);
        no_hello(&out);
        if (dk_conn_state(d.c) == DK_STATE_FAILED) {
            assert_false(after_ccs);
        } else {
            conf_expect_silence(&out, "client after an epoch-0 Finished");
            assert_int_equal(dk_conn_state(d.c), DK_STATE_HANDSHAKING);
            dk_dgl to_s = {0};
            conf_finish(&d, &to_s, &f6);
        }
        dk_dgl_clear(&f6);
        dk_dgl_clear(&out);
        dk_duo_run_free(&r);
        dk_duo_free(&d);
    }
}

/* T27d: a bogus Finished before the ServerHello (plaintext, or in epoch 1):
 * rejected or discarded; the client never retransmits its ClientHello in
 * response. */
static void test_T27_client_bogus_finished_before_server_hello(void **st)
{
    (void)st;
    for (int ep1 = 1; ep1 >= 0; ep1--) {
        dk_duo d;
        dk_duo_init(&d, "psk", "psk", 274 + (uint64_t)ep1);
        dk_duo_run r;
        dk_duo_to_flight4(&d, &r);
        uint8_t vd[12] = {0}, dg[128];
        size_t n = dk_craft_hs_record(dg, sizeof dg, 0, 7, DK_HT_FINISHED, 1, vd, 12, 0, 12);
        if (ep1) assert_true(dk_craft_set_epoch(dg, n, 0, 1));
        dk_dgl out = {0};
        (void)dk_duo_to_client(&d, NULL, dg, n, &out);
        no_hello(&out);
        if (dk_conn_state(d.c) != DK_STATE_FAILED) {
            conf_expect_silence(&out, "client after a bogus Finished");
            dk_dgl to_s = {0};
            conf_finish(&d, &to_s, &r.flight4);
        } else {
            assert_false(ep1); /* an unreadable epoch-1 record is never fatal */
        }
        dk_dgl_clear(&out);
        dk_duo_run_free(&r);
        dk_duo_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T20_R29_R30_client_hvr_huge_rs_then_sh_rs53),
        cmocka_unit_test(test_T26_R12_client_ignores_hvr_after_server_hello),
        cmocka_unit_test(test_T26_R36_client_ignores_hello_request_midhandshake),
        cmocka_unit_test(test_T26_R1_R12_client_two_hvrs_new_hello_each),
        cmocka_unit_test(test_T26_R9_client_accepts_hvr_version_10_and_12),
        cmocka_unit_test(test_T27_R33_client_finished_without_ccs),
        cmocka_unit_test(test_T27_R26_R33_client_epoch0_finished),
        cmocka_unit_test(test_T27_client_bogus_finished_before_server_hello),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
