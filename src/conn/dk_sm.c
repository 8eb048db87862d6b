/* The DTLS 1.2 handshake as data: one transition table per role.
 *
 * Any (state, event) pair without a row is an unexpected message: a
 * handshake message in order but of the wrong type is fatal
 * (unexpected_message); a ChangeCipherSpec without a row is dropped (T17).
 * Guards are pure functions of the connection; actions check and consume
 * the message and build our next flight. Messages that belong before the
 * peer's ChangeCipherSpec must arrive in epoch 0, Finished must arrive in
 * epoch 1 (R33: "It is a fatal error if a Finished message is not preceded by
 * a ChangeCipherSpec message").
 *
 *   Client                                          Server
 *   ClientHello            -------->                          (flight 1)
 *                          <--------   HelloVerifyRequest     (flight 2)
 *   ClientHello (cookie)   -------->                          (flight 3)
 *                                             ServerHello     (flight 4)
 *                                            Certificate*
 *                                      ServerKeyExchange*
 *                                     CertificateRequest*
 *                          <--------      ServerHelloDone
 *   Certificate*                                              (flight 5)
 *   ClientKeyExchange
 *   CertificateVerify*
 *   [ChangeCipherSpec]
 *   Finished               -------->
 *                                      [ChangeCipherSpec]     (flight 6)
 *                          <--------             Finished
 */
#include "conn/dk_conn_int.h"
#include "conn/dk_sm_int.h"

/* ---- guards ---------------------------------------------------------- */

static bool suite_has_cert(const dk_conn *c) { return c->suite && c->suite->kx == DK_KX_ECDHE_SIGN; }
static bool suite_has_ske(const dk_conn *c) { return c->suite && c->suite->kx != DK_KX_PSK; }
static bool suite_psk_plain(const dk_conn *c) { return c->suite && c->suite->kx == DK_KX_PSK; }
static bool cert_requested(const dk_conn *c) { return c->cert_requested; }
static bool no_cert_requested(const dk_conn *c) { return !c->cert_requested; }
static bool peer_sent_cert(const dk_conn *c) { return c->peer_sent_cert; }
static bool peer_sent_no_cert(const dk_conn *c) { return !c->peer_sent_cert; }

/* R32, R33: the peer's CCS switches the read epoch; it needs the keys the
 * ClientKeyExchange produced, so an early one is dropped (T17), and a repeat
 * is ignored. */
static dk_result on_ccs(dk_conn *c, const dk_msg *m)
{
    (void)m;
    if (!c->rcipher_ready || c->ccs_received) return DK_DISCARD;
    c->ccs_received = true;
    dk_conn_tracef(c, "recv ChangeCipherSpec");
    return DK_OK;
}

#define STAY 0xFF
#define F_NEW_EPOCH 1

static const dk_sm_row client_table[] = {
/*  state              event                       guard             action                 next            flags */
  { C_WAIT_SH,         DK_HT_SERVER_HELLO,         NULL,             dk_cli_server_hello,   C_WAIT_KX,      0 },
  { C_WAIT_KX,         DK_HT_CERTIFICATE,          suite_has_cert,   dk_cli_certificate,    C_WAIT_SKE,     0 },
  { C_WAIT_KX,         DK_HT_SERVER_KEY_EXCHANGE,  suite_has_ske,    dk_cli_key_exchange,   C_WAIT_CR_SHD,  0 },
  { C_WAIT_KX,         DK_HT_SERVER_KEY_EXCHANGE,  suite_psk_plain,  dk_cli_key_exchange,   C_WAIT_SHD,     0 },
  { C_WAIT_KX,         DK_HT_SERVER_HELLO_DONE,    suite_psk_plain,  dk_cli_hello_done,     C_WAIT_FIN,     0 },
  { C_WAIT_SKE,        DK_HT_SERVER_KEY_EXCHANGE,  NULL,             dk_cli_key_exchange,   C_WAIT_CR_SHD,  0 },
  { C_WAIT_CR_SHD,     DK_HT_CERTIFICATE_REQUEST,  suite_has_cert,   dk_cli_cert_request,   C_WAIT_SHD,     0 },
  { C_WAIT_CR_SHD,     DK_HT_SERVER_HELLO_DONE,    NULL,             dk_cli_hello_done,     C_WAIT_FIN,     0 },
  { C_WAIT_SHD,        DK_HT_SERVER_HELLO_DONE,    NULL,             dk_cli_hello_done,     C_WAIT_FIN,     0 },
  { C_WAIT_FIN,        DK_EV_CCS,                  NULL,             on_ccs,                STAY,           0 },
  { C_WAIT_FIN,        DK_HT_FINISHED,             NULL,             dk_cli_finished,       C_DONE,         F_NEW_EPOCH },
};

static const dk_sm_row server_table[] = {
/*  state              event                       guard             action                 next            flags */
  { S_WAIT_CH,         DK_HT_CLIENT_HELLO,         NULL,             dk_srv_client_hello,   S_WAIT_KX,      0 },
  { S_WAIT_KX,         DK_HT_CERTIFICATE,          cert_requested,   dk_srv_certificate,    S_WAIT_CKE,     0 },
  { S_WAIT_KX,         DK_HT_CLIENT_KEY_EXCHANGE,  no_cert_requested,dk_srv_key_exchange,   S_WAIT_FIN,     0 },
  { S_WAIT_CKE,        DK_HT_CLIENT_KEY_EXCHANGE,  peer_sent_cert,   dk_srv_key_exchange,   S_WAIT_CV,      0 },
  { S_WAIT_CKE,        DK_HT_CLIENT_KEY_EXCHANGE,  peer_sent_no_cert,dk_srv_key_exchange,   S_WAIT_FIN,     0 },
  { S_WAIT_CV,         DK_EV_CCS,                  NULL,             on_ccs,                STAY,           0 },
  { S_WAIT_CV,         DK_HT_CERTIFICATE_VERIFY,   NULL,             dk_srv_cert_verify,    S_WAIT_FIN,     0 },
  { S_WAIT_FIN,        DK_EV_CCS,                  NULL,             on_ccs,                STAY,           0 },
  { S_WAIT_FIN,        DK_HT_FINISHED,             NULL,             dk_srv_finished,       S_DONE,         F_NEW_EPOCH },
};

static const char *const client_names[] = {"C_START",    "C_WAIT_SH",  "C_WAIT_KX", "C_WAIT_SKE",
                                           "C_WAIT_CR_SHD", "C_WAIT_SHD", "C_WAIT_FIN", "C_DONE"};
static const char *const server_names[] = {"S_WAIT_CH", "S_WAIT_KX",  "S_WAIT_CKE",
                                           "S_WAIT_CV", "S_WAIT_FIN", "S_DONE"};

const dk_sm_row *dk_sm_table(dk_role role, size_t *n)
{
    if (role == DK_ROLE_CLIENT) {
        *n = DK_ARRAY_LEN(client_table);
        return client_table;
    }
    *n = DK_ARRAY_LEN(server_table);
    return server_table;
}

const char *dk_sm_name(dk_role role, uint8_t state)
{
    if (role == DK_ROLE_CLIENT)
        return state < DK_ARRAY_LEN(client_names) ? client_names[state] : "?";
    return state < DK_ARRAY_LEN(server_names) ? server_names[state] : "?";
}

const char *dk_sm_state_name(const dk_conn *c) { return dk_sm_name(c->role, c->hs); }

void dk_sm_init(dk_conn *c) { c->hs = c->role == DK_ROLE_CLIENT ? C_START : S_WAIT_CH; }

bool dk_sm_done(const dk_conn *c)
{
    return c->hs == (c->role == DK_ROLE_CLIENT ? C_DONE : S_DONE);
}

/* Fuzzing builds count which rows ran (tests/fuzz prints them over a corpus).
 * Not thread-safe, hence never in a normal build. */
#ifdef DK_FUZZING
static uint64_t row_hits[2][32];
_Static_assert(DK_ARRAY_LEN(client_table) <= 32 && DK_ARRAY_LEN(server_table) <= 32, "row_hits");
static void count_row(const dk_conn *c, const dk_sm_row *row)
{
    size_t n;
    row_hits[c->role == DK_ROLE_SERVER][row - dk_sm_table(c->role, &n)]++;
}
const uint64_t *dk_sm_row_hits(dk_role role, size_t *n)
{
    dk_sm_table(role, n);
    return row_hits[role == DK_ROLE_SERVER];
}
#else
static void count_row(const dk_conn *c, const dk_sm_row *row)
{
    (void)c;
    (void)row;
}
const uint64_t *dk_sm_row_hits(dk_role role, size_t *n)
{
    (void)role;
    *n = 0;
    return NULL;
}
#endif

static const dk_sm_row *find_row(const dk_conn *c, unsigned event)
{
    size_t n;
    const dk_sm_row *t = dk_sm_table(c->role, &n);
    for (size_t i = 0; i < n; i++) {
        if (t[i].state != c->hs || t[i].event != event) continue;
        if (!t[i].guard || t[i].guard(c)) return &t[i];
    }
    return NULL;
}

static dk_result no_row(dk_conn *c, unsigned event)
{
    if (event == DK_EV_CCS) return DK_DISCARD; /* T17: early or repeated CCS */
    /* R36: HelloRequest "SHOULD be ignored by the client if it arrives in
     * the middle of a handshake." */
    if (c->role == DK_ROLE_CLIENT && event == DK_HT_HELLO_REQUEST) return DK_DISCARD;
    return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_UNEXPECTED_MESSAGE,
                        "unexpected %s in state %s", dk_hs_type_name((uint8_t)event),
                        dk_sm_state_name(c));
}

static dk_result check_epoch(dk_conn *c, const dk_sm_row *row, const dk_msg *m)
{
    bool want_new = row->flags & F_NEW_EPOCH;
    /* T15 (R26, R30): once the peer's CCS switched the read epoch, a
     * Finished in epoch 0 is unauthenticated plaintext anyone could have
     * sent: "invalid records SHOULD be silently discarded, thus preserving
     * the association" (RFC 6347 4.1.2.7). */
    if (want_new && m->epoch == 0 && c->ccs_received) return DK_DISCARD;
    if (want_new && m->epoch != 1)
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_UNEXPECTED_MESSAGE,
                            "Finished not preceded by ChangeCipherSpec (RFC 5246 7.4.9)");
    if (!want_new && m->epoch != 0)
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_UNEXPECTED_MESSAGE,
                            "%s sent after ChangeCipherSpec", dk_hs_type_name(m->type));
    return DK_OK;
}

dk_result dk_sm_handle(dk_conn *c, unsigned event, const dk_msg *m)
{
    const dk_sm_row *row = find_row(c, event);
    if (!row) {
        /* R36: a HelloRequest in the middle of a handshake is ignored. Whether
         * it used up its message_seq (a server numbering it, probe T26b) or
         * was spoofed at the number of the real next message (conformance
         * T26) is only known from what comes next: remember the slot, and
         * let a message one above it skip it (dk_recv.c). */
        if (c->role == DK_ROLE_CLIENT && event == DK_HT_HELLO_REQUEST && m &&
            m->seq == c->next_recv_seq) {
            c->hr_gap = true;
            c->hr_gap_seq = m->seq;
        }
        return no_row(c, event);
    }
    count_row(c, row);
    dk_msg local;
    if (event != DK_EV_CCS) {
        DK_TRY(check_epoch(c, row, m));
        local = *m;
        local.transcript_before = c->tlen;
        dk_hs_header h = {m->type, m->len, m->seq, 0, m->len};
        dk_result r = dk_transcript_add(c, &h, m->body);
        if (r != DK_OK)
            return dk_conn_fail(c, r, DK_AD_INTERNAL_ERROR, "handshake too large: %s",
                                dk_strerror(r));
        c->next_recv_seq = (uint16_t)(m->seq + 1);
        m = &local;
    }
    uint8_t from = c->hs;
    dk_result r = row->action(c, m);
    if (r == DK_DISCARD) return r;
    if (r != DK_OK) {
        if (c->state == DK_STATE_FAILED) return c->error;
        return dk_conn_fail(c, r, DK_AD_INTERNAL_ERROR, "internal error: %s", dk_strerror(r));
    }
    if (c->state == DK_STATE_FAILED) return c->error;
    if (row->next != STAY && c->hs == from) c->hs = row->next;
    return DK_OK;
}
