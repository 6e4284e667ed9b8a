#!/usr/bin/env bash
# Fuzzes every reader of untrusted bytes under ASan + UBSan (libFuzzer, clang-14).
#
#   tools/fuzz.sh [--smoke] [--seconds N] [--runs N] [HARNESS...]
#
# Builds build-fuzz/ (the runtime, the tests that need no Halide compiler and one fuzzer per
# reader, see tests/fuzz/), then runs each harness on its committed seeds (tests/fuzz/corpus/NAME) plus
# what earlier runs found (build-fuzz/corpus/NAME) until N executions (--runs) or N seconds
# (--seconds, default 60), whichever comes first. --smoke (the test suite's check): the
# compiler-free tests (hostile_input_test, spec_test, formats_test, data_test) under the
# sanitizers, then 5 seconds per harness. Any sanitizer report,
# crash, leak, exception other than InputError, allocation over 1 GiB or input taking over
# 10 s stops the harness, saves the input under build-fuzz/findings/ and fails the script.
# Writes build-fuzz/summary.md: executions, coverage and seconds per harness.
# FERNN_FUZZ_BUILD names another build directory (default build-fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
bf="${FERNN_FUZZ_BUILD:-build-fuzz}"

seconds=60
runs=0
smoke=0
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) smoke=1; seconds=5 ;;
    --seconds) seconds="$2"; shift ;;
    --runs) runs="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1; allowed: --smoke, --seconds N, --runs N" >&2; exit 2 ;;
    *) harnesses+=("$1") ;;
  esac
  shift
done
all=(spec set npy safetensors idx manifest run_record resume metrics)
if [ ${#harnesses[@]} -eq 0 ]; then harnesses=("${all[@]}"); fi
for h in "${harnesses[@]}"; do
  if [ ! -f "tests/fuzz/${h}_fuzzer.cpp" ]; then
    echo "fuzz.sh: no harness \"$h\"; allowed: ${all[*]}" >&2
    exit 2
  fi
done

if ! command -v clang++-14 >/dev/null; then
  echo "fuzz.sh: needs clang-14 (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fsanitize=fuzzer-no-link"
flags+=" -fno-omit-frame-pointer -g -O1"
cmake -S . -B "$bf" -DFERNN_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="$flags" -DCMAKE_C_FLAGS="$flags" >/dev/null
cmake --build "$bf" -j "$(nproc)" >/dev/null

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if [ "$smoke" = 1 ]; then
  for t in hostile_input_test spec_test formats_test data_test; do
    "$bf/tests/fuzz/$t" --gtest_brief=1
  done
fi

mkdir -p "$bf/findings"
summary="$bf/summary.md"
{
  echo "| harness | executions | seconds | exec/s | coverage (edges) | features | corpus |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$summary"
failed=0
for h in "${harnesses[@]}"; do
  work="$bf/corpus/$h"
  mkdir -p "$work" "$bf/findings/$h"
  log="$bf/$h.log"
  # Line-based inputs (--set lines, metrics.jsonl) are fuzzed in 16 KB pieces: still deep
  # enough to pass the nesting limit, and 20x more executions than 256 KB inputs of tiny lines.
  case "$h" in
    set|metrics) max_len=16384 ;;
    *) max_len=262144 ;;
  esac
  # JSON readers share the spec/manifest/run dictionary; npy has its header's tokens.
  case "$h" in
    npy) dict=(-dict=tests/fuzz/dictionaries/npy.dict) ;;
    idx) dict=() ;;
    *) dict=(-dict=tests/fuzz/dictionaries/json.dict) ;;
  esac
  start=$(date +%s%N)
  set +e
  "$bf/tests/fuzz/${h}_fuzzer" "$work" "tests/fuzz/corpus/$h" "${dict[@]}" \
    -max_total_time="$seconds" -runs="$([ "$runs" -gt 0 ] && echo "$runs" || echo -1)" \
    -max_len="$max_len" -malloc_limit_mb=1024 -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="$bf/findings/$h/" >"$log" 2>&1
  rc=$?
  set -e
  elapsed=$(awk -v a="$start" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{print $2}' | tail -1)
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
  cov=$(echo "$done_line" | grep -o 'cov: [0-9]*' | awk '{print $2}')
  ft=$(echo "$done_line" | grep -o 'ft: [0-9]*' | awk '{print $2}')
  corp=$(echo "$done_line" | grep -o 'corp: [0-9]*' | awk '{print $2}')
  rate=$(awk -v e="${execs:-0}" -v s="$elapsed" 'BEGIN { printf "%.0f", (s > 0 ? e / s : 0) }')
  printf "| %s | %s | %.0f | %s | %s | %s | %s |\n" "$h" "${execs:-?}" "$elapsed" "$rate" \
    "${cov:-?}" "${ft:-?}" "${corp:-?}" >>"$summary"
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz.sh: $h FAILED (exit $rc); input saved under $bf/findings/$h/, log $log:" >&2
    grep -E "ERROR|SUMMARY|runtime error|terminate|what\(\)" "$log" | head -5 >&2
  else
    echo "fuzz.sh: $h: ${execs:-?} executions in ${elapsed%.*} s, coverage ${cov:-?} edges"
  fi
done
cat "$summary"
exit $failed
