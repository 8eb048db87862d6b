/* Shared plumbing for the interop peer programs (mbedtls_peer, wolfssl_peer):
 * command line, UDP sockets on a connected 4-tuple, the hard timeout, the
 * data loop bookkeeping and a ServerHello sniffer for libraries that do not
 * report whether extended_master_secret was negotiated.
 *
 * These programs are test tools, not part of libdtlskit. */
#ifndef DK_PEER_COMMON_H
#define DK_PEER_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define PEER_MAX_PSK 64
#define PEER_BUF 16384

struct peer_opts {
    const char *prog;
    int is_server;
    char host[256];          /* server: bind address; client: peer address */
    char port[16];
    const char *ciphers;     /* IANA names separated by ':' or ',' */
    const char *cert;
    const char *key;
    const char *ca;
    const char *servername;  /* client: name checked against the certificate */
    const char *psk_identity;
    uint8_t psk[PEER_MAX_PSK];
    size_t psk_len;
    unsigned mtu;            /* 0 = library default */
    int verify_client;
    int echo;
    unsigned timeout_ms;
    const char *export_label; /* RFC 5705 exporter, no context */
    size_t export_len;
    int verbose;
    int probe;               /* check the configuration, print "probe: ok", exit 0 */
};

/* Parse argv; prints usage and exits 2 on a bad command line. */
void peer_parse_args(int argc, char **argv, struct peer_opts *o);

/* With --probe: print "probe: ok" and exit 0 (the configuration loaded). */
void peer_probe_done(const struct peer_opts *o);

/* Print "<prog>: <reason>" on stderr and exit with status 1. */
void peer_fail(const struct peer_opts *o, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 2, 3)));

/* Arm the hard timeout: when it fires the process prints one line on stderr
 * and exits with status 3. */
void peer_arm_timeout(const struct peer_opts *o);

uint64_t peer_now_ms(void);

/* Server: bind a UDP socket, print "listening on ADDR:PORT". */
int peer_udp_bind(const struct peer_opts *o);
/* Server: wait for the first datagram (left queued) and connect the socket
 * to its sender, so that the socket talks to exactly one client. The peer
 * address is copied to addr (sockaddr storage) with its length. */
void peer_udp_accept(const struct peer_opts *o, int fd, void *addr, unsigned *addr_len);
/* Client: a UDP socket connected to host:port. */
int peer_udp_connect(const struct peer_opts *o, void *addr, unsigned *addr_len);

/* Parse an IANA cipher suite list into the next name; returns the length of
 * the name at *p (0 at the end) and advances *p past it and its separator. */
size_t peer_next_suite(const char **p, char *name, size_t cap);

/* "handshake: suite=<IANA> ems=<yes|no>" on stdout. */
void peer_print_handshake(const char *iana_suite, int ems);
/* "export: <hex>" on stdout. */
void peer_print_export(const uint8_t *km, size_t len);

/* Split stdin into lines: returns the length of the next complete line
 * (including '\n') copied into line, 0 if none is complete yet. At EOF a
 * trailing partial line is returned too. Returns -1 once stdin is exhausted. */
struct peer_lines {
    char buf[PEER_BUF];
    size_t len;
    int eof;
};
int peer_stdin_readable(int wait_ms);
int peer_lines_fill(struct peer_lines *l);
long peer_lines_next(struct peer_lines *l, char *line, size_t cap);

/* Write received application data to stdout as-is. */
void peer_print_data(const uint8_t *buf, size_t len);

/* ServerHello sniffer: feed every datagram sent or received during the
 * handshake. Sets *ems to 1 once a ServerHello carrying the
 * extended_master_secret extension (type 23, RFC 7627) was seen, 0 once a
 * ServerHello without it was seen; leaves it at -1 before that. */
void peer_sniff_datagram(const uint8_t *dgram, size_t len, int *ems);

#endif
