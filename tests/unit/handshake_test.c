/* Full handshakes between dtlskit's client and server in memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dk_sim.h"

static void run_pair(const char *ckind, const char *skind, const char *ciphers, uint16_t want_suite)
{
    dk_config *cc = dk_test_client_config(ckind), *sc = dk_test_server_config(skind);
    if (ciphers) assert_int_equal(dk_config_set_ciphers(cc, ciphers), DK_OK);
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 42);
    sim.s_echo = true;
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    bool ok = dk_sim_handshake(&sim, 5000);
    if (!ok) print_error("client: %s / server: %s\n", dk_conn_error_reason(sim.c),
                         sim.s ? dk_conn_error_reason(sim.s) : "no conn");
    assert_true(ok);
    assert_int_equal(sim.gate_hvrs, 1); /* one cookie exchange */
    dk_conn_info ci, si;
    assert_int_equal(dk_conn_get_info(sim.c, &ci), DK_OK);
    assert_int_equal(dk_conn_get_info(sim.s, &si), DK_OK);
    assert_int_equal(ci.cipher_suite, want_suite);
    assert_int_equal(si.cipher_suite, want_suite);
    assert_true(ci.ems && si.ems);
    /* application data both ways, echoed */
    const char *msg = "hello over dtls\n";
    assert_int_equal(dk_conn_write(sim.c, (const uint8_t *)msg, strlen(msg)), DK_OK);
    dk_sim_drain(&sim, sim.c, 1);
    dk_sim_run(&sim, 100);
    assert_int_equal(sim.s_rx_len, strlen(msg));
    assert_memory_equal(sim.s_rx, msg, strlen(msg));
    assert_int_equal(sim.c_rx_len, strlen(msg));
    assert_memory_equal(sim.c_rx, msg, strlen(msg));
    /* both sides export the same keying material */
    uint8_t ec[32], es[32];
    assert_int_equal(dk_conn_export_keying_material(sim.c, "EXPORTER-test", NULL, 0, false, ec, 32), DK_OK);
    assert_int_equal(dk_conn_export_keying_material(sim.s, "EXPORTER-test", NULL, 0, false, es, 32), DK_OK);
    assert_memory_equal(ec, es, 32);
    /* close_notify */
    assert_int_equal(dk_conn_close(sim.c), DK_OK);
    dk_sim_drain(&sim, sim.c, 1);
    dk_sim_run(&sim, 100);
    assert_int_equal(dk_conn_state(sim.s), DK_STATE_CLOSED);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

static void test_psk_ccm8(void **st) { (void)st; run_pair("psk", "psk", "PSK-AES128-CCM8", 0xC0A8); }
static void test_psk_gcm(void **st) { (void)st; run_pair("psk", "psk", "PSK-AES128-GCM-SHA256", 0x00A8); }
static void test_ecdhe_psk_chacha(void **st)
{
    (void)st;
    run_pair("psk", "psk", "ECDHE-PSK-CHACHA20-POLY1305", 0xCCAC);
}

static void test_ecdsa_aes128gcm(void **st) { (void)st; run_pair("ec", "ec", "ECDHE-ECDSA-AES128-GCM-SHA256", 0xC02B); }
static void test_ecdsa_aes256gcm(void **st) { (void)st; run_pair("ec", "ec", "ECDHE-ECDSA-AES256-GCM-SHA384", 0xC02C); }
static void test_ecdsa_chacha(void **st) { (void)st; run_pair("ec", "ec", "ECDHE-ECDSA-CHACHA20-POLY1305", 0xCCA9); }
static void test_ecdsa_ccm8(void **st) { (void)st; run_pair("ec", "ec", "ECDHE-ECDSA-AES128-CCM8", 0xC0AE); }
static void test_rsa_aes128gcm(void **st) { (void)st; run_pair("rsa", "rsa", "ECDHE-RSA-AES128-GCM-SHA256", 0xC02F); }
static void test_rsa_aes256gcm(void **st) { (void)st; run_pair("rsa", "rsa", "ECDHE-RSA-AES256-GCM-SHA384", 0xC030); }
static void test_rsa_chacha(void **st) { (void)st; run_pair("rsa", "rsa", "ECDHE-RSA-CHACHA20-POLY1305", 0xCCA8); }
static void test_ecdsa_client_auth(void **st) { (void)st; run_pair("ec+auth", "ec+auth", NULL, 0xC02B); }
static void test_rsa_client_auth(void **st) { (void)st; run_pair("rsa+auth", "rsa+auth", NULL, 0xC02F); }
static void test_default_suites_ec(void **st) { (void)st; run_pair("ec", "ec", NULL, 0xC02B); }

/* Every MTU from the minimum up: flights are packed and fragmented at every
 * boundary (zero-length ServerHelloDone at a datagram's exact end included). */
static void test_mtu_sweep(void **st)
{
    (void)st;
    /* DK_MTU_SWEEP_STEP strides the sweep (scripts/valgrind-check.sh). */
    const char *step_env = getenv("DK_MTU_SWEEP_STEP");
    size_t step = step_env && atoi(step_env) > 0 ? (size_t)atoi(step_env) : 1;
    for (size_t mtu = 128; mtu <= 600; mtu += step) {
        for (int k = 0; k < 2; k++) {
            dk_config *cc = dk_test_client_config(k ? "rsa+auth" : "ec");
            dk_config *sc = dk_test_server_config(k ? "rsa+auth" : "ec");
            assert_int_equal(dk_config_set_mtu(cc, mtu), DK_OK);
            assert_int_equal(dk_config_set_mtu(sc, mtu), DK_OK);
            dk_sim sim;
            dk_sim_init(&sim, cc, sc, mtu);
            sim.prof.mtu = mtu; /* the link drops anything larger */
            assert_int_equal(dk_sim_connect(&sim), DK_OK);
            bool ok = dk_sim_handshake(&sim, 2000);
            if (!ok) print_error("mtu %zu %s: client: %s / server: %s\n", mtu, k ? "rsa" : "ec",
                                 dk_conn_error_reason(sim.c), sim.s ? dk_conn_error_reason(sim.s) : "-");
            assert_true(ok);
            dk_conn_stats cs;
            dk_conn_get_stats(sim.c, &cs);
            assert_int_equal(cs.retransmissions, 0); /* nothing was lost to size */
            if (mtu < 300) assert_true(cs.fragments_in > 0);
            dk_sim_free(&sim);
            dk_config_free(cc);
            dk_config_free(sc);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psk_ccm8),
        cmocka_unit_test(test_psk_gcm),
        cmocka_unit_test(test_ecdhe_psk_chacha),
        cmocka_unit_test(test_ecdsa_aes128gcm),
        cmocka_unit_test(test_ecdsa_aes256gcm),
        cmocka_unit_test(test_ecdsa_chacha),
        cmocka_unit_test(test_ecdsa_ccm8),
        cmocka_unit_test(test_rsa_aes128gcm),
        cmocka_unit_test(test_rsa_aes256gcm),
        cmocka_unit_test(test_rsa_chacha),
        cmocka_unit_test(test_ecdsa_client_auth),
        cmocka_unit_test(test_rsa_client_auth),
        cmocka_unit_test(test_default_suites_ec),
        cmocka_unit_test(test_mtu_sweep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
