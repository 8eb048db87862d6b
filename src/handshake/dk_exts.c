/* Hello extension block decoder (RFC 5246 7.4.1.4 and the RFCs of each
 * extension). Writers live next to the hello writers in dk_msg_hello.c.
 *
 * struct { ExtensionType extension_type; opaque extension_data<0..2^16-1>; } Extension;
 *
 * Each known extension's body is opened as a sub-reader and must be consumed
 * exactly; anything left over is a decode_error.
 */
#include "handshake/dk_msg.h"

#include <string.h>

/* RFC 6066 3:
 *   struct { NameType name_type;
 *            select (name_type) { case host_name: HostName; } name; } ServerName;
 *   enum { host_name(0), (255) } NameType;
 *   opaque HostName<1..2^16-1>;
 *   struct { ServerName server_name_list<1..2^16-1> } ServerNameList;
 * "The ServerNameList MUST NOT contain more than one name of the same
 * name_type." Future name types also begin with a 16-bit length, so they are
 * skipped as opaque<1..2^16-1>. */
static dk_result ext_server_name(dk_reader *body, bool is_server_hello, dk_hello_exts *e)
{
    /* RFC 6066 3: the server's extension "SHALL be empty". */
    if (is_server_hello) return dk_reader_done(body);
    dk_reader list;
    DK_TRY(dk_read_vec(body, 2, 1, 0xFFFF, &list));
    while (dk_reader_left(&list) > 0) {
        uint8_t name_type;
        dk_reader name;
        DK_TRY(dk_read_u8(&list, &name_type));
        DK_TRY(dk_read_vec(&list, 2, 1, 0xFFFF, &name));
        if (name_type != 0) continue;
        if (e->server_name) return DK_ERR_DECODE; /* second host_name */
        e->server_name = dk_reader_ptr(&name);
        e->server_name_len = (uint16_t)dk_reader_left(&name);
    }
    return DK_OK;
}

/* RFC 8422 5.1.1: struct { NamedCurve named_curve_list<2..2^16-1> } NamedCurveList;
 * (a list of uint16, so its length is even) */
static dk_result ext_groups(dk_reader *body, dk_hello_exts *e)
{
    dk_reader list;
    DK_TRY(dk_read_vec(body, 2, 2, 0xFFFF, &list));
    if (dk_reader_left(&list) % 2) return DK_ERR_DECODE;
    e->groups = dk_reader_ptr(&list);
    e->groups_len = (uint16_t)dk_reader_left(&list);
    return DK_OK;
}

/* RFC 8422 5.1.2: struct { ECPointFormat ec_point_format_list<1..2^8-1> } ECPointFormatList; */
static dk_result ext_point_formats(dk_reader *body, dk_hello_exts *e)
{
    dk_reader list;
    DK_TRY(dk_read_vec(body, 1, 1, 0xFF, &list));
    e->point_formats = dk_reader_ptr(&list);
    e->point_formats_len = (uint8_t)dk_reader_left(&list);
    return DK_OK;
}

/* RFC 5246 7.4.1.4.1:
 * SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>; */
static dk_result ext_sig_algs(dk_reader *body, dk_hello_exts *e)
{
    dk_reader list;
    DK_TRY(dk_read_vec(body, 2, 2, 0xFFFE, &list));
    if (dk_reader_left(&list) % 2) return DK_ERR_DECODE;
    e->sig_algs = dk_reader_ptr(&list);
    e->sig_algs_len = (uint16_t)dk_reader_left(&list);
    return DK_OK;
}

/* RFC 5746 3.2: struct { opaque renegotiated_connection<0..255>; } RenegotiationInfo; */
static dk_result ext_reneg_info(dk_reader *body, dk_hello_exts *e)
{
    dk_reader rc;
    DK_TRY(dk_read_vec(body, 1, 0, 0xFF, &rc));
    e->reneg_info = dk_reader_ptr(&rc);
    e->reneg_info_len = (uint8_t)dk_reader_left(&rc);
    return DK_OK;
}

/* Decode one known extension's body into e and mark it present. Unknown
 * types are left alone. */
static dk_result ext_one(uint16_t type, dk_reader *body, bool is_server_hello, dk_hello_exts *e)
{
    switch (type) {
    case DK_EXT_SERVER_NAME:
        e->present_server_name = true;
        DK_TRY(ext_server_name(body, is_server_hello, e));
        break;
    case DK_EXT_SUPPORTED_GROUPS:
        e->present_groups = true;
        DK_TRY(ext_groups(body, e));
        break;
    case DK_EXT_EC_POINT_FORMATS:
        e->present_point_formats = true;
        DK_TRY(ext_point_formats(body, e));
        break;
    case DK_EXT_SIGNATURE_ALGORITHMS:
        e->present_sig_algs = true;
        DK_TRY(ext_sig_algs(body, e));
        break;
    case DK_EXT_EXTENDED_MASTER_SECRET:
        /* RFC 7627 5.1: "The "extension_data" field of this extension is empty." */
        e->ems = true;
        break;
    case DK_EXT_RENEGOTIATION_INFO:
        e->present_reneg_info = true;
        DK_TRY(ext_reneg_info(body, e));
        break;
    default:
        if (!e->unknown) e->unknown_type = type;
        e->unknown = true;
        return dk_read_skip(body, dk_reader_left(body));
    }
    return dk_reader_done(body);
}

dk_result dk_exts_read(dk_reader *r, bool is_server_hello, dk_hello_exts *e)
{
    memset(e, 0, sizeof *e);
    /* RFC 5246 7.4.1.4: "There MUST NOT be more than one extension of the
     * same type." One bit per possible type keeps this linear. */
    uint8_t seen[0x10000 / 8];
    memset(seen, 0, sizeof seen);
    while (dk_reader_left(r) > 0) {
        uint16_t type;
        dk_reader body;
        DK_TRY(dk_read_u16(r, &type));
        DK_TRY(dk_read_vec(r, 2, 0, 0xFFFF, &body));
        uint8_t bit = (uint8_t)(1u << (type & 7));
        if (seen[type >> 3] & bit) return DK_ERR_DECODE;
        seen[type >> 3] |= bit;
        DK_TRY(ext_one(type, &body, is_server_hello, e));
    }
    return DK_OK;
}
