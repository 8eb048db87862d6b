/* Conformance: the cookie exchange (T1 to T5, T7, T8). RFC 6347 4.2.1. */
#include "conf.h"

/* T1: CH(0,0,0,-) gets one HVR (ms 0, rs 0, epoch 0, cookie <= 32 bytes,
 * version 1.0 or 1.2); the gate creates no state, answers the same
 * ClientHello with the same bytes, and never retransmits on a timer. */
static void test_T1_R5_R7_R9_R10_R14_hello_gets_stateless_hvr(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 1);
    dk_dgl ch0 = {0}, hvr = {0}, again = {0}, to_s = {0};
    dk_obsl ol;
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_obs_parse(&ol, &ch0);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 0, 0);

    assert_int_equal(dk_duo_to_server(&d, ch0.p[0], ch0.len[0], &hvr), DK_OK);
    conf_only_hvr(&ol, &hvr, 0, 0);
    assert_int_equal(ol.o[0].hvr_version, DK_DTLS10); /* R9: SHOULD use 1.0 */
    assert_null(d.s);                                 /* R7: no per-client state */
    assert_int_equal(d.server_conns, 0);
    assert_int_equal(d.gate_hvrs, 1);

    /* Stateless: the same ClientHello, the same answer byte for byte, and
     * the gate allocates nothing. */
    dk_alloc_stats a0, a1;
    dk_alloc_stats_get(&a0);
    assert_int_equal(dk_duo_to_server(&d, ch0.p[0], ch0.len[0], &again), DK_OK);
    dk_alloc_stats_get(&a1);
    assert_int_equal(a1.allocs, a0.allocs);
    assert_int_equal(a1.reallocs, a0.reallocs);
    assert_int_equal(again.n, 1);
    assert_int_equal(again.len[0], hvr.len[0]);
    assert_memory_equal(again.p[0], hvr.p[0], hvr.len[0]);
    assert_null(d.s);

    /* R14: no timer. Three minutes pass; the server side says nothing. */
    for (int i = 0; i < 180; i++) {
        d.now += 1000;
        assert_int_equal(dk_duo_server_timer(&d, &to_s), DK_OK);
    }
    conf_expect_silence(&to_s, "server after HVR");
    assert_null(d.s);

    conf_finish(&d, &to_s, &hvr);
    assert_int_equal(d.server_conns, 1);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&again);
    dk_duo_free(&d);
}

/* T2: CH(64,7,0,-) -> HVR with ms 64 and rs 7 (R5, errata 5186). */
static void test_T2_R5_hvr_echoes_ms64_rs7(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 2);
    dk_dgl ch0 = {0}, hvr = {0}, to_s = {0};
    dk_obsl ol;
    dk_knob_client_seq(d.c, 64, 7);
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_obs_parse(&ol, &ch0);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 64, 7);
    assert_int_equal(dk_duo_to_server(&d, ch0.p[0], ch0.len[0], &hvr), DK_OK);
    conf_only_hvr(&ol, &hvr, 64, 7);
    assert_null(d.s);
    conf_finish(&d, &to_s, &hvr);
    dk_dgl_clear(&ch0);
    dk_duo_free(&d);
}

/* T3 flight check: after CH(65,8,ok) the server's flight starts with
 * ServerHello ms 65 in record 8 (R6 and errata 5186), numbers each further
 * message +1 (R1) and expects the client's next message at 66. */
static void run_T3(const char *kind, const uint8_t *types, size_t n_types)
{
    dk_duo d;
    dk_duo_init(&d, kind, kind, 3);
    dk_dgl ch0 = {0}, hvr = {0}, ch1 = {0}, f4 = {0}, f5 = {0};
    dk_obsl ol;
    dk_knob_client_seq(d.c, 64, 7);
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &hvr);
    conf_only_hvr(&ol, &hvr, 64, 7);
    dk_duo_all_to_client(&d, &hvr, &ch1);
    dk_obs_parse(&ol, &ch1);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 65, 8);

    dk_duo_all_to_server(&d, &ch1, &f4);
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 65, 8);
    /* Every message of the flight, in order, fragments sharing the ms (R22);
     * record numbers continue from 8 one per record (R26). */
    size_t m = 0;
    for (size_t i = 0; i < ol.n; i++) {
        const dk_obs *o = &ol.o[i];
        assert_true(o->hs);
        assert_int_equal(o->rseq, 8 + i);
        if (i > 0 && o->foff > 0) {
            assert_int_equal(o->ms, ol.o[i - 1].ms);
            continue;
        }
        assert_true(m < n_types);
        assert_int_equal(o->hs_type, types[m]);
        assert_int_equal(o->ms, 65 + m);
        m++;
    }
    assert_int_equal(m, n_types);
    assert_int_equal(dk_knob_next_recv_seq(d.s), 66);

    /* The client's next flight indeed starts at 66, and the handshake ends. */
    dk_duo_all_to_client(&d, &f4, &f5);
    dk_obs_parse(&ol, &f5);
    const dk_obs *first = dk_obs_find(&ol, DK_CT_HANDSHAKE, -1, 0);
    assert_non_null(first);
    assert_int_equal(first->ms, 66);
    dk_dgl none = {0};
    conf_finish(&d, &f5, &none);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch1);
    dk_dgl_clear(&f4);
    dk_duo_free(&d);
}

static void test_T3_R6_R1_sh_ms65_rs8_psk(void **st)
{
    (void)st;
    static const uint8_t t[] = {DK_HT_SERVER_HELLO, DK_HT_SERVER_KEY_EXCHANGE,
                                DK_HT_SERVER_HELLO_DONE};
    run_T3("psk", t, sizeof t);
}

static void test_T3_R6_R1_sh_ms65_rs8_cert66_ske67_shd68(void **st)
{
    (void)st;
    static const uint8_t t[] = {DK_HT_SERVER_HELLO, DK_HT_CERTIFICATE, DK_HT_SERVER_KEY_EXCHANGE,
                                DK_HT_SERVER_HELLO_DONE};
    run_T3("ec", t, sizeof t);
}

/* T4: CH(0,0,-), HVR lost, the client's retransmission CH(0,1,-) gets a
 * fresh HVR (ms 0, rs 1); the server holds nothing meanwhile (R11, R14). */
static void test_T4_R11_R14_lost_hvr_fresh_hvr_per_hello(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 4);
    dk_dgl ch0 = {0}, lost = {0}, ch0b = {0}, hvr = {0}, to_s = {0};
    dk_obsl ol;
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &lost);
    conf_only_hvr(&ol, &lost, 0, 0);
    dk_dgl_clear(&lost); /* the HVR is lost */

    d.now = dk_conn_next_timeout(d.c);
    assert_int_equal(dk_duo_client_timer(&d, &ch0b), DK_OK);
    dk_obs_parse(&ol, &ch0b);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 0, 1);
    dk_duo_all_to_server(&d, &ch0b, &hvr);
    conf_only_hvr(&ol, &hvr, 0, 1);
    assert_int_equal(d.gate_hvrs, 2);
    assert_null(d.s);
    conf_finish(&d, &to_s, &hvr);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&ch0b);
    dk_duo_free(&d);
}

/* T5: CH(1,1,bad) -> HVR(ms 1) with no alert and no state (R11); then
 * CH(2,2,ok) -> ServerHello ms 2 and the handshake completes (R12). */
static void test_T5_R11_R12_bad_cookie_ms1_then_ok_ms2(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 5);
    dk_dgl ch = {0}, hvr = {0}, ch2 = {0}, f4 = {0};
    dk_obsl ol;
    uint8_t bad[32];
    memset(bad, 0x42, sizeof bad);
    dk_knob_client_seq(d.c, 1, 1);
    dk_knob_client_cookie(d.c, bad, sizeof bad);
    assert_int_equal(dk_duo_connect(&d, &ch), DK_OK);
    dk_duo_all_to_server(&d, &ch, &hvr);
    conf_only_hvr(&ol, &hvr, 1, 1); /* no alert: the only record is the HVR */
    assert_null(d.s);

    dk_duo_all_to_client(&d, &hvr, &ch2);
    dk_obs_parse(&ol, &ch2);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 2, 2);
    dk_duo_all_to_server(&d, &ch2, &f4);
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 2, 2);
    assert_int_equal(dk_obs_count(&ol, DK_CT_ALERT, -1), 0);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f4);
    dk_dgl_clear(&ch);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch2);
    dk_duo_free(&d);
}

/* T7: CH0, then CH(2,ok) skipping 1: a stateless server cannot know, so it
 * proceeds with ServerHello ms 2 and never emits ms 1 (R6). */
static void test_T7_R6_skipped_ms1_sh_takes_ms2(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 7);
    dk_dgl ch0 = {0}, hvr = {0}, ch2 = {0}, f4 = {0};
    dk_obsl ol;
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &hvr);
    conf_only_hvr(&ol, &hvr, 0, 0);
    dk_knob_client_seq(d.c, 2, 1);
    dk_duo_all_to_client(&d, &hvr, &ch2);
    dk_obs_parse(&ol, &ch2);
    ASSERT_HS(&ol.o[0], DK_HT_CLIENT_HELLO, 2, 1);
    dk_duo_all_to_server(&d, &ch2, &f4);
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 2, 1);
    for (size_t i = 0; i < ol.n; i++) assert_true(ol.o[i].ms >= 2);
    assert_int_equal(dk_knob_next_recv_seq(d.s), 3);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f4);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch2);
    dk_duo_free(&d);
}

/* T8: a cookie is bound to the ClientHello's parameters (R8): CH1 with the
 * valid cookie but a changed cipher suite list, or a changed random, is
 * treated as carrying an invalid cookie and gets an HVR; the real CH1
 * still succeeds. */
static void test_T8_R8_R11_cookie_bound_to_suites_and_random(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 8);
    dk_dgl ch0 = {0}, hvr = {0}, ch1 = {0}, out = {0};
    dk_obsl ol;
    uint8_t dg[DK_DG_CAP];
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &hvr);
    dk_duo_all_to_client(&d, &hvr, &ch1);

    size_t n = conf_copy(&ch1, 0, dg);
    uint32_t blen;
    uint8_t *body = dk_craft_hs_body(dg, n, 0, &blen, NULL, NULL);
    assert_non_null(body);
    size_t so = dk_craft_ch_suites_offset(body, blen);
    assert_true(so > 0);
    body[so + 3] ^= 0x01; /* first suite changed */
    assert_int_equal(dk_duo_to_server(&d, dg, n, &out), DK_OK);
    conf_only_hvr(&ol, &out, 1, 1);
    assert_null(d.s);
    dk_dgl_clear(&out);

    n = conf_copy(&ch1, 0, dg);
    body = dk_craft_hs_body(dg, n, 0, &blen, NULL, NULL);
    body[2 + 5] ^= 0x80; /* a bit of the random */
    assert_int_equal(dk_duo_to_server(&d, dg, n, &out), DK_OK);
    conf_only_hvr(&ol, &out, 1, 1);
    assert_null(d.s);
    dk_dgl_clear(&out);

    dk_dgl to_c = {0};
    conf_finish(&d, &ch1, &to_c);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T1_R5_R7_R9_R10_R14_hello_gets_stateless_hvr),
        cmocka_unit_test(test_T2_R5_hvr_echoes_ms64_rs7),
        cmocka_unit_test(test_T3_R6_R1_sh_ms65_rs8_psk),
        cmocka_unit_test(test_T3_R6_R1_sh_ms65_rs8_cert66_ske67_shd68),
        cmocka_unit_test(test_T4_R11_R14_lost_hvr_fresh_hvr_per_hello),
        cmocka_unit_test(test_T5_R11_R12_bad_cookie_ms1_then_ok_ms2),
        cmocka_unit_test(test_T7_R6_skipped_ms1_sh_takes_ms2),
        cmocka_unit_test(test_T8_R8_R11_cookie_bound_to_suites_and_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
