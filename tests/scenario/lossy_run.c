/* One lossy-link handshake and its application records.
 *
 * Checks made here, per handshake:
 *  - it ends: both sides established, or a side failed with a reason, within
 *    the retransmission budget (lossy_budget_ms), and then the other side ends
 *    too (established, failed, or never created); anything else is "wedged";
 *  - every application record read is one that was written, byte for byte,
 *    in its direction and connection, and is read at most once;
 *  - an established association stays established while the attacker
 *    injects spoofed alerts and forgeries.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lossy.h"

/* Cipher-suite families, cycled by handshake index: every suite dtlskit
 * offers, and client authentication with ECDSA and RSA. */
static const char *const families[][3] = {
    {"ec", "ec", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"psk", "psk", "PSK-AES128-CCM8"},
    {"rsa", "rsa", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"psk", "psk", "ECDHE-PSK-CHACHA20-POLY1305"},
    {"ec", "ec", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"psk", "psk", "PSK-AES128-GCM-SHA256"},
    {"rsa", "rsa", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"ec", "ec", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    {"ec+auth", "ec+auth", "ECDHE-ECDSA-AES128-CCM8"},
    {"rsa", "rsa", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"rsa+auth", "rsa+auth", NULL},
};
#define N_FAMILIES (sizeof families / sizeof families[0])

/* RFC 6347 4.2.4.1 with dtlskit's defaults (1 s doubling to 60 s, 8
 * retransmissions): one flight may wait 1+2+4+...+60 s. A client sends at
 * most 2 + DK_MAX_HVR (8) flights; each restarts the count. */
uint64_t lossy_budget_ms(void)
{
    uint64_t t = 1000, flight = 0;
    for (unsigned k = 0; k <= 8; k++) {
        flight += t;
        t = t * 2 > 60000 ? 60000 : t * 2;
    }
    return flight * (2 + 8);
}

static uint64_t mix(uint64_t x)
{
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

size_t lossy_record(unsigned conn, int dir, unsigned k, size_t maxlen, uint8_t *out)
{
    uint64_t h = mix(((uint64_t)conn << 32) ^ ((uint64_t)dir << 24) ^ k);
    size_t len = 4 + (size_t)(h % (maxlen - 3));
    out[0] = (uint8_t)(0xD0 | dir);
    out[1] = (uint8_t)(k >> 8);
    out[2] = (uint8_t)k;
    out[3] = (uint8_t)conn;
    for (size_t j = 4; j < len; j++) out[j] = (uint8_t)(h >> (8 * (j % 8))) ^ (uint8_t)(j * 131);
    return len;
}

typedef struct rx_check {
    unsigned conn, records;
    size_t maxlen;
    uint8_t *seen[2];
    lossy_result *res;
} rx_check;

/* Called for every record a side reads. */
static void on_rx(void *arg, int server, const uint8_t *p, size_t len)
{
    rx_check *ck = arg;
    int dir = server ? 0 : 1;
    uint8_t want[256];
    unsigned k = len >= 4 ? (unsigned)((p[1] << 8) | p[2]) : 0;
    bool ok = len >= 4 && p[0] == (0xD0 | dir) && k < ck->records && ck->maxlen <= sizeof want;
    ok = ok && lossy_record(ck->conn, dir, k, ck->maxlen, want) == len && !memcmp(want, p, len);
    if (!ok) ck->res->bad_delivered++;
    else if (ck->seen[dir][k]++) ck->res->dup_delivered++;
    else ck->res->delivered[dir]++;
}

static void exchange(dk_sim *sim, unsigned conn, unsigned records, lossy_result *res)
{
    size_t maxlen = dk_conn_data_mtu(sim->c);
    if (maxlen > 200) maxlen = 200;
    rx_check ck = {conn, records, maxlen, {calloc(records, 1), calloc(records, 1)}, res};
    sim->on_rx = on_rx;
    sim->on_rx_arg = &ck;
    for (unsigned k = 0; k < records; k++) {
        uint8_t rec[256];
        size_t n = lossy_record(conn, 0, k, maxlen, rec);
        if (dk_conn_write(sim->c, rec, n) == DK_OK) res->sent[0]++;
        n = lossy_record(conn, 1, k, maxlen, rec);
        if (dk_conn_write(sim->s, rec, n) == DK_OK) res->sent[1]++;
        dk_sim_drain(sim, sim->c, 1);
        dk_sim_drain(sim, sim->s, 0);
        dk_sim_run(sim, 20);
        sim->c_rx_len = sim->s_rx_len = 0;
    }
    dk_sim_run(sim, 2000);
    if (dk_conn_state(sim->c) != DK_STATE_ESTABLISHED || dk_conn_state(sim->s) != DK_STATE_ESTABLISHED)
        res->lost_established++;
    sim->on_rx = NULL;
    free(ck.seen[0]);
    free(ck.seen[1]);
}

static void count_reason(lossy_result *res, const char *side, const char *why)
{
    char line[160];
    snprintf(line, sizeof line, "%s: %s", side, why);
    for (size_t i = 0; i < LOSSY_MAX_REASONS; i++) {
        if (!res->reason[i]) {
            snprintf(res->reason_buf[i], sizeof res->reason_buf[i], "%s", line);
            res->reason[i] = res->reason_buf[i];
        }
        if (!strcmp(res->reason[i], line)) {
            res->reason_n[i]++;
            return;
        }
    }
}

static bool ended(dk_conn *c)
{
    return !c || dk_conn_state(c) == DK_STATE_ESTABLISHED || dk_conn_state(c) == DK_STATE_FAILED;
}

/* A side failed: the peer must end as well (its own budget), and every
 * failed side must carry an error and a reason. */
static void settle_failure(dk_sim *sim, uint64_t t0, uint64_t budget, lossy_result *res)
{
    res->fail_times[res->failed] = sim->now - t0;
    dk_sim_run(sim, budget);
    bool clean = ended(sim->c) && ended(sim->s);
    dk_conn *sides[2] = {sim->c, sim->s};
    for (int i = 0; i < 2; i++) {
        if (!sides[i] || dk_conn_state(sides[i]) != DK_STATE_FAILED) continue;
        const char *why = dk_conn_error_reason(sides[i]);
        clean = clean && dk_conn_error(sides[i]) < 0 && why && why[0];
        count_reason(res, i ? "server" : "client", why);
    }
    if (sim->now - t0 > res->max_end_ms) res->max_end_ms = sim->now - t0;
    if (getenv("DK_LOSSY_VERBOSE"))
        fprintf(stderr, "failed: first after %llu ms, both ended after %llu ms: client %s | server %s\n",
                (unsigned long long)res->fail_times[res->failed], (unsigned long long)(sim->now - t0),
                dk_conn_error_reason(sim->c), sim->s ? dk_conn_error_reason(sim->s) : "-");
    if (!clean || sim->now - t0 > budget) res->unclean++;
    res->failed++;
}

static dk_config *config(const char *kind, bool server, const lossy_profile *pr, uint64_t *seed)
{
    dk_config *cfg = server ? dk_test_server_config(kind) : dk_test_client_config(kind);
    dk_config_set_random(cfg, dk_test_random, seed);
    if (pr->set_mtu && dk_config_set_mtu(cfg, pr->link.mtu) != DK_OK) abort();
    return cfg;
}

void lossy_one(const lossy_profile *pr, unsigned i, unsigned records, lossy_attacker *att,
               lossy_result *res)
{
    const char *const *f = families[i % N_FAMILIES];
    uint64_t cseed = mix(0xC0FFEE00ULL + i), sseed = mix(0x5E4FE400ULL + i);
    dk_config *cc = config(f[0], false, pr, &cseed), *sc = config(f[1], true, pr, &sseed);
    if (f[2] && dk_config_set_ciphers(cc, f[2]) != DK_OK) abort();
    dk_sim sim;
    dk_sim_init(&sim, cc, sc, 0x5eed0000ULL + i);
    sim.prof = pr->link;
    if (att) {
        att->sim = &sim;
        att->conn = i;
        sim.tap = lossy_attack_tap;
        sim.tap_arg = att;
    }
    uint64_t t0 = sim.now, budget = lossy_budget_ms();
    res->handshakes++;
    if (dk_sim_connect(&sim) != DK_OK) abort();
    if (dk_sim_handshake(&sim, budget)) {
        res->times[res->done++] = sim.now - t0;
        if (sim.now - t0 > res->max_end_ms) res->max_end_ms = sim.now - t0;
        if (records) exchange(&sim, i, records, res);
    } else if (dk_conn_state(sim.c) == DK_STATE_FAILED ||
               (sim.s && dk_conn_state(sim.s) == DK_STATE_FAILED)) {
        settle_failure(&sim, t0, budget, res);
    } else {
        res->wedged++;
        fprintf(stderr, "%s #%u: wedged at %llu ms: client %d, server %d\n", pr->name, i,
                (unsigned long long)(sim.now - t0), (int)dk_conn_state(sim.c),
                sim.s ? (int)dk_conn_state(sim.s) : -1);
    }
    if (att) att->sim = NULL;
    dk_sim_free(&sim);
    dk_config_free(cc);
    dk_config_free(sc);
}
