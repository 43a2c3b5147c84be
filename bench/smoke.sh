#!/usr/bin/env bash
# Smoke test of wsgate-bench: starts a gateway on a free loopback port (its bench-* channels
# keeping history), runs a short fan-out, a short recovery and a short idle benchmark against
# it, and stops it. No thresholds: only the bench's own checks
# (lost or duplicated events, failed connections) decide the exit status.
# Usage: smoke.sh WSGATE_BINARY WSGATE_BENCH_BINARY
set -euo pipefail
wsgate=${1:?usage: smoke.sh WSGATE WSGATE_BENCH}
bench=${2:?usage: smoke.sh WSGATE WSGATE_BENCH}

log=$(mktemp)
rules='[{"pattern":"bench-*","subscribe":"anyone","history":{"size":100,"ttl_ms":60000}}]'
"$wsgate" --server.listen 127.0.0.1:0 --log.level info --channels "$rules" 2>"$log" &
gateway=$!
stop_gateway() {
    kill -TERM "$gateway" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$gateway" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$gateway" 2>/dev/null || true
    rm -f "$log"
}
trap stop_gateway EXIT

address=
for _ in $(seq 100); do
    address=$(grep -o 'listening public=[0-9.]*:[0-9]*' "$log" | head -n1 | cut -d= -f2 || true)
    [[ -n $address ]] && break
    kill -0 "$gateway" 2>/dev/null || { cat "$log"; echo "smoke: wsgate exited" >&2; exit 1; }
    sleep 0.1
done
[[ -n $address ]] || { cat "$log"; echo "smoke: wsgate did not start listening" >&2; exit 1; }

"$bench" --mode fanout --subscribers 50 --events 200 --ws "$address" --pid "$gateway" --timeout 30
"$bench" --mode recover --subscribers 200 --channels 10 --events 500 --ws "$address" \
    --pid "$gateway" --timeout 30
"$bench" --mode idle --connections 200 --duration 1 --ws "$address" --pid "$gateway" --timeout 30
