/* Shared helpers of the robustness tests: stages of a hand-driven handshake
 * (tests/support/dk_duo), feeding one datagram and checking what came out,
 * and "a fresh handshake afterwards still works". */
#ifndef RB_UTIL_H
#define RB_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "dk_duo.h"
#include "dk_sim.h"

/* What feeding one datagram did. */
typedef struct rb_outcome {
    dk_result res;       /* dk_conn_receive's result */
    dk_state before, after;
    size_t datagrams;    /* datagrams the connection queued in answer */
    bool alert;          /* one of them was a plaintext alert (or an epoch-1 record while FAILED) */
    uint8_t alert_desc;  /* for a plaintext alert */
} rb_outcome;

/* Feed p to conn (the client, or the server connection) and collect its
 * answer; the datagram is copied first. */
rb_outcome rb_feed(dk_duo *d, dk_conn *conn, const uint8_t *p, size_t len);

/* Assert a silent discard: DK_OK, same state, nothing sent. */
void rb_assert_discarded(const rb_outcome *o);
/* Assert a fatal end: error result, FAILED, a fatal alert with desc queued
 * (desc < 0: any alert; plaintext alerts are checked for desc). */
void rb_assert_fatal(const rb_outcome *o, dk_conn *conn, dk_result err, int desc);

/* Free failed/closed server connections (as an endpoint would), start a new
 * client connection from the same config and run a whole handshake plus one
 * record each way; true when it all worked. */
bool rb_fresh_handshake(dk_duo *d);

/* Build one plaintext record of type ct/epoch/seq with payload. */
size_t rb_record(uint8_t *out, size_t cap, uint8_t ct, uint16_t version, uint16_t epoch,
                 uint64_t seq, const uint8_t *payload, size_t len);

/* An env override for loop counts: DK_RB_<name> or def. */
unsigned long rb_count(const char *name, unsigned long def);

#endif
