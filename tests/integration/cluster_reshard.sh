#!/usr/bin/env bash
# Resharding under load on a 3-master Redis Cluster: while executions run
# (and more are submitted), redis-cli --cluster reshard moves slots from
# master to master, three times (keys migrate: the fleet meets ASK, MOVED
# and TRYAGAIN). Nothing is lost, nothing is stuck, nothing fails on
# CROSSSLOT: every execution finishes complete on its first attempt, with
# the states an undisturbed run stores, and the queue has nothing pending.
PEACE=${1:?usage: cluster_reshard.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
N=${RESHARD_EXECUTIONS:-36}

cluster_start 0
masters=($(cluster_masters))
ids_of=()
for p in "${masters[@]}"; do ids_of+=("$(ccli "$p" CLUSTER MYID)"); done
cluster_workers --concurrency 4

# Each execution: its own profile (so its own slots), one item whose
# discovery takes 0.3 s and whose state names the profile.
flow() { cluster_sh_flow "$1" rs "$2" 0.3 0.2; } # FILE N
ids=()
submit_some() { # FROM TO
  local i
  for i in $(seq "$1" "$2"); do
    flow "$T/f$i.json" "$i"
    ids+=("$(submit "$T/f$i.json" --cmd discover)")
    owner "peace:exec:{${ids[-1]}}" >"$T/owner-$i"
  done
}

reshard() { # FROM-INDEX TO-INDEX SLOTS
  "$REAL_REDIS_CLI" --cluster reshard "127.0.0.1:${masters[0]}" \
    --cluster-from "${ids_of[$1]}" --cluster-to "${ids_of[$2]}" \
    --cluster-slots "$3" --cluster-yes >>"$T/reshard.log" 2>&1
}

# owner KEY: the port of the master serving KEY's slot.
owner() { cluster_key_holder "$1"; } # KEY: the port of the master holding it
queue_owner_before=$(owner 'peace:queue:{default}')

# Masters by role: q serves the queue ({default} is slot 5718, near the
# start of its range: redis-cli moves a source's lowest slots first).
for k in 0 1 2; do [ "${masters[$k]}" = "$queue_owner_before" ] && q=$k; done
a=$(((q + 1) % 3))
b=$(((q + 2) % 3))
third=$((N / 3))
submit_some 1 "$third"
check "reshard 1 (2000 slots, the queue's master -> another) while executions run" reshard "$q" "$a" 2000
submit_some $((third + 1)) $((2 * third))
check "reshard 2 (3000 slots, that master -> the third) while executions run" reshard "$a" "$b" 3000
submit_some $((2 * third + 1)) "$N"
check "reshard 3 (2500 slots, the third -> the queue's first master) while executions run" reshard "$b" "$q" 2500
wait_for 30 "the cluster to settle" cluster_ok
check "the cluster is consistent after the moves" cluster_ok

wait_finished 120 "${ids[@]}"
bad=0
for i in $(seq 1 "$N"); do
  id=${ids[$((i - 1))]}
  if ! meta_is "$id" outcome complete || ! meta_is "$id" attempt 1; then
    bad=$((bad + 1))
    log "$id (p$i): $(meta "$id" status) $(meta "$id" outcome) attempt $(meta "$id" attempt) $(meta "$id" error)"
  fi
done
queue_owner_after=$(owner 'peace:queue:{default}')
check "the queue itself moved to another master mid-run ($queue_owner_before -> $queue_owner_after)" \
  test -n "$queue_owner_after" -a "$queue_owner_before" != "$queue_owner_after"
moved=0
for i in $(seq 1 "$N"); do
  id=${ids[$((i - 1))]}
  [ "$(owner "peace:exec:{$id}")" != "$(cat "$T/owner-$i" 2>/dev/null)" ] && moved=$((moved + 1))
done
log "$moved of $N executions' keys are on another master than when submitted"
check "executions' keys moved too" test "$moved" -gt 0
check "every execution finished complete on its first attempt (0 lost, 0 retried)" test "$bad" -eq 0
states_ok=0
for i in $(seq 1 "$N"); do
  [ "$("$PEACE" states rs "p$i" f --json | jq -c '[.current.a.stdout, .current.b.stdout, .goal.a.stdout]')" = "[\"current-p$i\\n\",\"b-p$i\\n\",\"goal-p$i\\n\"]" ] &&
    states_ok=$((states_ok + 1))
done
check "every execution's states are those of an undisturbed run ($states_ok/$N)" test "$states_ok" -eq "$N"
check "nothing is pending in the queue (0 stuck)" \
  test "$(rcli XPENDING 'peace:queue:{default}' workers | head -1)" = 0
check "no CROSSSLOT anywhere" bash -c "! grep -q CROSSSLOT $T/w1.log $T/w2.log"
check "no worker logged a Redis error reply" bash -c "! grep -q 'level=warn.*MOVED\|level=warn.*ASK \|level=warn.*TRYAGAIN' $T/w1.log $T/w2.log"
check "both workers still run" bash -c "kill -0 ${WORKER_PID[w1]} && kill -0 ${WORKER_PID[w2]}"
log "distinct slots moved: $(grep -o "Moving slot [0-9]*" "$T/reshard.log" | sort -u | wc -l)"

finish
