/* dtlskit endpoint internals.
 *
 * dk_endpoint.c  public API, options, the loop, shutdown
 * dk_ep_conn.c   a datagram or a timer for one connection: events, R16
 * dk_ep_table.c  the peer table (keyed hash) and the timer heap
 * dk_ep_io.c     the socket: recvmmsg, the send arena, sendmmsg, UDP GSO
 *
 * Only this folder touches sockets and clocks; the engine stays sans-IO.
 */
#ifndef DK_EP_INT_H
#define DK_EP_INT_H

#include <netinet/in.h>
#include <sys/socket.h> /* struct mmsghdr: needs _GNU_SOURCE first */

#include "core/dk_core.h"
#include "dtlskit/dtlskit_endpoint.h"

#define DK_EP_MAX_BATCH 64
/* Largest datagram we receive: a full 2^14 record plus AEAD expansion and
 * headers, with room to spare. Longer ones are truncated and dropped. */
#define DK_EP_RX_SLOT 18432
/* Send arena: datagrams are appended back to back, so a run of equal-size
 * datagrams to one peer is already one contiguous GSO buffer. */
#define DK_EP_TX_ARENA (256 * 1024)
#define DK_EP_GSO_MAX_BYTES 65000
#define DK_EP_GSO_MAX_SEGS 64
/* Receive batches per dk_endpoint_process before timers get their turn. */
#define DK_EP_RX_ROUNDS 8

#define DK_EP_NO_HEAP UINT32_MAX

enum {
    DK_EPF_CLIENT = 1,     /* created by dk_endpoint_connect */
    DK_EPF_CONNECTED = 2,  /* on_connect emitted */
    DK_EPF_HALF_OPEN = 4,  /* counted in half_open */
    DK_EPF_CLOSING = 8,    /* dk_endpoint_close_conn called */
    DK_EPF_IN_TABLE = 16,
    DK_EPF_ENDING = 32,    /* terminal event under way */
};

/* A peer's transport address; its bytes (zero padded) are the table key and
 * the peer_id given to the engine's cookie binding. */
typedef union dk_ep_addr {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} dk_ep_addr;

struct dk_endpoint_conn {
    dk_conn *conn;
    dk_endpoint_conn *hnext; /* hash chain */
    dk_endpoint_conn *old;   /* R16: the established predecessor, kept beside this one */
    void *user;
    uint64_t deadline;       /* heap key: min(engine timer, idle) */
    uint64_t last_active;
    uint32_t heap_idx;
    uint32_t hash;
    uint8_t flags;
    uint8_t addr_len;
    dk_ep_addr addr;
};

typedef struct dk_ep_tx {
    struct mmsghdr msg[DK_EP_MAX_BATCH];
    struct iovec iov[DK_EP_MAX_BATCH];
    dk_ep_addr addr[DK_EP_MAX_BATCH];
    char ctrl[DK_EP_MAX_BATCH][CMSG_SPACE(sizeof(uint16_t))];
    uint16_t seg[DK_EP_MAX_BATCH];  /* GSO segment size, 0: single datagram */
    uint16_t nseg[DK_EP_MAX_BATCH];
    bool open[DK_EP_MAX_BATCH];     /* more equal segments may join */
    const dk_endpoint_conn *owner[DK_EP_MAX_BATCH];
    unsigned n;
    size_t used;
    uint8_t *arena;
} dk_ep_tx;

typedef struct dk_ep_rx {
    struct mmsghdr msg[DK_EP_MAX_BATCH];
    struct iovec iov[DK_EP_MAX_BATCH];
    dk_ep_addr addr[DK_EP_MAX_BATCH];
    uint8_t *slots; /* batch * DK_EP_RX_SLOT */
} dk_ep_rx;

struct dk_endpoint {
    dk_endpoint_options o;
    int fd;
    bool gso_ok;
    bool shut;
    volatile int stop;
    /* peer table */
    dk_endpoint_conn **buckets;
    size_t nbuckets, count;
    uint64_t hash_key[2];
    /* timer heap */
    dk_endpoint_conn **heap;
    size_t heap_n, heap_cap;
    /* the connection being handled (its close waits until we return to it) */
    dk_endpoint_conn *busy;
    dk_endpoint_stats st;
    uint64_t now;
    bool processing;
    dk_ep_rx rx;
    dk_ep_tx tx;
    uint8_t copy[DK_EP_RX_SLOT]; /* a datagram's bytes for a second reader (R16) */
    uint8_t hvr[DK_GATE_OUT_MAX]; /* gate output: an HVR, or a pooled ClientHello */
};

/* ---- dk_ep_table.c ---- */
dk_result dk_ep_table_init(dk_endpoint *ep);
void dk_ep_table_free(dk_endpoint *ep);
size_t dk_ep_addr_norm(const struct sockaddr *sa, socklen_t len, dk_ep_addr *out);
dk_endpoint_conn *dk_ep_table_find(const dk_endpoint *ep, const dk_ep_addr *a, size_t len);
DK_MUST_CHECK dk_result dk_ep_table_insert(dk_endpoint *ep, dk_endpoint_conn *h);
void dk_ep_table_remove(dk_endpoint *ep, dk_endpoint_conn *h);
/* Put new_h in old_h's place (same address). */
void dk_ep_table_replace(dk_endpoint *ep, dk_endpoint_conn *old_h, dk_endpoint_conn *new_h);
/* Set h's deadline and move it in the heap (UINT64_MAX: out of the heap). */
DK_MUST_CHECK dk_result dk_ep_heap_set(dk_endpoint *ep, dk_endpoint_conn *h, uint64_t deadline);
void dk_ep_heap_clear(dk_endpoint *ep, dk_endpoint_conn *h);
dk_endpoint_conn *dk_ep_heap_top(const dk_endpoint *ep);

/* ---- dk_ep_io.c ---- */
DK_MUST_CHECK dk_result dk_ep_io_init(dk_endpoint *ep);
void dk_ep_io_free(dk_endpoint *ep);
DK_MUST_CHECK dk_result dk_ep_socket_setup(dk_endpoint *ep, int fd);
/* One recvmmsg (or recvfrom); returns the number of datagrams (0: none). */
int dk_ep_recv_batch(dk_endpoint *ep, size_t *lens);
/* Append one datagram for h's address; flushes when the batch is full. */
void dk_ep_tx_push(dk_endpoint *ep, const dk_endpoint_conn *h, const dk_ep_addr *a, size_t alen,
                   const uint8_t *d, size_t len);
/* Room for one more datagram of up to cap bytes at the arena's end. */
uint8_t *dk_ep_tx_reserve(dk_endpoint *ep, size_t cap);
void dk_ep_tx_commit(dk_endpoint *ep, const dk_endpoint_conn *h, const dk_ep_addr *a, size_t alen,
                     size_t len);
void dk_ep_tx_flush(dk_endpoint *ep);

/* ---- dk_ep_conn.c ---- */
dk_endpoint_conn *dk_ep_conn_new(dk_endpoint *ep, dk_conn *c, const dk_ep_addr *a, size_t alen,
                                 uint8_t flags);
/* One datagram from a known address. */
void dk_ep_conn_datagram(dk_endpoint *ep, dk_endpoint_conn *h, uint8_t *d, size_t len);
/* A datagram from an unknown address (the cookie gate). */
void dk_ep_unknown_datagram(dk_endpoint *ep, const dk_ep_addr *a, size_t alen, uint8_t *d,
                            size_t len);
void dk_ep_conn_timer(dk_endpoint *ep, dk_endpoint_conn *h);
/* Send what h queued, emit its events, update its deadline; frees h when
 * it ended. */
void dk_ep_conn_settle(dk_endpoint *ep, dk_endpoint_conn *h);
/* Terminal event and free (h and its R16 predecessor). */
void dk_ep_conn_end(dk_endpoint *ep, dk_endpoint_conn *h, dk_endpoint_close_reason why);
/* Move what h's engine queued into the send batch. */
void dk_ep_conn_drain(dk_endpoint *ep, dk_endpoint_conn *h);
void dk_ep_conn_destroy(dk_endpoint *ep, dk_endpoint_conn *h);

#endif
