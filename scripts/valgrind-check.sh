#!/usr/bin/env bash
# Run the in-memory handshake tests under valgrind's memcheck: any memory
# error or any definitely/indirectly lost block fails the run.
#
#   scripts/valgrind-check.sh [BUILD_DIR]      (default: build)
#
# The binaries are build/handshake_test and build/tests/robustness/*; loop
# counts are reduced (valgrind runs them ~50x slower). Exits 0 when every
# binary passed, 1 otherwise, and prints "N passed, N failed".
set -u
BUILD=${1:-build}
if ! command -v valgrind >/dev/null; then
    echo "valgrind-check: valgrind is not installed (apt-get install valgrind)" >&2
    exit 1
fi
BINS=("$BUILD/handshake_test" "$BUILD/engine_test")
for b in "$BUILD"/tests/robustness/robustness_*_test; do
    [ -x "$b" ] && BINS+=("$b")
done
# Smaller loops; mallinfo2 is meaningless under valgrind's allocator, and
# GLIBC_TUNABLES keeps memory_test from re-executing itself outside valgrind.
export DK_RB_REPLAY_RECORDS=20000 DK_RB_FLOOD=20000 DK_RB_MEM_PSK=200 DK_RB_MEM_CERT=40
export GLIBC_TUNABLES=glibc.malloc.tcache_count=0
export DK_MTU_SWEEP_STEP=${DK_MTU_SWEEP_STEP:-9}
# VALGRIND_EXTRA adds options, e.g. --track-origins=yes to find where an
# uninitialised value came from (twice as slow).
VG=(valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect
    --show-leak-kinds=definite,indirect --quiet ${VALGRIND_EXTRA:-})
pass=0
fail=0
for b in "${BINS[@]}"; do
    if [ ! -x "$b" ]; then
        echo "valgrind-check: missing $b (build first)" >&2
        fail=$((fail + 1))
        continue
    fi
    log=$(mktemp)
    if "${VG[@]}" "$b" >"$log" 2>&1; then
        echo "ok   $(basename "$b")"
        pass=$((pass + 1))
    else
        echo "FAIL $(basename "$b")"
        tail -n 60 "$log"
        fail=$((fail + 1))
    fi
    rm -f "$log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
