#!/usr/bin/env python3
"""Print the interop matrix (peer x suite x MTU x client auth) as a Markdown
table from a CTest run.

    ctest -L interop --output-junit interop.xml; tests/interop/matrix.py interop.xml
    ctest -L interop | tests/interop/matrix.py

The input is either CTest's JUnit file (which also carries each skipped
cell's "UNSUPPORTED: ..." reason) or CTest's console output. Test names are
interop.<peer>.<dtlskit-role>.<suite>.mtu<N>[.auth]. Standard library only.
"""
import argparse
import re
import sys
import xml.etree.ElementTree as ET

PEERS = ["openssl", "gnutls", "mbedtls", "wolfssl"]
SUITES = ["ECDHE-ECDSA-AES128-GCM", "ECDHE-ECDSA-CHACHA20", "ECDHE-RSA-AES256-GCM",
          "PSK-AES128-CCM8", "ECDHE-PSK-CHACHA20"]
NAME_RX = re.compile(r"^interop\.(\w+)\.(server|client)\.([A-Za-z0-9-]+)\.mtu(\d+)(\.auth)?$")


def parse_console(text):
    """'Test  #12: interop.x.y.z.mtu400 ......   Passed   0.9 sec' and friends."""
    results = {}
    rx = re.compile(r"Test\s+#\d+: (interop\.\S+) \.*\s*(?:\*\*\*)?(Passed|Skipped|Failed|"
                    r"Timeout|Not Run|Exception|\w+)")
    for line in text.splitlines():
        m = rx.search(line)
        if m:
            results[m.group(1)] = (m.group(2).lower(), "")
    return results


def parse_junit(text):
    results = {}
    for case in ET.fromstring(text).iter("testcase"):
        name = case.get("name", "")
        status = case.get("status", "")
        out = case.findtext("system-out") or ""
        reason = ""
        m = re.findall(r"^(UNSUPPORTED: .*|FAIL: .*)$", out, re.M)
        if m:
            reason = m[-1]
        if status == "run" and case.find("failure") is None:
            status = "passed"
        elif case.find("skipped") is not None or status == "notrun" and "UNSUPPORTED" in out:
            status = "skipped"
        elif case.find("failure") is not None or status == "fail":
            status = "failed"
        results[name] = (status, reason)
    return results


def cell_text(status):
    return {"passed": "pass", "skipped": "unsupported", "failed": "**FAIL**",
            "timeout": "**TIMEOUT**"}.get(status, "**%s**" % status.upper())


def table(results):
    cells, columns = {}, set()
    for name, res in results.items():
        m = NAME_RX.match(name)
        if not m:
            continue
        peer, role, suite, mtu, auth = m.groups()
        col = (int(mtu), bool(auth))
        columns.add(col)
        cells[(peer, role, suite, col)] = res
    cols = sorted(columns, key=lambda c: (-c[0], c[1]))
    head = ["peer", "dtlskit is", "suite"] + ["MTU %d%s" % (c[0], " + client auth" if c[1] else "")
                                              for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    peers = [p for p in PEERS if any(k[0] == p for k in cells)]
    peers += sorted({k[0] for k in cells} - set(peers))
    suites = SUITES + sorted({k[2] for k in cells} - set(SUITES))
    notes = []
    for peer in peers:
        for role in ("server", "client"):
            for suite in suites:
                row, any_cell = [peer, role, suite], False
                for col in cols:
                    res = cells.get((peer, role, suite, col))
                    if res is None:
                        row.append("n/a")
                        continue
                    any_cell = True
                    text = cell_text(res[0])
                    if res[1] and res[0] != "passed":
                        notes.append(res[1])
                        text += " [%d]" % len(notes)
                    row.append(text)
                if any_cell:
                    lines.append("| " + " | ".join(row) + " |")
    counts = {}
    for res in cells.values():
        counts[cell_text(res[0])] = counts.get(cell_text(res[0]), 0) + 1
    lines.append("")
    lines.append("Totals: " + ", ".join("%s %d" % (k.strip("*"), v)
                                        for k, v in sorted(counts.items())))
    if notes:
        lines.append("")
        lines += ["%d. %s" % (i + 1, n) for i, n in enumerate(notes)]
    lines.append("")
    lines.append("n/a: not in the matrix (PSK suites run at the default MTU without client "
                 "certificates; see tests/interop/README.md).")
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("input", nargs="?", default="-",
                    help="CTest JUnit XML or console output (default: stdin)")
    args = ap.parse_args(argv)
    text = sys.stdin.read() if args.input == "-" else open(args.input, errors="replace").read()
    results = parse_junit(text) if text.lstrip().startswith("<") else parse_console(text)
    if not any(NAME_RX.match(n) for n in results):
        print("matrix.py: no interop.* results in the input", file=sys.stderr)
        return 1
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
