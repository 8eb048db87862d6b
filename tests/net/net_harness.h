/* Endpoint tests: a server endpoint on 127.0.0.1 and scripted clients (each
 * a dtlskit client connection on its own UDP socket), all in one thread.
 * Time is virtual: the test passes it to dk_endpoint_process and to the
 * clients, so every timer fires exactly when the test says. Loopback UDP
 * delivers a datagram into the receiver's queue before sendto returns, so
 * with one thread the runs are deterministic. */
#ifndef NET_HARNESS_H
#define NET_HARNESS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dk_sim.h"
#include "dtlskit/dtlskit_endpoint.h"

#define NH_MAX_CLIENTS 256
#define NH_MAX_EVENTS 4096

typedef enum { NH_ACCEPT, NH_CONNECT, NH_DATA, NH_CLOSE, NH_FAILURE } nh_kind;

typedef struct nh_event {
    nh_kind kind;
    dk_endpoint_conn *conn;
    int why;        /* close reason or error */
    uint16_t port;  /* the peer's port */
} nh_event;

typedef struct nh_client {
    int fd;
    uint16_t port;
    dk_conn *c;
    bool gone;       /* the peer vanished: nothing sent or received */
    size_t rx_records;
    size_t rx_bytes;
    uint64_t rng;
} nh_client;

typedef struct nh {
    dk_config *scfg, *ccfg;
    dk_endpoint *ep;
    struct sockaddr_in addr; /* the server */
    uint64_t now;
    nh_client cl[NH_MAX_CLIENTS];
    size_t ncl;
    nh_event ev[NH_MAX_EVENTS];
    size_t nev;
    bool echo;
    uint64_t seed;
} nh;

/* Server endpoint on 127.0.0.1 with opts (NULL: defaults; cfg and callbacks
 * are filled in). Short retransmission timers on both sides. */
void nh_init(nh *t, const char *kind, const dk_endpoint_options *opts);
void nh_free(nh *t);
/* A client on a fresh socket; started (first flight sent) at once. */
nh_client *nh_client_new(nh *t);
/* A new client connection on an existing client's socket (same address). */
void nh_client_restart(nh *t, nh_client *cl);
void nh_client_vanish(nh_client *cl);
/* Take a new client through the cookie exchange, then make it vanish: the
 * server holds a half-open handshake. */
void nh_client_half_open(nh *t, nh_client *cl);
bool nh_client_pump(nh *t, nh_client *cl);
/* Deliver everything queued both ways at the current time. */
void nh_pump(nh *t);
/* Pump; when nothing moves, jump to the next deadline; until limit_ms of
 * virtual time passed or done(t) holds. */
void nh_run(nh *t, uint64_t limit_ms, bool (*done)(nh *t));
size_t nh_count(const nh *t, nh_kind kind);
size_t nh_count_why(const nh *t, nh_kind kind, int why);
/* The index of the first event of kind for the peer port, or -1. */
int nh_find(const nh *t, nh_kind kind, uint16_t port);
bool nh_all_clients_established(nh *t);
/* Raw datagram from a client's socket to the server. */
void nh_send_raw(nh_client *cl, const uint8_t *p, size_t len);

#endif
