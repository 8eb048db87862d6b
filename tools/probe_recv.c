/* The probe's receive path: datagram -> records -> (decrypted) content ->
 * observations, with handshake fragments reassembled into whole messages.
 * Nothing here judges; the steps do. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "probe.h"

static pr_obs *obs_add(pr_wire *w, pr_okind kind, const dk_record *rec)
{
    if (w->n_obs == w->cap_obs) {
        size_t cap = w->cap_obs ? w->cap_obs * 2 : 256;
        pr_obs *p = realloc(w->obs, cap * sizeof *p);
        if (!p) return NULL;
        w->obs = p;
        w->cap_obs = cap;
    }
    pr_obs *ob = &w->obs[w->n_obs++];
    memset(ob, 0, sizeof *ob);
    ob->t = pr_wire_elapsed(w);
    ob->dgram = w->n_dgrams;
    ob->kind = kind;
    if (rec) {
        ob->ct = rec->type;
        ob->version = rec->version;
        ob->epoch = rec->epoch;
        ob->rs = rec->seq;
    }
    return ob;
}

static void obs_data(pr_obs *ob, const uint8_t *p, size_t len)
{
    ob->data = malloc(len ? len : 1);
    if (ob->data) {
        if (len) memcpy(ob->data, p, len);
        ob->len = len;
    }
}

static void emit(pr_wire *w, pr_obs *ob)
{
    if (w->absorb && ob) w->absorb(w->absorb_arg, ob);
}

/* A whole message: from one unfragmented fragment or a completed slot. */
static void emit_msg(pr_wire *w, const dk_record *rec, uint8_t type, uint16_t ms, uint64_t rs,
                     const uint8_t *body, uint32_t len, bool old_keys)
{
    pr_obs *ob = obs_add(w, PR_O_MSG, rec);
    if (!ob) return;
    ob->rs = rs;
    ob->hs_type = type;
    ob->hs_len = len;
    ob->ms = ms;
    ob->flen = len;
    ob->old_keys = old_keys;
    obs_data(ob, body, len);
    pr_vlog(w, "recv %s ms=%u rs=%llu epoch=%u len=%u", pr_hs_name(type), ms,
            (unsigned long long)rs, rec->epoch, len);
    emit(w, ob);
}

static pr_asm *asm_slot(pr_wire *w, const dk_record *rec, const dk_hs_header *h)
{
    pr_asm *free_slot = NULL;
    for (size_t i = 0; i < PR_ASM_SLOTS; i++) {
        pr_asm *a = &w->as[i];
        if (!a->used) {
            if (!free_slot) free_slot = a;
            continue;
        }
        if (a->type == h->type && a->ms == h->seq && a->epoch == rec->epoch && a->len == h->length)
            return a;
    }
    if (!free_slot || h->length > (1u << 20)) return NULL;
    free_slot->body = calloc(1, h->length);
    free_slot->bits = calloc(1, h->length / 8 + 1);
    if (!free_slot->body || !free_slot->bits) {
        free(free_slot->body);
        free(free_slot->bits);
        free_slot->body = free_slot->bits = NULL;
        return NULL;
    }
    free_slot->used = true;
    free_slot->type = h->type;
    free_slot->ms = h->seq;
    free_slot->epoch = rec->epoch;
    free_slot->len = h->length;
    free_slot->have = 0;
    free_slot->rs = rec->seq;
    return free_slot;
}

static void reassemble(pr_wire *w, const dk_record *rec, const dk_hs_header *h,
                       const uint8_t *frag, bool old_keys)
{
    if (h->frag_offset == 0 && h->frag_length == h->length) {
        emit_msg(w, rec, h->type, h->seq, rec->seq, frag, h->length, old_keys);
        return;
    }
    pr_asm *a = asm_slot(w, rec, h);
    if (!a) return;
    if (h->frag_offset == 0) a->rs = rec->seq;
    for (uint32_t i = 0; i < h->frag_length; i++) {
        uint32_t at = h->frag_offset + i;
        if (a->bits[at / 8] & (1u << (at % 8))) continue;
        a->bits[at / 8] |= (uint8_t)(1u << (at % 8));
        a->body[at] = frag[i];
        a->have++;
    }
    if (a->have < a->len) return;
    emit_msg(w, rec, a->type, a->ms, a->rs, a->body, a->len, old_keys);
    free(a->body);
    free(a->bits);
    memset(a, 0, sizeof *a);
}

static void parse_handshake(pr_wire *w, const dk_record *rec, const uint8_t *p, size_t len,
                            bool old_keys)
{
    dk_reader r;
    dk_reader_init(&r, p, len);
    while (dk_reader_left(&r) > 0) {
        dk_hs_header h;
        const uint8_t *frag;
        if (dk_hs_header_read(&r, &h, &frag) != DK_OK) {
            emit(w, obs_add(w, PR_O_BAD, rec));
            return;
        }
        pr_obs *ob = obs_add(w, PR_O_HS, rec);
        if (!ob) return;
        ob->hs_type = h.type;
        ob->hs_len = h.length;
        ob->ms = h.seq;
        ob->foff = h.frag_offset;
        ob->flen = h.frag_length;
        ob->old_keys = old_keys;
        obs_data(ob, frag, h.frag_length);
        emit(w, ob);
        reassemble(w, rec, &h, frag, old_keys);
    }
}

static void parse_content(pr_wire *w, const dk_record *rec, const uint8_t *pt, size_t len,
                          bool old_keys)
{
    pr_obs *ob;
    switch (rec->type) {
    case DK_CT_HANDSHAKE: parse_handshake(w, rec, pt, len, old_keys); return;
    case DK_CT_CHANGE_CIPHER_SPEC:
        ob = obs_add(w, len == 1 && pt[0] == 1 ? PR_O_CCS : PR_O_BAD, rec);
        pr_vlog(w, "recv ChangeCipherSpec epoch=%u rs=%llu", rec->epoch,
                (unsigned long long)rec->seq);
        break;
    case DK_CT_ALERT:
        ob = obs_add(w, len == 2 ? PR_O_ALERT : PR_O_BAD, rec);
        if (ob && len == 2) {
            ob->level = pt[0];
            ob->desc = pt[1];
            pr_vlog(w, "recv alert %s(%u) level=%u epoch=%u", pr_alert_name(pt[1]), pt[1], pt[0],
                    rec->epoch);
        }
        break;
    case DK_CT_APPLICATION_DATA:
        ob = obs_add(w, PR_O_APP, rec);
        if (ob) obs_data(ob, pt, len);
        pr_vlog(w, "recv application data epoch=%u len=%zu", rec->epoch, len);
        break;
    default: ob = obs_add(w, PR_O_BAD, rec); break;
    }
    if (ob) ob->old_keys = old_keys;
    emit(w, ob);
}

/* Epoch >= 1: try the current keys, then the saved association's. */
static void parse_protected(pr_wire *w, dk_record *rec)
{
    const pr_keys *ks[2] = {&w->keys, &w->old};
    uint8_t copy[PR_DG_MAX];
    memcpy(copy, rec->fragment, rec->length);
    for (int i = 0; i < 2; i++) {
        if (!ks[i]->ready) continue;
        memcpy(rec->fragment, copy, rec->length);
        uint8_t *pt;
        size_t len;
        if (dk_record_open(&ks[i]->r, rec, &pt, &len) == DK_OK) {
            parse_content(w, rec, pt, len, i == 1);
            return;
        }
    }
    pr_vlog(w, "recv undecryptable record ct=%u epoch=%u rs=%llu", rec->type, rec->epoch,
            (unsigned long long)rec->seq);
    emit(w, obs_add(w, PR_O_OPAQUE, rec));
}

static void parse_datagram(pr_wire *w, uint8_t *d, size_t len)
{
    dk_reader r;
    dk_reader_init(&r, d, len);
    while (dk_reader_left(&r) > 0) {
        size_t before = r.off;
        dk_record rec;
        if (dk_record_next(&r, &rec) != DK_OK) {
            emit(w, obs_add(w, PR_O_BAD, NULL));
            if (r.off == before) break;
            continue;
        }
        if (rec.epoch == 0) parse_content(w, &rec, rec.fragment, rec.length, false);
        else parse_protected(w, &rec);
    }
    w->n_dgrams++;
}

static bool same_addr(const struct sockaddr_in *a, const struct sockaddr_in *b)
{
    return a->sin_addr.s_addr == b->sin_addr.s_addr && a->sin_port == b->sin_port;
}

bool pr_wire_recv(pr_wire *w, uint64_t deadline)
{
    for (;;) {
        uint64_t now = pr_now_ms();
        if (now >= deadline) return false;
        struct pollfd pfd = {.fd = w->fd, .events = POLLIN};
        int n = poll(&pfd, 1, (int)(deadline - now));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        uint8_t d[65536];
        struct sockaddr_in src;
        socklen_t sl = sizeof src;
        ssize_t got = recvfrom(w->fd, d, sizeof d, MSG_DONTWAIT, (struct sockaddr *)&src, &sl);
        if (got < 0) continue; /* ICMP errors on a peer that went away */
        pr_pcap_write(w->pcap, &src, &w->local, d, (size_t)got);
        if (w->have_stale && same_addr(&src, &w->stale)) continue;
        if (w->serve && !w->have_peer) {
            w->peer = src;
            w->have_peer = true;
        }
        if (!same_addr(&src, &w->peer)) {
            if (!w->accept_new) continue;
            w->peer = src;
            w->peer_changed = true;
            w->accept_new = false;
        }
        parse_datagram(w, d, (size_t)got);
        return true;
    }
}
