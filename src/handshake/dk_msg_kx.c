/* Key exchange codecs: ServerKeyExchange, ClientKeyExchange and
 * CertificateVerify for ECDHE with signatures (RFC 8422), PSK (RFC 4279) and
 * ECDHE_PSK (RFC 5489). */
#include "handshake/dk_msg.h"

#include <string.h>

#define DK_CURVE_TYPE_NAMED 3

/* ---- pieces ---------------------------------------------------------------- */

/* RFC 8422 5.4:
 *   enum { deprecated (1..2), named_curve (3), reserved(248..255) } ECCurveType;
 *   struct { ECCurveType curve_type; NamedCurve namedcurve; } ECParameters;
 *   struct { opaque point <1..2^8-1>; } ECPoint;
 *   struct { ECParameters curve_params; ECPoint public; } ServerECDHParams;
 * Only named_curve is defined (the explicit curve types of RFC 4492 are
 * deprecated), so any other curve_type is an illegal_parameter. */
static dk_result ecdh_params_read(dk_reader *r, dk_server_key_exchange *ske)
{
    size_t start = r->off;
    uint8_t curve_type;
    dk_reader point;
    DK_TRY(dk_read_u8(r, &curve_type));
    if (curve_type != DK_CURVE_TYPE_NAMED) return DK_ERR_HANDSHAKE;
    DK_TRY(dk_read_u16(r, &ske->group));
    DK_TRY(dk_read_vec(r, 1, 1, 0xFF, &point));
    ske->point = dk_reader_ptr(&point);
    ske->point_len = (uint8_t)dk_reader_left(&point);
    ske->params = r->p + start;
    ske->params_len = r->off - start;
    return DK_OK;
}

void dk_ecdh_params_write(dk_writer *w, uint16_t group, const uint8_t *point, size_t point_len)
{
    dk_write_u8(w, DK_CURVE_TYPE_NAMED);
    dk_write_u16(w, group);
    size_t m = dk_write_vec_open(w, 1);
    dk_write_bytes(w, point, point_len);
    dk_write_vec_close(w, m, 1);
}

/* RFC 4279 2: opaque psk_identity_hint<0..2^16-1>; (also psk_identity) */
static dk_result opaque16_read(dk_reader *r, const uint8_t **p, uint16_t *len)
{
    dk_reader v;
    DK_TRY(dk_read_vec(r, 2, 0, 0xFFFF, &v));
    *p = dk_reader_ptr(&v);
    *len = (uint16_t)dk_reader_left(&v);
    return DK_OK;
}

static void opaque_write(dk_writer *w, unsigned prefix, const uint8_t *p, size_t len)
{
    size_t m = dk_write_vec_open(w, prefix);
    dk_write_bytes(w, p, len);
    dk_write_vec_close(w, m, prefix);
}

/* RFC 5246 4.7 / 7.4.1.4.1:
 *   struct { SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>; } DigitallySigned;
 *   struct { HashAlgorithm hash; SignatureAlgorithm signature; } SignatureAndHashAlgorithm;
 * The two algorithm bytes are read as one big-endian uint16 scheme. */
static dk_result digitally_signed_read(dk_reader *r, uint16_t *scheme, const uint8_t **sig,
                                       uint16_t *sig_len)
{
    DK_TRY(dk_read_u16(r, scheme));
    return opaque16_read(r, sig, sig_len);
}

static void digitally_signed_write(dk_writer *w, uint16_t scheme, const uint8_t *sig,
                                   size_t sig_len)
{
    dk_write_u16(w, scheme);
    opaque_write(w, 2, sig, sig_len);
}

/* ---- ServerKeyExchange -----------------------------------------------------
 * ECDHE (RFC 8422 5.4):
 *   struct { ServerECDHParams params; DigitallySigned signed_params; } ServerKeyExchange;
 * PSK (RFC 4279 2):
 *   struct { opaque psk_identity_hint<0..2^16-1>; } ServerKeyExchange;
 * ECDHE_PSK (RFC 5489 2):
 *   struct { opaque psk_identity_hint<0..2^16-1>; ServerECDHParams params; } ServerKeyExchange;
 */
dk_result dk_server_key_exchange_read(dk_reader *r, dk_kx_kind kind, dk_server_key_exchange *ske)
{
    memset(ske, 0, sizeof *ske);
    switch (kind) {
    case DK_KX_ECDHE_SIGN:
        DK_TRY(ecdh_params_read(r, ske));
        DK_TRY(digitally_signed_read(r, &ske->sig_scheme, &ske->sig, &ske->sig_len));
        break;
    case DK_KX_PSK: DK_TRY(opaque16_read(r, &ske->hint, &ske->hint_len)); break;
    case DK_KX_ECDHE_PSK:
        DK_TRY(opaque16_read(r, &ske->hint, &ske->hint_len));
        DK_TRY(ecdh_params_read(r, ske));
        break;
    default: return DK_ERR_INVALID_ARG;
    }
    return dk_reader_done(r);
}

/* The ServerECDHParams: the encoded bytes when the caller has them (the same
 * bytes it signed), else built from group and point. */
static void ske_params_write(dk_writer *w, const dk_server_key_exchange *ske)
{
    if (ske->params) dk_write_bytes(w, ske->params, ske->params_len);
    else dk_ecdh_params_write(w, ske->group, ske->point, ske->point_len);
}

void dk_server_key_exchange_write(dk_writer *w, dk_kx_kind kind, const dk_server_key_exchange *ske)
{
    switch (kind) {
    case DK_KX_ECDHE_SIGN:
        ske_params_write(w, ske);
        digitally_signed_write(w, ske->sig_scheme, ske->sig, ske->sig_len);
        break;
    case DK_KX_PSK: opaque_write(w, 2, ske->hint, ske->hint_len); break;
    case DK_KX_ECDHE_PSK:
        opaque_write(w, 2, ske->hint, ske->hint_len);
        ske_params_write(w, ske);
        break;
    default: w->overflow = true; break;
    }
}

/* ---- ClientKeyExchange -----------------------------------------------------
 * ECDHE (RFC 8422 5.7): struct { ECPoint ecdh_Yc; } ClientECDiffieHellmanPublic;
 *   (explicit form; ECPoint is opaque point<1..2^8-1>)
 * PSK (RFC 4279 2): struct { opaque psk_identity<0..2^16-1>; }
 * ECDHE_PSK (RFC 5489 2):
 *   struct { opaque psk_identity<0..2^16-1>; ClientECDiffieHellmanPublic public; }
 */
static dk_result ec_point_read(dk_reader *r, dk_client_key_exchange *cke)
{
    dk_reader v;
    DK_TRY(dk_read_vec(r, 1, 1, 0xFF, &v));
    cke->point = dk_reader_ptr(&v);
    cke->point_len = (uint8_t)dk_reader_left(&v);
    return DK_OK;
}

dk_result dk_client_key_exchange_read(dk_reader *r, dk_kx_kind kind, dk_client_key_exchange *cke)
{
    memset(cke, 0, sizeof *cke);
    switch (kind) {
    case DK_KX_ECDHE_SIGN: DK_TRY(ec_point_read(r, cke)); break;
    case DK_KX_PSK: DK_TRY(opaque16_read(r, &cke->identity, &cke->identity_len)); break;
    case DK_KX_ECDHE_PSK:
        DK_TRY(opaque16_read(r, &cke->identity, &cke->identity_len));
        DK_TRY(ec_point_read(r, cke));
        break;
    default: return DK_ERR_INVALID_ARG;
    }
    return dk_reader_done(r);
}

void dk_client_key_exchange_write(dk_writer *w, dk_kx_kind kind, const dk_client_key_exchange *cke)
{
    switch (kind) {
    case DK_KX_ECDHE_SIGN: opaque_write(w, 1, cke->point, cke->point_len); break;
    case DK_KX_PSK: opaque_write(w, 2, cke->identity, cke->identity_len); break;
    case DK_KX_ECDHE_PSK:
        opaque_write(w, 2, cke->identity, cke->identity_len);
        opaque_write(w, 1, cke->point, cke->point_len);
        break;
    default: w->overflow = true; break;
    }
}

/* ---- CertificateVerify (RFC 5246 7.4.8) --------------------------------------
 * struct { digitally-signed struct { opaque handshake_messages[handshake_messages_length]; } }
 *   CertificateVerify;
 */
dk_result dk_certificate_verify_read(dk_reader *r, dk_certificate_verify *cv)
{
    memset(cv, 0, sizeof *cv);
    DK_TRY(digitally_signed_read(r, &cv->sig_scheme, &cv->sig, &cv->sig_len));
    return dk_reader_done(r);
}

void dk_certificate_verify_write(dk_writer *w, const dk_certificate_verify *cv)
{
    digitally_signed_write(w, cv->sig_scheme, cv->sig, cv->sig_len);
}
