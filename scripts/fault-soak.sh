#!/usr/bin/env bash
# The no-silent-loss fault scenarios (tests/e2e/no_silent_loss_test.cpp) at full length: three
# instances behind HAProxy on one Redis, 300 subscribers, 500 events/s, 10 s of publishing
# before and after each fault, every event accounted for per subscriber. CI runs the same
# scenarios short (30 subscribers, 200 events/s, 1.5 s).
#   scripts/fault-soak.sh                  every scenario
#   scripts/fault-soak.sh '*frozen*'       those whose name matches (a gtest filter)
# Environment: WSGATE_FAULT_CLIENTS, WSGATE_FAULT_RATE, WSGATE_FAULT_SECONDS override the sizes.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --test
cmake -S . -B build-test -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWSGATE_WERROR=ON \
  -DWSGATE_BUILD_TESTS=ON >/dev/null
cmake --build build-test --target wsgate wsgate_e2e_tests -j"$(nproc)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
export WSGATE_FAULT_CLIENTS=${WSGATE_FAULT_CLIENTS:-300}
export WSGATE_FAULT_RATE=${WSGATE_FAULT_RATE:-500}
export WSGATE_FAULT_SECONDS=${WSGATE_FAULT_SECONDS:-10}
exec build-test/tests/wsgate_e2e_tests --gtest_filter="e2e_no_silent_loss.${1:-*}"
