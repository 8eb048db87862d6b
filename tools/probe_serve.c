/* --serve: running the client-side scenarios. The probe is the server; the
 * client under test connects to it (one client per scenario, a fresh one
 * when LIVENESS needs it after the client gave up). The client's flight is
 * absorbed as it arrives; steps send our messages with chosen fields and
 * judge what the client does. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "probe_srv.h"

/* ---- absorbing the client's messages ------------------------------------------- */

static void on_client_hello(pr_srv *s, const pr_obs *ob)
{
    s->n_ch++;
    if (s->have_ch && ob->len == s->ch_len && memcmp(ob->data, s->ch_body, ob->len) == 0 &&
        ob->ms == s->ch_ms)
        return; /* a retransmission */
    uint8_t *b = malloc(ob->len ? ob->len : 1);
    if (!b) return;
    memcpy(b, ob->data, ob->len);
    free(s->ch_body);
    s->ch_body = b;
    s->ch_len = ob->len;
    s->ch_ms = ob->ms;
    s->ch_rs = ob->rs;
    s->have_ch = true;
}

static bool client_kx(pr_srv *s, const pr_obs *ob)
{
    dk_reader r;
    dk_reader_init(&r, ob->data, ob->len);
    dk_client_key_exchange cke;
    if (dk_client_key_exchange_read(&r, s->suite->kx, &cke) != DK_OK) return false;
    uint8_t z[66], pms[600];
    size_t zlen = 0, pms_len = 0;
    if (s->suite->kx != DK_KX_PSK &&
        (!s->kex || dk_kex_derive(s->kex, cke.point, cke.point_len, z, sizeof z, &zlen) != DK_OK))
        return false;
    bool ok;
    if (s->suite->kx == DK_KX_ECDHE_SIGN) {
        memcpy(pms, z, zlen);
        pms_len = zlen;
        ok = true;
    } else {
        ok = dk_psk_premaster(z, zlen, s->suite->kx == DK_KX_PSK, s->o->psk, s->o->psk_len, pms,
                              sizeof pms, &pms_len) == DK_OK;
    }
    ok = ok && pr_tr_add(&s->tr, DK_HT_CLIENT_KEY_EXCHANGE, ob->ms, ob->data, ob->len) &&
         pr_derive(s->w, s->suite, s->ems, &s->tr, pms, pms_len, s->cr, s->sr, s->master, false);
    dk_wipe(pms, sizeof pms);
    s->keys = ok;
    return ok;
}

static void client_finished(pr_srv *s, const pr_obs *ob)
{
    uint8_t want[12];
    if (!s->keys || ob->len != 12 || !pr_finished(s->suite, s->master, true, &s->tr, want) ||
        memcmp(want, ob->data, 12) != 0) {
        s->client_fin_bad = true;
        return;
    }
    s->client_fin_ok = pr_tr_add(&s->tr, DK_HT_FINISHED, ob->ms, ob->data, 12);
}

static void on_client_msg(pr_srv *s, const pr_obs *ob)
{
    if (ob->ms < s->client_next) {
        s->client_retx++;
        return;
    }
    if (ob->ms > s->client_next) return; /* the probe does not buffer */
    if (ob->epoch == 0 && ob->hs_type == DK_HT_CLIENT_KEY_EXCHANGE) {
        if (!client_kx(s, ob)) return;
    } else if (ob->epoch == 0 && (ob->hs_type == DK_HT_CERTIFICATE ||
                                  ob->hs_type == DK_HT_CERTIFICATE_VERIFY)) {
        if (!pr_tr_add(&s->tr, ob->hs_type, ob->ms, ob->data, ob->len)) return;
    } else if (ob->epoch == 1 && ob->hs_type == DK_HT_FINISHED) {
        client_finished(s, ob);
    } else {
        return;
    }
    s->client_next++;
}

void pr_srv_absorb(void *arg, const pr_obs *ob)
{
    pr_srv *s = arg;
    if (ob->kind == PR_O_ALERT) {
        s->alert_seen = true;
        s->alert_level = ob->level;
        s->alert_desc = ob->desc;
        if (ob->level == 2 || ob->desc == 0) s->dead = true;
    }
    if (ob->kind == PR_O_CCS) s->client_ccs = true;
    if (ob->kind != PR_O_MSG) return;
    if (ob->epoch == 0 && ob->hs_type == DK_HT_CLIENT_HELLO) on_client_hello(s, ob);
    else if (s->negotiated) on_client_msg(s, ob);
}

/* ---- steps ------------------------------------------------------------------------- */

static void mark(pr_srv *s)
{
    s->mark = s->w->n_obs;
    s->mark_t = pr_wire_elapsed(s->w);
    s->mark_n_ch = s->n_ch;
}

static bool fail(pr_srv *s, const pr_step *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool fail(pr_srv *s, const pr_step *st, const char *fmt, ...)
{
    char msg[sizeof s->res->reason];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pr_set_result(s->res, st && st->setup ? PR_INCONCLUSIVE : PR_FAIL, "%s", msg);
    return false;
}

static unsigned within(const pr_srv *s, const pr_step *st)
{
    return st->within ? st->within : s->o->timeout_ms;
}

typedef int (*srv_check)(pr_srv *s, const pr_step *st);

static int wait_for(pr_srv *s, const pr_step *st, unsigned ms, srv_check check)
{
    uint64_t deadline = pr_now_ms() + ms;
    for (;;) {
        int v = check(s, st);
        if (v) return v;
        if (!pr_wire_recv(s->w, deadline)) return check(s, st);
    }
}

static int check_ch(pr_srv *s, const pr_step *st)
{
    if (s->n_ch == s->mark_n_ch) return s->dead ? -1 : 0;
    if (st->ms_set && s->ch_ms != st->ms)
        return fail(s, st, "the client's ClientHello has message_seq=%u, expected %u (R12)",
                    s->ch_ms, st->ms), -1;
    if (st->cookie == PR_CK_HVR) {
        size_t off = 2 + 32;
        size_t sid = off < s->ch_len ? s->ch_body[off] : 0;
        off += 1 + sid;
        bool echo = off < s->ch_len && s->ch_body[off] == s->cookie_len &&
                    off + 1 + s->cookie_len <= s->ch_len &&
                    memcmp(s->ch_body + off + 1, s->cookie, s->cookie_len) == 0;
        if (!echo) return fail(s, st, "the client's ClientHello does not carry our cookie"), -1;
    }
    pr_note(s->res, "CH(ms=%u)", s->ch_ms);
    return 1;
}

static bool expect_ch(pr_srv *s, const pr_step *st)
{
    /* The first ClientHello of a scenario waits for the client to start. */
    unsigned ms = s->n_ch == 0 && !st->within ? 15000 : within(s, st);
    int v = wait_for(s, st, ms, check_ch);
    if (v > 0) {
        mark(s);
        return true;
    }
    if (v == 0) fail(s, st, "no ClientHello within %u ms", ms);
    else if (!s->res->reason[0]) fail(s, st, "the client sent alert %s", pr_alert_name(s->alert_desc));
    return false;
}

/* ServerHello ... ServerHelloDone, with the misbehaviour .arg asks for. */
static bool send_flight(pr_srv *s, const pr_step *st)
{
    pr_step none = {0}, sh = {0}, hvr = {.op = PS_SEND_HVR};
    if (st->rs_set) sh.rs = st->rs, sh.rs_set = true;
    if (st->ms_set) sh.ms = st->ms, sh.ms_set = true;
    pr_wire_flight_begin(s->w);
    bool ok = pr_srv_send_msg(s, DK_HT_SERVER_HELLO, &sh);
    if (ok && (st->arg & PS_A_HVR_AFTER_SH)) ok = pr_srv_send_hvr(s, &hvr);
    bool certs = s->suite && s->suite->kx == DK_KX_ECDHE_SIGN;
    if (certs) ok &= pr_srv_send_msg(s, DK_HT_CERTIFICATE, &none);
    if (s->suite && s->suite->kx != DK_KX_PSK)
        ok &= pr_srv_send_msg(s, DK_HT_SERVER_KEY_EXCHANGE, &none);
    for (int i = 0; certs && i < ((st->arg & PS_A_DUP_CR) ? 2 : 0); i++)
        ok &= pr_srv_send_msg(s, DK_HT_CERTIFICATE_REQUEST, &none);
    if (st->arg & PS_A_HELLO_REQ) ok &= pr_srv_send_msg(s, DK_HT_HELLO_REQUEST, &none);
    ok &= pr_srv_send_msg(s, DK_HT_SERVER_HELLO_DONE, &none);
    s->w->flight_open = false;
    s->flight_sent = ok;
    return ok;
}

static int check_client_flight(pr_srv *s, const pr_step *st)
{
    if (s->client_fin_ok) return 1;
    if (s->client_fin_bad) return fail(s, st, "the client's Finished does not verify"), -1;
    if (s->n_ch != s->mark_n_ch)
        return fail(s, st, "the client sent a ClientHello (ms=%u) instead of its flight",
                    s->ch_ms), -1;
    if (s->dead) return fail(s, st, "the client sent alert %s", pr_alert_name(s->alert_desc)), -1;
    return 0;
}

/* The client's flight, resending ours when nothing comes (R17). */
static bool expect_client_flight(pr_srv *s, const pr_step *st)
{
    for (int i = 0; i < 3; i++) {
        int v = wait_for(s, st, within(s, st), check_client_flight);
        if (v > 0) {
            pr_note(s->res, "client flight verified");
            mark(s);
            return true;
        }
        if (v < 0) return false;
        if (!pr_wire_resend_flight(s->w)) break;
    }
    return fail(s, st, "no verifiable client flight within 3 x %u ms", within(s, st));
}

static int check_no_ch(pr_srv *s, const pr_step *st)
{
    if (s->n_ch == s->mark_n_ch) return 0;
    return fail(s, st, "the client sent a ClientHello (ms=%u) %llu ms after our message",
                s->ch_ms, (unsigned long long)(pr_wire_elapsed(s->w) - s->mark_t)), -1;
}

/* The client rejects (alert) or discards (silence), and never behaves as
 * if the bogus message completed its handshake (application data). */
static int check_reject(pr_srv *s, const pr_step *st)
{
    for (size_t i = s->mark; i < s->w->n_obs; i++)
        if (s->w->obs[i].kind == PR_O_APP)
            return fail(s, st, "the client accepted it and sent application data"), -1;
    return check_no_ch(s, st);
}

static bool window(pr_srv *s, const pr_step *st, srv_check check)
{
    return wait_for(s, st, within(s, st), check) >= 0;
}

bool pr_serve_liveness(pr_srv *s, const pr_step *st);

static bool run_step(pr_srv *s, const pr_step *st)
{
    switch (st->op) {
    case PS_EXPECT_CH: return expect_ch(s, st);
    case PS_SEND_HVR: mark(s); return pr_srv_send_hvr(s, st) || fail(s, st, "cannot send HVR");
    case PS_SEND_MSG:
        mark(s);
        return pr_srv_send_msg(s, (uint8_t)st->arg, st) ||
               fail(s, st, "cannot send %s", pr_hs_name((uint8_t)st->arg));
    case PS_SEND_FLIGHT: mark(s); return send_flight(s, st) || fail(s, st, "cannot send our flight");
    case PS_EXPECT_FLIGHT: return expect_client_flight(s, st);
    case PS_SEND_CCS: mark(s); return pr_srv_send_ccs(s);
    case PS_SEND_FIN: mark(s); return pr_srv_send_fin(s, st) || fail(s, st, "cannot send Finished");
    case PS_EXPECT_NO_CH: return window(s, st, check_no_ch);
    case PS_EXPECT_ALERT_OR_SILENCE:
        if (!window(s, st, check_reject)) return false;
        pr_note(s->res, s->dead ? "client refused it (alert %s)" : "client ignored it",
                pr_alert_name(s->alert_desc));
        return true;
    case PS_LIVENESS: return pr_serve_liveness(s, st);
    case PR_SLEEP: {
        uint64_t until = pr_now_ms() + st->within;
        while (pr_wire_recv(s->w, until)) {
        }
        return true;
    }
    default: return fail(s, st, "step %u is not a --serve step", st->op);
    }
}

/* ---- liveness ------------------------------------------------------------------------ */

static int check_app(pr_srv *s, const pr_step *st)
{
    (void)st;
    for (size_t i = s->mark; i < s->w->n_obs; i++) {
        const pr_obs *ob = &s->w->obs[i];
        if (ob->kind != PR_O_APP) continue;
        pr_vlog(s->w, "echo %zu bytes", ob->len);
        s->echoed = pr_send_record(s->w, DK_CT_APPLICATION_DATA, 1, UINT64_MAX, false, ob->data,
                                   ob->len);
        return 1;
    }
    return s->dead ? -1 : 0;
}

static bool fresh_client(pr_srv *s, const pr_step *st)
{
    pr_step any = {.op = PS_EXPECT_CH, .within = 15000}, ck = {.op = PS_EXPECT_CH, .cookie = PR_CK_HVR};
    pr_step hvr = {.op = PS_SEND_HVR};
    if (s->w->have_peer) {
        s->w->stale = s->w->peer;
        s->w->have_stale = true;
    }
    s->w->have_peer = false;
    pr_srv_reset(s);
    mark(s);
    if (!expect_ch(s, &any) || !pr_srv_send_hvr(s, &hvr) || !expect_ch(s, &ck))
        return fail(s, st, "liveness: a fresh client did not complete the cookie exchange (%s)",
                    s->res->reason);
    pr_note(s->res, "liveness: a fresh client");
    return true;
}

bool pr_serve_liveness(pr_srv *s, const pr_step *st)
{
    pr_step none = {0};
    if ((s->dead || !s->have_ch) && !fresh_client(s, st)) return false;
    if (!s->flight_sent && !(mark(s), send_flight(s, &none)))
        return fail(s, st, "liveness: cannot send our flight");
    if (!s->client_fin_ok && !expect_client_flight(s, st)) return false;
    if (!s->fin_sent && !((s->ccs_sent || pr_srv_send_ccs(s)) && pr_srv_send_fin(s, &none)))
        return fail(s, st, "liveness: cannot send our CCS and Finished");
    mark(s);
    int v = wait_for(s, st, 5000, check_app);
    if (v <= 0) return fail(s, st, "liveness: no application data from the client after the handshake");
    pr_note(s->res, "handshake completed; data echoed");
    return true;
}

void pr_run_serve(const pr_opts *o, const pr_scenario *sc, pr_wire *w, pr_result *res)
{
    pr_srv *s = calloc(1, sizeof *s);
    char err[200];
    memset(res, 0, sizeof *res);
    if (!s) {
        pr_set_result(res, PR_INCONCLUSIVE, "out of memory");
        return;
    }
    if (w->have_peer) { /* the previous scenario's client is ignored from now on */
        w->stale = w->peer;
        w->have_stale = true;
    }
    w->have_peer = false;
    pr_wire_reset_obs(w);
    w->t0 = pr_now_ms();
    if (!pr_srv_init(s, w, o, err, sizeof err)) {
        pr_set_result(res, PR_INCONCLUSIVE, "%s", err);
    } else {
        s->sc = sc;
        s->res = res;
        bool ok = true;
        for (const pr_step *st = sc->steps; ok && st->op != PR_END; st++) ok = run_step(s, st);
        if (ok) res->verdict = PR_PASS;
        /* Let the client finish: its close_notify, a last retransmission. */
        uint64_t until = pr_now_ms() + 300;
        while (pr_wire_recv(w, until)) {
        }
    }
    pr_srv_free(s);
    free(s);
}
