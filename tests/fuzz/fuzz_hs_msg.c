/* Handshake decoders: the 12-byte header, every message codec and the hello
 * extension parser, selected by the first input byte (the rest is the body).
 *
 * Invariants: a decoder never reads outside its input (every zero-copy
 * pointer it returns is read in full under ASan); it returns only DK_OK,
 * DK_ERR_DECODE, DK_ERR_HANDSHAKE or DK_ERR_LIMIT; where dtlskit has a writer
 * for the message, encoding what was decoded gives back the input byte for
 * byte (every field is length-prefixed and decoders consume exactly).
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "handshake/dk_msg.h"

enum {
    SEL_HEADERS, SEL_CLIENT_HELLO, SEL_SERVER_HELLO, SEL_HELLO_VERIFY, SEL_CERTIFICATE,
    SEL_SKE_SIGN, SEL_SKE_PSK, SEL_SKE_ECDHE_PSK, SEL_CKE_ECDHE, SEL_CKE_PSK, SEL_CKE_ECDHE_PSK,
    SEL_CERT_REQUEST, SEL_CERT_VERIFY, SEL_FINISHED, SEL_EMPTY, SEL_EXTENSIONS, SEL_COUNT
};

static void check_result(dk_result r)
{
    FUZZ_CHECK(r == DK_OK || r == DK_ERR_DECODE || r == DK_ERR_HANDSHAKE || r == DK_ERR_LIMIT);
}

/* The writer's output must equal the decoded input. */
static void check_same(const dk_writer *w, const uint8_t *in, size_t len)
{
    FUZZ_CHECK(dk_writer_status(w) == DK_OK);
    FUZZ_CHECK(w->off == len);
    FUZZ_CHECK(memcmp(w->p, in, len) == 0);
}

static void touch_exts(const dk_hello_exts *e)
{
    if (e->server_name) fuzz_touch(e->server_name, e->server_name_len);
    if (e->groups) fuzz_touch(e->groups, e->groups_len);
    if (e->point_formats) fuzz_touch(e->point_formats, e->point_formats_len);
    if (e->sig_algs) fuzz_touch(e->sig_algs, e->sig_algs_len);
    if (e->reneg_info) fuzz_touch(e->reneg_info, e->reneg_info_len);
    FUZZ_CHECK(e->groups_len % 2 == 0 && e->sig_algs_len % 2 == 0);
}

static void headers(const uint8_t *p, size_t n)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    while (dk_reader_left(&r) > 0) {
        size_t before = r.off;
        dk_hs_header h;
        const uint8_t *frag;
        dk_result rc = dk_hs_header_read(&r, &h, &frag);
        check_result(rc);
        if (rc != DK_OK) {
            FUZZ_CHECK(r.off == before);
            return;
        }
        FUZZ_CHECK(r.off == before + DK_HS_HEADER_LEN + h.frag_length);
        FUZZ_CHECK((uint64_t)h.frag_offset + h.frag_length <= h.length);
        FUZZ_CHECK(frag == p + before + DK_HS_HEADER_LEN);
        fuzz_touch(frag, h.frag_length);
        uint8_t out[DK_HS_HEADER_LEN];
        dk_writer w;
        dk_writer_init(&w, out, sizeof out);
        dk_hs_header_write(&w, &h);
        check_same(&w, p + before, DK_HS_HEADER_LEN);
    }
}

static void client_hello(const uint8_t *p, size_t n)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_client_hello ch;
    dk_result rc = dk_client_hello_read(&r, &ch);
    check_result(rc);
    if (rc != DK_OK) return;
    fuzz_touch(ch.random, 32);
    fuzz_touch(ch.session_id, ch.session_id_len);
    fuzz_touch(ch.suites, ch.suites_len);
    fuzz_touch(ch.compressions, ch.compressions_len);
    touch_exts(&ch.exts);
    FUZZ_CHECK(ch.session_id_len <= 32 && ch.suites_len % 2 == 0 && ch.suites_len >= 2);
    /* The cookie gate relies on these two offsets (R8). */
    FUZZ_CHECK(ch.cookie_offset < ch.params_end && ch.params_end <= n);
    FUZZ_CHECK(p[ch.cookie_offset] == ch.cookie_len);
    FUZZ_CHECK(ch.cookie == p + ch.cookie_offset + 1);
    FUZZ_CHECK(ch.compressions + ch.compressions_len == p + ch.params_end);
    FUZZ_CHECK(memchr(ch.compressions, 0, ch.compressions_len) != NULL);
}

static void server_hello(const uint8_t *p, size_t n)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_server_hello sh;
    dk_result rc = dk_server_hello_read(&r, &sh);
    check_result(rc);
    if (rc != DK_OK) return;
    fuzz_touch(sh.random, 32);
    fuzz_touch(sh.session_id, sh.session_id_len);
    touch_exts(&sh.exts);
    FUZZ_CHECK(sh.compression == 0 && sh.session_id_len <= 32);
    /* RFC 6066 3: the server's server_name extension is empty. */
    FUZZ_CHECK(sh.exts.server_name == NULL);
}

static void hello_verify(const uint8_t *p, size_t n, dk_writer *w)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_hello_verify hv;
    dk_result rc = dk_hello_verify_read(&r, &hv);
    check_result(rc);
    if (rc != DK_OK) return;
    dk_hello_verify_write(w, &hv);
    check_same(w, p, n);
}

static void certificate(const uint8_t *p, size_t n, dk_writer *w)
{
    if (n < 1) return;
    size_t max_chain = p[0] % (DK_MAX_CHAIN + 2);
    dk_reader r;
    dk_reader_init(&r, p + 1, n - 1);
    dk_certificate c;
    dk_result rc = dk_certificate_read(&r, max_chain, &c);
    check_result(rc);
    if (rc != DK_OK) return;
    FUZZ_CHECK(c.n <= DK_MIN(max_chain, (size_t)DK_MAX_CHAIN));
    for (size_t i = 0; i < c.n; i++) {
        FUZZ_CHECK(c.len[i] > 0);
        fuzz_touch(c.der[i], c.len[i]);
    }
    dk_certificate_write(w, c.der, c.len, c.n);
    check_same(w, p + 1, n - 1);
}

static void server_key_exchange(const uint8_t *p, size_t n, dk_kx_kind kind, dk_writer *w)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_server_key_exchange ske;
    dk_result rc = dk_server_key_exchange_read(&r, kind, &ske);
    check_result(rc);
    if (rc != DK_OK) return;
    if (ske.hint) fuzz_touch(ske.hint, ske.hint_len);
    if (ske.point) fuzz_touch(ske.point, ske.point_len);
    if (ske.params) fuzz_touch(ske.params, ske.params_len);
    if (ske.sig) fuzz_touch(ske.sig, ske.sig_len);
    if (kind != DK_KX_PSK) FUZZ_CHECK(ske.point_len >= 1 && ske.params_len == 4u + ske.point_len);
    dk_server_key_exchange_write(w, kind, &ske);
    check_same(w, p, n);
}

static void client_key_exchange(const uint8_t *p, size_t n, dk_kx_kind kind, dk_writer *w)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_client_key_exchange cke;
    dk_result rc = dk_client_key_exchange_read(&r, kind, &cke);
    check_result(rc);
    if (rc != DK_OK) return;
    if (cke.identity) fuzz_touch(cke.identity, cke.identity_len);
    if (cke.point) fuzz_touch(cke.point, cke.point_len);
    if (kind != DK_KX_PSK) FUZZ_CHECK(cke.point_len >= 1);
    dk_client_key_exchange_write(w, kind, &cke);
    check_same(w, p, n);
}

static void cert_request(const uint8_t *p, size_t n, dk_writer *w)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_certificate_request cr;
    dk_result rc = dk_certificate_request_read(&r, &cr);
    check_result(rc);
    if (rc != DK_OK) return;
    fuzz_touch(cr.cert_types, cr.cert_types_len);
    fuzz_touch(cr.sig_algs, cr.sig_algs_len);
    if (cr.cas) fuzz_touch(cr.cas, cr.cas_len);
    FUZZ_CHECK(cr.cert_types_len >= 1 && cr.sig_algs_len >= 2 && cr.sig_algs_len % 2 == 0);
    if (cr.cas_len != 0) return; /* the writer sends no CA names */
    static uint16_t algs[0x7FFF];
    for (size_t i = 0; i < cr.sig_algs_len / 2u; i++) algs[i] = dk_load_u16(cr.sig_algs + 2 * i);
    dk_certificate_request_write(w, cr.cert_types, cr.cert_types_len, algs, cr.sig_algs_len / 2u);
    check_same(w, p, n);
}

static void cert_verify(const uint8_t *p, size_t n, dk_writer *w)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    dk_certificate_verify cv;
    dk_result rc = dk_certificate_verify_read(&r, &cv);
    check_result(rc);
    if (rc != DK_OK) return;
    fuzz_touch(cv.sig, cv.sig_len);
    dk_certificate_verify_write(w, &cv);
    check_same(w, p, n);
}

static void fixed_bodies(const uint8_t *p, size_t n, bool finished)
{
    dk_reader r;
    dk_reader_init(&r, p, n);
    if (finished) {
        const uint8_t *vd;
        dk_result rc = dk_finished_read(&r, &vd);
        check_result(rc);
        FUZZ_CHECK((rc == DK_OK) == (n == DK_VERIFY_DATA_LEN));
        if (rc == DK_OK) fuzz_touch(vd, DK_VERIFY_DATA_LEN);
        return;
    }
    dk_result rc = dk_empty_read(&r);
    check_result(rc);
    FUZZ_CHECK((rc == DK_OK) == (n == 0));
}

static void extensions(const uint8_t *p, size_t n)
{
    if (n < 1) return;
    dk_reader r;
    dk_reader_init(&r, p + 1, n - 1);
    dk_hello_exts e;
    dk_result rc = dk_exts_read(&r, p[0] & 1, &e);
    check_result(rc);
    if (rc != DK_OK) return;
    touch_exts(&e);
    FUZZ_CHECK(dk_reader_left(&r) == 0);
    if (p[0] & 1) FUZZ_CHECK(e.server_name == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    uint8_t *out = malloc(n + 16);
    if (!out) return 0;
    dk_writer w;
    dk_writer_init(&w, out, n + 16);
    switch (data[0] % SEL_COUNT) {
    case SEL_HEADERS: headers(p, n); break;
    case SEL_CLIENT_HELLO: client_hello(p, n); break;
    case SEL_SERVER_HELLO: server_hello(p, n); break;
    case SEL_HELLO_VERIFY: hello_verify(p, n, &w); break;
    case SEL_CERTIFICATE: certificate(p, n, &w); break;
    case SEL_SKE_SIGN: server_key_exchange(p, n, DK_KX_ECDHE_SIGN, &w); break;
    case SEL_SKE_PSK: server_key_exchange(p, n, DK_KX_PSK, &w); break;
    case SEL_SKE_ECDHE_PSK: server_key_exchange(p, n, DK_KX_ECDHE_PSK, &w); break;
    case SEL_CKE_ECDHE: client_key_exchange(p, n, DK_KX_ECDHE_SIGN, &w); break;
    case SEL_CKE_PSK: client_key_exchange(p, n, DK_KX_PSK, &w); break;
    case SEL_CKE_ECDHE_PSK: client_key_exchange(p, n, DK_KX_ECDHE_PSK, &w); break;
    case SEL_CERT_REQUEST: cert_request(p, n, &w); break;
    case SEL_CERT_VERIFY: cert_verify(p, n, &w); break;
    case SEL_FINISHED: fixed_bodies(p, n, true); break;
    case SEL_EMPTY: fixed_bodies(p, n, false); break;
    default: extensions(p, n); break;
    }
    free(out);
    return 0;
}

const char *fuzz_outcome(void) { return NULL; }
