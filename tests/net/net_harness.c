#include "net_harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void fatal(const char *what)
{
    fprintf(stderr, "net harness: %s: %s\n", what, strerror(errno));
    abort();
}

static uint16_t port_of(dk_endpoint_conn *c)
{
    socklen_t len;
    const struct sockaddr *sa = dk_endpoint_conn_addr(c, &len);
    return ntohs(((const struct sockaddr_in *)sa)->sin_port);
}

static void push_event(nh *t, nh_kind k, dk_endpoint_conn *c, int why)
{
    if (t->nev >= NH_MAX_EVENTS) return;
    nh_event *e = &t->ev[t->nev++];
    e->kind = k;
    e->conn = c;
    e->why = why;
    e->port = port_of(c);
}

static void on_accept(void *arg, dk_endpoint *ep, dk_endpoint_conn *c) { push_event(arg, NH_ACCEPT, c, 0); }
static void on_connect(void *arg, dk_endpoint *ep, dk_endpoint_conn *c) { push_event(arg, NH_CONNECT, c, 0); }

static void on_data(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *d, size_t n)
{
    nh *t = arg;
    push_event(t, NH_DATA, c, (int)n);
    if (t->echo && dk_endpoint_send(ep, c, d, n) != DK_OK) abort();
}

static void on_close(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_endpoint_close_reason why)
{
    push_event(arg, NH_CLOSE, c, (int)why);
}

static void on_failure(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_result err,
                       const char *reason)
{
    push_event(arg, NH_FAILURE, c, err);
}

void nh_init(nh *t, const char *kind, const dk_endpoint_options *opts)
{
    memset(t, 0, sizeof *t);
    t->now = 1000000;
    t->seed = 42;
    t->scfg = dk_test_server_config(kind);
    t->ccfg = dk_test_client_config(kind);
    if (dk_config_set_timers(t->scfg, 100, 800, 4) != DK_OK) abort();
    if (dk_config_set_timers(t->ccfg, 100, 800, 4) != DK_OK) abort();
    dk_endpoint_options o;
    if (opts) o = *opts;
    else dk_endpoint_options_init(&o);
    o.server = t->scfg;
    o.cb = (dk_endpoint_callbacks){on_accept, on_connect, on_data, on_close, on_failure, t};
    t->ep = dk_endpoint_new(&o);
    if (!t->ep) fatal("dk_endpoint_new");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (dk_endpoint_listen(t->ep, (struct sockaddr *)&a, sizeof a) != DK_OK) fatal("listen");
    struct sockaddr_storage ss;
    socklen_t len;
    if (dk_endpoint_local_addr(t->ep, &ss, &len) != DK_OK) fatal("local addr");
    memcpy(&t->addr, &ss, sizeof t->addr);
    if (dk_endpoint_process(t->ep, t->now) != DK_OK) fatal("process");
}

void nh_free(nh *t)
{
    dk_endpoint_free(t->ep);
    for (size_t i = 0; i < t->ncl; i++) {
        dk_conn_free(t->cl[i].c);
        if (t->cl[i].fd >= 0) close(t->cl[i].fd);
    }
    dk_config_free(t->scfg);
    dk_config_free(t->ccfg);
}

static void client_flush(nh_client *cl)
{
    uint8_t buf[20000];
    size_t n;
    while (cl->c && dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK)
        if (!cl->gone && send(cl->fd, buf, n, 0) < 0 && errno != ECONNREFUSED) fatal("client send");
}

static void client_start(nh *t, nh_client *cl)
{
    cl->c = dk_conn_new(t->ccfg, NULL, 0);
    if (!cl->c || dk_conn_set_server_name(cl->c, "localhost") != DK_OK) fatal("client conn");
    if (dk_conn_connect(cl->c, t->now) != DK_OK) fatal("connect");
    client_flush(cl);
}

nh_client *nh_client_new(nh *t)
{
    if (t->ncl >= NH_MAX_CLIENTS) abort();
    nh_client *cl = &t->cl[t->ncl++];
    memset(cl, 0, sizeof *cl);
    cl->fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (cl->fd < 0 || bind(cl->fd, (struct sockaddr *)&a, sizeof a) != 0) fatal("client socket");
    if (connect(cl->fd, (struct sockaddr *)&t->addr, sizeof t->addr) != 0) fatal("client connect");
    socklen_t len = sizeof a;
    getsockname(cl->fd, (struct sockaddr *)&a, &len);
    cl->port = ntohs(a.sin_port);
    client_start(t, cl);
    return cl;
}

void nh_client_restart(nh *t, nh_client *cl)
{
    dk_conn_free(cl->c);
    client_start(t, cl);
}

void nh_client_vanish(nh_client *cl) { cl->gone = true; }

void nh_client_half_open(nh *t, nh_client *cl)
{
    if (dk_endpoint_process(t->ep, t->now) != DK_OK) abort(); /* HVR */
    nh_client_pump(t, cl);                                     /* ClientHello with cookie */
    nh_client_vanish(cl);
    if (dk_endpoint_process(t->ep, t->now) != DK_OK) abort(); /* server flight */
}

void nh_send_raw(nh_client *cl, const uint8_t *p, size_t len)
{
    if (send(cl->fd, p, len, 0) < 0) fatal("raw send");
}

/* Returns true when the client received or sent anything. */
bool nh_client_pump(nh *t, nh_client *cl)
{
    bool moved = false;
    uint8_t buf[20000];
    ssize_t n;
    while ((n = recv(cl->fd, buf, sizeof buf, MSG_DONTWAIT)) >= 0 || errno == ECONNREFUSED) {
        if (n < 0) continue;
        moved = true;
        if (cl->gone || !cl->c) continue;
        dk_result r = dk_conn_receive(cl->c, buf, (size_t)n, t->now);
        (void)r;
        size_t got;
        while (dk_conn_read(cl->c, buf, sizeof buf, &got) == DK_OK) {
            cl->rx_records++;
            cl->rx_bytes += got;
        }
        client_flush(cl);
    }
    if (cl->c && !cl->gone && dk_conn_next_timeout(cl->c) <= t->now) {
        dk_result r = dk_conn_handle_timeout(cl->c, t->now);
        (void)r;
        client_flush(cl);
        moved = true;
    }
    return moved;
}

static bool pump_once(nh *t)
{
    dk_endpoint_stats a, b;
    dk_endpoint_get_stats(t->ep, &a);
    if (dk_endpoint_process(t->ep, t->now) != DK_OK) abort();
    dk_endpoint_get_stats(t->ep, &b);
    bool moved = b.datagrams_in != a.datagrams_in || b.datagrams_out != a.datagrams_out;
    for (size_t i = 0; i < t->ncl; i++) moved |= nh_client_pump(t, &t->cl[i]);
    return moved;
}

void nh_pump(nh *t)
{
    for (int i = 0; i < 10000 && pump_once(t); i++) {
    }
}

static uint64_t next_deadline(nh *t)
{
    uint64_t d = dk_endpoint_next_deadline(t->ep);
    for (size_t i = 0; i < t->ncl; i++) {
        nh_client *cl = &t->cl[i];
        if (cl->c && !cl->gone && dk_conn_next_timeout(cl->c) < d) d = dk_conn_next_timeout(cl->c);
    }
    return d;
}

void nh_run(nh *t, uint64_t limit_ms, bool (*done)(nh *t))
{
    uint64_t end = t->now + limit_ms;
    for (;;) {
        nh_pump(t);
        if (done && done(t)) return;
        uint64_t d = next_deadline(t);
        if (d == UINT64_MAX || d > end) {
            t->now = end;
            nh_pump(t);
            return;
        }
        if (d > t->now) t->now = d;
    }
}

size_t nh_count(const nh *t, nh_kind kind)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nev; i++) n += t->ev[i].kind == kind;
    return n;
}

size_t nh_count_why(const nh *t, nh_kind kind, int why)
{
    size_t n = 0;
    for (size_t i = 0; i < t->nev; i++) n += t->ev[i].kind == kind && t->ev[i].why == why;
    return n;
}

int nh_find(const nh *t, nh_kind kind, uint16_t port)
{
    for (size_t i = 0; i < t->nev; i++)
        if (t->ev[i].kind == kind && t->ev[i].port == port) return (int)i;
    return -1;
}

bool nh_all_clients_established(nh *t)
{
    for (size_t i = 0; i < t->ncl; i++)
        if (!t->cl[i].gone && dk_conn_state(t->cl[i].c) != DK_STATE_ESTABLISHED) return false;
    return true;
}
