/* Transition-table types and the role actions the tables name. */
#ifndef DK_SM_INT_H
#define DK_SM_INT_H

#include "conn/dk_conn_int.h"

enum { C_START, C_WAIT_SH, C_WAIT_KX, C_WAIT_SKE, C_WAIT_CR_SHD, C_WAIT_SHD, C_WAIT_FIN, C_DONE };
enum { S_WAIT_CH, S_WAIT_KX, S_WAIT_CKE, S_WAIT_CV, S_WAIT_FIN, S_DONE };

typedef struct dk_sm_row {
    uint8_t state;
    uint16_t event; /* handshake type, or DK_EV_CCS */
    bool (*guard)(const dk_conn *c);
    dk_result (*action)(dk_conn *c, const dk_msg *m);
    uint8_t next;
    uint8_t flags;
} dk_sm_row;

/* The table itself, for tests and the diagram. */
const dk_sm_row *dk_sm_table(dk_role role, size_t *n);
const char *dk_sm_name(dk_role role, uint8_t state);
/* How often each row of dk_sm_table(role) ran (dk_sm_handle found it), for
 * fuzzing reports; NULL with *n = 0 unless built with DK_FUZZING. */
const uint64_t *dk_sm_row_hits(dk_role role, size_t *n);

/* client actions (dk_client.c) */
dk_result dk_cli_server_hello(dk_conn *c, const dk_msg *m);
dk_result dk_cli_certificate(dk_conn *c, const dk_msg *m);
dk_result dk_cli_key_exchange(dk_conn *c, const dk_msg *m);
dk_result dk_cli_cert_request(dk_conn *c, const dk_msg *m);
dk_result dk_cli_hello_done(dk_conn *c, const dk_msg *m);
dk_result dk_cli_finished(dk_conn *c, const dk_msg *m);

/* server actions (dk_server.c) */
dk_result dk_srv_client_hello(dk_conn *c, const dk_msg *m);
dk_result dk_srv_certificate(dk_conn *c, const dk_msg *m);
dk_result dk_srv_key_exchange(dk_conn *c, const dk_msg *m);
dk_result dk_srv_cert_verify(dk_conn *c, const dk_msg *m);
dk_result dk_srv_finished(dk_conn *c, const dk_msg *m);

#endif
