#!/usr/bin/env bash
# `make run`: a dtlskit echo server and client on 127.0.0.1.
# The server has no credentials, so it makes an ephemeral certificate and prints
# its SHA-256 fingerprint; the client pins that fingerprint, sends three lines
# and prints what comes back. Exits non-zero if the client fails.
# Usage: scripts/run-demo.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
bin="$build/dtlskit"
if [ ! -x "$bin" ]; then
  echo "run-demo: $bin is missing: run 'make build' first" >&2
  exit 1
fi
tmp=$(mktemp -d)
server_pid=""
stop_server() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  server_pid=""
}
trap 'stop_server; rm -rf "$tmp"' EXIT

show() { sed "s/^/$1| /" "$2"; }

echo "\$ $bin server --listen 127.0.0.1:0 --echo"
"$bin" server --listen 127.0.0.1:0 --echo >"$tmp/server.out" 2>&1 &
server_pid=$!

# Port 0: the server picks a free port and prints it ("listening on ADDR:PORT").
port="" fp=""
for _ in $(seq 100); do
  port=$(sed -n 's/^listening\( on\|:\) .*:\([0-9][0-9]*\)$/\2/p' "$tmp/server.out" | head -n1)
  fp=$(sed -n 's/^certificate sha256 fingerprint: \([0-9a-fA-F]\{64\}\)$/\1/p' "$tmp/server.out" \
       | head -n1)
  if [ -n "$port" ] && [ -n "$fp" ]; then break; fi
  if ! kill -0 "$server_pid" 2>/dev/null; then break; fi
  sleep 0.1
done
if [ -z "$port" ] || [ -z "$fp" ]; then
  show server "$tmp/server.out"
  echo "run-demo: the server printed no listening port and certificate fingerprint" >&2
  exit 1
fi
show server "$tmp/server.out"
lines_seen=$(wc -l <"$tmp/server.out")

echo "\$ printf '...' | $bin client 127.0.0.1:$port --pin $fp"
set +e
printf 'hello from make run\ndtlskit echoes every line\nbye\n' |
  "$bin" client "127.0.0.1:$port" --pin "$fp" >"$tmp/client.out" 2>&1
client_rc=$?
set -e
show client "$tmp/client.out"

stop_server
tail -n +"$((lines_seen + 1))" "$tmp/server.out" | sed 's/^/server| /'
if [ "$client_rc" -ne 0 ]; then
  echo "run-demo: the client failed (exit status $client_rc)" >&2
  exit "$client_rc"
fi
echo "run-demo: ok"
