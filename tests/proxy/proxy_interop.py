#!/usr/bin/env python3
"""Handshakes between dtlskit and OpenSSL through dk_udp_proxy on 127.0.0.1.

Two directions, N handshakes each, every one with fresh processes (proxy,
server, client) and its own proxy seed:
  client: `dtlskit client` -> proxy -> `openssl s_server -dtls1_2 -listen`
  server: `openssl s_client -dtls1_2` -> proxy -> `dtlskit server`
A handshake counts as completed when the client reports it (dtlskit:
"handshake:" on stdout; s_client -brief: "CONNECTION ESTABLISHED" on stderr)
within --timeout seconds. Every process is bounded in time and killed at
the end. Prints one line per direction and, with --markdown, a table row.

Usage: proxy_interop.py --dtlskit PATH --proxy PATH [--n N] [--drop P]
       [--dup P] [--reorder P] [--timeout S] [--min-rate PCT] [--mode both|client|server]
       [--markdown]
Exit status 1 when a direction completes fewer than --min-rate percent.
"""
import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CERTS = os.path.join(HERE, "..", "vectors", "certs")


def cert(name):
    return os.path.join(CERTS, name)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Proc:
    """A child process whose stdout and stderr are collected by threads."""

    def __init__(self, args, stdin=subprocess.PIPE):
        self.p = subprocess.Popen(args, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE)
        self.out, self.err = [], []
        self.cv = threading.Condition()
        for stream, sink in ((self.p.stdout, self.out), (self.p.stderr, self.err)):
            threading.Thread(target=self._pump, args=(stream, sink), daemon=True).start()

    def _pump(self, stream, sink):
        for line in iter(stream.readline, b""):
            with self.cv:
                sink.append(line.decode(errors="replace").rstrip("\n"))
                self.cv.notify_all()
        with self.cv:
            self.cv.notify_all()

    def wait_for(self, text, where, timeout):
        end = time.monotonic() + timeout
        with self.cv:
            while True:
                for line in (self.out if where == "out" else self.err):
                    if text in line:
                        return line
                left = end - time.monotonic()
                if left <= 0 or self.p.poll() is not None:
                    return None
                self.cv.wait(min(left, 0.2))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for f in (self.p.stdin, self.p.stdout, self.p.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass


def start_proxy(args, server_port, seed):
    cmd = [args.proxy, "--server", str(server_port), "--listen", "0", "--seed", str(seed),
           "--drop", str(args.drop), "--dup", str(args.dup), "--reorder", str(args.reorder),
           "--reorder-ms", "40", "--delay", "5", "--jitter", "5",
           "--duration", str(int(args.timeout) + 10), "--idle", str(int(args.timeout))]
    proxy = Proc(cmd, stdin=subprocess.DEVNULL)
    line = proxy.wait_for("listening:", "out", 5)
    if not line:
        proxy.stop()
        raise RuntimeError("proxy did not start")
    return proxy, int(line.rsplit(":", 1)[1])


def one_dtlskit_client(args, seed):
    """dtlskit client -> proxy -> openssl s_server. Returns seconds or None."""
    sport = free_port()
    server = Proc([args.openssl, "s_server", "-dtls1_2", "-listen", "-accept", str(sport),
                   "-cert", cert("ec-server.pem"), "-key", cert("ec-server.key"), "-quiet"])
    proxy = None
    client = None
    try:
        time.sleep(0.2)
        proxy, pport = start_proxy(args, sport, seed)
        t0 = time.monotonic()
        client = Proc([args.dtlskit, "client", "127.0.0.1:%d" % pport, "--ca", cert("ec-ca.pem"),
                       "--servername", "localhost"])
        ok = client.wait_for("handshake:", "out", args.timeout)
        took = time.monotonic() - t0
        if ok and client.p.stdin:
            client.p.stdin.write(b"ping\n")
            client.p.stdin.close()
        return took if ok else None
    finally:
        for p in (client, proxy, server):
            if p:
                p.stop()


def one_openssl_client(args, seed):
    """openssl s_client -> proxy -> dtlskit server. Returns seconds or None."""
    server = Proc([args.dtlskit, "server", "--listen", "127.0.0.1:0", "--cert",
                   cert("ec-server-chain.pem"), "--key", cert("ec-server.key"), "--echo"])
    proxy = None
    client = None
    try:
        line = server.wait_for("listening:", "out", 5)
        if not line:
            raise RuntimeError("dtlskit server did not start: %s" % server.err)
        sport = int(line.rsplit(":", 1)[1])
        proxy, pport = start_proxy(args, sport, seed)
        t0 = time.monotonic()
        client = Proc([args.openssl, "s_client", "-dtls1_2", "-connect", "127.0.0.1:%d" % pport,
                       "-CAfile", cert("ec-ca.pem"), "-verify_return_error", "-brief",
                       "-servername", "localhost"])
        ok = client.wait_for("CONNECTION ESTABLISHED", "err", args.timeout)
        took = time.monotonic() - t0
        return took if ok else None
    finally:
        for p in (client, proxy, server):
            if p:
                p.stop()


def run(args, name, fn):
    times, failed = [], 0
    for i in range(args.n):
        took = fn(args, args.seed + i)
        if took is None:
            failed += 1
        else:
            times.append(took)
    n = args.n
    rate = 100.0 * len(times) / n if n else 0.0
    med = statistics.median(times) if times else 0.0
    worst = max(times) if times else 0.0
    print("%s: handshakes=%d completed=%d (%.1f%%) median_s=%.2f max_s=%.2f drop=%.2f dup=%.2f "
          "reorder=%.2f" % (name, n, len(times), rate, med, worst, args.drop, args.dup,
                            args.reorder), flush=True)
    if args.markdown:
        print("| %s | %.0f%% / %.0f%% / %.0f%% | %d | %d (%.1f%%) | %.2f | %.2f |"
              % (name, 100 * args.drop, 100 * args.dup, 100 * args.reorder, n, len(times), rate,
                 med, worst), flush=True)
    return rate


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dtlskit", required=True)
    ap.add_argument("--proxy", required=True)
    ap.add_argument("--openssl", default=shutil.which("openssl") or "openssl")
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--drop", type=float, default=0.3)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--min-rate", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mode", choices=["both", "client", "server"], default="both")
    ap.add_argument("--markdown", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(args.openssl) and not shutil.which(args.openssl):
        print("SKIP: no openssl binary")
        return 0
    rates = []
    if args.mode in ("both", "client"):
        rates.append(run(args, "dtlskit client -> openssl s_server", one_dtlskit_client))
    if args.mode in ("both", "server"):
        rates.append(run(args, "openssl s_client -> dtlskit server", one_openssl_client))
    bad = [r for r in rates if r < args.min_rate]
    print("%d passed, %d failed" % (len(rates) - len(bad), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
