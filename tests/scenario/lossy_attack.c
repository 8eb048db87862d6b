/* An active attacker on the simulated link. It sees every datagram (the
 * sim's tap) and, with small probabilities, injects towards the same
 * receiver:
 *  - a replay of any datagram of this connection seen so far, or of an
 *    encrypted (epoch >= 1) datagram of an earlier connection on the same
 *    address (other keys);
 *  - a forged epoch-1 record: random ciphertext under a random, far-ahead or
 *    maximal sequence number;
 *  - a copy of an epoch-1 application-data record with its epoch rewritten
 *    (0, 2, 0xFFFF);
 *  - a plaintext (epoch 0) application-data record that looks like a real
 *    one, but names another connection;
 *  - once the association is established, a spoofed plaintext fatal alert
 *    (RFC 6347 4.1.2.7 / T25: it must be discarded).
 * Nothing it injects may be delivered as application data, and no
 * established association may end because of it. Plaintext handshake
 * messages are not forged: epoch 0 is unauthenticated by design, so such an
 * attacker can always break a handshake in progress (it can also just drop
 * packets). */
#include <stdlib.h>
#include <string.h>

#include "lossy.h"

#define CT_ALERT 21
#define CT_APP 23

static uint64_t rnd(lossy_attacker *a)
{
    uint64_t z = (a->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static bool chance(lossy_attacker *a, unsigned per_mille) { return rnd(a) % 1000 < per_mille; }

void lossy_attacker_init(lossy_attacker *a, uint64_t seed)
{
    memset(a, 0, sizeof *a);
    a->rng = seed;
}

void lossy_attacker_free(lossy_attacker *a)
{
    size_t n = a->stored < 256 ? a->stored : 256;
    for (size_t i = 0; i < n; i++) free(a->store[i].p);
}

static void header(uint8_t *h, uint8_t ct, uint16_t epoch, uint64_t seq, uint16_t len)
{
    h[0] = ct;
    h[1] = 0xFE;
    h[2] = 0xFD;
    h[3] = (uint8_t)(epoch >> 8);
    h[4] = (uint8_t)epoch;
    for (int i = 0; i < 6; i++) h[5 + i] = (uint8_t)(seq >> (8 * (5 - i)));
    h[11] = (uint8_t)(len >> 8);
    h[12] = (uint8_t)len;
}

static void inject(lossy_attacker *a, int to_server, const uint8_t *p, size_t len)
{
    a->injected++;
    dk_sim_inject(a->sim, to_server, p, len);
}

static void store(lossy_attacker *a, int to_server, const uint8_t *p, size_t len)
{
    size_t slot = a->stored++ % 256;
    free(a->store[slot].p);
    a->store[slot].p = malloc(len ? len : 1);
    memcpy(a->store[slot].p, p, len);
    a->store[slot].len = len;
    a->store[slot].to_server = to_server;
    a->store[slot].conn = a->conn;
}

/* Plaintext handshake datagrams of an earlier connection are not replayed:
 * they are forged handshake messages as far as this connection can tell. */
static bool replayable(const lossy_attacker *a, size_t k)
{
    const uint8_t *p = a->store[k].p;
    bool epoch0 = a->store[k].len < 13 || (p[3] == 0 && p[4] == 0);
    return a->store[k].conn == a->conn || !epoch0;
}

static void forge_epoch1(lossy_attacker *a, int to_server)
{
    uint8_t d[13 + 200];
    uint16_t len = (uint16_t)(1 + rnd(a) % 200);
    static const uint64_t seqs[] = {0, 1, 1ULL << 20, (1ULL << 48) - 1};
    uint64_t seq = rnd(a) % 2 ? seqs[rnd(a) % 4] : rnd(a) & ((1ULL << 48) - 1);
    header(d, (uint8_t)(rnd(a) % 2 ? CT_APP : CT_ALERT), 1, seq, len);
    for (size_t i = 0; i < len; i++) d[13 + i] = (uint8_t)rnd(a);
    inject(a, to_server, d, 13u + len);
}

/* The first record of an epoch-1 application-data datagram, epoch changed. */
static void wrong_epoch(lossy_attacker *a, int to_server, const uint8_t *p, size_t len)
{
    static const uint16_t epochs[] = {0, 2, 0xFFFF};
    if (len < 13 || p[0] != CT_APP || p[3] != 0 || p[4] != 1) return;
    uint8_t d[17000];
    memcpy(d, p, len);
    uint16_t e = epochs[rnd(a) % 3];
    d[3] = (uint8_t)(e >> 8);
    d[4] = (uint8_t)e;
    inject(a, to_server, d, len);
}

/* Epoch-0 application data shaped like a real record of another connection:
 * delivered, it would fail the receiver's check. */
static void plaintext_app(lossy_attacker *a, int to_server)
{
    uint8_t d[13 + 256];
    size_t n = lossy_record(a->conn + 1, to_server ? 0 : 1, (unsigned)(rnd(a) % 8), 64, d + 13);
    header(d, CT_APP, 0, rnd(a) % 64, (uint16_t)n);
    inject(a, to_server, d, 13 + n);
}

static void spoofed_alert(lossy_attacker *a, int to_server)
{
    dk_conn *c = to_server ? a->sim->s : a->sim->c;
    if (!c || dk_conn_state(c) != DK_STATE_ESTABLISHED) return;
    static const uint8_t descs[] = {0, 10, 20, 40, 80};
    uint8_t d[15];
    header(d, CT_ALERT, 0, rnd(a) % 1000, 2);
    d[13] = 2;
    d[14] = descs[rnd(a) % sizeof descs];
    if (d[14] == 0) d[13] = 1; /* close_notify is a warning */
    inject(a, to_server, d, sizeof d);
}

void lossy_attack_tap(void *arg, int to_server, const uint8_t *p, size_t len)
{
    lossy_attacker *a = arg;
    if (!a->sim) return;
    if (chance(a, 40) && a->stored) {
        size_t n = a->stored < 256 ? a->stored : 256;
        size_t k = (size_t)(rnd(a) % n);
        if (replayable(a, k)) inject(a, a->store[k].to_server, a->store[k].p, a->store[k].len);
    }
    if (chance(a, 30)) forge_epoch1(a, to_server);
    if (chance(a, 30)) wrong_epoch(a, to_server, p, len);
    if (chance(a, 20)) plaintext_app(a, to_server);
    if (chance(a, 20)) spoofed_alert(a, to_server);
    store(a, to_server, p, len);
}
