/* Engine behaviours: deterministic replay, verification failures with their
 * reasons, renegotiation refusal, write limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>

#include "conn/dk_conn_int.h"
#include "dk_sim.h"

typedef struct capture {
    uint8_t buf[65536];
    size_t len;
} capture;

static void tap(void *arg, int to_server, const uint8_t *p, size_t len)
{
    capture *cap = arg;
    if (cap->len + len + 3 > sizeof cap->buf) return;
    cap->buf[cap->len++] = (uint8_t)to_server;
    cap->buf[cap->len++] = (uint8_t)(len >> 8);
    cap->buf[cap->len++] = (uint8_t)len;
    memcpy(cap->buf + cap->len, p, len);
    cap->len += len;
}

static void record_run(const char *ciphers, uint64_t seed, capture *cap)
{
    uint64_t cs = seed, ss = seed + 1;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    dk_config_set_random(cc, dk_test_random, &cs);
    dk_config_set_random(sc, dk_test_random, &ss);
    assert_int_equal(dk_config_set_ciphers(cc, ciphers), DK_OK);
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 7);
    memset(cap, 0, sizeof *cap);
    sim.tap = tap;
    sim.tap_arg = cap;
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    assert_int_equal(dk_conn_write(sim.c, (const uint8_t *)"x", 1), DK_OK);
    dk_sim_drain(&sim, sim.c, 1);
    dk_sim_run(&sim, 10);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

/* Injectable randomness and time: the same seed replays a handshake byte
 * for byte (ECDHE keys derive from the injected randomness too). */
static void test_replay_byte_for_byte(void **st)
{
    (void)st;
    static capture a, b, c;
    const char *suites[] = {"PSK-AES128-CCM8", "ECDHE-PSK-CHACHA20-POLY1305"};
    for (size_t i = 0; i < 2; i++) {
        record_run(suites[i], 1234, &a);
        record_run(suites[i], 1234, &b);
        record_run(suites[i], 999, &c);
        assert_true(a.len > 200);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.buf, b.buf, a.len);
        assert_true(a.len != c.len || memcmp(a.buf, c.buf, a.len) != 0);
    }
}

static dk_sim *start(const char *ck, const char *sk, dk_config **cc, dk_config **sc)
{
    *cc = dk_test_client_config(ck);
    *sc = dk_test_server_config(sk);
    dk_sim *sim = calloc(1, sizeof *sim);
    dk_sim_init(sim, *cc, *sc, 3);
    return sim;
}

static void finish(dk_sim *sim, dk_config *cc, dk_config *sc)
{
    dk_sim_free(sim);
    free(sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

static void test_hostname_mismatch_fails_with_reason(void **st)
{
    (void)st;
    dk_config *cc, *sc;
    dk_sim *sim = start("ec", "ec", &cc, &sc);
    assert_int_equal(dk_conn_set_server_name(sim->c, "example.com"), DK_OK);
    assert_int_equal(dk_sim_connect(sim), DK_OK);
    assert_false(dk_sim_handshake(sim, 5000));
    assert_int_equal(dk_conn_state(sim->c), DK_STATE_FAILED);
    assert_int_equal(dk_conn_error(sim->c), DK_ERR_CERT);
    assert_non_null(strstr(dk_conn_error_reason(sim->c), "peer certificate not trusted"));
    assert_non_null(strstr(dk_conn_error_reason(sim->c), "mismatch"));
    /* the server learns why: a fatal alert reached it */
    dk_sim_run(sim, 100);
    assert_int_equal(dk_conn_state(sim->s), DK_STATE_FAILED);
    assert_int_equal(dk_conn_error(sim->s), DK_ERR_PEER_ALERT);
    finish(sim, cc, sc);
}

static void test_wrong_ca_unknown_issuer(void **st)
{
    (void)st;
    dk_config *cc, *sc;
    dk_sim *sim = start("rsa", "ec", &cc, &sc); /* client trusts only the RSA CA */
    assert_int_equal(dk_sim_connect(sim), DK_OK);
    assert_false(dk_sim_handshake(sim, 5000));
    assert_int_equal(dk_conn_error(sim->c), DK_ERR_CERT);
    assert_non_null(strstr(dk_conn_error_reason(sim->c), "unable to get local issuer certificate"));
    finish(sim, cc, sc);
}

static void test_client_fails_closed(void **st)
{
    (void)st;
    dk_config *cc, *sc;
    dk_sim *sim = start("none", "ec", &cc, &sc); /* no CA, no pin, not insecure */
    assert_int_equal(dk_sim_connect(sim), DK_OK);
    assert_false(dk_sim_handshake(sim, 5000));
    assert_int_equal(dk_conn_error(sim->c), DK_ERR_CERT);
    assert_non_null(strstr(dk_conn_error_reason(sim->c), "no CA, pin or insecure mode"));
    finish(sim, cc, sc);
}

static void test_pin_accepts(void **st)
{
    (void)st;
    dk_config *cc, *sc;
    dk_sim *sim = start("none", "ec", &cc, &sc);
    /* SHA-256 of ec-server.pem's DER, from tests/vectors/certs/fingerprints.txt */
    FILE *f = fopen(DK_TEST_DATA_DIR "/certs/fingerprints.txt", "r");
    assert_non_null(f);
    char name[128], hex[65] = "", h[128];
    while (fscanf(f, "%127s %127s", name, h) == 2)
        if (!strcmp(name, "ec-server.pem") && strlen(h) == 64) memcpy(hex, h, 65);
    fclose(f);
    assert_int_equal(strlen(hex), 64);
    uint8_t pin[32];
    for (int i = 0; i < 32; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        pin[i] = (uint8_t)v;
    }
    assert_int_equal(dk_config_add_pin_sha256(cc, pin), DK_OK);
    assert_int_equal(dk_sim_connect(sim), DK_OK);
    assert_true(dk_sim_handshake(sim, 5000));
    pin[0] ^= 1; /* a wrong pin fails */
    dk_config *cc2 = dk_test_client_config("none");
    assert_int_equal(dk_config_add_pin_sha256(cc2, pin), DK_OK);
    dk_sim sim2;
    dk_sim_init(&sim2, cc2, sc, 4);
    assert_int_equal(dk_sim_connect(&sim2), DK_OK);
    assert_false(dk_sim_handshake(&sim2, 5000));
    assert_non_null(strstr(dk_conn_error_reason(sim2.c), "matches no pin"));
    dk_sim_free(&sim2);
    dk_config_free(cc2);
    finish(sim, cc, sc);
}

static void test_write_limits(void **st)
{
    (void)st;
    dk_config *cc, *sc;
    dk_sim *sim = start("psk", "psk", &cc, &sc);
    uint8_t big[20000] = {0};
    assert_int_equal(dk_conn_write(sim->c, big, 10), DK_ERR_STATE); /* before the handshake */
    assert_int_equal(dk_sim_connect(sim), DK_OK);
    assert_true(dk_sim_handshake(sim, 5000));
    size_t mtu = dk_conn_data_mtu(sim->c);
    assert_true(mtu > 1300 && mtu < 1400);
    assert_int_equal(dk_conn_write(sim->c, big, mtu + 1), DK_ERR_TOO_LARGE);
    assert_int_equal(dk_conn_write(sim->c, big, mtu), DK_OK);
    uint8_t out[1400];
    size_t n;
    assert_int_equal(dk_conn_poll_datagram(sim->c, out, sizeof out, &n), DK_OK);
    assert_int_equal(n, 1400); /* exactly the configured MTU, never more */
    finish(sim, cc, sc);
}

static void trace_collect(void *arg, const char *line)
{
    char *seen = arg;
    size_t n = strlen(seen);
    snprintf(seen + n, 4096 - n, "%s\n", line);
}

static void test_renegotiation_refused(void **st)
{
    (void)st;
    dk_config *cc, *sc;
    dk_sim *sim = start("psk", "psk", &cc, &sc);
    assert_int_equal(dk_sim_connect(sim), DK_OK);
    assert_true(dk_sim_handshake(sim, 5000));
    /* an encrypted HelloRequest from the server: the client answers with a
     * no_renegotiation warning and both stay established */
    char seen[4096] = "";
    dk_conn_set_trace(sim->s, trace_collect, seen);
    uint8_t hr[12] = {DK_HT_HELLO_REQUEST, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0};
    assert_int_equal(dk_send_record(sim->s, DK_CT_HANDSHAKE, hr, sizeof hr), DK_OK);
    dk_sim_drain(sim, sim->s, 0);
    dk_sim_run(sim, 5);
    assert_non_null(strstr(seen, "recv alert no_renegotiation(100) level=1"));
    assert_int_equal(dk_conn_state(sim->c), DK_STATE_ESTABLISHED);
    assert_int_equal(dk_conn_state(sim->s), DK_STATE_ESTABLISHED);
    /* and data still flows */
    assert_int_equal(dk_conn_write(sim->s, (const uint8_t *)"ok", 2), DK_OK);
    dk_sim_drain(sim, sim->s, 0);
    dk_sim_run(sim, 5);
    assert_int_equal(sim->c_rx_len, 2);
    finish(sim, cc, sc);
}

/* R13: "DTLS servers SHOULD perform a cookie exchange whenever a new
 * handshake is being performed": two handshakes from the same address, one
 * after the other, each meet exactly one HelloVerifyRequest. */
static void test_R13_cookie_exchange_every_handshake(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    for (int i = 0; i < 2; i++) {
        dk_sim sim;
        dk_sim_init(&sim, cc, sc, 100 + i);
        assert_int_equal(dk_sim_connect(&sim), DK_OK);
        assert_true(dk_sim_handshake(&sim, 5000));
        assert_int_equal(sim.gate_hvrs, 1);
        dk_sim_free(&sim);
    }
    dk_config_free(cc);
    dk_config_free(sc);
}

static dk_conn *g_r15_client;
static size_t g_r15_tlen_after_ch2, g_r15_ch2_record_len;
static int g_r15_hellos;
static void r15_tap(void *arg, int to_server, const uint8_t *p, size_t len)
{
    (void)arg;
    if (!to_server || len < 26 || p[0] != 22 || p[13] != 1) return;
    if (++g_r15_hellos == 2) {
        g_r15_tlen_after_ch2 = g_r15_client->tlen;
        g_r15_ch2_record_len = dk_load_u16(p + 11); /* handshake header + body */
    }
}

/* R15: "the initial ClientHello and HelloVerifyRequest MUST NOT be included
 * in the CertificateVerify or Finished MAC computations": after the HVR the
 * client's transcript holds exactly the second ClientHello (12-byte header
 * plus body), and the handshake's Finished messages verify on both sides. */
static void test_R15_transcript_starts_at_hello_with_cookie(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 15);
    g_r15_client = sim.c;
    g_r15_hellos = 0;
    sim.tap = r15_tap;
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    assert_int_equal(g_r15_hellos, 2);
    /* exactly the second hello (unfragmented: its record holds the 12-byte
     * header and the whole body), nothing of the first one or the HVR */
    assert_true(g_r15_ch2_record_len > 12 + 100);
    assert_int_equal(g_r15_tlen_after_ch2, g_r15_ch2_record_len);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

static size_t g_r25_max, g_r25_frag;
static void r25_tap(void *arg, int to_server, const uint8_t *p, size_t len)
{
    (void)arg;
    (void)to_server;
    (void)p;
    if (len > g_r25_max) g_r25_max = len;
    g_r25_frag++;
}

/* R25: "Each DTLS record MUST fit within a single datagram"; R34: "the
 * Finished MAC MUST be computed as if each handshake message had been sent
 * as a single fragment". At MTU 200 every datagram either side sends is at
 * most 200 bytes, messages travel in fragments, and both Finished verify. */
static void test_R25_R34_fragmented_flights_fit_and_finish(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("ec+auth"), *sc = dk_test_server_config("ec+auth");
    assert_int_equal(dk_config_set_mtu(cc, 200), DK_OK);
    assert_int_equal(dk_config_set_mtu(sc, 200), DK_OK);
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 25);
    g_r25_max = g_r25_frag = 0;
    sim.tap = r25_tap;
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    assert_true(g_r25_max <= 200);
    dk_conn_stats cs, ss;
    dk_conn_get_stats(sim.c, &cs);
    dk_conn_get_stats(sim.s, &ss);
    assert_true(cs.fragments_out > 0 && ss.fragments_out > 0);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

/* R28: "implementations MUST either abandon an association or rehandshake
 * prior to allowing the sequence number to wrap": the last 48-bit record
 * number is used, the next write is refused. */
static void test_R28_sequence_number_never_wraps(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 28);
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    sim.c->wseq[1] = DK_SEQ_MAX;
    uint8_t out[256];
    size_t n;
    assert_int_equal(dk_conn_write_datagram(sim.c, (const uint8_t *)"a", 1, out, sizeof out, &n), DK_OK);
    assert_int_equal(dk_load_u48(out + 5), DK_SEQ_MAX);
    assert_int_equal(dk_conn_write_datagram(sim.c, (const uint8_t *)"b", 1, out, sizeof out, &n),
                     DK_ERR_LIMIT);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

/* dk_conn_read_view hands out each record of a datagram in turn, in place
 * (a pointer into the datagram, where the record was decrypted), with the
 * same end-of-data results as dk_conn_read; the two can be mixed. */
static void test_read_view_in_place(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 29);
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    static const char *msgs[] = {"first", "", "third record"};
    uint8_t dg[512];
    size_t len = 0;
    for (size_t i = 0; i < 3; i++) {
        size_t n;
        assert_int_equal(dk_conn_write_datagram(sim.c, (const uint8_t *)msgs[i], strlen(msgs[i]),
                                                dg + len, sizeof dg - len, &n),
                         DK_OK);
        len += n; /* three records in one datagram */
    }
    assert_int_equal(dk_conn_receive(sim.s, dg, len, sim.now), DK_OK);
    const uint8_t *d;
    size_t n;
    assert_int_equal(dk_conn_read_view(sim.s, &d, &n), DK_OK);
    assert_int_equal(n, 5);
    assert_true(d > dg && d + n <= dg + len);
    assert_memory_equal(d, "first", 5);
    assert_int_equal(dk_conn_read_view(sim.s, &d, &n), DK_OK);
    assert_int_equal(n, 0);
    uint8_t out[64];
    assert_int_equal(dk_conn_read(sim.s, out, sizeof out, &n), DK_OK);
    assert_int_equal(n, 12);
    assert_memory_equal(out, "third record", 12);
    assert_int_equal(dk_conn_read_view(sim.s, &d, &n), DK_ERR_WOULD_BLOCK);
    assert_int_equal(dk_conn_read_view(sim.s, NULL, &n), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_conn_read_view(NULL, &d, &n), DK_ERR_INVALID_ARG);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

/* dk_conn_write + dk_conn_poll_datagram (the queued path): after the first
 * record the drained queue's buffer is reused (the thread's spare), so the
 * path allocates and frees nothing. */
static void test_queued_write_allocates_nothing(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 31);
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    uint8_t msg[1000], dg[1400];
    size_t n;
    dk_alloc_stats a, b;
    for (int i = 0; i < 100; i++) {
        if (i == 1) dk_alloc_stats_get(&a);
        memset(msg, 'a' + i % 26, sizeof msg);
        assert_int_equal(dk_conn_write(sim.c, msg, sizeof msg), DK_OK);
        assert_int_equal(dk_conn_poll_datagram(sim.c, dg, sizeof dg, &n), DK_OK);
        assert_int_equal(n, sizeof msg + 29); /* header, nonce_explicit, CCM_8 tag */
        size_t more;
        assert_int_equal(dk_conn_poll_datagram(sim.c, dg + n, sizeof dg - n, &more),
                         DK_ERR_WOULD_BLOCK);
        assert_int_equal(dk_conn_receive(sim.s, dg, n, sim.now), DK_OK);
        const uint8_t *d;
        assert_int_equal(dk_conn_read_view(sim.s, &d, &n), DK_OK);
        assert_int_equal(n, sizeof msg);
        assert_memory_equal(d, msg, sizeof msg);
    }
    dk_alloc_stats_get(&b);
    assert_int_equal(b.allocs, a.allocs);
    assert_int_equal(b.reallocs, a.reallocs);
    assert_int_equal(b.frees, a.frees);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

static void *write_once(void *arg)
{
    dk_conn *c = arg;
    uint8_t msg[100] = {1}, dg[256];
    size_t n;
    if (dk_conn_write(c, msg, sizeof msg) != DK_OK) return "write";
    if (dk_conn_poll_datagram(c, dg, sizeof dg, &n) != DK_OK) return "poll";
    return NULL;
}

/* The spare a thread keeps is freed when the thread exits. */
static void test_queued_write_spare_freed_at_thread_exit(void **st)
{
    (void)st;
    dk_config *cc = dk_test_client_config("psk"), *sc = dk_test_server_config("psk");
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 37);
    assert_int_equal(dk_sim_connect(&sim), DK_OK);
    assert_true(dk_sim_handshake(&sim, 5000));
    dk_alloc_stats a, b;
    dk_alloc_stats_get(&a);
    pthread_t t;
    void *err = "not run";
    assert_int_equal(pthread_create(&t, NULL, write_once, sim.c), 0);
    assert_int_equal(pthread_join(t, &err), 0);
    assert_null(err);
    dk_alloc_stats_get(&b);
    assert_true(b.allocs > a.allocs); /* the thread's queue buffer */
    assert_int_equal(b.allocs - a.allocs, b.frees - a.frees);
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_replay_byte_for_byte),
        cmocka_unit_test(test_queued_write_allocates_nothing),
        cmocka_unit_test(test_queued_write_spare_freed_at_thread_exit),
        cmocka_unit_test(test_hostname_mismatch_fails_with_reason),
        cmocka_unit_test(test_wrong_ca_unknown_issuer),
        cmocka_unit_test(test_client_fails_closed),
        cmocka_unit_test(test_pin_accepts),
        cmocka_unit_test(test_write_limits),
        cmocka_unit_test(test_renegotiation_refused),
        cmocka_unit_test(test_R13_cookie_exchange_every_handshake),
        cmocka_unit_test(test_R15_transcript_starts_at_hello_with_cookie),
        cmocka_unit_test(test_R25_R34_fragmented_flights_fit_and_finish),
        cmocka_unit_test(test_R28_sequence_number_never_wraps),
        cmocka_unit_test(test_read_view_in_place),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
