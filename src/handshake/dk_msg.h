/* dtlskit handshake codecs: the 12-byte DTLS handshake header and one codec
 * per handshake message and hello extension (RFC 6347 4.2.2, RFC 5246 7.4).
 *
 * Decoders take a reader and fill a struct; they never see the connection.
 * Variable-length fields are pointers into the decoded buffer (zero copy), so
 * a decoded struct lives no longer than the bytes it was decoded from.
 * Decoders return DK_OK or DK_ERR_DECODE (malformed: the engine answers
 * decode_error) or DK_ERR_HANDSHAKE for a well-formed but illegal value
 * (illegal_parameter), and never read outside their input.
 * Writers write the message body only (no handshake header) and report
 * overflow through the writer.
 */
#ifndef DK_MSG_H
#define DK_MSG_H

#include "core/dk_core.h"

enum {
    DK_HT_HELLO_REQUEST = 0,
    DK_HT_CLIENT_HELLO = 1,
    DK_HT_SERVER_HELLO = 2,
    DK_HT_HELLO_VERIFY_REQUEST = 3,
    DK_HT_CERTIFICATE = 11,
    DK_HT_SERVER_KEY_EXCHANGE = 12,
    DK_HT_CERTIFICATE_REQUEST = 13,
    DK_HT_SERVER_HELLO_DONE = 14,
    DK_HT_CERTIFICATE_VERIFY = 15,
    DK_HT_CLIENT_KEY_EXCHANGE = 16,
    DK_HT_FINISHED = 20,
};

const char *dk_hs_type_name(uint8_t type);

#define DK_DTLS10 0xFEFF
#define DK_DTLS12 0xFEFD

/* ---- handshake header ----------------------------------------------
 * struct {
 *   HandshakeType msg_type;  uint24 length;  uint16 message_seq;
 *   uint24 fragment_offset;  uint24 fragment_length;
 *   select (HandshakeType) { ... } body;   -- fragment_length bytes
 * } Handshake;
 */
#define DK_HS_HEADER_LEN 12
typedef struct dk_hs_header {
    uint8_t type;
    uint32_t length;
    uint16_t seq;
    uint32_t frag_offset;
    uint32_t frag_length;
} dk_hs_header;

/* Reads the header and checks frag_offset + frag_length <= length
 * (R21, R22; else DK_ERR_DECODE) and that frag_length bytes follow. */
DK_MUST_CHECK dk_result dk_hs_header_read(dk_reader *r, dk_hs_header *h, const uint8_t **frag);
void dk_hs_header_write(dk_writer *w, const dk_hs_header *h);

/* ---- hello extensions ----------------------------------------------- */

enum {
    DK_EXT_SERVER_NAME = 0,
    DK_EXT_SUPPORTED_GROUPS = 10,
    DK_EXT_EC_POINT_FORMATS = 11,
    DK_EXT_SIGNATURE_ALGORITHMS = 13,
    DK_EXT_EXTENDED_MASTER_SECRET = 23,
    DK_EXT_RENEGOTIATION_INFO = 0xFF01,
};

/* What we understand of a hello's extension block. Unknown extensions are
 * skipped; a repeated extension type is DK_ERR_DECODE (RFC 5246 7.4.1.4). */
typedef struct dk_hello_exts {
    bool present_server_name;
    const uint8_t *server_name; /* host_name, not NUL-terminated */
    uint16_t server_name_len;
    bool present_groups;
    const uint8_t *groups; /* raw uint16 list */
    uint16_t groups_len;   /* bytes */
    bool present_point_formats;
    const uint8_t *point_formats;
    uint8_t point_formats_len;
    bool present_sig_algs;
    const uint8_t *sig_algs; /* raw uint16 list */
    uint16_t sig_algs_len;   /* bytes */
    bool ems;
    bool present_reneg_info;
    const uint8_t *reneg_info; /* renegotiated_connection */
    uint8_t reneg_info_len;
    uint16_t unknown_type; /* the first extension type not understood here */
    bool unknown;          /* any extension type not understood here */
} dk_hello_exts;

/* Parse an extension block (the bytes after the uint16 total length).
 * is_server_hello selects the ServerHello rules (server_name must be empty
 * there). */
DK_MUST_CHECK dk_result dk_exts_read(dk_reader *r, bool is_server_hello, dk_hello_exts *e);

/* ---- ClientHello -----------------------------------------------------
 * struct {
 *   ProtocolVersion client_version;  Random random;
 *   SessionID session_id;            opaque cookie<0..2^8-1>;
 *   CipherSuite cipher_suites<2..2^16-2>;
 *   CompressionMethod compression_methods<1..2^8-1>;
 *   select (extensions_present) { Extension extensions<0..2^16-1>; };
 * } ClientHello;
 */
typedef struct dk_client_hello {
    uint16_t version;
    const uint8_t *random; /* 32 bytes */
    const uint8_t *session_id;
    uint8_t session_id_len;
    const uint8_t *cookie;
    uint8_t cookie_len;
    const uint8_t *suites; /* raw uint16 list */
    uint16_t suites_len;   /* bytes, even */
    const uint8_t *compressions;
    uint8_t compressions_len;
    dk_hello_exts exts;
    /* Offset in the body where the cookie's length byte stands, and where
     * compression_methods end: the cookie gate needs both (R8). */
    size_t cookie_offset;
    size_t params_end;
} dk_client_hello;

DK_MUST_CHECK dk_result dk_client_hello_read(dk_reader *r, dk_client_hello *ch);

/* What the client puts in its hello. Extensions are written from these. */
typedef struct dk_client_hello_out {
    uint16_t version;
    const uint8_t *random;
    const uint8_t *cookie;
    uint8_t cookie_len;
    const uint16_t *suites;
    size_t n_suites;
    const uint16_t *groups; /* empty: no supported_groups/ec_point_formats */
    size_t n_groups;
    const uint16_t *sig_algs;
    size_t n_sig_algs;
    const char *server_name; /* NULL: none */
    bool ems;
    bool reneg_info; /* empty renegotiation_info extension */
} dk_client_hello_out;
void dk_client_hello_write(dk_writer *w, const dk_client_hello_out *ch);

/* ---- HelloVerifyRequest ----------------------------------------------
 * struct { ProtocolVersion server_version; opaque cookie<0..2^8-1>; }
 */
typedef struct dk_hello_verify {
    uint16_t version;
    const uint8_t *cookie;
    uint8_t cookie_len;
} dk_hello_verify;
DK_MUST_CHECK dk_result dk_hello_verify_read(dk_reader *r, dk_hello_verify *hv);
void dk_hello_verify_write(dk_writer *w, const dk_hello_verify *hv);

/* ---- ServerHello -----------------------------------------------------
 * struct {
 *   ProtocolVersion server_version;  Random random;  SessionID session_id;
 *   CipherSuite cipher_suite;  CompressionMethod compression_method;
 *   select (extensions_present) { Extension extensions<0..2^16-1>; };
 * } ServerHello;
 */
typedef struct dk_server_hello {
    uint16_t version;
    const uint8_t *random;
    const uint8_t *session_id;
    uint8_t session_id_len;
    uint16_t suite;
    uint8_t compression;
    dk_hello_exts exts;
} dk_server_hello;
DK_MUST_CHECK dk_result dk_server_hello_read(dk_reader *r, dk_server_hello *sh);

typedef struct dk_server_hello_out {
    uint16_t version;
    const uint8_t *random;
    const uint8_t *session_id;
    uint8_t session_id_len;
    uint16_t suite;
    bool ems;
    bool reneg_info;     /* empty renegotiation_info */
    bool point_formats;  /* ec_point_formats: uncompressed */
} dk_server_hello_out;
void dk_server_hello_write(dk_writer *w, const dk_server_hello_out *sh);

/* ---- Certificate -----------------------------------------------------
 * opaque ASN.1Cert<1..2^24-1>;
 * struct { ASN.1Cert certificate_list<0..2^24-1>; } Certificate;
 */
#define DK_MAX_CHAIN 10
typedef struct dk_certificate {
    size_t n;
    const uint8_t *der[DK_MAX_CHAIN];
    size_t len[DK_MAX_CHAIN];
} dk_certificate;
/* More than max_chain (<= DK_MAX_CHAIN) certificates: DK_ERR_LIMIT. */
DK_MUST_CHECK dk_result dk_certificate_read(dk_reader *r, size_t max_chain, dk_certificate *c);
void dk_certificate_write(dk_writer *w, const uint8_t *const *der, const size_t *len, size_t n);

/* ---- ServerKeyExchange -----------------------------------------------
 * ECDHE (RFC 8422 5.4):
 *   struct { ECCurveType curve_type = named_curve(3); NamedCurve namedcurve;
 *            opaque point<1..2^8-1>; } ServerECDHParams;
 *   struct { ServerECDHParams params; DigitallySigned signed_params; }
 * PSK (RFC 4279):   struct { opaque psk_identity_hint<0..2^16-1>; }
 * ECDHE_PSK (RFC 5489):
 *   struct { opaque psk_identity_hint<0..2^16-1>; ServerECDHParams params; }
 * DigitallySigned: struct { SignatureAndHashAlgorithm algorithm; opaque signature<0..2^16-1>; }
 */
typedef enum { DK_KX_ECDHE_SIGN = 0, DK_KX_PSK = 1, DK_KX_ECDHE_PSK = 2 } dk_kx_kind;

typedef struct dk_server_key_exchange {
    const uint8_t *hint;
    uint16_t hint_len;
    uint16_t group;
    const uint8_t *point;
    uint8_t point_len;
    /* The ServerECDHParams bytes, which the signature covers
     * (client_random + server_random + params). */
    const uint8_t *params;
    size_t params_len;
    uint16_t sig_scheme;
    const uint8_t *sig;
    uint16_t sig_len;
} dk_server_key_exchange;
DK_MUST_CHECK dk_result dk_server_key_exchange_read(dk_reader *r, dk_kx_kind kind,
                                                    dk_server_key_exchange *ske);
/* Writes the ServerECDHParams only (for signing and for the message). */
void dk_ecdh_params_write(dk_writer *w, uint16_t group, const uint8_t *point, size_t point_len);
/* Writes the whole message; params_len/params as above; sig ignored for PSK kinds. */
void dk_server_key_exchange_write(dk_writer *w, dk_kx_kind kind, const dk_server_key_exchange *ske);

/* ---- CertificateRequest (RFC 5246 7.4.4) ------------------------------
 * struct { ClientCertificateType certificate_types<1..2^8-1>;
 *          SignatureAndHashAlgorithm supported_signature_algorithms<2..2^16-2>;
 *          DistinguishedName certificate_authorities<0..2^16-1>; }
 */
typedef struct dk_certificate_request {
    const uint8_t *cert_types;
    uint8_t cert_types_len;
    const uint8_t *sig_algs;
    uint16_t sig_algs_len;
    const uint8_t *cas;
    uint16_t cas_len;
} dk_certificate_request;
DK_MUST_CHECK dk_result dk_certificate_request_read(dk_reader *r, dk_certificate_request *cr);
void dk_certificate_request_write(dk_writer *w, const uint8_t *cert_types, size_t n_types,
                                  const uint16_t *sig_algs, size_t n_sig_algs);

/* ---- ClientKeyExchange -----------------------------------------------
 * ECDHE: struct { opaque point<1..2^8-1>; }
 * PSK:   struct { opaque psk_identity<0..2^16-1>; }
 * ECDHE_PSK: struct { opaque psk_identity<0..2^16-1>; opaque point<1..2^8-1>; }
 */
typedef struct dk_client_key_exchange {
    const uint8_t *identity;
    uint16_t identity_len;
    const uint8_t *point;
    uint8_t point_len;
} dk_client_key_exchange;
DK_MUST_CHECK dk_result dk_client_key_exchange_read(dk_reader *r, dk_kx_kind kind,
                                                    dk_client_key_exchange *cke);
void dk_client_key_exchange_write(dk_writer *w, dk_kx_kind kind, const dk_client_key_exchange *cke);

/* ---- CertificateVerify: struct { DigitallySigned signature; } ---------- */
typedef struct dk_certificate_verify {
    uint16_t sig_scheme;
    const uint8_t *sig;
    uint16_t sig_len;
} dk_certificate_verify;
DK_MUST_CHECK dk_result dk_certificate_verify_read(dk_reader *r, dk_certificate_verify *cv);
void dk_certificate_verify_write(dk_writer *w, const dk_certificate_verify *cv);

/* ---- Finished: struct { opaque verify_data[12]; } ----------------------- */
#define DK_VERIFY_DATA_LEN 12
DK_MUST_CHECK dk_result dk_finished_read(dk_reader *r, const uint8_t **verify_data);

/* Empty bodies (HelloRequest, ServerHelloDone). */
DK_MUST_CHECK dk_result dk_empty_read(dk_reader *r);

#endif
