/* dtlskit: a sans-IO DTLS 1.2 (RFC 6347) implementation.
 *
 * The connection takes datagrams and the current time (milliseconds, any
 * monotonic origin) and gives back datagrams to send, application data and a
 * state. It never reads a clock, touches a socket or sleeps.
 */
#ifndef DTLSKIT_H
#define DTLSKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define DK_API __attribute__((visibility("default")))
#define DK_CHECK __attribute__((warn_unused_result))
#else
#define DK_API
#define DK_CHECK
#endif

#define DTLSKIT_VERSION "0.1.0"

/* ---- results --------------------------------------------------------- */

/* 0 is success; every failure is negative. dk_strerror() names it. Functions
 * returning dk_result are marked warn_unused_result: a forgotten check fails
 * the -Werror build. */
typedef int dk_result;

enum {
    DK_OK = 0,
    DK_ERR_NOMEM = -1,
    DK_ERR_INVALID_ARG = -2,
    DK_ERR_BUFFER_TOO_SMALL = -3,
    DK_ERR_WOULD_BLOCK = -4,      /* nothing to poll or read right now */
    DK_ERR_TOO_LARGE = -5,        /* write larger than the data MTU */
    DK_ERR_STATE = -6,            /* call not valid in this state */
    DK_ERR_CLOSED = -7,           /* the peer sent close_notify */
    DK_ERR_DECODE = -8,           /* malformed input */
    DK_ERR_CRYPTO = -9,           /* crypto library failure or bad MAC */
    DK_ERR_TIMEOUT = -10,         /* retransmission budget exhausted */
    DK_ERR_CERT = -11,            /* peer certificate rejected */
    DK_ERR_NO_SHARED_CIPHER = -12,
    DK_ERR_PSK_UNKNOWN = -13,     /* no key for the PSK identity */
    DK_ERR_PEER_ALERT = -14,      /* peer sent a fatal alert */
    DK_ERR_HANDSHAKE = -15,       /* protocol violation by the peer; we sent an alert */
    DK_ERR_CONFIG = -16,          /* configuration incomplete or inconsistent */
    DK_ERR_IO = -17,              /* socket layer */
    DK_ERR_LIMIT = -18,           /* a configured cap was reached */
    DK_ERR_EMS_REQUIRED = -19,    /* peer lacks extended_master_secret */
    DK_ERR_FILE = -20,            /* could not read or parse a file */
    DK_ERR_SIGNATURE = -21,       /* signature verification failed */
    DK_ERR_UNSUPPORTED = -22,
    DK_ERR_INTERNAL = -23,
};

DK_API const char *dk_strerror(dk_result r);

/* ---- enums ----------------------------------------------------------- */

typedef enum { DK_ROLE_CLIENT = 0, DK_ROLE_SERVER = 1 } dk_role;

typedef enum {
    DK_STATE_HANDSHAKING = 0,
    DK_STATE_ESTABLISHED = 1,
    DK_STATE_CLOSED = 2, /* close_notify sent or received */
    DK_STATE_FAILED = 3, /* fatal alert sent or received, or timeout */
} dk_state;

typedef enum {
    DK_CLIENT_AUTH_NONE = 0,
    DK_CLIENT_AUTH_REQUEST = 1,
    DK_CLIENT_AUTH_REQUIRE = 2,
} dk_client_auth;

/* IANA cipher suite values supported. */
enum {
    DK_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 = 0xC02B,
    DK_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384 = 0xC02C,
    DK_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA9,
    DK_TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8 = 0xC0AE,
    DK_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 = 0xC02F,
    DK_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 = 0xC030,
    DK_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256 = 0xCCA8,
    DK_TLS_PSK_WITH_AES_128_CCM_8 = 0xC0A8,
    DK_TLS_PSK_WITH_AES_128_GCM_SHA256 = 0x00A8,
    DK_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256 = 0xCCAC,
};

/* IANA named groups. */
enum { DK_GROUP_SECP256R1 = 23, DK_GROUP_SECP384R1 = 24, DK_GROUP_X25519 = 29 };

/* ---- configuration --------------------------------------------------- */

typedef struct dk_config dk_config;

/* Fill buf with n random bytes; return 0 on success. */
typedef int (*dk_random_fn)(void *arg, uint8_t *buf, size_t n);
/* Wall-clock time in seconds since 1970, for certificate validity. */
typedef int64_t (*dk_wallclock_fn)(void *arg);
/* One NSS key log line, without the newline. */
typedef void (*dk_keylog_fn)(void *arg, const char *line);
/* Server: find the key for a PSK identity. Return the key length, or -1 if
 * the identity is unknown. */
typedef int (*dk_psk_lookup_fn)(void *arg, const uint8_t *identity, size_t identity_len,
                                uint8_t *key, size_t key_cap);

DK_API dk_config *dk_config_new(dk_role role);
DK_API void dk_config_free(dk_config *cfg);

/* Credentials. PEM in memory or from a file. The chain starts with the leaf. */
DK_API DK_CHECK dk_result dk_config_set_cert_chain_pem(dk_config *cfg, const char *pem, size_t len);
DK_API DK_CHECK dk_result dk_config_set_cert_chain_file(dk_config *cfg, const char *path);
DK_API DK_CHECK dk_result dk_config_set_private_key_pem(dk_config *cfg, const char *pem, size_t len);
DK_API DK_CHECK dk_result dk_config_set_private_key_file(dk_config *cfg, const char *path);
/* A freshly generated self-signed ECDSA P-256 certificate; its SHA-256
 * fingerprint (of the DER) is written to fp (may be NULL). */
DK_API DK_CHECK dk_result dk_config_use_ephemeral_cert(dk_config *cfg, const char *common_name,
                                                       uint8_t fp[32]);

/* Peer verification. A client with none of CA, pin or insecure refuses every
 * certificate-authenticated server (fails closed). */
DK_API DK_CHECK dk_result dk_config_set_ca_file(dk_config *cfg, const char *path);
DK_API DK_CHECK dk_result dk_config_set_ca_dir(dk_config *cfg, const char *path);
DK_API DK_CHECK dk_result dk_config_add_pin_sha256(dk_config *cfg, const uint8_t sha256[32]);
DK_API void dk_config_set_insecure(dk_config *cfg, bool insecure);
DK_API void dk_config_set_client_auth(dk_config *cfg, dk_client_auth mode);

/* PSK. The client sets its identity and key; the server a lookup callback
 * (or, for convenience, one identity and key) and optionally a hint. */
DK_API DK_CHECK dk_result dk_config_set_psk(dk_config *cfg, const uint8_t *identity, size_t id_len,
                                            const uint8_t *key, size_t key_len);
DK_API void dk_config_set_psk_lookup(dk_config *cfg, dk_psk_lookup_fn fn, void *arg);
DK_API DK_CHECK dk_result dk_config_set_psk_hint(dk_config *cfg, const uint8_t *hint, size_t len);

/* Cipher suites: a list of IANA values in preference order, or a string of
 * RFC or OpenSSL names separated by ':' or ','. */
DK_API DK_CHECK dk_result dk_config_set_cipher_suites(dk_config *cfg, const uint16_t *suites,
                                                      size_t n);
DK_API DK_CHECK dk_result dk_config_set_ciphers(dk_config *cfg, const char *list);
DK_API DK_CHECK dk_result dk_config_set_groups(dk_config *cfg, const uint16_t *groups, size_t n);

/* The largest UDP payload dtlskit sends (default 1400). */
DK_API DK_CHECK dk_result dk_config_set_mtu(dk_config *cfg, size_t mtu);
/* Extended master secret (RFC 7627) is required by default. */
DK_API void dk_config_set_require_ems(dk_config *cfg, bool require);
/* Retransmission: initial timeout, cap, and how many retransmissions of one
 * flight before the handshake fails (defaults 1000 ms, 60000 ms, 8). */
DK_API DK_CHECK dk_result dk_config_set_timers(dk_config *cfg, uint32_t initial_ms, uint32_t max_ms,
                                               unsigned max_retransmits);
/* Replay window size in records, 32 to 1024 (default 64). */
DK_API DK_CHECK dk_result dk_config_set_replay_window(dk_config *cfg, unsigned records);
/* Cookie gate (server): lifetime and secret rotation period. */
DK_API DK_CHECK dk_result dk_config_set_cookie_policy(dk_config *cfg, uint32_t lifetime_ms,
                                                      uint32_t rotation_ms);
/* Server: answer a ClientHello without a valid cookie with a
 * HelloVerifyRequest (default on). */
DK_API void dk_config_set_cookie_exchange(dk_config *cfg, bool on);
/* Caps on buffered handshake state per connection. */
DK_API DK_CHECK dk_result dk_config_set_handshake_limits(dk_config *cfg, size_t max_message,
                                                         size_t max_buffered, unsigned max_chain);

DK_API void dk_config_set_keylog(dk_config *cfg, dk_keylog_fn fn, void *arg);
DK_API void dk_config_set_random(dk_config *cfg, dk_random_fn fn, void *arg);
DK_API void dk_config_set_wallclock(dk_config *cfg, dk_wallclock_fn fn, void *arg);

/* ---- connection ------------------------------------------------------ */

typedef struct dk_conn dk_conn;

/* peer_id is an opaque identity of the peer's transport address (for
 * example its sockaddr bytes); the server binds cookies to it. The config must
 * outlive the connection. */
DK_API dk_conn *dk_conn_new(const dk_config *cfg, const void *peer_id, size_t peer_id_len);
DK_API void dk_conn_free(dk_conn *c);

/* Client: the name sent in server_name and checked against the certificate. */
DK_API DK_CHECK dk_result dk_conn_set_server_name(dk_conn *c, const char *name);

/* Client: start the handshake (queues the first flight). */
DK_API DK_CHECK dk_result dk_conn_connect(dk_conn *c, uint64_t now_ms);

/* dk_conn_receive's positive result on a server connection: this datagram
 * is an epoch-0 ClientHello whose cookie is bound to this connection's
 * current state (RULES.md R38 b), i.e. the peer proved reachability and
 * starts a new handshake. Create dk_conn_new_successor(c), feed it the same
 * datagram, and keep c while the new handshake runs if c is established
 * (R16): free c once the successor is established. If c was still
 * handshaking, free it at once. Keys are never swapped in place. */
#define DK_NEW_HANDSHAKE 1
DK_API dk_conn *dk_conn_new_successor(const dk_conn *old);

/* ---- One peer's associations on a server (R16) ------------------------
 * For a server with its own socket loop (the endpoint, dtlskit_endpoint.h,
 * does all this itself): one dk_peer per peer address, made from the
 * connection created after dk_server_gate accepted the peer's ClientHello.
 * It holds the current connection and, while the peer runs a new handshake
 * on the same address, the established association the new one replaces
 * (RULES.md R16, R38): a ClientHello bound to the connection's state starts
 * a successor (dk_peer_receive returns DK_NEW_HANDSHAKE); records the
 * successor cannot read go to the old association, whose traffic keeps
 * flowing; the old one goes once the successor is established and it has
 * nothing left to read or send, and a successor that fails leaves the old
 * one current again. After each dk_peer_receive or dk_peer_handle_timeout,
 * read with dk_peer_read(_view) and send what dk_peer_poll_datagram gives
 * until DK_ERR_WOULD_BLOCK; free the peer when dk_peer_done says so. */
typedef struct dk_peer dk_peer;
/* Takes conn (a server connection); NULL without memory (conn is freed). */
DK_API dk_peer *dk_peer_new(dk_conn *conn);
DK_API void dk_peer_free(dk_peer *p);
/* Like dk_conn_receive (the datagram is decrypted in place; views from
 * dk_peer_read_view stay valid until the next dk_peer_receive, which may
 * keep a copy of the datagram for a successor or the old association);
 * DK_NEW_HANDSHAKE: a successor started. */
DK_API dk_result dk_peer_receive(dk_peer *p, uint8_t *datagram, size_t len, uint64_t now_ms);
DK_API uint64_t dk_peer_next_timeout(const dk_peer *p);
DK_API dk_result dk_peer_handle_timeout(dk_peer *p, uint64_t now_ms);
/* The old association's datagrams first, then the current one's. */
DK_API DK_CHECK dk_result dk_peer_poll_datagram(dk_peer *p, uint8_t *out, size_t cap,
                                                size_t *out_len);
/* Application data: the old association's first, then the current one's;
 * *from (when from is not NULL) is the connection that read it, the one to
 * answer on (the current one may still be handshaking). */
DK_API DK_CHECK dk_result dk_peer_read(dk_peer *p, uint8_t *buf, size_t cap, size_t *len,
                                       dk_conn **from);
DK_API DK_CHECK dk_result dk_peer_read_view(dk_peer *p, const uint8_t **data, size_t *len,
                                            dk_conn **from);
/* The current connection (write and close through it), and the old
 * association while a successor runs (else NULL). */
DK_API dk_conn *dk_peer_conn(const dk_peer *p);
DK_API dk_conn *dk_peer_old(const dk_peer *p);
/* No association left to use and nothing left to send: free the peer. */
DK_API bool dk_peer_done(dk_peer *p);

/* Feed one received datagram. The buffer is decrypted in place and the
 * application data it carries stays there until the next call to
 * dk_conn_receive: read it with dk_conn_read first. Invalid records are
 * discarded silently (counted); a fatal condition returns an error, queues an
 * alert and moves the connection to DK_STATE_FAILED. */
DK_API DK_CHECK dk_result dk_conn_receive(dk_conn *c, uint8_t *datagram, size_t len,
                                          uint64_t now_ms);
/* The next datagram to send, or DK_ERR_WOULD_BLOCK. */
DK_API DK_CHECK dk_result dk_conn_poll_datagram(dk_conn *c, uint8_t *out, size_t cap,
                                                size_t *out_len);
/* Absolute deadline in ms, or UINT64_MAX when no timer runs. */
DK_API uint64_t dk_conn_next_timeout(const dk_conn *c);
DK_API DK_CHECK dk_result dk_conn_handle_timeout(dk_conn *c, uint64_t now_ms);
/* Queue one application record. len must not exceed dk_conn_data_mtu(). */
DK_API DK_CHECK dk_result dk_conn_write(dk_conn *c, const uint8_t *data, size_t len);
/* Zero-copy write: seal one application record straight into out (a whole
 * datagram to send as is), without the output queue and without
 * allocating. Same limits as dk_conn_write. */
DK_API DK_CHECK dk_result dk_conn_write_datagram(dk_conn *c, const uint8_t *data, size_t len,
                                                 uint8_t *out, size_t cap, size_t *out_len);
/* Copy out the next received application record (one record per call). */
DK_API DK_CHECK dk_result dk_conn_read(dk_conn *c, uint8_t *out, size_t cap, size_t *out_len);
/* Zero-copy read: the next received application record where it was
 * decrypted, inside the datagram buffer last given to dk_conn_receive.
 * *data stays valid until that buffer is reused or dk_conn_receive is called
 * again. Otherwise as dk_conn_read (DK_ERR_WOULD_BLOCK when none is left). */
DK_API DK_CHECK dk_result dk_conn_read_view(dk_conn *c, const uint8_t **data, size_t *len);
/* Queue close_notify. */
DK_API DK_CHECK dk_result dk_conn_close(dk_conn *c);

DK_API dk_state dk_conn_state(const dk_conn *c);
/* The error that ended the connection, and a sentence for a person. */
DK_API dk_result dk_conn_error(const dk_conn *c);
DK_API const char *dk_conn_error_reason(const dk_conn *c);

/* Negotiated parameters, valid once established. */
typedef struct dk_conn_info {
    uint16_t version;      /* 0xFEFD for DTLS 1.2 */
    uint16_t cipher_suite; /* IANA value */
    const char *cipher_name; /* IANA name */
    uint16_t group;        /* 0 for plain PSK */
    uint16_t sig_scheme;   /* peer's signature scheme, 0 if none */
    bool ems;              /* extended master secret used */
    bool peer_authenticated;
    size_t data_mtu;       /* largest dk_conn_write */
    char peer_identity[256]; /* certificate subject CN, or PSK identity (printable) */
    char server_name[256];   /* SNI: sent (client) or received (server) */
} dk_conn_info;
DK_API DK_CHECK dk_result dk_conn_get_info(const dk_conn *c, dk_conn_info *info);
DK_API size_t dk_conn_data_mtu(const dk_conn *c);

/* RFC 5705 keying material exporter. */
DK_API DK_CHECK dk_result dk_conn_export_keying_material(const dk_conn *c, const char *label,
                                                         const uint8_t *context, size_t ctx_len,
                                                         bool use_context, uint8_t *out,
                                                         size_t out_len);

/* Counters for diagnostics and tests. */
typedef struct dk_conn_stats {
    uint64_t records_in, records_out, datagrams_in, datagrams_out;
    uint64_t discarded_records;   /* invalid, replayed, bad MAC, wrong epoch ... */
    uint64_t replayed_records;
    uint64_t bad_mac_records;
    uint64_t retransmissions;     /* flights resent */
    uint64_t fragments_in, fragments_out; /* handshake fragments shorter than their message */
    uint64_t hello_verify_sent;
} dk_conn_stats;
DK_API void dk_conn_get_stats(const dk_conn *c, dk_conn_stats *st);

/* Flight trace for --verbose: called with a one-line description of every
 * handshake message sent and received. */
typedef void (*dk_trace_fn)(void *arg, const char *line);
DK_API void dk_conn_set_trace(dk_conn *c, dk_trace_fn fn, void *arg);

/* ---- stateless server gate ------------------------------------------- */

typedef enum {
    DK_GATE_DROP = 0,      /* not a ClientHello we answer: ignore */
    DK_GATE_HVR = 1,       /* a HelloVerifyRequest was written to out */
    DK_GATE_ACCEPT = 2,    /* valid cookie: create a connection and feed it this datagram */
} dk_gate_verdict;

/* Check the first datagram from a peer that has no connection. No per-peer
 * allocation, no per-peer state. With cookie exchange disabled, every
 * well-formed ClientHello is accepted.
 * A ClientHello fragmented so that its first fragment cannot be judged alone
 * is reassembled in a small pool shared by the whole server (bounded, oldest
 * evicted); when it is whole the gate answers it. On DK_GATE_ACCEPT, if
 * *out_len > 0, feed the new connection out[0..*out_len) (the reassembled
 * ClientHello as one datagram) instead of the datagram. Give out at least
 * DK_GATE_OUT_MAX bytes. */
#define DK_GATE_OUT_MAX 8320
DK_API dk_gate_verdict dk_server_gate(const dk_config *cfg, const void *peer_id, size_t peer_id_len,
                                      const uint8_t *datagram, size_t len, uint64_t now_ms,
                                      uint8_t *out, size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif
#endif
