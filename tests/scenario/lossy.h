/* Lossy-link runs: shared types of lossy.c (profiles, table), lossy_run.c
 * (one handshake and its records) and lossy_attack.c (an active attacker on
 * the link). */
#ifndef DK_LOSSY_H
#define DK_LOSSY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dk_sim.h"

typedef struct lossy_profile {
    const char *name;
    dk_link_profile link;
    bool set_mtu;     /* configure both ends' MTU to the link's cap */
    bool attack;      /* an attacker injects replays, forgeries and wrong epochs */
    double min_rate;  /* required completion rate, percent */
    const char *what; /* one line for the report */
} lossy_profile;

#define LOSSY_MAX_REASONS 16

typedef struct lossy_result {
    unsigned handshakes, done, failed, wedged, unclean;
    uint64_t *times;      /* virtual ms to complete, per completed handshake */
    uint64_t *fail_times; /* virtual ms until the first side failed */
    uint64_t max_end_ms;  /* longest time until both sides ended */
    /* records: [0] client -> server, [1] server -> client */
    unsigned long long sent[2], delivered[2];
    unsigned long long dup_delivered, bad_delivered, lost_established;
    unsigned long long injected;
    const char *reason[LOSSY_MAX_REASONS];
    unsigned reason_n[LOSSY_MAX_REASONS];
    char reason_buf[LOSSY_MAX_REASONS][160];
} lossy_result;

/* The attacker: stores what it sees on the link (across handshakes) and
 * injects replays of it, forged epoch-1 records, copies with a wrong epoch,
 * plaintext application data and spoofed plaintext alerts. */
typedef struct lossy_attacker {
    dk_sim *sim;
    uint64_t rng;
    unsigned conn; /* index of the current handshake */
    struct {
        unsigned conn;
        uint8_t *p;
        size_t len;
        int to_server;
    } store[256];
    size_t stored;
    unsigned long long injected;
} lossy_attacker;

void lossy_attacker_init(lossy_attacker *a, uint64_t seed);
void lossy_attacker_free(lossy_attacker *a);
void lossy_attack_tap(void *arg, int to_server, const uint8_t *p, size_t len);

/* One handshake (index i) under a profile, then records each way. */
void lossy_one(const lossy_profile *pr, unsigned i, unsigned records, lossy_attacker *att,
               lossy_result *res);
/* The virtual time a handshake may take at most with the default timers. */
uint64_t lossy_budget_ms(void);

/* Expected application record k of connection conn in direction dir (0:
 * client to server); returns its length. */
size_t lossy_record(unsigned conn, int dir, unsigned k, size_t maxlen, uint8_t *out);

#endif
