/* dtlskit record protection: AEAD records in place.
 *
 * RFC 6347 4.1: the 64-bit sequence number the AEAD sees is the epoch and
 * the record's sequence number: "the 64-bit value formed by concatenating the
 * epoch and the sequence number in the order they appear on the wire".
 *
 * RFC 5246 6.2.3.3:
 *   struct {
 *      opaque nonce_explicit[SecurityParameters.record_iv_length];
 *      aead-ciphered struct { opaque content[TLSCompressed.length]; };
 *   } GenericAEADCipher;
 *   additional_data = seq_num + TLSCompressed.type + TLSCompressed.version +
 *                     TLSCompressed.length;
 *
 * AES-GCM (RFC 5288 3) and AES-CCM_8 (RFC 6655 3):
 *   nonce = salt[4] (client/server_write_IV) || nonce_explicit[8]; we send
 *   nonce_explicit = epoch || sequence_number, which is unique per key.
 * ChaCha20-Poly1305 (RFC 7905 2): no explicit nonce;
 *   nonce = client/server_write_IV[12] XOR (0^32 || epoch || sequence_number).
 */
#include <string.h>

#include "record/dk_record.h"

#define DK_AAD_LEN 13
#define DK_NONCE_LEN 12

static bool alg_is_chacha(dk_aead_alg alg) { return alg == DK_AEAD_CHACHA20_POLY1305; }

dk_result dk_cipher_init(dk_cipher *c, dk_aead_alg alg, const uint8_t *key, const uint8_t *iv,
                         bool encrypt)
{
    if (!c || !key || !iv || alg > DK_AEAD_CHACHA20_POLY1305) return DK_ERR_INVALID_ARG;
    memset(c, 0, sizeof *c);
    DK_TRY(dk_crypto_init());
    c->alg = alg;
    c->iv_len = alg_is_chacha(alg) ? 12 : 4;
    c->explicit_len = alg_is_chacha(alg) ? 0 : 8;
    c->tag_len = (uint8_t)dk_aead_tag_len(alg);
    memcpy(c->iv, iv, c->iv_len);
    c->aead = dk_aead_new(alg, key, encrypt);
    if (!c->aead) {
        dk_wipe(c, sizeof *c);
        return DK_ERR_CRYPTO;
    }
    return DK_OK;
}

void dk_cipher_clear(dk_cipher *c)
{
    if (!c) return;
    if (c->aead) dk_aead_free(c->aead);
    dk_wipe(c, sizeof *c);
}

/* The 64-bit "sequence number" of RFC 6347 4.1: epoch || seq. */
static void store_epoch_seq(uint8_t out[8], uint16_t epoch, uint64_t seq)
{
    dk_store_u16(out, epoch);
    dk_store_u48(out + 2, seq);
}

/* AEAD nonce. For GCM/CCM, explicit holds the 8 nonce_explicit bytes (from
 * the record on receipt, epoch||seq on sending); for ChaCha20-Poly1305 it
 * holds epoch||seq, which is XORed into the IV's last 8 bytes. */
static void make_nonce(const dk_cipher *c, const uint8_t explicit8[8], uint8_t nonce[DK_NONCE_LEN])
{
    if (alg_is_chacha(c->alg)) {
        memcpy(nonce, c->iv, DK_NONCE_LEN);
        for (int i = 0; i < 8; i++) nonce[4 + i] ^= explicit8[i];
    } else {
        memcpy(nonce, c->iv, 4);
        memcpy(nonce + 4, explicit8, 8);
    }
}

static void make_aad(uint8_t aad[DK_AAD_LEN], uint16_t epoch, uint64_t seq, uint8_t type,
                     uint16_t version, uint16_t pt_len)
{
    store_epoch_seq(aad, epoch, seq);
    aad[8] = type;
    dk_store_u16(aad + 9, version);
    dk_store_u16(aad + 11, pt_len);
}

dk_result dk_record_seal(const dk_cipher *c, uint8_t type, uint16_t version, uint16_t epoch,
                         uint64_t seq, const uint8_t *pt, size_t pt_len, uint8_t *out, size_t cap,
                         size_t *out_len)
{
    if (!out || !out_len || (pt_len && !pt)) return DK_ERR_INVALID_ARG;
    /* R28: the sequence number never wraps; the caller must stop first. */
    if (seq > DK_SEQ_MAX || pt_len > DK_MAX_PLAINTEXT) return DK_ERR_INVALID_ARG;
    size_t explicit_len = c ? c->explicit_len : 0;
    size_t frag_len = pt_len + dk_cipher_overhead(c);
    if (cap < DK_RECORD_HEADER_LEN || cap - DK_RECORD_HEADER_LEN < frag_len)
        return DK_ERR_BUFFER_TOO_SMALL;

    dk_record_header_write(out, type, version, epoch, seq, (uint16_t)frag_len);
    uint8_t *body = out + DK_RECORD_HEADER_LEN + explicit_len;
    if (pt_len) memcpy(body, pt, pt_len);
    *out_len = DK_RECORD_HEADER_LEN + frag_len;
    if (!c) return DK_OK;

    uint8_t es[8], nonce[DK_NONCE_LEN], aad[DK_AAD_LEN];
    store_epoch_seq(es, epoch, seq);
    if (explicit_len) memcpy(out + DK_RECORD_HEADER_LEN, es, 8);
    make_nonce(c, es, nonce);
    make_aad(aad, epoch, seq, type, version, (uint16_t)pt_len);
    dk_result rc = dk_aead_seal(c->aead, nonce, aad, sizeof aad, body, pt_len, body + pt_len);
    if (rc != DK_OK) {
        dk_wipe(out, *out_len);
        *out_len = 0;
    }
    return rc;
}

dk_result dk_record_open(const dk_cipher *c, dk_record *rec, uint8_t **pt, size_t *pt_len)
{
    if (!c) {
        /* Epoch 0: the fragment is the plaintext. */
        if (rec->length > DK_MAX_PLAINTEXT) return DK_DISCARD;
        *pt = rec->fragment;
        *pt_len = rec->length;
        return DK_OK;
    }
    size_t overhead = dk_cipher_overhead(c);
    if (rec->length < overhead) return DK_DISCARD;
    size_t ct_len = rec->length - overhead;
    /* RFC 5246 6.2.3: a plaintext longer than 2^14 is record_overflow; in
     * DTLS the record is silently discarded (R30). */
    if (ct_len > DK_MAX_PLAINTEXT) return DK_DISCARD;

    uint8_t es[8], nonce[DK_NONCE_LEN], aad[DK_AAD_LEN];
    store_epoch_seq(es, rec->epoch, rec->seq);
    make_nonce(c, c->explicit_len ? rec->fragment : es, nonce);
    make_aad(aad, rec->epoch, rec->seq, rec->type, rec->version, (uint16_t)ct_len);
    uint8_t *body = rec->fragment + c->explicit_len;
    if (dk_aead_open(c->aead, nonce, aad, sizeof aad, body, ct_len, body + ct_len) != DK_OK)
        return DK_DISCARD; /* R30/R31: silently discarded; the caller counts it */
    *pt = body;
    *pt_len = ct_len;
    return DK_OK;
}
