/* The UDP endpoint: many peers at once, a peer that vanishes, a peer that
 * floods, idle expiry, caps, R16 successors, graceful shutdown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net_harness.h"

static bool established(nh *t) { return nh_all_clients_established(t); }

static dk_endpoint_stats stats(nh *t)
{
    dk_endpoint_stats st;
    dk_endpoint_get_stats(t->ep, &st);
    return st;
}

static void send_record(nh *t, nh_client *cl, const char *msg)
{
    assert_int_equal(dk_conn_write(cl->c, (const uint8_t *)msg, strlen(msg)), DK_OK);
    uint8_t buf[2048];
    size_t n;
    while (dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK) nh_send_raw(cl, buf, n);
}

/* 64 clients start at once; every handshake interleaves with the others. */
static void test_many_peers(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    for (int i = 0; i < 64; i++) nh_client_new(t);
    nh_run(t, 5000, established);
    assert_true(nh_all_clients_established(t));
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.hvr_sent, 64);
    assert_int_equal(st.accepted, 64);
    assert_int_equal(st.connected, 64);
    assert_int_equal(st.connections, 64);
    assert_int_equal(st.half_open, 0);
    assert_int_equal(st.peak_half_open, 64); /* all in flight at once */
    assert_int_equal(nh_count(t, NH_CONNECT), 64);
    assert_int_equal(st.empty_wakeups, 0);
    for (size_t i = 0; i < t->ncl; i++) send_record(t, &t->cl[i], "ping from a peer");
    nh_pump(t);
    assert_int_equal(nh_count(t, NH_DATA), 64);
    for (size_t i = 0; i < t->ncl; i++) {
        assert_int_equal(t->cl[i].rx_records, 1);
        assert_int_equal(t->cl[i].rx_bytes, strlen("ping from a peer"));
    }
    /* the connect event names the right peer */
    for (size_t i = 0; i < t->ncl; i++) assert_true(nh_find(t, NH_CONNECT, t->cl[i].port) >= 0);
    nh_free(t);
    free(t);
}

/* A client that vanishes after the cookie exchange: the server's handshake
 * retransmits on its timer, then fails; the table is empty again. */
static void test_vanished_handshake(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    nh_client *cl = nh_client_new(t);
    nh_client_half_open(t, cl);
    assert_int_equal(stats(t).half_open, 1);
    uint64_t start = t->now;
    nh_run(t, 60000, NULL);
    assert_int_equal(nh_count(t, NH_FAILURE), 1);
    int i = nh_find(t, NH_FAILURE, cl->port);
    assert_true(i >= 0);
    assert_int_equal(t->ev[i].why, DK_ERR_TIMEOUT);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.connections, 0);
    assert_int_equal(st.half_open, 0);
    assert_int_equal(dk_endpoint_next_deadline(t->ep), UINT64_MAX);
    /* 100+200+400+800+800 ms of retransmissions, then the fifth timeout */
    assert_true(t->now - start >= 2300);
    nh_free(t);
    free(t);
}

/* An established peer that goes silent is closed when idle; it gets a
 * close_notify, the application on_close(IDLE). Activity postpones it. */
static void test_idle_expiry(void **state)
{
    nh *t = calloc(1, sizeof *t);
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.idle_timeout_ms = 10000;
    nh_init(t, "ec", &o);
    nh_client *a = nh_client_new(t);
    nh_client *b = nh_client_new(t);
    nh_run(t, 5000, established);
    assert_true(nh_all_clients_established(t));
    uint64_t t0 = t->now;
    t->now = t0 + 6000;
    send_record(t, b, "still here");
    nh_pump(t);
    /* a's deadline comes first, exactly 10 s after its last datagram */
    assert_true(dk_endpoint_next_deadline(t->ep) <= t0 + 10000);
    t->now = t0 + 10000;
    nh_pump(t);
    assert_int_equal(nh_count_why(t, NH_CLOSE, DK_ENDPOINT_CLOSE_IDLE), 1);
    assert_true(nh_find(t, NH_CLOSE, a->port) >= 0);
    assert_int_equal(dk_conn_state(a->c), DK_STATE_CLOSED); /* got close_notify */
    assert_int_equal(dk_conn_state(b->c), DK_STATE_ESTABLISHED);
    assert_int_equal(stats(t).connections, 1);
    t->now = t0 + 16000;
    nh_pump(t);
    assert_int_equal(nh_count_why(t, NH_CLOSE, DK_ENDPOINT_CLOSE_IDLE), 2);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.idle_expired, 2);
    assert_int_equal(st.connections, 0);
    nh_free(t);
    free(t);
}

/* One address floods: ClientHellos without cookies and garbage. It gets
 * stateless HelloVerifyRequests (never larger than what it sent) and no
 * state; eight honest clients complete meanwhile. */
static void test_flood(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    nh_client *flooder = nh_client_new(t);
    /* its first ClientHello, kept as a template */
    nh_client_vanish(flooder);
    for (int i = 0; i < 8; i++) nh_client_new(t);
    uint8_t junk[300];
    for (int round = 0; round < 20; round++) {
        for (int k = 0; k < 100; k++) {
            for (size_t j = 0; j < sizeof junk; j++) junk[j] = (uint8_t)(rand() & 0xff);
            junk[0] = 22; /* handshake */
            junk[1] = 0xfe;
            junk[2] = 0xfd;
            nh_send_raw(flooder, junk, k % 2 ? (size_t)(13 + k) : sizeof junk);
        }
        nh_pump(t);
    }
    nh_run(t, 5000, established);
    assert_true(nh_all_clients_established(t));
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.connected, 8);
    assert_int_equal(st.peak_connections, 8);
    assert_true(st.gate_dropped >= 2000);
    assert_int_equal(nh_count(t, NH_FAILURE), 0);
    /* garbage at an established connection leaves it alone */
    nh_client *ok = &t->cl[1];
    for (int k = 0; k < 500; k++) {
        for (size_t j = 0; j < sizeof junk; j++) junk[j] = (uint8_t)(rand() & 0xff);
        junk[0] = 23;
        junk[1] = 0xfe;
        junk[2] = 0xfd;
        junk[3] = 0;
        junk[4] = 1;
        nh_send_raw(ok, junk, sizeof junk);
    }
    t->echo = true;
    send_record(t, ok, "after the storm");
    nh_pump(t);
    assert_int_equal(ok->rx_records, 1);
    assert_int_equal(stats(t).connections, 8);
    nh_free(t);
    free(t);
}

/* ClientHellos from many addresses without cookies: only HVRs, nothing
 * allocated. */
static void test_hvr_flood_allocates_nothing(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    for (int i = 0; i < 40; i++) {
        nh_client *cl = nh_client_new(t); /* sends its first ClientHello */
        nh_client_vanish(cl);
    }
    nh_pump(t);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.hvr_sent, 40);
    assert_int_equal(st.accepted, 0);
    assert_int_equal(st.peak_connections, 0);
    nh_free(t);
    free(t);
}

/* Cap on half-open handshakes: the rest are dropped until room frees up;
 * their retransmissions then get through. */
static void test_half_open_cap(void **state)
{
    nh *t = calloc(1, sizeof *t);
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.max_half_open = 4;
    nh_init(t, "ec", &o);
    for (int i = 0; i < 10; i++) nh_client_new(t);
    nh_pump(t);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.peak_half_open, 4);
    assert_int_equal(st.refused_half_open, 6);
    nh_run(t, 20000, established);
    assert_true(nh_all_clients_established(t));
    st = stats(t);
    assert_int_equal(st.connected, 10);
    assert_true(st.peak_half_open <= 4);
    nh_free(t);
    free(t);
}

/* Cap on connections. */
static void test_connection_cap(void **state)
{
    nh *t = calloc(1, sizeof *t);
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.max_connections = 5;
    nh_init(t, "ec", &o);
    for (int i = 0; i < 8; i++) nh_client_new(t);
    nh_run(t, 3000, NULL);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.connected, 5);
    assert_int_equal(st.connections, 5);
    assert_true(st.refused_full >= 3);
    size_t est = 0;
    for (size_t i = 0; i < t->ncl; i++) est += dk_conn_state(t->cl[i].c) == DK_STATE_ESTABLISHED;
    assert_int_equal(est, 5);
    nh_free(t);
    free(t);
}

/* Graceful shutdown: close_notify to every established peer, on_close
 * (SHUTDOWN) for each connection including half-open ones. */
static void test_shutdown(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    for (int i = 0; i < 10; i++) nh_client_new(t);
    nh_run(t, 5000, established);
    assert_true(nh_all_clients_established(t));
    /* two handshakes left half-way: their clients stop answering */
    for (int i = 0; i < 2; i++) {
        nh_client *cl = nh_client_new(t);
        nh_client_half_open(t, cl);
    }
    assert_int_equal(stats(t).half_open, 2);
    assert_int_equal(dk_endpoint_shutdown(t->ep), DK_OK);
    assert_int_equal(nh_count_why(t, NH_CLOSE, DK_ENDPOINT_CLOSE_SHUTDOWN), 12);
    assert_int_equal(nh_count(t, NH_FAILURE), 0);
    nh_pump(t);
    for (int i = 0; i < 10; i++) assert_int_equal(dk_conn_state(t->cl[i].c), DK_STATE_CLOSED);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.connections, 0);
    /* no new peers after shutdown */
    nh_client_new(t);
    nh_pump(t);
    assert_int_equal(stats(t).accepted, 12);
    nh_free(t);
    free(t);
}

/* R16: the same address starts a new handshake. The old association keeps
 * working until the successor is established, then on_close(SUPERSEDED)
 * for the old one, on_connect for the new one, in that order. */
static void test_successor(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    nh_client *cl = nh_client_new(t);
    nh_run(t, 5000, established);
    assert_int_equal(nh_count(t, NH_CONNECT), 1);
    dk_conn *old_client = cl->c;
    cl->c = NULL;
    nh_client_restart(t, cl); /* a new dtlskit client on the same socket */
    nh_run(t, 5000, established);
    assert_int_equal(dk_conn_state(cl->c), DK_STATE_ESTABLISHED);
    int closed = -1, connected = -1;
    for (size_t i = 0; i < t->nev; i++) {
        if (t->ev[i].kind == NH_CLOSE && t->ev[i].why == DK_ENDPOINT_CLOSE_SUPERSEDED) closed = (int)i;
        if (t->ev[i].kind == NH_CONNECT) connected = (int)i;
    }
    assert_true(closed >= 0 && connected > closed);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.superseded, 1);
    assert_int_equal(st.connections, 1);
    assert_int_equal(nh_count(t, NH_ACCEPT), 2);
    send_record(t, cl, "new keys");
    nh_pump(t);
    assert_int_equal(cl->rx_records, 1);
    dk_conn_free(old_client);
    nh_free(t);
    free(t);
}

/* An established client, then a second dtlskit client on the same socket
 * whose ClientHello (+ cookie) starts a successor, held half-way (the new
 * client is not pumped). Returns the old client; cl->c is the new one. */
static dk_conn *successor_half_way(nh *t, nh_client *cl)
{
    nh_run(t, 5000, established);
    dk_conn *old_client = cl->c;
    cl->c = dk_conn_new(t->ccfg, NULL, 0);
    assert_non_null(cl->c);
    assert_int_equal(dk_conn_set_server_name(cl->c, "localhost"), DK_OK);
    assert_int_equal(dk_conn_connect(cl->c, t->now), DK_OK);
    uint8_t buf[4096];
    size_t n;
    while (dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK) nh_send_raw(cl, buf, n);
    assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK); /* HVR back */
    ssize_t got = recv(cl->fd, buf, sizeof buf, 0);
    assert_true(got > 0);
    assert_int_equal(dk_conn_receive(cl->c, buf, (size_t)got, t->now), DK_OK);
    while (dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK) nh_send_raw(cl, buf, n);
    assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK); /* successor starts */
    assert_int_equal(stats(t).connections, 2);
    assert_int_equal(nh_count(t, NH_ACCEPT), 2);
    return old_client;
}

/* R16 while the old association is established: its records still flow
 * during the new handshake. */
static void test_old_association_carries_data(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    nh_client *cl = nh_client_new(t);
    dk_conn *old_client = successor_half_way(t, cl);
    uint8_t buf[4096];
    size_t n;
    ssize_t got;
    /* the old client's record reaches the old association and is echoed */
    assert_int_equal(dk_conn_write(old_client, (const uint8_t *)"old", 3), DK_OK);
    while (dk_conn_poll_datagram(old_client, buf, sizeof buf, &n) == DK_OK) nh_send_raw(cl, buf, n);
    assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK);
    assert_int_equal(nh_count(t, NH_DATA), 1);
    size_t echoed = 0;
    while ((got = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        dk_result r = dk_conn_receive(old_client, buf, (size_t)got, t->now);
        (void)r;
        while (dk_conn_read(old_client, buf, sizeof buf, &n) == DK_OK) echoed++;
    }
    assert_int_equal(echoed, 1);
    dk_conn_free(old_client);
    nh_free(t);
    free(t);
}

/* R16 between the successor's ChangeCipherSpec and its Finished: the old
 * client's records fail the successor's new keys and reach the old
 * association; they do not count as a corrupted handshake, so the new one
 * still completes (three used to end it with bad_record_mac). */
static void test_old_data_between_ccs_and_finished(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    nh_client *cl = nh_client_new(t);
    dk_conn *old_client = successor_half_way(t, cl);
    uint8_t buf[20000], recs[3][2048];
    size_t n, rlen[3] = {0}, k = 0;
    ssize_t got;
    while ((got = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) /* the server's flight */
        assert_true(dk_conn_receive(cl->c, buf, (size_t)got, t->now) >= 0);
    /* the new client's flight, one record per datagram: CKE, CCS, Finished */
    while (dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK) {
        for (size_t off = 0; off + 13 <= n; k++) {
            size_t r = 13 + ((size_t)buf[off + 11] << 8 | buf[off + 12]);
            assert_true(k < 3 && off + r <= n && r <= sizeof recs[0]);
            memcpy(recs[k], buf + off, r);
            rlen[k] = r;
            off += r;
        }
    }
    assert_int_equal(k, 3);
    assert_int_equal(recs[1][0], 20); /* change_cipher_spec */
    nh_send_raw(cl, recs[0], rlen[0]);
    nh_send_raw(cl, recs[1], rlen[1]);
    assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(dk_conn_write(old_client, (const uint8_t *)"old", 3), DK_OK);
        while (dk_conn_poll_datagram(old_client, buf, sizeof buf, &n) == DK_OK) nh_send_raw(cl, buf, n);
        assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK);
    }
    assert_int_equal(nh_count(t, NH_DATA), 4);
    assert_int_equal(nh_count(t, NH_FAILURE), 0);
    assert_int_equal(stats(t).connections, 2);
    nh_send_raw(cl, recs[2], rlen[2]);
    assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK);
    while ((got = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        dk_result r = dk_conn_receive(cl->c, buf, (size_t)got, t->now);
        (void)r; /* the old association's echoes fail the new keys */
    }
    assert_int_equal(dk_conn_state(cl->c), DK_STATE_ESTABLISHED);
    assert_int_equal(stats(t).superseded, 1);
    assert_int_equal(stats(t).connections, 1);
    dk_conn_free(old_client);
    nh_free(t);
    free(t);
}

/* The client side of the endpoint against the server side. */
static int g_client_connects, g_client_data, g_client_closes;
static void cc_connect(void *arg, dk_endpoint *ep, dk_endpoint_conn *c)
{
    g_client_connects++;
    assert_true(dk_endpoint_conn_is_client(c));
    assert_int_equal(dk_endpoint_send(ep, c, (const uint8_t *)"hello", 5), DK_OK);
}
static void cc_data(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *d, size_t n)
{
    g_client_data++;
    assert_memory_equal(d, "hello", 5);
    assert_int_equal(dk_endpoint_close_conn(ep, c), DK_OK);
}
static void cc_close(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_endpoint_close_reason why)
{
    g_client_closes++;
    assert_int_equal(why, DK_ENDPOINT_CLOSE_LOCAL);
}

static void test_client_endpoint(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.client = t->ccfg;
    o.batch = 1;
    o.cb.on_connect = cc_connect;
    o.cb.on_data = cc_data;
    o.cb.on_close = cc_close;
    dk_endpoint *cep = dk_endpoint_new(&o);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(dk_endpoint_listen(cep, (struct sockaddr *)&a, sizeof a), DK_OK);
    assert_int_equal(dk_endpoint_process(cep, t->now), DK_OK);
    dk_endpoint_conn *h = NULL;
    assert_int_equal(dk_endpoint_connect(cep, (struct sockaddr *)&t->addr, sizeof t->addr,
                                         "localhost", &h),
                     DK_OK);
    assert_non_null(h);
    for (int i = 0; i < 50 && g_client_closes == 0; i++) {
        assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK);
        assert_int_equal(dk_endpoint_process(cep, t->now), DK_OK);
    }
    assert_int_equal(dk_endpoint_process(t->ep, t->now), DK_OK);
    assert_int_equal(g_client_connects, 1);
    assert_int_equal(g_client_data, 1);
    assert_int_equal(g_client_closes, 1);
    assert_int_equal(nh_count_why(t, NH_CLOSE, DK_ENDPOINT_CLOSE_PEER), 1);
    assert_int_equal(stats(t).connections, 0);
    dk_endpoint_free(cep);
    nh_free(t);
    free(t);
}

/* The real-clock loop sleeps until the next deadline: with a vanished peer
 * retransmitting every 20-160 ms, no wake-up finds nothing to do. */
static void test_no_empty_wakeups(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    assert_int_equal(dk_config_set_timers(t->scfg, 20, 160, 4), DK_OK);
    t->now = dk_endpoint_now_ms();
    nh_client *cl = nh_client_new(t);
    nh_client_half_open(t, cl);
    assert_int_equal(stats(t).half_open, 1);
    uint64_t end = dk_endpoint_now_ms() + 2000;
    while (stats(t).connections > 0 && dk_endpoint_now_ms() < end)
        assert_int_equal(dk_endpoint_run_once(t->ep, -1), DK_OK);
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.connections, 0);
    assert_int_equal(nh_count(t, NH_FAILURE), 1);
    assert_true(st.wakeups >= 4);
    assert_int_equal(st.empty_wakeups, 0);
    nh_free(t);
    free(t);
}

/* 32 records of 1000 bytes from the client, echoed: returns the stats. */
static dk_endpoint_stats echo_burst(nh *t, nh_client *cl)
{
    uint8_t rec[1000];
    memset(rec, 'x', sizeof rec);
    uint8_t buf[2048];
    size_t n;
    for (int i = 0; i < 32; i++) {
        assert_int_equal(dk_conn_write(cl->c, rec, sizeof rec), DK_OK);
        while (dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK) nh_send_raw(cl, buf, n);
    }
    nh_pump(t);
    assert_int_equal(cl->rx_records, 32);
    assert_int_equal(cl->rx_bytes, 32 * sizeof rec);
    return stats(t);
}

/* GSO (on by default): a burst of equal-size records to one peer leaves as
 * GSO sends and arrives as separate datagrams. */
static void test_gso_burst(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    nh_client *cl = nh_client_new(t);
    nh_run(t, 5000, established);
    dk_endpoint_stats st = echo_burst(t, cl);
    if (st.gso_sends == 0) {
        nh_free(t);
        free(t);
        skip(); /* the kernel has no UDP_SEGMENT */
    }
    assert_true(st.gso_sends >= 1);
    assert_int_equal(st.gso_refused, 0);
    assert_int_equal(st.send_errors, 0);
    nh_free(t);
    free(t);
}

/* A GSO burst the kernel refuses (SO_NO_CHECK makes it answer EINVAL) goes
 * again datagram by datagram, and GSO stays off for that socket. */
static void test_gso_refused(void **state)
{
    nh *t = calloc(1, sizeof *t);
    nh_init(t, "ec", NULL);
    t->echo = true;
    nh_client *cl = nh_client_new(t);
    nh_run(t, 5000, established);
    int one = 1;
    assert_int_equal(setsockopt(dk_endpoint_fd(t->ep), SOL_SOCKET, SO_NO_CHECK, &one, sizeof one), 0);
    dk_endpoint_stats st = echo_burst(t, cl);
    if (st.gso_sends == 0) {
        nh_free(t);
        free(t);
        skip(); /* the kernel has no UDP_SEGMENT */
    }
    assert_int_equal(st.gso_refused, 1);
    assert_int_equal(st.send_errors, 0);
    uint64_t sends = st.gso_sends;
    cl->rx_records = cl->rx_bytes = 0;
    st = echo_burst(t, cl);
    assert_int_equal(st.gso_sends, sends); /* no more bursts */
    assert_int_equal(st.gso_refused, 1);
    nh_free(t);
    free(t);
}

/* Dual-stack: an IPv6 wildcard socket serves an IPv4 peer and an IPv6 one. */
static int g_v6_connects;
static void v6_connect(void *arg, dk_endpoint *ep, dk_endpoint_conn *c) { g_v6_connects++; }

static void test_dual_stack(void **state)
{
    dk_config *scfg = dk_test_server_config("ec");
    dk_config *ccfg = dk_test_client_config("ec");
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.server = scfg;
    o.cb.on_connect = v6_connect;
    dk_endpoint *ep = dk_endpoint_new(&o);
    struct sockaddr_in6 any = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_ANY_INIT};
    if (dk_endpoint_listen(ep, (struct sockaddr *)&any, sizeof any) != DK_OK) {
        dk_endpoint_free(ep);
        dk_config_free(scfg);
        dk_config_free(ccfg);
        skip(); /* no IPv6 here */
    }
    struct sockaddr_storage ss;
    socklen_t len;
    assert_int_equal(dk_endpoint_local_addr(ep, &ss, &len), DK_OK);
    uint16_t port = ((struct sockaddr_in6 *)&ss)->sin6_port;
    o.server = NULL;
    o.client = ccfg;
    o.cb.on_connect = v6_connect;
    dk_endpoint *c4 = dk_endpoint_new(&o), *c6 = dk_endpoint_new(&o);
    struct sockaddr_in l4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 l6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    assert_int_equal(dk_endpoint_listen(c4, (struct sockaddr *)&l4, sizeof l4), DK_OK);
    bool have6 = dk_endpoint_listen(c6, (struct sockaddr *)&l6, sizeof l6) == DK_OK;
    l4.sin_port = port;
    l6.sin6_port = port;
    assert_int_equal(dk_endpoint_connect(c4, (struct sockaddr *)&l4, sizeof l4, "127.0.0.1", NULL),
                     DK_OK);
    if (have6)
        assert_int_equal(
            dk_endpoint_connect(c6, (struct sockaddr *)&l6, sizeof l6, "localhost", NULL), DK_OK);
    uint64_t now = dk_endpoint_now_ms();
    for (int i = 0; i < 20; i++) {
        assert_int_equal(dk_endpoint_process(ep, now), DK_OK);
        assert_int_equal(dk_endpoint_process(c4, now), DK_OK);
        if (have6) assert_int_equal(dk_endpoint_process(c6, now), DK_OK);
    }
    /* server and client side each count their connect */
    assert_int_equal(g_v6_connects, have6 ? 4 : 2);
    dk_endpoint_free(c4);
    dk_endpoint_free(c6);
    dk_endpoint_free(ep);
    dk_config_free(scfg);
    dk_config_free(ccfg);
}

/* Without batching (one system call per datagram) the behaviour is the
 * same. */
static void test_no_batching(void **state)
{
    nh *t = calloc(1, sizeof *t);
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.batch = 1;
    nh_init(t, "psk", &o);
    for (int i = 0; i < 16; i++) nh_client_new(t);
    nh_run(t, 5000, established);
    assert_true(nh_all_clients_established(t));
    dk_endpoint_stats st = stats(t);
    assert_int_equal(st.connected, 16);
    /* every datagram out took its own call */
    assert_true(st.send_calls >= st.datagrams_out);
    nh_free(t);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_peers),
        cmocka_unit_test(test_vanished_handshake),
        cmocka_unit_test(test_idle_expiry),
        cmocka_unit_test(test_flood),
        cmocka_unit_test(test_hvr_flood_allocates_nothing),
        cmocka_unit_test(test_half_open_cap),
        cmocka_unit_test(test_connection_cap),
        cmocka_unit_test(test_shutdown),
        cmocka_unit_test(test_successor),
        cmocka_unit_test(test_old_association_carries_data),
        cmocka_unit_test(test_old_data_between_ccs_and_finished),
        cmocka_unit_test(test_client_endpoint),
        cmocka_unit_test(test_no_empty_wakeups),
        cmocka_unit_test(test_gso_burst),
        cmocka_unit_test(test_gso_refused),
        cmocka_unit_test(test_dual_stack),
        cmocka_unit_test(test_no_batching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
