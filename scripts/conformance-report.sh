#!/usr/bin/env bash
# `make conformance-report`: run every `dtlskit probe` scenario against the
# DTLS 1.2 implementations on this machine (dtlskit, openssl s_server/s_client,
# gnutls-serv/gnutls-cli, and tests/peers' mbedtls_peer and wolfssl_peer) and
# write docs/CONFORMANCE.md: one table, scenarios by implementation, with the
# reason for each FAIL. Other implementations failing is expected; the script
# fails only when the report cannot be produced.
# Usage: scripts/conformance-report.sh [BUILD_DIR]   (the Makefile passes $(BUILD))
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bash scripts/deps.sh test
# The interop peers are built when their libraries are installed (DK_INTEROP, default ON).
cmake -S . -B "$build" -DDK_INTEROP=ON >/dev/null
cmake --build "$build" -j"$(nproc 2>/dev/null || echo 2)" --target dtlskit
cmake --build "$build" --target mbedtls_peer wolfssl_peer 2>/dev/null || true
python3 tests/probe/report.py --dtlskit "$build/dtlskit" --peers-dir "$build/tests/peers" \
    --certs tests/vectors/certs --out docs/CONFORMANCE.md --jobs 2
