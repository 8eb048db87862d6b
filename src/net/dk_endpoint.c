/* dtlskit endpoint: public API, the loop and the graceful shutdown. */
#define _GNU_SOURCE
#include <errno.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "net/dk_ep_int.h"

#define DK_EP_DEF_MAX_CONNS 65536
#define DK_EP_DEF_MAX_HALF_OPEN 4096
#define DK_EP_DEF_IDLE_MS 300000u
#define DK_EP_DEF_BATCH 32
#define DK_EP_DEF_SOCKBUF (4 << 20)

void dk_endpoint_options_init(dk_endpoint_options *o)
{
    if (!o) return;
    memset(o, 0, sizeof *o);
    o->max_connections = DK_EP_DEF_MAX_CONNS;
    o->max_half_open = DK_EP_DEF_MAX_HALF_OPEN;
    o->idle_timeout_ms = DK_EP_DEF_IDLE_MS;
    o->batch = DK_EP_DEF_BATCH;
    o->rcvbuf = o->sndbuf = DK_EP_DEF_SOCKBUF;
}

static void apply_defaults(dk_endpoint_options *o)
{
    if (!o->max_connections) o->max_connections = DK_EP_DEF_MAX_CONNS;
    if (!o->max_half_open) o->max_half_open = DK_EP_DEF_MAX_HALF_OPEN;
    if (!o->idle_timeout_ms) o->idle_timeout_ms = DK_EP_DEF_IDLE_MS;
    if (!o->batch) o->batch = DK_EP_DEF_BATCH;
    if (o->batch > DK_EP_MAX_BATCH) o->batch = DK_EP_MAX_BATCH;
    if (!o->rcvbuf) o->rcvbuf = DK_EP_DEF_SOCKBUF;
    if (!o->sndbuf) o->sndbuf = DK_EP_DEF_SOCKBUF;
}

uint64_t dk_endpoint_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

dk_endpoint *dk_endpoint_new(const dk_endpoint_options *o)
{
    if (!o) return NULL;
    dk_endpoint *ep = dk_calloc(1, sizeof *ep);
    if (!ep) return NULL;
    ep->o = *o;
    apply_defaults(&ep->o);
    ep->fd = -1;
    ep->now = dk_endpoint_now_ms();
    if (dk_ep_table_init(ep) != DK_OK || dk_ep_io_init(ep) != DK_OK) {
        dk_endpoint_free(ep);
        return NULL;
    }
    return ep;
}

static void destroy_all(dk_endpoint *ep)
{
    for (size_t i = 0; i < ep->nbuckets; i++)
        while (ep->buckets[i]) dk_ep_conn_destroy(ep, ep->buckets[i]);
}

void dk_endpoint_free(dk_endpoint *ep)
{
    if (!ep) return;
    if (ep->buckets) destroy_all(ep);
    if (ep->fd >= 0) close(ep->fd);
    dk_ep_table_free(ep);
    dk_ep_io_free(ep);
    dk_free(ep);
}

dk_result dk_endpoint_adopt_socket(dk_endpoint *ep, int fd)
{
    if (!ep || fd < 0 || ep->fd >= 0) return DK_ERR_INVALID_ARG;
    return dk_ep_socket_setup(ep, fd);
}

dk_result dk_endpoint_listen(dk_endpoint *ep, const struct sockaddr *addr, socklen_t len)
{
    if (!ep || !addr || ep->fd >= 0) return DK_ERR_INVALID_ARG;
    int fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return DK_ERR_IO;
    if (addr->sa_family == AF_INET6) {
        int v6only = ep->o.v6only ? 1 : 0;
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof v6only);
    }
    if (bind(fd, addr, len) != 0) {
        close(fd);
        return DK_ERR_IO;
    }
    dk_result r = dk_ep_socket_setup(ep, fd);
    if (r != DK_OK) {
        close(fd);
        ep->fd = -1;
    }
    return r;
}

int dk_endpoint_fd(const dk_endpoint *ep) { return ep ? ep->fd : -1; }

dk_result dk_endpoint_local_addr(const dk_endpoint *ep, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!ep || !ss || !len || ep->fd < 0) return DK_ERR_INVALID_ARG;
    *len = sizeof *ss;
    return getsockname(ep->fd, (struct sockaddr *)ss, len) == 0 ? DK_OK : DK_ERR_IO;
}

/* ---- the loop ----------------------------------------------------------- */

uint64_t dk_endpoint_next_deadline(const dk_endpoint *ep)
{
    const dk_endpoint_conn *h = ep ? dk_ep_heap_top(ep) : NULL;
    return h ? h->deadline : UINT64_MAX;
}

static void handle_batch(dk_endpoint *ep, int n, const size_t *lens)
{
    for (int i = 0; i < n; i++) {
        if (lens[i] == 0) continue; /* truncated or empty */
        const struct msghdr *mh = &ep->rx.msg[i].msg_hdr;
        dk_ep_addr a;
        size_t alen = dk_ep_addr_norm(mh->msg_name, mh->msg_namelen, &a);
        if (alen == 0) continue;
        uint8_t *d = mh->msg_iov->iov_base;
        dk_endpoint_conn *h = dk_ep_table_find(ep, &a, alen);
        if (h) dk_ep_conn_datagram(ep, h, d, lens[i]);
        else dk_ep_unknown_datagram(ep, &a, alen, d, lens[i]);
    }
}

static void run_timers(dk_endpoint *ep)
{
    dk_endpoint_conn *h;
    while ((h = dk_ep_heap_top(ep)) != NULL && h->deadline <= ep->now) dk_ep_conn_timer(ep, h);
}

static dk_result process(dk_endpoint *ep, uint64_t now, bool read)
{
    if (ep->fd < 0) return DK_ERR_STATE;
    ep->now = now;
    ep->processing = true;
    size_t lens[DK_EP_MAX_BATCH];
    for (int round = 0; read && round < DK_EP_RX_ROUNDS; round++) {
        int n = dk_ep_recv_batch(ep, lens);
        handle_batch(ep, n, lens);
        if ((unsigned)n < ep->o.batch) break;
    }
    run_timers(ep);
    dk_ep_tx_flush(ep);
    ep->processing = false;
    return DK_OK;
}

dk_result dk_endpoint_process(dk_endpoint *ep, uint64_t now_ms)
{
    if (!ep) return DK_ERR_INVALID_ARG;
    return process(ep, now_ms, true);
}

static int wait_ms(uint64_t deadline, uint64_t now, int max_wait, bool *by_deadline)
{
    *by_deadline = false;
    if (deadline == UINT64_MAX) return max_wait;
    uint64_t d = deadline > now ? deadline - now : 0;
    if (max_wait >= 0 && (uint64_t)max_wait <= d) return max_wait;
    *by_deadline = true;
    return d > INT32_MAX ? INT32_MAX : (int)d;
}

dk_result dk_endpoint_run_once(dk_endpoint *ep, int max_wait_ms)
{
    if (!ep) return DK_ERR_INVALID_ARG;
    if (ep->fd < 0) return DK_ERR_STATE;
    uint64_t now = dk_endpoint_now_ms();
    bool by_deadline;
    int t = wait_ms(dk_endpoint_next_deadline(ep), now, max_wait_ms, &by_deadline);
    bool readable = true;
    if (t != 0) {
        struct pollfd p = {.fd = ep->fd, .events = POLLIN};
        ep->st.poll_calls++;
        int r = poll(&p, 1, t);
        if (r < 0) return errno == EINTR ? DK_OK : DK_ERR_IO;
        ep->st.wakeups++;
        readable = r > 0;
        now = dk_endpoint_now_ms();
        if (!readable && by_deadline && dk_endpoint_next_deadline(ep) > now) ep->st.empty_wakeups++;
    }
    return process(ep, now, readable);
}

void dk_endpoint_stop(dk_endpoint *ep)
{
    if (ep) ep->stop = 1;
}

dk_result dk_endpoint_run(dk_endpoint *ep)
{
    if (!ep) return DK_ERR_INVALID_ARG;
    while (!ep->stop) DK_TRY(dk_endpoint_run_once(ep, -1));
    return dk_endpoint_shutdown(ep);
}

dk_result dk_endpoint_shutdown(dk_endpoint *ep)
{
    if (!ep) return DK_ERR_INVALID_ARG;
    ep->shut = true;
    ep->processing = true;
    for (size_t i = 0; i < ep->nbuckets; i++) {
        dk_endpoint_conn *h;
        while ((h = ep->buckets[i]) != NULL) {
            if (h->old && dk_conn_state(h->old->conn) == DK_STATE_ESTABLISHED &&
                dk_conn_close(h->old->conn) != DK_OK)
                ep->st.send_errors++;
            if (dk_conn_state(h->conn) == DK_STATE_ESTABLISHED && dk_conn_close(h->conn) != DK_OK)
                ep->st.send_errors++;
            dk_ep_conn_end(ep, h, DK_ENDPOINT_CLOSE_SHUTDOWN);
        }
    }
    if (ep->fd >= 0) dk_ep_tx_flush(ep);
    ep->processing = false;
    return DK_OK;
}

void dk_endpoint_get_stats(const dk_endpoint *ep, dk_endpoint_stats *st)
{
    if (ep && st) *st = ep->st;
}

/* ---- connections ---------------------------------------------------------- */

dk_result dk_endpoint_connect(dk_endpoint *ep, const struct sockaddr *addr, socklen_t len,
                              const char *server_name, dk_endpoint_conn **out)
{
    if (!ep || !addr) return DK_ERR_INVALID_ARG;
    if (!ep->o.client || ep->shut || ep->fd < 0) return DK_ERR_STATE;
    dk_ep_addr a;
    size_t alen = dk_ep_addr_norm(addr, len, &a);
    if (alen == 0) return DK_ERR_INVALID_ARG;
    if (dk_ep_table_find(ep, &a, alen)) return DK_ERR_STATE;
    if (ep->st.connections >= ep->o.max_connections) return DK_ERR_LIMIT;
    dk_conn *c = dk_conn_new(ep->o.client, &a, alen);
    if (!c) return DK_ERR_NOMEM;
    dk_result r = server_name ? dk_conn_set_server_name(c, server_name) : DK_OK;
    dk_endpoint_conn *h = r == DK_OK ? dk_ep_conn_new(ep, c, &a, alen, DK_EPF_CLIENT) : NULL;
    if (!h) {
        dk_conn_free(c);
        return r != DK_OK ? r : DK_ERR_NOMEM;
    }
    DK_TRY(dk_ep_table_insert(ep, h));
    if (ep->o.cb.on_accept) ep->o.cb.on_accept(ep->o.cb.arg, ep, h);
    r = dk_conn_connect(c, ep->now);
    if (out) *out = r == DK_OK ? h : NULL;
    bool outside = !ep->processing;
    ep->processing = true;
    dk_ep_conn_settle(ep, h);
    if (outside) {
        dk_ep_tx_flush(ep);
        ep->processing = false;
    }
    return r;
}

static bool is_busy(const dk_endpoint *ep, const dk_endpoint_conn *c)
{
    return ep->busy && (c == ep->busy || c == ep->busy->old);
}

dk_result dk_endpoint_send(dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *data, size_t len)
{
    if (!ep || !c) return DK_ERR_INVALID_ARG;
    if (c->flags & (DK_EPF_ENDING | DK_EPF_CLOSING)) return DK_ERR_STATE;
    dk_ep_conn_drain(ep, c); /* anything queued first, in order */
    /* Zero copy: the record is sealed straight into the shared send batch. */
    uint8_t *slot = dk_ep_tx_reserve(ep, DK_EP_RX_SLOT);
    size_t n;
    DK_TRY(dk_conn_write_datagram(c->conn, data, len, slot, DK_EP_RX_SLOT, &n));
    dk_ep_tx_commit(ep, c, &c->addr, c->addr_len, n);
    if (!ep->processing) dk_ep_tx_flush(ep);
    return DK_OK;
}

dk_result dk_endpoint_close_conn(dk_endpoint *ep, dk_endpoint_conn *c)
{
    if (!ep || !c) return DK_ERR_INVALID_ARG;
    if (c->flags & (DK_EPF_ENDING | DK_EPF_CLOSING)) return DK_OK;
    c->flags |= DK_EPF_CLOSING;
    DK_TRY(dk_conn_close(c->conn));
    if (is_busy(ep, c)) return DK_OK; /* settled when its datagram is done */
    bool outside = !ep->processing;
    ep->processing = true;
    if (c->flags & DK_EPF_IN_TABLE) dk_ep_conn_settle(ep, c);
    if (outside) {
        dk_ep_tx_flush(ep);
        ep->processing = false;
    }
    return DK_OK;
}

const dk_conn *dk_endpoint_conn_dtls(const dk_endpoint_conn *c) { return c ? c->conn : NULL; }

const struct sockaddr *dk_endpoint_conn_addr(const dk_endpoint_conn *c, socklen_t *len)
{
    if (!c) return NULL;
    if (len) *len = c->addr_len;
    return &c->addr.sa;
}

void dk_endpoint_conn_format_addr(const dk_endpoint_conn *c, char *out, size_t cap)
{
    if (!out || cap == 0) return;
    out[0] = 0;
    if (!c) return;
    char host[INET6_ADDRSTRLEN];
    if (c->addr.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &c->addr.v6.sin6_addr, host, sizeof host);
        snprintf(out, cap, "[%s]:%u", host, ntohs(c->addr.v6.sin6_port));
    } else {
        inet_ntop(AF_INET, &c->addr.v4.sin_addr, host, sizeof host);
        snprintf(out, cap, "%s:%u", host, ntohs(c->addr.v4.sin_port));
    }
}

void dk_endpoint_conn_set_user(dk_endpoint_conn *c, void *user)
{
    if (c) c->user = user;
}

void *dk_endpoint_conn_user(const dk_endpoint_conn *c) { return c ? c->user : NULL; }

void dk_endpoint_conn_set_trace(dk_endpoint_conn *c, dk_trace_fn fn, void *arg)
{
    if (c) dk_conn_set_trace(c->conn, fn, arg);
}

bool dk_endpoint_conn_is_client(const dk_endpoint_conn *c)
{
    return c && (c->flags & DK_EPF_CLIENT);
}

size_t dk_endpoint_conn_overhead(void) { return sizeof(dk_endpoint_conn); }
