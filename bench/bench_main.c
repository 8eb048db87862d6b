/* dtlskit-bench: the table of docs/PERFORMANCE.md.
 *
 *   dtlskit-bench [--json] [--quick] [--runs N] [--clients N] [--in-flight N]
 *                 [--only PREFIX] [--no-loopback]
 *
 * Each row is measured in N interleaved runs (the stacks take turns, starting
 * with a different one each run); the median is shown with min and max. Rows
 * named "<row>.gnutls" put GnuTLS in the other column. "ratio" is always
 * the first column / other (the first column is dtlskit unless the row names
 * it, as records-1200.floor does); the "better" column says which direction
 * is good. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

const uint8_t bench_psk[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                               0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
double bench_run_s = 0.4;

#define MAX_RUNS 15
#define MAX_ROWS 64

double bench_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The per-side split. A thread CPU clock reading is a system call (about
 * 0.4 us here, as much as a tenth of a PSK handshake), so rate rows run with
 * the split off, and the split pass takes the calibrated cost of one reading
 * out of every interval it times. */
bool bench_split = false;
static double g_clock_cost;

void bench_split_calibrate(void)
{
    enum { N = 200000 };
    volatile double sink = 0;
    double t0 = bench_cpu();
    for (int i = 0; i < N; i++) sink += bench_thread_cpu();
    g_clock_cost = (bench_cpu() - t0) / N;
    (void)sink;
}

double bench_split_clock_cost(void) { return g_clock_cost; }

double bench_split_start(void) { return bench_split ? bench_thread_cpu() : 0; }

void bench_split_add(double *acc, double t0)
{
    if (bench_split) *acc += bench_thread_cpu() - t0 - g_clock_cost;
}

bench_m bench_split_merge(bench_m rate, bench_m split)
{
    if (split.ops > 0) {
        rate.server_cpu = split.server_cpu / split.ops * rate.ops;
        rate.client_cpu = split.client_cpu / split.ops * rate.ops;
    }
    return rate;
}

static void measure_pass(const bench_step *steps, int n_steps, int chunk, double seconds,
                         bench_m *m)
{
    for (int i = 0; i < n_steps; i++) m[i] = (bench_m){0};
    for (bool more = true; more;) {
        more = false;
        for (int i = 0; i < n_steps; i++) {
            double t0 = bench_cpu();
            steps[i].fn(steps[i].arg, chunk, &m[i]);
            m[i].cpu += bench_cpu() - t0;
            if (m[i].cpu < seconds) more = true;
        }
    }
}

const bench_m *bench_measure(const bench_step *steps, int n_steps, int chunk)
{
    static bench_m out[BENCH_MAX_STEPS];
    bench_m split[BENCH_MAX_STEPS];
    if (n_steps < 1 || n_steps > BENCH_MAX_STEPS) bench_die("bench_measure: too many steps");
    measure_pass(steps, n_steps, chunk, bench_run_s, out);
    bench_split = true;
    measure_pass(steps, n_steps, chunk, bench_run_s / 2, split);
    bench_split = false;
    for (int i = 0; i < n_steps; i++) out[i] = bench_split_merge(out[i], split[i]);
    return out;
}

const bench_m *bench_measure_rate(const bench_step *steps, int n_steps, int chunk)
{
    static bench_m out[BENCH_MAX_STEPS];
    if (n_steps < 1 || n_steps > BENCH_MAX_STEPS) bench_die("bench_measure_rate: too many steps");
    measure_pass(steps, n_steps, chunk, bench_run_s, out);
    return out;
}

bench_m bench_hvr_loop(uint8_t *ch, size_t len, void (*answer)(void *, const uint8_t *, size_t, uint32_t),
                       void *arg)
{
    bench_m m = {0};
    uint32_t ctr = 0;
    double start = bench_cpu();
    while (bench_cpu() - start < bench_run_s) {
        for (int i = 0; i < 10000; i++) {
            ctr++;
            memcpy(ch + 13 + 12 + 2, &ctr, 4); /* the ClientHello's random */
            answer(arg, ch, len, ctr);
        }
        m.ops += 10000;
    }
    m.cpu = bench_cpu() - start;
    return m;
}

bench_m bench_loop_alone(void *loop, void (*step)(void *, int, bench_m *), void (*close)(void *))
{
    bench_step st = {step, loop};
    bench_m m = bench_measure_rate(&st, 1, 1000)[0];
    close(loop);
    return m;
}

double bench_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void bench_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dtlskit-bench: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

/* ---- rows ------------------------------------------------------------------ */

typedef struct row {
    const char *name, *unit, *other; /* other: "openssl", "raw-evp", "plain-udp", ... */
    const char *first;               /* what the first column measures, when not dtlskit */
    bool lower_better;
    const char *target; /* a sentence, or NULL */
    char note[200];     /* printed after the target, "note" in the JSON */
    double dk[MAX_RUNS], ot[MAX_RUNS];
    int n;
} row;

static row g_rows[MAX_ROWS];
static int g_nrows;

static row *get_row(const char *name, const char *unit, const char *other, bool lower,
                    const char *target)
{
    for (int i = 0; i < g_nrows; i++)
        if (strcmp(g_rows[i].name, name) == 0) return &g_rows[i];
    if (g_nrows == MAX_ROWS) bench_die("too many rows");
    row *r = &g_rows[g_nrows++];
    r->name = name;
    r->unit = unit;
    r->other = other;
    r->lower_better = lower;
    r->target = target;
    return r;
}

static void add(const char *name, const char *unit, const char *other, bool lower,
                const char *target, double dk, double ot)
{
    row *r = get_row(name, unit, other, lower, target);
    if (r->n < MAX_RUNS) {
        r->dk[r->n] = dk;
        r->ot[r->n] = ot;
        r->n++;
    }
}

/* A row whose first column is not dtlskit (a floor against another floor). */
static void add_pair(const char *name, const char *unit, const char *first, const char *other,
                     bool lower, const char *target, double a, double b)
{
    add(name, unit, other, lower, target, a, b);
    get_row(name, unit, other, lower, target)->first = first;
}

static void set_note(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_note(const char *name, const char *fmt, ...)
{
    for (int i = 0; i < g_nrows; i++) {
        if (strcmp(g_rows[i].name, name) != 0) continue;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(g_rows[i].note, sizeof g_rows[i].note, fmt, ap);
        va_end(ap);
    }
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double bench_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

typedef struct stat3 {
    double med, min, max;
} stat3;

static stat3 summarize(const double *v, int n)
{
    double s[MAX_RUNS];
    memcpy(s, v, (size_t)n * sizeof *s);
    double med = bench_median(s, n); /* sorts s */
    return (stat3){med, s[0], s[n - 1]};
}

/* ---- options --------------------------------------------------------------- */

typedef struct opts {
    bool json, quick, loopback;
    int runs;
    size_t clients, in_flight;
    const char *only;
    /* "dk", "ossl" or "gnutls", with "-psk" or "-x25519" for those kinds
     * (P-256 otherwise): only that stack's handshakes, for perf;
     * "dk-records", "ossl-records", "gnutls-records", "floor-records" (TLS
     * record path), "floor-generic": only that 1200-byte record loop */
    const char *profile;
} opts;

static bool want(const opts *o, const char *name)
{
    return !o->only || strncmp(name, o->only, strlen(o->only)) == 0;
}

static void parse(int argc, char **argv, opts *o)
{
    *o = (opts){false, false, true, 5, 10000, 1000, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "--json") == 0) o->json = true;
        else if (strcmp(a, "--quick") == 0) o->quick = true;
        else if (strcmp(a, "--no-loopback") == 0) o->loopback = false;
        else if (strcmp(a, "--runs") == 0 && more) o->runs = atoi(argv[++i]);
        else if (strcmp(a, "--clients") == 0 && more) o->clients = (size_t)atol(argv[++i]);
        else if (strcmp(a, "--in-flight") == 0 && more) o->in_flight = (size_t)atol(argv[++i]);
        else if (strcmp(a, "--only") == 0 && more) o->only = argv[++i];
        else if (strcmp(a, "--profile") == 0 && more) o->profile = argv[++i];
        else if (strcmp(a, "--seconds") == 0 && more) bench_run_s = atof(argv[++i]);
        else bench_die("unknown argument %s (see bench/bench_main.c)", a);
    }
    if (o->quick) {
        bench_run_s = 0.05;
        o->runs = 1;
        o->clients = 300;
        o->in_flight = 100;
    }
    if (o->runs < 1 || o->runs > MAX_RUNS) bench_die("--runs must be 1..%d", MAX_RUNS);
}

/* ---- one run of every row ---------------------------------------------------- */

static double rate(bench_m m) { return m.ops / m.cpu; }
static double us(double cpu, double ops) { return cpu / ops * 1e6; }

/* Runs the n steps in turn (bench_measure, or bench_measure_rate without the
 * split), starting with step run % n, into got[] in the steps' order. */
static void measure_rotated(const bench_step *st, int n, int run, int chunk, bool split,
                            bench_m *got)
{
    bench_step rot[BENCH_MAX_STEPS];
    int first = run % n;
    for (int i = 0; i < n; i++) rot[i] = st[(first + i) % n];
    const bench_m *m = split ? bench_measure(rot, n, chunk) : bench_measure_rate(rot, n, chunk);
    for (int i = 0; i < n; i++) got[(first + i) % n] = m[i];
}

static void handshake_rows(const opts *o, int run, hs_kind k, const char *name)
{
    if (!want(o, name)) return;
    /* dtlskit, OpenSSL, GnuTLS and (P-256) the raw crypto floor take turns,
     * ten handshakes at a time, starting with a different one each run. */
    bool raw = false;
    bench_step st[4] = {{dk_handshake_step, &k}, {ossl_handshake_step, &k},
                        {gtls_handshake_step, &k}};
    int n = 3;
    if (k == HS_ECDSA_P256) st[n++] = (bench_step){floor_handshake_step, &raw};
    bench_m m[4];
    measure_rotated(st, n, run, 10, true, m);
    bench_m d = m[0], s = m[1], g = m[2];
    const char *tgt = k == HS_ECDSA_P256 ? "ratio >= 2" : k == HS_PSK_CCM8 ? "ratio >= 4" : NULL;
    add(name, "handshakes/cpu-s", "openssl", false, tgt, rate(d), rate(s));
    /* The sibling row: the same run's dtlskit figure against GnuTLS. */
    const char *gname = k == HS_ECDSA_P256     ? "hs-ecdsa-p256.gnutls"
                        : k == HS_ECDSA_X25519 ? "hs-ecdsa-x25519.gnutls"
                                               : "hs-psk-ccm8.gnutls";
    add(gname, "handshakes/cpu-s", "gnutls", false, NULL, rate(d), rate(g));
    if (k != HS_ECDSA_P256) return;
    bench_m f = m[3];
    add("hs-ecdsa-p256.server", "us-cpu/handshake", "openssl", true, NULL,
        us(d.server_cpu, d.ops), us(s.server_cpu, s.ops));
    add("hs-ecdsa-p256.client", "us-cpu/handshake", "openssl", true, NULL,
        us(d.client_cpu, d.ops), us(s.client_cpu, s.ops));
    add("hs-ecdsa-p256.server-x-floor", "x server floor", "openssl", true, "dtlskit <= 1.15",
        us(d.server_cpu, d.ops) / us(f.server_cpu, f.ops),
        us(s.server_cpu, s.ops) / us(f.server_cpu, f.ops));
    add("hs-ecdsa-p256.gnutls.server", "us-cpu/handshake", "gnutls", true, NULL,
        us(d.server_cpu, d.ops), us(g.server_cpu, g.ops));
    add("hs-ecdsa-p256.gnutls.client", "us-cpu/handshake", "gnutls", true, NULL,
        us(d.client_cpu, d.ops), us(g.client_cpu, g.ops));
}

static void floor_rows(const opts *o, int run)
{
    if (!want(o, "crypto-floor")) return;
    bool wrapped = true, raw = false;
    bench_step st[2] = {{floor_handshake_step, &wrapped}, {floor_handshake_step, &raw}};
    if (run % 2) {
        st[0].arg = &raw;
        st[1].arg = &wrapped;
    }
    const bench_m *m = bench_measure(st, 2, 10);
    bench_m w = m[run % 2 ? 1 : 0], r = m[run % 2 ? 0 : 1];
    add("crypto-floor-ecdsa-p256", "handshakes/cpu-s", "raw-evp", false, NULL, rate(w), rate(r));
    add("crypto-floor-ecdsa-p256.server", "us-cpu/handshake", "raw-evp", true, NULL,
        us(w.server_cpu, w.ops), us(r.server_cpu, r.ops));
    add("crypto-floor-ecdsa-p256.client", "us-cpu/handshake", "raw-evp", true, NULL,
        us(w.client_cpu, w.ops), us(r.client_cpu, r.ops));
}

/* Runs in which the TLS record path was the cheaper record floor. */
static int g_tls_floor_runs, g_floor_runs;

static void record_rows(const opts *o, int run, size_t max_len)
{
    if (want(o, "records-1200")) {
        /* dtlskit, OpenSSL, both floors and GnuTLS take turns, 1000 records
         * at a time, starting with a different one each run. */
        void *lp[5] = {dk_records_open(1200), ossl_records_open(1200),
                       floor_records_open(1200, true), floor_records_open(1200, false),
                       gtls_records_open(1200)};
        bench_step st[5] = {{dk_records_step, lp[0]},    {ossl_records_step, lp[1]},
                            {floor_records_step, lp[2]}, {floor_records_step, lp[3]},
                            {gtls_records_step, lp[4]}};
        bench_m got[5];
        measure_rotated(st, 5, run, 1000, false, got);
        bench_m d = got[0], s = got[1], ft = got[2], fg = got[3], g = got[4];
        dk_records_close(lp[0]);
        ossl_records_close(lp[1]);
        floor_records_close(lp[2]);
        floor_records_close(lp[3]);
        gtls_records_close(lp[4]);
        /* The floor is the cheaper of EVP's two seal+open paths, per run. */
        bool tls = rate(ft) >= rate(fg);
        double f = tls ? rate(ft) : rate(fg);
        g_tls_floor_runs += tls;
        g_floor_runs++;
        add("records-1200", "records/cpu-s", "openssl", false, "ratio > 1", rate(d), rate(s));
        add("records-1200.gnutls", "records/cpu-s", "gnutls", false, "ratio > 1", rate(d),
            rate(g));
        add_pair("records-1200.floor", "seal+open/cpu-s", "evp-tls-record", "evp-generic", false,
                 NULL, rate(ft), rate(fg));
        add("records-1200.x-floor", "x seal+open floor", "openssl", false, "dtlskit >= 0.9",
            rate(d) / f, rate(s) / f);
        set_note("records-1200.x-floor",
                 "floor = the cheaper of evp-tls-record and evp-generic per run: "
                 "evp-tls-record in %d of %d runs",
                 g_tls_floor_runs, g_floor_runs);
    }
    if (want(o, "records-max")) {
        void *lp[3] = {dk_records_open(max_len), ossl_records_open(max_len),
                       gtls_records_open(max_len)};
        bench_step st[3] = {{dk_records_step, lp[0]}, {ossl_records_step, lp[1]},
                            {gtls_records_step, lp[2]}};
        bench_m m[3];
        measure_rotated(st, 3, run, 100, false, m);
        bench_m d = m[0], s = m[1], g = m[2];
        dk_records_close(lp[0]);
        ossl_records_close(lp[1]);
        gtls_records_close(lp[2]);
        double mb = (double)max_len / 1e6;
        add("records-max-mbps", "MB/cpu-s", "openssl", false, NULL, rate(d) * mb, rate(s) * mb);
        add("records-max-mbps.gnutls", "MB/cpu-s", "gnutls", false, NULL, rate(d) * mb,
            rate(g) * mb);
    }
}

static void misc_rows(const opts *o, int run)
{
    if (want(o, "heap")) {
        size_t n = o->quick ? 20 : 100;
        double ds, dc, os, oc, gs, gc;
        dk_heap(n, &ds, &dc);
        ossl_heap(n, &os, &oc);
        gtls_heap(n, &gs, &gc);
        add("heap-server", "bytes/connection", "openssl", true, "dtlskit <= 4096", ds, os);
        add("heap-client", "bytes/connection", "openssl", true, "dtlskit <= 4096", dc, oc);
        add("heap-server.gnutls", "bytes/connection", "gnutls", true, NULL, ds, gs);
        add("heap-client.gnutls", "bytes/connection", "gnutls", true, NULL, dc, gc);
    }
    if (want(o, "hvr")) {
        /* The three take turns, eight slices each, so load lands on all. */
        bench_m d = {0}, s = {0}, g = {0};
        double run_s = bench_run_s;
        bench_run_s = run_s / 8;
        for (int k = 0; k < 8; k++) {
            for (int j = 0; j < 3; j++) {
                int who = (j + k + run) % 3;
                bench_m *acc = who == 0 ? &d : who == 1 ? &s : &g;
                bench_m m = who == 0 ? dk_hvr() : who == 1 ? ossl_hvr() : gtls_hvr();
                acc->ops += m.ops;
                acc->cpu += m.cpu;
            }
        }
        bench_run_s = run_s;
        add("hvr-per-s", "hvr/cpu-s", "openssl", false, "dtlskit >= 1000000", rate(d), rate(s));
        add("hvr-per-s.gnutls", "hvr/cpu-s", "gnutls", false, NULL, rate(d), rate(g));
    }
}

static void loopback_rows(const opts *o, int run)
{
    if (!o->loopback) return;
    if (want(o, "loopback-10k")) {
        loop_result b = loop_handshakes(o->clients, o->in_flight, 32, true);
        loop_result u = run == 0 ? loop_handshakes(o->clients / 4, o->in_flight / 4, 1, false) : b;
        if (b.failed) fprintf(stderr, "loopback: %zu handshakes failed\n", b.failed);
        add("loopback-10k", "wall-s", "-", true, NULL, b.wall_s, NAN);
        add("loopback-10k.hs-per-wall-s", "handshakes/s", "-", false, NULL, b.hs_per_s, NAN);
        add("loopback-10k.server-cpu", "us-cpu/handshake", "-", true, NULL,
            b.server_cpu_s / (double)b.handshakes * 1e6, NAN);
        add("loopback-10k.server-peak-rss", "KiB", "-", true, NULL, b.server_rss_kib, NAN);
        add("loopback-10k.peak-in-flight", "handshakes", "-", false, ">= 1000",
            (double)b.peak_in_flight, NAN);
        if (run == 0)
            add("loopback-10k.syscalls-per-dgram", "syscalls/datagram", "batch=1", true, NULL,
                b.syscalls_per_dgram, u.syscalls_per_dgram);
    }
    if (want(o, "loopback-records")) {
        double secs = o->quick ? 0.3 : 1.0;
        loop_records r = loop_record_rate(secs, &(loop_opts){.batch = 32, .spin = true});
        add("loopback-records-1200", "records/s", "plain-udp", false, NULL, r.dtls_per_s,
            r.plain_per_s);
        add("loopback-records-1200.syscalls-per-dgram", "syscalls/datagram", "plain-udp", true,
            NULL, r.dtls_syscalls_per_dgram, r.plain_syscalls_per_dgram);
        /* CPU per echoed record over the timed loop. The server (src/net)
         * opens and seals each record once; the client seals and opens each
         * once too. The AEAD cost is measured two ways: through the same
         * socket loop (the AEAD echo: plain UDP plus a raw seal and open per
         * record on each side, nothing else), and as the in-process seal+open
         * floor (the cheaper of EVP's two paths) timed between the
         * segments. */
        add("loopback-records-1200.server-cpu", "us-cpu/record", "plain-udp", true, NULL,
            r.dtls_server_us, r.plain_server_us);
        add("loopback-records-1200.both-cpu", "us-cpu/record", "plain-udp", true, NULL,
            r.dtls_both_us, r.plain_both_us);
        add("loopback-records-1200.aead-echo-server-cpu", "us-cpu/record", "plain-udp", true,
            NULL, r.aead_server_us, r.plain_server_us);
        add("loopback-records-1200.aead-floor", "us-cpu/seal+open", "-", true, NULL, r.aead_us,
            NAN);
        add("loopback-records-1200.aead-echo-x-floor", "x seal+open floor", "-", true, NULL,
            r.aead_echo_x_floor, NAN);
        add("loopback-records-1200.server-x-aead", "x aead-echo", "-", true, "dtlskit <= 1.15",
            r.server_x_aead, NAN);
        add("loopback-records-1200.both-x-aead", "x aead-echo", "-", true, NULL, r.both_x_aead,
            NAN);
        add("loopback-records-1200.server-x-floor", "x seal+open floor", "-", true, NULL,
            r.server_x_floor, NAN);
        add("loopback-records-1200.both-x-floor", "x seal+open floor", "-", true, NULL,
            r.both_x_floor, NAN);
        set_note("loopback-records-1200.aead-floor",
                 "AES-128-GCM seal+open of 1200 bytes in this process between the segments, "
                 "the cheaper EVP path (last run: %s)",
                 r.aead_tls_path ? "evp-tls-record" : "evp-generic");
        set_note("loopback-records-1200.aead-echo-x-floor",
                 "(AEAD echo server CPU/record - plain UDP server's) / aead-floor: the AEAD "
                 "through the socket against in a hot loop");
        set_note("loopback-records-1200.server-x-aead",
                 "median over segment groups of (server CPU/record - plain UDP server's) / "
                 "(AEAD echo server's - plain UDP server's)");
        set_note("loopback-records-1200.both-x-aead", "the same for both processes");
        set_note("loopback-records-1200.server-x-floor",
                 "(server CPU/record - plain UDP server's) / aead-floor");
        set_note("loopback-records-1200.both-x-floor",
                 "(both processes' - plain UDP's) / (2 x aead-floor)");
        if (run == 0) {
            /* The same with a client that blocks in poll() for its echoes:
             * the servers then also pay for waking it (bench_loop.c). */
            loop_records b = loop_record_rate(secs, &(loop_opts){.batch = 32});
            add("loopback-records-1200.blocking-client.server-x-aead", "x aead-echo", "-", true,
                NULL, b.server_x_aead, NAN);
            set_note("loopback-records-1200.blocking-client.server-x-aead",
                     "the client sleeps in poll() between windows; wake-ups land on the senders");
            loop_records g = loop_record_rate(secs, &(loop_opts){.batch = 32, .gso = true, .spin = true});
            loop_records one = loop_record_rate(secs, &(loop_opts){.batch = 1, .spin = true});
            /* The AEAD echo with a general send's copy: the plaintext into a
             * send buffer of its own before sealing, as dtlskit's send does. */
            loop_records cp = loop_record_rate(secs, &(loop_opts){.batch = 32, .spin = true,
                                                                  .aead_copy = true});
            add("loopback-records-1200.server-x-aead-with-copy", "x aead-echo+copy", "-", true,
                NULL, cp.server_x_aead, NAN);
            set_note("loopback-records-1200.server-x-aead-with-copy",
                     "server-x-aead against an AEAD echo that copies the plaintext into a send "
                     "buffer before sealing (one run)");
            add("loopback-records-1200.gso", "records/s", "no-gso", false, NULL, g.dtls_per_s,
                r.dtls_per_s);
            /* CPU above plain UDP's, each against the plain UDP server
             * measured in its own run (the plain server never uses GSO). */
            add("loopback-records-1200.gso-server-cpu-above-plain", "us-cpu/record", "no-gso",
                true, NULL, g.dtls_server_us - g.plain_server_us,
                r.dtls_server_us - r.plain_server_us);
            add("loopback-records-1200.gso-both-cpu-above-plain", "us-cpu/record", "no-gso",
                true, NULL, g.dtls_both_us - g.plain_both_us, r.dtls_both_us - r.plain_both_us);
            add("loopback-records-1200.batch1", "records/s", "batch=32", false, NULL,
                one.dtls_per_s, r.dtls_per_s);
            add("loopback-records-1200.batch1-server-cpu-above-plain", "us-cpu/record",
                "batch=32", true, NULL, one.dtls_server_us - one.plain_server_us,
                r.dtls_server_us - r.plain_server_us);
            add("loopback-records-1200.batch1-syscalls", "syscalls/datagram", "batch=32", true,
                NULL, one.dtls_syscalls_per_dgram, r.dtls_syscalls_per_dgram);
        }
    }
}

/* ---- output ------------------------------------------------------------------- */

static void print_num(char *out, size_t cap, double v)
{
    if (isnan(v)) snprintf(out, cap, "-");
    else if (fabs(v) >= 100) snprintf(out, cap, "%.0f", v);
    else snprintf(out, cap, "%.3g", v);
}

static void print_table(void)
{
    printf("%-40s %-18s %-30s %-30s %-7s %s\n", "row", "unit", "dtlskit median [min..max]",
           "other median [min..max]", "ratio", "target");
    for (int i = 0; i < g_nrows; i++) {
        row *r = &g_rows[i];
        stat3 d = summarize(r->dk, r->n), o = summarize(r->ot, r->n);
        char a[3][32], b[3][32], dk[160], ot[200], ratio[32];
        print_num(a[0], 32, d.med), print_num(a[1], 32, d.min), print_num(a[2], 32, d.max);
        print_num(b[0], 32, o.med), print_num(b[1], 32, o.min), print_num(b[2], 32, o.max);
        if (r->first) snprintf(dk, sizeof dk, "%s: %s [%s..%s]", r->first, a[0], a[1], a[2]);
        else snprintf(dk, sizeof dk, "%s [%s..%s]", a[0], a[1], a[2]);
        if (isnan(o.med)) snprintf(ot, sizeof ot, "-");
        else snprintf(ot, sizeof ot, "%s: %s [%s..%s]", r->other, b[0], b[1], b[2]);
        if (isnan(o.med)) snprintf(ratio, sizeof ratio, "-");
        else snprintf(ratio, sizeof ratio, "%.2f", d.med / o.med);
        printf("%-40s %-18s %-30s %-30s %-7s %s%s%s\n", r->name, r->unit, dk, ot, ratio,
               r->target ? r->target : "", r->note[0] && r->target ? "; " : "", r->note);
    }
}

static void json_num(const char *key, double v)
{
    if (isnan(v)) printf(", \"%s\": null", key);
    else printf(", \"%s\": %.6g", key, v);
}

static void print_json(void)
{
    for (int i = 0; i < g_nrows; i++) {
        row *r = &g_rows[i];
        stat3 d = summarize(r->dk, r->n), o = summarize(r->ot, r->n);
        printf("{\"row\": \"%s\", \"unit\": \"%s\"", r->name, r->unit);
        json_num("dtlskit", d.med);
        json_num(strcmp(r->other, "openssl") == 0 ? "openssl" : "other", o.med);
        json_num("ratio", isnan(o.med) ? NAN : d.med / o.med);
        printf(", \"other_name\": \"%s\", \"better\": \"%s\", \"runs\": %d", r->other,
               r->lower_better ? "lower" : "higher", r->n);
        json_num("dtlskit_min", d.min);
        json_num("dtlskit_max", d.max);
        json_num("other_min", o.min);
        json_num("other_max", o.max);
        if (r->target) printf(", \"target\": \"%s\"", r->target);
        if (r->first) printf(", \"dtlskit_column\": \"%s\"", r->first);
        if (r->note[0]) printf(", \"note\": \"%s\"", r->note);
        printf("}\n");
    }
}

int main(int argc, char **argv)
{
    opts o;
    parse(argc, argv, &o);
    bench_split_calibrate();
    dk_side_init();
    ossl_side_init();
    gtls_side_init();
    floor_init();
    if (o.profile && (strstr(o.profile, "records") || strcmp(o.profile, "floor-generic") == 0)) {
        const char *p = o.profile;
        bench_m m = strcmp(p, "dk-records") == 0
                        ? bench_loop_alone(dk_records_open(1200), dk_records_step, dk_records_close)
                    : strcmp(p, "ossl-records") == 0
                        ? bench_loop_alone(ossl_records_open(1200), ossl_records_step, ossl_records_close)
                    : strcmp(p, "gnutls-records") == 0
                        ? bench_loop_alone(gtls_records_open(1200), gtls_records_step, gtls_records_close)
                    : strcmp(p, "floor-records") == 0 || strcmp(p, "floor-generic") == 0
                        ? bench_loop_alone(floor_records_open(1200, strcmp(p, "floor-records") == 0),
                                           floor_records_step, floor_records_close)
                        : (bench_die("unknown --profile %s", p), (bench_m){0});
        printf("%s: %.0f records in %.3f cpu-s: %.0f records/cpu-s\n", o.profile, m.ops, m.cpu,
               rate(m));
        return 0;
    }
    if (o.profile) {
        hs_kind k = strstr(o.profile, "-psk")      ? HS_PSK_CCM8
                    : strstr(o.profile, "-x25519") ? HS_ECDSA_X25519
                                                   : HS_ECDSA_P256;
        void (*step)(void *, int, bench_m *) =
            strncmp(o.profile, "dk", 2) == 0       ? dk_handshake_step
            : strncmp(o.profile, "gnutls", 6) == 0 ? gtls_handshake_step
            : strncmp(o.profile, "ossl", 4) == 0   ? ossl_handshake_step
                                                   : NULL;
        if (!step) bench_die("unknown --profile %s", o.profile);
        bench_step st = {step, &k};
        bench_m m = bench_measure(&st, 1, 10)[0];
        printf("%s: %.0f handshakes in %.3f cpu-s\n", o.profile, m.ops, m.cpu);
        return 0;
    }
    size_t max_len = dk_max_record();
    if (max_len > ossl_max_record()) max_len = ossl_max_record();
    for (int run = 0; run < o.runs; run++) {
        if (!o.json) fprintf(stderr, "run %d/%d\n", run + 1, o.runs);
        handshake_rows(&o, run, HS_ECDSA_P256, "hs-ecdsa-p256");
        handshake_rows(&o, run, HS_ECDSA_X25519, "hs-ecdsa-x25519");
        handshake_rows(&o, run, HS_PSK_CCM8, "hs-psk-ccm8");
        floor_rows(&o, run);
        record_rows(&o, run, max_len);
        misc_rows(&o, run);
        loopback_rows(&o, run);
    }
    if (o.json) print_json();
    else print_table();
    floor_free();
    gtls_side_free();
    ossl_side_free();
    dk_side_free();
    return 0;
}
