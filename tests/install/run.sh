#!/usr/bin/env bash
# CTest install.consumer: install the build into a temporary prefix, check the
# installed files, then build and run tests/install/consumer.c through
# pkg-config (shared and static) and through find_package(dtlskit).
# Usage: run.sh BUILD_DIR CONSUMER_SRC_DIR HAVE_CLI(0|1)
# Environment: CC, DK_CONSUMER_CFLAGS (e.g. sanitizer flags of the build).
set -euo pipefail
build=$1 src=$2 have_cli=$3
cc=${CC:-cc}
extra=${DK_CONSUMER_CFLAGS:-}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix"

fail() { echo "install.consumer: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "cmake --install $build --prefix $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || {
  cat "$tmp/install.log"; fail "cmake --install failed"; }

pc=$(find "$prefix" -name dtlskit.pc -path '*/pkgconfig/*' | head -n1)
[ -n "$pc" ] || fail "no dtlskit.pc installed"
libdir=$(dirname "$(dirname "$pc")")
for f in "$prefix/include/dtlskit/dtlskit.h" "$libdir/libdtlskit.a" "$libdir/libdtlskit.so" \
         "$libdir/cmake/dtlskit/dtlskitConfig.cmake" \
         "$libdir/cmake/dtlskit/dtlskitConfigVersion.cmake"; do
  [ -e "$f" ] || fail "missing $f"
done
if [ "$have_cli" = 1 ]; then
  [ -x "$prefix/bin/dtlskit" ] || fail "missing $prefix/bin/dtlskit"
fi

step "pkg-config"
export PKG_CONFIG_PATH="$(dirname "$pc")"
pkg-config --exists dtlskit || fail "pkg-config does not find dtlskit"
cflags=$(pkg-config --cflags dtlskit)
libs=$(pkg-config --libs dtlskit)
static_libs=$(pkg-config --static --libs dtlskit)
echo "cflags: $cflags"; echo "libs: $libs"; echo "static libs: $static_libs"
case " $static_libs " in *" -lcrypto "*) ;; *) fail "--static --libs lacks -lcrypto" ;; esac
# shellcheck disable=SC2086
"$cc" $extra "$src/consumer.c" -o "$tmp/pc_shared" $cflags $libs
LD_LIBRARY_PATH="$libdir" "$tmp/pc_shared"
# The static library by name, then what --static adds for its dependencies.
# shellcheck disable=SC2086
"$cc" $extra "$src/consumer.c" -o "$tmp/pc_static" $cflags "$libdir/libdtlskit.a" \
  ${static_libs//-ldtlskit/}
"$tmp/pc_static"

step "find_package(dtlskit)"
cmake -S "$src" -B "$tmp/consumer" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_C_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >"$tmp/consumer.log" 2>&1 || {
  cat "$tmp/consumer.log"; fail "configuring the find_package consumer failed"; }
cmake --build "$tmp/consumer" >>"$tmp/consumer.log" 2>&1 || {
  cat "$tmp/consumer.log"; fail "building the find_package consumer failed"; }
"$tmp/consumer/consumer_shared"
"$tmp/consumer/consumer_static"
echo "install.consumer: ok"
