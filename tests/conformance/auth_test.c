/* Conformance: client authentication with certificates (T18) and the
 * client's side of a CertificateRequest (T27). RFC 5246 7.4.4, 7.4.6,
 * 7.4.8; RFC 6347 4.2.2. */
#include "conf.h"

/* The client's flight 5 with client authentication, one record each:
 * Certificate (ms 2), ClientKeyExchange (3), CertificateVerify (4), CCS,
 * Finished (ms 5, epoch 1). */
enum { A_CERT, A_CKE, A_CV, A_CCS, A_FIN, A_N };

static void setup(dk_duo *d, dk_duo_run *r, dk_dgl *recs, const char *ckind, uint64_t seed)
{
    dk_duo_init(d, ckind, "ec+auth", seed);
    dk_duo_to_flight5(d, r);
    conf_split(&r->flight5, recs);
}

static void teardown(dk_duo *d, dk_duo_run *r, dk_dgl *recs)
{
    dk_dgl_clear(recs);
    dk_duo_run_free(r);
    dk_duo_free(d);
}

/* Deliver one datagram; the answer is appended to out. */
static void put(dk_duo *d, const uint8_t *p, size_t n, dk_dgl *out)
{
    (void)dk_duo_to_server(d, p, n, out);
}

/* The flight as the client built it is what a conforming client sends. */
static void check_flight(const dk_dgl *recs)
{
    dk_obsl ol;
    dk_obs_parse(&ol, recs);
    assert_int_equal(recs->n, A_N);
    ASSERT_HS(&ol.o[A_CERT], DK_HT_CERTIFICATE, 2, ol.o[A_CERT].rseq);
    ASSERT_HS(&ol.o[A_CKE], DK_HT_CLIENT_KEY_EXCHANGE, 3, ol.o[A_CKE].rseq);
    ASSERT_HS(&ol.o[A_CV], DK_HT_CERTIFICATE_VERIFY, 4, ol.o[A_CV].rseq);
    assert_true(ol.o[A_CCS].ccs);
    assert_int_equal(ol.o[A_FIN].epoch, 1);
}

/* The plaintext of an epoch-0 handshake record, sealed again by the client
 * in its current write epoch (1) as one record. */
static void reseal(dk_duo *d, const dk_dgl *recs, size_t idx, uint16_t ms, dk_dgl *out)
{
    uint8_t pt[DK_DG_CAP];
    size_t n = recs->len[idx] - DK_RECORD_HEADER_LEN;
    memcpy(pt, recs->p[idx] + DK_RECORD_HEADER_LEN, n);
    dk_store_u16(pt + 4, ms);
    assert_int_equal(dk_knob_send_record(d->c, DK_CT_HANDSHAKE, pt, n), DK_OK);
    dk_duo_poll(d->c, out);
}

/* T18 baseline: the conforming flight completes with the client
 * authenticated. */
static void test_T18_baseline_client_auth_completes(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    dk_dgl recs = {0}, to_c = {0};
    setup(&d, &r, &recs, "ec+auth", 180);
    check_flight(&recs);
    conf_finish(&d, &recs, &to_c);
    dk_conn_info si;
    assert_int_equal(dk_conn_get_info(d.s, &si), DK_OK);
    assert_true(si.peer_authenticated);
    assert_int_not_equal(si.sig_scheme, 0);
    teardown(&d, &r, &recs);
}

/* T18a: client authentication required, the client has no certificate and
 * sends an empty Certificate (and no CertificateVerify): fatal
 * handshake_failure, no server Finished. */
static void test_T18a_required_client_cert_missing(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    dk_dgl recs = {0}, out = {0};
    setup(&d, &r, &recs, "ec", 181);
    dk_duo_all_to_server(&d, &r.flight5, &out);
    conf_assert_fatal_only(d.s, &out, 40); /* handshake_failure */
    assert_int_equal(dk_conn_error(d.s), DK_ERR_CERT);
    dk_dgl_clear(&out);
    teardown(&d, &r, &recs);
}

/* T18b: Certificate, CKE, then CCS and a Finished in CertificateVerify's
 * place: fatal unexpected_message, no server Finished. */
static void test_T18b_certificate_without_certificate_verify(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    dk_dgl recs = {0}, out = {0}, fin = {0};
    setup(&d, &r, &recs, "ec+auth", 182);
    uint8_t vd[12], hs[24];
    assert_int_equal(dk_knob_client_finished(d.c, vd), DK_OK);
    size_t n = dk_craft_handshake(hs, sizeof hs, DK_HT_FINISHED, 12, 4, 0, 12, vd);
    assert_int_equal(dk_knob_send_record(d.c, DK_CT_HANDSHAKE, hs, n), DK_OK);
    dk_duo_poll(d.c, &fin);
    for (size_t i = A_CERT; i <= A_CKE; i++) put(&d, recs.p[i], recs.len[i], &out);
    put(&d, recs.p[A_CCS], recs.len[A_CCS], &out);
    conf_expect_silence(&out, "Certificate, CKE, CCS");
    put(&d, fin.p[0], fin.len[0], &out);
    conf_assert_fatal_only(d.s, &out, 10); /* unexpected_message */
    dk_dgl_clear(&out);
    dk_dgl_clear(&fin);
    teardown(&d, &r, &recs);
}

/* T18c: CCS before CertificateVerify. A CertificateVerify sent after the
 * CCS, in epoch 1, is a protocol violation: fatal unexpected_message, no
 * server Finished. (The plaintext CertificateVerify of the same flight
 * merely reordered behind the CCS by the network is not: that completes.) */
static void test_T18c_ccs_before_certificate_verify(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    dk_dgl recs = {0}, out = {0}, cv = {0};
    setup(&d, &r, &recs, "ec+auth", 183);
    reseal(&d, &recs, A_CV, 4, &cv);
    for (size_t i = A_CERT; i <= A_CKE; i++) put(&d, recs.p[i], recs.len[i], &out);
    put(&d, recs.p[A_CCS], recs.len[A_CCS], &out);
    conf_expect_silence(&out, "Certificate, CKE, CCS");
    put(&d, cv.p[0], cv.len[0], &out);
    conf_assert_fatal_only(d.s, &out, 10);
    dk_dgl_clear(&out);
    dk_dgl_clear(&cv);
    teardown(&d, &r, &recs);

    setup(&d, &r, &recs, "ec+auth", 1831);
    static const size_t order[] = {A_CERT, A_CKE, A_CCS, A_CV, A_FIN};
    for (size_t i = 0; i < A_N; i++) put(&d, recs.p[order[i]], recs.len[order[i]], &out);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_ESTABLISHED);
    dk_dgl none = {0};
    conf_finish(&d, &none, &out);
    teardown(&d, &r, &recs);
}

/* T18d: two Certificates (the second numbered where CKE belongs): fatal
 * unexpected_message, no server Finished. */
static void test_T18d_two_certificates(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    dk_dgl recs = {0}, out = {0};
    setup(&d, &r, &recs, "ec+auth", 184);
    uint8_t dg[DK_DG_CAP];
    size_t n = conf_copy(&recs, A_CERT, dg);
    assert_true(dk_craft_set_ms(dg, n, 0, 3));
    assert_true(dk_craft_set_rseq(dg, n, 0, 30));
    put(&d, recs.p[A_CERT], recs.len[A_CERT], &out);
    conf_expect_silence(&out, "Certificate");
    put(&d, dg, n, &out);
    conf_assert_fatal_only(d.s, &out, 10);
    dk_dgl_clear(&out);
    teardown(&d, &r, &recs);
}

/* T18e: ClientKeyExchange where the Certificate belongs (ms 2): fatal
 * unexpected_message, no server Finished. */
static void test_T18e_cke_before_certificate(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_run r;
    dk_dgl recs = {0}, out = {0};
    setup(&d, &r, &recs, "ec+auth", 185);
    uint8_t dg[DK_DG_CAP];
    size_t n = conf_copy(&recs, A_CKE, dg);
    assert_true(dk_craft_set_ms(dg, n, 0, 2));
    put(&d, dg, n, &out);
    conf_assert_fatal_only(d.s, &out, 10);
    dk_dgl_clear(&out);
    teardown(&d, &r, &recs);
}

/* T27c (client): a duplicated CertificateRequest (the same message_seq in
 * a new record) is an old message and dropped: the handshake completes. A
 * second CertificateRequest under a new message_seq is rejected or dropped;
 * never a ClientHello in response. */
static void test_T27c_client_duplicate_certificate_request(void **st)
{
    (void)st;
    for (int new_ms = 0; new_ms <= 1; new_ms++) {
        dk_duo d;
        dk_duo_init(&d, "ec+auth", "ec+auth", 2703 + (uint64_t)new_ms);
        dk_duo_run r;
        dk_duo_to_flight4(&d, &r);
        dk_dgl recs = {0}, f5 = {0};
        conf_split(&r.flight4, &recs);
        dk_obsl ol;
        dk_obs_parse(&ol, &recs);
        const dk_obs *cr = dk_obs_find(&ol, -1, DK_HT_CERTIFICATE_REQUEST, 0);
        assert_non_null(cr);
        size_t idx = (size_t)(cr - ol.o);
        uint8_t dg[DK_DG_CAP];
        size_t n = conf_copy(&recs, idx, dg);
        assert_true(dk_craft_set_rseq(dg, n, 0, 90));
        if (new_ms) assert_true(dk_craft_set_ms(dg, n, 0, (uint16_t)(cr->ms + 1)));
        for (size_t i = 0; i <= idx; i++) (void)dk_duo_to_client(&d, NULL, recs.p[i], recs.len[i], &f5);
        (void)dk_duo_to_client(&d, NULL, dg, n, &f5);
        dk_obs_parse(&ol, &f5);
        assert_int_equal(dk_obs_count(&ol, -1, DK_HT_CLIENT_HELLO), 0);
        if (dk_conn_state(d.c) == DK_STATE_FAILED) {
            assert_true(new_ms);
        } else {
            conf_expect_silence(&f5, "client after a second CertificateRequest");
            for (size_t i = idx + 1; i < recs.n; i++)
                (void)dk_duo_to_client(&d, NULL, recs.p[i], recs.len[i], &f5);
            dk_dgl to_c = {0};
            conf_finish(&d, &f5, &to_c);
        }
        dk_dgl_clear(&recs);
        dk_dgl_clear(&f5);
        dk_duo_run_free(&r);
        dk_duo_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T18_baseline_client_auth_completes),
        cmocka_unit_test(test_T18a_required_client_cert_missing),
        cmocka_unit_test(test_T18b_certificate_without_certificate_verify),
        cmocka_unit_test(test_T18c_ccs_before_certificate_verify),
        cmocka_unit_test(test_T18d_two_certificates),
        cmocka_unit_test(test_T18e_cke_before_certificate),
        cmocka_unit_test(test_T27c_client_duplicate_certificate_request),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
