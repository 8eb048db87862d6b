#!/usr/bin/env python3
"""Self-test of the interop peers: mbedtls_peer and wolfssl_peer talk to each
other on 127.0.0.1 before they are trusted to judge dtlskit.

Each case checks that both sides report the same suite and EMS, that the
exporters agree and that the echo comes back byte for byte. Certificates are
made fresh with the openssl command in a temporary directory. Exit 0 pass,
77 skip (no openssl command), 1 fail.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PSK = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
LINES = b"peer selftest line one\npeer selftest line two\n"


def sh(argv, cwd):
    subprocess.run(argv, cwd=cwd, check=True, capture_output=True)


def make_certs(d):
    sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"], d)
    sh(["openssl", "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2",
        "-subj", "/CN=peer selftest CA", "-out", "ca.pem"], d)
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\n")
    for name in ("server", "client"):
        sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout",
            "-out", name + ".key"], d)
        sh(["openssl", "req", "-new", "-key", name + ".key", "-subj", "/CN=" + name,
            "-out", name + ".csr"], d)
        sh(["openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-sha256", "-extfile", "leaf.ext",
            "-out", name + ".pem"], d)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_case(peers_dir, certs, server, client, suite, extra_s, extra_c):
    port = free_port()
    common = ["--ciphers", suite, "--timeout", "15000", "--export", "EXPORTER-selftest:32"]
    srv = subprocess.Popen([os.path.join(peers_dir, server + "_peer"), "--server",
                            "127.0.0.1:%d" % port, "--echo"] + common + extra_s,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           start_new_session=True, cwd=certs)
    try:
        time.sleep(0.3)
        cli = subprocess.run([os.path.join(peers_dir, client + "_peer"), "--client",
                              "127.0.0.1:%d" % port] + common + extra_c,
                             input=LINES, capture_output=True, timeout=20, cwd=certs)
        s_out, s_err = srv.communicate(timeout=10)
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()
    c_out = cli.stdout.decode(errors="replace")
    s_out = s_out.decode(errors="replace")
    if cli.returncode != 0 or srv.returncode != 0:
        return "exit codes client=%d server=%d: %s %s" % (
            cli.returncode, srv.returncode, cli.stderr.decode(errors="replace").strip(),
            s_err.decode(errors="replace").strip())
    hs = [re.search(r"^handshake: suite=(\S+) ems=(\S+)$", t, re.M) for t in (c_out, s_out)]
    ex = [re.search(r"^export: (\S+)$", t, re.M) for t in (c_out, s_out)]
    if not all(hs) or not all(ex):
        return "missing handshake or export line"
    if hs[0].group(1) != suite or hs[1].group(1) != suite:
        return "suites %s / %s, expected %s" % (hs[0].group(1), hs[1].group(1), suite)
    if hs[0].group(2) != "yes" or hs[1].group(2) != "yes":
        return "EMS not used"
    if ex[0].group(1) != ex[1].group(1):
        return "exporters differ"
    if LINES.decode() not in c_out:
        return "echo mismatch: %r" % c_out
    return None


def main(argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--peers-dir", required=True)
    args = ap.parse_args(argv)
    args.peers_dir = os.path.abspath(args.peers_dir)
    if not shutil.which("openssl"):
        print("SKIP: the openssl command is needed to make certificates")
        return 77
    tls = "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
    cert_s = ["--cert", "server.pem", "--key", "server.key"]
    auth_s = cert_s + ["--ca", "ca.pem", "--verify-client"]
    cert_c = ["--ca", "ca.pem", "--servername", "localhost"]
    auth_c = cert_c + ["--cert", "client.pem", "--key", "client.key"]
    psk = ["--psk-identity", "selftest", "--psk", PSK]
    cases = [
        ("mbedtls", "wolfssl", tls, auth_s, auth_c),
        ("wolfssl", "mbedtls", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", cert_s,
         cert_c + ["--mtu", "400"]),
        ("mbedtls", "wolfssl", "TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256", psk, psk),
        ("mbedtls", "mbedtls", "TLS_PSK_WITH_AES_128_CCM_8", psk + ["--mtu", "300"], psk),
    ]
    failed = 0
    with tempfile.TemporaryDirectory(prefix="dk-peer-selftest-") as d:
        make_certs(d)
        for server, client, suite, es, ec in cases:
            why = run_case(args.peers_dir, d, server, client, suite, es, ec)
            print("%s: %s server, %s client, %s%s" % ("FAIL" if why else "ok", server, client,
                                                      suite, (": " + why) if why else ""))
            failed += bool(why)
    print("%d passed, %d failed" % (len(cases) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
