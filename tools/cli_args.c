/* Option parsing shared by `dtlskit server` and `dtlskit client`. */
#include "cli_args.h"

#include <stdlib.h>
#include <string.h>

#include "cli_util.h"

#define BOTH (CLI_SERVER | CLI_CLIENT)

typedef enum { OPT_FLAG, OPT_STRING, OPT_PIN } opt_kind;

typedef struct opt_def {
    const char *name;
    int modes;
    opt_kind kind;
    size_t offset; /* of the bool or const char * in cli_opts */
} opt_def;

#define FLAG(n, m, field) { n, m, OPT_FLAG, offsetof(cli_opts, field) }
#define STR(n, m, field) { n, m, OPT_STRING, offsetof(cli_opts, field) }

static const opt_def k_opts[] = {
    STR("--listen", CLI_SERVER, addr),
    STR("--cert", BOTH, cert),
    STR("--key", BOTH, key),
    STR("--ca", BOTH, ca),
    FLAG("--verify-client", CLI_SERVER, verify_client),
    FLAG("--request-client", CLI_SERVER, request_client),
    { "--pin", CLI_CLIENT, OPT_PIN, 0 },
    FLAG("--insecure", CLI_CLIENT, insecure),
    STR("--servername", CLI_CLIENT, servername),
    STR("--psk-identity", BOTH, psk_identity),
    STR("--psk", BOTH, psk_hex),
    STR("--ciphers", BOTH, ciphers),
    STR("--mtu", BOTH, mtu_arg),
    FLAG("--echo", CLI_SERVER, echo),
    STR("--keylog", BOTH, keylog),
    FLAG("--no-cookie", CLI_SERVER, no_cookie),
    STR("--max-connections", CLI_SERVER, max_conn_arg),
    STR("--max-handshakes", CLI_SERVER, max_half_open_arg),
    STR("--idle-timeout", CLI_SERVER, idle_arg),
    FLAG("--no-gso", CLI_SERVER, no_gso),
    FLAG("--once", CLI_SERVER, once),
    FLAG("--stats", BOTH, stats),
    STR("--export", BOTH, export_arg),
    FLAG("--quiet", CLI_SERVER, quiet),
    FLAG("--verbose", BOTH, verbose),
    FLAG("--help", BOTH, help),
    FLAG("-h", BOTH, help),
};

static const char *mode_name(cli_mode mode)
{
    return mode == CLI_SERVER ? "server" : "client";
}

static const opt_def *find_opt(const char *name, size_t name_len)
{
    for (size_t i = 0; i < sizeof k_opts / sizeof k_opts[0]; i++) {
        if (strlen(k_opts[i].name) == name_len && strncmp(k_opts[i].name, name, name_len) == 0) {
            return &k_opts[i];
        }
    }
    return NULL;
}

static int add_pin(cli_opts *o, const char *val)
{
    if (o->n_pins == CLI_MAX_PINS) {
        return cli_fail(CLI_EXIT_USAGE, "too many --pin options (at most %d)", CLI_MAX_PINS);
    }
    if (cli_hex_decode(val, true, o->pins[o->n_pins], 32) != 32) {
        return cli_fail(CLI_EXIT_USAGE,
                        "--pin wants the SHA-256 of the certificate DER as 64 hex digits, got '%s'",
                        val);
    }
    o->n_pins++;
    return 0;
}

/* Apply one option; *used tells whether the next argv element was its value. */
static int apply_opt(cli_opts *o, const char *arg, const char *next, bool *used)
{
    const char *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    const opt_def *d = find_opt(arg, name_len);
    *used = false;
    if (d == NULL || (d->modes & (int)o->mode) == 0) {
        return cli_fail(CLI_EXIT_USAGE, "unknown option '%.*s' for %s (try 'dtlskit %s --help')",
                        (int)name_len, arg, mode_name(o->mode), mode_name(o->mode));
    }
    if (d->kind == OPT_FLAG) {
        if (eq) {
            return cli_fail(CLI_EXIT_USAGE, "option %s takes no value", d->name);
        }
        *(bool *)((char *)o + d->offset) = true;
        return 0;
    }
    const char *val = eq ? eq + 1 : next;
    if (val == NULL) {
        return cli_fail(CLI_EXIT_USAGE, "option %s needs a value", d->name);
    }
    *used = eq == NULL;
    if (d->kind == OPT_PIN) {
        return add_pin(o, val);
    }
    *(const char **)((char *)o + d->offset) = val;
    return 0;
}

static int parse_mtu(cli_opts *o)
{
    if (o->mtu_arg == NULL) {
        return 0;
    }
    char *end;
    unsigned long v = strtoul(o->mtu_arg, &end, 10);
    if (*end != '\0' || o->mtu_arg[0] == '\0' || o->mtu_arg[0] == '-' || v == 0 || v > 65507) {
        return cli_fail(CLI_EXIT_USAGE, "--mtu wants a UDP payload size in bytes, got '%s'",
                        o->mtu_arg);
    }
    o->mtu = v;
    return 0;
}

/* A whole number in [lo, hi] from an option's value. */
static bool parse_count(const char *arg, unsigned long lo, unsigned long hi, unsigned long *out)
{
    char *end;
    if (arg[0] < '0' || arg[0] > '9') return false;
    unsigned long v = strtoul(arg, &end, 10);
    if (*end != '\0' || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* The server endpoint's limits. */
static int parse_limits(cli_opts *o)
{
    unsigned long v;
    if (o->max_conn_arg != NULL) {
        if (!parse_count(o->max_conn_arg, 1, 1UL << 24, &v))
            return cli_fail(CLI_EXIT_USAGE, "--max-connections wants 1..16777216, got '%s'",
                            o->max_conn_arg);
        o->max_connections = v;
    }
    if (o->max_half_open_arg != NULL) {
        if (!parse_count(o->max_half_open_arg, 1, 1UL << 24, &v))
            return cli_fail(CLI_EXIT_USAGE, "--max-handshakes wants 1..16777216, got '%s'",
                            o->max_half_open_arg);
        o->max_half_open = v;
    }
    if (o->idle_arg != NULL) {
        if (!parse_count(o->idle_arg, 0, 86400 * 365, &v))
            return cli_fail(CLI_EXIT_USAGE,
                            "--idle-timeout wants seconds (0: never), at most a year, got '%s'",
                            o->idle_arg);
        o->idle_timeout_ms = v == 0 ? UINT32_MAX : (uint32_t)(v * 1000);
    }
    return 0;
}

static int parse_export(cli_opts *o)
{
    if (o->export_arg == NULL) {
        return 0;
    }
    const char *colon = strrchr(o->export_arg, ':');
    size_t label_len = colon ? (size_t)(colon - o->export_arg) : 0;
    char *end = NULL;
    unsigned long n = colon ? strtoul(colon + 1, &end, 10) : 0;
    if (colon == NULL || label_len == 0 || label_len >= CLI_LABEL_MAX || colon[1] == '\0' ||
        *end != '\0' || n == 0 || n > CLI_EXPORT_MAX) {
        return cli_fail(CLI_EXIT_USAGE, "--export wants LABEL:LEN with LEN 1..%d, got '%s'",
                        CLI_EXPORT_MAX, o->export_arg);
    }
    memcpy(o->export_label, o->export_arg, label_len);
    o->export_label[label_len] = '\0';
    o->export_len = n;
    return 0;
}

static int parse_psk(cli_opts *o)
{
    if ((o->psk_hex == NULL) != (o->psk_identity == NULL)) {
        return cli_fail(CLI_EXIT_USAGE, "--psk and --psk-identity go together");
    }
    if (o->psk_hex == NULL) {
        return 0;
    }
    long n = cli_hex_decode(o->psk_hex, false, o->psk, sizeof o->psk);
    if (n <= 0) {
        return cli_fail(CLI_EXIT_USAGE, "--psk wants the key as hex (1 to %d bytes)", CLI_PSK_MAX);
    }
    if (o->psk_identity[0] == '\0') {
        return cli_fail(CLI_EXIT_USAGE, "--psk-identity must not be empty");
    }
    o->psk_len = (size_t)n;
    return 0;
}

static int check_combinations(const cli_opts *o)
{
    if ((o->cert == NULL) != (o->key == NULL)) {
        return cli_fail(CLI_EXIT_USAGE, "--cert and --key go together");
    }
    if (o->quiet && o->verbose) {
        return cli_fail(CLI_EXIT_USAGE, "--quiet and --verbose exclude each other");
    }
    if (o->mode == CLI_CLIENT) {
        if (o->insecure && (o->ca != NULL || o->n_pins > 0)) {
            return cli_fail(CLI_EXIT_USAGE, "--insecure cannot be combined with --ca or --pin");
        }
        return 0;
    }
    if (o->verify_client && o->request_client) {
        return cli_fail(CLI_EXIT_USAGE, "--verify-client and --request-client exclude each other");
    }
    if ((o->verify_client || o->request_client) != (o->ca != NULL)) {
        return cli_fail(CLI_EXIT_USAGE,
                        "on the server --ca goes with --verify-client or --request-client");
    }
    return 0;
}

static int parse_addr(cli_opts *o)
{
    if (o->addr == NULL) {
        if (o->mode == CLI_CLIENT) {
            return cli_fail(CLI_EXIT_USAGE, "client needs HOST:PORT (try 'dtlskit client --help')");
        }
        o->addr = "127.0.0.1:4433";
    }
    if (!cli_split_hostport(o->addr, o->host, sizeof o->host, o->port, sizeof o->port)) {
        return cli_fail(CLI_EXIT_USAGE, "bad address '%s' (want HOST:PORT, IPv6 as [::1]:4433)",
                        o->addr);
    }
    return 0;
}

static int parse_positional(cli_opts *o, const char *arg)
{
    if (o->mode == CLI_SERVER) {
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s' (the server uses --listen)", arg);
    }
    if (o->addr != NULL) {
        return cli_fail(CLI_EXIT_USAGE, "unexpected argument '%s' (one HOST:PORT only)", arg);
    }
    o->addr = arg;
    return 0;
}

static int validate(cli_opts *o)
{
    int rc = check_combinations(o);
    if (rc == 0) {
        rc = parse_psk(o);
    }
    if (rc == 0) {
        rc = parse_mtu(o);
    }
    if (rc == 0) {
        rc = parse_export(o);
    }
    if (rc == 0) {
        rc = parse_limits(o);
    }
    if (rc == 0) {
        rc = parse_addr(o);
    }
    return rc;
}

int cli_parse_args(cli_mode mode, int argc, char **argv, cli_opts *o)
{
    memset(o, 0, sizeof *o);
    o->mode = mode;
    for (int i = 0; i < argc; i++) {
        const char *arg = argv[i];
        int rc;
        if (arg[0] == '-' && arg[1] != '\0') {
            bool used;
            rc = apply_opt(o, arg, i + 1 < argc ? argv[i + 1] : NULL, &used);
            i += used ? 1 : 0;
        } else {
            rc = parse_positional(o, arg);
        }
        if (rc != 0) {
            return rc;
        }
        if (o->help) {
            return 0;
        }
    }
    return validate(o);
}
