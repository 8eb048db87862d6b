/* The probe's client engine: ClientHellos with any field values, the
 * server's flight absorbed as it arrives, and our flight (Certificate,
 * ClientKeyExchange, CertificateVerify, ChangeCipherSpec, Finished) computed
 * with dtlskit's codecs and key schedule, for ECDHE (ECDSA or RSA) and PSK
 * suites. The server's certificate is not verified: the probe judges
 * protocol behaviour, not identity. */
#include <stdlib.h>
#include <string.h>

#include "probe_cli.h"

static const uint16_t k_groups[] = {DK_GROUP_X25519, DK_GROUP_SECP256R1, DK_GROUP_SECP384R1};
static const uint16_t k_sig_algs[] = {
    DK_SIG_ECDSA_SECP256R1_SHA256, DK_SIG_ECDSA_SECP384R1_SHA384, DK_SIG_RSA_PSS_RSAE_SHA256,
    DK_SIG_RSA_PKCS1_SHA256,       DK_SIG_RSA_PSS_RSAE_SHA384,    DK_SIG_RSA_PKCS1_SHA384,
    DK_SIG_ED25519,
};

static bool load_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    size_t cap = 1 << 16, n = 0;
    char *p = malloc(cap + 1);
    if (p) n = fread(p, 1, cap, f);
    fclose(f);
    if (!p) return false;
    p[n] = 0;
    *out = p;
    *len = n;
    return true;
}

static bool load_creds(pr_cli *c, char *err, size_t errcap)
{
    char *pem = NULL;
    size_t len = 0;
    if (!load_file(c->o->cert, &pem, &len) || dk_chain_from_pem(pem, len, &c->chain) != DK_OK) {
        free(pem);
        snprintf(err, errcap, "cannot load certificate %s", c->o->cert);
        return false;
    }
    free(pem);
    if (!load_file(c->o->key, &pem, &len) || !(c->key = dk_pkey_from_pem(pem, len))) {
        free(pem);
        snprintf(err, errcap, "cannot load key %s", c->o->key);
        return false;
    }
    free(pem);
    return true;
}

bool pr_cli_init(pr_cli *c, pr_wire *w, const pr_opts *o, const pr_scenario *sc, char *err,
                 size_t errcap)
{
    memset(c, 0, sizeof *c);
    c->w = w;
    c->o = o;
    c->sc = sc;
    c->base = -1;
    size_t n_all;
    const dk_suite *const *all = dk_suites_all(&n_all);
    for (size_t i = 0; i < n_all && c->n_suites < DK_ARRAY_LEN(c->suites); i++) {
        bool psk = all[i]->auth == DK_AUTH_PSK;
        if (psk == (o->psk_len > 0)) c->suites[c->n_suites++] = all[i]->id;
    }
    w->absorb = pr_cli_absorb;
    w->absorb_arg = c;
    if (o->cert && o->key && !load_creds(c, err, errcap)) return false;
    return dk_random_bytes(c->random, 32) == DK_OK;
}

static void srv_clear(pr_cli *c)
{
    for (int i = 0; i < PR_SM_N; i++) {
        free(c->srv[i].body);
        memset(&c->srv[i], 0, sizeof c->srv[i]);
    }
    free(c->cert_body);
    c->cert_body = NULL;
    pr_tr_free(&c->tr);
    c->prepared = c->ccs_seen = c->established = c->fin_bad = false;
    c->sh_seen = 0;
}

void pr_cli_free(pr_cli *c)
{
    srv_clear(c);
    for (size_t i = 0; i < c->n_ch; i++) free(c->ch[i].body);
    c->n_ch = 0;
    dk_chain_clear(&c->chain);
    dk_pkey_free(c->key);
    c->key = NULL;
}

void pr_cli_restart(pr_cli *c)
{
    srv_clear(c);
    for (size_t i = 0; i < c->n_ch; i++) free(c->ch[i].body);
    c->n_ch = 0;
    c->next_ch_ms = 0;
    c->have_hvr = false;
    c->hvr_cookie_len = 0;
    c->base = -1;
    c->alert_seen = c->dead = false;
    c->w->wepoch = 0;
    c->w->wseq[1] = 0;
    pr_keys_clear(&c->w->keys);
    c->hs_start = c->w->n_obs;
    if (dk_random_bytes(c->random, 32) != DK_OK) c->random[0] ^= 1;
}

pr_ch_sent *pr_cli_last_ch(pr_cli *c) { return c->n_ch ? &c->ch[c->n_ch - 1] : NULL; }

/* ---- ClientHello ------------------------------------------------------------- */

static void write_u16_list(dk_writer *w, const uint16_t *v, size_t n, bool reverse)
{
    size_t m = dk_write_vec_open(w, 2);
    for (size_t i = 0; i < n; i++) dk_write_u16(w, v[reverse ? n - 1 - i : i]);
    dk_write_vec_close(w, m, 2);
}

static void write_exts(pr_cli *c, dk_writer *w, uint32_t mut)
{
    size_t block = dk_write_vec_open(w, 2);
    dk_write_u16(w, DK_EXT_SUPPORTED_GROUPS);
    size_t e = dk_write_vec_open(w, 2);
    write_u16_list(w, k_groups, DK_ARRAY_LEN(k_groups), false);
    dk_write_vec_close(w, e, 2);
    dk_write_u16(w, DK_EXT_EC_POINT_FORMATS);
    dk_write_u16(w, 2);
    dk_write_u8(w, 1);
    dk_write_u8(w, 0); /* uncompressed */
    dk_write_u16(w, DK_EXT_SIGNATURE_ALGORITHMS);
    e = dk_write_vec_open(w, 2);
    write_u16_list(w, k_sig_algs, DK_ARRAY_LEN(k_sig_algs), false);
    dk_write_vec_close(w, e, 2);
    dk_write_u16(w, DK_EXT_EXTENDED_MASTER_SECRET);
    dk_write_u16(w, 0);
    dk_write_u16(w, DK_EXT_RENEGOTIATION_INFO);
    dk_write_u16(w, 1);
    dk_write_u8(w, 0);
    if (mut & PR_MUT_BIG) { /* RFC 7685 padding: a ClientHello of about 3 KB */
        dk_write_u16(w, 21);
        dk_write_u16(w, 3000);
        uint8_t *p = dk_write_reserve(w, 3000);
        if (p) memset(p, 0, 3000);
    }
    dk_write_vec_close(w, block, 2);
}

/* struct { ProtocolVersion client_version; Random random; SessionID session_id;
 *          opaque cookie<0..2^8-1>; CipherSuite cipher_suites<2..2^16-2>;
 *          CompressionMethod compression_methods<1..2^8-1>; Extension extensions<0..2^16-1>; } */
static size_t ch_body(pr_cli *c, const uint8_t *cookie, size_t ck_len, uint32_t mut, uint8_t *out,
                      size_t cap)
{
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_write_u16(&w, DK_DTLS12);
    dk_write_bytes(&w, c->random, 32);
    dk_write_u8(&w, 0);
    if (mut & PR_MUT_BADCKLEN) { /* T28: a cookie longer than what follows */
        dk_write_u8(&w, 0xFF);
        dk_write_bytes(&w, c->random, 10);
        return dk_writer_status(&w) == DK_OK ? w.off : 0;
    }
    size_t m = dk_write_vec_open(&w, 1);
    dk_write_bytes(&w, cookie, ck_len);
    dk_write_vec_close(&w, m, 1);
    write_u16_list(&w, c->suites, c->n_suites, mut & PR_MUT_SUITES);
    dk_write_u8(&w, 1);
    dk_write_u8(&w, 0);
    write_exts(c, &w, mut);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

static void pick_cookie(pr_cli *c, uint8_t which, uint8_t *ck, size_t *len)
{
    *len = 0;
    if (which == PR_CK_HVR && c->have_hvr) {
        memcpy(ck, c->hvr_cookie, c->hvr_cookie_len);
        *len = c->hvr_cookie_len;
    } else if (which == PR_CK_FIRST && c->base >= 0) {
        memcpy(ck, c->ch[c->base].cookie, c->ch[c->base].cookie_len);
        *len = c->ch[c->base].cookie_len;
    } else if (which == PR_CK_BAD) { /* the right length, the wrong bytes */
        *len = c->have_hvr ? c->hvr_cookie_len : 32;
        for (size_t i = 0; i < *len; i++) ck[i] = (uint8_t)(0xA5 ^ i);
    } else if (which == PR_CK_LONG) {
        *len = 255;
        memset(ck, 0x5A, 255);
    }
}

/* Fragment boundaries [start, end) in sending order. */
static size_t ch_fragments(uint8_t frag, size_t L, size_t st[4], size_t en[4])
{
    size_t a = L / 3, b = 2 * L / 3;
    if (frag == PR_FR_3OOO) { /* third, first, second; each overlaps the next by 8 bytes */
        st[0] = b, en[0] = L;
        st[1] = 0, en[1] = DK_MIN(a + 8, L);
        st[2] = a, en[2] = DK_MIN(b + 8, L);
        return 3;
    }
    if (frag == PR_FR_3EARLY) { /* the offset-0 fragment stops inside the random */
        st[0] = 16, en[0] = L / 2 + 4;
        st[1] = L / 2, en[1] = L;
        st[2] = 0, en[2] = 20;
        return 3;
    }
    st[0] = 0, en[0] = L;
    return 1;
}

static bool send_ch_records(pr_cli *c, const pr_step *st, uint16_t ms, uint64_t rs,
                            const uint8_t *body, size_t L)
{
    size_t s[4], e[4];
    size_t n = ch_fragments(st->frag, L, s, e);
    uint16_t epoch = st->epoch_set ? st->epoch : 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t rec[PR_DG_MAX];
        size_t len = pr_hs_bytes(rec, sizeof rec, DK_HT_CLIENT_HELLO, (uint32_t)L, ms,
                                 (uint32_t)s[i], (uint32_t)(e[i] - s[i]), body);
        if (!len || !pr_send_record(c->w, DK_CT_HANDSHAKE, epoch, rs + i, true, rec, len))
            return false;
    }
    return true;
}

bool pr_cli_send_ch(pr_cli *c, const pr_step *st)
{
    if (st->mut & PR_MUT_FRESH) pr_cli_restart(c);
    if (c->n_ch == PR_MAX_CH) return false;
    pr_ch_sent *h = &c->ch[c->n_ch];
    uint8_t ck[255];
    size_t ck_len;
    pick_cookie(c, st->cookie, ck, &ck_len);
    uint8_t body[4096];
    size_t L = ch_body(c, ck, ck_len, st->mut, body, sizeof body);
    if (!L) return false;
    h->ms = st->ms_set ? st->ms : c->next_ch_ms;
    h->rs = st->rs_set ? st->rs : c->w->wseq[0];
    h->fragmented = st->frag != PR_FR_NONE;
    h->body = malloc(L);
    if (!h->body) return false;
    memcpy(h->body, body, L);
    h->len = L;
    memcpy(h->cookie, ck, ck_len);
    h->cookie_len = (uint8_t)ck_len;
    c->n_ch++;
    c->next_ch_ms = (uint16_t)(h->ms + 1);
    pr_vlog(c->w, "send ClientHello ms=%u rs=%llu cookie=%zu bytes len=%zu%s", h->ms,
            (unsigned long long)h->rs, ck_len, L, h->fragmented ? " (fragmented)" : "");
    pr_wire_flight_begin(c->w);
    bool ok = send_ch_records(c, st, h->ms, h->rs, body, L);
    c->w->flight_open = false;
    return ok;
}

/* ---- what the server sends ----------------------------------------------------- */

static void keep_msg(pr_srv_msg *m, const pr_obs *ob)
{
    if (m->have) return;
    m->body = malloc(ob->len ? ob->len : 1);
    if (!m->body) return;
    if (ob->len) memcpy(m->body, ob->data, ob->len);
    m->len = ob->len;
    m->ms = ob->ms;
    m->rs = ob->rs;
    m->have = true;
}

static void on_hvr(pr_cli *c, const pr_obs *ob)
{
    dk_reader r;
    dk_reader_init(&r, ob->data, ob->len);
    dk_hello_verify hv;
    if (dk_hello_verify_read(&r, &hv) != DK_OK) return;
    c->have_hvr = true;
    c->hvr_version = hv.version;
    memcpy(c->hvr_cookie, hv.cookie, hv.cookie_len);
    c->hvr_cookie_len = hv.cookie_len;
}

static void on_server_hello(pr_cli *c, const pr_obs *ob)
{
    if (ob->len < 34) return;
    if (c->srv[PR_SM_SH].have && memcmp(ob->data + 2, c->sh_random, 32) == 0) {
        c->sh_seen++;
        return;
    }
    srv_clear(c);
    c->new_sh++;
    c->sh_seen = 1;
    memcpy(c->sh_random, ob->data + 2, 32);
    keep_msg(&c->srv[PR_SM_SH], ob);
    /* The ClientHello this flight answers: same message_seq (R6), else the latest. */
    c->base = c->n_ch ? (int)c->n_ch - 1 : -1;
    for (size_t i = c->n_ch; i-- > 0;)
        if (c->ch[i].ms == ob->ms) {
            c->base = (int)i;
            break;
        }
}

static void on_server_finished(pr_cli *c, const pr_obs *ob)
{
    if (!c->prepared || ob->old_keys) return;
    uint8_t want[12];
    bool ok = ob->len == 12 && pr_finished(c->suite, c->master, false, &c->tr, want) &&
         memcmp(want, ob->data, 12) == 0;
    if (ok) c->established = true;
    else c->fin_bad = true;
}

static void on_message(pr_cli *c, const pr_obs *ob)
{
    if (ob->epoch != 0) {
        if (ob->hs_type == DK_HT_FINISHED) on_server_finished(c, ob);
        return;
    }
    switch (ob->hs_type) {
    case DK_HT_HELLO_VERIFY_REQUEST: on_hvr(c, ob); break;
    case DK_HT_SERVER_HELLO: on_server_hello(c, ob); break;
    case DK_HT_CERTIFICATE:
        if (c->srv[PR_SM_SH].have) keep_msg(&c->srv[PR_SM_CERT], ob);
        break;
    case DK_HT_SERVER_KEY_EXCHANGE:
        if (c->srv[PR_SM_SH].have) keep_msg(&c->srv[PR_SM_SKE], ob);
        break;
    case DK_HT_CERTIFICATE_REQUEST:
        if (c->srv[PR_SM_SH].have) keep_msg(&c->srv[PR_SM_CR], ob);
        break;
    case DK_HT_SERVER_HELLO_DONE:
        if (c->srv[PR_SM_SH].have) keep_msg(&c->srv[PR_SM_SHD], ob);
        break;
    default: break;
    }
}

void pr_cli_absorb(void *arg, const pr_obs *ob)
{
    pr_cli *c = arg;
    if (ob->kind == PR_O_MSG) on_message(c, ob);
    if (ob->kind == PR_O_CCS && c->prepared) c->ccs_seen = true;
    if (ob->kind == PR_O_ALERT) {
        c->alert_seen = true;
        c->alert_level = ob->level;
        c->alert_desc = ob->desc;
        if (ob->level == 2 || ob->desc == 0) c->dead = true;
    }
}

bool pr_cli_flight_ready(const pr_cli *c)
{
    return c->srv[PR_SM_SH].have && c->srv[PR_SM_SHD].have;
}
