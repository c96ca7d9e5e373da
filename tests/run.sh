#!/usr/bin/env bash
# The whole test suite, as CI runs it:
#   0. install the Debian packages that are missing (scripts/install-deps:
#      nothing to do on a machine that has them), so this works on a fresh
#      machine by itself;
#   1. configure build/ with -Werror, build, run every ctest test (unit,
#      integration, lint);
#   2. the unit, fuzz-replay and integration tests again in build-tsan/
#      under ThreadSanitizer: any race report (collected from every process
#      the tests start, in build-tsan/tsan-reports/) fails the suite, even
#      when the test that met it passed. A test that fails without a report
#      is re-run once (--repeat until-pass:2): TSan slows every process
#      5-15x and the integration tests have time limits;
#   3. the fuzz targets (tests/fuzz/run.sh, clang + libFuzzer, in
#      build-fuzz/), each run for FUZZ_SECONDS;
#   4. the same as 1 in build-asan/ under AddressSanitizer + UndefinedBehavior-
#      Sanitizer, leaks included.
# Exits non-zero on any failure; ends with ctest's summary. A suite that finds
# no test fails (--no-tests=error).
#
# Environment: JOBS (build parallelism, default 2), BUILD_DIR and
# ASAN_BUILD_DIR, TSAN_BUILD_DIR (default build, build-asan and build-tsan
# under the repository root),
# FUZZ_SECONDS (per fuzz target, default 5; 0 skips step 2).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=${JOBS:-2}
build_dir=${BUILD_DIR:-build}
asan_dir=${ASAN_BUILD_DIR:-build-asan}

suite() {
  local dir=$1
  shift
  echo "== tests/run.sh: $dir ${*:--DPEACE_WERROR=ON}"
  cmake -S . -B "$dir" -DPEACE_WERROR=ON "$@"
  cmake --build "$dir" -j"$jobs"
  ctest --test-dir "$dir" --output-on-failure --no-tests=error
}

scripts/install-deps
suite "$build_dir"

tsan_dir=${TSAN_BUILD_DIR:-build-tsan}
echo "== tests/run.sh: $tsan_dir -DPEACE_SANITIZE=thread (unit, fuzz replay, integration)"
cmake -S . -B "$tsan_dir" -DPEACE_WERROR=ON -DPEACE_SANITIZE=thread
cmake --build "$tsan_dir" -j"$jobs"
reports=$root/$tsan_dir/tsan-reports
rm -rf "$reports"
mkdir -p "$reports"
tsan_rc=0
PEACE_TSAN=1 TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$reports/tsan" \
  ctest --test-dir "$tsan_dir" --output-on-failure --no-tests=error \
  -L 'unit|integration|fuzz' -LE bench --repeat until-pass:2 || tsan_rc=$?
if compgen -G "$reports/tsan.*" >/dev/null; then
  cat "$reports"/tsan.*
  echo "tests/run.sh: ThreadSanitizer reported $(cat "$reports"/tsan.* | grep -c '^WARNING: ThreadSanitizer') problem(s) (above)"
  exit 1
fi
[ "$tsan_rc" -eq 0 ] || exit "$tsan_rc"

fuzz_seconds=${FUZZ_SECONDS:-5}
if [ "$fuzz_seconds" != 0 ]; then
  echo "== tests/run.sh: fuzz targets, $fuzz_seconds s each"
  tests/fuzz/run.sh "$fuzz_seconds"
fi

export ASAN_OPTIONS=detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
suite "$asan_dir" -DPEACE_SANITIZE=address,undefined
