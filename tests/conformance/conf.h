/* Shared helpers of the conformance tests. Each test is named after its
 * scenario (T-number, SCENARIOS.md) and the rules it checks (R-numbers,
 * RULES.md), and asserts what dtlskit puts on the wire. Scenarios whose
 * expected outcome is silence end with a liveness check: the handshake still
 * completes, or application data still flows. */
#ifndef CONF_H
#define CONF_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dk_duo.h"
#include "handshake/dk_msg.h"
#include "record/dk_record.h"

static inline void conf_dump(const char *what, const dk_dgl *l)
{
    static dk_obsl ol;
    dk_obs_parse(&ol, l);
    fprintf(stderr, "%s (%zu datagrams):\n", what, l->n);
    dk_obs_dump(&ol, stderr);
}

/* An epoch-0 plaintext handshake fragment with this type, message_seq and
 * record sequence number. */
#define ASSERT_HS(o, type, ms_, rs_)                                                               \
    do {                                                                                           \
        const dk_obs *o_ = (o);                                                                    \
        assert_non_null(o_);                                                                       \
        assert_true(o_->hs);                                                                       \
        assert_int_equal(o_->epoch, 0);                                                            \
        assert_int_equal(o_->hs_type, (type));                                                     \
        assert_int_equal(o_->ms, (ms_));                                                           \
        assert_int_equal(o_->rseq, (rs_));                                                         \
    } while (0)

/* A HelloVerifyRequest as RFC 6347 4.2.1 wants it: epoch 0, unfragmented,
 * version DTLS 1.0 or 1.2 (R9), a cookie of 1..32 bytes (R10 and R38: at
 * most 32), and message_seq and record sequence number echoing the
 * ClientHello's (R5, errata 5186). */
static inline void conf_assert_hvr(const dk_obs *o, uint16_t ms, uint64_t rs)
{
    ASSERT_HS(o, DK_HT_HELLO_VERIFY_REQUEST, ms, rs);
    assert_int_equal(o->foff, 0);
    assert_int_equal(o->flen, o->hs_len);
    assert_true(o->version == DK_DTLS10 || o->version == DK_DTLS12);
    assert_true(o->hvr_version == DK_DTLS10 || o->hvr_version == DK_DTLS12);
    assert_in_range(o->cookie_len, 1, 32);
}

/* The only thing in l is one HelloVerifyRequest (no alert, no ServerHello). */
static inline const dk_obs *conf_only_hvr(dk_obsl *ol, const dk_dgl *l, uint16_t ms, uint64_t rs)
{
    dk_obs_parse(ol, l);
    if (l->n != 1 || ol->n != 1) conf_dump("expected one HelloVerifyRequest", l);
    assert_int_equal(l->n, 1);
    assert_int_equal(ol->n, 1);
    conf_assert_hvr(&ol->o[0], ms, rs);
    return &ol->o[0];
}

static inline void conf_expect_silence(const dk_dgl *l, const char *what)
{
    if (l->n) conf_dump(what, l);
    assert_int_equal(l->n, 0);
}

/* Liveness: the pending datagrams are delivered (timers fire on an idle
 * link) until both ends are established; then data flows both ways. */
static inline void conf_finish(dk_duo *d, dk_dgl *to_s, dk_dgl *to_c)
{
    bool ok = dk_duo_complete(d, to_s, to_c, 200000);
    if (!ok)
        print_error("handshake did not complete: client %s / server %s\n",
                    dk_conn_error_reason(d->c), d->s ? dk_conn_error_reason(d->s) : "no connection");
    assert_true(ok);
    assert_true(dk_duo_data_flows(d));
}

/* Copy of datagram i of l, to edit. */
static inline size_t conf_copy(const dk_dgl *l, size_t i, uint8_t *out)
{
    assert_true(i < l->n);
    memcpy(out, l->p[i], l->len[i]);
    return l->len[i];
}

/* Record idx of datagram i of l as a datagram of its own. */
static inline size_t conf_record(const dk_dgl *l, size_t i, size_t idx, uint8_t *out)
{
    assert_true(i < l->n);
    size_t n = dk_craft_extract(l->p[i], l->len[i], idx, out, DK_DG_CAP);
    assert_true(n > 0);
    return n;
}

/* Every record of every datagram of in, each as a datagram of its own. */
static inline void conf_split(const dk_dgl *in, dk_dgl *out)
{
    for (size_t i = 0; i < in->n; i++) {
        size_t off[64], sz[64];
        size_t n = dk_craft_records(in->p[i], in->len[i], off, sz, 64);
        for (size_t j = 0; j < n; j++) dk_dgl_push(out, in->p[i] + off[j], sz[j]);
    }
}

/* The server failed with exactly one fatal alert (desc) and sent neither
 * its CCS nor its Finished. */
static inline void conf_assert_fatal_only(const dk_conn *c, const dk_dgl *out, uint8_t desc)
{
    static dk_obsl ol;
    dk_obs_parse(&ol, out);
    if (ol.n != 1) conf_dump("expected one fatal alert", out);
    assert_int_equal(dk_conn_state(c), DK_STATE_FAILED);
    assert_int_equal(ol.n, 1);
    assert_int_equal(ol.o[0].ct, DK_CT_ALERT);
    assert_true(ol.o[0].alert);
    assert_int_equal(ol.o[0].alert_level, 2);
    assert_int_equal(ol.o[0].alert_desc, desc);
}

#endif
