/* A dtlskit client and server endpoint driven by hand: every datagram is
 * delivered explicitly, time only moves when the test moves it, and every
 * output is returned to the test, which may drop, reorder, duplicate or edit
 * it before delivery ("scripted client"). The server side is what a real
 * endpoint does: the stateless gate for a peer without a connection, then
 * the connection, with DK_NEW_HANDSHAKE successors and R16's old association
 * kept until the successor is established.
 *
 * Knobs reach into a client connection's internals to script behaviour a
 * conforming client may show but dtlskit's never does on its own (a chosen
 * message_seq or record sequence number, a stale cookie, an early record).
 */
#ifndef DK_DUO_H
#define DK_DUO_H

#include "dk_craft.h"
#include "dtlskit/dtlskit.h"

typedef struct dk_duo {
    dk_config *ccfg, *scfg;
    dk_conn *c;            /* client */
    dk_peer *sp;           /* the server's side of the peer (R16 lives there), or NULL */
    dk_conn *s;            /* mirrors dk_peer_conn(sp): the server connection, or NULL */
    dk_conn *s_old;        /* mirrors dk_peer_old(sp): the association kept beside s */
    uint64_t now;          /* virtual time (ms) */
    uint8_t peer[6];       /* the client's address as the server sees it */
    uint64_t crand, srand; /* deterministic randomness of each config */
    /* what the server endpoint did */
    size_t gate_hvrs, gate_drops, server_conns, new_handshakes;
    dk_result s_res, c_res; /* last results */
    /* application data received, concatenated */
    uint8_t s_rx[4096], c_rx[4096];
    size_t s_rx_len, c_rx_len, s_rx_records, c_rx_records;
} dk_duo;

/* Configs from dk_test_{client,server}_config(kind) with seeded randomness;
 * the client connection is created but not started. now starts at 10000. */
void dk_duo_init(dk_duo *d, const char *ckind, const char *skind, uint64_t seed);
void dk_duo_free(dk_duo *d);
/* Turn on tracing of both sides to stderr when DK_CONF_TRACE is set. */
void dk_duo_trace(dk_duo *d, dk_conn *c, const char *who);

/* Append everything conn has to send to out. */
void dk_duo_poll(dk_conn *conn, dk_dgl *out);
/* Start the client; its first flight goes to out. */
dk_result dk_duo_connect(dk_duo *d, dk_dgl *out);
/* Deliver one datagram to the server endpoint; its answers go to out. */
dk_result dk_duo_to_server(dk_duo *d, const uint8_t *p, size_t len, dk_dgl *out);
/* Deliver one datagram to a client connection (d->c when conn is NULL). */
dk_result dk_duo_to_client(dk_duo *d, dk_conn *conn, const uint8_t *p, size_t len, dk_dgl *out);
/* Deliver every datagram of in (in order). */
void dk_duo_all_to_server(dk_duo *d, const dk_dgl *in, dk_dgl *out);
void dk_duo_all_to_client(dk_duo *d, const dk_dgl *in, dk_dgl *out);
/* Run the timers due at d->now. */
dk_result dk_duo_server_timer(dk_duo *d, dk_dgl *out);
dk_result dk_duo_client_timer(dk_duo *d, dk_dgl *out);

/* Liveness: deliver the pending datagrams both ways (consuming the lists),
 * firing timers when the link is idle, until both ends are established;
 * false if one fails or limit_ms of virtual time pass. */
bool dk_duo_complete(dk_duo *d, dk_dgl *to_s, dk_dgl *to_c, uint64_t limit_ms);
/* Liveness after the handshake: one record each way arrives intact. */
bool dk_duo_data_flows(dk_duo *d);

/* ---- the common opening: each step aborts if the exchange goes wrong --------- */

typedef struct dk_duo_run {
    dk_dgl ch0, hvr, ch1, flight4, flight5, flight6;
} dk_duo_run;
/* CH0 -> gate HVR -> CH1 (cookie) -> server flight 4 (not yet delivered). */
void dk_duo_to_flight4(dk_duo *d, dk_duo_run *r);
/* ... then flight 4 to the client: flight 5 (not yet delivered). */
void dk_duo_to_flight5(dk_duo *d, dk_duo_run *r);
/* ... then flight 5 to the server and flight 6 to the client: both established. */
void dk_duo_establish(dk_duo *d, dk_duo_run *r);
void dk_duo_run_free(dk_duo_run *r);

/* ---- knobs (internal state of a client connection) ---------------------- */

/* The message_seq of the client's next handshake message and the record
 * sequence number of its next epoch-0 record. */
void dk_knob_client_seq(dk_conn *c, uint16_t next_ms, uint64_t next_rseq);
/* The cookie the client puts in its next ClientHello. */
void dk_knob_client_cookie(dk_conn *c, const uint8_t *cookie, size_t len);
/* Replace the ClientHello in the client's transcript (it sent body with
 * message_seq ms instead of what it built). */
dk_result dk_knob_client_hello_sent(dk_conn *c, uint16_t ms, const uint8_t *body, size_t len);
/* Seal and queue one record in the connection's current write epoch, as if
 * the state machine allowed it. */
dk_result dk_knob_send_record(dk_conn *c, uint8_t ct, const uint8_t *p, size_t len);
/* The verify_data of the Finished the client just sent (it has sent its
 * flight 5 and not yet received the server's Finished). */
dk_result dk_knob_client_finished(dk_conn *c, uint8_t vd[12]);
/* A Finished verify_data (client's or server's label) over the
 * connection's transcript without its last drop_tail bytes; for a client
 * waiting for the server's Finished, (false, 0) is what it expects. */
dk_result dk_knob_finished(dk_conn *c, bool client_label, size_t drop_tail, uint8_t vd[12]);
/* The connection's next_receive_seq and whether its read epoch switched. */
uint16_t dk_knob_next_recv_seq(const dk_conn *c);
bool dk_knob_ccs_received(const dk_conn *c);
uint8_t dk_knob_write_epoch(const dk_conn *c);

#endif
