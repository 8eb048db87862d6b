/* A hand-driven client/server pair (see dk_duo.h). */
#include "dk_duo.h"

#include <stdlib.h>
#include <string.h>

#include "conn/dk_conn_int.h"
#include "dk_sim.h"

static void trace_line(void *arg, const char *line) { fprintf(stderr, "[%s] %s\n", (const char *)arg, line); }

void dk_duo_trace(dk_duo *d, dk_conn *c, const char *who)
{
    (void)d;
    if (c && getenv("DK_CONF_TRACE")) dk_conn_set_trace(c, trace_line, (void *)who);
}

void dk_duo_init(dk_duo *d, const char *ckind, const char *skind, uint64_t seed)
{
    memset(d, 0, sizeof *d);
    d->ccfg = dk_test_client_config(ckind);
    d->scfg = dk_test_server_config(skind);
    if (!d->ccfg || !d->scfg) abort();
    d->crand = seed;
    d->srand = seed ^ 0x5EED5EED5EED5EEDULL;
    dk_config_set_random(d->ccfg, dk_test_random, &d->crand);
    dk_config_set_random(d->scfg, dk_test_random, &d->srand);
    d->now = 10000;
    memcpy(d->peer, "\x7f\x00\x00\x01\x30\x39", 6);
    d->c = dk_conn_new(d->ccfg, NULL, 0);
    if (!d->c) abort();
    dk_duo_trace(d, d->c, "client");
}

void dk_duo_free(dk_duo *d)
{
    dk_conn_free(d->c);
    dk_peer_free(d->sp);
    dk_config_free(d->ccfg);
    dk_config_free(d->scfg);
    memset(d, 0, sizeof *d);
}

void dk_duo_poll(dk_conn *conn, dk_dgl *out)
{
    uint8_t buf[DK_DG_CAP];
    size_t n;
    while (conn && dk_conn_poll_datagram(conn, buf, sizeof buf, &n) == DK_OK) dk_dgl_push(out, buf, n);
}

static void read_app(dk_duo *d, dk_conn *c, bool server)
{
    uint8_t buf[DK_DG_CAP];
    size_t n;
    while (dk_conn_read(c, buf, sizeof buf, &n) == DK_OK) {
        uint8_t *dst = server ? d->s_rx : d->c_rx;
        size_t *len = server ? &d->s_rx_len : &d->c_rx_len;
        if (*len + n <= sizeof d->s_rx) {
            memcpy(dst + *len, buf, n);
            *len += n;
        }
        if (server) d->s_rx_records++;
        else d->c_rx_records++;
    }
}

dk_result dk_duo_connect(dk_duo *d, dk_dgl *out)
{
    dk_result r = dk_conn_connect(d->c, d->now);
    dk_duo_poll(d->c, out);
    return r;
}

/* No connection for the peer: the stateless gate decides (R7, R38). */
static dk_result via_gate(dk_duo *d, const uint8_t *p, size_t len, dk_dgl *out,
                          uint8_t *hvr /* DK_GATE_OUT_MAX */, size_t *feed_len)
{
    size_t n = 0;
    dk_gate_verdict v = dk_server_gate(d->scfg, d->peer, sizeof d->peer, p, len, d->now, hvr,
                                       DK_GATE_OUT_MAX, &n);
    if (v == DK_GATE_HVR) {
        d->gate_hvrs++;
        dk_dgl_push(out, hvr, n);
        return DK_OK;
    }
    if (v != DK_GATE_ACCEPT) {
        d->gate_drops++;
        return DK_OK;
    }
    *feed_len = n; /* > 0: the gate reassembled a fragmented ClientHello into hvr */
    d->sp = dk_peer_new(dk_conn_new(d->scfg, d->peer, sizeof d->peer));
    if (!d->sp) abort();
    d->s = dk_peer_conn(d->sp);
    dk_duo_trace(d, d->s, "server");
    d->server_conns++;
    return 1; /* go on to the connection */
}

/* d->s and d->s_old mirror the server's dk_peer, which runs R16. */
static void sync_peer(dk_duo *d)
{
    dk_conn *cur = d->sp ? dk_peer_conn(d->sp) : NULL;
    if (cur && cur != d->s) dk_duo_trace(d, cur, "server'"); /* a successor */
    d->s = cur;
    d->s_old = d->sp ? dk_peer_old(d->sp) : NULL;
}

/* The server side's application data (the old association's first) and
 * output. */
static void server_service(dk_duo *d, dk_dgl *out)
{
    if (d->s_old) read_app(d, d->s_old, true);
    if (d->s) read_app(d, d->s, true);
    uint8_t buf[DK_DG_CAP];
    size_t n;
    while (d->sp && dk_peer_poll_datagram(d->sp, buf, sizeof buf, &n) == DK_OK)
        dk_dgl_push(out, buf, n);
    sync_peer(d);
}

dk_result dk_duo_to_server(dk_duo *d, const uint8_t *p, size_t len, dk_dgl *out)
{
    uint8_t buf[DK_DG_CAP];
    if (len > sizeof buf) return DK_ERR_INVALID_ARG;
    if (!d->s) {
        static uint8_t whole[DK_GATE_OUT_MAX];
        size_t wl = 0;
        dk_result g = via_gate(d, p, len, out, whole, &wl);
        if (g != 1) return g;
        if (wl) {
            p = whole;
            len = wl;
        }
    }
    memcpy(buf, p, len);
    dk_result r = dk_peer_receive(d->sp, buf, len, d->now);
    d->s_res = r;
    if (r == DK_NEW_HANDSHAKE) d->new_handshakes++;
    sync_peer(d);
    server_service(d, out);
    return r;
}

dk_result dk_duo_to_client(dk_duo *d, dk_conn *conn, const uint8_t *p, size_t len, dk_dgl *out)
{
    uint8_t buf[DK_DG_CAP];
    if (len > sizeof buf) return DK_ERR_INVALID_ARG;
    if (!conn) conn = d->c;
    memcpy(buf, p, len);
    dk_result r = dk_conn_receive(conn, buf, len, d->now);
    d->c_res = r;
    read_app(d, conn, false);
    dk_duo_poll(conn, out);
    return r;
}

void dk_duo_all_to_server(dk_duo *d, const dk_dgl *in, dk_dgl *out)
{
    for (size_t i = 0; i < in->n; i++) (void)dk_duo_to_server(d, in->p[i], in->len[i], out);
}

void dk_duo_all_to_client(dk_duo *d, const dk_dgl *in, dk_dgl *out)
{
    for (size_t i = 0; i < in->n; i++) (void)dk_duo_to_client(d, NULL, in->p[i], in->len[i], out);
}

dk_result dk_duo_server_timer(dk_duo *d, dk_dgl *out)
{
    if (!d->sp) return DK_OK;
    dk_result r = dk_peer_handle_timeout(d->sp, d->now);
    sync_peer(d);
    server_service(d, out);
    return r;
}

dk_result dk_duo_client_timer(dk_duo *d, dk_dgl *out)
{
    dk_result r = dk_conn_handle_timeout(d->c, d->now);
    dk_duo_poll(d->c, out);
    return r;
}

static bool established(dk_conn *c) { return c && dk_conn_state(c) == DK_STATE_ESTABLISHED; }
static bool failed(dk_conn *c) { return c && dk_conn_state(c) == DK_STATE_FAILED; }

/* Idle link: move time to the earliest timer and fire it. */
static bool advance(dk_duo *d, uint64_t end, dk_dgl *to_s, dk_dgl *to_c)
{
    uint64_t tc = dk_conn_next_timeout(d->c);
    uint64_t ts = d->sp ? dk_peer_next_timeout(d->sp) : UINT64_MAX;
    uint64_t t = tc < ts ? tc : ts;
    if (t == UINT64_MAX || t > end) return false;
    if (t > d->now) d->now = t;
    (void)dk_duo_client_timer(d, to_s);
    (void)dk_duo_server_timer(d, to_c);
    return true;
}

bool dk_duo_complete(dk_duo *d, dk_dgl *to_s, dk_dgl *to_c, uint64_t limit_ms)
{
    uint64_t end = d->now + limit_ms;
    uint8_t buf[DK_DG_CAP];
    size_t n;
    bool ok = false;
    for (int steps = 0; steps < 10000; steps++) {
        if (established(d->c) && established(d->s)) {
            ok = true;
            break;
        }
        if (failed(d->c) || failed(d->s)) break;
        if (dk_dgl_pop(to_s, buf, &n)) (void)dk_duo_to_server(d, buf, n, to_c);
        else if (dk_dgl_pop(to_c, buf, &n)) (void)dk_duo_to_client(d, NULL, buf, n, to_s);
        else if (!advance(d, end, to_s, to_c)) break;
    }
    dk_dgl_clear(to_s);
    dk_dgl_clear(to_c);
    return ok;
}

bool dk_duo_data_flows(dk_duo *d)
{
    static const uint8_t ping[] = "ping over dtls", pong[] = "pong over dtls";
    size_t s0 = d->s_rx_len, c0 = d->c_rx_len;
    dk_dgl a = {0}, b = {0};
    if (dk_conn_write(d->c, ping, sizeof ping) != DK_OK) return false;
    dk_duo_poll(d->c, &a);
    dk_duo_all_to_server(d, &a, &b);
    dk_dgl_clear(&b);
    bool ok = d->s_rx_len == s0 + sizeof ping && memcmp(d->s_rx + s0, ping, sizeof ping) == 0;
    if (ok && dk_conn_write(d->s, pong, sizeof pong) == DK_OK) {
        dk_duo_poll(d->s, &b);
        dk_duo_all_to_client(d, &b, &a);
    } else {
        ok = false;
    }
    ok = ok && d->c_rx_len == c0 + sizeof pong && memcmp(d->c_rx + c0, pong, sizeof pong) == 0;
    dk_dgl_clear(&a);
    dk_dgl_clear(&b);
    return ok;
}

/* ---- knobs ------------------------------------------------------------------- */

void dk_knob_client_seq(dk_conn *c, uint16_t next_ms, uint64_t next_rseq)
{
    c->send_seq = next_ms;
    c->wseq[0] = next_rseq;
}

void dk_knob_client_cookie(dk_conn *c, const uint8_t *cookie, size_t len)
{
    if (len > 255) abort();
    if (!c->cookie && !(c->cookie = malloc(255))) abort(); /* freed by the engine (dk_free) */
    memcpy(c->cookie, cookie, len);
    c->cookie_len = (uint8_t)len;
}

dk_result dk_knob_client_hello_sent(dk_conn *c, uint16_t ms, const uint8_t *body, size_t len)
{
    dk_hs_header h = {DK_HT_CLIENT_HELLO, (uint32_t)len, ms, 0, (uint32_t)len};
    c->tlen = 0;
    return dk_transcript_add(c, &h, body);
}

dk_result dk_knob_send_record(dk_conn *c, uint8_t ct, const uint8_t *p, size_t len)
{
    return dk_send_record(c, ct, p, len);
}

dk_result dk_knob_finished(dk_conn *c, bool client_label, size_t drop_tail, uint8_t vd[12])
{
    if (!c->transcript || c->tlen < drop_tail) return DK_ERR_STATE;
    return dk_finished_compute(c, client_label, c->tlen - drop_tail, vd);
}

/* The client's Finished is the last message of its transcript (12-byte
 * header and 12-byte verify_data); recompute it over what precedes it. */
dk_result dk_knob_client_finished(dk_conn *c, uint8_t vd[12])
{
    if (c->role != DK_ROLE_CLIENT) return DK_ERR_STATE;
    return dk_knob_finished(c, true, DK_HS_HEADER_LEN + DK_VERIFY_DATA_LEN, vd);
}

uint16_t dk_knob_next_recv_seq(const dk_conn *c) { return c->next_recv_seq; }
bool dk_knob_ccs_received(const dk_conn *c) { return c->ccs_received; }
uint8_t dk_knob_write_epoch(const dk_conn *c) { return (uint8_t)c->wepoch; }

/* ---- the common opening ---------------------------------------------------------- */

void dk_duo_to_flight4(dk_duo *d, dk_duo_run *r)
{
    memset(r, 0, sizeof *r);
    if (dk_duo_connect(d, &r->ch0) != DK_OK || r->ch0.n != 1) abort();
    dk_duo_all_to_server(d, &r->ch0, &r->hvr);
    if (r->hvr.n != 1) abort();
    dk_duo_all_to_client(d, &r->hvr, &r->ch1);
    if (r->ch1.n != 1) abort();
    dk_duo_all_to_server(d, &r->ch1, &r->flight4);
    if (r->flight4.n == 0 || !d->s) abort();
}

void dk_duo_to_flight5(dk_duo *d, dk_duo_run *r)
{
    dk_duo_to_flight4(d, r);
    dk_duo_all_to_client(d, &r->flight4, &r->flight5);
    if (r->flight5.n == 0) abort();
}

void dk_duo_establish(dk_duo *d, dk_duo_run *r)
{
    dk_duo_to_flight5(d, r);
    dk_duo_all_to_server(d, &r->flight5, &r->flight6);
    dk_dgl none = {0};
    dk_duo_all_to_client(d, &r->flight6, &none);
    dk_dgl_clear(&none);
    if (dk_conn_state(d->c) != DK_STATE_ESTABLISHED || dk_conn_state(d->s) != DK_STATE_ESTABLISHED)
        abort();
}

void dk_duo_run_free(dk_duo_run *r)
{
    dk_dgl_clear(&r->ch0);
    dk_dgl_clear(&r->hvr);
    dk_dgl_clear(&r->ch1);
    dk_dgl_clear(&r->flight4);
    dk_dgl_clear(&r->flight5);
    dk_dgl_clear(&r->flight6);
}
