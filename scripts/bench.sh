#!/usr/bin/env bash
# `make bench [BENCH_ARGS=...]`: dtlskit against OpenSSL's libssl DTLS and GnuTLS, in one
# process and over loopback. Builds bench/ in the build directory ($1, default
# build) and runs it; BENCH_ARGS go to the program (--json, --quick,
# --runs N, --clients N, --in-flight N, --only PREFIX, --no-loopback).
# The table's method is described in docs/PERFORMANCE.md.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" --target dtlskit-bench -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
# The loopback row keeps up to --in-flight client sockets open at once.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
# shellcheck disable=SC2086 # BENCH_ARGS is a list of words
exec "$build/bench/dtlskit-bench" ${BENCH_ARGS:-}
