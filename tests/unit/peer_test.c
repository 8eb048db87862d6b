/* dk_peer: one peer's associations on a server with its own loop (R16, R38):
 * a new handshake on an established association's address runs beside it,
 * the old association's traffic keeps flowing until the new Finished
 * verifies, and a successor that fails leaves the old one current. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "dk_sim.h"
#include "dtlskit/dtlskit.h"

#define CAP 20000
static const uint8_t ADDR[6] = {127, 0, 0, 1, 0x12, 0x34};

typedef struct world {
    dk_config *scfg, *ccfg;
    dk_peer *peer;
    uint64_t now;
    uint64_t crand, srand;
    size_t news; /* DK_NEW_HANDSHAKE results */
    dk_conn *reader; /* the association that read the last data */
    uint8_t got[4096];
    size_t got_len;
} world;

/* A client datagram to the server: through the gate while there is no peer. */
static void to_server(world *w, dk_conn *from, const uint8_t *d, size_t len)
{
    static uint8_t buf[CAP], out[CAP];
    memcpy(buf, d, len);
    if (!w->peer) {
        size_t n = 0;
        dk_gate_verdict v = dk_server_gate(w->scfg, ADDR, sizeof ADDR, buf, len, w->now, out,
                                           sizeof out, &n);
        if (v == DK_GATE_HVR) {
            assert_true(dk_conn_receive(from, out, n, w->now) >= 0);
            return;
        }
        if (v != DK_GATE_ACCEPT) return;
        w->peer = dk_peer_new(dk_conn_new(w->scfg, ADDR, sizeof ADDR));
        assert_non_null(w->peer);
    }
    dk_result r = dk_peer_receive(w->peer, buf, len, w->now);
    if (r == DK_NEW_HANDSHAKE) w->news++;
    const uint8_t *v;
    size_t n;
    dk_conn *reader;
    while (dk_peer_read_view(w->peer, &v, &n, &reader) == DK_OK) {
        w->reader = reader;
        assert_true(w->got_len + n <= sizeof w->got);
        memcpy(w->got + w->got_len, v, n);
        w->got_len += n;
    }
}

/* Moves datagrams both ways between one client and the peer until quiet;
 * the server's go to that client. */
static void pump(world *w, dk_conn *c)
{
    static uint8_t dg[CAP];
    size_t n;
    for (int round = 0; round < 50; round++) {
        bool moved = false;
        while (dk_conn_poll_datagram(c, dg, sizeof dg, &n) == DK_OK) {
            to_server(w, c, dg, n);
            moved = true;
        }
        while (w->peer && dk_peer_poll_datagram(w->peer, dg, sizeof dg, &n) == DK_OK) {
            (void)!dk_conn_receive(c, dg, n, w->now);
            moved = true;
        }
        if (!moved) return;
    }
    fail_msg("no quiet after 50 rounds");
}

static dk_conn *client(world *w)
{
    dk_conn *c = dk_conn_new(w->ccfg, NULL, 0);
    assert_non_null(c);
    assert_int_equal(dk_conn_connect(c, w->now), DK_OK);
    return c;
}

/* Sends text from c and returns whether the server read exactly it. */
static bool delivers(world *w, dk_conn *c, const char *text)
{
    w->got_len = 0;
    assert_int_equal(dk_conn_write(c, (const uint8_t *)text, strlen(text)), DK_OK);
    pump(w, c);
    return w->got_len == strlen(text) && memcmp(w->got, text, w->got_len) == 0;
}

static void world_init(world *w, uint64_t seed)
{
    memset(w, 0, sizeof *w);
    w->now = 1000;
    w->crand = seed;
    w->srand = seed + 1;
    w->scfg = dk_test_server_config("psk");
    w->ccfg = dk_test_client_config("psk");
    dk_config_set_random(w->scfg, dk_test_random, &w->srand);
    dk_config_set_random(w->ccfg, dk_test_random, &w->crand);
}

static void world_free(world *w)
{
    dk_peer_free(w->peer);
    dk_config_free(w->scfg);
    dk_config_free(w->ccfg);
}

/* A second client on the peer's address: its ClientHello meets the current
 * connection, which answers with an HVR bound to its state (R38); B's
 * ClientHello with that cookie then starts the successor, whose first flight
 * stays queued in the peer. */
static dk_conn *restart_on_address(world *w)
{
    dk_conn *b = client(w);
    uint8_t dg[CAP];
    size_t n;
    size_t news = w->news;
    assert_int_equal(dk_conn_poll_datagram(b, dg, sizeof dg, &n), DK_OK);
    to_server(w, b, dg, n);
    assert_int_equal(dk_peer_poll_datagram(w->peer, dg, sizeof dg, &n), DK_OK);
    assert_int_equal(dk_conn_receive(b, dg, n, w->now), DK_OK);
    assert_int_equal(dk_conn_poll_datagram(b, dg, sizeof dg, &n), DK_OK);
    to_server(w, b, dg, n);
    assert_int_equal(w->news, news + 1);
    return b;
}

static void test_R16_successor_beside_old_association(void **st)
{
    (void)st;
    world w;
    world_init(&w, 16);
    dk_conn *a = client(&w);
    pump(&w, a);
    assert_int_equal(dk_conn_state(a), DK_STATE_ESTABLISHED);
    dk_conn *assoc = dk_peer_conn(w.peer);
    assert_int_equal(dk_conn_state(assoc), DK_STATE_ESTABLISHED);
    assert_true(delivers(&w, a, "from a"));

    /* B restarts on the same address: HVR from the association, then B's
     * ClientHello with that cookie starts a successor beside it. */
    dk_conn *b = client(&w);
    uint8_t dg[CAP], hvr[CAP];
    size_t n, hn;
    assert_int_equal(dk_conn_poll_datagram(b, dg, sizeof dg, &n), DK_OK);
    to_server(&w, b, dg, n);
    assert_int_equal(dk_peer_poll_datagram(w.peer, hvr, sizeof hvr, &hn), DK_OK);
    assert_ptr_equal(dk_peer_conn(w.peer), assoc); /* R16: untouched */
    assert_int_equal(dk_conn_receive(b, hvr, hn, w.now), DK_OK);
    assert_int_equal(dk_conn_poll_datagram(b, dg, sizeof dg, &n), DK_OK);
    to_server(&w, b, dg, n);
    assert_int_equal(w.news, 1);
    assert_ptr_equal(dk_peer_old(w.peer), assoc);
    assert_ptr_not_equal(dk_peer_conn(w.peer), assoc);

    /* A's traffic still reaches the old association and is answered. */
    w.got_len = 0;
    assert_int_equal(dk_conn_write(a, (const uint8_t *)"still a", 7), DK_OK);
    assert_int_equal(dk_conn_poll_datagram(a, dg, sizeof dg, &n), DK_OK);
    to_server(&w, a, dg, n);
    assert_int_equal(w.got_len, 7);
    assert_memory_equal(w.got, "still a", 7);
    assert_ptr_equal(w.reader, assoc); /* the one to answer on */

    /* B completes: the old association goes, B's data flows. */
    pump(&w, b);
    assert_int_equal(dk_conn_state(b), DK_STATE_ESTABLISHED);
    assert_null(dk_peer_old(w.peer));
    assert_true(delivers(&w, b, "from b"));
    assert_false(dk_peer_done(w.peer));

    /* B closes: the peer is done. */
    assert_int_equal(dk_conn_close(b), DK_OK);
    pump(&w, b);
    assert_true(dk_peer_done(w.peer));
    dk_conn_free(a);
    dk_conn_free(b);
    world_free(&w);
}

/* A successor whose handshake never completes fails on its timers; the old
 * association is current again and keeps working. */
static void test_R16_failed_successor_leaves_old_current(void **st)
{
    (void)st;
    world w;
    world_init(&w, 61);
    dk_conn *a = client(&w);
    pump(&w, a);
    dk_conn *assoc = dk_peer_conn(w.peer);
    assert_int_equal(dk_conn_state(assoc), DK_STATE_ESTABLISHED);
    dk_conn *b = restart_on_address(&w);
    assert_ptr_equal(dk_peer_old(w.peer), assoc);
    dk_conn_free(b); /* B vanishes */
    uint8_t dg[CAP];
    size_t n;

    /* Only timers from here: the successor retransmits, then gives up. */
    for (int i = 0; i < 100 && dk_peer_old(w.peer); i++) {
        uint64_t t = dk_peer_next_timeout(w.peer);
        assert_true(t != UINT64_MAX);
        if (t > w.now) w.now = t;
        (void)dk_peer_handle_timeout(w.peer, w.now);
        while (dk_peer_poll_datagram(w.peer, dg, sizeof dg, &n) == DK_OK) {
        }
    }
    assert_null(dk_peer_old(w.peer));
    assert_ptr_equal(dk_peer_conn(w.peer), assoc);
    assert_int_equal(dk_conn_state(assoc), DK_STATE_ESTABLISHED);
    assert_false(dk_peer_done(w.peer));
    assert_true(delivers(&w, a, "a again"));
    dk_conn_free(a);
    world_free(&w);
}

/* Each record of a datagram as a datagram of its own, in order. */
static size_t split_records(const uint8_t *d, size_t len, uint8_t rec[][CAP], size_t *rlen,
                            size_t max)
{
    size_t k = 0, off = 0;
    while (off + 13 <= len && k < max) {
        size_t n = 13 + ((size_t)d[off + 11] << 8 | d[off + 12]);
        assert_true(off + n <= len);
        memcpy(rec[k], d + off, n);
        rlen[k++] = n;
        off += n;
    }
    assert_int_equal(off, len);
    return k;
}

/* A established, B restarted on its address; B's flight (CKE, CCS,
 * Finished) split into records, the first two delivered: the successor has
 * B's new keys and waits for the Finished in recs[2]. */
static dk_conn *successor_before_finished(world *w, dk_conn **a, uint8_t recs[][CAP],
                                          size_t *rlen)
{
    *a = client(w);
    pump(w, *a);
    dk_conn *b = restart_on_address(w);
    static uint8_t dg[CAP];
    size_t n;
    while (dk_peer_poll_datagram(w->peer, dg, sizeof dg, &n) == DK_OK)
        assert_true(dk_conn_receive(b, dg, n, w->now) >= 0);
    assert_int_equal(dk_conn_poll_datagram(b, dg, sizeof dg, &n), DK_OK);
    assert_int_equal(split_records(dg, n, recs, rlen, 8), 3);
    assert_int_equal(recs[1][0], 20); /* change_cipher_spec */
    assert_int_equal(recs[2][0], 22); /* Finished, epoch 1 */
    to_server(w, b, recs[0], rlen[0]);
    to_server(w, b, recs[1], rlen[1]);
    return b;
}

/* Between the successor's ChangeCipherSpec and its Finished, the old
 * association's application data fails the successor's epoch-1 keys: those
 * records go to the old association and do not count as a corrupted
 * handshake (only handshake records do), so the new handshake completes. */
static void test_R16_old_traffic_between_ccs_and_finished(void **st)
{
    (void)st;
    world w;
    world_init(&w, 162);
    static uint8_t dg[CAP], recs[8][CAP];
    size_t n, rlen[8];
    dk_conn *a;
    dk_conn *b = successor_before_finished(&w, &a, recs, rlen);
    dk_conn *assoc = dk_peer_old(w.peer);
    assert_non_null(assoc);
    w.got_len = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(dk_conn_write(a, (const uint8_t *)"old", 3), DK_OK);
        assert_int_equal(dk_conn_poll_datagram(a, dg, sizeof dg, &n), DK_OK);
        to_server(&w, a, dg, n);
    }
    assert_int_equal(w.got_len, 15); /* all five reached the old association */
    assert_ptr_equal(dk_peer_old(w.peer), assoc);
    assert_int_equal(dk_conn_state(dk_peer_conn(w.peer)), DK_STATE_HANDSHAKING);
    to_server(&w, b, recs[2], rlen[2]);
    pump(&w, b);
    assert_int_equal(dk_conn_state(b), DK_STATE_ESTABLISHED);
    assert_null(dk_peer_old(w.peer));
    assert_true(delivers(&w, b, "b"));
    dk_conn_free(a);
    dk_conn_free(b);
    world_free(&w);
}

/* A successor that fails on a corrupted Finished (three times: the prompt
 * bad_record_mac) still has its alert to send; meanwhile the old
 * association reads its traffic, and becomes current once the alert left. */
static void test_R16_failed_successor_alert_pending(void **st)
{
    (void)st;
    world w;
    world_init(&w, 163);
    static uint8_t dg[CAP], recs[8][CAP];
    size_t n, rlen[8];
    dk_conn *a;
    dk_conn *b = successor_before_finished(&w, &a, recs, rlen);
    dk_conn *assoc = dk_peer_old(w.peer);
    assert_non_null(assoc);
    recs[2][rlen[2] - 1] ^= 1; /* the Finished's tag */
    for (int i = 0; i < 3; i++) to_server(&w, b, recs[2], rlen[2]);
    assert_int_equal(dk_conn_state(dk_peer_conn(w.peer)), DK_STATE_FAILED);
    assert_ptr_equal(dk_peer_old(w.peer), assoc);
    w.got_len = 0;
    assert_int_equal(dk_conn_write(a, (const uint8_t *)"meanwhile", 9), DK_OK);
    assert_int_equal(dk_conn_poll_datagram(a, dg, sizeof dg, &n), DK_OK);
    to_server(&w, a, dg, n);
    assert_int_equal(w.got_len, 9);
    assert_memory_equal(w.got, "meanwhile", 9);
    /* The alert goes out (bad_record_mac), then the old one is current. */
    assert_int_equal(dk_peer_poll_datagram(w.peer, dg, sizeof dg, &n), DK_OK);
    assert_int_equal(dg[0], 21); /* alert record */
    assert_int_equal(dk_peer_poll_datagram(w.peer, dg, sizeof dg, &n), DK_ERR_WOULD_BLOCK);
    assert_ptr_equal(dk_peer_conn(w.peer), assoc);
    assert_null(dk_peer_old(w.peer));
    assert_true(delivers(&w, a, "a"));
    dk_conn_free(a);
    dk_conn_free(b);
    world_free(&w);
}

/* A handshake in progress is replaced at once by a successor (R38). */
static void test_R38_handshaking_conn_replaced(void **st)
{
    (void)st;
    world w;
    world_init(&w, 38);
    dk_conn *a = client(&w);
    uint8_t dg[CAP];
    size_t n;
    /* A's ClientHello with cookie creates the peer; stop before A finishes. */
    assert_int_equal(dk_conn_poll_datagram(a, dg, sizeof dg, &n), DK_OK);
    to_server(&w, a, dg, n); /* HVR straight to a */
    assert_int_equal(dk_conn_poll_datagram(a, dg, sizeof dg, &n), DK_OK);
    to_server(&w, a, dg, n);
    assert_non_null(w.peer);
    while (dk_peer_poll_datagram(w.peer, dg, sizeof dg, &n) == DK_OK) {
    }
    dk_conn *first = dk_peer_conn(w.peer);
    assert_int_equal(dk_conn_state(first), DK_STATE_HANDSHAKING);
    dk_conn_free(a);
    /* B on the same address: HVR bound to the pending state, then a successor. */
    dk_conn *b = restart_on_address(&w);
    assert_null(dk_peer_old(w.peer)); /* nothing established to keep */
    pump(&w, b);
    assert_int_equal(dk_conn_state(b), DK_STATE_ESTABLISHED);
    assert_true(delivers(&w, b, "b"));
    dk_conn_free(b);
    world_free(&w);
}

static void test_peer_api_guards(void **st)
{
    (void)st;
    uint8_t d[16];
    size_t n;
    const uint8_t *v;
    assert_null(dk_peer_new(NULL));
    assert_int_equal(dk_peer_receive(NULL, d, sizeof d, 0), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_peer_poll_datagram(NULL, d, sizeof d, &n), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_peer_read(NULL, d, sizeof d, &n, NULL), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_peer_read_view(NULL, &v, &n, NULL), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_peer_handle_timeout(NULL, 0), DK_ERR_INVALID_ARG);
    assert_int_equal(dk_peer_next_timeout(NULL), UINT64_MAX);
    assert_null(dk_peer_conn(NULL));
    assert_true(dk_peer_done(NULL));
    dk_peer_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_R16_successor_beside_old_association),
        cmocka_unit_test(test_R16_failed_successor_leaves_old_current),
        cmocka_unit_test(test_R16_old_traffic_between_ccs_and_finished),
        cmocka_unit_test(test_R16_failed_successor_alert_pending),
        cmocka_unit_test(test_R38_handshaking_conn_replaced),
        cmocka_unit_test(test_peer_api_guards),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
