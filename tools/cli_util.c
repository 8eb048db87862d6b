/* Small helpers of the dtlskit CLI: hex, addresses, time, key log, errors. */
#include "cli_util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_fail(int code, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Keep it one line whatever the message holds. */
    for (char *p = msg; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    fflush(stdout);
    fprintf(stderr, "dtlskit: %s\n", msg);
    fflush(stderr);
    return code;
}

static int hex_nibble(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

long cli_hex_decode(const char *s, bool allow_colons, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (*s) {
        if (allow_colons && *s == ':' && n > 0 && s[-1] != ':' && s[1] != '\0') {
            s++;
            continue;
        }
        int hi = hex_nibble(s[0]);
        int lo = hi < 0 ? -1 : hex_nibble(s[1]);
        if (hi < 0 || lo < 0 || n == cap) {
            return -1;
        }
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return (long)n;
}

void cli_hex_encode(const uint8_t *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static bool copy_part(const char *start, size_t len, char *out, size_t cap)
{
    if (len == 0 || len >= cap) {
        return false;
    }
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

bool cli_split_hostport(const char *s, char *host, size_t hcap, char *port, size_t pcap)
{
    const char *colon;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':') {
            return false;
        }
        if (!copy_part(s + 1, (size_t)(close - s - 1), host, hcap)) {
            return false;
        }
        colon = close + 1;
    } else {
        colon = strchr(s, ':');
        if (colon == NULL || strchr(colon + 1, ':') != NULL) {
            return false; /* no port, or an IPv6 literal without brackets */
        }
        if (!copy_part(s, (size_t)(colon - s), host, hcap)) {
            return false;
        }
    }
    const char *p = colon + 1;
    if (!copy_part(p, strlen(p), port, pcap)) {
        return false;
    }
    char *end;
    long v = strtol(port, &end, 10);
    return *end == '\0' && v >= 0 && v <= 65535;
}

bool cli_is_ip_literal(const char *host)
{
    uint8_t buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

bool cli_resolve(const char *host, const char *port, bool passive, struct sockaddr_storage *ss,
                 socklen_t *len, char *err, size_t errcap)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_protocol = IPPROTO_UDP;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(err, errcap, "cannot resolve %s: %s", host, gai_strerror(rc));
        return false;
    }
    memset(ss, 0, sizeof *ss);
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return true;
}

void cli_format_addr(const struct sockaddr *sa, socklen_t len, char *out, size_t cap)
{
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
        snprintf(out, cap, "%s:%u", host, port);
    } else if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        snprintf(out, cap, "[%s]:%u", host, port);
    } else {
        snprintf(out, cap, "?");
    }
}

uint64_t cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int cli_poll_timeout(uint64_t deadline, uint64_t now)
{
    if (deadline == UINT64_MAX) {
        return -1;
    }
    if (deadline <= now) {
        return 0;
    }
    uint64_t d = deadline - now;
    return d > 3600000u ? 3600000 : (int)d;
}

bool cli_keylog_open(const char *path, FILE **out, char *err, size_t errcap)
{
    *out = NULL;
    if (path == NULL) {
        path = getenv("SSLKEYLOGFILE");
    }
    if (path == NULL || path[0] == '\0') {
        return true;
    }
    FILE *f = fopen(path, "a");
    if (f == NULL) {
        snprintf(err, errcap, "cannot open key log %s: %s", path, strerror(errno));
        return false;
    }
    *out = f;
    return true;
}

void cli_keylog_write(void *arg, const char *line)
{
    FILE *f = arg;
    fprintf(f, "%s\n", line);
    fflush(f);
}

void cli_write_stdout(const uint8_t *data, size_t len)
{
    fwrite(data, 1, len, stdout);
    fflush(stdout);
}

static volatile sig_atomic_t g_stop;

static void on_signal(int sig)
{
    (void)sig;
    g_stop = 1;
}

void cli_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll() returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

bool cli_stop_requested(void)
{
    return g_stop != 0;
}
