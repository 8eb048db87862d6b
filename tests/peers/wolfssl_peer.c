/* wolfssl_peer: a small DTLS 1.2 client/server on wolfSSL 5.5 (Debian's
 * libwolfssl-dev), used by tests/interop. See README.md for the options and
 * what the Debian build supports.
 *
 * Extended master secret: wolfSSL 5.5 has no public getter, so the peer
 * wraps wolfSSL's own UDP I/O callbacks and reads the plaintext ServerHello
 * on the wire (peer_wire.c): EMS is in use iff the ServerHello carries the
 * extension (RFC 7627 5.1).
 * MTU: the Debian build lacks WOLFSSL_DTLS_MTU (no wolfSSL_dtls_set_mtu), so
 * --mtu only takes effect if the library has it; otherwise a note is
 * printed on stderr and wolfSSL sends handshake messages at its built-in size. */
#define _GNU_SOURCE
#include "peer_common.h"

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct wpeer {
    struct peer_opts o;
    WOLFSSL_CTX *ctx;
    WOLFSSL *ssl;
    int fd;
    unsigned char addr[sizeof(struct sockaddr_storage)];
    unsigned addr_len;
    int ems;
};

/* The I/O callbacks and PSK callbacks reach the single peer through this. */
static struct wpeer g_peer;

__attribute__((noreturn)) static void fail_wolf(struct wpeer *p, const char *what, int ret)
{
    char buf[WOLFSSL_MAX_ERROR_SZ];
    int err = p->ssl ? wolfSSL_get_error(p->ssl, ret) : ret;
    wolfSSL_ERR_error_string_n((unsigned long)err, buf, sizeof buf);
    peer_fail(&p->o, "%s: error %d: %s", what, err, buf);
}

static int sniff_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    int n = EmbedReceiveFrom(ssl, buf, sz, ctx);
    if (n > 0 && !wolfSSL_is_init_finished(ssl))
        peer_sniff_datagram((const uint8_t *)buf, (size_t)n, &g_peer.ems);
    return n;
}

static int sniff_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
    if (!wolfSSL_is_init_finished(ssl))
        peer_sniff_datagram((const uint8_t *)buf, (size_t)sz, &g_peer.ems);
    return EmbedSendTo(ssl, buf, sz, ctx);
}

static unsigned int psk_client_cb(WOLFSSL *ssl, const char *hint, char *identity,
                                  unsigned int id_max, unsigned char *key, unsigned int key_max)
{
    const struct peer_opts *o = &g_peer.o;
    size_t idlen = strlen(o->psk_identity);
    (void)ssl, (void)hint;
    if (idlen >= id_max || o->psk_len > key_max)
        return 0;
    memcpy(identity, o->psk_identity, idlen + 1);
    memcpy(key, o->psk, o->psk_len);
    return (unsigned int)o->psk_len;
}

static unsigned int psk_server_cb(WOLFSSL *ssl, const char *identity, unsigned char *key,
                                  unsigned int key_max)
{
    const struct peer_opts *o = &g_peer.o;
    (void)ssl;
    if (!identity || strcmp(identity, o->psk_identity) != 0 || o->psk_len > key_max)
        return 0;
    memcpy(key, o->psk, o->psk_len);
    return (unsigned int)o->psk_len;
}

/* wolfSSL's name lookup takes only its own names: walk the suites compiled
 * into the library and compare their IANA names. */
static int wolf_name_for_iana(const char *iana, char *out, size_t cap)
{
    static char all[8192];
    char *save = NULL;
    if (wolfSSL_get_ciphers(all, sizeof all) != WOLFSSL_SUCCESS)
        return -1;
    for (char *n = strtok_r(all, ":", &save); n; n = strtok_r(NULL, ":", &save)) {
        unsigned char c0, c1;
        int flags = 0;
        if (wolfSSL_get_cipher_suite_from_name(n, &c0, &c1, &flags) != 0)
            continue;
        const char *i = wolfSSL_get_cipher_name_iana_from_suite(c0, c1);
        if (i && strcmp(i, iana) == 0 && strlen(n) < cap) {
            strcpy(out, n);
            return 0;
        }
    }
    return -1;
}

/* IANA names in, wolfSSL's own (OpenSSL-style) names out. */
static void setup_suites(struct wpeer *p)
{
    const char *list = p->o.ciphers;
    char name[128], wname[128], out[1024] = "";
    while (list && peer_next_suite(&list, name, sizeof name) > 0) {
        if (wolf_name_for_iana(name, wname, sizeof wname) != 0)
            peer_fail(&p->o, "cipher suite %s is not supported by this wolfSSL build", name);
        if (strlen(out) + strlen(wname) + 2 > sizeof out)
            peer_fail(&p->o, "cipher list too long");
        if (out[0])
            strcat(out, ":");
        strcat(out, wname);
    }
    if (out[0] && wolfSSL_CTX_set_cipher_list(p->ctx, out) != WOLFSSL_SUCCESS)
        peer_fail(&p->o, "wolfSSL rejected the cipher list %s", out);
}

static void setup_creds(struct wpeer *p)
{
    if (p->o.cert) {
        if (wolfSSL_CTX_use_certificate_chain_file(p->ctx, p->o.cert) != WOLFSSL_SUCCESS)
            peer_fail(&p->o, "cannot load certificate chain %s", p->o.cert);
        if (wolfSSL_CTX_use_PrivateKey_file(p->ctx, p->o.key, WOLFSSL_FILETYPE_PEM) !=
            WOLFSSL_SUCCESS)
            peer_fail(&p->o, "cannot load private key %s", p->o.key);
    }
    if (p->o.ca && wolfSSL_CTX_load_verify_locations(p->ctx, p->o.ca, NULL) != WOLFSSL_SUCCESS)
        peer_fail(&p->o, "cannot load CA file %s", p->o.ca);
    if (p->o.psk_identity && p->o.is_server)
        wolfSSL_CTX_set_psk_server_callback(p->ctx, psk_server_cb);
    else if (p->o.psk_identity)
        wolfSSL_CTX_set_psk_client_callback(p->ctx, psk_client_cb);
    int mode = WOLFSSL_VERIFY_NONE;
    if (p->o.is_server && p->o.verify_client)
        mode = WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    else if (!p->o.is_server && p->o.ca)
        mode = WOLFSSL_VERIFY_PEER;
    wolfSSL_CTX_set_verify(p->ctx, mode, NULL);
}

static void setup_ctx(struct wpeer *p)
{
    if (wolfSSL_Init() != WOLFSSL_SUCCESS)
        peer_fail(&p->o, "wolfSSL_Init failed");
    if (p->o.verbose)
        wolfSSL_Debugging_ON();
    p->ctx = wolfSSL_CTX_new(p->o.is_server ? wolfDTLSv1_2_server_method()
                                            : wolfDTLSv1_2_client_method());
    if (!p->ctx)
        peer_fail(&p->o, "wolfSSL_CTX_new failed");
    wolfSSL_CTX_SetIORecv(p->ctx, sniff_recv);
    wolfSSL_CTX_SetIOSend(p->ctx, sniff_send);
    setup_suites(p);
    setup_creds(p);
}

/* wolfSSL 5.5 offers X25519 but fails an ECDHE-PSK ServerKeyExchange on
 * X25519 with "Bad ECC Peer Key" (-352), against OpenSSL as well: a client
 * with an ECDHE-PSK suite offers only the NIST curves it handles. */
static void offer_nist_groups_only(struct wpeer *p)
{
    if (wolfSSL_UseSupportedCurve(p->ssl, WOLFSSL_ECC_SECP256R1) != WOLFSSL_SUCCESS ||
        wolfSSL_UseSupportedCurve(p->ssl, WOLFSSL_ECC_SECP384R1) != WOLFSSL_SUCCESS)
        peer_fail(&p->o, "wolfSSL_UseSupportedCurve failed");
}

static void setup_ssl(struct wpeer *p)
{
    p->ssl = wolfSSL_new(p->ctx);
    if (!p->ssl)
        peer_fail(&p->o, "wolfSSL_new failed");
    if (wolfSSL_set_fd(p->ssl, p->fd) != WOLFSSL_SUCCESS)
        peer_fail(&p->o, "wolfSSL_set_fd failed");
    if (wolfSSL_dtls_set_peer(p->ssl, p->addr, p->addr_len) != WOLFSSL_SUCCESS)
        peer_fail(&p->o, "wolfSSL_dtls_set_peer failed");
    if (p->o.mtu)
        fprintf(stderr, "%s: note: --mtu %u ignored: this wolfSSL build has no "
                        "wolfSSL_dtls_set_mtu (WOLFSSL_DTLS_MTU)\n", p->o.prog, p->o.mtu);
    if (!p->o.is_server && p->o.ciphers && strstr(p->o.ciphers, "ECDHE_PSK"))
        offer_nist_groups_only(p);
    if (!p->o.is_server && p->o.servername) {
        if (wolfSSL_check_domain_name(p->ssl, p->o.servername) != WOLFSSL_SUCCESS)
            peer_fail(&p->o, "wolfSSL_check_domain_name failed");
        if (wolfSSL_UseSNI(p->ssl, WOLFSSL_SNI_HOST_NAME, p->o.servername,
                           (unsigned short)strlen(p->o.servername)) != WOLFSSL_SUCCESS)
            peer_fail(&p->o, "wolfSSL_UseSNI failed");
    }
}

static void do_handshake(struct wpeer *p)
{
    p->ems = -1;
    int ret = p->o.is_server ? wolfSSL_accept(p->ssl) : wolfSSL_connect(p->ssl);
    if (ret != WOLFSSL_SUCCESS)
        fail_wolf(p, "handshake", ret);
    if (p->ems < 0)
        peer_fail(&p->o, "handshake done but no ServerHello was seen on the wire");
    int cs = wolfSSL_get_current_cipher_suite(p->ssl);
    const char *name = wolfSSL_get_cipher_name_iana_from_suite((unsigned char)(cs >> 8),
                                                               (unsigned char)cs);
    peer_print_handshake(name ? name : "unknown", p->ems);
    if (p->o.export_label) {
        unsigned char km[1024];
        ret = wolfSSL_export_keying_material(p->ssl, km, p->o.export_len, p->o.export_label,
                                             strlen(p->o.export_label), NULL, 0, 0);
        if (ret != WOLFSSL_SUCCESS)
            fail_wolf(p, "exporter", ret);
        peer_print_export(km, p->o.export_len);
    }
}

static void write_all(struct wpeer *p, const void *buf, size_t len)
{
    int ret;
    while ((ret = wolfSSL_write(p->ssl, buf, (int)len)) <= 0) {
        int err = wolfSSL_get_error(p->ssl, ret);
        if (err != WOLFSSL_ERROR_WANT_READ && err != WOLFSSL_ERROR_WANT_WRITE)
            fail_wolf(p, "write", ret);
    }
    if ((size_t)ret != len)
        peer_fail(&p->o, "short write: %d of %zu bytes", ret, len);
}

/* Waits up to 50 ms for a record. Returns the byte count, 0 if nothing came,
 * -1 when the peer sent close_notify. */
static int read_some(struct wpeer *p, unsigned char *buf, size_t cap)
{
    struct pollfd pf = {.fd = p->fd, .events = POLLIN};
    if (wolfSSL_pending(p->ssl) == 0 && poll(&pf, 1, 50) != 1)
        return 0;
    int ret = wolfSSL_read(p->ssl, buf, (int)cap);
    if (ret > 0)
        return ret;
    int err = wolfSSL_get_error(p->ssl, ret);
    if (err == WOLFSSL_ERROR_WANT_READ || err == WOLFSSL_ERROR_WANT_WRITE)
        return 0;
    if (err == WOLFSSL_ERROR_ZERO_RETURN)
        return -1;
    fail_wolf(p, "read", ret);
}

static void run_server(struct wpeer *p)
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
    wolfSSL_shutdown(p->ssl);
}

/* Sends stdin line by line; after EOF waits until as many bytes came back
 * as were sent (or 1 s), then sends close_notify. */
static void run_client(struct wpeer *p)
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
            write_all(p, line, (size_t)n);
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
    wolfSSL_shutdown(p->ssl);
}

static void set_nonblocking(struct wpeer *p)
{
    int fl = fcntl(p->fd, F_GETFL);
    if (fl < 0 || fcntl(p->fd, F_SETFL, fl | O_NONBLOCK) != 0)
        peer_fail(&p->o, "fcntl: %s", strerror(errno));
    wolfSSL_dtls_set_using_nonblock(p->ssl, 1);
}

int main(int argc, char **argv)
{
    struct wpeer *p = &g_peer;
    peer_parse_args(argc, argv, &p->o);
    peer_arm_timeout(&p->o);
    setup_ctx(p);
    peer_probe_done(&p->o);
    if (p->o.is_server) {
        p->fd = peer_udp_bind(&p->o);
        peer_udp_accept(&p->o, p->fd, p->addr, &p->addr_len);
    } else {
        p->fd = peer_udp_connect(&p->o, p->addr, &p->addr_len);
    }
    setup_ssl(p);
    do_handshake(p);
    set_nonblocking(p);
    if (p->o.is_server)
        run_server(p);
    else
        run_client(p);
    wolfSSL_free(p->ssl);
    wolfSSL_CTX_free(p->ctx);
    wolfSSL_Cleanup();
    return 0;
}
