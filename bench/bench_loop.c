/* Loopback: the endpoint (src/net) in a child process on 127.0.0.1, clients
 * in this process, each a dtlskit client connection on its own UDP socket.
 *
 * loop_handshakes: N clients, at most W in flight at once, every one a full
 * ECDHE-ECDSA P-256 handshake with chain and host name verification. The
 * server keeps every connection (its peak RSS is with all of them).
 * loop_record_rate: one established client sends 1200-byte records with a
 * window of 32 outstanding; the endpoint echoes them. The same pattern over
 * plain UDP (an echo loop with the same recvmmsg/sendmmsg batching) is the
 * baseline, and over an AEAD echo (the same loop plus a raw AES-128-GCM open
 * and seal per datagram) the AEAD's own cost through the socket. Besides records per wall second it reports CPU per echoed record
 * over the timed loop only (after the handshake): the server process's (its
 * CPU clock read from here with clock_getcpuclockid) and both processes'.
 * Per echoed record the server opens one record and seals one; the client
 * seals one and opens one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "dtlskit/dtlskit_endpoint.h"

#define REC_LEN 1200
#define WINDOW 32

typedef struct child_report {
    double cpu_s, rss_kib;
    dk_endpoint_stats st;
} child_report;

static volatile sig_atomic_t g_stop;
static void on_term(int sig) { g_stop = 1; }

static dk_config *mk_server_cfg(void)
{
    dk_config *s = dk_config_new(DK_ROLE_SERVER);
    uint16_t suite = DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, group = DK_GROUP_SECP256R1;
    if (!s || dk_config_set_cert_chain_file(s, BENCH_CERT("ec-server-chain.pem")) != DK_OK ||
        dk_config_set_private_key_file(s, BENCH_CERT("ec-server.key")) != DK_OK ||
        dk_config_set_cipher_suites(s, &suite, 1) != DK_OK ||
        dk_config_set_groups(s, &group, 1) != DK_OK)
        bench_die("loop: server config");
    return s;
}

static dk_config *mk_client_cfg(void)
{
    dk_config *c = dk_config_new(DK_ROLE_CLIENT);
    uint16_t suite = DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, group = DK_GROUP_SECP256R1;
    if (!c || dk_config_set_ca_file(c, BENCH_CERT("ec-ca.pem")) != DK_OK ||
        dk_config_set_cipher_suites(c, &suite, 1) != DK_OK ||
        dk_config_set_groups(c, &group, 1) != DK_OK)
        bench_die("loop: client config");
    return c;
}

static void echo_data(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *d, size_t n)
{
    if (dk_endpoint_send(ep, c, d, n) != DK_OK) bench_die("loop: echo");
}

static void report(int fd, const dk_endpoint_stats *st)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    child_report r = {0};
    r.cpu_s = (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
              ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
    r.rss_kib = (double)ru.ru_maxrss;
    if (st) r.st = *st;
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r) _exit(3);
}

/* The child: the endpoint until SIGTERM. */
static void serve_dtls(int port_fd, unsigned batch, bool gso)
{
    dk_config *cfg = mk_server_cfg();
    dk_endpoint_options o;
    dk_endpoint_options_init(&o);
    o.server = cfg;
    o.batch = batch;
    o.no_gso = !gso;
    o.max_half_open = 65536;
    o.max_connections = 1 << 20;
    o.cb.on_data = echo_data;
    dk_endpoint *ep = dk_endpoint_new(&o);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (!ep || dk_endpoint_listen(ep, (struct sockaddr *)&a, sizeof a) != DK_OK)
        bench_die("loop: listen");
    struct sockaddr_storage ss;
    socklen_t len;
    if (dk_endpoint_local_addr(ep, &ss, &len) != DK_OK) bench_die("loop: addr");
    uint16_t port = ((struct sockaddr_in *)&ss)->sin_port;
    if (write(port_fd, &port, sizeof port) != sizeof port) _exit(3);
    while (!g_stop)
        if (dk_endpoint_run_once(ep, -1) != DK_OK) bench_die("loop: run");
    dk_endpoint_stats st;
    dk_endpoint_get_stats(ep, &st);
    report(port_fd, &st);
    _exit(0);
}

/* Socket buffers as large as the endpoint's default (4 MiB), on the plain
 * server and on the clients. */
static void set_bufs(int fd)
{
    int sz = 4 << 20;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);
}

typedef enum { SERVE_DTLS, SERVE_PLAIN, SERVE_AEAD, SERVE_AEAD_COPY } serve_kind;

/* The plain UDP echo: recvmmsg, then sendmmsg of the same datagrams. With
 * SERVE_AEAD, each datagram is a raw record (bench_floor.c: raw_rec) that is
 * opened and sealed again in place, with nothing else around it: the AEAD's
 * own cost through the same socket path. SERVE_AEAD_COPY seals the echo in a
 * send buffer of its own, as a general send call must (the plaintext copied
 * there first). */
static void serve_udp(int port_fd, unsigned batch, serve_kind kind)
{
    bool aead = kind != SERVE_PLAIN;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) bench_die("plain: bind");
    set_bufs(fd);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    if (write(port_fd, &a.sin_port, sizeof a.sin_port) != sizeof a.sin_port) _exit(3);
    raw_rec *open = aead ? raw_rec_new(false, 1) : NULL, *seal = aead ? raw_rec_new(true, 2) : NULL;
    uint64_t seq = 0;
    static uint8_t bufs[64][2048], out[64][2048];
    struct mmsghdr msg[64];
    struct iovec iov[64];
    struct sockaddr_in from[64];
    dk_endpoint_stats st = {0};
    while (!g_stop) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        st.poll_calls++;
        if (poll(&p, 1, -1) <= 0) continue;
        for (unsigned i = 0; i < batch; i++) {
            iov[i] = (struct iovec){bufs[i], sizeof bufs[i]};
            msg[i].msg_hdr = (struct msghdr){.msg_name = &from[i], .msg_namelen = sizeof from[i],
                                             .msg_iov = &iov[i], .msg_iovlen = 1};
        }
        st.recv_calls++;
        int n = recvmmsg(fd, msg, batch, MSG_DONTWAIT, NULL);
        if (n <= 0) continue;
        for (int i = 0; i < n; i++) {
            iov[i].iov_len = msg[i].msg_len;
            if (!aead) continue;
            if (!raw_rec_open(open, bufs[i], msg[i].msg_len)) bench_die("aead echo: open");
            size_t content = msg[i].msg_len - RAW_REC_OVERHEAD;
            uint8_t *rec = bufs[i];
            if (kind == SERVE_AEAD_COPY) {
                rec = out[i];
                memcpy(rec + RAW_REC_CONTENT, bufs[i] + RAW_REC_CONTENT, content);
                iov[i].iov_base = rec;
            }
            iov[i].iov_len = raw_rec_seal(seal, rec, content, seq++);
        }
        st.send_calls++;
        if (sendmmsg(fd, msg, (unsigned)n, 0) < 0) st.send_errors++;
        st.datagrams_in += (uint64_t)n;
        st.datagrams_out += (uint64_t)n;
    }
    raw_rec_free(open);
    raw_rec_free(seal);
    report(port_fd, &st);
    _exit(0);
}

typedef struct child {
    pid_t pid;
    int fd;
    uint16_t port;
} child;

static child spawn(serve_kind kind, unsigned batch, bool gso)
{
    int p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, p) != 0) bench_die("socketpair");
    child ch = {0};
    ch.pid = fork();
    if (ch.pid < 0) bench_die("fork");
    if (ch.pid == 0) {
        close(p[0]);
        struct sigaction sa = {0};
        sa.sa_handler = on_term;
        sigaction(SIGTERM, &sa, NULL);
        if (kind != SERVE_DTLS) serve_udp(p[1], batch, kind);
        serve_dtls(p[1], batch, gso);
    }
    close(p[1]);
    ch.fd = p[0];
    if (read(ch.fd, &ch.port, sizeof ch.port) != sizeof ch.port) bench_die("child port");
    return ch;
}

static child_report reap(child *ch)
{
    kill(ch->pid, SIGTERM);
    child_report r = {0};
    if (read(ch->fd, &r, sizeof r) != sizeof r) bench_die("child report");
    waitpid(ch->pid, NULL, 0);
    close(ch->fd);
    return r;
}

static double syscalls_per_dgram(const dk_endpoint_stats *st)
{
    double d = (double)(st->datagrams_in + st->datagrams_out);
    return d > 0 ? (double)(st->recv_calls + st->send_calls + st->poll_calls) / d : 0;
}

/* ---- clients ----------------------------------------------------------------- */

typedef struct lclient {
    int fd;
    dk_conn *c;
} lclient;

static int client_socket(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    set_bufs(fd);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = port};
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) bench_die("client socket");
    return fd;
}

static void client_flush(lclient *cl)
{
    uint8_t buf[2048];
    size_t n;
    while (dk_conn_poll_datagram(cl->c, buf, sizeof buf, &n) == DK_OK)
        (void)send(cl->fd, buf, n, 0);
}

static bool client_start(lclient *cl, const dk_config *cfg, uint16_t port, int epfd, uint64_t now)
{
    cl->fd = client_socket(port);
    cl->c = dk_conn_new(cfg, NULL, 0);
    if (!cl->c || dk_conn_set_server_name(cl->c, BENCH_HOST) != DK_OK ||
        dk_conn_connect(cl->c, now) != DK_OK)
        bench_die("client start");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = cl};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, cl->fd, &ev) != 0) bench_die("epoll");
    client_flush(cl);
    return true;
}

static void client_end(lclient *cl)
{
    close(cl->fd);
    dk_conn_free(cl->c);
    cl->c = NULL;
}

/* Returns 1 when established, -1 when failed, 0 otherwise. */
static int client_input(lclient *cl, uint64_t now)
{
    uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(cl->fd, buf, sizeof buf, 0)) > 0) {
        dk_result r = dk_conn_receive(cl->c, buf, (size_t)n, now);
        (void)r;
    }
    client_flush(cl);
    dk_state st = dk_conn_state(cl->c);
    return st == DK_STATE_ESTABLISHED ? 1 : st == DK_STATE_FAILED ? -1 : 0;
}

static void raise_fd_limit(size_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if (rl.rlim_cur < want + 64) {
        rl.rlim_cur = rl.rlim_max < want + 64 ? rl.rlim_max : want + 64;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Client retransmission timers, by scanning the in-flight set (W entries). */
static void client_timers(lclient *cls, size_t w, uint64_t now, size_t *failed, size_t *inflight)
{
    for (size_t i = 0; i < w; i++) {
        lclient *cl = &cls[i];
        if (!cl->c || dk_conn_next_timeout(cl->c) > now) continue;
        dk_result r = dk_conn_handle_timeout(cl->c, now);
        (void)r;
        client_flush(cl);
        if (dk_conn_state(cl->c) == DK_STATE_FAILED) {
            client_end(cl);
            (*failed)++;
            (*inflight)--;
        }
    }
}

loop_result loop_handshakes(size_t clients, size_t in_flight, unsigned batch, bool gso)
{
    raise_fd_limit(in_flight);
    child ch = spawn(SERVE_DTLS, batch, gso);
    dk_config *cfg = mk_client_cfg();
    lclient *cls = calloc(in_flight, sizeof *cls);
    struct epoll_event *evs = calloc(in_flight, sizeof *evs);
    int epfd = epoll_create1(0);
    loop_result res = {0};
    size_t started = 0, inflight = 0;
    double t0 = bench_wall();
    while (res.handshakes + res.failed < clients) {
        uint64_t now = dk_endpoint_now_ms();
        for (size_t i = 0; i < in_flight && started < clients; i++) {
            if (cls[i].c) continue;
            client_start(&cls[i], cfg, ch.port, epfd, now);
            started++;
            inflight++;
        }
        if (inflight > res.peak_in_flight) res.peak_in_flight = inflight;
        int n = epoll_wait(epfd, evs, (int)in_flight, 50);
        now = dk_endpoint_now_ms();
        for (int i = 0; i < n; i++) {
            lclient *cl = evs[i].data.ptr;
            int r = client_input(cl, now);
            if (r == 0) continue;
            if (r > 0) res.handshakes++;
            else res.failed++;
            client_end(cl);
            inflight--;
        }
        client_timers(cls, in_flight, now, &res.failed, &inflight);
    }
    res.wall_s = bench_wall() - t0;
    res.hs_per_s = (double)res.handshakes / res.wall_s;
    child_report r = reap(&ch);
    res.server_rss_kib = r.rss_kib;
    res.server_cpu_s = r.cpu_s;
    res.syscalls_per_dgram = syscalls_per_dgram(&r.st);
    close(epfd);
    free(cls);
    free(evs);
    dk_config_free(cfg);
    return res;
}

/* ---- records through the socket ----------------------------------------------
 *
 * Three servers run side by side (the endpoint, plain UDP, the AEAD echo);
 * the client takes turns among them in short segments, one each per group
 * (PAIRS groups), with the in-process seal+open floor (both EVP paths) timed
 * after each group, so that whatever else loads the machine weighs on all
 * alike. Each segment stops sending at its end and drains the records still
 * in flight, so it accounts only for its own. The ratios are the median over
 * the groups of each group's own figure, since a burst of load from another
 * tenant lands on one group, not on all.
 *
 * Why the AEAD echo: the same EVP calls cost more between system calls than
 * in a hot loop (timed with the cycle counter around EVP_Cipher in the
 * endpoint: 1.2-1.3x, on datagrams the kernel has just copied, with its
 * packet work in the caches between records). The AEAD echo runs the floor's
 * calls under those conditions, so the ratio against it is what the protocol
 * and the endpoint add beyond them. */

#define PAIRS 16

static double clock_s(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0) return NAN;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records echoed, wall seconds, and CPU seconds of the server process and of
 * this process (the client) over the timed segments. */
typedef struct rec_acc {
    uint64_t done, empty; /* records echoed; empty receive calls while spinning */
    double wall, server_cpu, client_cpu;
} rec_acc;

typedef struct rec_side {
    int fd;
    dk_conn *c;       /* dtlskit client connection, or NULL */
    raw_rec *seal, *open; /* the AEAD echo's raw records, or NULL */
    uint64_t seq;
    clockid_t server; /* the server process's CPU clock */
    bool spin;        /* busy-wait for echoes (see wait_echoes) */
    rec_acc acc;
} rec_side;

/* The client waits for echoes either blocked in poll() or, with spin, by
 * calling recvmmsg without blocking until something comes (counting the empty
 * calls, whose CPU is taken out of the client's figure). A spinning client is
 * never asleep when an echo arrives. On loopback the sender runs the
 * receiver's whole receive path, wake-up included, so a blocked client makes
 * the server pay for waking it, and the slower an echo, the more often the
 * client has gone to sleep first: a cost of the ping-pong, not of the server's
 * record work, that a real network puts on the receiving host. */
static int wait_echoes(rec_side *s, struct mmsghdr *msg)
{
    if (!s->spin) {
        struct pollfd p = {.fd = s->fd, .events = POLLIN};
        if (poll(&p, 1, 200) <= 0) return 0;
        return recvmmsg(s->fd, msg, WINDOW, MSG_DONTWAIT, NULL);
    }
    double give_up = 0;
    for (unsigned k = 1;; k++) {
        int got = recvmmsg(s->fd, msg, WINDOW, MSG_DONTWAIT, NULL);
        if (got > 0) return got;
        s->acc.empty++;
        if (k % 1024 == 0) {
            double now = bench_wall();
            if (give_up == 0) give_up = now + 0.2;
            else if (now >= give_up) return 0;
        }
    }
}

/* dtlskit seals each record straight into its send slot
 * (dk_conn_write_datagram, as the endpoint does) and reads the echo where it
 * was decrypted (dk_conn_read_view, as the endpoint does); the AEAD echo's
 * client copies the content into its send slot and seals it there, and opens
 * the echo in place; plain UDP sends the same 1200 bytes and counts what
 * comes back. */
static void segment(rec_side *s, double seconds)
{
    static uint8_t rec[REC_LEN], out[WINDOW][REC_LEN + 64], in[WINDOW][2048];
    struct mmsghdr msg[WINDOW];
    struct iovec iov[WINDOW];
    size_t outstanding = 0;
    uint64_t done = 0;
    double s0 = clock_s(s->server), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), w0 = bench_wall();
    bool sending = true;
    for (;;) {
        if (sending && bench_wall() >= w0 + seconds) sending = false;
        if (!sending && outstanding == 0) break;
        unsigned n_out = 0;
        while (sending && outstanding + n_out < WINDOW) {
            size_t n = sizeof rec;
            uint8_t *p = rec;
            if (s->c) {
                p = out[n_out];
                if (dk_conn_write_datagram(s->c, rec, sizeof rec, p, sizeof out[0], &n) != DK_OK)
                    bench_die("dtls records: write");
            } else if (s->seal) {
                p = out[n_out];
                memcpy(p + RAW_REC_CONTENT, rec, sizeof rec);
                n = raw_rec_seal(s->seal, p, sizeof rec, s->seq++);
            }
            iov[n_out] = (struct iovec){p, n};
            msg[n_out].msg_hdr = (struct msghdr){.msg_iov = &iov[n_out], .msg_iovlen = 1};
            n_out++;
        }
        if (n_out && sendmmsg(s->fd, msg, n_out, 0) != (int)n_out)
            bench_die("records: sendmmsg");
        outstanding += n_out;
        for (unsigned i = 0; i < WINDOW; i++) {
            iov[i] = (struct iovec){in[i], sizeof in[i]};
            msg[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int got = wait_echoes(s, msg);
        if (got <= 0) {
            outstanding = 0; /* lost: start a new window */
            continue;
        }
        for (int i = 0; i < got; i++) {
            outstanding--;
            if (s->open) {
                if (!raw_rec_open(s->open, in[i], msg[i].msg_len)) bench_die("aead echo: open");
                done++;
                continue;
            }
            if (!s->c) {
                done++;
                continue;
            }
            const uint8_t *d;
            size_t n;
            if (dk_conn_receive(s->c, in[i], msg[i].msg_len, dk_endpoint_now_ms()) < 0) continue;
            while (dk_conn_read_view(s->c, &d, &n) == DK_OK) done++;
        }
    }
    s->acc.done += done;
    s->acc.wall += bench_wall() - w0;
    s->acc.server_cpu += clock_s(s->server) - s0;
    s->acc.client_cpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
}

static clockid_t child_clock(const child *ch)
{
    clockid_t id;
    if (clock_getcpuclockid(ch->pid, &id) != 0) bench_die("clock_getcpuclockid");
    return id;
}

static rec_acc acc_since(const rec_acc *now, const rec_acc *then)
{
    return (rec_acc){.done = now->done - then->done,
                     .empty = now->empty - then->empty,
                     .wall = now->wall - then->wall,
                     .server_cpu = now->server_cpu - then->server_cpu,
                     .client_cpu = now->client_cpu - then->client_cpu};
}

/* CPU seconds of one recvmmsg that finds nothing (the spinning client's
 * empty calls), on an idle socket of its own. */
static double empty_recv_cost(void)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) bench_die("idle socket");
    static uint8_t buf[WINDOW][2048];
    struct mmsghdr msg[WINDOW];
    struct iovec iov[WINDOW];
    for (unsigned i = 0; i < WINDOW; i++) {
        iov[i] = (struct iovec){buf[i], sizeof buf[i]};
        msg[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    enum { N = 20000 };
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    for (int i = 0; i < N; i++)
        if (recvmmsg(fd, msg, WINDOW, MSG_DONTWAIT, NULL) > 0) bench_die("idle socket: data");
    double c = (clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0) / N;
    close(fd);
    return c;
}

static void fill(const rec_acc *a, double empty_cost, double *per_s, double *server_us,
                 double *both_us)
{
    double n = a->done ? (double)a->done : NAN;
    *per_s = (double)a->done / a->wall;
    *server_us = a->server_cpu / n * 1e6;
    double client = a->client_cpu - (double)a->empty * empty_cost;
    *both_us = (a->server_cpu + client) / n * 1e6;
}

loop_records loop_record_rate(double seconds, const loop_opts *o)
{
    loop_records res = {0};
    unsigned batch = o->batch;
    bool spin = o->spin;
    child dch = spawn(SERVE_DTLS, batch, o->gso), pch = spawn(SERVE_PLAIN, batch, false),
          ach = spawn(o->aead_copy ? SERVE_AEAD_COPY : SERVE_AEAD, batch, false);
    dk_config *cfg = mk_client_cfg();
    lclient cl;
    int epfd = epoll_create1(0);
    client_start(&cl, cfg, dch.port, epfd, dk_endpoint_now_ms());
    while (client_input(&cl, dk_endpoint_now_ms()) == 0) {
        struct pollfd p = {.fd = cl.fd, .events = POLLIN};
        poll(&p, 1, 100);
    }
    if (dk_conn_state(cl.c) != DK_STATE_ESTABLISHED) bench_die("dtls records: handshake");
    /* The handshake's epoll set leaves: registered, the socket would have a
     * waiter to call back on every datagram, which plain UDP's has not. */
    if (epoll_ctl(epfd, EPOLL_CTL_DEL, cl.fd, NULL) != 0) bench_die("epoll del");
    rec_side d = {.fd = cl.fd, .c = cl.c, .server = child_clock(&dch), .spin = spin};
    rec_side p = {.fd = client_socket(pch.port), .server = child_clock(&pch), .spin = spin};
    rec_side a = {.fd = client_socket(ach.port), .server = child_clock(&ach), .spin = spin,
                  .seal = raw_rec_new(true, 1), .open = raw_rec_new(false, 2)};
    rec_side *sides[3] = {&d, &p, &a};
    double empty_cost = spin ? empty_recv_cost() : 0;
    bench_m ft = {0}, fg = {0};
    double xs[PAIRS], xb[PAIRS], fs[PAIRS], fb[PAIRS], af[PAIRS];
    double run_s = bench_run_s;
    bench_run_s = seconds / PAIRS / 4;
    for (int i = 0; i < PAIRS; i++) {
        rec_acc d0 = d.acc, p0 = p.acc, a0 = a.acc;
        for (int k = 0; k < 3; k++) segment(sides[(i + k) % 3], seconds / PAIRS);
        double f_us[2];
        for (int k = 0; k < 2; k++) {
            bench_m m = bench_loop_alone(floor_records_open(REC_LEN, (i + k) % 2 == 0),
                                         floor_records_step, floor_records_close);
            bench_m *f = (i + k) % 2 == 0 ? &ft : &fg;
            f->ops += m.ops;
            f->cpu += m.cpu;
            f_us[k] = m.cpu / m.ops * 1e6;
        }
        rec_acc dd = acc_since(&d.acc, &d0), pp = acc_since(&p.acc, &p0),
                aa = acc_since(&a.acc, &a0);
        double unused, ds, db, ps, pb, as, ab, floor_us = fmin(f_us[0], f_us[1]);
        fill(&dd, empty_cost, &unused, &ds, &db);
        fill(&pp, empty_cost, &unused, &ps, &pb);
        fill(&aa, empty_cost, &unused, &as, &ab);
        xs[i] = (ds - ps) / (as - ps);
        xb[i] = (db - pb) / (ab - pb);
        fs[i] = (ds - ps) / floor_us;
        fb[i] = (db - pb) / (2 * floor_us);
        af[i] = (as - ps) / floor_us;
    }
    bench_run_s = run_s;
    fill(&d.acc, empty_cost, &res.dtls_per_s, &res.dtls_server_us, &res.dtls_both_us);
    fill(&p.acc, empty_cost, &res.plain_per_s, &res.plain_server_us, &res.plain_both_us);
    fill(&a.acc, empty_cost, &res.aead_per_s, &res.aead_server_us, &res.aead_both_us);
    res.aead_tls_path = ft.cpu / ft.ops <= fg.cpu / fg.ops;
    res.aead_us = (res.aead_tls_path ? ft.cpu / ft.ops : fg.cpu / fg.ops) * 1e6;
    res.server_x_aead = bench_median(xs, PAIRS);
    res.both_x_aead = bench_median(xb, PAIRS);
    res.server_x_floor = bench_median(fs, PAIRS);
    res.both_x_floor = bench_median(fb, PAIRS);
    res.aead_echo_x_floor = bench_median(af, PAIRS);
    raw_rec_free(a.seal);
    raw_rec_free(a.open);
    close(a.fd);
    close(p.fd);
    client_end(&cl);
    close(epfd);
    dk_config_free(cfg);
    child_report r = reap(&dch);
    res.dtls_syscalls_per_dgram = syscalls_per_dgram(&r.st);
    r = reap(&pch);
    res.plain_syscalls_per_dgram = syscalls_per_dgram(&r.st);
    (void)reap(&ach);
    return res;
}
