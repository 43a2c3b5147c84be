#!/usr/bin/env bash
# Builds wsgate with its tests and runs the whole suite under ctest.
#   scripts/test.sh             release build (warnings are errors)
#   scripts/test.sh --sanitize  AddressSanitizer + UndefinedBehaviorSanitizer build
# Extra arguments after the mode go to ctest (e.g. -L unit, -R delivery).
set -euo pipefail
cd "$(dirname "$0")/.."

dir=build-test
flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_WERROR=ON -DWSGATE_BUILD_TESTS=ON)
if [ "${1:-}" = "--sanitize" ]; then
  shift
  dir=build-asan
  flags=(-DCMAKE_BUILD_TYPE=Debug -DWSGATE_WERROR=ON -DWSGATE_BUILD_TESTS=ON -DWSGATE_SANITIZE=ON)
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi

scripts/deps.sh --test
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j"$(nproc)"
cd "$dir"
ctest --output-on-failure --timeout 300 "$@"
