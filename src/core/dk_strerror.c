#include "core/dk_core.h"

const char *dk_strerror(dk_result r)
{
    switch (r) {
    case DK_OK: return "success";
    case DK_ERR_NOMEM: return "out of memory";
    case DK_ERR_INVALID_ARG: return "invalid argument";
    case DK_ERR_BUFFER_TOO_SMALL: return "buffer too small";
    case DK_ERR_WOULD_BLOCK: return "nothing available yet";
    case DK_ERR_TOO_LARGE: return "data larger than the connection's data MTU";
    case DK_ERR_STATE: return "operation not valid in the connection's state";
    case DK_ERR_CLOSED: return "connection closed by peer (close_notify)";
    case DK_ERR_DECODE: return "malformed message";
    case DK_ERR_CRYPTO: return "cryptographic operation failed";
    case DK_ERR_TIMEOUT: return "handshake timed out: peer did not answer after all retransmissions";
    case DK_ERR_CERT: return "peer certificate rejected";
    case DK_ERR_NO_SHARED_CIPHER: return "no shared cipher suite";
    case DK_ERR_PSK_UNKNOWN: return "unknown PSK identity";
    case DK_ERR_PEER_ALERT: return "peer sent a fatal alert";
    case DK_ERR_HANDSHAKE: return "handshake failed: protocol violation";
    case DK_ERR_CONFIG: return "configuration incomplete or inconsistent";
    case DK_ERR_IO: return "socket error";
    case DK_ERR_LIMIT: return "a configured limit was reached";
    case DK_ERR_EMS_REQUIRED: return "peer does not support extended master secret (RFC 7627)";
    case DK_ERR_FILE: return "could not read or parse file";
    case DK_ERR_SIGNATURE: return "signature verification failed";
    case DK_ERR_UNSUPPORTED: return "not supported";
    case DK_ERR_INTERNAL: return "internal error";
    default: return "unknown error";
    }
}
