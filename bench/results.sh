#!/usr/bin/env bash
# Runs the configurations of docs/performance.md's results table, each RUNS times (default 3)
# against a freshly started gateway pinned to CPU 0 (the bench on CPU 1), and prints the median
# and the spread (min-max) of the main figures.
# Usage: bench/results.sh WSGATE WSGATE_BENCH [RUNS]
# Environment:
#   SENDLIMIT=path   also run the sendlimit probe (cc -O2 -o sendlimit /work/shared/perf/sendlimit.c)
#                    once per round, in the same sitting
#   REDIS=1          also run the 3-instance configurations through a local redis-server
#   QUIET_PSI=N      before each run, wait (up to 300 s) until the CPU pressure of the last 10 s
#                    (/proc/pressure/cpu "some avg10") is below N%: on a shared machine, other
#                    processes preempt the gateway otherwise (the runs print how long each side
#                    waited for a CPU: server_runq_pct, client_runq_pct)
#   ONLY=regex       run only the configurations whose name matches
set -euo pipefail
wsgate=${1:?usage: results.sh WSGATE WSGATE_BENCH [RUNS]}
bench=${2:?usage: results.sh WSGATE WSGATE_BENCH [RUNS]}
runs=${3:-3}
port=18181
out=$(mktemp -d)
ulimit -n 20000 2>/dev/null || true

wait_quiet() {
    [[ -n ${QUIET_PSI:-} && -r /proc/pressure/cpu ]] || return 0
    for _ in $(seq 300); do
        local avg10
        avg10=$(sed -n 's/^some avg10=\([0-9.]*\).*/\1/p' /proc/pressure/cpu)
        awk -v a="$avg10" -v t="$QUIET_PSI" 'BEGIN { exit !(a < t) }' && return 0
        sleep 1
    done
    echo "results: CPU pressure stayed above ${QUIET_PSI}% for 300 s; running anyway" >&2
}

wait_ready() {
    for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$1/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "results: wsgate on port $1 did not become ready" >&2
    return 1
}

stop_process() {
    kill -TERM "$1" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

selected() { [[ -z ${ONLY:-} || $1 =~ $ONLY ]]; }

# The bench's thousands of clients come from 8 loopback addresses: no per-address limit.
gateway_flags=(--log.level warn --limits.max_connections_per_ip 0)
# Extra flags of the next measure (reset after it): e.g. channel rules with history.
extra_flags=()
# The bench's channels (bench-<run>-<i>) keeping 100 events each (docs/history.md).
history_rules='[{"pattern":"bench-*","subscribe":"anyone","history":{"size":100,"ttl_ms":60000}},{"pattern":"*","subscribe":"anyone"}]'

# measure NAME BENCH_FLAGS...: one run against a fresh gateway, one JSON line in $out/NAME.
measure() {
    local name=$1
    shift
    selected "$name" || return 0
    wait_quiet
    taskset -c 0 "$wsgate" --server.listen "127.0.0.1:$port" "${gateway_flags[@]}" \
        ${extra_flags[@]+"${extra_flags[@]}"} &
    local gateway=$!
    wait_ready $port
    taskset -c 1 "$bench" --ws "127.0.0.1:$port" --pid "$gateway" --json-only "$@" \
        | sed -n 's/^JSON //p' >>"$out/$name" || true
    stop_process $gateway
}

# measure_redis NAME INSTANCES BENCH_FLAGS...: INSTANCES instances on CPU 0 sharing a
# redis-server on CPU 1; subscribers spread over them, events published to the first.
measure_redis() {
    local name=$1 instances=$2
    shift 2
    selected "$name" || return 0
    wait_quiet
    local redis_port=16379
    taskset -c 1 redis-server --port $redis_port --save '' --appendonly no --loglevel warning \
        >/dev/null &
    local redis=$!
    sleep 0.3
    local pids=() ws=() watch=() p
    for p in $(seq $port $((port + instances - 1))); do
        taskset -c 0 "$wsgate" --server.listen "127.0.0.1:$p" "${gateway_flags[@]}" \
            --redis.url "redis://127.0.0.1:$redis_port" ${extra_flags[@]+"${extra_flags[@]}"} &
        pids+=($!)
        ws+=(--ws "127.0.0.1:$p")
        watch+=(--pid $!)
    done
    for p in $(seq $port $((port + instances - 1))); do wait_ready "$p"; done
    taskset -c 1 "$bench" "${ws[@]}" --api "127.0.0.1:$port" "${watch[@]}" --json-only "$@" \
        | sed -n 's/^JSON //p' >>"$out/$name" || true
    for p in "${pids[@]}"; do stop_process "$p"; done
    stop_process $redis
}

sendlimit() {
    [[ -n ${SENDLIMIT:-} ]] || return 0
    wait_quiet
    # "n=1000 msgs=1000 size=100 batch=1: 167593 msgs/s delivered, ..." -> one JSON line
    "$SENDLIMIT" "$@" |
        awk '{ printf "{\"ok\":true,\"sendlimit_msgs_per_s\":%s,\"sendlimit_us_per_msg\":%s}\n", $5, $8 }' \
        >>"$out/sendlimit_$1x$2x$3_batch$4"
}

for _ in $(seq "$runs"); do
    sendlimit 1000 1000 100 1
    sendlimit 10000 200 100 1
    sendlimit 1000 1000 100 50
    measure fanout_1k_single --subscribers 1000 --events 1000
    extra_flags=(--channels "$history_rules")
    measure fanout_1k_single_history --subscribers 1000 --events 1000
    extra_flags=()
    measure fanout_1k_batch50 --subscribers 1000 --events 5000 --batch 50
    extra_flags=(--channels "$history_rules")
    measure fanout_1k_batch50_history --subscribers 1000 --events 5000 --batch 50
    extra_flags=()
    measure fanout_1k_pipelined --subscribers 1000 --events 5000 --inflight 8 --api-connections 2
    measure fanout_10k_single --subscribers 10000 --events 100
    # Events near the REST body limit: what parsing and passing data through costs.
    measure fanout_1mb_events --subscribers 1 --events 300 --size 1000000
    measure latency_1k_20ps --subscribers 1000 --events 100 --rate 20
    # 10,000 clients each recovering the 100 events their channel got while they were away.
    extra_flags=(--channels "$history_rules")
    measure recover_10k_100_events --mode recover --subscribers 10000 --channels 100 \
        --events 10000
    extra_flags=()
    measure idle_5k --mode idle --connections 5000
    measure idle_15k --mode idle --connections 15000
    if [[ -n ${REDIS:-} ]]; then
        measure_redis redis3_fanout_3k_single 3 --subscribers 3000 --events 500
        measure_redis redis3_latency_1k_20ps 3 --subscribers 1000 --events 100 --rate 20
        # History through Redis: the publish script against a plain PUBLISH.
        measure_redis redis1_fanout_1k_single 1 --subscribers 1000 --events 1000
        extra_flags=(--channels "$history_rules")
        measure_redis redis1_fanout_1k_single_history 1 --subscribers 1000 --events 1000
        extra_flags=()
        measure_redis redis1_batch50_10_subscribers 1 --subscribers 10 --events 100000 --batch 50
        extra_flags=(--channels "$history_rules")
        measure_redis redis1_batch50_10_subscribers_history 1 --subscribers 10 --events 100000 \
            --batch 50
        extra_flags=()
        measure_redis redis1_batch50_4conn_10_subscribers 1 --subscribers 10 --events 100000 \
            --batch 50 --api-connections 4
        extra_flags=(--channels "$history_rules")
        measure_redis redis1_batch50_4conn_10_subscribers_history 1 --subscribers 10 \
            --events 100000 --batch 50 --api-connections 4
        extra_flags=()
    fi
done

python3 - "$out" <<'PY'
import json, os, statistics, sys
fields = ["sendlimit_msgs_per_s", "sendlimit_us_per_msg", "deliveries_per_s", "events_per_s", "latency_p50_us",
          "latency_p99_us", "latency_p999_us", "latency_max_us", "server_cpu_us_per_delivery",
          "server_cpu_pct", "server_runq_pct", "client_cpu_pct", "client_runq_pct",
          "server_peak_rss_mib", "rss_per_connection_bytes", "connections_connected", "recover_seconds", "lost",
          "duplicated", "out_of_order"]
for name in sorted(os.listdir(sys.argv[1])):
    rows = [json.loads(line) for line in open(os.path.join(sys.argv[1], name)) if line.strip()]
    print(f"{name}: {len(rows)} runs, ok={[r['ok'] for r in rows]}")
    for f in fields:
        values = [r[f] for r in rows if f in r]
        if values:
            print(f"  {f}: median {statistics.median(values)} (min {min(values)}, "
                  f"max {max(values)}) runs {values}")
PY
rm -rf "$out"
