/* Test configurations over the certificates in tests/vectors/certs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_sim.h"

#define CERTS DK_TEST_DATA_DIR "/certs/"

static const uint8_t test_psk[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                     0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};

int dk_test_random(void *arg, uint8_t *buf, size_t n)
{
    uint64_t *st = arg;
    for (size_t i = 0; i < n; i++) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        buf[i] = (uint8_t)(*st >> 56);
    }
    return 0;
}

static bool has(const char *kind, const char *what) { return strstr(kind, what) != NULL; }

static void must(dk_result r, const char *what)
{
    if (r != DK_OK) {
        fprintf(stderr, "test config: %s: %s\n", what, dk_strerror(r));
        abort();
    }
}

dk_config *dk_test_server_config(const char *kind)
{
    dk_config *cfg = dk_config_new(DK_ROLE_SERVER);
    if (has(kind, "ec")) {
        must(dk_config_set_cert_chain_file(cfg, CERTS "ec-server-chain.pem"), "ec chain");
        must(dk_config_set_private_key_file(cfg, CERTS "ec-server.key"), "ec key");
    } else if (has(kind, "rsa")) {
        must(dk_config_set_cert_chain_file(cfg, CERTS "rsa-server-chain.pem"), "rsa chain");
        must(dk_config_set_private_key_file(cfg, CERTS "rsa-server.key"), "rsa key");
    }
    if (has(kind, "psk"))
        must(dk_config_set_psk(cfg, (const uint8_t *)"client1", 7, test_psk, sizeof test_psk), "psk");
    if (has(kind, "auth")) {
        must(dk_config_set_ca_file(cfg, has(kind, "rsa") ? CERTS "rsa-ca.pem" : CERTS "ec-ca.pem"),
             "ca");
        dk_config_set_client_auth(cfg, DK_CLIENT_AUTH_REQUIRE);
    }
    return cfg;
}

dk_config *dk_test_client_config(const char *kind)
{
    dk_config *cfg = dk_config_new(DK_ROLE_CLIENT);
    if (has(kind, "rsa")) must(dk_config_set_ca_file(cfg, CERTS "rsa-ca.pem"), "rsa ca");
    else if (has(kind, "ec")) must(dk_config_set_ca_file(cfg, CERTS "ec-ca.pem"), "ec ca");
    if (has(kind, "psk"))
        must(dk_config_set_psk(cfg, (const uint8_t *)"client1", 7, test_psk, sizeof test_psk), "psk");
    if (has(kind, "auth")) {
        const char *c = has(kind, "rsa") ? CERTS "rsa-client.pem" : CERTS "ec-client.pem";
        const char *k = has(kind, "rsa") ? CERTS "rsa-client.key" : CERTS "ec-client.key";
        must(dk_config_set_cert_chain_file(cfg, c), "client cert");
        must(dk_config_set_private_key_file(cfg, k), "client key");
    }
    return cfg;
}
