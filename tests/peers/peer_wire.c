/* ServerHello sniffer: tells whether extended_master_secret (RFC 7627) was
 * negotiated by looking at the plaintext epoch-0 ServerHello on the wire.
 * Used by peers whose library has no API to report it (wolfSSL 5.5).
 *
 * RFC 6347 4.1:
 *   struct { ContentType type; ProtocolVersion version; uint16 epoch;
 *            uint48 sequence_number; uint16 length; opaque fragment[length]; }
 * RFC 6347 4.2.2:
 *   struct { HandshakeType msg_type; uint24 length; uint16 message_seq;
 *            uint24 fragment_offset; uint24 fragment_length; body }
 * RFC 5246 7.4.1.3:
 *   struct { ProtocolVersion server_version; Random random; SessionID session_id;
 *            CipherSuite cipher_suite; CompressionMethod compression_method;
 *            select (extensions_present) { case true: Extension extensions<0..2^16-1>; }; }
 * RFC 7627 5.1: "the server MUST include the extended_master_secret
 *   extension in its ServerHello message" when it agrees to use it.
 */
#include "peer_common.h"

#define REC_HDR 13
#define HS_HDR 12
#define CT_HANDSHAKE 22
#define HT_SERVER_HELLO 2
#define EXT_EMS 23

static uint32_t be(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Body of a complete ServerHello: 1 if EMS is present, 0 if not, -1 if
 * malformed. */
static int server_hello_has_ems(const uint8_t *b, size_t n)
{
    size_t off = 2 + 32;
    if (n < off + 1)
        return -1;
    off += 1 + b[off];     /* session_id */
    off += 2 + 1;          /* cipher_suite, compression_method */
    if (off == n)
        return 0;          /* no extensions */
    if (off + 2 > n)
        return -1;
    size_t end = off + 2 + be(b + off, 2);
    if (end > n)
        return -1;
    for (off += 2; off + 4 <= end;) {
        uint32_t type = be(b + off, 2), len = be(b + off + 2, 2);
        if (type == EXT_EMS)
            return 1;
        off += 4 + len;
    }
    return 0;
}

static void sniff_record(const uint8_t *frag, size_t n, int *ems)
{
    if (n < HS_HDR || frag[0] != HT_SERVER_HELLO)
        return;
    uint32_t len = be(frag + 1, 3), foff = be(frag + 6, 3), flen = be(frag + 9, 3);
    if (foff != 0 || flen != len || HS_HDR + (size_t)len > n)
        return; /* fragmented ServerHello: not seen in practice, ignored */
    int r = server_hello_has_ems(frag + HS_HDR, len);
    if (r >= 0)
        *ems = r;
}

void peer_sniff_datagram(const uint8_t *d, size_t len, int *ems)
{
    size_t off = 0;
    while (off + REC_HDR <= len) {
        uint32_t epoch = be(d + off + 3, 2);
        size_t rlen = be(d + off + 11, 2);
        if (off + REC_HDR + rlen > len)
            return;
        if (d[off] == CT_HANDSHAKE && epoch == 0)
            sniff_record(d + off + REC_HDR, rlen, ems);
        off += REC_HDR + rlen;
    }
}
