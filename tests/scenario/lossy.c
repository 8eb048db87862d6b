/* Lossy-link runs: many handshakes and application records each way through
 * the simulated link under each impairment profile (seeded, virtual time,
 * 10 ms one-way delay unless a profile says otherwise).
 *
 * Asserts (exit 1 and "FAIL: profile ..." otherwise): every handshake ends,
 * completed or failed with a reason, within its retransmission budget, and
 * so does its peer (wedged = 0, unclean = 0); no record is delivered twice;
 * nothing corrupted, forged or from a wrong epoch is delivered; no
 * established association is lost to injected traffic; the completion rate
 * reaches the profile's minimum. Prints one row per profile.
 *
 * Usage: dk_lossy [--handshakes N] [--records N] [--profile NAME] [--markdown]
 *                 [--reasons] [--no-check]
 * --records is per connection and per direction. DK_LOSSY_ONLY=i runs only
 * handshake i (each one is reproducible on its own); DK_SIM_TRACE=1 traces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lossy.h"

#define D10 .delay_ms = 10

static const lossy_profile profiles[] = {
    {"clean", {D10}, false, false, 100, "no impairment"},
    {"loss10", {D10, .drop = 0.10}, false, false, 99, "10% of datagrams dropped"},
    {"loss30", {D10, .drop = 0.30}, false, false, 99, "30% dropped"},
    {"loss50", {D10, .drop = 0.50}, false, false, 0, "50% dropped"},
    {"dup20", {D10, .dup = 0.20}, false, false, 100, "20% delivered twice"},
    {"reorder", {D10, .reorder = 0.30, .reorder_ms = 40, .jitter_ms = 20}, false, false, 100,
     "30% held back 40 ms, 0-20 ms jitter on all"},
    {"corrupt5", {D10, .corrupt = 0.05}, false, false, 0, "5% get one bit flipped"},
    {"mtu256", {D10, .mtu = 256}, true, false, 100,
     "link drops datagrams over 256 bytes; both ends set MTU 256"},
    {"pmtu576", {D10, .mtu = 576}, false, false, 100,
     "link drops datagrams over 576 bytes; ends keep MTU 1400 (black hole)"},
    {"all", {D10, .drop = 0.10, .dup = 0.10, .reorder = 0.10, .reorder_ms = 30, .corrupt = 0.02,
             .jitter_ms = 10, .mtu = 1200},
     false, false, 90, "10% drop, 10% dup, 10% reorder, 2% corrupt, jitter, MTU 1200"},
    {"attack", {D10, .drop = 0.05, .dup = 0.05, .reorder = 0.05, .reorder_ms = 30}, false, true,
     90, "5% drop/dup/reorder plus an attacker injecting replays, forgeries, wrong epochs, alerts"},
};
#define N_PROFILES (sizeof profiles / sizeof profiles[0])

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t pct(const uint64_t *v, unsigned n, unsigned p)
{
    if (!n) return 0;
    size_t i = ((size_t)n * p + 99) / 100;
    return v[i ? i - 1 : 0];
}

static void run_profile(size_t idx, unsigned hs, unsigned records, lossy_result *res)
{
    const lossy_profile *pr = &profiles[idx];
    memset(res, 0, sizeof *res);
    res->times = calloc(hs ? hs : 1, sizeof *res->times);
    res->fail_times = calloc(hs ? hs : 1, sizeof *res->fail_times);
    lossy_attacker att;
    lossy_attacker_init(&att, 0xA77AC000ULL + idx);
    const char *one = getenv("DK_LOSSY_ONLY");
    for (unsigned i = 0; i < hs; i++) {
        if (one && (unsigned)atoi(one) != i) continue;
        lossy_one(pr, i, records, pr->attack ? &att : NULL, res);
    }
    res->injected = att.injected;
    lossy_attacker_free(&att);
    qsort(res->times, res->done, sizeof *res->times, cmp_u64);
    qsort(res->fail_times, res->failed, sizeof *res->fail_times, cmp_u64);
}

static void print_row(const lossy_profile *pr, const lossy_result *r, bool md)
{
    double rate = r->handshakes ? 100.0 * r->done / r->handshakes : 0;
    unsigned long long med = pct(r->times, r->done, 50), p99 = pct(r->times, r->done, 99);
    unsigned long long fmed = pct(r->fail_times, r->failed, 50);
    if (md) {
        printf("| %s | %u | %u (%.1f%%) | %u | %u | %llu | %llu | %llu | %llu | %llu / %llu | "
               "%llu / %llu | %llu | %llu | %llu |\n",
               pr->name, r->handshakes, r->done, rate, r->failed, r->wedged + r->unclean, med, p99,
               fmed, (unsigned long long)r->max_end_ms, r->sent[0], r->sent[1], r->delivered[0],
               r->delivered[1], r->dup_delivered, r->bad_delivered, r->injected);
        return;
    }
    printf("%-8s hs=%u done=%u (%.1f%%) failed=%u wedged=%u unclean=%u med=%llu p99=%llu "
           "fail_med=%llu max_end=%llu sent=%llu/%llu delivered=%llu/%llu dup=%llu bad=%llu "
           "lost_est=%llu injected=%llu\n",
           pr->name, r->handshakes, r->done, rate, r->failed, r->wedged, r->unclean, med, p99, fmed,
           (unsigned long long)r->max_end_ms, r->sent[0], r->sent[1], r->delivered[0],
           r->delivered[1], r->dup_delivered, r->bad_delivered, r->lost_established, r->injected);
}

static void print_reasons(const lossy_profile *pr, const lossy_result *r, bool md)
{
    for (size_t i = 0; i < LOSSY_MAX_REASONS && r->reason[i]; i++)
        printf(md ? "| %s | %s | %u |\n" : "  %s: %s (%u)\n", pr->name, r->reason[i],
               r->reason_n[i]);
}

/* Completion minimums below 100% are statistical: they are checked on runs
 * of at least 200 handshakes (the report runs 1,000); the others always. */
static bool check(const lossy_profile *pr, const lossy_result *r)
{
    double rate = r->handshakes ? 100.0 * r->done / r->handshakes : 0;
    bool rate_ok = rate >= pr->min_rate || (pr->min_rate < 100 && r->handshakes < 200);
    return !r->wedged && !r->unclean && !r->dup_delivered && !r->bad_delivered &&
           !r->lost_established && rate_ok;
}

int main(int argc, char **argv)
{
    unsigned hs = 40, records = 20;
    const char *only = NULL;
    bool md = false, chk = true, reasons = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--handshakes") && i + 1 < argc) hs = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--records") && i + 1 < argc) records = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--profile") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--markdown")) md = true;
        else if (!strcmp(argv[i], "--reasons")) reasons = true;
        else if (!strcmp(argv[i], "--no-check")) chk = false;
        else {
            fprintf(stderr, "usage: dk_lossy [--handshakes N] [--records N] [--profile NAME] "
                            "[--markdown] [--reasons] [--no-check]\n");
            return 2;
        }
    }
    if (records > 65535) records = 65535;
    if (md)
        printf("| profile | handshakes | completed | failed | wedged | median ms | p99 ms | "
               "median ms to fail | max ms to end | records sent c->s / s->c | delivered once "
               "c->s / s->c | duplicates delivered | corrupted/forged delivered | injected |\n"
               "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    lossy_result res[N_PROFILES];
    memset(res, 0, sizeof res);
    int fails = 0;
    for (size_t p = 0; p < N_PROFILES; p++) {
        if (only && strcmp(only, profiles[p].name)) continue;
        run_profile(p, hs, records, &res[p]);
        print_row(&profiles[p], &res[p], md);
        fflush(stdout);
        if (chk && !check(&profiles[p], &res[p])) {
            fprintf(stderr, "FAIL: profile %s\n", profiles[p].name);
            fails++;
        }
    }
    if (reasons) {
        printf(md ? "\n| profile | failure reason (side: reason) | count |\n|---|---|---|\n"
                  : "failure reasons:\n");
        for (size_t p = 0; p < N_PROFILES; p++)
            if (res[p].handshakes) print_reasons(&profiles[p], &res[p], md);
        if (md) {
            printf("\n| profile | link |\n|---|---|\n");
            for (size_t p = 0; p < N_PROFILES; p++)
                if (res[p].handshakes) printf("| %s | %s |\n", profiles[p].name, profiles[p].what);
        }
    }
    for (size_t p = 0; p < N_PROFILES; p++) {
        free(res[p].times);
        free(res[p].fail_times);
    }
    return fails ? 1 : 0;
}
