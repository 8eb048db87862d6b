/* Helpers shared by the server and client engine harnesses. */
#include "fuzz_engine.h"

#include <string.h>

#include "conn/dk_conn_int.h"

void fuzz_drain(dk_conn *c)
{
    static uint8_t buf[DK_MAX_MTU + 64];
    size_t n;
    dk_result r;
    while (c && (r = dk_conn_poll_datagram(c, buf, sizeof buf, &n)) == DK_OK) {
        FUZZ_CHECK(n > 0 && n <= FUZZ_MTU);
        fuzz_touch(buf, n);
    }
}

void fuzz_read_app(dk_conn *c, bool echo)
{
    static uint8_t buf[DK_MAX_PLAINTEXT + 64];
    size_t n;
    for (int i = 0; c && i <= DK_MAX_RX_APP; i++) {
        dk_result r = dk_conn_read(c, buf, sizeof buf, &n);
        if (r != DK_OK) return;
        FUZZ_CHECK(n <= DK_MAX_PLAINTEXT);
        if (echo) {
            dk_result w = dk_conn_write(c, buf, n);
            (void)w;
        }
    }
    FUZZ_CHECK(!"more application records than DK_MAX_RX_APP");
}

void fuzz_timer(dk_conn *c, uint64_t now)
{
    if (!c || dk_conn_next_timeout(c) > now) return;
    dk_result r = dk_conn_handle_timeout(c, now);
    (void)r;
    fuzz_drain(c);
}

void fuzz_finish(dk_conn *c)
{
    if (!c || dk_conn_state(c) != DK_STATE_ESTABLISHED) return;
    dk_conn_info info;
    FUZZ_CHECK(dk_conn_get_info(c, &info) == DK_OK);
    FUZZ_CHECK(info.version == DK_DTLS12 && info.ems);
    FUZZ_CHECK(info.data_mtu > 0 && info.data_mtu < FUZZ_MTU);
    uint8_t km[16];
    FUZZ_CHECK(dk_conn_export_keying_material(c, "EXPORTER-fuzz", NULL, 0, false, km, sizeof km) ==
               DK_OK);
    FUZZ_CHECK(dk_conn_write(c, (const uint8_t *)"bye", 3) == DK_OK);
    FUZZ_CHECK(dk_conn_close(c) == DK_OK);
    FUZZ_CHECK(dk_conn_state(c) == DK_STATE_CLOSED);
    fuzz_drain(c);
}

const char *fuzz_describe(const dk_conn *c)
{
    static char line[320];
    if (!c) return "no connection";
    switch (dk_conn_state(c)) {
    case DK_STATE_ESTABLISHED: return "established";
    case DK_STATE_CLOSED: return "closed";
    case DK_STATE_FAILED:
        snprintf(line, sizeof line, "failed: %s", dk_conn_error_reason(c));
        return line;
    default: break;
    }
    snprintf(line, sizeof line, "handshaking in %s", dk_sm_state_name(c));
    return line;
}
