#!/usr/bin/env bash
# peace-scheduler's HTTP API (CONTRACT §5, docs/http-api.md) against a
# private redis-server, with curl:
#   start-up refusals (bad flag, unreachable Redis); the page, health and
#   metrics; bearer auth; malformed and oversize bodies (nothing queued);
#   routing errors; submit, list, get; events (replay, resume with
#   Last-Event-ID and ?last_event_id=, the browser's ?access_token=, live
#   follow to the outcome); interrupt
#   (202, requested or not, 404); states; two schedulers side by side; the
#   event-stream limit and its release on client disconnect; garbage
#   requests; Redis going away and coming back; SIGTERM.
# With a plugin (third argument, "-" for none): flows of its item type are
# accepted only by a scheduler started with --plugin. With a worker (fourth
# argument), also end to end: submit through the API, follow the events to
# the outcome, read the report and the stored states, and interrupt a
# running execution through the API.
SCHED=${1:?usage: http_api.sh PATH/TO/peace-scheduler PATH/TO/peace PLUGIN.so|- [PATH/TO/peace-worker]}
PEACE=${2:?}
PLUGIN=${3:--}
WORKER=${4:-}
. "$(dirname "$0")/lib.sh"

TOKEN=it-secret-token
declare -A SCHED_PID=()
declare -A SCHED_PORT=()

# sched_start NAME [flags...]: a scheduler on a free port (--listen :0 is
# resolved from its log line), logging to $T/NAME.log.
sched_start() {
  local name=$1 line=
  shift
  "$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 "$@" >"$T/$name.log" 2>&1 &
  SCHED_PID[$name]=$!
  PIDS+=("$!")
  wait_for 10 "scheduler $name to listen" grep -q 'listening on' "$T/$name.log" ||
    fatal "scheduler $name did not start: $(cat "$T/$name.log")"
  line=$(grep -m1 'listening on' "$T/$name.log")
  SCHED_PORT[$name]=$(sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/' <<<"$line")
  log "scheduler $name pid ${SCHED_PID[$name]} port ${SCHED_PORT[$name]}"
}
sched_alive() { kill -0 "${SCHED_PID[$1]}" 2>/dev/null; }

# req NAME METHOD PATH [curl args...]: sets STATUS, BODY (and HEADERS).
req() {
  local name=$1 method=$2 path=$3
  shift 3
  STATUS=$(curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' --max-time 10 \
    -X "$method" "http://127.0.0.1:${SCHED_PORT[$name]}$path" "$@")
  BODY=$(cat "$T/body")
  HEADERS=$(cat "$T/headers")
}
# api: req with the bearer token.
api() {
  local name=$1 method=$2 path=$3
  shift 3
  req "$name" "$method" "$path" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' "$@"
}
status_is() { [ "$STATUS" = "$1" ] || { echo "# status $STATUS, expected $1: $BODY"; return 1; }; }
code_is() { [ "$(jq -r .code <<<"$BODY" 2>/dev/null)" = "$1" ] || { echo "# body: $BODY"; return 1; }; }
body_is() { # JQ-EXPR EXPECTED
  local got
  got=$(jq -c "$1" <<<"$BODY" 2>/dev/null)
  [ "$got" = "$2" ] || { echo "# $1 is $got, expected $2 (body: ${BODY:0:300})"; return 1; }
}
# expect_error NAME METHOD PATH STATUS CODE [curl args...]
expect_error() {
  local name=$1 method=$2 path=$3 status=$4 code=$5
  shift 5
  api "$name" "$method" "$path" "$@"
  status_is "$status" && code_is "$code"
}
queued_nothing() { [ "$(rcli XLEN 'peace:queue:{default}')" = "$1" ] && [ "$(rcli ZCARD peace:execs)" = "$1" ]; }

sleep_body() { # FILE-OF-FLOW CMD [extra JSON members]
  printf '{"cmd":"%s","flow":%s%s}' "$2" "$(cat "$1")" "${3:-}"
}

# ---- start-up refusals --------------------------------------------------------
"$SCHED" --no-such-flag >"$T/bad.out" 2>&1
check "a bad flag exits non-zero" test $? -ne 0
check "a bad flag says so in one line" test "$(wc -l <"$T/bad.out")" -eq 1
"$SCHED" --redis redis://127.0.0.1:1 --listen 127.0.0.1:0 >"$T/nored.out" 2>&1
check "an unreachable Redis exits non-zero" test $? -ne 0
check "an unreachable Redis is one line naming it" \
  grep -q "cannot reach Redis at 127.0.0.1:1" "$T/nored.out"
check "--version answers" eval '"$SCHED" --version >/dev/null'
check "--help answers" eval '"$SCHED" --help | grep -q -- --max-sse'

redis_start persist # keys survive the restart near the end
PEACE_TOKEN=$TOKEN sched_start s1 --max-body 100000

# ---- page, health, auth ----------------------------------------------------
req s1 GET /
check "GET / serves the dashboard page" status_is 200
check "the page is HTML" grep -qi '^Content-Type: text/html' "$T/headers"
check "the page is the compiled-in index.html" \
  cmp -s "$T/body" "$(dirname "$0")/../../scheduler/web/index.html"
req s1 GET /healthz
check "/healthz needs no token and answers ok" body_is .status '"ok"'
req s1 GET /v1/executions
check "/v1 without the token is 401 unauthorized" eval 'status_is 401 && code_is unauthorized'
req s1 GET /v1/executions -H "Authorization: Bearer wrong"
check "/v1 with a wrong token is 401" status_is 401
req s1 GET /v1/nope
check "an unknown /v1 path without the token is 401 too" status_is 401
req s1 GET /metrics
check "/metrics without the token is 401" status_is 401
api s1 GET /metrics
check "/metrics with the token is Prometheus text" \
  eval 'status_is 200 && grep -q "^peace_queue_length{queue=\"default\"} 0$" "$T/body"'

# ---- the bypass table: every spelling of every protected route is 401 -------
# curl --path-as-is sends the path exactly as written (no dot-segment or
# slash clean-up), so the scheduler sees what a hostile client would send.
ID0=01ARZ3NDEKTSV4RRFFQ69G5FAV
bypass_paths() {
  local p
  for p in /v1/executions "/v1/executions/$ID0" "/v1/executions/$ID0/events" \
    "/v1/executions/$ID0/interrupt" /v1/states/a/b/c /metrics /v1/workers /v1/queues \
    /v1/dead /v1/dead/1700000000000-0/retry "/v1/executions/$ID0/rerun" /openapi.json; do
    printf '%s\n' "$p" "$p/" "/$p" "${p/\/v1\//\/v1\/\/}" "${p/\/v1\//\/v1\/.\/}" \
      "${p/\/v1\//\/x\/..\/v1\/}" "${p/\/v1\//\/%76%31\/}" "${p/\/v1\//\/v%31\/}" \
      "${p/\/v1\//\/V1\/}" "${p/\/v1\//\/%2576%2531\/}" "${p/\/v1\//\/v1%2F}" \
      "${p/\/v1\//\/.\/v1\/}" "${p/\/v1\//\/%2e\/v1\/}" "${p/executions/%65xecutions}" \
      "${p/executions/Executions}" "${p/metrics/%6detrics}" "${p/metrics/%6Detrics}" \
      "${p/metrics/METRICS}" "$p;x" "$p%00" "$p%20" "$p/." "$p/.."
  done
}
bypass_ok=1
bypass_n=0
while IFS= read -r p; do
  for m in GET HEAD POST POST_TEXT PUT DELETE; do
    case $m in
      HEAD) how=(--head) ;;
      POST) how=(-X POST -H 'Content-Type: application/json' -d '{"cmd":"discover","flow":{}}') ;;
      POST_TEXT) how=(-X POST -H 'Content-Type: text/plain' -d '{"cmd":"discover","flow":{}}') ;;
      *) how=(-X "$m") ;;
    esac
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --path-as-is "${how[@]}" \
      "http://127.0.0.1:${SCHED_PORT[s1]}$p")
    bypass_n=$((bypass_n + 1))
    if [ "$code" != 401 ]; then
      echo "# $m $p without a token: $code"
      bypass_ok=0
    fi
  done
done < <(bypass_paths)
check "bypass table: $bypass_n spellings x methods of protected routes are all 401 without a token" \
  test "$bypass_ok" = 1
check "bypass table: nothing was queued" queued_nothing 0
req s1 GET "/v1/executions?access_token=$TOKEN" -H 'Authorization: Bearer wrong'
check "a wrong header and a right query token on the list is 401" status_is 401

# ---- Host, Origin, media type ----------------------------------------------------
api s1 GET /v1/executions -H 'Host: evil.example:7117'
check "a foreign Host (DNS rebinding) is 403 host_not_allowed, even with the token" \
  eval 'status_is 403 && code_is host_not_allowed'
req s1 GET / -H 'Host: evil.example'
check "a foreign Host does not even get the page" status_is 403
req s1 GET / -H 'Host: localhost:1234'
check "Host localhost is served" status_is 200
req s1 POST /v1/executions -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
  -H 'Origin: http://evil.example' --data-binary '{"cmd":"discover","flow":{}}'
check "a cross-site text/plain POST is 403 origin_not_allowed" \
  eval 'status_is 403 && code_is origin_not_allowed'
req s1 POST /v1/executions -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' \
  --data-binary '{"cmd":"discover","flow":{}}'
check "a text/plain POST is 415 unsupported_media_type" \
  eval 'status_is 415 && code_is unsupported_media_type'
req s1 POST /v1/executions -H "Authorization: Bearer $TOKEN" --data 'cmd=discover'
check "a form POST is 415" status_is 415
api s1 GET /v1/executions -H "Origin: http://127.0.0.1:${SCHED_PORT[s1]}"
check "the dashboard's own origin is served" status_is 200
check "nothing was queued by the refused requests" queued_nothing 0

# ---- routing errors -----------------------------------------------------------
check "an unknown path is 404 not_found" expect_error s1 GET /nope 404 not_found
check "a wrong method is 405 method_not_allowed" \
  expect_error s1 DELETE /v1/executions 405 method_not_allowed
check "GET on interrupt is 405" expect_error s1 GET /v1/executions/X/interrupt 405 method_not_allowed
check "a bad percent-encoding is 400" expect_error s1 GET '/v1/executions/ab%zz' 400 bad_request
check "an encoded NUL is 400" expect_error s1 GET '/v1/executions/ab%00' 400 bad_request
check "an id with bad characters is 400" expect_error s1 GET '/v1/executions/a.b' 400 bad_request
check "an unknown id is 404 execution_not_found" \
  expect_error s1 GET /v1/executions/01ARZ3NDEKTSV4RRFFQ69G5FAV 404 execution_not_found
check "limit=0 is 400" expect_error s1 GET '/v1/executions?limit=0' 400 bad_request
check "limit=1001 is 400" expect_error s1 GET '/v1/executions?limit=1001' 400 bad_request
check "limit=abc is 400" expect_error s1 GET '/v1/executions?limit=abc' 400 bad_request
check "a bad query encoding is 400" expect_error s1 GET '/v1/executions?x=%' 400 bad_request
check "a states path with a bad identifier is 400" expect_error s1 GET /v1/states/1a/b/c 400 bad_request

# ---- malformed bodies: 400 with a code, nothing queued --------------------------
sleep_flow "$T/long.json" it long flow_long 100 100 2
sleep_flow "$T/short.json" it short flow_short 2 50 3
check "garbage is 400 invalid_json" \
  expect_error s1 POST /v1/executions 400 invalid_json --data-binary 'not json {'
check "an empty body is 400 invalid_json" expect_error s1 POST /v1/executions 400 invalid_json
check "an array is 400 bad_request" expect_error s1 POST /v1/executions 400 bad_request -d '[]'
check "a missing cmd is 400 bad_request" \
  expect_error s1 POST /v1/executions 400 bad_request -d "{\"flow\":$(cat "$T/long.json")}"
check "an unknown cmd is 400 bad_request" \
  expect_error s1 POST /v1/executions 400 bad_request --data-binary "$(sleep_body "$T/long.json" ensure_all)"
check "an unknown field is 400 bad_request" \
  expect_error s1 POST /v1/executions 400 bad_request --data-binary "$(sleep_body "$T/long.json" ensure ',"strategy":"ignore"')"
check "a bad interrupt_strategy is 400 bad_request" \
  expect_error s1 POST /v1/executions 400 bad_request --data-binary "$(sleep_body "$T/long.json" ensure ',"interrupt_strategy":"later"')"
check "a cyclic flow is 400 invalid_flow" expect_error s1 POST /v1/executions 400 invalid_flow \
  -d '{"cmd":"ensure","flow":{"app":"a","profile":"p","flow":"f","items":[
       {"id":"x","type":"sleep","deps":["y"],"params":{"steps":1,"step_ms":1,"marker":"m1"}},
       {"id":"y","type":"sleep","deps":["x"],"params":{"steps":1,"step_ms":1,"marker":"m2"}}]}}'
check "the invalid_flow message names the item" grep -q '"error":"[^"]*[xy]' "$T/body"
check "an unknown item type is 400 unknown_item_type" expect_error s1 POST /v1/executions 400 unknown_item_type \
  -d '{"cmd":"ensure","flow":{"app":"a","profile":"p","flow":"f","items":[{"id":"x","type":"warp","params":{}}]}}'
check "bad params are 400 invalid_flow" expect_error s1 POST /v1/executions 400 invalid_flow \
  -d '{"cmd":"ensure","flow":{"app":"a","profile":"p","flow":"f","items":[{"id":"x","type":"sleep","params":{"steps":-3}}]}}'
head -c 110000 /dev/zero | tr '\0' 'x' >"$T/over.txt"
check "a body over --max-body is 413 body_too_large" \
  expect_error s1 POST /v1/executions 413 body_too_large --data-binary "@$T/over.txt"
head -c 200000 /dev/zero | tr '\0' 'x' >"$T/big.txt"
api s1 POST /v1/executions --data-binary "@$T/big.txt"
check "a body far over --max-body is 413 before it is read" status_is 413
api s1 POST /v1/executions -H 'Transfer-Encoding: chunked' --data-binary "@$T/big.txt"
check "a chunked body over --max-body is 413" status_is 413
check "nothing was queued by any bad request" queued_nothing 0
check "the scheduler survived the bad bodies" sched_alive s1

# ---- plugins ----------------------------------------------------------------------
"$SCHED" --plugin "$T/no-such-plugin.so" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 >"$T/noplug.out" 2>&1
rc=$?
check "a plugin that does not load exits non-zero" test "$rc" -ne 0
check "a plugin that does not load is one line naming it" \
  eval "[ \$(wc -l <'$T/noplug.out') -eq 1 ] && grep -q no-such-plugin '$T/noplug.out'"
NOOP_FLOW='{"app":"a","profile":"p","flow":"f","items":[{"id":"x","type":"noop","params":{"ok":true}}]}'
check "without the plugin its item type is unknown_item_type" \
  expect_error s1 POST /v1/executions 400 unknown_item_type -d "{\"cmd\":\"discover\",\"flow\":$NOOP_FLOW}"
if [ "$PLUGIN" != - ]; then
  PEACE_TOKEN=$TOKEN sched_start s_plugin --plugin "$PLUGIN"
  check "with --plugin the plugin's params check applies" \
    expect_error s_plugin POST /v1/executions 400 invalid_flow -d "{\"cmd\":\"discover\",\"flow\":${NOOP_FLOW/true/false}}"
  check "the plugin's message names the item" grep -q 'item x' "$T/body"
  api s_plugin POST /v1/executions -d "{\"cmd\":\"discover\",\"flow\":$NOOP_FLOW}"
  check "with --plugin its item type is accepted" status_is 202
  PLUGIN_EXEC=$(jq -r .id <<<"$BODY")
  kill -TERM "${SCHED_PID[s_plugin]}"
  wait "${SCHED_PID[s_plugin]}"
  check "the plugin scheduler exits 0 on SIGTERM" test $? -eq 0
  # Not for the workers of this test (they have no such type): take it away.
  rcli XTRIM 'peace:queue:{default}' MAXLEN 0 >/dev/null
  rcli DEL "peace:exec:{$PLUGIN_EXEC}" >/dev/null
  rcli ZREM peace:execs "$PLUGIN_EXEC" >/dev/null
fi
check "nothing is queued after the plugin checks" queued_nothing 0

# ---- submit, list, get ----------------------------------------------------------
api s1 POST /v1/executions --data-binary "$(sleep_body "$T/long.json" ensure ',"interrupt_strategy":"finish_current","apply_stored_state_sync":"both"')"
check "a good submission is 202 queued" eval 'status_is 202 && body_is .status "\"queued\""'
ID1=$(jq -r .id <<<"$BODY")
check "the Location header names the execution" grep -qi "^Location: /v1/executions/$ID1" "$T/headers"
check "the meta hash is queued" meta_is "$ID1" status queued
check "the meta hash lists the items in flow order" meta_is "$ID1" items "s1,s2"
check "the job is on the queue" test "$(rcli XLEN 'peace:queue:{default}')" = 1
api s1 POST /v1/executions --data-binary "$(sleep_body "$T/short.json" discover ',"queue":"other_q"')"
ID2=$(jq -r .id <<<"$BODY")
check "a submission to another queue lands there" test "$(rcli XLEN 'peace:queue:{other_q}')" = 1
api s1 GET /v1/executions
check "the list is newest first" body_is '[.executions[].id]' "[\"$ID2\",\"$ID1\"]"
check "list entries have numbers for counters" body_is '.executions[1].items_total' 2
api s1 GET '/v1/executions?limit=1'
check "limit=1 lists one" body_is '[.executions[].id]' "[\"$ID2\"]"
api s1 GET "/v1/executions/$ID1"
check "GET one has the execution" body_is .execution.status '"queued"'
check "GET one lists the items in flow order" body_is '[.items[].id]' '["s1","s2"]'
check "a queued item is initialized" body_is '.items[0]' '{"id":"s1","status":"initialized","limit":"unknown","done":0,"msg":""}'
check "a queued execution has no report" body_is .report null
check "the CLI reads what the API queued" eval '"$PEACE" status "$ID1" | grep -q "status: queued"'

# ---- two schedulers, one Redis -------------------------------------------------
PEACE_TOKEN=$TOKEN sched_start s2 --max-sse 1
api s2 GET "/v1/executions/$ID1"
check "a second scheduler sees the first one's execution" body_is .execution.id "\"$ID1\""

# ---- events -------------------------------------------------------------------------
EK="peace:exec:{$ID1}:events"
E1=$(rcli XADD "$EK" '*' kind block_start block read_current index 0)
E2=$(rcli XADD "$EK" '*' kind progress item s1 status running done 3 limit steps:100 msg 'half "way"')
curl -s -N --max-time 3 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID1/events" >"$T/ev_all.txt"
check "events replay from the start with ids and kinds" \
  eval "grep -qx 'id: $E1' '$T/ev_all.txt' && grep -qx 'event: block_start' '$T/ev_all.txt' && grep -qx 'id: $E2' '$T/ev_all.txt'"
second_event_data() { grep '^data: ' "$T/ev_all.txt" | sed -n 2p | cut -c7-; }
check "event data is the entry as JSON, counters as numbers" \
  eval 'second_event_data | jq -e ".done == 3 and .msg == \"half \\\"way\\\"\"" >/dev/null'
curl -s -N --max-time 3 -H "Authorization: Bearer $TOKEN" -H "Last-Event-ID: $E1" \
  "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID1/events" >"$T/ev_resume.txt"
check "Last-Event-ID resumes after that entry" \
  eval "! grep -q 'id: $E1' '$T/ev_resume.txt' && grep -qx 'id: $E2' '$T/ev_resume.txt'"
curl -s -N --max-time 3 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID1/events?last_event_id=$E2" >"$T/ev_q.txt"
check "?last_event_id= resumes too" eval "! grep -q '^id: ' '$T/ev_q.txt'"
check "a bad Last-Event-ID is 400" expect_error s1 GET "/v1/executions/$ID1/events" 400 bad_request -H 'Last-Event-ID: 12-x'
curl -s -N --max-time 2 "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID1/events?access_token=$TOKEN" \
  >"$T/ev_token.txt"
check "a browser's EventSource may send the token as ?access_token=" grep -qx "id: $E2" "$T/ev_token.txt"
req s1 GET "/v1/executions/$ID1/events?access_token=wrong"
check "a wrong ?access_token= is 401" status_is 401
req s1 GET "/v1/executions?access_token=$TOKEN"
check "?access_token= is for the event stream only" status_is 401
check "the token in a query never reaches the log" eval "! grep -q '$TOKEN' '$T/s1.log'"
check "events of an unknown id are 404" \
  expect_error s1 GET /v1/executions/01ARZ3NDEKTSV4RRFFQ69G5FAV/events 404 execution_not_found
# Live: a follower started now ends by itself at the outcome event.
curl -s -N --max-time 20 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID2/events" >"$T/ev_live.txt" &
FOLLOWER=$!
PIDS+=("$FOLLOWER")
wait_for 5 "the follower to get the stream" grep -q '^retry:' "$T/ev_live.txt"
P2=$(rcli XADD "peace:exec:{$ID2}:events" '*' kind progress item s1 status running done 1 limit steps:2 msg '')
O2=$(rcli XADD "peace:exec:{$ID2}:events" '*' kind outcome outcome complete)
follower_done() { ! kill -0 "$FOLLOWER" 2>/dev/null; }
check "a live stream ends after the outcome event" wait_for 10 "the follower to end" follower_done
check "the live stream carried both events" \
  eval "grep -qx 'event: progress' '$T/ev_live.txt' && grep -qx 'event: outcome' '$T/ev_live.txt'"
check "the stream tells clients when to reconnect (retry)" grep -qx 'retry: 2000' "$T/ev_live.txt"
# An EventSource reconnects after the end with the outcome's id: 204 makes it stop.
sse_status() { # PORT ID LAST_EVENT_ID -> the status code
  curl -s -o "$T/ev_probe.txt" -w '%{http_code}' --max-time 3 -H "Authorization: Bearer $TOKEN" \
    -H "Last-Event-ID: $3" "http://127.0.0.1:$1/v1/executions/$2/events"
}
check "a reconnect after the outcome event is 204 No Content" \
  test "$(sse_status "${SCHED_PORT[s1]}" "$ID2" "$O2")" = 204
check "the 204 has no body" test ! -s "$T/ev_probe.txt"
check "a reconnect before the outcome gets the rest, outcome included (200)" \
  eval "test \"\$(sse_status ${SCHED_PORT[s1]} $ID2 $P2)\" = 200 && grep -qx 'id: $O2' '$T/ev_probe.txt'"
rcli HSET "peace:exec:{$ID2}" status finished outcome complete >/dev/null
check "a reconnect to a finished execution with nothing left is 204" \
  test "$(sse_status "${SCHED_PORT[s1]}" "$ID2" "$O2")" = 204
check "a reconnect to an unfinished execution with nothing new keeps the 200 stream" \
  eval "test \"\$(sse_status ${SCHED_PORT[s1]} $ID1 $E2)\" = 200 && grep -qx 'retry: 2000' '$T/ev_probe.txt'"

# ---- event-stream limit and clean-up on disconnect (s2 has --max-sse 1) -------
curl -s -N --max-time 60 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s2]}/v1/executions/$ID1/events" >"$T/ev_hold.txt" &
HOLDER=$!
PIDS+=("$HOLDER")
wait_for 5 "the holder to get the stream" grep -q '^retry:' "$T/ev_hold.txt"
check "a stream beyond --max-sse is 503 too_many_streams" \
  expect_error s2 GET "/v1/executions/$ID1/events" 503 too_many_streams
kill "$HOLDER"
stream_free() {
  api s2 GET /metrics
  grep -qx 'peace_scheduler_sse_streams 0' "$T/body"
}
check "a client that disconnects frees its stream" wait_for 10 "the stream to be freed" stream_free
curl -s -N --max-time 2 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s2]}/v1/executions/$ID1/events" >"$T/ev_again.txt"
check "the freed slot serves a new stream" grep -qx "id: $E2" "$T/ev_again.txt"

# ---- interrupt ----------------------------------------------------------------------
api s1 POST "/v1/executions/$ID1/interrupt" -d '{"reason":"from the test"}'
check "interrupting a queued execution is 202 requested" \
  eval 'status_is 202 && body_is "[.id,.status,.requested]" "[\"$ID1\",\"queued\",true]"'
check "the marker is recorded with the reason" meta_is "$ID1" interrupt_reason 'from the test'
check "interrupt_requested_ms is set" eval "[ -n \"\$(meta $ID1 interrupt_requested_ms)\" ]"
api s1 POST "/v1/executions/$ID1/interrupt"
check "an empty interrupt body is fine (202)" eval 'status_is 202 && body_is .requested true'
check "a bad interrupt body is 400" \
  expect_error s1 POST "/v1/executions/$ID1/interrupt" 400 invalid_json -d '{"reason":'
check "a non-string reason is 400 bad_request" \
  expect_error s1 POST "/v1/executions/$ID1/interrupt" 400 bad_request -d '{"reason":5}'
check "interrupting an unknown id is 404 execution_not_found" \
  expect_error s1 POST /v1/executions/01ARZ3NDEKTSV4RRFFQ69G5FAV/interrupt 404 execution_not_found
api s1 POST "/v1/executions/$ID1/interrupt" -d '{"reason":"harder","mode":"cancel","deadline_ms":2500}'
check "an interrupt with a mode is 202 with the receipt (mode, deadline, requested_ms)" \
  eval 'status_is 202 && body_is "[.requested,.mode,.deadline_ms,(.requested_ms|type)]" "[true,\"cancel\",2500,\"number\"]"'
check "the meta records the highest mode asked" meta_is "$ID1" interrupt_mode cancel
check "a bad mode is 400 bad_request" \
  expect_error s1 POST "/v1/executions/$ID1/interrupt" 400 bad_request -d '{"mode":"stop"}'
check "a bad deadline_ms is 400 bad_request" \
  expect_error s1 POST "/v1/executions/$ID1/interrupt" 400 bad_request -d '{"mode":"cancel","deadline_ms":-5}'
rcli HSET "peace:exec:{$ID2}" status finished outcome complete >/dev/null
api s1 POST "/v1/executions/$ID2/interrupt"
check "interrupting a finished execution is 202, not requested" \
  eval 'status_is 202 && body_is "[.status,.requested]" "[\"finished\",false]"'
check "a finished execution gets no marker" eval "[ -z \"\$(meta $ID2 interrupt_requested_ms)\" ]"
api s1 GET "/v1/executions/$ID2"
check "a finished execution without a report shows its outcome" body_is .report.outcome '"complete"'

# ---- states --------------------------------------------------------------------------
api s1 GET /v1/states/it/nothing/here
check "states of an unknown flow are empty objects" \
  body_is '[.app,.profile,.flow,.current,.goal]' '["it","nothing","here",{},{}]'
printf '\x81\xa4done\xc3' | rcli -x HSET 'peace:states:{it:st}:f:current' a >/dev/null
printf '\xc0' | rcli -x HSET 'peace:states:{it:st}:f:goal' a >/dev/null
api s1 GET /v1/states/it/st/f
check "stored states are shown as JSON" body_is '[.current.a.done,.goal.a]' '[true,null]'
printf '\xc1' | rcli -x HSET 'peace:states:{it:st}:f:goal' b >/dev/null
api s1 GET /v1/states/it/st/f
check "an undecodable stored state is a 500 naming the item, not a crash" \
  eval 'status_is 500 && code_is internal && grep -q "of b " "$T/body"'

# ---- garbage on the wire ----------------------------------------------------------------
raw() { (exec 3<>"/dev/tcp/127.0.0.1/${SCHED_PORT[s1]}" && printf '%b' "$1" >&3 && timeout 2 cat <&3 >/dev/null) 2>/dev/null; }
raw 'GARBAGE\r\n\r\n'
raw 'GET\r\n\r\n'
raw 'GET / HTTP/9.9\r\n\r\n'
raw 'POST /v1/executions HTTP/1.1\r\nContent-Length: -5\r\n\r\n'
raw 'POST /v1/executions HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n'
raw 'POST /v1/executions HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'
raw 'GET /\x01\x02\xff HTTP/1.1\r\n\r\n'
raw "GET /v1/executions/$(head -c 5000 /dev/zero | tr '\0' A) HTTP/1.1\r\n\r\n"
for p in '/%' '/%%' '/%2' '/v1/executions/%ZZ/events' '/v1/states/%/%/%' '/v1/executions?limit=%' \
  '/v1/executions/..%2F..%2Fetc/events' "/v1/executions/$ID1/events?last_event_id=%FF"; do
  api s1 GET "$p"
  case $STATUS in 400 | 404) ;; *) echo "# $p: status $STATUS" ;; esac
done
req s1 GET / -H "X-Huge: $(head -c 100000 /dev/zero | tr '\0' h)"
check "huge headers are refused" eval '[ "$STATUS" -ge 400 ] && [ "$STATUS" -lt 500 ]'
for i in $(seq 1 30); do
  head -c $((i * 97)) /dev/urandom >"$T/rand.bin"
  api s1 POST /v1/executions --data-binary "@$T/rand.bin"
  case $STATUS in 400) ;; *) echo "# random body $i: status $STATUS" ;; esac
  api s1 POST "/v1/executions/$ID1/interrupt" --data-binary "@$T/rand.bin"
done
check "random bodies queued nothing" test "$(rcli XLEN 'peace:queue:{default}')" = 1
check "the scheduler survived the garbage" sched_alive s1
req s1 GET /healthz
check "and still answers" body_is .status '"ok"'

# ---- token scopes, token files, a generated token, --no-auth ------------------
printf '%s\n' "$TOKEN" >"$T/token.txt"
printf 'read-secret-1\n' >"$T/read.txt"
sched_start s_scope --token-file "$T/token.txt" --read-token-file "$T/read.txt" \
  --interrupt-token intr-secret-1 --read-timeout-s 2
check "the token file is the token" eval 'api s_scope GET /v1/executions && status_is 200'
scoped() { # TOKEN METHOD PATH [curl args]: sets STATUS and BODY
  local tok=$1 method=$2 path=$3
  shift 3
  req s_scope "$method" "$path" -H "Authorization: Bearer $tok" -H 'Content-Type: application/json' "$@"
}
scoped read-secret-1 GET /v1/executions
check "a read token reads" status_is 200
scoped read-secret-1 GET /metrics
check "a read token reads /metrics" status_is 200
scoped read-secret-1 POST /v1/executions --data-binary "$(sleep_body "$T/short.json" discover)"
check "a read token cannot POST an execution (403 forbidden)" eval 'status_is 403 && code_is forbidden'
scoped read-secret-1 POST "/v1/executions/$ID1/interrupt" -d '{}'
check "a read token cannot interrupt (403)" status_is 403
scoped intr-secret-1 POST "/v1/executions/$ID1/interrupt" -d '{"reason":"scoped"}'
check "an interrupt token interrupts (202)" status_is 202
scoped intr-secret-1 POST /v1/executions --data-binary "$(sleep_body "$T/short.json" discover)"
check "an interrupt token cannot start an execution (403 forbidden)" eval 'status_is 403 && code_is forbidden'
scoped intr-secret-1 POST /%76%31/executions --data-binary "$(sleep_body "$T/short.json" discover)"
check "nor through an encoded path (403)" status_is 403
for path in /v1/workers /v1/queues /v1/dead /openapi.json; do
  scoped read-secret-1 GET "$path"
  check "a read token reads GET $path" status_is 200
done
scoped read-secret-1 POST "/v1/executions/$ID1/rerun" -d '{}'
check "a read token cannot rerun (403 forbidden)" eval 'status_is 403 && code_is forbidden'
scoped intr-secret-1 POST "/v1/executions/$ID1/%72erun" -d '{}'
check "an interrupt token cannot rerun, encoded or not (403)" eval 'status_is 403 && code_is forbidden'
scoped intr-secret-1 POST /v1/dead/1700000000000-0/retry -d '{}'
check "an interrupt token cannot retry a dead letter (403)" eval 'status_is 403 && code_is forbidden'
check "the scoped refusals queued nothing" test "$(rcli XLEN 'peace:queue:{default}')" = 1
curl -s -N --max-time 2 "http://127.0.0.1:${SCHED_PORT[s_scope]}/v1/executions/$ID1/events?access_token=read-secret-1" \
  >"$T/ev_read.txt"
check "a read token follows the event stream with ?access_token=" grep -q '^retry:' "$T/ev_read.txt"
SCOPE_URL=http://127.0.0.1:${SCHED_PORT[s_scope]}
"$PEACE" run "$T/short.json" --detach --server "$SCOPE_URL" --token read-secret-1 >"$T/cli_read.out" 2>&1
check "the CLI with a read token cannot run: exit 1" test $? -eq 1
check "the CLI says the token's scope does not allow it" grep -q "scope" "$T/cli_read.out"
"$PEACE" list --server "$SCOPE_URL" >"$T/cli_none.out" 2>&1
check "the CLI without a token says how to give one" grep -q -- "--token-file" "$T/cli_none.out"
check "the CLI with --token-file lists" eval '"$PEACE" list --server "$SCOPE_URL" --token-file "$T/token.txt" >/dev/null'
PEACE_TOKEN_FILE=$T/read.txt "$PEACE" list --server "$SCOPE_URL" >/dev/null 2>&1
check "the CLI takes PEACE_TOKEN_FILE" test $? -eq 0
"$PEACE" list --server "$SCOPE_URL" --token-file "$T/nope.txt" >"$T/cli_nofile.out" 2>&1
rc=$?
check "the CLI refuses a missing token file in one line" \
  eval '[ $rc -eq 1 ] && [ "$(wc -l <"$T/cli_nofile.out")" -eq 1 ] && grep -q nope.txt "$T/cli_nofile.out"'
# A half-sent request is closed after --read-timeout-s (2 s), not kept.
half_sent() {
  exec 3<>"/dev/tcp/127.0.0.1/${SCHED_PORT[s_scope]}" || return 1
  printf 'GET /v1/executions HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' >&3
  timeout 8 cat <&3 >/dev/null
  local rc=$?
  exec 3<&-
  [ "$rc" -ne 124 ] # cat ended because the server closed, not by the timeout
}
t0=$(now_ms)
check "a half-sent request is closed by the server" half_sent
check "within the read timeout (2 s, took $(($(now_ms) - t0)) ms)" test $(($(now_ms) - t0)) -lt 6000
check "no token reaches the log" \
  eval "! grep -q -e read-secret-1 -e intr-secret-1 -e '$TOKEN' '$T/s_scope.log'"
req s_scope GET "/v1/executions/$ID1/events?x=1&%61ccess_token=read-secret-1"
check "an encoded access_token is not logged either" eval "! grep -q read-secret-1 '$T/s_scope.log'"

# No token configured: one is made and printed with the dashboard URL.
env -u PEACE_TOKEN "$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 >"$T/s_gen.log" 2>&1 &
SCHED_PID[s_gen]=$!
PIDS+=("$!")
wait_for 10 "the generated-token scheduler" grep -q 'dashboard: ' "$T/s_gen.log" ||
  fatal "no dashboard line: $(cat "$T/s_gen.log")"
GEN_URL=$(grep -m1 -o 'dashboard: http://[^ ]*' "$T/s_gen.log" | cut -c12-)
GEN_TOKEN=${GEN_URL##*#token=}
SCHED_PORT[s_gen]=$(sed -E 's|http://127.0.0.1:([0-9]+)/.*|\1|' <<<"$GEN_URL")
log "generated: $GEN_URL"
check "the printed URL carries a generated 48-hex-digit token" \
  eval '[[ "$GEN_URL" =~ ^http://127\.0\.0\.1:[0-9]+/#token=[0-9a-f]{48}$ ]]'
req s_gen GET /v1/executions
check "with a generated token, no token is 401" status_is 401
req s_gen GET /v1/executions -H "Authorization: Bearer $GEN_TOKEN"
check "the generated token works" status_is 200
check "the generated token is printed once (on stdout, not per request)" \
  test "$(grep -c "$GEN_TOKEN" "$T/s_gen.log")" -le 2

# --no-auth: only on loopback, and cross-site requests are still refused.
"$SCHED" --no-auth --listen 0.0.0.0:0 --redis "$PEACE_REDIS_URL" >"$T/noauth_any.out" 2>&1
rc=$?
check "--no-auth on 0.0.0.0 is refused in one line" \
  eval '[ $rc -ne 0 ] && [ "$(wc -l <"$T/noauth_any.out")" -eq 1 ] && grep -q loopback "$T/noauth_any.out"'
env -u PEACE_TOKEN "$SCHED" --no-auth --token x --listen 127.0.0.1:0 --redis "$PEACE_REDIS_URL" >"$T/noauth_tok.out" 2>&1
check "--no-auth with a token is refused" test $? -ne 0
sched_start s_open --no-auth
req s_open GET /v1/executions
check "--no-auth on loopback serves without a token" status_is 200
req s_open POST /v1/executions -H 'Content-Type: text/plain' --data-binary "$(sleep_body "$T/short.json" discover)"
check "--no-auth still refuses a text/plain POST (415)" status_is 415
req s_open POST /v1/executions -H 'Content-Type: application/json' -H 'Origin: http://evil.example' \
  --data-binary "$(sleep_body "$T/short.json" discover)"
check "--no-auth still refuses a cross-site POST (403)" status_is 403
req s_open GET /v1/executions -H 'Host: rebind.evil.example:7117'
check "--no-auth still refuses a rebound Host (403)" status_is 403
check "nothing was queued by them" test "$(rcli XLEN 'peace:queue:{default}')" = 1
for s in s_scope s_gen s_open; do
  kill -TERM "${SCHED_PID[$s]}"
  wait "${SCHED_PID[$s]}" 2>/dev/null
done

# One line for a bad --listen.
for l in 127.0.0.1:99999 nohost 127.0.0.1:-1 '[::1' 'a b:1' 999.1.1.1:80; do
  "$SCHED" --listen "$l" --redis "$PEACE_REDIS_URL" --token x >"$T/badlisten.out" 2>&1
  rc=$?
  check "--listen '$l' exits non-zero with one line" \
    eval "[ $rc -ne 0 ] && [ \$(wc -l <'$T/badlisten.out') -eq 1 ] && grep -q listen '$T/badlisten.out'"
done

# ---- end to end with a worker ---------------------------------------------------------------
if [ -n "$WORKER" ]; then
  PEACE_TOKEN=$TOKEN sched_start s3
  worker_start w1 --concurrency 2
  wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"
  # ID1 (interrupted while queued) is taken by the worker too: it ends at once.
  wait_finished 30 "$ID1"
  check "e2e: the execution interrupted while queued ends execution_interrupted" \
    meta_is "$ID1" outcome execution_interrupted
  sleep_flow "$T/e2e.json" it e2e flow_e2e 3 50 3
  # ensure compares with stored states: discover them first.
  api s3 POST /v1/executions --data-binary "$(sleep_body "$T/e2e.json" discover)"
  wait_finished 30 "$(jq -r .id <<<"$BODY")"
  check "e2e: discover through the API completes" meta_is "$(jq -r .id <<<"$BODY")" outcome complete
  # Short and unfollowed: no events stream; the SSE synthesises its events
  # (docs/fleet.md "Events on demand"), with ids 0-1... a client resumes from.
  IDD=$(jq -r .id <<<"$BODY")
  if [ "$(rcli EXISTS "peace:exec:{$IDD}:events")" = 1 ]; then
    # A loaded machine may stretch it past one flush interval: then it has
    # its stream, rightly, marked by the flush that wrote it.
    check "e2e: the discover outlived a flush: its stream is marked" meta_is "$IDD" events 1
  else
    curl -s -N --max-time 10 -H "Authorization: Bearer $TOKEN" \
      "http://127.0.0.1:${SCHED_PORT[s3]}/v1/executions/$IDD/events" >"$T/fold_events.txt"
    check "e2e: its SSE gives block_start, three progress, outcome, ids 0-1 to 0-5" \
      eval "test \"\$(grep '^event: ' '$T/fold_events.txt' | cut -c8- | paste -sd' ')\" = 'block_start progress progress progress outcome' &&
            test \"\$(grep '^id: ' '$T/fold_events.txt' | cut -c5- | paste -sd' ')\" = '0-1 0-2 0-3 0-4 0-5'"
    check "e2e: a synthesised progress event is the item's last progress" \
      eval "grep '^data: ' '$T/fold_events.txt' | sed -n 2p | cut -c7- | jq -e '.item == \"s1\" and .status == \"success\"' >/dev/null"
    check "e2e: resuming from 0-2 gives the events after it" \
      eval "test \"\$(sse_status ${SCHED_PORT[s3]} $IDD 0-2)\" = 200 &&
            test \"\$(grep '^id: ' '$T/ev_probe.txt' | cut -c5- | paste -sd' ')\" = '0-3 0-4 0-5'"
    check "e2e: resuming from the synthesised outcome is 204" \
      test "$(sse_status "${SCHED_PORT[s3]}" "$IDD" 0-5)" = 204
  fi
  api s3 POST /v1/executions --data-binary "$(sleep_body "$T/e2e.json" ensure)"
  ID3=$(jq -r .id <<<"$BODY")
  curl -s -N --max-time 60 -H "Authorization: Bearer $TOKEN" \
    "http://127.0.0.1:${SCHED_PORT[s3]}/v1/executions/$ID3/events" >"$T/e2e_events.txt"
  check "e2e: the event stream ends with the outcome" \
    eval "tail -n 3 '$T/e2e_events.txt' | grep -qx 'event: outcome'"
  check "e2e: the stream carried block starts and progress" \
    eval "grep -qx 'event: block_start' '$T/e2e_events.txt' && grep -qx 'event: progress' '$T/e2e_events.txt'"
  api s3 GET "/v1/executions/$ID3"
  check "e2e: the report is complete" body_is .report.outcome '"complete"'
  check "e2e: every item succeeded, in flow order" \
    body_is '[.items[] | [.id,.status]]' '[["s1","success"],["s2","success"],["s3","success"]]'
  check "e2e: the execution is finished" body_is .execution.status '"finished"'
  api s3 GET /v1/states/it/e2e/flow_e2e
  check "e2e: current and goal states are stored for every item" \
    body_is '[(.current|keys), (.goal|keys), .current.s1.done]' '[["s1","s2","s3"],["s1","s2","s3"],true]'
  # Interrupt a running execution through the API: its first item waits at
  # a gate (lib.sh gate_flow) opened once the worker latched the interrupt.
  gate_flow "$T/e2e_long.json" it e2e_long "$T/e2e_gate" 2
  api s3 POST /v1/executions --data-binary "$(sleep_body "$T/e2e_long.json" discover)"
  wait_finished 30 "$(jq -r .id <<<"$BODY")"
  api s3 POST /v1/executions --data-binary "$(sleep_body "$T/e2e_long.json" ensure)"
  ID4=$(jq -r .id <<<"$BODY")
  a_running() { pstatus_is "$ID4" a running; }
  wait_for 30 "the first item to run" a_running || fatal "execution $ID4 never ran"
  api s3 POST "/v1/executions/$ID4/interrupt" -d '{"reason":"e2e stop"}'
  check "e2e: interrupting a running execution is 202 requested" \
    eval 'status_is 202 && body_is "[.status,.requested]" "[\"running\",true]"'
  latched() { [ -n "$(meta "$ID4" interrupt_latched_ms)" ]; }
  wait_for 20 "the worker to latch the interrupt" latched
  touch "$T/e2e_gate"
  wait_finished 30 "$ID4"
  api s3 GET "/v1/executions/$ID4"
  check "e2e: it ends block_interrupted with only the running item processed" \
    body_is '[.report.outcome, .report.items_processed]' '["block_interrupted",["a"]]'
  # A worker beats every lease / 3 from its start (docs/fleet.md): live
  # once its first beat is written.
  live_metrics() { api s3 GET /metrics && grep -qx 'peace_workers_live{queue="default"} 1' "$T/body"; }
  check "e2e: /metrics counts the live worker" wait_for 10 "the worker's first heartbeat" live_metrics
  check "e2e: /metrics has the interrupt latency of the interrupted executions" \
    eval "grep -Eq '^peace_interrupt_to_outcome_seconds_count [1-9]' '$T/body'"
  worker_stop w1
else
  log "no peace-worker given: the end-to-end part is skipped"
fi

# ---- operations views and actions (docs/http-api.md) ----------------------------------
# Hostile input first: every refusal is a 400/404/409 with a code, and nothing is queued.
n_before=$(rcli ZCARD peace:execs)
q_before=$(rcli XLEN 'peace:queue:{default}')
expect_error s1 GET '/v1/executions?cursor=garbage' 400 bad_request
check "ops: a cursor this API did not give is 400" test $? -eq 0
for bad in 'cursor=c1.' 'cursor=c99999999999999999999999.X' 'cursor=c1.a%2Fb' 'status=sleeping' \
  'outcome=great' 'cmd=rm' 'app=no%20way' 'since=yesterday' 'limit=1001' 'limit=-1' \
  "cursor=$(head -c 300 /dev/zero | tr '\0' c)" 'app=%ZZ'; do
  api s1 GET "/v1/executions?$bad"
  check "ops: GET /v1/executions?${bad:0:40} is 400 bad_request" eval 'status_is 400 && code_is bad_request'
done
for bad in 'limit=0' 'limit=101' 'limit=99999999999999999999' 'cursor=nope' 'cursor=1-x'; do
  api s1 GET "/v1/dead?$bad"
  check "ops: GET /v1/dead?$bad is 400 bad_request" eval 'status_is 400 && code_is bad_request'
done
expect_error s1 POST /v1/dead/not-an-entry/retry 400 bad_request -d '{}'
check "ops: a retry of a malformed entry id is 400" test $? -eq 0
expect_error s1 POST /v1/dead/1-0/retry 404 dead_letter_not_found -d '{}'
check "ops: a retry of an unknown dead letter is 404 dead_letter_not_found" test $? -eq 0
expect_error s1 POST /v1/executions/01HZZZZZZZZZZZZZZZZZZZZZZ9/rerun 404 execution_not_found -d '{}'
check "ops: a rerun of an unknown execution is 404 execution_not_found" test $? -eq 0
expect_error s1 POST "/v1/executions/$ID1/rerun" 400 invalid_json -d '{"a":'
check "ops: a rerun with a body that is not JSON is 400 invalid_json" test $? -eq 0
expect_error s1 POST "/v1/executions/$ID1/rerun" 400 invalid_json -d '[1]'
check "ops: a rerun with a body that is not an object is 400 invalid_json" test $? -eq 0
req s1 POST "/v1/executions/$ID1/rerun" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: text/plain' -d '{}'
check "ops: a rerun that is not application/json is 415" status_is 415
check "ops: the refusals queued nothing" \
  eval '[ "$(rcli ZCARD peace:execs)" = "$n_before" ] && [ "$(rcli XLEN "peace:queue:{default}")" = "$q_before" ]'
# The views.
api s1 GET /v1/queues
check "ops: GET /v1/queues lists the configured queue with its backlog" \
  eval "status_is 200 && body_is '[.queues[] | select(.name == \"default\") | .length]' '[$q_before]'"
check "ops: ... and the dead-letter length" body_is '.dead_length' 0
api s1 GET /v1/workers
check "ops: GET /v1/workers is 200 with a list" eval 'status_is 200 && body_is "(.workers | type)" "\"array\""'
api s1 GET /v1/dead
check "ops: GET /v1/dead is 200, empty" eval 'status_is 200 && body_is "[.dead, .length, .next_cursor]" "[[],0,null]"'
# Rerun: a new execution with the same command and flow, linked.
api s1 POST "/v1/executions/$ID1/rerun" -d '{}'
RR=$(jq -r .id <<<"$BODY")
check "ops: a rerun is 202 with a new id and rerun_of" \
  eval "status_is 202 && body_is '[.status, .rerun_of]' '[\"queued\",\"$ID1\"]'"
check "ops: its Location is the new execution" grep -qi "^Location: /v1/executions/$RR" "$T/headers"
check "ops: linked in its meta, same cmd and flow" \
  eval "meta_is '$RR' rerun_of '$ID1' && [ \"\$(meta '$RR' cmd)/\$(meta '$RR' flow)\" = \"\$(meta '$ID1' cmd)/\$(meta '$ID1' flow)\" ]"
api s1 POST "/v1/executions/$RR/rerun"
check "ops: a rerun without a body is accepted too (202)" status_is 202
RR2=$(jq -r .id <<<"$BODY")
# Pages: every execution once, with a filter.
all=$(rcli ZREVRANGE peace:execs 0 -1 | tr '\n' ' ')
cursor=
got=
for _ in $(seq 1 50); do
  api s1 GET "/v1/executions?limit=2${cursor:+&cursor=$cursor}"
  got="$got$(jq -r '.executions[].id' <<<"$BODY" | tr '\n' ' ')"
  cursor=$(jq -r '.next_cursor // empty' <<<"$BODY")
  [ -z "$cursor" ] && break
done
check "ops: pages of 2 list every execution once, newest first" test "$got" = "$all"
api s1 GET "/v1/executions?limit=50&status=queued&flow=$(meta "$ID1" flow)"
check "ops: a filter keeps the matching executions only" \
  eval "body_is '[.executions[] | select(.status != \"queued\")] | length' 0 && body_is '[.executions[].id] | index(\"$RR2\") != null' true"
api s1 GET "/v1/executions?limit=50&outcome=complete&since=$(($(now_ms) + 3600000))"
check "ops: since in the future lists nothing" body_is '[.executions, .next_cursor]' '[[],null]'
api s1 GET /openapi.json
check "ops: GET /openapi.json is the OpenAPI document" \
  eval "status_is 200 && body_is .openapi '\"3.1.0\"'"

# ---- Progress layouts -----------------------------------------------------------------
# A progress hash of layout 1 (four fields per item, as earlier workers wrote
# it) and one of layout 2 (one line per item), written by hand, read the same
# through the API and the CLI (schemas/README.md "Progress hash").
lay_meta() { # ID
  rcli HSET "peace:exec:{$1}" id "$1" cmd ensure app it profile lay flow f queue default \
    status running created_ms 1700000000000 items_total 2 >/dev/null
}
LAY1=01LAYOUT1AAAAAAAAAAAAAAAAA
LAY2=01LAYOUT2AAAAAAAAAAAAAAAAA
lay_meta "$LAY1"
rcli HSET "peace:exec:{$LAY1}:progress" a.status success a.limit steps:3 a.done 3 a.msg 'all done' \
  b.status running b.limit bytes:10 b.done 4 b.msg 'line\nbreak \\ x' >/dev/null
lay_meta "$LAY2"
rcli HSET "peace:exec:{$LAY2}:progress" .layout 2 a 'success steps:3 3 all done' \
  b 'running bytes:10 4 line\nbreak \\ x' >/dev/null
# Layout 1 values are raw (the backslashes stay); layout 2 unescapes them.
LAY_ITEMS1='[["a","success","steps:3",3,"all done"],["b","running","bytes:10",4,"line\\nbreak \\\\ x"]]'
LAY_ITEMS2='[["a","success","steps:3",3,"all done"],["b","running","bytes:10",4,"line\nbreak \\ x"]]'
for L in 1 2; do
  lid=LAY$L
  lid=${!lid}
  want=LAY_ITEMS$L
  want=${!want}
  api s1 GET "/v1/executions/$lid"
  check "layout $L: the API reads every item's progress" \
    body_is '[.items[] | [.id,.status,.limit,.done,.msg]]' "$want"
  check "layout $L: peace status --json reads it the same" \
    test "$("$PEACE" status "$lid" --json | jq -c '[.progress | to_entries[] | [.key,.value.status,.value.limit,.value.done,.value.msg]]')" = "$want"
  check "layout $L: peace status prints one line per item" \
    eval "\"\$PEACE\" status $lid | grep -qx '  a: status=success limit=steps:3 done=3 msg=all done'"
done

# ---- Redis away and back -------------------------------------------------------------
api s1 POST /v1/executions --data-binary "$(sleep_body "$T/long.json" ensure)"
ID_AWAY=$(jq -r .id <<<"$BODY")
curl -s -N --max-time 60 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID_AWAY/events" >"$T/ev_away.txt" &
AWAY_FOLLOWER=$!
PIDS+=("$AWAY_FOLLOWER")
wait_for 5 "the stream to start" grep -q '^retry:' "$T/ev_away.txt"
redis_stop
req s1 GET /healthz
check "Redis away: /healthz is 503 unavailable" eval 'status_is 503 && body_is .status "\"unavailable\""'
check "Redis away: the API answers 503 redis_unavailable" \
  expect_error s1 GET /v1/executions 503 redis_unavailable
check "Redis away: a submission is 503 too" \
  expect_error s1 POST /v1/executions 503 redis_unavailable --data-binary "$(sleep_body "$T/short.json" ensure)"
redis_restart
healthy() { req s1 GET /healthz && [ "$STATUS" = 200 ]; }
check "Redis back: the scheduler reconnects by itself" wait_for 20 "the scheduler to reconnect" healthy
api s1 GET /v1/executions
check "Redis back: the API answers again" status_is 200
check "Redis back: an open event stream stayed open" kill -0 "$AWAY_FOLLOWER"
rcli XADD "peace:exec:{$ID_AWAY}:events" '*' kind outcome outcome complete >/dev/null
away_follower_done() { ! kill -0 "$AWAY_FOLLOWER" 2>/dev/null; }
check "Redis back: the stream follows again, to the outcome" \
  eval 'wait_for 15 "the follower to end" away_follower_done && grep -qx "event: outcome" "$T/ev_away.txt"'

# ---- SIGTERM ----------------------------------------------------------------------------
api s1 POST /v1/executions --data-binary "$(sleep_body "$T/long.json" ensure)"
ID5=$(jq -r .id <<<"$BODY")
curl -s -N --max-time 30 -H "Authorization: Bearer $TOKEN" \
  "http://127.0.0.1:${SCHED_PORT[s1]}/v1/executions/$ID5/events" >"$T/ev_term.txt" &
TERM_FOLLOWER=$!
PIDS+=("$TERM_FOLLOWER")
wait_for 5 "the stream to start" grep -q '^retry:' "$T/ev_term.txt"
for s in s1 s2 ${WORKER:+s3}; do
  kill -TERM "${SCHED_PID[$s]}"
  wait "${SCHED_PID[$s]}"
  rc=$?
  check "SIGTERM: scheduler $s exits 0" test "$rc" -eq 0
  check "scheduler $s logged no sanitizer report" eval "! grep -q 'Sanitizer' '$T/$s.log'"
done
term_follower_done() { ! kill -0 "$TERM_FOLLOWER" 2>/dev/null; }
check "SIGTERM: open event streams end" wait_for 5 "the follower to end" term_follower_done
check "every request was logged as METHOD PATH STATUS ms" \
  grep -Eq 'peace-scheduler: POST /v1/executions 202 [0-9]+ms$' "$T/s1.log"

finish
