"""The peers of the interop cells: how to start each one as client or server,
how to drive it, and how to read the negotiated parameters from its output.

Used by interop.py; standard library only.
"""
import collections
import os
import re
import shutil
import subprocess
import time


class CellFailed(Exception):
    """The cell failed; the message is the one-line reason."""


class Unsupported(Exception):
    """The peer cannot do this combination; the message says what."""


Suite = collections.namedtuple("Suite", "short kind code gnutls_cipher gnutls_kx")

# The matrix suites. kind: which credentials the server needs.
SUITES = {
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256":
        Suite("ECDHE-ECDSA-AES128-GCM", "ecdsa", (0xC0, 0x2B), "AES-128-GCM", "ECDHE-ECDSA"),
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256":
        Suite("ECDHE-ECDSA-CHACHA20", "ecdsa", (0xCC, 0xA9), "CHACHA20-POLY1305", "ECDHE-ECDSA"),
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384":
        Suite("ECDHE-RSA-AES256-GCM", "rsa", (0xC0, 0x30), "AES-256-GCM", "ECDHE-RSA"),
    "TLS_PSK_WITH_AES_128_CCM_8":
        Suite("PSK-AES128-CCM8", "psk", (0xC0, 0xA8), "AES-128-CCM-8", "PSK"),
    "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256":
        Suite("ECDHE-PSK-CHACHA20", "psk", (0xCC, 0xAC), "CHACHA20-POLY1305", "ECDHE-PSK"),
}

PeerResult = collections.namedtuple("PeerResult", "suite ems export")

EXPORT_LABEL = "EXPORTER-dtlskit-interop"
EXPORT_LEN = 32


def run_quiet(argv, timeout=10):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return 127, "", str(e)
    return r.returncode, r.stdout, r.stderr


# ---- certificates -----------------------------------------------------------

# File names tried in the certificate directory (tests/vectors/certs, made by
# scripts/gen-test-certs.sh). For each role the first existing file whose
# content fits (certificate or private key) wins. Every CA found goes into one
# trust bundle, so the EC and RSA hierarchies may have different roots.
CERT_NAMES = {
    "ca": ["ec-ca", "rsa-ca", "ca", "ca-cert", "root-ca"],
    "ecdsa": ["ec-server", "server-ecdsa", "server-ec", "ecdsa-server", "server"],
    "rsa": ["rsa-server", "server-rsa", "rsa_server"],
    "client": ["ec-client", "client-ecdsa", "client", "client-ec"],
    "client-rsa": ["rsa-client", "client-rsa", "client_rsa"],
}
CERT_SUFFIXES = [".pem", "-cert.pem", ".crt", "_cert.pem", ".cert.pem"]
KEY_SUFFIXES = [".key", "-key.pem", ".key.pem", "_key.pem"]


def _candidates(directory, stems, suffixes, marker):
    for stem in stems:
        for suf in suffixes:
            path = os.path.join(directory, stem + suf)
            if os.path.isfile(path):
                with open(path, errors="replace") as f:
                    if marker in f.read():
                        yield path


def _find(directory, stems, suffixes, marker):
    return next(_candidates(directory, stems, suffixes, marker), None)


class Certs:
    def __init__(self, directory, tmp):
        self.dir = directory
        cas = list(dict.fromkeys(_candidates(directory, CERT_NAMES["ca"], CERT_SUFFIXES,
                                             "BEGIN CERTIFICATE")))
        if not cas:
            raise CellFailed("no CA certificate in %s (tried %s)"
                             % (directory, ", ".join(CERT_NAMES["ca"])))
        self.ca = os.path.join(tmp, "ca-bundle.pem")
        with open(self.ca, "w") as out:
            for path in cas:
                with open(path) as f:
                    out.write(f.read().rstrip("\n") + "\n")
        self._names = {}

    def _need(self, what, suffixes, marker):
        path = _find(self.dir, CERT_NAMES[what], suffixes, marker)
        if not path:
            raise CellFailed("no %s file in %s (tried %s with %s)"
                             % (what, self.dir, ", ".join(CERT_NAMES[what]), ", ".join(suffixes)))
        return path

    def server(self, kind):
        return (self._need(kind, CERT_SUFFIXES, "BEGIN CERTIFICATE"),
                self._need(kind, KEY_SUFFIXES, "PRIVATE KEY"))

    def client(self, kind):
        """The client certificate: RSA for RSA suites when there is one (a
        server that offers only RSA suites may ask only for RSA signatures, as
        wolfSSL does), else the ECDSA one."""
        for what in (["client-rsa"] if kind == "rsa" else []) + ["client"]:
            cert = _find(self.dir, CERT_NAMES[what], CERT_SUFFIXES, "BEGIN CERTIFICATE")
            key = _find(self.dir, CERT_NAMES[what], KEY_SUFFIXES, "PRIVATE KEY")
            if cert and key:
                return cert, key
        raise CellFailed("no client certificate and key in %s" % self.dir)

    def server_name(self, kind):
        """The first DNS name of the server certificate (else its CN)."""
        if kind not in self._names:
            cert = self.server(kind)[0]
            rc, out, _ = run_quiet(["openssl", "x509", "-in", cert, "-noout",
                                    "-ext", "subjectAltName", "-subject", "-nameopt", "RFC2253"])
            m = re.search(r"DNS:([^,\s]+)", out) or re.search(r"CN=([^,\n]+)", out)
            self._names[kind] = m.group(1).strip() if (rc == 0 and m) else "localhost"
        return self._names[kind]


def find_certs(directory, tmp):
    if not os.path.isdir(directory):
        raise CellFailed("certificate directory %s does not exist "
                         "(scripts/gen-test-certs.sh makes it)" % directory)
    return Certs(directory, tmp)


# ---- shared driving helpers ------------------------------------------------------

def wait_lines(cell, proc, after, bound_s=5.0):
    """Wait until both test lines appear in proc's stdout after the regex 'after'."""
    end = min(cell.deadline, time.monotonic() + bound_s)
    while time.monotonic() < end and proc.running():
        out = proc.stdout()
        m = re.search(after, out, re.M)
        tail = out[m.end():] if m else ""
        if all(line in tail for line in cell.lines):
            return True
        time.sleep(0.02)
    return False


def interactive_client(cell, proc, ready, what):
    """For clients that send what they read (openssl s_client, gnutls-cli):
    wait for the handshake, send the two lines, wait for the echo, then end
    stdin so that the client closes the connection."""
    if not proc.wait_for(ready, cell.deadline, "out"):
        raise CellFailed("%s client did not complete the handshake" % what)
    for line in cell.lines:
        proc.write(line + "\n")
        time.sleep(0.05)
    wait_lines(cell, proc, ready)
    proc.close_stdin()


# ---- peers ------------------------------------------------------------------

class Peer:
    name = "?"
    can_fragment = True
    mtu_reason = ""
    server_ready = (r"^listening on ", "out")

    def __init__(self, peers_dir):
        self.peers_dir = peers_dir

    @staticmethod
    def needs_netns(args):
        return False

    def check_support(self, cell):
        pass

    def drive_client(self, cell, proc):
        proc.write("".join(line + "\n" for line in cell.lines))
        proc.close_stdin()

    def drive_server(self, cell, proc, dk):
        pass

    def finish_server(self, cell, proc):
        rc = proc.wait(min(cell.deadline, time.monotonic() + 5))
        if rc is None:
            raise CellFailed("%s server did not exit after the connection closed" % self.name)
        return rc


class PeerProgram(Peer):
    """tests/peers/{mbedtls,wolfssl}_peer."""

    def binary(self):
        path = os.path.join(self.peers_dir, "%s_peer" % self.name)
        if not os.access(path, os.X_OK):
            raise CellFailed("%s is missing (built by tests/peers when the library is "
                             "installed)" % path)
        return path

    def check_support(self, cell):
        rc, out, err = run_quiet([self.binary(), "--client", "127.0.0.1:9", "--ciphers",
                                  cell.args.suite, "--probe"])
        if rc != 0 and "not supported by this" in err:
            raise Unsupported("%s cannot negotiate %s (not compiled into the Debian build)"
                              % (self.name, cell.args.suite))
        if rc != 0:
            raise CellFailed("%s --probe failed: %s" % (self.name, (err or out).strip()))

    def _common(self, cell):
        a = cell.args
        return ["--ciphers", a.suite, "--mtu", str(a.mtu), "--timeout", str(cell.remaining_ms()),
                "--export", "%s:%d" % (EXPORT_LABEL, EXPORT_LEN)]

    def client_argv(self, cell, port, certs):
        argv = [self.binary(), "--client", "127.0.0.1:%d" % port] + self._common(cell)
        if cell.suite.kind == "psk":
            argv += ["--psk-identity", cell.psk_identity, "--psk", cell.psk_hex]
        else:
            argv += ["--ca", certs.ca, "--servername", certs.server_name(cell.suite.kind)]
        if cell.auth:
            cert, key = certs.client(cell.suite.kind)
            argv += ["--cert", cert, "--key", key]
        return argv

    def server_argv(self, cell, port, certs):
        argv = [self.binary(), "--server", "127.0.0.1:%d" % port, "--echo"] + self._common(cell)
        if cell.suite.kind == "psk":
            argv += ["--psk-identity", cell.psk_identity, "--psk", cell.psk_hex]
        else:
            cert, key = certs.server(cell.suite.kind)
            argv += ["--cert", cert, "--key", key]
        if cell.auth:
            argv += ["--ca", certs.ca, "--verify-client"]
        return argv

    def result(self, cell, proc):
        out = proc.stdout()
        m = re.search(r"^handshake: suite=(\S+) ems=(yes|no)\s*$", out, re.M)
        if not m:
            raise CellFailed("%s printed no 'handshake: ...' line" % self.name)
        x = re.search(r"^export: ([0-9a-f]+)\s*$", out, re.M)
        return PeerResult(m.group(1), m.group(2) == "yes", x.group(1) if x else None)


class MbedTLS(PeerProgram):
    name = "mbedtls"


class WolfSSL(PeerProgram):
    name = "wolfssl"
    can_fragment = False
    mtu_reason = "the Debian wolfSSL is built without WOLFSSL_DTLS_MTU, so it has no " \
                 "wolfSSL_dtls_set_mtu and sends each handshake message whole"


class OpenSSL(Peer):
    name = "openssl"
    server_ready = (r"^ACCEPT", "out")
    _names = None

    @classmethod
    def iana(cls, openssl_name):
        if cls._names is None:
            _, out, _ = run_quiet(["openssl", "ciphers", "-stdname", "-psk", "ALL:@SECLEVEL=0"])
            cls._names = {}
            for line in out.splitlines():
                parts = line.split()
                if len(parts) >= 3 and parts[1] == "-":
                    cls._names[parts[2]] = parts[0]
        return cls._names.get(openssl_name, "openssl:" + openssl_name)

    @staticmethod
    def ossl_name(iana):
        rc, out, err = run_quiet(["openssl", "ciphers", "-convert", iana])
        m = re.search(r"OpenSSL cipher name: (\S+)", out)
        if rc != 0 or not m:
            raise Unsupported("openssl cannot name %s (%s)" % (iana, err.strip()))
        return m.group(1)

    def check_support(self, cell):
        if not shutil.which("openssl"):
            raise CellFailed("the openssl command is missing (scripts/deps.sh test)")
        rc, _, _ = run_quiet(["openssl", "ciphers", "-s", "-tls1_2", "-psk",
                              self.ossl_name(cell.args.suite)])
        if rc != 0:
            raise Unsupported("openssl cannot negotiate %s" % cell.args.suite)

    def _common(self, cell):
        # -mtu is the link MTU: OpenSSL subtracts 28 bytes of IPv4 and UDP headers.
        return ["-dtls1_2", "-cipher", self.ossl_name(cell.args.suite),
                "-mtu", str(cell.args.mtu + 28),
                "-keymatexport", EXPORT_LABEL, "-keymatexportlen", str(EXPORT_LEN)]

    def client_argv(self, cell, port, certs):
        argv = ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port] + self._common(cell)
        if cell.suite.kind == "psk":
            argv += ["-psk", cell.psk_hex, "-psk_identity", cell.psk_identity]
        else:
            argv += ["-CAfile", certs.ca, "-verify_return_error",
                     "-verify_hostname", certs.server_name(cell.suite.kind)]
        if cell.auth:
            cert, key = certs.client(cell.suite.kind)
            argv += ["-cert", cert, "-key", key]
        return argv

    def server_argv(self, cell, port, certs):
        argv = ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-naccept", "1"]
        argv += self._common(cell)
        if cell.suite.kind == "psk":
            argv += ["-nocert", "-psk", cell.psk_hex, "-psk_identity", cell.psk_identity]
        else:
            cert, key = certs.server(cell.suite.kind)
            argv += ["-cert", cert, "-key", key]
        if cell.auth:
            argv += ["-Verify", "1", "-CAfile", certs.ca, "-verify_return_error"]
        return argv

    def drive_client(self, cell, proc):
        interactive_client(cell, proc, r"^\s*Keying material: ", "openssl")

    def drive_server(self, cell, proc, dk):
        """s_server has no echo mode: send back, through its stdin, each test
        line it printed as received. Its stdin stays empty until the
        handshake is done, or s_server would skip printing the session."""
        sent = set()
        while dk.running() and time.monotonic() < cell.deadline and len(sent) < len(cell.lines):
            out = proc.stdout()
            for line in cell.lines:
                if line not in sent and re.search("^" + re.escape(line) + "$", out, re.M):
                    proc.write(line + "\n")
                    sent.add(line)
            time.sleep(0.02)

    def result(self, cell, proc):
        out = proc.stdout()
        exp = re.search(r"^\s*Keying material: ([0-9A-Fa-f]+)", out, re.M)
        if cell.args.role == "server":  # openssl is the client
            m = re.search(r"Cipher is (\S+)", out)
            ems = re.search(r"Extended master secret: (yes|no)", out)
        else:
            m = re.search(r"^CIPHER is (\S+)", out, re.M)
            ems = self._session_ems(out)
        if not m:
            raise CellFailed("openssl printed no cipher")
        if not ems:
            raise CellFailed("openssl printed no extended master secret state")
        return PeerResult(self.iana(m.group(1)), ems.group(1) == "yes",
                          exp.group(1) if exp else None)

    @staticmethod
    def _session_ems(out):
        """s_server prints the session as PEM but not the EMS flag: decode the
        session with 'openssl sess_id'."""
        m = re.search(r"-----BEGIN SSL SESSION PARAMETERS-----.*?"
                      r"-----END SSL SESSION PARAMETERS-----", out, re.S)
        if not m:
            return None
        p = subprocess.run(["openssl", "sess_id", "-noout", "-text"], input=m.group(0),
                           capture_output=True, text=True, timeout=10)
        return re.search(r"Extended master secret: (yes|no)", p.stdout)


class GnuTLS(Peer):
    name = "gnutls"
    server_ready = (r"listening on IPv4", "err")

    @staticmethod
    def needs_netns(args):
        # gnutls-serv listens on every address; it runs in its own namespace.
        return args.role == "client"

    @staticmethod
    def priority(suite):
        return ("NORMAL:-VERS-ALL:+VERS-DTLS1.2:-CIPHER-ALL:+%s:-KX-ALL:+%s:-MAC-ALL:+AEAD"
                % (suite.gnutls_cipher, suite.gnutls_kx))

    def check_support(self, cell):
        if not shutil.which("gnutls-cli"):
            raise CellFailed("gnutls-cli is missing (scripts/deps.sh test)")
        if cell.args.role == "server" and cell.suite.gnutls_kx == "ECDHE-PSK":
            _, out, _ = run_quiet(["gnutls-cli", "--version"])
            if re.search(r"gnutls-cli 3\.7\.", out):
                # Seen with Debian 12's 3.7.9: the handshake completes, then
                # gnutls-cli's session printout calls gnutls_psk_server_get_username
                # on the client session and dies with SIGSEGV.
                raise Unsupported("gnutls cannot be an ECDHE-PSK client here: gnutls-cli 3.7 "
                                  "crashes (SIGSEGV in gnutls_psk_server_get_username) printing "
                                  "the session right after the handshake")
        rc, out, _ = run_quiet(["gnutls-cli", "--priority", self.priority(cell.suite), "-l"])
        code = "0x%02x, 0x%02x" % cell.suite.code
        if rc != 0 or code not in out:
            raise Unsupported("gnutls cannot negotiate %s" % cell.args.suite)

    def _common(self, cell):
        return ["--udp", "--priority", self.priority(cell.suite), "-d", "4",
                "--mtu", str(cell.args.mtu)]

    def client_argv(self, cell, port, certs):
        argv = ["gnutls-cli", "-p", str(port), "127.0.0.1"] + self._common(cell)
        argv += ["--keymatexport", EXPORT_LABEL, "--keymatexportsize", str(EXPORT_LEN)]
        if cell.suite.kind == "psk":
            argv += ["--pskusername", cell.psk_identity, "--pskkey", cell.psk_hex]
        else:
            argv += ["--x509cafile", certs.ca,
                     "--verify-hostname", certs.server_name(cell.suite.kind)]
        if cell.auth:
            cert, key = certs.client(cell.suite.kind)
            argv += ["--x509certfile", cert, "--x509keyfile", key]
        return argv

    def server_argv(self, cell, port, certs):
        argv = ["gnutls-serv", "--echo", "-p", str(port)] + self._common(cell)
        if cell.suite.kind == "psk":
            pw = os.path.join(cell.tmp, "psk.passwd")
            with open(pw, "w") as f:
                f.write("%s:%s\n" % (cell.psk_identity, cell.psk_hex))
            argv += ["--pskpasswd", pw]
        else:
            cert, key = certs.server(cell.suite.kind)
            argv += ["--x509certfile", cert, "--x509keyfile", key]
        if cell.auth:
            argv += ["-r", "--verify-client-cert", "--x509cafile", certs.ca]
        else:
            argv += ["-a"]
        return argv

    def drive_client(self, cell, proc):
        interactive_client(cell, proc, r"^- Handshake was completed", "gnutls")

    def finish_server(self, cell, proc):
        # gnutls-serv serves forever: the dtlskit client has finished, stop it.
        time.sleep(0.2)
        proc.stop()
        return None

    def result(self, cell, proc):
        err, out = proc.stderr(), proc.stdout()
        m = re.search(r"Selected cipher suite: GNUTLS_(\S+)", err)
        if not m:
            raise CellFailed("gnutls logged no selected cipher suite")
        suite = self.iana(m.group(1))
        if cell.args.role == "server":  # gnutls is the client
            opts = re.search(r"^- Options: (.*)$", out, re.M)
            ems = bool(opts) and "extended master secret" in opts.group(1)
            exp = re.search(r"^- Key material: ([0-9a-fA-F]+)", out, re.M)
            return PeerResult(suite, ems, exp.group(1) if exp else None)
        # gnutls-serv: EMS iff it sent the extension (only ServerHello carries it);
        # it does not print exported keying material in UDP mode.
        ems = "Sending extension Extended Master Secret/23" in err
        return PeerResult(suite, ems, None)

    @staticmethod
    def iana(gnutls_name):
        """GnuTLS names drop WITH and, for AEAD suites without one, the PRF hash."""
        for iana in SUITES:
            plain = iana[len("TLS_"):].replace("_WITH_", "_")
            if gnutls_name in (plain, re.sub(r"_SHA256$", "", plain)):
                return iana
        return "gnutls:" + gnutls_name


PEERS = {"openssl": OpenSSL, "gnutls": GnuTLS, "mbedtls": MbedTLS, "wolfssl": WolfSSL}
