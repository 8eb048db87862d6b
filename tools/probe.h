/* dtlskit probe: a scenario-driven DTLS 1.2 conformance tester.
 *
 * The probe plays a scripted client (against a server) or a scripted server
 * (--serve, against a client) built on dtlskit's own codecs, key schedule and
 * record protection, so it can complete real handshakes and misbehave on
 * purpose. Scenarios (probe_scenarios.c) are data: lists of steps that send
 * messages with chosen fields or expect messages, alerts or silence.
 *
 * Files: probe.c (command line, output), probe_run.c (client-role steps),
 * probe_peer.c (client-role handshake engine), probe_serve.c and
 * probe_srv.c (server role), probe_wire.c (socket, records, observations),
 * probe_pcap.c (capture file), probe_scenarios.c (the table).
 */
#ifndef DK_PROBE_H
#define DK_PROBE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core/dk_core.h"
#include "crypto/dk_crypto.h"
#include "handshake/dk_msg.h"
#include "keys/dk_keys.h"
#include "record/dk_record.h"

#define PR_MAX_SEL 64
#define PR_DG_MAX 17000

/* ---- options ------------------------------------------------------------ */

typedef struct pr_opts {
    const char *target;          /* HOST:PORT, or NULL with --serve */
    const char *serve;           /* ADDR:PORT to listen on */
    struct sockaddr_in addr;     /* target, or the address to bind with --serve */
    const char *ids[PR_MAX_SEL]; /* --scenario */
    size_t n_ids;
    bool list, json, verbose, no_echo;
    const char *pcap_path, *keylog_path;
    const char *psk_identity;
    uint8_t psk[64];
    size_t psk_len;
    const char *cert, *key; /* client certificate (T18), or the --serve certificate */
    unsigned timeout_ms;
} pr_opts;

/* ---- capture ------------------------------------------------------------- */

typedef struct pr_pcap pr_pcap;
pr_pcap *pr_pcap_open(const char *path);
void pr_pcap_write(pr_pcap *p, const struct sockaddr_in *src, const struct sockaddr_in *dst,
                   const uint8_t *data, size_t len);
void pr_pcap_close(pr_pcap *p);

/* ---- scenarios as data ------------------------------------------------------ */

/* Step operations. Client role (against a server) first, then --serve. */
enum {
    PR_END = 0,
    /* client role: sending */
    PR_SEND_CH,       /* ClientHello: ms, rs, epoch, cookie, frag, mut */
    PR_SEND_CERT,     /* our Certificate (T18) */
    PR_SEND_CKE,      /* ClientKeyExchange */
    PR_SEND_CV,       /* CertificateVerify */
    PR_SEND_CCS,      /* ChangeCipherSpec (switches our write epoch to 1) */
    PR_SEND_FIN,      /* Finished (epoch 1 unless .epoch) */
    PR_SEND_FLIGHT,   /* [Certificate] CKE [CertificateVerify] CCS Finished */
    PR_RESEND_FLIGHT, /* the last flight again, in new records */
    PR_SEND_APP,      /* application data (epoch 1 unless .epoch; .arg 1: old keys) */
    PR_SEND_ALERT,    /* .arg = level << 8 | description, .epoch */
    PR_SEND_RAW,      /* a crafted record, .mut selects which */
    PR_REPLAY,        /* the last datagram sent, byte for byte */
    PR_SAVE_ASSOC,    /* keep the current keys as the "old" association (T24) */
    /* client role: expecting */
    PR_EXPECT_HVR,       /* HelloVerifyRequest echoing the last ClientHello's ms and rs */
    PR_EXPECT_FLIGHT,    /* a new ServerHello ... ServerHelloDone flight */
    PR_EXPECT_RETX,      /* the current server flight again (same ServerHello) */
    PR_EXPECT_NO_NEW_SH, /* no ServerHello other than the current one */
    PR_EXPECT_FINISHED,  /* server CCS and a Finished that verifies */
    PR_EXPECT_FIN_AGAIN, /* the server's Finished retransmitted (R19) */
    PR_EXPECT_NO_FINISHED, /* no server Finished (an alert is allowed) */
    PR_EXPECT_SILENCE,   /* nothing but retransmissions of the current flight */
    PR_EXPECT_NO_ALERT,
    PR_EXPECT_ALERT,     /* a fatal alert; .arg = description or -1 */
    PR_EXPECT_ECHO,      /* the last application data sent comes back */
    PR_EXPECT_NO_ECHO,
    PR_EXPECT_TIMER,     /* server retransmissions double (R17) */
    PR_COMPLETE,         /* send our flight (retransmitting) and expect the Finished */
    PR_LIVENESS,         /* the server still works: complete or redo a handshake, exchange data */
    PR_SLEEP,
    /* --serve: server role */
    PS_EXPECT_CH,        /* a ClientHello; .cookie PR_CK_HVR: must echo our last cookie */
    PS_SEND_HVR,         /* .rs, .ms, .arg = version, .cookie PR_CK_NEW/PR_CK_HVR */
    PS_SEND_MSG,         /* one server message: .arg = handshake type, .ms, .rs, .epoch */
    PS_SEND_FLIGHT,      /* ServerHello ... ServerHelloDone */
    PS_EXPECT_FLIGHT,    /* the client's flight up to a Finished that verifies */
    PS_SEND_CCS,
    PS_SEND_FIN,         /* our Finished (epoch 1 unless .epoch) */
    PS_EXPECT_NO_CH,     /* no new or repeated ClientHello within the window */
    PS_EXPECT_NO_FLIGHT, /* the client does not send its flight (it ignored something) */
    PS_EXPECT_ALERT_OR_SILENCE, /* the client rejects (alert) or discards (silence) */
    PS_LIVENESS,         /* finish this handshake or a fresh client's, exchange data */
};

/* Which cookie a ClientHello carries, or an HVR sends. */
enum { PR_CK_NONE = 0, PR_CK_HVR, PR_CK_FIRST, PR_CK_BAD, PR_CK_NEW, PR_CK_LONG };
/* ClientHello fragmentation. */
enum { PR_FR_NONE = 0, PR_FR_3OOO, PR_FR_3EARLY, PR_FR_1K };
/* Mutations (bits). */
enum {
    PR_MUT_SUITES = 1,     /* ClientHello: cipher suites reordered (R8) */
    PR_MUT_BIG = 2,        /* ClientHello: ~3 KB of padding extension */
    PR_MUT_FRESH = 4,      /* ClientHello: a new random (a client that restarted) */
    PR_MUT_BADCKLEN = 8,   /* ClientHello: cookie length beyond the body */
    PR_MUT_PLAIN = 16,     /* an epoch-1 record sent unencrypted */
    PR_MUT_FLIP = 32,      /* one bit flipped in the protected record */
    PR_MUT_BADMAC = 64,    /* random bytes as ciphertext */
    PR_MUT_OVERLEN = 128,  /* handshake: fragment_offset + fragment_length > length */
    PR_MUT_SHORT = 256,    /* handshake: fragment_length beyond the record */
    PR_MUT_LENDIS = 512,   /* handshake: two fragments disagreeing on length */
    PR_MUT_MSDIS = 1024,   /* handshake: two fragments disagreeing on message_seq */
    PR_MUT_BADCT = 2048,   /* record: unknown content type */
    PR_MUT_RECLEN = 4096,  /* record: length field beyond the datagram */
    PR_MUT_RSCH = 8192,    /* record: reuse the ClientHello's record sequence number */
};

/* Step arguments (bits of .arg) for expectations. */
enum {
    PR_A_COOKIE32 = 1,     /* EXPECT_HVR: cookie at most 32 bytes */
    PR_A_CONSEC = 2,       /* EXPECT_FLIGHT: message_seq consecutive from the ServerHello's */
    PR_A_RETX = 4,         /* EXPECT_HVR/FLIGHT: retransmit our ClientHello, as a client would */
    PR_A_NO_EARLY_APP = 8, /* EXPECT_FINISHED: no echo of our data before the server Finished */
    PR_A_NEED_CR = 16,     /* EXPECT_FLIGHT: the server must request a client certificate */
    PR_A_FATAL_OK = 32,    /* EXPECT_NO_ALERT: only warning alerts fail */
    PR_A_LAST_FLIGHT = 64, /* EXPECT_SILENCE: retransmitted server CCS and Finished allowed */
};

/* PS_SEND_FLIGHT arguments. */
enum {
    PS_A_HVR_AFTER_SH = 1, /* a HelloVerifyRequest right after the ServerHello */
    PS_A_HELLO_REQ = 2,    /* a HelloRequest before ServerHelloDone */
    PS_A_DUP_CR = 4,       /* two CertificateRequests (message_seq n and n+1) */
};

typedef struct pr_step {
    uint8_t op;
    bool setup;           /* failing here is INCONCLUSIVE, not FAIL */
    bool ms_set, rs_set, epoch_set;
    bool ms_rel;          /* ms counts from the message_seq of the ClientHello that got the flight */
    uint16_t ms;
    uint64_t rs;
    uint16_t epoch;
    uint8_t cookie;
    uint8_t frag;
    uint32_t mut;
    uint32_t within;      /* ms; 0 = --timeout */
    int32_t arg;
} pr_step;

#define MS(x) .ms = (x), .ms_set = true
#define MSR(x) .ms = (x), .ms_set = true, .ms_rel = true
#define RS(x) .rs = (x), .rs_set = true
#define EP(x) .epoch = (x), .epoch_set = true

enum {
    PR_F_SERVE = 1,       /* client-side scenario, run with --serve */
    PR_F_CLIENT_AUTH = 2, /* needs a server requiring client certificates and --cert/--key */
    PR_F_CERT = 4,        /* needs a certificate cipher suite */
    PR_F_SLOW = 8,        /* takes several seconds */
    PR_F_MALFORMED = 16,  /* sends records a dissector flags as malformed, on purpose */
    PR_F_REHANDSHAKE = 32, /* a second ClientHello on an association: a dissector that
                            * follows one session per address pair loses the keys */
};

typedef struct pr_scenario {
    const char *id;
    const char *rules;
    const char *title;
    unsigned flags;
    const pr_step *steps;
} pr_scenario;

const pr_scenario *pr_scenarios(size_t *n);

/* ---- results ------------------------------------------------------------- */

typedef enum { PR_PASS = 0, PR_FAIL = 1, PR_INCONCLUSIVE = 2 } pr_verdict;

typedef struct pr_result {
    pr_verdict verdict;
    char reason[400];
    char notes[400]; /* what was seen, for PASS lines */
} pr_result;

/* ---- the wire: one UDP socket, records in and out, observations ---------- */

typedef enum { PR_O_HS, PR_O_MSG, PR_O_CCS, PR_O_ALERT, PR_O_APP, PR_O_OPAQUE, PR_O_BAD } pr_okind;

/* One thing received: a record (or one handshake fragment of it), or a
 * whole handshake message once its fragments are complete (PR_O_MSG). */
typedef struct pr_obs {
    uint64_t t;        /* ms since the scenario started */
    unsigned dgram;
    pr_okind kind;
    uint8_t ct;
    uint16_t version, epoch;
    uint64_t rs;
    uint8_t hs_type;
    uint32_t hs_len, foff, flen;
    uint16_t ms;
    uint8_t level, desc; /* alerts */
    uint8_t *data;       /* fragment bytes, message body, or application data */
    size_t len;
    bool old_keys;       /* decrypted with the saved association's keys */
} pr_obs;

typedef struct pr_asm {
    bool used;
    uint8_t type;
    uint16_t ms, epoch;
    uint32_t len, have;
    uint64_t rs;
    uint8_t *body, *bits;
} pr_asm;

/* A record we sent, kept so a flight can be resent in new records. */
typedef struct pr_sent {
    uint8_t ct;
    uint16_t epoch;
    bool plain;
    uint8_t *pt;
    size_t len;
} pr_sent;

#define PR_ASM_SLOTS 8
#define PR_FLIGHT_MAX 12

typedef struct pr_keys {
    bool ready;
    dk_cipher w, r;
} pr_keys;

typedef struct pr_wire {
    const pr_opts *o;
    int fd;
    bool serve;
    struct sockaddr_in local, peer;
    bool have_peer;
    bool accept_new;   /* --serve: a datagram from a new address switches to it */
    bool peer_changed; /* set when that happened */
    struct sockaddr_in stale; /* --serve: a previous client, ignored */
    bool have_stale;
    uint16_t rec_version;     /* record version we send; 0 = DTLS 1.2 */
    pr_pcap *pcap;
    FILE *keylog;
    uint64_t t0;
    unsigned n_dgrams;
    /* observations */
    pr_obs *obs;
    size_t n_obs, cap_obs;
    pr_asm as[PR_ASM_SLOTS];
    /* record layer */
    uint64_t wseq[2];
    uint16_t wepoch;
    pr_keys keys, old;
    uint64_t old_wseq1; /* epoch-1 write sequence of the saved association */
    uint64_t last_rs0; /* record sequence number of our last epoch-0 record */
    /* the last flight, and the last datagram */
    pr_sent flight[PR_FLIGHT_MAX];
    size_t n_flight;
    bool flight_open;
    uint8_t last_dg[PR_DG_MAX];
    size_t last_dg_len;
    /* hook: what to do with each whole message and record received */
    void (*absorb)(void *arg, const pr_obs *ob);
    void *absorb_arg;
} pr_wire;

uint64_t pr_now_ms(void);
/* Client: a socket towards o->addr. Server: a socket bound to o->addr. */
bool pr_wire_open(pr_wire *w, const pr_opts *o, bool serve, pr_pcap *pcap, FILE *keylog,
                  char *err, size_t errcap);
void pr_wire_close(pr_wire *w);
/* Client: move to a new socket (a new source port), as a fresh client. */
bool pr_wire_reopen(pr_wire *w);
/* Forget observations and keys (a new scenario on the same socket). */
void pr_wire_reset_obs(pr_wire *w);
uint64_t pr_wire_elapsed(const pr_wire *w);

/* Start collecting records into a new flight (for PR_RESEND_FLIGHT). */
void pr_wire_flight_begin(pr_wire *w);
/* Seal a record and send it as one datagram. rs: UINT64_MAX for the next one.
 * plain: an epoch >= 1 record without protection. */
bool pr_send_record(pr_wire *w, uint8_t ct, uint16_t epoch, uint64_t rs, bool plain,
                    const uint8_t *pt, size_t len);
/* Send raw bytes as one datagram. */
bool pr_send_datagram(pr_wire *w, const uint8_t *d, size_t len);
bool pr_wire_resend_flight(pr_wire *w);
/* A handshake header and body (one fragment) into out; returns its size. */
size_t pr_hs_bytes(uint8_t *out, size_t cap, uint8_t type, uint32_t length, uint16_t ms,
                   uint32_t off, uint32_t flen, const uint8_t *body);

/* Receive until the deadline (absolute, pr_now_ms) or one datagram arrived.
 * Returns false at the deadline. */
bool pr_wire_recv(pr_wire *w, uint64_t deadline);
/* Install keys for epoch 1 from the key block (client: we are the client). */
bool pr_keys_install(pr_keys *k, const dk_suite *s, const uint8_t ms[48], const uint8_t cr[32],
                     const uint8_t sr[32], bool we_are_client);
void pr_keys_clear(pr_keys *k);
void pr_keylog(pr_wire *w, const uint8_t cr[32], const uint8_t ms[48]);
void pr_vlog(const pr_wire *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- the transcript ------------------------------------------------------- */

typedef struct pr_tr {
    uint8_t *p;
    size_t len, cap;
} pr_tr;
bool pr_tr_add(pr_tr *t, uint8_t type, uint16_t ms, const uint8_t *body, size_t len);
void pr_tr_free(pr_tr *t);

/* Key schedule common to both roles: master secret (EMS or not), keys and
 * the key log. */
bool pr_derive(pr_wire *w, const dk_suite *s, bool ems, const pr_tr *tr, const uint8_t *pms,
               size_t pms_len, const uint8_t cr[32], const uint8_t sr[32], uint8_t ms[48],
               bool we_are_client);
bool pr_finished(const dk_suite *s, const uint8_t ms[48], bool client, const pr_tr *tr,
                 uint8_t out[12]);

/* ---- running ----------------------------------------------------------- */

/* One scenario against a server (probe_run.c) or a client (probe_serve.c). */
void pr_run_client(const pr_opts *o, const pr_scenario *sc, pr_pcap *pcap, FILE *keylog,
                   pr_result *res);
void pr_run_serve(const pr_opts *o, const pr_scenario *sc, pr_wire *w, pr_result *res);

/* probe.c */
int probe_main(int argc, char **argv);
void pr_set_result(pr_result *r, pr_verdict v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void pr_note(pr_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
const char *pr_alert_name(uint8_t desc);
const char *pr_hs_name(uint8_t type);

#endif
