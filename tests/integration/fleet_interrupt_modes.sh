#!/usr/bin/env bash
# Interrupt modes on the fleet (CONTRACT §2 "Interrupt mode", §3 channel
# payload): every payload form published raw with redis-cli; cancel and kill
# of a running sh_cmd (its whole process group gone, the item `interrupted`
# and listed in items_interrupted, its re-discovered state stored, the next
# ensure completing with no manual step); escalation by a second request
# and by the cancel's deadline; the meta hash's receipt fields; a cut whose
# re-discovery fails leaves its stored state marked unknown.
PEACE=${1:?usage: fleet_interrupt_modes.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

report_is() { # ID JQ-EXPR EXPECTED
  local got
  got=$(report_json "$1" | jq -c "$2")
  [ "$got" = "$3" ] || {
    echo "# $1: $2 is $got, expected $3"
    return 1
  }
}
# gone PID: no such process, or a zombie (nobody may reap orphans here)
gone() {
  local st
  st=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
progress_status() { ppart "$1" "$2" status; }

# long_flow FILE PROFILE TRAP: one sh_cmd item `long` whose apply records its
# pid and its child's, then sleeps 600 s while $dir/hold exists; its state
# is the content of $dir/state. TRAP '' makes the group ignore SIGTERM.
long_flow() {
  local dir=$WORLD/modes/$2
  mkdir -p "$dir"
  cat >"$1" <<EOF
{"app":"modes","profile":"$2","flow":"long","items":[
 {"id":"long","type":"sh_cmd","params":{
   "state_current":["sh","-c","cat $dir/state 2>/dev/null || echo absent"],
   "state_goal":["echo","applied"],
   "apply_exec":["sh","-c","$3 echo \$\$ > $dir/sh.pid; echo started > $dir/state; if [ -e $dir/hold ]; then sleep 600 & echo \$! > $dir/child.pid; wait; fi; echo applied > $dir/state"]}}]}
EOF
  touch "$dir/hold"
}

# start_long PROFILE TRAP: discover then ensure; prints the ensure's id once
# the apply's process group is complete.
start_long() {
  local dir=$WORLD/modes/$1 id
  long_flow "$T/$1.json" "$1" "$2"
  "$PEACE" run "$T/$1.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of $1 failed"
  id=$(submit "$T/$1.json" --cmd ensure)
  wait_for 30 "the apply of $1 to run" test -s "$dir/child.pid" || fatal "apply of $1 never ran"
  echo "$id"
}

group_gone() {
  local dir=$WORLD/modes/$1
  gone "$(cat "$dir/sh.pid")" && gone "$(cat "$dir/child.pid")"
}

redis_start
worker_start w1 --concurrency 8
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"

# 1. cancel: SIGTERM to the group -------------------------------------------
id=$(start_long cancel "")
rcli PUBLISH "peace:exec:{$id}:interrupt" '!cancel operator said stop' >/dev/null
wait_finished 20 "$id"
check "cancel: block_interrupted" meta_is "$id" outcome block_interrupted
check "cancel: the item is listed as interrupted" report_is "$id" '.items_interrupted' '["long"]'
check "cancel: ... and as processed, with no error" report_is "$id" '[.items_processed, (.errors // [])]' '[["long"],[]]'
check "cancel: its progress status is interrupted" test "$(progress_status "$id" long)" = interrupted
check "cancel: the reason is the payload's" meta_is "$id" interrupt_reason 'operator said stop'
check "cancel: the meta records the mode" meta_is "$id" interrupt_mode cancel
check "cancel: the meta records when it was latched" test -n "$(meta "$id" interrupt_latched_ms)"
check "cancel: the sh and its child are gone" wait_for 5 "the group to die" group_gone cancel
check "cancel: the re-discovered state is stored (started, not the stale absent)" \
  bash -c "'$PEACE' states modes cancel long --json | jq -e '.current.long.stdout == \"started\n\"' >/dev/null"
rm -f "$WORLD/modes/cancel/hold"
"$PEACE" run "$T/cancel.json" --cmd ensure --no-progress >"$T/next.out" 2>&1
check "cancel: the next ensure completes with no manual step" test $? -eq 0

# 2. kill of a group that ignores SIGTERM -----------------------------------
id=$(start_long kill "trap '' TERM;")
t0=$(now_ms)
rcli PUBLISH "peace:exec:{$id}:interrupt" '!kill' >/dev/null
wait_finished 20 "$id"
check "kill: the outcome came at once (under 3 s)" test $(($(now_ms) - t0)) -lt 3000
check "kill: the item is listed as interrupted" report_is "$id" '.items_interrupted' '["long"]'
check "kill: the whole group is gone" wait_for 5 "the group to die" group_gone kill
check "kill: meta mode kill" meta_is "$id" interrupt_mode kill
rm -f "$WORLD/modes/kill/hold"
"$PEACE" run "$T/kill.json" --cmd ensure --no-progress >"$T/next.out" 2>&1
check "kill: the next ensure after a killed apply completes" test $? -eq 0

# 3. escalation by the deadline ----------------------------------------------
id=$(start_long deadline "trap '' TERM;")
t0=$(now_ms)
rcli PUBLISH "peace:exec:{$id}:interrupt" '!cancel 700 slow down' >/dev/null
sleep 0.3
check "deadline: SIGTERM ignored, still running before the deadline" meta_is "$id" status running
wait_finished 20 "$id"
el=$(($(now_ms) - t0))
log "deadline: outcome after ${el} ms (deadline 700 ms)"
check "deadline: the outcome came after the deadline" test "$el" -ge 650
check "deadline: ... and soon after it" test "$el" -lt 5000
check "deadline: the cancel became a kill" meta_is "$id" interrupt_mode kill
check "deadline: one escalation recorded" meta_is "$id" interrupt_escalations 1
check "deadline: the group is gone" wait_for 5 "the group to die" group_gone deadline

# 4. escalation by a second request ------------------------------------------
id=$(start_long second "")
rcli PUBLISH "peace:exec:{$id}:interrupt" 'first: finish' >/dev/null
sleep 0.3
check "second: a finish lets the running item go on" meta_is "$id" status running
rcli PUBLISH "peace:exec:{$id}:interrupt" 'second: escalate' >/dev/null
wait_finished 20 "$id"
check "second: the second request cancelled the item" report_is "$id" '.items_interrupted' '["long"]'
check "second: meta mode cancel, one escalation" \
  bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id}' interrupt_mode)\" = cancel ] && [ \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id}' interrupt_escalations)\" = 1 ]"
check "second: the first request's reason stays" meta_is "$id" interrupt_reason 'first: finish'

# 5. every payload form, raw from redis-cli -----------------------------------
# FORM|expected reason|expected items_interrupted (a 30 x 100 ms sleep item)
forms=(
  '||[]'
  'plain reason|plain reason|[]'
  '!finish||[]'
  '!finish a reason|a reason|[]'
  '!finish 500 r|r|[]'
  '!cancel||["s1"]'
  '!cancel 5000||["s1"]'
  '!cancel 5000 with reason|with reason|["s1"]'
  '!cancel only reason|only reason|["s1"]'
  '!kill||["s1"]'
  '!kill now|now|["s1"]'
  '!CANCEL|!CANCEL|[]'
  '!cancelx y|!cancelx y|[]'
  '!|!|[]'
  '!cancel 99999999999999999999 huge|huge|["s1"]'
)
declare -a ids
for k in "${!forms[@]}"; do
  # s1 then s2, 20 x 100 ms each: a finish lets s1 end and never starts s2.
  sleep_flow "$T/form$k.json" forms "f$k" f 20 100 2
  "$PEACE" run "$T/form$k.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover f$k failed"
  ids[$k]=$(submit "$T/form$k.json" --cmd ensure)
  wait_for 20 "form $k to apply" pstatus_is "${ids[$k]}" s1 running
  IFS='|' read -r payload _ _ <<<"${forms[$k]}"
  rcli PUBLISH "peace:exec:{${ids[$k]}}:interrupt" "$payload" >/dev/null
done
for k in "${!forms[@]}"; do
  IFS='|' read -r payload reason cut <<<"${forms[$k]}"
  wait_finished 20 "${ids[$k]}"
  check "payload '$payload': reason '$reason'" meta_is "${ids[$k]}" interrupt_reason "$reason"
  check "payload '$payload': items_interrupted $cut" report_is "${ids[$k]}" '(.items_interrupted // [])' "$cut"
  check "payload '$payload': block_interrupted" meta_is "${ids[$k]}" outcome block_interrupted
done

# 6. peace interrupt --mode cancel --deadline-ms N --wait: the receipt -------
id=$(start_long cli "trap '' TERM;")
"$PEACE" interrupt "$id" --mode cancel --deadline-ms 400 --reason 'from the cli' --wait --json >"$T/receipt.json"
rc=$?
log "receipt: $(cat "$T/receipt.json")"
check "cli --wait: exit status of the outcome (2, interrupted)" test "$rc" -eq 2
check "cli --wait: the receipt names the outcome and the mode in effect" \
  jq -e '.outcome == "block_interrupted" and .mode == "kill" and .escalations == 1' "$T/receipt.json"
check "cli --wait: ... and when the worker latched the request" \
  jq -e '(.latched_ms | type) == "number" and .latched_ms >= .requested_ms' "$T/receipt.json"
check "cli: the reason is recorded" meta_is "$id" interrupt_reason 'from the cli'
check "cli: the group is gone" wait_for 5 "the group to die" group_gone cli
"$PEACE" interrupt "$id" --mode stop >/dev/null 2>"$T/bad.err"
check "cli: a bad --mode is refused with a reason" bash -c "[ $? -ne 0 ] && grep -q 'unknown interrupt mode' '$T/bad.err'"
"$PEACE" interrupt "$id" --deadline-ms -1 >/dev/null 2>"$T/bad.err"
check "cli: a bad --deadline-ms is refused" grep -q 'deadline-ms' "$T/bad.err"

# 7. kill -9 of the worker: no process of the item remains -------------------
id=$(start_long orphan "trap '' TERM;")
kill -KILL "${WORKER_PID[w1]}"
check "kill -9: the worker is gone" wait_for 5 "w1 to die" worker_exited w1
check "kill -9: the item's sh and its child die with their worker (the whole group)" \
  wait_for 5 "the orphaned group to die" group_gone orphan
rm -f "$WORLD/modes/orphan/hold"
worker_start w2 --concurrency 8 --lease-ms 1000
wait_finished 30 "$id"
check "kill -9: the takeover finishes the execution" meta_is "$id" outcome complete

# 8. a cut whose re-discovery fails: the stored state is marked unknown -----
# The apply moves the state_current program away, then sleeps: after the
# cancel the engine cannot discover the item's state. It must not leave the
# stale pre-apply state stored (the next ensure's guard would fail on it).
dir=$WORLD/modes/unknown
mkdir -p "$dir"
printf '#!/bin/sh\ncat %s/state 2>/dev/null || echo absent\n' "$dir" >"$dir/reader"
chmod +x "$dir/reader"
cat >"$T/unknown.json" <<EOF
{"app":"modes","profile":"unknown","flow":"long","items":[
 {"id":"long","type":"sh_cmd","params":{
   "state_current":["$dir/reader"],
   "state_goal":["echo","applied"],
   "apply_exec":["sh","-c","echo \$\$ > $dir/sh.pid; echo started > $dir/state; if [ -e $dir/hold ]; then mv $dir/reader $dir/reader.off; sleep 600 & echo \$! > $dir/child.pid; wait; fi; echo applied > $dir/state"]}}]}
EOF
touch "$dir/hold"
"$PEACE" run "$T/unknown.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of unknown failed"
id=$(submit "$T/unknown.json" --cmd ensure)
wait_for 30 "the apply of unknown to run" test -s "$dir/child.pid" || fatal "apply of unknown never ran"
rcli PUBLISH "peace:exec:{$id}:interrupt" '!cancel' >/dev/null
wait_finished 20 "$id"
check "unknown: the item is listed as interrupted" report_is "$id" '.items_interrupted' '["long"]'
check "unknown: the failed re-discovery is an item error naming the mark" \
  report_is "$id" '[.outcome, (.errors[0].error | test("marked unknown"))]' '["item_error",true]'
"$PEACE" states modes unknown long --json >"$T/unknown.states"
check "unknown: the stored current state is marked unknown (not the stale 'absent')" \
  jq -e '.current.long == {"$peace": "unknown"}' "$T/unknown.states"
check "unknown: the group is gone" wait_for 5 "the group to die" group_gone unknown
"$PEACE" run "$T/unknown.json" --cmd diff --no-progress >"$T/diff.out" 2>&1
check "unknown: a diff from the stored state says why it cannot" grep -q 'stored state is unknown' "$T/diff.out"
mv "$dir/reader.off" "$dir/reader"
rm -f "$dir/hold"
"$PEACE" run "$T/unknown.json" --cmd ensure --no-progress >"$T/next.out" 2>&1
check "unknown: the next ensure completes with no manual step" test $? -eq 0
"$PEACE" states modes unknown long --json >"$T/unknown.states"
check "unknown: ... and stores the applied state" jq -e '.current.long.stdout == "applied\n"' "$T/unknown.states"

finish
