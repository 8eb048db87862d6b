#!/usr/bin/env python3
"""Run one interop cell: the dtlskit CLI against a real DTLS 1.2 peer on 127.0.0.1.

    interop.py --dtlskit PATH --peer {openssl,gnutls,mbedtls,wolfssl}
               --role {server,client}      (the role of dtlskit)
               --suite IANA_NAME --mtu N --client-auth {0,1}
               --certs DIR --peers-dir DIR [--timeout S] [--verbose]

Exit status: 0 pass; 77 the peer cannot do this combination (one line
"UNSUPPORTED: <peer> cannot <what>"); anything else is a failure, explained by
the last line "FAIL: <reason>". Both programs' output is printed above it.

What a cell asserts, from both sides' output:
  - both report the expected cipher suite (by IANA name) and extended master secret;
  - the client gets back exactly the two distinct lines it sent (the server echoes);
  - the RFC 5705 exporter (label EXPORTER-dtlskit-interop, 32 bytes, no context)
    agrees, wherever the peer program can print it;
  - with client auth, the dtlskit server reports the client's identity;
  - with a small MTU (below 1000), dtlskit's stats show handshake fragments in
    every direction that carries a Certificate message (server to client always,
    client to server with client auth).
Only processes this script started are stopped, by their process groups.
Standard library only.
"""
import argparse
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from interop_peers import (EXPORT_LABEL, EXPORT_LEN, PEERS, SUITES,  # noqa: E402
                           CellFailed, Unsupported, find_certs)

EXIT_PASS, EXIT_FAIL, EXIT_UNSUPPORTED = 0, 1, 77
SMALL_MTU_LIMIT = 1000


def _die_with_parent():
    """In the child before exec: get SIGKILL if this driver dies first (for
    example killed by CTest), so that no peer outlives the cell."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Proc:
    """A child in its own process group, with its output collected by threads."""

    def __init__(self, name, argv, verbose=False):
        self.name, self.argv = name, argv
        self.out, self.err = [], []
        self.lock = threading.Lock()
        if verbose:
            print("+ %s: %s" % (name, " ".join(argv)), flush=True)
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True,
                                  preexec_fn=_die_with_parent)
        self.threads = [threading.Thread(target=self._pump, args=(self.p.stdout, self.out),
                                         daemon=True),
                        threading.Thread(target=self._pump, args=(self.p.stderr, self.err),
                                         daemon=True)]
        for t in self.threads:
            t.start()

    def _pump(self, stream, sink):
        for raw in iter(stream.readline, b""):
            with self.lock:
                sink.append(raw.decode("utf-8", "replace"))

    def stdout(self):
        with self.lock:
            return "".join(self.out)

    def stderr(self):
        with self.lock:
            return "".join(self.err)

    def text(self):
        return self.stdout() + self.stderr()

    def write(self, data):
        try:
            self.p.stdin.write(data.encode())
            self.p.stdin.flush()
        except (BrokenPipeError, OSError):
            pass

    def close_stdin(self):
        try:
            self.p.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    def running(self):
        return self.p.poll() is None

    def wait_for(self, pattern, deadline, stream="both"):
        """Poll the output for a regex until it matches, the process exits or
        the deadline passes. Returns the match or None."""
        rx = re.compile(pattern, re.M)
        while True:
            text = {"out": self.stdout, "err": self.stderr}.get(stream, self.text)()
            m = rx.search(text)
            if m or time.monotonic() > deadline:
                return m
            if not self.running():
                time.sleep(0.05)  # let the reader threads drain
                text = {"out": self.stdout, "err": self.stderr}.get(stream, self.text)()
                return rx.search(text)
            time.sleep(0.02)

    def wait(self, deadline):
        try:
            rc = self.p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return None
        for t in self.threads:
            t.join(timeout=1)
        return rc

    def stop(self):
        """SIGTERM then SIGKILL to this child's own process group."""
        if self.p.poll() is None:
            for sig, grace in ((signal.SIGTERM, 1.0), (signal.SIGKILL, 1.0)):
                try:
                    os.killpg(self.p.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.p.wait(timeout=grace)
                    break
                except subprocess.TimeoutExpired:
                    continue
        for t in self.threads:
            t.join(timeout=1)
        self.close_stdin()

    def dump(self):
        rc = self.p.poll()
        print("---- %s (exit %s): %s" % (self.name, rc, " ".join(self.argv)))
        for label, text in (("stdout", self.stdout()), ("stderr", self.stderr())):
            if text:
                print("  [%s]" % label)
                for line in text.rstrip("\n").split("\n"):
                    print("    " + line)


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Cell:
    def __init__(self, args):
        self.args = args
        self.suite = SUITES[args.suite]
        self.peer = PEERS[args.peer](args.peers_dir)
        self.small = args.mtu < SMALL_MTU_LIMIT
        self.auth = bool(args.client_auth)
        self.deadline = time.monotonic() + args.timeout
        self.procs = []
        self.tmp = tempfile.mkdtemp(prefix="dk-interop-")
        tag = secrets.token_hex(4)
        self.lines = ["dtlskit interop line one %s" % tag, "dtlskit interop line two %s" % tag]
        self.psk_identity = "dtlskit-interop"
        self.psk_hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
        self.notes = []

    # ---- plumbing -------------------------------------------------------

    def remaining_ms(self):
        return max(1000, int((self.deadline - time.monotonic()) * 1000))

    def start(self, name, argv):
        p = Proc(name, argv, self.args.verbose)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            p.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def dump(self):
        for p in self.procs:
            p.dump()

    # ---- dtlskit command line --------------------------------------------

    def dtlskit_argv(self, port, certs):
        a = self.args
        common = ["--ciphers", a.suite, "--mtu", str(a.mtu), "--stats",
                  "--export", "%s:%d" % (EXPORT_LABEL, EXPORT_LEN)]
        if a.role == "server":
            argv = [a.dtlskit, "server", "--listen", "127.0.0.1:%d" % port, "--once", "--echo"]
            if self.suite.kind == "psk":
                argv += ["--psk-identity", self.psk_identity, "--psk", self.psk_hex]
            else:
                cert, key = certs.server(self.suite.kind)
                argv += ["--cert", cert, "--key", key]
            if self.auth:
                argv += ["--ca", certs.ca, "--verify-client"]
            return argv + common
        argv = [a.dtlskit, "client", "127.0.0.1:%d" % port]
        if self.suite.kind == "psk":
            argv += ["--psk-identity", self.psk_identity, "--psk", self.psk_hex]
        else:
            argv += ["--ca", certs.ca, "--servername", certs.server_name(self.suite.kind)]
        if self.auth:
            cert, key = certs.client(self.suite.kind)
            argv += ["--cert", cert, "--key", key]
        return argv + common

    # ---- the two orders ----------------------------------------------------

    def run_dtlskit_server(self, certs):
        port = free_udp_port()
        dk = self.start("dtlskit server", self.dtlskit_argv(port, certs))
        # "listening on ADDR:PORT" (the CLI contract; "listening: ADDR:PORT" also accepted)
        if not dk.wait_for(r"^listening(?: on|:) ", min(self.deadline, time.monotonic() + 5),
                           "out"):
            if not dk.running():
                raise CellFailed("dtlskit server exited (status %s) before listening"
                                 % dk.p.returncode)
            raise CellFailed("dtlskit server did not print 'listening on' within 5 s")
        peer = self.start("%s client" % self.peer.name,
                          self.peer.client_argv(self, port, certs))
        self.peer.drive_client(self, peer)
        rc = peer.wait(self.deadline)
        if rc is None:
            raise CellFailed("%s client did not finish before the cell timeout" % self.peer.name)
        if rc != 0:
            raise CellFailed("%s client exited with status %s" % (self.peer.name, rc))
        dk_rc = dk.wait(min(self.deadline, time.monotonic() + 5))
        if dk_rc is None:
            raise CellFailed("dtlskit server (--once) did not exit after the connection closed")
        return dk, dk_rc, peer, rc

    def run_dtlskit_client(self, certs):
        port = free_udp_port()
        peer = self.start("%s server" % self.peer.name,
                          self.peer.server_argv(self, port, certs))
        ready = self.peer.server_ready
        if not peer.wait_for(ready[0], min(self.deadline, time.monotonic() + 5), ready[1]):
            if not peer.running():
                raise CellFailed("%s server exited (status %s) before listening"
                                 % (self.peer.name, peer.p.returncode))
            raise CellFailed("%s server did not become ready within 5 s" % self.peer.name)
        dk = self.start("dtlskit client", self.dtlskit_argv(port, certs))
        dk.write("".join(line + "\n" for line in self.lines))
        dk.close_stdin()
        self.peer.drive_server(self, peer, dk)
        dk_rc = dk.wait(self.deadline)
        if dk_rc is None:
            raise CellFailed("dtlskit client did not finish before the cell timeout")
        if dk_rc != 0:
            raise CellFailed("dtlskit client exited with status %s" % dk_rc)
        rc = self.peer.finish_server(self, peer)
        return dk, dk_rc, peer, rc

    # ---- assertions ----------------------------------------------------------

    def check(self, dk, dk_rc, peer, peer_rc):
        name = self.peer.name
        if dk_rc != 0:
            raise CellFailed("dtlskit %s exited with status %s" % (self.args.role, dk_rc))
        if peer_rc not in (0, None):
            raise CellFailed("%s %s exited with status %s"
                             % (name, self.peer_role(), peer_rc))
        hs = re.search(r"^handshake: version=(\S+) suite=(\S+) ems=(\S+) peer=(.*?) mtu=(\d+)\b",
                       dk.stdout(), re.M)
        if not hs:
            raise CellFailed("dtlskit printed no 'handshake: ...' line")
        if hs.group(1) != "DTLSv1.2":
            raise CellFailed("dtlskit reports version %s" % hs.group(1))
        if hs.group(2) != self.args.suite:
            raise CellFailed("dtlskit negotiated %s, expected %s" % (hs.group(2), self.args.suite))
        if hs.group(3) != "yes":
            raise CellFailed("dtlskit reports ems=%s" % hs.group(3))
        res = self.peer.result(self, peer)
        if res.suite != self.args.suite:
            raise CellFailed("%s negotiated %s, expected %s" % (name, res.suite, self.args.suite))
        if res.ems is not True:
            raise CellFailed("%s reports extended master secret %s" % (name, res.ems))
        self.check_echo(dk if self.args.role == "client" else peer)
        self.check_export(dk, res)
        if self.auth and self.args.role == "server" and hs.group(4).strip() in ("", "-"):
            raise CellFailed("dtlskit server reports no authenticated client (peer=%s)"
                             % hs.group(4))
        return self.check_fragments(dk)

    def peer_role(self):
        return "client" if self.args.role == "server" else "server"

    def check_echo(self, client):
        got = client.stdout().split("\n")
        pos = []
        for line in self.lines:
            hits = [i for i, g in enumerate(got) if g.rstrip("\r") == line]
            if not hits:
                raise CellFailed("the client did not get back %r" % line)
            pos.append(hits[0])
        if pos != sorted(pos):
            raise CellFailed("the echoed lines came back out of order")

    def check_export(self, dk, res):
        m = re.search(r"^export: ([0-9a-fA-F]+)\s*$", dk.stdout(), re.M)
        if not m:
            raise CellFailed("dtlskit printed no 'export: ...' line")
        if len(m.group(1)) != 2 * EXPORT_LEN:
            raise CellFailed("dtlskit exported %d hex digits" % len(m.group(1)))
        if res.export is None:
            self.notes.append("%s %s cannot print the exporter; dtlskit's value not compared"
                              % (self.peer.name, self.peer_role()))
        elif res.export.lower() != m.group(1).lower():
            raise CellFailed("exporter mismatch: dtlskit %s, %s %s"
                             % (m.group(1).lower(), self.peer.name, res.export.lower()))

    def check_fragments(self, dk):
        """Returns None on pass, or the reason the peer cannot do its part."""
        if not self.small:
            return None
        m = re.search(r"^stats: fragments_in=(\d+) fragments_out=(\d+)", dk.stdout(), re.M)
        if not m:
            raise CellFailed("dtlskit printed no 'stats: ...' line")
        fin, fout = int(m.group(1)), int(m.group(2))
        dk_sends_cert = self.suite.kind != "psk" and (self.args.role == "server" or self.auth)
        peer_sends_cert = self.suite.kind != "psk" and (self.args.role == "client" or self.auth)
        if dk_sends_cert and fout == 0:
            raise CellFailed("MTU %d: dtlskit sent a Certificate but fragments_out=0"
                             % self.args.mtu)
        if peer_sends_cert and fin == 0:
            if not self.peer.can_fragment:
                return ("send handshake fragments at MTU %d (%s); dtlskit fragments_out=%d "
                        "and everything else passed" % (self.args.mtu, self.peer.mtu_reason, fout))
            raise CellFailed("MTU %d: %s sent a Certificate but dtlskit fragments_in=0"
                             % (self.args.mtu, self.peer.name))
        return None

    # ---- entry ---------------------------------------------------------------

    def run(self):
        certs = find_certs(self.args.certs, self.tmp) if self.suite.kind != "psk" else None
        self.peer.check_support(self)
        if self.args.role == "server":
            dk, dk_rc, peer, rc = self.run_dtlskit_server(certs)
        else:
            dk, dk_rc, peer, rc = self.run_dtlskit_client(certs)
        return self.check(dk, dk_rc, peer, rc)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtlskit", required=True)
    ap.add_argument("--peer", required=True, choices=sorted(PEERS))
    ap.add_argument("--role", required=True, choices=["server", "client"],
                    help="the role of dtlskit")
    ap.add_argument("--suite", required=True, choices=sorted(SUITES))
    ap.add_argument("--mtu", type=int, default=1400)
    ap.add_argument("--client-auth", type=int, choices=[0, 1], default=0)
    ap.add_argument("--certs", required=True)
    ap.add_argument("--peers-dir", default="")
    ap.add_argument("--timeout", type=float, default=20.0)
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--in-netns", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.client_auth and SUITES[args.suite].kind == "psk":
        ap.error("--client-auth 1 needs a certificate suite (a PSK key exchange has no "
                 "CertificateRequest)")
    return args


def reexec_in_netns(args):
    """gnutls-serv binds every address: run the whole cell in a fresh network
    namespace that has only a loopback interface."""
    unshare = shutil.which("unshare")
    if not unshare:
        print("UNSUPPORTED: gnutls cannot be a server here: unshare (util-linux) is missing")
        return EXIT_UNSUPPORTED
    ns = ["-n"] if os.geteuid() == 0 else ["-r", "-n"]
    argv = [unshare] + ns + [sys.executable, os.path.abspath(__file__)] + sys.argv[1:]
    argv.append("--in-netns")
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         start_new_session=True, preexec_fn=_die_with_parent)
    try:
        out, _ = p.communicate(timeout=args.timeout + 10)
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            time.sleep(2)
        out, _ = p.communicate()
        sys.stdout.write(out.decode(errors="replace"))
        print("FAIL: the cell in its network namespace did not finish in time")
        return EXIT_FAIL
    text = out.decode(errors="replace")
    sys.stdout.write(text)
    if not re.search(r"^(PASS|FAIL|UNSUPPORTED)", text, re.M):
        if p.returncode != 0 and "unshare" in text:
            print("UNSUPPORTED: gnutls cannot be a server here: gnutls-serv listens on every "
                  "address and no network namespace could be made (%s)"
                  % text.strip().splitlines()[-1])
            return EXIT_UNSUPPORTED
        print("FAIL: the cell in its network namespace ended with status %d" % p.returncode)
        return EXIT_FAIL
    return p.returncode


def enter_netns():
    r = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if r.returncode != 0:
        raise CellFailed("cannot bring up lo in the network namespace: %s" % r.stderr.strip())


def main(argv):
    args = parse_args(argv)
    args.dtlskit = os.path.abspath(args.dtlskit)
    if PEERS[args.peer].needs_netns(args) and not args.in_netns:
        return reexec_in_netns(args)
    cell = Cell(args)
    signal.signal(signal.SIGTERM, lambda *_: (cell.cleanup(), sys.exit(EXIT_FAIL)))
    code, last = EXIT_PASS, None
    try:
        if args.in_netns:
            enter_netns()
        why = cell.run()
        if why:
            code, last = EXIT_UNSUPPORTED, "UNSUPPORTED: %s cannot %s" % (args.peer, why)
        else:
            last = "PASS"
    except Unsupported as e:
        code, last = EXIT_UNSUPPORTED, "UNSUPPORTED: %s" % e
    except CellFailed as e:
        code, last = EXIT_FAIL, "FAIL: %s" % e
    finally:
        cell.cleanup()
    cell.dump()
    for n in cell.notes:
        print("NOTE: " + n)
    print(last)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
