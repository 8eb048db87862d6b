/* dtlskit's side of the benchmark: both ends in one process, datagrams
 * handed over in memory, the server behind the stateless cookie gate as the
 * endpoint runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "dtlskit/dtlskit.h"

#define DQ_MAX 32
#define DQ_SLOT 17000
#define NOW_MS 1000000u

typedef struct dgq {
    uint8_t *buf; /* DQ_MAX * DQ_SLOT */
    size_t len[DQ_MAX];
    size_t n;
} dgq;

typedef struct dk_kind_cfg {
    dk_config *s, *c;
} dk_kind_cfg;

static dk_kind_cfg g_cfg[3];
static dk_config *g_big_s, *g_big_c; /* records of the largest size */
static dgq g_to_s, g_to_c;
static uint32_t g_peer;

static void must(dk_result r, const char *what)
{
    if (r != DK_OK) bench_die("dtlskit: %s: %s", what, dk_strerror(r));
}

static dk_config *server_cfg(hs_kind k, size_t mtu)
{
    dk_config *s = dk_config_new(DK_ROLE_SERVER);
    if (!s) bench_die("dtlskit: config");
    uint16_t suite = k == HS_PSK_CCM8 ? DK_TLS_PSK_WITH_AES_128_CCM_8
                                      : DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    uint16_t groups[2] = {DK_GROUP_SECP256R1, 0};
    size_t ngroups = 1;
    if (k == HS_ECDSA_X25519) {
        groups[0] = DK_GROUP_X25519; /* the P-256 certificate's curve second (RFC 8422 5.1) */
        groups[1] = DK_GROUP_SECP256R1;
        ngroups = 2;
    }
    if (k == HS_PSK_CCM8) {
        must(dk_config_set_psk(s, (const uint8_t *)BENCH_PSK_ID, strlen(BENCH_PSK_ID), bench_psk,
                               sizeof bench_psk),
             "psk");
    } else {
        must(dk_config_set_cert_chain_file(s, BENCH_CERT("ec-server-chain.pem")), "chain");
        must(dk_config_set_private_key_file(s, BENCH_CERT("ec-server.key")), "key");
    }
    must(dk_config_set_cipher_suites(s, &suite, 1), "suite");
    must(dk_config_set_groups(s, groups, ngroups), "group");
    must(dk_config_set_mtu(s, mtu), "mtu");
    return s;
}

static dk_config *client_cfg(hs_kind k, size_t mtu)
{
    dk_config *c = dk_config_new(DK_ROLE_CLIENT);
    if (!c) bench_die("dtlskit: config");
    uint16_t suite = k == HS_PSK_CCM8 ? DK_TLS_PSK_WITH_AES_128_CCM_8
                                      : DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256;
    uint16_t groups[2] = {DK_GROUP_SECP256R1, 0};
    size_t ngroups = 1;
    if (k == HS_ECDSA_X25519) {
        groups[0] = DK_GROUP_X25519;
        groups[1] = DK_GROUP_SECP256R1;
        ngroups = 2;
    }
    if (k == HS_PSK_CCM8) {
        must(dk_config_set_psk(c, (const uint8_t *)BENCH_PSK_ID, strlen(BENCH_PSK_ID), bench_psk,
                               sizeof bench_psk),
             "psk");
    } else {
        must(dk_config_set_ca_file(c, BENCH_CERT("ec-ca.pem")), "ca");
    }
    must(dk_config_set_cipher_suites(c, &suite, 1), "suite");
    must(dk_config_set_groups(c, groups, ngroups), "group");
    must(dk_config_set_mtu(c, mtu), "mtu");
    return c;
}

void dk_side_init(void)
{
    for (int k = 0; k < 3; k++) {
        g_cfg[k].s = server_cfg((hs_kind)k, BENCH_MTU);
        g_cfg[k].c = client_cfg((hs_kind)k, BENCH_MTU);
    }
    g_big_s = server_cfg(HS_ECDSA_P256, 16384);
    g_big_c = client_cfg(HS_ECDSA_P256, 16384);
    g_to_s.buf = malloc(DQ_MAX * DQ_SLOT);
    g_to_c.buf = malloc(DQ_MAX * DQ_SLOT);
    if (!g_to_s.buf || !g_to_c.buf) bench_die("out of memory");
}

void dk_side_free(void)
{
    for (int k = 0; k < 3; k++) {
        dk_config_free(g_cfg[k].s);
        dk_config_free(g_cfg[k].c);
    }
    dk_config_free(g_big_s);
    dk_config_free(g_big_c);
    free(g_to_s.buf);
    free(g_to_c.buf);
}

static void drain(dk_conn *c, dgq *q)
{
    size_t n;
    while (q->n < DQ_MAX && dk_conn_poll_datagram(c, q->buf + q->n * DQ_SLOT, DQ_SLOT, &n) == DK_OK)
        q->len[q->n++] = n;
}

typedef struct pair {
    dk_conn *s, *c;
    uint8_t peer[6];
} pair;

/* The server endpoint's first steps, in memory: gate, then a connection. */
static void to_server(const dk_config *scfg, pair *p, double *scpu)
{
    double t0 = bench_split_start();
    for (size_t i = 0; i < g_to_s.n; i++) {
        uint8_t *d = g_to_s.buf + i * DQ_SLOT;
        if (!p->s) {
            size_t n = 0;
            uint8_t *out = g_to_c.buf + g_to_c.n * DQ_SLOT;
            dk_gate_verdict v = dk_server_gate(scfg, p->peer, sizeof p->peer, d, g_to_s.len[i],
                                               NOW_MS, out, DQ_SLOT, &n);
            if (v == DK_GATE_HVR) g_to_c.len[g_to_c.n++] = n;
            if (v != DK_GATE_ACCEPT) continue;
            p->s = dk_conn_new(scfg, p->peer, sizeof p->peer);
            if (!p->s) bench_die("dtlskit: dk_conn_new");
        }
        dk_result r = dk_conn_receive(p->s, d, g_to_s.len[i], NOW_MS);
        if (r < 0) bench_die("dtlskit server: %s", dk_conn_error_reason(p->s));
    }
    g_to_s.n = 0;
    if (p->s) drain(p->s, &g_to_c);
    bench_split_add(scpu, t0);
}

static void to_client(pair *p, double *ccpu)
{
    double t0 = bench_split_start();
    for (size_t i = 0; i < g_to_c.n; i++) {
        dk_result r = dk_conn_receive(p->c, g_to_c.buf + i * DQ_SLOT, g_to_c.len[i], NOW_MS);
        if (r < 0) bench_die("dtlskit client: %s", dk_conn_error_reason(p->c));
    }
    g_to_c.n = 0;
    drain(p->c, &g_to_s);
    bench_split_add(ccpu, t0);
}

static void pair_handshake(const dk_config *scfg, const dk_config *ccfg, pair *p, double *scpu,
                           double *ccpu)
{
    memset(p, 0, sizeof *p);
    uint32_t id = ++g_peer;
    memcpy(p->peer, "\x7f\x00", 2);
    memcpy(p->peer + 2, &id, 4);
    double t0 = bench_split_start();
    p->c = dk_conn_new(ccfg, NULL, 0);
    if (!p->c) bench_die("dtlskit: client conn");
    must(dk_conn_set_server_name(p->c, BENCH_HOST), "server name");
    must(dk_conn_connect(p->c, NOW_MS), "connect");
    drain(p->c, &g_to_s);
    bench_split_add(ccpu, t0);
    for (int round = 0; round < 16; round++) {
        to_server(scfg, p, scpu);
        to_client(p, ccpu);
        if (dk_conn_state(p->c) == DK_STATE_ESTABLISHED && p->s &&
            dk_conn_state(p->s) == DK_STATE_ESTABLISHED)
            return;
    }
    bench_die("dtlskit: handshake did not complete");
}

static void pair_free(pair *p)
{
    dk_conn_free(p->c);
    dk_conn_free(p->s);
}

/* n handshakes of kind *(hs_kind *)arg: operations and (with the split on)
 * per-side CPU into m; the caller times the chunk. */
void dk_handshake_step(void *arg, int n, bench_m *m)
{
    hs_kind k = *(const hs_kind *)arg;
    for (int i = 0; i < n; i++) {
        pair p;
        pair_handshake(g_cfg[k].s, g_cfg[k].c, &p, &m->server_cpu, &m->client_cpu);
        double t0 = bench_split_start(), free_cpu = 0;
        pair_free(&p);
        bench_split_add(&free_cpu, t0);
        m->server_cpu += free_cpu / 2;
        m->client_cpu += free_cpu / 2;
        m->ops++;
    }
}

size_t dk_max_record(void)
{
    pair p;
    double a = 0, b = 0;
    pair_handshake(g_big_s, g_big_c, &p, &a, &b);
    size_t n = dk_conn_data_mtu(p.c);
    pair_free(&p);
    return n;
}

typedef struct dk_rec_loop {
    pair p;
    size_t len;
    uint8_t *msg, *rx, *dg;
    unsigned i;
} dk_rec_loop;

void *dk_records_open(size_t len)
{
    bool big = len > 1300;
    dk_rec_loop *l = calloc(1, sizeof *l);
    if (!l) bench_die("out of memory");
    double a = 0, b = 0;
    pair_handshake(big ? g_big_s : g_cfg[0].s, big ? g_big_c : g_cfg[0].c, &l->p, &a, &b);
    l->len = len;
    l->msg = calloc(1, len);
    l->rx = malloc(len + 64);
    l->dg = malloc(len + 128);
    if (!l->msg || !l->rx || !l->dg) bench_die("out of memory");
    return l;
}

/* n records: sealed by the client into a datagram, opened by the server and
 * handed over where they were decrypted, through the zero-copy calls the
 * endpoint uses (dk_conn_write_datagram, dk_conn_read_view). */
void dk_records_step(void *arg, int n, bench_m *m)
{
    dk_rec_loop *l = arg;
    for (int k = 0; k < n; k++, l->i++) {
        size_t dn, got;
        const uint8_t *view;
        l->msg[0] = (uint8_t)l->i;
        must(dk_conn_write_datagram(l->p.c, l->msg, l->len, l->dg, l->len + 128, &dn), "write");
        must(dk_conn_receive(l->p.s, l->dg, dn, NOW_MS), "receive");
        must(dk_conn_read_view(l->p.s, &view, &got), "read");
        if (got != l->len || view[0] != (uint8_t)l->i || view[got - 1] != 0)
            bench_die("dtlskit: record mismatch");
    }
    m->ops += n;
}

void dk_records_close(void *arg)
{
    dk_rec_loop *l = arg;
    free(l->msg);
    free(l->rx);
    free(l->dg);
    pair_free(&l->p);
    free(l);
}

/* A real first ClientHello (no cookie), as a template. */
static size_t hello_template(uint8_t *out, size_t cap)
{
    dk_conn *c = dk_conn_new(g_cfg[HS_ECDSA_P256].c, NULL, 0);
    if (!c) bench_die("dtlskit: conn");
    must(dk_conn_set_server_name(c, BENCH_HOST), "sni");
    must(dk_conn_connect(c, NOW_MS), "connect");
    size_t n;
    must(dk_conn_poll_datagram(c, out, cap, &n), "poll");
    dk_conn_free(c);
    return n;
}

/* Stateless HelloVerifyRequests: every ClientHello has its own random and
 * comes from its own address; nothing is cached. */
typedef struct dk_hvr_ctx {
    const dk_config *s;
    uint8_t peer[18], out[256];
} dk_hvr_ctx;

static void dk_hvr_answer(void *arg, const uint8_t *ch, size_t len, uint32_t ctr)
{
    dk_hvr_ctx *x = arg;
    memcpy(x->peer + 4, &ctr, 4); /* address */
    size_t n = 0;
    if (dk_server_gate(x->s, x->peer, sizeof x->peer, ch, len, NOW_MS, x->out, sizeof x->out, &n) !=
        DK_GATE_HVR)
        bench_die("dtlskit: gate did not answer with a HelloVerifyRequest");
}

bench_m dk_hvr(void)
{
    uint8_t ch[2048];
    size_t len = hello_template(ch, sizeof ch);
    dk_hvr_ctx x = {.s = g_cfg[HS_ECDSA_P256].s, .peer = {2}};
    return bench_hvr_loop(ch, len, dk_hvr_answer, &x);
}

void dk_heap(size_t n, double *server, double *client)
{
    pair *p = calloc(n, sizeof *p);
    if (!p) bench_die("out of memory");
    double a = 0, b = 0;
    pair warm; /* first-use caches (cookie secret, algorithm fetches) */
    pair_handshake(g_cfg[0].s, g_cfg[0].c, &warm, &a, &b);
    pair_free(&warm);
    heap_start();
    for (size_t i = 0; i < n; i++) pair_handshake(g_cfg[0].s, g_cfg[0].c, &p[i], &a, &b);
    long long both = heap_live();
    for (size_t i = 0; i < n; i++) dk_conn_free(p[i].c);
    long long srv = heap_live();
    for (size_t i = 0; i < n; i++) dk_conn_free(p[i].s);
    long long rest = heap_live();
    heap_stop();
    *server = (double)(srv - rest) / (double)n;
    *client = (double)(both - srv) / (double)n;
    free(p);
}
