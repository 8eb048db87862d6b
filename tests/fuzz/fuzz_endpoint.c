/* The UDP endpoint (src/net) fed datagrams from several peers over real
 * sockets on 127.0.0.1: the address table, the cookie gate in front of it,
 * the caps, R16 successors, the timer heap, the send batch (GSO on) and a
 * graceful shutdown, with the fuzz clock given to dk_endpoint_process.
 *
 * Input: the engine chunks (fuzz_common.h, sealed chunks included: the
 * harness seals them with the keys of the peer's current connection), so
 * the server_nocookie corpus drives full handshakes here too (the server runs without the cookie
 * exchange: a cookie is bound to the peer's address, and the peers' ports
 * change from run to run). One more chunk: a clock chunk whose t has bit
 * 0x4000 set advances nothing and sends the datagrams that follow from peer
 * t & 3 (peer 0 at the start of every input).
 *
 * Invariants: connections and handshakes in progress never exceed the caps;
 * every datagram the endpoint sends fits the MTU; after shutdown no
 * connection is left; ASan/UBSan on everything. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dtlskit/dtlskit_endpoint.h"
#include "fuzz_engine.h"

#define PEERS 4
#define MAX_CONNS 3
#define MAX_HALF_OPEN 2
#define PEER_FLAG 0x4000u

static int g_peer[PEERS] = {-1, -1, -1, -1};
static uint16_t g_port[PEERS];          /* each peer socket's port (network order) */
static dk_endpoint_conn *g_conn[PEERS]; /* the endpoint's current connection for it */
static char outcome[200];

static int peer_of(const dk_endpoint_conn *c)
{
    socklen_t len;
    const struct sockaddr *a = dk_endpoint_conn_addr(c, &len);
    if (!a || a->sa_family != AF_INET) return -1;
    for (int i = 0; i < PEERS; i++)
        if (((const struct sockaddr_in *)a)->sin_port == g_port[i]) return i;
    return -1;
}

static void on_accept(void *arg, dk_endpoint *ep, dk_endpoint_conn *c)
{
    (void)arg, (void)ep;
    int i = peer_of(c);
    FUZZ_CHECK(i >= 0);
    g_conn[i] = c; /* an R16 successor replaces its predecessor here */
}

static void forget(dk_endpoint_conn *c)
{
    for (int i = 0; i < PEERS; i++)
        if (g_conn[i] == c) g_conn[i] = NULL;
}

static void on_close(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_endpoint_close_reason why)
{
    (void)arg, (void)ep, (void)why;
    forget(c);
}

static void on_failure(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_result err,
                       const char *reason)
{
    (void)arg, (void)ep, (void)err;
    FUZZ_CHECK(reason != NULL);
    forget(c);
}

static void on_data(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *d, size_t n)
{
    (void)arg;
    fuzz_touch(d, n);
    dk_result r = dk_endpoint_send(ep, c, d, n); /* echo; may be too large for our MTU */
    (void)r;
}

static void peers_open(void)
{
    for (int i = 0; i < PEERS; i++) {
        if (g_peer[i] >= 0) continue;
        g_peer[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t len = sizeof a;
        FUZZ_CHECK(g_peer[i] >= 0 && bind(g_peer[i], (struct sockaddr *)&a, sizeof a) == 0 &&
                   getsockname(g_peer[i], (struct sockaddr *)&a, &len) == 0);
        g_port[i] = a.sin_port;
    }
}

/* Read (and check) everything the endpoint sent to the peers. */
static void peers_drain(void)
{
    static uint8_t buf[65536];
    for (int i = 0; i < PEERS; i++) {
        ssize_t n;
        while ((n = recv(g_peer[i], buf, sizeof buf, MSG_DONTWAIT)) >= 0) {
            FUZZ_CHECK(n > 0 && (size_t)n <= FUZZ_MTU);
            fuzz_touch(buf, (size_t)n);
        }
    }
}

static void check_caps(const dk_endpoint *ep)
{
    dk_endpoint_stats st;
    dk_endpoint_get_stats(ep, &st);
    /* an R16 predecessor counts beside its successor */
    FUZZ_CHECK(st.connections <= 2 * MAX_CONNS);
    FUZZ_CHECK(st.half_open <= MAX_HALF_OPEN);
}

/* One input's world: the endpoint, the fuzz clock, the sending peer. */
typedef struct run {
    dk_endpoint *ep;
    uint64_t now;
    int from;
    struct sockaddr_storage to;
    socklen_t to_len;
} run;

/* A datagram (none when len is 0) from the current peer, then a round of
 * the endpoint at the run's time. */
static void deliver(void *arg, const uint8_t *p, size_t len)
{
    run *r = arg;
    if (len > 0 && len <= 65507)
        (void)sendto(g_peer[r->from], p, len, 0, (const struct sockaddr *)&r->to, r->to_len);
    FUZZ_CHECK(dk_endpoint_process(r->ep, r->now) == DK_OK);
    check_caps(r->ep);
    peers_drain();
}

/* The keys a sealed chunk uses: the sending peer's current connection. */
static const dk_conn *sender_conn(void *arg)
{
    const run *r = arg;
    return g_conn[r->from] ? dk_endpoint_conn_dtls(g_conn[r->from]) : NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t rng;
    static dk_config *cfg;
    if (!cfg) cfg = fuzz_server_config(false, &rng);
    fuzz_config_reset(cfg);
    rng = FUZZ_SERVER_SEED;
    peers_open();
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.server = cfg;
    o.max_connections = MAX_CONNS;
    o.max_half_open = MAX_HALF_OPEN;
    o.idle_timeout_ms = 5000;
    o.batch = 8;
    o.cb = (dk_endpoint_callbacks){on_accept, NULL, on_data, on_close, on_failure, NULL};
    memset(g_conn, 0, sizeof g_conn);
    dk_endpoint *ep = dk_endpoint_new(&o);
    FUZZ_CHECK(ep != NULL);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    FUZZ_CHECK(dk_endpoint_listen(ep, (struct sockaddr *)&a, sizeof a) == DK_OK);
    run r = {.ep = ep, .now = FUZZ_NOW_MS};
    FUZZ_CHECK(dk_endpoint_local_addr(ep, &r.to, &r.to_len) == DK_OK);
    peers_drain(); /* anything left from the previous input */
    fuzz_chunks it;
    fuzz_chunk ch;
    fuzz_chunks_init(&it, data, size);
    while (fuzz_chunks_next(&it, &ch)) {
        if (!ch.timer) {
            fuzz_feed_chunk(&ch, sender_conn, deliver, &r);
        } else if ((ch.advance_ms / FUZZ_TICK_MS) & PEER_FLAG) {
            r.from = (int)((ch.advance_ms / FUZZ_TICK_MS) & (PEERS - 1));
        } else {
            r.now += ch.advance_ms;
            deliver(&r, NULL, 0);
        }
    }
    dk_endpoint_stats st;
    dk_endpoint_get_stats(ep, &st);
    snprintf(outcome, sizeof outcome, "connected %llu, connections %zu, gate HVRs %llu",
             (unsigned long long)st.connected, st.connections, (unsigned long long)st.hvr_sent);
    FUZZ_CHECK(dk_endpoint_shutdown(ep) == DK_OK);
    dk_endpoint_get_stats(ep, &st);
    FUZZ_CHECK(st.connections == 0 && st.half_open == 0);
    peers_drain();
    dk_endpoint_free(ep);
    return 0;
}

const char *fuzz_outcome(void) { return outcome; }
