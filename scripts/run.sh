#!/usr/bin/env bash
# Builds wsgate and runs it on its embedded default (in-process bus, no Redis).
# Extra arguments go to wsgate, e.g. scripts/run.sh --server.listen 127.0.0.1:9000
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DWSGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build-release --target wsgate -j"$(nproc)"
exec build-release/wsgate --config config/wsgate.json "$@"
