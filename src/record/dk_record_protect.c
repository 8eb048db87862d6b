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

static bool alg_is_chacha(dk_aead_alg alg) { return alg == DK_AEAD_CHACHA20_POLY1305; }

/* The IV (salt or ChaCha20-Poly1305 IV) goes into the AEAD context with the
 * key: libcrypto's TLS record construction forms each record's nonce from
 * it (dk_aead_new_record). */
dk_result dk_cipher_init(dk_cipher *c, dk_aead_alg alg, const uint8_t *key, const uint8_t *iv,
                         bool encrypt)
{
    if (!c || !key || !iv || alg > DK_AEAD_CHACHA20_POLY1305) return DK_ERR_INVALID_ARG;
    memset(c, 0, sizeof *c);
    DK_TRY(dk_crypto_init());
    c->alg = alg;
    c->explicit_len = alg_is_chacha(alg) ? 0 : 8;
    c->tag_len = (uint8_t)dk_aead_tag_len(alg);
    c->aead = dk_aead_new_record(alg, key, iv, encrypt);
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
    uint8_t *frag = out + DK_RECORD_HEADER_LEN;
    /* The one copy of the plaintext: libcrypto seals in place. */
    if (pt_len) memcpy(frag + explicit_len, pt, pt_len);
    *out_len = DK_RECORD_HEADER_LEN + frag_len;
    if (!c) return DK_OK;

    /* The AAD (RFC 6347 4.1.2.1) comes from the header just written. */
    dk_result rc = dk_aead_seal_record(c->aead, out, frag, frag_len);
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

    if (dk_aead_open_record(c->aead, rec->header, rec->fragment, rec->length) != DK_OK)
        return DK_DISCARD; /* R30/R31: silently discarded; the caller counts it */
    *pt = rec->fragment + c->explicit_len;
    *pt_len = ct_len;
    return DK_OK;
}
