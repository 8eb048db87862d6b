/* Option parsing shared by `dtlskit server` and `dtlskit client`. */
#ifndef DK_CLI_ARGS_H
#define DK_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dtlskit/dtlskit.h"

typedef enum { CLI_SERVER = 1, CLI_CLIENT = 2 } cli_mode;

#define CLI_MAX_PINS 8
#define CLI_PSK_MAX 256
#define CLI_EXPORT_MAX 1024
#define CLI_LABEL_MAX 256
#define CLI_HOST_MAX 256
#define CLI_PORT_MAX 16

typedef struct cli_opts {
    cli_mode mode;
    /* where: the server's --listen, the client's HOST:PORT, split */
    const char *addr;
    char host[CLI_HOST_MAX];
    char port[CLI_PORT_MAX];
    /* credentials and verification */
    const char *cert;
    const char *key;
    const char *ca;
    bool verify_client;
    bool request_client;
    bool insecure;
    uint8_t pins[CLI_MAX_PINS][32];
    size_t n_pins;
    const char *servername;
    const char *psk_identity;
    const char *psk_hex;
    uint8_t psk[CLI_PSK_MAX];
    size_t psk_len;
    /* handshake parameters */
    const char *ciphers;
    const char *mtu_arg;
    size_t mtu; /* 0: library default */
    bool no_cookie;
    /* server endpoint limits (0: the endpoint's defaults) */
    const char *max_conn_arg, *max_half_open_arg, *idle_arg;
    size_t max_connections, max_half_open;
    uint32_t idle_timeout_ms; /* UINT32_MAX: never */
    bool no_gso;
    /* behaviour and output */
    bool echo;
    bool once;
    bool stats;
    bool quiet;
    bool verbose;
    bool help;
    const char *keylog;
    const char *export_arg;
    char export_label[CLI_LABEL_MAX];
    size_t export_len; /* 0: no --export */
} cli_opts;

/* Parse argv (after the subcommand name). On a usage error prints one
 * "dtlskit: ..." line and returns CLI_EXIT_USAGE; otherwise 0. */
int cli_parse_args(cli_mode mode, int argc, char **argv, cli_opts *o);

/* Help text of a subcommand, and the top-level one. */
void cli_print_usage(cli_mode mode, FILE *f);
void cli_print_main_usage(FILE *f);

/* Build the dk_config the options describe. The key log FILE (may be NULL)
 * must outlive the config. fp receives the ephemeral certificate's
 * fingerprint when *ephemeral is set. Prints one line and returns an exit
 * code on failure, 0 on success. */
int cli_build_config(const cli_opts *o, FILE *keylog, dk_config **out, bool *ephemeral,
                     uint8_t fp[32]);

/* The one-line summaries printed once a connection is established, when its
 * stats are asked for, and the --export line. `from` may be NULL (client). */
void cli_print_handshake(const dk_conn *c, const char *from);
int cli_print_export(const cli_opts *o, const dk_conn *c);
void cli_print_stats(const dk_conn *c);

/* Send every queued datagram of c on fd (to dst, or connected when dst is
 * NULL). ICMP-induced ECONNREFUSED is ignored. Returns 0 or an errno. */
int cli_conn_drain(dk_conn *c, int fd, const void *dst, unsigned dst_len);
/* The reason a connection failed, for the one "dtlskit:" line. */
const char *cli_conn_reason(const dk_conn *c);
/* dk_trace_fn printing "trace: <line>" (arg NULL) or "trace: <arg> <line>". */
void cli_trace_stderr(void *arg, const char *line);

/* The subcommands (cli_server.c, cli_client.c); they return the exit code. */
int cli_server_main(const cli_opts *o);
int cli_client_main(const cli_opts *o);

#endif
