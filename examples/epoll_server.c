/* A multi-peer DTLS echo server on epoll, using only the public dtlskit API.
 *
 *   usage: epoll_server [PORT]        (listens on 127.0.0.1, default 4433; 0: any free port)
 *
 * It uses an ephemeral self-signed certificate and prints its fingerprint;
 * connect with `dtlskit client 127.0.0.1:PORT --pin <fingerprint>`.
 *
 * The engine never reads a clock or touches a socket: we feed it datagrams
 * and the time, send what it queues, and sleep in epoll_wait() until the
 * next datagram or the earliest retransmission deadline of all peers. */
#include <dtlskit/dtlskit.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PEERS 256

struct peer {
    struct sockaddr_storage addr;
    socklen_t len;
    dk_peer *dp; /* NULL when the slot is free; holds the R16 old association too */
};

static struct peer peers[MAX_PEERS];
static uint8_t rx[65536], tx[65536], app[65536];

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct peer *lookup(const struct sockaddr_storage *a, socklen_t len, bool create)
{
    struct peer *free_slot = NULL;
    for (int i = 0; i < MAX_PEERS; i++) {
        if (peers[i].dp != NULL && peers[i].len == len && memcmp(&peers[i].addr, a, len) == 0) {
            return &peers[i];
        }
        if (peers[i].dp == NULL && free_slot == NULL) {
            free_slot = &peers[i];
        }
    }
    if (create && free_slot != NULL) {
        memcpy(&free_slot->addr, a, len);
        free_slot->len = len;
    }
    return create ? free_slot : NULL;
}

/* Echo what arrived, send what is queued, forget a finished peer. */
static void service(int fd, struct peer *p)
{
    size_t n;
    dk_conn *from;
    while (dk_peer_read(p->dp, app, sizeof app, &n, &from) == DK_OK) {
        /* answer on the association that read it: during a new handshake
         * on this address, the old one (R16) */
        if (dk_conn_write(from, app, n) != DK_OK) {
            break;
        }
    }
    while (dk_peer_poll_datagram(p->dp, tx, sizeof tx, &n) == DK_OK) {
        (void)sendto(fd, tx, n, 0, (struct sockaddr *)&p->addr, p->len);
    }
    if (dk_peer_done(p->dp)) {
        dk_conn *c = dk_peer_conn(p->dp);
        printf("peer gone: %s\n",
               dk_conn_state(c) == DK_STATE_CLOSED ? "closed" : dk_conn_error_reason(c));
        fflush(stdout);
        dk_peer_free(p->dp);
        p->dp = NULL;
    }
}

static void on_datagram(const dk_config *cfg, int fd, struct sockaddr_storage *a, socklen_t alen,
                        size_t len)
{
    uint64_t now = now_ms();
    struct peer *p = lookup(a, alen, false);
    if (p == NULL) {
        size_t out_len;
        dk_gate_verdict v = dk_server_gate(cfg, a, alen, rx, len, now, tx, sizeof tx, &out_len);
        if (v == DK_GATE_HVR) {
            (void)sendto(fd, tx, out_len, 0, (struct sockaddr *)a, alen);
        }
        if (v != DK_GATE_ACCEPT || (p = lookup(a, alen, true)) == NULL ||
            (p->dp = dk_peer_new(dk_conn_new(cfg, a, alen))) == NULL) {
            return;
        }
        if (out_len > 0) { /* a fragmented ClientHello, reassembled by the gate */
            memcpy(rx, tx, out_len);
            len = out_len;
        }
    }
    /* A ClientHello that restarts the handshake gets a successor inside
     * dk_peer_receive (R16); failures show in the connection's state. */
    (void)dk_peer_receive(p->dp, rx, len, now);
    service(fd, p);
}

/* Milliseconds until the earliest deadline, -1 for none. */
static int next_timeout(void)
{
    uint64_t d = UINT64_MAX, now = now_ms();
    for (int i = 0; i < MAX_PEERS; i++) {
        if (peers[i].dp != NULL && dk_peer_next_timeout(peers[i].dp) < d) {
            d = dk_peer_next_timeout(peers[i].dp);
        }
    }
    return d == UINT64_MAX ? -1 : d <= now ? 0 : (int)(d - now);
}

static void run_timers(int fd)
{
    uint64_t now = now_ms();
    for (int i = 0; i < MAX_PEERS; i++) {
        if (peers[i].dp == NULL || dk_peer_next_timeout(peers[i].dp) > now) {
            continue;
        }
        /* a handshake timeout leaves the state FAILED; service() frees it */
        (void)dk_peer_handle_timeout(peers[i].dp, now);
        service(fd, &peers[i]);
    }
}

static int open_socket(int port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0) {
        perror("bind");
        exit(1);
    }
    return fd;
}

int main(int argc, char **argv)
{
    uint8_t fp[32];
    dk_config *cfg = dk_config_new(DK_ROLE_SERVER);
    if (cfg == NULL || dk_config_use_ephemeral_cert(cfg, "localhost", fp) != DK_OK) {
        fprintf(stderr, "cannot create the server configuration\n");
        return 1;
    }
    printf("certificate sha256 fingerprint: ");
    for (int i = 0; i < 32; i++) {
        printf("%02x", fp[i]);
    }
    printf("\n");
    fflush(stdout);
    int fd = open_socket(argc > 1 ? atoi(argv[1]) : 4433);
    struct sockaddr_in bound;
    socklen_t blen = sizeof bound;
    if (getsockname(fd, (struct sockaddr *)&bound, &blen) == 0) {
        printf("listening: 127.0.0.1:%u\n", (unsigned)ntohs(bound.sin_port));
        fflush(stdout);
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
        perror("epoll");
        return 1;
    }
    for (;;) {
        struct epoll_event got;
        if (epoll_wait(ep, &got, 1, next_timeout()) > 0) {
            struct sockaddr_storage a;
            socklen_t alen = sizeof a;
            memset(&a, 0, sizeof a);
            ssize_t n = recvfrom(fd, rx, sizeof rx, 0, (struct sockaddr *)&a, &alen);
            if (n >= 0) {
                on_datagram(cfg, fd, &a, alen, (size_t)n);
            }
        }
        run_timers(fd);
    }
}
