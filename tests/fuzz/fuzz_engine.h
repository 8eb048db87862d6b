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
/* A one-line description of c ("established", "failed: ...",
 * "handshaking in S_WAIT_FIN", "no connection"), kept in a static buffer. */
const char *fuzz_describe(const dk_conn *c);

#endif
