/* The server engine fed a sequence of datagrams from one peer, run as a real
 * endpoint runs it: the stateless gate (dk_server_gate) until it accepts,
 * then the connection inside a dk_peer (the R38/R16 successor logic that
 * applications with their own loop use), so the harness fuzzes that too.
 *
 * Built twice: fuzz_server with the cookie exchange (the cookie secret comes
 * from the seeded generator, so recorded cookies stay valid) and
 * fuzz_server_nocookie with dk_config_set_cookie_exchange(false).
 *
 * Input: chunks (fuzz_common.h): datagrams and clock advances. Invariants:
 * the gate never answers with more bytes than it got (no amplification);
 * every datagram we send fits the MTU; an established connection answers its
 * getters and closes cleanly; ASan/UBSan on everything.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_engine.h"

#ifndef FUZZ_COOKIE_EXCHANGE
#define FUZZ_COOKIE_EXCHANGE 1
#endif

typedef struct endpoint {
    dk_config *cfg;
    dk_peer *sp;
    uint64_t now;
    size_t gate_hvrs, conns, successors, dead;
    char last_dead[340];
} endpoint;

static char outcome[400];

/* The gate's output: an HVR, or a ClientHello it reassembled from fragments. */
static uint8_t g_gate_out[DK_GATE_OUT_MAX];
static size_t g_gate_out_len;

static void gate(endpoint *ep, const uint8_t *p, size_t len)
{
    uint8_t *out = g_gate_out;
    size_t n = 0;
    g_gate_out_len = 0;
    dk_gate_verdict v =
        dk_server_gate(ep->cfg, fuzz_peer, FUZZ_PEER_LEN, p, len, ep->now, out, DK_GATE_OUT_MAX, &n);
    if (v == DK_GATE_HVR) {
        /* never amplify: an HVR (50 bytes: record 13, handshake header 12, version 2,
         * cookie 1 + 22) answering a whole datagram is no
         * larger than it; one answering a pooled hello no larger than that hello */
        FUZZ_CHECK(n == 50);
        FUZZ_CHECK(n <= len || !(len >= 25 && p[13] == 1 && p[19] == 0 && p[20] == 0 && p[21] == 0 &&
                                 !memcmp(p + 14, p + 22, 3)));
        FUZZ_CHECK(FUZZ_COOKIE_EXCHANGE);
        ep->gate_hvrs++;
        return;
    }
    if (v != DK_GATE_ACCEPT) return;
    g_gate_out_len = n;
    ep->sp = dk_peer_new(dk_conn_new(ep->cfg, fuzz_peer, FUZZ_PEER_LEN));
    FUZZ_CHECK(ep->sp != NULL);
    ep->conns++;
}

/* A real endpoint forgets a peer with no usable association left: the next
 * datagram from the peer meets the gate again. */
static void forget_dead(endpoint *ep)
{
    if (!ep->sp || !dk_peer_done(ep->sp)) return;
    snprintf(ep->last_dead, sizeof ep->last_dead, "%s", fuzz_describe(dk_peer_conn(ep->sp)));
    dk_peer_free(ep->sp);
    ep->sp = NULL;
    ep->dead++;
}

/* Application data (echoed on the association that read it) and output:
 * every datagram goes through dk_peer_poll_datagram and fits the MTU. */
static void service(endpoint *ep)
{
    static uint8_t buf[65536];
    size_t n;
    if (dk_peer_old(ep->sp)) fuzz_read_app(dk_peer_old(ep->sp), true);
    fuzz_read_app(dk_peer_conn(ep->sp), true);
    while (dk_peer_poll_datagram(ep->sp, buf, sizeof buf, &n) == DK_OK) {
        FUZZ_CHECK(n > 0 && n <= FUZZ_MTU);
        fuzz_touch(buf, n);
    }
    FUZZ_CHECK(dk_peer_conn(ep->sp) != NULL);
}

static void datagram(endpoint *ep, const uint8_t *p, size_t len)
{
    forget_dead(ep);
    if (!ep->sp) {
        gate(ep, p, len);
        if (ep->sp && g_gate_out_len) { /* feed the reassembled ClientHello */
            p = g_gate_out;
            len = g_gate_out_len;
        }
    }
    if (!ep->sp) return;
    /* An exact-size copy lets ASan see any read past the end. */
    uint8_t *d = malloc(len ? len : 1);
    FUZZ_CHECK(d);
    memcpy(d, p, len);
    dk_result r = dk_peer_receive(ep->sp, d, len, ep->now);
    if (r == DK_NEW_HANDSHAKE) ep->successors++;
    service(ep);
    free(d);
}

static void timers(endpoint *ep)
{
    if (!ep->sp || dk_peer_next_timeout(ep->sp) > ep->now) return;
    dk_result r = dk_peer_handle_timeout(ep->sp, ep->now);
    (void)r;
    service(ep);
}

static const dk_conn *current(void *arg) { return dk_peer_conn(((endpoint *)arg)->sp); }
static void feed(void *arg, const uint8_t *p, size_t len) { datagram(arg, p, len); }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t rng;
    static dk_config *cfg;
    if (!cfg) cfg = fuzz_server_config(FUZZ_COOKIE_EXCHANGE, &rng);
    fuzz_config_reset(cfg);
    rng = FUZZ_SERVER_SEED;
    endpoint ep = {0};
    ep.now = FUZZ_NOW_MS;
    ep.cfg = cfg;
    fuzz_chunks it;
    fuzz_chunk ch;
    fuzz_chunks_init(&it, data, size);
    while (fuzz_chunks_next(&it, &ch)) {
        if (ch.timer) {
            ep.now += ch.advance_ms;
            timers(&ep);
        } else {
            fuzz_feed_chunk(&ch, current, feed, &ep);
        }
    }
    snprintf(outcome, sizeof outcome, "%s (gate HVRs %zu, connections %zu, successors %zu%s%s)",
             fuzz_describe(dk_peer_conn(ep.sp)), ep.gate_hvrs, ep.conns, ep.successors,
             ep.dead ? ", an earlier one " : "", ep.dead ? ep.last_dead : "");
    fuzz_finish(dk_peer_conn(ep.sp));
    dk_peer_free(ep.sp);
    return 0;
}

const char *fuzz_outcome(void) { return outcome; }
