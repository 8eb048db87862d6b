/* The server's cookie gate (RFC 6347 4.2.1) and dtlskit's rule R38: a cookie
 * proves reachability once.
 *
 * With no state for a peer, dk_server_gate() answers a ClientHello without a
 * valid cookie with a HelloVerifyRequest and allocates nothing (R7, R13).
 * Once a peer has a connection, every epoch-0 ClientHello it sends is
 * classified here, before and outside the handshake's message_seq logic:
 *  (a) the creating ClientHello again (same message_seq, same body): a
 *      retransmission; resend our flight, or drop it once the handshake ended;
 *  (b) a cookie whose MAC covers the connection's current state tag: a new
 *      handshake (DK_NEW_HANDSHAKE); R16 keeps an established association
 *      until the new Finished verifies;
 *  (c) anything else: a stateless HelloVerifyRequest echoing the ClientHello's
 *      message_seq and record sequence number (R5), whose cookie covers the
 *      current state tag.
 * Order never depends on the clock; time only bounds a cookie's life.
 */
#include <string.h>

#include "conn/dk_conn_int.h"
#include "conn/dk_gate_pool.h"

/* R6 + R28: our epoch-0 record numbers continue from the ClientHello's, so
 * one near the top of the 48-bit space cannot start a handshake. */
#define DK_MAX_CH_RECORD_SEQ (1ULL << 47)

/* The fields of a ClientHello the cookie covers (R8), read from a fragment
 * that may stop anywhere after compression_methods. */
static dk_result parse_ch_prefix(const uint8_t *p, size_t len, dk_client_hello *ch)
{
    dk_reader r, v;
    dk_reader_init(&r, p, len);
    memset(ch, 0, sizeof *ch);
    DK_TRY(dk_read_u16(&r, &ch->version));
    DK_TRY(dk_read_bytes(&r, 32, &ch->random));
    DK_TRY(dk_read_vec(&r, 1, 0, 32, &v));
    ch->session_id = v.p;
    ch->session_id_len = (uint8_t)v.len;
    ch->cookie_offset = r.off;
    DK_TRY(dk_read_vec(&r, 1, 0, 255, &v));
    ch->cookie = v.p;
    ch->cookie_len = (uint8_t)v.len;
    DK_TRY(dk_read_vec(&r, 2, 2, 0xFFFE, &v));
    if (v.len % 2) return DK_ERR_DECODE;
    ch->suites = v.p;
    ch->suites_len = (uint16_t)v.len;
    DK_TRY(dk_read_vec(&r, 1, 1, 255, &v));
    ch->compressions = v.p;
    ch->compressions_len = (uint8_t)v.len;
    ch->params_end = r.off;
    return DK_OK;
}

/* R5: "the server MUST use the record sequence number in the ClientHello as
 * the record sequence number in the HelloVerifyRequest"; errata 5186: the
 * message_seq too. R9: version DTLS 1.0. R10: our cookies are 32 bytes. */
dk_result dk_gate_build_hvr(const dk_config *cfg, const void *peer, size_t peer_len, uint64_t tag,
                            const dk_client_hello *ch, uint16_t ch_seq, uint64_t rec_seq,
                            uint64_t now, uint8_t *out, size_t cap, size_t *out_len)
{
    dk_cookie_ctx *ctx = dk_cfg_cookie(cfg);
    if (!ctx) return DK_ERR_CRYPTO;
    /* Minted on a one-second quantum: a duplicated ClientHello gets the same
     * cookie, which the client recognises as a duplicate HVR. */
    uint8_t cookie[DK_COOKIE_LEN];
    DK_TRY(dk_cookie_make(ctx, now - now % 1000, peer, peer_len, tag, ch, cookie));
    uint8_t body[3 + DK_COOKIE_LEN];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    dk_hello_verify hv = {DK_DTLS10, cookie, DK_COOKIE_LEN};
    dk_hello_verify_write(&w, &hv);
    DK_TRY(dk_writer_status(&w));
    uint8_t pt[DK_HS_HEADER_LEN + sizeof body];
    dk_writer hw;
    dk_writer_init(&hw, pt, sizeof pt);
    dk_hs_header h = {DK_HT_HELLO_VERIFY_REQUEST, (uint32_t)w.off, ch_seq, 0, (uint32_t)w.off};
    dk_hs_header_write(&hw, &h);
    dk_write_bytes(&hw, body, w.off);
    DK_TRY(dk_writer_status(&hw));
    return dk_record_seal(NULL, DK_CT_HANDSHAKE, DK_DTLS10, 0, rec_seq, pt, hw.off, out, cap, out_len);
}

/* The verdict on a ClientHello whose cookie-relevant fields are known: ACCEPT
 * for a valid cookie (or no cookie exchange), else a HelloVerifyRequest no
 * larger than limit (never amplify). */
static dk_gate_verdict decide(const dk_config *cfg, const void *peer, size_t peer_len,
                              const dk_client_hello *ch, uint16_t seq, uint64_t rec_seq,
                              uint64_t now, size_t limit, uint8_t *out, size_t cap,
                              size_t *out_len)
{
    if (!cfg->cookie_exchange)
        return rec_seq < DK_MAX_CH_RECORD_SEQ ? DK_GATE_ACCEPT : DK_GATE_DROP;
    dk_cookie_ctx *ctx = dk_cfg_cookie(cfg);
    if (ctx && dk_cookie_verify(ctx, now, peer, peer_len, 0, ch) == DK_OK)
        return rec_seq < DK_MAX_CH_RECORD_SEQ ? DK_GATE_ACCEPT : DK_GATE_DROP;
    size_t n = 0;
    if (dk_gate_build_hvr(cfg, peer, peer_len, 0, ch, seq, rec_seq, now, out, cap, &n) != DK_OK)
        return DK_GATE_DROP;
    if (n > limit) return DK_GATE_DROP;
    *out_len = n;
    return DK_GATE_HVR;
}

/* A whole ClientHello from the pool: answered, or handed to the new
 * connection as one unfragmented datagram (record number of its last
 * fragment, R6). */
static dk_gate_verdict decide_pooled(const dk_config *cfg, const void *peer, size_t peer_len,
                                     const dk_hs_header *h, const uint8_t *body, uint64_t rec_seq,
                                     uint64_t now, uint8_t *out, size_t cap, size_t *out_len)
{
    dk_client_hello ch;
    dk_reader r;
    dk_reader_init(&r, body, h->length);
    if (dk_client_hello_read(&r, &ch) != DK_OK) return DK_GATE_DROP;
    size_t whole = DK_RECORD_HEADER_LEN + DK_HS_HEADER_LEN + h->length;
    dk_gate_verdict v = decide(cfg, peer, peer_len, &ch, h->seq, rec_seq, now, whole, out, cap, out_len);
    if (v != DK_GATE_ACCEPT) return v;
    if (cap < whole) return DK_GATE_DROP;
    dk_record_header_write(out, DK_CT_HANDSHAKE, DK_DTLS12, 0, rec_seq,
                           (uint16_t)(DK_HS_HEADER_LEN + h->length));
    dk_writer w;
    dk_writer_init(&w, out + DK_RECORD_HEADER_LEN, cap - DK_RECORD_HEADER_LEN);
    dk_hs_header hh = {DK_HT_CLIENT_HELLO, h->length, h->seq, 0, h->length};
    dk_hs_header_write(&w, &hh);
    dk_write_bytes(&w, body, h->length);
    if (dk_writer_status(&w) != DK_OK) return DK_GATE_DROP;
    *out_len = whole;
    return DK_GATE_ACCEPT;
}

static dk_gate_verdict pooled(const dk_config *cfg, const void *peer, size_t peer_len,
                              const dk_record *rec, const dk_hs_header *h, const uint8_t *frag,
                              uint64_t now, uint8_t *out, size_t cap, size_t *out_len)
{
    dk_gate_pool **pp = &((dk_config *)cfg)->gate_pool; /* documented mutable field */
    const uint8_t *body;
    if (dk_gate_pool_add(pp, peer, peer_len, h, frag, rec->seq, now, &body) != DK_OK)
        return DK_GATE_DROP;
    dk_gate_verdict v = decide_pooled(cfg, peer, peer_len, h, body, rec->seq, now, out, cap, out_len);
    dk_gate_pool_done(*pp, peer, peer_len, h->seq);
    return v;
}

/* R14 (RFC 6347 3.2.1): "timeout and retransmission do not apply to the
 * HelloVerifyRequest, because this would require creating state on the
 * server." The gate keeps nothing: a lost HVR is answered again when the
 * client retransmits its ClientHello. */
dk_gate_verdict dk_server_gate(const dk_config *cfg, const void *peer, size_t peer_len,
                               const uint8_t *datagram, size_t len, uint64_t now, uint8_t *out,
                               size_t cap, size_t *out_len)
{
    if (out_len) *out_len = 0;
    if (!cfg || cfg->role != DK_ROLE_SERVER || !datagram || !out || !out_len ||
        peer_len > DK_MAX_PEER_ID)
        return DK_GATE_DROP;
    dk_reader r;
    dk_reader_init(&r, datagram, len);
    dk_record rec;
    if (dk_record_next(&r, &rec) != DK_OK) return DK_GATE_DROP;
    if (rec.epoch != 0 || rec.type != DK_CT_HANDSHAKE) return DK_GATE_DROP;
    dk_reader hr;
    dk_reader_init(&hr, rec.fragment, rec.length);
    dk_hs_header h;
    const uint8_t *frag;
    if (dk_hs_header_read(&hr, &h, &frag) != DK_OK) return DK_GATE_DROP;
    if (h.type != DK_HT_CLIENT_HELLO) return DK_GATE_DROP;
    dk_client_hello ch;
    bool judged_alone = h.frag_offset == 0 && parse_ch_prefix(frag, h.frag_length, &ch) == DK_OK;
    bool fragmented = h.frag_length != h.length;
    /* A fragment that cannot be judged alone, or one of a hello already
     * being pooled, goes to the server-wide pool. */
    if (fragmented && (!judged_alone || dk_gate_pool_find(cfg->gate_pool, peer, peer_len, h.seq)))
        return pooled(cfg, peer, peer_len, &rec, &h, frag, now, out, cap, out_len);
    if (!judged_alone) return DK_GATE_DROP;
    return decide(cfg, peer, peer_len, &ch, h.seq, rec.seq, now, len, out, cap, out_len);
}

static dk_result send_hvr(dk_conn *c, const dk_client_hello *ch, uint16_t seq, uint64_t rec_seq,
                          uint64_t tag)
{
    uint8_t out[128];
    size_t n;
    DK_TRY(dk_gate_build_hvr(c->cfg, c->peer, c->peer_len, tag, ch, seq, rec_seq, c->now, out,
                             sizeof out, &n));
    c->stats.hello_verify_sent++;
    dk_conn_tracef(c, "send HelloVerifyRequest seq=%u record_seq=%llu", seq,
                   (unsigned long long)rec_seq);
    return dk_queue_datagram(c, out, n);
}

/* Reassemble a fragmented ClientHello (one message_seq at a time). */
static dk_result whole_hello(dk_conn *c, const dk_hs_header *h, const uint8_t *frag,
                             const uint8_t **body)
{
    if (h->frag_offset == 0 && h->frag_length == h->length) {
        *body = frag;
        return DK_OK;
    }
    if (!c->ch_reasm) {
        c->ch_reasm = dk_malloc(sizeof *c->ch_reasm);
        if (!c->ch_reasm) return DK_ERR_NOMEM;
        dk_reasm_init(c->ch_reasm, c->cfg->max_message, c->cfg->max_message * 2);
        c->ch_reasm_seq = h->seq;
    }
    if (h->seq != c->ch_reasm_seq) {
        dk_reasm_reset(c->ch_reasm);
        c->ch_reasm_seq = h->seq;
    }
    dk_result r = dk_reasm_add(c->ch_reasm, h->seq, h, frag, 0);
    if (r != DK_OK) return r;
    const dk_reasm_slot *s;
    if (!dk_reasm_ready(c->ch_reasm, h->seq, &s)) return DK_DISCARD;
    *body = s->body;
    return DK_OK;
}

static dk_result start_handshake(dk_conn *c, const dk_record *rec, const dk_hs_header *h,
                                 const uint8_t *body, const dk_client_hello *ch,
                                 const uint8_t hash[32])
{
    if (rec->seq >= DK_MAX_CH_RECORD_SEQ) return DK_DISCARD;
    c->have_creating_ch = true;
    c->creating_ch_seq = h->seq;
    memcpy(c->creating_ch_hash, hash, 32);
    c->state_tag = dk_cfg_new_tag(c->cfg);
    c->ch_rec_seq = rec->seq;
    c->next_recv_seq = h->seq;
    dk_msg m = {DK_HT_CLIENT_HELLO, h->seq, 0, body, h->length, 0, ch};
    dk_conn_tracef(c, "recv ClientHello seq=%u record_seq=%llu: starts handshake", h->seq,
                   (unsigned long long)rec->seq);
    return dk_sm_handle(c, DK_HT_CLIENT_HELLO, &m);
}

static dk_result classify(dk_conn *c, const dk_record *rec, const dk_hs_header *h,
                          const uint8_t *body)
{
    dk_reader r;
    dk_reader_init(&r, body, h->length);
    dk_client_hello ch;
    /* The gate admits on the cookie, which does not cover the extensions: a
     * connection whose creating ClientHello does not parse would otherwise
     * wait, with no timer, for nothing (tests/robustness/malformed_hs_test.c). */
    if (dk_client_hello_read(&r, &ch) != DK_OK)
        return c->have_creating_ch ? DK_DISCARD
                                   : dk_conn_fail(c, DK_ERR_DECODE, DK_AD_DECODE_ERROR,
                                                  "malformed ClientHello");
    uint8_t hash[32];
    DK_TRY(dk_hash(DK_HASH_SHA256, body, h->length, hash));
    dk_cookie_ctx *ctx = dk_cfg_cookie(c->cfg);
    if (!ctx) return DK_ERR_CRYPTO;
    bool gated = c->cfg->cookie_exchange;
    if (!c->have_creating_ch) {
        if (!gated ||
            dk_cookie_verify(ctx, c->now, c->peer, c->peer_len, c->predecessor_tag, &ch) == DK_OK)
            return start_handshake(c, rec, h, body, &ch, hash);
        return send_hvr(c, &ch, h->seq, rec->seq, c->predecessor_tag);
    }
    /* (a) the creating ClientHello again: a retransmission. */
    if (h->seq == c->creating_ch_seq && dk_ct_equal(hash, c->creating_ch_hash, 32)) {
        dk_conn_tracef(c, "recv ClientHello seq=%u: retransmission", h->seq);
        if (dk_sm_done(c)) return DK_DISCARD;
        return dk_peer_retransmitted(c);
    }
    /* (b) a cookie bound to our current state: the peer starts anew. */
    if (!gated ||
        dk_cookie_verify(ctx, c->now, c->peer, c->peer_len, c->state_tag, &ch) == DK_OK) {
        if (rec->seq >= DK_MAX_CH_RECORD_SEQ) return DK_DISCARD;
        dk_conn_tracef(c, "recv ClientHello seq=%u: new handshake", h->seq);
        return DK_NEW_HANDSHAKE;
    }
    /* (c) anything else: stateless HVR, our state untouched (R16). */
    return send_hvr(c, &ch, h->seq, rec->seq, c->state_tag);
}

dk_result dk_gate_conn_hello(dk_conn *c, const dk_record *rec, const dk_hs_header *h,
                             const uint8_t *frag)
{
    if (c->state == DK_STATE_CLOSED || c->state == DK_STATE_FAILED) return DK_DISCARD;
    const uint8_t *body;
    dk_result r = whole_hello(c, h, frag, &body);
    if (r != DK_OK) return r == DK_ERR_NOMEM ? r : DK_DISCARD;
    r = classify(c, rec, h, body);
    if (h->frag_length != h->length && c->ch_reasm) {
        /* the ClientHello was classified: its reassembly state goes */
        dk_reasm_reset(c->ch_reasm);
        dk_free(c->ch_reasm);
        c->ch_reasm = NULL;
    }
    return r;
}
