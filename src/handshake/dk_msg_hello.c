/* ClientHello, ServerHello and HelloVerifyRequest codecs (RFC 6347 4.2.1,
 * RFC 5246 7.4.1), and the writers of the hello extensions we send. */
#include "handshake/dk_msg.h"

#include <string.h>

#define DK_RANDOM_LEN 32
#define DK_SESSION_ID_MAX 32

/* ---- extension writers ------------------------------------------------ */

static void ext_open(dk_writer *w, uint16_t type, size_t *mark)
{
    dk_write_u16(w, type);
    *mark = dk_write_vec_open(w, 2);
}

static void ext_empty(dk_writer *w, uint16_t type)
{
    dk_write_u16(w, type);
    dk_write_u16(w, 0);
}

/* RFC 5746 3.2: renegotiated_connection is empty on an initial handshake. */
static void ext_reneg_info_empty(dk_writer *w)
{
    dk_write_u16(w, DK_EXT_RENEGOTIATION_INFO);
    dk_write_u16(w, 1);
    dk_write_u8(w, 0);
}

/* RFC 8422 5.1.2: only uncompressed(0). */
static void ext_point_formats_uncompressed(dk_writer *w)
{
    dk_write_u16(w, DK_EXT_EC_POINT_FORMATS);
    dk_write_u16(w, 2);
    dk_write_u8(w, 1);
    dk_write_u8(w, 0);
}

static void write_u16_list(dk_writer *w, unsigned prefix, const uint16_t *v, size_t n)
{
    size_t m = dk_write_vec_open(w, prefix);
    for (size_t i = 0; i < n; i++) dk_write_u16(w, v[i]);
    dk_write_vec_close(w, m, prefix);
}

/* RFC 6066 3: a ServerNameList with one host_name entry. */
static void ext_server_name(dk_writer *w, const char *host)
{
    size_t ext, list, name;
    ext_open(w, DK_EXT_SERVER_NAME, &ext);
    list = dk_write_vec_open(w, 2);
    dk_write_u8(w, 0); /* host_name */
    name = dk_write_vec_open(w, 2);
    dk_write_bytes(w, host, strlen(host));
    dk_write_vec_close(w, name, 2);
    dk_write_vec_close(w, list, 2);
    dk_write_vec_close(w, ext, 2);
}

static bool client_has_exts(const dk_client_hello_out *ch)
{
    return ch->n_groups > 0 || ch->n_sig_algs > 0 || ch->server_name || ch->ems ||
           ch->reneg_info;
}

static void client_exts_write(dk_writer *w, const dk_client_hello_out *ch)
{
    size_t block = dk_write_vec_open(w, 2);
    size_t ext;
    if (ch->server_name) ext_server_name(w, ch->server_name);
    if (ch->n_groups > 0) {
        ext_open(w, DK_EXT_SUPPORTED_GROUPS, &ext);
        write_u16_list(w, 2, ch->groups, ch->n_groups);
        dk_write_vec_close(w, ext, 2);
        ext_point_formats_uncompressed(w);
    }
    if (ch->n_sig_algs > 0) {
        ext_open(w, DK_EXT_SIGNATURE_ALGORITHMS, &ext);
        write_u16_list(w, 2, ch->sig_algs, ch->n_sig_algs);
        dk_write_vec_close(w, ext, 2);
    }
    if (ch->ems) ext_empty(w, DK_EXT_EXTENDED_MASTER_SECRET);
    if (ch->reneg_info) ext_reneg_info_empty(w);
    dk_write_vec_close(w, block, 2);
}

/* ---- shared pieces ------------------------------------------------------ */

/* select (extensions_present) { Extension extensions<0..2^16-1>; };
 * RFC 5246 7.4.1.2: extensions are present when bytes follow the
 * compression field; the block's length must then cover exactly the rest. */
static dk_result hello_exts_read(dk_reader *r, bool is_server_hello, dk_hello_exts *e)
{
    memset(e, 0, sizeof *e);
    if (dk_reader_left(r) == 0) return DK_OK;
    dk_reader block;
    DK_TRY(dk_read_vec(r, 2, 0, 0xFFFF, &block));
    DK_TRY(dk_reader_done(r));
    return dk_exts_read(&block, is_server_hello, e);
}

static dk_result session_id_read(dk_reader *r, const uint8_t **id, uint8_t *len)
{
    dk_reader sid;
    DK_TRY(dk_read_vec(r, 1, 0, DK_SESSION_ID_MAX, &sid));
    *id = dk_reader_ptr(&sid);
    *len = (uint8_t)dk_reader_left(&sid);
    return DK_OK;
}

/* ---- ClientHello ---------------------------------------------------------
 * struct {
 *   ProtocolVersion client_version;  Random random;
 *   SessionID session_id;            opaque cookie<0..2^8-1>;
 *   CipherSuite cipher_suites<2..2^16-2>;
 *   CompressionMethod compression_methods<1..2^8-1>;
 *   select (extensions_present) { Extension extensions<0..2^16-1>; };
 * } ClientHello;
 */
static dk_result client_hello_params(dk_reader *r, size_t start, dk_client_hello *ch)
{
    dk_reader v;
    DK_TRY(dk_read_u16(r, &ch->version));
    DK_TRY(dk_read_bytes(r, DK_RANDOM_LEN, &ch->random));
    DK_TRY(session_id_read(r, &ch->session_id, &ch->session_id_len));
    ch->cookie_offset = r->off - start;
    /* R10: "This specification increases the cookie size limit to 255 bytes" */
    DK_TRY(dk_read_vec(r, 1, 0, 0xFF, &v));
    ch->cookie = dk_reader_ptr(&v);
    ch->cookie_len = (uint8_t)dk_reader_left(&v);
    DK_TRY(dk_read_vec(r, 2, 2, 0xFFFE, &v));
    if (dk_reader_left(&v) % 2) return DK_ERR_DECODE;
    ch->suites = dk_reader_ptr(&v);
    ch->suites_len = (uint16_t)dk_reader_left(&v);
    DK_TRY(dk_read_vec(r, 1, 1, 0xFF, &v));
    ch->compressions = dk_reader_ptr(&v);
    ch->compressions_len = (uint8_t)dk_reader_left(&v);
    ch->params_end = r->off - start;
    return DK_OK;
}

dk_result dk_client_hello_read(dk_reader *r, dk_client_hello *ch)
{
    memset(ch, 0, sizeof *ch);
    DK_TRY(client_hello_params(r, r->off, ch));
    DK_TRY(hello_exts_read(r, false, &ch->exts));
    /* RFC 5246 7.4.1.2: "this vector MUST contain, and all implementations
     * MUST support, CompressionMethod.null". Checked after the whole message
     * decoded, so a malformed message is a decode_error first. */
    if (!memchr(ch->compressions, 0, ch->compressions_len)) return DK_ERR_HANDSHAKE;
    return DK_OK;
}

void dk_client_hello_write(dk_writer *w, const dk_client_hello_out *ch)
{
    dk_write_u16(w, ch->version);
    dk_write_bytes(w, ch->random, DK_RANDOM_LEN);
    dk_write_u8(w, 0); /* no session resumption: empty session_id */
    size_t m = dk_write_vec_open(w, 1);
    dk_write_bytes(w, ch->cookie, ch->cookie_len);
    dk_write_vec_close(w, m, 1);
    write_u16_list(w, 2, ch->suites, ch->n_suites);
    dk_write_u8(w, 1);
    dk_write_u8(w, 0); /* compression_methods = { null } */
    if (client_has_exts(ch)) client_exts_write(w, ch);
}

/* ---- HelloVerifyRequest --------------------------------------------------
 * struct { ProtocolVersion server_version; opaque cookie<0..2^8-1>; } HelloVerifyRequest;
 */
dk_result dk_hello_verify_read(dk_reader *r, dk_hello_verify *hv)
{
    dk_reader c;
    DK_TRY(dk_read_u16(r, &hv->version));
    DK_TRY(dk_read_vec(r, 1, 0, 0xFF, &c));
    hv->cookie = dk_reader_ptr(&c);
    hv->cookie_len = (uint8_t)dk_reader_left(&c);
    return dk_reader_done(r);
}

void dk_hello_verify_write(dk_writer *w, const dk_hello_verify *hv)
{
    dk_write_u16(w, hv->version);
    size_t m = dk_write_vec_open(w, 1);
    dk_write_bytes(w, hv->cookie, hv->cookie_len);
    dk_write_vec_close(w, m, 1);
}

/* ---- ServerHello ---------------------------------------------------------
 * struct {
 *   ProtocolVersion server_version;  Random random;  SessionID session_id;
 *   CipherSuite cipher_suite;  CompressionMethod compression_method;
 *   select (extensions_present) { Extension extensions<0..2^16-1>; };
 * } ServerHello;
 */
dk_result dk_server_hello_read(dk_reader *r, dk_server_hello *sh)
{
    memset(sh, 0, sizeof *sh);
    DK_TRY(dk_read_u16(r, &sh->version));
    DK_TRY(dk_read_bytes(r, DK_RANDOM_LEN, &sh->random));
    DK_TRY(session_id_read(r, &sh->session_id, &sh->session_id_len));
    DK_TRY(dk_read_u16(r, &sh->suite));
    DK_TRY(dk_read_u8(r, &sh->compression));
    DK_TRY(hello_exts_read(r, true, &sh->exts));
    /* We offer only null compression (RFC 5246 7.4.1.3: the server picks
     * "from the list in ClientHello.compression_methods"). */
    if (sh->compression != 0) return DK_ERR_HANDSHAKE;
    return DK_OK;
}

void dk_server_hello_write(dk_writer *w, const dk_server_hello_out *sh)
{
    dk_write_u16(w, sh->version);
    dk_write_bytes(w, sh->random, DK_RANDOM_LEN);
    if (sh->session_id_len > DK_SESSION_ID_MAX) w->overflow = true;
    size_t m = dk_write_vec_open(w, 1);
    dk_write_bytes(w, sh->session_id, sh->session_id_len);
    dk_write_vec_close(w, m, 1);
    dk_write_u16(w, sh->suite);
    dk_write_u8(w, 0); /* compression_method = null */
    if (!(sh->point_formats || sh->ems || sh->reneg_info)) return;
    size_t block = dk_write_vec_open(w, 2);
    if (sh->reneg_info) ext_reneg_info_empty(w);
    if (sh->point_formats) ext_point_formats_uncompressed(w);
    if (sh->ems) ext_empty(w, DK_EXT_EXTENDED_MASTER_SECRET);
    dk_write_vec_close(w, block, 2);
}
