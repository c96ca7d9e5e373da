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

# The backlog: N executions, each a one-item flow of its own profile.
mkdir -p "$T/flows"
for i in $(seq 1 "$N"); do
  printf '{"app":"bench","profile":"p%d","flow":"f","items":[{"id":"a","type":"sleep","params":{"steps":1,"step_ms":0,"marker":"%s/b%d.done"}}]}\n' "$i" "$WORLD" "$i" >"$T/flows/$i.json"
done
seq 1 "$N" | xargs -P 2 -I{} "$PEACE" run "$T/flows/{}.json" --detach --cmd discover >/dev/null ||
  fatal "submitting failed"
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
