/* A ClientHello whose first fragment ends before the cookie: no connection
 * can be created from it alone, so the gate's server-wide pool reassembles it
 * and answers once it is whole (T11, R24, R38; RULES.md after R38). */
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
static void test_T11c_R24_R38_short_first_fragment_answered_once_whole(void **st)
{
    (void)st;
    dk_duo d;
    dk_duo_init(&d, "psk", "psk", 9011);
    dk_dgl ch0 = {0}, hvr = {0}, ch1 = {0}, fr = {0}, out = {0};
    assert_int_equal(dk_duo_connect(&d, &ch0), DK_OK);
    dk_duo_all_to_server(&d, &ch0, &hvr);
    dk_duo_all_to_client(&d, &hvr, &ch1);
    uint32_t L;
    const uint8_t *b = dk_craft_hs_body(ch1.p[0], ch1.len[0], 0, &L, NULL, NULL);
    frag(&fr, 1, DK_HT_CLIENT_HELLO, 1, b, L, 0, 40); /* ends inside the cookie */
    frag(&fr, 2, DK_HT_CLIENT_HELLO, 1, b, L, 40, L - 40);
    for (int attempt = 0; attempt < 3; attempt++) dk_duo_all_to_server(&d, &fr, &out);
    dk_obsl ol;
    dk_obs_parse(&ol, &out);
    assert_non_null(dk_obs_find(&ol, -1, DK_HT_SERVER_HELLO, 0));
    dk_dgl_clear(&ch0);
    dk_dgl_clear(&hvr);
    dk_dgl_clear(&ch1);
    dk_dgl_clear(&fr);
    dk_dgl_clear(&out);
    dk_duo_free(&d);
}

/* GAP 2 (T12, R22, R24, R30): a spoofed epoch-0 fragment that reaches the
 * client first, claiming the server's Certificate message_seq with another
 * `length`, makes dk_reasm reject every real fragment of the (fragmented)
 * Certificate as inconsistent, on every retransmission: the handshake
 * times out. The in-order whole-message case is fixed (a whole message
 * supersedes held fragments, dk_recv.c); fragmented messages need
 * dk_reasm to drop a slot whose first fragment disagrees with later ones
 * instead of keeping whichever arrived first (e.g. restart the slot when a
 * retransmission of the peer's flight is detected, or hold competing
 * candidates). */
int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_T11c_R24_R38_short_first_fragment_answered_once_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
