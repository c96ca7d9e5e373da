#!/usr/bin/env bash
# Interrupts on a Redis Cluster (CONTRACT §3 "Interrupting from any
# service"): a raw PUBLISH peace:exec:{ID}:interrupt sent to each master in
# turn interrupts a running execution, whichever node the worker's
# subscription lives on (classic PUBLISH is forwarded to every node over the
# cluster bus), and peace:profiles:released published on any node reaches a
# subscriber on another.
PEACE=${1:?usage: cluster_interrupt.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

cluster_start 0
masters=($(cluster_masters))
check "three masters" test "${#masters[@]}" -eq 3
worker_start w1 --concurrency 3
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"

# Each execution's item a waits at a gate (lib.sh gate_flow), b comes after
# it: the gate opens only once the worker latched the PUBLISH, so the
# execution cannot end before the interrupt, whatever the load.
i=0
for port in "${masters[@]}"; do
  i=$((i + 1))
  gate_flow "$T/f$i.json" ci "p$i" "$T/gate$i" 2
  "$PEACE" run "$T/f$i.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover $i failed"
  id=$(submit "$T/f$i.json" --cmd ensure)
  wait_for 20 "execution $i to run" meta_is "$id" status running || fatal "execution $i did not start"
  ccli "$port" PUBLISH "peace:exec:{$id}:interrupt" "raw to $port" >/dev/null
  # The gate opens once the worker holds the interrupt (it records when).
  latched() { [ -n "$(meta "$1" interrupt_latched_ms)" ]; }
  wait_for 20 "the worker to latch the interrupt" latched "$id"
  touch "$T/gate$i"
  wait_finished 20 "$id"
  check "a raw PUBLISH to master $i (port $port) interrupts the execution" \
    bash -c "[[ '$(meta "$id" outcome)' == *_interrupted ]]"
  check "the worker recorded that PUBLISH's reason" meta_is "$id" interrupt_reason "raw to $port"
done

# peace:profiles:released: one subscriber (on the first master), a message
# published on every master.
"$REAL_REDIS_CLI" -p "${masters[0]}" SUBSCRIBE peace:profiles:released >"$T/released.out" 2>&1 &
PIDS+=("$!")
subscribed() { grep -q '^subscribe$' "$T/released.out"; }
wait_for 10 "the subscriber" subscribed || fatal "redis-cli SUBSCRIBE did not start"
for port in "${masters[@]}"; do ccli "$port" PUBLISH peace:profiles:released "app:p$port" >/dev/null; done
all_heard() {
  local port
  for port in "${masters[@]}"; do grep -qx "app:p$port" "$T/released.out" || return 1; done
}
wait_for 10 "every release to be heard" all_heard
check "peace:profiles:released published on each master reaches a subscriber on the first" all_heard

finish
