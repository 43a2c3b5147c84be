#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz with clang (ASan + UBSan), runs every seed corpus
# once as a regression test (ctest -L fuzz), then fuzzes each target for a fixed time over a
# copy of its seed corpus (the checked-in corpus never grows).
#   scripts/fuzz.sh [seconds-per-target] [target...]   targets: json protocol rest envelope config
# Fails when any input crashes, trips a sanitizer or a check, naming the target and the input.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-30}"
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(json protocol rest envelope config)

# Every target reads JSON: inputs up to 1 MiB, so that deep nesting and long values are reached.
declare -A max_len=([json]=1048576 [protocol]=1048576 [rest]=1048576 [envelope]=1048576
                    [config]=1048576)
# How each target's input starts before a JSON value (rest: its first byte picks the request,
# 4 % 4 == 0 is POST /api/v1/publish; bash strings cannot hold byte 0).
declare -A value_prefix=(
  [json]='{"d":'
  [protocol]='{"type":"publish","channel":"c","event":"e","data":'
  [rest]=$'\x04''{"channel":"c","event":"e","data":'
  [envelope]='{"v":1,"id":"a:1","origin":"a","kind":"channel","target":"c","event":"e","ts":1,"data":'
  [config]='{"channels":'
)

# Seeds too big to check in, made for each run: 200,000 levels of nesting (the request that
# once overflowed the stack), a 900 KB string, a 100,000-digit number.
repeat() { head -c "$2" /dev/zero | tr '\0' "$1"; }
make_big_seeds() {
  local dir=$1 prefix=$2
  { printf '%s' "$prefix"; repeat '[' 200000; repeat ']' 200000; printf '}'; } >"$dir/generated_deep"
  { printf '%s' "$prefix"; repeat '[' 100000; printf '1'; } >"$dir/generated_deep_unclosed"
  { printf '%s"' "$prefix"; repeat 'a' 900000; printf '"}'; } >"$dir/generated_long_string"
  { printf '%s-1' "$prefix"; repeat '0' 100000; printf '.5e+99999999}'; } >"$dir/generated_huge_number"
}

scripts/deps.sh --fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DWSGATE_FUZZ=ON -DWSGATE_BUILD_TESTS=OFF >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/%/_fuzz}"

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer-14)"
fi

# Every checked-in input, once: what was fixed stays fixed.
regex="^fuzz_corpus_($(IFS='|'; echo "${targets[*]}"))\$"
ctest --test-dir build-fuzz -L fuzz -R "$regex" --output-on-failure

work=build-fuzz/fuzz-run
rm -rf "$work"
failed=()
for t in "${targets[@]}"; do
  dir="$work/$t"
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp -R "tests/fuzz/corpus/$t/." "$dir/corpus/"
  make_big_seeds "$dir/corpus" "${value_prefix[$t]}"
  echo "fuzzing $t for ${seconds}s"
  if ! "build-fuzz/tests/fuzz/${t}_fuzz" "$dir/corpus" -max_total_time="$seconds" \
      -max_len="${max_len[$t]}" -timeout=10 -dict="tests/fuzz/$t.dict" \
      -artifact_prefix="$dir/crashes/" -print_final_stats=1 >"$dir/log" 2>&1; then
    failed+=("$t")
    echo "FUZZ FAILURE in $t; input(s):" >&2
    ls -1 "$dir"/crashes/* >&2 || true
    tail -n 60 "$dir/log" >&2
    echo "reproduce: build-fuzz/tests/fuzz/${t}_fuzz <input>; minimise: add -minimize_crash=1" >&2
  fi
  # The last status line (cov: edges, ft: features, corp: inputs) and the speed.
  grep -E '^#[0-9]+.* cov: ' "$dir/log" | tail -n 1 | sed "s/^/  $t: /" || true
  grep -E 'stat::(number_of_executed_units|average_exec_per_sec)' "$dir/log" | sed "s/^/  $t: /" || true
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found crashes in: ${failed[*]} (inputs under $work/<target>/crashes/)" >&2
  exit 1
fi
echo "fuzzing: no crashes in ${targets[*]} (${seconds}s each)"
