/* Server actions: the ClientHello that passed the cookie gate, the client's
 * key exchange flight, and our final flight. */
#include <stdio.h>
#include <string.h>

#include "conn/dk_sm_int.h"

#define RENEGOTIATION_SCSV 0x00FF

static bool offered(const uint8_t *list, size_t len, uint16_t v) { return dk_scheme_offered(list, len, v); }

static bool key_fits_auth(const dk_pkey *k, dk_auth_kind auth)
{
    if (!k) return false;
    dk_pkey_type t = dk_pkey_get_type(k);
    if (auth == DK_AUTH_RSA) return t == DK_PKEY_RSA;
    return t == DK_PKEY_EC_P256 || t == DK_PKEY_EC_P384 || t == DK_PKEY_ED25519;
}

/* First group in our order that the client supports; without the extension
 * RFC 8422 lets us assume secp256r1. */
static uint16_t pick_group(const dk_config *cfg, const dk_client_hello *ch)
{
    for (size_t i = 0; i < cfg->n_groups; i++) {
        if (!ch->exts.present_groups) {
            if (cfg->groups[i] == DK_GROUP_SECP256R1) return cfg->groups[i];
            continue;
        }
        if (offered(ch->exts.groups, ch->exts.groups_len, cfg->groups[i])) return cfg->groups[i];
    }
    return 0;
}

static bool suite_usable(dk_conn *c, const dk_suite *s, const dk_client_hello *ch)
{
    const dk_config *cfg = c->cfg;
    if (!offered(ch->suites, ch->suites_len, s->id)) return false;
    if (s->auth == DK_AUTH_PSK) return cfg->psk || cfg->psk_lookup;
    if (!cfg->chain.n || !key_fits_auth(cfg->key, s->auth)) return false;
    const uint8_t *sa = ch->exts.present_sig_algs ? ch->exts.sig_algs : NULL;
    return dk_pick_sig_scheme(cfg->key, sa, ch->exts.sig_algs_len) != 0;
}

/* Server preference order among the suites the client offers. */
static const dk_suite *choose_suite(dk_conn *c, const dk_client_hello *ch, uint16_t *group)
{
    size_t n_all;
    const dk_suite *const *all = dk_suites_all(&n_all);
    size_t n = c->cfg->n_suites ? c->cfg->n_suites : n_all;
    *group = pick_group(c->cfg, ch);
    for (size_t i = 0; i < n; i++) {
        const dk_suite *s = c->cfg->n_suites ? dk_suite_by_id(c->cfg->suites[i]) : all[i];
        if (!s || !suite_usable(c, s, ch)) continue;
        if (s->kx != DK_KX_PSK && *group == 0) continue;
        return s;
    }
    return NULL;
}

static dk_result no_shared_suite(dk_conn *c, const dk_client_hello *ch)
{
    char list[200] = "";
    size_t off = 0;
    for (size_t i = 0; i + 1 < ch->suites_len && off + 8 < sizeof list; i += 2) {
        const dk_suite *s = dk_suite_by_id(dk_load_u16(ch->suites + i));
        int n = s ? snprintf(list + off, sizeof list - off, "%s%s", off ? "," : "", s->openssl_name)
                  : snprintf(list + off, sizeof list - off, "%s0x%04x", off ? "," : "",
                             dk_load_u16(ch->suites + i));
        if (n < 0 || (size_t)n >= sizeof list - off) break;
        off += (size_t)n;
    }
    return dk_conn_fail(c, DK_ERR_NO_SHARED_CIPHER, DK_AD_HANDSHAKE_FAILURE,
                        "no shared cipher suite: peer offered %s", list);
}

static dk_result negotiate(dk_conn *c, const dk_client_hello *ch)
{
    if (ch->version > DK_DTLS12) /* DTLS versions count down: 0xFEFF is 1.0 */
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_PROTOCOL_VERSION,
                            "client offers only DTLS 1.0 (0x%04x)", ch->version);
    if (ch->exts.present_reneg_info && ch->exts.reneg_info_len != 0)
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_HANDSHAKE_FAILURE,
                            "non-empty renegotiation_info in an initial handshake");
    c->ems = ch->exts.ems;
    if (!c->ems && c->cfg->require_ems)
        return dk_conn_fail(c, DK_ERR_EMS_REQUIRED, DK_AD_HANDSHAKE_FAILURE,
                            "client does not support extended master secret (RFC 7627)");
    uint16_t group;
    c->suite = choose_suite(c, ch, &group);
    if (!c->suite) return no_shared_suite(c, ch);
    if (c->suite->kx != DK_KX_PSK) c->group = group;
    if (c->suite->kx == DK_KX_ECDHE_SIGN) {
        const uint8_t *sa = ch->exts.present_sig_algs ? ch->exts.sig_algs : NULL;
        c->sig_scheme = dk_pick_sig_scheme(c->cfg->key, sa, ch->exts.sig_algs_len);
    }
    c->peer_reneg_info =
        ch->exts.present_reneg_info || offered(ch->suites, ch->suites_len, RENEGOTIATION_SCSV);
    /* A server_name extension may carry no host_name entry (only other
     * name types): then there is no name to copy. */
    if (ch->exts.server_name && ch->exts.server_name_len < 256) {
        DK_TRY(dk_conn_set_str(&c->server_name, (const char *)ch->exts.server_name,
                               ch->exts.server_name_len));
    }
    memcpy(c->client_random, ch->random, 32);
    return dk_cfg_random_public(c->cfg, c->server_random, 32);
}

static dk_result add_server_hello(dk_conn *c)
{
    dk_server_hello_out sh = {0};
    sh.version = DK_DTLS12;
    sh.random = c->server_random;
    sh.suite = c->suite->id;
    sh.ems = c->ems;
    sh.reneg_info = c->peer_reneg_info;
    sh.point_formats = c->suite->kx != DK_KX_PSK;
    uint8_t body[256];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    dk_server_hello_write(&w, &sh);
    DK_TRY(dk_writer_status(&w));
    return dk_flight_add(c, DK_HT_SERVER_HELLO, body, w.off);
}

static dk_result add_certificate(dk_conn *c)
{
    const dk_chain *ch = &c->cfg->chain;
    size_t cap = 3;
    for (size_t i = 0; i < ch->n; i++) cap += 3 + ch->len[i];
    uint8_t *body = dk_malloc(cap);
    if (!body) return DK_ERR_NOMEM;
    dk_writer w;
    dk_writer_init(&w, body, cap);
    dk_certificate_write(&w, (const uint8_t *const *)ch->der, ch->len, ch->n);
    dk_result r = dk_writer_status(&w);
    if (r == DK_OK) r = dk_flight_add(c, DK_HT_CERTIFICATE, body, w.off);
    dk_free(body);
    return r;
}

/* RFC 8422 5.4: the signature covers client_random + server_random +
 * ServerECDHParams. */
static dk_result add_key_exchange(dk_conn *c)
{
    dk_server_key_exchange ske = {0};
    uint8_t point[133], params[4 + 133], sig[1024];
    size_t plen = 0;
    ske.hint = c->cfg->psk_hint;
    ske.hint_len = (uint16_t)c->cfg->psk_hint_len;
    if (c->suite->kx == DK_KX_PSK && !c->cfg->psk_hint_len) return DK_OK;
    if (c->suite->kx != DK_KX_PSK) {
        DK_TRY(dk_kex_start(c, c->group));
        DK_TRY(dk_kex_public(c->kex, point, sizeof point, &plen));
        dk_writer pw;
        dk_writer_init(&pw, params, sizeof params);
        dk_ecdh_params_write(&pw, c->group, point, plen);
        DK_TRY(dk_writer_status(&pw));
        ske.group = c->group;
        ske.point = point;
        ske.point_len = (uint8_t)plen;
        ske.params = params;
        ske.params_len = pw.off;
    }
    if (c->suite->kx == DK_KX_ECDHE_SIGN) {
        uint8_t tbs[64 + sizeof params];
        memcpy(tbs, c->client_random, 32);
        memcpy(tbs + 32, c->server_random, 32);
        memcpy(tbs + 64, params, ske.params_len);
        size_t sig_len;
        DK_TRY(dk_sign(c->cfg->key, c->sig_scheme, tbs, 64 + ske.params_len, sig, sizeof sig,
                       &sig_len));
        ske.sig_scheme = c->sig_scheme;
        ske.sig = sig;
        ske.sig_len = (uint16_t)sig_len;
    }
    dk_writer w;
    DK_TRY(dk_flight_begin_msg(c, 2 + (size_t)ske.hint_len + 4 + ske.point_len + 4 + ske.sig_len, &w));
    dk_server_key_exchange_write(&w, c->suite->kx, &ske);
    return dk_flight_commit(c, DK_HT_SERVER_KEY_EXCHANGE, &w);
}

static dk_result add_cert_request(dk_conn *c)
{
    static const uint8_t types[] = {64 /* ecdsa_sign */, 1 /* rsa_sign */};
    uint8_t body[64];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    dk_certificate_request_write(&w, types, sizeof types, c->cfg->sig_algs, c->cfg->n_sig_algs);
    DK_TRY(dk_writer_status(&w));
    c->cert_requested = true;
    return dk_flight_add(c, DK_HT_CERTIFICATE_REQUEST, body, w.off);
}

/* R6: "the server MUST use the record sequence number in the ClientHello as
 * the record sequence number in its initial ServerHello"; by errata 5186 the
 * ServerHello also takes the ClientHello's message_seq, and the client's next
 * message is expected at that value + 1. */
dk_result dk_srv_client_hello(dk_conn *c, const dk_msg *m)
{
    /* The ClientHello row is reached only through the R38 classifier
     * (dk_gate.c), which has parsed the hello already. */
    if (!m->hello) return DK_ERR_INTERNAL;
    DK_TRY(negotiate(c, m->hello));
    c->wseq[0] = c->ch_rec_seq;
    c->send_seq = m->seq;
    c->peer_flight_lo = m->seq;
    dk_flight_begin(c);
    DK_TRY(add_server_hello(c));
    bool certs = c->suite->kx == DK_KX_ECDHE_SIGN;
    if (certs) DK_TRY(add_certificate(c));
    DK_TRY(add_key_exchange(c));
    if (certs && c->cfg->client_auth != DK_CLIENT_AUTH_NONE) DK_TRY(add_cert_request(c));
    DK_TRY(dk_flight_add(c, DK_HT_SERVER_HELLO_DONE, NULL, 0));
    return dk_flight_send(c, false);
}

dk_result dk_srv_certificate(dk_conn *c, const dk_msg *m)
{
    dk_certificate cert;
    DK_TRY(dk_read_peer_certificate(c, m, &cert));
    if (cert.n == 0) {
        if (c->cfg->client_auth == DK_CLIENT_AUTH_REQUIRE)
            return dk_conn_fail(c, DK_ERR_CERT, DK_AD_HANDSHAKE_FAILURE,
                                "client certificate required but none sent");
        return DK_OK;
    }
    DK_TRY(dk_verify_peer_chain(c, &cert));
    c->peer_sent_cert = true;
    return DK_OK;
}

static dk_result lookup_psk(dk_conn *c, const dk_client_key_exchange *cke)
{
    const dk_config *cfg = c->cfg;
    uint8_t key[256];
    int n = -1;
    if (cfg->psk_lookup) {
        n = cfg->psk_lookup(cfg->psk_lookup_arg, cke->identity, cke->identity_len, key, sizeof key);
    } else if (cfg->psk && cfg->psk_id_len == cke->identity_len &&
               memcmp(cfg->psk_id, cke->identity, cke->identity_len) == 0) {
        memcpy(key, cfg->psk, cfg->psk_len);
        n = (int)cfg->psk_len;
    }
    if (n <= 0 || n > (int)sizeof key)
        return dk_conn_fail(c, DK_ERR_PSK_UNKNOWN, DK_AD_UNKNOWN_PSK_IDENTITY,
                            "unknown PSK identity from client");
    c->psk = dk_malloc((size_t)n);
    if (!c->psk) return DK_ERR_NOMEM;
    memcpy(c->psk, key, (size_t)n);
    c->psk_len = (size_t)n;
    dk_wipe(key, sizeof key);
    char id[256];
    size_t idl = DK_MIN((size_t)cke->identity_len, sizeof id - 1);
    for (size_t i = 0; i < idl; i++) {
        uint8_t ch = cke->identity[i];
        id[i] = (char)(ch >= 0x20 && ch < 0x7f ? ch : '?');
    }
    DK_TRY(dk_conn_set_str(&c->peer_identity, id, idl));
    c->peer_authenticated = true;
    return DK_OK;
}

dk_result dk_srv_key_exchange(dk_conn *c, const dk_msg *m)
{
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_client_key_exchange cke;
    if (dk_client_key_exchange_read(&r, c->suite->kx, &cke) != DK_OK)
        return dk_conn_fail(c, DK_ERR_DECODE, DK_AD_DECODE_ERROR, "malformed ClientKeyExchange");
    if (c->suite->auth == DK_AUTH_PSK) DK_TRY(lookup_psk(c, &cke));
    uint8_t pms[600];
    size_t pms_len = 0;
    dk_result rc = dk_premaster(c, cke.point, cke.point_len, pms, sizeof pms, &pms_len);
    if (rc == DK_OK) rc = dk_derive_keys(c, pms, pms_len, c->tlen);
    dk_wipe(pms, sizeof pms);
    return rc;
}

/* RFC 5246 7.4.8: the client signs every handshake message before this one. */
dk_result dk_srv_cert_verify(dk_conn *c, const dk_msg *m)
{
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    dk_certificate_verify cv;
    if (dk_certificate_verify_read(&r, &cv) != DK_OK)
        return dk_conn_fail(c, DK_ERR_DECODE, DK_AD_DECODE_ERROR, "malformed CertificateVerify");
    bool ok_scheme = false;
    for (size_t i = 0; i < c->cfg->n_sig_algs; i++) ok_scheme |= c->cfg->sig_algs[i] == cv.sig_scheme;
    if (!ok_scheme || !dk_pkey_can_sign_scheme(c->peer_key, cv.sig_scheme))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_ILLEGAL_PARAMETER,
                            "client signed with scheme 0x%04x, not offered or not its key's",
                            cv.sig_scheme);
    if (dk_verify(c->peer_key, cv.sig_scheme, c->transcript, m->transcript_before, cv.sig,
                  cv.sig_len) != DK_OK)
        return dk_conn_fail(c, DK_ERR_SIGNATURE, DK_AD_DECRYPT_ERROR,
                            "client CertificateVerify does not verify");
    c->peer_sig_scheme = cv.sig_scheme;
    c->peer_authenticated = true;
    return DK_OK;
}

dk_result dk_srv_finished(dk_conn *c, const dk_msg *m)
{
    if (c->cert_requested && c->cfg->client_auth == DK_CLIENT_AUTH_REQUIRE && !c->peer_sent_cert)
        return dk_conn_fail(c, DK_ERR_CERT, DK_AD_HANDSHAKE_FAILURE, "client certificate required");
    uint8_t want[DK_VERIFY_DATA_LEN];
    dk_reader r;
    dk_reader_init(&r, m->body, m->len);
    const uint8_t *vd;
    if (dk_finished_read(&r, &vd) != DK_OK)
        return dk_conn_fail(c, DK_ERR_DECODE, DK_AD_DECODE_ERROR, "malformed Finished");
    DK_TRY(dk_finished_compute(c, true, m->transcript_before, want));
    if (!dk_ct_equal(vd, want, sizeof want))
        return dk_conn_fail(c, DK_ERR_HANDSHAKE, DK_AD_DECRYPT_ERROR,
                            "client Finished does not verify");
    dk_flight_begin(c);
    DK_TRY(dk_flight_add_ccs(c));
    uint8_t vd_out[DK_VERIFY_DATA_LEN];
    DK_TRY(dk_finished_compute(c, false, c->tlen, vd_out));
    DK_TRY(dk_flight_add(c, DK_HT_FINISHED, vd_out, sizeof vd_out));
    DK_TRY(dk_flight_send(c, true));
    c->hs = S_DONE;
    dk_conn_established(c);
    return DK_OK;
}
