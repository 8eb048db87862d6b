/* Malformed records and handshake fragments at every handshake stage, fed to
 * the client connection and to the server connection (docs/ROBUSTNESS.md,
 * classes M1-M22). For each stage and each malformed datagram: no crash,
 * the documented outcome (silent discard: DK_OK, same state, nothing sent),
 * then the same handshake still completes from where it was, data flows
 * both ways, and a fresh handshake on the same configurations works.
 *
 * Stages: client waiting for the HelloVerifyRequest (C_HVR), for the
 * server's flight (C_SH), for the server's Finished (C_FIN), established
 * (C_EST); server waiting for the client's second flight (S_KX), established
 * (S_EST). Forged handshake fragments use a message_seq past this
 * handshake's messages, so they cannot collide with a real one (see M23 in
 * malformed_hs_test.c for a collision). */
#include <stdlib.h>
#include <string.h>

#include "core/dk_core.h"
#include "rb_util.h"

enum { C_HVR, C_SH, C_FIN, C_EST, S_KX, S_EST, N_STAGES };
static const char *const stage_names[] = {"C_HVR", "C_SH", "C_FIN", "C_EST", "S_KX", "S_EST"};

typedef struct ctx {
    dk_duo d;
    dk_duo_run r;
    dk_dgl to_s, to_c;
    dk_conn *target;
    bool server;
    int stage;
    uint8_t tmpl[DK_DG_CAP]; /* a record the target may receive from its peer */
    size_t tmpl_len;
    uint16_t free_seq;       /* a message_seq no real message of this handshake uses */
    uint64_t rseq;           /* fresh record sequence numbers for forgeries */
} ctx;

static void first_record(ctx *x, const uint8_t *dg, size_t len)
{
    x->tmpl_len = dk_craft_extract(dg, len, 0, x->tmpl, sizeof x->tmpl);
    assert_true(x->tmpl_len >= 13);
}

static void peer_app_record(ctx *x)
{
    dk_conn *peer = x->server ? x->d.c : x->d.s;
    static const uint8_t msg[] = "template";
    assert_int_equal(dk_conn_write(peer, msg, sizeof msg), DK_OK);
    size_t n;
    assert_int_equal(dk_conn_poll_datagram(peer, x->tmpl, sizeof x->tmpl, &n), DK_OK);
    x->tmpl_len = n;
}

static void setup(ctx *x, int stage, const char *kind)
{
    memset(x, 0, sizeof *x);
    dk_duo_init(&x->d, kind, kind, 100 + (uint64_t)stage);
    x->stage = stage;
    x->server = stage >= S_KX;
    x->rseq = 1000;
    switch (stage) {
    case C_HVR:
        assert_int_equal(dk_duo_connect(&x->d, &x->r.ch0), DK_OK);
        dk_duo_all_to_server(&x->d, &x->r.ch0, &x->to_c);
        first_record(x, x->to_c.p[0], x->to_c.len[0]);
        break;
    case C_SH:
        dk_duo_to_flight4(&x->d, &x->r);
        dk_dgl_append(&x->to_c, &x->r.flight4);
        first_record(x, x->r.flight4.p[0], x->r.flight4.len[0]);
        break;
    case C_FIN:
    case S_KX:
        dk_duo_to_flight5(&x->d, &x->r);
        dk_dgl_append(&x->to_s, &x->r.flight5);
        if (stage == C_FIN) first_record(x, x->r.flight4.p[0], x->r.flight4.len[0]);
        else first_record(x, x->r.flight5.p[0], x->r.flight5.len[0]);
        break;
    default:
        dk_duo_establish(&x->d, &x->r);
        peer_app_record(x);
        break;
    }
    x->target = x->server ? x->d.s : x->d.c;
    x->free_seq = (uint16_t)(dk_knob_next_recv_seq(x->target) + 6);
}

static void finish(ctx *x)
{
    bool est = x->stage == C_EST || x->stage == S_EST;
    if (!est && !dk_duo_complete(&x->d, &x->to_s, &x->to_c, 20000))
        fail_msg("%s: handshake did not complete: client %s / server %s", stage_names[x->stage],
                 dk_conn_error_reason(x->d.c), dk_conn_error_reason(x->d.s));
    assert_true(dk_duo_data_flows(&x->d));
    assert_true(rb_fresh_handshake(&x->d));
    dk_dgl_clear(&x->to_s);
    dk_dgl_clear(&x->to_c);
    dk_duo_run_free(&x->r);
    dk_duo_free(&x->d);
}

static uint16_t cur_epoch(const ctx *x) { return (uint16_t)((x->tmpl[3] << 8) | x->tmpl[4]); }

/* Feed and require a silent discard. */
static void discard(ctx *x, const uint8_t *p, size_t len, const char *what)
{
    size_t rx = x->server ? x->d.s_rx_records : x->d.c_rx_records;
    rb_outcome o = rb_feed(&x->d, x->target, p, len);
    if (o.res != DK_OK || o.after != o.before || o.datagrams)
        fail_msg("%s at %s: result %d, state %d -> %d, %zu datagrams sent", what,
                 stage_names[x->stage], o.res, (int)o.before, (int)o.after, o.datagrams);
    uint8_t buf[64];
    size_t n;
    assert_int_equal(dk_conn_read(x->target, buf, sizeof buf, &n), DK_ERR_WOULD_BLOCK);
    assert_int_equal(x->server ? x->d.s_rx_records : x->d.c_rx_records, rx);
}

/* A plaintext handshake fragment (epoch 0). */
static size_t hs_frag(ctx *x, uint8_t *out, uint8_t type, uint32_t length, uint32_t off,
                      uint32_t flen, uint16_t ms)
{
    static uint8_t body[20000];
    return dk_craft_hs_record(out, DK_DG_CAP + 4096, 0, x->rseq++, type, ms, body, length, off,
                              flen);
}

/* M1-M5: datagram and record framing. */
static void framing(ctx *x)
{
    uint8_t *dg = calloc(1, 20000);
    discard(x, dg, 0, "M1 empty datagram");
    for (size_t n = 1; n < 13; n++) discard(x, x->tmpl, n, "M2 truncated record header");
    memcpy(dg, x->tmpl, x->tmpl_len);
    size_t body = x->tmpl_len - 13;
    uint16_t beyond[] = {(uint16_t)(body + 1), (uint16_t)(body + 100), 0xFFFF};
    for (size_t i = 0; i < 3; i++) {
        dg[11] = (uint8_t)(beyond[i] >> 8);
        dg[12] = (uint8_t)beyond[i];
        discard(x, dg, x->tmpl_len, "M3 record length beyond the datagram");
    }
    size_t n = rb_record(dg, 20000, 22, 0xFEFD, 0, x->rseq++, NULL, 0);
    discard(x, dg, n, "M4 zero-length handshake record");
    n = rb_record(dg, 20000, 23, 0xFEFD, cur_epoch(x), x->rseq++, NULL, 0);
    discard(x, dg, n, "M4 zero-length application record");
    memset(dg + 13, 0x16, 18500);
    n = rb_record(dg, 20000, 23, 0xFEFD, 1, x->rseq++, dg + 13, 16384 + 2048 + 1);
    discard(x, dg, n, "M5 record longer than 2^14 + 2048");
    free(dg);
}

/* M6-M9: header fields of a real record. */
static void header_fields(ctx *x)
{
    uint8_t dg[DK_DG_CAP];
    static const uint8_t types[] = {0, 19, 24, 25, 99, 255};
    for (size_t i = 0; i < sizeof types; i++) {
        memcpy(dg, x->tmpl, x->tmpl_len);
        dg[0] = types[i];
        discard(x, dg, x->tmpl_len, "M6 unknown content type");
    }
    static const uint16_t versions[] = {0x0303, 0x0301, 0xFEFC, 0x0000, 0xFFFF, 0x0100};
    for (size_t i = 0; i < DK_ARRAY_LEN(versions); i++) {
        memcpy(dg, x->tmpl, x->tmpl_len);
        dg[1] = (uint8_t)(versions[i] >> 8);
        dg[2] = (uint8_t)versions[i];
        discard(x, dg, x->tmpl_len, "M7 wrong record version");
    }
    static const uint16_t epochs[] = {2, 3, 0x8000, 0xFFFF};
    for (size_t i = 0; i < DK_ARRAY_LEN(epochs); i++) {
        memcpy(dg, x->tmpl, x->tmpl_len);
        dg[3] = (uint8_t)(epochs[i] >> 8);
        dg[4] = (uint8_t)epochs[i];
        discard(x, dg, x->tmpl_len, "M8 epoch out of range");
    }
    /* M9: an encrypted record near the sequence-number wrap does not open
     * (the number is authenticated) and is dropped. */
    if (cur_epoch(x) == 1) {
        static const uint64_t seqs[] = {(1ULL << 48) - 1, (1ULL << 48) - 2, 1ULL << 47};
        for (size_t i = 0; i < DK_ARRAY_LEN(seqs); i++) {
            memcpy(dg, x->tmpl, x->tmpl_len);
            for (int b = 0; b < 6; b++) dg[5 + b] = (uint8_t)(seqs[i] >> (8 * (5 - b)));
            discard(x, dg, x->tmpl_len, "M9 encrypted record, sequence number near wrap");
        }
    }
}

/* M10-M15: handshake fragment headers (epoch 0 plaintext). */
static void fragments(ctx *x)
{
    uint8_t *dg = calloc(1, DK_DG_CAP + 4096);
    uint8_t hdr[64];
    size_t n = dk_craft_hs_record(hdr, sizeof hdr, 0, 0, 16, x->free_seq, dg, 20, 0, 20);
    for (size_t cut = 1; cut < 12; cut++) {
        n = rb_record(dg, DK_DG_CAP, 22, 0xFEFD, 0, x->rseq++, hdr + 13, cut);
        discard(x, dg, n, "M10 truncated handshake header");
    }
    n = hs_frag(x, dg, 16, 100, 90, 20, x->free_seq);
    discard(x, dg, n, "M11 fragment past the message length");
    n = hs_frag(x, dg, 16, 100, 0, 50, x->free_seq);
    dg[12] = (uint8_t)(dg[12] - 10); /* record ends inside the fragment */
    discard(x, dg, n - 10, "M12 fragment length beyond the record");
    n = hs_frag(x, dg, 16, 100, 0, 0, x->free_seq);
    discard(x, dg, n, "M13 zero-length fragment of a non-empty message");
    n = hs_frag(x, dg, 16, 100, 100, 0, x->free_seq);
    discard(x, dg, n, "M13 zero-length fragment at the end of a message");
    n = hs_frag(x, dg, 16, 0xFFFFFF, 0, 100, x->free_seq);
    discard(x, dg, n, "M14 message length 2^24 - 1");
    n = hs_frag(x, dg, 11, 40000, 0, 1000, x->free_seq);
    discard(x, dg, n, "M14 message longer than max_message (32768)");
    static const uint8_t unknown[] = {4, 5, 9, 17, 21, 99, 255};
    for (size_t i = 0; i < sizeof unknown; i++) {
        n = hs_frag(x, dg, unknown[i], 10, 0, 10, (uint16_t)(x->free_seq - 6));
        discard(x, dg, n, "M15 unknown handshake type");
    }
    free(dg);
}

/* M16-M21: content-type specific payloads and random bytes. */
static void payloads(ctx *x)
{
    uint8_t dg[600];
    static const uint8_t alert1[] = {2}, alert3[] = {2, 40, 0};
    size_t n = rb_record(dg, sizeof dg, 21, 0xFEFD, 0, x->rseq++, alert1, 1);
    discard(x, dg, n, "M16 alert of 1 byte");
    n = rb_record(dg, sizeof dg, 21, 0xFEFD, 0, x->rseq++, alert3, 3);
    discard(x, dg, n, "M16 alert of 3 bytes");
    static const uint8_t ccs2[] = {1, 1}, ccs_bad[] = {2};
    n = rb_record(dg, sizeof dg, 20, 0xFEFD, 0, x->rseq++, NULL, 0);
    discard(x, dg, n, "M17 empty ChangeCipherSpec");
    n = rb_record(dg, sizeof dg, 20, 0xFEFD, 0, x->rseq++, ccs2, 2);
    discard(x, dg, n, "M17 ChangeCipherSpec of 2 bytes");
    n = rb_record(dg, sizeof dg, 20, 0xFEFD, 0, x->rseq++, ccs_bad, 1);
    discard(x, dg, n, "M17 ChangeCipherSpec value 2");
    static const uint8_t app[] = "plaintext application data";
    n = rb_record(dg, sizeof dg, 23, 0xFEFD, 0, x->rseq++, app, sizeof app);
    discard(x, dg, n, "M18 application data in epoch 0");
    uint8_t junk[200];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (uint8_t)(i * 37 + 11);
    n = rb_record(dg, sizeof dg, 23, 0xFEFD, 1, x->rseq++, junk, sizeof junk);
    discard(x, dg, n, "M19 epoch-1 record that does not authenticate");
    n = rb_record(dg, sizeof dg, 21, 0xFEFD, 1, x->rseq++, junk, 40);
    discard(x, dg, n, "M19 epoch-1 alert that does not authenticate");
    uint64_t s = 0x1234 + (uint64_t)x->stage;
    for (int k = 0; k < 200; k++) {
        size_t len = 1 + k * 3 % 500;
        for (size_t i = 0; i < len; i++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            dg[i] = (uint8_t)(s >> 56);
        }
        if (len >= 13 && (dg[0] == 20 || dg[0] == 21 || dg[0] == 22)) dg[0] = 0x42;
        discard(x, dg, len, "M20 random bytes");
    }
    /* M21: a valid record followed by garbage in the same datagram */
    memcpy(dg, x->tmpl, x->tmpl_len < 500 ? x->tmpl_len : 0);
    if (x->tmpl_len < 500 && (x->stage == C_EST || x->stage == S_EST)) {
        memset(dg + x->tmpl_len, 0xEE, 40);
        rb_outcome o = rb_feed(&x->d, x->target, dg, x->tmpl_len + 40);
        assert_int_equal(o.res, DK_OK);
        assert_int_equal(o.after, DK_STATE_ESTABLISHED);
    }
}

static void run_stage(int stage, const char *kind)
{
    ctx *x = calloc(1, sizeof *x);
    setup(x, stage, kind);
    framing(x);
    header_fields(x);
    fragments(x);
    payloads(x);
    finish(x);
    free(x);
}

#define STAGE_TEST(name, stage, kind)                                                              \
    static void name(void **st)                                                                    \
    {                                                                                              \
        (void)st;                                                                                  \
        run_stage(stage, kind);                                                                    \
    }

STAGE_TEST(test_client_wait_hvr_psk, C_HVR, "psk")
STAGE_TEST(test_client_wait_server_flight_ec, C_SH, "ec")
STAGE_TEST(test_client_wait_finished_ec, C_FIN, "ec")
STAGE_TEST(test_client_established_psk, C_EST, "psk")
STAGE_TEST(test_server_wait_client_flight_ec, S_KX, "ec")
STAGE_TEST(test_server_wait_client_flight_auth, S_KX, "ec+auth")
STAGE_TEST(test_server_established_rsa, S_EST, "rsa")
STAGE_TEST(test_client_wait_server_flight_psk, C_SH, "psk")
STAGE_TEST(test_client_wait_finished_psk, C_FIN, "psk")
STAGE_TEST(test_server_wait_client_flight_psk, S_KX, "psk")

/* M22: the gate (no connection yet) never admits malformed input. */
static void test_gate(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 99);
    dk_dgl ch = {0};
    assert_int_equal(dk_duo_connect(&d, &ch), DK_OK);
    uint8_t dg[DK_DG_CAP], out[512];
    size_t len = ch.len[0], n;
    for (size_t cut = 0; cut < len; cut++) {
        dk_gate_verdict v = dk_server_gate(d.scfg, d.peer, 6, ch.p[0], cut, d.now, out,
                                           sizeof out, &n);
        assert_int_equal(v, DK_GATE_DROP);
    }
    for (size_t i = 0; i < len * 8; i++) { /* every single-bit flip */
        memcpy(dg, ch.p[0], len);
        dg[i / 8] ^= (uint8_t)(1u << (i % 8));
        n = 0;
        dk_gate_verdict v = dk_server_gate(d.scfg, d.peer, 6, dg, len, d.now, out, sizeof out, &n);
        assert_true(v == DK_GATE_DROP || v == DK_GATE_HVR);
        assert_true(n <= len);
    }
    dk_dgl_clear(&ch);
    dk_duo_free(&d);
}

/* M9 at the gate: a ClientHello with a valid cookie but a record sequence
 * number at or above 2^47 is never admitted (R6 + R28: the server's epoch-0
 * numbers continue from it). */
static void test_gate_record_seq_near_wrap(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 98);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r); /* r.ch1 carries a valid cookie */
    uint8_t dg[DK_DG_CAP], out[512];
    static const uint64_t seqs[] = {1ULL << 47, (1ULL << 48) - 2, (1ULL << 48) - 1};
    for (size_t i = 0; i < DK_ARRAY_LEN(seqs); i++) {
        size_t len = r.ch1.len[0], n = 0;
        memcpy(dg, r.ch1.p[0], len);
        assert_true(dk_craft_set_rseq(dg, len, 0, seqs[i]));
        dk_gate_verdict v = dk_server_gate(d.scfg, d.peer, 6, dg, len, d.now, out, sizeof out, &n);
        assert_int_equal(v, DK_GATE_DROP);
    }
    size_t n = 0;
    assert_int_equal(dk_server_gate(d.scfg, d.peer, 6, r.ch1.p[0], r.ch1.len[0], d.now, out,
                                    sizeof out, &n),
                     DK_GATE_ACCEPT);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_wait_hvr_psk),
        cmocka_unit_test(test_client_wait_server_flight_ec),
        cmocka_unit_test(test_client_wait_finished_ec),
        cmocka_unit_test(test_client_established_psk),
        cmocka_unit_test(test_server_wait_client_flight_ec),
        cmocka_unit_test(test_server_wait_client_flight_auth),
        cmocka_unit_test(test_server_established_rsa),
        cmocka_unit_test(test_client_wait_server_flight_psk),
        cmocka_unit_test(test_client_wait_finished_psk),
        cmocka_unit_test(test_server_wait_client_flight_psk),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_gate_record_seq_near_wrap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
