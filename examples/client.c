/* A minimal dtlskit client: handshake, send one message, print the reply.
 *
 *   usage: client HOST PORT PIN|CAFILE [MESSAGE]
 *
 * HOST is a numeric IPv4 or IPv6 address. PIN is the hex SHA-256 of the
 * server certificate (as printed by `dtlskit server`); anything else is taken
 * as a CA file. The engine is sans-IO: we own the socket and the clock. */
#include <dtlskit/dtlskit.h>

#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int udp_connect(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM }, *ai;
    if (getaddrinfo(host, port, &hints, &ai) != 0) {
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static dk_result set_verification(dk_config *cfg, const char *arg)
{
    uint8_t pin[32];
    size_t i = 0;
    unsigned v;
    while (strlen(arg) == 64 && i < 32 && sscanf(arg + 2 * i, "%2x", &v) == 1) {
        pin[i++] = (uint8_t)v;
    }
    return i == 32 ? dk_config_add_pin_sha256(cfg, pin) : dk_config_set_ca_file(cfg, arg);
}

static void flush(dk_conn *c, int fd, uint8_t *buf, size_t cap)
{
    size_t n;
    while (dk_conn_poll_datagram(c, buf, cap, &n) == DK_OK) {
        (void)send(fd, buf, n, 0);
    }
}

/* Send what the connection queued, wait for a datagram or the timer, feed it. */
static int pump(dk_conn *c, int fd, uint8_t *buf, size_t cap)
{
    flush(c, fd, buf, cap);
    uint64_t deadline = dk_conn_next_timeout(c), now = now_ms();
    int timeout = deadline == UINT64_MAX ? 5000 : deadline <= now ? 0 : (int)(deadline - now);
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    if (poll(&pfd, 1, timeout) > 0) {
        ssize_t got = recv(fd, buf, cap, 0);
        if (got > 0 && dk_conn_receive(c, buf, (size_t)got, now_ms()) < 0) {
            return -1;
        }
    } else if (dk_conn_next_timeout(c) <= now_ms() &&
               dk_conn_handle_timeout(c, now_ms()) != DK_OK) {
        return -1;
    }
    return dk_conn_state(c) == DK_STATE_FAILED ? -1 : 0;
}

int main(int argc, char **argv)
{
    static uint8_t buf[65536], reply[65536];
    if (argc < 4) {
        fprintf(stderr, "usage: %s HOST PORT PIN|CAFILE [MESSAGE]\n", argv[0]);
        return 2;
    }
    const char *msg = argc > 4 ? argv[4] : "hello from dtlskit\n";
    int fd = udp_connect(argv[1], argv[2]);
    dk_config *cfg = dk_config_new(DK_ROLE_CLIENT);
    dk_conn *c = NULL;
    if (fd < 0 || cfg == NULL || set_verification(cfg, argv[3]) != DK_OK ||
        (c = dk_conn_new(cfg, argv[1], strlen(argv[1]))) == NULL ||
        dk_conn_connect(c, now_ms()) != DK_OK) {
        fprintf(stderr, "setup failed\n");
        return 1;
    }
    int rc = 0, sent = 0;
    size_t n = 0;
    while (rc == 0 && dk_conn_state(c) != DK_STATE_CLOSED) {
        if (dk_conn_state(c) == DK_STATE_ESTABLISHED && !sent) {
            sent = dk_conn_write(c, (const uint8_t *)msg, strlen(msg)) == DK_OK;
        }
        rc = pump(c, fd, buf, sizeof buf);
        if (rc == 0 && dk_conn_read(c, reply, sizeof reply, &n) == DK_OK) {
            fwrite(reply, 1, n, stdout);
            if (dk_conn_close(c) == DK_OK) {
                flush(c, fd, buf, sizeof buf); /* sends close_notify */
            }
            break;
        }
    }
    if (rc != 0) {
        flush(c, fd, buf, sizeof buf); /* the alert telling the server why */
        fprintf(stderr, "failed: %s\n", dk_conn_error_reason(c));
    }
    dk_conn_free(c);
    dk_config_free(cfg);
    close(fd);
    return rc == 0 ? 0 : 1;
}
