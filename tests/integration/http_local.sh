#!/usr/bin/env bash
# The HTTP API of `peace run FLOW --local --listen` answers as
# peace-scheduler does: the same flow (four chained sleep items) is ensured
# once on the fleet (redis-server, a worker, the scheduler; submitted through
# the API) and once as a local run with --listen, both with the same --token
# and --read-token; http_compare.py then sends every request of its list to
# both and compares status, media type and JSON (ids and times normalised),
# the event streams by kind, and the error codes of unknown ids, bad bodies,
# missing and read-only tokens, foreign Host and Origin.
SCHED=${1:?usage: http_local.sh PATH/TO/peace-scheduler PATH/TO/peace PATH/TO/peace-worker}
PEACE=${2:?}
WORKER=${3:?}
. "$(dirname "$0")/lib.sh"

TOKEN=cmp-all-scope-token
READ=cmp-read-token
APP=cmp
PROFILE=p
FLOW=sleepers
here=$(cd "$(dirname "$0")" && pwd)

redis_start
worker_start w1
wait_for 10 "worker w1 to join" worker_ready w1 || fatal "the worker did not start"

"$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 --token "$TOKEN" --read-token "$READ" \
  >"$T/scheduler.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/scheduler.log" ||
  fatal "the scheduler did not start: $(cat "$T/scheduler.log")"
SPORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+) .*/\1/p' "$T/scheduler.log" | head -1)
FLEET=http://127.0.0.1:$SPORT

# One flow file for both: markers relative to each runner's directory.
cat >"$T/flow.json" <<JSON
{"app":"$APP","profile":"$PROFILE","flow":"$FLOW","items":[
 {"id":"s1","type":"sleep","params":{"steps":4,"step_ms":50,"marker":"m/s1.done"}},
 {"id":"s2","type":"sleep","deps":["s1"],"params":{"steps":4,"step_ms":50,"marker":"m/s2.done"}},
 {"id":"s3","type":"sleep","deps":["s2"],"params":{"steps":4,"step_ms":50,"marker":"m/s3.done"}},
 {"id":"s4","type":"sleep","deps":["s3"],"params":{"steps":4,"step_ms":50,"marker":"m/s4.done"}}]}
JSON
mkdir -p "$WORLD/m" "$T/local/m"

# The fleet: discover, then ensure, through the API.
api_submit() {
  jq -c --arg cmd "$1" '{cmd: $cmd, flow: .}' "$T/flow.json" |
    curl -fsS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
      --data-binary @- "$FLEET/v1/executions" | jq -r .id
}
DISC=$(api_submit discover)
wait_finished 30 "$DISC" || fatal "the fleet discover did not finish"
FID=$(api_submit ensure)
wait_finished 60 "$FID" || fatal "the fleet ensure did not finish"
check "the fleet run is complete" meta_is "$FID" outcome complete

# The local run, the same flow and tokens, kept serving after its outcome.
(cd "$T/local" && "$PEACE" run "$T/flow.json" --local --cmd discover --no-progress) >"$T/local-discover.log" 2>&1 ||
  fatal "the local discover failed: $(cat "$T/local-discover.log")"
(cd "$T/local" && exec "$PEACE" run "$T/flow.json" --local --no-progress --listen 127.0.0.1:0 \
  --token "$TOKEN" --read-token "$READ" --exit-after-s 120) >"$T/local.log" 2>&1 &
LOCAL_PID=$!
PIDS+=("$LOCAL_PID")
wait_for 20 "the local run's URL" grep -q 'dashboard of execution' "$T/local.log" ||
  fatal "the local run did not serve: $(cat "$T/local.log")"
LID=$(sed -nE 's/.*dashboard of execution ([0-9A-Z]+): .*/\1/p' "$T/local.log")
LOCAL=$(sed -nE 's/.*dashboard of execution [0-9A-Z]+: (http:[^#]*).*/\1/p' "$T/local.log")
LOCAL=${LOCAL%/}
log "fleet $FLEET $FID, local $LOCAL $LID"
local_done() {
  curl -fsS -H "Authorization: Bearer $TOKEN" "$LOCAL/v1/executions/$LID" | jq -e '.execution.status == "finished"'
}
wait_for 60 "the local run to finish" local_done || fatal "the local run did not finish"
check "the local run is complete and still serving" \
  bash -c "curl -fsS -H 'Authorization: Bearer $TOKEN' '$LOCAL/v1/executions/$LID' | jq -e '.execution.outcome == \"complete\"'"

if python3 "$here/http_compare.py" "$FLEET" "$FID" "$LOCAL" "$LID" "$TOKEN" "$READ" "$APP" "$PROFILE" "$FLOW" \
  >"$T/compare.out" 2>&1; then
  cmp_ok=0
else
  cmp_ok=1
fi
cat "$T/compare.out"
check "the local run's API answers as peace-scheduler's ($(grep -c '^ok' "$T/compare.out") checks)" [ "$cmp_ok" -eq 0 ]

# Ctrl-C after the outcome stops serving; the exit status is the outcome's.
kill -INT "$LOCAL_PID"
wait_for 10 "the local run to exit" bash -c "! kill -0 $LOCAL_PID 2>/dev/null"
wait "$LOCAL_PID"
check "Ctrl-C after the outcome ends the local run with the outcome's status (0)" [ "$?" -eq 0 ]
# POST .../interrupt?wait=MS while running, on both: a short wait answers
# after MS with no outcome yet; a long one (a cancel, escalating) waits for
# the outcome; both answers are the fleet's, ids and times aside.
cat >"$T/long.json" <<JSON
{"app":"$APP","profile":"long","flow":"$FLOW","items":[
 {"id":"l1","type":"sleep","params":{"steps":200,"step_ms":50,"marker":"m/l1.done"}}]}
JSON
api_interrupt() { # BASE ID QUERY BODY: the answer, then its time on the last line
  curl -sS -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d "$4" \
    -w '\n%{time_total}\n' "$1/v1/executions/$2/interrupt$3"
}
item_running() { # BASE ID: l1 has advanced
  curl -fsS -H "Authorization: Bearer $TOKEN" "$1/v1/executions/$2" | jq -e '.items[0].done > 0'
}
norm='def n: if type == "object" then with_entries(if (.key == "id" or (.key | endswith("_ms")))
  then .value = (.value | type) else .value |= n end) else . end; n'
jq -c '{cmd: "discover", flow: .}' "$T/long.json" | curl -fsS -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data-binary @- "$FLEET/v1/executions" >/dev/null
LDISC=$(jq -c '{cmd: "discover", flow: .}' "$T/long.json" | curl -fsS -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data-binary @- "$FLEET/v1/executions" | jq -r .id)
wait_finished 30 "$LDISC" || fatal "the long flow's fleet discover did not finish"
FID3=$(jq -c '{cmd: "ensure", flow: .}' "$T/long.json" | curl -fsS -H "Authorization: Bearer $TOKEN" \
  -H 'Content-Type: application/json' --data-binary @- "$FLEET/v1/executions" | jq -r .id)
mkdir -p "$T/local3/m"
(cd "$T/local3" && "$PEACE" run "$T/long.json" --local --cmd discover --no-progress) >/dev/null 2>&1 ||
  fatal "the long flow's local discover failed"
(cd "$T/local3" && exec "$PEACE" run "$T/long.json" --local --no-progress --listen 127.0.0.1:0 \
  --token "$TOKEN" --exit-after-s 120) >"$T/local3.log" 2>&1 &
LOCAL3_PID=$!
PIDS+=("$LOCAL3_PID")
wait_for 20 "the third local run's URL" grep -q 'dashboard of execution' "$T/local3.log" ||
  fatal "the third local run did not serve: $(cat "$T/local3.log")"
LID3=$(sed -nE 's/.*dashboard of execution ([0-9A-Z]+): .*/\1/p' "$T/local3.log")
LOCAL3=$(sed -nE 's/.*dashboard of execution [0-9A-Z]+: (http:[^#]*).*/\1/p' "$T/local3.log")
LOCAL3=${LOCAL3%/}
wait_for 30 "the fleet's long ensure to run" item_running "$FLEET" "$FID3" || fatal "the fleet's long ensure did not run"
wait_for 30 "the local long ensure to run" item_running "$LOCAL3" "$LID3" || fatal "the local long ensure did not run"
for side in fleet local; do
  if [ $side = fleet ]; then base=$FLEET xid=$FID3; else base=$LOCAL3 xid=$LID3; fi
  api_interrupt "$base" "$xid" '?wait=400' '{"mode":"finish","reason":"wait test"}' >"$T/w1.$side"
  check "$side: interrupt?wait=400 of a running execution answers after 400 ms, no outcome yet" \
    bash -c "head -1 '$T/w1.$side' | jq -e '.status == \"running\" and .requested and .outcome == null and .finished_ms == null and .mode_in_effect == \"finish\"' &&
      awk 'END { exit !(\$1 >= 0.4) }' '$T/w1.$side'"
  api_interrupt "$base" "$xid" '?wait=30000' '{"mode":"cancel"}' >"$T/w2.$side"
  check "$side: interrupt?wait=30000 (a cancel) answers with the outcome" \
    bash -c "head -1 '$T/w2.$side' | jq -e '.status == \"finished\" and .outcome == \"block_interrupted\" and .mode_in_effect == \"cancel\" and .finished_ms >= .requested_ms and .finished_ms >= .latched_ms'"
done
log "fleet: $(head -1 "$T/w2.fleet")"
log "local: $(head -1 "$T/w2.local")"
check "interrupt?wait: the local run's answer is the fleet's (ids and times aside)" \
  [ "$(head -1 "$T/w2.fleet" | jq -S "$norm")" = "$(head -1 "$T/w2.local" | jq -S "$norm")" ]
kill -INT "$LOCAL3_PID"
wait_for 10 "the third local run to exit" bash -c "! kill -0 $LOCAL3_PID 2>/dev/null"

# peace interrupt --wait against a local run's API: the receipt of the
# in-process engine (mode in effect, latched at once, the outcome).
mkdir -p "$T/local2"
(cd "$T/local2" && "$PEACE" run "$T/long.json" --local --cmd discover --no-progress) >/dev/null 2>&1 ||
  fatal "the long flow's local discover failed"
(cd "$T/local2" && exec "$PEACE" run "$T/long.json" --local --no-progress --listen 127.0.0.1:0 \
  --token "$TOKEN" --exit-after-s 120) >"$T/local2.log" 2>&1 &
LOCAL2_PID=$!
PIDS+=("$LOCAL2_PID")
wait_for 20 "the second local run's URL" grep -q 'dashboard of execution' "$T/local2.log" ||
  fatal "the second local run did not serve: $(cat "$T/local2.log")"
LID2=$(sed -nE 's/.*dashboard of execution ([0-9A-Z]+): .*/\1/p' "$T/local2.log")
LOCAL2=$(sed -nE 's/.*dashboard of execution [0-9A-Z]+: (http:[^#]*).*/\1/p' "$T/local2.log")
LOCAL2=${LOCAL2%/}
"$PEACE" interrupt "$LID2" --server "$LOCAL2" --token "$TOKEN" --mode cancel --wait --json >"$T/lreceipt.json" 2>&1
rc=$?
log "local receipt: $(cat "$T/lreceipt.json")"
check "interrupt --wait of a local run: exit 2, the receipt with the outcome and the mode" \
  eval '[ $rc -eq 2 ] && jq -e ".outcome == \"block_interrupted\" and .mode == \"cancel\" and .escalations == 0" "$T/lreceipt.json"'
check "... latched at the request (the engine is in the process) and finished after it" \
  jq -e '.latched_ms == .requested_ms and .finished_ms >= .latched_ms' "$T/lreceipt.json"
check "... the cancel cut the running item" \
  bash -c "curl -fsS -H 'Authorization: Bearer $TOKEN' '$LOCAL2/v1/executions/$LID2' | jq -e '.report.items_interrupted == [\"l1\"]'"
kill -INT "$LOCAL2_PID"
wait_for 10 "the second local run to exit" bash -c "! kill -0 $LOCAL2_PID 2>/dev/null"
wait "$LOCAL2_PID"
check "... and its exit status is the outcome's (2)" [ "$?" -eq 2 ]
finish
