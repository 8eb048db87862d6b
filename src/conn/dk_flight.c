/* Flights (RFC 6347 4.2.4): our messages are kept per flight, packed into as
 * few datagrams as the MTU allows, fragmented where a message does not fit
 * (4.2.3), and retransmitted as a whole on timeout (R17, R18) or when the
 * peer retransmits its previous flight. Also the output queue, single
 * records (application data, alerts) and the retransmission timer. */
#include <pthread.h>
#include <string.h>

#include "conn/dk_conn_int.h"

/* A fragment smaller than this starts a new datagram instead. */
#define DK_MIN_FRAGMENT 64

void dk_flight_begin(dk_conn *c)
{
    c->flight.n = 0;
    c->flight.len = 0;
    c->fl_state = DK_FL_PREPARING;
    c->retransmits = 0;
    c->peer_resend_done = false;
}

void dk_flight_free(dk_conn *c)
{
    dk_free(c->flight.buf);
    memset(&c->flight, 0, sizeof c->flight);
}

static dk_result flight_reserve(dk_flight *f, size_t len)
{
    if (f->n >= DK_FLIGHT_MAX_MSGS) return DK_ERR_INTERNAL;
    if (f->len + len <= f->cap) return DK_OK;
    size_t cap = f->cap ? f->cap : 1024;
    while (cap < f->len + len) cap *= 2;
    uint8_t *p = dk_realloc(f->buf, cap);
    if (!p) return DK_ERR_NOMEM;
    f->buf = p;
    f->cap = cap;
    return DK_OK;
}

/* R1: "Whenever each new message is generated, the message_seq value is
 * incremented by one." The message enters the transcript here. */
static dk_result flight_append(dk_conn *c, uint8_t hs_type, const uint8_t *body, size_t len)
{
    dk_flight *f = &c->flight;
    dk_flight_msg *m = &f->msg[f->n++];
    m->content_type = DK_CT_HANDSHAKE;
    m->epoch = (uint8_t)c->wepoch;
    m->hs_type = hs_type;
    m->seq = c->send_seq++;
    m->off = (uint32_t)f->len;
    m->len = (uint32_t)len;
    if (len && body != f->buf + f->len) memcpy(f->buf + f->len, body, len);
    f->len += len;
    dk_hs_header h = {hs_type, (uint32_t)len, m->seq, 0, (uint32_t)len};
    dk_conn_tracef(c, "send %s seq=%u len=%zu epoch=%u", dk_hs_type_name(hs_type), m->seq, len,
                   m->epoch);
    if (hs_type == DK_HT_HELLO_VERIFY_REQUEST) return DK_OK;
    return dk_transcript_add(c, &h, f->buf + m->off);
}

dk_result dk_flight_add(dk_conn *c, uint8_t hs_type, const uint8_t *body, size_t len)
{
    if (len > 0xFFFFFF) return DK_ERR_INTERNAL;
    DK_TRY(flight_reserve(&c->flight, len));
    return flight_append(c, hs_type, body, len);
}

/* Written in place: room for max_len bytes at the end of the flight buffer,
 * then dk_flight_commit adds what the writer holds as the next message. No
 * other flight call may come in between. */
dk_result dk_flight_begin_msg(dk_conn *c, size_t max_len, dk_writer *w)
{
    if (max_len > 0xFFFFFF) return DK_ERR_INTERNAL;
    DK_TRY(flight_reserve(&c->flight, max_len));
    dk_writer_init(w, c->flight.buf + c->flight.len, max_len);
    return DK_OK;
}

dk_result dk_flight_commit(dk_conn *c, uint8_t hs_type, const dk_writer *w)
{
    DK_TRY(dk_writer_status(w));
    if (w->p != c->flight.buf + c->flight.len || c->flight.len + w->off > c->flight.cap)
        return DK_ERR_INTERNAL;
    return flight_append(c, hs_type, w->p, w->off);
}

/* R32: CCS is "treated as part of the same flight as the associated Finished
 * message for the purposes of timeout and retransmission". After it, the
 * write epoch is incremented (R26). */
dk_result dk_flight_add_ccs(dk_conn *c)
{
    dk_flight *f = &c->flight;
    DK_TRY(flight_reserve(f, 0));
    dk_flight_msg *m = &f->msg[f->n++];
    memset(m, 0, sizeof *m);
    m->content_type = DK_CT_CHANGE_CIPHER_SPEC;
    m->epoch = (uint8_t)c->wepoch;
    if (!c->wcipher_ready) return DK_ERR_INTERNAL;
    c->wepoch = 1;
    dk_conn_tracef(c, "send ChangeCipherSpec");
    return DK_OK;
}

/* The output queue's first size. After the handshake a connection holds
 * no output buffer while it is drained (dk_outq_trim); the buffer a drained
 * queue gives up is kept as this thread's spare, and the next queue that
 * starts takes it: the write + poll path allocates nothing after its first
 * record. The queue holds only what was sent (epoch-0 flights are public,
 * the rest is ciphertext), so the spare carries no secret. */
#define DK_OUTQ_MIN 2048
static _Thread_local uint8_t *t_spare;
static pthread_key_t g_spare_key;
static pthread_once_t g_spare_once = PTHREAD_ONCE_INIT;

static void spare_free(void *unused)
{
    (void)unused;
    dk_free(t_spare);
    t_spare = NULL;
}

static void spare_key(void) { (void)pthread_key_create(&g_spare_key, spare_free); }

/* Room for one more datagram of len bytes behind its 2-byte length: *out
 * points where its bytes go. */
static dk_result outq_reserve(dk_conn *c, size_t len, uint8_t **out)
{
    if (len > 0xFFFF) return DK_ERR_INTERNAL;
    size_t need = c->outq_len + len + 2;
    if (need > c->outq_cap) {
        if (!c->outq && need <= DK_OUTQ_MIN && t_spare) {
            c->outq = t_spare;
            t_spare = NULL;
            c->outq_cap = DK_OUTQ_MIN;
        } else {
            size_t cap = c->outq_cap ? c->outq_cap : DK_OUTQ_MIN;
            while (cap < need) cap *= 2;
            if (cap > (1u << 20)) return DK_ERR_LIMIT; /* application is not draining */
            uint8_t *p = dk_realloc(c->outq, cap);
            if (!p) return DK_ERR_NOMEM;
            c->outq = p;
            c->outq_cap = cap;
        }
    }
    *out = c->outq + c->outq_len + 2;
    return DK_OK;
}

static void outq_commit(dk_conn *c, size_t len)
{
    dk_store_u16(c->outq + c->outq_len, (uint16_t)len);
    c->outq_len += len + 2;
}

dk_result dk_queue_datagram(dk_conn *c, const uint8_t *d, size_t len)
{
    if (len == 0) return DK_OK;
    uint8_t *p;
    DK_TRY(outq_reserve(c, len, &p));
    memcpy(p, d, len);
    outq_commit(c, len);
    return DK_OK;
}

static const dk_cipher *cipher_for(const dk_conn *c, unsigned epoch)
{
    return epoch == 0 ? NULL : &c->wcipher;
}

static size_t record_overhead(const dk_conn *c, unsigned epoch)
{
    return DK_RECORD_HEADER_LEN + dk_cipher_overhead(cipher_for(c, epoch));
}

/* R28: "implementations MUST either abandon an association or rehandshake
 * prior to allowing the sequence number to wrap." */
static dk_result next_wseq(dk_conn *c, unsigned epoch, uint64_t *seq)
{
    if (c->wseq[epoch] > DK_SEQ_MAX) return DK_ERR_LIMIT;
    *seq = c->wseq[epoch]++;
    return DK_OK;
}

static dk_result seal_into(dk_conn *c, uint8_t type, unsigned epoch, const uint8_t *pt, size_t len,
                           uint8_t *out, size_t cap, size_t *used)
{
    uint64_t seq;
    DK_TRY(next_wseq(c, epoch, &seq));
    size_t n;
    DK_TRY(dk_record_seal(cipher_for(c, epoch), type, DK_DTLS12, (uint16_t)epoch, seq, pt, len, out,
                          cap, &n));
    *used += n;
    c->stats.records_out++;
    return DK_OK;
}

dk_result dk_seal_record(dk_conn *c, uint8_t type, const uint8_t *pt, size_t len, uint8_t *out,
                         size_t cap, size_t *out_len)
{
    *out_len = 0;
    return seal_into(c, type, c->wepoch, pt, len, out, cap, out_len);
}

/* An idle connection past its handshake holds no output buffer. */
void dk_outq_trim(dk_conn *c)
{
    if (c->outq_off < c->outq_len || c->state == DK_STATE_HANDSHAKING) return;
    if (c->outq && c->outq_cap == DK_OUTQ_MIN && !t_spare) {
        (void)pthread_once(&g_spare_once, spare_key);
        /* the key's value only makes the thread's exit free the spare */
        if (pthread_setspecific(g_spare_key, &t_spare) == 0) {
            t_spare = c->outq;
            c->outq = NULL;
        }
    }
    dk_free(c->outq);
    c->outq = NULL;
    c->outq_cap = c->outq_len = c->outq_off = 0;
}

/* A record sealed straight into the output queue. */
dk_result dk_send_record(dk_conn *c, uint8_t type, const uint8_t *pt, size_t len)
{
    size_t max = len + record_overhead(c, c->wepoch);
    if (max > DK_MAX_MTU + 64) return DK_ERR_TOO_LARGE;
    uint8_t *p;
    DK_TRY(outq_reserve(c, max, &p));
    size_t used = 0;
    dk_result r = seal_into(c, type, c->wepoch, pt, len, p, max, &used);
    if (r != DK_OK) {
        if (c->outq_len == 0) dk_outq_trim(c);
        return r;
    }
    outq_commit(c, used);
    return DK_OK;
}

/* R35: "Alert messages are not retransmitted at all". */
void dk_send_alert(dk_conn *c, uint8_t level, uint8_t desc)
{
    uint8_t a[2] = {level, desc};
    dk_conn_tracef(c, "send alert %s(%u) level=%u", dk_alert_name(desc), desc, level);
    if (dk_send_record(c, DK_CT_ALERT, a, sizeof a) != DK_OK) c->stats.discarded_records++;
}

typedef struct packer {
    uint8_t dg[DK_MAX_MTU + 64];
    size_t len;
} packer;

static dk_result pack_flush(dk_conn *c, packer *p)
{
    dk_result r = dk_queue_datagram(c, p->dg, p->len);
    p->len = 0;
    return r;
}

static dk_result pack_ccs(dk_conn *c, packer *p, const dk_flight_msg *m)
{
    static const uint8_t one = 1;
    if (p->len + record_overhead(c, m->epoch) + 1 > c->mtu) DK_TRY(pack_flush(c, p));
    return seal_into(c, DK_CT_CHANGE_CIPHER_SPEC, m->epoch, &one, 1, p->dg + p->len,
                     sizeof p->dg - p->len, &p->len);
}

/* R22, R23: every fragment carries the message's message_seq and full
 * length; an unfragmented message has fragment_offset 0 and
 * fragment_length = length. R25: each record fits in one datagram. */
static dk_result pack_handshake(dk_conn *c, packer *p, const dk_flight_msg *m)
{
    const uint8_t *body = c->flight.buf + m->off;
    size_t overhead = record_overhead(c, m->epoch) + DK_HS_HEADER_LEN;
    uint32_t off = 0;
    for (;;) {
        bool any_room = c->mtu >= p->len + overhead; /* at least a header fits */
        size_t room = any_room ? c->mtu - p->len - overhead : 0;
        size_t rest = m->len - off;
        bool fits = any_room && (rest == 0 ? true : room > 0) &&
                    (room >= rest || room >= DK_MIN_FRAGMENT || p->len == 0);
        if (!fits && p->len > 0) {
            DK_TRY(pack_flush(c, p));
            continue;
        }
        if (!fits) return DK_ERR_CONFIG; /* MTU too small for any fragment */
        uint32_t frag = (uint32_t)DK_MIN(room, rest);
        uint8_t pt[DK_MAX_MTU];
        dk_writer w;
        dk_writer_init(&w, pt, sizeof pt);
        dk_hs_header h = {m->hs_type, m->len, m->seq, off, frag};
        dk_hs_header_write(&w, &h);
        dk_write_bytes(&w, body + off, frag);
        DK_TRY(dk_writer_status(&w));
        if (frag < m->len) c->stats.fragments_out++;
        DK_TRY(seal_into(c, DK_CT_HANDSHAKE, m->epoch, pt, w.off, p->dg + p->len,
                         sizeof p->dg - p->len, &p->len));
        off += frag;
        if (off >= m->len) return DK_OK;
    }
}

static dk_result flight_transmit(dk_conn *c)
{
    packer *p = dk_malloc(sizeof *p);
    if (!p) return DK_ERR_NOMEM;
    p->len = 0;
    dk_result r = DK_OK;
    for (size_t i = 0; i < c->flight.n && r == DK_OK; i++) {
        const dk_flight_msg *m = &c->flight.msg[i];
        r = m->content_type == DK_CT_CHANGE_CIPHER_SPEC ? pack_ccs(c, p, m) : pack_handshake(c, p, m);
    }
    if (r == DK_OK) r = pack_flush(c, p);
    dk_free(p);
    return r;
}

dk_result dk_flight_send(dk_conn *c, bool last_flight)
{
    c->fl_state = DK_FL_SENDING;
    DK_TRY(flight_transmit(c));
    c->peer_prev_flight_lo = c->peer_flight_lo;
    c->peer_flight_lo = c->next_recv_seq;
    if (last_flight) {
        /* R19: the sender of the last flight answers retransmissions of the
         * peer's last flight; no timer. It is kept for the connection's life,
         * so it shrinks to fit (CCS + Finished: 12 bytes of body). */
        uint8_t *fit = c->flight.len ? dk_realloc(c->flight.buf, c->flight.len) : NULL;
        if (fit) {
            c->flight.buf = fit;
            c->flight.cap = c->flight.len;
        }
        c->fl_state = DK_FL_FINISHED;
        c->timer_deadline = UINT64_MAX;
    } else {
        c->fl_state = DK_FL_WAITING;
        c->timer_cur = c->cfg->timer_initial_ms;
        c->timer_deadline = c->now + c->timer_cur;
    }
    return DK_OK;
}

/* A retransmission (timer or peer-triggered) uses the same message_seq
 * values in new records (R2). */
dk_result dk_flight_resend(dk_conn *c)
{
    if (c->flight.n == 0) return DK_OK;
    c->stats.retransmissions++;
    dk_conn_tracef(c, "retransmit flight (%zu messages)", c->flight.n);
    return flight_transmit(c);
}

/* R17: "Implementations SHOULD use an initial timer value of 1 second ...
 * and double the value at each retransmission, up to no less than the RFC
 * 6298 maximum of 60 seconds." After repeated loss the MTU shrinks, in case
 * large datagrams are what is being lost. */
dk_result dk_on_timer(dk_conn *c, uint64_t now)
{
    if (c->fl_state != DK_FL_WAITING) {
        c->timer_deadline = UINT64_MAX;
        return DK_OK;
    }
    if (++c->retransmits > c->cfg->max_retransmits)
        return dk_conn_fail(c, DK_ERR_TIMEOUT, -1,
                            "handshake timed out: no answer from the peer after %u retransmissions",
                            c->cfg->max_retransmits);
    c->timer_cur = (uint32_t)DK_MIN((uint64_t)c->timer_cur * 2, (uint64_t)c->cfg->timer_max_ms);
    if (c->retransmits >= 2) {
        size_t floor = DK_MIN(c->cfg->mtu, (size_t)512);
        c->mtu = DK_MAX(c->mtu / 2, floor);
    }
    c->timer_deadline = now + c->timer_cur;
    /* From the second retransmission on, drop the partial messages we hold:
     * the peer resends its whole flight anyway, and a spoofed fragment that
     * fixed a wrong length for a message then blocks the real one for two
     * rounds at most (T12). The first round keeps partial progress, which
     * matters on lossy links. */
    if (c->retransmits >= 2 && c->reasm) dk_reasm_reset(c->reasm);
    return dk_flight_resend(c);
}

const char *dk_alert_name(uint8_t desc)
{
    switch (desc) {
    case DK_AD_CLOSE_NOTIFY: return "close_notify";
    case DK_AD_UNEXPECTED_MESSAGE: return "unexpected_message";
    case DK_AD_BAD_RECORD_MAC: return "bad_record_mac";
    case DK_AD_HANDSHAKE_FAILURE: return "handshake_failure";
    case DK_AD_BAD_CERTIFICATE: return "bad_certificate";
    case DK_AD_UNSUPPORTED_CERTIFICATE: return "unsupported_certificate";
    case DK_AD_CERTIFICATE_EXPIRED: return "certificate_expired";
    case DK_AD_CERTIFICATE_UNKNOWN: return "certificate_unknown";
    case DK_AD_ILLEGAL_PARAMETER: return "illegal_parameter";
    case DK_AD_UNKNOWN_CA: return "unknown_ca";
    case DK_AD_DECODE_ERROR: return "decode_error";
    case DK_AD_DECRYPT_ERROR: return "decrypt_error";
    case DK_AD_PROTOCOL_VERSION: return "protocol_version";
    case DK_AD_INSUFFICIENT_SECURITY: return "insufficient_security";
    case DK_AD_INTERNAL_ERROR: return "internal_error";
    case DK_AD_NO_RENEGOTIATION: return "no_renegotiation";
    case DK_AD_UNSUPPORTED_EXTENSION: return "unsupported_extension";
    case DK_AD_UNKNOWN_PSK_IDENTITY: return "unknown_psk_identity";
    default: return "alert";
    }
}
