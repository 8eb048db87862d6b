/* The receive path: datagram -> records (epoch, replay window, AEAD) ->
 * content types -> handshake fragments -> message_seq ordering and
 * reassembly -> the state machine. */
#include <string.h>

#include "conn/dk_conn_int.h"

/* A retransmission of the peer's previous flight makes us resend ours at
 * once (R18 b), at most once per initial retransmission timeout, so that a
 * flight of several messages, or duplicated datagrams, trigger one resend. */
dk_result dk_peer_retransmitted(dk_conn *c)
{
    if (c->fl_state != DK_FL_WAITING && c->fl_state != DK_FL_FINISHED) return DK_OK;
    if (c->peer_resend_done && c->now < c->last_peer_resend_ms + c->cfg->timer_initial_ms)
        return DK_OK;
    c->peer_resend_done = true;
    c->last_peer_resend_ms = c->now;
    if (c->fl_state == DK_FL_WAITING) c->timer_deadline = c->now + c->timer_cur;
    return dk_flight_resend(c);
}

static bool dk_hs_type_known(uint8_t t)
{
    return t <= DK_HT_HELLO_VERIFY_REQUEST || (t >= DK_HT_CERTIFICATE && t <= DK_HT_CLIENT_KEY_EXCHANGE) ||
           t == DK_HT_FINISHED;
}

static dk_result deliver_message(dk_conn *c, const dk_msg *m)
{
    dk_conn_tracef(c, "recv %s seq=%u len=%u epoch=%u", dk_hs_type_name(m->type), m->seq, m->len,
                   m->epoch);
    return dk_sm_handle(c, m->type, m);
}

/* R36: the slot of an ignored HelloRequest is skipped once the message
 * after it shows up (see dk_sm.c). */
static void skip_hello_request_gap(dk_conn *c, uint16_t seq)
{
    if (c->hr_gap && c->hr_gap_seq == c->next_recv_seq && seq == (uint16_t)(c->next_recv_seq + 1)) {
        c->next_recv_seq = seq;
        c->hr_gap = false;
    }
}

dk_result dk_process_ready(dk_conn *c)
{
    const dk_reasm_slot *s;
    if (!c->reasm) return DK_OK;
    if (c->hr_gap && !dk_reasm_ready(c->reasm, c->next_recv_seq, &s) &&
        dk_reasm_ready(c->reasm, (uint16_t)(c->next_recv_seq + 1), &s))
        skip_hello_request_gap(c, (uint16_t)(c->next_recv_seq + 1));
    while (c->state == DK_STATE_HANDSHAKING && c->reasm &&
           dk_reasm_ready(c->reasm, c->next_recv_seq, &s)) {
        uint16_t seq = c->next_recv_seq;
        dk_msg m = {s->type, seq, s->epoch, s->body, s->length, 0, NULL};
        dk_result r = deliver_message(c, &m);
        if (c->reasm) dk_reasm_release(c->reasm, seq);
        if (r != DK_OK && r != DK_DISCARD) return r;
    }
    return DK_OK;
}

/* After the handshake: the peer may try to renegotiate, which dtlskit
 * refuses with a no_renegotiation warning (RFC 5746 4.2, RFC 5246 7.2.2). */
static void refuse_renegotiation(dk_conn *c, const dk_hs_header *h)
{
    bool attempt = (c->role == DK_ROLE_CLIENT && h->type == DK_HT_HELLO_REQUEST) ||
                   (c->role == DK_ROLE_SERVER && h->type == DK_HT_CLIENT_HELLO);
    if (attempt && h->frag_offset == 0) {
        dk_conn_tracef(c, "renegotiation refused");
        dk_send_alert(c, DK_ALERT_WARNING, DK_AD_NO_RENEGOTIATION);
    }
}

/* Client, waiting for ServerHello: a conforming server's ServerHello
 * message_seq equals our ClientHello's (R6), but servers differ, so the first
 * ServerHello fixes where the server's numbering starts. */
static void client_rebase(dk_conn *c, const dk_hs_header *h)
{
    /* Only forward: a ServerHello numbered below our latest ClientHello
     * answers an older one, whose transcript we no longer hold (R3). */
    if (c->role != DK_ROLE_CLIENT || c->got_server_hello || h->type != DK_HT_SERVER_HELLO ||
        h->seq <= c->next_recv_seq || h->frag_offset != 0)
        return;
    dk_reasm_reset(c->reasm);
    c->rebase_lo = c->next_recv_seq;
    c->rebase_hi = h->seq;
    c->next_recv_seq = h->seq;
    c->peer_flight_lo = h->seq;
}

/* After a rebase the server's flight continues from its ServerHello (R1: each
 * new message takes the next message_seq), so a handshake message numbered
 * inside the skipped gap means the ServerHello we took was corrupted or
 * spoofed. Its transcript is wrong either way: fail now, instead of answering
 * the real messages as retransmissions of an older flight until both sides
 * time out (tests/robustness/hs_seq_test.c). */
static bool in_rebase_gap(const dk_conn *c, uint8_t epoch, const dk_hs_header *h)
{
    return c->role == DK_ROLE_CLIENT && epoch == 0 && c->rebase_hi > c->rebase_lo &&
           h->seq >= c->rebase_lo && h->seq < c->rebase_hi && !dk_sm_done(c);
}

static dk_result handle_fragment(dk_conn *c, uint8_t epoch, const dk_record *rec,
                                 const dk_hs_header *h, const uint8_t *frag)
{
    if (h->frag_length < h->length) c->stats.fragments_in++;
    if (!dk_hs_type_known(h->type)) return DK_DISCARD; /* R30: invalid, not fatal */
    /* dk_config_set_handshake_limits: max_message caps every message, not
     * only those that go through reassembly (tests/robustness/limits_test.c). */
    if (h->length > c->cfg->max_message) return DK_DISCARD;
    if (c->role == DK_ROLE_SERVER && epoch == 0 && h->type == DK_HT_CLIENT_HELLO)
        return dk_gate_conn_hello(c, rec, h, frag);
    if (c->role == DK_ROLE_CLIENT && epoch == 0 && h->type == DK_HT_HELLO_VERIFY_REQUEST) {
        if (h->frag_offset != 0 || h->frag_length != h->length) return DK_DISCARD;
        return dk_client_on_hvr(c, frag, h->length);
    }
    client_rebase(c, h);
    skip_hello_request_gap(c, h->seq);
    if (in_rebase_gap(c, epoch, h))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_UNEXPECTED_MESSAGE,
                            "server's %s has message_seq %u, below its ServerHello's %u: the "
                            "ServerHello was corrupted in transit or spoofed",
                            dk_hs_type_name(h->type), h->seq, c->rebase_hi);
    /* R3: "If the sequence number is less than next_receive_seq, the
     * message MUST be discarded." If it belongs to the peer's previous
     * flight, the peer is retransmitting: resend ours (R18, R19). */
    if (h->seq < c->next_recv_seq) {
        if (h->seq >= c->peer_prev_flight_lo && h->seq < c->peer_flight_lo) {
            DK_TRY(dk_peer_retransmitted(c));
        }
        return DK_DISCARD;
    }
    if (dk_sm_done(c)) {
        if (epoch == 1) refuse_renegotiation(c, h);
        return DK_DISCARD;
    }
    /* R4: future messages are queued within a bound, else discarded. A
     * whole message in order is taken at once and supersedes fragments held
     * under its message_seq: they may be spoofed junk that disagrees with it
     * and would otherwise keep it out for good (T12, R30). */
    if (h->seq == c->next_recv_seq && h->frag_offset == 0 && h->frag_length == h->length) {
        dk_reasm_release(c->reasm, h->seq);
        dk_msg m = {h->type, h->seq, epoch, frag, h->length, 0, NULL};
        DK_TRY(deliver_message(c, &m));
        return dk_process_ready(c);
    }
    dk_result r = dk_reasm_add(c->reasm, c->next_recv_seq, h, frag, epoch);
    if (r != DK_OK) return r;
    return dk_process_ready(c);
}

static dk_result recv_handshake(dk_conn *c, uint8_t epoch, const dk_record *rec, uint8_t *p,
                                size_t len)
{
    dk_reader r;
    dk_reader_init(&r, p, len);
    while (dk_reader_left(&r) > 0 && c->state != DK_STATE_FAILED) {
        dk_hs_header h;
        const uint8_t *frag;
        /* R30: an invalid fragment is discarded, with the rest of the record. */
        if (dk_hs_header_read(&r, &h, &frag) != DK_OK) return DK_DISCARD;
        dk_result res = handle_fragment(c, epoch, rec, &h, frag);
        if (res == DK_NEW_HANDSHAKE) return res;
        if (res != DK_OK && res != DK_DISCARD) return res;
    }
    return DK_OK;
}

static dk_result recv_ccs(dk_conn *c, uint8_t epoch, const uint8_t *p, size_t len)
{
    if (epoch != 0 || len != 1 || p[0] != 1) return DK_DISCARD;
    if (c->state != DK_STATE_HANDSHAKING) return DK_DISCARD;
    return dk_sm_handle(c, DK_EV_CCS, NULL);
}

static dk_result recv_alert(dk_conn *c, uint8_t epoch, const uint8_t *p, size_t len)
{
    if (len != 2) return DK_DISCARD;
    /* T25: after the handshake, a plaintext alert is unauthenticated and
     * discarded, so one spoofed datagram cannot end a session. */
    if (epoch == 0 && (c->state != DK_STATE_HANDSHAKING || c->ccs_received)) return DK_DISCARD;
    uint8_t level = p[0], desc = p[1];
    dk_conn_tracef(c, "recv alert %s(%u) level=%u", dk_alert_name(desc), desc, level);
    if (desc == DK_AD_CLOSE_NOTIFY) {
        c->close_received = true;
        if (c->state == DK_STATE_ESTABLISHED) dk_send_alert(c, DK_ALERT_WARNING, DK_AD_CLOSE_NOTIFY);
        if (c->state != DK_STATE_FAILED) c->state = DK_STATE_CLOSED;
        c->timer_deadline = UINT64_MAX;
        return DK_OK;
    }
    if (level == DK_ALERT_WARNING) return DK_OK;
    c->state = DK_STATE_HANDSHAKING; /* let dk_conn_fail record it */
    dk_result r = dk_conn_fail(c, DK_ERR_PEER_ALERT, -1, "peer sent fatal alert: %s (%u)",
                               dk_alert_name(desc), desc);
    return r;
}

/* R20: application data is delivered only once the Finished of its epoch
 * verified; epoch-0 application data is never delivered (T16). */
static dk_result recv_app(dk_conn *c, uint8_t epoch, uint8_t *p, size_t len)
{
    if (epoch != 1 || c->state != DK_STATE_ESTABLISHED) return DK_DISCARD;
    if (c->rx_app_n >= DK_MAX_RX_APP) return DK_DISCARD;
    c->rx_app[c->rx_app_n].off = (uint16_t)(p - c->rx_base);
    c->rx_app[c->rx_app_n].len = (uint16_t)len;
    c->rx_app_n++;
    return DK_OK;
}

/* R30 keeps an association alive through invalid records. During the
 * handshake, though, repeated authentication failures of the peer's
 * epoch-1 Finished mean both sides derived different keys (a corrupted
 * plaintext handshake message): fail promptly with bad_record_mac (R31)
 * instead of waiting out the whole retransmission budget. Only handshake
 * records count: the Finished is one, while application data failing our
 * new keys is the established association's traffic on a restarted
 * address (R16), which the application hands to that association. */
#define DK_HS_BAD_MAC_LIMIT 3
static dk_result bad_mac_in_handshake(dk_conn *c)
{
    if (c->state != DK_STATE_HANDSHAKING || ++c->hs_bad_mac < DK_HS_BAD_MAC_LIMIT) return DK_DISCARD;
    return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_BAD_RECORD_MAC,
                        "peer's encrypted handshake messages do not authenticate: the handshake "
                        "was corrupted in transit or the keys disagree");
}

/* R26, R27, R29, R30: epoch 1 is readable once the peer's CCS arrived;
 * epoch 0 stays readable (R27). The replay window is checked before and
 * updated only after authentication. */
static dk_result open_record(dk_conn *c, dk_record *rec, uint8_t **pt, size_t *pt_len)
{
    if (rec->epoch > 1) return DK_DISCARD;
    if (rec->epoch == 1 && !c->ccs_received) return DK_DISCARD;
    dk_replay *w = &c->replay[rec->epoch];
    bool mark = true;
    /* A server classifies every epoch-0 ClientHello by R38 (body and
     * message_seq), never by record number: a client restarting on the same
     * address reuses record numbers the old association already saw. Its
     * number is still marked, so no other record may reuse it (R29, T19). */
    bool hello = false;
    /* epoch tested on its own: a compiler that folds the epoch and type tests
     * into one wide load of *rec stalls on dk_record_next's narrow stores. */
    if (rec->epoch == 0)
        hello = c->role == DK_ROLE_SERVER && rec->type == DK_CT_HANDSHAKE && rec->length > 0 &&
                rec->fragment[0] == DK_HT_CLIENT_HELLO;
    if (!hello && dk_replay_check(w, rec->seq) != DK_OK) {
        /* Epoch 0 is unauthenticated: one corrupted or spoofed record with a
         * huge sequence number must not lock out the real ones, so there only
         * exact duplicates inside the window are dropped; older records pass
         * unmarked and message_seq ordering (R3) deals with repeats. */
        bool left = w->top - rec->seq >= w->size;
        if (rec->epoch != 0 || !left) {
            c->stats.replayed_records++;
            return DK_DISCARD;
        }
        mark = false;
    }
    if (rec->epoch == 1) {
        if (dk_record_open(&c->rcipher, rec, pt, pt_len) != DK_OK) {
            c->stats.bad_mac_records++;
            return rec->type == DK_CT_HANDSHAKE ? bad_mac_in_handshake(c) : DK_DISCARD;
        }
    } else {
        *pt = rec->fragment;
        *pt_len = rec->length;
    }
    if (mark) dk_replay_mark(w, rec->seq);
    return DK_OK;
}

static dk_result recv_record(dk_conn *c, dk_record *rec)
{
    uint8_t *pt;
    size_t len;
    dk_result opened = open_record(c, rec, &pt, &len);
    if (opened != DK_OK) return opened;
    c->stats.records_in++;
    uint8_t epoch = (uint8_t)rec->epoch;
    switch (rec->type) {
    case DK_CT_HANDSHAKE: return recv_handshake(c, epoch, rec, pt, len);
    case DK_CT_CHANGE_CIPHER_SPEC: return recv_ccs(c, epoch, pt, len);
    case DK_CT_ALERT: return recv_alert(c, epoch, pt, len);
    case DK_CT_APPLICATION_DATA: return recv_app(c, epoch, pt, len);
    default: return DK_DISCARD;
    }
}

dk_result dk_recv_datagram(dk_conn *c, uint8_t *d, size_t len)
{
    dk_reader r;
    dk_reader_init(&r, d, len);
    while (dk_reader_left(&r) > 0) {
        if (c->state == DK_STATE_FAILED) return c->error;
        if (c->state == DK_STATE_CLOSED) break;
        size_t before = r.off;
        dk_record rec;
        dk_result res = dk_record_next(&r, &rec);
        if (res != DK_OK) {
            c->stats.discarded_records++;
            if (r.off == before) break; /* R30: the rest of the datagram is unusable */
            continue;
        }
        res = recv_record(c, &rec);
        if (res == DK_NEW_HANDSHAKE) return res;
        if (res == DK_DISCARD) {
            c->stats.discarded_records++;
            continue;
        }
        if (res != DK_OK) return res;
    }
    return c->state == DK_STATE_FAILED ? c->error : DK_OK;
}
