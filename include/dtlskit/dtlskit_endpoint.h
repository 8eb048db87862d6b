/* dtlskit endpoint: one UDP socket serving any number of DTLS peers.
 *
 * The endpoint owns the socket, a table of connections keyed by the peer's
 * address, a timer heap and shared I/O buffers. A first datagram from an
 * unknown address goes through the stateless cookie gate (dk_server_gate)
 * before anything is allocated. Handshakes never block one another: every
 * datagram is handled to completion and the loop only sleeps in poll().
 *
 * Events reach the application through callbacks. Every connection handle
 * gets exactly one terminal event, on_close or on_failure, after which the
 * handle is freed; on_accept (optional) and on_connect come before it. A
 * handle stays valid until its terminal callback returns.
 *
 * R16 (RULES.md): a ClientHello that starts a new handshake from the address
 * of an established connection creates a successor handle; the old one keeps
 * carrying data until the successor is established, then the old one gets
 * on_close(DK_ENDPOINT_CLOSE_SUPERSEDED) and the successor on_connect. A
 * successor that fails leaves the old association in place.
 *
 * Threads: an endpoint is used from one thread at a time; callbacks run on
 * the thread that calls dk_endpoint_process / dk_endpoint_run_once.
 */
#ifndef DTLSKIT_ENDPOINT_H
#define DTLSKIT_ENDPOINT_H

#include <sys/socket.h>

#include "dtlskit/dtlskit.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct dk_endpoint dk_endpoint;
typedef struct dk_endpoint_conn dk_endpoint_conn;

typedef enum {
    DK_ENDPOINT_CLOSE_PEER = 0,       /* the peer sent close_notify */
    DK_ENDPOINT_CLOSE_LOCAL = 1,      /* dk_endpoint_close_conn() */
    DK_ENDPOINT_CLOSE_IDLE = 2,       /* nothing received for idle_timeout_ms */
    DK_ENDPOINT_CLOSE_SHUTDOWN = 3,   /* dk_endpoint_shutdown() */
    DK_ENDPOINT_CLOSE_SUPERSEDED = 4, /* R16: a new handshake of the same peer replaced it */
} dk_endpoint_close_reason;

typedef struct dk_endpoint_callbacks {
    /* A connection was created for a peer (server: after the cookie gate;
     * also for an R16 successor; client: by dk_endpoint_connect). Optional:
     * the place to attach user data or a trace. */
    void (*on_accept)(void *arg, dk_endpoint *ep, dk_endpoint_conn *c);
    /* The handshake completed. */
    void (*on_connect)(void *arg, dk_endpoint *ep, dk_endpoint_conn *c);
    /* One application record. data is valid during the call only. */
    void (*on_data)(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *data,
                    size_t len);
    /* Terminal: an orderly end. */
    void (*on_close)(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_endpoint_close_reason why);
    /* Terminal: the handshake or the connection failed (alert, timeout,
     * bad certificate ...). reason is a sentence for a person. */
    void (*on_failure)(void *arg, dk_endpoint *ep, dk_endpoint_conn *c, dk_result err,
                       const char *reason);
    void *arg;
} dk_endpoint_callbacks;

typedef struct dk_endpoint_options {
    const dk_config *server; /* accept peers with this config (NULL: accept none) */
    const dk_config *client; /* config for dk_endpoint_connect (may be NULL) */
    dk_endpoint_callbacks cb;
    size_t max_connections;   /* all connections; 0: 65536 */
    size_t max_half_open;     /* handshakes in progress; 0: 4096 */
    uint32_t idle_timeout_ms; /* 0: 300000 (5 minutes); UINT32_MAX: none */
    unsigned batch;           /* datagrams per recvmmsg/sendmmsg, 1..64; 0: 32; 1: no batching */
    bool no_gso;              /* no UDP GSO (UDP_SEGMENT) for runs of equal-size datagrams to
                                 one peer; GSO is used where the kernel offers it, and a
                                 burst it refuses is sent again datagram by datagram */
    bool v6only;              /* an IPv6 socket is dual-stack unless set */
    int rcvbuf, sndbuf;       /* socket buffer sizes, best effort; 0: 4 MiB */
} dk_endpoint_options;

/* Counters. System calls are those the endpoint made on its socket. */
typedef struct dk_endpoint_stats {
    uint64_t datagrams_in, datagrams_out;
    uint64_t recv_calls, send_calls, poll_calls;
    uint64_t wakeups;       /* poll() returns in dk_endpoint_run_once */
    uint64_t empty_wakeups; /* ... with no datagram and no due deadline */
    uint64_t hvr_sent;      /* stateless HelloVerifyRequests */
    uint64_t gate_dropped;  /* datagrams from unknown peers that were not a ClientHello */
    uint64_t refused_half_open, refused_full; /* ClientHellos dropped at a cap */
    uint64_t accepted, connected, closed, failed, idle_expired, superseded;
    uint64_t send_errors;
    uint64_t gso_sends;     /* messages sent as one GSO burst */
    uint64_t gso_refused;   /* GSO bursts the kernel refused (GSO is then off for the socket) */
    size_t connections;     /* current, including R16 predecessors */
    size_t half_open;       /* current handshakes */
    size_t peak_connections, peak_half_open;
} dk_endpoint_stats;

/* Defaults (also what zeros mean). */
DK_API void dk_endpoint_options_init(dk_endpoint_options *o);

DK_API dk_endpoint *dk_endpoint_new(const dk_endpoint_options *o);
/* Frees every connection without sending anything or emitting events (call
 * dk_endpoint_shutdown first for a graceful end), then closes the socket. */
DK_API void dk_endpoint_free(dk_endpoint *ep);

/* Create, configure and bind the socket. AF_INET6 is dual-stack unless
 * o->v6only. */
DK_API DK_CHECK dk_result dk_endpoint_listen(dk_endpoint *ep, const struct sockaddr *addr,
                                             socklen_t len);
/* Use a UDP socket the application bound itself; the endpoint owns it from
 * now on (made non-blocking, closed by dk_endpoint_free). */
DK_API DK_CHECK dk_result dk_endpoint_adopt_socket(dk_endpoint *ep, int fd);
DK_API int dk_endpoint_fd(const dk_endpoint *ep);
DK_API DK_CHECK dk_result dk_endpoint_local_addr(const dk_endpoint *ep, struct sockaddr_storage *ss,
                                                 socklen_t *len);

/* Client side: start a handshake with a server. server_name (may be NULL)
 * is sent as SNI and checked against the certificate. */
DK_API DK_CHECK dk_result dk_endpoint_connect(dk_endpoint *ep, const struct sockaddr *addr,
                                              socklen_t len, const char *server_name,
                                              dk_endpoint_conn **out);

/* ---- the loop --------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds: the clock dk_endpoint_run_once uses. */
DK_API uint64_t dk_endpoint_now_ms(void);
/* The earliest deadline of any connection (retransmission or idle), in
 * absolute ms, or UINT64_MAX. */
DK_API uint64_t dk_endpoint_next_deadline(const dk_endpoint *ep);
/* Without blocking: read and handle the datagrams waiting on the socket (a
 * bounded number, so timers get their turn), run every timer due at now,
 * send what the connections queued. For applications with their own loop
 * (the socket from dk_endpoint_fd is readable, or a deadline passed). */
DK_API DK_CHECK dk_result dk_endpoint_process(dk_endpoint *ep, uint64_t now_ms);
/* Sleep in poll() until the socket is readable, the next deadline is due or
 * max_wait_ms passed (-1: no limit), then dk_endpoint_process. A signal
 * interrupts the wait (returns DK_OK). */
DK_API DK_CHECK dk_result dk_endpoint_run_once(dk_endpoint *ep, int max_wait_ms);
/* dk_endpoint_run_once until dk_endpoint_stop, then dk_endpoint_shutdown. */
DK_API DK_CHECK dk_result dk_endpoint_run(dk_endpoint *ep);
/* Ask dk_endpoint_run to return (from a callback; async-signal-safe). */
DK_API void dk_endpoint_stop(dk_endpoint *ep);
/* Graceful end: close_notify to every established peer, on_close(SHUTDOWN)
 * for every connection, and no new connections afterwards. Not from a
 * callback. */
DK_API DK_CHECK dk_result dk_endpoint_shutdown(dk_endpoint *ep);

DK_API void dk_endpoint_get_stats(const dk_endpoint *ep, dk_endpoint_stats *st);

/* ---- connections ------------------------------------------------------ */

/* Queue one application record (len <= dk_conn_data_mtu). Sent before
 * dk_endpoint_process returns, or at once when called outside it. */
DK_API DK_CHECK dk_result dk_endpoint_send(dk_endpoint *ep, dk_endpoint_conn *c, const uint8_t *data,
                                           size_t len);
/* Send close_notify; the handle gets on_close(DK_ENDPOINT_CLOSE_LOCAL) once
 * the current callback returns (or at once outside callbacks). */
DK_API DK_CHECK dk_result dk_endpoint_close_conn(dk_endpoint *ep, dk_endpoint_conn *c);

/* The DTLS connection, for dk_conn_get_info, dk_conn_get_stats,
 * dk_conn_export_keying_material, dk_conn_error_reason ... */
DK_API const dk_conn *dk_endpoint_conn_dtls(const dk_endpoint_conn *c);
DK_API const struct sockaddr *dk_endpoint_conn_addr(const dk_endpoint_conn *c, socklen_t *len);
/* "192.0.2.1:4433" or "[2001:db8::1]:4433". */
DK_API void dk_endpoint_conn_format_addr(const dk_endpoint_conn *c, char *out, size_t cap);
DK_API void dk_endpoint_conn_set_user(dk_endpoint_conn *c, void *user);
DK_API void *dk_endpoint_conn_user(const dk_endpoint_conn *c);
DK_API void dk_endpoint_conn_set_trace(dk_endpoint_conn *c, dk_trace_fn fn, void *arg);
DK_API bool dk_endpoint_conn_is_client(const dk_endpoint_conn *c);

/* Bytes of the endpoint's own bookkeeping per connection (the handle), for
 * memory accounting; the dk_conn is extra. */
DK_API size_t dk_endpoint_conn_overhead(void);

#ifdef __cplusplus
}
#endif
#endif
