/* Malformed handshake messages inside well-formed records (docs/ROBUSTNESS.md,
 * classes H1-H11): cookies of every length both ways, bogus and duplicate
 * extensions, invalid ECDHE points, signatures that do not verify,
 * certificates that do not parse, a wrong Finished, a message of a known type
 * out of order, and a forged fragment that collides with a real message.
 * Each case checks the result, the alert and the state, and that a fresh
 * handshake on the same configurations works afterwards. */
#include <stdlib.h>
#include <string.h>

#include "core/dk_core.h"
#include "rb_util.h"

#define HT_CH 1
#define HT_SH 2
#define HT_HVR 3
#define HT_CERT 11
#define HT_SKE 12
#define HT_CV 15
#define HT_CKE 16
#define HT_FIN 20

/* The body of the first unfragmented plaintext message of this type in a
 * list of datagrams, editable in place. */
static uint8_t *find_msg(dk_dgl *l, uint8_t type, uint32_t *blen, size_t *dg_index)
{
    for (size_t i = 0; i < l->n; i++) {
        size_t off[32], size[32];
        size_t n = dk_craft_records(l->p[i], l->len[i], off, size, 32);
        for (size_t k = 0; k < n; k++) {
            uint8_t t;
            uint8_t *b = dk_craft_hs_body(l->p[i], l->len[i], k, blen, NULL, &t);
            if (b && t == type) {
                if (dg_index) *dg_index = i;
                return b;
            }
        }
    }
    return NULL;
}

/* Deliver a list to one side; the first error result. */
static dk_result to_client(dk_duo *d, dk_dgl *l, dk_dgl *out)
{
    dk_result first = DK_OK;
    for (size_t i = 0; i < l->n; i++) {
        dk_result r = dk_duo_to_client(d, NULL, l->p[i], l->len[i], out);
        if (r < 0 && first == DK_OK) first = r;
    }
    return first;
}

static dk_result to_server(dk_duo *d, dk_dgl *l, dk_dgl *out)
{
    dk_result first = DK_OK;
    for (size_t i = 0; i < l->n; i++) {
        dk_result r = dk_duo_to_server(d, l->p[i], l->len[i], out);
        if (r < 0 && first == DK_OK) first = r;
    }
    return first;
}

/* The plaintext alert among out, or -1. */
static int alert_in(const dk_dgl *out)
{
    for (size_t i = 0; i < out->n; i++)
        if (out->len[i] >= 15 && out->p[i][0] == 21 && out->p[i][4] == 0) return out->p[i][14];
    return -1;
}

static void expect_failed(dk_conn *c, dk_result err, int alert, const dk_dgl *out)
{
    assert_int_equal(dk_conn_state(c), DK_STATE_FAILED);
    assert_int_equal(dk_conn_error(c), err);
    assert_true(dk_conn_error_reason(c)[0] != 0);
    if (alert >= 0) assert_int_equal(alert_in(out), alert);
}

static void done(dk_duo *d, dk_duo_run *r)
{
    assert_true(rb_fresh_handshake(d));
    dk_duo_run_free(r);
    dk_duo_free(d);
}

/* H1: HelloVerifyRequest cookies of every length. The client answers each
 * new cookie (1..255 bytes) with a ClientHello carrying exactly it; an empty
 * cookie or a repeated one is dropped. */
static void test_hvr_cookie_every_length(void **st)
{
    (void)st;
    for (size_t clen = 0; clen <= 255; clen++) {
        dk_duo d;
        dk_duo_init(&d, "psk", "psk", 300 + clen);
        dk_dgl ch0 = {0}, out = {0};
        assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
        uint8_t body[3 + 255], hs[300], dg[400];
        body[0] = 0xFE;
        body[1] = 0xFF;
        body[2] = (uint8_t)clen;
        for (size_t i = 0; i < clen; i++) body[3 + i] = (uint8_t)(i ^ clen);
        size_t hl = dk_craft_handshake(hs, sizeof hs, HT_HVR, (uint32_t)(3 + clen), 0, 0,
                                       (uint32_t)(3 + clen), body);
        size_t n = dk_craft_record(dg, sizeof dg, 22, 0xFEFF, 0, 0, hs, hl);
        assert_int_equal(dk_duo_to_client(&d, NULL, dg, n, &out), DK_OK);
        assert_int_equal(dk_conn_state(d.c), DK_STATE_HANDSHAKING);
        if (clen == 0) {
            assert_int_equal(out.n, 0);
        } else {
            assert_int_equal(out.n, 1);
            uint32_t blen;
            uint8_t *ch = find_msg(&out, HT_CH, &blen, NULL);
            assert_non_null(ch);
            size_t co = dk_craft_ch_cookie_offset(ch, blen);
            assert_int_equal(ch[co], clen);
            assert_memory_equal(ch + co + 1, body + 3, clen);
            dk_dgl_clear(&out);
            assert_int_equal(dk_duo_to_client(&d, NULL, dg, n, &out), DK_OK);
            assert_int_equal(out.n, 0); /* the same HVR again */
        }
        /* the server's cookie still works: the handshake completes */
        dk_dgl hvr = {0}, rest = {0};
        dk_duo_all_to_server(&d, &ch0, &hvr);
        assert_true(dk_duo_complete(&d, &rest, &hvr, 10000));
        dk_dgl_clear(&ch0);
        dk_dgl_clear(&out);
        dk_duo_free(&d);
    }
}

/* H2: ClientHellos with cookies of every length reaching an existing server
 * connection: each is answered by one stateless HelloVerifyRequest
 * (R38 c), the connection's state is untouched, the handshake completes. */
static void test_ch_cookie_every_length_on_connection(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "ec", "ec", 400);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint32_t blen;
    uint8_t *ch = find_msg(&r.ch1, HT_CH, &blen, NULL);
    assert_non_null(ch);
    uint8_t cookie[255], nb[1400], hs[1500], dg[1600];
    for (size_t clen = 0; clen <= 255; clen++) {
        for (size_t i = 0; i < clen; i++) cookie[i] = (uint8_t)(7 * i + clen);
        size_t nl = dk_craft_ch_with_cookie(ch, blen, cookie, clen, nb, sizeof nb);
        size_t hl = dk_craft_handshake(hs, sizeof hs, HT_CH, (uint32_t)nl, 5, 0, (uint32_t)nl, nb);
        size_t n = dk_craft_record(dg, sizeof dg, 22, 0xFEFD, 0, 50 + clen, hs, hl);
        rb_outcome o = rb_feed(&d, d.s, dg, n);
        assert_int_equal(o.res, DK_OK);
        assert_int_equal(o.after, DK_STATE_HANDSHAKING);
        assert_int_equal(o.datagrams, 1);
        assert_false(o.alert);
    }
    dk_dgl to_s = {0}, to_c = {0};
    dk_dgl_append(&to_c, &r.flight4);
    assert_true(dk_duo_complete(&d, &to_s, &to_c, 10000));
    done(&d, &r);
}

/* The client's ClientHello with cookie, rewritten by edit() and re-sent
 * as the client's (its transcript follows), through the gate. */
static void rewrite_ch1(dk_duo *d, dk_duo_run *r, size_t (*edit)(const uint8_t *, size_t, uint8_t *),
                        dk_dgl *out)
{
    uint8_t ch0[DK_DG_CAP];
    memset(r, 0, sizeof *r);
    assert_int_equal(dk_duo_connect(d, &r->ch0), DK_OK);
    dk_duo_all_to_server(d, &r->ch0, &r->hvr);
    dk_duo_all_to_client(d, &r->hvr, &r->ch1);
    (void)ch0;
    uint32_t blen;
    uint16_t ms;
    uint8_t type, nb[1600], hs[1700], dg[1800];
    const uint8_t *body = dk_craft_hs_body(r->ch1.p[0], r->ch1.len[0], 0, &blen, &ms, &type);
    assert_non_null(body);
    size_t nl = edit(body, blen, nb);
    assert_int_equal(dk_knob_client_hello_sent(d->c, ms, nb, nl), DK_OK);
    size_t hl = dk_craft_handshake(hs, sizeof hs, HT_CH, (uint32_t)nl, ms, 0, (uint32_t)nl, nb);
    size_t n = dk_craft_record(dg, sizeof dg, 22, 0xFEFD, 0, 1, hs, hl);
    (void)dk_duo_to_server(d, dg, n, out);
}

static size_t unknown_ext_empty(const uint8_t *b, size_t n, uint8_t *out)
{
    return dk_craft_ch_inflate(b, n, 0xFA5A, 0, out, 1600);
}
static size_t unknown_ext_300(const uint8_t *b, size_t n, uint8_t *out)
{
    return dk_craft_ch_inflate(b, n, 0xFFFF, 300, out, 1600);
}
static size_t duplicate_ems(const uint8_t *b, size_t n, uint8_t *out)
{
    return dk_craft_ch_inflate(b, n, 23 /* extended_master_secret */, 0, out, 1600);
}
static size_t ext_block_too_long(const uint8_t *b, size_t n, uint8_t *out)
{
    size_t m = dk_craft_ch_inflate(b, n, 0xFA5A, 4, out, 1600);
    /* the last extension claims 4 bytes more than there are */
    out[m - 4 - 1] = 8;
    return m;
}

/* H3: unknown extensions in a ClientHello are ignored. */
static void test_ch_unknown_extensions(void **st)
{
    (void)st;
    size_t (*edits[])(const uint8_t *, size_t, uint8_t *) = {unknown_ext_empty, unknown_ext_300};
    for (size_t i = 0; i < 2; i++) {
        dk_duo d;
        dk_duo_init(&d, "ec", "ec", 500 + i);
        dk_duo_run r;
        dk_dgl f4 = {0}, none = {0};
        rewrite_ch1(&d, &r, edits[i], &f4);
        assert_non_null(d.s);
        assert_true(dk_duo_complete(&d, &none, &f4, 10000));
        done(&d, &r);
    }
}

/* H4: a duplicate extension or a malformed extension block in a ClientHello
 * that carries a valid cookie: the gate admits it (the cookie does not cover
 * extensions), and the new connection fails at once with decode_error
 * instead of waiting, timer-less, for something else. */
static void test_ch_bad_extensions(void **st)
{
    (void)st;
    size_t (*edits[])(const uint8_t *, size_t, uint8_t *) = {duplicate_ems, ext_block_too_long};
    for (size_t i = 0; i < 2; i++) {
        dk_duo d;
        dk_duo_init(&d, "psk", "psk", 510 + i);
        dk_duo_run r;
        dk_dgl out = {0};
        rewrite_ch1(&d, &r, edits[i], &out);
        assert_non_null(d.s);
        dk_state st = dk_conn_state(d.s);
        if (st == DK_STATE_HANDSHAKING)
            fail_msg("edit %zu: server connection still handshaking, next timeout %llu", i,
                     (unsigned long long)dk_conn_next_timeout(d.s));
        expect_failed(d.s, DK_ERR_DECODE, 50, &out);
        dk_dgl_clear(&out);
        done(&d, &r);
    }
}

/* H5: a ServerHello with an extension the client did not offer, or twice
 * the same extension. */
static void sh_extension_case(uint16_t ext_type, int want_alert, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", seed);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    size_t di;
    uint32_t blen;
    uint8_t *sh = find_msg(&r.flight4, HT_SH, &blen, &di);
    assert_non_null(sh);
    /* rebuild the flight's first datagram with the ServerHello extended */
    uint8_t nb[600], hs[700], dg[DK_DG_CAP];
    memcpy(nb, sh, blen);
    /* ServerHello: version(2) random(32) sid(1+n) suite(2) comp(1) exts(2+...) */
    size_t p = 2 + 32 + 1 + sh[34] + 2 + 1;
    uint16_t ext_len = (uint16_t)((sh[p] << 8) | sh[p + 1]);
    size_t nl = blen;
    nb[nl++] = (uint8_t)(ext_type >> 8);
    nb[nl++] = (uint8_t)ext_type;
    nb[nl++] = 0;
    nb[nl++] = 0;
    ext_len = (uint16_t)(ext_len + 4);
    nb[p] = (uint8_t)(ext_len >> 8);
    nb[p + 1] = (uint8_t)ext_len;
    uint16_t ms;
    uint8_t t;
    dk_craft_hs_body(r.flight4.p[di], r.flight4.len[di], 0, NULL, &ms, &t);
    size_t hl = dk_craft_handshake(hs, sizeof hs, HT_SH, (uint32_t)nl, ms, 0, (uint32_t)nl, nb);
    size_t n = dk_craft_record(dg, sizeof dg, 22, 0xFEFD, 0, 1, hs, hl);
    dk_dgl out = {0};
    dk_result res = dk_duo_to_client(&d, NULL, dg, n, &out);
    /* RFC 5246 7.4.1.4: for an extension it did not offer the client "MUST
     * abort the handshake with an unsupported_extension fatal alert". */
    assert_true(res < 0);
    expect_failed(d.c, dk_conn_error(d.c), want_alert, &out);
    dk_dgl_clear(&out);
    done(&d, &r);
}

static void test_sh_unoffered_extension(void **st)
{
    (void)st;
    sh_extension_case(0xFA5A, 110 /* unsupported_extension */, 520);
}

static void test_sh_duplicate_extension(void **st)
{
    (void)st;
    sh_extension_case(23 /* EMS again */, -1, 521);
}


/* Rebuild a flight with every record in its own datagram, the message of
 * this type passed through edit (which may change its length). */
typedef size_t (*body_edit)(const uint8_t *b, size_t n, uint8_t *out);
static void rebuild(const dk_dgl *in, uint8_t type, body_edit edit, dk_dgl *out)
{
    for (size_t i = 0; i < in->n; i++) {
        size_t off[32], size[32];
        size_t n = dk_craft_records(in->p[i], in->len[i], off, size, 32);
        for (size_t k = 0; k < n; k++) {
            uint8_t dg[DK_DG_CAP], nb[DK_DG_CAP], hs[DK_DG_CAP];
            uint32_t blen;
            uint16_t ms;
            uint8_t t;
            const uint8_t *rec = in->p[i] + off[k];
            const uint8_t *b = dk_craft_hs_body(in->p[i], in->len[i], k, &blen, &ms, &t);
            if (!b || t != type) {
                dk_dgl_push(out, rec, size[k]);
                continue;
            }
            size_t nl = edit(b, blen, nb);
            size_t hl = dk_craft_handshake(hs, sizeof hs, t, (uint32_t)nl, ms, 0, (uint32_t)nl, nb);
            uint64_t rs = 0;
            for (int j = 5; j < 11; j++) rs = (rs << 8) | rec[j];
            size_t len = dk_craft_record(dg, sizeof dg, 22, 0xFEFD, 0, rs, hs, hl);
            dk_dgl_push(out, dg, len);
        }
    }
}

static size_t zero_tail_point(const uint8_t *b, size_t n, uint8_t *out)
{
    /* ClientKeyExchange (ECDHE): opaque point<1..255>; all-zero X25519 */
    memcpy(out, b, n);
    memset(out + 1, 0, n - 1);
    return n;
}

static size_t p256_off_curve(const uint8_t *b, size_t n, uint8_t *out)
{
    memcpy(out, b, n);
    out[n - 1] ^= 0x01; /* y + 1 is not on the curve with this x */
    return n;
}

static size_t flip_last(const uint8_t *b, size_t n, uint8_t *out)
{
    memcpy(out, b, n);
    out[n - 1] ^= 0x80;
    return n;
}

static size_t ske_psk_zero_point(const uint8_t *b, size_t n, uint8_t *out)
{
    /* ECDHE_PSK ServerKeyExchange: hint<0..2^16-1>, ECParameters (3 bytes),
     * point<1..255> */
    memcpy(out, b, n);
    size_t p = 2 + (size_t)((b[0] << 8) | b[1]) + 3;
    memset(out + p + 1, 0, b[p]);
    return n;
}

static size_t cert_der_not_sequence(const uint8_t *b, size_t n, uint8_t *out)
{
    memcpy(out, b, n);
    out[6] = 0x31; /* the leaf's DER no longer starts with SEQUENCE */
    return n;
}

static size_t cert_der_tbs_byte(const uint8_t *b, size_t n, uint8_t *out)
{
    memcpy(out, b, n);
    out[6 + 40] ^= 0x01; /* inside the leaf's tbsCertificate */
    return n;
}

static size_t cert_empty_list(const uint8_t *b, size_t n, uint8_t *out)
{
    (void)b;
    (void)n;
    memset(out, 0, 3);
    return 3;
}

static size_t cert_garbage(const uint8_t *b, size_t n, uint8_t *out)
{
    (void)b;
    (void)n;
    /* one "certificate" of 40 bytes that is not DER */
    static const uint8_t hdr[] = {0, 0, 43, 0, 0, 40};
    memcpy(out, hdr, sizeof hdr);
    for (size_t i = 0; i < 40; i++) out[6 + i] = (uint8_t)(0xA0 + i);
    return sizeof hdr + 40;
}

/* Server's flight 4 edited and delivered to the client. */
static void client_case(const char *kind, const char *ciphers, uint8_t type, body_edit edit,
                        dk_result err, int alert, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, kind, kind, seed);
    if (ciphers) assert_int_equal(dk_config_set_ciphers(d.ccfg, ciphers), DK_OK);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_dgl bad = {0}, out = {0};
    rebuild(&r.flight4, type, edit, &bad);
    dk_result res = to_client(&d, &bad, &out);
    assert_int_equal(res, err);
    expect_failed(d.c, err, alert, &out);
    dk_dgl_clear(&bad);
    dk_dgl_clear(&out);
    done(&d, &r);
}

/* Client's flight 5 edited and delivered to the server. */
static void server_case(const char *kind, const char *ciphers, uint8_t type, body_edit edit,
                        int alert, uint64_t seed)
{
    dk_duo d;
    dk_duo_init(&d, kind, kind, seed);
    if (ciphers) assert_int_equal(dk_config_set_ciphers(d.ccfg, ciphers), DK_OK);
    if (!strcmp(ciphers ? ciphers : "", "ECDHE-ECDSA-AES128-GCM-SHA256")) {
        static const uint16_t p256[] = {DK_GROUP_SECP256R1};
        assert_int_equal(dk_config_set_groups(d.ccfg, p256, 1), DK_OK);
    }
    dk_duo_run r;
    dk_duo_to_flight5(&d, &r);
    dk_dgl bad = {0}, out = {0};
    rebuild(&r.flight5, type, edit, &bad);
    dk_result res = to_server(&d, &bad, &out);
    assert_true(res < 0);
    assert_int_equal(dk_conn_state(d.s), DK_STATE_FAILED);
    assert_true(dk_conn_error_reason(d.s)[0] != 0);
    assert_int_equal(alert_in(&out), alert);
    dk_dgl_clear(&bad);
    dk_dgl_clear(&out);
    done(&d, &r);
}

/* H6: invalid ECDHE points (RFC 8422 5.11, RFC 7748 6.1). */
static void test_cke_x25519_zero(void **st)
{
    (void)st;
    server_case("ec", NULL, HT_CKE, zero_tail_point, 47, 600);
}
static void test_cke_p256_off_curve(void **st)
{
    (void)st;
    server_case("ec", "ECDHE-ECDSA-AES128-GCM-SHA256", HT_CKE, p256_off_curve, 47, 601);
}
static void test_ske_psk_zero_point(void **st)
{
    (void)st;
    client_case("psk", "ECDHE-PSK-CHACHA20-POLY1305", HT_SKE, ske_psk_zero_point, DK_ERR_CRYPTO,
                47, 602);
}

/* H7: signatures that do not verify. */
static void test_ske_signature_ecdsa(void **st)
{
    (void)st;
    client_case("ec", NULL, HT_SKE, flip_last, DK_ERR_SIGNATURE, 51, 610);
}
static void test_ske_signature_rsa(void **st)
{
    (void)st;
    client_case("rsa", NULL, HT_SKE, flip_last, DK_ERR_SIGNATURE, 51, 611);
}
static void test_cert_verify_signature(void **st)
{
    (void)st;
    server_case("ec+auth", NULL, HT_CV, flip_last, 51, 612);
}

/* H8: certificates that do not parse or verify. */
static void test_cert_not_der(void **st)
{
    (void)st;
    client_case("ec", NULL, HT_CERT, cert_der_not_sequence, DK_ERR_CERT, 42, 620);
}
static void test_cert_tbs_changed(void **st)
{
    (void)st;
    /* bad_certificate or unknown_ca, depending on which field the byte is in */
    client_case("ec", NULL, HT_CERT, cert_der_tbs_byte, DK_ERR_CERT, -1, 621);
}
static void test_cert_garbage(void **st)
{
    (void)st;
    client_case("ec", NULL, HT_CERT, cert_garbage, DK_ERR_CERT, 42, 622);
}
static void test_cert_empty_list(void **st)
{
    (void)st;
    client_case("ec", NULL, HT_CERT, cert_empty_list, DK_ERR_CERT, 50, 623);
}
static void test_client_cert_garbage(void **st)
{
    (void)st;
    server_case("ec+auth", NULL, HT_CERT, cert_garbage, 42, 624);
}

/* H10: a message of a known type, in order, but not the one expected:
 * unexpected_message, fatal. */
static void test_known_type_out_of_order(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "ec", "ec", 630);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint8_t dg[64];
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, 9, 14 /* ServerHelloDone */,
                                  dk_knob_next_recv_seq(d.c), NULL, 0, 0, 0);
    rb_outcome o = rb_feed(&d, d.c, dg, n);
    rb_assert_fatal(&o, d.c, DK_ERR_HANDSHAKE, 10);
    done(&d, &r);
}

/* H11: a forged fragment for the very message the client waits for, with
 * another length, takes that message_seq's reassembly slot; the real
 * ServerHello, arriving whole, is still taken (a whole message in order does
 * not need the slot) and the handshake completes. */
static void test_colliding_fragment(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 640);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint8_t body[200] = {0}, dg[300];
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, 9, HT_SH, dk_knob_next_recv_seq(d.c), body,
                                  200, 0, 100);
    rb_outcome o = rb_feed(&d, d.c, dg, n);
    rb_assert_discarded(&o);
    dk_dgl to_s = {0}, to_c = {0};
    dk_dgl_append(&to_c, &r.flight4);
    assert_true(dk_duo_complete(&d, &to_s, &to_c, 10000));
    done(&d, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hvr_cookie_every_length),
        cmocka_unit_test(test_ch_cookie_every_length_on_connection),
        cmocka_unit_test(test_ch_unknown_extensions),
        cmocka_unit_test(test_ch_bad_extensions),
        cmocka_unit_test(test_sh_unoffered_extension),
        cmocka_unit_test(test_sh_duplicate_extension),
        cmocka_unit_test(test_cke_x25519_zero),
        cmocka_unit_test(test_cke_p256_off_curve),
        cmocka_unit_test(test_ske_psk_zero_point),
        cmocka_unit_test(test_ske_signature_ecdsa),
        cmocka_unit_test(test_ske_signature_rsa),
        cmocka_unit_test(test_cert_verify_signature),
        cmocka_unit_test(test_cert_not_der),
        cmocka_unit_test(test_cert_tbs_changed),
        cmocka_unit_test(test_cert_garbage),
        cmocka_unit_test(test_cert_empty_list),
        cmocka_unit_test(test_client_cert_garbage),
        cmocka_unit_test(test_known_type_out_of_order),
        cmocka_unit_test(test_colliding_fragment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
