/* Conformance: the client's flight 5 out of order, duplicated, in the wrong
 * epoch or without its ChangeCipherSpec (T9, T10, T13 to T17). RFC 6347
 * 4.1, 4.2.2, 4.2.4; RFC 5246 7.4.9. */
#include "conf.h"

/* The default PSK suite (ECDHE-PSK) puts flight 5 in one datagram:
 * ClientKeyExchange (ms 2, epoch 0), ChangeCipherSpec, Finished (ms 3,
 * epoch 1). */
enum { R_CKE = 0, R_CCS = 1, R_FIN = 2 };

static size_t f5(const dk_duo_run *r, size_t idx, uint8_t *dg)
{
    assert_int_equal(r->flight5.n, 1);
    return conf_record(&r->flight5, 0, idx, dg);
}

/* Deliver record idx of flight 5 (optionally edited by the caller first). */
static void deliver(dk_duo *d, const uint8_t *dg, size_t n, const char *what)
{
    dk_dgl out = {0};
    (void)dk_duo_to_server(d, dg, n, &out);
    conf_expect_silence(&out, what);
    assert_int_equal(dk_conn_state(d->s), DK_STATE_HANDSHAKING);
}

static void deliver_f5(dk_duo *d, const dk_duo_run *r, size_t idx, const char *what)
{
    uint8_t dg[DK_DG_CAP];
    deliver(d, dg, f5(r, idx, dg), what);
}

/* The server answers the datagram with its CCS and Finished and is done. */
static void deliver_final(dk_duo *d, const uint8_t *dg, size_t n)
{
    dk_dgl out = {0};
    (void)dk_duo_to_server(d, dg, n, &out);
    assert_int_equal(dk_conn_state(d->s), DK_STATE_ESTABLISHED);
    dk_obsl ol;
    dk_obs_parse(&ol, &out);
    assert_int_equal(dk_obs_count(&ol, DK_CT_CHANGE_CIPHER_SPEC, -1), 1);
    assert_int_equal(dk_obs_count(&ol, DK_CT_ALERT, -1), 0);
    dk_dgl to_s = {0};
    conf_finish(d, &to_s, &out);
}

static void setup(dk_duo *d, dk_duo_run *r, uint64_t seed)
{
    dk_duo_init(d, "psk", "psk", seed);
    dk_duo_to_flight5(d, r);
}

static void teardown(dk_duo *d, dk_duo_run *r)
{
    dk_duo_run_free(r);
    dk_duo_free(d);
}

/* T9: Finished (epoch 1) before CKE and CCS: dropped, no alert, no
 * teardown (R4, R27); after CKE and CCS its retransmission completes. */
static void test_T9_R4_R27_finished_before_cke_and_ccs(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 9);
    uint8_t fin[DK_DG_CAP];
    size_t fn = f5(&r, R_FIN, fin);
    deliver(&d, fin, fn, "Finished before CKE");
    deliver_f5(&d, &r, R_CKE, "CKE");
    deliver_f5(&d, &r, R_CCS, "CCS");
    assert_true(dk_knob_ccs_received(d.s));
    deliver_final(&d, fin, fn);
    teardown(&d, &r);
}

/* T10: CKE(2) processed, then CKE(2) again (the same record, then in a new
 * record): discarded as old (R3), no state change, at most flight 4 again
 * (R18); then CCS and Finished complete the handshake. */
static void test_T10_R3_R18_duplicate_cke_discarded(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 10);
    uint8_t dg[DK_DG_CAP];
    deliver_f5(&d, &r, R_CKE, "CKE");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 3);
    deliver_f5(&d, &r, R_CKE, "CKE replayed");
    size_t n = f5(&r, R_CKE, dg);
    assert_true(dk_craft_set_rseq(dg, n, 0, 30));
    dk_dgl out = {0};
    (void)dk_duo_to_server(&d, dg, n, &out);
    dk_obsl ol;
    dk_obs_parse(&ol, &out);
    for (size_t i = 0; i < ol.n; i++) {
        assert_true(ol.o[i].hs);
        assert_true(ol.o[i].hs_type == DK_HT_SERVER_HELLO ||
                    ol.o[i].hs_type == DK_HT_SERVER_KEY_EXCHANGE ||
                    ol.o[i].hs_type == DK_HT_SERVER_HELLO_DONE);
    }
    dk_dgl_clear(&out);
    assert_int_equal(dk_knob_next_recv_seq(d.s), 3);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_HANDSHAKING);
    deliver_f5(&d, &r, R_CCS, "CCS");
    n = f5(&r, R_FIN, dg);
    deliver_final(&d, dg, n);
    teardown(&d, &r);
}

/* T13: a ClientHello in epoch 1 before any CCS (to the gate and to the
 * connection) and the CKE sent as plaintext in epoch 1: silent discard, no
 * decrypt_error (R26, R30). */
static void test_T13_R26_R30_epoch1_plaintext_before_ccs(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 13);
    uint8_t dg[DK_DG_CAP];

    size_t n = conf_copy(&r.ch0, 0, dg); /* to the gate */
    assert_true(dk_craft_set_epoch(dg, n, 0, 1));
    uint8_t hvr[256];
    size_t hn = 0;
    assert_int_equal(dk_server_gate(d.scfg, d.peer, sizeof d.peer, dg, n, d.now, hvr, sizeof hvr, &hn),
                     DK_GATE_DROP);
    assert_int_equal(hn, 0);

    n = conf_copy(&r.ch1, 0, dg);
    assert_true(dk_craft_set_epoch(dg, n, 0, 1));
    deliver(&d, dg, n, "epoch-1 ClientHello at the connection");
    n = f5(&r, R_CKE, dg);
    assert_true(dk_craft_set_epoch(dg, n, 0, 1));
    deliver(&d, dg, n, "plaintext CKE in epoch 1");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 2);
    dk_dgl to_c = {0};
    conf_finish(&d, &r.flight5, &to_c);
    teardown(&d, &r);
}

/* T14: CKE, then Finished without CCS: the handshake does not complete; no
 * server CCS or Finished. An epoch-1 Finished is unreadable and dropped,
 * after which the real CCS and Finished still complete the handshake. */
static void test_T14_R33_finished_without_ccs_epoch1(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 14);
    uint8_t fin[DK_DG_CAP];
    size_t fn = f5(&r, R_FIN, fin);
    deliver_f5(&d, &r, R_CKE, "CKE");
    deliver(&d, fin, fn, "Finished without CCS");
    assert_false(dk_knob_ccs_received(d.s));
    deliver_f5(&d, &r, R_CCS, "CCS");
    deliver_final(&d, fin, fn);
    teardown(&d, &r);
}

/* An epoch-0 Finished carrying the right verify_data, ms 3. */
static size_t plaintext_finished(dk_duo *d, uint64_t rs, uint8_t *dg)
{
    uint8_t vd[12];
    assert_int_equal(dk_knob_client_finished(d->c, vd), DK_OK);
    return dk_craft_hs_record(dg, DK_DG_CAP, 0, rs, DK_HT_FINISHED, 3, vd, 12, 0, 12);
}

/* T14, plaintext variant: CKE, then a Finished in epoch 0 with no CCS at
 * all. R33 ("It is a fatal error if a Finished message is not preceded by a
 * ChangeCipherSpec"): silent discard or a fatal unexpected_message; never
 * the server's CCS and Finished. */
static void test_T14_R33_plaintext_finished_without_ccs(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 141);
    uint8_t dg[DK_DG_CAP];
    deliver_f5(&d, &r, R_CKE, "CKE");
    size_t n = plaintext_finished(&d, 20, dg);
    dk_dgl out = {0};
    (void)dk_duo_to_server(&d, dg, n, &out);
    dk_obsl ol;
    dk_obs_parse(&ol, &out);
    assert_int_equal(dk_obs_count(&ol, DK_CT_CHANGE_CIPHER_SPEC, -1), 0);
    assert_int_equal(dk_obs_count(&ol, DK_CT_HANDSHAKE, -1), 0);
    if (dk_conn_state(d.s) == DK_STATE_FAILED) {
        assert_int_equal(ol.n, 1);
        assert_true(ol.o[0].alert);
        assert_int_equal(ol.o[0].alert_level, 2);
        assert_int_equal(ol.o[0].alert_desc, 10); /* unexpected_message */
    } else {
        conf_expect_silence(&out, "plaintext Finished without CCS");
        deliver_f5(&d, &r, R_CCS, "CCS");
        n = f5(&r, R_FIN, dg);
        deliver_final(&d, dg, n);
    }
    dk_dgl_clear(&out);
    teardown(&d, &r);
}

/* T15: CKE, CCS, then a Finished in epoch 0 (right verify_data): discarded,
 * the handshake does not complete on it (R26, R30); the real Finished in
 * epoch 1 completes it. */
static void test_T15_R26_R30_finished_in_epoch0_after_ccs(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 15);
    uint8_t dg[DK_DG_CAP];
    deliver_f5(&d, &r, R_CKE, "CKE");
    deliver_f5(&d, &r, R_CCS, "CCS");
    size_t n = plaintext_finished(&d, 20, dg);
    deliver(&d, dg, n, "epoch-0 Finished after CCS");
    n = f5(&r, R_FIN, dg);
    deliver_final(&d, dg, n);
    teardown(&d, &r);
}

/* T16: epoch-1 application data before the client's Finished is never
 * delivered before that Finished verifies (R20); epoch-0 application data
 * after the handshake is discarded. */
static void test_T16_R20_app_data_wrong_epoch_or_early(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 16);
    static const uint8_t early[] = "early data";
    dk_dgl ad = {0};
    assert_int_equal(dk_knob_write_epoch(d.c), 1);
    assert_int_equal(dk_knob_send_record(d.c, DK_CT_APPLICATION_DATA, early, sizeof early), DK_OK);
    dk_duo_poll(d.c, &ad);
    assert_int_equal(ad.n, 1);

    deliver_f5(&d, &r, R_CKE, "CKE");
    deliver_f5(&d, &r, R_CCS, "CCS");
    deliver(&d, ad.p[0], ad.len[0], "epoch-1 data before Finished");
    uint8_t buf[64];
    size_t got;
    assert_int_equal(dk_conn_read(d.s, buf, sizeof buf, &got), DK_ERR_WOULD_BLOCK);
    assert_int_equal(d.s_rx_len, 0);
    uint8_t dg[DK_DG_CAP];
    size_t n = f5(&r, R_FIN, dg);
    deliver_final(&d, dg, n);
    /* buffered and delivered after Finished, or discarded: both conform */
    size_t base = d.s_rx_len - sizeof "ping over dtls";
    assert_true(base == 0 || (base == sizeof early && memcmp(d.s_rx, early, base) == 0));

    static const uint8_t plain[] = "epoch-0 data";
    n = dk_craft_record(dg, sizeof dg, DK_CT_APPLICATION_DATA, DK_DTLS12, 0, 50, plain,
                        sizeof plain);
    size_t before = d.s_rx_len;
    dk_dgl out = {0};
    (void)dk_duo_to_server(&d, dg, n, &out);
    conf_expect_silence(&out, "epoch-0 application data");
    assert_int_equal(d.s_rx_len, before);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_ESTABLISHED);
    assert_true(dk_duo_data_flows(&d));
    dk_dgl_clear(&ad);
    teardown(&d, &r);
}

/* T17a: a CCS as the very first record (at the gate) and before the keys
 * exist (at the connection): dropped, no epoch switch (R32). */
static void test_T17_R32_ccs_first_record(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 17);
    static const uint8_t one = 1;
    uint8_t dg[64];
    size_t n = dk_craft_record(dg, sizeof dg, DK_CT_CHANGE_CIPHER_SPEC, DK_DTLS12, 0, 0, &one, 1);
    dk_dgl out = {0}, ch0 = {0};
    (void)dk_duo_to_server(&d, dg, n, &out);
    conf_expect_silence(&out, "CCS to the gate");
    assert_null(d.s);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    n = dk_craft_record(dg, sizeof dg, DK_CT_CHANGE_CIPHER_SPEC, DK_DTLS12, 0, 9, &one, 1);
    deliver(&d, dg, n, "CCS before any key exchange");
    assert_false(dk_knob_ccs_received(d.s));
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &r.flight4);
    dk_dgl_clear(&ch0);
    teardown(&d, &r);
}

/* T17b: CCS before CKE: dropped (no keys yet), so the Finished after it is
 * unreadable; the client's retransmitted flight completes the handshake. */
static void test_T17_R32_ccs_before_cke(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 171);
    deliver_f5(&d, &r, R_CCS, "CCS before CKE");
    assert_false(dk_knob_ccs_received(d.s));
    deliver_f5(&d, &r, R_CKE, "CKE");
    assert_false(dk_knob_ccs_received(d.s));
    deliver_f5(&d, &r, R_FIN, "Finished after a dropped CCS");
    dk_dgl to_s = {0}, to_c = {0};
    conf_finish(&d, &to_s, &to_c); /* the client's timer resends flight 5 */
    teardown(&d, &r);
}

/* T17c: a processed CCS repeated (network duplication, and again in a new
 * record) is ignored (R32). */
static void test_T17_R32_ccs_repeated(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 172);
    uint8_t dg[DK_DG_CAP];
    deliver_f5(&d, &r, R_CKE, "CKE");
    deliver_f5(&d, &r, R_CCS, "CCS");
    deliver_f5(&d, &r, R_CCS, "CCS duplicated");
    size_t n = f5(&r, R_CCS, dg);
    assert_true(dk_craft_set_rseq(dg, n, 0, 33));
    deliver(&d, dg, n, "CCS repeated in a new record");
    assert_true(dk_knob_ccs_received(d.s));
    n = f5(&r, R_FIN, dg);
    deliver_final(&d, dg, n);
    teardown(&d, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T9_R4_R27_finished_before_cke_and_ccs),
        cmocka_unit_test(test_T10_R3_R18_duplicate_cke_discarded),
        cmocka_unit_test(test_T13_R26_R30_epoch1_plaintext_before_ccs),
        cmocka_unit_test(test_T14_R33_finished_without_ccs_epoch1),
        cmocka_unit_test(test_T14_R33_plaintext_finished_without_ccs),
        cmocka_unit_test(test_T15_R26_R30_finished_in_epoch0_after_ccs),
        cmocka_unit_test(test_T16_R20_app_data_wrong_epoch_or_early),
        cmocka_unit_test(test_T17_R32_ccs_first_record),
        cmocka_unit_test(test_T17_R32_ccs_before_cke),
        cmocka_unit_test(test_T17_R32_ccs_repeated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
