#!/usr/bin/env bash
# Interrupting executions on the fleet (CONTRACT §3 "Interrupting from any
# service"), at every point of an execution's life:
#  a. queued, no worker connected: a raw PUBLISH reaches nobody (CONTRACT
#     §3 only promises raw ones while a worker or scheduler listens), but
#     `peace interrupt` records the marker;
#     a worker started later ends it execution_interrupted, no block
#     processed, nothing run;
#  b. queued behind a busy worker: a raw `redis-cli PUBLISH` is heard by the
#     connected worker, which records the marker; same outcome;
#  c. between blocks (the discover block's only item already started):
#     execution_interrupted, the blocks before the next one processed;
#  d. after the end: no effect (no marker, no event, outcome unchanged);
#  e. mid-block (two sleep items running): block_interrupted with exactly
#     those two processed and the other two not, neither started;
#     The items it stopped are listed in the one interrupt event (no
#     progress event each), and a follower replaying the events stream ends
#     with the statuses of the progress hash;
#  f. mid-block by Ctrl-C of a following `peace run`: the same, exit 2; its
#     progress lines show the stopped items interrupted.
PEACE=${1:?usage: fleet_interrupt.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

# diamond_flow FILE PROFILE: one, two (roots); three after one; four after two and three.
diamond_flow() {
  local dir=$WORLD/it/$2
  mkdir -p "$dir"
  cat >"$1" <<EOF
{"app":"it","profile":"$2","flow":"diamond","items":[
 {"id":"one","type":"sleep","params":{"steps":10,"step_ms":150,"marker":"$dir/one.done"}},
 {"id":"two","type":"sleep","params":{"steps":10,"step_ms":150,"marker":"$dir/two.done"}},
 {"id":"three","type":"sleep","deps":["one"],"params":{"steps":10,"step_ms":150,"marker":"$dir/three.done"}},
 {"id":"four","type":"sleep","deps":["two","three"],"params":{"steps":10,"step_ms":150,"marker":"$dir/four.done"}}]}
EOF
}
# The events as a follower reads them (the stream, or synthesised for a short,
# unfollowed execution: docs/fleet.md "Events on demand").
events_kinds() { "$PEACE" events "$1" | awk 'prev == "kind" { print } { prev = $0 }' | tr '\n' ' '; }
# events_view ID: each item's status as a follower of the events sees it: a
# progress event sets its item's, an interrupt event's `items` (ids separated
# by commas) are interrupted.
events_view() {
  "$PEACE" events "$1" | awk '
    function apply(  n, a, i) {
      if (v["kind"] == "progress") st[v["item"]] = v["status"]
      if (v["kind"] == "interrupt" && v["items"] != "") {
        n = split(v["items"], a, ",")
        for (i = 1; i <= n; i++) st[a[i]] = "interrupted"
      }
      split("", v); k = ""
    }
    /^[0-9]+-[0-9]+$/ { apply(); next }
    { if (k == "") k = $0; else { v[k] = $0; k = "" } }
    END { apply(); for (i in st) print i, st[i] }' | sort
}
# hash_view ID: each item's status in the progress hash (layout 2)
hash_view() {
  rcli HGETALL "peace:exec:{$1}:progress" | awk 'NR % 2 == 1 { f = $0; next } f !~ /^\./ { print f, $1 }' | sort
}
# events_field ID KIND FIELD: FIELD of each KIND event, one line each
events_field() {
  "$PEACE" events "$1" | awk -v kind="$2" -v field="$3" '
    function apply() { if (v["kind"] == kind) print v[field]; split("", v); k = "" }
    /^[0-9]+-[0-9]+$/ { apply(); next }
    { if (k == "") k = $0; else { v[k] = $0; k = "" } }
    END { apply() }'
}
# progress_events_with ID STATUS: how many progress events carry STATUS
progress_events_with() {
  events_field "$1" progress status | grep -cx "$2"
}
# no_item_ran ID: no item's status in the progress hash (layout 2: ITEM = "STATUS ...") says it ran
no_item_ran() {
  ! rcli HGETALL "peace:exec:{$1}:progress" | awk 'NR % 2 == 1 { f = $0; next } f !~ /\./ { print $1 }' |
    grep -Eqx 'queued|running|running_stalled|success|fail'
}
e_running() { # ID: one and two running in the apply block
  [ "$(rcli HGET "peace:exec:{$1}" block)" = apply_ensure ] && pstatus_is "$1" one running &&
    pstatus_is "$1" two running
}
report_is() { # ID JQ-EXPR EXPECTED
  local got
  got=$(report_json "$1" | jq -c "$2")
  [ "$got" = "$3" ] || {
    echo "# $1: $2 is $got, expected $3"
    return 1
  }
}

redis_start

# a. ---------------------------------------------------------------------------
diamond_flow "$T/qa.json" qa
ida=$(submit "$T/qa.json" --cmd discover)
# A raw PUBLISH reaches only connected listeners: with no worker (and no
# scheduler) there is none, which is why the CLI and the scheduler record
# the marker on the meta hash before they publish.
check "a: with no worker connected, a raw PUBLISH reaches nobody" \
  test "$(rcli PUBLISH "peace:exec:{$ida}:interrupt" 'lost')" = 0
"$PEACE" interrupt "$ida" --reason 'before any worker' >/dev/null
check "a: interrupt of a queued execution with no worker connected exits 0" test $? -eq 0
check "a: the marker is recorded" meta_is "$ida" interrupt_reason 'before any worker'
worker_start w1 --concurrency 1
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"
wait_finished 30 "$ida"
check "a: the execution ends execution_interrupted" meta_is "$ida" outcome execution_interrupted
check "a: no block processed" report_is "$ida" '.blocks_processed' '[]'
log "a: events: $(events_kinds "$ida")"
check "a: no block started (no block_start event), one outcome event" \
  bash -c "[[ '$(events_kinds "$ida")' != *block_start* && '$(events_kinds "$ida")' == *'outcome ' ]]"
check "a: no item's progress says it ran" no_item_ran "$ida"
check "a: nothing ran (no states written)" \
  test "$(rcli EXISTS 'peace:states:{it:qa}:diamond:current' 'peace:states:{it:qa}:diamond:goal')" = 0

# b. ---------------------------------------------------------------------------
sleep_flow "$T/busy.json" it busy busy 30 100 1
"$PEACE" run "$T/busy.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of the busy flow failed"
busy=$(submit "$T/busy.json" --cmd ensure)
wait_for 20 "the busy execution to run" meta_is "$busy" status running
diamond_flow "$T/qb.json" qb
idb=$(submit "$T/qb.json" --cmd discover)
check "b: the second execution waits in the queue (worker busy, concurrency 1)" meta_is "$idb" status queued
check "b: PUBLISH reaches the connected worker" \
  test "$(rcli PUBLISH "peace:exec:{$idb}:interrupt" 'raw publish')" -ge 1
wait_for 20 "the worker to record the marker" bash -c "test -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$idb}' interrupt_requested_ms)\""
check "b: the worker recorded interrupt_requested_ms for the queued execution" \
  test -n "$(meta "$idb" interrupt_requested_ms)"
check "b: ... while it was still queued (the busy execution still runs)" meta_is "$busy" status running
wait_finished 30 "$busy" "$idb"
check "b: the busy execution completes" meta_is "$busy" outcome complete
check "b: the queued one ends execution_interrupted" meta_is "$idb" outcome execution_interrupted
check "b: no block processed" report_is "$idb" '.blocks_processed' '[]'
check "b: no item's progress says it ran" no_item_ran "$idb"
check "b: nothing ran (no states written)" \
  test "$(rcli EXISTS 'peace:states:{it:qb}:diamond:current')" = 0

# c. ---------------------------------------------------------------------------
cat >"$T/between.json" <<EOF
{"app":"it","profile":"between","flow":"slow","items":[
 {"id":"slow","type":"sh_cmd","params":{
   "state_current":["sh","-c","sleep 1.5; echo ok"],
   "state_goal":["echo","ok"],
   "apply_exec":["true"]}}]}
EOF
"$PEACE" run "$T/between.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of the slow flow failed"
idc=$(submit "$T/between.json" --cmd ensure)
# The block's only item starts in the same loop turn as block_start is
# recorded, so once meta shows the block, the item is already running.
wait_for 20 "the discover block" meta_is "$idc" block discover
rcli PUBLISH "peace:exec:{$idc}:interrupt" 'between blocks' >/dev/null
wait_finished 30 "$idc"
check "c: interrupt during the last item of a block ends execution_interrupted" \
  meta_is "$idc" outcome execution_interrupted
check "c: blocks processed are those up to discover" \
  report_is "$idc" '.blocks_processed' '["read_current","read_goal","discover"]'
check "c: blocks not processed are the rest" \
  report_is "$idc" '.blocks_not_processed' '["sync_check","apply_ensure"]'
check "c: the event stream has the interrupt, no apply block" \
  bash -c "[[ '$(events_kinds "$idc")' == *interrupt* ]] && ! '$PEACE' events '$idc' | grep -qx apply_ensure"

# d. ---------------------------------------------------------------------------
sleep_flow "$T/done.json" it done done 1 1 1
idd=$(submit "$T/done.json" --cmd discover)
wait_finished 30 "$idd"
check "d: the execution completed" meta_is "$idd" outcome complete
events_before=$(rcli XLEN "peace:exec:{$idd}:events")
"$PEACE" events "$idd" >"$T/d.events"
finished_before=$(meta "$idd" finished_ms)
rcli PUBLISH "peace:exec:{$idd}:interrupt" 'too late' >/dev/null
"$PEACE" interrupt "$idd" >"$T/d.out"
check "d: peace interrupt says it already finished" grep -q 'already finished' "$T/d.out"
# (checked again after e: the worker handles its interrupt messages in
# order, so once it has acted on e's message it has seen this one)

# e. ---------------------------------------------------------------------------
diamond_flow "$T/e.json" e
"$PEACE" run "$T/e.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of the diamond failed"
ide=$(submit "$T/e.json" --cmd ensure)
wait_for 30 "one and two running in the apply block" e_running "$ide"
rcli PUBLISH "peace:exec:{$ide}:interrupt" 'mid block' >/dev/null
wait_finished 30 "$ide"
check "e: mid-block interrupt ends block_interrupted" meta_is "$ide" outcome block_interrupted
check "e: the worker recorded the raw PUBLISH's reason" meta_is "$ide" interrupt_reason 'mid block'
check "e: items processed are exactly the two running" report_is "$ide" '.items_processed' '["one","two"]'
check "e: items not processed are the other two, in flow order" \
  report_is "$ide" '.items_not_processed' '["three","four"]'
check "e: the running items finished their apply" test -f "$WORLD/it/e/one.done" -a -f "$WORLD/it/e/two.done"
check "e: the others never started" test ! -e "$WORLD/it/e/three.done" -a ! -e "$WORLD/it/e/four.done"
check "e: stored current states keep the applied items" \
  test "$(fleet_states it e diamond current | jq -c '[.one.done, .two.done, .three.done, .four.done]')" = \
  '[true,true,false,false]'
check "e: progress shows the others as not run" \
  test "$(ppart "$ide" three status)" != success
check "e: progress shows the others interrupted" \
  test "$(ppart "$ide" three status) $(ppart "$ide" four status)" = "interrupted interrupted"
check "e: one interrupt event lists the items it stopped, in flow order" \
  test "$(events_field "$ide" interrupt items)" = "three,four"
check "e: ... and no progress event each" test "$(progress_events_with "$ide" interrupted)" = 0
log "e: events view: $(events_view "$ide" | tr '\n' ' ')"
check "e: a follower replaying the events ends with the progress hash's statuses" \
  test "$(events_view "$ide")" = "$(hash_view "$ide")"

check "d: a PUBLISH after the end recorded nothing" test -z "$(meta "$idd" interrupt_requested_ms)"
check "d: ... wrote no event" test "$(rcli XLEN "peace:exec:{$idd}:events")" = "$events_before"
check "d: ... and a follower reads the same events" diff "$T/d.events" <("$PEACE" events "$idd")
check "d: ... left the outcome and finish time" \
  test "$(meta "$idd" outcome) $(meta "$idd" finished_ms)" = "complete $finished_before"

# f. ---------------------------------------------------------------------------
diamond_flow "$T/f.json" f
"$PEACE" run "$T/f.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of the diamond failed"
"$PEACE" run "$T/f.json" --cmd ensure >"$T/f.out" 2>&1 &
runner=$!
PIDS+=("$runner")
wait_for 30 "one and two running" bash -c "grep -q 'one: running' '$T/f.out' && grep -q 'two: running' '$T/f.out'"
kill -INT "$runner"
wait "$runner"
rc=$?
idf=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/f.out" | head -1)
check "f: Ctrl-C of peace run exits 2" test $rc -eq 2
check "f: the outcome is block_interrupted" grep -q 'outcome: block_interrupted' "$T/f.out"
check "f: in-flight items were processed" grep -q 'items processed: one, two' "$T/f.out"
check "f: the others were not" grep -q 'items not processed: three, four' "$T/f.out"
check "f: the CLI recorded its reason" meta_is "$idf" interrupt_reason 'Ctrl-C in the peace CLI'
check "f: the others never started" test ! -e "$WORLD/it/f/three.done"
check "f: the follower shows the stopped items interrupted (the interrupt event's items)" \
  bash -c "grep -q 'three: interrupted' '$T/f.out' && grep -q 'four: interrupted' '$T/f.out'"
check "the worker is still running" worker_alive w1

finish
