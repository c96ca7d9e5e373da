#!/usr/bin/env bash
# One queue in P = 6 partitions (docs/fleet.md "Queue partitions"), on a
# standalone Redis and (PEACE_TEST_BACKEND=cluster) on 3 masters:
#  1. bad partition counts are refused by every program, with a reason;
#  2. a backlog submitted before any worker is spread over the six streams
#     {default:0..5} (the old single stream stays empty); on a cluster the
#     partitions' masters are shown and more than one serves the queue;
#  3. two workers, one with fewer slots than partitions (concurrency 2: the
#     partitions take turns), drain every partition: every execution
#     completes once, nothing is dead-lettered, every stream is empty;
#  4. kill -9 of a worker running executions of several partitions: another
#     takes each one over from its own partition (attempt 2) after the lease;
#  5. the scheduler with --partitions 6 (against redis:// or redis+cluster://):
#     a bad --partitions is refused; submissions through the API spread over
#     the partitions, /metrics counts the queue's length over all of them,
#     and a worker runs them to completion;
#  6. P = 1 is the old layout: a worker without --partitions runs a job
#     queued on peace:queue:{default} as before;
#  7. entry ids are per stream: two partitions holding the same entry id
#     both run at once, neither waits for a takeover.
PEACE=${1:?usage: fleet_partitions.sh PATH/TO/peace PATH/TO/peace-worker PATH/TO/peace-scheduler}
WORKER=${2:?}
SCHED=${3:?}
. "$(dirname "$0")/lib.sh"
LEASE=2000
P=6

redis_start

# 1. ---------------------------------------------------------------------------
sleep_flow "$T/one.json" pt one f 1 0 1
for bad in 0 65 x 1.5 -1 ''; do
  check "1: peace-worker --partitions '$bad' is refused" eval \
    "! timeout 10 '$WORKER' --redis '$PEACE_REDIS_URL' --partitions '$bad' >'$T/bad.out' 2>&1 && grep -q partitions '$T/bad.out'"
  check "1: peace run --partitions '$bad' is refused" eval \
    "! '$PEACE' run '$T/one.json' --detach --partitions '$bad' >'$T/bad.out' 2>&1 && grep -q partitions '$T/bad.out'"
done
check "1: PEACE_QUEUE_PARTITIONS=99 is refused by peace" eval \
  "! PEACE_QUEUE_PARTITIONS=99 '$PEACE' run '$T/one.json' --detach >'$T/bad.out' 2>&1 && grep -q PEACE_QUEUE_PARTITIONS '$T/bad.out'"
check "1: PEACE_QUEUE_PARTITIONS=0 is refused by peace-worker" eval \
  "! PEACE_QUEUE_PARTITIONS=0 timeout 10 '$WORKER' --redis '$PEACE_REDIS_URL' >'$T/bad.out' 2>&1 && grep -q PEACE_QUEUE_PARTITIONS '$T/bad.out'"
check "1: nothing was queued" test "$(rcli ZCARD peace:execs)" = 0

export PEACE_QUEUE_PARTITIONS=$P

# 2. ---------------------------------------------------------------------------
N=48
ids=()
for i in $(seq 1 $N); do
  printf '{"app":"pt","profile":"p%d","flow":"f","items":[{"id":"a","type":"sleep","params":{"steps":2,"step_ms":5,"marker":"%s/b%d.done"}}]}\n' \
    "$i" "$WORLD" "$i" >"$T/b$i.json"
  ids+=("$(submit "$T/b$i.json" --cmd discover)") || fatal "submit $i failed"
done
declare -A part_len=()
nonempty=0
total=0
for i in $(seq 0 $((P - 1))); do
  part_len[$i]=$(rcli XLEN "$(queue_stream "$i")")
  total=$((total + part_len[$i]))
  [ "${part_len[$i]}" -gt 0 ] && nonempty=$((nonempty + 1))
done
log "backlog per partition: $(for i in $(seq 0 $((P - 1))); do printf '%s ' "${part_len[$i]}"; done)"
check "2: the backlog is queued over the partitions" test "$total" = $N
check "2: every partition got some of it" test "$nonempty" = $P
check "2: the old single stream is not used" test "$(rcli EXISTS 'peace:queue:{default}')" = 0
"$PEACE" queues --json --queue default >"$T/queues.json" 2>"$T/queues.err"
check "2: peace queues counts every partition (length $N, oldest job known)" eval \
  "jq -e '.queues[] | select(.name == \"default\") | .length == $N and .oldest_ms != null' '$T/queues.json' >/dev/null"
if [ "$BACKEND" = cluster ]; then
  declare -A per_master=()
  for i in $(seq 0 $((P - 1))); do
    port=$(cluster_key_port "$(queue_stream "$i")")
    per_master[$port]=$((${per_master[$port]:-0} + 1))
    check "2: partition $i is on a master" test -n "$port"
    check "2: partition $i's entries are on that master" \
      test "$(ccli "$port" XLEN "$(queue_stream "$i")")" = "${part_len[$i]}"
  done
  log "partitions per master: $(for m in "${!per_master[@]}"; do printf '%s=%s ' "$m" "${per_master[$m]}"; done)"
  check "2: more than one master serves the queue" test "${#per_master[@]}" -gt 1
fi

# 3. ---------------------------------------------------------------------------
# Where each execution's entry is, before anything runs.
declare -A ipart=()
for i in $(seq 0 $((P - 1))); do
  for id in $(rcli XRANGE "$(queue_stream "$i")" - + | grep -ax '01[0-9A-Z]\{24\}'); do ipart[$id]=$i; done
done
check "2: every execution's entry was found in one partition" test "${#ipart[@]}" = $N
# Worker a alone first: two slots for six partitions, so the partitions take turns.
worker_start a --lease-ms "$LEASE" --concurrency 2
by_a() {
  local id n=0
  for id in "${ids[@]}"; do finished "$id" && [[ "$(meta "$id" worker)" == *":${WORKER_PID[a]}:"* ]] && n=$((n + 1)); done
  [ "$n" -ge 12 ]
}
wait_for 60 "worker a to run twelve" by_a || fatal "worker a did not run twelve"
served=$(for id in "${ids[@]}"; do
  finished "$id" && [[ "$(meta "$id" worker)" == *":${WORKER_PID[a]}:"* ]] && echo "${ipart[$id]}"
done | sort -u | wc -l)
log "worker a's first executions came from $served partitions"
check "3: worker a (2 slots) served every partition in turn" test "$served" = $P
# Its executions' [started_ms, finished_ms] never overlap more than two deep.
for id in "${ids[@]}"; do
  finished "$id" && [[ "$(meta "$id" worker)" == *":${WORKER_PID[a]}:"* ]] &&
    echo "$(meta "$id" started_ms) 1" && echo "$(meta "$id" finished_ms) -1"
done | sort -n -k1,1 -k2,2n >"$T/a_spans.txt"
depth=$(awk '{ d += $2; if (d > m) m = d } END { print m + 0 }' "$T/a_spans.txt")
log "worker a ran at most $depth at once"
check "3: worker a never ran more than its two slots at once" test "$depth" -le 2
worker_start b --lease-ms "$LEASE" --concurrency 8
all_done() {
  local id
  for id in "${ids[@]}"; do finished "$id" || return 1; done
}
wait_for 120 "the backlog to run" all_done || fatal "the backlog did not finish"
ok=0
first=0
for id in "${ids[@]}"; do
  meta_is "$id" outcome complete && ok=$((ok + 1))
  meta_is "$id" attempt 1 && first=$((first + 1))
done
check "3: every execution completed" test "$ok" = $N
check "3: each on its first attempt" test "$first" = $N
empty() { [ "$(queue_len)" = 0 ]; }
wait_for 10 "every partition to be acknowledged" empty
check "3: every partition is empty (acknowledged and deleted)" empty
check "3: nothing was dead-lettered" test "$(rcli XLEN peace:dead)" = 0
pending_total() {
  local i n=0
  for i in $(seq 0 $((P - 1))); do
    n=$((n + $(rcli XPENDING "$(queue_stream "$i")" workers | head -1)))
  done
  echo "$n"
}
check "3: nothing is pending in any partition" test "$(pending_total)" = 0
check "3: the workers log their partitions" grep -q "partitions=$P" "$T/b.log"
worker_stop a
worker_stop b

# 4. ---------------------------------------------------------------------------
worker_start c --lease-ms "$LEASE" --concurrency 12
wait_for 20 "worker c" worker_ready c || fatal "worker c not ready"
K=12
kids=()
dids=()
# Each ensure waits at a gate (lib.sh gate_flow) opened once worker c is
# killed, so all K are still running on c when it dies, whatever the load.
GATE=$T/gate
for i in $(seq 1 $K); do
  gate_flow "$T/k$i.json" pk "p$i" "$GATE"
  dids+=("$(submit "$T/k$i.json" --cmd discover)")
done
wait_finished 60 "${dids[@]}" || fatal "the discovers did not finish"
for i in $(seq 1 $K); do
  kids+=("$(submit "$T/k$i.json" --cmd ensure)")
done
# The partition of each: the stream holding its entry while it runs.
declare -A kpart=()
for id in "${kids[@]}"; do
  for i in $(seq 0 $((P - 1))); do
    rcli XRANGE "$(queue_stream "$i")" - + | grep -qx "$id" && kpart[$id]=$i
  done
done
running_here() {
  local id n=0
  for id in "${kids[@]}"; do meta_is "$id" status running && n=$((n + 1)); done
  [ "$n" = $K ]
}
wait_for 30 "worker c to run all $K" running_here || fatal "worker c did not run them all"
parts_used=$(for id in "${kids[@]}"; do echo "${kpart[$id]:-?}"; done | sort -u | grep -vc '?')
log "the running executions span $parts_used partitions"
check "4: the running executions come from several partitions" test "$parts_used" -gt 1
worker_start d --lease-ms "$LEASE" --concurrency 12
wait_for 20 "worker d" worker_ready d || fatal "worker d not ready"
kill -KILL "${WORKER_PID[c]}"
log "worker c killed"
touch "$GATE" # the takeovers run to their end
wait_finished 90 "${kids[@]}" || fatal "the taken-over executions did not finish"
ok=0
for id in "${kids[@]}"; do
  meta_is "$id" outcome complete && meta_is "$id" attempt 2 && ok=$((ok + 1))
done
check "4: every execution completed on a second attempt" test "$ok" = $K
check "4: worker d claimed from several partitions" \
  test "$(grep -c 'entries_claimed' "$T/d.log")" -gt 1
wait_for 10 "every partition to be acknowledged" empty
check "4: every partition is empty after the takeover" empty
check "4: nothing is pending" test "$(pending_total)" = 0
worker_stop d

# 5. ---------------------------------------------------------------------------
check "5: peace-scheduler --partitions 65 is refused" eval \
  "! timeout 10 '$SCHED' --redis '$PEACE_REDIS_URL' --no-auth --listen 127.0.0.1:0 --partitions 65 >'$T/bad.out' 2>&1 && grep -q partitions '$T/bad.out'"
"$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 --no-auth --partitions $P >"$T/sched.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/sched.log" || fatal "no scheduler: $(cat "$T/sched.log")"
SPORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+) .*/\1/p' "$T/sched.log" | head -1)
api() { curl -sS --max-time 10 "http://127.0.0.1:$SPORT$1" "${@:2}"; }
sids=()
for i in $(seq 1 12); do
  body=$(jq -c --slurpfile f "$T/b$i.json" -n '{cmd: "discover", flow: $f[0]}')
  sids+=("$(api /v1/executions -X POST -H 'Content-Type: application/json' --data-binary "$body" | jq -r .id)")
done
check "5: the API queued twelve executions" test "$(printf '%s\n' "${sids[@]}" | grep -c '^01')" = 12
check "5: over the partitions only" eval \
  "[ \$(queue_len) = 12 ] && [ \$(rcli EXISTS 'peace:queue:{default}') = 0 ]"
used=0
for i in $(seq 0 $((P - 1))); do [ "$(rcli XLEN "$(queue_stream "$i")")" -gt 0 ] && used=$((used + 1)); done
check "5: in more than one partition" test "$used" -gt 1
api /metrics >"$T/metrics.txt"
check "5: /metrics counts the length of every partition" \
  grep -qx 'peace_queue_length{queue="default"} 12' "$T/metrics.txt"
api "/v1/executions/${sids[0]}" >"$T/get.json"
check "5: GET of a queued execution" eval "jq -e '.execution.status == \"queued\"' '$T/get.json' >/dev/null"
worker_start f --lease-ms "$LEASE" --concurrency 4
wait_finished 60 "${sids[@]}" || fatal "the API's executions did not finish"
ok=0
for id in "${sids[@]}"; do meta_is "$id" outcome complete && ok=$((ok + 1)); done
check "5: every execution submitted through the API completed" test "$ok" = 12
api /metrics >"$T/metrics.txt"
check "5: /metrics shows the queue empty again" \
  grep -qx 'peace_queue_length{queue="default"} 0' "$T/metrics.txt"
# Follow (SSE) and interrupt through the scheduler, on a partition.
sleep_flow "$T/long.json" pl long f 100 50 2
lid=$(api /v1/executions -X POST -H 'Content-Type: application/json' \
  --data-binary "$(jq -c --slurpfile f "$T/long.json" -n '{cmd: "discover", flow: $f[0]}')" | jq -r .id)
wait_finished 30 "$lid"
lid=$(api /v1/executions -X POST -H 'Content-Type: application/json' \
  --data-binary "$(jq -c --slurpfile f "$T/long.json" -n '{cmd: "ensure", flow: $f[0]}')" | jq -r .id)
curl -sS -N --max-time 120 "http://127.0.0.1:$SPORT/v1/executions/$lid/events" >"$T/sse.txt" 2>&1 &
PIDS+=("$!")
sse_pid=$!
applying() { meta_is "$1" block apply_ensure && pstatus_is "$1" s1 running; }
wait_for 20 "the long execution to apply s1" applying "$lid" || fatal "it never ran"
api "/v1/executions/$lid/interrupt" -X POST -H 'Content-Type: application/json' -d '{"reason":"partitioned"}' >"$T/intr.json"
check "5: the interrupt through the API is accepted" eval "jq -e '.requested == true' '$T/intr.json' >/dev/null"
wait_finished 30 "$lid"
check "5: the execution on its partition was interrupted (s1 finished, s2 never ran)" \
  eval "meta_is $lid outcome block_interrupted && [ ! -f $WORLD/pl/long/f/s2.done ]"
sse_done() { ! kill -0 "$sse_pid" 2>/dev/null; }
wait_for 30 "the event stream to end" sse_done || log "event stream: $(tail -c 300 "$T/sse.txt")"
check "5: the event stream followed it to its outcome" grep -qx 'event: outcome' "$T/sse.txt"
check "5: and showed its progress" grep -qx 'event: progress' "$T/sse.txt"
empty() { [ "$(queue_len)" = 0 ]; }
wait_for 10 "every partition to be acknowledged" empty
check "5: every partition is empty" empty
worker_stop f

# 6. ---------------------------------------------------------------------------
unset PEACE_QUEUE_PARTITIONS
old=$(submit "$T/one.json" --cmd discover 2>"$T/old_submit.err") || log "submit failed: $(cat "$T/old_submit.err")"
check "6: P = 1 queues on the old stream" test "$(rcli XLEN 'peace:queue:{default}')" = 1
worker_start e --lease-ms "$LEASE"
wait_finished 30 "$old"
check "6: a worker without --partitions runs it" meta_is "$old" outcome complete
worker_stop e

# 7. ---------------------------------------------------------------------------
export PEACE_QUEUE_PARTITIONS=$P
for i in $(seq 1 $((2 * P))); do
  sleep_flow "$T/c$i.json" pc "p$i" f 1 0 1
  submit "$T/c$i.json" --cmd discover >/dev/null || fatal "submit c$i failed"
done
# The first entry of two partitions, moved to the same id in both.
moved=()
for i in $(seq 0 $((P - 1))); do
  [ ${#moved[@]} -lt 2 ] || break
  k=$(queue_stream "$i")
  [ "$(rcli XLEN "$k")" -gt 0 ] || continue
  moved+=("$(rcli XRANGE "$k" - + COUNT 1 | grep -ax '01[0-9A-Z]\{24\}')")
  rcli EVAL "local e = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)[1]
    redis.call('XDEL', KEYS[1], e[1])
    return redis.call('XADD', KEYS[1], ARGV[1], unpack(e[2]))" 1 "$k" 9999999999999-0 >/dev/null
done
check "7: two partitions hold entry 9999999999999-0" test ${#moved[@]} = 2
worker_start g --concurrency 8
both_done() { finished "${moved[0]}" && finished "${moved[1]}"; }
wait_for 7 "both executions of the same entry id (less than a lease)" both_done
check "7: both ran at once, without waiting for a takeover" both_done
check "7: nothing was claimed" eval "! grep -q entries_claimed '$T/g.log'"
worker_stop g

finish
