#!/usr/bin/env bash
# The `peace` CLI against a real redis-server, without any worker: what it
# writes when it submits, and how it reads what a worker would write (here
# written by hand with redis-cli, field by field as CONTRACT §3 names them).
#  1. unreachable Redis and a bad flow: exit 1, one line, nothing queued;
#  2. run --detach: meta hash, index and queue entry as docs/fleet.md says;
#  3. list (newest first, --limit, --json), status (text and JSON), unknown ids;
#  4. interrupt: marker recorded and published once, "already requested",
#     "already finished" without effect, unknown id exits 1;
#  5. report of a rejected execution and of one not finished yet;
#  6. watch and run follow hand-written events to the outcome, with the exit
#     status of CONTRACT §7; Ctrl-C records the marker and keeps following;
#     a second Ctrl-C exits 130 at once;
#  7. states decodes msgpack values to JSON, and refuses a corrupt one.
PEACE=${1:?usage: cli_redis.sh PATH/TO/peace}
. "$(dirname "$0")/lib.sh"

redis_start
sleep_flow "$T/sleep.json" demo p1 sleepers 2 10 2

# 1. -------------------------------------------------------------------------
"$PEACE" list --redis redis://127.0.0.1:1 >"$T/o1" 2>&1
rc=$?
check "unreachable Redis exits 1" test $rc -eq 1
check "unreachable Redis: one line naming the server" \
  bash -c "test \$(wc -l <'$T/o1') -eq 1 && grep -q '127.0.0.1:1' '$T/o1'"
"$PEACE" list --redis 'redis://u:topsecret@127.0.0.1:1' >"$T/o1b" 2>&1
check "the password is never printed" bash -c "! grep -q topsecret '$T/o1b'"
"$PEACE" list --redis 'http://x' >"$T/o1c" 2>&1
rc=$?
check "a bad URL exits 1 with a reason" bash -c "test $rc -eq 1 && grep -q 'redis://' '$T/o1c'"

printf '{"app":"a","profile":"p","flow":"f","items":[{"id":"x","type":"sleep","deps":["y"]}]}' >"$T/bad.json"
"$PEACE" run "$T/bad.json" >"$T/o2" 2>&1
rc=$?
check "a bad flow exits 1" test $rc -eq 1
check "a bad flow names the problem on one line" \
  bash -c "test \$(wc -l <'$T/o2') -eq 1 && grep -q 'y' '$T/o2'"
check "a bad flow queues nothing" test "$(rcli EXISTS 'peace:queue:{default}' peace:execs)" = 0
"$PEACE" run "$T/sleep.json" --queue 'no good' >"$T/o2b" 2>&1
rc=$?
check "a bad queue name exits 1 and queues nothing" \
  bash -c "test $rc -eq 1 && test \"\$(redis-cli -p $REDIS_PORT EXISTS peace:execs)\" = 0"

# 2. -------------------------------------------------------------------------
before=$(now_ms)
id1=$(submit "$T/sleep.json" --cmd discover)
rc=$?
after=$(now_ms)
check "run --detach exits 0" test $rc -eq 0
check "run --detach prints a ULID" bash -c "[[ '$id1' =~ ^[0-7][0-9A-HJKMNP-TV-Z]{25}$ ]]"
check "meta: status queued" meta_is "$id1" status queued
check "meta: id, cmd, app, profile, flow, queue" bash -c "
  test \"\$(redis-cli -p $REDIS_PORT HMGET 'peace:exec:{$id1}' id cmd app profile flow queue | tr '\n' ' ')\" = \
       '$id1 discover demo p1 sleepers default '"
check "meta: attempt 0, items_done 0, items_total 2, blocks_total 1" bash -c "
  test \"\$(redis-cli -p $REDIS_PORT HMGET 'peace:exec:{$id1}' attempt items_done items_total blocks_total | tr '\n' ' ')\" = '0 0 2 1 '"
created=$(meta "$id1" created_ms)
check "meta: created_ms is the submit time" test "$created" -ge "$before" -a "$created" -le "$after"
check "peace:execs scores the id by created_ms" test "$(rcli ZSCORE peace:execs "$id1")" = "$created"
check "the queue holds one entry naming the execution" bash -c "
  test \"\$(redis-cli -p $REDIS_PORT XLEN 'peace:queue:{default}')\" = 1 &&
  redis-cli -p $REDIS_PORT XRANGE 'peace:queue:{default}' - + | grep -qx '$id1'"
check "the queue entry carries a job" bash -c "
  redis-cli -p $REDIS_PORT XRANGE 'peace:queue:{default}' - + | grep -qx job"
check "the consumer group exists from the stream's start (jobs queued before any worker are delivered)" \
  bash -c "redis-cli -p $REDIS_PORT XINFO GROUPS 'peace:queue:{default}' | grep -qx workers &&
           redis-cli -p $REDIS_PORT XINFO GROUPS 'peace:queue:{default}' | grep -A1 -x last-delivered-id | grep -qx 0-0"
id2=$(submit "$T/sleep.json" --cmd ensure --queue other --json | jq -r .id)
check "run --detach --json gives {\"id\"}" bash -c "[[ '$id2' =~ ^[0-7][0-9A-HJKMNP-TV-Z]{25}$ ]]"
check "--queue selects the stream" test "$(rcli XLEN 'peace:queue:{other}')" = 1

# 3. -------------------------------------------------------------------------
"$PEACE" list >"$T/o3"
check "list: newest first" bash -c "test \"\$(awk 'NR==2{print \$1} NR==3{print \$1}' '$T/o3' | tr '\n' ' ')\" = '$id2 $id1 '"
check "list --limit 1 shows the newest only" \
  test "$("$PEACE" list --limit 1 --json | jq -r 'map(.id) | join(",")')" = "$id2"
check "list --json has numbers for times and counters" \
  test "$("$PEACE" list --json | jq -r '.[1] | "\(.cmd) \(.status) \(.created_ms + 0) \(.attempt + 0)"')" = \
  "discover queued $created 0"
"$PEACE" status "$id1" >"$T/o4"
check "status shows the meta" bash -c "grep -q 'status: queued' '$T/o4' && grep -q 'cmd: discover' '$T/o4'"
check "status --json: meta, progress and a null report" \
  test "$("$PEACE" status "$id1" --json | jq -r '"\(.meta.status) \(.meta.items_total) \(.progress | length) \(.report)"')" = \
  "queued 2 0 null"
"$PEACE" status 01ARZ3NDEKTSV4RRFFQ69G5FAV >"$T/o5" 2>&1
rc=$?
check "status of an unknown id exits 1 saying not found" bash -c "test $rc -eq 1 && grep -q 'not found' '$T/o5'"
"$PEACE" status 'bad}id' >"$T/o5b" 2>&1
rc=$?
check "a malformed id exits 1" test $rc -eq 1

# 4. -------------------------------------------------------------------------
chan="peace:exec:{$id1}:interrupt"
redis-cli -p "$REDIS_PORT" SUBSCRIBE "$chan" >"$T/sub.out" &
sub=$!
PIDS+=("$sub")
wait_for 10 "the subscriber" bash -c "test \"\$(redis-cli -p $REDIS_PORT PUBSUB NUMSUB '$chan' | tail -1)\" = 1"
"$PEACE" interrupt "$id1" --reason 'from the test' >"$T/o6"
rc=$?
check "interrupt exits 0" test $rc -eq 0
check "interrupt records interrupt_requested_ms" bash -c "test -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id1}' interrupt_requested_ms)\""
check "interrupt records the reason" meta_is "$id1" interrupt_reason 'from the test'
wait_for 10 "the published reason" grep -q 'from the test' "$T/sub.out"
check "interrupt publishes the reason on the interrupt channel" grep -q 'from the test' "$T/sub.out"
first_ms=$(meta "$id1" interrupt_requested_ms)
check "a second interrupt says it was already requested" \
  test "$("$PEACE" interrupt "$id1" --reason again --json | jq -r .result)" = already_requested
check "the first request is kept" bash -c "test \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id1}' interrupt_reason)\" = 'from the test' && test \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id1}' interrupt_requested_ms)\" = '$first_ms'"
"$PEACE" interrupt 01ARZ3NDEKTSV4RRFFQ69G5FAV >"$T/o7" 2>&1
rc=$?
check "interrupt of an unknown id exits 1 saying not found" bash -c "test $rc -eq 1 && grep -q 'not found' '$T/o7'"
check "interrupt of an unknown id creates nothing" test "$(rcli EXISTS 'peace:exec:{01ARZ3NDEKTSV4RRFFQ69G5FAV}')" = 0
rcli HSET "peace:exec:{$id2}" status finished outcome complete >/dev/null
"$PEACE" interrupt "$id2" >"$T/o8"
rc=$?
check "interrupt of a finished execution: no effect" bash -c "test $rc -eq 0 && grep -q 'already finished' '$T/o8' && test -z \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id2}' interrupt_requested_ms)\""

# 5. -------------------------------------------------------------------------
"$PEACE" report "$id1" >"$T/o9" 2>&1
rc=$?
check "report of a queued execution exits 1: no report yet" bash -c "test $rc -eq 1 && grep -q 'no report yet' '$T/o9'"
id3=$(submit "$T/sleep.json")
rcli HSET "peace:exec:{$id3}" status finished outcome rejected error 'unknown item type nope' >/dev/null
"$PEACE" report "$id3" >"$T/o10"
check "report of a rejected execution shows outcome and error" \
  bash -c "grep -q 'outcome: rejected' '$T/o10' && grep -q 'unknown item type nope' '$T/o10'"
check "report --json of a rejected execution" \
  test "$("$PEACE" report "$id3" --json | jq -r '"\(.outcome): \(.error)"')" = "rejected: unknown item type nope"

# 6. -------------------------------------------------------------------------
# A hand-made worker: the events of a discover of s1 and s2, then the outcome.
fake_run() { # ID OUTCOME
  local id=$1 outcome=$2 ev="peace:exec:{$1}:events"
  rcli HSET "peace:exec:{$id}" status running worker fake attempt 1 >/dev/null
  rcli XADD "$ev" '*' kind block_start block discover index 0 >/dev/null
  rcli XADD "$ev" '*' kind progress item s1 status running done 1 limit steps:2 msg '' >/dev/null
  rcli XADD "$ev" '*' kind progress item s1 status success done 2 limit steps:2 msg 'done!' >/dev/null
  rcli XADD "$ev" '*' kind progress item s2 status success done 2 limit steps:2 msg 'done!' >/dev/null
  rcli HSET "peace:exec:{$id}" status finished outcome "$outcome" >/dev/null
  rcli XADD "$ev" '*' kind outcome outcome "$outcome" >/dev/null
}
id4=$(submit "$T/sleep.json" --cmd discover)
fake_run "$id4" complete
"$PEACE" watch "$id4" >"$T/o11" 2>&1
rc=$?
check "watch of a complete execution exits 0" test $rc -eq 0
check "watch renders block and item progress from the events" \
  bash -c "grep -q 'block 1/1: discover' '$T/o11' && grep -q 's1: success' '$T/o11' && grep -q 's2: success' '$T/o11'"
check "watch ends with the outcome" grep -q 'outcome: complete' "$T/o11"
id5=$(submit "$T/sleep.json")
fake_run "$id5" item_error
"$PEACE" watch "$id5" --json >"$T/o12" 2>/dev/null
rc=$?
check "watch of an item_error exits 1" test $rc -eq 1
check "watch --json prints the outcome JSON on stdout" test "$(jq -r .outcome <"$T/o12")" = item_error
# With its queue entry gone, watch names the bars from the progress hash.
id5b=$(submit "$T/sleep.json" --cmd discover)
entry=$(rcli XRANGE 'peace:queue:{default}' - + | awk -v id="$id5b" '/^[0-9]+-[0-9]+$/ { e = $0 } $0 == id { print e }')
rcli XDEL 'peace:queue:{default}' "$entry" >/dev/null
rcli HSET "peace:exec:{$id5b}:progress" s1.status success s2.status success >/dev/null
fake_run "$id5b" complete
"$PEACE" watch "$id5b" >"$T/o12b" 2>&1
rc=$?
check "watch without the queue entry takes item names from the progress hash" \
  bash -c "test $rc -eq 0 && test -n '$entry' && grep -q 's1: success' '$T/o12b' && grep -q 's2: success' '$T/o12b'"
id6=$(submit "$T/sleep.json")
rcli HSET "peace:exec:{$id6}" status finished outcome rejected error 'bad job' >/dev/null
"$PEACE" watch "$id6" >"$T/o13" 2>&1
rc=$?
check "watch of a rejected execution (no events) ends, exit 1" \
  bash -c "test $rc -eq 1 && grep -q 'outcome: rejected' '$T/o13'"

# run: follows what it submitted; Ctrl-C records the marker and keeps following.
"$PEACE" run "$T/sleep.json" >"$T/o14" 2>&1 &
runner=$!
PIDS+=("$runner")
wait_for 10 "run to print its execution id" grep -q 'execution ' "$T/o14"
id7=$(sed -n 's/.*execution \([0-9A-Z]*\) .*/\1/p' "$T/o14" | head -1)
rcli HSET "peace:exec:{$id7}" status running >/dev/null
rcli XADD "peace:exec:{$id7}:events" '*' kind block_start block apply_ensure index 4 >/dev/null
wait_for 10 "run to render the block" grep -q 'apply' "$T/o14"
kill -INT "$runner"
wait_for 10 "the interrupt marker" bash -c "test -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id7}' interrupt_requested_ms)\""
check "Ctrl-C records interrupt_requested_ms" test -n "$(meta "$id7" interrupt_requested_ms)"
check "run keeps following after Ctrl-C" kill -0 "$runner"
rcli XADD "peace:exec:{$id7}:events" '*' kind interrupt reason 'Ctrl-C' >/dev/null
rcli HSET "peace:exec:{$id7}" status finished outcome block_interrupted >/dev/null
rcli XADD "peace:exec:{$id7}:events" '*' kind outcome outcome block_interrupted >/dev/null
wait "$runner"
rc=$?
check "an interrupted run exits 2" test $rc -eq 2
check "run prints the outcome" grep -q 'outcome: block_interrupted' "$T/o14"

"$PEACE" run "$T/sleep.json" >"$T/o15" 2>&1 &
runner=$!
PIDS+=("$runner")
wait_for 10 "run to print its execution id" grep -q 'execution ' "$T/o15"
id8=$(sed -n 's/.*execution \([0-9A-Z]*\) .*/\1/p' "$T/o15" | head -1)
kill -INT "$runner"
wait_for 10 "the interrupt marker" bash -c "test -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id8}' interrupt_requested_ms)\""
kill -INT "$runner"
wait "$runner"
rc=$?
check "a second Ctrl-C exits 130 at once" test $rc -eq 130
check "the execution is left to the fleet (still queued)" meta_is "$id8" status queued

# 7. -------------------------------------------------------------------------
skey='peace:states:{demo:p1}:sleepers'
printf '\x81\xa4done\xc3' | rcli -x HSET "$skey:current" s1 >/dev/null
printf '\xc0' | rcli -x HSET "$skey:current" s2 >/dev/null
printf '\x81\xa4done\xc3' | rcli -x HSET "$skey:goal" s1 >/dev/null
check "states --json decodes msgpack (nil is null)" \
  test "$("$PEACE" states demo p1 sleepers --json | jq -c '[.current.s1.done, .current.s2, .goal.s1.done, (.goal | length)]')" = \
  '[true,null,true,1]'
"$PEACE" states demo p1 sleepers >"$T/o16"
check "states text lists each item" \
  bash -c "grep -q 's1: {\"done\":true}' '$T/o16' && grep -q 's2: null' '$T/o16'"
check "states of an unknown flow are empty, exit 0" \
  test "$("$PEACE" states demo p1 nothing --json | jq -c '[.current, .goal]')" = '[{},{}]'
printf '\x81\xa4do' | rcli -x HSET "$skey:goal" s2 >/dev/null
"$PEACE" states demo p1 sleepers >"$T/o17" 2>&1
rc=$?
check "a corrupt stored state exits 1 naming the item" bash -c "test $rc -eq 1 && grep -q 's2' '$T/o17'"
"$PEACE" states demo 'p-1' sleepers >"$T/o18" 2>&1
rc=$?
check "states refuses a bad identifier" test $rc -eq 1

finish
