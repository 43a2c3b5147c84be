#!/usr/bin/env bash
# Runs the configurations of docs/performance.md's results table, each RUNS times (default 3)
# against a freshly started gateway pinned to CPU 0 (the bench on CPU 1), and prints the median
# and the spread (min-max) of the main figures.
# Usage: bench/results.sh WSGATE WSGATE_BENCH [RUNS]
set -euo pipefail
wsgate=${1:?usage: results.sh WSGATE WSGATE_BENCH [RUNS]}
bench=${2:?usage: results.sh WSGATE WSGATE_BENCH [RUNS]}
runs=${3:-3}
port=18181
out=$(mktemp -d)

start_gateway() {
    taskset -c 0 "$wsgate" --server.listen "127.0.0.1:$port" --log.level warn &
    gateway=$!
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "results: wsgate did not start" >&2
    return 1
}

stop_gateway() {
    kill -TERM "$gateway" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$gateway" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gateway" 2>/dev/null || true
    wait "$gateway" 2>/dev/null || true
}

# measure NAME BENCH_FLAGS...: RUNS runs, one JSON line each in $out/NAME.
measure() {
    local name=$1
    shift
    for _ in $(seq "$runs"); do
        start_gateway
        taskset -c 1 "$bench" --ws "127.0.0.1:$port" --pid "$gateway" --json-only "$@" \
            | sed -n 's/^JSON //p' >>"$out/$name" || true
        stop_gateway
    done
}

measure fanout_1k_single --subscribers 1000 --events 500
measure fanout_1k_batch50 --subscribers 1000 --events 2500 --batch 50
measure fanout_10k_single --subscribers 10000 --events 50
measure latency_1k_20ps --subscribers 1000 --events 100 --rate 20
measure idle_5k --mode idle --connections 5000
measure idle_15k --mode idle --connections 15000

python3 - "$out" <<'PY'
import json, os, statistics, sys
fields = ["deliveries_per_s", "latency_p50_us", "latency_p99_us", "latency_p999_us",
          "latency_max_us", "server_cpu_us_per_delivery", "server_cpu_pct", "client_cpu_pct",
          "server_peak_rss_mib", "rss_per_connection_bytes", "connections_connected", "lost",
          "duplicated", "out_of_order"]
for name in sorted(os.listdir(sys.argv[1])):
    rows = [json.loads(line) for line in open(os.path.join(sys.argv[1], name))]
    print(f"{name}: {len(rows)} runs, ok={[r['ok'] for r in rows]}")
    for f in fields:
        values = [r[f] for r in rows if f in r]
        if values:
            print(f"  {f}: median {statistics.median(values)} (min {min(values)}, "
                  f"max {max(values)}) runs {values}")
PY
rm -rf "$out"
