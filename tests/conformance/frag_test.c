/* Conformance: fragmented and malformed handshake messages (T11, T12, T28).
 * RFC 6347 4.1, 4.2.3, 4.1.2.7; RULES.md R38 (fragmented ClientHellos). */
#include "conf.h"

/* One fragment [off, off + len) of a handshake message as a datagram. */
static void frag(dk_dgl *l, uint64_t rs, uint8_t type, uint16_t ms, const uint8_t *body,
                 uint32_t length, uint32_t off, uint32_t len)
{
    uint8_t dg[DK_DG_CAP];
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, rs, type, ms, body, length, off, len);
    assert_true(n > 0);
    dk_dgl_push(l, dg, n);
}

/* Where a ClientHello body's compression_methods end. */
static size_t params_end(const uint8_t *body, size_t len)
{
    dk_reader r;
    dk_reader_init(&r, body, len);
    dk_client_hello ch;
    assert_int_equal(dk_client_hello_read(&r, &ch), DK_OK);
    return ch.params_end;
}

/* Deliver datagram i of l to the server: nothing comes back. */
static void quiet(dk_duo *d, const dk_dgl *l, size_t i, const char *what)
{
    dk_dgl out = {0};
    (void)dk_duo_to_server(d, l->p[i], l->len[i], &out);
    conf_expect_silence(&out, what);
}

/* T11a: CH1 (with its cookie) in three overlapping fragments, out of
 * order. Fragments that precede the offset-0 one find no state and are
 * dropped by the gate (no per-peer state before the cookie is valid, R38);
 * the offset-0 fragment holds the whole cookie-covered prefix, so the gate
 * accepts it; the connection reassembles the rest (R24: "MUST be able to
 * handle overlapping fragment ranges") and answers with ServerHello ms 1. */
static void test_T11_R21_R24_R38_fragmented_hello_out_of_order_overlapping(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 11);
    dk_dgl ch0 = {0}, hvr = {0}, ch1 = {0}, frags = {0}, f4 = {0};
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &hvr);
    dk_duo_all_to_client(&d, &hvr, &ch1);
    uint32_t L;
    const uint8_t *b = dk_craft_hs_body(ch1.p[0], ch1.len[0], 0, &L, NULL, NULL);
    uint32_t P = (uint32_t)params_end(b, L);
    assert_true(P + 40 < L);
    frag(&frags, 1, DK_HT_CLIENT_HELLO, 1, b, L, P + 20, L - P - 20); /* tail */
    frag(&frags, 2, DK_HT_CLIENT_HELLO, 1, b, L, P - 10, 40);         /* middle, overlaps both */
    frag(&frags, 3, DK_HT_CLIENT_HELLO, 1, b, L, 0, P + 6);           /* head */
    /* Fragments that cannot be judged alone go to the gate's server-wide
     * pool: no connection, no answer, until the hello is whole. */
    quiet(&d, &frags, 0, "tail before any state");
    quiet(&d, &frags, 1, "middle before any state");
    assert_null(d.s);
    assert_int_equal(d.gate_drops, 2);
    /* The head completes it: the cookie is valid, the connection starts
     * from the reassembled hello and answers at once (R6: its record
     * number is the completing fragment's). */
    dk_duo_to_server(&d, frags.p[2], frags.len[2], &f4);
    assert_non_null(d.s);
    dk_obsl ol;
    dk_obs_parse(&ol, &f4);
    assert_true(ol.n >= 1);
    assert_int_equal(ol.o[0].hs_type, DK_HT_SERVER_HELLO);
    assert_int_equal(ol.o[0].ms, 1);
    assert_int_equal(ol.o[0].rseq, 3);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f4);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch1);
    dk_dgl_clear(&frags);
    dk_duo_free(&d);
}

/* The three fragments [0,1100), [1000,2100), [2000,L) of a big body. */
static void three(dk_dgl *l, uint64_t rs, uint16_t ms, const uint8_t *b, uint32_t L)
{
    frag(l, rs, DK_HT_CLIENT_HELLO, ms, b, L, 0, 1100);
    frag(l, rs + 1, DK_HT_CLIENT_HELLO, ms, b, L, 1000, 1100);
    frag(l, rs + 2, DK_HT_CLIENT_HELLO, ms, b, L, 2000, L - 2000);
}

/* T11b: a ~3 KB ClientHello (a large unknown extension, as post-quantum key
 * shares make them) in overlapping fragments: the gate answers the first
 * one with an HVR and keeps nothing; the cookie-bearing one is reassembled
 * by the connection out of order, and the handshake completes over it. */
static void test_T11_R21_R24_R38_three_kilobyte_hello(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 111);
    dk_dgl ch0 = {0}, frags = {0}, hvr = {0}, ch1 = {0}, f4 = {0};
    static uint8_t big[4096];
    dk_obsl ol;
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    uint32_t L;
    const uint8_t *b = dk_craft_hs_body(ch0.p[0], ch0.len[0], 0, &L, NULL, NULL);
    uint32_t BL = (uint32_t)dk_craft_ch_inflate(b, L, 0xFA5A, 2900, big, sizeof big);
    assert_true(BL > 2900 && BL < 3300);
    three(&frags, 0, 0, big, BL);
    quiet(&d, &frags, 1, "middle of CH0");
    quiet(&d, &frags, 2, "tail of CH0");
    dk_duo_to_server(&d, frags.p[0], frags.len[0], &hvr);
    conf_only_hvr(&ol, &hvr, 0, 0);
    assert_null(d.s);
    assert_int_equal(d.server_conns, 0);

    dk_duo_all_to_client(&d, &hvr, &ch1);
    b = dk_craft_hs_body(ch1.p[0], ch1.len[0], 0, &L, NULL, NULL);
    BL = (uint32_t)dk_craft_ch_inflate(b, L, 0xFA5A, 2900, big, sizeof big);
    assert_int_equal(dk_knob_client_hello_sent(d.c, 1, big, BL), DK_OK);
    dk_dgl_clear(&frags);
    three(&frags, 10, 1, big, BL);
    quiet(&d, &frags, 0, "head of CH1");
    assert_non_null(d.s);
    quiet(&d, &frags, 2, "tail of CH1");
    dk_duo_to_server(&d, frags.p[1], frags.len[1], &f4);
    dk_obs_parse(&ol, &f4);
    assert_true(ol.n >= 1);
    assert_int_equal(ol.o[0].hs_type, DK_HT_SERVER_HELLO);
    assert_int_equal(ol.o[0].ms, 1);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f4);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&frags);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch1);
    dk_duo_free(&d);
}

/* T12a: ClientHello fragments at the connection that disagree with the
 * first one on `length`, or whose offset + length exceed `length`: silently
 * discarded (R22, R30); the consistent rest completes the message. */
static void test_T12_R22_R30_hello_fragments_disagreeing(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 12);
    dk_dgl ch0 = {0}, hvr = {0}, ch1 = {0}, fr = {0}, f4 = {0};
    uint8_t dg[DK_DG_CAP], hs[DK_DG_CAP];
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &hvr);
    dk_duo_all_to_client(&d, &hvr, &ch1);
    uint32_t L;
    const uint8_t *b = dk_craft_hs_body(ch1.p[0], ch1.len[0], 0, &L, NULL, NULL);
    uint32_t P = (uint32_t)params_end(b, L);
    frag(&fr, 1, DK_HT_CLIENT_HELLO, 1, b, L, 0, P);
    quiet(&d, &fr, 0, "head");
    assert_non_null(d.s);
    dk_dgl_clear(&fr);
    frag(&fr, 2, DK_HT_CLIENT_HELLO, 1, b, L + 8, P, L - P); /* length disagrees */
    quiet(&d, &fr, 0, "fragment with another length");
    /* offset + fragment_length > length */
    size_t h = dk_craft_handshake(hs, sizeof hs, DK_HT_CLIENT_HELLO, L, 1, P, L - P, b);
    dk_store_u24(hs + 1, L - 1);
    size_t n = dk_craft_record(dg, sizeof dg, DK_CT_HANDSHAKE, DK_DTLS12, 0, 3, hs, h);
    dk_dgl_push(&fr, dg, n);
    quiet(&d, &fr, 1, "fragment beyond its message");
    assert_int_equal(dk_conn_state(d.s), DK_STATE_HANDSHAKING);
    dk_dgl_clear(&fr);
    frag(&fr, 4, DK_HT_CLIENT_HELLO, 1, b, L, P, L - P);
    dk_duo_to_server(&d, fr.p[0], fr.len[0], &f4);
    dk_obsl ol;
    dk_obs_parse(&ol, &f4);
    ASSERT_HS(&ol.o[0], DK_HT_SERVER_HELLO, 1, ol.o[0].rseq);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &f4);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch1);
    dk_dgl_clear(&fr);
    dk_duo_free(&d);
}

/* The client's ClientKeyExchange body (flight 5, record 0). */
static const uint8_t *cke_body(const dk_duo_run *r, uint32_t *len)
{
    const uint8_t *b = dk_craft_hs_body(r->flight5.p[0], r->flight5.len[0], 0, len, NULL, NULL);
    assert_non_null(b);
    return b;
}

/* T12b: fragments of the ClientKeyExchange that disagree on `length`, an
 * unfragmented-looking one whose fragment_length exceeds `length`, and one
 * whose fragment_length is short of the bytes that follow: discarded, never
 * a crash; the consistent fragments complete it and the handshake ends. */
static void test_T12_R22_R23_R30_cke_fragments_disagreeing(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 121);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl fr = {0};
    uint32_t L;
    const uint8_t *b = cke_body(&r, &L);
    frag(&fr, 10, DK_HT_CLIENT_KEY_EXCHANGE, 2, b, L, 0, 20);
    frag(&fr, 11, DK_HT_CLIENT_KEY_EXCHANGE, 2, b, L + 5, 20, L - 20);  /* length disagrees */
    frag(&fr, 12, DK_HT_CLIENT_KEY_EXCHANGE, 2, b, L - 2, 0, L);        /* flen > length */
    for (size_t i = 0; i < fr.n; i++) quiet(&d, &fr, i, "CKE fragment");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 2);
    /* fragment_length short of the record: the rest of the record is not a
     * valid fragment and is discarded */
    uint8_t hs[256], dg[512];
    size_t h = dk_craft_handshake(hs, sizeof hs, DK_HT_CLIENT_KEY_EXCHANGE, L, 2, 20, L - 20, b);
    dk_store_u24(hs + 9, L - 22);
    size_t n = dk_craft_record(dg, sizeof dg, DK_CT_HANDSHAKE, DK_DTLS12, 0, 13, hs, h);
    dk_dgl_clear(&fr);
    dk_dgl_push(&fr, dg, n);
    quiet(&d, &fr, 0, "short fragment_length");
    dk_dgl_clear(&fr);
    frag(&fr, 14, DK_HT_CLIENT_KEY_EXCHANGE, 2, b, L, 18, L - 18);
    quiet(&d, &fr, 0, "consistent rest");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 3);
    dk_dgl to_c = {0};
    conf_finish(&d, &r.flight5, &to_c);
    dk_dgl_clear(&fr);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T12c: a fragment claiming the CKE's type and length under the next
 * message_seq (which the Finished will use) must not keep the real Finished
 * out: the handshake still completes (R22, R30). */
static void test_T12_R22_R30_fragment_with_foreign_message_seq(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 122);
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl fr = {0};
    uint32_t L;
    const uint8_t *b = cke_body(&r, &L);
    frag(&fr, 10, DK_HT_CLIENT_KEY_EXCHANGE, 2, b, L, 0, 20);
    frag(&fr, 11, DK_HT_CLIENT_KEY_EXCHANGE, 3, b, L, 20, L - 20); /* ms disagrees */
    frag(&fr, 12, DK_HT_CLIENT_KEY_EXCHANGE, 2, b, L, 20, L - 20);
    for (size_t i = 0; i < fr.n; i++) quiet(&d, &fr, i, "CKE fragment");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 3);
    dk_dgl to_c = {0};
    conf_finish(&d, &r.flight5, &to_c);
    dk_dgl_clear(&fr);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T28a: wrong content types and record lengths that disagree with the
 * payload, at the gate and at the connection: silent discard (R30). */
static void test_T28_R30_wrong_content_type_and_record_length(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 28);
    dk_dgl ch0 = {0}, bad = {0};
    uint8_t dg[DK_DG_CAP];
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    static const uint8_t cts[] = {25, 99, DK_CT_APPLICATION_DATA, DK_CT_ALERT};
    for (size_t i = 0; i < sizeof cts; i++) {
        size_t n = conf_copy(&ch0, 0, dg);
        assert_true(dk_craft_set_ct(dg, n, 0, cts[i]));
        dk_dgl_push(&bad, dg, n);
    }
    size_t n = conf_copy(&ch0, 0, dg);
    assert_true(dk_craft_set_rlen(dg, n, 0, (uint16_t)(n - 13 + 5))); /* beyond the datagram */
    dk_dgl_push(&bad, dg, n);
    n = conf_copy(&ch0, 0, dg);
    assert_true(dk_craft_set_rlen(dg, n, 0, (uint16_t)(n - 13 - 5))); /* handshake cut short */
    dk_dgl_push(&bad, dg, n);
    for (size_t i = 0; i < bad.n; i++) quiet(&d, &bad, i, "malformed ClientHello datagram");
    assert_null(d.s);
    assert_int_equal(d.gate_hvrs, 0);

    dk_duo_run r;
    dk_duo_free(&d);
    dk_duo_init(&d, "psk", "psk", 281);
    dk_duo_to_flight5(&d, &r);
    dk_dgl_clear(&bad);
    for (size_t i = 0; i < sizeof cts; i++) {
        n = conf_record(&r.flight5, 0, 0, dg); /* the CKE */
        assert_true(dk_craft_set_ct(dg, n, 0, cts[i]));
        dk_dgl_push(&bad, dg, n);
    }
    n = conf_copy(&r.flight5, 0, dg);
    assert_true(dk_craft_set_rlen(dg, n, 2, 100)); /* the Finished: beyond the datagram */
    dk_dgl_push(&bad, dg, n);
    n = conf_record(&r.flight5, 0, 2, dg);
    assert_true(dk_craft_set_rlen(dg, n, 0, (uint16_t)(n - 13 - 1))); /* Finished one byte short */
    dk_dgl_push(&bad, dg, n - 1);
    for (size_t i = 0; i < sizeof cts; i++) quiet(&d, &bad, i, "CKE with a wrong content type");
    assert_int_equal(dk_knob_next_recv_seq(d.s), 2);
    quiet(&d, &bad, sizeof cts, "flight 5 with a broken Finished record");
    quiet(&d, &bad, sizeof cts + 1, "Finished one byte short");
    assert_int_equal(dk_conn_state(d.s), DK_STATE_HANDSHAKING);
    dk_dgl to_c = {0};
    conf_finish(&d, &r.flight5, &to_c);
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&bad);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* T28b: a cookie length beyond the remaining bytes, at the gate and at a
 * connection: silent discard. */
static void test_T28_R30_cookie_length_beyond_body(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 282);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint8_t dg[DK_DG_CAP];
    dk_dgl bad = {0};
    size_t n = conf_copy(&r.ch1, 0, dg);
    uint32_t L;
    uint8_t *b = dk_craft_hs_body(dg, n, 0, &L, NULL, NULL);
    size_t co = dk_craft_ch_cookie_offset(b, L);
    assert_true(co > 0);
    b[co] = 255;
    uint8_t hvr[256];
    size_t hn = 0;
    assert_int_equal(dk_server_gate(d.scfg, d.peer, sizeof d.peer, dg, n, d.now, hvr, sizeof hvr, &hn),
                     DK_GATE_DROP);
    dk_dgl_push(&bad, dg, n);
    quiet(&d, &bad, 0, "cookie length beyond the body");
    assert_int_equal(dk_conn_state(d.s), DK_STATE_HANDSHAKING);
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &r.flight4);
    dk_dgl_clear(&bad);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T11_R21_R24_R38_fragmented_hello_out_of_order_overlapping),
        cmocka_unit_test(test_T11_R21_R24_R38_three_kilobyte_hello),
        cmocka_unit_test(test_T12_R22_R30_hello_fragments_disagreeing),
        cmocka_unit_test(test_T12_R22_R23_R30_cke_fragments_disagreeing),
        cmocka_unit_test(test_T12_R22_R30_fragment_with_foreign_message_seq),
        cmocka_unit_test(test_T28_R30_wrong_content_type_and_record_length),
        cmocka_unit_test(test_T28_R30_cookie_length_beyond_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
