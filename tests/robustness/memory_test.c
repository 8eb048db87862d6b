/* Memory stays flat: heap in use before and after many completed and closed
 * connections (in memory, over dk_sim with the cookie exchange, one record
 * each way, close_notify, free) differs by at most 1 byte per connection,
 * measured with mallinfo2() for the whole process (libcrypto included) and
 * with dtlskit's allocation counters (no live block left). Configurations
 * are shared, as a server shares one; one run also creates and frees a
 * configuration per connection.
 * DK_RB_MEM_PSK / DK_RB_MEM_CERT override the counts (the report run uses
 * 100,000 PSK connections); prints "MEMORY: ..." lines. glibc's per-thread
 * cache (tcache) keeps freed chunks that mallinfo2 counts as in use, a few
 * kilobytes that vary with allocation sizes: the test runs with
 * GLIBC_TUNABLES=glibc.malloc.tcache_count=0 (it re-executes itself with it
 * when the variable is unset). Under
 * AddressSanitizer mallinfo2 says nothing useful: only LeakSanitizer and the
 * counters are checked there. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/dk_core.h"
#include "rb_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define RB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RB_ASAN 1
#endif
#endif
#ifndef RB_ASAN
#define RB_ASAN 0
#endif

static void one_connection(dk_config *cc, dk_config *sc, uint64_t seed)
{
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, seed);
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    if (!dk_sim_handshake(&sim, 5000))
        fail_msg("handshake: %s / %s", dk_conn_error_reason(sim.c),
                 sim.s ? dk_conn_error_reason(sim.s) : "-");
    static const uint8_t msg[] = "memory";
    assert_int_equal(dk_conn_write(sim.c, msg, sizeof msg), DK_OK);
    assert_int_equal(dk_conn_write(sim.s, msg, sizeof msg), DK_OK);
    dk_sim_drain(&sim, sim.c, 1);
    dk_sim_drain(&sim, sim.s, 0);
    dk_sim_run(&sim, 100);
    assert_int_equal(sim.s_rx_records, 1);
    assert_int_equal(sim.c_rx_records, 1);
    assert_int_equal(dk_conn_close(sim.c), DK_OK);
    dk_sim_drain(&sim, sim.c, 1);
    dk_sim_run(&sim, 100);
    assert_int_equal(dk_conn_state(sim.s), DK_STATE_CLOSED);
    dk_sim_free(&sim);
}

typedef struct snap {
    size_t heap;
    uint64_t live;
} snap;

static snap take(void)
{
    snap s;
    malloc_trim(0);
    s.heap = mallinfo2().uordblks;
    dk_alloc_stats a;
    dk_alloc_stats_get(&a);
    s.live = a.allocs - a.frees;
    return s;
}

static void check_flat(const char *what, unsigned long n, snap a, snap b, double secs)
{
    long long diff = (long long)b.heap - (long long)a.heap;
    printf("MEMORY: %s connections=%lu heap_before=%zu heap_after=%zu diff_bytes=%lld "
           "per_connection=%.4f live_blocks_diff=%lld seconds=%.1f\n",
           what, n, a.heap, b.heap, diff, (double)diff / (double)n,
           (long long)(b.live - a.live), secs);
    assert_int_equal(b.live, a.live);
    if (!RB_ASAN) assert_true(diff <= (long long)n);
}

/* libcrypto fills bounded caches on first uses of a key or a trust store
 * (thousands of bytes, reached within a few hundred handshakes): warm-up
 * connections run before the first measurement. */
static void run_shared(const char *kind, const char *ciphers, unsigned long n, unsigned warm)
{
    uint64_t cs = 1, ss = 2;
    dk_config *cc = dk_test_client_config(kind), *sc = dk_test_server_config(kind);
    dk_config_set_random(cc, dk_test_random, &cs);
    dk_config_set_random(sc, dk_test_random, &ss);
    if (ciphers) assert_int_equal(dk_config_set_ciphers(cc, ciphers), DK_OK);
    for (unsigned i = 0; i < warm && i < n; i++) one_connection(cc, sc, i);
    snap a = take();
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (unsigned long i = 0; i < n; i++) one_connection(cc, sc, 100 + i);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    snap b = take();
    char what[96];
    snprintf(what, sizeof what, "%s/%s", kind, ciphers ? ciphers : "default");
    check_flat(what, n, a, b, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
    dk_config_free(cc);
    dk_config_free(sc);
}

static void test_psk(void **st)
{
    (void)st;
    run_shared("psk", "PSK-AES128-GCM-SHA256", rb_count("MEM_PSK", 20000), 50);
}

static void test_ecdhe_psk(void **st)
{
    (void)st;
    run_shared("psk", "ECDHE-PSK-CHACHA20-POLY1305", rb_count("MEM_CERT", 1000), 200);
}

static void test_ecdsa(void **st)
{
    (void)st;
    run_shared("ec", "ECDHE-ECDSA-AES128-GCM-SHA256", rb_count("MEM_CERT", 1000), 500);
}

static void test_rsa_client_auth(void **st)
{
    (void)st;
    run_shared("rsa+auth", NULL, rb_count("MEM_CERT", 1000) / 4, 300);
}

/* A configuration per connection too: config and connection together. */
static void test_config_per_connection(void **st)
{
    (void)st;
    unsigned long n = rb_count("MEM_CERT", 1000) / 2;
    snap a = {0, 0};
    struct timespec t0, t1;
    for (unsigned long i = 0; i < n + 20; i++) {
        if (i == 20) {
            a = take();
            clock_gettime(CLOCK_MONOTONIC, &t0);
        }
        dk_config *cc = dk_test_client_config("ec+auth"), *sc = dk_test_server_config("ec+auth");
        one_connection(cc, sc, i);
        dk_config_free(cc);
        dk_config_free(sc);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    check_flat("ec+auth/config-per-connection", n, a, take(),
               (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (!RB_ASAN && !getenv("GLIBC_TUNABLES")) {
        setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
        execv("/proc/self/exe", argv);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psk),
        cmocka_unit_test(test_ecdhe_psk),
        cmocka_unit_test(test_ecdsa),
        cmocka_unit_test(test_rsa_client_auth),
        cmocka_unit_test(test_config_per_connection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
