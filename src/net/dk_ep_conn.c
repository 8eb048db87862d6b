/* One connection inside the endpoint: a datagram or a timer in, its output
 * into the shared send batch, its events out to the application.
 *
 * Every handle is "settled" after each thing that happens to it: its queued
 * datagrams move to the send batch, a state change becomes an event, and its
 * deadline in the timer heap is brought up to date. A handle that ended gets
 * its one terminal event and is freed there.
 */
#define _GNU_SOURCE
#include <string.h>

#include "net/dk_ep_int.h"
#include "record/dk_record.h"

dk_endpoint_conn *dk_ep_conn_new(dk_endpoint *ep, dk_conn *c, const dk_ep_addr *a, size_t alen,
                                 uint8_t flags)
{
    dk_endpoint_conn *h = dk_calloc(1, sizeof *h);
    if (!h) return NULL;
    h->conn = c;
    h->heap_idx = DK_EP_NO_HEAP;
    h->deadline = UINT64_MAX;
    h->last_active = ep->now;
    h->flags = (uint8_t)(flags | DK_EPF_HALF_OPEN);
    memcpy(&h->addr, a, alen);
    h->addr_len = (uint8_t)alen;
    ep->st.accepted++;
    ep->st.connections++;
    ep->st.half_open++;
    if (ep->st.connections > ep->st.peak_connections) ep->st.peak_connections = ep->st.connections;
    if (ep->st.half_open > ep->st.peak_half_open) ep->st.peak_half_open = ep->st.half_open;
    return h;
}

static void leave_half_open(dk_endpoint *ep, dk_endpoint_conn *h)
{
    if (!(h->flags & DK_EPF_HALF_OPEN)) return;
    h->flags &= (uint8_t)~DK_EPF_HALF_OPEN;
    ep->st.half_open--;
}

void dk_ep_conn_destroy(dk_endpoint *ep, dk_endpoint_conn *h)
{
    if (h->old) dk_ep_conn_destroy(ep, h->old);
    h->old = NULL;
    dk_ep_table_remove(ep, h);
    dk_ep_heap_clear(ep, h);
    leave_half_open(ep, h);
    ep->st.connections--;
    dk_conn_free(h->conn);
    dk_free(h);
}

void dk_ep_conn_drain(dk_endpoint *ep, dk_endpoint_conn *h)
{
    for (;;) {
        uint8_t *p = dk_ep_tx_reserve(ep, DK_EP_RX_SLOT);
        size_t n;
        if (dk_conn_poll_datagram(h->conn, p, DK_EP_RX_SLOT, &n) != DK_OK) return;
        dk_ep_tx_commit(ep, h, &h->addr, h->addr_len, n);
    }
}

static bool ended(const dk_endpoint_conn *h)
{
    dk_state st = dk_conn_state(h->conn);
    return st == DK_STATE_CLOSED || st == DK_STATE_FAILED || (h->flags & DK_EPF_CLOSING);
}

static dk_endpoint_close_reason natural_reason(const dk_endpoint_conn *h)
{
    return (h->flags & DK_EPF_CLOSING) ? DK_ENDPOINT_CLOSE_LOCAL : DK_ENDPOINT_CLOSE_PEER;
}

/* The terminal event, then free. why is used unless the engine failed and
 * the end is the engine's own (not idle or shutdown). */
void dk_ep_conn_end(dk_endpoint *ep, dk_endpoint_conn *h, dk_endpoint_close_reason why)
{
    if (h->flags & DK_EPF_ENDING) return;
    h->flags |= DK_EPF_ENDING;
    dk_ep_conn_drain(ep, h);
    if (h->old) {
        dk_ep_conn_end(ep, h->old, why);
        h->old = NULL;
    }
    dk_ep_table_remove(ep, h);
    dk_ep_heap_clear(ep, h);
    leave_half_open(ep, h);
    const dk_endpoint_callbacks *cb = &ep->o.cb;
    bool failed = dk_conn_state(h->conn) == DK_STATE_FAILED && why != DK_ENDPOINT_CLOSE_SHUTDOWN &&
                  why != DK_ENDPOINT_CLOSE_IDLE && why != DK_ENDPOINT_CLOSE_SUPERSEDED;
    if (failed) {
        ep->st.failed++;
        if (cb->on_failure)
            cb->on_failure(cb->arg, ep, h, dk_conn_error(h->conn), dk_conn_error_reason(h->conn));
    } else {
        ep->st.closed++;
        if (why == DK_ENDPOINT_CLOSE_SUPERSEDED) ep->st.superseded++;
        if (cb->on_close) cb->on_close(cb->arg, ep, h, why);
    }
    dk_ep_conn_destroy(ep, h);
}

static void deliver_app(dk_endpoint *ep, dk_endpoint_conn *h)
{
    const dk_endpoint_callbacks *cb = &ep->o.cb;
    const uint8_t *d;
    size_t n;
    /* No copy: on_data sees the record where it was decrypted, in the
     * datagram buffer, which stays put until the datagram is done. */
    while (dk_conn_read_view(h->conn, &d, &n) == DK_OK) {
        if (cb->on_data) cb->on_data(cb->arg, ep, h, d, n);
    }
}

static uint64_t conn_deadline(const dk_endpoint *ep, const dk_endpoint_conn *h)
{
    uint64_t d = dk_conn_next_timeout(h->conn);
    uint32_t idle = ep->o.idle_timeout_ms;
    if (idle != UINT32_MAX && h->last_active + idle < d) d = h->last_active + idle;
    return d;
}

/* The successor is established (R16): the old association goes first. */
static void connected(dk_endpoint *ep, dk_endpoint_conn *h)
{
    h->flags |= DK_EPF_CONNECTED;
    leave_half_open(ep, h);
    ep->st.connected++;
    if (h->old) {
        dk_endpoint_conn *old = h->old;
        h->old = NULL;
        dk_ep_conn_end(ep, old, DK_ENDPOINT_CLOSE_SUPERSEDED);
    }
    const dk_endpoint_callbacks *cb = &ep->o.cb;
    if (cb->on_connect) cb->on_connect(cb->arg, ep, h);
    dk_ep_conn_drain(ep, h);
}

/* A successor that failed leaves the established association in place. */
static bool reinstate_old(dk_endpoint *ep, dk_endpoint_conn *h)
{
    dk_endpoint_conn *old = h->old;
    if (!old || dk_conn_state(h->conn) != DK_STATE_FAILED || (h->flags & DK_EPF_CLOSING)) return false;
    h->old = NULL;
    dk_ep_table_replace(ep, h, old);
    dk_ep_conn_end(ep, h, DK_ENDPOINT_CLOSE_PEER);
    dk_ep_conn_settle(ep, old);
    return true;
}

void dk_ep_conn_settle(dk_endpoint *ep, dk_endpoint_conn *h)
{
    if (h->old && ended(h->old)) {
        dk_endpoint_conn *old = h->old;
        h->old = NULL;
        dk_ep_conn_end(ep, old, natural_reason(old));
    }
    dk_ep_conn_drain(ep, h);
    if (dk_conn_state(h->conn) == DK_STATE_ESTABLISHED && !(h->flags & DK_EPF_CONNECTED))
        connected(ep, h);
    if (ended(h)) {
        if (!reinstate_old(ep, h)) dk_ep_conn_end(ep, h, natural_reason(h));
        return;
    }
    if (dk_ep_heap_set(ep, h, conn_deadline(ep, h)) != DK_OK) {
        /* No memory for a timer: a connection we cannot time out goes. */
        dk_ep_conn_end(ep, h, DK_ENDPOINT_CLOSE_IDLE);
    }
}

static void feed_old(dk_endpoint *ep, dk_endpoint_conn *h, size_t len)
{
    dk_endpoint_conn *old = h->old;
    old->last_active = ep->now;
    dk_result r = dk_conn_receive(old->conn, ep->copy, len, ep->now);
    (void)r; /* a failure shows in the old connection's state */
    deliver_app(ep, old);
    dk_ep_conn_drain(ep, old);
}

static void start_successor(dk_endpoint *ep, dk_endpoint_conn *h, uint8_t *d, size_t len);

void dk_ep_conn_datagram(dk_endpoint *ep, dk_endpoint_conn *h, uint8_t *d, size_t len)
{
    h->last_active = ep->now;
    bool keep = h->old || dk_record_starts_client_hello(d, len);
    if (keep) memcpy(ep->copy, d, len);
    dk_conn_stats before = {0}, after;
    if (h->old) dk_conn_get_stats(h->conn, &before);
    dk_endpoint_conn *prev_busy = ep->busy;
    ep->busy = h;
    dk_result r = dk_conn_receive(h->conn, d, len, ep->now);
    deliver_app(ep, h);
    if (r == DK_NEW_HANDSHAKE && keep && !(h->flags & DK_EPF_CLIENT)) {
        ep->busy = prev_busy;
        start_successor(ep, h, d, len);
        return;
    }
    if (h->old) {
        dk_conn_get_stats(h->conn, &after);
        if (after.discarded_records > before.discarded_records) feed_old(ep, h, len);
    }
    ep->busy = prev_busy;
    dk_ep_conn_settle(ep, h);
}

static bool caps_allow(dk_endpoint *ep)
{
    if (ep->st.connections >= ep->o.max_connections) {
        ep->st.refused_full++;
        return false;
    }
    if (ep->st.half_open >= ep->o.max_half_open) {
        ep->st.refused_half_open++;
        return false;
    }
    return true;
}

static void emit_accept(dk_endpoint *ep, dk_endpoint_conn *h)
{
    const dk_endpoint_callbacks *cb = &ep->o.cb;
    if (cb->on_accept) cb->on_accept(cb->arg, ep, h);
}

/* DK_NEW_HANDSHAKE: a ClientHello whose cookie is bound to h's state. R16:
 * an established h stays beside the successor until it is established; a
 * handshaking h is freed at once. */
static void start_successor(dk_endpoint *ep, dk_endpoint_conn *h, uint8_t *d, size_t len)
{
    dk_conn *c = caps_allow(ep) ? dk_conn_new_successor(h->conn) : NULL;
    dk_endpoint_conn *s = c ? dk_ep_conn_new(ep, c, &h->addr, h->addr_len, 0) : NULL;
    if (!s) {
        dk_conn_free(c);
        dk_ep_conn_settle(ep, h);
        return;
    }
    dk_ep_table_replace(ep, h, s);
    dk_ep_conn_drain(ep, h);
    if (dk_conn_state(h->conn) == DK_STATE_ESTABLISHED && !ended(h)) {
        s->old = h;
        dk_ep_heap_clear(ep, h); /* the successor's timers cover both */
    } else {
        s->old = h->old;
        h->old = NULL;
        dk_ep_conn_end(ep, h, DK_ENDPOINT_CLOSE_SUPERSEDED);
    }
    emit_accept(ep, s);
    memcpy(d, ep->copy, len);
    dk_ep_conn_datagram(ep, s, d, len);
}

void dk_ep_unknown_datagram(dk_endpoint *ep, const dk_ep_addr *a, size_t alen, uint8_t *d,
                            size_t len)
{
    if (!ep->o.server || ep->shut) {
        ep->st.gate_dropped++;
        return;
    }
    size_t n = 0;
    dk_gate_verdict v = dk_server_gate(ep->o.server, a, alen, d, len, ep->now, ep->hvr,
                                       sizeof ep->hvr, &n);
    if (v == DK_GATE_HVR) {
        ep->st.hvr_sent++;
        dk_ep_tx_push(ep, NULL, a, alen, ep->hvr, n);
        return;
    }
    if (v != DK_GATE_ACCEPT) {
        ep->st.gate_dropped++;
        return;
    }
    if (!caps_allow(ep)) return;
    dk_conn *c = dk_conn_new(ep->o.server, a, alen);
    dk_endpoint_conn *h = c ? dk_ep_conn_new(ep, c, a, alen, 0) : NULL;
    if (!h) {
        dk_conn_free(c);
        return;
    }
    if (dk_ep_table_insert(ep, h) != DK_OK) {
        dk_ep_conn_destroy(ep, h);
        return;
    }
    emit_accept(ep, h);
    if (n) dk_ep_conn_datagram(ep, h, ep->hvr, n); /* the gate reassembled a fragmented hello */
    else dk_ep_conn_datagram(ep, h, d, len);
}

void dk_ep_conn_timer(dk_endpoint *ep, dk_endpoint_conn *h)
{
    uint32_t idle = ep->o.idle_timeout_ms;
    if (idle != UINT32_MAX && ep->now >= h->last_active + idle) {
        ep->st.idle_expired++;
        if (dk_conn_state(h->conn) == DK_STATE_ESTABLISHED && dk_conn_close(h->conn) != DK_OK)
            ep->st.send_errors++;
        dk_ep_conn_end(ep, h, DK_ENDPOINT_CLOSE_IDLE);
        return;
    }
    if (dk_conn_next_timeout(h->conn) <= ep->now) {
        dk_result r = dk_conn_handle_timeout(h->conn, ep->now);
        (void)r; /* a handshake timeout moves the connection to FAILED */
    }
    dk_ep_conn_settle(ep, h);
}
