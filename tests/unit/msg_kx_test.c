/* Unit tests for Certificate, CertificateRequest, ServerKeyExchange,
 * ClientKeyExchange and CertificateVerify codecs. Expected bytes are built by
 * hand from the RFC structs (RFC 5246 7.4, RFC 8422 5.4/5.7, RFC 4279 2,
 * RFC 5489 2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "handshake/dk_msg.h"

static uint8_t g_buf[1024];

/* Writer output lands in g_buf; returns its length after checking status. */
#define WRITE_INTO(w)                                                                              \
    dk_writer w;                                                                                   \
    dk_writer_init(&w, g_buf, sizeof g_buf)

static void expect_bytes(const dk_writer *w, const uint8_t *want, size_t n)
{
    assert_int_equal(dk_writer_status(w), DK_OK);
    assert_int_equal(w->off, n);
    assert_memory_equal(w->p, want, n);
}

/* ---- Certificate ----------------------------------------------------------- */

static void test_certificate_exact_and_round_trip(void **state)
{
    (void)state;
    const uint8_t c1[] = {0x30, 0x01, 0xaa};
    const uint8_t c2[] = {0x30, 0x00};
    const uint8_t *der[] = {c1, c2};
    const size_t len[] = {sizeof c1, sizeof c2};
    const uint8_t want[] = {0x00, 0x00, 0x0b, 0x00, 0x00, 0x03, 0x30, 0x01, 0xaa,
                            0x00, 0x00, 0x02, 0x30, 0x00};
    WRITE_INTO(w);
    dk_certificate_write(&w, der, len, 2);
    expect_bytes(&w, want, sizeof want);

    dk_reader r;
    dk_certificate c;
    dk_reader_init(&r, want, sizeof want);
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_OK);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.len[0], 3);
    assert_ptr_equal(c.der[0], want + 6);
    assert_int_equal(c.len[1], 2);
    assert_ptr_equal(c.der[1], want + 12);

    /* max_chain 1: a second certificate is over the limit. */
    dk_reader_init(&r, want, sizeof want);
    assert_int_equal(dk_certificate_read(&r, 1, &c), DK_ERR_LIMIT);
    for (size_t n = 0; n < sizeof want; n++) {
        dk_reader_init(&r, want, n);
        assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_ERR_DECODE);
    }
}

static void test_certificate_rules(void **state)
{
    (void)state;
    dk_reader r;
    dk_certificate c;
    const uint8_t empty[] = {0x00, 0x00, 0x00};
    dk_reader_init(&r, empty, sizeof empty);
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_OK);
    assert_int_equal(c.n, 0);
    /* ASN.1Cert<1..2^24-1>: an empty certificate is malformed. */
    const uint8_t zero_cert[] = {0x00, 0x00, 0x03, 0x00, 0x00, 0x00};
    dk_reader_init(&r, zero_cert, sizeof zero_cert);
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_ERR_DECODE);
    /* List length shorter than the entry inside it. */
    const uint8_t short_list[] = {0x00, 0x00, 0x03, 0x00, 0x00, 0x01, 0x30};
    dk_reader_init(&r, short_list, sizeof short_list);
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_ERR_DECODE);
    /* Trailing byte after the list. */
    const uint8_t trailing[] = {0x00, 0x00, 0x00, 0x00};
    dk_reader_init(&r, trailing, sizeof trailing);
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_ERR_DECODE);

    /* DK_MAX_CHAIN + 1 one-byte certificates: over the limit even when the
     * caller asks for more than DK_MAX_CHAIN. */
    uint8_t many[3 + 4 * (DK_MAX_CHAIN + 1)];
    many[0] = 0;
    many[1] = 0;
    many[2] = 4 * (DK_MAX_CHAIN + 1);
    for (size_t i = 0; i <= DK_MAX_CHAIN; i++) {
        uint8_t *e = many + 3 + 4 * i;
        e[0] = 0;
        e[1] = 0;
        e[2] = 1;
        e[3] = (uint8_t)i;
    }
    dk_reader_init(&r, many, sizeof many);
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN + 5, &c), DK_ERR_LIMIT);
    dk_reader_init(&r, many, sizeof many - 4);
    many[2] = 4 * DK_MAX_CHAIN;
    assert_int_equal(dk_certificate_read(&r, DK_MAX_CHAIN, &c), DK_OK);
    assert_int_equal(c.n, DK_MAX_CHAIN);
    assert_int_equal(c.der[DK_MAX_CHAIN - 1][0], DK_MAX_CHAIN - 1);
}

/* ---- CertificateRequest ------------------------------------------------------ */

static void test_certificate_request(void **state)
{
    (void)state;
    const uint8_t types[] = {64, 1}; /* ecdsa_sign, rsa_sign */
    const uint16_t algs[] = {0x0403, 0x0804};
    const uint8_t want[] = {0x02, 0x40, 0x01, 0x00, 0x04, 0x04, 0x03, 0x08, 0x04, 0x00, 0x00};
    WRITE_INTO(w);
    dk_certificate_request_write(&w, types, 2, algs, 2);
    expect_bytes(&w, want, sizeof want);

    dk_reader r;
    dk_certificate_request cr;
    dk_reader_init(&r, want, sizeof want);
    assert_int_equal(dk_certificate_request_read(&r, &cr), DK_OK);
    assert_int_equal(cr.cert_types_len, 2);
    assert_memory_equal(cr.cert_types, types, 2);
    assert_int_equal(cr.sig_algs_len, 4);
    assert_memory_equal(cr.sig_algs, "\x04\x03\x08\x04", 4);
    assert_int_equal(cr.cas_len, 0);
    for (size_t n = 0; n < sizeof want; n++) {
        dk_reader_init(&r, want, n);
        assert_int_equal(dk_certificate_request_read(&r, &cr), DK_ERR_DECODE);
    }

    /* Two distinguished names, then a malformed list (empty DN). */
    const uint8_t with_cas[] = {0x01, 0x40, 0x00, 0x02, 0x04, 0x03, 0x00, 0x07,
                                0x00, 0x02, 0x30, 0x00, 0x00, 0x01, 0x31};
    dk_reader_init(&r, with_cas, sizeof with_cas);
    assert_int_equal(dk_certificate_request_read(&r, &cr), DK_OK);
    assert_int_equal(cr.cas_len, 7);
    assert_ptr_equal(cr.cas, with_cas + 8);
    const uint8_t empty_dn[] = {0x01, 0x40, 0x00, 0x02, 0x04, 0x03, 0x00, 0x02, 0x00, 0x00};
    dk_reader_init(&r, empty_dn, sizeof empty_dn);
    assert_int_equal(dk_certificate_request_read(&r, &cr), DK_ERR_DECODE);
    const uint8_t no_types[] = {0x00, 0x00, 0x02, 0x04, 0x03, 0x00, 0x00};
    dk_reader_init(&r, no_types, sizeof no_types);
    assert_int_equal(dk_certificate_request_read(&r, &cr), DK_ERR_DECODE);
    const uint8_t odd_algs[] = {0x01, 0x40, 0x00, 0x03, 0x04, 0x03, 0x02, 0x00, 0x00};
    dk_reader_init(&r, odd_algs, sizeof odd_algs);
    assert_int_equal(dk_certificate_request_read(&r, &cr), DK_ERR_DECODE);
}

/* ---- ServerKeyExchange --------------------------------------------------------- */

static const uint8_t point4[] = {0x04, 0x11, 0x22, 0x33};

static void test_ske_ecdhe_sign(void **state)
{
    (void)state;
    const uint8_t sig[] = {0x30, 0x02, 0x01, 0x00};
    /* ServerECDHParams { named_curve(3), secp256r1(23), point<4> }, then
     * DigitallySigned { ecdsa_secp256r1_sha256 (4,3), signature<4> } */
    const uint8_t want[] = {0x03, 0x00, 0x17, 0x04, 0x04, 0x11, 0x22, 0x33,
                            0x04, 0x03, 0x00, 0x04, 0x30, 0x02, 0x01, 0x00};
    uint8_t params[16];
    dk_writer pw;
    dk_writer_init(&pw, params, sizeof params);
    dk_ecdh_params_write(&pw, 0x0017, point4, sizeof point4);
    expect_bytes(&pw, want, 8);

    dk_server_key_exchange ske = {.group = 0x0017, .point = point4, .point_len = 4,
                                  .params = params, .params_len = pw.off,
                                  .sig_scheme = 0x0403, .sig = sig, .sig_len = 4};
    WRITE_INTO(w);
    dk_server_key_exchange_write(&w, DK_KX_ECDHE_SIGN, &ske);
    expect_bytes(&w, want, sizeof want);
    /* Without pre-encoded params the writer builds them from group/point. */
    ske.params = NULL;
    dk_writer_init(&w, g_buf, sizeof g_buf);
    dk_server_key_exchange_write(&w, DK_KX_ECDHE_SIGN, &ske);
    expect_bytes(&w, want, sizeof want);

    dk_server_key_exchange got;
    dk_reader r;
    dk_reader_init(&r, want, sizeof want);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_OK);
    assert_int_equal(got.group, 0x0017);
    assert_int_equal(got.point_len, 4);
    assert_memory_equal(got.point, point4, 4);
    assert_ptr_equal(got.params, want);
    assert_int_equal(got.params_len, 8);
    assert_int_equal(got.sig_scheme, 0x0403);
    assert_int_equal(got.sig_len, 4);
    assert_memory_equal(got.sig, sig, 4);
    assert_null(got.hint);
    for (size_t n = 0; n < sizeof want; n++) {
        dk_reader_init(&r, want, n);
        assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_ERR_DECODE);
    }
}

static void test_ske_ecdhe_rejects(void **state)
{
    (void)state;
    dk_server_key_exchange got;
    dk_reader r;
    /* explicit_prime(1) curve type: illegal_parameter */
    const uint8_t explicit[] = {0x01, 0x00, 0x17, 0x01, 0x04, 0x04, 0x03, 0x00, 0x00};
    dk_reader_init(&r, explicit, sizeof explicit);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_ERR_HANDSHAKE);
    /* point<1..2^8-1>: empty point */
    const uint8_t empty_point[] = {0x03, 0x00, 0x17, 0x00, 0x04, 0x03, 0x00, 0x00};
    dk_reader_init(&r, empty_point, sizeof empty_point);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_ERR_DECODE);
    /* Empty signature is well-formed (signature<0..2^16-1>); a stray byte is not. */
    const uint8_t ok[] = {0x03, 0x00, 0x17, 0x01, 0x04, 0x04, 0x03, 0x00, 0x00, 0xff};
    dk_reader_init(&r, ok, sizeof ok - 1);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_OK);
    assert_int_equal(got.sig_len, 0);
    dk_reader_init(&r, ok, sizeof ok);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_ERR_DECODE);
    /* A kind the codec does not know. */
    dk_reader_init(&r, ok, sizeof ok - 1);
    assert_int_equal(dk_server_key_exchange_read(&r, (dk_kx_kind)7, &got), DK_ERR_INVALID_ARG);
}

static void test_ske_psk_kinds(void **state)
{
    (void)state;
    dk_server_key_exchange ske = {.hint = (const uint8_t *)"hint", .hint_len = 4,
                                  .group = 0x001d, .point = point4, .point_len = 4,
                                  .sig_scheme = 0x0403};
    const uint8_t want_psk[] = {0x00, 0x04, 'h', 'i', 'n', 't'};
    WRITE_INTO(w);
    dk_server_key_exchange_write(&w, DK_KX_PSK, &ske);
    expect_bytes(&w, want_psk, sizeof want_psk);

    const uint8_t want_ecdhe_psk[] = {0x00, 0x04, 'h',  'i',  'n',  't',  0x03,
                                      0x00, 0x1d, 0x04, 0x04, 0x11, 0x22, 0x33};
    dk_writer_init(&w, g_buf, sizeof g_buf);
    dk_server_key_exchange_write(&w, DK_KX_ECDHE_PSK, &ske);
    expect_bytes(&w, want_ecdhe_psk, sizeof want_ecdhe_psk);

    dk_server_key_exchange got;
    dk_reader r;
    dk_reader_init(&r, want_psk, sizeof want_psk);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_PSK, &got), DK_OK);
    assert_int_equal(got.hint_len, 4);
    assert_memory_equal(got.hint, "hint", 4);
    assert_null(got.point);
    dk_reader_init(&r, want_ecdhe_psk, sizeof want_ecdhe_psk);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_PSK, &got), DK_OK);
    assert_int_equal(got.hint_len, 4);
    assert_int_equal(got.group, 0x001d);
    assert_int_equal(got.point_len, 4);
    assert_memory_equal(got.point, point4, 4);
    assert_ptr_equal(got.params, want_ecdhe_psk + 6);
    assert_int_equal(got.params_len, 8);
    assert_null(got.sig);
    /* No signature may follow in ECDHE_PSK. */
    dk_reader_init(&r, want_ecdhe_psk, sizeof want_ecdhe_psk);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_PSK, &got), DK_ERR_DECODE);
    const uint8_t empty_hint[] = {0x00, 0x00};
    dk_reader_init(&r, empty_hint, sizeof empty_hint);
    assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_PSK, &got), DK_OK);
    assert_int_equal(got.hint_len, 0);
    for (size_t n = 0; n < sizeof want_ecdhe_psk; n++) {
        dk_reader_init(&r, want_ecdhe_psk, n);
        assert_int_equal(dk_server_key_exchange_read(&r, DK_KX_ECDHE_PSK, &got), DK_ERR_DECODE);
    }
}

/* ---- ClientKeyExchange ----------------------------------------------------------- */

static void test_cke_kinds(void **state)
{
    (void)state;
    dk_client_key_exchange cke = {.identity = (const uint8_t *)"id1", .identity_len = 3,
                                  .point = point4, .point_len = 4};
    const uint8_t want_ecdhe[] = {0x04, 0x04, 0x11, 0x22, 0x33};
    const uint8_t want_psk[] = {0x00, 0x03, 'i', 'd', '1'};
    const uint8_t want_ecdhe_psk[] = {0x00, 0x03, 'i', 'd', '1', 0x04, 0x04, 0x11, 0x22, 0x33};
    const struct {
        dk_kx_kind kind;
        const uint8_t *want;
        size_t n;
    } cases[] = {
        {DK_KX_ECDHE_SIGN, want_ecdhe, sizeof want_ecdhe},
        {DK_KX_PSK, want_psk, sizeof want_psk},
        {DK_KX_ECDHE_PSK, want_ecdhe_psk, sizeof want_ecdhe_psk},
    };
    for (size_t i = 0; i < DK_ARRAY_LEN(cases); i++) {
        WRITE_INTO(w);
        dk_client_key_exchange_write(&w, cases[i].kind, &cke);
        expect_bytes(&w, cases[i].want, cases[i].n);
        dk_client_key_exchange got;
        dk_reader r;
        dk_reader_init(&r, cases[i].want, cases[i].n);
        assert_int_equal(dk_client_key_exchange_read(&r, cases[i].kind, &got), DK_OK);
        if (cases[i].kind != DK_KX_PSK) {
            assert_int_equal(got.point_len, 4);
            assert_memory_equal(got.point, point4, 4);
        } else {
            assert_null(got.point);
        }
        if (cases[i].kind != DK_KX_ECDHE_SIGN) {
            assert_int_equal(got.identity_len, 3);
            assert_memory_equal(got.identity, "id1", 3);
        } else {
            assert_null(got.identity);
        }
        for (size_t n = 0; n < cases[i].n; n++) {
            dk_reader_init(&r, cases[i].want, n);
            assert_int_equal(dk_client_key_exchange_read(&r, cases[i].kind, &got), DK_ERR_DECODE);
        }
    }
    dk_client_key_exchange got;
    dk_reader r;
    const uint8_t empty_point[] = {0x00};
    dk_reader_init(&r, empty_point, 1);
    assert_int_equal(dk_client_key_exchange_read(&r, DK_KX_ECDHE_SIGN, &got), DK_ERR_DECODE);
    dk_reader_init(&r, want_ecdhe_psk, sizeof want_ecdhe_psk);
    assert_int_equal(dk_client_key_exchange_read(&r, DK_KX_PSK, &got), DK_ERR_DECODE);
}

/* ---- CertificateVerify --------------------------------------------------------------- */

static void test_certificate_verify(void **state)
{
    (void)state;
    const uint8_t sig[] = {0xde, 0xad, 0xbe};
    dk_certificate_verify cv = {.sig_scheme = 0x0804, .sig = sig, .sig_len = 3};
    const uint8_t want[] = {0x08, 0x04, 0x00, 0x03, 0xde, 0xad, 0xbe};
    WRITE_INTO(w);
    dk_certificate_verify_write(&w, &cv);
    expect_bytes(&w, want, sizeof want);
    dk_certificate_verify got;
    dk_reader r;
    dk_reader_init(&r, want, sizeof want);
    assert_int_equal(dk_certificate_verify_read(&r, &got), DK_OK);
    assert_int_equal(got.sig_scheme, 0x0804);
    assert_int_equal(got.sig_len, 3);
    assert_memory_equal(got.sig, sig, 3);
    for (size_t n = 0; n < sizeof want; n++) {
        dk_reader_init(&r, want, n);
        assert_int_equal(dk_certificate_verify_read(&r, &got), DK_ERR_DECODE);
    }
    uint8_t longer[sizeof want + 1];
    memcpy(longer, want, sizeof want);
    longer[sizeof want] = 0;
    dk_reader_init(&r, longer, sizeof longer);
    assert_int_equal(dk_certificate_verify_read(&r, &got), DK_ERR_DECODE);
}

/* Writers report overflow instead of writing past the buffer. */
static void test_writers_overflow(void **state)
{
    (void)state;
    uint8_t small[5];
    dk_writer w;
    dk_certificate_verify cv = {.sig_scheme = 0x0403, .sig = small, .sig_len = 4};
    dk_writer_init(&w, small, sizeof small);
    dk_certificate_verify_write(&w, &cv);
    assert_int_equal(dk_writer_status(&w), DK_ERR_BUFFER_TOO_SMALL);
    uint8_t big_point[256] = {0};
    dk_writer_init(&w, g_buf, sizeof g_buf);
    dk_ecdh_params_write(&w, 0x0017, big_point, sizeof big_point); /* point<1..255> */
    assert_int_equal(dk_writer_status(&w), DK_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_certificate_exact_and_round_trip),
        cmocka_unit_test(test_certificate_rules),
        cmocka_unit_test(test_certificate_request),
        cmocka_unit_test(test_ske_ecdhe_sign),
        cmocka_unit_test(test_ske_ecdhe_rejects),
        cmocka_unit_test(test_ske_psk_kinds),
        cmocka_unit_test(test_cke_kinds),
        cmocka_unit_test(test_certificate_verify),
        cmocka_unit_test(test_writers_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
