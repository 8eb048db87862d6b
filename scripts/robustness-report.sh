#!/usr/bin/env bash
# Regenerate the measured sections of docs/ROBUSTNESS.md: the lossy-link
# table (1,000 handshakes per profile, records both ways), the real-peer runs
# through dk_udp_proxy, the replay-window run, the ClientHello flood and the
# memory figures. Each section sits between <!-- BEGIN name --> and
# <!-- END name --> markers and is replaced whole.
#
#   scripts/robustness-report.sh [BUILD_DIR]         (default: build)
#
# Sizes (environment): DK_REPORT_HANDSHAKES (1000), DK_REPORT_RECORDS (20 per
# connection and direction), DK_REPORT_PROXY_N (20 per direction),
# DK_REPORT_PROXY_DROP (0.3), DK_REPORT_MEM_PSK (100000), DK_REPORT_MEM_CERT (2000).
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DOC="$ROOT/docs/ROBUSTNESS.md"
HS=${DK_REPORT_HANDSHAKES:-1000}
REC=${DK_REPORT_RECORDS:-20}
PN=${DK_REPORT_PROXY_N:-20}
PDROP=${DK_REPORT_PROXY_DROP:-0.3}
MPSK=${DK_REPORT_MEM_PSK:-100000}
MCERT=${DK_REPORT_MEM_CERT:-2000}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

cmake --build "$BUILD" --target dk_lossy robustness_flood_test robustness_memory_test \
    robustness_replay_conn_test dk_udp_proxy -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
RB="$BUILD/tests/robustness"

echo "robustness-report: lossy-link runs ($HS handshakes per profile)..." >&2
LOSSY_OK=1
"$BUILD/tests/scenario/dk_lossy" --handshakes "$HS" --records "$REC" --markdown --reasons \
    >"$TMP/lossy" 2>"$TMP/lossy.err" || LOSSY_OK=0
if [ "$LOSSY_OK" = 0 ]; then
    { echo; echo "**The run failed its checks:** $(grep FAIL "$TMP/lossy.err" | tr '\n' ' ')"; } >>"$TMP/lossy"
fi

echo "robustness-report: replay window..." >&2
"$RB/robustness_replay_conn_test" >"$TMP/replay.raw" 2>&1
echo "robustness-report: ClientHello flood..." >&2
"$RB/robustness_flood_test" >"$TMP/flood.raw" 2>&1
echo "robustness-report: memory ($MPSK PSK connections)..." >&2
DK_RB_MEM_PSK=$MPSK DK_RB_MEM_CERT=$MCERT "$RB/robustness_memory_test" >"$TMP/mem.raw" 2>&1

PROXY_OK=1
if [ -x "$BUILD/dtlskit" ] && command -v openssl >/dev/null && command -v python3 >/dev/null; then
    echo "robustness-report: dtlskit <-> openssl through dk_udp_proxy ($PN each way)..." >&2
    python3 "$ROOT/tests/proxy/proxy_interop.py" --dtlskit "$BUILD/dtlskit" \
        --proxy "$BUILD/tests/proxy/dk_udp_proxy" --n "$PN" --drop "$PDROP" --timeout 60 \
        --markdown >"$TMP/proxy.raw" 2>&1 || PROXY_OK=0
else
    echo "(dtlskit CLI, openssl or python3 missing: not run)" >"$TMP/proxy.raw"
fi

python3 - "$DOC" "$TMP" "$HS" "$REC" "$PN" "$PDROP" <<'PY'
import datetime, os, re, subprocess, sys
doc, tmp, hs, rec, pn, pdrop = sys.argv[1:7]
def read(n):
    with open(os.path.join(tmp, n)) as f:
        return f.read()
def rows(text, prefix):
    return [l for l in text.splitlines() if l.startswith(prefix)]
try:
    sha = subprocess.run(["git", "-C", os.path.dirname(doc), "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip()
except OSError:
    sha = "?"
stamp = "Generated %s UTC at commit %s by scripts/robustness-report.sh." % (
    datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), sha or "?")
sections = {}
sections["lossy"] = "%s %s handshakes per profile, %s records per connection and direction.\n\n%s" % (
    stamp, hs, rec, read("lossy").strip())
kv = lambda line: dict(p.split("=", 1) for p in line.split()[1:] if "=" in p)
fl = rows(read("flood.raw"), "FLOOD:")
if fl:
    f = kv(fl[0])
    sections["flood"] = (
        "%s\n\n| ClientHellos (spoofed sources) | HelloVerifyRequests | dropped | admitted | "
        "HVR per second (one core) | largest HVR / ClientHello | dtlskit allocations | heap growth (bytes) |\n"
        "|---|---|---|---|---|---|---|---|\n| %s | %s | %s | %s | %s | %s | %s | %s |"
        % (stamp, f["datagrams"], f["hvr"], f["dropped"], f["admitted"], f["hvr_per_second"],
           f["largest_hvr_to_ch_ratio"], f["dk_allocs"], f["heap_growth"]))
mem = rows(read("mem.raw"), "MEMORY:")
if mem:
    t = ["| connections | kind | heap before | heap after | difference (bytes) | per connection | live dtlskit blocks | seconds |",
         "|---|---|---|---|---|---|---|---|"]
    for l in mem:
        m = kv(l)
        t.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            m["connections"], l.split()[1], m["heap_before"], m["heap_after"], m["diff_bytes"],
            m["per_connection"], m["live_blocks_diff"], m["seconds"]))
    sections["memory"] = stamp + "\n\n" + "\n".join(t)
rp = [l for l in read("replay.raw").splitlines() if " window " in l]
if rp:
    sections["replay"] = stamp + "\n\n" + "\n".join("- " + l.strip() for l in rp)
px = rows(read("proxy.raw"), "| ")
sections["proxy"] = stamp + " %s handshakes per direction.\n\n" % pn + (
    "| direction | drop / dup / reorder | handshakes | completed | median s | max s |\n"
    "|---|---|---|---|---|---|\n" + "\n".join(px) if px else read("proxy.raw").strip())
with open(doc) as f:
    text = f.read()
for name, body in sections.items():
    pat = re.compile(r"(<!-- BEGIN %s -->\n).*?(<!-- END %s -->)" % (name, name), re.S)
    if not pat.search(text):
        sys.exit("robustness-report: no %s markers in %s" % (name, doc))
    text = pat.sub(lambda m: m.group(1) + body.strip() + "\n" + m.group(2), text)
with open(doc, "w") as f:
    f.write(text)
print("robustness-report: updated", doc)
PY
[ "$PROXY_OK" = 1 ] || echo "robustness-report: the proxy run failed (see the doc)" >&2
[ "$LOSSY_OK" = 1 ] || { echo "robustness-report: dk_lossy failed its checks (see the doc)" >&2; exit 1; }
