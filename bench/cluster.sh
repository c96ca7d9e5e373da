#!/usr/bin/env bash
# bench/cluster.sh - the fleet on a 3-master Redis Cluster and on one
# redis-server, in the same run: a backlog of N one-item executions (each its
# own profile, so its own slots) drained by two workers.
#
#   bench/cluster.sh [--build-dir DIR] [N]      (default build, N=2000)
#
# Output, one line per figure:
#   bench=fleet_backend backend=standalone|cluster execs=N execs_per_s=...
#     redis_cpu_us_per_exec=... (all servers together)
#   bench=fleet_op backend=... cmd=NAME calls_per_exec=... usec_per_call=...
#     us_per_exec=... (INFO commandstats of every server: what each
#     operation costs inside Redis, per execution)
#   bench=fleet_shard backend=cluster shard=PORT cpu_us_per_exec=...
#     cmd_share=... queue_cmd_share=... (this master's share of every command,
#     and of the queue stream's commands)
#   bench=fleet_layout backend=cluster queue=Q partitions=6 shard=PORT
#     partitions_here=K (where the six streams {Q:0..5} live; for `default`
#     and for `bench`, the queue of the hot-shard run)
#   bench=fleet_hot_shard backend=cluster queue=bench partitions=6 shard=PORT
#     partitions_here=K queue_cmd_share=... cmd_share=... cpu_us_per_exec=...
#     (the same backlog through one queue of 6 partitions: each master's
#     share of the queue stream commands, of every command, its CPU)
#   bench=fleet_hot_shard_check ... execs_per_s=... redis_cpu_us_per_exec=...
#     redis_calls_per_exec=... queue_calls_per_exec=... busiest_share=...
#     max_dev_from_even_pct=... within_25pct=yes|no
#   bench=fleet_running backend=... running=K redis_cpu_us_per_running_s=...
#     (K executions running at once, each one sleep item reporting progress
#     every 100 ms: Redis CPU per running execution per second, renewals and
#     live progress included)
# The servers and workers run on this machine (loopback), next to the
# submitting CLI processes: figures are for comparing the two backends in one
# run, not absolute capacity (docs/capacity.md).
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=$root/build
while [ $# -gt 0 ]; do
  case "$1" in
  --build-dir) build=$(realpath "$2"); shift ;;
  -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
  *) break ;;
  esac
  shift
done
N=${1:-2000}

if [ -z "${BENCH_BACKEND:-}" ]; then
  rc=0
  for b in standalone cluster; do
    BENCH_BACKEND=$b "$0" --build-dir "$build" "$N" || rc=1
  done
  exit $rc
fi

PEACE=$build/scheduler/peace
WORKER=$build/worker/peace-worker
BACKLOG=$build/bench/peace-backlog
export PEACE_TEST_BACKEND=$BENCH_BACKEND
. "$root/tests/integration/lib.sh"

redis_start
if [ "$BENCH_BACKEND" = cluster ]; then
  servers=($(cluster_masters))
else
  servers=("$REDIS_PORT")
fi
stat() { "$REAL_REDIS_CLI" -p "$1" "${@:2}" 2>/dev/null || redis-cli -p "$1" "${@:2}"; }
REAL_REDIS_CLI=${REAL_REDIS_CLI:-$(command -v redis-cli)}
cpu_s() { stat "$1" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.6f", s }'; }
calls() { # PORT [REGEX]: calls of the commands matching REGEX (all by default)
  stat "$1" INFO commandstats | tr -d '\r' |
    awk -F'[:=,]' -v re="${2:-.}" '/^cmdstat_/ { c = substr($1, 9); if (c ~ re) s += $3 } END { print s + 0 }'
}

# The backlog: N executions, each a one-item flow of its own profile, queued
# through the one submit on one pipelined connection (bench/backlog.c).
mkdir -p "$T/flows"
"$BACKLOG" --redis "$PEACE_REDIS_URL" --marker-dir "$WORLD" "$N" >/dev/null || fatal "submitting failed"
queue_len() { rcli XLEN 'peace:queue:{default}'; }
check "the backlog is queued" test "$(queue_len)" = "$N"

declare -A cpu0=()
for p in "${servers[@]}"; do
  stat "$p" CONFIG RESETSTAT >/dev/null
  cpu0[$p]=$(cpu_s "$p")
done
t0=$(now_ms)
worker_start w1 --concurrency 32
worker_start w2 --concurrency 32
drained() { [ "$(queue_len)" = 0 ]; }
wait_for 600 "the backlog to drain" drained || fatal "the backlog did not drain"
t1=$(now_ms)
check "no execution was rejected" test "$(rcli XLEN peace:dead)" = 0

total_cpu=0
total_calls=0
total_q=0
declare -A cpu_d=() calls_n=() q_n=()
for p in "${servers[@]}"; do
  cpu_d[$p]=$(awk -v a="$(cpu_s "$p")" -v b="${cpu0[$p]}" 'BEGIN { printf "%.6f", a - b }')
  calls_n[$p]=$(calls "$p")
  q_n[$p]=$(calls "$p" '^(xreadgroup|xack|xdel|xclaim|xautoclaim)$')
  total_cpu=$(awk -v a="$total_cpu" -v b="${cpu_d[$p]}" 'BEGIN { printf "%.6f", a + b }')
  total_calls=$((total_calls + calls_n[$p]))
  total_q=$((total_q + q_n[$p]))
done
echo "bench=fleet_backend backend=$BENCH_BACKEND execs=$N execs_per_s=$(awk -v n="$N" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }') redis_cpu_us_per_exec=$(awk -v c="$total_cpu" -v n="$N" 'BEGIN { printf "%.1f", c * 1e6 / n }') redis_calls_per_exec=$(awk -v c="$total_calls" -v n="$N" 'BEGIN { printf "%.1f", c / n }')"
for p in "${servers[@]}"; do stat "$p" INFO commandstats; done | tr -d '\r' |
  awk -F'[:=,]' -v n="$N" -v b="$BENCH_BACKEND" '/^cmdstat_/ { c = substr($1, 9); calls[c] += $3; usec[c] += $5 }
    END { for (c in calls) if (calls[c] >= n / 10)
      printf "bench=fleet_op backend=%s cmd=%s calls_per_exec=%.2f usec_per_call=%.2f us_per_exec=%.2f\n",
        b, c, calls[c] / n, usec[c] / calls[c], usec[c] / n }' | sort -t= -k6 -g -r
if [ "$BENCH_BACKEND" = cluster ]; then
  for p in "${servers[@]}"; do
    echo "bench=fleet_shard backend=cluster shard=$p cpu_us_per_exec=$(awk -v c="${cpu_d[$p]}" -v n="$N" 'BEGIN { printf "%.1f", c * 1e6 / n }') cmd_share=$(awk -v a="${calls_n[$p]}" -v t="$total_calls" 'BEGIN { printf "%.3f", a / t }') queue_cmd_share=$(awk -v a="${q_n[$p]}" -v t="$total_q" 'BEGIN { printf "%.3f", (t > 0 ? a / t : 0) }')"
  done
fi

# Hot shard: the same backlog through one queue of 6 partitions, {bench:0..5},
# which fall 2/2/2 on the slot ranges of `redis-cli --cluster create`
# ({default:0..5} fall 2/3/1: shown too). Each master's share of the queue
# stream commands must be within 25% of an even third.
if [ "$BENCH_BACKEND" = cluster ]; then
  HP=6
  for q in default bench; do
    declare -A here=()
    for i in $(seq 0 $((HP - 1))); do
      port=$(cluster_key_port "peace:queue:{$q:$i}")
      here[$port]=$((${here[$port]:-0} + 1))
    done
    for p in "${servers[@]}"; do
      echo "bench=fleet_layout backend=cluster queue=$q partitions=$HP shard=$p partitions_here=${here[$p]:-0}"
    done
    [ $q = bench ] && declare -A bench_here=() && for p in "${servers[@]}"; do bench_here[$p]=${here[$p]:-0}; done
    unset here
  done
  worker_stop w1
  worker_stop w2
  "$BACKLOG" --redis "$PEACE_REDIS_URL" --queue bench --partitions $HP --marker-dir "$WORLD" "$N" \
    >"$T/hot_backlog.txt" || fatal "submitting the partitioned backlog failed"
  for p in "${servers[@]}"; do
    stat "$p" CONFIG RESETSTAT >/dev/null
    cpu0[$p]=$(cpu_s "$p")
  done
  hot_len() {
    local i n=0
    for i in $(seq 0 $((HP - 1))); do n=$((n + $(rcli XLEN "peace:queue:{bench:$i}"))); done
    echo $n
  }
  check "the partitioned backlog is queued" test "$(hot_len)" = "$N"
  t0=$(now_ms)
  worker_start h1 --queue bench --partitions $HP --concurrency 32
  worker_start h2 --queue bench --partitions $HP --concurrency 32
  hot_drained() { [ "$(hot_len)" = 0 ]; }
  wait_for 600 "the partitioned backlog to drain" hot_drained || fatal "the partitioned backlog did not drain"
  t1=$(now_ms)
  check "no partitioned execution was rejected" test "$(rcli XLEN peace:dead)" = 0
  worker_stop h1
  worker_stop h2
  total_calls=0
  total_q=0
  for p in "${servers[@]}"; do
    cpu_d[$p]=$(awk -v a="$(cpu_s "$p")" -v b="${cpu0[$p]}" 'BEGIN { printf "%.6f", a - b }')
    calls_n[$p]=$(calls "$p")
    q_n[$p]=$(calls "$p" '^(xreadgroup|xack|xdel|xclaim|xautoclaim)$')
    total_calls=$((total_calls + calls_n[$p]))
    total_q=$((total_q + q_n[$p]))
  done
  worst=0
  busiest=0
  for p in "${servers[@]}"; do
    share=$(awk -v a="${q_n[$p]}" -v t="$total_q" 'BEGIN { printf "%.3f", (t > 0 ? a / t : 0) }')
    echo "bench=fleet_hot_shard backend=cluster queue=bench partitions=$HP shard=$p partitions_here=${bench_here[$p]} queue_cmd_share=$share cmd_share=$(awk -v a="${calls_n[$p]}" -v t="$total_calls" 'BEGIN { printf "%.3f", a / t }') cpu_us_per_exec=$(awk -v c="${cpu_d[$p]}" -v n="$N" 'BEGIN { printf "%.1f", c * 1e6 / n }')"
    worst=$(awk -v w="$worst" -v s="$share" -v k="${#servers[@]}" 'BEGIN { d = (s * k - 1) * 100; if (d < 0) d = -d; printf "%.1f", (d > w ? d : w) }')
    busiest=$(awk -v b="$busiest" -v s="$share" 'BEGIN { printf "%.3f", (s > b ? s : b) }')
  done
  hot_cpu=0
  for p in "${servers[@]}"; do hot_cpu=$(awk -v a="$hot_cpu" -v b="${cpu_d[$p]}" 'BEGIN { printf "%.6f", a + b }'); done
  echo "bench=fleet_hot_shard_check backend=cluster queue=bench partitions=$HP execs=$N execs_per_s=$(awk -v n="$N" -v ms=$((t1 - t0)) 'BEGIN { printf "%.0f", n * 1000 / ms }') redis_cpu_us_per_exec=$(awk -v c="$hot_cpu" -v n="$N" 'BEGIN { printf "%.1f", c * 1e6 / n }') redis_calls_per_exec=$(awk -v c="$total_calls" -v n="$N" 'BEGIN { printf "%.1f", c / n }') queue_calls_per_exec=$(awk -v c="$total_q" -v n="$N" 'BEGIN { printf "%.2f", c / n }') busiest_share=$busiest max_dev_from_even_pct=$worst within_25pct=$(awk -v w="$worst" 'BEGIN { print (w <= 25 ? "yes" : "no") }')"
  check "every master serves its share of the queue within 25% of even" \
    awk -v w="$worst" 'BEGIN { exit !(w <= 25) }'
fi

# Running at once: K executions of one 40 s sleep item (progress every 100
# ms), Redis CPU measured over 5 s once 90% of them run.
K=${BENCH_RUNNING:-60}
worker_stop w1
worker_stop w2
for i in $(seq 1 "$K"); do
  printf '{"app":"run","profile":"p%d","flow":"f","items":[{"id":"a","type":"sleep","params":{"steps":400,"step_ms":100,"marker":"%s/r%d.done"}}]}\n' "$i" "$WORLD" "$i" >"$T/flows/r$i.json"
done
seq 1 "$K" | xargs -P 2 -I{} "$PEACE" run "$T/flows/r{}.json" --detach --cmd discover >/dev/null
seq 1 "$K" | xargs -P 2 -I{} "$PEACE" run "$T/flows/r{}.json" --detach --cmd ensure >/dev/null
running_n() { # executions whose meta says running, on every server
  local n=0 p
  for p in "${servers[@]}"; do
    n=$((n + $(stat "$p" EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', 'peace:exec:*')) do if redis.call('TYPE', k).ok == 'hash' and redis.call('HGET', k, 'status') == 'running' then n = n + 1 end end return n" 0)))
  done
  echo $n
}
all_running() { [ "$(running_n)" -ge $((K * 9 / 10)) ]; }
worker_start r1 --concurrency $(((K + 1) / 2))
worker_start r2 --concurrency $(((K + 1) / 2))
wait_for 120 "$K executions to run at once" all_running || log "only $(running_n) of $K run at once"
k_now=$(running_n)
c0=0
for p in "${servers[@]}"; do c0=$(awk -v a="$c0" -v b="$(cpu_s "$p")" 'BEGIN { printf "%.6f", a + b }'); done
s0=$(now_ms)
sleep 5
c1=0
for p in "${servers[@]}"; do c1=$(awk -v a="$c1" -v b="$(cpu_s "$p")" 'BEGIN { printf "%.6f", a + b }'); done
s1=$(now_ms)
echo "bench=fleet_running backend=$BENCH_BACKEND running=$k_now redis_cpu_us_per_running_s=$(awk -v c=$(awk -v a="$c1" -v b="$c0" 'BEGIN { print a - b }') -v k="$k_now" -v ms=$((s1 - s0)) 'BEGIN { printf "%.1f", c * 1e6 / k / (ms / 1000) }')"
finish
