/* mbedtls_peer: a small DTLS 1.2 client/server on Mbed TLS 2.28 (Debian's
 * libmbedtls-dev), used by tests/interop. See README.md for the options and
 * what the Debian build supports.
 *
 * Extended master secret: Mbed TLS 2.28 has no public getter, so the peer
 * drives the handshake step by step and reads handshake->extended_ms (from
 * mbedtls/ssl_internal.h) before the handshake parameters are freed.
 * Exporter: Mbed TLS 2.28 has no RFC 5705 API; the key export callback hands
 * out the master secret and randoms and mbedtls_ssl_tls_prf computes
 * PRF(master_secret, label, client_random + server_random). */
#define _GNU_SOURCE
#include "peer_common.h"

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/debug.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/ssl_cookie.h>
#include <mbedtls/ssl_internal.h>
#include <mbedtls/timing.h>
#include <mbedtls/x509_crt.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define MAX_SUITES 16

struct mpeer {
    struct peer_opts o;
    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_ssl_config conf;
    mbedtls_ssl_context ssl;
    mbedtls_x509_crt cert, ca;
    mbedtls_pk_context key;
    mbedtls_ssl_cookie_ctx cookie;
    mbedtls_timing_delay_context timer;
    mbedtls_net_context net;
    int suites[MAX_SUITES + 1];
    unsigned char addr[sizeof(struct sockaddr_storage)];
    unsigned addr_len;
    int ems;
    int have_keys;
    unsigned char master[48];
    unsigned char randoms[64];
    mbedtls_tls_prf_types prf;
};

__attribute__((noreturn)) static void fail_mbed(struct mpeer *p, const char *what, int ret)
{
    char buf[160];
    mbedtls_strerror(ret, buf, sizeof buf);
    peer_fail(&p->o, "%s: -0x%04x %s", what, (unsigned)-ret, buf);
}

static void debug_cb(void *ctx, int level, const char *file, int line, const char *msg)
{
    (void)ctx;
    fprintf(stderr, "mbedtls[%d] %s:%d: %s", level, file, line, msg);
}

static int export_keys_cb(void *arg, const unsigned char *ms, const unsigned char *kb,
                          size_t maclen, size_t keylen, size_t ivlen,
                          const unsigned char client_random[32],
                          const unsigned char server_random[32],
                          mbedtls_tls_prf_types prf)
{
    struct mpeer *p = arg;
    (void)kb, (void)maclen, (void)keylen, (void)ivlen;
    memcpy(p->master, ms, sizeof p->master);
    memcpy(p->randoms, client_random, 32);
    memcpy(p->randoms + 32, server_random, 32);
    p->prf = prf;
    p->have_keys = 1;
    return 0;
}

/* IANA "TLS_X_WITH_Y" <-> Mbed TLS "TLS-X-WITH-Y". */
static void swap_chars(char *s, char from, char to)
{
    for (; *s; s++)
        if (*s == from)
            *s = to;
}

static void setup_suites(struct mpeer *p)
{
    const char *list = p->o.ciphers;
    char name[128];
    size_t n = 0;
    while (list && n < MAX_SUITES && peer_next_suite(&list, name, sizeof name) > 0) {
        swap_chars(name, '_', '-');
        int id = mbedtls_ssl_get_ciphersuite_id(name);
        if (id == 0) {
            swap_chars(name, '-', '_');
            peer_fail(&p->o, "cipher suite %s is not supported by this Mbed TLS build", name);
        }
        p->suites[n++] = id;
    }
    p->suites[n] = 0;
    if (n > 0)
        mbedtls_ssl_conf_ciphersuites(&p->conf, p->suites);
}

static void setup_creds(struct mpeer *p)
{
    int ret;
    if (p->o.cert) {
        if ((ret = mbedtls_x509_crt_parse_file(&p->cert, p->o.cert)) != 0)
            fail_mbed(p, p->o.cert, ret);
        if ((ret = mbedtls_pk_parse_keyfile(&p->key, p->o.key, NULL)) != 0)
            fail_mbed(p, p->o.key, ret);
        if ((ret = mbedtls_ssl_conf_own_cert(&p->conf, &p->cert, &p->key)) != 0)
            fail_mbed(p, "own cert", ret);
    }
    if (p->o.ca) {
        if ((ret = mbedtls_x509_crt_parse_file(&p->ca, p->o.ca)) != 0)
            fail_mbed(p, p->o.ca, ret);
        mbedtls_ssl_conf_ca_chain(&p->conf, &p->ca, NULL);
    }
    if (p->o.psk_identity) {
        ret = mbedtls_ssl_conf_psk(&p->conf, p->o.psk, p->o.psk_len,
                                   (const unsigned char *)p->o.psk_identity,
                                   strlen(p->o.psk_identity));
        if (ret != 0)
            fail_mbed(p, "psk", ret);
    }
    int verify = p->o.is_server ? p->o.verify_client : p->o.ca != NULL;
    mbedtls_ssl_conf_authmode(&p->conf, verify ? MBEDTLS_SSL_VERIFY_REQUIRED
                                               : MBEDTLS_SSL_VERIFY_NONE);
}

static void setup_conf(struct mpeer *p)
{
    int ret, endpoint = p->o.is_server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT;
    const char *pers = "dtlskit-interop-mbedtls";
    ret = mbedtls_ctr_drbg_seed(&p->drbg, mbedtls_entropy_func, &p->entropy,
                                (const unsigned char *)pers, strlen(pers));
    if (ret != 0)
        fail_mbed(p, "ctr_drbg_seed", ret);
    ret = mbedtls_ssl_config_defaults(&p->conf, endpoint, MBEDTLS_SSL_TRANSPORT_DATAGRAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        fail_mbed(p, "ssl_config_defaults", ret);
    mbedtls_ssl_conf_rng(&p->conf, mbedtls_ctr_drbg_random, &p->drbg);
    mbedtls_ssl_conf_dbg(&p->conf, debug_cb, NULL);
    mbedtls_ssl_conf_min_version(&p->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_max_version(&p->conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
    mbedtls_ssl_conf_extended_master_secret(&p->conf, MBEDTLS_SSL_EXTENDED_MS_ENABLED);
    mbedtls_ssl_conf_export_keys_ext_cb(&p->conf, export_keys_cb, p);
    setup_suites(p);
    setup_creds(p);
    if (p->o.is_server) {
        if ((ret = mbedtls_ssl_cookie_setup(&p->cookie, mbedtls_ctr_drbg_random, &p->drbg)) != 0)
            fail_mbed(p, "cookie_setup", ret);
        mbedtls_ssl_conf_dtls_cookies(&p->conf, mbedtls_ssl_cookie_write, mbedtls_ssl_cookie_check,
                                      &p->cookie);
    }
    if (p->o.verbose)
        mbedtls_debug_set_threshold(2);
}

static void setup_ssl(struct mpeer *p)
{
    int ret = mbedtls_ssl_setup(&p->ssl, &p->conf);
    if (ret != 0)
        fail_mbed(p, "ssl_setup", ret);
    mbedtls_ssl_set_timer_cb(&p->ssl, &p->timer, mbedtls_timing_set_delay,
                             mbedtls_timing_get_delay);
    mbedtls_ssl_set_bio(&p->ssl, &p->net, mbedtls_net_send, mbedtls_net_recv,
                        mbedtls_net_recv_timeout);
    if (p->o.mtu)
        mbedtls_ssl_set_mtu(&p->ssl, (uint16_t)p->o.mtu);
    if (!p->o.is_server && p->o.servername &&
        (ret = mbedtls_ssl_set_hostname(&p->ssl, p->o.servername)) != 0)
        fail_mbed(p, "set_hostname", ret);
    if (p->o.is_server &&
        (ret = mbedtls_ssl_set_client_transport_id(&p->ssl, p->addr, p->addr_len)) != 0)
        fail_mbed(p, "set_client_transport_id", ret);
}

/* Runs the handshake one step at a time to catch handshake->extended_ms
 * before mbedtls_ssl_handshake_wrapup frees it. */
static void do_handshake(struct mpeer *p)
{
    while (p->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
        if (p->ssl.handshake)
            p->ems = p->ssl.handshake->extended_ms == MBEDTLS_SSL_EXTENDED_MS_ENABLED;
        int ret = mbedtls_ssl_handshake_step(&p->ssl);
        if (ret == MBEDTLS_ERR_SSL_HELLO_VERIFY_REQUIRED) {
            /* The cookie exchange: the client answers on the same 4-tuple. */
            if ((ret = mbedtls_ssl_session_reset(&p->ssl)) != 0)
                fail_mbed(p, "session_reset", ret);
            ret = mbedtls_ssl_set_client_transport_id(&p->ssl, p->addr, p->addr_len);
            if (ret != 0)
                fail_mbed(p, "set_client_transport_id", ret);
            continue;
        }
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (ret != 0)
            fail_mbed(p, "handshake", ret);
    }
}

static void report_handshake(struct mpeer *p)
{
    char name[128];
    snprintf(name, sizeof name, "%s", mbedtls_ssl_get_ciphersuite(&p->ssl));
    swap_chars(name, '-', '_');
    peer_print_handshake(name, p->ems);
    if (!p->o.export_label)
        return;
    unsigned char km[1024];
    if (!p->have_keys)
        peer_fail(&p->o, "exporter: key export callback was not called");
    int ret = mbedtls_ssl_tls_prf(p->prf, p->master, sizeof p->master, p->o.export_label,
                                  p->randoms, sizeof p->randoms, km, p->o.export_len);
    if (ret != 0)
        fail_mbed(p, "exporter", ret);
    peer_print_export(km, p->o.export_len);
}

static void write_all(struct mpeer *p, const unsigned char *buf, size_t len)
{
    int ret;
    while ((ret = mbedtls_ssl_write(&p->ssl, buf, len)) < 0) {
        if (ret != MBEDTLS_ERR_SSL_WANT_READ && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
            fail_mbed(p, "write", ret);
    }
    if ((size_t)ret != len)
        peer_fail(&p->o, "short write: %d of %zu bytes", ret, len);
}

/* One read with the configured 50 ms read timeout. Returns the byte count,
 * 0 on timeout, -1 when the peer sent close_notify. */
static int read_some(struct mpeer *p, unsigned char *buf, size_t cap)
{
    int ret = mbedtls_ssl_read(&p->ssl, buf, cap);
    if (ret > 0)
        return ret;
    if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0)
        return -1;
    if (ret == MBEDTLS_ERR_SSL_TIMEOUT || ret == MBEDTLS_ERR_SSL_WANT_READ ||
        ret == MBEDTLS_ERR_SSL_WANT_WRITE)
        return 0;
    fail_mbed(p, "read", ret);
}

static void run_server(struct mpeer *p)
{
    unsigned char buf[PEER_BUF];
    for (;;) {
        int n = read_some(p, buf, sizeof buf);
        if (n < 0)
            break;
        if (n == 0)
            continue;
        peer_print_data(buf, (size_t)n);
        if (p->o.echo)
            write_all(p, buf, (size_t)n);
    }
    int ret = mbedtls_ssl_close_notify(&p->ssl);
    if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
        fail_mbed(p, "close_notify", ret);
}

/* Sends stdin line by line; after EOF waits until as many bytes came back
 * as were sent (or 1 s), then sends close_notify. */
static void run_client(struct mpeer *p)
{
    static struct peer_lines lines;
    unsigned char buf[PEER_BUF];
    char line[PEER_BUF];
    size_t sent = 0, received = 0;
    uint64_t eof_at = 0;
    for (;;) {
        long n;
        if (!lines.eof && peer_stdin_readable(0))
            peer_lines_fill(&lines);
        while ((n = peer_lines_next(&lines, line, sizeof line)) > 0) {
            write_all(p, (const unsigned char *)line, (size_t)n);
            sent += (size_t)n;
        }
        if (n < 0 && eof_at == 0)
            eof_at = peer_now_ms();
        if (eof_at && (received >= sent || peer_now_ms() - eof_at > 1000))
            break;
        int r = read_some(p, buf, sizeof buf);
        if (r < 0)
            return; /* the server closed first */
        peer_print_data(buf, (size_t)r);
        received += (size_t)r;
    }
    int ret = mbedtls_ssl_close_notify(&p->ssl);
    if (ret != 0 && ret != MBEDTLS_ERR_SSL_WANT_WRITE)
        fail_mbed(p, "close_notify", ret);
}

static void init_all(struct mpeer *p)
{
    mbedtls_entropy_init(&p->entropy);
    mbedtls_ctr_drbg_init(&p->drbg);
    mbedtls_ssl_config_init(&p->conf);
    mbedtls_ssl_init(&p->ssl);
    mbedtls_x509_crt_init(&p->cert);
    mbedtls_x509_crt_init(&p->ca);
    mbedtls_pk_init(&p->key);
    mbedtls_ssl_cookie_init(&p->cookie);
    mbedtls_net_init(&p->net);
}

static void free_all(struct mpeer *p)
{
    mbedtls_net_free(&p->net);
    mbedtls_ssl_free(&p->ssl);
    mbedtls_ssl_config_free(&p->conf);
    mbedtls_ssl_cookie_free(&p->cookie);
    mbedtls_x509_crt_free(&p->cert);
    mbedtls_x509_crt_free(&p->ca);
    mbedtls_pk_free(&p->key);
    mbedtls_ctr_drbg_free(&p->drbg);
    mbedtls_entropy_free(&p->entropy);
}

int main(int argc, char **argv)
{
    static struct mpeer p;
    peer_parse_args(argc, argv, &p.o);
    peer_arm_timeout(&p.o);
    init_all(&p);
    setup_conf(&p);
    peer_probe_done(&p.o);
    if (p.o.is_server) {
        p.net.fd = peer_udp_bind(&p.o);
        peer_udp_accept(&p.o, p.net.fd, p.addr, &p.addr_len);
    } else {
        p.net.fd = peer_udp_connect(&p.o, p.addr, &p.addr_len);
    }
    setup_ssl(&p);
    do_handshake(&p);
    report_handshake(&p);
    mbedtls_ssl_conf_read_timeout(&p.conf, 50);
    if (p.o.is_server)
        run_server(&p);
    else
        run_client(&p);
    free_all(&p);
    return 0;
}
