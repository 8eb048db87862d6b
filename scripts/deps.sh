#!/usr/bin/env bash
# Installs the Debian packages dtlskit needs, only those missing. Idempotent.
# Usage: scripts/deps.sh [build|test|all]
set -euo pipefail
what=${1:-all}
pkgs_build="build-essential cmake pkg-config libssl-dev libcmocka-dev"
pkgs_test="openssl gnutls-bin libmbedtls-dev libwolfssl-dev tshark iproute2 util-linux clang libclang-rt-14-dev valgrind"
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
  echo "deps: missing packages: ${missing[*]} (run as root, or install them)" >&2
  exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
