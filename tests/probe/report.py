#!/usr/bin/env python3
"""`make conformance-report`: run every `dtlskit probe` scenario against the
DTLS 1.2 implementations available on this machine and write one Markdown
table, scenarios by implementation, with the reason for each failure.

Server-side scenarios run against `dtlskit server`, `openssl s_server
-dtls1_2`, `gnutls-serv --udp` (in a network namespace of its own: it binds
every address), and tests/peers' mbedtls_peer and wolfssl_peer; each scenario
gets a freshly started server (restarted whenever it exits, for peers that
serve one client). Client-side scenarios run `dtlskit probe --serve` against
each implementation's client. Other implementations failing is expected: the
report is the product, and the script exits 0 once it is written.

usage: report.py --dtlskit BIN [--peers-dir DIR] --certs DIR --out FILE
                 [--only NAME[,NAME]] [--scenario ID[,ID]] [--jobs N]
"""
import argparse
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

SUITE = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
GNUTLS_PRIO = "NORMAL:-VERS-ALL:+VERS-DTLS1.2"
LINE = "conformance %s client %d\n"


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---- implementations ---------------------------------------------------------

class Impl:
    """How to start one implementation as a server and as a client."""

    def __init__(self, name, server, client, auth, echo=True, ready=r".", netns=False,
                 needs=None):
        self.name, self.server, self.client, self.auth = name, server, client, auth
        self.echo, self.ready, self.netns, self.needs = echo, ready, netns, needs

    def available(self):
        return all(shutil.which(n) or os.path.exists(n) for n in (self.needs or []))


def implementations(a):
    c = lambda f: os.path.join(a.certs, f)  # noqa: E731
    cert, key, ca = c("ec-server.pem"), c("ec-server.key"), c("ec-ca.pem")
    mbed = os.path.join(a.peers_dir or "", "mbedtls_peer")
    wolf = os.path.join(a.peers_dir or "", "wolfssl_peer")
    peer_srv = lambda b: lambda p: [b, "--server", "127.0.0.1:%d" % p, "--echo", "--cert", cert,  # noqa
                                    "--key", key, "--ciphers", SUITE, "--timeout", "60000"]
    peer_cli = lambda b: lambda addr: [b, "--client", addr, "--ca", ca, "--servername",  # noqa
                                       "localhost", "--ciphers", SUITE, "--timeout", "20000"]
    return [
        Impl("dtlskit",
             lambda p: [a.dtlskit, "server", "--listen", "127.0.0.1:%d" % p, "--echo",
                        "--cert", cert, "--key", key],
             lambda addr: [a.dtlskit, "client", addr, "--ca", ca],
             ["--ca", ca, "--verify-client"], ready=r"^listening",
             needs=[a.dtlskit]),
        Impl("openssl",
             lambda p: ["openssl", "s_server", "-dtls1_2", "-accept", "127.0.0.1:%d" % p,
                        "-cert", cert, "-key", key],
             lambda addr: ["openssl", "s_client", "-dtls1_2", "-connect", addr, "-CAfile", ca],
             ["-Verify", "1", "-CAfile", ca, "-verify_return_error"], echo=False, ready=r"ACCEPT", needs=["openssl"]),
        Impl("gnutls",
             lambda p: ["gnutls-serv", "--udp", "--echo", "-p", str(p), "--priority", GNUTLS_PRIO,
                        "--x509certfile", cert, "--x509keyfile", key],
             lambda addr: ["gnutls-cli", "--udp", "-p", addr.rsplit(":", 1)[1], "127.0.0.1",
                           "--priority", GNUTLS_PRIO, "--x509cafile", ca],
             ["-r", "--verify-client-cert", "--x509cafile", ca], ready=r"(?i)listening|ready", netns=True, needs=["gnutls-serv", "gnutls-cli"]),
        Impl("mbedtls", peer_srv(mbed), peer_cli(mbed), ["--verify-client", "--ca", ca],
             ready=r"^listening", needs=[mbed]),
        Impl("wolfssl", peer_srv(wolf), peer_cli(wolf), ["--verify-client", "--ca", ca],
             ready=r"^listening", needs=[wolf]),
    ]


# ---- a server that is restarted whenever it exits -------------------------------

class Server:
    """restart_delay: the peers serve one client per process and latch onto
    the first datagram after they start; datagrams the probe still sends to
    the ended association (T25: data after close_notify) must not be it."""

    def __init__(self, argv, ready, restart_delay=1.0):
        self.argv, self.ready_re = argv, re.compile(ready, re.M)
        self.restart_delay = restart_delay
        self.stop = threading.Event()
        self.proc = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop.is_set():
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True,
                                         start_new_session=True)
            for line in self.proc.stdout:
                if self.ready_re.search(line):
                    self.ready.set()
            self.proc.wait()
            if self.stop.wait(self.restart_delay):
                break

    def wait_ready(self, timeout=5):
        ok = self.ready.wait(timeout)
        time.sleep(0.1)
        return ok

    def close(self):
        self.stop.set()
        p = self.proc
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
        self.thread.join(timeout=5)


def probe_json(out, sid):
    for line in out.splitlines():
        if line.startswith("{"):
            r = json.loads(line)
            if r["id"] == sid:
                return r
    return None


def run_server_scenario(a, impl, sid, client_auth):
    port = free_port()
    srv = Server(impl.server(port) + (impl.auth if client_auth else []), impl.ready)
    try:
        if not srv.wait_ready():
            return {"verdict": "INCONCLUSIVE", "reason": "%s server did not start" % impl.name}
        argv = [a.dtlskit, "probe", "127.0.0.1:%d" % port, "--json", "--scenario", sid]
        argv += [] if impl.echo else ["--no-echo"]
        if client_auth:
            argv += ["--cert", os.path.join(a.certs, "ec-client.pem"),
                     "--key", os.path.join(a.certs, "ec-client.key")]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        r = probe_json(p.stdout, sid)
        return r or {"verdict": "INCONCLUSIVE", "reason": "probe gave no result: " + p.stderr[-200:]}
    finally:
        srv.close()


def run_client_scenario(a, impl, sid, client_auth):
    argv = [a.dtlskit, "probe", "--serve", "127.0.0.1:0", "--json", "--scenario", sid,
            "--cert", os.path.join(a.certs, "ec-server.pem"),
            "--key", os.path.join(a.certs, "ec-server.key")]
    probe = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = probe.stdout.readline()
    if not line.startswith("listening: "):
        probe.kill()
        return {"verdict": "INCONCLUSIVE", "reason": "probe did not start"}
    addr = line.split()[1]
    for n in range(1, 5):
        try:
            subprocess.run(impl.client(addr), input=LINE % (sid, n), capture_output=True,
                           text=True, timeout=30)
        except subprocess.TimeoutExpired:
            pass
        deadline = time.monotonic() + 2.0
        while probe.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if probe.poll() is not None:
            break
    try:
        out, _ = probe.communicate(timeout=40)
    except subprocess.TimeoutExpired:
        probe.kill()
        out, _ = probe.communicate()
    return probe_json(out, sid) or {"verdict": "INCONCLUSIVE", "reason": "probe gave no result"}


# ---- driving ----------------------------------------------------------------------

def scenario_list(a):
    out = subprocess.run([a.dtlskit, "probe", "--list"], capture_output=True, text=True,
                         check=True).stdout
    rows = []
    for line in out.splitlines():
        m = re.match(r"(\S+)\s+(server|client)\s+\(([^)]*)\)\s+(.*)$", line)
        if not m:
            continue
        tags = set(re.findall(r"\[([a-z-]+)\]", m.group(4)))
        title = re.sub(r"\s*\[[a-z-]+\]", "", m.group(4))
        if a.scenario and m.group(1) not in a.scenario:
            continue
        rows.append({"id": m.group(1), "side": m.group(2), "rules": m.group(3), "title": title,
                     "auth": "client-auth" in tags})
    return rows


def run_impl(a, impl, rows, results):
    for row in rows:
        fn = run_server_scenario if row["side"] == "server" else run_client_scenario
        t0 = time.monotonic()
        r = fn(a, impl, row["id"], row["auth"])
        results[(row["id"], impl.name)] = r
        print("%-8s %-5s %s %s (%.1f s)" % (impl.name, row["id"], r["verdict"], r["reason"],
                                            time.monotonic() - t0), flush=True)


def run_in_netns(a, impl, rows):
    """gnutls-serv binds every address: run its part in a new network namespace
    with only loopback, the probe inside it too."""
    fd, path = tempfile.mkstemp(suffix=".json")
    os.close(fd)
    me = os.path.abspath(__file__)
    inner = ("ip link set lo up && %s %s --dtlskit %s --certs %s --only %s --in-netns %s%s"
             % (sys.executable, me, a.dtlskit, a.certs, impl.name, path,
                " --scenario " + ",".join(r["id"] for r in rows)))
    ns = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-r", "-n"]
    p = subprocess.run(ns + ["sh", "-c", inner], text=True)
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError):
        data = {}
    os.unlink(path)
    if p.returncode != 0 and not data:
        reason = "could not run in a network namespace (unshare -n)"
        return {(r["id"], impl.name): {"verdict": "INCONCLUSIVE", "reason": reason} for r in rows}
    return {(k.split("|")[0], impl.name): v for k, v in data.items()}


def versions():
    def first(argv, pat=r"(.*)"):
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            m = re.search(pat, out.stdout + out.stderr)
            return m.group(1).strip() if m else "?"
        except OSError:
            return "not installed"

    def deb(pkg):
        return first(["dpkg-query", "-W", "-f=${Version}", pkg])
    return {
        "dtlskit": "this tree",
        "openssl": first(["openssl", "version"]),
        "gnutls": first(["gnutls-serv", "--version"], r"gnutls-serv (\S+)"),
        "mbedtls": "Mbed TLS " + deb("libmbedtls-dev") + " (tests/peers/mbedtls_peer)",
        "wolfssl": "wolfSSL " + deb("libwolfssl-dev") + " (tests/peers/wolfssl_peer)",
    }


# ---- the document ------------------------------------------------------------------

def cell(r):
    if r is None:
        return "n/a"
    v = r["verdict"]
    if v == "PASS":
        return "PASS"
    reason = r["reason"].replace("|", "/")
    return "**%s**: %s" % ("FAIL" if v == "FAIL" else "INCONCLUSIVE", reason)


def write_doc(a, rows, impls, results, skipped, elapsed):
    names = [i.name for i in impls]
    ver = versions()
    out = []
    out.append("# DTLS 1.2 conformance: dtlskit and other implementations\n")
    out.append("Generated by `make conformance-report` (scripts/conformance-report.sh, "
               "tests/probe/report.py) on %s in %d s; do not edit by hand. Each cell is the "
               "verdict of one `dtlskit probe` scenario (tools/probe_scenarios.c) against a "
               "freshly started peer on 127.0.0.1, with the probe's one-line reason for every "
               "FAIL or INCONCLUSIVE. Scenario IDs and rule numbers are those of "
               "`shared/conformance/SCENARIOS.md` and `RULES.md`; `--list` shows the steps' "
               "intent.\n" % (datetime.date.today().isoformat(), elapsed))
    out.append("Server side: the probe is the client, against `dtlskit server --echo`, "
               "`openssl s_server -dtls1_2` (no echo mode: liveness sends data without "
               "waiting for it to come back), `gnutls-serv --udp --echo` (inside `unshare -n`), "
               "and `mbedtls_peer`/`wolfssl_peer --server --echo` (tests/peers), all with "
               "tests/vectors/certs/ec-server.pem and %s. Client side (side = client): the "
               "probe plays the server (`--serve`) and each implementation's client connects "
               "to it. The T18 scenarios run against the same servers configured to require a client "
               "certificate (tests/vectors/certs/ec-client.pem for the probe).\n\n"
               "Run one yourself: `dtlskit probe HOST:PORT [--scenario ID ...]` against a "
               "server, or `dtlskit probe --serve ADDR:PORT` and point a client at it; `--pcap "
               "FILE --keylog FILE` writes a capture that `tshark -d udp.port==PORT,dtls -o "
               "tls.keylog_file:FILE` decodes and decrypts.\n" % SUITE)
    out.append("Versions: " + "; ".join("%s: %s" % (n, ver.get(n, "?")) for n in names) + ".\n")
    for n, why in skipped.items():
        out.append("Not run: %s (%s).\n" % (n, why))
    out.append("| Scenario | Side | Rules | " + " | ".join(names) + " |")
    out.append("|---|---|---|" + "---|" * len(names))
    for row in rows:
        cells = [cell(results.get((row["id"], n))) for n in names]
        out.append("| %s | %s | %s | %s |" % (row["id"], row["side"], row["rules"],
                                              " | ".join(cells)))
    out.append("")
    totals = []
    for n in names:
        rs = [results.get((row["id"], n)) for row in rows]
        passed = sum(1 for r in rs if r and r["verdict"] == "PASS")
        totals.append("%s %d/%d" % (n, passed, sum(1 for r in rs if r)))
    out.append("Passed: " + ", ".join(totals) + ".\n")
    out.append("Scenario titles:\n")
    for row in rows:
        out.append("- **%s** (%s): %s" % (row["id"], row["rules"], row["title"]))
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


def parse_args():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtlskit", required=True)
    ap.add_argument("--peers-dir")
    ap.add_argument("--certs", required=True)
    ap.add_argument("--out")
    ap.add_argument("--only")
    ap.add_argument("--scenario")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--in-netns")
    a = ap.parse_args()
    a.scenario = set(a.scenario.split(",")) if a.scenario else None
    a.dtlskit = os.path.abspath(a.dtlskit)
    a.certs = os.path.abspath(a.certs)
    return a


def main():
    a = parse_args()
    t0 = time.monotonic()
    rows = scenario_list(a)
    impls = [i for i in implementations(a) if not a.only or i.name in a.only.split(",")]
    if a.in_netns:  # inside the namespace: run, dump, done
        results = {}
        run_impl(a, impls[0], rows, results)
        with open(a.in_netns, "w") as f:
            json.dump({"%s|%s" % k: v for k, v in results.items()}, f)
        return
    skipped = {i.name: "not installed" for i in impls if not i.available()}
    impls_run = [i for i in impls if i.available()]
    results = {}
    threads = []
    for impl in impls_run:
        if impl.netns:
            t = threading.Thread(target=lambda i=impl: results.update(run_in_netns(a, i, rows)))
        else:
            t = threading.Thread(target=run_impl, args=(a, impl, rows, results))
        threads.append(t)
    running = []
    for t in threads:  # at most --jobs implementations at once
        while len([x for x in running if x.is_alive()]) >= a.jobs:
            time.sleep(0.2)
        t.start()
        running.append(t)
    for t in running:
        t.join()
    write_doc(a, rows, impls, results, skipped, time.monotonic() - t0)
    print("wrote %s" % a.out)


if __name__ == "__main__":
    main()
