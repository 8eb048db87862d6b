#include "dk_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(dk_sim *s)
{
    /* splitmix64 */
    uint64_t z = (s->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static bool chance(dk_sim *s, double p) { return p > 0 && (double)(rnd(s) >> 11) / 9007199254740992.0 < p; }

static void trace_c(void *arg, const char *line)
{
    dk_sim *sim = arg;
    fprintf(stderr, "%8llu client: %s\n", (unsigned long long)sim->now, line);
}

static void trace_s(void *arg, const char *line)
{
    dk_sim *sim = arg;
    fprintf(stderr, "%8llu server: %s\n", (unsigned long long)sim->now, line);
}

static void maybe_trace(dk_sim *sim, dk_conn *c, bool server)
{
    if (c && getenv("DK_SIM_TRACE")) dk_conn_set_trace(c, server ? trace_s : trace_c, sim);
}

void dk_sim_init(dk_sim *sim, dk_config *ccfg, dk_config *scfg, uint64_t seed)
{
    memset(sim, 0, sizeof *sim);
    sim->ccfg = ccfg;
    sim->scfg = scfg;
    sim->rng = seed;
    sim->now = 1000;
    memcpy(sim->peer, "\x7f\x00\x00\x01\x30\x39", 6);
    sim->c = dk_conn_new(ccfg, NULL, 0);
    maybe_trace(sim, sim->c, false);
}

void dk_sim_free(dk_sim *sim)
{
    dk_conn_free(sim->c);
    dk_peer_free(sim->sp);
    for (size_t i = 0; i < sim->qn; i++) free(sim->q[i].p);
    free(sim->q);
    memset(sim, 0, sizeof *sim);
}

static void push(dk_sim *sim, int to_server, const uint8_t *p, size_t len, uint64_t at)
{
    if (sim->qn == sim->qcap) {
        sim->qcap = sim->qcap ? sim->qcap * 2 : 64;
        sim->q = realloc(sim->q, sim->qcap * sizeof *sim->q);
    }
    dk_sim_dgram *d = &sim->q[sim->qn++];
    d->p = malloc(len ? len : 1);
    memcpy(d->p, p, len);
    d->len = len;
    d->at = at;
    d->to_server = to_server;
    d->order = sim->order++;
}

void dk_sim_inject(dk_sim *sim, int to_server, const uint8_t *p, size_t len)
{
    push(sim, to_server, p, len, sim->now);
}

static void send_impaired(dk_sim *sim, int to_server, const uint8_t *p, size_t len)
{
    const dk_link_profile *pr = &sim->prof;
    if (sim->tap) sim->tap(sim->tap_arg, to_server, p, len);
    if (pr->mtu && len > pr->mtu) return;
    if (chance(sim, pr->drop)) return;
    int copies = chance(sim, pr->dup) ? 2 : 1;
    for (int i = 0; i < copies; i++) {
        uint64_t at = sim->now + pr->delay_ms + (pr->jitter_ms ? rnd(sim) % (pr->jitter_ms + 1) : 0);
        if (chance(sim, pr->reorder)) at += pr->reorder_ms;
        push(sim, to_server, p, len, at);
        if (chance(sim, pr->corrupt) && len) {
            dk_sim_dgram *d = &sim->q[sim->qn - 1];
            size_t bit = rnd(sim) % (len * 8);
            d->p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        }
    }
}

void dk_sim_drain(dk_sim *sim, dk_conn *from, int to_server)
{
    uint8_t buf[17000];
    size_t n;
    while (from && dk_conn_poll_datagram(from, buf, sizeof buf, &n) == DK_OK)
        send_impaired(sim, to_server, buf, n);
}

dk_result dk_sim_connect(dk_sim *sim)
{
    dk_result r = dk_conn_connect(sim->c, sim->now);
    dk_sim_drain(sim, sim->c, 1);
    return r;
}

static void read_app(dk_sim *sim, dk_conn *c, bool server)
{
    uint8_t buf[17000];
    size_t n;
    while (dk_conn_read(c, buf, sizeof buf, &n) == DK_OK) {
        if (sim->on_rx) sim->on_rx(sim->on_rx_arg, server, buf, n);
        uint8_t *dst = server ? sim->s_rx : sim->c_rx;
        size_t *len = server ? &sim->s_rx_len : &sim->c_rx_len;
        if (*len + n <= DK_SIM_MAX_RX) {
            memcpy(dst + *len, buf, n);
            *len += n;
        }
        if (server) {
            sim->s_rx_records++;
            if (sim->s_echo && dk_conn_write(c, buf, n) != DK_OK) sim->s_err = DK_ERR_INTERNAL;
        } else {
            sim->c_rx_records++;
        }
    }
}

/* sim->s and sim->s_old mirror the server's dk_peer (R16 lives there). */
static void sync_peer(dk_sim *sim)
{
    dk_conn *cur = dk_peer_conn(sim->sp);
    if (cur != sim->s) maybe_trace(sim, cur, true); /* a successor */
    sim->s = cur;
    sim->s_old = dk_peer_old(sim->sp);
}

/* The server side's output and application data, the old association's
 * first (its echo goes back on the association that read it). */
static void server_service(dk_sim *sim)
{
    if (sim->s_old) read_app(sim, sim->s_old, true);
    read_app(sim, sim->s, true);
    uint8_t buf[17000];
    size_t n;
    while (dk_peer_poll_datagram(sim->sp, buf, sizeof buf, &n) == DK_OK)
        send_impaired(sim, 0, buf, n);
    sync_peer(sim);
}

static void to_server(dk_sim *sim, uint8_t *p, size_t len)
{
    uint8_t out[DK_GATE_OUT_MAX];
    if (!sim->s) {
        size_t n = 0;
        dk_gate_verdict v =
            dk_server_gate(sim->scfg, sim->peer, 6, p, len, sim->now, out, sizeof out, &n);
        if (v == DK_GATE_HVR) {
            sim->gate_hvrs++;
            send_impaired(sim, 0, out, n);
            return;
        }
        if (v != DK_GATE_ACCEPT) return;
        if (n > 0) { /* the gate reassembled a fragmented ClientHello */
            p = out;
            len = n;
        }
        sim->sp = dk_peer_new(dk_conn_new(sim->scfg, sim->peer, 6));
        if (!sim->sp) abort();
        sync_peer(sim);
        sim->server_conns++;
    }
    dk_result r = dk_peer_receive(sim->sp, p, len, sim->now);
    if (r == DK_NEW_HANDSHAKE) sim->new_handshakes++;
    else if (r < 0) sim->s_err = r;
    sync_peer(sim);
    server_service(sim);
}

static void deliver(dk_sim *sim, dk_sim_dgram *d)
{
    if (d->to_server) {
        to_server(sim, d->p, d->len);
    } else if (sim->c) {
        dk_result r = dk_conn_receive(sim->c, d->p, d->len, sim->now);
        if (r < 0) sim->c_err = r;
        read_app(sim, sim->c, false);
        dk_sim_drain(sim, sim->c, 1);
    }
}

bool dk_sim_step(dk_sim *sim)
{
    uint64_t best = UINT64_MAX;
    size_t bi = (size_t)-1;
    for (size_t i = 0; i < sim->qn; i++) {
        if (sim->q[i].at < best || (sim->q[i].at == best && sim->q[i].order < sim->q[bi].order)) {
            best = sim->q[i].at;
            bi = i;
        }
    }
    uint64_t tc = sim->c ? dk_conn_next_timeout(sim->c) : UINT64_MAX;
    uint64_t ts = sim->sp ? dk_peer_next_timeout(sim->sp) : UINT64_MAX;
    uint64_t t = best < tc ? best : tc;
    if (ts < t) t = ts;
    if (t == UINT64_MAX) return false;
    if (t > sim->now) sim->now = t;
    if (bi != (size_t)-1 && best == t) {
        dk_sim_dgram d = sim->q[bi];
        sim->q[bi] = sim->q[--sim->qn];
        deliver(sim, &d);
        free(d.p);
        return true;
    }
    if (tc == t) {
        dk_result r = dk_conn_handle_timeout(sim->c, sim->now);
        if (r < 0) sim->c_err = r;
        dk_sim_drain(sim, sim->c, 1);
    } else {
        dk_result r = dk_peer_handle_timeout(sim->sp, sim->now);
        if (r < 0) sim->s_err = r;
        sync_peer(sim);
        server_service(sim);
    }
    return true;
}

static bool failed(dk_conn *c) { return c && dk_conn_state(c) == DK_STATE_FAILED; }

bool dk_sim_handshake(dk_sim *sim, uint64_t limit_ms)
{
    uint64_t end = sim->now + limit_ms;
    while (sim->now <= end) {
        if (dk_conn_state(sim->c) == DK_STATE_ESTABLISHED && sim->s &&
            dk_conn_state(sim->s) == DK_STATE_ESTABLISHED)
            return true;
        if (failed(sim->c) || failed(sim->s)) return false;
        if (!dk_sim_step(sim)) return false;
    }
    return false;
}

void dk_sim_run(dk_sim *sim, uint64_t limit_ms)
{
    uint64_t end = sim->now + limit_ms;
    while (sim->now <= end && dk_sim_step(sim)) {
    }
}
