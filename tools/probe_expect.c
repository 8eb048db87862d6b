/* Expectations of the client role. Each check looks at what arrived since
 * the last send (the mark) and says pass (1), fail (-1) or not yet (0).
 * "Window" checks (silence, no new flight, no echo ...) wait out their whole
 * window and pass if nothing forbidden arrived. */
#include <string.h>

#include "probe_cli.h"

typedef int (*pr_check)(pr_run *r, const pr_step *st);

static int wait_check(pr_run *r, const pr_step *st, unsigned within, pr_check check)
{
    uint64_t deadline = pr_now_ms() + within;
    for (;;) {
        int v = check(r, st);
        if (v) return v;
        if (!pr_wire_recv(&r->w, deadline)) return check(r, st);
    }
}

/* A window check passes when the window ends without a violation. */
static bool window(pr_run *r, const pr_step *st, pr_check check)
{
    int v = wait_check(r, st, pr_within(r, st), check);
    return v >= 0;
}

/* PR_A_RETX: like a client, resend our last flight when nothing came. */
static bool until(pr_run *r, const pr_step *st, pr_check check, const char *what)
{
    int v = wait_check(r, st, pr_within(r, st), check);
    for (int i = 0; v == 0 && (st->arg & PR_A_RETX) && i < 2; i++) {
        pr_vlog(&r->w, "nothing yet: resending our last flight");
        bool sent = st->op == PR_EXPECT_FINISHED ? pr_cli_send_flight(&r->c)
                                                 : pr_wire_resend_flight(&r->w);
        if (!sent) break;
        v = wait_check(r, st, pr_within(r, st), check);
    }
    if (v > 0) {
        pr_run_mark(r); /* what was expected is consumed */
        return true;
    }
    if (v == 0) pr_step_fail(r, st, "no %s within %u ms", what, pr_within(r, st));
    return false;
}

static const pr_obs *obs_at(pr_run *r, size_t i) { return &r->w.obs[i]; }

static bool is_msg(const pr_obs *ob, uint8_t type)
{
    return ob->kind == PR_O_MSG && ob->epoch == 0 && ob->hs_type == type;
}

static int alert_fail(pr_run *r, const pr_step *st, const pr_obs *ob, const char *ctx)
{
    char d[80];
    pr_step_fail(r, st, "%s answered with %s", ctx, pr_obs_describe(ob, d, sizeof d));
    return -1;
}

static const char *last_ch_text(pr_run *r, char *buf, size_t cap)
{
    const pr_ch_sent *h = pr_cli_last_ch(&r->c);
    if (h) snprintf(buf, cap, "ClientHello message_seq=%u", h->ms);
    else snprintf(buf, cap, "the probe");
    return buf;
}

/* ---- HelloVerifyRequest (R5, R9, R10) ------------------------------------------- */

static int judge_hvr(pr_run *r, const pr_step *st, const pr_obs *ob)
{
    const pr_ch_sent *h = pr_cli_last_ch(&r->c);
    uint16_t want_ms = st->ms_set ? st->ms : h->ms;
    if (ob->ms != want_ms)
        return pr_step_fail(r, st, "HelloVerifyRequest message_seq=%u answers ClientHello "
                            "message_seq=%u (R5, errata 5186: echo it)", ob->ms, want_ms), -1;
    uint64_t want_rs = st->rs_set ? st->rs : h->rs;
    if (!h->fragmented && ob->rs != want_rs)
        return pr_step_fail(r, st, "HelloVerifyRequest record sequence %llu answers ClientHello "
                            "record sequence %llu (R5)", (unsigned long long)ob->rs,
                            (unsigned long long)want_rs), -1;
    dk_reader rd;
    dk_reader_init(&rd, ob->data, ob->len);
    dk_hello_verify hv;
    if (dk_hello_verify_read(&rd, &hv) != DK_OK)
        return pr_step_fail(r, st, "malformed HelloVerifyRequest"), -1;
    if (hv.version != DK_DTLS10 && hv.version != DK_DTLS12)
        return pr_step_fail(r, st, "HelloVerifyRequest version 0x%04x (R9)", hv.version), -1;
    if (hv.cookie_len == 0) return pr_step_fail(r, st, "HelloVerifyRequest with an empty cookie"), -1;
    if ((st->arg & PR_A_COOKIE32) && hv.cookie_len > 32)
        return pr_step_fail(r, st, "HelloVerifyRequest cookie of %u bytes: deployed clients cap "
                            "it at 32 (R10)", hv.cookie_len), -1;
    r->hvr_ms = ob->ms;
    pr_note(r->res, "HVR(ms=%u, rs=%llu, %s, cookie %u bytes)", ob->ms,
            (unsigned long long)ob->rs, hv.version == DK_DTLS10 ? "1.0" : "1.2", hv.cookie_len);
    return 1;
}

static int check_hvr(pr_run *r, const pr_step *st)
{
    char ctx[64];
    /* A new ServerHello is an answer (the wrong one); a retransmission of the
     * pending flight (the same ServerHello) is not. */
    if (r->c.new_sh > r->mark_new_sh)
        return pr_step_fail(r, st, "%s answered with a ServerHello flight (ServerHello "
                            "message_seq=%u)", last_ch_text(r, ctx, sizeof ctx),
                            r->c.srv[PR_SM_SH].ms), -1;
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind == PR_O_ALERT) return alert_fail(r, st, ob, last_ch_text(r, ctx, sizeof ctx));
        if (is_msg(ob, DK_HT_HELLO_VERIFY_REQUEST)) return judge_hvr(r, st, ob);
    }
    return 0;
}

/* ---- the server's flight (R6) ------------------------------------------------------ */

static int judge_flight(pr_run *r, const pr_step *st)
{
    const pr_cli *c = &r->c;
    const pr_srv_msg *sh = &c->srv[PR_SM_SH];
    if (st->ms_set && sh->ms != st->ms)
        return pr_step_fail(r, st, "ServerHello message_seq=%u, expected %u (R6, errata 5186)",
                            sh->ms, st->ms), -1;
    if (st->rs_set && sh->rs != st->rs)
        return pr_step_fail(r, st, "ServerHello record sequence %llu, expected %llu (R6)",
                            (unsigned long long)sh->rs, (unsigned long long)st->rs), -1;
    uint16_t next = sh->ms;
    if ((st->arg & PR_A_NEED_CR) && !c->srv[PR_SM_CR].have)
        return pr_step_fail(r, st, "the server did not request a client certificate (run it "
                            "requiring one)"), -1;
    for (int i = PR_SM_CERT; (st->arg & PR_A_CONSEC) && i < PR_SM_N; i++) {
        if (!c->srv[i].have) continue;
        if (c->srv[i].ms != ++next)
            return pr_step_fail(r, st, "server flight message_seq not consecutive: %u after "
                                "ServerHello %u", c->srv[i].ms, sh->ms), -1;
    }
    r->flight_new_sh = c->new_sh;
    pr_note(r->res, "ServerHello(ms=%u, rs=%llu)", sh->ms, (unsigned long long)sh->rs);
    return 1;
}

static int check_flight(pr_run *r, const pr_step *st)
{
    char ctx[64];
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind == PR_O_ALERT) return alert_fail(r, st, ob, last_ch_text(r, ctx, sizeof ctx));
        if (is_msg(ob, DK_HT_HELLO_VERIFY_REQUEST))
            return pr_step_fail(r, st, "%s answered with a HelloVerifyRequest (ms=%u) instead of "
                                "a ServerHello flight", last_ch_text(r, ctx, sizeof ctx), ob->ms), -1;
    }
    if (r->c.new_sh > r->mark_new_sh && pr_cli_flight_ready(&r->c)) return judge_flight(r, st);
    return 0;
}

static int check_retx(pr_run *r, const pr_step *st)
{
    if (r->c.new_sh != r->flight_new_sh)
        return pr_step_fail(r, st, "answered with a new ServerHello flight (handshake restarted)"),
               -1;
    if (r->c.sh_seen > r->mark_sh_seen) {
        pr_note(r->res, "flight retransmitted after %llu ms",
                (unsigned long long)(pr_wire_elapsed(&r->w) - r->mark_t));
        return 1;
    }
    for (size_t i = r->mark; i < r->w.n_obs; i++)
        if (obs_at(r, i)->kind == PR_O_ALERT) return alert_fail(r, st, obs_at(r, i), "the server");
    return 0;
}

static int check_no_new_sh(pr_run *r, const pr_step *st)
{
    char ctx[64];
    if (r->c.new_sh == r->flight_new_sh) return 0;
    return pr_step_fail(r, st, "%s answered with a new ServerHello flight (ServerHello "
                        "message_seq=%u)", last_ch_text(r, ctx, sizeof ctx),
                        r->c.srv[PR_SM_SH].ms), -1;
}

/* ---- Finished ------------------------------------------------------------------------ */

/* R20: data sent before our Finished must not come back before the
 * server's Finished (it was delivered before the handshake completed). */
static int early_app(pr_run *r, const pr_step *st)
{
    for (size_t i = r->c.hs_start; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind == PR_O_MSG && ob->epoch > 0 && ob->hs_type == DK_HT_FINISHED) return 0;
        if (ob->kind == PR_O_APP)
            return pr_step_fail(r, st, "application data sent before our Finished was delivered "
                                "(echoed) before the server's Finished (R20)"), -1;
    }
    return 0;
}

static int check_finished(pr_run *r, const pr_step *st)
{
    if ((st->arg & PR_A_NO_EARLY_APP) && early_app(r, st) < 0) return -1;
    if (r->c.established) return 1;
    if (r->c.fin_bad) return pr_step_fail(r, st, "server Finished does not verify"), -1;
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind == PR_O_ALERT && ob->level == 2) return alert_fail(r, st, ob, "our flight was");
    }
    return 0;
}

static int check_no_finished(pr_run *r, const pr_step *st)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (r->c.established || (ob->kind == PR_O_MSG && ob->epoch > 0 &&
                                 ob->hs_type == DK_HT_FINISHED && !ob->old_keys))
            return pr_step_fail(r, st, "the server completed the handshake (sent its Finished)"), -1;
    }
    return 0;
}

/* ---- silence, alerts ----------------------------------------------------------------- */

/* What may arrive during "silence": retransmissions of the server's current
 * flight (arg & 1: also of its CCS and Finished). */
static bool allowed_in_silence(const pr_run *r, const pr_step *st, const pr_obs *ob)
{
    if (ob->kind == PR_O_HS || ob->kind == PR_O_MSG) {
        bool flight_type = ob->hs_type == DK_HT_SERVER_HELLO || ob->hs_type == DK_HT_CERTIFICATE ||
                           ob->hs_type == DK_HT_SERVER_KEY_EXCHANGE ||
                           ob->hs_type == DK_HT_CERTIFICATE_REQUEST ||
                           ob->hs_type == DK_HT_SERVER_HELLO_DONE;
        if (ob->epoch == 0 && flight_type && r->c.srv[PR_SM_SH].have &&
            r->c.new_sh == r->flight_new_sh)
            return true;
        if (ob->epoch > 0 && ob->hs_type == DK_HT_FINISHED && (st->arg & PR_A_LAST_FLIGHT))
            return true;
    }
    return ob->kind == PR_O_CCS && (st->arg & PR_A_LAST_FLIGHT);
}

static int check_silence(pr_run *r, const pr_step *st)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (allowed_in_silence(r, st, ob)) continue;
        char d[80];
        return pr_step_fail(r, st, "expected silence, got %s after %llu ms",
                            pr_obs_describe(ob, d, sizeof d),
                            (unsigned long long)(ob->t - r->mark_t)),
               -1;
    }
    return 0;
}

static int check_no_alert(pr_run *r, const pr_step *st)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind != PR_O_ALERT || ((st->arg & PR_A_FATAL_OK) && ob->level == 2)) continue;
        return alert_fail(r, st, ob, "the server");
    }
    return 0;
}

static int check_fin_again(pr_run *r, const pr_step *st)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind == PR_O_MSG && ob->epoch > 0 && ob->hs_type == DK_HT_FINISHED && !ob->old_keys)
            return 1;
        if (ob->kind == PR_O_ALERT) return alert_fail(r, st, ob, "our retransmitted flight was");
    }
    return 0;
}

static int check_alert(pr_run *r, const pr_step *st)
{
    if (r->c.established)
        return pr_step_fail(r, st, "the server completed the handshake instead of failing it"), -1;
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (ob->kind != PR_O_ALERT) continue;
        if (ob->level != 2)
            return pr_step_fail(r, st, "warning alert %s instead of a fatal one",
                                pr_alert_name(ob->desc)), -1;
        if (st->arg >= 0 && ob->desc != st->arg)
            return pr_step_fail(r, st, "fatal alert %s, expected %s", pr_alert_name(ob->desc),
                                pr_alert_name((uint8_t)st->arg)), -1;
        pr_note(r->res, "fatal alert %s", pr_alert_name(ob->desc));
        return 1;
    }
    return 0;
}

/* ---- application data ------------------------------------------------------------------ */

static bool is_echo(const pr_run *r, const pr_obs *ob)
{
    return ob->kind == PR_O_APP && ob->len == r->c.app_len &&
           memcmp(ob->data, r->c.app, ob->len) == 0;
}

static int check_echo(pr_run *r, const pr_step *st)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (is_echo(r, ob) && ob->old_keys == (st->arg == 1)) return 1;
        if (ob->kind == PR_O_ALERT && ob->level == 2) return alert_fail(r, st, ob, "our data was");
    }
    return 0;
}

static int check_no_echo(pr_run *r, const pr_step *st)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++)
        if (is_echo(r, obs_at(r, i)))
            return pr_step_fail(r, st, "the record was delivered (echoed back)"), -1;
    return 0;
}

/* ---- R17: retransmission timer doubles ------------------------------------------------- */

static size_t sh_times(pr_run *r, uint64_t *t, size_t max)
{
    size_t n = 0;
    for (size_t i = r->c.hs_start; i < r->w.n_obs && n < max; i++) {
        const pr_obs *ob = obs_at(r, i);
        if (is_msg(ob, DK_HT_SERVER_HELLO) && ob->len >= 34 &&
            memcmp(ob->data + 2, r->c.sh_random, 32) == 0)
            t[n++] = ob->t;
    }
    return n;
}

static int check_timer(pr_run *r, const pr_step *st)
{
    uint64_t t[3];
    if (r->c.new_sh != r->flight_new_sh)
        return pr_step_fail(r, st, "a new ServerHello flight instead of a retransmission"), -1;
    if (sh_times(r, t, 3) < 3) return 0;
    uint64_t r1 = t[1] - t[0], r2 = t[2] - t[1];
    if (r1 < 400 || r1 > 2500)
        return pr_step_fail(r, st, "first retransmission after %llu ms (R17: about 1 s)",
                            (unsigned long long)r1), -1;
    if (r2 * 10 < r1 * 15)
        return pr_step_fail(r, st, "retransmission intervals %llu ms then %llu ms: the timer "
                            "does not double (R17)", (unsigned long long)r1,
                            (unsigned long long)r2), -1;
    pr_note(r->res, "retransmissions after %llu ms and %llu ms more", (unsigned long long)r1,
            (unsigned long long)r2);
    return 1;
}

bool pr_expect(pr_run *r, const pr_step *st)
{
    switch (st->op) {
    case PR_EXPECT_HVR: return until(r, st, check_hvr, "HelloVerifyRequest");
    case PR_EXPECT_FLIGHT: return until(r, st, check_flight, "ServerHello ... ServerHelloDone flight");
    case PR_EXPECT_RETX: return until(r, st, check_retx, "retransmission of the server flight");
    case PR_EXPECT_NO_NEW_SH:
        if (!window(r, st, check_no_new_sh)) return false;
        pr_note(r->res, "no new ServerHello flight");
        return true;
    case PR_EXPECT_FINISHED: return until(r, st, check_finished, "server Finished");
    case PR_EXPECT_NO_FINISHED:
        if (!window(r, st, check_no_finished)) return false;
        pr_note(r->res, r->c.alert_seen ? "handshake refused (alert %s)" : "no server Finished",
                pr_alert_name(r->c.alert_desc));
        return true;
    case PR_EXPECT_SILENCE:
        if (!window(r, st, check_silence)) return false;
        pr_note(r->res, "silence for %u ms", pr_within(r, st));
        return true;
    case PR_EXPECT_NO_ALERT: return window(r, st, check_no_alert);
    case PR_EXPECT_FIN_AGAIN:
        if (!until(r, st, check_fin_again, "retransmitted server Finished")) return false;
        pr_note(r->res, "server Finished retransmitted");
        return true;
    case PR_EXPECT_ALERT:
        return until(r, st, check_alert,
                     "fatal alert (and no server Finished either: the handshake stalls)");
    case PR_EXPECT_ECHO:
        if (r->o->no_echo) return true;
        return until(r, st, check_echo, "echo of our application data");
    case PR_EXPECT_NO_ECHO: return window(r, st, check_no_echo);
    case PR_EXPECT_TIMER: return until(r, st, check_timer, "two retransmissions of the flight");
    default: return pr_step_fail(r, st, "step %u is not a client-role step", st->op);
    }
}
