/* From parsed options to a dk_config, and the summary lines both sides print. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/socket.h>

#include "cli_args.h"
#include "cli_util.h"

static int load_credentials(const cli_opts *o, dk_config *cfg, bool *ephemeral, uint8_t fp[32])
{
    dk_result r;
    *ephemeral = false;
    if (o->cert != NULL) {
        r = dk_config_set_cert_chain_file(cfg, o->cert);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_FAIL, "cannot load certificate %s: %s", o->cert,
                            dk_strerror(r));
        }
        r = dk_config_set_private_key_file(cfg, o->key);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_FAIL, "cannot load private key %s: %s", o->key,
                            dk_strerror(r));
        }
        return 0;
    }
    if (o->mode == CLI_SERVER && o->psk_len == 0) {
        r = dk_config_use_ephemeral_cert(cfg, "localhost", fp);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_FAIL, "cannot create an ephemeral certificate: %s",
                            dk_strerror(r));
        }
        *ephemeral = true;
    }
    return 0;
}

static int load_verification(const cli_opts *o, dk_config *cfg)
{
    if (o->ca != NULL) {
        dk_result r = dk_config_set_ca_file(cfg, o->ca);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_FAIL, "cannot load CA file %s: %s", o->ca, dk_strerror(r));
        }
    }
    for (size_t i = 0; i < o->n_pins; i++) {
        dk_result r = dk_config_add_pin_sha256(cfg, o->pins[i]);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_FAIL, "cannot add --pin: %s", dk_strerror(r));
        }
    }
    if (o->insecure) {
        dk_config_set_insecure(cfg, true);
    }
    if (o->mode == CLI_SERVER) {
        dk_config_set_client_auth(cfg, o->verify_client    ? DK_CLIENT_AUTH_REQUIRE
                                       : o->request_client ? DK_CLIENT_AUTH_REQUEST
                                                           : DK_CLIENT_AUTH_NONE);
    }
    return 0;
}

static int load_params(const cli_opts *o, dk_config *cfg, FILE *keylog)
{
    dk_result r;
    if (o->psk_len > 0) {
        r = dk_config_set_psk(cfg, (const uint8_t *)o->psk_identity, strlen(o->psk_identity),
                              o->psk, o->psk_len);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_USAGE, "bad --psk/--psk-identity: %s", dk_strerror(r));
        }
    }
    if (o->ciphers != NULL) {
        r = dk_config_set_ciphers(cfg, o->ciphers);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_USAGE, "bad --ciphers '%s': %s", o->ciphers, dk_strerror(r));
        }
    }
    if (o->mtu != 0) {
        r = dk_config_set_mtu(cfg, o->mtu);
        if (r != DK_OK) {
            return cli_fail(CLI_EXIT_USAGE, "bad --mtu %zu: %s", o->mtu, dk_strerror(r));
        }
    }
    if (o->mode == CLI_SERVER && o->no_cookie) {
        dk_config_set_cookie_exchange(cfg, false);
    }
    if (keylog != NULL) {
        dk_config_set_keylog(cfg, cli_keylog_write, keylog);
    }
    return 0;
}

int cli_build_config(const cli_opts *o, FILE *keylog, dk_config **out, bool *ephemeral,
                     uint8_t fp[32])
{
    dk_config *cfg = dk_config_new(o->mode == CLI_SERVER ? DK_ROLE_SERVER : DK_ROLE_CLIENT);
    *out = NULL;
    if (cfg == NULL) {
        return cli_fail(CLI_EXIT_FAIL, "out of memory");
    }
    int rc = load_credentials(o, cfg, ephemeral, fp);
    if (rc == 0) {
        rc = load_verification(o, cfg);
    }
    if (rc == 0) {
        rc = load_params(o, cfg, keylog);
    }
    if (rc != 0) {
        dk_config_free(cfg);
        return rc;
    }
    *out = cfg;
    return 0;
}

void cli_print_handshake(const dk_conn *c, const char *from)
{
    dk_conn_info info;
    memset(&info, 0, sizeof info);
    if (dk_conn_get_info(c, &info) != DK_OK) {
        printf("handshake: version=? suite=? ems=? peer=- mtu=%zu", dk_conn_data_mtu(c));
    } else {
        char version[16], suite[16];
        snprintf(version, sizeof version, "0x%04X", info.version);
        snprintf(suite, sizeof suite, "0x%04X", info.cipher_suite);
        printf("handshake: version=%s suite=%s ems=%s peer=%s mtu=%zu",
               info.version == 0xFEFD ? "DTLSv1.2" : version,
               info.cipher_name ? info.cipher_name : suite, info.ems ? "yes" : "no",
               info.peer_identity[0] ? info.peer_identity : "-", info.data_mtu);
    }
    if (from != NULL) {
        printf(" from=%s", from);
    }
    printf("\n");
    fflush(stdout);
}

int cli_print_export(const cli_opts *o, const dk_conn *c)
{
    uint8_t key[CLI_EXPORT_MAX];
    char hex[2 * CLI_EXPORT_MAX + 1];
    if (o->export_len == 0) {
        return 0;
    }
    dk_result r = dk_conn_export_keying_material(c, o->export_label, NULL, 0, false, key,
                                                 o->export_len);
    if (r != DK_OK) {
        return cli_fail(CLI_EXIT_FAIL, "--export %s: %s", o->export_arg, dk_strerror(r));
    }
    cli_hex_encode(key, o->export_len, hex);
    printf("export: %s\n", hex);
    fflush(stdout);
    return 0;
}

void cli_print_stats(const dk_conn *c)
{
    dk_conn_stats st;
    memset(&st, 0, sizeof st);
    dk_conn_get_stats(c, &st);
    printf("stats: fragments_in=%" PRIu64 " fragments_out=%" PRIu64 " retransmissions=%" PRIu64
           " discarded=%" PRIu64 "\n",
           st.fragments_in, st.fragments_out, st.retransmissions, st.discarded_records);
    fflush(stdout);
}

int cli_conn_drain(dk_conn *c, int fd, const void *dst, unsigned dst_len)
{
    static uint8_t out[CLI_DGRAM_MAX];
    size_t n;
    while (dk_conn_poll_datagram(c, out, sizeof out, &n) == DK_OK) {
        ssize_t s = dst ? sendto(fd, out, n, 0, (const struct sockaddr *)dst, (socklen_t)dst_len)
                        : send(fd, out, n, 0);
        if (s < 0 && errno != ECONNREFUSED && errno != EAGAIN && errno != EINTR) {
            return errno;
        }
    }
    return 0;
}

const char *cli_conn_reason(const dk_conn *c)
{
    const char *reason = dk_conn_error_reason(c);
    if (reason != NULL && reason[0] != '\0') {
        return reason;
    }
    dk_result r = dk_conn_error(c);
    return r != DK_OK ? dk_strerror(r) : "connection failed";
}

void cli_trace_stderr(void *arg, const char *line)
{
    if (arg != NULL) {
        fprintf(stderr, "trace: %s %s\n", (const char *)arg, line);
    } else {
        fprintf(stderr, "trace: %s\n", line);
    }
}
