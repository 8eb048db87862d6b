/* The server engine fed a sequence of datagrams from one peer, run as a real
 * endpoint runs it: the stateless gate (dk_server_gate) until it accepts,
 * then the connection, with the R38/R16 successor logic of dk_sim.
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
    dk_conn *s, *s_old;
    uint64_t now;
    size_t gate_hvrs, conns, successors, dead;
    char last_dead[340];
} endpoint;

static char outcome[400];

static void new_handshake(endpoint *ep, uint8_t *p, size_t len)
{
    dk_conn *succ = dk_conn_new_successor(ep->s);
    FUZZ_CHECK(succ != NULL);
    ep->successors++;
    if (dk_conn_state(ep->s) == DK_STATE_ESTABLISHED) {
        dk_conn_free(ep->s_old);
        ep->s_old = ep->s; /* R16: kept until the new Finished verifies */
    } else {
        dk_conn_free(ep->s);
    }
    ep->s = succ;
    /* A second ClientHello in the same datagram may ask for yet another
     * successor; like dk_sim, this endpoint does not follow it. */
    dk_result r = dk_conn_receive(succ, p, len, ep->now);
    (void)r;
}

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
    ep->s = dk_conn_new(ep->cfg, fuzz_peer, FUZZ_PEER_LEN);
    FUZZ_CHECK(ep->s != NULL);
    ep->conns++;
}

/* A real endpoint forgets a failed or closed association: the next
 * datagram from the peer meets the gate again. */
static void forget_dead(endpoint *ep)
{
    dk_state st = ep->s ? dk_conn_state(ep->s) : DK_STATE_HANDSHAKING;
    if (st != DK_STATE_FAILED && st != DK_STATE_CLOSED) return;
    snprintf(ep->last_dead, sizeof ep->last_dead, "%s", fuzz_describe(ep->s));
    dk_conn_free(ep->s);
    dk_conn_free(ep->s_old);
    ep->s = ep->s_old = NULL;
    ep->dead++;
}

static void datagram(endpoint *ep, const uint8_t *p, size_t len)
{
    forget_dead(ep);
    if (!ep->s) {
        gate(ep, p, len);
        if (ep->s && g_gate_out_len) { /* feed the reassembled ClientHello */
            p = g_gate_out;
            len = g_gate_out_len;
        }
    }
    if (!ep->s) return;
    /* The connection decrypts in place; the old association may need the
     * bytes too. Exact-size copies let ASan see any read past the end. */
    uint8_t *d = malloc(len ? len : 1), *copy = malloc(len ? len : 1);
    FUZZ_CHECK(d && copy);
    memcpy(d, p, len);
    memcpy(copy, p, len);
    dk_result r = dk_conn_receive(ep->s, d, len, ep->now);
    if (r == DK_NEW_HANDSHAKE) {
        new_handshake(ep, copy, len);
    } else if (r >= 0 && ep->s_old && dk_conn_state(ep->s) != DK_STATE_ESTABLISHED) {
        r = dk_conn_receive(ep->s_old, copy, len, ep->now);
        fuzz_read_app(ep->s_old, true);
        fuzz_drain(ep->s_old);
    }
    if (ep->s_old && dk_conn_state(ep->s) == DK_STATE_ESTABLISHED) {
        dk_conn_free(ep->s_old);
        ep->s_old = NULL;
    }
    fuzz_read_app(ep->s, true);
    fuzz_drain(ep->s);
    free(d);
    free(copy);
}

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
            fuzz_timer(ep.s, ep.now);
            fuzz_timer(ep.s_old, ep.now);
        } else if (ch.seal) {
            size_t cut = fuzz_first_epoch1(ch.p, ch.len), n;
            if (cut > 0) datagram(&ep, ch.p, cut);
            if (cut == ch.len) continue;
            uint8_t *sealed = fuzz_seal_as_peer(ep.s, ch.p + cut, ch.len - cut, &n);
            datagram(&ep, sealed, n);
            free(sealed);
        } else {
            datagram(&ep, ch.p, ch.len);
        }
    }
    snprintf(outcome, sizeof outcome, "%s (gate HVRs %zu, connections %zu, successors %zu%s%s)",
             fuzz_describe(ep.s), ep.gate_hvrs, ep.conns, ep.successors,
             ep.dead ? ", an earlier one " : "", ep.dead ? ep.last_dead : "");
    fuzz_finish(ep.s);
    dk_conn_free(ep.s);
    dk_conn_free(ep.s_old);
    return 0;
}

const char *fuzz_outcome(void) { return outcome; }
