/* The probe's scripted DTLS 1.2 client: state shared by the handshake engine
 * (probe_peer.c) and the step runner (probe_run.c). */
#ifndef DK_PROBE_CLI_H
#define DK_PROBE_CLI_H

#include "probe.h"

#define PR_MAX_CH 24

typedef struct pr_ch_sent {
    uint16_t ms;
    uint64_t rs;
    bool fragmented;
    uint8_t *body;
    size_t len;
    uint8_t cookie[255];
    uint8_t cookie_len;
} pr_ch_sent;

typedef struct pr_srv_msg {
    bool have;
    uint16_t ms;
    uint64_t rs;
    uint8_t *body;
    size_t len;
} pr_srv_msg;

enum { PR_SM_SH, PR_SM_CERT, PR_SM_SKE, PR_SM_CR, PR_SM_SHD, PR_SM_N };

typedef struct pr_cli {
    pr_wire *w;
    const pr_opts *o;
    const pr_scenario *sc;
    /* ClientHello parameters: one set per (restarted) client */
    uint8_t random[32];
    uint16_t suites[24];
    size_t n_suites;
    uint16_t next_ch_ms;
    pr_ch_sent ch[PR_MAX_CH];
    size_t n_ch;
    /* what the server sent */
    bool have_hvr;
    uint16_t hvr_version;
    uint8_t hvr_cookie[255];
    uint8_t hvr_cookie_len;
    pr_srv_msg srv[PR_SM_N];
    uint8_t sh_random[32];
    unsigned sh_seen;   /* ServerHellos with the current random (1 + retransmissions) */
    unsigned new_sh;    /* ServerHellos that started a new flight */
    int base;           /* index in ch[] of the ClientHello the flight answers */
    const dk_suite *suite;
    bool ems;
    /* our flight, prepared once per server flight */
    bool prepared;
    uint8_t *cert_body;
    size_t cert_len;
    uint8_t cke[2 + 256 + 140];
    size_t cke_len;
    uint8_t cv[1100];
    size_t cv_len;
    uint8_t fin[12];
    uint16_t ms_cert, ms_cke, ms_cv, ms_fin;
    pr_tr tr; /* through our Finished */
    uint8_t master[48];
    /* outcome */
    bool ccs_seen, established, fin_bad;
    bool alert_seen, dead;
    uint8_t alert_level, alert_desc;
    size_t hs_start; /* observation index where the current handshake began */
    /* application data */
    uint8_t app[128];
    size_t app_len;
    unsigned app_count;
    /* client credentials (T18) */
    dk_chain chain;
    dk_pkey *key;
} pr_cli;

bool pr_cli_init(pr_cli *c, pr_wire *w, const pr_opts *o, const pr_scenario *sc, char *err,
                 size_t errcap);
void pr_cli_free(pr_cli *c);
/* Start over as a client that restarted (new random, message_seq 0). */
void pr_cli_restart(pr_cli *c);
void pr_cli_absorb(void *arg, const pr_obs *ob);

/* ClientHello with the step's fields; returns false on a local error. */
bool pr_cli_send_ch(pr_cli *c, const pr_step *st);
pr_ch_sent *pr_cli_last_ch(pr_cli *c);
bool pr_cli_flight_ready(const pr_cli *c);
/* Compute our flight (CKE, keys, CertificateVerify, Finished). */
bool pr_cli_prepare(pr_cli *c, char *err, size_t errcap);
/* Send one message of our flight; type DK_HT_* or DK_CT_CHANGE_CIPHER_SPEC
 * as a pseudo type 0xFF. */
bool pr_cli_send_msg(pr_cli *c, uint8_t type, const pr_step *st);
bool pr_cli_send_flight(pr_cli *c);
bool pr_cli_send_app(pr_cli *c, const pr_step *st, const char *text);

#define PR_T_CCS 0xFF

/* One scenario being run in the client role. */
typedef struct pr_run {
    pr_cli c;
    pr_wire w;
    const pr_opts *o;
    const pr_scenario *sc;
    pr_result *res;
    size_t mark;       /* observation index when we last sent */
    uint64_t mark_t;   /* and the time then (ms since the start) */
    unsigned mark_new_sh, mark_sh_seen;
    unsigned flight_new_sh; /* c.new_sh when the current flight was accepted */
    uint16_t hvr_ms;   /* message_seq of the last HVR, for notes */
} pr_run;

/* probe_run.c */
void pr_run_mark(pr_run *r);
bool pr_step_fail(pr_run *r, const pr_step *st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
unsigned pr_within(const pr_run *r, const pr_step *st);
const char *pr_obs_describe(const pr_obs *ob, char *buf, size_t cap);

/* probe_expect.c: one function per PR_EXPECT_* step; false ends the scenario. */
bool pr_expect(pr_run *r, const pr_step *st);
bool pr_complete(pr_run *r, const pr_step *st);
bool pr_liveness(pr_run *r, const pr_step *st);

#endif
