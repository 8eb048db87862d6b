/* A client and a server in one process over a simulated link with virtual
 * time: seeded and deterministic. Impairments: drop, duplicate, reorder,
 * delay with jitter, bit corruption, MTU cap. The server side runs the
 * stateless gate and R38/R16 successor logic as a real endpoint would. */
#ifndef DK_SIM_H
#define DK_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dtlskit/dtlskit.h"

typedef struct dk_link_profile {
    double drop;      /* probability a datagram is lost */
    double dup;       /* probability it is delivered twice */
    double reorder;   /* probability it is held back by reorder_ms */
    double corrupt;   /* probability one bit is flipped */
    uint32_t delay_ms;
    uint32_t jitter_ms;
    uint32_t reorder_ms;
    size_t mtu;       /* datagrams larger than this are dropped (0 = no cap) */
} dk_link_profile;

typedef struct dk_sim_dgram {
    uint8_t *p;
    size_t len;
    uint64_t at;
    int to_server;
    uint64_t order;
} dk_sim_dgram;

#define DK_SIM_MAX_RX 4096

typedef struct dk_sim {
    dk_config *ccfg, *scfg;
    dk_conn *c;
    dk_peer *sp;      /* the server's side of the peer (R16: current + old) */
    dk_conn *s, *s_old; /* dk_peer_conn(sp), dk_peer_old(sp): read-only mirrors */
    uint64_t now;
    uint64_t rng;
    uint64_t order;
    dk_link_profile prof;
    dk_sim_dgram *q;
    size_t qn, qcap;
    uint8_t peer[16];
    /* observed */
    size_t gate_hvrs, server_conns, new_handshakes;
    dk_result c_err, s_err;
    /* application data received, concatenated */
    uint8_t c_rx[DK_SIM_MAX_RX], s_rx[DK_SIM_MAX_RX];
    size_t c_rx_len, s_rx_len, c_rx_records, s_rx_records;
    bool s_echo;
    /* tap: every datagram put on the link (before impairments) */
    void (*tap)(void *arg, int to_server, const uint8_t *p, size_t len);
    void *tap_arg;
    /* called with every application record a side reads (server != 0: the
     * server read it), before it is appended to c_rx / s_rx */
    void (*on_rx)(void *arg, int server, const uint8_t *p, size_t len);
    void *on_rx_arg;
} dk_sim;

/* Configs are borrowed (the caller frees them). */
void dk_sim_init(dk_sim *sim, dk_config *ccfg, dk_config *scfg, uint64_t seed);
void dk_sim_free(dk_sim *sim);
/* Start the client's handshake at the current virtual time. */
dk_result dk_sim_connect(dk_sim *sim);
/* Process the next event (a datagram arrival or a timer). false when idle. */
bool dk_sim_step(dk_sim *sim);
/* Run until both ends are established (true), one failed, or limit_ms of
 * virtual time passed. */
bool dk_sim_handshake(dk_sim *sim, uint64_t limit_ms);
/* Run until idle or limit. */
void dk_sim_run(dk_sim *sim, uint64_t limit_ms);
/* Put a raw datagram on the link towards the server (or client). */
void dk_sim_inject(dk_sim *sim, int to_server, const uint8_t *p, size_t len);
/* Drain a connection's output onto the link. */
void dk_sim_drain(dk_sim *sim, dk_conn *from, int to_server);

/* Test helpers: a config with the test certificates or PSK. */
dk_config *dk_test_server_config(const char *kind); /* "ec", "rsa", "psk", "ec+psk" */
dk_config *dk_test_client_config(const char *kind);
/* Deterministic randomness for replayable runs (seed in *arg, a uint64_t). */
int dk_test_random(void *arg, uint8_t *buf, size_t n);

#endif
