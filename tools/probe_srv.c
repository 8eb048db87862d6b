/* The probe's server engine for --serve: HelloVerifyRequest, ServerHello,
 * Certificate, ServerKeyExchange, CertificateRequest, ServerHelloDone,
 * HelloRequest, ChangeCipherSpec and Finished with any message_seq, record
 * sequence number or epoch, and the client's flight absorbed and verified,
 * for ECDHE_ECDSA and PSK suites. The client's certificate, if any, is not
 * verified. */
#include <stdlib.h>
#include <string.h>

#include "probe_srv.h"

static bool load_creds(pr_srv *s, char *err, size_t errcap)
{
    FILE *f = fopen(s->o->cert, "rb");
    char *pem = malloc(65537);
    size_t n = f && pem ? fread(pem, 1, 65536, f) : 0;
    if (f) fclose(f);
    bool ok = pem && n && (pem[n] = 0, dk_chain_from_pem(pem, n, &s->chain) == DK_OK);
    f = ok ? fopen(s->o->key, "rb") : NULL;
    n = f ? fread(pem, 1, 65536, f) : 0;
    if (f) fclose(f);
    ok = ok && n && (pem[n] = 0, (s->key = dk_pkey_from_pem(pem, n)) != NULL);
    free(pem);
    if (!ok) snprintf(err, errcap, "cannot load %s / %s", s->o->cert, s->o->key);
    return ok;
}

static bool self_signed(pr_srv *s, char *err, size_t errcap)
{
    uint8_t *der;
    size_t len;
    if (dk_cert_make_selfsigned("localhost", &der, &len, &s->key) != DK_OK) {
        snprintf(err, errcap, "cannot make a self-signed certificate");
        return false;
    }
    s->chain.der = malloc(sizeof *s->chain.der);
    s->chain.len = malloc(sizeof *s->chain.len);
    if (!s->chain.der || !s->chain.len) return false;
    s->chain.der[0] = der;
    s->chain.len[0] = len;
    s->chain.n = 1;
    return true;
}

bool pr_srv_init(pr_srv *s, pr_wire *w, const pr_opts *o, char *err, size_t errcap)
{
    memset(s, 0, sizeof *s);
    s->w = w;
    s->o = o;
    w->absorb = pr_srv_absorb;
    w->absorb_arg = s;
    if (o->psk_len) return true;
    return o->cert ? load_creds(s, err, errcap) : self_signed(s, err, errcap);
}

void pr_srv_reset(pr_srv *s)
{
    free(s->ch_body);
    s->ch_body = NULL;
    s->have_ch = false;
    s->n_ch = 0;
    dk_kex_free(s->kex);
    s->kex = NULL;
    pr_tr_free(&s->tr);
    s->negotiated = s->cr_sent = s->flight_sent = s->keys = s->ccs_sent = s->fin_sent = false;
    s->client_ccs = s->client_fin_ok = s->client_fin_bad = false;
    s->client_retx = 0;
    s->dead = s->alert_seen = s->echoed = false;
    s->cookie_len = 0;
    s->next_ms = 0;
    s->w->wepoch = 0;
    s->w->wseq[0] = s->w->wseq[1] = 0;
    pr_keys_clear(&s->w->keys);
}

void pr_srv_free(pr_srv *s)
{
    pr_srv_reset(s);
    dk_chain_clear(&s->chain);
    dk_pkey_free(s->key);
    s->key = NULL;
}

/* ---- negotiation ----------------------------------------------------------------- */

/* The client's first usable suite, AES-GCM ones first: Wireshark 4.0 does
 * not decrypt DTLS ChaCha20-Poly1305, and the captures should decrypt. */
static const dk_suite *pick_suite(const pr_srv *s, const dk_client_hello *ch)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i + 1 < ch->suites_len; i += 2) {
            const dk_suite *su = dk_suite_by_id(dk_load_u16(ch->suites + i));
            if (!su || (pass == 0 && su->aead == DK_AEAD_CHACHA20_POLY1305)) continue;
            if (s->o->psk_len && su->auth == DK_AUTH_PSK) return su;
            if (!s->o->psk_len && su->kx == DK_KX_ECDHE_SIGN && su->auth == DK_AUTH_ECDSA)
                return su;
        }
    }
    return NULL;
}

static uint16_t pick_group(const dk_client_hello *ch)
{
    if (!ch->exts.present_groups) return DK_GROUP_SECP256R1;
    for (size_t i = 0; i + 1 < ch->exts.groups_len; i += 2) {
        uint16_t g = dk_load_u16(ch->exts.groups + i);
        if (g == DK_GROUP_X25519 || g == DK_GROUP_SECP256R1) return g;
    }
    return 0;
}

bool pr_srv_negotiate(pr_srv *s, char *err, size_t errcap)
{
    if (s->negotiated) return true;
    dk_reader r;
    dk_client_hello ch;
    dk_reader_init(&r, s->ch_body, s->ch_len);
    if (!s->have_ch || dk_client_hello_read(&r, &ch) != DK_OK) {
        snprintf(err, errcap, "no well-formed ClientHello to answer");
        return false;
    }
    s->suite = pick_suite(s, &ch);
    s->group = pick_group(&ch);
    if (!s->suite || (s->suite->kx != DK_KX_PSK && !s->group)) {
        snprintf(err, errcap, "the client offers no %s suite or group the probe can use",
                 s->o->psk_len ? "PSK" : "ECDHE_ECDSA");
        return false;
    }
    s->ems = ch.exts.ems;
    s->reneg_info = ch.exts.present_reneg_info;
    for (size_t i = 0; i + 1 < ch.suites_len; i += 2)
        s->reneg_info |= dk_load_u16(ch.suites + i) == 0x00FF; /* the SCSV */
    s->point_formats = ch.exts.present_point_formats;
    memcpy(s->cr, ch.random, 32);
    pr_tr_free(&s->tr);
    /* R6: ServerHello takes the ClientHello's message_seq (errata 5186). */
    s->next_ms = s->ch_ms;
    s->client_next = (uint16_t)(s->ch_ms + 1);
    s->negotiated = dk_random_bytes(s->sr, 32) == DK_OK &&
                    pr_tr_add(&s->tr, DK_HT_CLIENT_HELLO, s->ch_ms, s->ch_body, s->ch_len);
    return s->negotiated;
}

/* ---- our messages ---------------------------------------------------------------- */

static size_t server_hello(pr_srv *s, uint8_t *out, size_t cap)
{
    dk_server_hello_out sh = {.version = DK_DTLS12, .random = s->sr, .suite = s->suite->id,
                              .ems = s->ems, .reneg_info = s->reneg_info,
                              .point_formats = s->point_formats && s->suite->kx != DK_KX_PSK};
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_server_hello_write(&w, &sh);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

static size_t certificate(pr_srv *s, uint8_t *out, size_t cap)
{
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_certificate_write(&w, (const uint8_t *const *)s->chain.der, s->chain.len, s->chain.n);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

/* RFC 8422 5.4: the signature covers client_random + server_random + params. */
static size_t key_exchange(pr_srv *s, uint8_t *out, size_t cap)
{
    dk_server_key_exchange ske = {0};
    uint8_t point[133], params[140], tbs[64 + 140], sig[512];
    size_t plen = 0, sig_len = 0;
    if (s->suite->kx != DK_KX_PSK) {
        dk_kex_free(s->kex);
        s->kex = dk_kex_new(s->group, NULL, 0);
        if (!s->kex || dk_kex_public(s->kex, point, sizeof point, &plen) != DK_OK) return 0;
        dk_writer pw;
        dk_writer_init(&pw, params, sizeof params);
        dk_ecdh_params_write(&pw, s->group, point, plen);
        ske.group = s->group, ske.point = point, ske.point_len = (uint8_t)plen;
        ske.params = params, ske.params_len = pw.off;
    }
    if (s->suite->kx == DK_KX_ECDHE_SIGN) {
        memcpy(tbs, s->cr, 32);
        memcpy(tbs + 32, s->sr, 32);
        memcpy(tbs + 64, params, ske.params_len);
        uint16_t scheme = DK_SIG_ECDSA_SECP256R1_SHA256;
        if (dk_sign(s->key, scheme, tbs, 64 + ske.params_len, sig, sizeof sig, &sig_len) != DK_OK)
            return 0;
        ske.sig_scheme = scheme, ske.sig = sig, ske.sig_len = (uint16_t)sig_len;
    }
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_server_key_exchange_write(&w, s->suite->kx, &ske);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

static size_t cert_request(uint8_t *out, size_t cap)
{
    static const uint8_t types[] = {64 /* ecdsa_sign */};
    static const uint16_t algs[] = {DK_SIG_ECDSA_SECP256R1_SHA256, DK_SIG_RSA_PKCS1_SHA256};
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_certificate_request_write(&w, types, sizeof types, algs, DK_ARRAY_LEN(algs));
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

static size_t message_body(pr_srv *s, uint8_t type, uint8_t *out, size_t cap)
{
    switch (type) {
    case DK_HT_SERVER_HELLO: return server_hello(s, out, cap);
    case DK_HT_CERTIFICATE: return certificate(s, out, cap);
    case DK_HT_SERVER_KEY_EXCHANGE: return key_exchange(s, out, cap);
    case DK_HT_CERTIFICATE_REQUEST: s->cr_sent = true; return cert_request(out, cap);
    case DK_HT_FINISHED: /* a bogus Finished, before any keys */
        memset(out, 0x42, 12);
        return 12;
    default: return 0; /* HelloRequest, ServerHelloDone: empty */
    }
}

bool pr_srv_send_msg(pr_srv *s, uint8_t type, const pr_step *st)
{
    char err[160];
    if (type != DK_HT_FINISHED && type != DK_HT_HELLO_REQUEST && !pr_srv_negotiate(s, err, sizeof err))
        return false;
    uint8_t body[8192], rec[8300];
    size_t len = message_body(s, type, body, sizeof body);
    if (!len && type != DK_HT_SERVER_HELLO_DONE && type != DK_HT_HELLO_REQUEST) return false;
    uint16_t ms = st->ms_set ? st->ms : s->next_ms;
    s->next_ms = (uint16_t)(ms + 1);
    uint16_t epoch = st->epoch_set ? st->epoch : s->w->wepoch;
    if (st->rs_set && epoch == 0) s->w->wseq[0] = st->rs;
    size_t n = pr_hs_bytes(rec, sizeof rec, type, (uint32_t)len, ms, 0, (uint32_t)len, body);
    /* HelloRequest is not part of the transcript (RFC 5246 7.4.1.1). */
    if (type != DK_HT_HELLO_REQUEST && type != DK_HT_FINISHED &&
        !pr_tr_add(&s->tr, type, ms, body, len))
        return false;
    pr_vlog(s->w, "send %s ms=%u epoch=%u rs=%llu", pr_hs_name(type), ms, epoch,
            (unsigned long long)s->w->wseq[epoch ? 1 : 0]);
    return n && pr_send_record(s->w, DK_CT_HANDSHAKE, epoch, UINT64_MAX, false, rec, n);
}

/* R5: echo the ClientHello's record sequence number and message_seq unless
 * the step says otherwise. */
bool pr_srv_send_hvr(pr_srv *s, const pr_step *st)
{
    if (!s->have_ch) return false;
    s->cookie_len = st->cookie == PR_CK_LONG ? 255 : 32;
    if (dk_random_bytes(s->cookie, s->cookie_len) != DK_OK) return false;
    uint16_t version = st->arg ? (uint16_t)st->arg : DK_DTLS10;
    dk_hello_verify hv = {version, s->cookie, s->cookie_len};
    uint8_t body[300], rec[320];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    dk_hello_verify_write(&w, &hv);
    uint16_t ms = st->ms_set ? st->ms : s->ch_ms;
    uint64_t rs = st->rs_set ? st->rs : s->ch_rs;
    size_t n = pr_hs_bytes(rec, sizeof rec, DK_HT_HELLO_VERIFY_REQUEST, (uint32_t)w.off, ms, 0,
                           (uint32_t)w.off, body);
    pr_vlog(s->w, "send HelloVerifyRequest ms=%u rs=%llu version=0x%04x cookie=%u", ms,
            (unsigned long long)rs, version, s->cookie_len);
    s->w->rec_version = version;
    bool ok = pr_send_record(s->w, DK_CT_HANDSHAKE, 0, rs, false, rec, n);
    s->w->rec_version = 0;
    return ok;
}

bool pr_srv_send_ccs(pr_srv *s)
{
    static const uint8_t one = 1;
    pr_vlog(s->w, "send ChangeCipherSpec");
    bool ok = pr_send_record(s->w, DK_CT_CHANGE_CIPHER_SPEC, s->w->wepoch, UINT64_MAX, false, &one,
                             1);
    s->w->wepoch = 1;
    s->ccs_sent = true;
    return ok;
}

bool pr_srv_send_fin(pr_srv *s, const pr_step *st)
{
    uint8_t vd[12], rec[32];
    if (!s->keys || !pr_finished(s->suite, s->master, false, &s->tr, vd)) return false;
    uint16_t epoch = st->epoch_set ? st->epoch : s->w->wepoch;
    uint16_t ms = st->ms_set ? st->ms : s->next_ms;
    size_t n = pr_hs_bytes(rec, sizeof rec, DK_HT_FINISHED, 12, ms, 0, 12, vd);
    pr_vlog(s->w, "send Finished ms=%u epoch=%u", ms, epoch);
    /* Only a proper Finished (after our CCS, in epoch 1) uses up its
     * message_seq: a client that discarded a bogus one still waits for it. */
    if (s->ccs_sent && epoch == 1) {
        s->fin_sent = true;
        s->next_ms = (uint16_t)(ms + 1);
    }
    return pr_send_record(s->w, DK_CT_HANDSHAKE, epoch, UINT64_MAX, false, rec, n);
}
