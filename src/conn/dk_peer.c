/* One peer's associations on a server (R16), for applications that run their
 * own socket loop (the endpoint in src/net keeps the same two handles with
 * its own events): the current connection, and while the peer runs a new
 * handshake on the same address, the established association it replaces.
 *
 * A datagram goes to the current connection. A ClientHello whose cookie is
 * bound to its state (DK_NEW_HANDSHAKE, R38 b) starts a successor, fed from
 * an untouched copy of the datagram (the connection decrypts in place); an
 * established current connection stays beside it as the old association,
 * a handshaking one is freed at once. While both exist, a datagram whose
 * records the successor discards also goes to the old association, so its
 * traffic keeps flowing. The old association goes once the successor is
 * established (R16: "After a correct Finished the old association MUST be
 * abandoned") and it has nothing left to read or send; a successor that
 * fails leaves the old one current again. */
#include <string.h>

#include "conn/dk_conn_int.h"

struct dk_peer {
    dk_conn *cur;
    dk_conn *old;
    /* The copy the last datagram's successor or old association read from:
     * their application data stays in it until the next receive. Kept for
     * reuse while an old association exists (every datagram is copied
     * then), freed otherwise. */
    uint8_t *hold;
    size_t hold_cap;
};

dk_peer *dk_peer_new(dk_conn *conn)
{
    if (!conn) return NULL;
    dk_peer *p = dk_calloc(1, sizeof *p);
    if (!p) {
        dk_conn_free(conn);
        return NULL;
    }
    p->cur = conn;
    return p;
}

void dk_peer_free(dk_peer *p)
{
    if (!p) return;
    dk_conn_free(p->cur);
    dk_conn_free(p->old);
    dk_free(p->hold);
    dk_free(p);
}

static bool ended(const dk_conn *c)
{
    return c->state == DK_STATE_CLOSED || c->state == DK_STATE_FAILED;
}

/* Nothing left for the application to read or to send. */
static bool drained(const dk_conn *c)
{
    return c->rx_app_i >= c->rx_app_n && c->outq_off >= c->outq_len;
}

static void settle(dk_peer *p)
{
    if (!p->old) return;
    if (p->cur->state == DK_STATE_FAILED && p->old->state == DK_STATE_ESTABLISHED) {
        if (!drained(p->cur)) return; /* its alert goes out first */
        dk_conn_free(p->cur);
        p->cur = p->old;
        p->old = NULL;
        return;
    }
    bool superseded = p->cur->state == DK_STATE_ESTABLISHED || ended(p->cur) || ended(p->old);
    if (superseded && drained(p->old)) {
        dk_conn_free(p->old);
        p->old = NULL;
    }
}

static dk_result start_successor(dk_peer *p, uint8_t *copy, size_t len, uint64_t now_ms)
{
    dk_conn *s = dk_conn_new_successor(p->cur);
    if (!s) return DK_ERR_NOMEM;
    if (p->cur->state == DK_STATE_ESTABLISHED) {
        dk_conn_free(p->old);
        p->old = p->cur;
    } else {
        dk_conn_free(p->cur); /* a handshake in progress is replaced at once (R38) */
    }
    p->cur = s;
    dk_result r = dk_conn_receive(s, copy, len, now_ms);
    return r < 0 ? r : DK_NEW_HANDSHAKE;
}

dk_result dk_peer_receive(dk_peer *p, uint8_t *datagram, size_t len, uint64_t now_ms)
{
    if (!p || (!datagram && len)) return DK_ERR_INVALID_ARG;
    settle(p);
    if (!p->old) {
        dk_free(p->hold);
        p->hold = NULL;
        p->hold_cap = 0;
    }
    if (p->old && p->cur->state == DK_STATE_FAILED) {
        /* The successor failed and its alert is still to be sent: the
         * established association reads this. Another new handshake waits
         * for the peer's retransmission, once the old one is current. */
        dk_result ro = dk_conn_receive(p->old, datagram, len, now_ms);
        return ro == DK_NEW_HANDSHAKE ? DK_OK : ro;
    }
    uint8_t *copy = NULL;
    if (len > 0 && (p->old || dk_record_starts_client_hello(datagram, len))) {
        if (p->hold_cap < len) {
            uint8_t *h = dk_realloc(p->hold, len);
            if (!h) return DK_ERR_NOMEM; /* dropped, as if lost */
            p->hold = h;
            p->hold_cap = len;
        }
        copy = memcpy(p->hold, datagram, len);
    }
    uint64_t discarded = p->cur->stats.discarded_records;
    dk_result r = dk_conn_receive(p->cur, datagram, len, now_ms);
    if (r == DK_NEW_HANDSHAKE) {
        /* Without a copy (the ClientHello was not the datagram's first
         * record) the bytes are gone: the peer's retransmission will do. */
        return copy ? start_successor(p, copy, len, now_ms) : DK_OK;
    }
    if (p->old && p->cur->stats.discarded_records > discarded) {
        dk_result ro = dk_conn_receive(p->old, copy, len, now_ms);
        (void)ro; /* a failure shows in the old association's state */
    }
    return r;
}

dk_conn *dk_peer_conn(const dk_peer *p) { return p ? p->cur : NULL; }

dk_conn *dk_peer_old(const dk_peer *p) { return p ? p->old : NULL; }

uint64_t dk_peer_next_timeout(const dk_peer *p)
{
    if (!p) return UINT64_MAX;
    uint64_t t = dk_conn_next_timeout(p->cur);
    if (p->old && dk_conn_next_timeout(p->old) < t) t = dk_conn_next_timeout(p->old);
    return t;
}

dk_result dk_peer_handle_timeout(dk_peer *p, uint64_t now_ms)
{
    if (!p) return DK_ERR_INVALID_ARG;
    settle(p);
    if (p->old && dk_conn_next_timeout(p->old) <= now_ms) {
        dk_result ro = dk_conn_handle_timeout(p->old, now_ms);
        (void)ro;
    }
    if (dk_conn_next_timeout(p->cur) > now_ms) return DK_OK;
    return dk_conn_handle_timeout(p->cur, now_ms);
}

dk_result dk_peer_poll_datagram(dk_peer *p, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!p) return DK_ERR_INVALID_ARG;
    if (p->old) {
        dk_result r = dk_conn_poll_datagram(p->old, out, cap, out_len);
        if (r != DK_ERR_WOULD_BLOCK) return r;
    }
    dk_result r = dk_conn_poll_datagram(p->cur, out, cap, out_len);
    if (r == DK_ERR_WOULD_BLOCK) settle(p);
    return r;
}

/* The association whose application data comes next: the old one's first. */
static dk_conn *reader(const dk_peer *p)
{
    return p->old && p->old->rx_app_i < p->old->rx_app_n ? p->old : p->cur;
}

dk_result dk_peer_read_view(dk_peer *p, const uint8_t **data, size_t *len, dk_conn **from)
{
    if (!p) return DK_ERR_INVALID_ARG;
    dk_conn *c = reader(p);
    if (from) *from = c;
    return dk_conn_read_view(c, data, len);
}

dk_result dk_peer_read(dk_peer *p, uint8_t *buf, size_t cap, size_t *len, dk_conn **from)
{
    if (!p) return DK_ERR_INVALID_ARG;
    dk_conn *c = reader(p);
    if (from) *from = c;
    return dk_conn_read(c, buf, cap, len);
}

bool dk_peer_done(dk_peer *p)
{
    if (!p) return true;
    settle(p);
    return !p->old && ended(p->cur) && drained(p->cur);
}
