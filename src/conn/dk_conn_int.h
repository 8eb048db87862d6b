/* dtlskit connection internals: the sans-IO engine's state.
 *
 * A datagram travels: dk_conn_receive (dk_conn.c) -> records (dk_recv.c) ->
 * handshake fragments -> message_seq logic and reassembly (dk_recv.c) ->
 * the transition table (dk_sm.c) -> role actions (dk_client.c, dk_server.c)
 * -> the next flight (dk_flight.c) -> sealed records in the output queue.
 * Epoch-0 ClientHellos on the server are classified before all of this by
 * the cookie gate (dk_gate.c, R38).
 */
#ifndef DK_CONN_INT_H
#define DK_CONN_INT_H

#include "cookie/dk_cookie.h"
#include "core/dk_core.h"
#include "crypto/dk_crypto.h"
#include "handshake/dk_msg.h"
#include "handshake/dk_reasm.h"
#include "keys/dk_keys.h"
#include "record/dk_record.h"

#define DK_MAX_SUITES 16
#define DK_MAX_GROUPS 4
#define DK_MAX_SIGALGS 8
#define DK_MAX_PINS 8
#define DK_MAX_PEER_ID 128
#define DK_MIN_MTU 128
#define DK_MAX_MTU 16384
#define DK_MAX_HVR 8          /* HelloVerifyRequests a client answers per handshake */
#define DK_MAX_RX_APP 32      /* application records held from one datagram */
#define DK_FLIGHT_MAX_MSGS 8

/* ---- configuration ---------------------------------------------------- */

struct dk_config {
    dk_role role;
    dk_chain chain;
    dk_pkey *key;
    dk_trust *trust;
    uint8_t pins[DK_MAX_PINS][32];
    size_t n_pins;
    bool insecure;
    dk_client_auth client_auth;
    uint8_t *psk_id;
    size_t psk_id_len;
    uint8_t *psk;
    size_t psk_len;
    dk_psk_lookup_fn psk_lookup;
    void *psk_lookup_arg;
    uint8_t *psk_hint;
    size_t psk_hint_len;
    uint16_t suites[DK_MAX_SUITES];
    size_t n_suites;
    uint16_t groups[DK_MAX_GROUPS];
    size_t n_groups;
    uint16_t sig_algs[DK_MAX_SIGALGS];
    size_t n_sig_algs;
    size_t mtu;
    bool require_ems;
    uint32_t timer_initial_ms, timer_max_ms;
    unsigned max_retransmits;
    unsigned replay_window;
    bool cookie_exchange;
    size_t max_message, max_buffered;
    unsigned max_chain;
    dk_keylog_fn keylog;
    void *keylog_arg;
    dk_random_fn random;
    void *random_arg;
    dk_wallclock_fn wallclock;
    void *wallclock_arg;
    /* Mutable through a const config: the cookie secret cache and the
     * state-tag counter. A config is used from one thread at a time. */
    dk_cookie_ctx cookie;
    bool cookie_ready;
    struct dk_gate_pool *gate_pool; /* fragmented ClientHellos before a cookie (dk_gate_pool.c) */
    uint64_t next_tag;
};

/* ---- connection -------------------------------------------------------- */

/* One message of our current flight, kept for retransmission (R2: the same
 * message_seq, new record sequence numbers). CCS is a pseudo-message. */
typedef struct dk_flight_msg {
    uint8_t content_type; /* DK_CT_HANDSHAKE or DK_CT_CHANGE_CIPHER_SPEC */
    uint8_t epoch;
    uint8_t hs_type;
    uint16_t seq;
    uint32_t off, len; /* body inside flight.buf */
} dk_flight_msg;

typedef struct dk_flight {
    dk_flight_msg msg[DK_FLIGHT_MAX_MSGS];
    size_t n;
    uint8_t *buf; /* message bodies */
    size_t len, cap;
} dk_flight;

/* A handshake message ready for the state machine. */
typedef struct dk_msg {
    uint8_t type;
    uint16_t seq;
    uint8_t epoch;
    const uint8_t *body;
    uint32_t len;
    size_t transcript_before; /* transcript length before this message */
    const dk_client_hello *hello; /* server: the ClientHello as the R38 gate parsed it */
} dk_msg;

/* Retransmission states of RFC 6347 4.2.4 (R18). */
typedef enum { DK_FL_PREPARING, DK_FL_SENDING, DK_FL_WAITING, DK_FL_FINISHED } dk_flight_state;

/* An application record in the datagram being processed (offsets from
 * rx_base, which dk_conn_receive sets). */
typedef struct dk_app_slice {
    uint16_t off;
    uint16_t len;
} dk_app_slice;

struct dk_conn {
    const dk_config *cfg;
    dk_role role;
    uint8_t peer[DK_MAX_PEER_ID];
    size_t peer_len;
    dk_state state;
    dk_result error;
    char *reason;           /* allocated on failure */
    uint8_t hs; /* state-machine state (dk_sm.c) */
    dk_flight_state fl_state;

    /* negotiated */
    uint8_t client_random[32], server_random[32];
    const dk_suite *suite;
    uint16_t group;
    uint16_t sig_scheme;      /* scheme we sign with (SKE or CV) */
    uint16_t peer_sig_scheme; /* scheme the peer signed with */
    bool ems;
    bool peer_reneg_info;
    uint8_t master[DK_MASTER_SECRET_LEN];
    bool have_master;
    char *peer_identity;    /* allocated: certificate CN or PSK identity */
    char *server_name;      /* allocated: SNI sent (client) or received (server) */
    bool peer_authenticated;

    /* handshake-only state, freed when the handshake ends */
    dk_kex *kex;
    dk_pkey *peer_key;
    uint8_t *transcript;
    size_t tlen, tcap;
    uint8_t *psk;
    size_t psk_len;
    bool cert_requested;   /* server: sent CertificateRequest; client: received one */
    bool peer_sent_cert;   /* a non-empty Certificate arrived */
    uint16_t client_cert_scheme;
    dk_key_block *kb;
    dk_hmac_key *msk;       /* the master secret keyed into HMAC: key block, Finished */
    dk_hash_ctx *thash;     /* running hash of transcript[0..thashed) */
    size_t thashed;

    /* message sequencing (R1-R4) */
    uint16_t send_seq;      /* next message_seq we use */
    uint16_t next_recv_seq; /* next_receive_seq */
    uint16_t peer_flight_lo, peer_prev_flight_lo;
    bool hr_gap;            /* an ignored HelloRequest sat at hr_gap_seq (R36) */
    uint16_t hr_gap_seq;
    uint16_t rebase_lo, rebase_hi; /* client: message_seq gap a ServerHello skipped */
    dk_reasm *reasm;        /* handshake only */

    uint8_t *peer_point;    /* client, handshake only: the server's ECDHE public value */
    uint8_t peer_point_len;

    /* client: cookie and hello bookkeeping */
    uint8_t *cookie;        /* client, handshake only: the last HVR's cookie */
    uint8_t cookie_len;
    unsigned hvr_count;
    bool got_server_hello;

    /* server: R38 state */
    uint64_t state_tag;
    uint64_t predecessor_tag;
    bool have_creating_ch;
    uint16_t creating_ch_seq;
    uint8_t creating_ch_hash[32];
    uint64_t last_peer_resend_ms;
    bool peer_resend_done;
    uint64_t ch_rec_seq;    /* record sequence number of the creating ClientHello (R6) */
    uint16_t ch_reasm_seq;  /* message_seq being reassembled in ch_reasm */
    dk_reasm *ch_reasm;     /* a fragmented epoch-0 ClientHello, while it lasts */

    /* record layer */
    uint64_t wseq[2];        /* next record sequence number per epoch */
    uint16_t wepoch;         /* current write epoch */
    dk_cipher wcipher;       /* epoch 1 write */
    bool wcipher_ready;
    dk_cipher rcipher;       /* epoch 1 read */
    bool rcipher_ready;      /* keys derived */
    bool ccs_received;       /* read epoch switched to 1 */
    unsigned hs_bad_mac;     /* epoch-1 records failing authentication during the handshake */
    dk_replay replay[2];
    size_t mtu;              /* current effective MTU */

    /* flights and timer */
    dk_flight flight;
    uint64_t timer_deadline;
    uint32_t timer_cur;
    unsigned retransmits;

    /* output queue: [u16 len][datagram]... */
    uint8_t *outq;
    size_t outq_len, outq_off, outq_cap;

    /* application data received in the current datagram */
    uint8_t *rx_base;
    dk_app_slice rx_app[DK_MAX_RX_APP];
    size_t rx_app_n, rx_app_i;
    bool close_received;

    dk_conn_stats stats;
    dk_trace_fn trace;
    void *trace_arg;
    uint64_t now;            /* time of the call being processed */
};

/* ---- dk_config.c ---- */
DK_MUST_CHECK dk_result dk_cfg_random(const dk_config *cfg, uint8_t *out, size_t n);
DK_MUST_CHECK dk_result dk_cfg_random_public(const dk_config *cfg, uint8_t *out, size_t n);
int64_t dk_cfg_wallclock(const dk_config *cfg);
uint64_t dk_cfg_new_tag(const dk_config *cfg);
dk_cookie_ctx *dk_cfg_cookie(const dk_config *cfg);

/* ---- dk_conn.c ---- */
/* Record a fatal error: queue the alert (if alert >= 0), set FAILED. Returns err. */
dk_result dk_conn_fail(dk_conn *c, dk_result err, int alert, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void dk_conn_tracef(dk_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dk_conn_free_handshake(dk_conn *c);
/* Replace an allocated string field with a copy of src[0..len). */
DK_MUST_CHECK dk_result dk_conn_set_str(char **dst, const char *src, size_t len);
static inline const char *dk_str(const char *s) { return s ? s : ""; }
DK_MUST_CHECK dk_result dk_transcript_add(dk_conn *c, const dk_hs_header *h, const uint8_t *body);
DK_MUST_CHECK dk_result dk_transcript_hash(dk_conn *c, size_t len, uint8_t *out);
void dk_conn_established(dk_conn *c);

/* ---- dk_flight.c ---- */
void dk_flight_begin(dk_conn *c);
/* Append a handshake message (body only) to the flight and the transcript. */
DK_MUST_CHECK dk_result dk_flight_add(dk_conn *c, uint8_t hs_type, const uint8_t *body, size_t len);
DK_MUST_CHECK dk_result dk_flight_add_ccs(dk_conn *c);
/* A message written in place in the flight buffer: begin gives a writer with
 * room for max_len bytes, commit adds what it holds (nothing in between). */
DK_MUST_CHECK dk_result dk_flight_begin_msg(dk_conn *c, size_t max_len, dk_writer *w);
DK_MUST_CHECK dk_result dk_flight_commit(dk_conn *c, uint8_t hs_type, const dk_writer *w);
/* Seal and queue the flight; start the timer (or FINISHED when last). */
DK_MUST_CHECK dk_result dk_flight_send(dk_conn *c, bool last_flight);
DK_MUST_CHECK dk_result dk_flight_resend(dk_conn *c);
void dk_flight_free(dk_conn *c);
DK_MUST_CHECK dk_result dk_queue_datagram(dk_conn *c, const uint8_t *d, size_t len);
DK_MUST_CHECK dk_result dk_send_record(dk_conn *c, uint8_t type, const uint8_t *pt, size_t len);
/* Seal one record in the current write epoch into out (no queue). */
DK_MUST_CHECK dk_result dk_seal_record(dk_conn *c, uint8_t type, const uint8_t *pt, size_t len,
                                       uint8_t *out, size_t cap, size_t *out_len);
void dk_outq_trim(dk_conn *c);
void dk_send_alert(dk_conn *c, uint8_t level, uint8_t desc);
DK_MUST_CHECK dk_result dk_on_timer(dk_conn *c, uint64_t now);
const char *dk_alert_name(uint8_t desc);

/* ---- dk_recv.c ---- */
DK_MUST_CHECK dk_result dk_recv_datagram(dk_conn *c, uint8_t *d, size_t len);
DK_MUST_CHECK dk_result dk_process_ready(dk_conn *c);
DK_MUST_CHECK dk_result dk_peer_retransmitted(dk_conn *c);

/* ---- dk_sm.c ---- */
#define DK_EV_CCS 0x100
DK_MUST_CHECK dk_result dk_sm_handle(dk_conn *c, unsigned event, const dk_msg *m);
const char *dk_sm_state_name(const dk_conn *c);
void dk_sm_init(dk_conn *c);
bool dk_sm_done(const dk_conn *c);

/* ---- dk_gate.c ---- */
/* Server: an epoch-0 ClientHello reached an existing connection (R38). */
DK_MUST_CHECK dk_result dk_gate_conn_hello(dk_conn *c, const dk_record *rec,
                                           const dk_hs_header *h, const uint8_t *frag);
/* A HelloVerifyRequest datagram answering ch (R5, R9, R10). */
DK_MUST_CHECK dk_result dk_gate_build_hvr(const dk_config *cfg, const void *peer, size_t peer_len,
                                          uint64_t tag, const dk_client_hello *ch, uint16_t ch_seq,
                                          uint64_t rec_seq, uint64_t now, uint8_t *out, size_t cap,
                                          size_t *out_len);

/* ---- dk_client.c / dk_server.c ---- */
DK_MUST_CHECK dk_result dk_client_start(dk_conn *c);
DK_MUST_CHECK dk_result dk_client_on_hvr(dk_conn *c, const uint8_t *body, size_t len);
DK_MUST_CHECK dk_result dk_server_start(dk_conn *c, const dk_msg *m, const dk_client_hello *ch);

/* ---- dk_auth.c: shared by both roles ---- */
DK_MUST_CHECK dk_result dk_derive_keys(dk_conn *c, const uint8_t *pms, size_t pms_len,
                                       size_t session_hash_len);
DK_MUST_CHECK dk_result dk_finished_compute(dk_conn *c, bool client, size_t transcript_len,
                                            uint8_t out[DK_VERIFY_DATA_LEN]);
DK_MUST_CHECK dk_result dk_verify_peer_chain(dk_conn *c, const dk_certificate *cert);
/* Decode the peer's Certificate message (chain length capped by the
 * config); a malformed or over-long one fails the connection. */
DK_MUST_CHECK dk_result dk_read_peer_certificate(dk_conn *c, const dk_msg *m, dk_certificate *cert);
uint16_t dk_pick_sig_scheme(const dk_pkey *key, const uint8_t *offered, size_t offered_len);
bool dk_scheme_offered(const uint8_t *list, size_t len, uint16_t scheme);
DK_MUST_CHECK dk_result dk_kex_start(dk_conn *c, uint16_t group);
DK_MUST_CHECK dk_result dk_premaster(dk_conn *c, const uint8_t *peer_point, size_t point_len,
                                     uint8_t *pms, size_t cap, size_t *pms_len);
void dk_keylog(dk_conn *c);

/* TLS alerts (RFC 5246 7.2). */
enum {
    DK_ALERT_WARNING = 1,
    DK_ALERT_FATAL = 2,
    DK_AD_CLOSE_NOTIFY = 0,
    DK_AD_UNEXPECTED_MESSAGE = 10,
    DK_AD_BAD_RECORD_MAC = 20,
    DK_AD_HANDSHAKE_FAILURE = 40,
    DK_AD_BAD_CERTIFICATE = 42,
    DK_AD_UNSUPPORTED_CERTIFICATE = 43,
    DK_AD_CERTIFICATE_EXPIRED = 45,
    DK_AD_CERTIFICATE_UNKNOWN = 46,
    DK_AD_ILLEGAL_PARAMETER = 47,
    DK_AD_UNKNOWN_CA = 48,
    DK_AD_DECODE_ERROR = 50,
    DK_AD_DECRYPT_ERROR = 51,
    DK_AD_PROTOCOL_VERSION = 70,
    DK_AD_INSUFFICIENT_SECURITY = 71,
    DK_AD_INTERNAL_ERROR = 80,
    DK_AD_NO_RENEGOTIATION = 100,
    DK_AD_UNSUPPORTED_EXTENSION = 110,
    DK_AD_UNKNOWN_PSK_IDENTITY = 115,
};

#endif
