/* Configuration: credentials, policy, limits and injectable randomness and
 * time. A config is set up once and then shared by many connections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "conn/dk_conn_int.h"
#include "conn/dk_gate_pool.h"

static const uint16_t default_groups[] = {DK_GROUP_X25519, DK_GROUP_SECP256R1, DK_GROUP_SECP384R1};
static const uint16_t default_sig_algs[] = {
    DK_SIG_ECDSA_SECP256R1_SHA256, DK_SIG_ECDSA_SECP384R1_SHA384, DK_SIG_ED25519,
    DK_SIG_RSA_PSS_RSAE_SHA256,    DK_SIG_RSA_PSS_RSAE_SHA384,    DK_SIG_RSA_PKCS1_SHA256,
    DK_SIG_RSA_PKCS1_SHA384,
};

dk_config *dk_config_new(dk_role role)
{
    if (dk_crypto_init() != DK_OK) return NULL;
    dk_config *cfg = dk_calloc(1, sizeof *cfg);
    if (!cfg) return NULL;
    cfg->role = role;
    memcpy(cfg->groups, default_groups, sizeof default_groups);
    cfg->n_groups = DK_ARRAY_LEN(default_groups);
    memcpy(cfg->sig_algs, default_sig_algs, sizeof default_sig_algs);
    cfg->n_sig_algs = DK_ARRAY_LEN(default_sig_algs);
    cfg->mtu = 1400;
    cfg->require_ems = true;
    cfg->timer_initial_ms = 1000; /* R17: 1 s initial, doubling, 60 s cap */
    cfg->timer_max_ms = 60000;
    cfg->max_retransmits = 8;
    cfg->replay_window = 64; /* R29: 64 SHOULD be the default */
    cfg->cookie_exchange = true;
    cfg->max_message = 32768;
    cfg->max_buffered = 65536;
    cfg->max_chain = DK_MAX_CHAIN;
    cfg->next_tag = 1;
    cfg->cookie.lifetime_ms = 60000;
    cfg->cookie.rotation_ms = 300000;
    return cfg;
}

void dk_config_free(dk_config *cfg)
{
    if (!cfg) return;
    dk_chain_clear(&cfg->chain);
    dk_pkey_free(cfg->key);
    dk_trust_free(cfg->trust);
    dk_free(cfg->psk_id);
    dk_free_secret(cfg->psk, cfg->psk_len);
    dk_free(cfg->psk_hint);
    dk_cookie_clear(&cfg->cookie);
    dk_gate_pool_free(cfg->gate_pool);
    dk_wipe(cfg, sizeof *cfg);
    dk_free(cfg);
}

static dk_result read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return DK_ERR_FILE;
    size_t cap = 4096, n = 0;
    char *buf = dk_malloc(cap + 1);
    while (buf) {
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (n < cap) break;
        char *nb = dk_realloc(buf, 2 * cap + 1);
        if (!nb) {
            dk_free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    if (!buf) return DK_ERR_NOMEM;
    buf[n] = 0;
    *out = buf;
    *len = n;
    return DK_OK;
}

dk_result dk_config_set_cert_chain_pem(dk_config *cfg, const char *pem, size_t len)
{
    dk_chain ch = {0};
    dk_result r = dk_chain_from_pem(pem, len, &ch);
    if (r != DK_OK) return r;
    if (ch.n == 0) return DK_ERR_FILE;
    dk_chain_clear(&cfg->chain);
    cfg->chain = ch;
    return DK_OK;
}

dk_result dk_config_set_private_key_pem(dk_config *cfg, const char *pem, size_t len)
{
    dk_pkey *k = dk_pkey_from_pem(pem, len);
    if (!k) return DK_ERR_FILE;
    dk_pkey_free(cfg->key);
    cfg->key = k;
    return DK_OK;
}

dk_result dk_config_set_cert_chain_file(dk_config *cfg, const char *path)
{
    char *pem;
    size_t len;
    DK_TRY(read_file(path, &pem, &len));
    dk_result r = dk_config_set_cert_chain_pem(cfg, pem, len);
    dk_free(pem);
    return r;
}

dk_result dk_config_set_private_key_file(dk_config *cfg, const char *path)
{
    char *pem;
    size_t len;
    DK_TRY(read_file(path, &pem, &len));
    dk_result r = dk_config_set_private_key_pem(cfg, pem, len);
    dk_free_secret(pem, len);
    return r;
}

dk_result dk_config_use_ephemeral_cert(dk_config *cfg, const char *cn, uint8_t fp[32])
{
    uint8_t *der = NULL;
    size_t der_len = 0;
    dk_pkey *key = NULL;
    DK_TRY(dk_cert_make_selfsigned(cn ? cn : "localhost", &der, &der_len, &key));
    dk_chain_clear(&cfg->chain);
    cfg->chain.der = dk_calloc(1, sizeof(uint8_t *));
    cfg->chain.len = dk_calloc(1, sizeof(size_t));
    if (!cfg->chain.der || !cfg->chain.len) {
        dk_free(der);
        dk_pkey_free(key);
        return DK_ERR_NOMEM;
    }
    cfg->chain.der[0] = der;
    cfg->chain.len[0] = der_len;
    cfg->chain.n = 1;
    dk_pkey_free(cfg->key);
    cfg->key = key;
    if (fp) DK_TRY(dk_hash(DK_HASH_SHA256, der, der_len, fp));
    return DK_OK;
}

static dk_result ensure_trust(dk_config *cfg)
{
    if (!cfg->trust) cfg->trust = dk_trust_new();
    return cfg->trust ? DK_OK : DK_ERR_NOMEM;
}

dk_result dk_config_set_ca_file(dk_config *cfg, const char *path)
{
    DK_TRY(ensure_trust(cfg));
    return dk_trust_load_file(cfg->trust, path);
}

dk_result dk_config_set_ca_dir(dk_config *cfg, const char *path)
{
    DK_TRY(ensure_trust(cfg));
    return dk_trust_load_dir(cfg->trust, path);
}

dk_result dk_config_add_pin_sha256(dk_config *cfg, const uint8_t sha256[32])
{
    if (cfg->n_pins >= DK_MAX_PINS) return DK_ERR_LIMIT;
    memcpy(cfg->pins[cfg->n_pins++], sha256, 32);
    return DK_OK;
}

void dk_config_set_insecure(dk_config *cfg, bool insecure) { cfg->insecure = insecure; }
void dk_config_set_client_auth(dk_config *cfg, dk_client_auth mode) { cfg->client_auth = mode; }

static dk_result dup_bytes(uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len)
{
    uint8_t *p = dk_malloc(len ? len : 1);
    if (!p) return DK_ERR_NOMEM;
    if (len) memcpy(p, src, len);
    dk_free_secret(*dst, *dst_len);
    *dst = p;
    *dst_len = len;
    return DK_OK;
}

dk_result dk_config_set_psk(dk_config *cfg, const uint8_t *id, size_t id_len, const uint8_t *key,
                            size_t key_len)
{
    if (id_len > 0xFFFF || key_len == 0 || key_len > 256) return DK_ERR_INVALID_ARG;
    DK_TRY(dup_bytes(&cfg->psk_id, &cfg->psk_id_len, id, id_len));
    return dup_bytes(&cfg->psk, &cfg->psk_len, key, key_len);
}

void dk_config_set_psk_lookup(dk_config *cfg, dk_psk_lookup_fn fn, void *arg)
{
    cfg->psk_lookup = fn;
    cfg->psk_lookup_arg = arg;
}

dk_result dk_config_set_psk_hint(dk_config *cfg, const uint8_t *hint, size_t len)
{
    if (len > 0xFFFF) return DK_ERR_INVALID_ARG;
    return dup_bytes(&cfg->psk_hint, &cfg->psk_hint_len, hint, len);
}

dk_result dk_config_set_cipher_suites(dk_config *cfg, const uint16_t *suites, size_t n)
{
    if (n == 0 || n > DK_MAX_SUITES) return DK_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!dk_suite_by_id(suites[i])) return DK_ERR_UNSUPPORTED;
    memcpy(cfg->suites, suites, n * sizeof *suites);
    cfg->n_suites = n;
    return DK_OK;
}

dk_result dk_config_set_ciphers(dk_config *cfg, const char *list)
{
    uint16_t ids[DK_MAX_SUITES];
    size_t n = 0;
    char buf[1024];
    if (!list || strlen(list) >= sizeof buf) return DK_ERR_INVALID_ARG;
    strcpy(buf, list);
    for (char *save = NULL, *tok = strtok_r(buf, ":, ", &save); tok;
         tok = strtok_r(NULL, ":, ", &save)) {
        const dk_suite *s = dk_suite_by_name(tok);
        if (!s) return DK_ERR_UNSUPPORTED;
        if (n == DK_MAX_SUITES) return DK_ERR_LIMIT;
        ids[n++] = s->id;
    }
    return dk_config_set_cipher_suites(cfg, ids, n);
}

dk_result dk_config_set_groups(dk_config *cfg, const uint16_t *groups, size_t n)
{
    if (n == 0 || n > DK_MAX_GROUPS) return DK_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (!dk_group_supported(groups[i])) return DK_ERR_UNSUPPORTED;
    memcpy(cfg->groups, groups, n * sizeof *groups);
    cfg->n_groups = n;
    return DK_OK;
}

dk_result dk_config_set_mtu(dk_config *cfg, size_t mtu)
{
    if (mtu < DK_MIN_MTU || mtu > DK_MAX_MTU) return DK_ERR_INVALID_ARG;
    cfg->mtu = mtu;
    return DK_OK;
}

void dk_config_set_require_ems(dk_config *cfg, bool require) { cfg->require_ems = require; }

dk_result dk_config_set_timers(dk_config *cfg, uint32_t initial_ms, uint32_t max_ms,
                               unsigned max_retransmits)
{
    if (initial_ms == 0 || max_ms < initial_ms || max_retransmits > 64) return DK_ERR_INVALID_ARG;
    cfg->timer_initial_ms = initial_ms;
    cfg->timer_max_ms = max_ms;
    cfg->max_retransmits = max_retransmits;
    return DK_OK;
}

dk_result dk_config_set_replay_window(dk_config *cfg, unsigned records)
{
    if (records < 32 || records > DK_REPLAY_MAX_BITS) return DK_ERR_INVALID_ARG;
    cfg->replay_window = records;
    return DK_OK;
}

dk_result dk_config_set_cookie_policy(dk_config *cfg, uint32_t lifetime_ms, uint32_t rotation_ms)
{
    if (lifetime_ms == 0 || rotation_ms == 0) return DK_ERR_INVALID_ARG;
    cfg->cookie.lifetime_ms = lifetime_ms;
    cfg->cookie.rotation_ms = rotation_ms;
    return DK_OK;
}

void dk_config_set_cookie_exchange(dk_config *cfg, bool on) { cfg->cookie_exchange = on; }

dk_result dk_config_set_handshake_limits(dk_config *cfg, size_t max_message, size_t max_buffered,
                                         unsigned max_chain)
{
    if (max_message < 256 || max_buffered < max_message || max_chain == 0 ||
        max_chain > DK_MAX_CHAIN)
        return DK_ERR_INVALID_ARG;
    cfg->max_message = max_message;
    cfg->max_buffered = max_buffered;
    cfg->max_chain = max_chain;
    return DK_OK;
}

void dk_config_set_keylog(dk_config *cfg, dk_keylog_fn fn, void *arg)
{
    cfg->keylog = fn;
    cfg->keylog_arg = arg;
}

void dk_config_set_random(dk_config *cfg, dk_random_fn fn, void *arg)
{
    cfg->random = fn;
    cfg->random_arg = arg;
}

void dk_config_set_wallclock(dk_config *cfg, dk_wallclock_fn fn, void *arg)
{
    cfg->wallclock = fn;
    cfg->wallclock_arg = arg;
}

dk_result dk_cfg_random(const dk_config *cfg, uint8_t *out, size_t n)
{
    if (cfg->random) return cfg->random(cfg->random_arg, out, n) == 0 ? DK_OK : DK_ERR_CRYPTO;
    return dk_random_bytes(out, n);
}

/* Hello randoms: public, so drawn through the batched pool. */
dk_result dk_cfg_random_public(const dk_config *cfg, uint8_t *out, size_t n)
{
    if (cfg->random) return cfg->random(cfg->random_arg, out, n) == 0 ? DK_OK : DK_ERR_CRYPTO;
    return dk_random_public(out, n);
}

int64_t dk_cfg_wallclock(const dk_config *cfg)
{
    if (cfg->wallclock) return cfg->wallclock(cfg->wallclock_arg);
    return (int64_t)time(NULL);
}

uint64_t dk_cfg_new_tag(const dk_config *cfg)
{
    dk_config *m = (dk_config *)cfg; /* documented mutable field */
    return m->next_tag++;
}

dk_cookie_ctx *dk_cfg_cookie(const dk_config *cfg)
{
    dk_config *m = (dk_config *)cfg; /* documented mutable field: secret cache */
    if (!m->cookie_ready) {
        uint8_t master[32];
        if (dk_cfg_random(cfg, master, sizeof master) != DK_OK) return NULL;
        dk_cookie_init(&m->cookie, master, m->cookie.lifetime_ms, m->cookie.rotation_ms);
        dk_wipe(master, sizeof master);
        m->cookie_ready = true;
    }
    return &m->cookie;
}
