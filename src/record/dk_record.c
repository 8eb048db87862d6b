/* dtlskit record layer: the DTLS record header (RFC 6347 4.1).
 *
 * struct {
 *   ContentType type;                 -- 1 byte
 *   ProtocolVersion version;          -- 2 bytes
 *   uint16 epoch;                     -- 2 bytes
 *   uint48 sequence_number;           -- 6 bytes
 *   uint16 length;                    -- 2 bytes
 *   opaque fragment[DTLSCiphertext.length];
 * } DTLSCiphertext;
 */
#include <string.h>

#include "record/dk_record.h"

/* RFC 5246 6.2.3: "The length (in bytes) of the following
 * TLSCiphertext.fragment. The length MUST NOT exceed 2^14 + 2048." */
#define DK_MAX_CIPHERTEXT (DK_MAX_PLAINTEXT + 2048)

static bool known_content_type(uint8_t type)
{
    return type >= DK_CT_CHANGE_CIPHER_SPEC && type <= DK_CT_APPLICATION_DATA;
}

/* DTLS 1.0 (0xFEFF) and DTLS 1.2 (0xFEFD), both with major byte 254. The
 * record version of a ClientHello may be 1.0 while the hello offers 1.2. */
static bool known_version(uint16_t version)
{
    return version == 0xFEFF || version == 0xFEFD;
}

/* The rest of the datagram cannot be parsed: consume it so that the caller's
 * loop ends, and let it drop the remainder (R30). */
static dk_result drop_rest(dk_reader *r)
{
    r->off = r->len;
    return DK_DISCARD;
}

dk_result dk_record_next(dk_reader *datagram, dk_record *rec)
{
    const uint8_t *hdr;
    if (dk_read_bytes(datagram, DK_RECORD_HEADER_LEN, &hdr) != DK_OK) return drop_rest(datagram);

    rec->type = hdr[0];
    rec->version = dk_load_u16(hdr + 1);
    rec->epoch = dk_load_u16(hdr + 3);
    rec->seq = dk_load_u48(hdr + 5);
    rec->length = dk_load_u16(hdr + 11);

    /* R25: "Each DTLS record MUST fit within a single datagram." A length
     * beyond the datagram leaves nothing we can trust after this header. */
    const uint8_t *frag;
    if (dk_read_bytes(datagram, rec->length, &frag) != DK_OK) return drop_rest(datagram);

    /* The reader is read-only; the record layer decrypts in place inside the
     * caller's (writable) datagram buffer. */
    rec->header = (uint8_t *)(uintptr_t)hdr;
    rec->fragment = (uint8_t *)(uintptr_t)frag;

    /* R30 (4.1.2.7): "In general, invalid records SHOULD be silently
     * discarded, thus preserving the association". These are consumed, so
     * the caller may go on with the next record of the datagram. */
    if (!known_content_type(rec->type)) return DK_DISCARD;
    if (!known_version(rec->version)) return DK_DISCARD;
    if (rec->length > DK_MAX_CIPHERTEXT) return DK_DISCARD;
    return DK_OK;
}

void dk_record_header_write(uint8_t out[DK_RECORD_HEADER_LEN], uint8_t type, uint16_t version,
                            uint16_t epoch, uint64_t seq, uint16_t length)
{
    uint64_t seq_num = ((uint64_t)epoch << 48) | (seq & DK_SEQ_MAX);
    out[0] = type;
    dk_store_u16(out + 1, version);
    /* epoch || sequence_number as one 8-byte store: the AEAD reads these 8
     * bytes back at once (the AAD's seq_num), and a load that spans several
     * recent stores waits for them to reach the cache. */
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t be = __builtin_bswap64(seq_num);
    memcpy(out + 3, &be, 8);
#else
    dk_store_u64(out + 3, seq_num);
#endif
    dk_store_u16(out + 11, length);
}
