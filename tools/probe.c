/* `dtlskit probe`: run conformance scenarios against a DTLS 1.2 server
 * (HOST:PORT) or, with --serve, against a client that connects to us.
 * One result line per scenario: `T6 (R3,R5,R11,R16) PASS: ...`, or one JSON
 * object per scenario with --json. Exit code 0 when every scenario passed,
 * 1 when any failed or was inconclusive, 2 for usage errors. */
#include <arpa/inet.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "probe.h"

static const char k_usage[] =
    "usage: dtlskit probe HOST:PORT [--scenario ID ...] [--list] [--json] [--pcap FILE]\n"
    "                     [--keylog FILE] [--psk-identity ID --psk HEX] [--timeout MS]\n"
    "                     [--cert PEM --key PEM] [--no-echo] [--verbose]\n"
    "       dtlskit probe --serve ADDR:PORT [same options]\n"
    "\n"
    "A scenario-driven DTLS 1.2 conformance tester. Against a server it plays a\n"
    "client that completes real handshakes and misbehaves on purpose; with --serve it\n"
    "plays a misbehaving server for the client-side scenarios (start the client after\n"
    "the 'listening:' line; each scenario takes one client, a fresh one when the\n"
    "scenario needs it). With no --scenario every scenario of that side runs.\n"
    "\n"
    "  --scenario ID        run this scenario (repeatable; comma lists and a trailing\n"
    "                       '*' as in 'T6*' work too)\n"
    "  --list               print one line per scenario, starting with its ID\n"
    "  --json               one JSON object per scenario instead of result lines\n"
    "  --pcap FILE          write every datagram sent and received, framed in\n"
    "                       Ethernet/IPv4/UDP (tshark -d udp.port==PORT,dtls);\n"
    "                       '%s' in FILE: one capture per scenario, named by its ID\n"
    "  --keylog FILE        write NSS CLIENT_RANDOM lines so the capture decrypts\n"
    "  --psk-identity ID --psk HEX   use PSK cipher suites\n"
    "  --cert PEM --key PEM client certificate (T18) or, with --serve, the server's\n"
    "                       (default: a fresh self-signed P-256 certificate)\n"
    "  --timeout MS         how long each expectation waits (default 1000)\n"
    "  --no-echo            the server does not echo: liveness sends data without\n"
    "                       waiting for it to come back\n"
    "  --verbose            trace every record on stderr\n"
    "\n"
    "Result lines: 'ID (RULES) PASS|FAIL|INCONCLUSIVE: reason'. Exit 0 if all\n"
    "passed, 1 if any failed or was inconclusive, 2 on usage errors.\n";

/* ---- results ----------------------------------------------------------------- */

void pr_set_result(pr_result *r, pr_verdict v, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    r->verdict = v;
    vsnprintf(r->reason, sizeof r->reason, fmt, ap);
    va_end(ap);
}

void pr_note(pr_result *r, const char *fmt, ...)
{
    size_t off = strlen(r->notes);
    if (off + 3 >= sizeof r->notes) return;
    if (off) {
        memcpy(r->notes + off, "; ", 3);
        off += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->notes + off, sizeof r->notes - off, fmt, ap);
    va_end(ap);
}

const char *pr_alert_name(uint8_t desc)
{
    switch (desc) {
    case 0: return "close_notify";
    case 10: return "unexpected_message";
    case 20: return "bad_record_mac";
    case 22: return "record_overflow";
    case 40: return "handshake_failure";
    case 42: return "bad_certificate";
    case 46: return "certificate_unknown";
    case 47: return "illegal_parameter";
    case 48: return "unknown_ca";
    case 50: return "decode_error";
    case 51: return "decrypt_error";
    case 70: return "protocol_version";
    case 80: return "internal_error";
    case 100: return "no_renegotiation";
    case 115: return "unknown_psk_identity";
    default: return "alert";
    }
}

const char *pr_hs_name(uint8_t type) { return dk_hs_type_name(type); }

static const char *verdict_name(pr_verdict v)
{
    return v == PR_PASS ? "PASS" : v == PR_FAIL ? "FAIL" : "INCONCLUSIVE";
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') printf("\\%c", ch);
        else if (ch < 0x20) printf("\\u%04x", ch);
        else putchar(ch);
    }
    putchar('"');
}

static void print_result(const pr_opts *o, const pr_scenario *sc, const pr_result *res)
{
    const char *why = res->verdict == PR_PASS ? res->notes : res->reason;
    if (!o->json) {
        printf("%s (%s) %s: %s\n", sc->id, sc->rules, verdict_name(res->verdict),
               why[0] ? why : "ok");
        return;
    }
    printf("{\"id\":");
    json_str(sc->id);
    printf(",\"rules\":");
    json_str(sc->rules);
    printf(",\"side\":\"%s\",\"verdict\":\"%s\",\"reason\":",
           sc->flags & PR_F_SERVE ? "client" : "server", verdict_name(res->verdict));
    json_str(why[0] ? why : "ok");
    printf(",\"title\":");
    json_str(sc->title);
    printf("}\n");
}

static void list_scenarios(void)
{
    size_t n;
    const pr_scenario *all = pr_scenarios(&n);
    for (size_t i = 0; i < n; i++) {
        const pr_scenario *sc = &all[i];
        printf("%-5s %-6s (%s) %s%s%s%s%s%s\n", sc->id, sc->flags & PR_F_SERVE ? "client" : "server",
               sc->rules, sc->title, sc->flags & PR_F_CLIENT_AUTH ? " [client-auth]" : "",
               sc->flags & PR_F_CERT ? " [cert]" : "", sc->flags & PR_F_SLOW ? " [slow]" : "",
               sc->flags & PR_F_MALFORMED ? " [malformed]" : "",
               sc->flags & PR_F_REHANDSHAKE ? " [rehandshake]" : "");
    }
}

/* ---- options ------------------------------------------------------------------- */

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "dtlskit: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (try dtlskit probe --help)\n");
    return 2;
}

static bool resolve(const char *hostport, struct sockaddr_in *sa)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof host) return false;
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = 0;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) return false;
    memcpy(sa, ai->ai_addr, sizeof *sa);
    freeaddrinfo(ai);
    return true;
}

static bool parse_psk(const char *hex, pr_opts *o)
{
    size_t n = strlen(hex);
    if (n == 0 || n % 2 || n / 2 > sizeof o->psk) return false;
    for (size_t i = 0; i < n / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1) return false;
        o->psk[i] = (uint8_t)v;
    }
    o->psk_len = n / 2;
    return true;
}

static bool add_ids(pr_opts *o, char *list)
{
    for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
        if (o->n_ids == PR_MAX_SEL) return false;
        o->ids[o->n_ids++] = tok;
    }
    return true;
}

static int parse_value(pr_opts *o, const char *opt, char *val)
{
    if (!strcmp(opt, "--scenario")) return add_ids(o, val) ? 0 : usage_error("too many %s", opt);
    if (!strcmp(opt, "--pcap")) o->pcap_path = val;
    else if (!strcmp(opt, "--keylog")) o->keylog_path = val;
    else if (!strcmp(opt, "--psk-identity")) o->psk_identity = val;
    else if (!strcmp(opt, "--psk")) {
        if (!parse_psk(val, o)) return usage_error("bad --psk hex '%s'", val);
    } else if (!strcmp(opt, "--cert")) o->cert = val;
    else if (!strcmp(opt, "--key")) o->key = val;
    else if (!strcmp(opt, "--serve")) o->serve = val;
    else if (!strcmp(opt, "--timeout")) {
        char *end;
        long v = strtol(val, &end, 10);
        if (*end || v < 10 || v > 60000) return usage_error("bad --timeout '%s'", val);
        o->timeout_ms = (unsigned)v;
    } else return usage_error("unknown option '%s'", opt);
    return 0;
}

static int parse_flag(pr_opts *o, const char *a)
{
    if (!strcmp(a, "--list")) o->list = true;
    else if (!strcmp(a, "--json")) o->json = true;
    else if (!strcmp(a, "--verbose")) o->verbose = true;
    else if (!strcmp(a, "--no-echo")) o->no_echo = true;
    else return -1;
    return 0;
}

static bool takes_value(const char *opt)
{
    static const char *const k[] = {"--scenario", "--pcap", "--keylog", "--psk-identity", "--psk",
                                    "--cert", "--key", "--serve", "--timeout"};
    for (size_t i = 0; i < DK_ARRAY_LEN(k); i++)
        if (!strcmp(opt, k[i])) return true;
    return false;
}

static int parse_args(int argc, char **argv, pr_opts *o)
{
    bool after_scenario = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 3;
        if (parse_flag(o, a) == 0) {
            after_scenario = false;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            if (!takes_value(a)) return usage_error("unknown option '%s'", a);
            if (i + 1 >= argc) return usage_error("%s needs a value", a);
            int rc = parse_value(o, a, argv[++i]);
            if (rc) return rc;
            after_scenario = !strcmp(a, "--scenario");
            continue;
        }
        if (after_scenario && !strchr(a, ':')) {
            if (!add_ids(o, a)) return usage_error("too many scenarios at '%s'", a);
        } else if (!o->target) {
            o->target = a;
        } else {
            return usage_error("unexpected argument '%s'", a);
        }
    }
    return 0;
}

static int check_args(pr_opts *o)
{
    if (o->list) return 0;
    if (!!o->target == !!o->serve) return usage_error("%s", "give HOST:PORT or --serve ADDR:PORT");
    const char *where = o->target ? o->target : o->serve;
    if (!resolve(where, &o->addr)) return usage_error("cannot resolve '%s'", where);
    if (!!o->psk_identity != (o->psk_len > 0))
        return usage_error("%s", "--psk-identity and --psk go together");
    if (!!o->cert != !!o->key) return usage_error("%s", "--cert and --key go together");
    return 0;
}

/* ---- selection and running ---------------------------------------------------------- */

static bool id_match(const char *pat, const char *id)
{
    size_t n = strlen(pat);
    if (n && pat[n - 1] == '*') return strncasecmp(pat, id, n - 1) == 0;
    return strcasecmp(pat, id) == 0;
}

static bool selected(const pr_opts *o, const pr_scenario *sc)
{
    bool serve_side = (sc->flags & PR_F_SERVE) != 0;
    if (serve_side != (o->serve != NULL)) return false;
    if (o->n_ids == 0) return true;
    for (size_t i = 0; i < o->n_ids; i++)
        if (id_match(o->ids[i], sc->id)) return true;
    return false;
}

static int check_ids(const pr_opts *o)
{
    size_t n;
    const pr_scenario *all = pr_scenarios(&n);
    for (size_t i = 0; i < o->n_ids; i++) {
        bool found = false;
        for (size_t k = 0; k < n && !found; k++) found = id_match(o->ids[i], all[k].id);
        if (!found) return usage_error("unknown scenario '%s' (see --list)", o->ids[i]);
    }
    return 0;
}

/* --pcap FILE with "%s" in it: one capture per scenario, named by its ID. */
static pr_pcap *scenario_pcap(const pr_opts *o, const pr_scenario *sc, pr_pcap *shared)
{
    const char *at = o->pcap_path ? strstr(o->pcap_path, "%s") : NULL;
    if (!at) return shared;
    char path[4096];
    snprintf(path, sizeof path, "%.*s%s%s", (int)(at - o->pcap_path), o->pcap_path, sc->id, at + 2);
    pr_pcap *p = pr_pcap_open(path);
    if (!p) fprintf(stderr, "dtlskit: cannot write %s\n", path);
    return p;
}

static int run_all(const pr_opts *o, pr_pcap *pcap, FILE *keylog)
{
    size_t n, ran = 0, passed = 0;
    const pr_scenario *all = pr_scenarios(&n);
    pr_wire serve_wire = {0};
    char err[256];
    if (o->serve) {
        if (!pr_wire_open(&serve_wire, o, true, pcap, keylog, err, sizeof err)) {
            fprintf(stderr, "dtlskit: %s: %s\n", o->serve, err);
            return 1;
        }
        char buf[64];
        inet_ntop(AF_INET, &serve_wire.local.sin_addr, buf, sizeof buf);
        printf("listening: %s:%u\n", buf, ntohs(serve_wire.local.sin_port));
        fflush(stdout);
    }
    for (size_t i = 0; i < n; i++) {
        if (!selected(o, &all[i])) continue;
        pr_result res;
        memset(&res, 0, sizeof res);
        pr_pcap *p = scenario_pcap(o, &all[i], pcap);
        if (o->serve) serve_wire.pcap = p;
        if (o->serve) pr_run_serve(o, &all[i], &serve_wire, &res);
        else pr_run_client(o, &all[i], p, keylog, &res);
        if (p != pcap) pr_pcap_close(p);
        serve_wire.pcap = pcap;
        print_result(o, &all[i], &res);
        fflush(stdout);
        ran++;
        passed += res.verdict == PR_PASS;
    }
    if (o->serve) pr_wire_close(&serve_wire);
    if (!o->json) printf("%zu passed, %zu failed\n", passed, ran - passed);
    return ran > 0 && passed == ran ? 0 : 1;
}

int probe_main(int argc, char **argv)
{
    pr_opts o = {.timeout_ms = 1000};
    int rc = parse_args(argc, argv, &o);
    if (rc == 3) {
        fputs(k_usage, stdout);
        return 0;
    }
    if (rc || (rc = check_args(&o)) || (rc = check_ids(&o))) return rc;
    if (o.list) {
        list_scenarios();
        return 0;
    }
    if (dk_crypto_init() != DK_OK) {
        fprintf(stderr, "dtlskit: crypto initialisation failed\n");
        return 1;
    }
    bool per_scenario = o.pcap_path && strstr(o.pcap_path, "%s");
    pr_pcap *pcap = o.pcap_path && !per_scenario ? pr_pcap_open(o.pcap_path) : NULL;
    FILE *keylog = o.keylog_path ? fopen(o.keylog_path, "a") : NULL;
    if ((o.pcap_path && !per_scenario && !pcap) || (o.keylog_path && !keylog)) {
        fprintf(stderr, "dtlskit: cannot write %s\n", !pcap && o.pcap_path ? o.pcap_path : o.keylog_path);
        return 2;
    }
    rc = run_all(&o, pcap, keylog);
    pr_pcap_close(pcap);
    if (keylog) fclose(keylog);
    return rc;
}
