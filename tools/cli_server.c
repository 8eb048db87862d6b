/* `dtlskit server`, built on the library's UDP endpoint (src/net,
 * dtlskit/dtlskit_endpoint.h): one socket, many peers, the stateless cookie
 * gate before any allocation, R16 successors, timers, batching and graceful
 * shutdown all come from the endpoint; this file maps its events onto the
 * CLI's output lines. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli_args.h"
#include "cli_util.h"
#include "dtlskit/dtlskit_endpoint.h"

typedef struct server {
    const cli_opts *o;
    dk_config *cfg;
    dk_endpoint *ep;
    bool shut; /* dk_endpoint_shutdown done: every connection had its terminal event */
    int once_code; /* --once: exit code once the first connection ended, else -1 */
} server;

/* Each connection's "addr:port": the trace prefix and the name in messages. */
static const char *conn_name(dk_endpoint_conn *c)
{
    const char *name = dk_endpoint_conn_user(c);
    return name ? name : "?";
}

static void on_accept(void *arg, dk_endpoint *ep, dk_endpoint_conn *c)
{
    server *s = arg;
    (void)ep;
    char *name = malloc(64);
    if (name == NULL) return;
    dk_endpoint_conn_format_addr(c, name, 64);
    dk_endpoint_conn_set_user(c, name);
    if (s->o->verbose) dk_endpoint_conn_set_trace(c, cli_trace_stderr, name);
}

static void on_connect(void *arg, dk_endpoint *ep, dk_endpoint_conn *c)
{
    server *s = arg;
    (void)ep;
    if (!s->o->quiet) cli_print_handshake(dk_endpoint_conn_dtls(c), conn_name(c));
    (void)cli_print_export(s->o, dk_endpoint_conn_dtls(c));
}

/* Echo or print every record. */
static void on_data(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *data,
                    size_t len)
{
    server *s = arg;
    if (!s->o->echo) {
        cli_write_stdout(data, len);
    } else if (dk_endpoint_send(ep, c, data, len) != DK_OK && !s->o->quiet) {
        cli_fail(CLI_EXIT_FAIL, "%s: cannot echo a record of %zu bytes", conn_name(c), len);
    }
}

/* A connection ended: report it; --once records the exit code. */
static void ended(server *s, dk_endpoint_conn *c, bool failed, const char *reason)
{
    if (s->o->stats) cli_print_stats(dk_endpoint_conn_dtls(c));
    if (s->o->once && s->once_code < 0) {
        s->once_code = failed ? cli_fail(CLI_EXIT_FAIL, "%s", reason) : CLI_EXIT_OK;
    } else if (failed && !s->o->quiet) {
        cli_fail(CLI_EXIT_FAIL, "%s: %s", conn_name(c), reason);
    }
    free(dk_endpoint_conn_user(c));
    dk_endpoint_conn_set_user(c, NULL);
}

static void on_close(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_endpoint_close_reason why)
{
    (void)ep;
    if (why == DK_ENDPOINT_CLOSE_SUPERSEDED) { /* R16: its successor carries on */
        free(dk_endpoint_conn_user(c));
        dk_endpoint_conn_set_user(c, NULL);
        return;
    }
    ended(arg, c, false, NULL);
}

static void on_failure(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_result err,
                       const char *reason)
{
    (void)ep;
    ended(arg, c, true, reason && *reason ? reason : dk_strerror(err));
}

static int open_endpoint(server *s)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char err[300], name[64];
    if (!cli_resolve(s->o->host, s->o->port, true, &ss, &len, err, sizeof err)) {
        return cli_fail(CLI_EXIT_FAIL, "%s", err);
    }
    dk_endpoint_options eo;
    dk_endpoint_options_init(&eo);
    eo.server = s->cfg;
    eo.cb = (dk_endpoint_callbacks){on_accept, on_connect, on_data, on_close, on_failure, s};
    if (s->o->max_connections) eo.max_connections = s->o->max_connections;
    if (s->o->max_half_open) eo.max_half_open = s->o->max_half_open;
    if (s->o->idle_timeout_ms) eo.idle_timeout_ms = s->o->idle_timeout_ms;
    eo.no_gso = s->o->no_gso;
    s->ep = dk_endpoint_new(&eo);
    if (s->ep == NULL) return cli_fail(CLI_EXIT_FAIL, "out of memory");
    dk_result r = dk_endpoint_listen(s->ep, (struct sockaddr *)&ss, len);
    if (r != DK_OK) {
        return cli_fail(CLI_EXIT_FAIL, "cannot listen on %s: %s", s->o->addr,
                        errno ? strerror(errno) : dk_strerror(r));
    }
    len = sizeof ss;
    if (dk_endpoint_local_addr(s->ep, &ss, &len) != DK_OK) {
        return cli_fail(CLI_EXIT_FAIL, "getsockname: %s", strerror(errno));
    }
    cli_format_addr((struct sockaddr *)&ss, len, name, sizeof name);
    if (!s->o->quiet) printf("listening: %s\n", name);
    return 0;
}

/* Runs until --once is settled or SIGINT/SIGTERM, which send close_notify
 * to every peer (dk_endpoint_shutdown). */
static int server_loop(server *s)
{
    while (s->once_code < 0) {
        if (cli_stop_requested()) {
            s->shut = true;
            if (dk_endpoint_shutdown(s->ep) != DK_OK && !s->o->quiet)
                cli_fail(CLI_EXIT_FAIL, "shutdown: could not send every close_notify");
            return CLI_EXIT_OK;
        }
        dk_result r = dk_endpoint_run_once(s->ep, 1000);
        if (r != DK_OK) return cli_fail(CLI_EXIT_FAIL, "%s", dk_strerror(r));
    }
    return s->once_code;
}

/* --stats at exit: the endpoint's counters, one line. */
static void print_endpoint_stats(const dk_endpoint *ep)
{
    dk_endpoint_stats st;
    dk_endpoint_get_stats(ep, &st);
    double dg = (double)(st.datagrams_in + st.datagrams_out);
    printf("endpoint: datagrams_in=%llu datagrams_out=%llu syscalls_per_datagram=%.3f "
           "gso_sends=%llu hvr_sent=%llu accepted=%llu connected=%llu failed=%llu "
           "idle_expired=%llu refused=%llu peak_connections=%zu\n",
           (unsigned long long)st.datagrams_in, (unsigned long long)st.datagrams_out,
           dg > 0 ? (double)(st.recv_calls + st.send_calls + st.poll_calls) / dg : 0.0,
           (unsigned long long)st.gso_sends, (unsigned long long)st.hvr_sent,
           (unsigned long long)st.accepted, (unsigned long long)st.connected,
           (unsigned long long)st.failed, (unsigned long long)st.idle_expired,
           (unsigned long long)(st.refused_full + st.refused_half_open), st.peak_connections);
    fflush(stdout);
}

static int server_setup(server *s, const cli_opts *o, FILE *keylog)
{
    bool ephemeral = false;
    uint8_t fp[32];
    char hex[65];
    s->o = o;
    s->once_code = -1;
    int rc = cli_build_config(o, keylog, &s->cfg, &ephemeral, fp);
    if (rc != 0) return rc;
    if (ephemeral) {
        cli_hex_encode(fp, 32, hex);
        printf("certificate sha256 fingerprint: %s\n", hex);
    }
    cli_install_signals();
    return open_endpoint(s);
}

int cli_server_main(const cli_opts *o)
{
    FILE *keylog = NULL;
    char err[512];
    if (!cli_keylog_open(o->keylog, &keylog, err, sizeof err)) {
        return cli_fail(CLI_EXIT_USAGE, "%s", err);
    }
    server s;
    memset(&s, 0, sizeof s);
    int rc = server_setup(&s, o, keylog);
    if (rc == 0) rc = server_loop(&s);
    /* --once: the other peers get close_notify, and every connection its
     * terminal callback (which frees its name) before the endpoint goes. */
    if (s.ep != NULL && !s.shut) (void)!dk_endpoint_shutdown(s.ep);
    if (s.ep != NULL && o->stats) print_endpoint_stats(s.ep);
    dk_endpoint_free(s.ep);
    if (s.cfg != NULL) dk_config_free(s.cfg);
    if (keylog != NULL) fclose(keylog);
    return rc;
}
