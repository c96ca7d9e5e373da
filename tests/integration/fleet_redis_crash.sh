#!/usr/bin/env bash
# Redis killed (kill -9) and restarted mid-apply loses nothing (CONTRACT §4,
# docs/fleet.md "Redis away"): an `ensure` of 8 chained sleep items on 3
# workers, redis-server with an append-only file (appendfsync always) killed
# while the apply block runs and started again on the same port. The
# execution completes (after a takeover), with the States an undisturbed run
# of the same flow stores, and nothing stays pending.
# ROUNDS (env, default 2): how many crashes, each in its own execution.
PEACE=${1:?usage: fleet_redis_crash.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
ROUNDS=${ROUNDS:-2}
Q='peace:queue:{default}'

redis_start persist
for w in w1 w2 w3; do worker_start $w --lease-ms 1500 --concurrency 2; done
for w in w1 w2 w3; do wait_for 20 "worker $w" worker_ready $w || fatal "worker $w not ready"; done

# The reference: the same flow, undisturbed.
sleep_flow "$T/ref.json" crash ref f 4 40 8
"$PEACE" run "$T/ref.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "reference discover"
"$PEACE" run "$T/ref.json" --cmd ensure --no-progress >/dev/null 2>&1 || fatal "reference ensure"
ref_current=$(fleet_states crash ref f current)
ref_goal=$(fleet_states crash ref f goal)
check "the undisturbed run stores every item done" \
  test "$(echo "$ref_current" | jq '[.[] | select(.done == true)] | length')" = 8

in_apply() { # ID: the apply block runs and at least N items are done
  meta_is "$1" block apply_ensure && [ "$(meta "$1" items_done)" -ge "$2" ]
}
ok_rounds=0
for round in $(seq 1 "$ROUNDS"); do
  sleep_flow "$T/r$round.json" crash "p$round" f 4 40 8
  "$PEACE" run "$T/r$round.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover $round"
  id=$(submit "$T/r$round.json" --cmd ensure)
  # Somewhere in the chain: after 1..4 items, at a random point of an item.
  after=$((1 + RANDOM % 4))
  wait_for 30 "round $round: $after items applied" in_apply "$id" "$after" || fatal "round $round never applied"
  sleep "0.0$((RANDOM % 10))"
  log "round $round: kill -9 redis-server with $(meta "$id" items_done) items done"
  redis_crash_restart
  wait_finished 90 "$id" || log "round $round: $(meta "$id" status)"
  outcome=$(meta "$id" outcome)
  cur=$(fleet_states crash "p$round" f current)
  goal=$(fleet_states crash "p$round" f goal)
  if [ "$outcome" = complete ] && [ "$cur" = "$ref_current" ] && [ "$goal" = "$ref_goal" ]; then
    ok_rounds=$((ok_rounds + 1))
  else
    log "round $round: outcome=$outcome attempt=$(meta "$id" attempt) error=$(meta "$id" error)"
    log "round $round: current=$(echo "$cur" | jq -c .)"
  fi
done
check "every crashed execution completes with the undisturbed run's States ($ok_rounds/$ROUNDS)" \
  test "$ok_rounds" = "$ROUNDS"
no_pending() { [ "$(rcli XPENDING "$Q" workers | head -1)" = 0 ]; }
check "nothing stays pending" wait_for 20 "no pending entries" no_pending
check "every worker survived" bash -c "kill -0 ${WORKER_PID[w1]} && kill -0 ${WORKER_PID[w2]} && kill -0 ${WORKER_PID[w3]}"

finish
