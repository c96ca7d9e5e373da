#!/usr/bin/env bash
# The `peace` CLI as a REST client of peace-scheduler (--server URL), end to
# end: a private redis-server, a scheduler with a bearer token, one worker.
#  1. refusals before any call: https, a bad URL, an unknown host, a server
#     that is not there: exit 1 with one line;
#  2. the token: none or a wrong one is 401 -> exit 1 saying how to give
#     it; --token and PEACE_TOKEN both work;
#  3. run discover and ensure of examples/deploy/flow.json: progress lines,
#     the states, the report, exit 0, the files made by the worker;
#     run --json prints the report as JSON;
#  4. list, status, report, states print exactly what the Redis mode prints
#     (status --json: the same progress and report, the contract fields of
#     the meta); unknown ids exit 1;
#  5. run --detach then watch; interrupt of a running execution (the
#     reason is recorded), of a finished one (no effect), of an unknown id
#     (404 -> exit 1); report of an execution not finished yet;
#  6. Ctrl-C during the sleep flow: block_interrupted, exit 2, the items in
#     flight processed and the others not; a second Ctrl-C exits 130;
#  7. the scheduler restarting while a run follows it: the run resumes its
#     event stream (Last-Event-ID) and ends normally, no event shown twice.
SCHED=${1:?usage: cli_server.sh PATH/TO/peace-scheduler PATH/TO/peace PATH/TO/peace-worker}
PEACE=${2:?}
WORKER=${3:?}
EXAMPLES=$(realpath "$(dirname "$0")/../../examples")
. "$(dirname "$0")/lib.sh"
SCHED=$(realpath "$SCHED")

TOKEN=cli-server-test-token
SCHED_PID=
SCHED_PORT=

# sched_start [PORT]: the scheduler on PORT, or on a free one (--listen
# 127.0.0.1:0, the port read from its log line); exports PEACE_SERVER_URL.
sched_start() {
  local port=${1:-0} line=
  PEACE_TOKEN=$TOKEN "$SCHED" --redis "$PEACE_REDIS_URL" --listen "127.0.0.1:$port" \
    >>"$T/scheduler.log" 2>&1 &
  SCHED_PID=$!
  PIDS+=("$SCHED_PID")
  wait_for 10 "the scheduler to listen" sched_listening || fatal "the scheduler did not start"
  line=$(grep 'listening on' "$T/scheduler.log" | tail -n 1)
  SCHED_PORT=$(sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/' <<<"$line")
  export PEACE_SERVER_URL=http://127.0.0.1:$SCHED_PORT
  log "scheduler pid $SCHED_PID on port $SCHED_PORT"
}
sched_listening() { [ "$(grep -c 'listening on' "$T/scheduler.log" 2>/dev/null)" -ge "${LISTENS:-1}" ]; }
sched_gone() { ! kill -0 "$SCHED_PID" 2>/dev/null; }

# one_line FILE: exactly one line.
one_line() { [ "$(wc -l <"$1")" -eq 1 ] || { cat "$1"; return 1; }; }
# same CMD...: the command prints the same through the scheduler and through Redis.
same() {
  "$PEACE" "$@" --server "$PEACE_SERVER_URL" >"$T/same.server" 2>&1
  local rs=$?
  "$PEACE" "$@" --redis "$PEACE_REDIS_URL" >"$T/same.redis" 2>&1
  local rr=$?
  [ $rs -eq $rr ] && diff "$T/same.redis" "$T/same.server" >"$T/same.diff" ||
    { echo "# exit $rs (server) vs $rr (redis)"; head -20 "$T/same.diff"; return 1; }
}
exec_id_of() { sed -n 's/.*execution \([0-9A-Z]\{26\}\).*/\1/p' "$1" | head -n 1; }
# bounded_wait PID SECONDS: waits for PID to exit (killing it at the deadline); sets RC.
bounded_wait() {
  wait_for "$2" "process $1 to exit" bash -c "! kill -0 $1 2>/dev/null" || kill -KILL "$1"
  wait "$1"
  RC=$?
}
report_is() { # ID JQ-EXPR EXPECTED
  local got
  got=$("$PEACE" report "$1" --json | jq -c "$2")
  [ "$got" = "$3" ] || { echo "# $1: $2 is $got, expected $3"; return 1; }
}

# 1. ---------------------------------------------------------------------------
"$PEACE" list --server https://127.0.0.1:7117 >"$T/o1" 2>&1
rc=$?
check "https: exit 1" test $rc -eq 1
check "https: one line saying https is not supported" \
  eval 'one_line "$T/o1" && grep -q "https is not supported" "$T/o1"'
"$PEACE" status 01ARZ3NDEKTSV4RRFFQ69G5FAV --server 127.0.0.1:7117 >"$T/o1" 2>&1
rc=$?
check "a URL without http://: exit 1 with one line" eval '[ $rc -eq 1 ] && one_line "$T/o1"'
"$PEACE" list --server 'http://user:hunter2@127.0.0.1:1' >"$T/o1" 2>&1
rc=$?
check "user info in the URL: exit 1, the password never printed" \
  eval '[ $rc -eq 1 ] && one_line "$T/o1" && ! grep -q hunter2 "$T/o1"'
"$PEACE" list --server http://no-such-host.invalid:7117 >"$T/o1" 2>&1
rc=$?
check "an unknown host: exit 1, one line naming it" \
  eval '[ $rc -eq 1 ] && one_line "$T/o1" && grep -q "no-such-host.invalid" "$T/o1"'
"$PEACE" run "$EXAMPLES/deploy/flow.json" --server http://127.0.0.1:1 >"$T/o1" 2>&1
rc=$?
check "run with no scheduler there: exit 1" test $rc -eq 1
check "... one line naming the server" \
  eval 'one_line "$T/o1" && grep -q "cannot reach the scheduler at http://127.0.0.1:1" "$T/o1"'
PEACE_SERVER_URL=http://127.0.0.1:1 "$PEACE" list >"$T/o1" 2>&1
rc=$?
check "PEACE_SERVER_URL is used without --server" \
  eval '[ $rc -eq 1 ] && grep -q "127.0.0.1:1" "$T/o1"'

redis_start
sched_start
worker_start w1 --concurrency 2
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"

# 2. ---------------------------------------------------------------------------
unset PEACE_TOKEN
"$PEACE" list >"$T/o2" 2>&1
rc=$?
check "no token: exit 1" test $rc -eq 1
check "no token: one line with the code and how to give a token" \
  eval 'one_line "$T/o2" && grep -q "(unauthorized)" "$T/o2" && grep -q -- "--token" "$T/o2"'
"$PEACE" run "$EXAMPLES/deploy/flow.json" --token wrong >"$T/o2" 2>&1
rc=$?
check "a wrong token: run exits 1 and queues nothing" \
  eval '[ $rc -eq 1 ] && one_line "$T/o2" && [ "$(rcli EXISTS peace:execs)" = 0 ]'
check "--token works" eval '"$PEACE" list --token "$TOKEN" >/dev/null'
export PEACE_TOKEN=$TOKEN
check "PEACE_TOKEN works" eval '"$PEACE" list >/dev/null'

# 3. ---------------------------------------------------------------------------
cp "$EXAMPLES/deploy/flow.json" "$T/deploy.json"
"$PEACE" run "$T/deploy.json" --cmd discover >"$T/o3d" 2>&1
rc=$?
check "run --cmd discover through the scheduler exits 0" test $rc -eq 0
check "discover shows its block and items" \
  eval 'grep -q "block 1/1: discover" "$T/o3d" && grep -q "warmup: success" "$T/o3d"'
check "discover prints the discovered states" \
  eval 'grep -q "^current states:" "$T/o3d" && grep -q "^goal states:" "$T/o3d" &&
        grep -q "^  warmup: {\"done\":true}" "$T/o3d"'
"$PEACE" run "$T/deploy.json" >"$T/o3e" 2>&1
rc=$?
ide=$(exec_id_of "$T/o3e")
check "run (ensure) exits 0" test $rc -eq 0
check "the header names the execution and the queue" \
  grep -q "^ensure demo/local/deploy on the fleet: execution $ide (queue default)$" "$T/o3e"
check "one progress line per change, to the last step" \
  eval 'grep -q "block 5/5: apply_ensure" "$T/o3e" && grep -q "warmup: running 4/8" "$T/o3e" &&
        grep -q "warmup: success 8/8" "$T/o3e"'
# The report ends the output: its first line, then only its indented lines.
report_ends() {
  awk '/^outcome: / { seen = 1; bad = 0; next } seen && !/^  / { bad = 1 } END { exit !(seen && !bad) }' "$1"
}
check "the report ends the output" eval 'report_ends "$T/o3e" && grep -qx "outcome: complete" "$T/o3e"'
check "the worker made the files" \
  eval '[ -f "$WORLD/deploy/app.conf" ] && [ -f "$WORLD/deploy/www/index.html" ] &&
        [ "$(cat "$WORLD/deploy/build.stamp")" = "built from app.conf" ]'
"$PEACE" run "$T/deploy.json" --json >"$T/o3j" 2>"$T/o3j.err"
rc=$?
check "run --json exits 0 and prints the report as one JSON line" \
  eval '[ $rc -eq 0 ] && one_line "$T/o3j" && [ "$(jq -r .outcome "$T/o3j")" = complete ]'
check "run --json keeps progress off stdout" grep -q "apply_ensure" "$T/o3j.err"

# 4. ---------------------------------------------------------------------------
check "list: the same as through Redis" same list
check "list --json: the same" same list --json
check "list --limit 2 --json: the same, two entries" \
  eval 'same list --limit 2 --json && [ "$(jq length "$T/same.server")" = 2 ]'
check "status: the same" same status "$ide"
check "report: the same" same report "$ide"
check "report --json: the same" same report "$ide" --json
check "states: the same" same states demo local deploy
check "states --json: the same" same states demo local deploy --json
"$PEACE" status "$ide" --json --server "$PEACE_SERVER_URL" >"$T/st.server"
"$PEACE" status "$ide" --json --redis "$PEACE_REDIS_URL" >"$T/st.redis"
contract='.meta |= with_entries(select(.key | IN("id","cmd","app","profile","flow","queue","status",
  "outcome","created_ms","started_ms","finished_ms","worker","attempt","block","block_index",
  "blocks_total","items_total","items_done","interrupt_requested_ms","interrupt_reason","error")))'
check "status --json: the same progress, report and contract meta" \
  test "$(jq -S "$contract" "$T/st.server")" = "$(jq -S "$contract" "$T/st.redis")"
for sub in status report watch; do
  "$PEACE" $sub 01ARZ3NDEKTSV4RRFFQ69G5FAV >"$T/o4" 2>&1
  rc=$?
  check "$sub of an unknown id: exit 1, one line with execution_not_found" \
    eval '[ $rc -eq 1 ] && one_line "$T/o4" && grep -q "execution_not_found" "$T/o4"'
done
"$PEACE" status 'bad.id' >"$T/o4" 2>&1
rc=$?
check "a malformed id is refused before any call" eval '[ $rc -eq 1 ] && one_line "$T/o4"'
"$PEACE" states demo local nope --json >"$T/o4"
check "states of a flow with nothing stored: empty maps" \
  test "$(jq -c '[.current, .goal]' "$T/o4")" = '[{},{}]'

# 5. ---------------------------------------------------------------------------
cp "$EXAMPLES/sleep/flow.json" "$T/sleep.json"
"$PEACE" run "$T/sleep.json" --cmd discover --no-progress >/dev/null 2>&1 ||
  fatal "discover of the sleep flow failed"
idd=$("$PEACE" run "$T/sleep.json" --detach)
check "run --detach prints a ULID" bash -c "[[ '$idd' =~ ^[0-7][0-9A-HJKMNP-TV-Z]{25}$ ]]"
"$PEACE" report "$idd" >"$T/o5" 2>&1
rc=$?
check "report of an execution not finished yet: exit 1, one line" \
  eval '[ $rc -eq 1 ] && one_line "$T/o5" && grep -q "no report yet" "$T/o5"'
wait_for 20 "one to run" meta_is "$idd" block apply_ensure
"$PEACE" interrupt "$idd" --reason 'from the cli_server test' >"$T/o5i" 2>&1
rc=$?
check "interrupt of a running execution: exit 0, requested" \
  eval '[ $rc -eq 0 ] && grep -qx "execution $idd: interrupt requested" "$T/o5i"'
check "the reason is recorded" meta_is "$idd" interrupt_reason 'from the cli_server test'
"$PEACE" watch "$idd" >"$T/o5w" 2>&1
rc=$?
check "watch follows it to its outcome: exit 2 (interrupted)" test $rc -eq 2
check "watch shows the header, the interrupt and the report" \
  eval 'grep -q "^ensure demo/local/sleepers on the fleet: execution $idd$" "$T/o5w" &&
        grep -q "interrupted - from the cli_server test" "$T/o5w" &&
        grep -q "^outcome: block_interrupted" "$T/o5w"'
"$PEACE" interrupt "$idd" --json >"$T/o5f" 2>&1
rc=$?
check "interrupt of a finished execution: exit 0, no effect" \
  eval '[ $rc -eq 0 ] && [ "$(jq -r .result "$T/o5f")" = already_finished ]'
idw=$("$PEACE" run "$T/sleep.json" --detach)
wait_for 20 "it to run" meta_is "$idw" block apply_ensure
"$PEACE" interrupt "$idw" --mode cancel --reason 'wait over http' --wait --json >"$T/o5r" 2>&1
rc=$?
log "receipt over the scheduler: $(cat "$T/o5r")"
check "interrupt --wait over the scheduler: exit 2, the receipt names the outcome and mode" \
  eval '[ $rc -eq 2 ] && jq -e ".id == \"$idw\" and .outcome == \"block_interrupted\" and .mode == \"cancel\" and .escalations == 0" "$T/o5r"'
check "... and when it was requested, latched and finished, in that order" \
  jq -e '(.latched_ms | type) == "number" and .requested_ms <= .latched_ms and .latched_ms <= .finished_ms' "$T/o5r"
"$PEACE" interrupt "$idw" --wait --json --redis "$PEACE_REDIS_URL" >"$T/o5rr" 2>&1
check "... the same receipt as --redis prints" cmp "$T/o5r" "$T/o5rr"
"$PEACE" interrupt "$idw" --wait >"$T/o5rt" 2>&1
check "... and as text" grep -q "^execution $idw: outcome block_interrupted" "$T/o5rt"
# The API's receipt: a running execution's 202 carries when the worker
# latched the request; with ?wait=MS, the outcome too.
post_irq() { # ID QUERY BODY
  curl -s -o "$T/irq.json" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
    -H 'Content-Type: application/json' -d "$3" "$PEACE_SERVER_URL/v1/executions/$1/interrupt$2"
}
idl=$("$PEACE" run "$T/sleep.json" --detach)
wait_for 20 "it to run" meta_is "$idl" block apply_ensure
code=$(post_irq "$idl" "" '{"reason":"latch please"}')
log "202 of a running execution: $(cat "$T/irq.json")"
check "API interrupt of a running execution: 202 with latched_ms (the worker's), mode in effect" \
  eval '[ "$code" = 202 ] && jq -e ".requested == true and (.latched_ms | type) == \"number\" and .latched_ms >= .requested_ms and .mode_in_effect == \"finish\" and .escalations == 0 and (has(\"outcome\") | not)" "$T/irq.json"'
check "... the latched time is the one the meta hash records" \
  test "$(jq -r .latched_ms "$T/irq.json")" = "$(meta "$idl" interrupt_latched_ms)"
code=$(post_irq "$idl" "?wait=20000" '{"mode":"cancel","reason":"and wait"}')
log "202 with ?wait: $(cat "$T/irq.json")"
check "API interrupt ?wait=MS: 202 once finished, with the outcome and the escalation" \
  eval '[ "$code" = 202 ] && jq -e ".status == \"finished\" and .outcome == \"block_interrupted\" and .mode_in_effect == \"cancel\" and .escalations == 1 and .finished_ms >= .latched_ms" "$T/irq.json"'
code=$(post_irq "$idl" "?wait=1000" '{}')
check "API ?wait on a finished execution: 202 not requested, with its outcome" \
  eval '[ "$code" = 202 ] && jq -e ".requested == false and .outcome == \"block_interrupted\"" "$T/irq.json"'
for bad in 0 -1 abc 300001 1e3 ''; do
  code=$(post_irq "$idl" "?wait=$bad" '{}')
  check "API ?wait=$bad is 400 bad_request" \
    eval '[ "$code" = 400 ] && jq -e ".code == \"bad_request\"" "$T/irq.json" >/dev/null'
done
"$PEACE" interrupt 01ARZ3NDEKTSV4RRFFQ69G5FAV >"$T/o5u" 2>&1
rc=$?
check "interrupt of an unknown id: exit 1 with one clear line" \
  eval '[ $rc -eq 1 ] && one_line "$T/o5u" &&
        grep -qx "peace: execution 01ARZ3NDEKTSV4RRFFQ69G5FAV not found (execution_not_found)" "$T/o5u"'

# 6. ---------------------------------------------------------------------------
# The markers of the first run are there now: a fresh profile runs everything.
sed 's/"profile": "local"/"profile": "ctrlc"/; s#sleepers/#ctrlc/#g' "$T/sleep.json" >"$T/ctrlc.json"
"$PEACE" run "$T/ctrlc.json" --cmd discover --no-progress >/dev/null 2>&1 ||
  fatal "discover of the ctrl-c flow failed"
"$PEACE" run "$T/ctrlc.json" >"$T/o6" 2>&1 &
runner=$!
PIDS+=("$runner")
wait_for 30 "one and two to make progress" \
  bash -c "grep -q 'one: running 1/10' '$T/o6' && grep -q 'two: running 1/10' '$T/o6'"
kill -INT "$runner"
bounded_wait "$runner" 30
idc=$(exec_id_of "$T/o6")
check "Ctrl-C: exit 2" test "$RC" -eq 2
check "Ctrl-C: the interrupt was requested through the scheduler" \
  eval 'grep -q "interrupt requested: items in progress finish" "$T/o6" &&
        meta_is "$idc" interrupt_reason "Ctrl-C in the peace CLI"'
check "Ctrl-C: the outcome is block_interrupted" grep -q '^outcome: block_interrupted' "$T/o6"
check "Ctrl-C: the items in flight were processed" \
  report_is "$idc" '.items_processed | sort' '["one","two"]'
check "Ctrl-C: the others were not, in flow order" \
  report_is "$idc" '.items_not_processed' '["three","four"]'
check "Ctrl-C: the apply block is the one not processed" \
  report_is "$idc" '.blocks_not_processed' '["apply_ensure"]'
check "Ctrl-C: three and four never ran" test ! -e "$WORLD/ctrlc/three.done"

sed 's/"profile": "local"/"profile": "twice"/; s#sleepers/#twice/#g' "$T/sleep.json" >"$T/twice.json"
"$PEACE" run "$T/twice.json" --cmd discover --no-progress >/dev/null 2>&1 ||
  fatal "discover of the second ctrl-c flow failed"
"$PEACE" run "$T/twice.json" >"$T/o6b" 2>&1 &
runner=$!
PIDS+=("$runner")
wait_for 30 "one to make progress" grep -q 'one: running 1/10' "$T/o6b"
kill -INT "$runner"
wait_for 10 "the first Ctrl-C to be answered" grep -q 'interrupt requested' "$T/o6b"
started=$(now_ms)
kill -INT "$runner"
bounded_wait "$runner" 10
check "a second Ctrl-C exits 130" test "$RC" -eq 130
check "... at once" test $(($(now_ms) - started)) -lt 2000
check "... saying so" grep -q 'interrupted twice, exiting now' "$T/o6b"
idt=$(exec_id_of "$T/o6b")
wait_for 30 "the abandoned execution to finish" finished "$idt"
check "the execution left behind still ends interrupted" meta_is "$idt" outcome block_interrupted

# 7. ---------------------------------------------------------------------------
sed 's/"profile": "local"/"profile": "restart"/; s#sleepers/#restart/#g' "$T/sleep.json" >"$T/restart.json"
"$PEACE" run "$T/restart.json" --cmd discover --no-progress >/dev/null 2>&1 ||
  fatal "discover of the restart flow failed"
"$PEACE" run "$T/restart.json" >"$T/o7" 2>&1 &
runner=$!
PIDS+=("$runner")
wait_for 30 "one to make progress" grep -q 'one: running 2/10' "$T/o7"
kill -TERM "$SCHED_PID"
wait_for 10 "the scheduler to exit" sched_gone || fatal "the scheduler did not stop"
LISTENS=2 sched_start "$SCHED_PORT"
bounded_wait "$runner" 60
check "the run survives a scheduler restart: exit 0" test "$RC" -eq 0
check "it said it reconnected" \
  eval 'grep -q "reconnecting" "$T/o7" && grep -q "reconnected to the scheduler" "$T/o7"'
check "no event was shown twice" \
  test "$(grep -c 'four: success 10/10' "$T/o7") $(grep -c 'one: running 1/10' "$T/o7")" = "1 1"
check "the report ends the output" grep -q '^outcome: complete' "$T/o7"
check "the worker is still running" worker_alive w1

finish
