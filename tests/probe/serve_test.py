#!/usr/bin/env python3
"""Run the client-side probe scenarios: `dtlskit probe --serve` plays the
misbehaving server and `dtlskit client` connects to it, a fresh client each
time the previous one exited while the probe still waits (at most 4).

A scenario passes when the probe reports PASS (exit 0), the last client
completed its handshake, got its line echoed and exited 0, and the capture
passes the tshark checks (pcap_check.py).

usage: serve_test.py DTLSKIT {cert|psk} WORKDIR [SCENARIO ...] [--verbose]
With no SCENARIO every client-side scenario of the configuration runs.
"""
import os
import re
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcap_check  # noqa: E402

PSK = ["--psk-identity", "probe", "--psk", "00112233445566778899aabbccddeeff"]


def scenarios(dtlskit, config):
    out = subprocess.run([dtlskit, "probe", "--list"], capture_output=True, text=True,
                         check=True).stdout
    ids = []
    for line in out.splitlines():
        m = re.match(r"(\S+)\s+client\s", line)
        if m and not (config == "psk" and "[cert]" in line):
            ids.append(m.group(1))
    return ids


def start_probe(dtlskit, config, sid, work, verbose):
    argv = [dtlskit, "probe", "--serve", "127.0.0.1:0", "--scenario", sid,
            "--pcap", os.path.join(work, sid + ".pcap"), "--keylog", os.path.join(work, "keys.log")]
    argv += PSK if config == "psk" else []
    argv += ["--verbose"] if verbose else []
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    if not line.startswith("listening: "):
        p.kill()
        raise RuntimeError("the probe did not start: %r" % line)
    return p, line.split()[1]


def run_client(dtlskit, config, addr, sid, n):
    argv = [dtlskit, "client", addr] + (PSK if config == "psk" else ["--insecure"])
    line = "probe %s client %d\n" % (sid, n)
    try:
        c = subprocess.run(argv, input=line, capture_output=True, text=True, timeout=40)
        return c.returncode, line, c.stdout, c.stderr
    except subprocess.TimeoutExpired:
        return None, line, "", "client timed out"


def run_one(dtlskit, config, sid, work, verbose):
    probe, addr = start_probe(dtlskit, config, sid, work, verbose)
    port = int(addr.rsplit(":", 1)[1])
    clients = []
    for n in range(1, 5):
        clients.append(run_client(dtlskit, config, addr, sid, n))
        deadline = time.monotonic() + 2.0
        while probe.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if probe.poll() is not None:
            break
    try:
        out, _ = probe.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        probe.kill()
        out, _ = probe.communicate()
    result = next((l for l in out.splitlines() if l.startswith(sid + " ")), "%s: no result" % sid)
    print(result)
    for i, (rc, _, cout, cerr) in enumerate(clients, 1):
        print("  client %d: exit %s%s" % (i, rc, "; " + cerr.strip().splitlines()[-1]
                                           if cerr.strip() else ""))
    rc, line, cout, _ = clients[-1]
    if probe.returncode != 0:
        return "probe reported a failure"
    if rc != 0 or line not in cout:
        return "the last client did not complete (exit %s)" % rc
    return check_capture(sid, work, port, [c[1].encode() for c in clients])


def check_capture(sid, work, port, lines):
    """The capture's peer is the probe's server port seen from the client:
    decode the probe's own port as DTLS."""
    try:
        summary = pcap_check.check(os.path.join(work, sid + ".pcap"), port,
                                   os.path.join(work, "keys.log"), handshake=True,
                                   app_exact=set(lines))
        print("  capture: " + summary)
        return None
    except pcap_check.CaptureError as e:
        return str(e)


def main():
    args = [a for a in sys.argv[1:] if a != "--verbose"]
    verbose = "--verbose" in sys.argv
    dtlskit, config, work = args[:3]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    ids = args[3:] or scenarios(dtlskit, config)
    failed = []
    for sid in ids:
        err = run_one(dtlskit, config, sid, work, verbose)
        if err:
            print("  FAIL: " + err)
            failed.append(sid)
    print("%d passed, %d failed" % (len(ids) - len(failed), len(failed)))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
