#!/usr/bin/env python3
"""End-to-end tests of the dtlskit CLI on 127.0.0.1.

usage: test_cli.py DTLSKIT_BINARY CASE
Each CASE starts its own server on a free port (--listen 127.0.0.1:0, the
port is read from the 'listening:' line) and only kills processes it started.
"""
import os
import re
import signal
import subprocess
import sys
import threading
import time

TIMEOUT = 30
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HANDSHAKE = re.compile(
    r"^handshake: version=DTLSv1\.2 suite=(TLS_[A-Z0-9_]+) ems=(yes|no) peer=(\S.*?) mtu=(\d+)"
    r"( from=127\.0\.0\.1:\d+)?$"
)
STATS = re.compile(
    r"^stats: fragments_in=\d+ fragments_out=\d+ retransmissions=\d+ discarded=\d+$"
)
PSK_HEX = "00112233445566778899aabbccddeeff"
CERTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors", "certs")


def cert(name):
    return os.path.join(CERTS, name)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


class Server:
    """A running `dtlskit server` whose stdout is collected line by line."""

    def __init__(self, binary, args):
        self.proc = subprocess.Popen(
            [binary, "server", "--listen", "127.0.0.1:0"] + args,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines = []
        self.cond = threading.Condition()
        self.stderr = b""
        self.eof = False
        threading.Thread(target=self._read_stdout, daemon=True).start()
        self.stderr_thread = threading.Thread(target=self._read_stderr, daemon=True)
        self.stderr_thread.start()
        self.port = int(self.wait_for(r"^listening: 127\.0\.0\.1:(\d+)$").group(1))

    def _read_stdout(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.eof = True
            self.cond.notify_all()

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read()

    def wait_for(self, pattern, timeout=TIMEOUT):
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines:
                    m = rx.match(line)
                    if m:
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or self.eof:
                    raise Failure("server never printed %r; stdout=%r stderr=%r"
                                  % (pattern, self.lines, self.stderr))
                self.cond.wait(min(left, 0.5))

    def stderr_text(self):
        """All of stderr, once the server has exited."""
        self.stderr_thread.join(TIMEOUT)
        return self.stderr.decode(errors="replace")

    def fingerprint(self):
        fp = self.wait_for(r"^certificate sha256 fingerprint: (\S+)$").group(1)
        check(HEX64.match(fp), "fingerprint is not 64 lowercase hex: %r" % fp)
        return fp

    def wait_exit(self, timeout=TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("server did not exit; stdout=%r" % self.lines)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def run_client(binary, port, args, stdin=b""):
    try:
        p = subprocess.run([binary, "client", "127.0.0.1:%d" % port] + args, input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure("client did not finish in %d s" % TIMEOUT)
    return p.returncode, p.stdout, p.stderr.decode(errors="replace")


def start_client(binary, port, fp):
    """A `dtlskit client` pinned to fp whose stdin stays open until closed."""
    return subprocess.Popen([binary, "client", "127.0.0.1:%d" % port, "--pin", fp],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def one_error_line(stderr):
    lines = stderr.splitlines()
    check(len(lines) == 1 and lines[0].startswith("dtlskit: ") and len(lines[0]) > 10,
          "want exactly one 'dtlskit: <reason>' line on stderr, got %r" % stderr)


def handshake_fields(line, what):
    m = HANDSHAKE.match(line)
    check(m is not None, "%s handshake line malformed: %r" % (what, line))
    return m


def case_echo_pin(binary):
    srv = Server(binary, ["--echo", "--once", "--export", "EXPERIMENTAL-dtlskit:32"])
    try:
        fp = srv.fingerprint()
        data = b"hello\nworld, a second line\n"
        rc, out, err = run_client(binary, srv.port, ["--pin", fp, "--stats", "--export",
                                                     "EXPERIMENTAL-dtlskit:32"], data)
        check(rc == 0, "client exit %d, stderr %r" % (rc, err))
        check(err == "", "client wrote to stderr: %r" % err)
        lines = out.split(b"\n", 2)
        c = handshake_fields(lines[0].decode(), "client")
        check(c.group(2) == "yes" and c.group(3) == "localhost" and c.group(5) is None,
              "client handshake fields: %r" % lines[0])
        check(int(c.group(4)) > 0, "client data mtu is 0")
        check(lines[1].startswith(b"export: "), "no export line: %r" % out)
        check(lines[2].startswith(data), "echo differs: %r" % out)
        check(STATS.match(lines[2][len(data):].decode().strip()), "stats line: %r" % out)
        check(srv.wait_exit() == 0, "server --once exit code not 0")
        s = handshake_fields(srv.wait_for(r"^handshake: .*$").group(0), "server")
        check(s.group(1) == c.group(1), "suites differ: %s vs %s" % (s.group(1), c.group(1)))
        check(s.group(3) == "-" and s.group(5) is not None, "server fields: %r" % s.group(0))
        sx = srv.wait_for(r"^export: ([0-9a-f]{64})$").group(1)
        check(lines[1].decode() == "export: " + sx, "exported keys differ")
    finally:
        srv.stop()


def case_psk(binary):
    srv = Server(binary, ["--echo", "--once", "--psk-identity", "client1", "--psk", PSK_HEX])
    try:
        rc, out, err = run_client(binary, srv.port,
                                  ["--psk-identity", "client1", "--psk", PSK_HEX], b"psk line\n")
        check(rc == 0, "client exit %d, stderr %r" % (rc, err))
        head, _, rest = out.partition(b"\n")
        c = handshake_fields(head.decode(), "client")
        check("PSK" in c.group(1), "not a PSK suite: %s" % c.group(1))
        check(rest == b"psk line\n", "echo differs: %r" % out)
        check(srv.wait_exit() == 0, "server --once exit code not 0")
        s = handshake_fields(srv.wait_for(r"^handshake: .*$").group(0), "server")
        check(s.group(3) == "client1", "server peer should be the PSK identity: %r" % s.group(0))
    finally:
        srv.stop()


def expect_client_failure(binary, args):
    srv = Server(binary, ["--echo"])
    try:
        srv.fingerprint()
        rc, out, err = run_client(binary, srv.port, args, b"never sent\n")
        check(rc == 1, "client exit %d (want 1), stderr %r" % (rc, err))
        one_error_line(err)
        check(b"handshake:" not in out and b"never sent" not in out,
              "client got through: %r" % out)
    finally:
        srv.stop()


def case_no_verify(binary):
    expect_client_failure(binary, [])


def case_wrong_pin(binary):
    expect_client_failure(binary, ["--pin", ":".join(["5a"] * 32)])


def case_multi(binary):
    srv = Server(binary, ["--echo", "--stats"])
    try:
        fp = srv.fingerprint()
        pin = ":".join(fp[i:i + 2] for i in range(0, 64, 2)).upper()  # the colon form
        results = [None] * 4

        def one(i):
            results[i] = run_client(binary, srv.port, ["--pin", pin],
                                    ("client %d\n" % i).encode() * 3)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, (rc, out, err) in enumerate(results):
            check(rc == 0, "client %d exit %d: %r" % (i, rc, err))
            check(out.split(b"\n", 1)[1] == ("client %d\n" % i).encode() * 3,
                  "client %d echo: %r" % (i, out))
        srv.proc.send_signal(signal.SIGTERM)
        check(srv.wait_exit() == 0, "server exit code after SIGTERM not 0")
        check(sum(1 for l in srv.lines if l.startswith("handshake: ")) == 4,
              "want 4 server handshake lines: %r" % srv.lines)
    finally:
        srv.stop()


class SharedPortProxy:
    """Relays every client datagram to the server from ONE socket, and the
    server's datagrams back to whichever client spoke last: two clients in
    a row look to the server like one peer that starts a new handshake."""

    def __init__(self, server_port):
        import socket
        self.front = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.front.bind(("127.0.0.1", 0))
        self.back = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.back.connect(("127.0.0.1", server_port))
        self.port = self.front.getsockname()[1]
        self.last = None
        self.running = True
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        import select
        while self.running:
            ready, _, _ = select.select([self.front, self.back], [], [], 0.2)
            for sock in ready:
                try:
                    if sock is self.front:
                        data, self.last = self.front.recvfrom(65536)
                        self.back.send(data)
                    else:
                        data = self.back.recv(65536)
                        if self.last is not None:
                            self.front.sendto(data, self.last)
                except OSError:
                    pass

    def close(self):
        self.running = False


def case_reconnect_same_port(binary):
    srv = Server(binary, ["--echo"])
    proxy = SharedPortProxy(srv.port)
    first = None
    try:
        fp = srv.fingerprint()
        first = start_client(binary, proxy.port, fp)
        first.stdin.write(b"first\n")
        first.stdin.flush()
        check(first.stdout.readline().startswith(b"handshake: "), "first client: no handshake")
        check(first.stdout.readline() == b"first\n", "first client: no echo")
        # Same address, new handshake: the server runs a successor (R16/R38).
        rc, out, err = run_client(binary, proxy.port, ["--pin", fp], b"second\n")
        check(rc == 0, "second client exit %d: %r" % (rc, err))
        check(out.split(b"\n", 1)[1] == b"second\n", "second client echo: %r" % out)
        # the server's reader thread may lag behind the client's exit
        deadline = time.monotonic() + TIMEOUT
        while True:
            with srv.cond:
                hs = [l for l in srv.lines if l.startswith("handshake: ")]
                if len(hs) >= 2 or srv.eof or time.monotonic() > deadline:
                    break
                srv.cond.wait(0.1)
        check(len(hs) == 2 and hs[0].split(" from=")[1] == hs[1].split(" from=")[1],
              "want two handshakes from one address: %r" % hs)
        check(srv.proc.poll() is None, "server died: %r" % srv.stderr)
    finally:
        if first is not None and first.poll() is None:
            first.kill()
            first.wait()
        proxy.close()
        srv.stop()


def ca_server(binary, extra):
    return Server(binary, ["--cert", cert("ec-server-chain.pem"), "--key", cert("ec-server.key"),
                           "--ca", cert("ec-ca.pem"), "--verify-client", "--once"] + extra)


def case_ca_client_auth(binary):
    import tempfile
    srv = ca_server(binary, ["--echo"])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            keylog = os.path.join(tmp, "keys.log")
            rc, out, err = run_client(binary, srv.port, [
                "--ca", cert("ec-ca.pem"), "--servername", "localhost",
                "--cert", cert("ec-client.pem"), "--key", cert("ec-client.key"),
                "--keylog", keylog], b"with certificates\n")
            check(rc == 0, "client exit %d, stderr %r" % (rc, err))
            with open(keylog) as f:
                kl = f.read().splitlines()
        head, _, rest = out.partition(b"\n")
        c = handshake_fields(head.decode(), "client")
        check(c.group(3) == "localhost", "client peer should be the server CN: %r" % head)
        check(rest == b"with certificates\n", "echo differs: %r" % out)
        check(len(kl) >= 1 and all(re.match(r"^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}$", l)
                                   for l in kl), "key log lines: %r" % kl)
        check(srv.wait_exit() == 0, "server --once exit code not 0")
        s = handshake_fields(srv.wait_for(r"^handshake: .*$").group(0), "server")
        check(s.group(3) == "client", "server peer should be the client CN: %r" % s.group(0))
    finally:
        srv.stop()


def case_client_cert_missing(binary):
    srv = ca_server(binary, [])
    try:
        rc, out, err = run_client(binary, srv.port, ["--ca", cert("ec-ca.pem"),
                                                     "--servername", "localhost"], b"x\n")
        check(rc == 1, "client exit %d (want 1), stderr %r" % (rc, err))
        one_error_line(err)
        check(srv.wait_exit() == 1, "server --once should exit 1 after a failed handshake")
        one_error_line(srv.stderr_text())
    finally:
        srv.stop()


def case_help(binary):
    for args in (["--help"], ["server", "--help"], ["client", "--help"]):
        p = subprocess.run([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        text = p.stdout.decode()
        check(p.returncode == 0, "%r exit %d" % (args, p.returncode))
        check("--mtu" in text and "largest UDP payload" in text,
              "%r does not explain --mtu" % args)
        check("OpenSSL's -mtu means something else" in " ".join(text.split()),
              "%r does not contrast OpenSSL's -mtu" % args)
    p = subprocess.run([binary, "--version"], stdout=subprocess.PIPE, timeout=TIMEOUT)
    check(p.returncode == 0 and p.stdout.startswith(b"dtlskit "), "--version")


def case_bad_option(binary):
    for args in (["client", "127.0.0.1:4433", "--frobnicate"], ["server", "--mtu", "abc"],
                 ["client"], ["frob"], ["client", "127.0.0.1:1", "--pin", "abcd"],
                 ["server", "--cert", "x.pem"], ["server", "--max-connections", "0"],
                 ["server", "--max-handshakes", "-1"], ["server", "--idle-timeout", "1s"],
                 ["client", "127.0.0.1:1", "--no-gso"]):
        p = subprocess.run([binary] + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT)
        check(p.returncode == 2, "%r exit %d (want 2)" % (args, p.returncode))
        check(p.stdout == b"", "%r wrote to stdout" % args)
        one_error_line(p.stderr.decode())


def case_idle_timeout(binary):
    """--idle-timeout: a silent client is closed (close_notify) once the
    timeout passed, not before; with --once the server then exits 0."""
    srv = Server(binary, ["--idle-timeout", "1", "--once", "--stats", "--no-gso",
                          "--max-connections", "4", "--max-handshakes", "2"])
    client = None
    try:
        fp = srv.fingerprint()
        # stdin stays open: the client says nothing after its handshake
        client = start_client(binary, srv.port, fp)
        srv.wait_for(r"^handshake: .*$")
        t0 = time.monotonic()
        check(srv.wait_exit() == 0, "server --once exit code not 0 after the idle close")
        waited = time.monotonic() - t0
        check(waited >= 0.9, "closed after %.2f s, before the 1 s idle timeout" % waited)
        srv.wait_for(r"^stats: ")
        ep = srv.wait_for(r"^endpoint: datagrams_in=(\d+) .* accepted=(\d+) connected=(\d+) "
                          r"failed=(\d+) idle_expired=(\d+) ")
        check(int(ep.group(1)) >= 2, "endpoint counted %s datagrams in" % ep.group(1))
        check(ep.group(2) == "1" and ep.group(3) == "1" and ep.group(4) == "0"
              and ep.group(5) == "1", "endpoint counters: %r" % ep.group(0))
        check(client.poll() is None or client.returncode == 0, "client failed")
    finally:
        if client is not None:
            client.stdin.close()
            try:
                client.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
        srv.stop()


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    if len(sys.argv) != 3 or sys.argv[2] not in CASES:
        print("usage: test_cli.py DTLSKIT CASE (%s)" % ", ".join(sorted(CASES)))
        return 2
    binary = os.path.abspath(sys.argv[1])
    try:
        CASES[sys.argv[2]](binary)
    except Failure as e:
        print("FAIL %s: %s" % (sys.argv[2], e))
        return 1
    print("PASS %s" % sys.argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main())
