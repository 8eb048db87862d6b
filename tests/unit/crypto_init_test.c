/* dk_crypto_init is idempotent and safe when the first use of the crypto
 * module happens on many threads at once (this binary calls nothing before
 * the threads start). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <pthread.h>
#include <string.h>

#include "crypto/dk_crypto.h"
#include "crypto_test_util.h"

#define NTHREADS 8

static void *worker(void *arg)
{
    int *ok = arg;
    uint8_t out[32], key[16] = {0}, nonce[12] = {0}, buf[16] = {0}, tag[16];
    /* SHA-256("abc"), FIPS 180-2 */
    static const char *want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t w[32];
    *ok = 0;
    if (dk_hash(DK_HASH_SHA256, (const uint8_t *)"abc", 3, out) != DK_OK) return NULL;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(want + 2 * i, "%2x", &v);
        w[i] = (uint8_t)v;
    }
    if (memcmp(out, w, 32) != 0) return NULL;
    dk_aead *a = dk_aead_new(DK_AEAD_AES128_GCM, key, true);
    int r = a ? dk_aead_seal(a, nonce, NULL, 0, buf, sizeof buf, tag) : DK_ERR_CRYPTO;
    dk_aead_free(a);
    if (r != DK_OK || dk_crypto_init() != DK_OK) return NULL;
    *ok = 1;
    return NULL;
}

static void test_init_concurrent_first_use(void **state)
{
    (void)state;
    pthread_t th[NTHREADS];
    int ok[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, &ok[i]), 0);
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(ok[i], 1);
    }
    assert_int_equal(dk_crypto_init(), DK_OK);
    assert_int_equal(dk_crypto_init(), DK_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_concurrent_first_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
