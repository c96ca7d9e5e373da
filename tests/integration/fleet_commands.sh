#!/usr/bin/env bash
# discover, ensure and clean of the deploy example on a fleet of 2 workers,
# followed by `peace run` as a user would:
#  1. discover completes; the stored current and goal states decode to
#     exactly what the item types report (a local discover of the same world);
#  2. ensure applies every item; meta and progress are plain text readable
#     with redis-cli HGETALL, with the fields CONTRACT §3 names; the events
#     stream has every block and one outcome; the states match the world;
#  3. a second ensure has nothing to do; clean removes what ensure made and
#     the stored current states match the world again;
#  4. list, status, report and states agree with what Redis holds;
#  5. several discovers at once, on distinct profiles, all complete.
PEACE=${1:?usage: fleet_commands.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
flow=$(cd "$(dirname "$0")/../../examples/deploy" && pwd)/flow.json

redis_start
worker_start w1 --concurrency 2
worker_start w2 --concurrency 2
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"
wait_for 20 "worker w2 to read the queue" worker_ready w2 || fatal "worker w2 not ready"

# run_follow NAME ARGS...: peace run, following; output in $T/NAME.out, id in $T/NAME.id.
run_follow() {
  local name=$1
  shift
  "$PEACE" run "$flow" "$@" >"$T/$name.out" 2>&1
  local rc=$?
  sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/$name.out" | head -1 >"$T/$name.id"
  return $rc
}
states_match_world() { # KIND
  diff <(fleet_states demo local deploy "$1") <(local_discover "$flow" "$1") >"$T/states.diff"
}

# 1. --------------------------------------------------------------------------
run_follow discover --cmd discover
check "discover on the fleet exits 0" test $? -eq 0
check "discover completes" grep -q 'outcome: complete' "$T/discover.out"
check "discover prints the stored states" grep -q '^current states:' "$T/discover.out"
check "stored current states decode to what the items report" states_match_world current
check "stored goal states decode to what the items report" states_match_world goal
check "the states hash holds one entry per item" \
  test "$(rcli HLEN 'peace:states:{demo:local}:deploy:current')" = 5

# 2. --------------------------------------------------------------------------
run_follow ensure --cmd ensure
check "ensure exits 0" test $? -eq 0
id=$(cat "$T/ensure.id")
check "ensure completes" grep -q 'outcome: complete' "$T/ensure.out"
check "ensure applied every item (rendered from the events)" \
  test "$(grep -c ': success.* - done!' "$T/ensure.out")" -eq 5
check "files were written in the workers' world" \
  test -f "$WORLD/deploy/app.conf" -a -f "$WORLD/deploy/www/index.html" -a -f "$WORLD/deploy/warm.marker"
check "file mode follows params" test "$(stat -c %a "$WORLD/deploy/app.conf")" = 640

# One field at a time: the binary `report` may hold newline bytes, which would
# shift a line-based parse of HGETALL's output.
field() { rcli HGET "peace:exec:{$id}" "$1"; }
check "HGETALL meta: status finished, outcome complete" \
  test "$(field status) $(field outcome)" = "finished complete"
check "HGETALL meta: id, cmd, app/profile/flow, queue" \
  test "$(field id) $(field cmd) $(field app)/$(field profile)/$(field flow) $(field queue)" = \
  "$id ensure demo/local/deploy default"
check "HGETALL meta: worker is one of the fleet's consumers" \
  bash -c "test -n '$(field worker)' && { test '$(field worker)' = '$(worker_consumer w1)' || test '$(field worker)' = '$(worker_consumer w2)'; }"
check "HGETALL meta: attempt 1" test "$(field attempt)" = 1
check "HGETALL meta: created <= started <= finished (Unix ms)" \
  bash -c "test $(field created_ms) -le $(field started_ms) && test $(field started_ms) -le $(field finished_ms)"
check "HGETALL meta: blocks_total 5, items_total 5, items_done 5" \
  test "$(field blocks_total) $(field items_total) $(field items_done)" = "5 5 5"
check "HGETALL meta: the last block ran" \
  test "$(field block) $(field block_index)" = "apply_ensure 4"
check "HGETALL meta: a report" test -n "$(field report)"
check "HGETALL meta: no interrupt recorded" test -z "$(field interrupt_requested_ms)"

rcli HGETALL "peace:exec:{$id}:progress" >"$T/progress.txt"
pfield() { awk -v f="$1" 'NR % 2 == 1 && $0 == f { getline; print; exit }' "$T/progress.txt"; }
ok=1
for item in workspace config index build warmup; do
  [ "$(pfield "$item" | cut -d' ' -f1)" = success ] || ok=0
done
check "HGETALL progress: layout 2, marked" test "$(pfield .layout)" = 2
check "HGETALL progress: one field per item, and the marker" \
  test "$(($(wc -l <"$T/progress.txt") / 2))" = 6
check "HGETALL progress: every item's status is success" test $ok -eq 1
check "HGETALL progress: the sleep item's line is plain text (status, limit, done, message)" \
  test "$(pfield warmup)" = 'success steps:8 8 done!'

events=$(rcli XRANGE "peace:exec:{$id}:events" - +)
check "events: one block_start per block, in order" \
  test "$(echo "$events" | awk 'prev == "block" { print } { prev = $0 }' | tr '\n' ' ')" = \
  "read_current read_goal discover sync_check apply_ensure "
kinds=$(echo "$events" | awk 'prev == "kind" { print } { prev = $0 }' | tr '\n' ' ')
check "events: exactly one outcome, the last entry ($(echo "$kinds" | wc -w) events)" \
  bash -c "test \"\$(echo '$kinds' | grep -o outcome | wc -l)\" = 1 && [[ '$kinds' == *'outcome ' ]]"
check "stored current states match the world after ensure" states_match_world current
check "stored goal states match the world after ensure" states_match_world goal
check "the queue entry was acknowledged" \
  test "$(rcli XPENDING 'peace:queue:{default}' workers | head -1)" = 0

# 3. --------------------------------------------------------------------------
run_follow ensure2 --cmd ensure
check "a second ensure exits 0" test $? -eq 0
check "a second ensure has nothing to do for every item" \
  test "$(grep -c ': success.* - nothing to do!' "$T/ensure2.out")" -eq 5
run_follow clean --cmd clean
check "clean exits 0" test $? -eq 0
check "clean removed what ensure made" test ! -e "$WORLD/deploy"
check "stored current states match the world after clean" states_match_world current
order=$(grep ': queued' "$T/clean.out" | sed 's/.*] \([a-z]*\): queued/\1/' | tr '\n' ' ')
check "clean ran in reverse dependency order (warmup first, workspace last): $order" \
  test "$(echo "$order" | awk '{print $1}') $(echo "$order" | awk '{print $NF}')" = "warmup workspace"

# 4. --------------------------------------------------------------------------
check "report --json of the ensure: complete, 5 blocks processed" \
  test "$("$PEACE" report "$id" --json | jq -r '"\(.outcome) \(.blocks_processed | length)"')" = "complete 5"
check "status --json shows meta and per-item progress" \
  test "$("$PEACE" status "$id" --json | jq -r '"\(.meta.status) \(.progress.warmup.status) \(.progress.warmup.done) \(.report.outcome)"')" = \
  "finished success 8 complete"
check "list shows the four executions, newest (clean) first" \
  test "$("$PEACE" list --json | jq -r 'map(.cmd) | join(" ")')" = "clean ensure ensure discover"

"$PEACE" watch "$id" >"$T/watch.out" 2>&1
check "watch of the finished ensure replays it: exit 0, every item, the outcome" \
  bash -c "test $? -eq 0 && test \$(grep -c ': success.* - done!' '$T/watch.out') -eq 5 && grep -q 'outcome: complete' '$T/watch.out'"
sleep_flow "$T/live.json" demo live f 10 50 2
idl=$(submit "$T/live.json" --cmd discover)
"$PEACE" watch "$idl" >"$T/live.out" 2>&1
check "watch of a live execution follows it to its outcome" \
  bash -c "test $? -eq 0 && grep -q 'outcome: complete' '$T/live.out' && grep -q 's2: success' '$T/live.out'"

# 5. --------------------------------------------------------------------------
ids=()
for p in $(seq 1 6); do
  sleep_flow "$T/many$p.json" many "p$p" f 3 20 2
  ids+=("$(submit "$T/many$p.json" --cmd discover)")
done
wait_finished 60 "${ids[@]}"
all=1
workers_used=
for i in "${ids[@]}"; do
  meta_is "$i" outcome complete || all=0
  workers_used="$workers_used $(meta "$i" worker)"
done
check "6 discovers at once on 2 workers all complete" test $all -eq 1
log "workers that ran them:$(echo "$workers_used" | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
check "both workers are still running" bash -c "kill -0 ${WORKER_PID[w1]} && kill -0 ${WORKER_PID[w2]}"

finish
