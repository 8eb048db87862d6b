/* Shared helpers of the robustness tests (see rb_util.h). */
#include "rb_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rb_outcome rb_feed(dk_duo *d, dk_conn *conn, const uint8_t *p, size_t len)
{
    rb_outcome o;
    memset(&o, 0, sizeof o);
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    if (len) memcpy(buf, p, len);
    o.before = dk_conn_state(conn);
    o.res = dk_conn_receive(conn, buf, len, d->now);
    o.after = dk_conn_state(conn);
    free(buf);
    dk_dgl out = {0};
    dk_duo_poll(conn, &out);
    o.datagrams = out.n;
    for (size_t i = 0; i < out.n; i++) {
        const uint8_t *q = out.p[i];
        if (out.len[i] < 13 || q[0] != 21) continue;
        o.alert = true;
        bool plain = q[3] == 0 && q[4] == 0;
        o.alert_desc = plain && out.len[i] >= 15 ? q[14] : 0xFF;
    }
    dk_dgl_clear(&out);
    return o;
}

void rb_assert_discarded(const rb_outcome *o)
{
    assert_int_equal(o->res, DK_OK);
    assert_int_equal(o->after, o->before);
    assert_int_equal(o->datagrams, 0);
}

void rb_assert_fatal(const rb_outcome *o, dk_conn *conn, dk_result err, int desc)
{
    assert_int_equal(o->res, err);
    assert_int_equal(o->after, DK_STATE_FAILED);
    assert_int_equal(dk_conn_error(conn), err);
    assert_true(dk_conn_error_reason(conn)[0] != 0);
    assert_true(o->alert);
    if (desc >= 0 && o->alert_desc != 0xFF) assert_int_equal(o->alert_desc, desc);
}

static void drop_dead_server(dk_duo *d)
{
    if (d->sp && dk_peer_done(d->sp)) {
        dk_peer_free(d->sp);
        d->sp = NULL;
        d->s = d->s_old = NULL;
    }
}

bool rb_fresh_handshake(dk_duo *d)
{
    drop_dead_server(d);
    dk_conn_free(d->c);
    d->c = dk_conn_new(d->ccfg, NULL, 0);
    if (!d->c) return false;
    d->now += 1000;
    dk_dgl a = {0}, b = {0};
    if (dk_duo_connect(d, &a) != DK_OK) {
        dk_dgl_clear(&a);
        return false;
    }
    bool ok = dk_duo_complete(d, &a, &b, 10000);
    if (!ok)
        print_error("fresh handshake: client %s / server %s\n", dk_conn_error_reason(d->c),
                    d->s ? dk_conn_error_reason(d->s) : "no connection");
    return ok && dk_duo_data_flows(d);
}

size_t rb_record(uint8_t *out, size_t cap, uint8_t ct, uint16_t version, uint16_t epoch,
                 uint64_t seq, const uint8_t *payload, size_t len)
{
    if (cap < 13 + len) return 0;
    out[0] = ct;
    out[1] = (uint8_t)(version >> 8);
    out[2] = (uint8_t)version;
    out[3] = (uint8_t)(epoch >> 8);
    out[4] = (uint8_t)epoch;
    for (int i = 0; i < 6; i++) out[5 + i] = (uint8_t)(seq >> (8 * (5 - i)));
    out[11] = (uint8_t)(len >> 8);
    out[12] = (uint8_t)len;
    if (len && payload != out + 13) memmove(out + 13, payload, len);
    return 13 + len;
}

unsigned long rb_count(const char *name, unsigned long def)
{
    char var[64];
    snprintf(var, sizeof var, "DK_RB_%s", name);
    const char *v = getenv(var);
    return v && *v ? strtoul(v, NULL, 10) : def;
}
