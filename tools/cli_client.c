/* `dtlskit client HOST:PORT`: stdin lines out as records, records in to stdout. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli_args.h"
#include "cli_util.h"

/* How long to wait for echoes after the end of stdin. */
#define EOF_LINGER_MS 1000
/* Stop reading stdin while this much is waiting to be sent. */
#define STDIN_BUFFER_MAX (1u << 20)
/* Records sent per loop turn before the socket is read again. */
#define SEND_BURST 16

typedef struct client {
    const cli_opts *o;
    dk_conn *conn;
    int fd;
    bool announced;
    bool stdin_eof;
    bool more_to_send; /* send_lines stopped after a burst */
    uint8_t *in; /* stdin bytes not yet sent */
    size_t in_len, in_cap;
    uint64_t sent, received;
    uint64_t linger_deadline; /* UINT64_MAX until stdin ended and all was sent */
    struct sockaddr_storage peer;
    socklen_t peer_len;
    uint8_t rx[CLI_DGRAM_MAX];  /* datagrams, decrypted in place */
    uint8_t app[CLI_DGRAM_MAX]; /* records copied out of rx */
} client;

/* Result of one step: keep going, or exit with a code. */
enum { STEP_CONTINUE = -1 };

static int open_socket(client *cl)
{
    const cli_opts *o = cl->o;
    struct sockaddr_storage *ss = &cl->peer;
    char err[300];
    if (!cli_resolve(o->host, o->port, false, ss, &cl->peer_len, err, sizeof err)) {
        return cli_fail(CLI_EXIT_FAIL, "%s", err);
    }
    int fd = socket(ss->ss_family, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)ss, cl->peer_len) != 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        return cli_fail(CLI_EXIT_FAIL, "cannot connect UDP socket to %s: %s", o->addr,
                        strerror(e));
    }
    int rcvbuf = 1 << 20; /* room for a burst of echoes; best effort */
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    cl->fd = fd;
    return 0;
}

static int start_conn(client *cl, const dk_config *cfg)
{
    const cli_opts *o = cl->o;
    const char *name = o->servername ? o->servername
                       : cli_is_ip_literal(o->host) ? NULL
                                                    : o->host;
    cl->conn = dk_conn_new(cfg, &cl->peer, cl->peer_len);
    if (cl->conn == NULL) {
        return cli_fail(CLI_EXIT_FAIL, "cannot create connection: out of memory");
    }
    if (o->verbose) {
        dk_conn_set_trace(cl->conn, cli_trace_stderr, NULL);
    }
    dk_result r = name ? dk_conn_set_server_name(cl->conn, name) : DK_OK;
    if (r != DK_OK) {
        return cli_fail(CLI_EXIT_USAGE, "bad server name '%s': %s", name, dk_strerror(r));
    }
    r = dk_conn_connect(cl->conn, cli_now_ms());
    if (r != DK_OK) {
        return cli_fail(CLI_EXIT_FAIL, "cannot start the handshake: %s", dk_strerror(r));
    }
    return 0;
}


static int drain(client *cl)
{
    int e = cli_conn_drain(cl->conn, cl->fd, NULL, 0);
    if (e != 0) {
        return cli_fail(CLI_EXIT_FAIL, "send to %s: %s", cl->o->addr, strerror(e));
    }
    return 0;
}

/* Queue close_notify, send it, and return code. */
static int close_and_exit(client *cl, int code)
{
    if (dk_conn_state(cl->conn) == DK_STATE_ESTABLISHED && dk_conn_close(cl->conn) == DK_OK) {
        (void)cli_conn_drain(cl->conn, cl->fd, NULL, 0);
    }
    if (cl->o->stats) {
        cli_print_stats(cl->conn);
    }
    return code;
}

static int read_stdin(client *cl)
{
    if (cl->in_cap - cl->in_len < 4096) {
        size_t cap = cl->in_cap ? cl->in_cap * 2 : 16384;
        uint8_t *p = realloc(cl->in, cap);
        if (p == NULL) {
            return cli_fail(CLI_EXIT_FAIL, "out of memory");
        }
        cl->in = p;
        cl->in_cap = cap;
    }
    ssize_t n = read(STDIN_FILENO, cl->in + cl->in_len, cl->in_cap - cl->in_len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) {
        return 0;
    }
    if (n <= 0) {
        cl->stdin_eof = true; /* end of input, or an unreadable stdin */
        return 0;
    }
    cl->in_len += (size_t)n;
    return 0;
}

/* Send one record. */
static int send_record(client *cl, const uint8_t *data, size_t len)
{
    size_t mtu = dk_conn_data_mtu(cl->conn);
    if (len > mtu) {
        return close_and_exit(cl, cli_fail(CLI_EXIT_FAIL,
                                           "input line of %zu bytes does not fit in one record "
                                           "(at most %zu bytes with this MTU)",
                                           len, mtu));
    }
    dk_result r = dk_conn_write(cl->conn, data, len);
    if (r != DK_OK) {
        return close_and_exit(cl, cli_fail(CLI_EXIT_FAIL, "write: %s", dk_strerror(r)));
    }
    cl->sent++;
    return drain(cl); /* one record at a time: the output queue stays short */
}

/* Send the complete lines (and, after EOF, the unterminated rest), a burst
 * at a time so that echoes are read in between. */
static int send_lines(client *cl)
{
    size_t off = 0;
    int rc = 0;
    cl->more_to_send = false;
    for (int burst = 0; rc == 0 && off < cl->in_len; burst++) {
        if (burst == SEND_BURST) {
            cl->more_to_send = true;
            break;
        }
        size_t rest = cl->in_len - off;
        uint8_t *nl = memchr(cl->in + off, '\n', rest);
        size_t len = nl ? (size_t)(nl - (cl->in + off)) + 1 : rest;
        if (nl == NULL && !cl->stdin_eof && len <= dk_conn_data_mtu(cl->conn)) {
            break; /* wait for the end of the line */
        }
        rc = send_record(cl, cl->in + off, len);
        off += len;
    }
    if (off > 0) {
        memmove(cl->in, cl->in + off, cl->in_len - off);
        cl->in_len -= off;
    }
    return rc;
}

static int read_records(client *cl)
{
    size_t n;
    while (dk_conn_read(cl->conn, cl->app, sizeof cl->app, &n) == DK_OK) {
        cli_write_stdout(cl->app, n);
        cl->received++;
    }
    return 0;
}

static int on_established(client *cl)
{
    if (cl->announced) {
        return 0;
    }
    cl->announced = true;
    cli_print_handshake(cl->conn, NULL);
    int rc = cli_print_export(cl->o, cl->conn);
    return rc != 0 ? close_and_exit(cl, rc) : 0;
}

/* After the end of stdin: wait for the echoes, at most EOF_LINGER_MS. */
static int check_linger(client *cl, uint64_t now)
{
    if (!cl->stdin_eof || cl->in_len > 0) {
        return STEP_CONTINUE;
    }
    if (cl->linger_deadline == UINT64_MAX) {
        cl->linger_deadline = now + EOF_LINGER_MS;
    }
    if (cl->received >= cl->sent || now >= cl->linger_deadline) {
        return close_and_exit(cl, CLI_EXIT_OK);
    }
    return STEP_CONTINUE;
}

/* Everything that follows an input event: output, records, state. */
static int step(client *cl, uint64_t now)
{
    int rc = drain(cl);
    if (rc != 0) {
        return rc;
    }
    dk_state st = dk_conn_state(cl->conn);
    if (st == DK_STATE_FAILED) {
        int code = cli_fail(CLI_EXIT_FAIL, "%s", cli_conn_reason(cl->conn));
        return close_and_exit(cl, code);
    }
    if (st == DK_STATE_ESTABLISHED || st == DK_STATE_CLOSED) {
        rc = on_established(cl);
        rc = rc == 0 ? read_records(cl) : rc;
    }
    if (rc != 0) {
        return rc;
    }
    if (st == DK_STATE_CLOSED) {
        return close_and_exit(cl, CLI_EXIT_OK); /* the server closed */
    }
    if (st != DK_STATE_ESTABLISHED) {
        return STEP_CONTINUE;
    }
    rc = send_lines(cl);
    return rc != 0 ? rc : check_linger(cl, now);
}

/* Announce the handshake first, then hand out the records of the datagram
 * just received (they live in rx until the next receive). */
static int after_receive(client *cl)
{
    dk_state st = dk_conn_state(cl->conn);
    if (st != DK_STATE_ESTABLISHED && st != DK_STATE_CLOSED) {
        return 0;
    }
    int rc = on_established(cl);
    return rc != 0 ? rc : read_records(cl);
}

static int receive_datagrams(client *cl, uint64_t now)
{
    for (;;) {
        ssize_t n = recv(cl->fd, cl->rx, sizeof cl->rx, MSG_DONTWAIT);
        if (n < 0) {
            return 0; /* EAGAIN, or ECONNREFUSED from an ICMP error: the timer retries */
        }
        /* An error moves the connection to FAILED; step() reports it. */
        dk_result r = dk_conn_receive(cl->conn, cl->rx, (size_t)n, now);
        int rc = after_receive(cl);
        if (rc != 0 || r < 0) {
            return rc;
        }
    }
}

static int wait_and_handle(client *cl)
{
    uint64_t now = cli_now_ms();
    uint64_t deadline = dk_conn_next_timeout(cl->conn);
    if (cl->linger_deadline < deadline) {
        deadline = cl->linger_deadline;
    }
    struct pollfd pfd[2] = {
        { .fd = cl->fd, .events = POLLIN },
        { .fd = STDIN_FILENO, .events = POLLIN },
    };
    nfds_t nfds = !cl->stdin_eof && cl->in_len < STDIN_BUFFER_MAX ? 2 : 1;
    int n = poll(pfd, nfds, cl->more_to_send ? 0 : cli_poll_timeout(deadline, now));
    if (n < 0 && errno != EINTR) {
        return cli_fail(CLI_EXIT_FAIL, "poll: %s", strerror(errno));
    }
    now = cli_now_ms();
    int rc = 0;
    if (n > 0 && (pfd[0].revents & (POLLIN | POLLERR))) {
        rc = receive_datagrams(cl, now);
    }
    if (rc == 0 && n > 0 && nfds == 2 && pfd[1].revents != 0) {
        rc = read_stdin(cl);
    }
    if (rc != 0) {
        return rc;
    }
    if (dk_conn_next_timeout(cl->conn) <= now) {
        /* A handshake timeout moves the connection to FAILED: step() reports it. */
        dk_result r = dk_conn_handle_timeout(cl->conn, now);
        if (r != DK_OK && dk_conn_state(cl->conn) != DK_STATE_FAILED) {
            return cli_fail(CLI_EXIT_FAIL, "timer: %s", dk_strerror(r));
        }
    }
    return 0;
}

static int client_loop(client *cl)
{
    for (;;) {
        if (cli_stop_requested()) {
            return close_and_exit(cl, CLI_EXIT_OK);
        }
        int rc = wait_and_handle(cl);
        if (rc != 0) {
            return rc;
        }
        rc = step(cl, cli_now_ms());
        if (rc != STEP_CONTINUE) {
            return rc;
        }
    }
}

int cli_client_main(const cli_opts *o)
{
    FILE *keylog = NULL;
    dk_config *cfg = NULL;
    bool ephemeral;
    uint8_t fp[32];
    char err[512];
    if (!cli_keylog_open(o->keylog, &keylog, err, sizeof err)) {
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    client *cl = calloc(1, sizeof *cl);
    int rc = cl ? cli_build_config(o, keylog, &cfg, &ephemeral, fp)
                : cli_fail(CLI_EXIT_FAIL, "out of memory");
    if (rc == 0) {
        cl->o = o;
        cl->fd = -1;
        cl->linger_deadline = UINT64_MAX;
        cli_install_signals();
        rc = open_socket(cl);
    }
    rc = rc == 0 ? start_conn(cl, cfg) : rc;
    rc = rc == 0 ? drain(cl) : rc; /* the first flight */
    rc = rc == 0 ? client_loop(cl) : rc;
    if (cl != NULL) {
        if (cl->conn != NULL) {
            dk_conn_free(cl->conn);
        }
        if (cl->fd >= 0) {
            close(cl->fd);
        }
        free(cl->in);
        free(cl);
    }
    dk_config_free(cfg);
    if (keylog != NULL) {
        fclose(keylog);
    }
    return rc;
}
