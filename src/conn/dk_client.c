/* Client actions: ClientHello (with and without cookie), the server's
 * flight, our key exchange flight and the server's Finished. */
#include <stdio.h>
#include <string.h>

#include "conn/dk_sm_int.h"

#define RENEGOTIATION_SCSV 0x00FF

static bool have_psk(const dk_config *cfg) { return cfg->psk && cfg->psk_len; }
static bool can_verify(const dk_config *cfg) { return cfg->trust || cfg->n_pins || cfg->insecure; }

/* Suites we offer: PSK ones with a PSK; certificate ones unless we hold a
 * PSK and no way to verify a certificate (then they could only fail). */
static size_t offered_suites(const dk_config *cfg, uint16_t *out)
{
    size_t n_all, n = 0;
    const dk_suite *const *all = dk_suites_all(&n_all);
    uint16_t pref[DK_MAX_SUITES + 16];
    size_t np = 0;
    if (cfg->n_suites) {
        memcpy(pref, cfg->suites, cfg->n_suites * sizeof *pref);
        np = cfg->n_suites;
    } else {
        for (size_t i = 0; i < n_all && np < DK_ARRAY_LEN(pref); i++) pref[np++] = all[i]->id;
    }
    for (size_t i = 0; i < np; i++) {
        const dk_suite *s = dk_suite_by_id(pref[i]);
        if (!s) continue;
        bool psk_suite = s->auth == DK_AUTH_PSK;
        if (psk_suite && !have_psk(cfg)) continue;
        if (!psk_suite && have_psk(cfg) && !can_verify(cfg)) continue;
        out[n++] = s->id;
    }
    return n;
}

static bool offers_ecdhe(const uint16_t *suites, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (dk_suite_by_id(suites[i])->kx != DK_KX_PSK) return true;
    return false;
}

static bool is_ip_literal(const char *s)
{
    if (strchr(s, ':')) return true;
    for (; *s; s++)
        if ((*s < '0' || *s > '9') && *s != '.') return false;
    return true;
}

static dk_result send_client_hello(dk_conn *c)
{
    uint16_t suites[DK_MAX_SUITES + 16];
    size_t n = offered_suites(c->cfg, suites);
    if (n == 0)
        return dk_conn_fail(c, DK_ERR_CONFIG, -1, "no cipher suite usable with this configuration");
    suites[n++] = RENEGOTIATION_SCSV;
    dk_client_hello_out ch = {0};
    ch.version = DK_DTLS12;
    ch.random = c->client_random;
    ch.cookie = c->cookie;
    ch.cookie_len = c->cookie_len;
    ch.suites = suites;
    ch.n_suites = n;
    if (offers_ecdhe(suites, n - 1)) {
        ch.groups = c->cfg->groups;
        ch.n_groups = c->cfg->n_groups;
    }
    ch.sig_algs = c->cfg->sig_algs;
    ch.n_sig_algs = c->cfg->n_sig_algs;
    ch.server_name = c->server_name && c->server_name[0] && !is_ip_literal(c->server_name)
                         ? c->server_name
                         : NULL;
    ch.ems = true;
    uint8_t body[1024];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    dk_client_hello_write(&w, &ch);
    DK_TRY(dk_writer_status(&w));
    dk_flight_begin(c);
    c->tlen = 0; /* R15: an earlier ClientHello and the HelloVerifyRequest are not hashed */
    dk_hash_free(c->thash);
    c->thash = NULL;
    c->thashed = 0;
    c->next_recv_seq = c->send_seq; /* R6: the server's ServerHello echoes our message_seq */
    c->peer_flight_lo = c->peer_prev_flight_lo = c->next_recv_seq;
    c->rebase_lo = c->rebase_hi = 0;
    DK_TRY(dk_flight_add(c, DK_HT_CLIENT_HELLO, body, w.off));
    return dk_flight_send(c, false);
}

dk_result dk_client_start(dk_conn *c)
{
    DK_TRY(dk_cfg_random_public(c->cfg, c->client_random, sizeof c->client_random));
    c->hs = C_WAIT_SH;
    return send_client_hello(c);
}

/* RFC 6347 4.2.1: answer each HelloVerifyRequest with a new ClientHello
 * carrying its cookie and the same parameters (R8), with message_seq + 1
 * (R1, R12). T26: an HVR after ServerHello is ignored; HVR version 1.0 and
 * 1.2 are both accepted (R9); its message_seq need not echo ours. T20: the
 * epoch-0 replay state restarts, so a spoofed HVR with a huge record number
 * cannot stall the handshake. */
dk_result dk_client_on_hvr(dk_conn *c, const uint8_t *body, size_t len)
{
    if (c->hs != C_WAIT_SH || c->got_server_hello) return DK_DISCARD;
    dk_reader r;
    dk_reader_init(&r, body, len);
    dk_hello_verify hv;
    if (dk_hello_verify_read(&r, &hv) != DK_OK) return DK_DISCARD;
    if (hv.version != DK_DTLS10 && hv.version != DK_DTLS12) return DK_DISCARD;
    if (hv.cookie_len == c->cookie_len &&
        (hv.cookie_len == 0 || memcmp(hv.cookie, c->cookie, hv.cookie_len) == 0))
        return DK_DISCARD; /* a duplicate of the HVR we already answered */
    if (++c->hvr_count > DK_MAX_HVR) return DK_DISCARD;
    if (!c->cookie && !(c->cookie = dk_malloc(255))) return DK_ERR_NOMEM;
    memcpy(c->cookie, hv.cookie, hv.cookie_len);
    c->cookie_len = hv.cookie_len;
    dk_conn_tracef(c, "recv HelloVerifyRequest cookie_len=%u", hv.cookie_len);
    dk_replay_init(&c->replay[0], c->cfg->replay_window);
    dk_reasm_reset(c->reasm);
    return send_client_hello(c);
}

static bool suite_offered(const dk_conn *c, uint16_t id)
{
    uint16_t suites[DK_MAX_SUITES + 16];
    size_t n = offered_suites(c->cfg, suites);
    for (size_t i = 0; i < n; i++)
        if (suites[i] == id) return true;
    return false;
}

static dk_result fail_decode(dk_conn *c, dk_result r, const char *what)
{
    int alert = r == DK_ERR_DECODE ? DK_AD_DECODE_ERROR : DK_AD_ILLEGAL_PARAMETER;
    return dk_conn_fail(c, r == DK_ERR_DECODE ? DK_ERR_DECODE : DK_ERR_HANDSHAKE, alert,
                        "malformed %s from peer", what);
}

dk_result dk_cli_server_hello(dk_conn *c, const dk_msg *m)
{
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_server_hello sh;
    dk_result rc = dk_server_hello_read(&r, &sh);
    if (rc != DK_OK) return fail_decode(c, rc, "ServerHello");
    if (sh.version != DK_DTLS12)
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_PROTOCOL_VERSION,
                            "server chose version 0x%04x; only DTLS 1.2 is supported", sh.version);
    if (!suite_offered(c, sh.suite))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_ILLEGAL_PARAMETER,
                            "server chose cipher suite 0x%04x, which we did not offer", sh.suite);
    /* RFC 5246 7.4.1.4: a ServerHello extension the client did not offer
     * makes the client "abort the handshake with an unsupported_extension
     * fatal alert". (renegotiation_info answers our SCSV, RFC 5746 3.4.) */
    bool sent_sni = c->server_name && c->server_name[0] && !is_ip_literal(c->server_name);
    if (sh.exts.unknown || sh.exts.present_groups || sh.exts.present_sig_algs ||
        (sh.exts.present_server_name && !sent_sni))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_UNSUPPORTED_EXTENSION,
                            "server sent an extension we did not offer (type %u)",
                            sh.exts.unknown ? sh.exts.unknown_type
                            : sh.exts.present_groups ? DK_EXT_SUPPORTED_GROUPS
                            : sh.exts.present_sig_algs ? DK_EXT_SIGNATURE_ALGORITHMS
                                                        : DK_EXT_SERVER_NAME);
    if (sh.exts.present_reneg_info && sh.exts.reneg_info_len != 0)
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_HANDSHAKE_FAILURE,
                            "server sent a non-empty renegotiation_info");
    c->ems = sh.exts.ems;
    if (!c->ems && c->cfg->require_ems)
        return dk_conn_fail(c, DK_ERR_EMS_REQUIRED, DK_AD_HANDSHAKE_FAILURE,
                            "server does not support extended master secret (RFC 7627)");
    c->suite = dk_suite_by_id(sh.suite);
    memcpy(c->server_random, sh.random, 32);
    c->got_server_hello = true;
    if (c->suite->auth == DK_AUTH_PSK) {
        c->psk = dk_malloc(c->cfg->psk_len);
        if (!c->psk) return DK_ERR_NOMEM;
        memcpy(c->psk, c->cfg->psk, c->cfg->psk_len);
        c->psk_len = c->cfg->psk_len;
        DK_TRY(dk_conn_set_str(&c->peer_identity, "psk", 3));
    }
    return DK_OK;
}

dk_result dk_cli_certificate(dk_conn *c, const dk_msg *m)
{
    dk_certificate cert;
    DK_TRY(dk_read_peer_certificate(c, m, &cert));
    if (cert.n == 0)
        return dk_conn_fail(c, DK_ERR_CERT, DK_AD_DECODE_ERROR, "server sent no certificate");
    return dk_verify_peer_chain(c, &cert);
}

static bool group_offered(const dk_conn *c, uint16_t g)
{
    for (size_t i = 0; i < c->cfg->n_groups; i++)
        if (c->cfg->groups[i] == g) return true;
    return false;
}

static dk_result check_ske_signature(dk_conn *c, const dk_server_key_exchange *ske)
{
    const dk_config *cfg = c->cfg;
    bool offered = false;
    for (size_t i = 0; i < cfg->n_sig_algs; i++) offered |= cfg->sig_algs[i] == ske->sig_scheme;
    if (!offered || !dk_pkey_can_sign_scheme(c->peer_key, ske->sig_scheme))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_ILLEGAL_PARAMETER,
                            "server signed with scheme 0x%04x, not offered or not its key's",
                            ske->sig_scheme);
    uint8_t msg[64 + 4 + 133];
    if (ske->params_len > sizeof msg - 64) return DK_ERR_INTERNAL;
    memcpy(msg, c->client_random, 32);
    memcpy(msg + 32, c->server_random, 32);
    memcpy(msg + 64, ske->params, ske->params_len);
    if (dk_verify(c->peer_key, ske->sig_scheme, msg, 64 + ske->params_len, ske->sig, ske->sig_len) !=
        DK_OK)
        return dk_conn_fail(c, DK_ERR_SIGNATURE, DK_AD_DECRYPT_ERROR,
                            "ServerKeyExchange signature does not verify");
    c->peer_sig_scheme = ske->sig_scheme;
    c->peer_authenticated = true;
    return DK_OK;
}

dk_result dk_cli_key_exchange(dk_conn *c, const dk_msg *m)
{
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_server_key_exchange ske;
    dk_result rc = dk_server_key_exchange_read(&r, c->suite->kx, &ske);
    if (rc != DK_OK) return fail_decode(c, rc, "ServerKeyExchange");
    if (c->suite->kx == DK_KX_PSK) return DK_OK; /* only an identity hint */
    if (!group_offered(c, ske.group))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_ILLEGAL_PARAMETER,
                            "server chose group %u, which we did not offer", ske.group);
    if (c->suite->kx == DK_KX_ECDHE_SIGN) DK_TRY(check_ske_signature(c, &ske));
    if (c->suite->kx == DK_KX_ECDHE_PSK) c->peer_authenticated = true; /* by the PSK */
    if (!c->peer_point && !(c->peer_point = dk_malloc(255))) return DK_ERR_NOMEM;
    memcpy(c->peer_point, ske.point, ske.point_len);
    c->peer_point_len = ske.point_len;
    c->group = ske.group;
    return DK_OK;
}

dk_result dk_cli_cert_request(dk_conn *c, const dk_msg *m)
{
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_certificate_request cr;
    dk_result rc = dk_certificate_request_read(&r, &cr);
    if (rc != DK_OK) return fail_decode(c, rc, "CertificateRequest");
    c->cert_requested = true;
    if (c->cfg->chain.n && c->cfg->key)
        c->client_cert_scheme = dk_pick_sig_scheme(c->cfg->key, cr.sig_algs, cr.sig_algs_len);
    return DK_OK;
}

static dk_result add_client_certificate(dk_conn *c)
{
    uint8_t *body = NULL;
    size_t cap = 3;
    const dk_chain *ch = &c->cfg->chain;
    bool send = c->client_cert_scheme != 0;
    for (size_t i = 0; send && i < ch->n; i++) cap += 3 + ch->len[i];
    body = dk_malloc(cap);
    if (!body) return DK_ERR_NOMEM;
    dk_writer w;
    dk_writer_init(&w, body, cap);
    dk_certificate_write(&w, (const uint8_t *const *)ch->der, ch->len, send ? ch->n : 0);
    dk_result r = dk_writer_status(&w);
    if (r == DK_OK) r = dk_flight_add(c, DK_HT_CERTIFICATE, body, w.off);
    dk_free(body);
    return r;
}

static dk_result add_key_exchange(dk_conn *c, uint8_t *pms, size_t *pms_len)
{
    dk_client_key_exchange cke = {0};
    uint8_t point[133];
    size_t plen = 0;
    if (c->suite->kx != DK_KX_PSK) {
        DK_TRY(dk_kex_start(c, c->group));
        DK_TRY(dk_kex_public(c->kex, point, sizeof point, &plen));
        cke.point = point;
        cke.point_len = (uint8_t)plen;
    }
    if (c->suite->auth == DK_AUTH_PSK) {
        cke.identity = c->cfg->psk_id;
        cke.identity_len = (uint16_t)c->cfg->psk_id_len;
    }
    DK_TRY(dk_premaster(c, c->peer_point, c->peer_point_len, pms, 600, pms_len));
    dk_writer w;
    DK_TRY(dk_flight_begin_msg(c, 2 + (size_t)cke.identity_len + 1 + cke.point_len, &w));
    dk_client_key_exchange_write(&w, c->suite->kx, &cke);
    return dk_flight_commit(c, DK_HT_CLIENT_KEY_EXCHANGE, &w);
}

/* RFC 5246 7.4.8: the signature covers all handshake messages so far. */
static dk_result add_cert_verify(dk_conn *c)
{
    uint8_t sig[1024];
    size_t sig_len;
    DK_TRY(dk_sign(c->cfg->key, c->client_cert_scheme, c->transcript, c->tlen, sig, sizeof sig,
                   &sig_len));
    dk_certificate_verify cv = {c->client_cert_scheme, sig, (uint16_t)sig_len};
    uint8_t body[1100];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    dk_certificate_verify_write(&w, &cv);
    DK_TRY(dk_writer_status(&w));
    return dk_flight_add(c, DK_HT_CERTIFICATE_VERIFY, body, w.off);
}

dk_result dk_cli_hello_done(dk_conn *c, const dk_msg *m)
{
    DK_TRY(m->len == 0 ? DK_OK : fail_decode(c, DK_ERR_DECODE, "ServerHelloDone"));
    if (c->suite->kx == DK_KX_ECDHE_SIGN && !c->peer_authenticated)
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_UNEXPECTED_MESSAGE,
                            "ServerHelloDone before ServerKeyExchange");
    dk_flight_begin(c);
    if (c->cert_requested) DK_TRY(add_client_certificate(c));
    uint8_t pms[600];
    size_t pms_len = 0;
    dk_result r = add_key_exchange(c, pms, &pms_len);
    if (r == DK_OK) r = dk_derive_keys(c, pms, pms_len, c->tlen);
    dk_wipe(pms, sizeof pms);
    DK_TRY(r);
    if (c->cert_requested && c->client_cert_scheme) DK_TRY(add_cert_verify(c));
    DK_TRY(dk_flight_add_ccs(c));
    uint8_t vd[DK_VERIFY_DATA_LEN];
    DK_TRY(dk_finished_compute(c, true, c->tlen, vd));
    DK_TRY(dk_flight_add(c, DK_HT_FINISHED, vd, sizeof vd));
    return dk_flight_send(c, false);
}

dk_result dk_cli_finished(dk_conn *c, const dk_msg *m)
{
    uint8_t want[DK_VERIFY_DATA_LEN];
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    const uint8_t *vd;
    if (dk_finished_read(&r, &vd) != DK_OK) return fail_decode(c, DK_ERR_DECODE, "Finished");
    DK_TRY(dk_finished_compute(c, false, m->transcript_before, want));
    if (!dk_ct_equal(vd, want, sizeof want))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_DECRYPT_ERROR,
                            "server Finished does not verify");
    c->fl_state = DK_FL_FINISHED;
    c->timer_deadline = UINT64_MAX;
    c->hs = C_DONE;
    dk_flight_free(c);
    dk_conn_established(c);
    return DK_OK;
}
