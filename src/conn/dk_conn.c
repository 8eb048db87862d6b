/* The sans-IO connection: public entry points. Datagrams and time in;
 * datagrams, application data and a state out. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conn/dk_conn_int.h"

static dk_conn *conn_alloc(const dk_config *cfg, const void *peer, size_t peer_len)
{
    if (!cfg || peer_len > DK_MAX_PEER_ID || (peer_len && !peer)) return NULL;
    dk_conn *c = dk_calloc(1, sizeof *c);
    if (!c) return NULL;
    c->cfg = cfg;
    c->role = cfg->role;
    if (peer_len) memcpy(c->peer, peer, peer_len);
    c->peer_len = peer_len;
    c->state = DK_STATE_HANDSHAKING;
    c->mtu = cfg->mtu;
    c->timer_deadline = UINT64_MAX;
    c->fl_state = cfg->role == DK_ROLE_SERVER ? DK_FL_WAITING : DK_FL_PREPARING;
    dk_replay_init(&c->replay[0], cfg->replay_window);
    dk_replay_init(&c->replay[1], cfg->replay_window);
    c->reasm = dk_malloc(sizeof *c->reasm);
    if (!c->reasm) {
        dk_free(c);
        return NULL;
    }
    dk_reasm_init(c->reasm, cfg->max_message, cfg->max_buffered);
    dk_sm_init(c);
    return c;
}

dk_conn *dk_conn_new(const dk_config *cfg, const void *peer_id, size_t peer_id_len)
{
    return conn_alloc(cfg, peer_id, peer_id_len);
}

dk_conn *dk_conn_new_successor(const dk_conn *old)
{
    if (!old || old->role != DK_ROLE_SERVER) return NULL;
    dk_conn *c = conn_alloc(old->cfg, old->peer, old->peer_len);
    if (c) c->predecessor_tag = old->state_tag;
    return c;
}

void dk_conn_free_handshake(dk_conn *c)
{
    dk_kex_free(c->kex);
    c->kex = NULL;
    dk_pkey_free(c->peer_key);
    c->peer_key = NULL;
    dk_free_secret(c->transcript, c->tcap);
    c->transcript = NULL;
    c->tlen = c->tcap = 0;
    dk_free_secret(c->psk, c->psk_len);
    c->psk = NULL;
    c->psk_len = 0;
    dk_free_secret(c->kb, sizeof *c->kb);
    c->kb = NULL;
    dk_hmac_key_free(c->msk);
    c->msk = NULL;
    dk_hash_free(c->thash);
    c->thash = NULL;
    c->thashed = 0;
    if (c->reasm) dk_reasm_reset(c->reasm);
    dk_free(c->reasm);
    c->reasm = NULL;
    if (c->ch_reasm) dk_reasm_reset(c->ch_reasm);
    dk_free(c->ch_reasm);
    c->ch_reasm = NULL;
    dk_free(c->cookie);
    c->cookie = NULL;
    dk_free(c->peer_point);
    c->peer_point = NULL;
}

dk_result dk_conn_set_str(char **dst, const char *src, size_t len)
{
    char *p = dk_malloc(len + 1);
    if (!p) return DK_ERR_NOMEM;
    if (len) memcpy(p, src, len);
    p[len] = 0;
    dk_free(*dst);
    *dst = p;
    return DK_OK;
}

void dk_conn_free(dk_conn *c)
{
    if (!c) return;
    dk_conn_free_handshake(c);
    dk_flight_free(c);
    dk_cipher_clear(&c->wcipher);
    dk_cipher_clear(&c->rcipher);
    dk_free(c->outq);
    dk_free(c->reason);
    dk_free(c->peer_identity);
    dk_free(c->server_name);
    dk_wipe(c, sizeof *c);
    dk_free(c);
}

void dk_conn_tracef(dk_conn *c, const char *fmt, ...)
{
    if (!c->trace) return;
    char line[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    c->trace(c->trace_arg, line);
}

dk_result dk_conn_fail(dk_conn *c, dk_result err, int alert, const char *fmt, ...)
{
    if (c->state == DK_STATE_FAILED) return c->error;
    if (alert >= 0) dk_send_alert(c, DK_ALERT_FATAL, (uint8_t)alert);
    c->state = DK_STATE_FAILED;
    c->error = err;
    char reason[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (dk_conn_set_str(&c->reason, reason, DK_MIN((size_t)n, sizeof reason - 1)) != DK_OK)
        c->reason = NULL; /* dk_conn_error_reason falls back to dk_strerror */
    c->timer_deadline = UINT64_MAX;
    dk_conn_tracef(c, "failed: %s", reason);
    dk_conn_free_handshake(c);
    return err;
}

void dk_conn_established(dk_conn *c)
{
    c->state = DK_STATE_ESTABLISHED;
    dk_outq_trim(c);
    dk_conn_free_handshake(c);
    dk_conn_tracef(c, "established: %s, ems=%s", c->suite->iana_name, c->ems ? "yes" : "no");
}

/* The transcript as it would be with every message unfragmented (R34). */
dk_result dk_transcript_add(dk_conn *c, const dk_hs_header *h, const uint8_t *body)
{
    size_t need = c->tlen + DK_HS_HEADER_LEN + h->length;
    if (need > c->cfg->max_buffered) return DK_ERR_LIMIT;
    if (need > c->tcap) {
        size_t cap = c->tcap ? c->tcap : 2048;
        while (cap < need) cap *= 2;
        uint8_t *p = dk_malloc(cap);
        if (!p) return DK_ERR_NOMEM;
        if (c->tlen) memcpy(p, c->transcript, c->tlen);
        dk_free_secret(c->transcript, c->tcap);
        c->transcript = p;
        c->tcap = cap;
    }
    dk_hs_header whole = {h->type, h->length, h->seq, 0, h->length};
    dk_writer w;
    dk_writer_init(&w, c->transcript + c->tlen, c->tcap - c->tlen);
    dk_hs_header_write(&w, &whole);
    dk_write_bytes(&w, body, h->length);
    DK_TRY(dk_writer_status(&w));
    c->tlen += w.off;
    return DK_OK;
}

/* The hash of transcript[0..len). The handshake asks for it at growing
 * lengths (EMS session hash, then each Finished), so a running hash takes in
 * only what was added since the last request; a shorter length than one
 * already hashed falls back to hashing from the start. */
dk_result dk_transcript_hash(dk_conn *c, size_t len, uint8_t *out)
{
    if (!c->suite || len > c->tlen) return DK_ERR_INTERNAL;
    if (len < c->thashed) return dk_hash(c->suite->prf, c->transcript, len, out);
    if (!c->thash) {
        c->thash = dk_hash_new(c->suite->prf);
        if (!c->thash) return DK_ERR_NOMEM;
        c->thashed = 0;
    }
    DK_TRY(dk_hash_update(c->thash, c->transcript + c->thashed, len - c->thashed));
    c->thashed = len;
    return dk_hash_peek(c->thash, out);
}

/* ---- public API --------------------------------------------------------- */

dk_result dk_conn_set_server_name(dk_conn *c, const char *name)
{
    if (!c || !name || strlen(name) > 255) return DK_ERR_INVALID_ARG;
    return dk_conn_set_str(&c->server_name, name, strlen(name));
}

dk_result dk_conn_connect(dk_conn *c, uint64_t now_ms)
{
    if (!c || c->role != DK_ROLE_CLIENT) return DK_ERR_INVALID_ARG;
    if (c->fl_state != DK_FL_PREPARING || c->state != DK_STATE_HANDSHAKING) return DK_ERR_STATE;
    c->now = now_ms;
    return dk_client_start(c);
}

dk_result dk_conn_receive(dk_conn *c, uint8_t *datagram, size_t len, uint64_t now_ms)
{
    if (!c || (!datagram && len)) return DK_ERR_INVALID_ARG;
    c->now = now_ms;
    c->rx_app_n = c->rx_app_i = 0;
    c->rx_base = datagram;
    if (c->state == DK_STATE_FAILED) return c->error;
    c->stats.datagrams_in++;
    return dk_recv_datagram(c, datagram, len);
}

dk_result dk_conn_poll_datagram(dk_conn *c, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!c || !out || !out_len) return DK_ERR_INVALID_ARG;
    if (c->outq_off >= c->outq_len) return DK_ERR_WOULD_BLOCK;
    size_t n = dk_load_u16(c->outq + c->outq_off);
    if (n > cap) return DK_ERR_BUFFER_TOO_SMALL;
    memcpy(out, c->outq + c->outq_off + 2, n);
    c->outq_off += 2 + n;
    if (c->outq_off == c->outq_len) {
        c->outq_off = c->outq_len = 0;
        /* An idle established connection holds no output buffer (issue 5:
         * no per-connection I/O buffers); dk_conn_write_datagram avoids the
         * queue altogether. */
        dk_outq_trim(c);
    }
    *out_len = n;
    c->stats.datagrams_out++;
    return DK_OK;
}

uint64_t dk_conn_next_timeout(const dk_conn *c) { return c ? c->timer_deadline : UINT64_MAX; }

dk_result dk_conn_handle_timeout(dk_conn *c, uint64_t now_ms)
{
    if (!c) return DK_ERR_INVALID_ARG;
    c->now = now_ms;
    if (c->timer_deadline == UINT64_MAX || now_ms < c->timer_deadline) return DK_OK;
    return dk_on_timer(c, now_ms);
}

size_t dk_conn_data_mtu(const dk_conn *c)
{
    if (!c || !c->suite) return 0;
    size_t overhead = DK_RECORD_HEADER_LEN + (size_t)(c->suite->fixed_iv_len == 4 ? 8 : 0) +
                      dk_aead_tag_len(c->suite->aead);
    size_t m = c->cfg->mtu > overhead ? c->cfg->mtu - overhead : 0;
    return DK_MIN(m, (size_t)DK_MAX_PLAINTEXT);
}

dk_result dk_conn_write(dk_conn *c, const uint8_t *data, size_t len)
{
    if (!c || (!data && len)) return DK_ERR_INVALID_ARG;
    if (c->state != DK_STATE_ESTABLISHED) return c->state == DK_STATE_FAILED ? c->error : DK_ERR_STATE;
    if (len > dk_conn_data_mtu(c)) return DK_ERR_TOO_LARGE;
    return dk_send_record(c, DK_CT_APPLICATION_DATA, data, len);
}

dk_result dk_conn_write_datagram(dk_conn *c, const uint8_t *data, size_t len, uint8_t *out,
                                 size_t cap, size_t *out_len)
{
    if (!c || (!data && len) || !out || !out_len) return DK_ERR_INVALID_ARG;
    if (c->state != DK_STATE_ESTABLISHED) return c->state == DK_STATE_FAILED ? c->error : DK_ERR_STATE;
    if (len > dk_conn_data_mtu(c)) return DK_ERR_TOO_LARGE;
    DK_TRY(dk_seal_record(c, DK_CT_APPLICATION_DATA, data, len, out, cap, out_len));
    c->stats.datagrams_out++;
    return DK_OK;
}

/* Nothing (more) to read: why. */
static dk_result read_none(const dk_conn *c)
{
    if (c->close_received) return DK_ERR_CLOSED;
    if (c->state == DK_STATE_FAILED) return c->error;
    return DK_ERR_WOULD_BLOCK;
}

dk_result dk_conn_read(dk_conn *c, uint8_t *out, size_t cap, size_t *out_len)
{
    if (!c || !out_len || (!out && cap)) return DK_ERR_INVALID_ARG;
    if (c->rx_app_i < c->rx_app_n) {
        dk_app_slice *s = &c->rx_app[c->rx_app_i];
        if (s->len > cap) return DK_ERR_BUFFER_TOO_SMALL;
        if (s->len) memmove(out, c->rx_base + s->off, s->len); /* out may be the datagram */
        *out_len = s->len;
        c->rx_app_i++;
        return DK_OK;
    }
    return read_none(c);
}

dk_result dk_conn_read_view(dk_conn *c, const uint8_t **data, size_t *len)
{
    if (!c || !data || !len) return DK_ERR_INVALID_ARG;
    if (c->rx_app_i < c->rx_app_n) {
        const dk_app_slice *s = &c->rx_app[c->rx_app_i++];
        *data = c->rx_base + s->off;
        *len = s->len;
        return DK_OK;
    }
    return read_none(c);
}

dk_result dk_conn_close(dk_conn *c)
{
    if (!c) return DK_ERR_INVALID_ARG;
    if (c->state == DK_STATE_CLOSED || c->state == DK_STATE_FAILED) return DK_OK;
    dk_send_alert(c, DK_ALERT_WARNING, DK_AD_CLOSE_NOTIFY);
    c->state = DK_STATE_CLOSED;
    c->timer_deadline = UINT64_MAX;
    dk_conn_free_handshake(c);
    return DK_OK;
}

dk_state dk_conn_state(const dk_conn *c) { return c ? c->state : DK_STATE_FAILED; }
dk_result dk_conn_error(const dk_conn *c) { return c ? c->error : DK_ERR_INVALID_ARG; }

const char *dk_conn_error_reason(const dk_conn *c)
{
    if (!c) return dk_strerror(DK_ERR_INVALID_ARG);
    if (c->reason) return c->reason;
    return dk_strerror(c->error);
}

dk_result dk_conn_get_info(const dk_conn *c, dk_conn_info *info)
{
    if (!c || !info) return DK_ERR_INVALID_ARG;
    if (!c->suite) return DK_ERR_STATE;
    memset(info, 0, sizeof *info);
    info->version = DK_DTLS12;
    info->cipher_suite = c->suite->id;
    info->cipher_name = c->suite->iana_name;
    info->group = c->group;
    info->sig_scheme = c->peer_sig_scheme;
    info->ems = c->ems;
    info->peer_authenticated = c->peer_authenticated;
    info->data_mtu = dk_conn_data_mtu(c);
    snprintf(info->peer_identity, sizeof info->peer_identity, "%s", dk_str(c->peer_identity));
    snprintf(info->server_name, sizeof info->server_name, "%s", dk_str(c->server_name));
    return DK_OK;
}

dk_result dk_conn_export_keying_material(const dk_conn *c, const char *label,
                                         const uint8_t *context, size_t ctx_len, bool use_context,
                                         uint8_t *out, size_t out_len)
{
    if (!c || !label || !out || (use_context && ctx_len > 0xFFFF)) return DK_ERR_INVALID_ARG;
    if (c->state != DK_STATE_ESTABLISHED || !c->have_master) return DK_ERR_STATE;
    return dk_export_keying_material(c->suite->prf, c->master, c->client_random, c->server_random,
                                     label, context, ctx_len, use_context, out, out_len);
}

void dk_conn_get_stats(const dk_conn *c, dk_conn_stats *st)
{
    if (c && st) *st = c->stats;
}

void dk_conn_set_trace(dk_conn *c, dk_trace_fn fn, void *arg)
{
    if (!c) return;
    c->trace = fn;
    c->trace_arg = arg;
}
