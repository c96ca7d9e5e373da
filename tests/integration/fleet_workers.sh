#!/usr/bin/env bash
# Workers' own heartbeats and metrics (docs/fleet.md, docs/metrics.md), with a
# short lease (1200 ms: a beat every 400 ms lives 1200 ms) so nothing waits
# for long:
#  1. three idle workers: the scheduler's peace_workers_live is 3 and stays 3
#     over many leases of idleness (it used to decay: XINFO idle is the time
#     since the last delivery); each heartbeat hash says host, pid, version,
#     running, concurrency, and expires after a lease;
#  2. both /metrics endpoints pass `promtool check metrics`; after a run the
#     worker counters count it, and no counter ever went down;
#  3. kill -9 of a worker: workers_live drops to 2 within a lease; a clean
#     stop (SIGTERM): it drops at once;
#  4. bad --metrics-listen values are refused at start, naming the flag.
PEACE=${1:?usage: fleet_workers.sh PEACE WORKER SCHEDULER}
WORKER=${2:?}
SCHED=$(realpath "${3:?}")
. "$(dirname "$0")/lib.sh"
command -v promtool >/dev/null || fatal "promtool is not installed (Debian package prometheus)"
LEASE=1200

# 4. Refusals, no Redis needed.
"$WORKER" --redis redis://127.0.0.1:1 --metrics-listen nonsense >"$T/bad1.out" 2>&1
check "--metrics-listen without a port is refused" grep -q -- '--metrics-listen nonsense: expected HOST:PORT' "$T/bad1.out"
"$WORKER" --redis redis://127.0.0.1:1 --metrics-listen 127.0.0.1:99999 >"$T/bad2.out" 2>&1
check "a port beyond 65535 is refused" grep -q 'expected HOST:PORT' "$T/bad2.out"
"$WORKER" --redis redis://127.0.0.1:1 --metrics-listen 192.0.2.1:0 >"$T/bad3.out" 2>&1
check "an address it cannot bind is refused" grep -q 'cannot listen there' "$T/bad3.out"

redis_start
TOKEN=workers-test-token
PEACE_TOKEN=$TOKEN "$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 >"$T/sched.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/sched.log" || fatal "no scheduler"
SPORT=$(grep -m1 'listening on' "$T/sched.log" | sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/')
sched_metrics() {
  curl -s --max-time 5 -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$SPORT/metrics"
}
live() { sched_metrics | sed -n 's/^peace_workers_live{queue="default"} //p'; }
live_is() { [ "$(live)" = "$1" ]; }

declare -A MPORT=()
start() { # NAME: a worker with a short lease and metrics on a free port
  worker_start "$1" --lease-ms "$LEASE" --metrics-listen 127.0.0.1:0 --concurrency 2
  wait_for 10 "worker $1's metrics endpoint" grep -q 'metrics_listening' "$T/$1.log" ||
    fatal "worker $1 has no metrics endpoint: $(cat "$T/$1.log")"
  MPORT[$1]=$(grep -m1 metrics_listening "$T/$1.log" | sed -E 's/.*addr=127\.0\.0\.1:([0-9]+).*/\1/')
}
wmetrics() { curl -s --max-time 5 "http://127.0.0.1:${MPORT[$1]}/metrics"; }
for w in w1 w2 w3; do start $w; done

# ---- 1. an idle fleet ------------------------------------------------------------
check "workers_live reaches 3" wait_for 10 "3 live workers" live_is 3
samples=0
steady=0
deadline=$(($(now_ms) + 5 * LEASE))
while [ "$(now_ms)" -lt "$deadline" ]; do
  samples=$((samples + 1))
  [ "$(live)" = 3 ] && steady=$((steady + 1))
  sleep 0.2
done
check "idle for 5 leases, every sample says 3 ($steady of $samples)" test "$steady" -eq "$samples" -a "$samples" -ge 10
key="peace:worker:{$(worker_consumer w1 | tr -d '\r')}"
check "w1's heartbeat has its pid" test "$(rcli HGET "$key" pid)" = "${WORKER_PID[w1]}"
check "the heartbeat has host, version, running and concurrency" \
  eval "[ -n \"\$(rcli HGET '$key' host)\" ] && [ -n \"\$(rcli HGET '$key' version)\" ] &&
        [ \"\$(rcli HGET '$key' running)\" = 0 ] && [ \"\$(rcli HGET '$key' concurrency)\" = 2 ]"
ttl=$(rcli PTTL "$key")
check "the heartbeat expires within a lease (pttl $ttl)" test "$ttl" -gt 0 -a "$ttl" -le "$LEASE"
check "the live set names the three workers" test "$(rcli ZCARD 'peace:workers:{default}')" = 3

# ---- 2. metrics ---------------------------------------------------------------------
wmetrics w1 >"$T/w1.before"
check "a worker's /metrics passes promtool check metrics" promtool check metrics <"$T/w1.before"
sched_metrics >"$T/sched.prom"
check "the scheduler's /metrics passes promtool check metrics" promtool check metrics <"$T/sched.prom"
check "a worker reports its build" grep -q '^peace_build_info{program="peace-worker",version="' "$T/w1.before"
check "a worker reports its concurrency" grep -qx 'peace_worker_concurrency 2' "$T/w1.before"
check "and process metrics" grep -q '^process_resident_memory_bytes [1-9]' "$T/w1.before"
for w in w1 w2 w3; do wmetrics $w; done >"$T/all.before"
sleep_flow "$T/flow.json" demo local sleepers 2 50 2
"$PEACE" run "$T/flow.json" --cmd discover --no-progress >"$T/run.out" 2>&1
check "a run completes" grep -q 'outcome: complete' "$T/run.out"
for w in w1 w2 w3; do wmetrics $w; done >"$T/all.after"
sum() { # FILE SERIES: the sum of that series over the workers
  awk -v s="$2" 'index($0, s " ") == 1 { t += $NF } END { print t + 0 }' "$1"
}
check "executions started counts the run" \
  test "$(sum "$T/all.after" 'peace_worker_executions_started_total{cmd="discover"}')" = 1
check "executions finished counts it by outcome" \
  test "$(sum "$T/all.after" 'peace_worker_executions_finished_total{cmd="discover",outcome="complete"}')" = 1
# Counters only grow: every *_total sample after >= before.
grew() {
  local name before after
  while read -r name before; do
    after=$(sum "$T/all.after" "$name")
    awk -v a="$after" -v b="$before" 'BEGIN { exit !(a >= b) }' || { echo "# $name went $before -> $after"; return 1; }
  done < <(awk '/^[a-z_]+_total[{ ]/ { sub(/ [^ ]*$/, "", $0); print }' "$T/all.before" | sort -u |
    while read -r s; do echo "$s $(sum "$T/all.before" "$s")"; done)
}
check "no counter went down across the run" grew

# ---- 3. a worker dies, another stops ------------------------------------------------
kill -KILL "${WORKER_PID[w2]}"
t0=$(now_ms)
wait_for 10 "workers_live to drop to 2" live_is 2
took=$(($(now_ms) - t0))
check "after kill -9, workers_live drops to 2 within a lease (+ scrape slack): ${took} ms" \
  test "$took" -le $((LEASE + 600))
worker_stop w3
check "a worker stopped cleanly leaves at once" live_is 1
check "its heartbeat is gone" test "$(rcli EXISTS "peace:worker:{$(grep -o 'consumer=[^ ]*' "$T/w3.log" | head -n1 | cut -d= -f2)}")" = 0
finish
