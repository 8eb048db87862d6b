/* Unit tests for the bounds-checked reader/writer and secure memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "core/dk_core.h"

static void test_reader_ints(void **state)
{
    (void)state;
    const uint8_t buf[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c};
    dk_reader r;
    dk_reader_init(&r, buf, sizeof buf);
    uint8_t a;
    uint16_t b;
    uint32_t c;
    uint64_t d;
    assert_int_equal(dk_read_u8(&r, &a), DK_OK);
    assert_int_equal(a, 0x01);
    assert_int_equal(dk_read_u16(&r, &b), DK_OK);
    assert_int_equal(b, 0x0203);
    assert_int_equal(dk_read_u24(&r, &c), DK_OK);
    assert_int_equal(c, 0x040506);
    assert_int_equal(dk_read_u48(&r, &d), DK_OK);
    assert_int_equal(d, 0x0708090a0b0cULL);
    assert_int_equal(dk_reader_done(&r), DK_OK);
    assert_int_equal(dk_read_u8(&r, &a), DK_ERR_DECODE);
}

static void test_reader_vec_bounds(void **state)
{
    (void)state;
    const uint8_t ok[] = {0x00, 0x02, 0xaa, 0xbb, 0xcc};
    const uint8_t bad[] = {0x00, 0x05, 0xaa};
    dk_reader r, sub;
    dk_reader_init(&r, ok, sizeof ok);
    assert_int_equal(dk_read_vec(&r, 2, 0, 10, &sub), DK_OK);
    assert_int_equal(dk_reader_left(&sub), 2);
    assert_int_equal(dk_reader_left(&r), 1);
    dk_reader_init(&r, bad, sizeof bad);
    assert_int_equal(dk_read_vec(&r, 2, 0, 10, &sub), DK_ERR_DECODE);
    assert_int_equal(r.off, 0); /* a failed read consumes nothing */
    dk_reader_init(&r, ok, sizeof ok);
    assert_int_equal(dk_read_vec(&r, 2, 3, 10, &sub), DK_ERR_DECODE); /* below min */
}

static void test_writer_overflow_and_vec(void **state)
{
    (void)state;
    uint8_t buf[6];
    dk_writer w;
    dk_writer_init(&w, buf, sizeof buf);
    size_t m = dk_write_vec_open(&w, 2);
    dk_write_u16(&w, 0xbeef);
    dk_write_vec_close(&w, m, 2);
    assert_int_equal(dk_writer_status(&w), DK_OK);
    const uint8_t want[] = {0x00, 0x02, 0xbe, 0xef};
    assert_memory_equal(buf, want, 4);
    dk_write_u24(&w, 1);
    assert_int_equal(dk_writer_status(&w), DK_ERR_BUFFER_TOO_SMALL);
    dk_write_u8(&w, 1); /* still a no-op */
    assert_int_equal(w.off, 4);
}

static void test_ct_equal_and_wipe(void **state)
{
    (void)state;
    uint8_t a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
    assert_true(dk_ct_equal(a, b, 4));
    b[3] = 5;
    assert_false(dk_ct_equal(a, b, 4));
    dk_wipe(a, sizeof a);
    const uint8_t z[4] = {0};
    assert_memory_equal(a, z, 4);
    assert_string_equal(dk_strerror(DK_ERR_TOO_LARGE), "data larger than the connection's data MTU");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reader_ints),
        cmocka_unit_test(test_reader_vec_bounds),
        cmocka_unit_test(test_writer_overflow_and_vec),
        cmocka_unit_test(test_ct_equal_and_wipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
