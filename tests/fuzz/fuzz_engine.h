/* Helpers the two engine harnesses share: draining a connection's output,
 * reading its application data, describing where it ended. */
#ifndef DK_FUZZ_ENGINE_H
#define DK_FUZZ_ENGINE_H

#include "fuzz_common.h"

/* The MTU of the fuzz configurations (the library's default). */
#define FUZZ_MTU 1400

/* Poll every queued datagram; each must fit the MTU. */
void fuzz_drain(dk_conn *c);
/* Read every application record of the last datagram; echo each one back
 * when echo is set (the result of the write is not checked: the peer's
 * record may exceed our data MTU). */
void fuzz_read_app(dk_conn *c, bool echo);
/* Fire the connection's timer if due at now. */
void fuzz_timer(dk_conn *c, uint64_t now);
/* Exercise the established connection's getters and close it. */
void fuzz_finish(dk_conn *c);
/* The datagram with its epoch-1 records sealed as c's peer would seal them
 * (plaintext injection, see fuzz_common.h). Records of other epochs, and
 * every record while c has no master secret, are copied unchanged. The
 * result is malloc'd. */
uint8_t *fuzz_seal_as_peer(const dk_conn *c, const uint8_t *in, size_t len, size_t *out_len);
/* Where the first epoch-1 record of a datagram starts (len if none). The
 * harnesses deliver what comes before it first, so that a ClientKeyExchange
 * and the Finished sealed after it can share a datagram: the keys exist
 * only once the former was processed. */
size_t fuzz_first_epoch1(const uint8_t *in, size_t len);
/* Delivers a datagram chunk through feed; a sealed chunk in two parts: what
 * precedes its first epoch-1 record, then the rest sealed as the peer of
 * conn(arg) would seal it (asked after the first part, whose
 * ClientKeyExchange may be what creates the keys). */
typedef void fuzz_feed_fn(void *arg, const uint8_t *p, size_t len);
void fuzz_feed_chunk(const fuzz_chunk *ch, const dk_conn *(*conn)(void *arg), fuzz_feed_fn *feed,
                     void *arg);
/* A one-line description of c ("established", "failed: ...",
 * "handshaking in S_WAIT_FIN", "no connection"), kept in a static buffer. */
const char *fuzz_describe(const dk_conn *c);

#endif
