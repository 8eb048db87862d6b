/* OpenSSL's side of the benchmark: libssl DTLS 1.2, both ends in one
 * process over an in-memory datagram BIO (one BIO_write is one datagram,
 * one BIO_read returns one datagram, as a UDP socket would), with the same
 * certificate, suite, group, MTU, EMS (OpenSSL's default), cookie exchange
 * (HMAC-SHA256 over the peer's address, like dtlskit's) and no session
 * cache or tickets. The client verifies the chain and the host name. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define LINK_SLOTS 32
#define LINK_SLOT 17000

/* A one-way in-memory datagram link. */
typedef struct dlink {
    uint8_t *buf;
    size_t len[LINK_SLOTS];
    size_t head, n;
} dlink;

static BIO_METHOD *g_meth;
static SSL_CTX *g_sctx[3], *g_cctx[3], *g_big_sctx, *g_big_cctx;
static uint8_t g_cookie_key[32];
static uint32_t g_peer_ctr;

static int link_write(BIO *b, const char *data, int len)
{
    dlink *l = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (l->n == LINK_SLOTS || len < 0 || len > LINK_SLOT) return -1;
    size_t i = (l->head + l->n) % LINK_SLOTS;
    memcpy(l->buf + i * LINK_SLOT, data, (size_t)len);
    l->len[i] = (size_t)len;
    l->n++;
    return len;
}

static int link_read(BIO *b, char *out, int cap)
{
    dlink *l = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (l->n == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = l->len[l->head];
    if ((size_t)cap < n) n = (size_t)cap; /* truncated, as recv would */
    memcpy(out, l->buf + l->head * LINK_SLOT, n);
    l->head = (l->head + 1) % LINK_SLOTS;
    l->n--;
    return (int)n;
}

static long link_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    dlink *l = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return l && l->n ? (long)l->len[l->head] : 0;
    case BIO_CTRL_WPENDING: return 0;
    case BIO_CTRL_DGRAM_QUERY_MTU: return BENCH_MTU;
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU: return BENCH_MTU;
    case BIO_CTRL_DGRAM_MTU_EXCEEDED: return 0;
    case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT: return 0;
    default: return 0;
    }
}

static int link_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static dlink *link_new(void)
{
    dlink *l = calloc(1, sizeof *l);
    if (l) l->buf = malloc(LINK_SLOTS * LINK_SLOT);
    if (!l || !l->buf) bench_die("out of memory");
    return l;
}

static void link_free(dlink *l)
{
    if (l) free(l->buf);
    free(l);
}

/* ---- contexts ------------------------------------------------------------- */

static void ossl_die(const char *what)
{
    ERR_print_errors_fp(stderr);
    bench_die("openssl: %s", what);
}

/* Cookie = HMAC-SHA256(key, peer address), as dtlskit binds its cookie to
 * the address. The "address" is per SSL object (ex_data-free: app data). */
static int cookie_gen(SSL *ssl, unsigned char *cookie, unsigned int *len)
{
    const uint32_t *peer = SSL_get_app_data(ssl);
    unsigned int n = 0;
    if (!HMAC(EVP_sha256(), g_cookie_key, sizeof g_cookie_key, (const uint8_t *)peer,
              sizeof *peer, cookie, &n))
        return 0;
    *len = n;
    return 1;
}

static int cookie_verify(SSL *ssl, const unsigned char *cookie, unsigned int len)
{
    uint8_t want[EVP_MAX_MD_SIZE];
    unsigned int n;
    if (!cookie_gen(ssl, want, &n)) return 0;
    return len == n && CRYPTO_memcmp(cookie, want, n) == 0;
}

static unsigned int psk_client_cb(SSL *ssl, const char *hint, char *identity,
                                  unsigned int max_id, unsigned char *psk, unsigned int max_psk)
{
    strncpy(identity, BENCH_PSK_ID, max_id);
    memcpy(psk, bench_psk, sizeof bench_psk);
    return sizeof bench_psk;
}

static unsigned int psk_server_cb(SSL *ssl, const char *identity, unsigned char *psk,
                                  unsigned int max_psk)
{
    if (strcmp(identity, BENCH_PSK_ID) != 0) return 0;
    memcpy(psk, bench_psk, sizeof bench_psk);
    return sizeof bench_psk;
}

static void common_ctx(SSL_CTX *ctx, hs_kind k)
{
    SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET | SSL_OP_NO_QUERY_MTU);
    const char *suite = k == HS_PSK_CCM8 ? "PSK-AES128-CCM8" : "ECDHE-ECDSA-AES128-GCM-SHA256";
    /* OpenSSL 3 puts the 64-bit-tag CCM_8 suites below its default
     * security level; dtlskit offers them when configured. */
    if (k == HS_PSK_CCM8) SSL_CTX_set_security_level(ctx, 0);
    if (SSL_CTX_set_cipher_list(ctx, suite) != 1) ossl_die("cipher list");
    /* RFC 8422 5.1: an ECDSA certificate's curve must be among the client's
     * groups, so the X25519 row offers P-256 second (both stacks). */
    const char *group = k == HS_ECDSA_X25519 ? "X25519:P-256" : "P-256";
    if (SSL_CTX_set1_groups_list(ctx, group) != 1) ossl_die("groups");
}

static SSL_CTX *server_ctx(hs_kind k)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_server_method());
    if (!ctx) ossl_die("SSL_CTX_new");
    common_ctx(ctx, k);
    if (k == HS_PSK_CCM8) {
        SSL_CTX_set_psk_server_callback(ctx, psk_server_cb);
    } else {
        if (SSL_CTX_use_certificate_chain_file(ctx, BENCH_CERT("ec-server-chain.pem")) != 1)
            ossl_die("chain");
        if (SSL_CTX_use_PrivateKey_file(ctx, BENCH_CERT("ec-server.key"), SSL_FILETYPE_PEM) != 1)
            ossl_die("key");
    }
    SSL_CTX_set_options(ctx, SSL_OP_COOKIE_EXCHANGE);
    SSL_CTX_set_cookie_generate_cb(ctx, cookie_gen);
    SSL_CTX_set_cookie_verify_cb(ctx, cookie_verify);
    return ctx;
}

static SSL_CTX *client_ctx(hs_kind k)
{
    SSL_CTX *ctx = SSL_CTX_new(DTLS_client_method());
    if (!ctx) ossl_die("SSL_CTX_new");
    common_ctx(ctx, k);
    if (k == HS_PSK_CCM8) {
        SSL_CTX_set_psk_client_callback(ctx, psk_client_cb);
    } else {
        if (SSL_CTX_load_verify_locations(ctx, BENCH_CERT("ec-ca.pem"), NULL) != 1) ossl_die("ca");
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    return ctx;
}

void ossl_side_init(void)
{
    g_meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "bench dgram link");
    BIO_meth_set_write(g_meth, link_write);
    BIO_meth_set_read(g_meth, link_read);
    BIO_meth_set_ctrl(g_meth, link_ctrl);
    BIO_meth_set_create(g_meth, link_create);
    for (int k = 0; k < 3; k++) {
        g_sctx[k] = server_ctx((hs_kind)k);
        g_cctx[k] = client_ctx((hs_kind)k);
    }
    g_big_sctx = server_ctx(HS_ECDSA_P256);
    g_big_cctx = client_ctx(HS_ECDSA_P256);
    memset(g_cookie_key, 0x5a, sizeof g_cookie_key);
}

void ossl_side_free(void)
{
    for (int k = 0; k < 3; k++) {
        SSL_CTX_free(g_sctx[k]);
        SSL_CTX_free(g_cctx[k]);
    }
    SSL_CTX_free(g_big_sctx);
    SSL_CTX_free(g_big_cctx);
    BIO_meth_free(g_meth);
}

/* ---- a pair ------------------------------------------------------------------ */

typedef struct opair {
    SSL *s, *c;
    dlink *to_s, *to_c;
    uint32_t peer;
} opair;

static BIO *link_bio(dlink *l)
{
    BIO *b = BIO_new(g_meth);
    if (!b) ossl_die("BIO_new");
    BIO_set_data(b, l);
    return b;
}

static void opair_new(opair *p, SSL_CTX *sctx, SSL_CTX *cctx, size_t mtu, dlink *to_s, dlink *to_c)
{
    p->to_s = to_s;
    p->to_c = to_c;
    p->peer = ++g_peer_ctr;
    p->s = SSL_new(sctx);
    p->c = SSL_new(cctx);
    if (!p->s || !p->c) ossl_die("SSL_new");
    SSL_set_app_data(p->s, &p->peer);
    SSL_set_bio(p->s, link_bio(to_s), link_bio(to_c));
    SSL_set_bio(p->c, link_bio(to_c), link_bio(to_s));
    SSL_set_accept_state(p->s);
    SSL_set_connect_state(p->c);
    SSL_set_mtu(p->s, (long)mtu);
    SSL_set_mtu(p->c, (long)mtu);
    if (SSL_set_tlsext_host_name(p->c, BENCH_HOST) != 1) ossl_die("sni");
    if (SSL_set1_host(p->c, BENCH_HOST) != 1) ossl_die("host check");
}

static void opair_free(opair *p)
{
    SSL_free(p->s);
    SSL_free(p->c);
}

static bool step(SSL *ssl, double *cpu)
{
    double t0 = bench_split_start();
    int r = SSL_do_handshake(ssl);
    bench_split_add(cpu, t0);
    if (r == 1) return true;
    int e = SSL_get_error(ssl, r);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) ossl_die("handshake");
    return false;
}

static void opair_handshake(opair *p, double *scpu, double *ccpu)
{
    bool cd = false, sd = false;
    for (int round = 0; round < 32 && !(cd && sd); round++) {
        cd = step(p->c, ccpu);
        sd = step(p->s, scpu);
    }
    if (!(cd && sd)) bench_die("openssl: handshake did not complete");
    if (SSL_get_verify_result(p->c) != X509_V_OK && SSL_get0_peer_certificate(p->c))
        bench_die("openssl: verification failed");
}

/* n handshakes of kind *(hs_kind *)arg (see dk_handshake_step). */
void ossl_handshake_step(void *arg, int n, bench_m *m)
{
    hs_kind k = *(const hs_kind *)arg;
    static dlink *a, *b;
    if (!a) a = link_new();
    if (!b) b = link_new();
    for (int i = 0; i < n; i++) {
        opair p;
        double t0 = bench_split_start(), setup = 0;
        opair_new(&p, g_sctx[k], g_cctx[k], BENCH_MTU, a, b);
        bench_split_add(&setup, t0);
        opair_handshake(&p, &m->server_cpu, &m->client_cpu);
        t0 = bench_split_start();
        opair_free(&p);
        bench_split_add(&setup, t0);
        m->server_cpu += setup / 2;
        m->client_cpu += setup / 2;
        m->ops++;
    }
}

size_t ossl_max_record(void)
{
    return 16384;
}

typedef struct ossl_rec_loop {
    dlink *a, *b;
    opair p;
    size_t len;
    uint8_t *msg, *rx;
    unsigned i;
} ossl_rec_loop;

void *ossl_records_open(size_t len)
{
    bool big = len > 1300;
    ossl_rec_loop *l = calloc(1, sizeof *l);
    if (!l) bench_die("out of memory");
    l->a = link_new();
    l->b = link_new();
    double x = 0, y = 0;
    opair_new(&l->p, big ? g_big_sctx : g_sctx[0], big ? g_big_cctx : g_cctx[0],
              big ? 16384 : BENCH_MTU, l->a, l->b);
    opair_handshake(&l->p, &x, &y);
    l->len = len;
    l->msg = calloc(1, len);
    l->rx = malloc(len + 64);
    if (!l->msg || !l->rx) bench_die("out of memory");
    return l;
}

void ossl_records_step(void *arg, int n, bench_m *m)
{
    ossl_rec_loop *l = arg;
    for (int k = 0; k < n; k++, l->i++) {
        l->msg[0] = (uint8_t)l->i;
        if (SSL_write(l->p.c, l->msg, (int)l->len) != (int)l->len) ossl_die("SSL_write");
        int got = SSL_read(l->p.s, l->rx, (int)l->len + 64);
        if (got != (int)l->len || l->rx[0] != (uint8_t)l->i) ossl_die("SSL_read");
    }
    m->ops += n;
}

void ossl_records_close(void *arg)
{
    ossl_rec_loop *l = arg;
    free(l->msg);
    free(l->rx);
    opair_free(&l->p);
    link_free(l->a);
    link_free(l->b);
    free(l);
}

/* DTLSv1_listen answers ClientHellos without a cookie statelessly. The
 * ClientHello template is OpenSSL's own first flight; each one gets its own
 * random and "address" (the cookie input). */
typedef struct ossl_hvr_ctx {
    opair *p;
    dlink *b;
    BIO_ADDR *addr;
} ossl_hvr_ctx;

static void ossl_hvr_answer(void *arg, const uint8_t *ch, size_t len, uint32_t ctr)
{
    ossl_hvr_ctx *x = arg;
    x->p->peer = ctr;
    if (link_write(SSL_get_rbio(x->p->s), (const char *)ch, (int)len) < 0) bench_die("link");
    if (DTLSv1_listen(x->p->s, x->addr) != 0) ossl_die("DTLSv1_listen did not send an HVR");
    if (x->b->n != 1) bench_die("openssl: no HelloVerifyRequest");
    x->b->n = 0;
    x->b->head = 0;
}

bench_m ossl_hvr(void)
{
    dlink *a = link_new(), *b = link_new();
    opair p;
    opair_new(&p, g_sctx[0], g_cctx[0], BENCH_MTU, a, b);
    double x = 0;
    (void)step(p.c, &x);
    if (a->n != 1) bench_die("openssl: no ClientHello");
    size_t len = a->len[a->head];
    uint8_t ch[2048];
    memcpy(ch, a->buf + a->head * LINK_SLOT, len);
    a->n = 0;
    a->head = 0;
    ossl_hvr_ctx ctx = {&p, b, BIO_ADDR_new()};
    bench_m m = bench_hvr_loop(ch, len, ossl_hvr_answer, &ctx);
    BIO_ADDR_free(ctx.addr);
    opair_free(&p);
    link_free(a);
    link_free(b);
    return m;
}

void ossl_heap(size_t n, double *server, double *client)
{
    dlink **links = calloc(2 * n, sizeof *links);
    opair *p = calloc(n, sizeof *p);
    if (!links || !p) bench_die("out of memory");
    for (size_t i = 0; i < 2 * n; i++) links[i] = link_new();
    double x = 0, y = 0;
    opair warm;
    dlink *wa = link_new(), *wb = link_new();
    opair_new(&warm, g_sctx[0], g_cctx[0], BENCH_MTU, wa, wb);
    opair_handshake(&warm, &x, &y);
    opair_free(&warm);
    heap_start();
    for (size_t i = 0; i < n; i++) {
        opair_new(&p[i], g_sctx[0], g_cctx[0], BENCH_MTU, links[2 * i], links[2 * i + 1]);
        opair_handshake(&p[i], &x, &y);
    }
    long long both = heap_live();
    for (size_t i = 0; i < n; i++) SSL_free(p[i].c);
    long long srv = heap_live();
    for (size_t i = 0; i < n; i++) SSL_free(p[i].s);
    long long rest = heap_live();
    heap_stop();
    *server = (double)(srv - rest) / (double)n;
    *client = (double)(both - srv) / (double)n;
    for (size_t i = 0; i < 2 * n; i++) link_free(links[i]);
    link_free(wa);
    link_free(wb);
    free(links);
    free(p);
}
