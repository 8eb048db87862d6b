/* The AEAD record path must not allocate: seal and open on an existing
 * context only set nonce, AAD and tag. This binary interposes malloc and
 * friends to count every heap allocation made while records are sealed and
 * opened (including those inside libcrypto).
 *
 * One exception, checked separately: when a CCM tag does not verify, the
 * provider raises an error during the update call, and libcrypto's error
 * queue duplicates two debug strings (freed again by ERR_clear_error). GCM and
 * ChaCha20-Poly1305 raise nothing on a tag mismatch.
 *
 * Under AddressSanitizer (which owns malloc) the test is skipped; if the
 * interposition is not in effect (e.g. valgrind replaced malloc), it skips
 * too rather than passing vacuously. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <string.h>

#include "crypto/dk_crypto.h"

#if defined(__SANITIZE_ADDRESS__)
#define DK_NO_INTERPOSE 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DK_NO_INTERPOSE 1
#endif
#endif

static volatile size_t g_allocs;
static volatile int g_counting;

#ifndef DK_NO_INTERPOSE
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
    if (g_counting) g_allocs++;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    if (g_counting) g_allocs++;
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    if (g_counting) g_allocs++;
    return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }
#endif

static const dk_aead_alg k_algs[] = {DK_AEAD_AES128_GCM, DK_AEAD_AES256_GCM, DK_AEAD_AES128_CCM8,
                                     DK_AEAD_CHACHA20_POLY1305};

static void test_aead_seal_open_allocation_free(void **state)
{
    (void)state;
    assert_int_equal(dk_crypto_init(), DK_OK);
    for (size_t ai = 0; ai < sizeof k_algs / sizeof k_algs[0]; ai++) {
        uint8_t key[32] = {1, 2, 3}, nonce[12] = {0}, aad[13] = {0}, buf[1200], tag[16];
        g_allocs = 0;
        g_counting = 1;
        dk_aead *enc = dk_aead_new(k_algs[ai], key, true);
        g_counting = 0;
        if (g_allocs == 0) {
            dk_aead_free(enc);
            skip(); /* malloc is not ours: nothing to measure */
        }
        dk_aead *dec = dk_aead_new(k_algs[ai], key, false);
        assert_non_null(enc);
        assert_non_null(dec);
        size_t ok_allocs = 0, bad_allocs = 0;
        for (int i = 0; i < 200; i++) {
            size_t len = (size_t)(i * 13 % 1200);
            nonce[11] = (uint8_t)i;
            memset(buf, i, len);
            g_allocs = 0;
            g_counting = 1;
            dk_result r1 = dk_aead_seal(enc, nonce, aad, sizeof aad, buf, len, tag);
            dk_result r2 = dk_aead_open(dec, nonce, aad, sizeof aad, buf, len, tag);
            g_counting = 0;
            ok_allocs += g_allocs;
            tag[0] ^= 1;
            g_allocs = 0;
            g_counting = 1;
            dk_result r3 = dk_aead_open(dec, nonce, aad, sizeof aad, buf, len, tag);
            g_counting = 0;
            bad_allocs += g_allocs;
            if (r1 != DK_OK || r2 != DK_OK || r3 != DK_ERR_CRYPTO)
                fail_msg("alg %zu record %d: %d %d %d", ai, i, r1, r2, r3);
        }
        assert_int_equal(ok_allocs, 0);
        if (k_algs[ai] == DK_AEAD_AES128_CCM8)
            assert_true(bad_allocs <= 2 * 200); /* error-queue strings only */
        else
            assert_int_equal(bad_allocs, 0);
        dk_aead_free(enc);
        dk_aead_free(dec);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aead_seal_open_allocation_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
