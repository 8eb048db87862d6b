/* Unit tests for the handshake header, hello messages and hello extensions.
 * Expected bytes are built by hand from the RFC structs (RFC 6347 4.2,
 * RFC 5246 7.4.1, RFC 6066, RFC 8422, RFC 7627, RFC 5746). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "handshake/dk_msg.h"

/* ---- a ClientHello built byte by byte ----------------------------------- */

#define RANDOM_00_1F                                                                               \
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e,    \
        0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, \
        0x1e, 0x1f

/* The known extensions in the order dk_client_hello_write emits them. */
#define CH_KNOWN_EXTS                                                                              \
    /* server_name: list<12> { host_name(0), "localhost"<9> } */                                   \
    0x00, 0x00, 0x00, 0x0e, 0x00, 0x0c, 0x00, 0x00, 0x09, 'l', 'o', 'c', 'a', 'l', 'h', 'o', 's', \
        't', /* supported_groups { secp256r1 } */                                                 \
        0x00, 0x0a, 0x00, 0x04, 0x00, 0x02, 0x00, 0x17, /* ec_point_formats { uncompressed } */   \
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, /* signature_algorithms { ecdsa_secp256r1_sha256 } */ \
        0x00, 0x0d, 0x00, 0x04, 0x00, 0x02, 0x04, 0x03, /* extended_master_secret */              \
        0x00, 0x17, 0x00, 0x00, /* renegotiation_info, empty renegotiated_connection */           \
        0xff, 0x01, 0x00, 0x01, 0x00

#define CH_PARAMS                                                                                  \
    0xfe, 0xfd,             /* client_version DTLS 1.2 */                                          \
        RANDOM_00_1F,       /* random */                                                           \
        0x00,               /* session_id: empty (offset 34) */                                    \
        0x04, 0xc1, 0xc2, 0xc3, 0xc4, /* cookie<4> (length byte at offset 35) */                   \
        0x00, 0x04, 0xc0, 0x2b, 0xc0, 0xae, /* cipher_suites: 0xC02B, 0xC0AE */                    \
        0x01, 0x00                            /* compression_methods { null }; ends at 48 */

static const uint8_t hand_ch[] = {
    CH_PARAMS,
    0x00, 0x37, /* extensions<55> */
    CH_KNOWN_EXTS,
    0x12, 0x34, 0x00, 0x02, 0xab, 0xcd, /* unknown extension 0x1234, skipped */
};
#define HAND_CH_COOKIE_OFFSET 35
#define HAND_CH_PARAMS_END 48

/* What dk_client_hello_write must produce for the same values. */
static const uint8_t hand_ch_written[] = {CH_PARAMS, 0x00, 0x31, CH_KNOWN_EXTS};

static const uint8_t random_00_1f[32] = {RANDOM_00_1F};

static dk_result parse_ch(const uint8_t *p, size_t n, dk_client_hello *ch)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    return dk_client_hello_read(&r, ch);
}

static dk_result parse_exts(const uint8_t *p, size_t n, bool sh, dk_hello_exts *e)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    return dk_exts_read(&r, sh, e);
}

static void test_client_hello_hand_built(void **state)
{
    (void)state;
    dk_client_hello ch;
    assert_int_equal(parse_ch(hand_ch, sizeof hand_ch, &ch), DK_OK);
    assert_int_equal(ch.version, 0xfefd);
    assert_ptr_equal(ch.random, hand_ch + 2);
    assert_int_equal(ch.session_id_len, 0);
    assert_int_equal(ch.cookie_len, 4);
    assert_memory_equal(ch.cookie, "\xc1\xc2\xc3\xc4", 4);
    assert_int_equal(ch.suites_len, 4);
    assert_memory_equal(ch.suites, "\xc0\x2b\xc0\xae", 4);
    assert_int_equal(ch.compressions_len, 1);
    assert_int_equal(ch.compressions[0], 0);
    assert_int_equal(ch.cookie_offset, HAND_CH_COOKIE_OFFSET);
    assert_int_equal(hand_ch[ch.cookie_offset], 4);
    assert_int_equal(ch.params_end, HAND_CH_PARAMS_END);
    const dk_hello_exts *e = &ch.exts;
    assert_true(e->present_server_name);
    assert_int_equal(e->server_name_len, 9);
    assert_memory_equal(e->server_name, "localhost", 9);
    assert_true(e->present_groups);
    assert_int_equal(e->groups_len, 2);
    assert_memory_equal(e->groups, "\x00\x17", 2);
    assert_true(e->present_point_formats);
    assert_int_equal(e->point_formats_len, 1);
    assert_int_equal(e->point_formats[0], 0);
    assert_true(e->present_sig_algs);
    assert_int_equal(e->sig_algs_len, 2);
    assert_memory_equal(e->sig_algs, "\x04\x03", 2);
    assert_true(e->ems);
    assert_true(e->present_reneg_info);
    assert_int_equal(e->reneg_info_len, 0);
}

/* Every strict prefix of the ClientHello is malformed, except the one that
 * ends right after compression_methods: extensions are optional (RFC 5246
 * 7.4.1.2), so that prefix is a valid ClientHello without extensions. Each
 * prefix lives in a buffer of exactly its size so ASan sees any overread. */
static void test_client_hello_truncated(void **state)
{
    (void)state;
    for (size_t n = 0; n < sizeof hand_ch; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        assert_non_null(copy);
        memcpy(copy, hand_ch, n);
        dk_client_hello ch;
        dk_result rc = parse_ch(copy, n, &ch);
        if (n == HAND_CH_PARAMS_END) {
            assert_int_equal(rc, DK_OK);
            assert_false(ch.exts.present_server_name);
            assert_false(ch.exts.ems);
        } else {
            if (rc != DK_ERR_DECODE) print_error("prefix of %zu bytes\n", n);
            assert_int_equal(rc, DK_ERR_DECODE);
        }
        free(copy);
    }
}

static void test_client_hello_trailing_garbage(void **state)
{
    (void)state;
    uint8_t buf[sizeof hand_ch + 1];
    memcpy(buf, hand_ch, sizeof hand_ch);
    buf[sizeof hand_ch] = 0;
    dk_client_hello ch;
    assert_int_equal(parse_ch(buf, sizeof buf, &ch), DK_ERR_DECODE);
    /* One byte after compression_methods is not an extension block. */
    assert_int_equal(parse_ch(buf, HAND_CH_PARAMS_END + 1, &ch), DK_ERR_DECODE);
}

static void test_client_hello_compression_without_null(void **state)
{
    (void)state;
    uint8_t buf[sizeof hand_ch];
    memcpy(buf, hand_ch, sizeof buf);
    buf[HAND_CH_PARAMS_END - 1] = 0x01; /* { DEFLATE } */
    dk_client_hello ch;
    assert_int_equal(parse_ch(buf, sizeof buf, &ch), DK_ERR_HANDSHAKE);
}

static void test_client_hello_bad_vectors(void **state)
{
    (void)state;
    uint8_t buf[sizeof hand_ch];
    dk_client_hello ch;
    /* cipher_suites<3>: an odd length is not a list of uint16. */
    memcpy(buf, hand_ch, sizeof buf);
    buf[41] = 0x03;
    assert_int_equal(parse_ch(buf, sizeof buf, &ch), DK_ERR_DECODE);
    /* session_id longer than 32 */
    uint8_t sid[2 + 32 + 1 + 33 + 1 + 4 + 2] = {0xfe, 0xfd};
    sid[34] = 33;
    assert_int_equal(parse_ch(sid, sizeof sid, &ch), DK_ERR_DECODE);
}

static void test_client_hello_write_exact(void **state)
{
    (void)state;
    const uint8_t cookie[] = {0xc1, 0xc2, 0xc3, 0xc4};
    const uint16_t suites[] = {0xc02b, 0xc0ae};
    const uint16_t groups[] = {0x0017};
    const uint16_t sig_algs[] = {0x0403};
    dk_client_hello_out out = {
        .version = DK_DTLS12, .random = random_00_1f, .cookie = cookie, .cookie_len = 4,
        .suites = suites, .n_suites = 2, .groups = groups, .n_groups = 1,
        .sig_algs = sig_algs, .n_sig_algs = 1, .server_name = "localhost", .ems = true,
        .reneg_info = true,
    };
    uint8_t buf[256];
    dk_writer w;
    dk_writer_init(&w, buf, sizeof buf);
    dk_client_hello_write(&w, &out);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    assert_int_equal(w.off, sizeof hand_ch_written);
    assert_memory_equal(buf, hand_ch_written, sizeof hand_ch_written);
    /* A buffer one byte short overflows. */
    dk_writer_init(&w, buf, sizeof hand_ch_written - 1);
    dk_client_hello_write(&w, &out);
    assert_int_equal(dk_writer_status(&w), DK_ERR_BUFFER_TOO_SMALL);
}

static void test_client_hello_write_no_exts(void **state)
{
    (void)state;
    const uint16_t suites[] = {0xc0ae};
    dk_client_hello_out out = {.version = DK_DTLS12, .random = random_00_1f, .suites = suites,
                               .n_suites = 1};
    const uint8_t want[] = {0xfe, 0xfd, RANDOM_00_1F, 0x00, 0x00, 0x00, 0x02, 0xc0, 0xae,
                            0x01, 0x00};
    uint8_t buf[128];
    dk_writer w;
    dk_writer_init(&w, buf, sizeof buf);
    dk_client_hello_write(&w, &out);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    assert_int_equal(w.off, sizeof want);
    assert_memory_equal(buf, want, sizeof want);
    dk_client_hello ch;
    assert_int_equal(parse_ch(buf, w.off, &ch), DK_OK);
    assert_int_equal(ch.cookie_len, 0);
    assert_int_equal(ch.params_end, sizeof want);
    assert_false(ch.exts.present_groups);
}

static void test_client_hello_round_trip(void **state)
{
    (void)state;
    uint8_t cookie[255];
    for (size_t i = 0; i < sizeof cookie; i++) cookie[i] = (uint8_t)(i * 7);
    const uint16_t suites[] = {0xc02b, 0xc02c, 0xcca9, 0xc0ae};
    const uint16_t groups[] = {0x001d, 0x0017};
    const uint16_t sig_algs[] = {0x0403, 0x0804, 0x0401};
    dk_client_hello_out out = {
        .version = DK_DTLS12, .random = random_00_1f, .cookie = cookie, .cookie_len = 255,
        .suites = suites, .n_suites = 4, .groups = groups, .n_groups = 2,
        .sig_algs = sig_algs, .n_sig_algs = 3, .server_name = "example.org", .ems = true,
    };
    uint8_t buf[512];
    dk_writer w;
    dk_writer_init(&w, buf, sizeof buf);
    dk_client_hello_write(&w, &out);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    dk_client_hello ch;
    assert_int_equal(parse_ch(buf, w.off, &ch), DK_OK);
    assert_int_equal(ch.version, DK_DTLS12);
    assert_memory_equal(ch.random, random_00_1f, 32);
    assert_int_equal(ch.cookie_len, 255);
    assert_memory_equal(ch.cookie, cookie, 255);
    assert_int_equal(ch.cookie_offset, 35);
    assert_int_equal(ch.params_end, 35 + 1 + 255 + 2 + 8 + 2);
    assert_int_equal(ch.suites_len, 8);
    assert_memory_equal(ch.suites, "\xc0\x2b\xc0\x2c\xcc\xa9\xc0\xae", 8);
    assert_int_equal(ch.exts.groups_len, 4);
    assert_memory_equal(ch.exts.groups, "\x00\x1d\x00\x17", 4);
    assert_int_equal(ch.exts.point_formats_len, 1);
    assert_int_equal(ch.exts.sig_algs_len, 6);
    assert_memory_equal(ch.exts.sig_algs, "\x04\x03\x08\x04\x04\x01", 6);
    assert_int_equal(ch.exts.server_name_len, 11);
    assert_memory_equal(ch.exts.server_name, "example.org", 11);
    assert_true(ch.exts.ems);
    assert_false(ch.exts.present_reneg_info);
}

/* ---- extensions ----------------------------------------------------------- */

static void test_exts_duplicate_rejected(void **state)
{
    (void)state;
    dk_hello_exts e;
    const uint8_t dup_ems[] = {0x00, 0x17, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00};
    assert_int_equal(parse_exts(dup_ems, sizeof dup_ems, false, &e), DK_ERR_DECODE);
    const uint8_t dup_unknown[] = {0x12, 0x34, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00,
                                   0x12, 0x34, 0x00, 0x01, 0x55};
    assert_int_equal(parse_exts(dup_unknown, sizeof dup_unknown, false, &e), DK_ERR_DECODE);
    const uint8_t distinct[] = {0x12, 0x34, 0x00, 0x00, 0x12, 0x35, 0x00, 0x00};
    assert_int_equal(parse_exts(distinct, sizeof distinct, false, &e), DK_OK);
}

static void test_exts_ems_with_body_rejected(void **state)
{
    (void)state;
    dk_hello_exts e;
    const uint8_t ems_body[] = {0x00, 0x17, 0x00, 0x01, 0x00};
    assert_int_equal(parse_exts(ems_body, sizeof ems_body, false, &e), DK_ERR_DECODE);
    assert_int_equal(parse_exts(ems_body, sizeof ems_body, true, &e), DK_ERR_DECODE);
    const uint8_t ems[] = {0x00, 0x17, 0x00, 0x00};
    assert_int_equal(parse_exts(ems, sizeof ems, true, &e), DK_OK);
    assert_true(e.ems);
}

static void test_exts_server_name_rules(void **state)
{
    (void)state;
    dk_hello_exts e;
    const uint8_t empty[] = {0x00, 0x00, 0x00, 0x00};
    assert_int_equal(parse_exts(empty, sizeof empty, false, &e), DK_ERR_DECODE);
    assert_int_equal(parse_exts(empty, sizeof empty, true, &e), DK_OK);
    assert_true(e.present_server_name);
    assert_null(e.server_name);
    /* A ServerHello's server_name must be empty. */
    const uint8_t one[] = {0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 0x00, 0x00, 0x01, 'a'};
    assert_int_equal(parse_exts(one, sizeof one, true, &e), DK_ERR_DECODE);
    assert_int_equal(parse_exts(one, sizeof one, false, &e), DK_OK);
    assert_int_equal(e.server_name_len, 1);
    assert_int_equal(e.server_name[0], 'a');
    /* An unknown name_type is skipped, the host_name entry taken. */
    const uint8_t mixed[] = {0x00, 0x00, 0x00, 0x0b, 0x00, 0x09, 0x07, 0x00, 0x02, 'x', 'y',
                             0x00, 0x00, 0x01, 'b'};
    assert_int_equal(parse_exts(mixed, sizeof mixed, false, &e), DK_OK);
    assert_int_equal(e.server_name_len, 1);
    assert_int_equal(e.server_name[0], 'b');
    /* Two host_name entries (RFC 6066 3), an empty HostName, an empty list. */
    const uint8_t two[] = {0x00, 0x00, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x00, 0x01, 'a',
                           0x00, 0x00, 0x01, 'b'};
    assert_int_equal(parse_exts(two, sizeof two, false, &e), DK_ERR_DECODE);
    const uint8_t empty_name[] = {0x00, 0x00, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00};
    assert_int_equal(parse_exts(empty_name, sizeof empty_name, false, &e), DK_ERR_DECODE);
    const uint8_t empty_list[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(parse_exts(empty_list, sizeof empty_list, false, &e), DK_ERR_DECODE);
}

static void test_exts_list_rules(void **state)
{
    (void)state;
    dk_hello_exts e;
    const uint8_t groups_odd[] = {0x00, 0x0a, 0x00, 0x05, 0x00, 0x03, 0x00, 0x17, 0x00};
    assert_int_equal(parse_exts(groups_odd, sizeof groups_odd, false, &e), DK_ERR_DECODE);
    const uint8_t groups_empty[] = {0x00, 0x0a, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(parse_exts(groups_empty, sizeof groups_empty, false, &e), DK_ERR_DECODE);
    /* Body longer than the list inside it: must be consumed exactly. */
    const uint8_t groups_extra[] = {0x00, 0x0a, 0x00, 0x05, 0x00, 0x02, 0x00, 0x17, 0x00};
    assert_int_equal(parse_exts(groups_extra, sizeof groups_extra, false, &e), DK_ERR_DECODE);
    const uint8_t pf_empty[] = {0x00, 0x0b, 0x00, 0x01, 0x00};
    assert_int_equal(parse_exts(pf_empty, sizeof pf_empty, false, &e), DK_ERR_DECODE);
    const uint8_t pf_three[] = {0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02};
    assert_int_equal(parse_exts(pf_three, sizeof pf_three, false, &e), DK_OK);
    assert_int_equal(e.point_formats_len, 3);
    const uint8_t sig_odd[] = {0x00, 0x0d, 0x00, 0x05, 0x00, 0x03, 0x04, 0x03, 0x08};
    assert_int_equal(parse_exts(sig_odd, sizeof sig_odd, false, &e), DK_ERR_DECODE);
    const uint8_t reneg[] = {0xff, 0x01, 0x00, 0x03, 0x02, 0xaa, 0xbb};
    assert_int_equal(parse_exts(reneg, sizeof reneg, true, &e), DK_OK);
    assert_int_equal(e.reneg_info_len, 2);
    assert_memory_equal(e.reneg_info, "\xaa\xbb", 2);
    const uint8_t reneg_extra[] = {0xff, 0x01, 0x00, 0x02, 0x00, 0x00};
    assert_int_equal(parse_exts(reneg_extra, sizeof reneg_extra, true, &e), DK_ERR_DECODE);
    const uint8_t reneg_none[] = {0xff, 0x01, 0x00, 0x00};
    assert_int_equal(parse_exts(reneg_none, sizeof reneg_none, true, &e), DK_ERR_DECODE);
    /* An extension header whose length runs past the block. */
    const uint8_t overrun[] = {0x12, 0x34, 0x00, 0x03, 0x00};
    assert_int_equal(parse_exts(overrun, sizeof overrun, false, &e), DK_ERR_DECODE);
    const uint8_t half[] = {0x12};
    assert_int_equal(parse_exts(half, sizeof half, false, &e), DK_ERR_DECODE);
}

/* ---- ServerHello, HelloVerifyRequest -------------------------------------- */

static void test_server_hello_write_exact_and_read(void **state)
{
    (void)state;
    const uint8_t sid[3] = {0x51, 0x52, 0x53};
    dk_server_hello_out out = {.version = DK_DTLS12, .random = random_00_1f, .session_id = sid,
                               .session_id_len = 3, .suite = 0xc02b, .ems = true,
                               .reneg_info = true, .point_formats = true};
    const uint8_t want[] = {
        0xfe, 0xfd, RANDOM_00_1F, 0x03, 0x51, 0x52, 0x53, 0xc0, 0x2b, 0x00,
        0x00, 0x0f,                         /* extensions<15> */
        0xff, 0x01, 0x00, 0x01, 0x00,       /* renegotiation_info */
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, /* ec_point_formats */
        0x00, 0x17, 0x00, 0x00,             /* extended_master_secret */
    };
    uint8_t buf[128];
    dk_writer w;
    dk_writer_init(&w, buf, sizeof buf);
    dk_server_hello_write(&w, &out);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    assert_int_equal(w.off, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    dk_reader r;
    dk_server_hello sh;
    dk_reader_init(&r, buf, w.off);
    assert_int_equal(dk_server_hello_read(&r, &sh), DK_OK);
    assert_int_equal(sh.version, DK_DTLS12);
    assert_memory_equal(sh.random, random_00_1f, 32);
    assert_int_equal(sh.session_id_len, 3);
    assert_memory_equal(sh.session_id, sid, 3);
    assert_int_equal(sh.suite, 0xc02b);
    assert_int_equal(sh.compression, 0);
    assert_true(sh.exts.ems);
    assert_true(sh.exts.present_reneg_info);
    assert_true(sh.exts.present_point_formats);
    assert_false(sh.exts.present_groups);

    /* Without extensions the block is omitted. */
    dk_server_hello_out bare = {.version = DK_DTLS12, .random = random_00_1f, .suite = 0xc0ae};
    dk_writer_init(&w, buf, sizeof buf);
    dk_server_hello_write(&w, &bare);
    assert_int_equal(w.off, 2 + 32 + 1 + 2 + 1);
    dk_reader_init(&r, buf, w.off);
    assert_int_equal(dk_server_hello_read(&r, &sh), DK_OK);
    assert_false(sh.exts.ems);
}

static void test_server_hello_rejects(void **state)
{
    (void)state;
    uint8_t buf[2 + 32 + 1 + 2 + 1 + 2] = {0xfe, 0xfd};
    buf[35] = 0xc0;
    buf[36] = 0x2b;
    dk_reader r;
    dk_server_hello sh;
    dk_reader_init(&r, buf, 38);
    assert_int_equal(dk_server_hello_read(&r, &sh), DK_OK);
    buf[37] = 1; /* compression_method DEFLATE */
    dk_reader_init(&r, buf, 38);
    assert_int_equal(dk_server_hello_read(&r, &sh), DK_ERR_HANDSHAKE);
    buf[37] = 0;
    dk_reader_init(&r, buf, 39); /* one stray byte */
    assert_int_equal(dk_server_hello_read(&r, &sh), DK_ERR_DECODE);
    dk_reader_init(&r, buf, 40); /* empty extensions block is fine */
    assert_int_equal(dk_server_hello_read(&r, &sh), DK_OK);
    for (size_t n = 0; n < 38; n++) {
        dk_reader_init(&r, buf, n);
        assert_int_equal(dk_server_hello_read(&r, &sh), DK_ERR_DECODE);
    }
}

static void test_hello_verify_exact(void **state)
{
    (void)state;
    const uint8_t cookie[] = {0xaa, 0xbb, 0xcc};
    dk_hello_verify hv = {.version = DK_DTLS10, .cookie = cookie, .cookie_len = 3};
    const uint8_t want[] = {0xfe, 0xff, 0x03, 0xaa, 0xbb, 0xcc};
    uint8_t buf[16];
    dk_writer w;
    dk_writer_init(&w, buf, sizeof buf);
    dk_hello_verify_write(&w, &hv);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    assert_int_equal(w.off, sizeof want);
    assert_memory_equal(buf, want, sizeof want);

    dk_hello_verify got;
    dk_reader r;
    dk_reader_init(&r, want, sizeof want);
    assert_int_equal(dk_hello_verify_read(&r, &got), DK_OK);
    assert_int_equal(got.version, DK_DTLS10);
    assert_int_equal(got.cookie_len, 3);
    assert_memory_equal(got.cookie, cookie, 3);
    dk_reader_init(&r, want, sizeof want - 1);
    assert_int_equal(dk_hello_verify_read(&r, &got), DK_ERR_DECODE);
    const uint8_t extra[] = {0xfe, 0xfd, 0x00, 0x00};
    dk_reader_init(&r, extra, sizeof extra);
    assert_int_equal(dk_hello_verify_read(&r, &got), DK_ERR_DECODE);
    dk_reader_init(&r, extra, 3);
    assert_int_equal(dk_hello_verify_read(&r, &got), DK_OK);
    assert_int_equal(got.cookie_len, 0);
}

/* ---- header, Finished, empty bodies, names ---------------------------------- */

static void test_hs_header_fragment(void **state)
{
    (void)state;
    uint8_t buf[DK_HS_HEADER_LEN + 0x20 + 1];
    const uint8_t hdr[DK_HS_HEADER_LEN] = {
        0x01,             /* client_hello */
        0x00, 0x01, 0x00, /* length 256 */
        0x00, 0x02,       /* message_seq 2 */
        0x00, 0x00, 0x40, /* fragment_offset 64 */
        0x00, 0x00, 0x20, /* fragment_length 32 */
    };
    memcpy(buf, hdr, sizeof hdr);
    for (size_t i = 0; i < 0x21; i++) buf[DK_HS_HEADER_LEN + i] = (uint8_t)(0x80 + i);
    dk_reader r;
    dk_hs_header h;
    const uint8_t *frag = NULL;
    dk_reader_init(&r, buf, sizeof buf);
    assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_OK);
    assert_int_equal(h.type, DK_HT_CLIENT_HELLO);
    assert_int_equal(h.length, 256);
    assert_int_equal(h.seq, 2);
    assert_int_equal(h.frag_offset, 64);
    assert_int_equal(h.frag_length, 32);
    assert_ptr_equal(frag, buf + DK_HS_HEADER_LEN);
    assert_int_equal(r.off, DK_HS_HEADER_LEN + 32); /* the next message's byte is left */

    uint8_t out[DK_HS_HEADER_LEN];
    dk_writer w;
    dk_writer_init(&w, out, sizeof out);
    dk_hs_header_write(&w, &h);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    assert_memory_equal(out, hdr, sizeof hdr);

    /* Fewer than fragment_length bytes follow: nothing consumed. */
    dk_reader_init(&r, buf, DK_HS_HEADER_LEN + 31);
    assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_ERR_DECODE);
    assert_int_equal(r.off, 0);
    for (size_t n = 0; n < DK_HS_HEADER_LEN; n++) {
        dk_reader_init(&r, buf, n);
        assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_ERR_DECODE);
    }
}

static void test_hs_header_ranges(void **state)
{
    (void)state;
    dk_reader r;
    dk_hs_header h;
    const uint8_t *frag;
    /* offset 0xF0 + length 0x20 > 0x100 */
    uint8_t past[DK_HS_HEADER_LEN + 0x20] = {0x01, 0x00, 0x01, 0x00, 0x00, 0x00,
                                             0x00, 0x00, 0xf0, 0x00, 0x00, 0x20};
    dk_reader_init(&r, past, sizeof past);
    assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_ERR_DECODE);
    past[8] = 0xe0; /* ends exactly at length */
    dk_reader_init(&r, past, sizeof past);
    assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_OK);
    /* ServerHelloDone: length 0, fragment 0. */
    const uint8_t shd[] = {0x0e, 0, 0, 0, 0x00, 0x04, 0, 0, 0, 0, 0, 0};
    dk_reader_init(&r, shd, sizeof shd);
    assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_OK);
    assert_int_equal(h.type, DK_HT_SERVER_HELLO_DONE);
    assert_int_equal(h.length, 0);
    assert_int_equal(r.off, sizeof shd);
    /* Empty fragment of a non-empty message. */
    const uint8_t empty_frag[] = {0x0b, 0, 0, 0x10, 0, 1, 0, 0, 0x04, 0, 0, 0};
    dk_reader_init(&r, empty_frag, sizeof empty_frag);
    assert_int_equal(dk_hs_header_read(&r, &h, &frag), DK_ERR_DECODE);
}

static void test_finished_and_empty(void **state)
{
    (void)state;
    uint8_t vd[13];
    for (size_t i = 0; i < sizeof vd; i++) vd[i] = (uint8_t)(0xa0 + i);
    dk_reader r;
    const uint8_t *got = NULL;
    dk_reader_init(&r, vd, 12);
    assert_int_equal(dk_finished_read(&r, &got), DK_OK);
    assert_ptr_equal(got, vd);
    assert_int_equal(r.off, 12);
    dk_reader_init(&r, vd, 11);
    assert_int_equal(dk_finished_read(&r, &got), DK_ERR_DECODE);
    dk_reader_init(&r, vd, 13);
    assert_int_equal(dk_finished_read(&r, &got), DK_ERR_DECODE);

    dk_reader_init(&r, vd, 0);
    assert_int_equal(dk_empty_read(&r), DK_OK);
    dk_reader_init(&r, vd, 1);
    assert_int_equal(dk_empty_read(&r), DK_ERR_DECODE);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(dk_hs_type_name(0), "HelloRequest");
    assert_string_equal(dk_hs_type_name(1), "ClientHello");
    assert_string_equal(dk_hs_type_name(2), "ServerHello");
    assert_string_equal(dk_hs_type_name(3), "HelloVerifyRequest");
    assert_string_equal(dk_hs_type_name(11), "Certificate");
    assert_string_equal(dk_hs_type_name(12), "ServerKeyExchange");
    assert_string_equal(dk_hs_type_name(13), "CertificateRequest");
    assert_string_equal(dk_hs_type_name(14), "ServerHelloDone");
    assert_string_equal(dk_hs_type_name(15), "CertificateVerify");
    assert_string_equal(dk_hs_type_name(16), "ClientKeyExchange");
    assert_string_equal(dk_hs_type_name(20), "Finished");
    assert_string_equal(dk_hs_type_name(4), "Unknown(4)");
    assert_string_equal(dk_hs_type_name(255), "Unknown(255)");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_hello_hand_built),
        cmocka_unit_test(test_client_hello_truncated),
        cmocka_unit_test(test_client_hello_trailing_garbage),
        cmocka_unit_test(test_client_hello_compression_without_null),
        cmocka_unit_test(test_client_hello_bad_vectors),
        cmocka_unit_test(test_client_hello_write_exact),
        cmocka_unit_test(test_client_hello_write_no_exts),
        cmocka_unit_test(test_client_hello_round_trip),
        cmocka_unit_test(test_exts_duplicate_rejected),
        cmocka_unit_test(test_exts_ems_with_body_rejected),
        cmocka_unit_test(test_exts_server_name_rules),
        cmocka_unit_test(test_exts_list_rules),
        cmocka_unit_test(test_server_hello_write_exact_and_read),
        cmocka_unit_test(test_server_hello_rejects),
        cmocka_unit_test(test_hello_verify_exact),
        cmocka_unit_test(test_hs_header_fragment),
        cmocka_unit_test(test_hs_header_ranges),
        cmocka_unit_test(test_finished_and_empty),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
