/* Shared pieces of dtlskit's fuzz harnesses, their replay driver and the
 * seed-corpus generator.
 *
 * Every harness defines LLVMFuzzerTestOneInput. Built with clang and
 * -fsanitize=fuzzer it is a libFuzzer target; built with replay_main.c it is
 * a plain program that runs every file of the directories it is given (CTest
 * registers one per harness over its seed and regression corpora).
 *
 * The engine harnesses run in a deterministic world so that recorded
 * handshakes replay byte for byte and the fuzzer reaches deep states: seeded
 * randomness (server random, ECDHE keys, cookie secret), a fixed wall clock,
 * a fixed peer address and the virtual clock dk_sim starts at.
 */
#ifndef DK_FUZZ_COMMON_H
#define DK_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dtlskit/dtlskit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the harness's last input did, for `replay -v` (NULL: nothing to say). */
const char *fuzz_outcome(void);

/* The virtual time dk_sim starts at: recorded seeds replay at the same clock. */
#define FUZZ_NOW_MS 1000
/* 2030-01-01T00:00:00Z: inside the validity of the test certificates. */
#define FUZZ_WALLCLOCK 1893456000
/* dk_sim's peer address (127.0.0.1:12345 as sockaddr-like bytes). */
#define FUZZ_PEER_LEN 6
extern const uint8_t fuzz_peer[FUZZ_PEER_LEN];

/* Seeds of the two sides' generators. */
#define FUZZ_SERVER_SEED 0x5e5e5e5e01ULL
#define FUZZ_CLIENT_SEED 0xc1c1c1c102ULL

/* Deterministic dk_random_fn: arg points to a uint64_t state. */
int fuzz_random(void *arg, uint8_t *buf, size_t n);
int64_t fuzz_wallclock(void *arg);

/* The PSK both fuzz configurations use. */
extern const uint8_t fuzz_psk[16];
#define FUZZ_PSK_ID "client1"

/* The fixed record key and IV of fuzz_record (both directions), and the
 * cookie master key of fuzz_cookie: the generator seals and mints with them. */
void fuzz_record_key(uint8_t key[32], uint8_t iv[12]);
extern const uint8_t fuzz_cookie_master[32];

/* Certificate files, read once. Paths are relative to DK_TEST_DATA_DIR. */
const char *fuzz_file(const char *name, size_t *len);
const char *fuzz_data_path(const char *name); /* static buffer */

/* The engine harnesses' configurations (the generator records against the
 * very same ones). Server: Ed25519 certificate (its signatures are
 * deterministic, unlike ECDSA and RSA-PSS with OpenSSL 3.0), PSK with an
 * identity hint, client certificates requested and checked against the EC
 * test CA. Client: PSK, trusts the EC and RSA test CAs, holds the Ed25519
 * certificate for client authentication. Abort on setup failure. */
dk_config *fuzz_server_config(bool cookie_exchange, uint64_t *rng);
dk_config *fuzz_client_config(uint64_t *rng);
#define FUZZ_SERVER_NAME "localhost"
/* Building a configuration costs about 2 ms under ASan, most of an engine
 * input's time, so the harnesses keep one per process and, before each
 * input, reset its generator's state and this: the state a configuration
 * gains while connections use it, so that every input starts from the same
 * world as a fresh configuration. */
void fuzz_config_reset(dk_config *cfg);

/* ---- engine input framing ----------------------------------------------
 * A sequence of chunks, each opened by a 2-byte big-endian header:
 *   0x0000..0x7fff  a datagram of that many bytes (cut short by the input's end)
 *   0x8000 | t      (t > 0) advance the clock by t * FUZZ_TICK_MS and fire due
 *                   timers
 *   0x8000 n        (n a 2-byte length) a datagram whose epoch-1 records hold
 *                   plaintext: the harness seals them with the keys the peer
 *                   would use (derived from the connection's master secret),
 *                   so that the fuzzer can change what is inside the
 *                   encryption (Finished, alerts, application data, a
 *                   renegotiation attempt) and still pass authentication
 */
#define FUZZ_TICK_MS 16
#define FUZZ_TIMER_FLAG 0x8000u
#define FUZZ_MAX_DGRAM 0x7fffu

#define FUZZ_SEAL_MARK 0x8000u

typedef struct fuzz_chunk {
    bool timer;
    bool seal;
    uint32_t advance_ms;
    const uint8_t *p;
    size_t len;
} fuzz_chunk;

typedef struct fuzz_chunks {
    const uint8_t *p;
    size_t len, off;
} fuzz_chunks;

void fuzz_chunks_init(fuzz_chunks *it, const uint8_t *p, size_t len);
bool fuzz_chunks_next(fuzz_chunks *it, fuzz_chunk *out);

/* ---- state-machine row coverage (DK_FUZZING builds) ------------------- */

/* Print the rows of both transition tables and how often each ran since the
 * process started. False when the library was built without DK_FUZZING. */
bool fuzz_rows_print(FILE *f);

/* Read every byte (so ASan sees a zero-copy pointer that points outside its
 * input) and return a value the caller may ignore. */
unsigned fuzz_touch(const uint8_t *p, size_t n);

/* Abort with a message: an invariant a harness checks does not hold. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond);                                         \
    } while (0)
void fuzz_fail(const char *file, int line, const char *what) __attribute__((noreturn));

#endif
