/* Raw datagrams for conformance tests (see dk_craft.h). */
#include "dk_craft.h"

#include <stdlib.h>
#include <string.h>

#include "core/dk_core.h"
#include "handshake/dk_msg.h"
#include "record/dk_record.h"

/* ---- datagram lists ------------------------------------------------------ */

void dk_dgl_push(dk_dgl *l, const uint8_t *p, size_t len)
{
    if (l->n >= DK_DGL_MAX) abort(); /* a test that loops forever */
    l->p[l->n] = malloc(len ? len : 1);
    if (!l->p[l->n]) abort();
    if (len) memcpy(l->p[l->n], p, len);
    l->len[l->n++] = len;
}

bool dk_dgl_pop(dk_dgl *l, uint8_t *out, size_t *len)
{
    if (l->n == 0) return false;
    size_t n = l->len[0] <= DK_DG_CAP ? l->len[0] : DK_DG_CAP;
    memcpy(out, l->p[0], n);
    *len = n;
    free(l->p[0]);
    memmove(&l->p[0], &l->p[1], (l->n - 1) * sizeof l->p[0]);
    memmove(&l->len[0], &l->len[1], (l->n - 1) * sizeof l->len[0]);
    l->n--;
    return true;
}

void dk_dgl_append(dk_dgl *dst, const dk_dgl *src)
{
    for (size_t i = 0; i < src->n; i++) dk_dgl_push(dst, src->p[i], src->len[i]);
}

void dk_dgl_clear(dk_dgl *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->p[i]);
    l->n = 0;
}

/* ---- observations ---------------------------------------------------------- */

static dk_obs *obs_new(dk_obsl *out, size_t dgram, const uint8_t *hdr)
{
    if (out->n >= DK_OBS_MAX) return NULL;
    dk_obs *o = &out->o[out->n++];
    memset(o, 0, sizeof *o);
    o->dgram = dgram;
    o->ct = hdr[0];
    o->version = dk_load_u16(hdr + 1);
    o->epoch = dk_load_u16(hdr + 3);
    o->rseq = dk_load_u48(hdr + 5);
    o->rlen = dk_load_u16(hdr + 11);
    return o;
}

static void parse_hvr(dk_obs *o, const uint8_t *frag)
{
    dk_reader r;
    dk_reader_init(&r, frag, o->flen);
    dk_hello_verify hv;
    if (o->foff != 0 || o->flen != o->hs_len || dk_hello_verify_read(&r, &hv) != DK_OK) return;
    o->hvr_version = hv.version;
    o->cookie_len = hv.cookie_len;
    memcpy(o->cookie, hv.cookie, hv.cookie_len);
}

/* Each handshake fragment of a plaintext record becomes one observation. */
static void parse_handshake(dk_obsl *out, size_t dgram, const uint8_t *hdr, const uint8_t *p,
                            size_t len)
{
    dk_reader r;
    dk_reader_init(&r, p, len);
    do {
        dk_hs_header h;
        const uint8_t *frag;
        if (dk_hs_header_read(&r, &h, &frag) != DK_OK) {
            out->malformed++;
            return;
        }
        dk_obs *o = obs_new(out, dgram, hdr);
        if (!o) return;
        o->hs = true;
        o->hs_type = h.type;
        o->hs_len = h.length;
        o->ms = h.seq;
        o->foff = h.frag_offset;
        o->flen = h.frag_length;
        if (h.type == DK_HT_HELLO_VERIFY_REQUEST) parse_hvr(o, frag);
    } while (dk_reader_left(&r) > 0);
}

static void parse_record(dk_obsl *out, size_t dgram, const uint8_t *hdr, const uint8_t *p,
                         size_t len)
{
    uint16_t epoch = dk_load_u16(hdr + 3);
    if (epoch == 0 && hdr[0] == DK_CT_HANDSHAKE) {
        parse_handshake(out, dgram, hdr, p, len);
        return;
    }
    dk_obs *o = obs_new(out, dgram, hdr);
    if (!o || epoch != 0) return;
    if (hdr[0] == DK_CT_ALERT && len == 2) {
        o->alert = true;
        o->alert_level = p[0];
        o->alert_desc = p[1];
    }
    if (hdr[0] == DK_CT_CHANGE_CIPHER_SPEC && len == 1 && p[0] == 1) o->ccs = true;
}

void dk_obs_parse_one(dk_obsl *out, const uint8_t *dg, size_t len, size_t dgram_index)
{
    dk_reader r;
    dk_reader_init(&r, dg, len);
    while (dk_reader_left(&r) > 0) {
        const uint8_t *hdr, *body;
        uint16_t rlen;
        if (dk_read_bytes(&r, 11, &hdr) != DK_OK || dk_read_u16(&r, &rlen) != DK_OK ||
            dk_read_bytes(&r, rlen, &body) != DK_OK) {
            out->malformed++;
            return;
        }
        parse_record(out, dgram_index, hdr, body, rlen);
    }
}

void dk_obs_parse(dk_obsl *out, const dk_dgl *l)
{
    out->n = 0;
    out->malformed = 0;
    for (size_t i = 0; i < l->n; i++) dk_obs_parse_one(out, l->p[i], l->len[i], i);
}

static bool obs_match(const dk_obs *o, int ct, int hs_type)
{
    if (ct >= 0 && o->ct != ct) return false;
    if (hs_type >= 0 && (!o->hs || o->hs_type != hs_type)) return false;
    return true;
}

size_t dk_obs_count(const dk_obsl *l, int ct, int hs_type)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++) n += obs_match(&l->o[i], ct, hs_type);
    return n;
}

const dk_obs *dk_obs_find(const dk_obsl *l, int ct, int hs_type, size_t nth)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!obs_match(&l->o[i], ct, hs_type)) continue;
        if (nth-- == 0) return &l->o[i];
    }
    return NULL;
}

void dk_obs_dump(const dk_obsl *l, FILE *f)
{
    for (size_t i = 0; i < l->n; i++) {
        const dk_obs *o = &l->o[i];
        fprintf(f, "  dg%zu ct=%u ver=%04x ep=%u rs=%llu len=%u", o->dgram, o->ct, o->version,
                o->epoch, (unsigned long long)o->rseq, o->rlen);
        if (o->hs)
            fprintf(f, " %s ms=%u len=%u frag=%u+%u", dk_hs_type_name(o->hs_type), o->ms, o->hs_len,
                    o->foff, o->flen);
        if (o->alert) fprintf(f, " alert %u/%u", o->alert_level, o->alert_desc);
        fprintf(f, "\n");
    }
    if (l->malformed) fprintf(f, "  (%zu malformed)\n", l->malformed);
}

/* ---- building ------------------------------------------------------------- */

size_t dk_craft_record(uint8_t *out, size_t cap, uint8_t ct, uint16_t version, uint16_t epoch,
                       uint64_t rseq, const uint8_t *payload, size_t len)
{
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_write_u8(&w, ct);
    dk_write_u16(&w, version);
    dk_write_u16(&w, epoch);
    dk_write_u48(&w, rseq);
    dk_write_u16(&w, (uint16_t)len);
    dk_write_bytes(&w, payload, len);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

size_t dk_craft_handshake(uint8_t *out, size_t cap, uint8_t type, uint32_t length, uint16_t ms,
                          uint32_t frag_off, uint32_t frag_len, const uint8_t *body)
{
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_hs_header h = {type, length, ms, frag_off, frag_len};
    dk_hs_header_write(&w, &h);
    dk_write_bytes(&w, body + frag_off, frag_len);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

size_t dk_craft_hs_record(uint8_t *out, size_t cap, uint16_t epoch, uint64_t rseq, uint8_t type,
                          uint16_t ms, const uint8_t *body, uint32_t length, uint32_t frag_off,
                          uint32_t frag_len)
{
    uint8_t hs[DK_DG_CAP];
    size_t n = dk_craft_handshake(hs, sizeof hs, type, length, ms, frag_off, frag_len, body);
    if (n == 0) return 0;
    return dk_craft_record(out, cap, DK_CT_HANDSHAKE, DK_DTLS12, epoch, rseq, hs, n);
}

static void write_ext(dk_writer *w, uint16_t type, const uint8_t *data, size_t len)
{
    dk_write_u16(w, type);
    dk_write_u16(w, (uint16_t)len);
    dk_write_bytes(w, data, len);
}

static void write_exts(dk_writer *w, const dk_craft_ch *ch)
{
    size_t mark = dk_write_vec_open(w, 2);
    if (ch->ems) write_ext(w, DK_EXT_EXTENDED_MASTER_SECRET, NULL, 0);
    if (ch->n_groups) {
        dk_write_u16(w, DK_EXT_SUPPORTED_GROUPS);
        size_t m = dk_write_vec_open(w, 2);
        size_t l = dk_write_vec_open(w, 2);
        for (size_t i = 0; i < ch->n_groups; i++) dk_write_u16(w, ch->groups[i]);
        dk_write_vec_close(w, l, 2);
        dk_write_vec_close(w, m, 2);
        static const uint8_t uncompressed[] = {1, 0};
        write_ext(w, DK_EXT_EC_POINT_FORMATS, uncompressed, sizeof uncompressed);
    }
    if (ch->pad_len) {
        dk_write_u16(w, 0xFA5A);
        dk_write_u16(w, (uint16_t)ch->pad_len);
        uint8_t *p = dk_write_reserve(w, ch->pad_len);
        if (p) memset(p, 0x5A, ch->pad_len);
    }
    dk_write_vec_close(w, mark, 2);
}

size_t dk_craft_ch_body(uint8_t *out, size_t cap, const dk_craft_ch *ch)
{
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_write_u16(&w, ch->version);
    dk_write_bytes(&w, ch->random, 32);
    dk_write_u8(&w, ch->session_id_len);
    dk_write_bytes(&w, ch->session_id, ch->session_id_len);
    dk_write_u8(&w, ch->cookie_len);
    dk_write_bytes(&w, ch->cookie, ch->cookie_len);
    dk_write_u16(&w, (uint16_t)(2 * ch->n_suites));
    for (size_t i = 0; i < ch->n_suites; i++) dk_write_u16(&w, ch->suites[i]);
    dk_write_u8(&w, 1);
    dk_write_u8(&w, 0); /* null compression */
    write_exts(&w, ch);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

/* ---- editing --------------------------------------------------------------- */

size_t dk_craft_records(const uint8_t *dg, size_t len, size_t *off, size_t *size, size_t max)
{
    size_t n = 0, at = 0;
    while (n < max && at + DK_RECORD_HEADER_LEN <= len) {
        size_t total = DK_RECORD_HEADER_LEN + dk_load_u16(dg + at + 11);
        if (at + total > len) break;
        off[n] = at;
        size[n] = total;
        n++;
        at += total;
    }
    return n;
}

static uint8_t *record_at(uint8_t *dg, size_t len, size_t idx, size_t *size)
{
    size_t off[64], sz[64];
    size_t n = dk_craft_records(dg, len, off, sz, 64);
    if (idx >= n) return NULL;
    if (size) *size = sz[idx];
    return dg + off[idx];
}

size_t dk_craft_extract(const uint8_t *dg, size_t len, size_t idx, uint8_t *out, size_t cap)
{
    size_t sz;
    const uint8_t *r = record_at((uint8_t *)dg, len, idx, &sz);
    if (!r || sz > cap) return 0;
    memcpy(out, r, sz);
    return sz;
}

bool dk_craft_set_ct(uint8_t *dg, size_t len, size_t idx, uint8_t ct)
{
    uint8_t *r = record_at(dg, len, idx, NULL);
    if (r) r[0] = ct;
    return r != NULL;
}

bool dk_craft_set_epoch(uint8_t *dg, size_t len, size_t idx, uint16_t epoch)
{
    uint8_t *r = record_at(dg, len, idx, NULL);
    if (r) dk_store_u16(r + 3, epoch);
    return r != NULL;
}

bool dk_craft_set_rseq(uint8_t *dg, size_t len, size_t idx, uint64_t rseq)
{
    uint8_t *r = record_at(dg, len, idx, NULL);
    if (r) dk_store_u48(r + 5, rseq);
    return r != NULL;
}

bool dk_craft_set_rlen(uint8_t *dg, size_t len, size_t idx, uint16_t rlen)
{
    uint8_t *r = record_at(dg, len, idx, NULL);
    if (r) dk_store_u16(r + 11, rlen);
    return r != NULL;
}

bool dk_craft_set_ms(uint8_t *dg, size_t len, size_t idx, uint16_t ms)
{
    size_t sz;
    uint8_t *r = record_at(dg, len, idx, &sz);
    if (!r || sz < DK_RECORD_HEADER_LEN + DK_HS_HEADER_LEN) return false;
    dk_store_u16(r + DK_RECORD_HEADER_LEN + 4, ms);
    return true;
}

uint8_t *dk_craft_hs_body(uint8_t *dg, size_t len, size_t idx, uint32_t *body_len, uint16_t *ms,
                          uint8_t *type)
{
    size_t sz;
    uint8_t *r = record_at(dg, len, idx, &sz);
    if (!r || r[0] != DK_CT_HANDSHAKE) return NULL;
    dk_reader rd;
    dk_reader_init(&rd, r + DK_RECORD_HEADER_LEN, sz - DK_RECORD_HEADER_LEN);
    dk_hs_header h;
    const uint8_t *frag;
    if (dk_hs_header_read(&rd, &h, &frag) != DK_OK) return NULL;
    if (h.frag_offset != 0 || h.frag_length != h.length) return NULL;
    if (body_len) *body_len = h.length;
    if (ms) *ms = h.seq;
    if (type) *type = h.type;
    return (uint8_t *)frag;
}

static bool ch_parse(const uint8_t *body, size_t len, dk_client_hello *ch)
{
    dk_reader r;
    dk_reader_init(&r, body, len);
    return dk_client_hello_read(&r, ch) == DK_OK;
}

size_t dk_craft_ch_cookie_offset(const uint8_t *body, size_t len)
{
    dk_client_hello ch;
    return ch_parse(body, len, &ch) ? ch.cookie_offset : 0;
}

size_t dk_craft_ch_suites_offset(const uint8_t *body, size_t len)
{
    dk_client_hello ch;
    return ch_parse(body, len, &ch) ? (size_t)(ch.suites - body) - 2 : 0;
}

size_t dk_craft_ch_with_cookie(const uint8_t *body, size_t len, const uint8_t *cookie,
                               size_t cookie_len, uint8_t *out, size_t cap)
{
    dk_client_hello ch;
    if (!ch_parse(body, len, &ch) || cookie_len > 255) return 0;
    size_t after = ch.cookie_offset + 1 + ch.cookie_len;
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_write_bytes(&w, body, ch.cookie_offset);
    dk_write_u8(&w, (uint8_t)cookie_len);
    dk_write_bytes(&w, cookie, cookie_len);
    dk_write_bytes(&w, body + after, len - after);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}

size_t dk_craft_ch_inflate(const uint8_t *body, size_t len, uint16_t ext_type, size_t ext_len,
                           uint8_t *out, size_t cap)
{
    dk_client_hello ch;
    if (!ch_parse(body, len, &ch)) return 0;
    size_t ext_block = len > ch.params_end ? len - ch.params_end - 2 : 0;
    dk_writer w;
    dk_writer_init(&w, out, cap);
    dk_write_bytes(&w, body, ch.params_end);
    dk_write_u16(&w, (uint16_t)(ext_block + 4 + ext_len));
    if (ext_block) dk_write_bytes(&w, body + ch.params_end + 2, ext_block);
    dk_write_u16(&w, ext_type);
    dk_write_u16(&w, (uint16_t)ext_len);
    uint8_t *p = dk_write_reserve(&w, ext_len);
    if (p) memset(p, 0xA5, ext_len);
    return dk_writer_status(&w) == DK_OK ? w.off : 0;
}
