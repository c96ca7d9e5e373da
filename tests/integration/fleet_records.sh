#!/usr/bin/env bash
# What a worker leaves in Redis (docs/fleet.md "Finish", "Start"):
#  1. a finished execution: its queue entry acknowledged and deleted (XLEN 0,
#     nothing pending), its events in order (block_start, one progress entry
#     per item, outcome; synthesised, as it is short and unfollowed, so it has
#     no stream), meta and progress complete, every key with the retention
#     TTL, the profile lock released;
#  2. a job queued without its meta hash still runs, and the worker fills
#     the descriptive fields in (exec_start's long form);
#  3. an execution with no attempt left is finished `rejected` ("gave up"),
#     dead-lettered and acknowledged (exec_start's long form);
#  4. a discover writes both states maps (one states_write call) that decode
#     to what the items discovered;
#  5. a backlog of events does not wait for the flush timer: with a flush
#     interval far longer than the run, a 60-item chain's events are in the
#     stream while its last item still runs (the outcome write stays small).
PEACE=${1:?usage: fleet_records.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
Q='peace:queue:{default}'

redis_start
worker_start w1 --concurrency 2 --max-attempts 2 --retention-s 3600
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"

mkdir -p "$WORLD/rec"
cat >"$T/f.json" <<EOF
{"app":"rec","profile":"p1","flow":"f","items":[
 {"id":"a","type":"file","params":{"path":"$WORLD/rec/a.conf","content":"a\n","mode":"0644"}},
 {"id":"b","type":"file","deps":["a"],"params":{"path":"$WORLD/rec/b.conf","content":"b\n","mode":"0644"}}]}
EOF

# 1. ---------------------------------------------------------------------------
id=$(submit "$T/f.json" --cmd discover)
wait_finished 20 "$id" || fatal "execution $id did not finish"
# The events as a follower reads them (a short, unfollowed execution has no
# stream: its events are synthesised, docs/fleet.md "Events on demand").
kinds() { "$PEACE" events "$1" | awk 'prev == "kind" { print } { prev = $0 }' | paste -sd' '; }
ttl_ok() { t=$(rcli TTL "$1"); [ "$t" -gt 3500 ] && [ "$t" -le 3600 ]; }
check "1: outcome complete" meta_is "$id" outcome complete
check "1: the queue entry is deleted once acknowledged" test "$(rcli XLEN "$Q")" = 0
check "1: nothing pending" test "$(rcli XPENDING "$Q" workers | head -1)" = 0
check "1: events in order: block_start, a, b, outcome" \
  test "$(kinds "$id")" = "block_start progress progress outcome"
check "1: the items' final statuses in the events" bash -c \
  "'$PEACE' events '$id' | grep -c '^success$' | grep -qx 2"
check "1: started_ms, finished_ms, items_done" bash -c \
  "test -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id}' started_ms)\" &&
   test -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id}' finished_ms)\" &&
   test \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id}' items_done)\" = 2"
check "1: progress of both items" pstatus_is "$id" b success
check "1: meta keeps its retention" ttl_ok "peace:exec:{$id}"
check "1: progress keeps its retention" ttl_ok "peace:exec:{$id}:progress"
check "1: short and unfollowed: no events stream (events layout 2)" \
  test "$(rcli EXISTS "peace:exec:{$id}:events")" = 0
check "1: no scratch key left" test "$(rcli EXISTS "peace:exec:{$id}:events:compact")" = 0
check "1: the profile lock is released" test "$(rcli EXISTS 'peace:lock:{rec:p1}')" = 0
check "1: peace report reads it" test "$("$PEACE" report "$id" --json | jq -r .outcome)" = complete

# 2. ---------------------------------------------------------------------------
worker_stop w1
id2=$(submit "$T/f.json" --cmd discover)
rcli DEL "peace:exec:{$id2}" >/dev/null
worker_start w2 --concurrency 2 --max-attempts 2 --retention-s 3600
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"
wait_finished 20 "$id2"
check "2: a job without its meta runs" meta_is "$id2" outcome complete
check "2: the worker filled in the descriptive fields" bash -c \
  "test \"\$(redis-cli -p $REDIS_PORT HMGET 'peace:exec:{$id2}' id cmd app profile flow queue items_total | paste -sd,)\" = '$id2,discover,rec,p1,f,default,2'"

# 3. ---------------------------------------------------------------------------
worker_stop w2
id3=$(submit "$T/f.json" --cmd discover)
rcli HSET "peace:exec:{$id3}" attempt 2 >/dev/null # both attempts used
worker_start w3 --concurrency 2 --max-attempts 2 --retention-s 3600
wait_for 20 "worker w3" worker_ready w3 || fatal "worker w3 not ready"
wait_finished 20 "$id3"
check "3: no attempt left: rejected" meta_is "$id3" outcome rejected
check "3: the reason says so" bash -c \
  "redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id3}' error | grep -q 'gave up after 2 attempts'"
check "3: dead-lettered" bash -c "redis-cli -p $REDIS_PORT XRANGE peace:dead - + | grep -qx '$id3'"
wait_for 10 "the gave-up entry to be acknowledged" \
  bash -c "test \$(redis-cli -p $REDIS_PORT XLEN '$Q') = 0"
check "3: acknowledged and deleted" test "$(rcli XLEN "$Q")" = 0

# 4. ---------------------------------------------------------------------------
check "4: current states as discovered" \
  test "$(fleet_states rec p1 f current)" = "$(local_discover "$T/f.json" current)"
check "4: goal states as discovered" \
  test "$(fleet_states rec p1 f goal)" = "$(local_discover "$T/f.json" goal)"

# 5. ---------------------------------------------------------------------------
worker_stop w3
worker_start w4 --concurrency 2 --progress-flush-ms 10000 --retention-s 3600
wait_for 20 "worker w4" worker_ready w4 || fatal "worker w4 not ready"
mkdir -p "$WORLD/backlog"
{
  printf '{"app":"rec","profile":"backlog","flow":"f","items":['
  for i in $(seq 1 60); do
    deps=
    [ "$i" -gt 1 ] && deps=",\"deps\":[\"s$((i - 1))\"]"
    printf '{"id":"s%d","type":"sleep"%s,"params":{"steps":1,"step_ms":1,"marker":"%s/s%d.done"}},' \
      "$i" "$deps" "$WORLD/backlog" "$i"
  done
  printf '{"id":"last","type":"sleep","deps":["s60"],"params":{"steps":60,"step_ms":100,"marker":"%s/last.done"}}]}\n' \
    "$WORLD/backlog"
} >"$T/backlog.json"
id5=$(submit "$T/backlog.json" --cmd discover)
wait_finished 20 "$id5" || fatal "discover $id5 did not finish"
id6=$(submit "$T/backlog.json" --cmd ensure)
events_len() { rcli XLEN "peace:exec:{$id6}:events"; }
# Each of the 60 items records queued, running and success: 180 events.
wait_for 5 "the backlog of $id6 to be written" bash -c \
  "test \$(redis-cli -p $REDIS_PORT XLEN 'peace:exec:{$id6}:events') -ge 128"
check "5: the backlog is written while the last item runs" bash -c \
  "test \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id6}' status)\" = running &&
   test \$(redis-cli -p $REDIS_PORT XLEN 'peace:exec:{$id6}:events') -ge 128"
wait_finished 20 "$id6" || fatal "ensure $id6 did not finish"
check "5: outcome last" test "$(kinds "$id6" | awk '{print $NF}')" = outcome
check "5: every item's success in the stream" bash -c \
  "redis-cli -p $REDIS_PORT XRANGE 'peace:exec:{$id6}:events' - + | grep -c '^success$' | grep -qx 61"

finish
