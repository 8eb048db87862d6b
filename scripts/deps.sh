#!/usr/bin/env bash
# Installs the Debian 12 packages dtlskit needs, only those missing. Idempotent:
# with everything present it changes nothing and needs no root.
# Usage: scripts/deps.sh [build|test|all]   (test and all are the same)
set -euo pipefail
what=${1:-all}
# build: compiler, CMake, libcrypto, cmocka (the unit tests are part of every build),
# GnuTLS (dtlskit-bench compares against it; bench.smoke is in CTest).
pkgs_build="build-essential cmake pkg-config libssl-dev libcmocka-dev libgnutls28-dev"
# test: the interop peers (openssl, gnutls-bin, Mbed TLS, wolfSSL), python3 for the
# interop and install drivers, unshare/ip for network namespaces, tshark for
# captures, clang + compiler-rt for fuzzing, valgrind.
pkgs_test="openssl gnutls-bin libmbedtls-dev libwolfssl-dev python3 tshark iproute2 util-linux
clang libclang-rt-14-dev valgrind"
case "$what" in
  build) want="$pkgs_build" ;;
  test|all) want="$pkgs_build $pkgs_test" ;;
  *) echo "usage: $0 [build|test|all]" >&2; exit 2 ;;
esac
missing=()
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run 'sudo scripts/deps.sh $what' (or install them) and retry" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark's wireshark-common asks whether non-root users may capture: answer no
# beforehand so that nothing waits for a terminal.
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
echo "deps: done" >&2
