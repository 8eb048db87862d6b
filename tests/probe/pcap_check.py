"""Read a probe capture with tshark, the probe's peer port decoded as DTLS
(-d udp.port==PORT,dtls) and the key log applied, and check it: every
record decodes, nothing is malformed (or, for scenarios that send malformed
records on purpose, only what the probe sent), the handshake types expected
are there, and the application data decrypts to the bytes that were sent.

Standard library only; used by server_test.py and serve_test.py.
"""
import shutil
import subprocess

FIELDS = ["frame.number", "udp.srcport", "dtls.record.content_type", "dtls.handshake.type",
          "data.data", "_ws.malformed", "_ws.expert.message"]

# Wireshark's reassembly marks a retransmitted handshake fragment whose
# message it already reassembled as "Malformed" with this note, whatever the
# bytes: a dissector limitation with legitimate DTLS retransmissions (R2), not
# a malformed packet. Counted and reported, not failed.
REASSEMBLY_NOTE = "New fragment overlaps old data (retransmission?)"


class CaptureError(Exception):
    pass


def frames(pcap, port, keylog):
    if not shutil.which("tshark"):
        raise CaptureError("tshark is missing (scripts/deps.sh test)")
    argv = ["tshark", "-r", pcap, "-d", "udp.port==%d,dtls" % port, "-o",
            "tls.keylog_file:%s" % keylog, "-T", "fields", "-E", "separator=|"]
    for f in FIELDS:
        argv += ["-e", f]
    p = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise CaptureError("tshark failed on %s: %s" % (pcap, p.stderr.strip()[-300:]))
    out = []
    for line in p.stdout.splitlines():
        parts = line.split("|")
        if len(parts) < len(FIELDS):
            continue
        num, sport, cts, hts, data, malformed, expert = parts[:7]
        out.append({
            "n": int(num), "sport": int(sport) if sport else 0,
            "ct": [int(x) for x in cts.split(",") if x],
            "ht": [int(x) for x in hts.split(",") if x],
            "data": [bytes.fromhex(x) for x in data.split(",") if x],
            "malformed": bool(malformed),
            "retransmitted_fragment": REASSEMBLY_NOTE in expert,
        })
    return out


def check(pcap, port, keylog, malformed_ok=False, handshake=False, app_prefix=None,
          app_exact=None, hello_fragments_ok=False):
    """Returns a one-line summary; raises CaptureError on a violation.
    port: the peer's port (the server under test, or the client with --serve).
    handshake: a full handshake must be in the capture.
    app_prefix / app_exact: what decrypted application data must look like."""
    fr = frames(pcap, port, keylog)
    if not fr:
        raise CaptureError("%s: no packets" % pcap)
    retx = 0
    for f in fr:
        by_probe = f["sport"] != port
        if not f["ct"] and not f["malformed"] and not (malformed_ok and by_probe):
            raise CaptureError("%s: frame %d not decoded as DTLS" % (pcap, f["n"]))
        if f["malformed"] and f["retransmitted_fragment"]:
            retx += 1
            continue
        if f["malformed"] and not (malformed_ok and by_probe):
            raise CaptureError("%s: frame %d is malformed (sent by %s)"
                               % (pcap, f["n"], "the probe" if by_probe else "the peer"))
    types = set(t for f in fr for t in f["ht"])
    note = ", %d retransmitted fragments" % retx if retx else ""
    lost_hello = retx or hello_fragments_ok
    if handshake:
        for t, name in ((1, "ClientHello"), (2, "ServerHello"), (14, "ServerHelloDone"),
                        (16, "ClientKeyExchange"), (20, "Finished")):
            if t == 20 and t not in types and lost_hello:
                note += "; Finished not decrypted (Wireshark lost the fragmented ClientHello)"
            elif t not in types:
                raise CaptureError("%s: no %s decoded" % (pcap, name))
    if app_prefix is not None or app_exact is not None:
        try:
            check_app(pcap, fr, port, app_prefix, app_exact)
        except CaptureError:
            # After retransmitted ClientHello fragments Wireshark may lose the
            # ClientHello (see REASSEMBLY_NOTE) and with it the keys.
            if not lost_hello or any(f["data"] for f in fr if 23 in f["ct"]):
                raise
            note += "; application data not decrypted (Wireshark lost the fragmented ClientHello)"
    return "%d frames, handshake types %s%s" % (len(fr), sorted(types), note)


def check_app(pcap, fr, port, prefix, exact):
    app = [(f["sport"], d) for f in fr if 23 in f["ct"] for d in f["data"]]
    if not app:
        raise CaptureError("%s: no application data decrypted with the key log" % pcap)
    sides = set(s == port for s, _ in app)
    if sides != {True, False}:
        raise CaptureError("%s: application data decrypted in one direction only" % pcap)
    for _, d in app:
        if exact is not None and d not in exact:
            raise CaptureError("%s: decrypted application data %r was not sent" % (pcap, d))
        if prefix is not None and not (d.startswith(prefix) and d.endswith(b"\n")):
            raise CaptureError("%s: decrypted application data %r was not sent" % (pcap, d))
