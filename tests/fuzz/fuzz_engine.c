/* Helpers shared by the server and client engine harnesses. */
#include "fuzz_engine.h"

#include <stdlib.h>
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

/* The peer's write cipher, from c's master secret and randoms. */
static bool peer_cipher(const dk_conn *c, dk_cipher *ciph)
{
    if (!c || !c->have_master || !c->suite) return false;
    dk_key_block kb;
    if (dk_derive_key_block(c->suite, c->master, c->client_random, c->server_random, &kb) != DK_OK)
        return false;
    bool peer_client = c->role == DK_ROLE_SERVER;
    dk_result r = dk_cipher_init(ciph, c->suite->aead, peer_client ? kb.client_key : kb.server_key,
                                 peer_client ? kb.client_iv : kb.server_iv, true);
    dk_wipe(&kb, sizeof kb);
    return r == DK_OK;
}

uint8_t *fuzz_seal_as_peer(const dk_conn *c, const uint8_t *in, size_t len, size_t *out_len)
{
    /* a record grows by at most 24 bytes (explicit nonce and tag) */
    size_t cap = len + (len / DK_RECORD_HEADER_LEN + 1) * 24 + 16, o = 0, off = 0;
    uint8_t *out = malloc(cap);
    FUZZ_CHECK(out != NULL);
    dk_cipher ciph;
    bool keys = peer_cipher(c, &ciph);
    while (keys && len - off >= DK_RECORD_HEADER_LEN) {
        const uint8_t *h = in + off;
        size_t rl = dk_load_u16(h + 11), n;
        if (rl > len - off - DK_RECORD_HEADER_LEN) break;
        if (dk_load_u16(h + 3) != 1 ||
            dk_record_seal(&ciph, h[0], dk_load_u16(h + 1), 1, dk_load_u48(h + 5),
                           h + DK_RECORD_HEADER_LEN, rl, out + o, cap - o, &n) != DK_OK) {
            n = DK_RECORD_HEADER_LEN + rl;
            memcpy(out + o, h, n);
        }
        o += n;
        off += DK_RECORD_HEADER_LEN + rl;
    }
    memcpy(out + o, in + off, len - off);
    o += len - off;
    if (keys) dk_cipher_clear(&ciph);
    uint8_t *exact = realloc(out, o ? o : 1); /* exact size: ASan sees over-reads */
    FUZZ_CHECK(exact != NULL);
    *out_len = o;
    return exact;
}

size_t fuzz_first_epoch1(const uint8_t *in, size_t len)
{
    size_t off = 0;
    while (len - off >= DK_RECORD_HEADER_LEN) {
        size_t rl = dk_load_u16(in + off + 11);
        if (dk_load_u16(in + off + 3) == 1 || rl > len - off - DK_RECORD_HEADER_LEN) return off;
        off += DK_RECORD_HEADER_LEN + rl;
    }
    return len;
}

void fuzz_feed_chunk(const fuzz_chunk *ch, const dk_conn *(*conn)(void *arg), fuzz_feed_fn *feed,
                     void *arg)
{
    if (!ch->seal) {
        feed(arg, ch->p, ch->len);
        return;
    }
    size_t cut = fuzz_first_epoch1(ch->p, ch->len), n;
    if (cut > 0) feed(arg, ch->p, cut);
    if (cut == ch->len) return;
    uint8_t *sealed = fuzz_seal_as_peer(conn(arg), ch->p + cut, ch->len - cut, &n);
    feed(arg, sealed, n);
    free(sealed);
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
