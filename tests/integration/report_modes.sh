#!/usr/bin/env bash
# The report (schemas/README.md "outcome report", version 3) the same in
# every mode, end to end: a private redis-server, one worker, a scheduler.
#  1. one flow's diff, ensure_dry, ensure and clean run with --local,
#     --redis and --server: the three `run --json` reports are equal apart
#     from times, and name the changed items, the diffs and the would-be
#     states; `report ID --json` and `status ID --json` carry the same report;
#  2. a Python client that knows only schemas/README.md (redis-py, msgpack)
#     decodes the full report of an ensure from `peace:exec:{ID}:report`;
#  3. an item_error report has the error on the item's apply entry;
#  4. an interrupted ensure's report has per-block times, the in-flight
#     item's time and the interrupt time;
#  5. /metrics has the block, execution and queue-wait histograms;
#  6. local runs keep their reports (newest 50): list --local, report ID --local,
#     status ID --local.
SCHED=${1:?usage: report_modes.sh PATH/TO/peace-scheduler PATH/TO/peace PATH/TO/peace-worker}
PEACE=${2:?}
WORKER=${3:?}
HERE=$(realpath "$(dirname "$0")")
. "$HERE/lib.sh"
SCHED=$(realpath "$SCHED")

redis_start
worker_start w1 --lease-ms 5000
wait_for 10 "the worker to join" worker_ready w1 || fatal "the worker did not start"
export PEACE_TOKEN=report-modes-test-token
"$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 >"$T/scheduler.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/scheduler.log" ||
  fatal "the scheduler did not start"
SERVER=http://127.0.0.1:$(sed -nE 's/.*listening on [^ ]*:([0-9]+) .*/\1/p' "$T/scheduler.log" | head -n 1)
log "scheduler at $SERVER"

# flow_for MODE: two file items (b depends on a) and a third already in its
# goal state, under $T/MODE, profile MODE (each mode has its own States).
flow_for() {
  local d=$T/files-$1
  mkdir -p "$d"
  printf 'same\n' >"$d/c.txt"
  chmod 0644 "$d/c.txt"
  cat >"$T/flow-$1.json" <<JSON
{"app":"rep","profile":"$1","flow":"f","items":[
 {"id":"a","type":"file","params":{"path":"$d/a.txt","content":"alpha\n","mode":"0644"}},
 {"id":"b","type":"file","deps":["a"],"params":{"path":"$d/b.txt","content":"beta\n","mode":"0600"}},
 {"id":"c","type":"file","params":{"path":"$d/c.txt","content":"same\n","mode":"0644"}}]}
JSON
}

# strip: the report of a `run --json` / `report --json` line without its times.
strip() { jq -S 'def s: walk(if type == "object" then with_entries(select(.key | test("_ms$") | not)) else . end); (.report // .) | s'; }

run_mode() { # MODE CMD -> $T/MODE-CMD.json (the report, times removed)
  local mode=$1 cmd=$2 out=$T/$1-$2.out
  case $mode in
  local) (cd "$T" && "$PEACE" run "$T/flow-$mode.json" --local --cmd "$cmd" --json) >"$out" 2>"$out.err" ;;
  redis) "$PEACE" run "$T/flow-$mode.json" --redis "$PEACE_REDIS_URL" --cmd "$cmd" --json >"$out" 2>"$out.err" ;;
  server) "$PEACE" run "$T/flow-$mode.json" --server "$SERVER" --cmd "$cmd" --json >"$out" 2>"$out.err" ;;
  esac
  tail -n 1 "$out" | strip >"$T/$mode-$cmd.json"
}

# 1. ---------------------------------------------------------------------------
for mode in local redis server; do
  flow_for "$mode"
  for cmd in discover diff ensure_dry ensure clean; do
    run_mode "$mode" "$cmd"
  done
done
for cmd in diff ensure_dry ensure clean; do
  check "$cmd: --local and --redis give the same report" \
    diff "$T/local-$cmd.json" "$T/redis-$cmd.json"
  check "$cmd: --redis and --server give the same report" \
    diff "$T/redis-$cmd.json" "$T/server-$cmd.json"
done
check "diff: the report has each item's diff, in flow order" \
  test "$(jq -c '[.blocks[] | select(.block == "diff") | .items[] | [.item, .diff.change]]' "$T/redis-diff.json")" = \
  '[["a","create"],["b","create"],["c","none"]]'
check "ensure_dry: would change a and b, c already in its goal, would-be states" \
  test "$(jq -c '[.blocks[-1] | .block, (.items[] | [.item, .changed, .state.exists])]' "$T/redis-ensure_dry.json")" = \
  '["apply_ensure_dry",["a",true,true],["b",true,true],["c",false,true]]'
check "ensure: changed a and b, not c; the resulting states" \
  test "$(jq -c '[.blocks[-1] | .block, (.items[] | [.item, .changed, .state.mode])]' "$T/redis-ensure.json")" = \
  '["apply_ensure",["a",true,"0644"],["b",true,"0600"],["c",false,"0644"]]'
check "ensure: every block has a start and a duration, in order" \
  bash -c "tail -n 1 '$T/redis-ensure.out' | jq -e '(.report // .) as \$r | [\$r.blocks[].block] == \$r.blocks_processed and all(\$r.blocks[]; .start_ms >= \$r.started_ms and .duration_ms >= 0) and \$r.created_ms <= \$r.started_ms and \$r.started_ms <= \$r.finished_ms' >/dev/null"
check "clean: removed b before a (reverse order), all three changed" \
  test "$(jq -c '[.blocks[-1] | .block, (.items[] | [.item, .changed, .state.exists])]' "$T/redis-clean.json")" = \
  '["apply_clean",["a",true,false],["b",true,false],["c",true,false]]'
id=$(tail -n 1 "$T/redis-ensure.out" | jq -r '.id // empty')
if [ -z "$id" ]; then id=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\).*/\1/p' "$T/redis-ensure.out.err" | head -n 1); fi
check "peace run --redis writes the items meta field, in flow order" \
  test "$(rcli HGET "peace:exec:{$id}" items)" = "a,b,c"
"$PEACE" report "$id" --redis "$PEACE_REDIS_URL" --json | strip >"$T/report-redis.json"
"$PEACE" report "$id" --server "$SERVER" --json | strip >"$T/report-server.json"
check "report ID --json: the run's report (--redis)" diff "$T/redis-ensure.json" "$T/report-redis.json"
check "report ID --json: the run's report (--server)" diff "$T/redis-ensure.json" "$T/report-server.json"
curl -s -H "Authorization: Bearer $PEACE_TOKEN" "$SERVER/v1/executions/$id" | jq '.report' | strip >"$T/api.json"
check "GET /v1/executions/{id}: the same report" diff "$T/redis-ensure.json" "$T/api.json"

curl -s -H "Authorization: Bearer $PEACE_TOKEN" "$SERVER/metrics" >"$T/metrics.txt"
check "/metrics: block durations by command and block (two ensures through the fleet)" \
  grep -q '^peace_block_duration_seconds_count{cmd="ensure",block="apply_ensure"} 2$' "$T/metrics.txt"
check "/metrics: execution durations by command and outcome, queue waits" \
  bash -c "grep -q '^peace_execution_duration_seconds_count{cmd=\"clean\",outcome=\"complete\"} 2\$' '$T/metrics.txt' &&
           grep -q '^peace_queue_wait_seconds_count 10\$' '$T/metrics.txt'"

# Local history: every --local run above kept its report under .peace.
(cd "$T" && "$PEACE" list --local --json) >"$T/local-list.json"
check "list --local: the five local runs, newest first" \
  test "$(jq -c '[.[] | .cmd]' "$T/local-list.json")" = '["clean","ensure","ensure_dry","diff","discover"]'
lid=$(jq -r '.[1].id' "$T/local-list.json")
(cd "$T" && "$PEACE" report "$lid" --local --json) | strip >"$T/local-report.json"
check "report ID --local --json: the local ensure's report, as the run printed it" \
  diff "$T/local-ensure.json" "$T/local-report.json"
(cd "$T" && "$PEACE" status "$lid" --local --json) >"$T/local-status.json"
check "status ID --local --json: finished, its meta, the same report" \
  test "$(jq -c '.meta | [.id, .cmd, .app, .profile, .flow, .status, .outcome]' "$T/local-status.json") $(strip <"$T/local-status.json" | diff - "$T/local-report.json" && echo same)" = \
  "[\"$lid\",\"ensure\",\"rep\",\"local\",\"f\",\"finished\",\"complete\"] same"
(cd "$T" && "$PEACE" status "$lid" --local) >"$T/local-status.txt"
check "status ID --local: the text view names the execution and its blocks" \
  bash -c "grep -q '^execution $lid\$' '$T/local-status.txt' && grep -q 'status: finished' '$T/local-status.txt' && grep -q 'block apply_ensure' '$T/local-status.txt'"
(cd "$T" && "$PEACE" status 01ARZ3NDEKTSV4RRFFQ69G5FAV --local) >/dev/null 2>&1
check "status ID --local: an unknown id exits 1" test $? -eq 1
(cd "$T" && "$PEACE" report 01ARZ3NDEKTSV4RRFFQ69G5FAV --local) >/dev/null 2>&1
check "report ID --local: an unknown id exits 1" test $? -eq 1
for _ in $(seq 1 52); do
  (cd "$T" && "$PEACE" run "$T/flow-local.json" --local --cmd read_current --json) >/dev/null 2>&1
done
check "local history is bounded: the newest 50 kept" \
  test "$(ls "$T/.peace/rep/local/f/executions" | wc -l) $(cd "$T" && "$PEACE" list --local --json | jq -r '[.[] | .cmd] | unique | join(",")')" = "50 read_current"

# 2. ---------------------------------------------------------------------------
check "a Python client decodes the full report (redis-py + msgpack, schemas/README.md only)" \
  /usr/bin/python3 "$HERE/report_client.py" "$REDIS_PORT" "$id"

# A report of at most 64 bytes is kept whole in the meta hash (no report key):
# every reader shows it the same.
cat >"$T/flow-short.json" <<JSON
{"app":"rep","profile":"short","flow":"f","items":[{"id":"x","type":"sleep","params":{"steps":1,"step_ms":1,"marker":"$T/x.done"}}]}
JSON
"$PEACE" run "$T/flow-short.json" --redis "$PEACE_REDIS_URL" --cmd discover >/dev/null 2>&1
"$PEACE" run "$T/flow-short.json" --redis "$PEACE_REDIS_URL" --cmd read_current --json >"$T/short.out" 2>"$T/short.err"
sid=$(tail -n 1 "$T/short.out" | jq -r '.id // empty')
if [ -z "$sid" ]; then sid=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\).*/\1/p' "$T/short.err" | head -n 1); fi
check "a short report: no report key, the whole report (v 3) in the meta hash" \
  test "$(rcli EXISTS "peace:exec:{$sid}:report") $(rcli HGET "peace:exec:{$sid}" report | head -c 4 | tail -c 3 | od -An -tx1 | tr -d ' ')" = "0 a17603"
"$PEACE" report "$sid" --redis "$PEACE_REDIS_URL" --json | strip >"$T/short-redis.json"
"$PEACE" report "$sid" --server "$SERVER" --json | strip >"$T/short-server.json"
check "a short report: report --redis and --server show its block and entry" \
  test "$(jq -c '[.blocks_processed, .blocks[0].items]' "$T/short-redis.json") $(jq -c '[.blocks_processed, .blocks[0].items]' "$T/short-server.json")" = \
  '[["read_current"],[{"current":{"done":false},"item":"x"}]] [["read_current"],[{"current":{"done":false},"item":"x"}]]'
check "a short report: the Python client reads it from the meta hash" \
  /usr/bin/python3 "$HERE/report_client.py" "$REDIS_PORT" "$sid" short

# Flow order in every listing of States: twelve file items whose ids are in
# neither alphabetical nor any hash order (their states are over 64 bytes, so
# Redis keeps the hashes as hash tables and HGETALL answers in bucket order).
ORDER="m c x a q b z k d y e j"
mkdir -p "$T/ord"
{
  printf '{"app":"rep","profile":"ord","flow":"f","items":['
  sep=
  for i in $ORDER; do
    printf '%s{"id":"%s","type":"file","params":{"path":"%s/%s.txt","content":"%s\\n"}}' "$sep" "$i" "$T/ord" "$i" "$i"
    sep=,
  done
  printf ']}\n'
} >"$T/flow-ord.json"
want=$(printf '%s\n' $ORDER | jq -R . | jq -cs .)
"$PEACE" run "$T/flow-ord.json" --redis "$PEACE_REDIS_URL" --cmd discover --json >"$T/ord-discover.out" 2>/dev/null
"$PEACE" states rep ord f --redis "$PEACE_REDIS_URL" --json >"$T/ord-redis.json"
"$PEACE" states rep ord f --server "$SERVER" --json >"$T/ord-server.json"
curl -s -H "Authorization: Bearer $PEACE_TOKEN" "$SERVER/v1/states/rep/ord/f" >"$T/ord-api.json"
check "states in flow order: peace states --redis --json (current and goal)" \
  test "$(jq -c '.current | keys_unsorted' "$T/ord-redis.json") $(jq -c '.goal | keys_unsorted' "$T/ord-redis.json")" = "$want $want"
check "states in flow order: GET /v1/states (current and goal)" \
  test "$(jq -c '.current | keys_unsorted' "$T/ord-api.json") $(jq -c '.goal | keys_unsorted' "$T/ord-api.json")" = "$want $want"
check "states in flow order: peace states --server --json" \
  test "$(jq -c '.current | keys_unsorted' "$T/ord-server.json")" = "$want"
"$PEACE" states rep ord f --redis "$PEACE_REDIS_URL" >"$T/ord-redis.txt"
check "states in flow order: peace states (text), the same lines as --server" \
  bash -c "'$PEACE' states rep ord f --server '$SERVER' | diff - '$T/ord-redis.txt' &&
           test \"\$(sed -nE 's/^  ([a-z]): .*/\\1/p' '$T/ord-redis.txt' | head -n 12 | tr '\\n' ' ')\" = '$ORDER '"
check "discover's report lists the items in flow order" \
  test "$(tail -n 1 "$T/ord-discover.out" | jq -c '(.report // .) | [.blocks[0].items[].item]')" = "$want"

# 3. ---------------------------------------------------------------------------
cat >"$T/flow-err.json" <<JSON
{"app":"rep","profile":"err","flow":"f","items":[
 {"id":"ok","type":"file","params":{"path":"$T/ok.txt","content":"x"}},
 {"id":"bad","type":"sleep","params":{"steps":3,"step_ms":1,"marker":"$T/bad.done","fail_at_step":2}}]}
JSON
"$PEACE" run "$T/flow-err.json" --redis "$PEACE_REDIS_URL" --cmd discover >/dev/null 2>&1
"$PEACE" run "$T/flow-err.json" --redis "$PEACE_REDIS_URL" --cmd ensure --json >"$T/err.out" 2>&1
tail -n 1 "$T/err.out" | jq '.report // .' >"$T/err.json"
check "item_error: the outcome" test "$(jq -r .outcome "$T/err.json")" = item_error
check "item_error: the error is on the item's apply entry, with its time" \
  jq -e '.blocks[-1].items[] | select(.item == "bad") | (.error | length > 0) and .changed == true and (.duration_ms >= 0)' "$T/err.json"
check "item_error: the other item's entry has no error" \
  jq -e '.blocks[-1].items[] | select(.item == "ok") | has("error") | not' "$T/err.json"

# 4. ---------------------------------------------------------------------------
sleep_flow "$T/flow-int.json" rep int f 40 50 3
"$PEACE" run "$T/flow-int.json" --redis "$PEACE_REDIS_URL" --cmd discover >/dev/null 2>&1
"$PEACE" run "$T/flow-int.json" --redis "$PEACE_REDIS_URL" --cmd ensure --detach >"$T/int.out" 2>&1
iid=$(sed -n 's/.*\([0-9A-Z]\{26\}\).*/\1/p' "$T/int.out" | head -n 1)
s1_running() { pstatus_is "$iid" s1 running; }
wait_for 20 "s1 to run" s1_running || fatal "s1 never ran"
"$PEACE" interrupt "$iid" --redis "$PEACE_REDIS_URL" >/dev/null 2>&1
wait_for 30 "the interrupted ensure to finish" finished "$iid" || fatal "it did not finish"
"$PEACE" report "$iid" --redis "$PEACE_REDIS_URL" --json >"$T/int.json"
check "interrupted: block_interrupted" test "$(jq -r '.report.outcome // .outcome' "$T/int.json")" = block_interrupted
check "interrupted: every block run has its times; the interrupt time is inside the last" \
  jq -e '(.report // .) as $r | ($r.blocks | length) == 5 and all($r.blocks[]; has("start_ms") and has("duration_ms")) and $r.interrupted_ms >= $r.blocks[-1].start_ms and $r.interrupted_ms <= $r.finished_ms' "$T/int.json"
check "interrupted: the in-flight item s1 ran to its end (its time), s2 and s3 have no entry" \
  jq -e '(.report // .) as $r | [$r.blocks[-1].items[].item] == ["s1"] and $r.blocks[-1].items[0].duration_ms >= 1000 and $r.blocks[-1].items[0].changed == true' "$T/int.json"
"$PEACE" report "$iid" --redis "$PEACE_REDIS_URL" >"$T/int.txt"
check "interrupted: the text report shows the block timeline and the interrupt" \
  bash -c "grep -q 'block apply_ensure: +' '$T/int.txt' && grep -q 'interrupted at +' '$T/int.txt' && grep -q 's1: changed (' '$T/int.txt'"

finish
