/* The probe's scripted DTLS 1.2 server (--serve): state shared by the
 * handshake engine (probe_srv.c) and the step runner (probe_serve.c). */
#ifndef DK_PROBE_SRV_H
#define DK_PROBE_SRV_H

#include "probe.h"

typedef struct pr_srv {
    pr_wire *w;
    const pr_opts *o;
    const pr_scenario *sc;
    pr_result *res;
    /* credentials: --cert/--key or a fresh self-signed P-256 certificate */
    dk_chain chain;
    dk_pkey *key;
    /* the client's latest ClientHello */
    bool have_ch;
    uint16_t ch_ms;
    uint64_t ch_rs;
    uint8_t *ch_body;
    size_t ch_len;
    unsigned n_ch;        /* ClientHello messages received, retransmissions included */
    uint8_t cookie[255];  /* the cookie of our last HVR */
    uint8_t cookie_len;
    /* our handshake */
    bool negotiated;
    const dk_suite *suite;
    bool ems;
    bool reneg_info;     /* the client offered secure renegotiation (RFC 5746) */
    bool point_formats;  /* the client sent ec_point_formats */
    uint16_t group;
    dk_kex *kex;
    uint8_t cr[32], sr[32], master[48];
    pr_tr tr;
    uint16_t next_ms;       /* our next message_seq */
    uint16_t client_next;   /* the client's next message_seq we process */
    bool cr_sent, flight_sent, keys, ccs_sent, fin_sent;
    /* the client's flight */
    bool client_ccs, client_fin_ok, client_fin_bad;
    unsigned client_retx;   /* old message_seq seen again */
    bool dead;              /* the client sent a fatal alert or close_notify */
    uint8_t alert_level, alert_desc;
    bool alert_seen;
    /* step bookkeeping */
    size_t mark;
    uint64_t mark_t;
    unsigned mark_n_ch;
    bool echoed;
} pr_srv;

bool pr_srv_init(pr_srv *s, pr_wire *w, const pr_opts *o, char *err, size_t errcap);
void pr_srv_free(pr_srv *s);
/* Forget the handshake (a new client). */
void pr_srv_reset(pr_srv *s);
void pr_srv_absorb(void *arg, const pr_obs *ob);
/* Choose suite, group and random for the latest ClientHello. */
bool pr_srv_negotiate(pr_srv *s, char *err, size_t errcap);
/* One handshake message of ours (DK_HT_*), with optional overrides. */
bool pr_srv_send_msg(pr_srv *s, uint8_t type, const pr_step *st);
bool pr_srv_send_hvr(pr_srv *s, const pr_step *st);
bool pr_srv_send_ccs(pr_srv *s);
bool pr_srv_send_fin(pr_srv *s, const pr_step *st);

#endif
