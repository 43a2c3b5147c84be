#!/usr/bin/env bash
# Builds wsgate and wsgate-bench (Release) and benchmarks a freshly started gateway
# (docs/performance.md):
#   scripts/bench.sh            every configuration of the results table, 3 runs each, medians
#   scripts/bench.sh RUNS       the same with RUNS runs each
# Environment: REDIS=1 adds the three-instance runs through a local redis-server, ONLY=regex
# selects configurations, QUIET_PSI=N waits for a quiet machine before each run (see
# bench/results.sh). The gateway runs on CPU 0 and the bench on CPU 1; the sendlimit probe
# (the machine's one-send-per-message limit) runs in the same sitting when its source is found.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -n ${REDIS:-} ]]; then scripts/deps.sh --test; else scripts/deps.sh; fi
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target wsgate wsgate-bench -j"$(nproc)"

sendlimit_source=../shared/perf/sendlimit.c
if [[ -z ${SENDLIMIT:-} && -f $sendlimit_source ]]; then
    SENDLIMIT=build-release/sendlimit
    cc -O2 -o "$SENDLIMIT" "$sendlimit_source"
    export SENDLIMIT
fi
# Idle runs hold up to 15,000 connections; the gateway inherits this limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
exec bench/results.sh build-release/wsgate build-release/bench/wsgate-bench "${1:-3}"
