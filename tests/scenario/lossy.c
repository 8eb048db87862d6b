/* Lossy-link runs: many handshakes and application records through the
 * simulated link under each impairment profile (seeded, virtual time).
 * Asserts: every handshake ends (completed, or failed with a reason) within
 * its retransmission budget, no record is delivered twice, nothing corrupted
 * or forged is delivered. Prints one table row per profile.
 * Usage: dk_lossy [--handshakes N] [--records N] [--profile NAME] [--markdown]
 *        [--min-rate NAME=PCT ...] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dk_sim.h"

typedef struct profile {
    const char *name;
    dk_link_profile p;
    double min_rate; /* required completion rate, percent */
} profile;

static profile profiles[] = {
    {"clean", {0}, 100},
    {"loss10", {.drop = 0.10}, 99},
    {"loss30", {.drop = 0.30}, 99},
    {"loss50", {.drop = 0.50}, 0},
    {"dup20", {.dup = 0.20}, 100},
    {"reorder", {.reorder = 0.30, .reorder_ms = 40, .jitter_ms = 20}, 100},
    {"corrupt5", {.corrupt = 0.05}, 0},
    {"mtu256", {.mtu = 256}, 100},
    {"all", {.drop = 0.10, .dup = 0.10, .reorder = 0.10, .reorder_ms = 30, .corrupt = 0.02,
             .jitter_ms = 10, .mtu = 1200}, 0},
};

static const char *families[][3] = {
    {"ec", "ec", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"psk", "psk", "PSK-AES128-CCM8"},
    {"psk", "psk", "ECDHE-PSK-CHACHA20-POLY1305"},
    {"rsa", "rsa", "ECDHE-RSA-CHACHA20-POLY1305"},
};

typedef struct result {
    unsigned done, failed, wedged;
    uint64_t *times;
    unsigned long long dup_delivered, bad_delivered, records_sent, records_ok;
} result;

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Each record carries its index; the receiver checks it saw each at most once
 * and that the bytes are exactly what was sent. */
static void check_rx(dk_sim *sim, size_t rlen, unsigned n, uint8_t *seen, result *res)
{
    for (size_t off = 0; off + rlen <= sim->s_rx_len; off += rlen) {
        const uint8_t *r = sim->s_rx + off;
        unsigned idx = (unsigned)((r[0] << 8) | r[1]);
        int ok = idx < n;
        for (size_t k = 2; ok && k < rlen; k++) ok = r[k] == (uint8_t)(idx * 31 + k);
        if (!ok) res->bad_delivered++;
        else if (seen[idx]++) res->dup_delivered++;
        else res->records_ok++;
    }
    if (sim->s_rx_len % rlen) res->bad_delivered++;
    sim->s_rx_len = 0;
}

static void exchange(dk_sim *sim, unsigned n, result *res)
{
    uint8_t seen[4096] = {0};
    size_t rlen = dk_conn_data_mtu(sim->c);
    if (rlen > 200) rlen = 200;
    for (unsigned i = 0; i < n && i < sizeof seen; i++) {
        uint8_t rec[200];
        for (size_t k = 0; k < rlen; k++) rec[k] = (uint8_t)(i * 31 + k);
        rec[0] = (uint8_t)(i >> 8);
        rec[1] = (uint8_t)i;
        if (dk_conn_write(sim->c, rec, rlen) == DK_OK) res->records_sent++;
        dk_sim_drain(sim, sim->c, 1);
        dk_sim_run(sim, 50);
        check_rx(sim, rlen, n, seen, res);
    }
}

static void run_profile(const profile *pr, unsigned hs, unsigned records, result *res)
{
    memset(res, 0, sizeof *res);
    res->times = calloc(hs, sizeof *res->times);
    const char *one = getenv("DK_LOSSY_ONLY");
    for (unsigned i = 0; i < hs; i++) {
        if (one && (unsigned)atoi(one) != i) continue;
        const char *const *f = families[i % 4];
        dk_config *cc = dk_test_client_config(f[0]), *sc = dk_test_server_config(f[1]);
        if (dk_config_set_ciphers(cc, f[2]) != DK_OK) abort();
        if (pr->p.mtu && (dk_config_set_mtu(cc, pr->p.mtu) != DK_OK ||
                          dk_config_set_mtu(sc, pr->p.mtu) != DK_OK))
            abort();
        dk_sim sim;
        dk_sim_init(&sim, cc, sc, 0x5eed0000ULL + i);
        sim.prof = pr->p;
        uint64_t t0 = sim.now;
        if (dk_sim_connect(&sim) != DK_OK) abort();
        bool ok = dk_sim_handshake(&sim, 600000);
        if (ok) {
            res->times[res->done++] = sim.now - t0;
            if (records) {
                /* the link's data path: records travel client -> server, each
                 * record records its index; the server checks exactly-once */
                exchange(&sim, records, res);
            }
        } else if (dk_conn_state(sim.c) == DK_STATE_FAILED || (sim.s && dk_conn_state(sim.s) == DK_STATE_FAILED)) {
            res->failed++;
            if (getenv("DK_LOSSY_VERBOSE"))
                fprintf(stderr, "%s #%u: client: %s | server: %s\n", pr->name, i,
                        dk_conn_error_reason(sim.c), sim.s ? dk_conn_error_reason(sim.s) : "-");
        } else {
            /* the client must have failed by its retransmission budget */
            res->wedged++;
        }
        dk_sim_free(&sim);
        dk_config_free(cc);
        dk_config_free(sc);
    }
    qsort(res->times, res->done, sizeof *res->times, cmp_u64);
}

int main(int argc, char **argv)
{
    unsigned hs = 40, records = 200;
    const char *only = NULL;
    int markdown = 0, check = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--handshakes") && i + 1 < argc) hs = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--records") && i + 1 < argc) records = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--markdown")) markdown = 1;
        else if (!strcmp(argv[i], "--no-check")) check = 0;
    }
    int fails = 0;
    if (markdown) {
        printf("| profile | handshakes | completed | failed cleanly | wedged | median ms | p99 ms | "
               "records sent | delivered once | duplicates delivered | corrupted/forged delivered |\n");
        printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
    }
    for (size_t p = 0; p < sizeof profiles / sizeof profiles[0]; p++) {
        if (only && strcmp(only, profiles[p].name)) continue;
        result r;
        run_profile(&profiles[p], hs, records, &r);
        double rate = hs ? 100.0 * r.done / hs : 0;
        uint64_t med = r.done ? r.times[r.done / 2] : 0;
        uint64_t p99 = r.done ? r.times[(r.done * 99) / 100 < r.done ? (r.done * 99) / 100 : r.done - 1] : 0;
        if (markdown)
            printf("| %s | %u | %u (%.1f%%) | %u | %u | %llu | %llu | %llu | %llu | %llu | %llu |\n",
                   profiles[p].name, hs, r.done, rate, r.failed, r.wedged, (unsigned long long)med,
                   (unsigned long long)p99, r.records_sent, r.records_ok, r.dup_delivered, r.bad_delivered);
        else
            printf("%-9s handshakes=%u completed=%u (%.1f%%) failed=%u wedged=%u median_ms=%llu p99_ms=%llu "
                   "records_sent=%llu delivered=%llu dup=%llu bad=%llu\n",
                   profiles[p].name, hs, r.done, rate, r.failed, r.wedged, (unsigned long long)med,
                   (unsigned long long)p99, r.records_sent, r.records_ok, r.dup_delivered, r.bad_delivered);
        if (check && (r.wedged || r.dup_delivered || r.bad_delivered || rate < profiles[p].min_rate)) {
            fprintf(stderr, "FAIL: profile %s\n", profiles[p].name);
            fails++;
        }
        free(r.times);
    }
    return fails ? 1 : 0;
}
