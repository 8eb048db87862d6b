/* Seed corpora for the fuzz harnesses, made from real handshakes.
 *
 *   fuzz_gen_corpus OUTDIR      writes OUTDIR/<harness>/<name>
 *
 * Engine seeds: dk_sim runs full handshakes (PSK, ECDHE-PSK, ECDSA and RSA
 * certificates, client authentication, small MTU, a second handshake from
 * the same peer) with application data, and its tap records every datagram.
 * The side under test uses the harness's own configuration (fuzz_config.c),
 * so its randomness and therefore its flights are the same when the harness
 * replays the other side's datagrams: every hs-* seed ends established.
 * Variants: .dup (each datagram twice), .retx (a clock advance past the
 * retransmission timer after each datagram), .plain (epoch-1 records in
 * plaintext, for the harness to seal: see fuzz_common.h) and .reneg (.plain
 * and then a renegotiation attempt inside the encryption).
 *
 * Decoder seeds are cut from the same datagrams (records, handshake
 * messages, extension blocks, ClientHellos for the cookie harness, with a
 * cookie minted under fuzz_cookie's key), plus records sealed with
 * fuzz_record's key and hand-written reassembly programs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "conn/dk_conn_int.h"
#include "cookie/dk_cookie.h"
#include "dk_sim.h"
#include "fuzz_common.h"
#include "handshake/dk_msg.h"
#include "record/dk_record.h"

typedef struct buf {
    uint8_t *p;
    size_t len, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    if (n) memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_u8(buf *b, uint8_t v) { buf_add(b, &v, 1); }
static void buf_u16(buf *b, uint16_t v)
{
    uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    buf_add(b, x, 2);
}

/* One engine chunk: a datagram, or a clock advance of ticks * FUZZ_TICK_MS. */
static void buf_chunk(buf *b, const uint8_t *p, size_t n)
{
    buf_u16(b, (uint16_t)n);
    buf_add(b, p, n);
}
static void buf_timer(buf *b, unsigned ticks) { buf_u16(b, (uint16_t)(FUZZ_TIMER_FLAG | ticks)); }

/* ---- output ---------------------------------------------------------------- */

static const char *outdir;
static size_t files_written;

static void mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *s = tmp + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) break;
        *s = '/';
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "mkdir %s: %s\n", tmp, strerror(errno));
        exit(1);
    }
}

/* FNV-1a over harness and content: the same seed is written once. */
static bool seen_before(const char *harness, const uint8_t *p, size_t n)
{
    static uint64_t seen[1024];
    static size_t n_seen;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *s = harness; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    for (size_t i = 0; i < n_seen; i++)
        if (seen[i] == h) return true;
    if (n_seen < DK_ARRAY_LEN(seen)) seen[n_seen++] = h;
    return false;
}

static void write_seed(const char *harness, const char *name, const uint8_t *p, size_t n)
{
    if (seen_before(harness, p, n)) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, harness);
    mkdir_p(path);
    snprintf(path, sizeof path, "%s/%s/%s", outdir, harness, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    files_written++;
}

/* ---- recording ---------------------------------------------------------------- */

#define MAX_DGRAMS 128

typedef struct recording {
    buf d[MAX_DGRAMS];
    int to_server[MAX_DGRAMS];
    size_t n;
    /* the recorded side's write cipher, to turn its epoch-1 records back
     * into plaintext for the .plain variant (plaintext injection) */
    dk_cipher dec;
    bool have_dec;
    /* for the .reneg variant: the next message_seq the harness side expects
     * and the recorded side's next epoch-1 record sequence number */
    uint16_t next_msg_seq;
    uint64_t next_rec_seq;
} recording;

static void tap(void *arg, int to_server, const uint8_t *p, size_t len)
{
    recording *r = arg;
    if (r->n == MAX_DGRAMS) return;
    r->d[r->n].len = 0;
    buf_add(&r->d[r->n], p, len);
    r->to_server[r->n] = to_server;
    r->n++;
}

static void recording_free(recording *r)
{
    if (r->have_dec) dk_cipher_clear(&r->dec);
    for (size_t i = 0; i < MAX_DGRAMS; i++) free(r->d[i].p);
    memset(r, 0, sizeof *r);
}

/* The sender's write cipher (decrypting), from its master secret. */
static void sender_cipher(const dk_conn *c, recording *r)
{
    dk_key_block kb;
    if (!c || !c->have_master ||
        dk_derive_key_block(c->suite, c->master, c->client_random, c->server_random, &kb) != DK_OK)
        return;
    bool client = c->role == DK_ROLE_CLIENT;
    r->have_dec = dk_cipher_init(&r->dec, c->suite->aead, client ? kb.client_key : kb.server_key,
                                 client ? kb.client_iv : kb.server_iv, false) == DK_OK;
    dk_wipe(&kb, sizeof kb);
}

/* A datagram with its epoch-1 records decrypted; false when it has none, or
 * one does not open (then it goes into the seed as it is). */
static bool plain_datagram(recording *r, const buf *d, buf *out)
{
    uint8_t *copy = malloc(d->len + 1);
    memcpy(copy, d->p, d->len);
    dk_reader rd;
    dk_reader_init(&rd, copy, d->len);
    bool any = false, ok = r->have_dec;
    dk_record rec;
    while (ok && dk_reader_left(&rd) > 0 && dk_record_next(&rd, &rec) == DK_OK) {
        uint8_t *pt = rec.fragment;
        size_t pt_len = rec.length;
        if (rec.epoch == 1) {
            any = true;
            ok = dk_record_open(&r->dec, &rec, &pt, &pt_len) == DK_OK;
        }
        uint8_t h[DK_RECORD_HEADER_LEN];
        dk_record_header_write(h, rec.type, rec.version, rec.epoch, rec.seq, (uint16_t)pt_len);
        buf_add(out, h, sizeof h);
        buf_add(out, pt, pt_len);
    }
    free(copy);
    return any && ok && dk_reader_left(&rd) == 0;
}

/* The datagrams one side received, as an engine harness input. */
static void engine_input(recording *r, int to_server, int variant, buf *out)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->to_server[i] != to_server) continue;
        buf plain = {0};
        if (variant == 3 && plain_datagram(r, &r->d[i], &plain)) {
            buf_u16(out, FUZZ_SEAL_MARK);
            buf_chunk(out, plain.p, plain.len);
        } else {
            buf_chunk(out, r->d[i].p, r->d[i].len);
        }
        free(plain.p);
        if (variant == 1) buf_chunk(out, r->d[i].p, r->d[i].len);
        if (variant == 2) buf_timer(out, 1100 / FUZZ_TICK_MS + 1);
    }
}

static void must(dk_result r, const char *what)
{
    if (r == DK_OK) return;
    fprintf(stderr, "gen: %s: %s\n", what, dk_strerror(r));
    exit(1);
}

static void converse(dk_sim *sim, const char *who)
{
    if (!dk_sim_handshake(sim, 20000)) {
        fprintf(stderr, "gen: %s: handshake failed: client: %s / server: %s\n", who,
                dk_conn_error_reason(sim->c), sim->s ? dk_conn_error_reason(sim->s) : "no conn");
        exit(1);
    }
    const char *msg = "hello over dtls\n";
    must(dk_conn_write(sim->c, (const uint8_t *)msg, strlen(msg)), "write");
    dk_sim_drain(sim, sim->c, 1);
    dk_sim_run(sim, 100);
}

/* One handshake (two with reconnect: a fresh client from the same address
 * starts over, R38). The client gets the harness's server name. */
static void record_run(const char *name, dk_config *cc, dk_config *sc, bool reconnect,
                       bool harness_server, recording *r)
{
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 42);
    sim.s_echo = true;
    sim.tap = tap;
    sim.tap_arg = r;
    must(dk_conn_set_server_name(sim.c, FUZZ_SERVER_NAME), "server name");
    must(dk_sim_connect(&sim), "connect");
    converse(&sim, name);
    if (reconnect) {
        dk_conn_free(sim.c);
        sim.c = dk_conn_new(cc, NULL, 0);
        must(dk_conn_set_server_name(sim.c, FUZZ_SERVER_NAME), "server name");
        must(dk_sim_connect(&sim), "reconnect");
        converse(&sim, name);
        if (sim.new_handshakes != 1) {
            fprintf(stderr, "gen: %s: expected one new handshake, saw %zu\n", name,
                    sim.new_handshakes);
            exit(1);
        }
    }
    sender_cipher(harness_server ? sim.c : sim.s, r);
    dk_conn *me = harness_server ? sim.s : sim.c, *peer = harness_server ? sim.c : sim.s;
    r->next_msg_seq = me->next_recv_seq;
    r->next_rec_seq = peer->wseq[1];
    dk_sim_free(&sim);
}

/* ---- decoder seeds cut from the recordings ------------------------------- */

typedef struct harvest {
    unsigned per_type[256];
    unsigned records, headers, exts, cookies;
} harvest;

static harvest hv;

static void seed_msg(uint8_t sel, const char *what, const uint8_t *prefix, size_t plen,
                     const uint8_t *body, size_t len)
{
    buf b = {0};
    buf_u8(&b, sel);
    buf_add(&b, prefix, plen);
    buf_add(&b, body, len);
    char name[96];
    snprintf(name, sizeof name, "%s-%u", what, hv.per_type[sel]++);
    write_seed("hs_msg", name, b.p, b.len);
    free(b.p);
}

/* Selector of fuzz_hs_msg.c for a message that decodes with it. */
static void seed_kx(uint8_t type, const uint8_t *body, size_t len)
{
    for (int kind = 0; kind < 3; kind++) {
        dk_reader r;
        dk_reader_init(&r, body, len);
        dk_server_key_exchange ske;
        dk_client_key_exchange cke;
        dk_result rc = type == DK_HT_SERVER_KEY_EXCHANGE
                           ? dk_server_key_exchange_read(&r, (dk_kx_kind)kind, &ske)
                           : dk_client_key_exchange_read(&r, (dk_kx_kind)kind, &cke);
        if (rc != DK_OK || hv.per_type[(type == DK_HT_SERVER_KEY_EXCHANGE ? 5 : 8) + kind] >= 2)
            continue;
        static const char *const names[2][3] = {{"SKE-ecdhe", "SKE-psk", "SKE-ecdhe_psk"},
                                                {"CKE-ecdhe", "CKE-psk", "CKE-ecdhe_psk"}};
        int t = type == DK_HT_SERVER_KEY_EXCHANGE ? 0 : 1;
        seed_msg((uint8_t)((t ? 8 : 5) + kind), names[t][kind], NULL, 0, body, len);
    }
}

static void seed_cookie(const uint8_t *body, size_t len)
{
    if (hv.cookies >= 6) return;
    dk_reader r;
    dk_reader_init(&r, body, len);
    dk_client_hello ch;
    if (dk_client_hello_read(&r, &ch) != DK_OK) return;
    /* peer, now = 1000, tag 0, lifetime 60 s, rotation 300 s, bit 77 */
    static const uint8_t head[] = {6,    0x7f, 0,    0,    1,    0x30, 0x39, 0, 0, 0,
                                   0,    0x03, 0xe8, 0,    0,    0,    0,    0, 0, 0,
                                   0,    0x1d, 0x4c, 0x12, 0x4f, 0,    77};
    buf b = {0};
    buf_add(&b, head, sizeof head);
    buf_add(&b, body, len);
    char name[64];
    snprintf(name, sizeof name, "ch-%u", hv.cookies++);
    write_seed("cookie", name, b.p, b.len);
    /* The same hello carrying a cookie fuzz_cookie's key minted: accepted. */
    dk_cookie_ctx ctx;
    dk_cookie_init(&ctx, fuzz_cookie_master, 1 + 0x1d4c * 8, 1 + 0x124f * 64);
    uint8_t cookie[DK_COOKIE_LEN];
    must(dk_cookie_make(&ctx, 1000, fuzz_peer, FUZZ_PEER_LEN, 0, &ch, cookie), "cookie");
    dk_cookie_clear(&ctx);
    b.len = sizeof head;
    buf_add(&b, body, ch.cookie_offset);
    buf_u8(&b, DK_COOKIE_LEN);
    buf_add(&b, cookie, sizeof cookie);
    size_t rest = ch.cookie_offset + 1 + ch.cookie_len;
    buf_add(&b, body + rest, len - rest);
    snprintf(name, sizeof name, "ch-valid-%u", hv.cookies++);
    write_seed("cookie", name, b.p, b.len);
    free(b.p);
}

/* The extension block of a hello: after its uint16 length. */
static void seed_exts(const uint8_t *body, size_t len, size_t params_end, bool server)
{
    if (hv.exts >= 6 || params_end + 2 > len) return;
    uint8_t flag = server;
    seed_msg(15, server ? "exts-server" : "exts-client", &flag, 1, body + params_end + 2,
             len - params_end - 2);
    hv.exts++;
}

static void seed_whole_message(const dk_hs_header *h, const uint8_t *body)
{
    static const uint8_t sel_of[256] = {[DK_HT_HELLO_REQUEST] = 14, [DK_HT_CLIENT_HELLO] = 1,
                                        [DK_HT_SERVER_HELLO] = 2, [DK_HT_HELLO_VERIFY_REQUEST] = 3,
                                        [DK_HT_CERTIFICATE] = 4, [DK_HT_CERTIFICATE_REQUEST] = 11,
                                        [DK_HT_SERVER_HELLO_DONE] = 14,
                                        [DK_HT_CERTIFICATE_VERIFY] = 12};
    uint8_t t = h->type;
    if (t == DK_HT_SERVER_KEY_EXCHANGE || t == DK_HT_CLIENT_KEY_EXCHANGE) {
        seed_kx(t, body, h->length);
        return;
    }
    if (t == DK_HT_CLIENT_HELLO) seed_cookie(body, h->length);
    dk_reader r;
    dk_reader_init(&r, body, h->length);
    dk_client_hello ch;
    if (t == DK_HT_CLIENT_HELLO && dk_client_hello_read(&r, &ch) == DK_OK)
        seed_exts(body, h->length, ch.params_end, false);
    if (t == DK_HT_SERVER_HELLO && h->length > 35) seed_exts(body, h->length, 35u + body[34] + 3, true);
    if (!sel_of[t] || hv.per_type[sel_of[t]] >= 3) return;
    uint8_t max_chain = DK_MAX_CHAIN;
    seed_msg(sel_of[t], dk_hs_type_name(t), &max_chain, t == DK_HT_CERTIFICATE, body, h->length);
}

static void harvest_datagram(const uint8_t *p, size_t len)
{
    uint8_t *d = malloc(len + 1);
    memcpy(d, p, len);
    dk_reader r;
    dk_reader_init(&r, d, len);
    bool plain = true;
    dk_record rec;
    while (dk_reader_left(&r) > 0 && dk_record_next(&r, &rec) == DK_OK) {
        if (rec.epoch != 0) plain = false;
        if (rec.epoch != 0 || rec.type != DK_CT_HANDSHAKE) continue;
        if (hv.headers < 4) {
            char name[32];
            snprintf(name, sizeof name, "headers-%u", hv.headers++);
            uint8_t sel = 0;
            buf b = {0};
            buf_add(&b, &sel, 1);
            buf_add(&b, rec.fragment, rec.length);
            write_seed("hs_msg", name, b.p, b.len);
            free(b.p);
        }
        dk_reader hr;
        dk_reader_init(&hr, rec.fragment, rec.length);
        dk_hs_header h;
        const uint8_t *frag;
        while (dk_hs_header_read(&hr, &h, &frag) == DK_OK)
            if (h.frag_offset == 0 && h.frag_length == h.length) seed_whole_message(&h, frag);
    }
    if (plain && hv.records < 6) {
        char name[32];
        snprintf(name, sizeof name, "plain-%u", hv.records++);
        buf b = {0};
        buf_u8(&b, (uint8_t)(hv.records & 3));
        buf_add(&b, p, len);
        write_seed("record", name, b.p, b.len);
        free(b.p);
    }
    free(d);
}

/* ---- scenarios ------------------------------------------------------------------ */

typedef struct scenario {
    const char *name;
    const char *ciphers; /* the recorded side's list, NULL: default */
    unsigned flags;
} scenario;

enum { F_CERT = 1, F_CLIENT_CERT = 2, F_MTU = 4, F_RECONNECT = 8, F_RSA = 16, F_HINT = 32,
       F_CLIENT_AUTH = 64, F_VARIANTS = 128 };

static uint64_t other_rng;

static void other_side(dk_config *cfg, unsigned flags, const char *ciphers)
{
    dk_config_set_random(cfg, fuzz_random, &other_rng);
    dk_config_set_wallclock(cfg, fuzz_wallclock, NULL);
    if (ciphers) must(dk_config_set_ciphers(cfg, ciphers), ciphers);
    if (flags & F_MTU) must(dk_config_set_mtu(cfg, 256), "mtu");
}

static void load_pair(dk_config *cfg, const char *chain, const char *key)
{
    must(dk_config_set_cert_chain_file(cfg, fuzz_data_path(chain)), chain);
    must(dk_config_set_private_key_file(cfg, fuzz_data_path(key)), key);
}

/* Seeds for the server harnesses: a client of each kind against the fuzz
 * server configuration. */
static dk_config *recorded_client(const scenario *s)
{
    dk_config *cc = dk_config_new(DK_ROLE_CLIENT);
    if (s->flags & F_CERT) {
        dk_config_set_insecure(cc, true); /* the server's Ed25519 cert is self-signed */
    } else {
        must(dk_config_set_psk(cc, (const uint8_t *)FUZZ_PSK_ID, strlen(FUZZ_PSK_ID), fuzz_psk,
                               sizeof fuzz_psk),
             "psk");
    }
    if (s->flags & F_CLIENT_CERT) load_pair(cc, "ec-client.pem", "ec-client.key");
    other_side(cc, s->flags, s->ciphers);
    return cc;
}

/* A renegotiation attempt inside the encryption, for the harness to seal:
 * a ClientHello to a server, a HelloRequest to a client (both refused with
 * a no_renegotiation warning). */
static void reneg_chunk(const recording *r, int to_server, buf *out)
{
    uint8_t body[256];
    dk_writer w;
    dk_writer_init(&w, body, sizeof body);
    if (to_server) {
        static const uint8_t random[32] = {1, 2, 3};
        static const uint16_t suites[] = {DK_TLS_PSK_WITH_AES_128_CCM_8};
        dk_client_hello_out ch = {.version = DK_DTLS12, .random = random, .suites = suites,
                                  .n_suites = 1, .ems = true};
        dk_client_hello_write(&w, &ch);
    }
    uint8_t rec[DK_RECORD_HEADER_LEN + DK_HS_HEADER_LEN + sizeof body];
    dk_writer hw;
    dk_writer_init(&hw, rec + DK_RECORD_HEADER_LEN, sizeof rec - DK_RECORD_HEADER_LEN);
    dk_hs_header h = {to_server ? DK_HT_CLIENT_HELLO : DK_HT_HELLO_REQUEST, (uint32_t)w.off,
                      r->next_msg_seq, 0, (uint32_t)w.off};
    dk_hs_header_write(&hw, &h);
    dk_write_bytes(&hw, body, w.off);
    must(dk_writer_status(&w) == DK_OK ? dk_writer_status(&hw) : DK_ERR_INTERNAL, "reneg");
    dk_record_header_write(rec, DK_CT_HANDSHAKE, DK_DTLS12, 1, r->next_rec_seq, (uint16_t)hw.off);
    buf_u16(out, FUZZ_SEAL_MARK);
    buf_chunk(out, rec, DK_RECORD_HEADER_LEN + hw.off);
}

static void emit_engine(const char *harness, const char *name, recording *r, int to_server,
                        bool variants)
{
    static const char *const suffix[5] = {"", ".dup", ".retx", ".plain", ".reneg"};
    for (int v = 0; v < 5; v++) {
        if (!variants && (v == 1 || v == 2 || v == 4)) continue;
        buf b = {0};
        engine_input(r, to_server, v == 4 ? 3 : v, &b);
        if (v == 4) reneg_chunk(r, to_server, &b);
        char file[128];
        snprintf(file, sizeof file, "hs-%s%s", name, suffix[v]);
        write_seed(harness, file, b.p, b.len);
        free(b.p);
    }
}

static void server_scenario(const scenario *s, bool cookie)
{
    uint64_t srng = FUZZ_SERVER_SEED;
    other_rng = 7;
    dk_config *sc = fuzz_server_config(cookie, &srng);
    dk_config *cc = recorded_client(s);
    recording r = {0};
    record_run(s->name, cc, sc, s->flags & F_RECONNECT, true, &r);
    emit_engine(cookie ? "server" : "server_nocookie", s->name, &r, 1, s->flags & F_VARIANTS);
    for (size_t i = 0; i < r.n; i++) harvest_datagram(r.d[i].p, r.d[i].len);
    recording_free(&r);
    dk_config_free(cc);
    dk_config_free(sc);
}

/* Seeds for the client harness: a server of each kind against the fuzz
 * client configuration. */
static dk_config *recorded_server(const scenario *s)
{
    dk_config *sc = dk_config_new(DK_ROLE_SERVER);
    if (s->flags & F_CERT) {
        if (s->flags & F_RSA) load_pair(sc, "rsa-server-chain.pem", "rsa-server.key");
        else load_pair(sc, "ec-server-chain.pem", "ec-server.key");
    } else {
        must(dk_config_set_psk(sc, (const uint8_t *)FUZZ_PSK_ID, strlen(FUZZ_PSK_ID), fuzz_psk,
                               sizeof fuzz_psk),
             "psk");
    }
    if (s->flags & F_HINT) must(dk_config_set_psk_hint(sc, (const uint8_t *)"hint", 4), "hint");
    if (s->flags & F_CLIENT_AUTH) {
        /* the fuzz client authenticates with the self-signed Ed25519 cert */
        must(dk_config_set_ca_file(sc, fuzz_data_path("ed25519.pem")), "client ca");
        dk_config_set_client_auth(sc, DK_CLIENT_AUTH_REQUIRE);
    }
    other_side(sc, s->flags, s->ciphers);
    return sc;
}

static void client_scenario(const scenario *s)
{
    uint64_t crng = FUZZ_CLIENT_SEED;
    other_rng = 11;
    dk_config *cc = fuzz_client_config(&crng);
    dk_config *sc = recorded_server(s);
    recording r = {0};
    record_run(s->name, cc, sc, false, false, &r);
    emit_engine("client", s->name, &r, 0, s->flags & F_VARIANTS);
    for (size_t i = 0; i < r.n; i++) harvest_datagram(r.d[i].p, r.d[i].len);
    recording_free(&r);
    dk_config_free(cc);
    dk_config_free(sc);
}

static const scenario server_scenarios[] = {
    {"psk-ccm8", "PSK-AES128-CCM8", F_VARIANTS},
    {"psk-gcm", "PSK-AES128-GCM-SHA256", 0},
    {"ecdhe-psk-chacha", "ECDHE-PSK-CHACHA20-POLY1305", 0},
    {"ecdsa-aes128gcm", "ECDHE-ECDSA-AES128-GCM-SHA256", F_CERT},
    {"ecdsa-aes256gcm", "ECDHE-ECDSA-AES256-GCM-SHA384", F_CERT},
    {"ecdsa-chacha", "ECDHE-ECDSA-CHACHA20-POLY1305", F_CERT},
    {"ecdsa-ccm8", "ECDHE-ECDSA-AES128-CCM8", F_CERT},
    {"ecdsa-client-auth", NULL, F_CERT | F_CLIENT_CERT | F_VARIANTS},
    {"psk-mtu256", "PSK-AES128-GCM-SHA256", F_MTU},
    {"ecdsa-mtu256", NULL, F_CERT | F_CLIENT_CERT | F_MTU},
    {"psk-reconnect", "PSK-AES128-CCM8", F_RECONNECT},
};

static const scenario client_scenarios[] = {
    {"psk-ccm8", "PSK-AES128-CCM8", F_VARIANTS},
    {"psk-gcm-hint", "PSK-AES128-GCM-SHA256", F_HINT},
    {"ecdhe-psk-chacha", "ECDHE-PSK-CHACHA20-POLY1305", F_HINT},
    {"ecdsa-aes128gcm", "ECDHE-ECDSA-AES128-GCM-SHA256", F_CERT},
    {"ecdsa-aes256gcm", "ECDHE-ECDSA-AES256-GCM-SHA384", F_CERT},
    {"ecdsa-chacha", "ECDHE-ECDSA-CHACHA20-POLY1305", F_CERT},
    {"ecdsa-ccm8", "ECDHE-ECDSA-AES128-CCM8", F_CERT},
    {"rsa-aes128gcm", "ECDHE-RSA-AES128-GCM-SHA256", F_CERT | F_RSA},
    {"ecdsa-client-auth", NULL, F_CERT | F_CLIENT_AUTH | F_VARIANTS},
    {"ecdsa-mtu256", NULL, F_CERT | F_MTU},
};

/* ---- synthetic seeds ---------------------------------------------------------- */

/* Records sealed with fuzz_record's key: handshake, application data and
 * alert records in epoch 1, one of them twice (a replay). */
static void seed_records(void)
{
    uint8_t key[32], iv[12];
    fuzz_record_key(key, iv);
    for (int alg = 0; alg < 4; alg++) {
        dk_cipher c;
        must(dk_cipher_init(&c, (dk_aead_alg)alg, key, iv, true), "cipher");
        buf b = {0};
        buf_u8(&b, (uint8_t)(alg | (alg << 2)));
        static const struct {
            uint8_t type;
            uint64_t seq;
            const char *pt;
        } recs[] = {{DK_CT_HANDSHAKE, 0, "\x14\x00\x00\x0c\x00\x05\x00\x00\x00\x00\x00\x0cverify-data!"},
                    {DK_CT_APPLICATION_DATA, 1, "hello"},
                    {DK_CT_APPLICATION_DATA, 1, "hello"},
                    {DK_CT_ALERT, 70, "\x01"}};
        for (size_t i = 0; i < DK_ARRAY_LEN(recs); i++) {
            uint8_t out[256];
            size_t n, len = i == 0 ? 24 : i == 3 ? 2 : strlen(recs[i].pt);
            must(dk_record_seal(&c, recs[i].type, DK_DTLS12, 1, recs[i].seq,
                                (const uint8_t *)recs[i].pt, len, out, sizeof out, &n),
                 "seal");
            buf_add(&b, out, n);
        }
        char name[32];
        snprintf(name, sizeof name, "sealed-alg%d", alg);
        write_seed("record", name, b.p, b.len);
        free(b.p);
        dk_cipher_clear(&c);
    }
}

static void reasm_head(buf *b, uint8_t caps, uint8_t bufs, uint16_t next, const uint16_t lens[8])
{
    buf_u8(b, caps);
    buf_u8(b, bufs);
    buf_u16(b, next);
    for (int i = 0; i < 8; i++) buf_u16(b, lens[i]);
}

static void reasm_frag(buf *b, int8_t delta, uint16_t off, uint16_t len)
{
    buf_u8(b, 0);
    buf_u8(b, (uint8_t)delta);
    buf_u16(b, off);
    buf_u16(b, len);
}

/* Reassembly programs: whole messages, overlapping fragments out of order,
 * a contradicting fragment, future messages, stale slots, a reset, caps, and
 * next_seq near the top of the 16-bit space. */
static void seed_reasm(void)
{
    static const uint16_t lens[8] = {100, 300, 0, 17, 500, 600, 1, 64};
    for (int k = 0; k < 3; k++) {
        buf b = {0};
        reasm_head(&b, 1, k == 2 ? 2 : 8, k == 1 ? 65530 : 0, lens);
        /* deltas are relative to the current next_seq */
        reasm_frag(&b, 0, 0, 100);      /* seq 0 whole */
        buf_u8(&b, 2);                  /* deliver: next_seq 1 */
        reasm_frag(&b, 0, 200, 100);    /* seq 1: tail first */
        reasm_frag(&b, 0, 0, 150);
        reasm_frag(&b, 0, 100, 150);    /* overlaps both */
        reasm_frag(&b, 1, 0, 0);        /* seq 2: an empty message */
        reasm_frag(&b, 3, 0, 499);      /* seq 4: future, not yet whole */
        buf_u8(&b, 2);                  /* deliver 1 and 2: next_seq 3 */
        /* seq 3: an arbitrary fragment first, then a truthful one it contradicts */
        static const uint8_t lie[] = {1, 0, 4, 0, 17, 0, 0, 0, 4, 0, 'e', 'v', 'i', 'l'};
        buf_add(&b, lie, sizeof lie);
        reasm_frag(&b, 0, 0, 17);
        reasm_frag(&b, 1, 499, 1);      /* seq 4 complete */
        buf_u8(&b, 2);
        buf_u8(&b, 3);
        buf_u8(&b, 1);                  /* next_seq 5: slots 3 and 4 stale */
        reasm_frag(&b, 0, 0, 600);      /* seq 5: beyond max_message */
        reasm_frag(&b, 1, 0, 1);        /* seq 6 */
        buf_u8(&b, 4);                  /* reset */
        reasm_frag(&b, 2, 0, 64);       /* seq 7 */
        buf_u8(&b, 2);
        char name[32];
        snprintf(name, sizeof name, "program-%d", k);
        write_seed("reasm", name, b.p, b.len);
        free(b.p);
    }
}

static void seed_fixed_bodies(void)
{
    static const uint8_t vd[DK_VERIFY_DATA_LEN] = "verify-data";
    seed_msg(13, "Finished", NULL, 0, vd, sizeof vd);
    seed_msg(14, "empty", NULL, 0, NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    outdir = argv[1];
    mkdir_p(outdir);
    for (size_t i = 0; i < DK_ARRAY_LEN(server_scenarios); i++) {
        server_scenario(&server_scenarios[i], true);
        server_scenario(&server_scenarios[i], false);
    }
    for (size_t i = 0; i < DK_ARRAY_LEN(client_scenarios); i++) client_scenario(&client_scenarios[i]);
    seed_records();
    seed_reasm();
    seed_fixed_bodies();
    printf("wrote %zu seed files under %s\n", files_written, outdir);
    return 0;
}
