/* dtlskit crypto: the only module that talks to OpenSSL's libcrypto.
 *
 * Nothing outside src/crypto/ includes <openssl/...>. Algorithms are fetched
 * once (dk_crypto_init, idempotent and thread-safe) and kept; AEAD contexts
 * are created once per key with the key schedule expanded, and then used for
 * every record without re-keying.
 */
#ifndef DK_CRYPTO_H
#define DK_CRYPTO_H

#include "core/dk_core.h"

DK_MUST_CHECK dk_result dk_crypto_init(void);

/* ---- random ---------------------------------------------------------- */

/* The library's default RNG (RAND_bytes). The engine calls the configured
 * dk_random_fn instead when one is set. */
DK_MUST_CHECK dk_result dk_random_bytes(uint8_t *out, size_t n);
/* Public random values (ClientHello/ServerHello.random): the same DRBG, drawn
 * in batches through a per-thread pool, since each DRBG call costs as much as
 * a third of a PSK handshake's HMACs. Never for secrets; a forked child
 * starts with an empty pool. */
DK_MUST_CHECK dk_result dk_random_public(uint8_t *out, size_t n);

/* ---- hash, HMAC, PRF -------------------------------------------------- */

typedef enum { DK_HASH_SHA256 = 0, DK_HASH_SHA384 = 1 } dk_hash_alg;
#define DK_MAX_HASH_LEN 48

size_t dk_hash_len(dk_hash_alg alg);
DK_MUST_CHECK dk_result dk_hash(dk_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out);

/* Incremental hash (for transcripts). */
typedef struct dk_hash_ctx dk_hash_ctx;
dk_hash_ctx *dk_hash_new(dk_hash_alg alg);
DK_MUST_CHECK dk_result dk_hash_update(dk_hash_ctx *h, const uint8_t *data, size_t len);
/* Digest of everything so far; the context stays usable. */
DK_MUST_CHECK dk_result dk_hash_peek(const dk_hash_ctx *h, uint8_t *out);
void dk_hash_free(dk_hash_ctx *h);

typedef struct dk_iovec {
    const uint8_t *p;
    size_t len;
} dk_iovec;

/* HMAC over the concatenation of parts. out gets dk_hash_len(alg) bytes. */
DK_MUST_CHECK dk_result dk_hmac(dk_hash_alg alg, const uint8_t *key, size_t key_len,
                                const dk_iovec *parts, size_t nparts, uint8_t *out);

/* A pre-keyed HMAC for hot paths (the PRF): the key schedule is done once,
 * and each dk_hmac_keyed call reuses the context without allocating. An
 * empty key is allowed (HMAC pads it to a zero block). Not for concurrent
 * use. */
typedef struct dk_hmac_key dk_hmac_key;
dk_hmac_key *dk_hmac_key_new(dk_hash_alg alg, const uint8_t *key, size_t key_len);
void dk_hmac_key_free(dk_hmac_key *k);
/* A new key into the same context (no allocation). */
DK_MUST_CHECK dk_result dk_hmac_key_rekey(dk_hmac_key *k, const uint8_t *key, size_t key_len);
DK_MUST_CHECK dk_result dk_hmac_keyed(dk_hmac_key *k, const dk_iovec *parts, size_t nparts,
                                      uint8_t *out);

/* TLS 1.2 PRF (RFC 5246 section 5): PRF(secret, label, seed1 || seed2). */
DK_MUST_CHECK dk_result dk_tls12_prf(dk_hash_alg alg, const uint8_t *secret, size_t secret_len,
                                     const char *label, const uint8_t *seed1, size_t seed1_len,
                                     const uint8_t *seed2, size_t seed2_len, uint8_t *out,
                                     size_t out_len);

/* SipHash-2-4 with a 128-bit tag (Aumasson and Bernstein), through
 * libcrypto's SIPHASH MAC: a keyed PRF for short inputs, about a third of
 * HMAC-SHA256's cost on a ClientHello's cookie fields. Keyed once, like
 * dk_hmac_key; not for concurrent use. */
#define DK_SIPHASH_KEY_LEN 16
#define DK_SIPHASH_TAG_LEN 16
typedef struct dk_siphash_key dk_siphash_key;
dk_siphash_key *dk_siphash_key_new(const uint8_t key[DK_SIPHASH_KEY_LEN]);
void dk_siphash_key_free(dk_siphash_key *k);
DK_MUST_CHECK dk_result dk_siphash_keyed(dk_siphash_key *k, const dk_iovec *parts, size_t nparts,
                                         uint8_t out[DK_SIPHASH_TAG_LEN]);

/* The same PRF over a secret already keyed into k (dk_hmac_key_new(alg,
 * secret)): the master secret feeds the key block and both Finished
 * messages, so its HMAC key schedule is done once. */
DK_MUST_CHECK dk_result dk_tls12_prf_keyed(dk_hmac_key *k, const char *label, const uint8_t *seed1,
                                           size_t seed1_len, const uint8_t *seed2,
                                           size_t seed2_len, uint8_t *out, size_t out_len);

/* ---- AEAD ------------------------------------------------------------ */

typedef enum {
    DK_AEAD_AES128_GCM = 0,
    DK_AEAD_AES256_GCM = 1,
    DK_AEAD_AES128_CCM8 = 2,
    DK_AEAD_CHACHA20_POLY1305 = 3,
} dk_aead_alg;

size_t dk_aead_key_len(dk_aead_alg alg);
size_t dk_aead_tag_len(dk_aead_alg alg);

/* One direction of one key: the cipher context keeps the expanded key. */
typedef struct dk_aead dk_aead;
dk_aead *dk_aead_new(dk_aead_alg alg, const uint8_t *key, bool encrypt);
void dk_aead_free(dk_aead *a);
/* In place: buf holds len bytes of plaintext on entry, ciphertext on return;
 * the tag (dk_aead_tag_len bytes) is written to tag. Nonce is 12 bytes. */
DK_MUST_CHECK dk_result dk_aead_seal(dk_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                                     size_t aad_len, uint8_t *buf, size_t len, uint8_t *tag);
/* In place: DK_ERR_CRYPTO when the tag does not verify (buf is then
 * unspecified). */
DK_MUST_CHECK dk_result dk_aead_open(dk_aead *a, const uint8_t nonce[12], const uint8_t *aad,
                                     size_t aad_len, uint8_t *buf, size_t len, const uint8_t *tag);

/* The TLS 1.2 record construction (RFC 5246 6.2.3.3, unchanged in DTLS 1.2)
 * on a context keyed once with the record key and its fixed IV: iv holds the
 * 4-byte salt (GCM, CCM) or the 12-byte IV (ChaCha20-Poly1305).
 *
 * hdr is the record's 13-byte DTLS header (RFC 6347 4.1: type, version,
 * epoch, sequence_number, length) and frag its fragment, frag_len bytes:
 * nonce_explicit (8 bytes, GCM and CCM; none for ChaCha20-Poly1305) ||
 * content || tag. The additional data is epoch || sequence_number || type ||
 * version || content length (RFC 6347 4.1.2.1), the length from frag_len
 * (the header's length field is not read). The nonce is salt ||
 * nonce_explicit (GCM, CCM) or iv XOR (0^32 || epoch || sequence_number)
 * (ChaCha20-Poly1305).
 *
 * Seal writes nonce_explicit = epoch || sequence_number, encrypts the
 * content in place and writes the tag. Open decrypts in place: DK_ERR_CRYPTO
 * when the record does not authenticate. On DK_ERR_CRYPTO either way the
 * fragment is wiped (no unauthenticated plaintext is left). */
dk_aead *dk_aead_new_record(dk_aead_alg alg, const uint8_t *key, const uint8_t *iv, bool encrypt);
DK_MUST_CHECK dk_result dk_aead_seal_record(dk_aead *a, const uint8_t hdr[13], uint8_t *frag,
                                            size_t frag_len);
DK_MUST_CHECK dk_result dk_aead_open_record(dk_aead *a, const uint8_t hdr[13], uint8_t *frag,
                                            size_t frag_len);

/* ---- key exchange (ECDHE) -------------------------------------------- */

typedef struct dk_kex dk_kex;
bool dk_group_supported(uint16_t group);
/* A fresh key pair. If seed is non-NULL (seed_len >= 64) the private key is
 * derived deterministically from it (for replayable tests and fuzzing);
 * otherwise libcrypto generates it. */
dk_kex *dk_kex_new(uint16_t group, const uint8_t *seed, size_t seed_len);
void dk_kex_free(dk_kex *k);
/* Our public value: uncompressed point (65/97 bytes) or 32-byte X25519 key. */
DK_MUST_CHECK dk_result dk_kex_public(const dk_kex *k, uint8_t *out, size_t cap, size_t *len);
/* The shared secret. Validates the peer value (RFC 8422 5.11: point on the
 * curve, uncompressed form; X25519 result not all zero): DK_ERR_DECODE for a
 * malformed value, DK_ERR_CRYPTO for one that fails validation. */
DK_MUST_CHECK dk_result dk_kex_derive(dk_kex *k, const uint8_t *peer, size_t peer_len,
                                      uint8_t *secret, size_t cap, size_t *secret_len);

/* ---- keys and signatures --------------------------------------------- */

/* TLS SignatureScheme values. */
enum {
    DK_SIG_RSA_PKCS1_SHA256 = 0x0401,
    DK_SIG_RSA_PKCS1_SHA384 = 0x0501,
    DK_SIG_ECDSA_SECP256R1_SHA256 = 0x0403,
    DK_SIG_ECDSA_SECP384R1_SHA384 = 0x0503,
    DK_SIG_RSA_PSS_RSAE_SHA256 = 0x0804,
    DK_SIG_RSA_PSS_RSAE_SHA384 = 0x0805,
    DK_SIG_ED25519 = 0x0807,
};

typedef enum { DK_PKEY_EC_P256, DK_PKEY_EC_P384, DK_PKEY_ED25519, DK_PKEY_RSA, DK_PKEY_OTHER } dk_pkey_type;

/* A private or public key. */
typedef struct dk_pkey dk_pkey;
dk_pkey *dk_pkey_from_pem(const char *pem, size_t len); /* private key */
void dk_pkey_free(dk_pkey *k);
dk_pkey_type dk_pkey_get_type(const dk_pkey *k);
/* Whether the key can make/verify signatures with this scheme. */
bool dk_pkey_can_sign_scheme(const dk_pkey *k, uint16_t scheme);
/* Sign msg (hashing it with the scheme's hash, or raw for Ed25519). */
DK_MUST_CHECK dk_result dk_sign(const dk_pkey *k, uint16_t scheme, const uint8_t *msg,
                                size_t msg_len, uint8_t *sig, size_t cap, size_t *sig_len);
/* DK_ERR_SIGNATURE when the signature is wrong. */
DK_MUST_CHECK dk_result dk_verify(const dk_pkey *pub, uint16_t scheme, const uint8_t *msg,
                                  size_t msg_len, const uint8_t *sig, size_t sig_len);
/* True when the private key matches the certificate's public key. */
bool dk_pkey_matches_cert(const dk_pkey *priv, const uint8_t *der, size_t der_len);

/* ---- certificates ---------------------------------------------------- */

/* A chain of DER certificates, leaf first. */
typedef struct dk_chain {
    uint8_t **der;
    size_t *len;
    size_t n;
} dk_chain;
DK_MUST_CHECK dk_result dk_chain_from_pem(const char *pem, size_t len, dk_chain *out);
void dk_chain_clear(dk_chain *c);

/* The leaf's public key (DK_ERR_CERT if the DER does not parse). */
DK_MUST_CHECK dk_result dk_cert_public_key(const uint8_t *der, size_t len, dk_pkey **out);
/* Subject common name, printable, NUL-terminated (empty if none). */
void dk_cert_subject_cn(const uint8_t *der, size_t len, char *out, size_t cap);

/* The leaf's public key and subject CN from one parse of the DER (each
 * decode of a certificate costs a public-key decoder run in OpenSSL 3). */
DK_MUST_CHECK dk_result dk_cert_leaf_info(const uint8_t *der, size_t len, dk_pkey **key, char *cn,
                                          size_t cn_cap);

/* Certificates with an EC (P-256/384/521), Ed25519 or Ed448 key are parsed
 * in a private library context that decodes the key without OpenSSL 3's
 * generic decoder search (on by default). For tests that compare the two
 * paths; not thread-safe. Returns the previous setting. */
bool dk_spki_set_enabled(bool on);
/* Test aids. Whether this certificate's key is decoded in that context. */
bool dk_cert_key_decoded_fast(const uint8_t *der, size_t len);
/* Decodes a DER SubjectPublicKeyInfo in that context (*fast: a key came out)
 * and in the default one (*dflt); true when neither gave a key, or both did
 * and the keys are equal (same type, size and security bits). */
bool dk_spki_decode_agrees(const uint8_t *spki, size_t len, bool *fast, bool *dflt);

/* Trust anchors: an X509_STORE inside. */
typedef struct dk_trust dk_trust;
dk_trust *dk_trust_new(void);
void dk_trust_free(dk_trust *t);
DK_MUST_CHECK dk_result dk_trust_load_file(dk_trust *t, const char *path);
DK_MUST_CHECK dk_result dk_trust_load_dir(dk_trust *t, const char *path);

/* Verify a peer chain (leaf first) against the trust store at time now
 * (seconds since 1970). hostname (may be NULL) is checked against the leaf
 * (DNS SAN, or CN when there is no SAN; IP literals against IP SANs).
 * purpose_server: true when verifying a server certificate. On failure
 * returns DK_ERR_CERT and writes a reason such as
 * "unable to get local issuer certificate" to reason. */
DK_MUST_CHECK dk_result dk_chain_verify(const dk_trust *t, const uint8_t *const *der,
                                        const size_t *len, size_t n, const char *hostname,
                                        int64_t now, bool purpose_server, char *reason,
                                        size_t reason_cap);

/* dk_chain_verify, and on success the leaf's public key and subject CN
 * taken from the same parse (the leaf is decoded once per handshake). */
DK_MUST_CHECK dk_result dk_chain_verify_leaf(const dk_trust *t, const uint8_t *const *der,
                                             const size_t *len, size_t n, const char *hostname,
                                             int64_t now, bool purpose_server, char *reason,
                                             size_t reason_cap, dk_pkey **leaf_key, char *cn,
                                             size_t cn_cap);

/* A self-signed ECDSA P-256 certificate valid from now-1h for 30 days, with
 * the CN and a DNS SAN of common_name. Returns the DER and private key. */
DK_MUST_CHECK dk_result dk_cert_make_selfsigned(const char *common_name, uint8_t **der,
                                                size_t *der_len, dk_pkey **key);

/* Constant-time compare from libcrypto, for MACs. */
bool dk_crypto_memeq(const void *a, const void *b, size_t n);

#endif
