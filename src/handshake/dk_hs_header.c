/* The 12-byte DTLS handshake header (RFC 6347 4.2.2), message type names,
 * and the fixed-shape bodies: Finished and the empty messages. */
#include "handshake/dk_msg.h"

#include <stdio.h>

const char *dk_hs_type_name(uint8_t type)
{
    switch (type) {
    case DK_HT_HELLO_REQUEST: return "HelloRequest";
    case DK_HT_CLIENT_HELLO: return "ClientHello";
    case DK_HT_SERVER_HELLO: return "ServerHello";
    case DK_HT_HELLO_VERIFY_REQUEST: return "HelloVerifyRequest";
    case DK_HT_CERTIFICATE: return "Certificate";
    case DK_HT_SERVER_KEY_EXCHANGE: return "ServerKeyExchange";
    case DK_HT_CERTIFICATE_REQUEST: return "CertificateRequest";
    case DK_HT_SERVER_HELLO_DONE: return "ServerHelloDone";
    case DK_HT_CERTIFICATE_VERIFY: return "CertificateVerify";
    case DK_HT_CLIENT_KEY_EXCHANGE: return "ClientKeyExchange";
    case DK_HT_FINISHED: return "Finished";
    default: break;
    }
    /* Valid until the next call for an unknown type in the same thread. */
    static _Thread_local char unknown[16];
    snprintf(unknown, sizeof unknown, "Unknown(%u)", (unsigned)type);
    return unknown;
}

/* struct {
 *   HandshakeType msg_type;  uint24 length;  uint16 message_seq;
 *   uint24 fragment_offset;  uint24 fragment_length;
 *   select (HandshakeType) { ... } body;
 * } Handshake;
 */
static dk_result hs_header_fields(dk_reader *r, dk_hs_header *h)
{
    DK_TRY(dk_read_u8(r, &h->type));
    DK_TRY(dk_read_u24(r, &h->length));
    DK_TRY(dk_read_u16(r, &h->seq));
    DK_TRY(dk_read_u24(r, &h->frag_offset));
    return dk_read_u24(r, &h->frag_length);
}

dk_result dk_hs_header_read(dk_reader *r, dk_hs_header *h, const uint8_t **frag)
{
    size_t save = r->off;
    dk_result rc = hs_header_fields(r, h);
    /* R21: the ranges "MUST jointly contain the entire handshake message", so
     * no fragment reaches past the message's length. R22: "The length field in
     * all messages is the same as the length field of the original message."
     * All three fields are uint24, so the sum cannot overflow. */
    if (rc == DK_OK && h->frag_offset + h->frag_length > h->length) rc = DK_ERR_DECODE;
    /* A fragment carries at least one byte unless the message is empty. */
    if (rc == DK_OK && h->frag_length == 0 && h->length != 0) rc = DK_ERR_DECODE;
    if (rc == DK_OK) rc = dk_read_bytes(r, h->frag_length, frag);
    if (rc != DK_OK) r->off = save;
    return rc;
}

void dk_hs_header_write(dk_writer *w, const dk_hs_header *h)
{
    dk_write_u8(w, h->type);
    dk_write_u24(w, h->length);
    dk_write_u16(w, h->seq);
    dk_write_u24(w, h->frag_offset);
    dk_write_u24(w, h->frag_length);
}

/* struct { opaque verify_data[verify_data_length]; } Finished;
 * verify_data_length is 12 for every cipher suite we support (RFC 5246 7.4.9). */
dk_result dk_finished_read(dk_reader *r, const uint8_t **verify_data)
{
    if (dk_reader_left(r) != DK_VERIFY_DATA_LEN) return DK_ERR_DECODE;
    return dk_read_bytes(r, DK_VERIFY_DATA_LEN, verify_data);
}

/* struct { } HelloRequest;  struct { } ServerHelloDone; */
dk_result dk_empty_read(dk_reader *r)
{
    return dk_reader_done(r);
}
