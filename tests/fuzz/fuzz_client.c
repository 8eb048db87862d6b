/* The client engine after dk_conn_connect, fed the server's datagrams.
 *
 * The client's randomness (client random, ECDHE key) and clock are the fuzz
 * configuration's, so the server flights recorded by the corpus generator
 * against this very configuration verify, and mutations start from deep
 * states (Certificate, ServerKeyExchange signatures, Finished, application
 * data, close_notify).
 *
 * Input: chunks (fuzz_common.h). Invariants: every datagram we send fits the
 * MTU; an established connection answers its getters and closes cleanly.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_engine.h"

static char outcome[400];

static void deliver(dk_conn *c, const uint8_t *p, size_t len, bool seal, uint64_t now, bool *wrote)
{
    uint8_t *d = seal ? fuzz_seal_as_peer(c, p, len, &len) : malloc(len ? len : 1);
    FUZZ_CHECK(d != NULL);
    if (!seal) memcpy(d, p, len);
    dk_result r = dk_conn_receive(c, d, len, now);
    FUZZ_CHECK(r != DK_NEW_HANDSHAKE);
    fuzz_read_app(c, false);
    if (!*wrote && dk_conn_state(c) == DK_STATE_ESTABLISHED) {
        FUZZ_CHECK(dk_conn_write(c, (const uint8_t *)"hello over dtls\n", 16) == DK_OK);
        *wrote = true;
    }
    fuzz_drain(c);
    free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint64_t rng;
    static dk_config *cfg;
    if (!cfg) cfg = fuzz_client_config(&rng);
    fuzz_config_reset(cfg);
    rng = FUZZ_CLIENT_SEED;
    uint64_t now = FUZZ_NOW_MS;
    dk_conn *c = dk_conn_new(cfg, NULL, 0);
    FUZZ_CHECK(c != NULL);
    FUZZ_CHECK(dk_conn_set_server_name(c, FUZZ_SERVER_NAME) == DK_OK);
    FUZZ_CHECK(dk_conn_connect(c, now) == DK_OK);
    fuzz_drain(c);
    bool wrote = false;
    fuzz_chunks it;
    fuzz_chunk ch;
    fuzz_chunks_init(&it, data, size);
    while (dk_conn_state(c) != DK_STATE_FAILED && fuzz_chunks_next(&it, &ch)) {
        if (ch.timer) {
            now += ch.advance_ms;
            fuzz_timer(c, now);
            continue;
        }
        size_t cut = ch.seal ? fuzz_first_epoch1(ch.p, ch.len) : ch.len;
        if (cut > 0 || !ch.seal) deliver(c, ch.p, cut, false, now, &wrote);
        if (cut < ch.len) deliver(c, ch.p + cut, ch.len - cut, true, now, &wrote);
    }
    snprintf(outcome, sizeof outcome, "%s", fuzz_describe(c));
    fuzz_finish(c);
    dk_conn_free(c);
    return 0;
}

const char *fuzz_outcome(void) { return outcome; }
