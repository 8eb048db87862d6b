/* `dtlskit server`: one UDP socket, many peers, a table keyed by address. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_util.h"

/* A connection idle this long is dropped. */
#define IDLE_MS (5u * 60u * 1000u)
/* Datagrams handled per wake-up before timers get their turn. */
#define RECV_BURST 64

typedef struct peer {
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char name[64]; /* "addr:port", also the trace prefix */
    dk_conn *conn; /* the current connection (a successor while one runs) */
    dk_conn *old;  /* established predecessor kept until the successor is (R16) */
    bool announced;
    uint64_t last_active;
} peer;

typedef struct server {
    const cli_opts *o;
    dk_config *cfg;
    int fd;
    peer **peers;
    size_t n_peers, cap;
    int once_code; /* --once: exit code once the first connection ended, else -1 */
    uint8_t rx[CLI_DGRAM_MAX];   /* the datagram, decrypted in place */
    uint8_t copy[CLI_DGRAM_MAX]; /* its original bytes, for a second reader */
    uint8_t app[CLI_DGRAM_MAX];  /* application records */
    uint8_t out[CLI_DGRAM_MAX];  /* HelloVerifyRequest */
} server;

/* ---- peer table ------------------------------------------------------ */

static peer *find_peer(server *s, const struct sockaddr_storage *a, socklen_t len)
{
    for (size_t i = 0; i < s->n_peers; i++) {
        peer *p = s->peers[i];
        if (p->addr_len == len && memcmp(&p->addr, a, len) == 0) {
            return p;
        }
    }
    return NULL;
}

static peer *add_peer(server *s, const struct sockaddr_storage *a, socklen_t len, dk_conn *c)
{
    if (s->n_peers == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        peer **pp = realloc(s->peers, cap * sizeof *pp);
        if (pp == NULL) {
            return NULL;
        }
        s->peers = pp;
        s->cap = cap;
    }
    peer *p = calloc(1, sizeof *p);
    if (p == NULL) {
        return NULL;
    }
    memcpy(&p->addr, a, len);
    p->addr_len = len;
    cli_format_addr((const struct sockaddr *)a, len, p->name, sizeof p->name);
    p->conn = c;
    s->peers[s->n_peers++] = p;
    return p;
}

static void remove_peer(server *s, size_t i)
{
    peer *p = s->peers[i];
    if (p->old != NULL) {
        dk_conn_free(p->old);
    }
    dk_conn_free(p->conn);
    free(p);
    s->peers[i] = s->peers[--s->n_peers];
}

/* ---- per-connection output ------------------------------------------- */

static void drain(server *s, peer *p, dk_conn *c)
{
    int e = cli_conn_drain(c, s->fd, &p->addr, (unsigned)p->addr_len);
    if (e != 0 && !s->o->quiet) {
        cli_fail(CLI_EXIT_FAIL, "%s: send: %s", p->name, strerror(e));
    }
}

static void announce(server *s, peer *p)
{
    p->announced = true;
    if (!s->o->quiet) {
        cli_print_handshake(p->conn, p->name);
    }
    (void)cli_print_export(s->o, p->conn);
    if (p->old != NULL) {
        /* R16: the successor is established, the old association goes. */
        dk_conn_free(p->old);
        p->old = NULL;
    }
}

/* Hand out the records the last datagram carried: echo or print them. */
static void deliver_records(server *s, peer *p, dk_conn *c)
{
    size_t n;
    while (dk_conn_read(c, s->app, sizeof s->app, &n) == DK_OK) {
        if (!s->o->echo) {
            cli_write_stdout(s->app, n);
        } else if (dk_conn_write(c, s->app, n) != DK_OK) {
            if (!s->o->quiet) {
                cli_fail(CLI_EXIT_FAIL, "%s: cannot echo a record of %zu bytes", p->name, n);
            }
        } else {
            drain(s, p, c); /* one record at a time: the output queue stays short */
        }
    }
}

static void after_event(server *s, peer *p, dk_conn *c)
{
    if (c == p->conn && !p->announced && dk_conn_state(c) == DK_STATE_ESTABLISHED) {
        announce(s, p);
    }
    deliver_records(s, p, c);
    drain(s, p, c);
}

/* ---- datagrams --------------------------------------------------------- */

static void start_successor(server *s, peer *p, size_t len, uint64_t now);

/* Feed rx to c; a new handshake on the current connection starts a
 * successor (not for a connection that is itself a fresh successor). */
static void feed(server *s, peer *p, dk_conn *c, size_t len, uint64_t now, bool fresh)
{
    memcpy(s->copy, s->rx, len);
    dk_result r = dk_conn_receive(c, s->rx, len, now);
    after_event(s, p, c);
    if (r == DK_NEW_HANDSHAKE && c == p->conn && !fresh) {
        start_successor(s, p, len, now);
    }
}

/* DK_NEW_HANDSHAKE: a ClientHello with a cookie bound to this connection. */
static void start_successor(server *s, peer *p, size_t len, uint64_t now)
{
    dk_conn *succ = dk_conn_new_successor(p->conn);
    if (succ == NULL) {
        return;
    }
    if (s->o->verbose) {
        dk_conn_set_trace(succ, cli_trace_stderr, p->name);
    }
    if (dk_conn_state(p->conn) == DK_STATE_ESTABLISHED && p->old == NULL) {
        p->old = p->conn; /* R16: keep it until the successor is established */
    } else {
        dk_conn_free(p->conn); /* still handshaking: replace at once */
    }
    p->conn = succ;
    p->announced = false;
    memcpy(s->rx, s->copy, len);
    feed(s, p, succ, len, now, true);
}

/* While a successor runs, the old association may still get records in its
 * epoch: whatever the successor discards is offered to the old one. */
static void feed_known(server *s, peer *p, size_t len, uint64_t now)
{
    dk_conn_stats before, after;
    dk_conn *succ = p->conn;
    dk_conn_get_stats(succ, &before);
    feed(s, p, succ, len, now, false);
    if (p->old == NULL || p->conn != succ) {
        return;
    }
    dk_conn_get_stats(succ, &after);
    if (after.discarded_records > before.discarded_records) {
        memcpy(s->rx, s->copy, len);
        /* Errors show in the old connection's state; a second new handshake
         * announced by the old one is ignored, the successor has it. */
        dk_result r = dk_conn_receive(p->old, s->rx, len, now);
        after_event(s, p, p->old);
        if (r < 0 && !s->o->quiet && s->o->verbose) {
            fprintf(stderr, "trace: %s old association: %s\n", p->name, dk_strerror(r));
        }
    }
}

static void feed_unknown(server *s, const struct sockaddr_storage *a, socklen_t alen, size_t len,
                         uint64_t now)
{
    size_t out_len = 0;
    dk_gate_verdict v = dk_server_gate(s->cfg, a, alen, s->rx, len, now, s->out, sizeof s->out,
                                       &out_len);
    if (v == DK_GATE_HVR) {
        (void)sendto(s->fd, s->out, out_len, 0, (const struct sockaddr *)a, alen);
        return;
    }
    if (v != DK_GATE_ACCEPT) {
        return;
    }
    dk_conn *c = dk_conn_new(s->cfg, a, alen);
    peer *p = c ? add_peer(s, a, alen, c) : NULL;
    if (p == NULL) {
        if (c != NULL) {
            dk_conn_free(c);
        }
        return;
    }
    p->last_active = now;
    if (s->o->verbose) {
        dk_conn_set_trace(c, cli_trace_stderr, p->name);
    }
    if (out_len > 0) { /* the gate reassembled a fragmented ClientHello */
        memcpy(s->rx, s->out, out_len);
        len = out_len;
    }
    feed(s, p, c, len, now, true);
}

static void receive_datagrams(server *s)
{
    for (int i = 0; i < RECV_BURST; i++) {
        struct sockaddr_storage a;
        socklen_t alen = sizeof a;
        memset(&a, 0, sizeof a);
        ssize_t n = recvfrom(s->fd, s->rx, sizeof s->rx, MSG_DONTWAIT, (struct sockaddr *)&a,
                             &alen);
        if (n < 0) {
            return;
        }
        uint64_t now = cli_now_ms();
        peer *p = find_peer(s, &a, alen);
        if (p == NULL) {
            feed_unknown(s, &a, alen, (size_t)n, now);
        } else {
            p->last_active = now;
            feed_known(s, p, (size_t)n, now);
        }
    }
}

/* ---- timers and the end of connections --------------------------------- */

static void run_timer(server *s, peer *p, dk_conn *c, uint64_t now)
{
    if (c != NULL && dk_conn_next_timeout(c) <= now) {
        /* A handshake timeout moves the connection to FAILED: reaped later. */
        dk_result r = dk_conn_handle_timeout(c, now);
        if (r != DK_OK && dk_conn_state(c) != DK_STATE_FAILED && !s->o->quiet) {
            cli_fail(CLI_EXIT_FAIL, "%s: timer: %s", p->name, dk_strerror(r));
        }
        after_event(s, p, c);
    }
}

static uint64_t next_deadline(const server *s)
{
    uint64_t d = UINT64_MAX;
    for (size_t i = 0; i < s->n_peers; i++) {
        const peer *p = s->peers[i];
        uint64_t t = dk_conn_next_timeout(p->conn);
        d = t < d ? t : d;
        t = p->old ? dk_conn_next_timeout(p->old) : UINT64_MAX;
        d = t < d ? t : d;
        t = p->last_active + IDLE_MS;
        d = t < d ? t : d;
    }
    return d;
}

static bool ended(const dk_conn *c)
{
    dk_state st = dk_conn_state(c);
    return st == DK_STATE_CLOSED || st == DK_STATE_FAILED;
}

/* A connection ended: report it; --once records the exit code. */
static void report_end(server *s, peer *p, bool idle)
{
    bool failed = !idle && dk_conn_state(p->conn) == DK_STATE_FAILED;
    if (s->o->stats) {
        cli_print_stats(p->conn);
    }
    if (s->o->once && s->once_code < 0) {
        s->once_code = failed ? cli_fail(CLI_EXIT_FAIL, "%s", cli_conn_reason(p->conn))
                              : CLI_EXIT_OK;
    } else if (failed && !s->o->quiet) {
        cli_fail(CLI_EXIT_FAIL, "%s: %s", p->name, cli_conn_reason(p->conn));
    }
}

/* Returns true when the peer is gone. */
static bool reap_peer(server *s, size_t i, uint64_t now)
{
    peer *p = s->peers[i];
    if (p->old != NULL && ended(p->old)) {
        dk_conn_free(p->old);
        p->old = NULL;
    }
    if (p->old != NULL && ended(p->conn)) {
        /* The successor failed: the established association carries on. */
        dk_conn_free(p->conn);
        p->conn = p->old;
        p->old = NULL;
        p->announced = true;
    }
    bool idle = now - p->last_active >= IDLE_MS;
    if (!ended(p->conn) && !idle) {
        return false;
    }
    report_end(s, p, !ended(p->conn));
    remove_peer(s, i);
    return true;
}

static void service_timers(server *s)
{
    uint64_t now = cli_now_ms();
    for (size_t i = 0; i < s->n_peers; i++) {
        peer *p = s->peers[i];
        run_timer(s, p, p->conn, now);
        run_timer(s, p, p->old, now);
    }
    for (size_t i = s->n_peers; i-- > 0;) {
        (void)reap_peer(s, i, now);
    }
}

/* SIGINT/SIGTERM: close_notify to every peer. */
static void close_all(server *s)
{
    while (s->n_peers > 0) {
        peer *p = s->peers[s->n_peers - 1];
        dk_conn *cs[2] = { p->conn, p->old };
        for (int k = 0; k < 2; k++) {
            if (cs[k] != NULL && dk_conn_state(cs[k]) == DK_STATE_ESTABLISHED &&
                dk_conn_close(cs[k]) == DK_OK) {
                drain(s, p, cs[k]);
            }
        }
        if (s->o->stats) {
            cli_print_stats(p->conn);
        }
        remove_peer(s, s->n_peers - 1);
    }
}

/* ---- setup and loop ------------------------------------------------------- */

static int open_socket(server *s)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char err[300], name[64];
    if (!cli_resolve(s->o->host, s->o->port, true, &ss, &len, err, sizeof err)) {
        return cli_fail(CLI_EXIT_FAIL, "%s", err);
    }
    s->fd = socket(ss.ss_family, SOCK_DGRAM, 0);
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&ss, len) != 0) {
        return cli_fail(CLI_EXIT_FAIL, "cannot listen on %s: %s", s->o->addr, strerror(errno));
    }
    int rcvbuf = 1 << 20; /* room for bursts from many peers; best effort */
    (void)setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    len = sizeof ss;
    if (getsockname(s->fd, (struct sockaddr *)&ss, &len) != 0) {
        return cli_fail(CLI_EXIT_FAIL, "getsockname: %s", strerror(errno));
    }
    cli_format_addr((struct sockaddr *)&ss, len, name, sizeof name);
    if (!s->o->quiet) {
        printf("listening: %s\n", name);
    }
    return 0;
}

static int server_loop(server *s)
{
    while (s->once_code < 0) {
        if (cli_stop_requested()) {
            close_all(s);
            return CLI_EXIT_OK;
        }
        struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
        int n = poll(&pfd, 1, cli_poll_timeout(next_deadline(s), cli_now_ms()));
        if (n < 0 && errno != EINTR) {
            return cli_fail(CLI_EXIT_FAIL, "poll: %s", strerror(errno));
        }
        if (n > 0) {
            receive_datagrams(s);
        }
        service_timers(s);
    }
    return s->once_code;
}

static int server_setup(server *s, const cli_opts *o, FILE *keylog)
{
    bool ephemeral = false;
    uint8_t fp[32];
    char hex[65];
    s->o = o;
    s->fd = -1;
    s->once_code = -1;
    int rc = cli_build_config(o, keylog, &s->cfg, &ephemeral, fp);
    if (rc != 0) {
        return rc;
    }
    if (ephemeral) {
        cli_hex_encode(fp, 32, hex);
        printf("certificate sha256 fingerprint: %s\n", hex);
    }
    cli_install_signals();
    return open_socket(s);
}

int cli_server_main(const cli_opts *o)
{
    FILE *keylog = NULL;
    char err[512];
    if (!cli_keylog_open(o->keylog, &keylog, err, sizeof err)) {
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    int rc = server_setup(s, o, keylog);
    if (rc == 0) {
        rc = server_loop(s);
    }
    while (s->n_peers > 0) {
        remove_peer(s, s->n_peers - 1);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    if (s->cfg != NULL) {
        dk_config_free(s->cfg);
    }
    free(s->peers);
    free(s);
    if (keylog != NULL) {
        fclose(keylog);
    }
    return rc;
}
