/* The endpoint's socket I/O: batched receive (recvmmsg), a send arena
 * flushed with sendmmsg, and UDP GSO (UDP_SEGMENT) for runs of equal-size
 * datagrams to one peer. With batch = 1 it falls back to one recvfrom or
 * sendmsg per datagram, which the benchmark uses to measure what batching
 * buys. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dk_ep_int.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* Send retries when the socket buffer is full, each waiting for POLLOUT. */
#define DK_EP_SEND_RETRIES 50
#define DK_EP_SEND_WAIT_MS 10

dk_result dk_ep_io_init(dk_endpoint *ep)
{
    ep->rx.slots = dk_malloc((size_t)ep->o.batch * DK_EP_RX_SLOT);
    ep->tx.arena = dk_malloc(DK_EP_TX_ARENA);
    if (!ep->rx.slots || !ep->tx.arena) return DK_ERR_NOMEM;
    for (unsigned i = 0; i < ep->o.batch; i++) {
        ep->rx.iov[i].iov_base = ep->rx.slots + (size_t)i * DK_EP_RX_SLOT;
        ep->rx.iov[i].iov_len = DK_EP_RX_SLOT;
    }
    return DK_OK;
}

void dk_ep_io_free(dk_endpoint *ep)
{
    dk_free(ep->rx.slots);
    dk_free(ep->tx.arena);
    ep->rx.slots = ep->tx.arena = NULL;
}

dk_result dk_ep_socket_setup(dk_endpoint *ep, int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return DK_ERR_IO;
    int rcv = ep->o.rcvbuf, snd = ep->o.sndbuf;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof snd);
    ep->gso_ok = false;
    if (!ep->o.no_gso) {
        /* Probe: the option exists on this kernel (set to 0 = per message). */
        int zero = 0;
        ep->gso_ok = setsockopt(fd, SOL_UDP, UDP_SEGMENT, &zero, sizeof zero) == 0;
    }
    ep->fd = fd;
    return DK_OK;
}

/* ---- receive ------------------------------------------------------------ */

static void rx_prepare(dk_endpoint *ep, unsigned i)
{
    struct msghdr *h = &ep->rx.msg[i].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &ep->rx.addr[i];
    h->msg_namelen = sizeof ep->rx.addr[i];
    h->msg_iov = &ep->rx.iov[i];
    h->msg_iovlen = 1;
}

int dk_ep_recv_batch(dk_endpoint *ep, size_t *lens)
{
    unsigned n = ep->o.batch;
    for (unsigned i = 0; i < n; i++) rx_prepare(ep, i);
    int got;
    ep->st.recv_calls++;
    if (n == 1) {
        ssize_t r = recvmsg(ep->fd, &ep->rx.msg[0].msg_hdr, MSG_DONTWAIT);
        if (r >= 0) ep->rx.msg[0].msg_len = (unsigned)r;
        got = r < 0 ? -1 : 1;
    } else {
        got = recvmmsg(ep->fd, ep->rx.msg, n, MSG_DONTWAIT, NULL);
    }
    if (got <= 0) return 0;
    for (int i = 0; i < got; i++) {
        bool trunc = (ep->rx.msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
        lens[i] = trunc ? 0 : ep->rx.msg[i].msg_len;
    }
    ep->st.datagrams_in += (uint64_t)got;
    return got;
}

/* ---- send ----------------------------------------------------------------- */

static void tx_build(dk_endpoint *ep, unsigned i)
{
    dk_ep_tx *t = &ep->tx;
    struct msghdr *h = &t->msg[i].msg_hdr;
    memset(h, 0, sizeof *h);
    h->msg_name = &t->addr[i];
    h->msg_namelen = t->addr[i].sa.sa_family == AF_INET6 ? sizeof t->addr[i].v6
                                                         : sizeof t->addr[i].v4;
    h->msg_iov = &t->iov[i];
    h->msg_iovlen = 1;
    if (t->nseg[i] > 1) {
        memset(t->ctrl[i], 0, sizeof t->ctrl[i]);
        h->msg_control = t->ctrl[i];
        h->msg_controllen = sizeof t->ctrl[i];
        struct cmsghdr *cm = CMSG_FIRSTHDR(h);
        cm->cmsg_level = SOL_UDP;
        cm->cmsg_type = UDP_SEGMENT;
        cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
        memcpy(CMSG_DATA(cm), &t->seg[i], sizeof(uint16_t));
        ep->st.gso_sends++;
    }
}

static bool wait_writable(dk_endpoint *ep)
{
    struct pollfd p = {.fd = ep->fd, .events = POLLOUT};
    ep->st.poll_calls++;
    return poll(&p, 1, DK_EP_SEND_WAIT_MS) > 0;
}

/* A GSO burst the kernel refused (a device or socket that cannot do it,
 * e.g. with SO_NO_CHECK set: EINVAL, or EIO): GSO goes off for this socket
 * and the burst's datagrams go one by one. */
static bool gso_refused(int err)
{
    return err == EINVAL || err == EIO || err == EMSGSIZE || err == EOPNOTSUPP;
}

static void tx_unbundle(dk_endpoint *ep, unsigned i)
{
    dk_ep_tx *t = &ep->tx;
    ep->gso_ok = false;
    ep->st.gso_refused++;
    struct msghdr h = t->msg[i].msg_hdr;
    h.msg_control = NULL;
    h.msg_controllen = 0;
    uint8_t *p = t->iov[i].iov_base;
    size_t left = t->iov[i].iov_len;
    while (left > 0) {
        struct iovec one = {p, left < t->seg[i] ? left : t->seg[i]};
        h.msg_iov = &one;
        ep->st.send_calls++;
        if (sendmsg(ep->fd, &h, 0) < 0) ep->st.send_errors++;
        p += one.iov_len;
        left -= one.iov_len;
    }
}

/* Send messages [from, n); returns how many went (or were given up). */
static unsigned tx_send(dk_endpoint *ep, unsigned from, unsigned n)
{
    dk_ep_tx *t = &ep->tx;
    ep->st.send_calls++;
    if (n - from == 1 || ep->o.batch == 1) {
        ssize_t r = sendmsg(ep->fd, &t->msg[from].msg_hdr, 0);
        if (r >= 0) return 1;
    } else {
        int r = sendmmsg(ep->fd, &t->msg[from], n - from, 0);
        if (r > 0) return (unsigned)r;
    }
    if (errno == EAGAIN || errno == EINTR) return 0;
    if (t->nseg[from] > 1 && gso_refused(errno)) tx_unbundle(ep, from);
    else ep->st.send_errors++; /* e.g. ECONNREFUSED from an earlier ICMP: skip one */
    return 1;
}

void dk_ep_tx_flush(dk_endpoint *ep)
{
    dk_ep_tx *t = &ep->tx;
    for (unsigned i = 0; i < t->n; i++) tx_build(ep, i);
    unsigned done = 0, stalls = 0;
    while (done < t->n) {
        unsigned k = tx_send(ep, done, t->n);
        if (k == 0) {
            if (++stalls > DK_EP_SEND_RETRIES || !wait_writable(ep)) {
                ep->st.send_errors += t->n - done;
                break;
            }
            continue;
        }
        for (unsigned i = done; i < done + k; i++) ep->st.datagrams_out += t->nseg[i];
        done += k;
    }
    t->n = 0;
    t->used = 0;
}

uint8_t *dk_ep_tx_reserve(dk_endpoint *ep, size_t cap)
{
    dk_ep_tx *t = &ep->tx;
    if (t->n >= ep->o.batch || t->used + cap > DK_EP_TX_ARENA) dk_ep_tx_flush(ep);
    return t->arena + t->used;
}

/* GSO: "a run of equal-size datagrams, the last possibly shorter". The new
 * datagram sits right after the previous message's bytes in the arena. */
static bool tx_join(dk_endpoint *ep, const dk_endpoint_conn *h, size_t len)
{
    dk_ep_tx *t = &ep->tx;
    if (!ep->gso_ok || t->n == 0 || !h) return false;
    unsigned i = t->n - 1;
    if (t->owner[i] != h || !t->open[i] || len == 0) return false;
    size_t seg = t->nseg[i] > 1 ? t->seg[i] : t->iov[i].iov_len;
    if (len > seg || t->iov[i].iov_len + len > DK_EP_GSO_MAX_BYTES || t->nseg[i] >= DK_EP_GSO_MAX_SEGS)
        return false;
    t->seg[i] = (uint16_t)seg;
    t->nseg[i]++;
    t->iov[i].iov_len += len;
    t->open[i] = len == seg;
    return true;
}

void dk_ep_tx_commit(dk_endpoint *ep, const dk_endpoint_conn *h, const dk_ep_addr *a, size_t alen,
                     size_t len)
{
    dk_ep_tx *t = &ep->tx;
    if (!tx_join(ep, h, len)) {
        unsigned i = t->n++;
        t->iov[i].iov_base = t->arena + t->used;
        t->iov[i].iov_len = len;
        memset(&t->addr[i], 0, sizeof t->addr[i]);
        memcpy(&t->addr[i], a, alen);
        t->seg[i] = 0;
        t->nseg[i] = 1;
        t->open[i] = true;
        t->owner[i] = h;
    }
    t->used += len;
}

void dk_ep_tx_push(dk_endpoint *ep, const dk_endpoint_conn *h, const dk_ep_addr *a, size_t alen,
                   const uint8_t *d, size_t len)
{
    uint8_t *p = dk_ep_tx_reserve(ep, len);
    memcpy(p, d, len);
    dk_ep_tx_commit(ep, h, a, alen, len);
}
