#!/usr/bin/env bash
# chaos.sh - kill -9 of workers and of redis-server (restarted from its
# append-only file, appendfsync always) at random moments of an `ensure`,
# in a loop, on 127.0.0.1 only, bounded in time. After every trial:
#   lost      an execution submitted (the disturbed one, or one queued
#             behind it) that never reached a finished status,
#   stuck     ... still not finished after the deadline (counted in lost too),
#   block_error / other outcome: an execution that finished but not complete,
#   wrong     stored current or goal States differ from an undisturbed run's,
#             or an item's marker is missing in the world,
# and at the end: pending = entries still pending in the queue's group.
#
# usage: tests/chaos/chaos.sh PATH/TO/peace PATH/TO/peace-worker
# env:   REDIS_TRIALS (default 20), WORKER_TRIALS (default 30), SEED (default
#        random; printed, so a run can be repeated), LEASE_MS (default 1500).
# Exit status 0 when every figure is 0.
PEACE=${1:?usage: chaos.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/../integration/lib.sh"
REDIS_TRIALS=${REDIS_TRIALS:-20}
WORKER_TRIALS=${WORKER_TRIALS:-30}
SEED=${SEED:-$(date +%s)}
LEASE_MS=${LEASE_MS:-1500}
RANDOM=$SEED
Q='peace:queue:{default}'
ITEMS=8
STEPS=4
STEP_MS=40
log "seed $SEED: $REDIS_TRIALS redis kill -9 trials, $WORKER_TRIALS worker kill -9 trials"

redis_start persist
nw=0
start_worker() {
  nw=$((nw + 1))
  worker_start "w$nw" --lease-ms "$LEASE_MS" --concurrency 2
  wait_for 20 "worker w$nw" worker_ready "w$nw" || fatal "worker w$nw not ready"
}
for _ in 1 2 3; do start_worker; done

sleep_flow "$T/ref.json" chaos ref f $STEPS $STEP_MS $ITEMS
"$PEACE" run "$T/ref.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "reference discover"
"$PEACE" run "$T/ref.json" --cmd ensure --no-progress >/dev/null 2>&1 || fatal "reference ensure"
REF_CUR=$(fleet_states chaos ref f current)
REF_GOAL=$(fleet_states chaos ref f goal)
[ "$(echo "$REF_CUR" | jq '[.[] | select(.done == true)] | length')" = $ITEMS ] ||
  fatal "the undisturbed run did not store every item done"

lost=0 stuck=0 block_error=0 other=0 wrong=0 trials=0
in_apply() { meta_is "$1" block apply_ensure; }
# The worker running execution ID (its pid, from the consumer name).
runner_pid() { meta "$1" worker | awk -F: '{print $(NF-1)}'; }

trial() { # KIND N
  local kind=$1 n=$2 p="$1$2" id extra victim delay name pid i
  sleep_flow "$T/$p.json" chaos "$p" f $STEPS $STEP_MS $ITEMS
  "$PEACE" run "$T/$p.json" --cmd discover --no-progress >/dev/null 2>&1 || {
    log "$p: discover failed"
    other=$((other + 1))
    return
  }
  id=$(submit "$T/$p.json" --cmd ensure)
  # One more execution queued behind, of another profile: must not be lost.
  sleep_flow "$T/${p}x.json" chaos "${p}x" f 1 1 2
  extra=$(submit "$T/${p}x.json" --cmd discover)
  wait_for 30 "$p: the apply block" in_apply "$id" || log "$p: never reached apply ($(meta "$id" status) $(meta "$id" outcome))"
  # A random moment of the apply (it lasts about ITEMS x STEPS x STEP_MS).
  delay=$((RANDOM % (ITEMS * STEPS * STEP_MS)))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  if [ "$kind" = redis ]; then
    log "$p: kill -9 redis-server after ${delay} ms of apply ($(meta "$id" items_done) done)"
    redis_crash_restart
  else
    pid=$(runner_pid "$id")
    name=
    for i in "${!WORKER_PID[@]}"; do [ "${WORKER_PID[$i]}" = "$pid" ] && name=$i; done
    if [ -n "$name" ] && worker_alive "$name"; then
      log "$p: kill -9 worker $name (pid $pid) after ${delay} ms of apply ($(meta "$id" items_done) done)"
      kill -KILL "$pid"
      wait "$pid" 2>/dev/null
      start_worker
    else
      log "$p: no live worker runs it (status $(meta "$id" status)): nothing killed"
    fi
  fi
  trials=$((trials + 1))
  for victim in "$id" "$extra"; do
    if [ -z "$victim" ]; then
      other=$((other + 1))
      log "$p: a submission failed"
      continue
    fi
    if ! wait_for 120 "$p: $victim to finish" finished "$victim"; then
      stuck=$((stuck + 1))
      lost=$((lost + 1))
      log "$p: $victim stuck: status=$(meta "$victim" status) attempt=$(meta "$victim" attempt)"
      continue
    fi
    case "$(meta "$victim" outcome)" in
    complete) ;;
    block_error)
      block_error=$((block_error + 1))
      log "$p: $victim block_error: $(meta "$victim" error)"
      ;;
    *)
      other=$((other + 1))
      log "$p: $victim $(meta "$victim" outcome): $(meta "$victim" error)"
      ;;
    esac
  done
  if [ "$(fleet_states chaos "$p" f current)" != "$REF_CUR" ] ||
    [ "$(fleet_states chaos "$p" f goal)" != "$REF_GOAL" ] ||
    [ "$(ls "$WORLD/chaos/$p/f" | grep -c '\.done$')" != $ITEMS ]; then
    wrong=$((wrong + 1))
    log "$p: wrong States: $(fleet_states chaos "$p" f current | jq -c .)"
  fi
}

for n in $(seq 1 "$REDIS_TRIALS"); do trial redis "$n"; done
for n in $(seq 1 "$WORKER_TRIALS"); do trial worker "$n"; done

no_pending() { [ "$(rcli XPENDING "$Q" workers | head -1)" = 0 ]; }
wait_for 30 "no pending entries" no_pending
pending=$(rcli XPENDING "$Q" workers | head -1)
echo "chaos: seed=$SEED trials=$trials (redis $REDIS_TRIALS, worker $WORKER_TRIALS):" \
  "lost=$lost stuck=$stuck block_error=$block_error other_outcome=$other wrong_states=$wrong pending=$pending"
check "nothing lost" test $lost -eq 0
check "nothing stuck" test $stuck -eq 0
check "no block_error" test $block_error -eq 0
check "no other outcome than complete" test $other -eq 0
check "no wrong States" test $wrong -eq 0
check "nothing pending" test "$pending" = 0
finish
