/* GnuTLS's side of the benchmark: DTLS 1.2 with both ends in one process
 * over in-memory datagram queues (one push is one datagram, one pull returns
 * one datagram or EAGAIN, as a UDP socket would), with the same certificate,
 * suite, groups, MTU, EMS (GnuTLS's default) and no session tickets or
 * session cache as the other stacks. The server answers the first
 * ClientHello statelessly with gnutls_dtls_cookie_send (the cookie bound to
 * the client's "address" bytes) and creates its session only once
 * gnutls_dtls_cookie_verify accepts the second, as the GnuTLS manual's DTLS
 * server does. The client verifies the chain and the host name inside the
 * handshake (gnutls_session_set_verify_cert). */
#include <errno.h>
#include <gnutls/dtls.h>
#include <gnutls/gnutls.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define GQ_SLOTS 32
#define GQ_SLOT 17000

/* A one-way in-memory datagram queue. */
typedef struct gq {
    uint8_t *buf;
    size_t len[GQ_SLOTS];
    size_t head, n;
} gq;

/* One end's transport: what it reads from and writes to. */
typedef struct gend {
    gnutls_session_t s;
    gq *in, *out;
} gend;

static gnutls_priority_t g_prio[3];
static gnutls_certificate_credentials_t g_scert, g_ccert;
static gnutls_psk_server_credentials_t g_spsk;
static gnutls_psk_client_credentials_t g_cpsk;
static gnutls_datum_t g_cookie_key;
static uint32_t g_peer_ctr;

static void gtls_fail(const char *what, int r)
{
    bench_die("gnutls: %s: %s", what, gnutls_strerror(r));
}

static void must(int r, const char *what)
{
    if (r < 0) gtls_fail(what, r);
}

static gq *gq_new(void)
{
    gq *q = calloc(1, sizeof *q);
    if (q) q->buf = malloc(GQ_SLOTS * GQ_SLOT);
    if (!q || !q->buf) bench_die("out of memory");
    return q;
}

static void gq_free(gq *q)
{
    if (q) free(q->buf);
    free(q);
}

static void gq_pop(gq *q)
{
    q->head = (q->head + 1) % GQ_SLOTS;
    q->n--;
}

static ssize_t q_push(gq *q, const void *data, size_t len)
{
    if (q->n == GQ_SLOTS || len > GQ_SLOT) return -1;
    size_t i = (q->head + q->n) % GQ_SLOTS;
    memcpy(q->buf + i * GQ_SLOT, data, len);
    q->len[i] = len;
    q->n++;
    return (ssize_t)len;
}

static ssize_t end_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    gend *e = p;
    ssize_t r = q_push(e->out, data, len);
    if (r < 0) gnutls_transport_set_errno(e->s, ENOBUFS);
    return r;
}

/* gnutls_dtls_cookie_send's push: no session yet, the pointer is the queue. */
static ssize_t queue_push(gnutls_transport_ptr_t p, const void *data, size_t len)
{
    return q_push(p, data, len);
}

static ssize_t end_pull(gnutls_transport_ptr_t p, void *out, size_t cap)
{
    gend *e = p;
    if (e->in->n == 0) {
        gnutls_transport_set_errno(e->s, EAGAIN);
        return -1;
    }
    size_t n = e->in->len[e->in->head];
    if (cap < n) n = cap; /* truncated, as recv would */
    memcpy(out, e->in->buf + e->in->head * GQ_SLOT, n);
    gq_pop(e->in);
    return (ssize_t)n;
}

/* Data waiting, or "timed out" at once: the sessions are non-blocking. */
static int end_pull_timeout(gnutls_transport_ptr_t p, unsigned int ms)
{
    (void)ms;
    const gend *e = p;
    return e->in->n ? 1 : 0;
}

/* ---- credentials and priorities ----------------------------------------------- */

static int psk_server_cb(gnutls_session_t s, const char *user, gnutls_datum_t *key)
{
    (void)s;
    if (strcmp(user, BENCH_PSK_ID) != 0) return -1;
    key->data = gnutls_malloc(sizeof bench_psk);
    if (!key->data) return -1;
    memcpy(key->data, bench_psk, sizeof bench_psk);
    key->size = sizeof bench_psk;
    return 0;
}

void gtls_side_init(void)
{
    must(gnutls_global_init(), "global init");
    /* DTLS 1.2 only, one suite; the X25519 row offers P-256 second (RFC 8422
     * 5.1: the certificate's curve must be among the client's groups), as
     * the other stacks do. */
    static const char *const prio[3] = {
        [HS_ECDSA_P256] = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:"
                          "+AES-128-GCM:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-SECP256R1",
        [HS_ECDSA_X25519] = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+ECDHE-ECDSA:-CIPHER-ALL:"
                            "+AES-128-GCM:-MAC-ALL:+AEAD:-GROUP-ALL:+GROUP-X25519:"
                            "+GROUP-SECP256R1",
        [HS_PSK_CCM8] = "NORMAL:-VERS-ALL:+VERS-DTLS1.2:-KX-ALL:+PSK:-CIPHER-ALL:"
                        "+AES-128-CCM-8:-MAC-ALL:+AEAD",
    };
    for (int k = 0; k < 3; k++) must(gnutls_priority_init(&g_prio[k], prio[k], NULL), prio[k]);
    must(gnutls_certificate_allocate_credentials(&g_scert), "server credentials");
    must(gnutls_certificate_set_x509_key_file(g_scert, BENCH_CERT("ec-server-chain.pem"),
                                              BENCH_CERT("ec-server.key"), GNUTLS_X509_FMT_PEM),
         "server chain and key");
    must(gnutls_certificate_allocate_credentials(&g_ccert), "client credentials");
    if (gnutls_certificate_set_x509_trust_file(g_ccert, BENCH_CERT("ec-ca.pem"),
                                               GNUTLS_X509_FMT_PEM) != 1)
        bench_die("gnutls: ec-ca.pem: expected one trusted certificate");
    must(gnutls_psk_allocate_server_credentials(&g_spsk), "psk server credentials");
    gnutls_psk_set_server_credentials_function(g_spsk, psk_server_cb);
    must(gnutls_psk_allocate_client_credentials(&g_cpsk), "psk client credentials");
    gnutls_datum_t key = {(unsigned char *)bench_psk, sizeof bench_psk};
    must(gnutls_psk_set_client_credentials(g_cpsk, BENCH_PSK_ID, &key, GNUTLS_PSK_KEY_RAW),
         "psk client key");
    must(gnutls_key_generate(&g_cookie_key, GNUTLS_COOKIE_KEY_SIZE), "cookie key");
}

void gtls_side_free(void)
{
    for (int k = 0; k < 3; k++) gnutls_priority_deinit(g_prio[k]);
    gnutls_certificate_free_credentials(g_scert);
    gnutls_certificate_free_credentials(g_ccert);
    gnutls_psk_free_server_credentials(g_spsk);
    gnutls_psk_free_client_credentials(g_cpsk);
    gnutls_free(g_cookie_key.data);
    gnutls_global_deinit();
}

/* ---- a pair -------------------------------------------------------------------- */

typedef struct gpair {
    hs_kind k;
    size_t mtu;
    gend s, c;
    gq *to_s, *to_c;
    uint32_t peer; /* the client's "address", the cookie's input */
    int hvrs;      /* HelloVerifyRequests sent */
    bool s_done, c_done;
} gpair;

static void end_setup(gend *e, hs_kind k, size_t mtu)
{
    gnutls_session_t s = e->s;
    must(gnutls_priority_set(s, g_prio[k]), "priority");
    gnutls_transport_set_ptr(s, e);
    gnutls_transport_set_push_function(s, end_push);
    gnutls_transport_set_pull_function(s, end_pull);
    gnutls_transport_set_pull_timeout_function(s, end_pull_timeout);
    gnutls_dtls_set_mtu(s, (unsigned)mtu);
}

static void client_new(gpair *p)
{
    gend *e = &p->c;
    must(gnutls_init(&e->s, GNUTLS_CLIENT | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS),
         "client init");
    end_setup(e, p->k, p->mtu);
    if (p->k == HS_PSK_CCM8) {
        must(gnutls_credentials_set(e->s, GNUTLS_CRD_PSK, g_cpsk), "client psk");
    } else {
        must(gnutls_credentials_set(e->s, GNUTLS_CRD_CERTIFICATE, g_ccert), "client certs");
        must(gnutls_server_name_set(e->s, GNUTLS_NAME_DNS, BENCH_HOST, strlen(BENCH_HOST)),
             "sni");
        gnutls_session_set_verify_cert(e->s, BENCH_HOST, 0);
    }
}

static void server_new(gpair *p, gnutls_dtls_prestate_st *pre)
{
    gend *e = &p->s;
    must(gnutls_init(&e->s, GNUTLS_SERVER | GNUTLS_DATAGRAM | GNUTLS_NONBLOCK | GNUTLS_NO_TICKETS),
         "server init");
    end_setup(e, p->k, p->mtu);
    if (p->k == HS_PSK_CCM8) must(gnutls_credentials_set(e->s, GNUTLS_CRD_PSK, g_spsk), "psk");
    else must(gnutls_credentials_set(e->s, GNUTLS_CRD_CERTIFICATE, g_scert), "server certs");
    gnutls_dtls_prestate_set(e->s, pre);
}

static void gpair_init(gpair *p, hs_kind k, size_t mtu, gq *to_s, gq *to_c)
{
    memset(p, 0, sizeof *p);
    p->k = k;
    p->mtu = mtu;
    p->to_s = to_s;
    p->to_c = to_c;
    p->s = (gend){NULL, to_s, to_c};
    p->c = (gend){NULL, to_c, to_s};
    p->peer = ++g_peer_ctr;
}

static bool hs_step(gend *e, const char *who)
{
    int r = gnutls_handshake(e->s);
    if (r == 0) return true;
    if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED) gtls_fail(who, r);
    return false;
}

/* The server's turn: before it has a session, the cookie gate (the
 * ClientHello stays queued when it passes, for the new session to read);
 * then its handshake. */
static void server_turn(gpair *p, double *scpu)
{
    double t0 = bench_split_start();
    while (!p->s.s && p->to_s->n) {
        gq *q = p->to_s;
        gnutls_dtls_prestate_st pre;
        memset(&pre, 0, sizeof pre);
        int r = gnutls_dtls_cookie_verify(&g_cookie_key, &p->peer, sizeof p->peer,
                                          q->buf + q->head * GQ_SLOT, q->len[q->head], &pre);
        if (r < 0) {
            must(gnutls_dtls_cookie_send(&g_cookie_key, &p->peer, sizeof p->peer, &pre, p->to_c,
                                         queue_push),
                 "cookie send");
            gq_pop(q);
            p->hvrs++;
            continue;
        }
        server_new(p, &pre);
    }
    if (p->s.s && !p->s_done && p->to_s->n) p->s_done = hs_step(&p->s, "server handshake");
    bench_split_add(scpu, t0);
}

static void client_turn(gpair *p, double *ccpu)
{
    double t0 = bench_split_start();
    if (!p->c_done && p->to_c->n) p->c_done = hs_step(&p->c, "client handshake");
    bench_split_add(ccpu, t0);
}

/* What was negotiated is what the row says: one cookie round trip, the
 * suite, the group, EMS on both ends (cheap getters, checked every time). */
static void check(const gpair *p)
{
    if (p->hvrs != 1) bench_die("gnutls: %d HelloVerifyRequests, expected 1", p->hvrs);
    gnutls_session_t ends[2] = {p->s.s, p->c.s};
    for (int i = 0; i < 2; i++) {
        gnutls_session_t e = ends[i];
        bool psk = p->k == HS_PSK_CCM8;
        if (gnutls_protocol_get_version(e) != GNUTLS_DTLS1_2 ||
            gnutls_cipher_get(e) != (psk ? GNUTLS_CIPHER_AES_128_CCM_8 : GNUTLS_CIPHER_AES_128_GCM) ||
            gnutls_kx_get(e) != (psk ? GNUTLS_KX_PSK : GNUTLS_KX_ECDHE_ECDSA))
            bench_die("gnutls: unexpected version, cipher or key exchange");
        gnutls_group_t want = p->k == HS_ECDSA_X25519 ? GNUTLS_GROUP_X25519 : GNUTLS_GROUP_SECP256R1;
        if (!psk && gnutls_group_get(e) != want) bench_die("gnutls: unexpected group");
        if (!gnutls_session_ext_master_secret_status(e)) bench_die("gnutls: no extended master secret");
        if (gnutls_session_is_resumed(e)) bench_die("gnutls: resumed");
    }
}

static void gpair_handshake(gpair *p, double *scpu, double *ccpu)
{
    double t0 = bench_split_start();
    client_new(p);
    p->c_done = hs_step(&p->c, "client hello");
    bench_split_add(ccpu, t0);
    for (int round = 0; round < 32 && !(p->s_done && p->c_done); round++) {
        server_turn(p, scpu);
        client_turn(p, ccpu);
    }
    if (!(p->s_done && p->c_done)) bench_die("gnutls: handshake did not complete");
    if (p->to_s->n || p->to_c->n) bench_die("gnutls: datagrams left after the handshake");
    check(p);
}

static void gpair_free(gpair *p, double *scpu, double *ccpu)
{
    double t0 = bench_split_start();
    gnutls_deinit(p->c.s);
    bench_split_add(ccpu, t0);
    t0 = bench_split_start();
    gnutls_deinit(p->s.s);
    bench_split_add(scpu, t0);
}

/* n handshakes of kind *(hs_kind *)arg (see dk_handshake_step). */
void gtls_handshake_step(void *arg, int n, bench_m *m)
{
    hs_kind k = *(const hs_kind *)arg;
    static gq *a, *b;
    if (!a) a = gq_new();
    if (!b) b = gq_new();
    for (int i = 0; i < n; i++) {
        gpair p;
        gpair_init(&p, k, BENCH_MTU, a, b);
        gpair_handshake(&p, &m->server_cpu, &m->client_cpu);
        gpair_free(&p, &m->server_cpu, &m->client_cpu);
        m->ops++;
    }
}

/* ---- records ------------------------------------------------------------------- */

typedef struct gt_rec_loop {
    gq *a, *b;
    gpair p;
    size_t len;
    uint8_t *msg, *rx;
    unsigned i;
} gt_rec_loop;

/* MTU-sized records on the handshakes' MTU; longer ones on a 16384-byte MTU,
 * as the other stacks' maximum-size loops. */
void *gtls_records_open(size_t len)
{
    if (len > GQ_SLOT - 64) bench_die("gnutls: record loop for %zu bytes not set up", len);
    gt_rec_loop *l = calloc(1, sizeof *l);
    if (!l) bench_die("out of memory");
    l->a = gq_new();
    l->b = gq_new();
    double x = 0, y = 0;
    gpair_init(&l->p, HS_ECDSA_P256, len > 1300 ? 16384 : BENCH_MTU, l->a, l->b);
    gpair_handshake(&l->p, &x, &y);
    if (gnutls_dtls_get_data_mtu(l->p.c.s) < len) bench_die("gnutls: data MTU below %zu", len);
    l->len = len;
    l->msg = calloc(1, len);
    l->rx = malloc(len + 64);
    if (!l->msg || !l->rx) bench_die("out of memory");
    return l;
}

void gtls_records_step(void *arg, int n, bench_m *m)
{
    gt_rec_loop *l = arg;
    for (int k = 0; k < n; k++, l->i++) {
        l->msg[0] = (uint8_t)l->i;
        ssize_t w = gnutls_record_send(l->p.c.s, l->msg, l->len);
        if (w != (ssize_t)l->len) gtls_fail("gnutls_record_send", (int)w);
        ssize_t got = gnutls_record_recv(l->p.s.s, l->rx, l->len + 64);
        if (got != (ssize_t)l->len || l->rx[0] != (uint8_t)l->i)
            gtls_fail("gnutls_record_recv", got < 0 ? (int)got : 0);
    }
    m->ops += n;
}

void gtls_records_close(void *arg)
{
    gt_rec_loop *l = arg;
    double x = 0, y = 0;
    free(l->msg);
    free(l->rx);
    gpair_free(&l->p, &x, &y);
    gq_free(l->a);
    gq_free(l->b);
    free(l);
}

/* ---- stateless HelloVerifyRequests and heap ------------------------------------- */

/* The server's stateless path for a ClientHello without a cookie, as in the
 * handshakes: gnutls_dtls_cookie_verify refuses it, gnutls_dtls_cookie_send
 * answers. The ClientHello template is GnuTLS's own first flight; each one
 * gets its own random and "address" (the cookie input). */
static void gtls_hvr_answer(void *arg, const uint8_t *ch, size_t len, uint32_t ctr)
{
    gq *b = arg;
    gnutls_dtls_prestate_st pre;
    memset(&pre, 0, sizeof pre);
    if (gnutls_dtls_cookie_verify(&g_cookie_key, &ctr, sizeof ctr, (void *)ch, len, &pre) >= 0)
        bench_die("gnutls: a ClientHello without a cookie passed");
    must(gnutls_dtls_cookie_send(&g_cookie_key, &ctr, sizeof ctr, &pre, b, queue_push),
         "cookie send");
    if (b->n != 1) bench_die("gnutls: no HelloVerifyRequest");
    b->n = 0;
    b->head = 0;
}

bench_m gtls_hvr(void)
{
    gq *a = gq_new(), *b = gq_new();
    gpair p;
    gpair_init(&p, HS_ECDSA_P256, BENCH_MTU, a, b);
    client_new(&p);
    (void)hs_step(&p.c, "client hello");
    if (a->n != 1) bench_die("gnutls: no ClientHello");
    size_t len = a->len[a->head];
    uint8_t ch[2048];
    if (len > sizeof ch) bench_die("gnutls: ClientHello too long");
    memcpy(ch, a->buf + a->head * GQ_SLOT, len);
    bench_m m = bench_hvr_loop(ch, len, gtls_hvr_answer, b);
    gnutls_deinit(p.c.s);
    gq_free(a);
    gq_free(b);
    return m;
}

void gtls_heap(size_t n, double *server, double *client)
{
    gq **qs = calloc(2 * n, sizeof *qs);
    gpair *p = calloc(n, sizeof *p);
    if (!qs || !p) bench_die("out of memory");
    for (size_t i = 0; i < 2 * n; i++) qs[i] = gq_new();
    double x = 0, y = 0;
    gpair warm; /* first-use caches */
    gpair_init(&warm, HS_ECDSA_P256, BENCH_MTU, qs[0], qs[1]);
    gpair_handshake(&warm, &x, &y);
    gpair_free(&warm, &x, &y);
    heap_start();
    for (size_t i = 0; i < n; i++) {
        gpair_init(&p[i], HS_ECDSA_P256, BENCH_MTU, qs[2 * i], qs[2 * i + 1]);
        gpair_handshake(&p[i], &x, &y);
    }
    long long both = heap_live();
    for (size_t i = 0; i < n; i++) gnutls_deinit(p[i].c.s);
    long long srv = heap_live();
    for (size_t i = 0; i < n; i++) gnutls_deinit(p[i].s.s);
    long long rest = heap_live();
    heap_stop();
    *server = (double)(srv - rest) / (double)n;
    *client = (double)(both - srv) / (double)n;
    for (size_t i = 0; i < 2 * n; i++) gq_free(qs[i]);
    free(qs);
    free(p);
}
