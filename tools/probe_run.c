/* Running a scenario in the client role: each step either sends something
 * (with the fields it names) or hands over to an expectation
 * (probe_expect.c). The first step that fails ends the scenario. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "probe_cli.h"

void pr_run_mark(pr_run *r)
{
    r->mark = r->w.n_obs;
    r->mark_t = pr_wire_elapsed(&r->w);
    r->mark_new_sh = r->c.new_sh;
    r->mark_sh_seen = r->c.sh_seen;
}

bool pr_step_fail(pr_run *r, const pr_step *st, const char *fmt, ...)
{
    char msg[sizeof r->res->reason];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pr_set_result(r->res, st && st->setup ? PR_INCONCLUSIVE : PR_FAIL, "%s", msg);
    return false;
}

unsigned pr_within(const pr_run *r, const pr_step *st)
{
    return st->within ? st->within : r->o->timeout_ms;
}

const char *pr_obs_describe(const pr_obs *ob, char *buf, size_t cap)
{
    switch (ob->kind) {
    case PR_O_MSG:
    case PR_O_HS:
        snprintf(buf, cap, "%s(ms=%u, epoch %u)", pr_hs_name(ob->hs_type), ob->ms, ob->epoch);
        break;
    case PR_O_CCS: snprintf(buf, cap, "ChangeCipherSpec"); break;
    case PR_O_ALERT:
        snprintf(buf, cap, "%s alert %s", ob->level == 2 ? "fatal" : "warning",
                 pr_alert_name(ob->desc));
        break;
    case PR_O_APP: snprintf(buf, cap, "application data (%zu bytes)", ob->len); break;
    case PR_O_OPAQUE: snprintf(buf, cap, "an undecryptable epoch-%u record", ob->epoch); break;
    default: snprintf(buf, cap, "a malformed record"); break;
    }
    return buf;
}

/* ---- sending steps ------------------------------------------------------------ */

static bool need_flight(pr_run *r, const pr_step *st)
{
    char err[200];
    if (pr_cli_prepare(&r->c, err, sizeof err)) return true;
    return pr_step_fail(r, st, "cannot build our flight: %s", err);
}

static bool send_alert(pr_run *r, const pr_step *st)
{
    pr_wire *w = &r->w;
    uint8_t a[2] = {(uint8_t)(st->arg >> 8), (uint8_t)st->arg};
    uint16_t epoch = st->epoch_set ? st->epoch : w->wepoch;
    bool plain = epoch == 0 || (st->mut & PR_MUT_PLAIN);
    pr_vlog(w, "send alert %s level=%u epoch=%u", pr_alert_name(a[1]), a[0], epoch);
    if (epoch == 1 && (a[0] == 2 || a[1] == 0)) r->c.dead = true; /* we ended it */
    return pr_send_record(w, DK_CT_ALERT, epoch, UINT64_MAX, plain, a, 2);
}

/* T28: records that are invalid as records. */
static bool send_raw(pr_run *r, const pr_step *st)
{
    pr_wire *w = &r->w;
    uint8_t dg[PR_DG_MAX];
    size_t n;
    static const uint8_t junk[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    if (st->mut & PR_MUT_BADCT) {
        if (dk_record_seal(NULL, 99, DK_DTLS12, 0, w->wseq[0]++, junk, sizeof junk, dg, sizeof dg,
                           &n) != DK_OK)
            return false;
        pr_vlog(w, "send a record of content type 99");
        return pr_send_datagram(w, dg, n);
    }
    if (!need_flight(r, st)) return false;
    uint8_t hs[600];
    size_t hl = pr_hs_bytes(hs, sizeof hs, DK_HT_CLIENT_KEY_EXCHANGE, (uint32_t)r->c.cke_len,
                            r->c.ms_cke, 0, (uint32_t)r->c.cke_len, r->c.cke);
    if (dk_record_seal(NULL, DK_CT_HANDSHAKE, DK_DTLS12, 0, w->wseq[0]++, hs, hl, dg, sizeof dg,
                       &n) != DK_OK)
        return false;
    dk_store_u16(dg + 11, (uint16_t)(hl + 50)); /* length beyond the datagram */
    pr_vlog(w, "send ClientKeyExchange in a record whose length exceeds the datagram");
    return pr_send_datagram(w, dg, n);
}

static bool save_assoc(pr_run *r)
{
    pr_wire *w = &r->w;
    pr_keys_clear(&w->old);
    w->old = w->keys;
    w->keys.ready = false;
    w->old_wseq1 = w->wseq[1];
    return w->old.ready;
}

static bool send_app(pr_run *r, const pr_step *st)
{
    char text[96];
    snprintf(text, sizeof text, "dtlskit-probe %s record %u\n", r->sc->id, r->c.app_count + 1);
    return pr_cli_send_app(&r->c, st, text);
}

static bool do_send(pr_run *r, const pr_step *st)
{
    pr_cli *c = &r->c;
    switch (st->op) {
    case PR_SEND_CH: return pr_cli_send_ch(c, st);
    case PR_SEND_CERT: return need_flight(r, st) && pr_cli_send_msg(c, DK_HT_CERTIFICATE, st);
    case PR_SEND_CKE:
        return need_flight(r, st) && pr_cli_send_msg(c, DK_HT_CLIENT_KEY_EXCHANGE, st);
    case PR_SEND_CV: return need_flight(r, st) && pr_cli_send_msg(c, DK_HT_CERTIFICATE_VERIFY, st);
    case PR_SEND_CCS: return pr_cli_send_msg(c, PR_T_CCS, st);
    case PR_SEND_FIN: return need_flight(r, st) && pr_cli_send_msg(c, DK_HT_FINISHED, st);
    case PR_SEND_FLIGHT: return need_flight(r, st) && pr_cli_send_flight(c);
    case PR_RESEND_FLIGHT: return pr_wire_resend_flight(&r->w);
    case PR_SEND_APP: return send_app(r, st);
    case PR_SEND_ALERT: return send_alert(r, st);
    case PR_SEND_RAW: return send_raw(r, st);
    case PR_REPLAY: return pr_send_datagram(&r->w, r->w.last_dg, r->w.last_dg_len);
    case PR_SAVE_ASSOC: return save_assoc(r);
    default: return false;
    }
}

static bool is_send(uint8_t op) { return op >= PR_SEND_CH && op <= PR_SAVE_ASSOC; }

static bool run_step(pr_run *r, const pr_step *st)
{
    if (is_send(st->op)) {
        if (st->op != PR_SAVE_ASSOC) pr_run_mark(r);
        if (do_send(r, st)) return true;
        if (r->res->reason[0]) return false;
        return pr_step_fail(r, st, "could not send (local error)");
    }
    switch (st->op) {
    case PR_COMPLETE: return pr_complete(r, st);
    case PR_LIVENESS: return pr_liveness(r, st);
    case PR_SLEEP: {
        uint64_t until = pr_now_ms() + st->within;
        while (pr_wire_recv(&r->w, until)) {
        }
        return true;
    }
    default: return pr_expect(r, st);
    }
}

void pr_run_client(const pr_opts *o, const pr_scenario *sc, pr_pcap *pcap, FILE *keylog,
                   pr_result *res)
{
    pr_run *r = calloc(1, sizeof *r);
    char err[256];
    memset(res, 0, sizeof *res);
    if (!r) {
        pr_set_result(res, PR_INCONCLUSIVE, "out of memory");
        return;
    }
    r->o = o;
    r->sc = sc;
    r->res = res;
    if (!pr_wire_open(&r->w, o, false, pcap, keylog, err, sizeof err) ||
        !pr_cli_init(&r->c, &r->w, o, sc, err, sizeof err)) {
        pr_set_result(res, PR_INCONCLUSIVE, "%s", err);
    } else {
        bool ok = true;
        for (const pr_step *st = sc->steps; ok && st->op != PR_END; st++) ok = run_step(r, st);
        if (ok) res->verdict = PR_PASS;
    }
    pr_cli_free(&r->c);
    pr_wire_close(&r->w);
    free(r);
}
