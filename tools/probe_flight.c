/* The probe client's second flight: Certificate, ClientKeyExchange,
 * CertificateVerify, ChangeCipherSpec and Finished, computed once per server
 * flight and then sent whole, piecemeal, twice, out of order or damaged as a
 * scenario asks. Also application data and alerts. */
#include <stdlib.h>
#include <string.h>

#include "probe_cli.h"

static int find_base(const pr_cli *c, uint16_t sh_ms)
{
    for (size_t i = c->n_ch; i-- > 0;)
        if (c->ch[i].ms == sh_ms) return (int)i;
    return c->n_ch ? (int)c->n_ch - 1 : -1;
}

static bool tr_srv(pr_cli *c, int which, uint8_t type)
{
    const pr_srv_msg *m = &c->srv[which];
    return !m->have || pr_tr_add(&c->tr, type, m->ms, m->body, m->len);
}

/* Client hello, then the server's flight, as the transcript wants them. */
static bool transcript_start(pr_cli *c)
{
    const pr_ch_sent *h = &c->ch[c->base];
    pr_tr_free(&c->tr);
    return pr_tr_add(&c->tr, DK_HT_CLIENT_HELLO, h->ms, h->body, h->len) &&
           tr_srv(c, PR_SM_SH, DK_HT_SERVER_HELLO) && tr_srv(c, PR_SM_CERT, DK_HT_CERTIFICATE) &&
           tr_srv(c, PR_SM_SKE, DK_HT_SERVER_KEY_EXCHANGE) &&
           tr_srv(c, PR_SM_CR, DK_HT_CERTIFICATE_REQUEST) &&
           tr_srv(c, PR_SM_SHD, DK_HT_SERVER_HELLO_DONE);
}

static bool read_hello(pr_cli *c, char *err, size_t errcap)
{
    const pr_srv_msg *m = &c->srv[PR_SM_SH];
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_server_hello sh;
    if (dk_server_hello_read(&r, &sh) != DK_OK) {
        snprintf(err, errcap, "malformed ServerHello");
        return false;
    }
    c->suite = dk_suite_by_id(sh.suite);
    if (!c->suite) {
        snprintf(err, errcap, "server chose cipher suite 0x%04x, not offered", sh.suite);
        return false;
    }
    c->ems = sh.exts.ems;
    c->base = find_base(c, m->ms);
    return c->base >= 0;
}

static bool ecdhe_secret(pr_cli *c, uint8_t *z, size_t *zlen, dk_client_key_exchange *cke,
                         uint8_t *pub, char *err, size_t errcap)
{
    const pr_srv_msg *m = &c->srv[PR_SM_SKE];
    dk_server_key_exchange ske;
    dk_reader r;
    if (!m->have) {
        snprintf(err, errcap, "no ServerKeyExchange");
        return false;
    }
    dk_reader_init(&r, m->body, m->len);
    if (dk_server_key_exchange_read(&r, c->suite->kx, &ske) != DK_OK) {
        snprintf(err, errcap, "malformed ServerKeyExchange");
        return false;
    }
    dk_kex *k = dk_kex_new(ske.group, NULL, 0);
    size_t plen = 0;
    bool ok = k && dk_kex_public(k, pub, 133, &plen) == DK_OK &&
              dk_kex_derive(k, ske.point, ske.point_len, z, 66, zlen) == DK_OK;
    dk_kex_free(k);
    if (!ok) snprintf(err, errcap, "ECDHE with group %u failed", ske.group);
    cke->point = pub;
    cke->point_len = (uint8_t)plen;
    return ok;
}

static bool make_cke(pr_cli *c, uint8_t *pms, size_t *pms_len, char *err, size_t errcap)
{
    dk_client_key_exchange cke = {0};
    uint8_t z[66], pub[133];
    size_t zlen = 0;
    dk_kx_kind kx = c->suite->kx;
    if (kx != DK_KX_PSK && !ecdhe_secret(c, z, &zlen, &cke, pub, err, errcap)) return false;
    if (c->suite->auth == DK_AUTH_PSK) {
        cke.identity = (const uint8_t *)(c->o->psk_identity ? c->o->psk_identity : "");
        cke.identity_len = (uint16_t)strlen((const char *)cke.identity);
    }
    bool ok;
    if (kx == DK_KX_ECDHE_SIGN) {
        memcpy(pms, z, zlen);
        *pms_len = zlen;
        ok = true;
    } else {
        ok = dk_psk_premaster(z, zlen, kx == DK_KX_PSK, c->o->psk, c->o->psk_len, pms, 600,
                              pms_len) == DK_OK;
    }
    dk_writer w;
    dk_writer_init(&w, c->cke, sizeof c->cke);
    dk_client_key_exchange_write(&w, kx, &cke);
    c->cke_len = w.off;
    return ok && dk_writer_status(&w) == DK_OK;
}

static bool make_cert(pr_cli *c)
{
    size_t cap = 3;
    for (size_t i = 0; i < c->chain.n; i++) cap += 3 + c->chain.len[i];
    free(c->cert_body);
    c->cert_body = malloc(cap);
    if (!c->cert_body) return false;
    dk_writer w;
    dk_writer_init(&w, c->cert_body, cap);
    dk_certificate_write(&w, (const uint8_t *const *)c->chain.der, c->chain.len, c->chain.n);
    c->cert_len = w.off;
    return dk_writer_status(&w) == DK_OK;
}

static uint16_t cv_scheme(const pr_cli *c)
{
    const pr_srv_msg *m = &c->srv[PR_SM_CR];
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_certificate_request cr;
    if (dk_certificate_request_read(&r, &cr) != DK_OK) return 0;
    for (size_t i = 0; i + 1 < cr.sig_algs_len; i += 2) {
        uint16_t s = dk_load_u16(cr.sig_algs + i);
        if (dk_pkey_can_sign_scheme(c->key, s)) return s;
    }
    return 0;
}

/* RFC 5246 7.4.8: the signature covers every handshake message so far. */
static bool make_cv(pr_cli *c)
{
    uint16_t scheme = cv_scheme(c);
    uint8_t sig[1024];
    size_t sig_len;
    if (!scheme || dk_sign(c->key, scheme, c->tr.p, c->tr.len, sig, sizeof sig, &sig_len) != DK_OK)
        return false;
    dk_certificate_verify cv = {scheme, sig, (uint16_t)sig_len};
    dk_writer w;
    dk_writer_init(&w, c->cv, sizeof c->cv);
    dk_certificate_verify_write(&w, &cv);
    c->cv_len = w.off;
    return dk_writer_status(&w) == DK_OK;
}

static bool prepare_tail(pr_cli *c, uint16_t m, char *err, size_t errcap)
{
    uint8_t pms[600];
    size_t pms_len = 0;
    if (!make_cke(c, pms, &pms_len, err, errcap)) return false;
    c->ms_cke = m++;
    bool ok = pr_tr_add(&c->tr, DK_HT_CLIENT_KEY_EXCHANGE, c->ms_cke, c->cke, c->cke_len) &&
              pr_derive(c->w, c->suite, c->ems, &c->tr, pms, pms_len, c->ch[c->base].body + 2,
                        c->sh_random, c->master, true);
    dk_wipe(pms, sizeof pms);
    if (!ok) {
        snprintf(err, errcap, "key derivation failed");
        return false;
    }
    c->cv_len = 0;
    if (c->srv[PR_SM_CR].have && c->key && c->chain.n) {
        if (!make_cv(c)) {
            snprintf(err, errcap, "cannot sign CertificateVerify");
            return false;
        }
        c->ms_cv = m++;
        if (!pr_tr_add(&c->tr, DK_HT_CERTIFICATE_VERIFY, c->ms_cv, c->cv, c->cv_len)) return false;
    }
    c->ms_fin = m;
    return pr_finished(c->suite, c->master, true, &c->tr, c->fin) &&
           pr_tr_add(&c->tr, DK_HT_FINISHED, c->ms_fin, c->fin, 12);
}

bool pr_cli_prepare(pr_cli *c, char *err, size_t errcap)
{
    if (c->prepared) return true;
    if (!pr_cli_flight_ready(c)) {
        snprintf(err, errcap, "no complete ServerHello ... ServerHelloDone flight to answer");
        return false;
    }
    if (!read_hello(c, err, errcap)) return false;
    if (!transcript_start(c)) return false;
    uint16_t m = (uint16_t)(c->ch[c->base].ms + 1);
    if (c->srv[PR_SM_CR].have) {
        if (!make_cert(c)) return false;
        c->ms_cert = m++;
        if (!pr_tr_add(&c->tr, DK_HT_CERTIFICATE, c->ms_cert, c->cert_body, c->cert_len))
            return false;
    }
    if (!prepare_tail(c, m, err, errcap)) return false;
    c->prepared = true;
    return true;
}

/* ---- sending our flight ------------------------------------------------------- */

/* T12: handshake fragments that are invalid on their own or disagree. */
static bool send_bad_fragments(pr_cli *c, uint8_t type, uint16_t ms, const uint8_t *body,
                               uint32_t L, uint32_t mut, uint16_t epoch)
{
    uint8_t rec[2048];
    size_t n;
    if (mut & PR_MUT_OVERLEN) { /* offset + length beyond the message */
        n = pr_hs_bytes(rec, sizeof rec, type, L, ms, L - 4, 4, body);
        dk_store_u24(rec + 9, 8);
        memset(rec + n, 0, 4);
        return pr_send_record(c->w, DK_CT_HANDSHAKE, epoch, UINT64_MAX, true, rec, n + 4);
    }
    if (mut & PR_MUT_SHORT) { /* fragment_length beyond the record */
        n = pr_hs_bytes(rec, sizeof rec, type, L, ms, 0, L, body);
        return pr_send_record(c->w, DK_CT_HANDSHAKE, epoch, UINT64_MAX, true, rec, n - 10);
    }
    uint32_t h = L / 2;
    n = pr_hs_bytes(rec, sizeof rec, type, L, ms, 0, h, body);
    if (!pr_send_record(c->w, DK_CT_HANDSHAKE, epoch, UINT64_MAX, true, rec, n)) return false;
    uint32_t L2 = (mut & PR_MUT_LENDIS) ? L + 7 : L;
    uint16_t ms2 = (mut & PR_MUT_MSDIS) ? (uint16_t)(ms + 5) : ms;
    n = pr_hs_bytes(rec, sizeof rec, type, L, ms2, h, L - h, body);
    dk_store_u24(rec + 1, L2);
    return pr_send_record(c->w, DK_CT_HANDSHAKE, epoch, UINT64_MAX, true, rec, n);
}

static bool msg_body(pr_cli *c, uint8_t type, const uint8_t **body, size_t *len, uint16_t *ms)
{
    switch (type) {
    case DK_HT_CERTIFICATE:
        if (!c->cert_body && !make_cert(c)) return false;
        *body = c->cert_body, *len = c->cert_len, *ms = c->ms_cert;
        if (!c->srv[PR_SM_CR].have) *ms = c->ms_cke;
        return true;
    case DK_HT_CLIENT_KEY_EXCHANGE: *body = c->cke, *len = c->cke_len, *ms = c->ms_cke; return true;
    case DK_HT_CERTIFICATE_VERIFY: *body = c->cv, *len = c->cv_len, *ms = c->ms_cv; return c->cv_len;
    case DK_HT_FINISHED: *body = c->fin, *len = 12, *ms = c->ms_fin; return true;
    default: return false;
    }
}

bool pr_cli_send_msg(pr_cli *c, uint8_t type, const pr_step *st)
{
    pr_wire *w = c->w;
    uint16_t epoch = st->epoch_set ? st->epoch : w->wepoch;
    uint64_t rs = st->rs_set ? st->rs : UINT64_MAX;
    if ((st->mut & PR_MUT_RSCH) && c->base >= 0) rs = c->ch[c->base].rs;
    bool plain = (st->mut & PR_MUT_PLAIN) != 0;
    if (type == PR_T_CCS) {
        static const uint8_t one = 1;
        pr_vlog(w, "send ChangeCipherSpec epoch=%u", epoch);
        bool ok = pr_send_record(w, DK_CT_CHANGE_CIPHER_SPEC, epoch, rs, plain, &one, 1);
        w->wepoch = 1;
        return ok;
    }
    const uint8_t *body;
    size_t len;
    uint16_t ms;
    if (!msg_body(c, type, &body, &len, &ms)) return false;
    if (st->ms_set) ms = st->ms_rel && c->base >= 0 ? (uint16_t)(c->ch[c->base].ms + st->ms) : st->ms;
    pr_vlog(w, "send %s ms=%u epoch=%u%s", pr_hs_name(type), ms, epoch, plain ? " (plaintext)" : "");
    if (st->mut & (PR_MUT_OVERLEN | PR_MUT_SHORT | PR_MUT_LENDIS | PR_MUT_MSDIS))
        return send_bad_fragments(c, type, ms, body, (uint32_t)len, st->mut, epoch);
    uint8_t rec[PR_DG_MAX];
    size_t n = pr_hs_bytes(rec, sizeof rec, type, (uint32_t)len, ms, 0, (uint32_t)len, body);
    return n && pr_send_record(w, DK_CT_HANDSHAKE, epoch, rs, plain, rec, n);
}

bool pr_cli_send_flight(pr_cli *c)
{
    pr_step none = {0};
    c->w->wepoch = 0;
    pr_wire_flight_begin(c->w);
    bool ok = true;
    if (c->srv[PR_SM_CR].have) ok &= pr_cli_send_msg(c, DK_HT_CERTIFICATE, &none);
    ok &= pr_cli_send_msg(c, DK_HT_CLIENT_KEY_EXCHANGE, &none);
    if (c->cv_len) ok &= pr_cli_send_msg(c, DK_HT_CERTIFICATE_VERIFY, &none);
    ok &= pr_cli_send_msg(c, PR_T_CCS, &none);
    ok &= pr_cli_send_msg(c, DK_HT_FINISHED, &none);
    c->w->flight_open = false;
    return ok;
}

/* A protected record damaged on purpose: it never advances our sequence. */
static bool send_damaged(pr_cli *c, uint8_t ct, uint64_t rs, const uint8_t *pt, size_t len,
                         uint32_t mut)
{
    pr_wire *w = c->w;
    uint8_t dg[PR_DG_MAX];
    size_t n;
    if (!w->keys.ready ||
        dk_record_seal(&w->keys.w, ct, DK_DTLS12, 1, rs, pt, len, dg, sizeof dg, &n) != DK_OK)
        return false;
    if (mut & PR_MUT_FLIP) dg[n - 5] ^= 0x10;
    if (mut & PR_MUT_BADMAC && dk_random_bytes(dg + DK_RECORD_HEADER_LEN, n - DK_RECORD_HEADER_LEN))
        return false;
    return pr_send_datagram(w, dg, n);
}

/* T24: the saved association's keys and epoch-1 sequence for one record. */
static void swap_assoc(pr_wire *w)
{
    pr_keys t = w->keys;
    w->keys = w->old;
    w->old = t;
    uint64_t s = w->wseq[1];
    w->wseq[1] = w->old_wseq1;
    w->old_wseq1 = s;
}

bool pr_cli_send_app(pr_cli *c, const pr_step *st, const char *text)
{
    pr_wire *w = c->w;
    size_t len = strlen(text);
    if (len > sizeof c->app) len = sizeof c->app;
    memcpy(c->app, text, len);
    c->app_len = len;
    c->app_count++;
    uint16_t epoch = st->epoch_set ? st->epoch : 1;
    uint64_t rs = st->rs_set ? st->rs : w->wseq[epoch ? 1 : 0];
    pr_vlog(w, "send application data epoch=%u rs=%llu len=%zu", epoch, (unsigned long long)rs, len);
    if (st->mut & (PR_MUT_FLIP | PR_MUT_BADMAC))
        return send_damaged(c, DK_CT_APPLICATION_DATA, rs, c->app, len, st->mut);
    bool use_old = st->arg == 1 && w->old.ready;
    if (use_old) swap_assoc(w);
    if (use_old && !st->rs_set) rs = w->wseq[1];
    bool plain = epoch == 0 || (st->mut & PR_MUT_PLAIN);
    bool ok = pr_send_record(w, DK_CT_APPLICATION_DATA, epoch, rs, plain, c->app, len);
    if (use_old) swap_assoc(w);
    return ok;
}
