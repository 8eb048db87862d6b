#!/usr/bin/env bash
# `make fuzz`: build dtlskit's libFuzzer harnesses with clang
# (-fsanitize=fuzzer,address,undefined, DK_FUZZING=ON) and run each one for a
# bounded time. docs/FUZZING.md explains the harnesses.
#
#   scripts/fuzz.sh [--ci] [--seconds N] [--jobs N] [--build DIR] [--no-save] [HARNESS...]
#
#   --seconds N  run time per harness (default $FUZZ_SECONDS, else 60; --ci: 10)
#   --jobs N     harnesses run at the same time (default $FUZZ_JOBS, else 1)
#   --build DIR  build directory (default build-fuzz)
#   --no-save    do not copy crashing inputs into tests/fuzz/regress/<harness>/
#   HARNESS      any of: record hs_msg reasm cookie spki server server_nocookie client endpoint
#
# Each harness starts from its committed seeds (tests/fuzz/corpus/<h>) and
# regression inputs (tests/fuzz/regress/<h>) and grows a working corpus in
# DIR/fuzz-corpus/<h> that persists between runs. At the end the script
# prints, per harness: executions, coverage (libFuzzer's cov and ft), the
# working corpus size, and crashes; and for the engine harnesses the rows of
# the transition tables their corpus reaches. A crashing input is copied to
# tests/fuzz/regress/<h>/ (where CTest replays it on every run) and the
# script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL="record hs_msg reasm cookie spki server server_nocookie client endpoint"
ENGINES=" server server_nocookie client endpoint "
SECONDS_EACH=${FUZZ_SECONDS:-}
JOBS=${FUZZ_JOBS:-1}
BUILD=build-fuzz
SAVE=1
CI=0
HARNESSES=""

while [ $# -gt 0 ]; do
    case "$1" in
    --ci) CI=1 ;;
    --seconds) SECONDS_EACH=$2; shift ;;
    --jobs) JOBS=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-save) SAVE=0 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *)
        case " $ALL " in
        *" $1 "*) HARNESSES="$HARNESSES $1" ;;
        *) echo "fuzz.sh: unknown harness $1 (have: $ALL)" >&2; exit 2 ;;
        esac
        ;;
    esac
    shift
done
[ -n "$HARNESSES" ] || HARNESSES=$ALL
if [ -z "$SECONDS_EACH" ]; then
    if [ "$CI" = 1 ]; then SECONDS_EACH=10; else SECONDS_EACH=60; fi
fi

CC_FUZZ=${CC_FUZZ:-clang}
if ! command -v "$CC_FUZZ" >/dev/null; then
    echo "fuzz.sh: $CC_FUZZ not found; libFuzzer needs clang (apt-get install clang libclang-rt-dev)" >&2
    exit 2
fi

# One run per build directory at a time: runs share its corpora and logs.
mkdir -p "$BUILD"
exec 9>"$BUILD/fuzz.lock"
if ! flock -n 9; then
    echo "== another fuzz.sh is using $BUILD; waiting for it"
    flock 9
fi

echo "== configuring $BUILD (clang, DK_FUZZING, DK_SANITIZE, DK_LIBFUZZER)"
cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER="$CC_FUZZ" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DDK_FUZZING=ON -DDK_SANITIZE=ON -DDK_LIBFUZZER=ON -DDK_INTEROP=OFF >"$BUILD/fuzz-configure.log" 2>&1 ||
    { cat "$BUILD/fuzz-configure.log"; exit 1; }
targets=""
for h in $HARNESSES; do targets="$targets fuzz_$h fuzz_replay_$h"; done
echo "== building:$targets"
# shellcheck disable=SC2086
cmake --build "$BUILD" -j"$(nproc 2>/dev/null || echo 2)" --target $targets >"$BUILD/fuzz-build.log" 2>&1 ||
    { tail -50 "$BUILD/fuzz-build.log"; exit 1; }

FUZZ_BIN="$BUILD/tests/fuzz"
WORK="$BUILD/fuzz-corpus"
ART="$BUILD/fuzz-artifacts"
LOGS="$BUILD/fuzz-logs"
mkdir -p "$WORK" "$ART" "$LOGS"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# The committed seeds of a harness: the endpoint's are server_nocookie's (the
# same input framing and server configuration).
corpus_of() {
    if [ "$1" = endpoint ]; then echo tests/fuzz/corpus/server_nocookie; else echo "tests/fuzz/corpus/$1"; fi
}

run_one() {
    local h=$1 maxlen=8192
    case "$ENGINES" in *" $h "*) maxlen=20000 ;; esac
    mkdir -p "$WORK/$h" "$ART/$h"
    rm -f "$ART/$h"/crash-* "$ART/$h"/leak-* "$ART/$h"/timeout-* "$ART/$h"/oom-* "$ART/$h"/slow-unit-*
    local seeds=() d
    for d in "$(corpus_of "$h")" "tests/fuzz/regress/$h"; do [ -d "$d" ] && seeds+=("$d"); done
    local rc=0
    "$FUZZ_BIN/fuzz_$h" -max_total_time="$SECONDS_EACH" -print_final_stats=1 -max_len="$maxlen" \
        -timeout=20 -rss_limit_mb=3072 -artifact_prefix="$ART/$h/" \
        "$WORK/$h" "${seeds[@]}" >"$LOGS/$h.log" 2>&1 || rc=$?
    echo "$rc" >"$LOGS/$h.rc"
    echo "   $h done (exit $rc)"
}

echo "== fuzzing ${SECONDS_EACH}s per harness, $JOBS at a time:$HARNESSES"
running=0
for h in $HARNESSES; do
    run_one "$h" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
        wait -n || true
        running=$((running - 1))
    fi
done
wait || true

# libFuzzer's last status line carries cov/ft/corp; its final stats the counts.
stat_of() { grep -a -o "^stat::$2: *[0-9]*" "$LOGS/$1.log" | tail -1 | awk '{print $2}'; }
field_of() { grep -a -E '#[0-9]+.*(cov|ft):' "$LOGS/$1.log" | tail -1 | grep -o "$2: [0-9]*" | awk '{print $2}'; }

status=0
printf '\n%-16s %12s %8s %8s %8s %10s %8s\n' harness executions exec/s cov ft corpus crashes
for h in $HARNESSES; do
    execs=$(stat_of "$h" number_of_executed_units)
    eps=$(stat_of "$h" average_exec_per_sec)
    cov=$(field_of "$h" cov)
    ft=$(field_of "$h" ft)
    corpus=$(find "$WORK/$h" -type f | wc -l)
    crashes=$(find "$ART/$h" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    rc=$(cat "$LOGS/$h.rc")
    if [ "$rc" != 0 ] && [ "$crashes" = 0 ]; then crashes="exit$rc"; fi
    printf '%-16s %12s %8s %8s %8s %10s %8s\n' "$h" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" \
        "$corpus" "$crashes"
    [ "$crashes" = 0 ] || status=1
done

for h in $HARNESSES; do
    for f in $(find "$ART/$h" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \)); do
        echo
        echo "== $h: $(basename "$f") (log: $LOGS/$h.log)"
        grep -a -E "ERROR: |runtime error|invariant violated|SUMMARY" "$LOGS/$h.log" | head -5 || true
        if [ "$SAVE" = 1 ]; then
            dest="tests/fuzz/regress/$h/regress-$(sha1sum "$f" | cut -c1-16)"
            cp "$f" "$dest"
            echo "   saved as $dest (CTest replays it: fuzz.replay.$h); reproduce: $FUZZ_BIN/fuzz_replay_$h $dest"
        else
            echo "   reproduce: $FUZZ_BIN/fuzz_$h $f"
        fi
    done
done

for h in $HARNESSES; do
    case "$ENGINES" in *" $h "*) ;; *) continue ;; esac
    echo
    echo "== $h: transition-table rows reached by its corpus"
    if "$FUZZ_BIN/fuzz_replay_$h" --rows "$WORK/$h" "$(corpus_of "$h")" >"$LOGS/$h.rows" 2>&1; then
        grep -a -E "rows reached|not reached|replayed" "$LOGS/$h.rows" || true
    else
        echo "   replay failed (see $LOGS/$h.rows):"
        grep -a -E "ERROR: |runtime error|invariant violated" "$LOGS/$h.rows" | head -3 || true
    fi
done
exit $status
