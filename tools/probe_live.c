/* Completing handshakes and proving the server alive. A scenario whose
 * expected outcome is silence or a discard ends with PR_LIVENESS: the
 * pending handshake completes (or, if there is none or the server ended it,
 * a fresh client completes a new one) and application data makes the round
 * trip, so a crashed or wedged server cannot pass. */
#include <string.h>

#include "probe_cli.h"

static int check_fin(pr_run *r)
{
    if (r->c.established) return 1;
    if (r->c.fin_bad) return -1;
    for (size_t i = r->mark; i < r->w.n_obs; i++)
        if (r->w.obs[i].kind == PR_O_ALERT && r->w.obs[i].level == 2) return -1;
    return 0;
}

static int wait_fin(pr_run *r, unsigned within)
{
    uint64_t deadline = pr_now_ms() + within;
    for (;;) {
        int v = check_fin(r);
        if (v) return v;
        if (!pr_wire_recv(&r->w, deadline)) return check_fin(r);
    }
}

static bool fin_failed(pr_run *r, const pr_step *st, const char *what)
{
    if (r->c.fin_bad) return pr_step_fail(r, st, "%s: server Finished does not verify", what);
    if (r->c.alert_seen)
        return pr_step_fail(r, st, "%s: server sent %s alert %s", what,
                            r->c.alert_level == 2 ? "fatal" : "warning",
                            pr_alert_name(r->c.alert_desc));
    return pr_step_fail(r, st, "%s: no server Finished after our flight, sent 3 times", what);
}

/* Our flight, resent in new records until the server's Finished arrives. */
static bool complete(pr_run *r, const pr_step *st, const char *what)
{
    char err[200];
    if (r->c.established) return true;
    if (!pr_cli_prepare(&r->c, err, sizeof err))
        return pr_step_fail(r, st, "%s: cannot build our flight: %s", what, err);
    for (int i = 0; i < 3; i++) {
        pr_run_mark(r);
        bool sent = i == 0 ? pr_cli_send_flight(&r->c) : pr_wire_resend_flight(&r->w);
        if (!sent) return pr_step_fail(r, st, "%s: could not send our flight", what);
        int v = wait_fin(r, pr_within(r, st));
        if (v > 0) return true;
        if (v < 0) break;
    }
    return fin_failed(r, st, what);
}

bool pr_complete(pr_run *r, const pr_step *st)
{
    if (!complete(r, st, "completing the handshake")) return false;
    pr_note(r->res, "handshake completed");
    return true;
}

/* The server answered our ClientHello: an HVR or a new ServerHello flight. */
static int check_answer(pr_run *r)
{
    for (size_t i = r->mark; i < r->w.n_obs; i++) {
        const pr_obs *ob = &r->w.obs[i];
        if (ob->kind == PR_O_MSG && ob->epoch == 0 && ob->hs_type == DK_HT_HELLO_VERIFY_REQUEST)
            return 1;
    }
    return r->c.new_sh > r->mark_new_sh && pr_cli_flight_ready(&r->c) ? 2 : 0;
}

/* Send a ClientHello and wait for an answer, retransmitting it with the
 * timer doubling (R17): about 7 s in all, time for a server that restarts
 * after each connection. */
static int hello_round(pr_run *r, const pr_step *ch, unsigned within)
{
    for (int i = 0; i < 4; i++) {
        pr_run_mark(r);
        bool sent = i == 0 ? pr_cli_send_ch(&r->c, ch) : pr_wire_resend_flight(&r->w);
        if (!sent) return -1;
        uint64_t deadline = pr_now_ms() + (within << (i / 2));
        for (;;) {
            int v = check_answer(r);
            if (v) return v;
            if (!pr_wire_recv(&r->w, deadline)) break;
        }
    }
    return 0;
}

static bool fresh_handshake(pr_run *r, const pr_step *st)
{
    /* After the association ended, a fresh client comes from a new port, so
     * that records still queued from the old one cannot mix in. The server
     * gets a moment to let go of the old state; an alert answering the new
     * ClientHello (the old state, still) is retried like silence. */
    if (r->c.dead) {
        uint64_t until = pr_now_ms() + 300;
        while (pr_wire_recv(&r->w, until)) {
        }
        if (!pr_wire_reopen(&r->w)) return pr_step_fail(r, st, "liveness: cannot open a socket");
    }
    pr_cli_restart(&r->c);
    pr_step ch0 = {.op = PR_SEND_CH}, ch1 = {.op = PR_SEND_CH, .cookie = PR_CK_HVR};
    unsigned within = pr_within(r, st);
    int v = hello_round(r, &ch0, within);
    if (v == 1) v = hello_round(r, &ch1, within);
    if (v == 1) return pr_step_fail(r, st, "liveness: a fresh client got a second HVR for its "
                                    "ClientHello with the cookie");
    if (v <= 0)
        return pr_step_fail(r, st, "liveness: a fresh client's ClientHello got %s",
                            v < 0 ? "a local error"
                                  : "no answer in 4 tries over 6 s (server dead or wedged?)");
    r->flight_new_sh = r->c.new_sh;
    if (!complete(r, st, "liveness: a fresh client's handshake")) return false;
    pr_note(r->res, "liveness: a fresh client completed a handshake");
    return true;
}

static bool exchange_data(pr_run *r, const pr_step *st)
{
    char text[96];
    snprintf(text, sizeof text, "dtlskit-probe %s liveness %u\n", r->sc->id, r->c.app_count + 1);
    pr_step app = {.op = PR_SEND_APP};
    pr_run_mark(r);
    if (!pr_cli_send_app(&r->c, &app, text))
        return pr_step_fail(r, st, "liveness: cannot send application data");
    uint64_t deadline = pr_now_ms() + (r->o->no_echo ? 300 : pr_within(r, st));
    bool echoed = false;
    while (!echoed) {
        for (size_t i = r->mark; i < r->w.n_obs && !echoed; i++) {
            const pr_obs *ob = &r->w.obs[i];
            if (ob->kind == PR_O_ALERT && ob->level == 2)
                return pr_step_fail(r, st, "liveness: data answered with alert %s",
                                    pr_alert_name(ob->desc));
            echoed = ob->kind == PR_O_APP && !ob->old_keys && ob->len == r->c.app_len &&
                     memcmp(ob->data, r->c.app, ob->len) == 0;
        }
        if (!echoed && !pr_wire_recv(&r->w, deadline)) break;
    }
    if (!echoed && !r->o->no_echo)
        return pr_step_fail(r, st, "liveness: application data not echoed within %u ms",
                            pr_within(r, st));
    pr_note(r->res, r->o->no_echo ? "data sent" : "data echoed");
    return true;
}

bool pr_liveness(pr_run *r, const pr_step *st)
{
    bool pending = !r->c.established && !r->c.dead && pr_cli_flight_ready(&r->c);
    if (pending) {
        if (!complete(r, st, "liveness: the pending handshake")) return false;
        pr_note(r->res, "pending handshake completed");
    } else if (!r->c.established || r->c.dead) {
        if (!fresh_handshake(r, st)) return false;
    }
    return exchange_data(r, st);
}
