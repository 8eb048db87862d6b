/* Raw DTLS 1.2 datagrams for conformance tests: build records and handshake
 * fragments with chosen fields, edit captured datagrams in place, and parse
 * what an endpoint sent into a flat list of observations for assertions.
 *
 * Record (RFC 6347 4.1):
 *   struct { ContentType type; ProtocolVersion version; uint16 epoch;
 *            uint48 sequence_number; uint16 length; opaque fragment[length]; }
 * Handshake header (RFC 6347 4.2.2):
 *   struct { HandshakeType msg_type; uint24 length; uint16 message_seq;
 *            uint24 fragment_offset; uint24 fragment_length; ... }
 */
#ifndef DK_CRAFT_H
#define DK_CRAFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define DK_DG_CAP 17000 /* largest datagram the tests handle */

/* ---- a list of datagrams ---------------------------------------------- */

#define DK_DGL_MAX 128
typedef struct dk_dgl {
    uint8_t *p[DK_DGL_MAX];
    size_t len[DK_DGL_MAX];
    size_t n;
} dk_dgl;

void dk_dgl_push(dk_dgl *l, const uint8_t *p, size_t len);
/* Remove the first datagram into out (cap DK_DG_CAP); false when empty. */
bool dk_dgl_pop(dk_dgl *l, uint8_t *out, size_t *len);
void dk_dgl_append(dk_dgl *dst, const dk_dgl *src);
void dk_dgl_clear(dk_dgl *l);

/* ---- observations ------------------------------------------------------ */

/* One record, or one handshake fragment of a plaintext record. */
typedef struct dk_obs {
    size_t dgram;      /* index of the datagram in the parsed list */
    uint8_t ct;        /* content type */
    uint16_t version;
    uint16_t epoch;
    uint64_t rseq;     /* record sequence number */
    uint16_t rlen;     /* record length field */
    bool hs;           /* a plaintext handshake fragment: fields below valid */
    uint8_t hs_type;
    uint32_t hs_len;
    uint16_t ms;       /* message_seq */
    uint32_t foff, flen;
    uint16_t hvr_version; /* HelloVerifyRequest: server_version and cookie */
    uint8_t cookie[255];
    uint8_t cookie_len;
    bool alert;        /* a plaintext alert */
    uint8_t alert_level, alert_desc;
    bool ccs;          /* a plaintext ChangeCipherSpec */
} dk_obs;

#define DK_OBS_MAX 96
typedef struct dk_obsl {
    dk_obs o[DK_OBS_MAX];
    size_t n;
    size_t malformed; /* records that did not parse */
} dk_obsl;

/* Parse every datagram of l (the list is replaced). */
void dk_obs_parse(dk_obsl *out, const dk_dgl *l);
/* Append the records of one datagram. */
void dk_obs_parse_one(dk_obsl *out, const uint8_t *dg, size_t len, size_t dgram_index);
/* Count observations; ct and hs_type -1 match anything (hs_type >= 0 only
 * matches plaintext handshake fragments). */
size_t dk_obs_count(const dk_obsl *l, int ct, int hs_type);
/* The nth match, or NULL. */
const dk_obs *dk_obs_find(const dk_obsl *l, int ct, int hs_type, size_t nth);
void dk_obs_dump(const dk_obsl *l, FILE *f);

/* ---- building ---------------------------------------------------------- */

/* A whole record; returns its size (0 if cap is too small). */
size_t dk_craft_record(uint8_t *out, size_t cap, uint8_t ct, uint16_t version, uint16_t epoch,
                       uint64_t rseq, const uint8_t *payload, size_t len);
/* A handshake header and fragment bytes (frag_len bytes of body starting at
 * frag_off); returns its size. */
size_t dk_craft_handshake(uint8_t *out, size_t cap, uint8_t type, uint32_t length, uint16_t ms,
                          uint32_t frag_off, uint32_t frag_len, const uint8_t *body);
/* One DTLS 1.2 plaintext record holding one handshake fragment. */
size_t dk_craft_hs_record(uint8_t *out, size_t cap, uint16_t epoch, uint64_t rseq, uint8_t type,
                          uint16_t ms, const uint8_t *body, uint32_t length, uint32_t frag_off,
                          uint32_t frag_len);

/* A ClientHello body with chosen fields. */
typedef struct dk_craft_ch {
    uint16_t version;
    uint8_t random[32];
    uint8_t session_id_len;
    uint8_t session_id[32];
    uint8_t cookie_len;
    uint8_t cookie[255];
    uint16_t suites[32];
    size_t n_suites;
    bool ems;                /* extended_master_secret */
    uint16_t groups[4];      /* supported_groups + ec_point_formats when non-empty */
    size_t n_groups;
    size_t pad_len;          /* an unknown extension (type 0xFA5A) of this many bytes */
} dk_craft_ch;
size_t dk_craft_ch_body(uint8_t *out, size_t cap, const dk_craft_ch *ch);

/* ---- editing captured datagrams ------------------------------------------ */

/* Offsets and total sizes (header included) of the records of a datagram;
 * returns how many (stops at the first record that does not fit). */
size_t dk_craft_records(const uint8_t *dg, size_t len, size_t *off, size_t *size, size_t max);
/* Copy record idx into out; returns its size or 0. */
size_t dk_craft_extract(const uint8_t *dg, size_t len, size_t idx, uint8_t *out, size_t cap);
/* Change header fields of record idx in place; false if there is no such record. */
bool dk_craft_set_ct(uint8_t *dg, size_t len, size_t idx, uint8_t ct);
bool dk_craft_set_epoch(uint8_t *dg, size_t len, size_t idx, uint16_t epoch);
bool dk_craft_set_rseq(uint8_t *dg, size_t len, size_t idx, uint64_t rseq);
bool dk_craft_set_rlen(uint8_t *dg, size_t len, size_t idx, uint16_t rlen);
/* The first handshake header of plaintext record idx. */
bool dk_craft_set_ms(uint8_t *dg, size_t len, size_t idx, uint16_t ms);
/* The body of an unfragmented plaintext handshake message in record idx
 * (pointer into dg); NULL if there is none. */
uint8_t *dk_craft_hs_body(uint8_t *dg, size_t len, size_t idx, uint32_t *body_len, uint16_t *ms,
                          uint8_t *type);

/* ClientHello bodies: offset of the cookie length byte and of the cipher
 * suites' length, or 0 when the body does not parse. */
size_t dk_craft_ch_cookie_offset(const uint8_t *body, size_t len);
size_t dk_craft_ch_suites_offset(const uint8_t *body, size_t len);
/* Copy body with its cookie replaced (any length); returns the new size. */
size_t dk_craft_ch_with_cookie(const uint8_t *body, size_t len, const uint8_t *cookie,
                               size_t cookie_len, uint8_t *out, size_t cap);
/* Copy body with one more extension of ext_len bytes (type ext_type)
 * appended to its extension block; returns the new size. */
size_t dk_craft_ch_inflate(const uint8_t *body, size_t len, uint16_t ext_type, size_t ext_len,
                           uint8_t *out, size_t cap);

#endif
