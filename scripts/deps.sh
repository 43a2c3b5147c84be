#!/usr/bin/env bash
# Installs the Debian 12 packages wsgate needs, when any is missing.
#   scripts/deps.sh          to build and run
#   scripts/deps.sh --test   also what the tests run: redis-server, haproxy, docker-compose
#   scripts/deps.sh --fuzz   also clang with libFuzzer and the sanitizer runtimes (scripts/fuzz.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libhiredis-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libssl-dev
  zlib1g-dev libsimdjson-dev
)
case "${1:-}" in
  --test) packages+=(libgtest-dev libgmock-dev redis-server redis-tools haproxy docker-compose
                     shellcheck) ;;
  # libclang-rt-14-dev holds libclang_rt.fuzzer and the ASan/UBSan runtimes; llvm-14 the symbolizer.
  --fuzz) packages+=(clang-14 libclang-rt-14-dev llvm-14) ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing: ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
