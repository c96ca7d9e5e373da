#!/usr/bin/env bash
# Builds the fuzz targets with libFuzzer (clang, -fsanitize=fuzzer,address,
# undefined) in their own build directory and runs each for SECONDS, one
# after the other:
#   tests/fuzz/run.sh SECONDS [TARGET...]     (default: every target)
# Each target starts from its seed corpus, tests/fuzz/corpus/<target>/ (read
# only), plus the inputs earlier runs found, kept in
# <build>/corpus/<target>/. A crash, leak, timeout or broken property leaves
# its input in <build>/artifacts/ and makes the script fail; add that input
# to the seed corpus once fixed, so every ctest run replays it.
#
# Prints one line per target: inputs executed, corpus size, crashes.
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (default 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
seconds=${1:?usage: tests/fuzz/run.sh SECONDS [TARGET...]}
shift
# (libFuzzer reads a time limit of 0 as "no limit")
case $seconds in
'' | *[!0-9]* | 0*)
  echo "fuzz: SECONDS must be a whole number from 1, got '$seconds'" >&2
  exit 2
  ;;
esac
dir=${FUZZ_BUILD_DIR:-build-fuzz}
jobs=${JOBS:-2}

command -v clang >/dev/null || {
  echo "fuzz: clang is needed (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
}
# Without -Werror: clang warns where gcc (the -Werror build) does not.
CC=clang cmake -S . -B "$dir" -DPEACE_FUZZ=ON -DBUILD_TESTING=OFF -DPEACE_WERROR=OFF >/dev/null
cmake --build "$dir" -j"$jobs" --target fuzz_targets >"$dir/build.log" 2>&1 || {
  cat "$dir/build.log"
  exit 1
}

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for d in tests/fuzz/corpus/*/; do
    targets+=("$(basename "$d")")
  done
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$dir/artifacts"
failed=()
for t in "${targets[@]}"; do
  bin=$dir/tests/fuzz/$t
  [ -x "$bin" ] || {
    echo "fuzz: no target $t" >&2
    exit 2
  }
  mkdir -p "$dir/corpus/$t"
  log=$dir/artifacts/$t.log
  rc=0
  # -timeout: one input running over 25 s is a hang; -max_len: larger
  # inputs than the defaults (4 KiB) so limits inside messages are reached.
  "$bin" -max_total_time="$seconds" -timeout=25 -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/$t-" "$dir/corpus/$t" "tests/fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)
  corpus=$(find "$dir/corpus/$t" -type f | wc -l)
  if [ "$rc" -ne 0 ]; then
    failed+=("$t")
    echo "fuzz: $t FAILED (exit $rc) after ${execs:-?} inputs; log: $log"
    grep -E 'ERROR|SUMMARY|fuzz property failed|Test unit written' "$log" | head -n 8 | sed 's/^/  /'
  else
    echo "fuzz: $t: ${execs:-?} inputs in ${seconds} s, corpus $corpus, 0 crashes"
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz: ${#failed[@]} of ${#targets[@]} targets failed: ${failed[*]}"
  exit 1
fi
echo "fuzz: ${#targets[@]} targets, no crash"
