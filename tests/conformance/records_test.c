/* Conformance: the record layer under attack and after the handshake (T19,
 * T20 server side, T21, T23, T25). RFC 6347 4.1.2, 4.2.4, 4.2.7. */
#include "conf.h"

static void setup(dk_duo *d, dk_duo_run *r, uint64_t seed)
{
    dk_duo_init(d, "psk", "psk", seed);
    dk_duo_establish(d, r);
}

static void teardown(dk_duo *d, dk_duo_run *r)
{
    dk_duo_run_free(r);
    dk_duo_free(d);
}

/* n application records from the client, one datagram each. */
static void client_records(dk_duo *d, size_t n, dk_dgl *out)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t msg[16];
        memset(msg, 'a' + (int)(i % 26), sizeof msg);
        assert_int_equal(dk_conn_write(d->c, msg, sizeof msg), DK_OK);
    }
    dk_duo_poll(d->c, out);
    assert_int_equal(out->n, n);
}

/* Deliver to the server; nothing comes back; returns records delivered. */
static size_t to_server_silent(dk_duo *d, const uint8_t *p, size_t len, const char *what)
{
    size_t before = d->s_rx_records;
    dk_dgl out = {0};
    (void)dk_duo_to_server(d, p, len, &out);
    conf_expect_silence(&out, what);
    assert_int_equal(dk_conn_state(d->s), DK_STATE_ESTABLISHED);
    return d->s_rx_records - before;
}

static dk_conn_stats server_stats(const dk_duo *d)
{
    dk_conn_stats st;
    dk_conn_get_stats(d->s, &st);
    return st;
}

/* T19a, b: a replayed record (same epoch and seq) and one left of the
 * 64-record window are discarded silently; one inside the window is not
 * (R29). */
static void test_T19_R29_replay_and_left_of_window(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 19);
    dk_dgl recs = {0};
    client_records(&d, 70, &recs);
    assert_int_equal(to_server_silent(&d, recs.p[0], recs.len[0], "record"), 1);
    assert_int_equal(to_server_silent(&d, recs.p[0], recs.len[0], "replayed record"), 0);
    assert_int_equal(server_stats(&d).replayed_records, 1);

    assert_int_equal(to_server_silent(&d, recs.p[69], recs.len[69], "record 69"), 1);
    assert_int_equal(to_server_silent(&d, recs.p[1], recs.len[1], "68 left of the top"), 0);
    assert_int_equal(server_stats(&d).replayed_records, 2);
    assert_int_equal(to_server_silent(&d, recs.p[10], recs.len[10], "59 left of the top"), 1);
    assert_true(dk_duo_data_flows(&d));
    dk_dgl_clear(&recs);
    teardown(&d, &r);
}

/* T19c: a ClientKeyExchange reusing the record number of the ClientHello
 * that created the connection is a replay: discarded before it is parsed
 * (R29); the real one completes the handshake. */
static void test_T19_R29_cke_reusing_hello_record_number(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 191);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    uint8_t dg[DK_DG_CAP];
    size_t n = conf_record(&r.flight5, 0, 0, dg); /* the CKE */
    dk_obsl ol;
    dk_obs_parse(&ol, &r.ch1);
    assert_true(dk_craft_set_rseq(dg, n, 0, ol.o[0].rseq));
    dk_dgl out = {0}, to_c = {0};
    (void)dk_duo_to_server(&d, dg, n, &out);
    conf_expect_silence(&out, "CKE with the ClientHello's record number");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 2);
    conf_finish(&d, &r.flight5, &to_c);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T20 (server): a forged record with a high sequence number and a bad MAC is
 * discarded and leaves the window alone, so a valid lower-numbered record
 * is still accepted (R29: "The receive window is updated only if the MAC
 * verification succeeds"; R30). */
static void test_T20_R29_R30_forged_high_seq_does_not_move_window(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 20);
    dk_dgl recs = {0};
    client_records(&d, 2, &recs);
    uint8_t dg[DK_DG_CAP];
    size_t n = conf_copy(&recs, 1, dg);
    dk_obsl ol;
    dk_obs_parse(&ol, &recs);
    assert_true(dk_craft_set_rseq(dg, n, 0, ol.o[1].rseq + 1000000));
    assert_int_equal(to_server_silent(&d, dg, n, "forged high record"), 0);
    assert_int_equal(server_stats(&d).bad_mac_records, 1);
    assert_int_equal(to_server_silent(&d, recs.p[0], recs.len[0], "valid lower record"), 1);
    assert_int_equal(to_server_silent(&d, recs.p[1], recs.len[1], "valid next record"), 1);
    assert_true(dk_duo_data_flows(&d));
    dk_dgl_clear(&recs);
    teardown(&d, &r);
}

/* T21: a bit-flipped epoch-1 record is dropped silently (no alert of any
 * level), the association survives, and the intact record is then
 * delivered (R30, R31). Both directions, and during the handshake. */
static void test_T21_R30_R31_bit_flipped_record_dropped(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 21);
    dk_dgl recs = {0}, out = {0};
    uint8_t dg[DK_DG_CAP];
    client_records(&d, 1, &recs);
    for (size_t bit = 0; bit < 3; bit++) {
        size_t n = conf_copy(&recs, 0, dg);
        size_t at = bit == 0 ? n - 1 : bit == 1 ? 13 + 4 : n / 2; /* tag, nonce, ciphertext */
        dg[at] ^= (uint8_t)(1u << bit);
        assert_int_equal(to_server_silent(&d, dg, n, "flipped record"), 0);
    }
    assert_int_equal(server_stats(&d).bad_mac_records, 3);
    assert_int_equal(to_server_silent(&d, recs.p[0], recs.len[0], "intact record"), 1);

    static const uint8_t msg[] = "to the client";
    assert_int_equal(dk_conn_write(d.s, msg, sizeof msg), DK_OK);
    dk_dgl_clear(&recs);
    dk_duo_poll(d.s, &recs);
    size_t n = conf_copy(&recs, 0, dg);
    dg[n - 2] ^= 0x10;
    size_t before = d.c_rx_len;
    (void)dk_duo_to_client(&d, NULL, dg, n, &out);
    conf_expect_silence(&out, "client after a flipped record");
    assert_int_equal(d.c_rx_len, before);
    assert_int_equal(dk_conn_state(d.c), DK_STATE_ESTABLISHED);
    (void)dk_duo_to_client(&d, NULL, recs.p[0], recs.len[0], &out);
    assert_int_equal(d.c_rx_len, before + sizeof msg);
    dk_dgl_clear(&recs);
    teardown(&d, &r);
}

/* T21 for every AEAD (AES-128-GCM, AES-256-GCM, AES-128-CCM_8,
 * ChaCha20-Poly1305), both directions: records that do not authenticate
 * (a flipped bit in the tag, the ciphertext, nonce_explicit or, with no
 * explicit nonce, the header's sequence number; a record cut short by one
 * byte; a record shorter than nonce_explicit + tag) are dropped silently and
 * deliver nothing; the intact record and an empty one are then delivered
 * with their contents (R30, R31). */
static void bad_records_one_suite(uint16_t suite, uint64_t seed)
{
    dk_duo d;
    dk_duo_run r;
    dk_duo_init(&d, "ec", "ec", seed);
    assert_int_equal(dk_config_set_cipher_suites(d.ccfg, &suite, 1), DK_OK);
    assert_int_equal(dk_config_set_cipher_suites(d.scfg, &suite, 1), DK_OK);
    dk_duo_establish(&d, &r);
    dk_conn_info info;
    assert_int_equal(dk_conn_get_info(d.c, &info), DK_OK);
    assert_int_equal(info.cipher_suite, suite);
    bool chacha = suite == DK_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256;
    size_t overhead = (chacha ? 0 : 8) + (suite == DK_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 ? 8 : 16);

    uint8_t msg[100];
    for (size_t i = 0; i < sizeof msg; i++) msg[i] = (uint8_t)(i * 5 + 1);
    assert_int_equal(dk_conn_write(d.c, msg, sizeof msg), DK_OK);
    dk_dgl recs = {0};
    dk_duo_poll(d.c, &recs);
    assert_int_equal(recs.n, 1);
    size_t n0 = recs.len[0];
    assert_int_equal(n0, 13 + overhead + sizeof msg);
    uint8_t dg[DK_DG_CAP];
    size_t flips[] = {n0 - 1, n0 / 2, chacha ? 10 : 13 + 3};
    for (size_t f = 0; f < DK_ARRAY_LEN(flips); f++) {
        size_t n = conf_copy(&recs, 0, dg);
        dg[flips[f]] ^= 0x20;
        assert_int_equal(to_server_silent(&d, dg, n, "flipped record"), 0);
    }
    size_t n = conf_copy(&recs, 0, dg); /* one byte short: the tag is cut */
    dk_store_u16(dg + 11, (uint16_t)(n - 13 - 1));
    assert_int_equal(to_server_silent(&d, dg, n - 1, "record cut short"), 0);
    n = conf_copy(&recs, 0, dg); /* no room for nonce_explicit and tag */
    dk_store_u16(dg + 11, (uint16_t)(overhead - 1));
    assert_int_equal(to_server_silent(&d, dg, 13 + overhead - 1, "record below overhead"), 0);
    assert_int_equal(server_stats(&d).bad_mac_records, DK_ARRAY_LEN(flips) + 2);
    size_t before = d.s_rx_len;
    assert_int_equal(to_server_silent(&d, recs.p[0], recs.len[0], "intact record"), 1);
    assert_int_equal(d.s_rx_len, before + sizeof msg);
    assert_memory_equal(d.s_rx + before, msg, sizeof msg);
    dk_dgl_clear(&recs);
    assert_int_equal(dk_conn_write(d.c, msg, 0), DK_OK);
    dk_duo_poll(d.c, &recs);
    assert_int_equal(recs.len[0], 13 + overhead);
    assert_int_equal(to_server_silent(&d, recs.p[0], recs.len[0], "empty record"), 1);
    dk_dgl_clear(&recs);

    /* server -> client, through dk_conn_write_datagram */
    size_t dn;
    assert_int_equal(dk_conn_write_datagram(d.s, msg, sizeof msg, dg, sizeof dg, &dn), DK_OK);
    dg[dn - 1] ^= 0x01;
    dk_dgl out = {0};
    before = d.c_rx_len;
    (void)dk_duo_to_client(&d, NULL, dg, dn, &out);
    conf_expect_silence(&out, "client after a flipped record");
    assert_int_equal(d.c_rx_len, before);
    dg[dn - 1] ^= 0x01;
    (void)dk_duo_to_client(&d, NULL, dg, dn, &out);
    assert_int_equal(d.c_rx_len, before + sizeof msg);
    assert_memory_equal(d.c_rx + before, msg, sizeof msg);
    assert_int_equal(dk_conn_state(d.c), DK_STATE_ESTABLISHED);
    teardown(&d, &r);
}

static void test_T21_R30_R31_bad_records_dropped_every_aead(void **st)
{
    (void)st;
    static const uint16_t suites[] = {DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
                                      DK_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
                                      DK_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8,
                                      DK_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256};
    for (size_t i = 0; i < DK_ARRAY_LEN(suites); i++) {
        print_message("suite 0x%04x\n", suites[i]);
        bad_records_one_suite(suites[i], 2100 + i);
    }
}

static void test_T21_R30_flipped_finished_during_handshake(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 211);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    uint8_t dg[DK_DG_CAP];
    dk_dgl out = {0}, to_c = {0};
    size_t n = conf_copy(&r.flight5, 0, dg);
    dg[n - 1] ^= 0x01; /* the Finished record's tag */
    (void)dk_duo_to_server(&d, dg, n, &out);
    conf_expect_silence(&out, "flight 5 with a flipped Finished");
    assert_int_equal(dk_conn_state(d.s), DK_STATE_HANDSHAKING);
    assert_true(dk_knob_ccs_received(d.s));
    n = conf_record(&r.flight5, 0, 2, dg);
    (void)dk_duo_to_server(&d, dg, n, &out);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_ESTABLISHED);
    dk_dgl none = {0};
    conf_finish(&d, &none, &out);
    dk_dgl_clear(&to_c);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T23: the server's last flight was lost; the client resends CKE, CCS and
 * Finished; the server (FINISHED state) answers with its CCS and Finished
 * again, once (R19, R32). */
static void test_T23_R19_R32_client_flight_resent_after_handshake(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 23);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl lost = {0}, f5b = {0}, f6b = {0};
    dk_duo_all_to_server(&d, &r.flight5, &lost);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_ESTABLISHED);
    assert_int_equal(dk_conn_next_timeout(d.s), UINT64_MAX); /* no timer in FINISHED */

    d.now = dk_conn_next_timeout(d.c);
    assert_int_equal(dk_duo_client_timer(&d, &f5b), DK_OK);
    assert_int_equal(f5b.n, 1);
    dk_duo_all_to_server(&d, &f5b, &f6b);
    dk_obsl ol, ol6;
    dk_obs_parse(&ol, &f6b);
    dk_obs_parse(&ol6, &lost);
    assert_int_equal(ol.n, 2);
    assert_true(ol.o[0].ccs);
    assert_int_equal(ol.o[0].epoch, 0);
    assert_int_equal(ol.o[1].ct, DK_CT_HANDSHAKE);
    assert_int_equal(ol.o[1].epoch, 1);
    assert_int_equal(ol.o[1].rlen, ol6.o[1].rlen);
    assert_true(ol.o[1].rseq > ol6.o[1].rseq); /* a new record (R2) */

    dk_dgl again = {0};
    dk_duo_all_to_server(&d, &f5b, &again);
    assert_true(again.n <= 1);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f6b);
    dk_dgl_clear(&again);
    dk_dgl_clear(&lost);
    dk_dgl_clear(&f5b);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* A record the client sealed but has not yet delivered. */
static void pending_record(dk_duo *d, dk_dgl *out)
{
    static const uint8_t late[] = "late";
    assert_int_equal(dk_conn_write(d->c, late, sizeof late), DK_OK);
    dk_duo_poll(d->c, out);
    assert_int_equal(out->n, 1);
}

/* Nothing more comes from the server, even when time passes (R35). */
static void server_stays_quiet(dk_duo *d, const dk_dgl *late)
{
    dk_dgl out = {0};
    size_t before = d->s_rx_len;
    dk_duo_all_to_server(d, late, &out);
    assert_int_equal(d->s_rx_len, before);
    for (int i = 0; i < 200; i++) {
        d->now += 1000;
        (void)dk_duo_server_timer(d, &out);
    }
    conf_expect_silence(&out, "server after the association ended");
}

/* T25a: after close_notify, no further records are processed. */
static void test_T25_R35_no_processing_after_close_notify(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 25);
    dk_dgl late = {0}, bye = {0}, reply = {0};
    pending_record(&d, &late);
    assert_int_equal(dk_conn_close(d.c), DK_OK);
    dk_duo_poll(d.c, &bye);
    dk_duo_all_to_server(&d, &bye, &reply);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_CLOSED);
    dk_obsl ol;
    dk_obs_parse(&ol, &reply);
    assert_true(ol.n <= 1); /* at most our own close_notify */
    server_stays_quiet(&d, &late);
    uint8_t buf[64];
    size_t n;
    assert_int_equal(dk_conn_read(d.s, buf, sizeof buf, &n), DK_ERR_CLOSED);
    dk_dgl_clear(&late);
    dk_dgl_clear(&bye);
    dk_dgl_clear(&reply);
    teardown(&d, &r);
}

/* T25b: after an authenticated fatal alert the server sends nothing back,
 * processes nothing more and never retransmits (R35). */
static void test_T25_R35_no_processing_after_fatal_alert(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 251);
    dk_dgl late = {0}, alert = {0}, reply = {0};
    pending_record(&d, &late);
    static const uint8_t fatal[2] = {2, 40};
    assert_int_equal(dk_knob_send_record(d.c, DK_CT_ALERT, fatal, 2), DK_OK);
    dk_duo_poll(d.c, &alert);
    dk_duo_all_to_server(&d, &alert, &reply);
    conf_expect_silence(&reply, "server after a fatal alert");
    assert_int_equal(dk_conn_state(d.s), DK_STATE_FAILED);
    assert_int_equal(dk_conn_error(d.s), DK_ERR_PEER_ALERT);
    server_stays_quiet(&d, &late);
    dk_dgl_clear(&late);
    dk_dgl_clear(&alert);
    teardown(&d, &r);
}

/* T25c: a plaintext epoch-0 alert after the handshake (fatal or
 * close_notify) is unauthenticated and discarded (R30). */
static void test_T25_R30_plaintext_alert_after_handshake_discarded(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    setup(&d, &r, 252);
    static const uint8_t alerts[][2] = {{2, 40}, {1, 0}, {2, 20}};
    for (size_t i = 0; i < 3; i++) {
        uint8_t dg[64];
        size_t n = dk_craft_record(dg, sizeof dg, DK_CT_ALERT, DK_DTLS12, 0, 60 + i, alerts[i], 2);
        assert_int_equal(to_server_silent(&d, dg, n, "plaintext alert"), 0);
        dk_dgl out = {0};
        (void)dk_duo_to_client(&d, NULL, dg, n, &out);
        conf_expect_silence(&out, "client after a plaintext alert");
        assert_int_equal(dk_conn_state(d.c), DK_STATE_ESTABLISHED);
    }
    assert_true(dk_duo_data_flows(&d));
    teardown(&d, &r);
}

/* T25d: the server's own fatal alert is sent once and never retransmitted
 * (R35): a client with an unknown PSK identity. */
static void test_T25_R35_own_alert_not_retransmitted(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 253);
    static const uint8_t key[16] = {1};
    assert_int_equal(dk_config_set_psk(d.ccfg, (const uint8_t *)"nobody", 6, key, sizeof key), DK_OK);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl out = {0};
    dk_duo_all_to_server(&d, &r.flight5, &out);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_FAILED);
    dk_obsl ol;
    dk_obs_parse(&ol, &out);
    assert_int_equal(ol.n, 1);
    assert_true(ol.o[0].alert);
    assert_int_equal(ol.o[0].alert_level, 2);
    assert_int_equal(ol.o[0].alert_desc, 115); /* unknown_psk_identity */
    dk_dgl_clear(&out);
    for (int i = 0; i < 200; i++) {
        d.now += 1000;
        (void)dk_duo_server_timer(&d, &out);
    }
    dk_duo_all_to_server(&d, &r.flight5, &out);
    conf_expect_silence(&out, "server after its fatal alert");
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T19_R29_replay_and_left_of_window),
        cmocka_unit_test(test_T19_R29_cke_reusing_hello_record_number),
        cmocka_unit_test(test_T20_R29_R30_forged_high_seq_does_not_move_window),
        cmocka_unit_test(test_T21_R30_R31_bit_flipped_record_dropped),
        cmocka_unit_test(test_T21_R30_R31_bad_records_dropped_every_aead),
        cmocka_unit_test(test_T21_R30_flipped_finished_during_handshake),
        cmocka_unit_test(test_T23_R19_R32_client_flight_resent_after_handshake),
        cmocka_unit_test(test_T25_R35_no_processing_after_close_notify),
        cmocka_unit_test(test_T25_R35_no_processing_after_fatal_alert),
        cmocka_unit_test(test_T25_R30_plaintext_alert_after_handshake_discarded),
        cmocka_unit_test(test_T25_R35_own_alert_not_retransmitted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
