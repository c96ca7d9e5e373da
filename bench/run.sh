#!/usr/bin/env bash
# bench/run.sh - every benchmark figure of the fleet, and its ratio to BullMQ,
# in one command (docs/BENCHMARKS.md explains each figure).
#
#   bench/run.sh               full run: builds a Release tree, starts its own
#                              redis-server, peace-scheduler and workers on
#                              127.0.0.1, runs every scenario, then the BullMQ
#                              scenarios of ../shared/bench-peers against the
#                              same redis-server, and prints `ratio` lines
#   QUICK=1 bench/run.sh       the same with tiny sizes (a smoke run, ~20 s)
#
# Options: --quick (= QUICK=1), --no-peers (= PEERS=0), --build-dir DIR (use
# an existing build tree, do not configure or build), --out FILE (also write
# the figures there). Environment: BUILD_DIR (default build-bench), JOBS
# (default 2), BENCH_PEERS_DIR (the peer kit, default ../shared/bench-peers
# next to the repository), BENCH_PEERS_WORK (where its npm packages are
# installed, default BUILD_DIR/bench-peers).
#
# Output: one line per figure, `bench=NAME key=value ...` (ours),
# `peer=bullmq ... bench=NAME ...` (theirs), `ratio figure=... ours=...
# theirs=... ours_over_theirs=... better=higher|lower`, and `#` comments
# (machine, versions). The exit status is non-zero when a scenario failed or
# an expected figure is missing; nothing else is checked (figures depend on
# the machine and are never asserted).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
QUICK=${QUICK:-0}
PEERS=${PEERS:-1}
JOBS=${JOBS:-2}
build_dir=${BUILD_DIR:-$root/build-bench}
prebuilt=0
out_file=

while [ $# -gt 0 ]; do
  case "$1" in
  --quick | --smoke) QUICK=1 ;;
  --no-peers) PEERS=0 ;;
  --build-dir) build_dir=$(realpath "$2"); prebuilt=1; shift ;;
  --out) out_file=$2; shift ;;
  -h | --help) sed -n '2,27p' "$0"; exit 0 ;;
  *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

q() { if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; } # q FULL QUICK

# ---- build ------------------------------------------------------------------
if [ "$prebuilt" = 0 ]; then
  echo "# building $build_dir (Release)" >&2
  cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release -DPEACE_WERROR=ON >/dev/null &&
    cmake --build "$build_dir" -j"$JOBS" --target peace-worker peace-scheduler peace-bench \
      bench_items bench_progress >/dev/null || { echo "run.sh: build failed" >&2; exit 1; }
fi
WORKER=$build_dir/worker/peace-worker
SCHED=$build_dir/scheduler/peace-scheduler
DRIVER=$build_dir/bench/peace-bench
PLUGIN=$build_dir/bench/bench_items.so
ENGINE=$build_dir/bench/bench_progress
for f in "$WORKER" "$DRIVER" "$PLUGIN" "$ENGINE"; do
  [ -x "$f" ] || [ -f "$f" ] || { echo "run.sh: missing $f" >&2; exit 1; }
done

# ---- private redis-server and peace-scheduler --------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/peace-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ -n "${KEEP:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
rcli() { redis-cli -p "$PORT" "$@"; }

PORT=
for _ in $(seq 1 20); do
  p=$((20000 + RANDOM % 12000))
  port_busy "$p" && continue
  redis-server --port "$p" --bind 127.0.0.1 --save '' --appendonly no --dir "$T" \
    --logfile "$T/redis.log" --daemonize no &
  rpid=$!
  for _ in $(seq 1 100); do
    [ "$(redis-cli -p "$p" PING 2>/dev/null)" = PONG ] && break
    kill -0 "$rpid" 2>/dev/null || break
    sleep 0.05
  done
  if [ "$(redis-cli -p "$p" PING 2>/dev/null)" = PONG ]; then
    PORT=$p
    PIDS+=("$rpid")
    break
  fi
  kill -KILL "$rpid" 2>/dev/null
done
[ -n "$PORT" ] || { echo "run.sh: cannot start redis-server" >&2; exit 1; }

SCHED_ADDR=
if [ -x "$SCHED" ]; then
  for _ in $(seq 1 10); do
    sp=$((20000 + RANDOM % 12000))
    port_busy "$sp" && continue
    "$SCHED" --listen "127.0.0.1:$sp" --no-auth --redis "redis://127.0.0.1:$PORT" --plugin "$PLUGIN" \
      >"$T/scheduler.log" 2>&1 &
    spid=$!
    for _ in $(seq 1 100); do
      port_busy "$sp" && break
      kill -0 "$spid" 2>/dev/null || break
      sleep 0.05
    done
    if port_busy "$sp"; then
      SCHED_ADDR=127.0.0.1:$sp
      PIDS+=("$spid")
      break
    fi
    kill -KILL "$spid" 2>/dev/null
  done
fi

# ---- header ---------------------------------------------------------------------
RESULTS=$T/results.txt
: >"$RESULTS"
emit() { echo "$*" | tee -a "$RESULTS"; }
emit "# peace fleet benchmarks $(date -u +%Y-%m-%dT%H:%M:%SZ) QUICK=$QUICK"
emit "# machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
emit "# redis $(redis-server --version | awk '{print $3}') on 127.0.0.1:$PORT (save='' appendonly=no); commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo ?)"

# ---- our scenarios -----------------------------------------------------------
failed=0
bench() { # bench SCENARIO [key=value...]
  local scenario=$1 out rc
  shift
  out=$("$DRIVER" "$scenario" --redis "127.0.0.1:$PORT" --worker "$WORKER" --plugin "$PLUGIN" \
    --dir "$T" ${SCHED_ADDR:+--sched "$SCHED_ADDR"} "$@" 2>>"$T/driver.log")
  rc=$?
  [ -n "$out" ] && emit "$out"
  if [ $rc -ne 0 ]; then
    emit "# FAILED: $scenario $* (rc=$rc; $(tail -n 3 "$T/driver.log" | tr '\n' ' '))"
    failed=$((failed + 1))
  fi
}

N1=$(q 20000 500)
bench throughput n="$N1" items=1 workers=1 concurrency=64
bench throughput n="$N1" items=1 workers=2 concurrency=64
bench latency n="$(q 500 30)"
if [ -n "$SCHED_ADDR" ]; then
  bench latency_http n="$(q 200 10)"
else
  emit "# latency_http skipped: peace-scheduler did not start (see $SCHED)"
fi
# A chain of 20 items of 0.5 ms, interrupted 1-6 ms after it started (the
# scaling section has a 150-item flow: every item not started yet becomes
# `interrupted`, and that write grows with the flow).
bench interrupt trials="$(q 50 5)" items=20 us=500 delay_min_ms=1 delay_max_ms=6
# Interrupt modes: `!cancel` of a running sh_cmd sleeping 600 s (PUBLISH ->
# its process gone, and -> the outcome written), and `!cancel 500` of one
# that ignores SIGTERM: the outcome comes at the deadline (the kill), shown
# as the time after it.
bench cancel trials="$(q 30 3)"
bench cancel trials="$(q 20 2)" deadline_ms=500
# `!cancel` of a running http_download (a 512 MiB body paced on loopback by
# the bench itself): PUBLISH -> the outcome written, no partial file left.
bench cancel_download trials="$(q 30 3)"
bench progress calls="$(q 200000000 20000000)"
bench recovery trials="$(q 3 1)" lease_ms="$(q 3000 1000)" items=10 us=20000
[ "$QUICK" = 1 ] || bench recovery trials=1 lease_ms=10000 items=10 us=20000 # the default lease
bench footprint n="$(q 2000 200)" items=10
# The same with the server's hash-max-listpack-value at 128: the meta hash's
# `report` (over 64 bytes) then no longer turns it into a hash table.
bench footprint n="$(q 2000 200)" items=10 listpack_value=128
bench rss n="$(q 256 32)" us="$(q 30000000 5000000)"
# The engine alone (no Redis): what the worker's progress path costs on top
# of an atomic add.
eng=$("$ENGINE" "$(q 200000000 20000000)" 1 50 2>>"$T/driver.log") && emit "$eng" ||
  { emit "# FAILED: bench_progress"; failed=$((failed + 1)); }

# Scaling: 10x and 100x executions, 10x and 100x items per execution.
bench throughput n="$(q 200 50)" items=1 workers=1 concurrency=64
bench throughput n="$(q 2000 100)" items=1 workers=1 concurrency=64
bench throughput n="$(q 2000 50)" items=10 workers=1 concurrency=64
bench throughput n="$(q 200 10)" items=100 workers=1 concurrency=64
bench interrupt trials="$(q 30 3)" items=150 us=200
bench footprint n="$(q 200 50)" items=10
bench footprint n="$(q 20000 1000)" items=10
bench footprint n="$(q 2000 200)" items=1
bench footprint n="$(q 200 50)" items=100

# ---- BullMQ, same redis-server, same run ---------------------------------------
peers_src=${BENCH_PEERS_DIR:-$root/../shared/bench-peers}
peers_work=${BENCH_PEERS_WORK:-$build_dir/bench-peers}
peer() { # peer ARGS...: one bench.mjs run, RESULT lines re-emitted as peer=bullmq ...
  local out
  rcli FLUSHALL >/dev/null
  out=$(cd "$peers_work" && BENCH_REDIS_PORT=$PORT timeout -k 10 150 node bullmq/bench.mjs "$@" \
    2>>"$T/peers.log" | sed -n 's/^RESULT //p')
  if [ -n "$out" ]; then emit "$out"; else emit "# FAILED: bullmq $* (see $T/peers.log)"; fi
}
if [ "$PEERS" = 1 ]; then
  if [ ! -f "$peers_src/bullmq/bench.mjs" ] || ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    emit "# peers skipped: no peer kit at $peers_src, or no node/npm"
  else
    mkdir -p "$peers_work"
    cp -r "$peers_src/bullmq" "$peers_src/package.json" "$peers_src/package-lock.json" "$peers_work/"
    chmod -R u+w "$peers_work"
    if [ ! -d "$peers_work/node_modules/bullmq" ]; then
      echo "# installing the peer kit's npm packages in $peers_work" >&2
      (cd "$peers_work" && npm install --no-audit --no-fund --loglevel=error >/dev/null 2>>"$T/peers.log")
    fi
    if [ -d "$peers_work/node_modules/bullmq" ]; then
      emit "# node $(node --version) bullmq $(cd "$peers_work" && node -p 'require("bullmq/package.json").version')"
      peer throughput jobs="$(q 20000 2000)" workers=1 concurrency=50
      peer throughput jobs="$(q 20000 2000)" workers=2 concurrency=50
      peer latency n="$(q 500 50)"
      peer cancel trials="$(q 50 5)"
      peer progress updates="$(q 10000 1000)" reps=3
      # Like for like: BullMQ jobs that record what a peace execution does
      # (bench/bullmq_like_for_like.mjs), and its no-op job in the same
      # harness, both with the Redis CPU of their processing.
      cp "$root/bench/bullmq_like_for_like.mjs" "$peers_work/"
      for mode in like noop; do
        for w in 1 2; do
          rcli FLUSHALL >/dev/null
          out=$(cd "$peers_work" && BENCH_REDIS_PORT=$PORT timeout -k 10 150 node bullmq_like_for_like.mjs \
            mode=$mode jobs="$(q 20000 2000)" workers=$w concurrency=50 2>>"$T/peers.log")
          if [ -n "$out" ]; then emit "$out"; else emit "# FAILED: bullmq like-for-like mode=$mode workers=$w"; fi
        done
      done
    else
      emit "# peers skipped: npm install failed (see $T/peers.log)"
    fi
  fi
fi

# ---- ratios (ours / theirs) -------------------------------------------------------
# value PATTERN KEY [max|min]: KEY of the lines matching PATTERN (best of them).
value() {
  awk -v pat="$1" -v key="$2" -v how="${3:-max}" '
    $0 ~ pat { for (i = 1; i <= NF; i++) { split($i, kv, "=");
      if (kv[1] == key && kv[2] ~ /^[0-9.]+$/) {
        v = kv[2] + 0; if (!seen || (how == "max" && v > best) || (how == "min" && v < best)) best = v; seen = 1 } } }
    END { if (seen) print best }' "$RESULTS"
}
ratio() { # ratio FIGURE OURS THEIRS BETTER
  [ -n "$2" ] && [ -n "$3" ] || return 0
  emit "$(awk -v f="$1" -v o="$2" -v t="$3" -v b="$4" 'BEGIN {
    printf "ratio figure=%s ours=%s theirs=%s ours_over_theirs=%.3f better=%s\n", f, o, t, (t > 0 ? o / t : 0), b }')"
}
if grep -q '^peer=bullmq' "$RESULTS"; then
  # The headline runs (N1 executions), not the scaling ones.
  ratio throughput_best "$(value "^bench=throughput executions=$N1 items=1 " executions_per_s)" \
    "$(value '^peer=bullmq.*bench=throughput(_noop)? ' jobs_per_s)" higher
  ratio throughput_1worker \
    "$(value "^bench=throughput executions=$N1 items=1 workers=1 " executions_per_s)" \
    "$(value '^peer=bullmq.*bench=throughput .*workers=1 ' jobs_per_s)" higher
  ratio throughput_2workers \
    "$(value "^bench=throughput executions=$N1 items=1 workers=2 " executions_per_s)" \
    "$(value '^peer=bullmq.*bench=throughput .*workers=2 ' jobs_per_s)" higher
  ratio throughput_like_for_like_best "$(value "^bench=throughput executions=$N1 items=1 " executions_per_s)" \
    "$(value '^peer=bullmq.*bench=throughput_like_for_like ' jobs_per_s)" higher
  ratio redis_cpu_us_per_execution_vs_noop_job \
    "$(value "^bench=throughput executions=$N1 items=1 workers=1 " redis_cpu_us_per_execution)" \
    "$(value '^peer=bullmq.*bench=throughput_noop .*workers=1 ' redis_cpu_us_per_job)" lower
  ratio redis_cpu_us_per_execution_vs_like_for_like_job \
    "$(value "^bench=throughput executions=$N1 items=1 workers=1 " redis_cpu_us_per_execution)" \
    "$(value '^peer=bullmq.*bench=throughput_like_for_like .*workers=1 ' redis_cpu_us_per_job)" lower
  ratio latency_p50_ms "$(value '^bench=latency ' p50_ms)" "$(value '^peer=bullmq.*bench=latency' p50_ms)" lower
  ratio latency_p99_ms "$(value '^bench=latency ' p99_ms)" "$(value '^peer=bullmq.*bench=latency' p99_ms)" lower
  ratio interrupt_latched_p99_ms "$(value '^bench=interrupt .*items=20 ' latched_p99_ms)" \
    "$(value '^peer=bullmq.*bench=cancel' stop_p99_ms)" lower
  ratio interrupt_outcome_p99_ms "$(value '^bench=interrupt .*items=20 ' outcome_p99_ms)" \
    "$(value '^peer=bullmq.*bench=cancel' terminal_p99_ms)" lower
  ratio progress_per_s "$(value '^bench=progress ' calls_per_s)" \
    "$(value '^peer=bullmq.*bench=progress' updates_per_s_median)" higher
  # The Redis-cost targets (docs/BENCHMARKS.md "Redis cost"): against
  # BullMQ's no-op job (the kit's throughput and the no-op harness, best).
  noop_w1=$(value '^peer=bullmq.*bench=throughput(_noop)? .*workers=1 ' jobs_per_s)
  noop_w2=$(value '^peer=bullmq.*bench=throughput(_noop)? .*workers=2 ' jobs_per_s)
  noop_cpu=$(value '^peer=bullmq.*bench=throughput_noop .*workers=1 ' redis_cpu_us_per_job)
  ratio throughput_1worker_vs_noop_best \
    "$(value "^bench=throughput executions=$N1 items=1 workers=1 " executions_per_s)" "$noop_w1" higher
  ratio throughput_2workers_vs_noop_best \
    "$(value "^bench=throughput executions=$N1 items=1 workers=2 " executions_per_s)" "$noop_w2" higher
  for it in 10 100; do
    ex=$(value "^bench=throughput executions=[0-9]+ items=$it workers=1 " redis_cpu_us_per_execution min)
    [ -n "$ex" ] && ratio "redis_cpu_us_per_item_${it}items_vs_noop_job" \
      "$(awk -v e="$ex" -v i="$it" 'BEGIN { printf "%.1f", e / i }')" "$noop_cpu" lower
  done
  ratio interrupt_outcome_p99_ms_150items "$(value '^bench=interrupt .*items=150 ' outcome_p99_ms)" \
    "$(value '^peer=bullmq.*bench=cancel' terminal_p99_ms)" lower
fi
# Targets with a fixed goal (the same figures, whether or not BullMQ ran):
# `target figure=F ours=X goal=G met=yes|no better=lower`.
target() { # target FIGURE OURS GOAL
  [ -n "$2" ] || return 0
  emit "$(awk -v f="$1" -v o="$2" -v g="$3" 'BEGIN {
    printf "target figure=%s ours=%s goal=%s met=%s better=lower\n", f, o, g, (o + 0 <= g + 0 ? "yes" : "no") }')"
}
target latency_p50_ms "$(value '^bench=latency ' p50_ms)" 0.5
target interrupt_outcome_p99_ms_150items "$(value '^bench=interrupt .*items=150 ' outcome_p99_ms)" 2
target footprint_bytes_per_execution_10items \
  "$(value "^bench=footprint items=10 executions=$(q 2000 200) .*hash_max_listpack_value=default " bytes_per_execution)" 2048

# ---- the check: every figure was printed ------------------------------------------------
for figure in throughput latency interrupt progress recovery footprint worker_rss progress_engine; do
  grep -q "^bench=$figure " "$RESULTS" || { emit "# MISSING: bench=$figure"; failed=$((failed + 1)); }
done
[ -n "$out_file" ] && cp "$RESULTS" "$out_file"
[ "$failed" -eq 0 ]
