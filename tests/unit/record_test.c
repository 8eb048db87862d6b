/* Unit tests for the record layer: header codec (R25, R30) and AEAD
 * protection in place (RFC 6347 4.1, RFC 5288, RFC 6655, RFC 7905).
 *
 * The expected record bytes were computed independently with Python's
 * `cryptography` package (AESGCM, AESCCM(tag_length=8), ChaCha20Poly1305):
 * key16 = 10 11 .. 1f, key32 = 40 41 .. 5f, salt = a1b2c3d4,
 * chacha iv = 0c0d0e0f1011121314151617, epoch 1, seq 0x010203040506... as
 * 48 bits 0x010203040506, type 23, version fefd,
 * plaintext "hello dtlskit record"; nonce = salt || explicit (GCM, CCM) or
 * iv XOR (0^4 || epoch || seq); AAD = epoch || seq || type || version || len.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/dk_record.h"

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
    return n;
}

static const char pt_text[] = "hello dtlskit record";
#define PT_LEN (sizeof pt_text - 1)
#define EPOCH 1
#define SEQ 0x010203040506ULL

static const uint8_t salt[4] = {0xa1, 0xb2, 0xc3, 0xd4};
static const uint8_t chacha_iv[12] = {0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,
                                      0x12, 0x13, 0x14, 0x15, 0x16, 0x17};

static void key_for(dk_aead_alg alg, uint8_t key[32])
{
    uint8_t base = (alg == DK_AEAD_AES128_GCM || alg == DK_AEAD_AES128_CCM8) ? 0x10 : 0x40;
    for (int i = 0; i < 32; i++) key[i] = (uint8_t)(base + i);
}

static void cipher_for(dk_cipher *c, dk_aead_alg alg, bool encrypt)
{
    uint8_t key[32];
    key_for(alg, key);
    const uint8_t *iv = alg == DK_AEAD_CHACHA20_POLY1305 ? chacha_iv : salt;
    assert_int_equal(dk_cipher_init(c, alg, key, iv, encrypt), DK_OK);
}

struct kat {
    dk_aead_alg alg;
    const char *record;
};

static const struct kat kats[] = {
    {DK_AEAD_AES128_GCM, "17fefd0001010203040506002c000101020304050679f4ce76d6742f13d0e0e3592a0265"
                         "710d3d30a9bb737b055e0ced4c010bb382d28c72d9"},
    {DK_AEAD_AES256_GCM, "17fefd0001010203040506002c0001010203040506eab2054b86e74bf40d837134e01d46"
                         "b2dc30e2c6efec7db3a989d345d93a594943b81df1"},
    {DK_AEAD_AES128_CCM8, "17fefd000101020304050600240001010203040506f93494ef50188e4d20326ece86f8"
                          "058aeca6657747ea4168f2c9e88f"},
    {DK_AEAD_CHACHA20_POLY1305, "17fefd000101020304050600242714081a1818f8b8aef0c34af92855e4e82e78"
                                "44470213cb2a72e54ccd6c447c60234922"},
};

static int setup(void **state)
{
    (void)state;
    return dk_crypto_init() == DK_OK ? 0 : -1;
}

/* ---- header codec ---------------------------------------------------- */

static void test_header_write(void **state)
{
    (void)state;
    uint8_t h[DK_RECORD_HEADER_LEN];
    dk_record_header_write(h, DK_CT_HANDSHAKE, 0xFEFD, 0x0203, 0xA1A2A3A4A5A6ULL, 0x0123);
    const uint8_t want[] = {22, 0xFE, 0xFD, 0x02, 0x03, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0x01, 0x23};
    assert_memory_equal(h, want, sizeof want);
}

static void test_next_two_records(void **state)
{
    (void)state;
    uint8_t dg[] = {22, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0, 7, 0, 2, 0xAA, 0xBB,
                    21, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1, 0xCC};
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, dg, sizeof dg);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    assert_int_equal(rec.type, 22);
    assert_int_equal(rec.version, 0xFEFF);
    assert_int_equal(rec.epoch, 0);
    assert_int_equal(rec.seq, 7);
    assert_int_equal(rec.length, 2);
    assert_ptr_equal(rec.header, dg);
    assert_ptr_equal(rec.fragment, dg + 13);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    assert_int_equal(rec.type, 21);
    assert_int_equal(rec.version, 0xFEFD);
    assert_int_equal(rec.epoch, 1);
    assert_int_equal(rec.seq, 0x0100ULL);
    assert_int_equal(rec.length, 1);
    assert_ptr_equal(rec.fragment, dg + 28);
    assert_int_equal(dk_reader_left(&r), 0);
}

static void test_next_truncated_header(void **state)
{
    (void)state;
    uint8_t dg[12] = {22, 0xFE, 0xFD};
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, dg, sizeof dg);
    assert_int_equal(dk_record_next(&r, &rec), DK_DISCARD);
    assert_int_equal(dk_reader_left(&r), 0); /* remainder dropped */
}

static void test_next_length_beyond_datagram(void **state)
{
    (void)state;
    /* A good record, then one claiming 5 bytes with only 4 left, then junk. */
    uint8_t dg[] = {23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, 0x55,
                    23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 2, 0, 5, 1, 2, 3, 4};
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, dg, sizeof dg);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    assert_int_equal(dk_record_next(&r, &rec), DK_DISCARD);
    assert_int_equal(dk_reader_left(&r), 0);
}

/* Each bad record is consumed and the next good one still parses. */
static void check_consumed_then_next(uint8_t type, uint16_t version, uint16_t len)
{
    size_t total = 13 + (size_t)len + 14;
    uint8_t *dg = calloc(1, total);
    assert_non_null(dg);
    dk_record_header_write(dg, type, version, 1, 9, len);
    dk_record_header_write(dg + 13 + len, DK_CT_APPLICATION_DATA, 0xFEFD, 1, 10, 1);
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, dg, total);
    assert_int_equal(dk_record_next(&r, &rec), DK_DISCARD);
    assert_int_equal(r.off, 13 + (size_t)len);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    assert_int_equal(rec.seq, 10);
    assert_int_equal(dk_reader_left(&r), 0);
    free(dg);
}

static void test_next_bad_fields_consumed(void **state)
{
    (void)state;
    check_consumed_then_next(19, 0xFEFD, 3);     /* below change_cipher_spec */
    check_consumed_then_next(24, 0xFEFD, 3);     /* heartbeat: not ours */
    check_consumed_then_next(0, 0xFEFD, 0);
    check_consumed_then_next(255, 0xFEFD, 3);
    check_consumed_then_next(22, 0x0303, 3);     /* TLS 1.2 */
    check_consumed_then_next(22, 0xFEFC, 3);     /* DTLS 1.3 is not a record version */
    check_consumed_then_next(22, 0xFFFD, 3);     /* major not 254 */
    check_consumed_then_next(22, 0xFEFE, 3);
    check_consumed_then_next(23, 0xFEFD, 16384 + 2048 + 1); /* RFC 5246 6.2.3 limit */
}

static void test_next_max_length_ok(void **state)
{
    (void)state;
    size_t len = 16384 + 2048;
    uint8_t *dg = calloc(1, 13 + len);
    assert_non_null(dg);
    dk_record_header_write(dg, DK_CT_APPLICATION_DATA, 0xFEFD, 1, 1, (uint16_t)len);
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, dg, 13 + len);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    assert_int_equal(rec.length, len);
    free(dg);
}

/* ---- protection ------------------------------------------------------ */

static void test_seal_known_answer(void **state)
{
    (void)state;
    for (size_t i = 0; i < DK_ARRAY_LEN(kats); i++) {
        uint8_t want[128], out[128];
        size_t want_len = unhex(kats[i].record, want, sizeof want), out_len = 0;
        dk_cipher c;
        cipher_for(&c, kats[i].alg, true);
        assert_int_equal(dk_cipher_overhead(&c), want_len - 13 - PT_LEN);
        assert_int_equal(dk_record_seal(&c, DK_CT_APPLICATION_DATA, 0xFEFD, EPOCH, SEQ,
                                        (const uint8_t *)pt_text, PT_LEN, out, sizeof out, &out_len),
                         DK_OK);
        assert_int_equal(out_len, want_len);
        assert_memory_equal(out, want, want_len);
        dk_cipher_clear(&c);
        assert_null(c.aead);
    }
}

static void open_datagram(dk_aead_alg alg, uint8_t *dg, size_t len, dk_result expect)
{
    dk_cipher c;
    cipher_for(&c, alg, false);
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, dg, len);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    uint8_t *pt = NULL;
    size_t pt_len = 0;
    assert_int_equal(dk_record_open(&c, &rec, &pt, &pt_len), expect);
    if (expect == DK_OK) {
        assert_int_equal(pt_len, PT_LEN);
        assert_memory_equal(pt, pt_text, PT_LEN);
        assert_true(pt >= dg && pt + pt_len <= dg + len); /* in place */
    }
    dk_cipher_clear(&c);
}

static void test_open_known_answer(void **state)
{
    (void)state;
    for (size_t i = 0; i < DK_ARRAY_LEN(kats); i++) {
        uint8_t dg[128];
        size_t n = unhex(kats[i].record, dg, sizeof dg);
        open_datagram(kats[i].alg, dg, n, DK_OK);
    }
}

/* GCM and CCM take the nonce from the record's explicit bytes, whatever
 * they are (RFC 5288 3: nonce_explicit is chosen by the sender). */
static void test_open_uses_explicit_nonce(void **state)
{
    (void)state;
    static const char *gcm = "17fefd0001010203040506002cdeadbeefcafef00d2072809dca464a413b70a5c78e"
                             "4490591c7ab95b019f357f3091e29b8e5d2ab8b7b23b74";
    static const char *ccm = "17fefd00010102030405060024deadbeefcafef00d424517a5e409fbb87d8afc7f7e"
                             "279540956d3ae9bae4f97a5e28d07a";
    uint8_t dg[128];
    size_t n = unhex(gcm, dg, sizeof dg);
    open_datagram(DK_AEAD_AES128_GCM, dg, n, DK_OK);
    n = unhex(ccm, dg, sizeof dg);
    open_datagram(DK_AEAD_AES128_CCM8, dg, n, DK_OK);
}

/* Flipping any single bit of the record (header fields in the AAD, explicit
 * nonce, ciphertext, tag) makes it fail authentication. The length field is
 * skipped: changing it changes the framing, tested separately. */
static void test_open_any_bit_flip_discards(void **state)
{
    (void)state;
    for (size_t i = 0; i < DK_ARRAY_LEN(kats); i++) {
        uint8_t orig[128], dg[128];
        size_t n = unhex(kats[i].record, orig, sizeof orig);
        for (size_t byte = 0; byte < n; byte++) {
            if (byte == 11 || byte == 12) continue;
            for (int bit = 0; bit < 8; bit++) {
                memcpy(dg, orig, n);
                dg[byte] ^= (uint8_t)(1u << bit);
                dk_reader r;
                dk_record rec;
                dk_reader_init(&r, dg, n);
                if (dk_record_next(&r, &rec) != DK_OK) continue; /* type/version now invalid */
                dk_cipher c;
                cipher_for(&c, kats[i].alg, false);
                uint8_t *pt;
                size_t pt_len;
                assert_int_equal(dk_record_open(&c, &rec, &pt, &pt_len), DK_DISCARD);
                dk_cipher_clear(&c);
            }
        }
    }
}

static void test_open_too_short(void **state)
{
    (void)state;
    for (size_t i = 0; i < DK_ARRAY_LEN(kats); i++) {
        dk_cipher c;
        cipher_for(&c, kats[i].alg, false);
        size_t overhead = dk_cipher_overhead(&c);
        uint8_t dg[64] = {0};
        for (size_t len = 0; len < overhead; len++) {
            dk_record_header_write(dg, DK_CT_APPLICATION_DATA, 0xFEFD, 1, 1, (uint16_t)len);
            dk_reader r;
            dk_record rec;
            dk_reader_init(&r, dg, 13 + len);
            assert_int_equal(dk_record_next(&r, &rec), DK_OK);
            uint8_t *pt;
            size_t pt_len;
            assert_int_equal(dk_record_open(&c, &rec, &pt, &pt_len), DK_DISCARD);
        }
        dk_cipher_clear(&c);
    }
}

/* Seal refuses a plaintext of 2^14 + 1 bytes and takes exactly 2^14, which
 * opens. A record whose ciphertext would hold 2^14 + 1 bytes is discarded
 * before any decryption (its declared length is raised by hand). */
static void test_plaintext_limit(void **state)
{
    (void)state;
    size_t cap = 13 + 16384 + 64;
    uint8_t *pt = calloc(1, 16385), *out = calloc(1, cap + 1);
    assert_non_null(pt);
    assert_non_null(out);
    for (size_t i = 0; i < DK_ARRAY_LEN(kats); i++) {
        dk_cipher enc, dec;
        cipher_for(&enc, kats[i].alg, true);
        cipher_for(&dec, kats[i].alg, false);
        size_t out_len;
        assert_int_equal(dk_record_seal(&enc, 23, 0xFEFD, 1, 5, pt, 16385, out, cap, &out_len),
                         DK_ERR_INVALID_ARG);
        assert_int_equal(dk_record_seal(&enc, 23, 0xFEFD, 1, 5, pt, 16384, out, cap, &out_len),
                         DK_OK);
        dk_reader r;
        dk_record rec;
        dk_reader_init(&r, out, out_len);
        assert_int_equal(dk_record_next(&r, &rec), DK_OK);
        uint8_t *p;
        size_t p_len;
        assert_int_equal(dk_record_open(&dec, &rec, &p, &p_len), DK_OK);
        assert_int_equal(p_len, 16384);
        rec.length = (uint16_t)(16385 + dk_cipher_overhead(&dec));
        assert_int_equal(dk_record_open(&dec, &rec, &p, &p_len), DK_DISCARD);
        dk_cipher_clear(&enc);
        dk_cipher_clear(&dec);
    }
    free(pt);
    free(out);
}

static void test_seal_buffer_too_small(void **state)
{
    (void)state;
    dk_cipher c;
    cipher_for(&c, DK_AEAD_AES128_GCM, true);
    uint8_t out[128];
    size_t out_len = 0, need = 13 + 8 + PT_LEN + 16;
    for (size_t cap = 0; cap < need; cap++)
        assert_int_equal(dk_record_seal(&c, 23, 0xFEFD, 1, 1, (const uint8_t *)pt_text, PT_LEN,
                                        out, cap, &out_len),
                         DK_ERR_BUFFER_TOO_SMALL);
    assert_int_equal(dk_record_seal(&c, 23, 0xFEFD, 1, 1, (const uint8_t *)pt_text, PT_LEN, out,
                                    need, &out_len),
                     DK_OK);
    assert_int_equal(out_len, need);
    /* R28: no sequence number past 2^48 - 1 */
    assert_int_equal(dk_record_seal(&c, 23, 0xFEFD, 1, DK_SEQ_MAX + 1, (const uint8_t *)pt_text,
                                    PT_LEN, out, sizeof out, &out_len),
                     DK_ERR_INVALID_ARG);
    dk_cipher_clear(&c);
}

static void test_seal_plaintext_epoch0(void **state)
{
    (void)state;
    uint8_t out[32];
    size_t out_len = 0;
    const uint8_t body[] = {1, 2, 3};
    assert_int_equal(dk_record_seal(NULL, DK_CT_HANDSHAKE, 0xFEFF, 0, 0x0A0B, body, 3, out,
                                    sizeof out, &out_len),
                     DK_OK);
    const uint8_t want[] = {22, 0xFE, 0xFF, 0, 0, 0, 0, 0, 0, 0x0A, 0x0B, 0, 3, 1, 2, 3};
    assert_int_equal(out_len, sizeof want);
    assert_memory_equal(out, want, sizeof want);
    dk_reader r;
    dk_record rec;
    dk_reader_init(&r, out, out_len);
    assert_int_equal(dk_record_next(&r, &rec), DK_OK);
    uint8_t *pt;
    size_t pt_len;
    assert_int_equal(dk_record_open(NULL, &rec, &pt, &pt_len), DK_OK);
    assert_int_equal(pt_len, 3);
    assert_memory_equal(pt, body, 3);
}

/* Two protected records in one datagram both open in place; a wrong-epoch
 * AAD (same bytes, the header's epoch changed in transit) fails. */
static void test_round_trip_two_records(void **state)
{
    (void)state;
    for (size_t i = 0; i < DK_ARRAY_LEN(kats); i++) {
        dk_cipher enc, dec;
        cipher_for(&enc, kats[i].alg, true);
        cipher_for(&dec, kats[i].alg, false);
        uint8_t dg[256];
        size_t a = 0, b = 0;
        const uint8_t m1[] = "first", m2[] = "second record";
        assert_int_equal(dk_record_seal(&enc, 23, 0xFEFD, 3, 100, m1, 5, dg, sizeof dg, &a), DK_OK);
        assert_int_equal(dk_record_seal(&enc, 21, 0xFEFD, 3, 101, m2, 13, dg + a, sizeof dg - a, &b),
                         DK_OK);
        dk_reader r;
        dk_record rec;
        uint8_t *pt;
        size_t pt_len;
        dk_reader_init(&r, dg, a + b);
        assert_int_equal(dk_record_next(&r, &rec), DK_OK);
        assert_int_equal(dk_record_open(&dec, &rec, &pt, &pt_len), DK_OK);
        assert_int_equal(pt_len, 5);
        assert_memory_equal(pt, m1, 5);
        assert_int_equal(dk_record_next(&r, &rec), DK_OK);
        assert_int_equal(rec.seq, 101);
        rec.header[4] = 4; /* the AAD is read from the header: epoch 3 -> 4 */
        assert_int_equal(dk_record_open(&dec, &rec, &pt, &pt_len), DK_DISCARD);
        dk_cipher_clear(&enc);
        dk_cipher_clear(&dec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_write),
        cmocka_unit_test(test_next_two_records),
        cmocka_unit_test(test_next_truncated_header),
        cmocka_unit_test(test_next_length_beyond_datagram),
        cmocka_unit_test(test_next_bad_fields_consumed),
        cmocka_unit_test(test_next_max_length_ok),
        cmocka_unit_test(test_seal_known_answer),
        cmocka_unit_test(test_open_known_answer),
        cmocka_unit_test(test_open_uses_explicit_nonce),
        cmocka_unit_test(test_open_any_bit_flip_discards),
        cmocka_unit_test(test_open_too_short),
        cmocka_unit_test(test_plaintext_limit),
        cmocka_unit_test(test_seal_buffer_too_small),
        cmocka_unit_test(test_seal_plaintext_epoch0),
        cmocka_unit_test(test_round_trip_two_records),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
