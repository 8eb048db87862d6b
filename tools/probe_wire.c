/* The probe's wire: one UDP socket, records sealed and opened with dtlskit's
 * record layer, and everything received turned into observations (records,
 * handshake fragments, whole reassembled messages) that the steps judge. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "probe.h"

uint64_t pr_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t pr_wire_elapsed(const pr_wire *w) { return pr_now_ms() - w->t0; }

void pr_vlog(const pr_wire *w, const char *fmt, ...)
{
    if (!w->o->verbose) return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "probe %6llu ms: ", (unsigned long long)pr_wire_elapsed(w));
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

bool pr_wire_open(pr_wire *w, const pr_opts *o, bool serve, pr_pcap *pcap, FILE *keylog,
                  char *err, size_t errcap)
{
    memset(w, 0, sizeof *w);
    w->o = o;
    w->serve = serve;
    w->pcap = pcap;
    w->keylog = keylog;
    w->t0 = pr_now_ms();
    w->fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (w->fd < 0) {
        snprintf(err, errcap, "socket: %s", strerror(errno));
        return false;
    }
    struct sockaddr_in any = {.sin_family = AF_INET};
    any.sin_addr = o->addr.sin_addr;
    const struct sockaddr_in *b = serve ? &o->addr : &any;
    if (bind(w->fd, (const struct sockaddr *)b, sizeof *b) != 0) {
        snprintf(err, errcap, "bind: %s", strerror(errno));
        close(w->fd);
        return false;
    }
    socklen_t len = sizeof w->local;
    getsockname(w->fd, (struct sockaddr *)&w->local, &len);
    if (!serve) {
        w->peer = o->addr;
        w->have_peer = true;
    }
    return true;
}

bool pr_wire_reopen(pr_wire *w)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) return false;
    struct sockaddr_in any = {.sin_family = AF_INET};
    any.sin_addr = w->o->addr.sin_addr;
    socklen_t len = sizeof w->local;
    if (bind(fd, (const struct sockaddr *)&any, sizeof any) != 0 ||
        getsockname(fd, (struct sockaddr *)&w->local, &len) != 0) {
        close(fd);
        return false;
    }
    close(w->fd);
    w->fd = fd;
    w->wseq[0] = w->wseq[1] = 0;
    w->wepoch = 0;
    return true;
}

void pr_wire_reset_obs(pr_wire *w)
{
    for (size_t i = 0; i < w->n_obs; i++) free(w->obs[i].data);
    w->n_obs = 0;
    for (size_t i = 0; i < PR_ASM_SLOTS; i++) {
        free(w->as[i].body);
        free(w->as[i].bits);
        memset(&w->as[i], 0, sizeof w->as[i]);
    }
}

static void flight_clear(pr_wire *w)
{
    for (size_t i = 0; i < w->n_flight; i++) free(w->flight[i].pt);
    w->n_flight = 0;
}

void pr_wire_close(pr_wire *w)
{
    pr_wire_reset_obs(w);
    free(w->obs);
    w->obs = NULL;
    flight_clear(w);
    pr_keys_clear(&w->keys);
    pr_keys_clear(&w->old);
    if (w->fd >= 0) close(w->fd);
    w->fd = -1;
}

/* ---- sending --------------------------------------------------------------- */

bool pr_send_datagram(pr_wire *w, const uint8_t *d, size_t len)
{
    if (!w->have_peer || len > sizeof w->last_dg) return false;
    pr_pcap_write(w->pcap, &w->local, &w->peer, d, len);
    memcpy(w->last_dg, d, len);
    w->last_dg_len = len;
    ssize_t n = sendto(w->fd, d, len, 0, (const struct sockaddr *)&w->peer, sizeof w->peer);
    return n == (ssize_t)len;
}

void pr_wire_flight_begin(pr_wire *w)
{
    flight_clear(w);
    w->flight_open = true;
}

static void flight_keep(pr_wire *w, uint8_t ct, uint16_t epoch, bool plain, const uint8_t *pt,
                        size_t len)
{
    if (!w->flight_open || w->n_flight >= PR_FLIGHT_MAX) return;
    pr_sent *s = &w->flight[w->n_flight];
    s->pt = malloc(len ? len : 1);
    if (!s->pt) return;
    if (len) memcpy(s->pt, pt, len);
    s->len = len;
    s->ct = ct;
    s->epoch = epoch;
    s->plain = plain;
    w->n_flight++;
}

static bool seal_send(pr_wire *w, uint8_t ct, uint16_t epoch, uint64_t rs, bool plain,
                      const uint8_t *pt, size_t len)
{
    uint8_t dg[PR_DG_MAX];
    size_t n;
    const dk_cipher *c = NULL;
    if (epoch >= 1 && !plain) {
        if (!w->keys.ready) return false;
        c = &w->keys.w;
    }
    uint16_t version = w->rec_version ? w->rec_version : DK_DTLS12;
    if (dk_record_seal(c, ct, version, epoch, rs, pt, len, dg, sizeof dg, &n) != DK_OK)
        return false;
    if (epoch == 0) w->last_rs0 = rs;
    return pr_send_datagram(w, dg, n);
}

bool pr_send_record(pr_wire *w, uint8_t ct, uint16_t epoch, uint64_t rs, bool plain,
                    const uint8_t *pt, size_t len)
{
    unsigned e = epoch ? 1 : 0;
    if (rs == UINT64_MAX) rs = w->wseq[e];
    if (rs + 1 > w->wseq[e]) w->wseq[e] = rs + 1;
    flight_keep(w, ct, epoch, plain, pt, len);
    return seal_send(w, ct, epoch, rs, plain, pt, len);
}

/* R2: a retransmission is the same messages in new records. */
bool pr_wire_resend_flight(pr_wire *w)
{
    bool ok = true;
    for (size_t i = 0; i < w->n_flight; i++) {
        pr_sent *s = &w->flight[i];
        unsigned e = s->epoch ? 1 : 0;
        ok &= seal_send(w, s->ct, s->epoch, w->wseq[e]++, s->plain, s->pt, s->len);
    }
    return ok;
}

size_t pr_hs_bytes(uint8_t *out, size_t cap, uint8_t type, uint32_t length, uint16_t ms,
                   uint32_t off, uint32_t flen, const uint8_t *body)
{
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_hs_header h = {type, length, ms, off, flen};
    dk_hs_header_write(&w, &h);
    if (body && flen) dk_write_bytes(&w, body + off, flen);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

/* ---- keys -------------------------------------------------------------------- */

bool pr_keys_install(pr_keys *k, const dk_suite *s, const uint8_t ms[48], const uint8_t cr[32],
                     const uint8_t sr[32], bool we_are_client)
{
    dk_key_block kb;
    pr_keys_clear(k);
    if (dk_derive_key_block(s, ms, cr, sr, &kb) != DK_OK) return false;
    const uint8_t *wk = we_are_client ? kb.client_key : kb.server_key;
    const uint8_t *wiv = we_are_client ? kb.client_iv : kb.server_iv;
    const uint8_t *rk = we_are_client ? kb.server_key : kb.client_key;
    const uint8_t *riv = we_are_client ? kb.server_iv : kb.client_iv;
    bool ok = dk_cipher_init(&k->w, s->aead, wk, wiv, true) == DK_OK &&
              dk_cipher_init(&k->r, s->aead, rk, riv, false) == DK_OK;
    dk_wipe(&kb, sizeof kb);
    k->ready = ok;
    return ok;
}

void pr_keys_clear(pr_keys *k)
{
    if (k->ready) {
        dk_cipher_clear(&k->w);
        dk_cipher_clear(&k->r);
    }
    k->ready = false;
}

void pr_keylog(pr_wire *w, const uint8_t cr[32], const uint8_t ms[48])
{
    if (!w->keylog) return;
    char line[200];
    dk_keylog_line(cr, ms, line, sizeof line);
    fprintf(w->keylog, "%s\n", line);
    fflush(w->keylog);
}

bool pr_tr_add(pr_tr *t, uint8_t type, uint16_t ms, const uint8_t *body, size_t len)
{
    size_t need = t->len + DK_HS_HEADER_LEN + len;
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 4096;
        while (cap < need) cap *= 2;
        uint8_t *p = realloc(t->p, cap);
        if (!p) return false;
        t->p = p;
        t->cap = cap;
    }
    /* R34: as if each message had been sent as a single fragment. */
    t->len += pr_hs_bytes(t->p + t->len, t->cap - t->len, type, (uint32_t)len, ms, 0,
                          (uint32_t)len, body);
    return true;
}

void pr_tr_free(pr_tr *t)
{
    free(t->p);
    memset(t, 0, sizeof *t);
}

bool pr_derive(pr_wire *w, const dk_suite *s, bool ems, const pr_tr *tr, const uint8_t *pms,
               size_t pms_len, const uint8_t cr[32], const uint8_t sr[32], uint8_t ms[48],
               bool we_are_client)
{
    uint8_t sh[DK_MAX_HASH_LEN];
    if (ems && dk_hash(s->prf, tr->p, tr->len, sh) != DK_OK) return false;
    if (dk_derive_master_secret(s->prf, pms, pms_len, ems, sh, cr, sr, ms) != DK_OK) return false;
    pr_keylog(w, cr, ms);
    return pr_keys_install(&w->keys, s, ms, cr, sr, we_are_client);
}

bool pr_finished(const dk_suite *s, const uint8_t ms[48], bool client, const pr_tr *tr,
                 uint8_t out[12])
{
    uint8_t h[DK_MAX_HASH_LEN];
    return dk_hash(s->prf, tr->p, tr->len, h) == DK_OK &&
           dk_finished_data(s->prf, ms, client, h, out) == DK_OK;
}
