/* A small UDP impairment proxy for loopback tests, in the spirit of mbedTLS's
 * programs/test/udp_proxy: clients send to --listen, the proxy forwards to
 * --server from one upstream socket per client address, and answers travel
 * back. Each datagram, in either direction, may be dropped, duplicated,
 * held back (reordered) or delayed with jitter, and datagrams larger than
 * --mtu are dropped. Decisions come from a seeded generator. Only 127.0.0.1.
 * The proxy exits by itself after --duration seconds, or after --idle
 * seconds without traffic, and prints its counters on stderr.
 *
 * Usage: dk_udp_proxy --server PORT [--listen PORT (0: any, printed)]
 *        [--drop P] [--dup P] [--reorder P] [--reorder-ms MS] [--delay MS]
 *        [--jitter MS] [--mtu N] [--seed N] [--duration S] [--idle S]
 * Prints "listening: 127.0.0.1:PORT" on stdout once ready. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SESSIONS 64
#define MAX_QUEUE 4096
#define MAX_DGRAM 65536

typedef struct session {
    struct sockaddr_in client;
    int up; /* socket connected to the server */
    uint64_t last_ms;
} session;

typedef struct pending {
    uint64_t at;
    int to_server;
    int sess;
    size_t len;
    uint8_t *p;
} pending;

typedef struct opts {
    int listen_port, server_port;
    double drop, dup, reorder;
    unsigned reorder_ms, delay_ms, jitter_ms;
    size_t mtu;
    uint64_t seed;
    unsigned duration_s, idle_s;
} opts;

static struct {
    unsigned long in[2], out[2], dropped[2], duplicated[2], reordered[2], too_big[2];
} st;

static uint64_t rng;
static uint64_t rnd(void)
{
    uint64_t z = (rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}
static int chance(double p) { return p > 0 && (double)(rnd() >> 11) / 9007199254740992.0 < p; }

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static int udp_socket(int port)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        perror("dk_udp_proxy: socket");
        exit(2);
    }
    return fd;
}

static session sessions[MAX_SESSIONS];
static int n_sessions;
static pending queue[MAX_QUEUE];
static int n_queue;

static int session_for(const struct sockaddr_in *from, int server_port, uint64_t t)
{
    for (int i = 0; i < n_sessions; i++)
        if (sessions[i].client.sin_port == from->sin_port &&
            sessions[i].client.sin_addr.s_addr == from->sin_addr.s_addr)
            return i;
    int i = n_sessions < MAX_SESSIONS ? n_sessions++ : 0;
    if (i == 0 && n_sessions == MAX_SESSIONS) { /* replace the least recent */
        for (int k = 1; k < MAX_SESSIONS; k++)
            if (sessions[k].last_ms < sessions[i].last_ms) i = k;
        close(sessions[i].up);
    }
    sessions[i].client = *from;
    sessions[i].up = udp_socket(0);
    sessions[i].last_ms = t;
    struct sockaddr_in srv = loopback(server_port);
    if (connect(sessions[i].up, (struct sockaddr *)&srv, sizeof srv) != 0) {
        perror("dk_udp_proxy: connect");
        exit(2);
    }
    return i;
}

static void enqueue(const opts *o, int to_server, int sess, const uint8_t *p, size_t len, uint64_t t)
{
    int d = to_server ? 0 : 1;
    st.in[d]++;
    if (o->mtu && len > o->mtu) {
        st.too_big[d]++;
        return;
    }
    if (chance(o->drop)) {
        st.dropped[d]++;
        return;
    }
    int copies = chance(o->dup) ? 2 : 1;
    if (copies == 2) st.duplicated[d]++;
    for (int c = 0; c < copies && n_queue < MAX_QUEUE; c++) {
        uint64_t at = t + o->delay_ms + (o->jitter_ms ? rnd() % (o->jitter_ms + 1) : 0);
        if (chance(o->reorder)) {
            at += o->reorder_ms;
            st.reordered[d]++;
        }
        pending *q = &queue[n_queue++];
        q->at = at;
        q->to_server = to_server;
        q->sess = sess;
        q->len = len;
        q->p = malloc(len ? len : 1);
        memcpy(q->p, p, len);
    }
}

static void flush_due(int lfd, uint64_t t)
{
    for (int i = 0; i < n_queue;) {
        pending *q = &queue[i];
        if (q->at > t) {
            i++;
            continue;
        }
        session *s = &sessions[q->sess];
        ssize_t r = q->to_server ? send(s->up, q->p, q->len, 0)
                                 : sendto(lfd, q->p, q->len, 0, (struct sockaddr *)&s->client,
                                          sizeof s->client);
        if (r >= 0) st.out[q->to_server ? 0 : 1]++;
        free(q->p);
        *q = queue[--n_queue];
    }
}

static int next_timeout(uint64_t t)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < n_queue; i++)
        if (queue[i].at < best) best = queue[i].at;
    if (best == UINT64_MAX) return 200;
    return best <= t ? 0 : (int)(best - t < 200 ? best - t : 200);
}

static void parse(int argc, char **argv, opts *o)
{
    memset(o, 0, sizeof *o);
    o->duration_s = 60;
    o->idle_s = 30;
    o->seed = 1;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--listen")) o->listen_port = atoi(v);
        else if (!strcmp(k, "--server")) o->server_port = atoi(v);
        else if (!strcmp(k, "--drop")) o->drop = atof(v);
        else if (!strcmp(k, "--dup")) o->dup = atof(v);
        else if (!strcmp(k, "--reorder")) o->reorder = atof(v);
        else if (!strcmp(k, "--reorder-ms")) o->reorder_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--delay")) o->delay_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--jitter")) o->jitter_ms = (unsigned)atoi(v);
        else if (!strcmp(k, "--mtu")) o->mtu = (size_t)atoi(v);
        else if (!strcmp(k, "--seed")) o->seed = strtoull(v, NULL, 10);
        else if (!strcmp(k, "--duration")) o->duration_s = (unsigned)atoi(v);
        else if (!strcmp(k, "--idle")) o->idle_s = (unsigned)atoi(v);
        else {
            fprintf(stderr, "dk_udp_proxy: unknown option %s\n", k);
            exit(2);
        }
    }
    if (argc % 2 == 0 || o->server_port <= 0 || o->duration_s == 0) {
        fprintf(stderr, "usage: dk_udp_proxy --server PORT [--listen PORT] [--drop P] [--dup P] "
                        "[--reorder P] [--reorder-ms MS] [--delay MS] [--jitter MS] [--mtu N] "
                        "[--seed N] [--duration S] [--idle S]\n");
        exit(2);
    }
}

/* Receive whatever is readable on the listening socket and the upstreams. */
static int pump(const opts *o, int lfd, struct pollfd *pf, int npf, uint64_t t)
{
    static uint8_t buf[MAX_DGRAM];
    int moved = 0;
    if (pf[0].revents & POLLIN) {
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t n = recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (n >= 0 && from.sin_addr.s_addr == htonl(INADDR_LOOPBACK)) {
            int s = session_for(&from, o->server_port, t);
            sessions[s].last_ms = t;
            enqueue(o, 1, s, buf, (size_t)n, t);
            moved = 1;
        }
    }
    for (int i = 1; i < npf; i++) {
        if (!(pf[i].revents & POLLIN)) continue;
        ssize_t n = recv(sessions[i - 1].up, buf, sizeof buf, 0);
        if (n < 0) continue; /* e.g. ECONNREFUSED: the server is not up (yet) */
        sessions[i - 1].last_ms = t;
        enqueue(o, 0, i - 1, buf, (size_t)n, t);
        moved = 1;
    }
    return moved;
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    rng = o.seed;
    int lfd = udp_socket(o.listen_port);
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    getsockname(lfd, (struct sockaddr *)&bound, &bl);
    printf("listening: 127.0.0.1:%d\n", ntohs(bound.sin_port));
    fflush(stdout);
    uint64_t start = now_ms(), last = start;
    for (;;) {
        uint64_t t = now_ms();
        if (t - start >= (uint64_t)o.duration_s * 1000 || t - last >= (uint64_t)o.idle_s * 1000)
            break;
        struct pollfd pf[1 + MAX_SESSIONS];
        pf[0].fd = lfd;
        pf[0].events = POLLIN;
        for (int i = 0; i < n_sessions; i++) {
            pf[1 + i].fd = sessions[i].up;
            pf[1 + i].events = POLLIN;
        }
        int r = poll(pf, (nfds_t)(1 + n_sessions), next_timeout(t));
        if (r < 0 && errno != EINTR) break;
        t = now_ms();
        if (r > 0 && pump(&o, lfd, pf, 1 + n_sessions, t)) last = t;
        flush_due(lfd, t);
    }
    fprintf(stderr,
            "dk_udp_proxy: to server in=%lu out=%lu dropped=%lu duplicated=%lu reordered=%lu "
            "too_big=%lu | to client in=%lu out=%lu dropped=%lu duplicated=%lu reordered=%lu "
            "too_big=%lu\n",
            st.in[0], st.out[0], st.dropped[0], st.duplicated[0], st.reordered[0], st.too_big[0],
            st.in[1], st.out[1], st.dropped[1], st.duplicated[1], st.reordered[1], st.too_big[1]);
    return 0;
}
