#!/usr/bin/env bash
# Failover under load on a Redis Cluster of 3 masters with one replica each:
# while executions run, CLUSTER FAILOVER on the replica of the master that
# serves the queue, then on the replica of another master (a manual
# failover: the replica catches up, then takes over). The workers follow
# the new masters by themselves: every execution finishes complete with the
# states of an undisturbed run, nothing stays pending, both workers run on.
PEACE=${1:?usage: cluster_failover.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
N=${FAILOVER_EXECUTIONS:-24}

cluster_start 1
cluster_workers --concurrency 4 --lease-ms 6000

flow() { cluster_sh_flow "$1" fo "$2" 0.4 0.3; } # FILE N
ids=()
submit_some() { # FROM TO
  local i
  for i in $(seq "$1" "$2"); do
    flow "$T/f$i.json" "$i"
    ids+=("$(submit "$T/f$i.json" --cmd discover)")
  done
}

owner() { cluster_key_holder "$1"; } # KEY: the port of the master holding it
# replica_of PORT: the port of a replica of the master on PORT.
replica_of() {
  local id
  id=$(ccli "$1" CLUSTER MYID)
  ccli "$1" CLUSTER NODES | awk -v id="$id" '$3 ~ /slave/ && $4 == id {split($2, a, "[:@]"); print a[2]; exit}'
}
is_master() { ccli "$1" ROLE | head -1 | grep -qx master; }
is_replica() { ccli "$1" ROLE | head -1 | grep -qx slave; }
failover() { # MASTER-PORT
  local r
  r=$(replica_of "$1")
  [ -n "$r" ] || {
    log "no replica of $1 in: $(ccli "$1" CLUSTER NODES | tr '\n' '|')"
    return 1
  }
  local out
  out=$(ccli "$r" CLUSTER FAILOVER 2>&1)
  [ "$out" = OK ] || {
    log "CLUSTER FAILOVER on $r: $out"
    return 1
  }
  wait_for 30 "replica $r to become master" is_master "$r" || return 1
  # The old master learns of its demotion by gossip: until then it still
  # answers for its slots, and the next owner lookup could pick it.
  wait_for 30 "old master $1 to become a replica" is_replica "$1" || return 1
  log "failover: $r replaces $1"
}

half=$((N / 2))
submit_some 1 "$half"
q1=$(owner 'peace:queue:{default}')
check "failover of the queue's master ($q1) while executions run" failover "$q1"
submit_some $((half + 1)) "$N"
# A master other than the queue's. Masters are taken from one node's view of
# the cluster, which learns of the first failover by gossip: a node listed as
# master there may already be a replica, so each one's own ROLE decides.
live_masters() { local p; for p in $(cluster_masters); do is_master "$p" && echo "$p"; done; }
other=$(owner "peace:exec:{${ids[-1]}}")
[ "$other" = "$(owner 'peace:queue:{default}')" ] && other=$(live_masters | grep -vx "$(owner 'peace:queue:{default}')" | head -1)
check "failover of a second master ($other) while executions run" failover "$other"
wait_for 30 "the cluster to settle" cluster_ok
check "the cluster is consistent after the failovers" cluster_ok

wait_finished 120 "${ids[@]}"
bad=0
for i in $(seq 1 "$N"); do
  id=${ids[$((i - 1))]}
  meta_is "$id" outcome complete || {
    bad=$((bad + 1))
    log "$id (p$i): $(meta "$id" status) $(meta "$id" outcome) attempt $(meta "$id" attempt) $(meta "$id" error)"
  }
done
check "every execution finished complete (0 lost)" test "$bad" -eq 0
states_ok=0
for i in $(seq 1 "$N"); do
  [ "$("$PEACE" states fo "p$i" f --json | jq -c '[.current.a.stdout, .current.b.stdout, .goal.a.stdout]')" = "[\"current-p$i\\n\",\"b-p$i\\n\",\"goal-p$i\\n\"]" ] &&
    states_ok=$((states_ok + 1))
done
check "every execution's states are those of an undisturbed run ($states_ok/$N)" test "$states_ok" -eq "$N"
pending_zero() { [ "$(rcli XPENDING 'peace:queue:{default}' workers | head -1)" = 0 ]; }
wait_for 10 "the last acknowledgements" pending_zero
check "nothing is pending in the queue (0 stuck)" pending_zero
check "both workers still run" bash -c "kill -0 ${WORKER_PID[w1]} && kill -0 ${WORKER_PID[w2]}"
log "attempts: $(for id in "${ids[@]}"; do meta "$id" attempt; done | sort | uniq -c | tr '\n' ' ')"
sleep_flow "$T/after.json" fo after f 1 1 1
"$PEACE" run "$T/after.json" --cmd discover --no-progress >/dev/null 2>&1
check "the fleet serves new work after the failovers" test $? -eq 0

finish
