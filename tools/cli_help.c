/* Help texts of the dtlskit CLI. */
#include "cli_args.h"

static const char k_server_usage[] =
    "usage: dtlskit server [--listen ADDR:PORT] [--cert PEM --key PEM]\n"
    "                      [--ca PEM --verify-client|--request-client]\n"
    "                      [--psk-identity ID --psk HEX] [--ciphers LIST] [--mtu N] [--echo]\n"
    "                      [--keylog FILE] [--no-cookie] [--once] [--stats]\n"
    "                      [--export LABEL:LEN] [--quiet|--verbose]\n"
    "                      [--max-connections N] [--max-handshakes N]\n"
    "                      [--idle-timeout SECONDS] [--no-gso]\n"
    "\n"
    "A DTLS 1.2 server on one UDP socket, serving many clients at once.\n"
    "\n"
    "  --listen ADDR:PORT   address to bind (default 127.0.0.1:4433; IPv6 as [::1]:4433;\n"
    "                       port 0 picks a free port, printed on the 'listening:' line)\n"
    "  --cert PEM --key PEM certificate chain (leaf first) and private key; without them\n"
    "                       and without --psk an ephemeral self-signed ECDSA P-256\n"
    "                       certificate for 'localhost' is generated and its SHA-256\n"
    "                       fingerprint printed (use it with 'dtlskit client --pin')\n"
    "  --ca PEM             CA file for client certificates, with one of:\n"
    "  --verify-client      require a client certificate\n"
    "  --request-client     ask for a client certificate, accept none\n"
    "  --psk-identity ID    accept this PSK identity (a string) ...\n"
    "  --psk HEX            ... with this key (hex); certificates may be used as well\n"
    "  --echo               send every received record back instead of printing it\n"
    "  --no-cookie          skip the HelloVerifyRequest cookie exchange\n"
    "  --once               exit after the first connection ends (0 if it was closed\n"
    "                       cleanly, 1 if it failed)\n"
    "  --stats              print a 'stats:' line whenever a connection ends, and the\n"
    "                       endpoint's counters ('endpoint:') at exit\n"
    "  --max-connections N  at most N connections at once (default 65536); ClientHellos\n"
    "                       beyond it are dropped\n"
    "  --max-handshakes N   at most N handshakes in progress at once (default 4096)\n"
    "  --idle-timeout SECONDS  close a connection silent for this long with close_notify\n"
    "                       (default 300; 0: never)\n"
    "  --no-gso             send every datagram on its own (default: runs of equal-size\n"
    "                       datagrams to one peer leave as one UDP GSO send)\n"
    "  --quiet              no 'listening:', 'handshake:' or per-connection error lines\n";

static const char k_client_usage[] =
    "usage: dtlskit client HOST:PORT [--ca PEM | --pin SHA256 | --insecure]\n"
    "                      [--servername NAME] [--cert PEM --key PEM]\n"
    "                      [--psk-identity ID --psk HEX] [--ciphers LIST] [--mtu N]\n"
    "                      [--keylog FILE] [--stats] [--export LABEL:LEN] [--verbose]\n"
    "\n"
    "A DTLS 1.2 client. Each line read from stdin (with its newline) is sent as one\n"
    "record; received records are written to stdout as they are. At the end of stdin\n"
    "the client waits for as many records as it sent (at most 1 s), then closes.\n"
    "\n"
    "  HOST:PORT            server address or name (IPv6 as [::1]:4433)\n"
    "  --ca PEM             verify the server certificate against these CAs\n"
    "  --pin SHA256         accept the server certificate whose DER has this SHA-256\n"
    "                       (64 hex digits, colons allowed; may be repeated)\n"
    "  --insecure           accept any server certificate (testing only)\n"
    "                       With none of --ca, --pin, --insecure and no PSK every\n"
    "                       certificate is refused.\n"
    "  --servername NAME    name sent as SNI and checked in the certificate (default:\n"
    "                       HOST unless it is an IP address)\n"
    "  --cert PEM --key PEM client certificate and key, if the server asks\n"
    "  --psk-identity ID    PSK identity (a string) ...\n"
    "  --psk HEX            ... and key (hex)\n"
    "  --stats              print a 'stats:' line at exit\n";

static const char k_common_usage[] =
    "  --ciphers LIST       cipher suites in preference order, RFC or OpenSSL names\n"
    "                       separated by ':' or ','\n"
    "  --mtu N              MTU: the largest UDP payload dtlskit sends, in bytes (DTLS\n"
    "                       record headers included, IP and UDP headers not; default\n"
    "                       1400). Note: OpenSSL's -mtu means something else, the link\n"
    "                       MTU including the IP and UDP headers (28 bytes on IPv4, 48\n"
    "                       on IPv6): dtlskit --mtu 1400 is openssl -mtu 1428 on IPv4.\n"
    "  --keylog FILE        append NSS key log lines (SSLKEYLOGFILE is honoured too)\n"
    "  --export LABEL:LEN   after the handshake print LEN bytes of RFC 5705 keying\n"
    "                       material for LABEL (no context) as 'export: <hex>'\n"
    "  --verbose            trace every handshake message on stderr\n"
    "  --help               this text\n"
    "\n"
    "Output: once established, one line 'handshake: version=DTLSv1.2 suite=<IANA name>\n"
    "ems=<yes|no> peer=<identity or -> mtu=<largest record payload>' (the server adds\n"
    "' from=<addr:port>'). Failures end with one line 'dtlskit: <reason>' on stderr;\n"
    "exit code 1 for handshake and peer failures, 2 for usage errors.\n";

void cli_print_usage(cli_mode mode, FILE *f)
{
    fputs(mode == CLI_SERVER ? k_server_usage : k_client_usage, f);
    fputs(k_common_usage, f);
}

void cli_print_main_usage(FILE *f)
{
    fputs("dtlskit " DTLSKIT_VERSION ": a DTLS 1.2 (RFC 6347) server and client\n"
          "\n"
          "usage: dtlskit server [options]             run a server\n"
          "       dtlskit client HOST:PORT [options]   connect to a server\n"
          "       dtlskit --help | --version\n"
          "\n",
          f);
    fputs(k_server_usage, f);
    fputs("\n", f);
    fputs(k_client_usage, f);
    fputs("\nOptions of both:\n", f);
    fputs(k_common_usage, f);
}
