/* Pieces both roles share: key derivation, Finished, peer certificate
 * verification, signature scheme choice, ECDHE and PSK premaster secrets. */
#include <stdio.h>
#include <string.h>

#include "conn/dk_conn_int.h"

/* RFC 7627 4: with EMS, session_hash = Hash(handshake_messages) up to and
 * including the ClientKeyExchange; then the key block (RFC 5246 6.3). */
dk_result dk_derive_keys(dk_conn *c, const uint8_t *pms, size_t pms_len, size_t session_hash_len)
{
    uint8_t sh[DK_MAX_HASH_LEN];
    if (c->ems) DK_TRY(dk_transcript_hash(c, session_hash_len, sh));
    /* One HMAC context: keyed with the premaster secret for the master
     * secret, then re-keyed with the master secret. */
    dk_hmac_key_free(c->msk);
    c->msk = dk_hmac_key_new(c->suite->prf, pms, pms_len);
    if (!c->msk) return DK_ERR_CRYPTO;
    DK_TRY(dk_derive_master_secret_k(c->msk, dk_hash_len(c->suite->prf), c->ems, sh,
                                     c->client_random, c->server_random, c->master));
    c->have_master = true;
    DK_TRY(dk_hmac_key_rekey(c->msk, c->master, DK_MASTER_SECRET_LEN));
    if (!c->kb) c->kb = dk_malloc(sizeof *c->kb);
    if (!c->kb) return DK_ERR_NOMEM;
    DK_TRY(dk_derive_key_block_k(c->suite, c->msk, c->client_random, c->server_random, c->kb));
    bool client = c->role == DK_ROLE_CLIENT;
    const uint8_t *wk = client ? c->kb->client_key : c->kb->server_key;
    const uint8_t *wiv = client ? c->kb->client_iv : c->kb->server_iv;
    const uint8_t *rk = client ? c->kb->server_key : c->kb->client_key;
    const uint8_t *riv = client ? c->kb->server_iv : c->kb->client_iv;
    DK_TRY(dk_cipher_init(&c->wcipher, c->suite->aead, wk, wiv, true));
    DK_TRY(dk_cipher_init(&c->rcipher, c->suite->aead, rk, riv, false));
    c->wcipher_ready = c->rcipher_ready = true;
    dk_wipe(c->kb, sizeof *c->kb);
    dk_keylog(c);
    return DK_OK;
}

void dk_keylog(dk_conn *c)
{
    if (!c->cfg->keylog) return;
    char line[200];
    dk_keylog_line(c->client_random, c->master, line, sizeof line);
    c->cfg->keylog(c->cfg->keylog_arg, line);
}

dk_result dk_finished_compute(dk_conn *c, bool client, size_t transcript_len,
                              uint8_t out[DK_VERIFY_DATA_LEN])
{
    uint8_t h[DK_MAX_HASH_LEN];
    DK_TRY(dk_transcript_hash(c, transcript_len, h));
    if (!c->msk) return DK_ERR_INTERNAL;
    return dk_finished_data_k(c->msk, client, h, dk_hash_len(c->suite->prf), out);
}

bool dk_scheme_offered(const uint8_t *list, size_t len, uint16_t scheme)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        if (dk_load_u16(list + i) == scheme) return true;
    return false;
}

/* Our preference order, restricted to what the key can do and (when the
 * peer sent a list) to what the peer offered. 0 when nothing fits. */
uint16_t dk_pick_sig_scheme(const dk_pkey *key, const uint8_t *offered, size_t offered_len)
{
    static const uint16_t order[] = {
        DK_SIG_ECDSA_SECP256R1_SHA256, DK_SIG_ECDSA_SECP384R1_SHA384, DK_SIG_ED25519,
        DK_SIG_RSA_PSS_RSAE_SHA256,    DK_SIG_RSA_PKCS1_SHA256,       DK_SIG_RSA_PSS_RSAE_SHA384,
        DK_SIG_RSA_PKCS1_SHA384,
    };
    if (!key) return 0;
    for (size_t i = 0; i < DK_ARRAY_LEN(order); i++) {
        if (!dk_pkey_can_sign_scheme(key, order[i])) continue;
        if (offered && !dk_scheme_offered(offered, offered_len, order[i])) continue;
        return order[i];
    }
    return 0;
}

static bool pin_matches(const dk_conn *c, const uint8_t *der, size_t len)
{
    uint8_t fp[32];
    if (dk_hash(DK_HASH_SHA256, der, len, fp) != DK_OK) return false;
    for (size_t i = 0; i < c->cfg->n_pins; i++)
        if (dk_ct_equal(fp, c->cfg->pins[i], 32)) return true;
    return false;
}

/* With a trust store, the leaf's key and name come from the parse the
 * verification made (*have_key): a certificate is decoded once. */
static dk_result chain_trusted(dk_conn *c, const dk_certificate *cert, bool *have_key,
                               char *cn, size_t cn_cap)
{
    const dk_config *cfg = c->cfg;
    bool client = c->role == DK_ROLE_CLIENT;
    if (client && cfg->n_pins && pin_matches(c, cert->der[0], cert->len[0])) return DK_OK;
    if (cfg->trust) {
        char reason[160] = "";
        const char *host = client && c->server_name && c->server_name[0] ? c->server_name : NULL;
        if (dk_chain_verify_leaf(cfg->trust, cert->der, cert->len, cert->n, host,
                                 dk_cfg_wallclock(cfg), client, reason, sizeof reason,
                                 &c->peer_key, cn, cn_cap) == DK_OK) {
            *have_key = true;
            return DK_OK;
        }
        int alert = strstr(reason, "issuer") ? DK_AD_UNKNOWN_CA
                    : strstr(reason, "expired") ? DK_AD_CERTIFICATE_EXPIRED
                                                : DK_AD_BAD_CERTIFICATE;
        return dk_conn_fail(c, DK_ERR_CERT, alert, "peer certificate not trusted: %s", reason);
    }
    if (client && cfg->insecure) return DK_OK;
    if (client && cfg->n_pins)
        return dk_conn_fail(c, DK_ERR_CERT, DK_AD_BAD_CERTIFICATE,
                            "peer certificate not trusted: SHA-256 fingerprint matches no pin");
    return dk_conn_fail(c, DK_ERR_CERT, DK_AD_CERTIFICATE_UNKNOWN,
                        "peer certificate not trusted: no CA, pin or insecure mode configured");
}

dk_result dk_read_peer_certificate(dk_conn *c, const dk_msg *m, dk_certificate *cert)
{
    const char *who = c->role == DK_ROLE_CLIENT ? "server" : "client";
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_result rc = dk_certificate_read(&r, c->cfg->max_chain, cert);
    if (rc == DK_ERR_LIMIT)
        return dk_conn_fail(c, DK_ERR_LIMIT, DK_AD_BAD_CERTIFICATE,
                            "%s certificate chain longer than %u", who, c->cfg->max_chain);
    if (rc != DK_OK)
        return dk_conn_fail(c, DK_ERR_DECODE, DK_AD_DECODE_ERROR, "malformed %s Certificate", who);
    return DK_OK;
}

dk_result dk_verify_peer_chain(dk_conn *c, const dk_certificate *cert)
{
    if (cert->n == 0) return DK_ERR_INTERNAL;
    dk_pkey_free(c->peer_key);
    c->peer_key = NULL;
    bool have_key = false;
    char cn[256] = "";
    DK_TRY(chain_trusted(c, cert, &have_key, cn, sizeof cn));
    if (!have_key && dk_cert_leaf_info(cert->der[0], cert->len[0], &c->peer_key, cn, sizeof cn) != DK_OK)
        return dk_conn_fail(c, DK_ERR_CERT, DK_AD_BAD_CERTIFICATE,
                            "peer certificate does not parse");
    return dk_conn_set_str(&c->peer_identity, cn, strlen(cn));
}

dk_result dk_kex_start(dk_conn *c, uint16_t group)
{
    uint8_t seed[64];
    const uint8_t *sp = NULL;
    if (c->cfg->random) {
        DK_TRY(dk_cfg_random(c->cfg, seed, sizeof seed));
        sp = seed;
    }
    dk_kex_free(c->kex);
    c->kex = dk_kex_new(group, sp, sp ? sizeof seed : 0);
    dk_wipe(seed, sizeof seed);
    if (!c->kex) return DK_ERR_CRYPTO;
    c->group = group;
    return DK_OK;
}

/* Premaster secret for the negotiated key exchange: the ECDH shared secret;
 * RFC 4279 2 for plain PSK; RFC 5489 2 for ECDHE_PSK. */
dk_result dk_premaster(dk_conn *c, const uint8_t *peer_point, size_t point_len, uint8_t *pms,
                       size_t cap, size_t *pms_len)
{
    uint8_t z[66];
    size_t zlen = 0;
    dk_kx_kind kx = c->suite->kx;
    if (kx != DK_KX_PSK) {
        dk_result r = dk_kex_derive(c->kex, peer_point, point_len, z, sizeof z, &zlen);
        if (r != DK_OK)
            return dk_conn_fail(c, r, DK_AD_ILLEGAL_PARAMETER,
                                "peer's ECDHE public value is invalid (RFC 8422 5.11)");
    }
    dk_result r = DK_OK;
    if (kx == DK_KX_ECDHE_SIGN) {
        if (zlen > cap) return DK_ERR_INTERNAL;
        memcpy(pms, z, zlen);
        *pms_len = zlen;
    } else {
        r = dk_psk_premaster(z, zlen, kx == DK_KX_PSK, c->psk, c->psk_len, pms, cap, pms_len);
    }
    dk_wipe(z, sizeof z);
    return r;
}
