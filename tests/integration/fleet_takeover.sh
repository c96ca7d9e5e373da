#!/usr/bin/env bash
# A worker that dies or stalls does not lose its executions, and a stalled
# worker cannot write after its lease was taken (CONTRACT §4). Leases are
# 2 s here.
#  1. kill -9 of a worker in the middle of an ensure's apply: another worker
#     takes the execution over after the lease and completes it (attempt 2);
#     the final states equal those of an undisturbed run of the same flow;
#  2. SIGSTOP of a worker mid-apply: another takes over and completes it;
#     after SIGCONT the stalled worker notices it lost the execution and
#     every key of that execution (meta, progress, events, states) stays as
#     the new owner left it: its late writes are fenced.
PEACE=${1:?usage: fleet_takeover.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
LEASE=2000

mid_apply() { # ID: s1 applied, s2 being applied
  [ "$(meta "$1" block)" = apply_ensure ] &&
    pstatus_is "$1" s2 running
}
snapshot() { # ID APP PROFILE FLOW
  {
    rcli HGETALL "peace:exec:{$1}" | paste - - | sort
    echo ---
    rcli HGETALL "peace:exec:{$1}:progress" | paste - - | sort
    echo ---
    rcli XLEN "peace:exec:{$1}:events"
    echo ---
    "$PEACE" states "$2" "$3" "$4" --json | jq -S .
  }
}

redis_start

# 1. ---------------------------------------------------------------------------
# The undisturbed reference first, on its own profile.
sleep_flow "$T/calm.json" tk calm chain 5 100 4
worker_start a --lease-ms "$LEASE" --concurrency 1
wait_for 20 "worker a" worker_ready a || fatal "worker a not ready"
"$PEACE" run "$T/calm.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover (calm) failed"
"$PEACE" run "$T/calm.json" --cmd ensure --no-progress >/dev/null 2>&1 || fatal "ensure (calm) failed"

sleep_flow "$T/kill.json" tk kill chain 5 100 4
"$PEACE" run "$T/kill.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover (kill) failed"
id1=$(submit "$T/kill.json" --cmd ensure)
wait_for 20 "worker a in the middle of the apply" mid_apply "$id1" || fatal "never saw the apply"
check "1: worker a runs the execution" test "$(meta "$id1" worker)" = "$(worker_consumer a)"
worker_start b --lease-ms "$LEASE" --concurrency 1
wait_for 20 "worker b" worker_ready b || fatal "worker b not ready"
kill -KILL "${WORKER_PID[a]}"
killed_ms=$(now_ms)
log "worker a killed with s2 in flight"
wait_finished 60 "$id1"
check "1: the execution completes after its worker was killed" meta_is "$id1" outcome complete
check "1: worker b finished it" test "$(meta "$id1" worker)" = "$(worker_consumer b)"
check "1: on a second attempt" meta_is "$id1" attempt 2
check "1: not before the lease expired" test "$(meta "$id1" finished_ms)" -ge $((killed_ms + LEASE / 2))
check "1: every item was applied" \
  test -f "$WORLD/tk/kill/chain/s1.done" -a -f "$WORLD/tk/kill/chain/s2.done" -a -f "$WORLD/tk/kill/chain/s3.done" -a -f "$WORLD/tk/kill/chain/s4.done"
check "1: final current states equal the undisturbed run's" \
  diff <(fleet_states tk kill chain current) <(fleet_states tk calm chain current)
check "1: final goal states equal the undisturbed run's" \
  diff <(fleet_states tk kill chain goal) <(fleet_states tk calm chain goal)
check "1: the queue entry was acknowledged" \
  test "$(rcli XPENDING 'peace:queue:{default}' workers | head -1)" = 0

# 2. ---------------------------------------------------------------------------
# Worker b alone picks the job up, then stalls; worker c takes over.
sleep_flow "$T/stop.json" tk stop chain 5 100 4
"$PEACE" run "$T/stop.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover (stop) failed"
id2=$(submit "$T/stop.json" --cmd ensure)
wait_for 20 "worker b in the middle of the apply" mid_apply "$id2" || fatal "never saw the apply"
kill -STOP "${WORKER_PID[b]}"
log "worker b stopped with s2 in flight"
worker_start c --lease-ms "$LEASE" --concurrency 1
wait_for 20 "worker c" worker_ready c || fatal "worker c not ready"
wait_finished 60 "$id2"
check "2: the execution completes while its first worker is stopped" meta_is "$id2" outcome complete
check "2: worker c finished it, on attempt 2" \
  test "$(meta "$id2" worker) $(meta "$id2" attempt)" = "$(worker_consumer c) 2"
snapshot "$id2" tk stop chain >"$T/before.snap"
marker_before=$(stat -c %y "$WORLD/tk/stop/chain/s2.done")
lines_before=$(wc -l <"$T/b.log")
kill -CONT "${WORKER_PID[b]}"
log "worker b continued"
lost_line() { tail -n +"$((lines_before + 1))" "$T/b.log" | grep "exec=$id2" | grep -Eqi 'lost|fenc'; }
check "2: the stalled worker notices it lost the execution" wait_for 30 "worker b to log the lost lease" lost_line
# Its in-flight item finishes (the apply rewrites the marker in the world),
# and whatever it then tries to record must be refused. Barrier: with c
# gone, b alone serves one more execution; b handles its events in order,
# so by then the old item's completion has been dealt with.
marker_rewritten() { [ "$(stat -c %y "$WORLD/tk/stop/chain/s2.done")" != "$marker_before" ]; }
check "2: the stalled worker's in-flight apply ran to its end" \
  wait_for 30 "worker b's s2 apply to end" marker_rewritten
worker_stop c
sleep_flow "$T/barrier.json" tk barrier chain 1 1 1
idx=$(submit "$T/barrier.json" --cmd discover)
wait_finished 30 "$idx"
check "2: the stalled worker serves new work" \
  test "$(meta "$idx" worker) $(meta "$idx" outcome)" = "$(worker_consumer b) complete"
snapshot "$id2" tk stop chain >"$T/after.snap"
check "2: its late writes changed nothing (meta, progress, events, states)" \
  diff "$T/before.snap" "$T/after.snap"
check "2: final states equal the undisturbed run's" \
  diff <(fleet_states tk stop chain current) <(fleet_states tk calm chain current)
check "2: exactly one outcome event" \
  test "$(rcli XRANGE "peace:exec:{$id2}:events" - + | awk 'prev == "kind" && $0 == "outcome" { n++ } { prev = $0 } END { print n + 0 }')" = 1
check "2: the stalled worker survived" worker_alive b

finish
