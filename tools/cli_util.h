/* Small helpers of the dtlskit CLI: hex, addresses, time, key log, errors. */
#ifndef DK_CLI_UTIL_H
#define DK_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

/* Exit codes. */
enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Largest UDP payload we ever receive or send. */
#define CLI_DGRAM_MAX 65536

/* Print "dtlskit: <message>" as one line on stderr and return code. */
int cli_fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Decode hex into out. Colons between bytes are skipped when allow_colons.
 * Returns the number of bytes, or -1 on bad input or overflow of cap. */
long cli_hex_decode(const char *s, bool allow_colons, uint8_t *out, size_t cap);
/* Lowercase hex of n bytes into out (needs 2n+1 chars). */
void cli_hex_encode(const uint8_t *in, size_t n, char *out);

/* Split "host:port", "[v6]:port" or "v6" literal forms into host and port.
 * Returns false on syntax errors (missing port, empty host, overflow). */
bool cli_split_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap);
/* True when host is an IPv4 or IPv6 literal. */
bool cli_is_ip_literal(const char *host);
/* Resolve host and port to one UDP address. passive: for bind(). On failure
 * writes a reason to err and returns false. */
bool cli_resolve(const char *host, const char *port, bool passive, struct sockaddr_storage *ss,
                 socklen_t *len, char *err, size_t errcap);
/* "1.2.3.4:5" or "[::1]:5". */
void cli_format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t cap);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t cli_now_ms(void);
/* poll() timeout for an absolute deadline: -1 for none, 0 when due. */
int cli_poll_timeout(uint64_t deadline, uint64_t now);

/* Key log: the file named by --keylog, else by SSLKEYLOGFILE, else none.
 * Opened in append mode. Returns false (with err set) when it cannot open. */
bool cli_keylog_open(const char *path, FILE **out, char *err, size_t errcap);
/* dk_keylog_fn writing one NSS line to the FILE given as arg. */
void cli_keylog_write(void *arg, const char *line);

/* SIGINT and SIGTERM set a flag (and interrupt poll) instead of killing us. */
void cli_install_signals(void);
bool cli_stop_requested(void);

/* Write bytes to stdout as they are and flush. */
void cli_write_stdout(const uint8_t *data, size_t len);

#endif
