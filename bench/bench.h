/* dtlskit benchmark: dtlskit against OpenSSL's libssl DTLS and GnuTLS in one
 * process, with the same certificate, cipher suite, cookie, EMS and MTU
 * settings.
 *
 * Every rate is per CPU-second of the process (CLOCK_PROCESS_CPUTIME_ID).
 * Each row is measured in several interleaved runs (dtlskit, OpenSSL,
 * GnuTLS, dtlskit, ...); the table shows the median with min and max. */
#ifndef DK_BENCH_H
#define DK_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef DK_BENCH_CERTS
#error "DK_BENCH_CERTS must name tests/vectors/certs"
#endif
#define BENCH_CERT(f) DK_BENCH_CERTS "/" f

#define BENCH_HOST "localhost"
#define BENCH_MTU 1400
#define BENCH_PSK_ID "client1"
extern const uint8_t bench_psk[16];

/* Handshake kinds. */
typedef enum { HS_ECDSA_P256, HS_ECDSA_X25519, HS_PSK_CCM8 } hs_kind;

/* Process CPU time and wall time, in seconds. */
double bench_cpu(void);
double bench_thread_cpu(void);
double bench_wall(void);
void bench_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Per-side CPU: with bench_split off (rate runs) the calls cost nothing;
 * on, bench_split_add adds the thread CPU since t0, less the calibrated cost
 * of one clock reading. bench_split_merge scales a split run's per-side CPU
 * to a rate run's operation count. */
extern bool bench_split;
void bench_split_calibrate(void);
double bench_split_start(void);
double bench_split_clock_cost(void);
void bench_split_add(double *acc, double t0);

/* A measurement: how many operations in how much CPU time, and the share
 * of the CPU spent on the server and client sides where it applies. */
typedef struct bench_m {
    double ops, cpu, server_cpu, client_cpu;
} bench_m;

bench_m bench_split_merge(bench_m rate, bench_m split);

/* Side-by-side measurement. A step does n operations into m (ops, and the
 * per-side CPU when bench_split is on); bench_measure runs up to 6 steps in
 * turn, chunk operations at a time, until each has had bench_run_s of CPU
 * (each chunk timed by the process CPU clock) with the split off, then
 * bench_run_s / 2 more with it on, and returns the rates with the per-side
 * split merged in (static storage, valid until the next call). Taking turns
 * in small chunks means every stack sees the same machine: a neighbour's load
 * lands on all of them alike. */
typedef struct bench_step {
    void (*fn)(void *arg, int n, bench_m *m);
    void *arg;
} bench_step;
#define BENCH_MAX_STEPS 6
const bench_m *bench_measure(const bench_step *steps, int n_steps, int chunk);
/* The same without the split pass (record loops). */
const bench_m *bench_measure_rate(const bench_step *steps, int n_steps, int chunk);
/* One record loop alone (made by its *_open): its rate over bench_run_s,
 * 1000 records a chunk; the loop is closed afterwards. */
bench_m bench_loop_alone(void *loop, void (*step)(void *, int, bench_m *), void (*close)(void *));
/* Stateless HelloVerifyRequests for bench_run_s of CPU: the ClientHello
 * template ch gets a new random (the counter) each time, and answer(arg, ch,
 * len, ctr) must make the stack answer it with an HVR (the counter is also
 * the "address", the cookie input). */
bench_m bench_hvr_loop(uint8_t *ch, size_t len, void (*answer)(void *, const uint8_t *, size_t, uint32_t),
                       void *arg);

/* The median of v[0..n) (sorts v in place). */
double bench_median(double *v, int n);

/* How long each timed run lasts (CPU seconds); --quick shortens it. */
extern double bench_run_s;

/* ---- dtlskit (bench_dk.c) ---- */
void dk_side_init(void);
void dk_side_free(void);
void dk_handshake_step(void *arg, int n, bench_m *m);
/* Record loops as steps: open (handshake done), step, close. */
void *dk_records_open(size_t len);
void dk_records_step(void *loop, int n, bench_m *m);
void dk_records_close(void *loop);
bench_m dk_hvr(void);
/* Heap: build n connection pairs, complete the handshakes, report live heap
 * bytes per server and per client connection (bench_heap.c counts). */
void dk_heap(size_t n, double *server, double *client);
size_t dk_max_record(void);

/* ---- OpenSSL (bench_ossl.c) ---- */
void ossl_side_init(void);
void ossl_side_free(void);
void ossl_handshake_step(void *arg, int n, bench_m *m);
void *ossl_records_open(size_t len);
void ossl_records_step(void *loop, int n, bench_m *m);
void ossl_records_close(void *loop);
bench_m ossl_hvr(void);
void ossl_heap(size_t n, double *server, double *client);
size_t ossl_max_record(void);

/* ---- GnuTLS (bench_gnutls.c) ---- */
void gtls_side_init(void);
void gtls_side_free(void);
void gtls_handshake_step(void *arg, int n, bench_m *m);
/* 1200-byte (MTU-sized) record loops only. */
void *gtls_records_open(size_t len);
void gtls_records_step(void *loop, int n, bench_m *m);
void gtls_records_close(void *loop);
bench_m gtls_hvr(void);
void gtls_heap(size_t n, double *server, double *client);

/* ---- floors (bench_floor.c): libcrypto alone ---- */
void floor_init(void);
void floor_free(void);
/* keygen + derive (peer point checked) + sign: the server's share of an
 * ECDHE-ECDSA P-256 handshake; keygen + derive + two verifies: the
 * client's. Through dtlskit's crypto wrappers (*(bool *)arg) or raw EVP. */
void floor_handshake_step(void *arg, int n, bench_m *m);
/* AES-128-GCM seal + open of len bytes on prefetched, keyed contexts:
 * through EVP's generic AEAD calls, or (tls_path) through the TLS record
 * construction (TLS1_AAD parameter + one EVP_Cipher call). */
void *floor_records_open(size_t len, bool tls_path);
void floor_records_step(void *loop, int n, bench_m *m);
void floor_records_close(void *loop);
/* The same construction framed as a DTLS record (13-byte header,
 * nonce_explicit, content, tag) for the socket loop's AEAD echo: content at
 * RAW_REC_CONTENT, sealed and opened in place. key_id picks the key; the
 * opening side uses the sealing side's key_id. */
#define RAW_REC_EXPLICIT 8
#define RAW_REC_CONTENT (13 + RAW_REC_EXPLICIT)
#define RAW_REC_OVERHEAD (RAW_REC_CONTENT + 16)
typedef struct raw_rec raw_rec;
raw_rec *raw_rec_new(bool seal, uint8_t key_id);
void raw_rec_free(raw_rec *r);
/* Seals content_len bytes at d + RAW_REC_CONTENT; returns the datagram's length. */
size_t raw_rec_seal(raw_rec *r, uint8_t *d, size_t content_len, uint64_t seq);
/* Opens a datagram of len bytes in place; false when it does not verify. */
bool raw_rec_open(raw_rec *r, uint8_t *d, size_t len);

/* ---- heap accounting (bench_heap.c) ---- */
void heap_start(void);
/* Live bytes allocated since heap_start (malloc_usable_size). */
long long heap_live(void);
void heap_stop(void);

/* ---- loopback (bench_loop.c) ---- */
typedef struct loop_result {
    double wall_s, hs_per_s, server_rss_kib, server_cpu_s;
    double syscalls_per_dgram;
    size_t handshakes, failed, peak_in_flight;
} loop_result;
loop_result loop_handshakes(size_t clients, size_t in_flight, unsigned batch, bool gso);
/* Records per second through the socket: 1200-byte records echoed by the
 * endpoint, against the same pattern over plain UDP and over an AEAD echo
 * (plain UDP whose server opens and seals each datagram as a raw record in
 * place, and whose client seals and opens them: the AEAD alone through the
 * same socket path); CPU per echoed record (microseconds) of the server
 * process and of both processes, over the timed loop only; and the seal+open
 * floor measured between the segments (the cheaper EVP path: aead_tls_path
 * says which). */
typedef struct loop_records {
    double dtls_per_s, plain_per_s, aead_per_s;
    double dtls_syscalls_per_dgram, plain_syscalls_per_dgram;
    double dtls_server_us, plain_server_us, aead_server_us;
    double dtls_both_us, plain_both_us, aead_both_us;
    double aead_us;
    bool aead_tls_path;
    /* Medians over the segment groups, each figure from its own group:
     * x_aead: (CPU/record - plain UDP's) / (the AEAD echo's - plain UDP's),
     * the server's and both processes'; x_floor: the same over the in-process
     * seal+open floor (twice for both); aead_echo_x_floor: the AEAD echo's
     * server CPU above plain UDP's over the floor. */
    double server_x_aead, both_x_aead, server_x_floor, both_x_floor, aead_echo_x_floor;
} loop_records;
typedef struct loop_opts {
    unsigned batch; /* the servers' recvmmsg/sendmmsg batch */
    bool gso;       /* the endpoint with UDP GSO */
    /* the client busy-waits for echoes instead of blocking in poll()
     * (bench_loop.c, wait_echoes: why); its empty receive calls are taken
     * out of the client's CPU */
    bool spin;
    bool aead_copy; /* the AEAD echo seals in a send buffer of its own, after a copy */
} loop_opts;
loop_records loop_record_rate(double seconds, const loop_opts *o);

#endif
