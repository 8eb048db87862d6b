/* message_seq damage in the server's first flight. A bit flip (or a spoofed
 * datagram) that raises the ServerHello's message_seq made the client rebase
 * its numbering on it (dk_recv.c, client_rebase); the real messages of the
 * flight, numbered below, then looked like retransmissions of an older
 * flight, so both sides retransmitted at each other until both timed out
 * (426 s of virtual time in the corrupt5 lossy profile, handshake 595).
 * Under corruption a handshake may fail, but promptly: within a few
 * retransmission timeouts, with a reason. */
#include <string.h>

#include "rb_util.h"

static void corrupt_sh_seq(const char *kind, uint16_t delta)
{
    dk_duo d;
    dk_duo_init(&d, kind, kind, 11);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint8_t bad[DK_DG_CAP];
    size_t len = r.flight4.len[0];
    memcpy(bad, r.flight4.p[0], len);
    uint32_t blen;
    uint16_t ms;
    uint8_t type;
    assert_non_null(dk_craft_hs_body(bad, len, 0, &blen, &ms, &type));
    assert_int_equal(type, 2); /* ServerHello */
    assert_true(dk_craft_set_ms(bad, len, 0, (uint16_t)(ms + delta)));
    dk_dgl to_s = {0}, to_c = {0};
    (void)dk_duo_to_client(&d, NULL, bad, len, &to_s);
    /* the server's real flight follows (its retransmission, or the rest) */
    dk_dgl_append(&to_c, &r.flight4);
    bool ok = dk_duo_complete(&d, &to_s, &to_c, 10000);
    dk_state st = dk_conn_state(d.c);
    if (!ok && st != DK_STATE_FAILED)
        print_error("client still %d after 10 s: %s\n", (int)st, dk_conn_error_reason(d.c));
    assert_true(ok || st == DK_STATE_FAILED);
    if (st == DK_STATE_FAILED) assert_true(dk_conn_error_reason(d.c)[0] != 0);
    assert_true(rb_fresh_handshake(&d));
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

static void test_psk_sh_seq_plus4(void **st) { (void)st; corrupt_sh_seq("psk", 4); }
static void test_psk_sh_seq_plus1(void **st) { (void)st; corrupt_sh_seq("psk", 1); }
static void test_ec_sh_seq_plus2(void **st) { (void)st; corrupt_sh_seq("ec", 2); }
static void test_ec_sh_seq_plus256(void **st) { (void)st; corrupt_sh_seq("ec", 256); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_psk_sh_seq_plus4),
        cmocka_unit_test(test_psk_sh_seq_plus1),
        cmocka_unit_test(test_ec_sh_seq_plus2),
        cmocka_unit_test(test_ec_sh_seq_plus256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
