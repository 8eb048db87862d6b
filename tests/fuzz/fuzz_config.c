/* The engine harnesses' configurations and the files they load (kept apart
 * from fuzz_common.c so that decoder harnesses do not link the engine). */
#include <stdlib.h>
#include <string.h>

#include "conn/dk_conn_int.h"
#include "conn/dk_gate_pool.h"
#include "fuzz_common.h"

const uint8_t fuzz_psk[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                              0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

/* ---- test data ------------------------------------------------------------ */

const char *fuzz_data_path(const char *name)
{
    static char path[4096];
    const char *dir = getenv("DK_FUZZ_DATA_DIR");
    snprintf(path, sizeof path, "%s/certs/%s", dir ? dir : DK_TEST_DATA_DIR, name);
    return path;
}

#define FUZZ_MAX_FILES 8

const char *fuzz_file(const char *name, size_t *len)
{
    static struct {
        const char *name;
        char *data;
        size_t len;
    } cache[FUZZ_MAX_FILES];
    size_t i = 0;
    for (; i < FUZZ_MAX_FILES && cache[i].name; i++) {
        if (strcmp(cache[i].name, name) == 0) {
            *len = cache[i].len;
            return cache[i].data;
        }
    }
    FILE *f = i < FUZZ_MAX_FILES ? fopen(fuzz_data_path(name), "rb") : NULL;
    if (!f) {
        fprintf(stderr, "fuzz: cannot read %s\n", fuzz_data_path(name));
        abort();
    }
    char *buf = malloc(1 << 16);
    size_t n = buf ? fread(buf, 1, (1 << 16) - 1, f) : 0;
    fclose(f);
    if (!buf || n == 0) abort();
    buf[n] = 0;
    cache[i].name = name;
    cache[i].data = buf;
    cache[i].len = n;
    *len = n;
    return buf;
}

static void must(dk_result r, const char *what)
{
    if (r == DK_OK) return;
    fprintf(stderr, "fuzz config: %s: %s\n", what, dk_strerror(r));
    abort();
}

static void set_cert(dk_config *cfg, const char *cert, const char *key)
{
    size_t n;
    const char *pem = fuzz_file(cert, &n);
    must(dk_config_set_cert_chain_pem(cfg, pem, n), cert);
    pem = fuzz_file(key, &n);
    must(dk_config_set_private_key_pem(cfg, pem, n), key);
}

static void set_deterministic(dk_config *cfg, uint64_t *rng)
{
    dk_config_set_random(cfg, fuzz_random, rng);
    dk_config_set_wallclock(cfg, fuzz_wallclock, NULL);
}

dk_config *fuzz_server_config(bool cookie_exchange, uint64_t *rng)
{
    dk_config *cfg = dk_config_new(DK_ROLE_SERVER);
    if (!cfg) abort();
    set_cert(cfg, "ed25519.pem", "ed25519.key");
    must(dk_config_set_psk(cfg, (const uint8_t *)FUZZ_PSK_ID, strlen(FUZZ_PSK_ID), fuzz_psk,
                           sizeof fuzz_psk),
         "psk");
    must(dk_config_set_psk_hint(cfg, (const uint8_t *)"fuzz hint", 9), "psk hint");
    must(dk_config_set_ca_file(cfg, fuzz_data_path("ec-ca.pem")), "ec ca");
    dk_config_set_client_auth(cfg, DK_CLIENT_AUTH_REQUEST);
    dk_config_set_cookie_exchange(cfg, cookie_exchange);
    set_deterministic(cfg, rng);
    return cfg;
}

dk_config *fuzz_client_config(uint64_t *rng)
{
    dk_config *cfg = dk_config_new(DK_ROLE_CLIENT);
    if (!cfg) abort();
    must(dk_config_set_psk(cfg, (const uint8_t *)FUZZ_PSK_ID, strlen(FUZZ_PSK_ID), fuzz_psk,
                           sizeof fuzz_psk),
         "psk");
    must(dk_config_set_ca_file(cfg, fuzz_data_path("ec-ca.pem")), "ec ca");
    must(dk_config_set_ca_file(cfg, fuzz_data_path("rsa-ca.pem")), "rsa ca");
    set_cert(cfg, "ed25519.pem", "ed25519.key");
    set_deterministic(cfg, rng);
    return cfg;
}


/* What a configuration changes while connections use it (dk_conn_int.h:
 * "Mutable through a const config"): the cookie secret, drawn from the
 * random generator on first use, and the state-tag counter. */
void fuzz_config_reset(dk_config *cfg)
{
    uint32_t lifetime = cfg->cookie.lifetime_ms, rotation = cfg->cookie.rotation_ms;
    dk_cookie_clear(&cfg->cookie);
    cfg->cookie.lifetime_ms = lifetime;
    cfg->cookie.rotation_ms = rotation;
    cfg->cookie_ready = false;
    dk_gate_pool_free(cfg->gate_pool); /* partial hellos must not carry over between inputs */
    cfg->gate_pool = NULL;
    cfg->next_tag = 1;
}
