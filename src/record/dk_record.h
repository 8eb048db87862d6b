/* dtlskit record layer (RFC 6347 4.1): header codec, replay window, AEAD
 * protection in place.
 *
 * struct {
 *   ContentType type;  ProtocolVersion version;  uint16 epoch;
 *   uint48 sequence_number;  uint16 length;  opaque fragment[length];
 * } DTLSCiphertext;
 */
#ifndef DK_RECORD_H
#define DK_RECORD_H

#include "core/dk_core.h"
#include "crypto/dk_crypto.h"

enum {
    DK_CT_CHANGE_CIPHER_SPEC = 20,
    DK_CT_ALERT = 21,
    DK_CT_HANDSHAKE = 22,
    DK_CT_APPLICATION_DATA = 23,
};

#define DK_RECORD_HEADER_LEN 13
#define DK_MAX_PLAINTEXT 16384
#define DK_SEQ_MAX ((1ULL << 48) - 1)

typedef struct dk_record {
    uint8_t type;
    uint16_t version;
    uint16_t epoch;
    uint64_t seq;          /* 48 bits */
    uint16_t length;
    uint8_t *header;       /* the 13 header bytes inside the datagram */
    uint8_t *fragment;     /* length bytes, inside the datagram */
} dk_record;

/* Split the next record off a datagram. DK_DISCARD when the rest of the
 * datagram cannot hold a record (header truncated, length beyond the
 * datagram): the caller drops the remainder (R30); the reader is then left
 * at its end, so a loop `while (dk_reader_left(r))` stops. Unknown content
 * types, versions other than 1.0/1.2 major 254 and lengths above 2^14 + 2048
 * are DK_DISCARD too, but only that record is *consumed*, so the caller may
 * continue with the next record. */
DK_MUST_CHECK dk_result dk_record_next(dk_reader *datagram, dk_record *rec);
void dk_record_header_write(uint8_t out[DK_RECORD_HEADER_LEN], uint8_t type, uint16_t version,
                            uint16_t epoch, uint64_t seq, uint16_t length);
/* The datagram's first record is an epoch-0 handshake record carrying (a
 * fragment of) a ClientHello: the only datagram that can start an R16
 * successor, which must read it untouched (a connection decrypts in place),
 * so the endpoint and dk_peer copy just these (and all while an old
 * association exists). */
static inline bool dk_record_starts_client_hello(const uint8_t *d, size_t len)
{
    return len > DK_RECORD_HEADER_LEN && d[0] == DK_CT_HANDSHAKE && d[3] == 0 && d[4] == 0 &&
           d[DK_RECORD_HEADER_LEN] == 1 /* client_hello */;
}

/* ---- replay window (RFC 6347 4.1.2.6, R29) ---------------------------
 * A sliding bitmap of up to DK_REPLAY_MAX_BITS records. Check before
 * decrypting; mark only after the record authenticated. */
#define DK_REPLAY_MAX_BITS 1024
typedef struct dk_replay {
    uint64_t top;       /* highest sequence number accepted so far */
    bool any;           /* false until a first record is marked (top then valid) */
    unsigned size;      /* window size in records, 32..DK_REPLAY_MAX_BITS, multiple of 64 or 32 */
    uint64_t bits[DK_REPLAY_MAX_BITS / 64]; /* bit i: top - i seen */
} dk_replay;
void dk_replay_init(dk_replay *w, unsigned size);
/* DK_OK if seq is new and inside or right of the window; DK_DISCARD otherwise. */
DK_MUST_CHECK dk_result dk_replay_check(const dk_replay *w, uint64_t seq);
void dk_replay_mark(dk_replay *w, uint64_t seq);

/* ---- protection ------------------------------------------------------ */

/* One direction's keys for one epoch. */
typedef struct dk_cipher {
    dk_aead_alg alg;
    dk_aead *aead;        /* keyed with the key and the fixed IV */
    uint8_t explicit_len; /* 8 (GCM, CCM) or 0 */
    uint8_t tag_len;      /* 16 or 8 */
} dk_cipher;

/* Expand keys into a cipher (creates the AEAD context once). */
DK_MUST_CHECK dk_result dk_cipher_init(dk_cipher *c, dk_aead_alg alg, const uint8_t *key,
                                       const uint8_t *iv, bool encrypt);
void dk_cipher_clear(dk_cipher *c);
/* Bytes a protected record adds to its plaintext (explicit nonce + tag). */
static inline size_t dk_cipher_overhead(const dk_cipher *c)
{
    return c ? (size_t)c->explicit_len + c->tag_len : 0;
}

/* Write a whole record (header and protected fragment) to out: plaintext when
 * c is NULL (epoch 0). out_len gets the record size. The plaintext may not
 * alias out. DK_ERR_BUFFER_TOO_SMALL if it does not fit in cap. */
DK_MUST_CHECK dk_result dk_record_seal(const dk_cipher *c, uint8_t type, uint16_t version,
                                       uint16_t epoch, uint64_t seq, const uint8_t *pt,
                                       size_t pt_len, uint8_t *out, size_t cap, size_t *out_len);
/* Decrypt rec (as dk_record_next split it: the additional data comes from
 * rec->header) in place. On success *pt and *pt_len give the plaintext
 * (inside rec->fragment). DK_DISCARD when the record is too short or fails
 * authentication (the caller counts it; R30), or the plaintext is longer
 * than 2^14. */
DK_MUST_CHECK dk_result dk_record_open(const dk_cipher *c, dk_record *rec, uint8_t **pt,
                                       size_t *pt_len);

#endif
