/* Command line, sockets, timeout and output helpers shared by the peers. */
#define _GNU_SOURCE
#include "peer_common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *g_prog = "peer";
static unsigned g_timeout_ms;

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s (--server [ADDR:]PORT | --client HOST:PORT) [options]\n"
            "  --ciphers IANA_NAME[:IANA_NAME...]  e.g. TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n"
            "  --cert PEM --key PEM   own certificate chain and key\n"
            "  --ca PEM               trust anchors (client: verify server; server: verify client)\n"
            "  --servername NAME      client: check the server certificate against NAME\n"
            "  --psk-identity ID --psk HEX\n"
            "  --mtu N                path MTU for handshake fragmentation\n"
            "  --verify-client        server: require a client certificate\n"
            "  --echo                 server: send every record back\n"
            "  --export LABEL:LEN     print the RFC 5705 exporter output (no context)\n"
            "  --timeout MS           hard timeout for the whole run (default 10000)\n"
            "  --probe                check the options against the library and exit\n"
            "  --verbose\n",
            prog);
    exit(2);
}

void peer_fail(const struct peer_opts *o, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "%s: ", o ? o->prog : g_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void split_host_port(struct peer_opts *o, const char *arg, int port_only_ok)
{
    const char *colon = strrchr(arg, ':');
    if (!colon) {
        if (!port_only_ok)
            peer_fail(o, "expected HOST:PORT, got '%s'", arg);
        snprintf(o->host, sizeof o->host, "127.0.0.1");
        snprintf(o->port, sizeof o->port, "%s", arg);
        return;
    }
    size_t hl = (size_t)(colon - arg);
    if (hl >= sizeof o->host || strlen(colon + 1) >= sizeof o->port)
        peer_fail(o, "address too long: '%s'", arg);
    memcpy(o->host, arg, hl);
    o->host[hl] = '\0';
    snprintf(o->port, sizeof o->port, "%s", colon + 1);
}

static void parse_psk(struct peer_opts *o, const char *hex)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 != 0 || n / 2 > PEER_MAX_PSK)
        peer_fail(o, "--psk needs an even number of hex digits (at most %d bytes)", PEER_MAX_PSK);
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            peer_fail(o, "--psk: bad hex digit near '%s'", hex + 2 * i);
        o->psk[i] = (uint8_t)v;
    }
    o->psk_len = n / 2;
}

static void parse_export(struct peer_opts *o, char *arg)
{
    char *colon = strrchr(arg, ':');
    if (!colon)
        peer_fail(o, "--export needs LABEL:LEN");
    *colon = '\0';
    o->export_label = arg;
    o->export_len = strtoul(colon + 1, NULL, 10);
    if (o->export_len == 0 || o->export_len > 1024)
        peer_fail(o, "--export length must be 1..1024");
}

static const struct option k_long_opts[] = {
    {"server", required_argument, 0, 's'},       {"client", required_argument, 0, 'c'},
    {"ciphers", required_argument, 0, 'C'},      {"cert", required_argument, 0, 'e'},
    {"key", required_argument, 0, 'k'},          {"ca", required_argument, 0, 'a'},
    {"servername", required_argument, 0, 'n'},   {"psk-identity", required_argument, 0, 'i'},
    {"psk", required_argument, 0, 'p'},          {"mtu", required_argument, 0, 'm'},
    {"verify-client", no_argument, 0, 'V'},      {"echo", no_argument, 0, 'E'},
    {"timeout", required_argument, 0, 't'},      {"export", required_argument, 0, 'x'},
    {"verbose", no_argument, 0, 'v'},            {"help", no_argument, 0, 'h'},
    {"probe", no_argument, 0, 'P'},
    {0, 0, 0, 0},
};

static void apply_opt(struct peer_opts *o, int c, char *arg)
{
    switch (c) {
    case 's': o->is_server = 1; split_host_port(o, arg, 1); break;
    case 'c': o->is_server = 0; split_host_port(o, arg, 0); break;
    case 'C': o->ciphers = arg; break;
    case 'e': o->cert = arg; break;
    case 'k': o->key = arg; break;
    case 'a': o->ca = arg; break;
    case 'n': o->servername = arg; break;
    case 'i': o->psk_identity = arg; break;
    case 'p': parse_psk(o, arg); break;
    case 'm': o->mtu = (unsigned)strtoul(arg, NULL, 10); break;
    case 'V': o->verify_client = 1; break;
    case 'E': o->echo = 1; break;
    case 't': o->timeout_ms = (unsigned)strtoul(arg, NULL, 10); break;
    case 'x': parse_export(o, arg); break;
    case 'v': o->verbose = 1; break;
    case 'P': o->probe = 1; break;
    default: usage(o->prog);
    }
}

void peer_parse_args(int argc, char **argv, struct peer_opts *o)
{
    const char *slash = strrchr(argv[0], '/');
    memset(o, 0, sizeof *o);
    o->prog = slash ? slash + 1 : argv[0];
    g_prog = o->prog;
    o->timeout_ms = 10000;
    int have_role = 0, c;
    while ((c = getopt_long(argc, argv, "h", k_long_opts, NULL)) != -1) {
        have_role |= (c == 's' || c == 'c');
        apply_opt(o, c, optarg);
    }
    if (!have_role || optind != argc)
        usage(o->prog);
    if ((o->cert == NULL) != (o->key == NULL))
        peer_fail(o, "--cert and --key go together");
    if ((o->psk_identity == NULL) != (o->psk_len == 0))
        peer_fail(o, "--psk-identity and --psk go together");
    if (o->verify_client && (!o->is_server || !o->ca))
        peer_fail(o, "--verify-client is a server option and needs --ca");
    if (o->echo && !o->is_server)
        peer_fail(o, "--echo is a server option");
}

static void on_alarm(int sig)
{
    char msg[160];
    int n = snprintf(msg, sizeof msg, "%s: timeout after %u ms\n", g_prog, g_timeout_ms);
    (void)sig;
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(3);
    _exit(3);
}

void peer_arm_timeout(const struct peer_opts *o)
{
    struct itimerval it;
    memset(&it, 0, sizeof it);
    g_timeout_ms = o->timeout_ms;
    it.it_value.tv_sec = o->timeout_ms / 1000;
    it.it_value.tv_usec = (o->timeout_ms % 1000) * 1000;
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        peer_fail(o, "setitimer: %s", strerror(errno));
}

uint64_t peer_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static struct addrinfo *resolve(const struct peer_opts *o, int passive)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    int rc = getaddrinfo(o->host, o->port, &hints, &res);
    if (rc != 0)
        peer_fail(o, "cannot resolve %s:%s: %s", o->host, o->port, gai_strerror(rc));
    return res;
}

static void print_bound(const struct peer_opts *o, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        getnameinfo((struct sockaddr *)&ss, sl, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
        peer_fail(o, "getsockname: %s", strerror(errno));
    printf(ss.ss_family == AF_INET6 ? "listening on [%s]:%s\n" : "listening on %s:%s\n", host,
           serv);
    fflush(stdout);
}

int peer_udp_bind(const struct peer_opts *o)
{
    struct addrinfo *res = resolve(o, 1);
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    int one = 1;
    if (fd < 0)
        peer_fail(o, "socket: %s", strerror(errno));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, res->ai_addr, res->ai_addrlen) != 0)
        peer_fail(o, "bind %s:%s: %s", o->host, o->port, strerror(errno));
    freeaddrinfo(res);
    print_bound(o, fd);
    return fd;
}

void peer_udp_accept(const struct peer_opts *o, int fd, void *addr, unsigned *addr_len)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    uint8_t b;
    socklen_t sl = sizeof(struct sockaddr_storage);
    if (poll(&p, 1, -1) != 1)
        peer_fail(o, "poll: %s", strerror(errno));
    if (recvfrom(fd, &b, 1, MSG_PEEK, (struct sockaddr *)addr, &sl) < 0)
        peer_fail(o, "recvfrom: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)addr, sl) != 0)
        peer_fail(o, "connect to client: %s", strerror(errno));
    *addr_len = (unsigned)sl;
}

int peer_udp_connect(const struct peer_opts *o, void *addr, unsigned *addr_len)
{
    struct addrinfo *res = resolve(o, 0);
    int fd = socket(res->ai_family, res->ai_socktype, res->ai_protocol);
    if (fd < 0)
        peer_fail(o, "socket: %s", strerror(errno));
    if (connect(fd, res->ai_addr, res->ai_addrlen) != 0)
        peer_fail(o, "connect %s:%s: %s", o->host, o->port, strerror(errno));
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *addr_len = (unsigned)res->ai_addrlen;
    freeaddrinfo(res);
    return fd;
}

size_t peer_next_suite(const char **p, char *name, size_t cap)
{
    const char *s = *p;
    size_t n = strcspn(s, ":,");
    if (n == 0 || n >= cap)
        return 0;
    memcpy(name, s, n);
    name[n] = '\0';
    *p = s[n] ? s + n + 1 : s + n;
    return n;
}

void peer_print_handshake(const char *iana_suite, int ems)
{
    printf("handshake: suite=%s ems=%s\n", iana_suite, ems > 0 ? "yes" : "no");
    fflush(stdout);
}

void peer_print_export(const uint8_t *km, size_t len)
{
    printf("export: ");
    for (size_t i = 0; i < len; i++)
        printf("%02x", km[i]);
    printf("\n");
    fflush(stdout);
}

void peer_print_data(const uint8_t *buf, size_t len)
{
    fwrite(buf, 1, len, stdout);
    fflush(stdout);
}

int peer_stdin_readable(int wait_ms)
{
    struct pollfd p = {.fd = 0, .events = POLLIN};
    return poll(&p, 1, wait_ms) == 1 && (p.revents & (POLLIN | POLLHUP | POLLERR));
}

int peer_lines_fill(struct peer_lines *l)
{
    if (l->eof || l->len == sizeof l->buf)
        return 0;
    ssize_t n = read(0, l->buf + l->len, sizeof l->buf - l->len);
    if (n <= 0) {
        l->eof = 1;
        return 0;
    }
    l->len += (size_t)n;
    return 1;
}

long peer_lines_next(struct peer_lines *l, char *line, size_t cap)
{
    char *nl = memchr(l->buf, '\n', l->len);
    size_t n = nl ? (size_t)(nl - l->buf) + 1 : (l->eof || l->len == sizeof l->buf ? l->len : 0);
    if (n == 0)
        return (l->eof && l->len == 0) ? -1 : 0;
    if (n > cap)
        n = cap;
    memcpy(line, l->buf, n);
    memmove(l->buf, l->buf + n, l->len - n);
    l->len -= n;
    return (long)n;
}

void peer_probe_done(const struct peer_opts *o)
{
    if (!o->probe)
        return;
    printf("probe: ok\n");
    exit(0);
}
