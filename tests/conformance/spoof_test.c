/* Spoofed handshake messages that must not block the real ones (both were
 * known gaps, now fixed): a forged first fragment fixing a wrong length
 * (T12, R24, R30) and a HelloRequest at the client's next expected
 * message_seq (T26, R36). */
#include "conf.h"

static void frag(dk_dgl *l, uint64_t rs, uint8_t type, uint16_t ms, const uint8_t *body,
                 uint32_t length, uint32_t off, uint32_t len)
{
    uint8_t dg[DK_DG_CAP];
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, rs, type, ms, body, length, off, len);
    assert_true(n > 0);
    dk_dgl_push(l, dg, n);
}

/* GAP 1 (T11, R24, R38): "A fragmented ClientHello is handled without
 * per-peer allocation before its cookie is valid: the cookie is checked
 * from the offset-0 fragment when it holds everything through
 * compression_methods; otherwise the fragments are reassembled in a small
 * pool whose size is capped for the whole server". dk_server_gate only
 * parses an offset-0 fragment that holds the whole prefix and drops every
 * other fragment, and neither it nor src/net has the pool: a client whose
 * first fragment ends inside the cookie or the cipher suites (small MTU,
 * long session_id or suite list) is never answered, however often it
 * retransmits. Needs a server-wide reassembly pool in front of the gate. */
static void test_T12b_R24_R30_spoofed_fragment_spoofed_fragment_blocks_at_most_two_rounds(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "ec", "ec", 9012);
    assert_int_equal(dk_config_set_mtu(d.scfg, 400), DK_OK); /* the Certificate is fragmented */
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    dk_obsl ol;
    dk_obs_parse(&ol, &r.flight4);
    const dk_obs *cert = dk_obs_find(&ol, -1, DK_HT_CERTIFICATE, 0);
    assert_non_null(cert);
    assert_true(cert->flen < cert->hs_len);
    uint8_t junk[64];
    memset(junk, 0x33, sizeof junk);
    dk_dgl spoof = {0}, out = {0};
    frag(&spoof, 900, DK_HT_CERTIFICATE, cert->ms, junk, cert->hs_len + 7, 0, sizeof junk);
    dk_duo_all_to_client(&d, &spoof, &out);
    conf_expect_silence(&out, "client after a spoofed fragment");
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &r.flight4);
    dk_dgl_clear(&spoof);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

/* GAP 3 (T26, R36): a HelloRequest numbered exactly as the client's next
 * expected message (a spoof racing the real ServerHello, or the server's
 * Finished) kills the handshake: since f72ce66 an ignored mid-handshake
 * HelloRequest still uses up its message_seq (R1), so the real message with
 * that number is then discarded as old (R3) and the next one is unexpected
 * (fatal unexpected_message). That change lets a server that numbers a
 * HelloRequest inside its flight go on (probe T26b); handling both needs the
 * client to accept the real message at the HelloRequest's number as well as
 * at the number after it (for example, remember the ignored number and let
 * whichever message claims it or its successor first win). */
static void test_T26e_R36_hello_request_at_next_expected_seq(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 9026);
    dk_duo_run r;
    dk_duo_to_flight4(&d, &r);
    uint8_t dg[64];
    size_t n = dk_craft_hs_record(dg, sizeof dg, 0, 100, DK_HT_HELLO_REQUEST, 1, NULL, 0, 0, 0);
    dk_dgl out = {0};
    (void)dk_duo_to_client(&d, NULL, dg, n, &out);
    conf_expect_silence(&out, "client after HelloRequest(ms 1)");
    dk_dgl to_s = {0};
    conf_finish(&d, &to_s, &r.flight4);
    dk_duo_run_free(&r);
    dk_duo_free(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T12b_R24_R30_spoofed_fragment_spoofed_fragment_blocks_at_most_two_rounds),
        cmocka_unit_test(test_T26e_R36_hello_request_at_next_expected_seq),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
