#!/usr/bin/env bash
# The operations views and actions of the CLI on Redis (peace/fleet_ops.h,
# docs/fleet.md "Operations"):
#  1. `peace workers`: the live workers from their heartbeats (pid, queue,
#     the executions running now);
#  2. `peace queues`: length, pending, live workers and the oldest job of
#     each queue (a queue without workers included), the dead-letter length;
#  3. `peace dead`: dead letters newest first, pages by --cursor that see
#     every entry once; `peace dead retry`: a new execution linked to the
#     entry, the entry removed, a second retry answers the same id; a job that
#     cannot be decoded, an unknown entry and a bad id are refused;
#  4. `peace rerun`: the same command and flow as a new execution, linked
#     (rerun_of), finishing like the first; an unknown id and an execution
#     whose job is not kept are refused;
#  5. (given peace-scheduler) the same commands with --server print the same
#     JSON as with --redis, and rerun and retry work through the API.
PEACE=${1:?usage: fleet_ops.sh PEACE WORKER [SCHEDULER]}
WORKER=${2:?}
SCHED=${3:-}
. "$(dirname "$0")/lib.sh"
[ -n "$SCHED" ] && SCHED=$(realpath "$SCHED")
LEASE=1200

redis_start
worker_start w1 --lease-ms "$LEASE" --concurrency 2 --metrics-listen 127.0.0.1:0
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
wait_for 10 "w1's metrics endpoint" grep -q metrics_listening "$T/w1.log" || fatal "no metrics endpoint"
WMPORT=$(grep -m1 metrics_listening "$T/w1.log" | sed -E 's/.*addr=127\.0\.0\.1:([0-9]+).*/\1/')

# ---- 1. workers ---------------------------------------------------------------
wjson() { "$PEACE" workers --json; }
check "workers: one live worker, with its pid" \
  wait_for 10 "w1's heartbeat" bash -c "'$PEACE' workers --json | jq -e '.workers | length == 1 and .[0].pid == ${WORKER_PID[w1]}'"
check "workers: its queue, concurrency and lease" \
  test "$(wjson | jq -c '.workers[0] | [.queue, .concurrency, .lease_ms]')" = '["default",2,1200]'
"$PEACE" workers >"$T/workers.txt"
check "workers: a table with a header" grep -q "^CONSUMER .* PID " "$T/workers.txt"
check "workers: and w1's row with its pid" grep -q " ${WORKER_PID[w1]} " "$T/workers.txt"
sleep_flow "$T/slow.json" demo p slow 40 50 1
"$PEACE" run "$T/slow.json" --cmd discover --no-progress >/dev/null 2>&1 # stored states for ensure
slow=$(submit "$T/slow.json" --cmd ensure)
check "workers: the running execution is listed" \
  wait_for 10 "the running execution in w1's heartbeat" bash -c "'$PEACE' workers --json | jq -e --arg id '$slow' '.workers[0].executions | index(\$id) != null'"
wait_finished 30 "$slow"
check "workers: the finished execution leaves the list" \
  wait_for 10 "an empty execution list" bash -c "'$PEACE' workers --json | jq -e '.workers[0].executions == []'"

# ---- 2. queues ----------------------------------------------------------------
sleep_flow "$T/other.json" demo p other 1 1 1
other=$(submit "$T/other.json" --cmd discover --queue other)
"$PEACE" queues --json --queue other >"$T/queues.json"
check "queues: the registry lists default (its worker beat)" \
  jq -e '.queues[] | select(.name == "default") | .workers_live == 1 and .length == 0' "$T/queues.json"
check "queues: a named queue without workers shows its backlog" \
  jq -e '.queues[] | select(.name == "other") | .length == 1 and .pending == 0 and .workers_live == 0 and .oldest_age_ms >= 0' "$T/queues.json"
check "queues: no dead letters yet" jq -e '.dead_length == 0' "$T/queues.json"
"$PEACE" queues --queue other >"$T/queues.txt"
check "queues: a table" grep -q '^other .* 1 ' "$T/queues.txt"
test -n "$other"

# ---- 3. dead letters ------------------------------------------------------------
cat >"$T/nope.json" <<'JSON'
{"app":"bad","profile":"p","flow":"f","items":[{"id":"x","type":"nope","params":{}}]}
JSON
"$PEACE" run "$T/nope.json" --cmd discover >"$T/nope.out" 2>&1
nope=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/nope.out" | head -1)
Q='peace:queue:{default}'
for i in 1 2 3 4; do rcli XADD "$Q" '*' exec "01HZZZZZZZZZZZZZZZZZZZZZZ$i" job "garbage $i" >/dev/null; done
wait_for 20 "five dead letters" bash -c "test \$(redis-cli -p $REDIS_PORT XLEN peace:dead) -eq 5"
"$PEACE" dead --json >"$T/dead.json"
check "dead: five entries, newest first" \
  jq -e '(.dead | length) == 5 and .length == 5 and .next_cursor == null and (.dead | map(.id) | . == (sort | reverse))' "$T/dead.json"
check "dead: the rejected job is retryable and described" \
  jq -e --arg id "$nope" '.dead[] | select(.exec == $id) | .retryable and .job.app == "bad" and .job.cmd == "discover" and (.reason | test("nope"))' "$T/dead.json"
check "dead: garbage is not retryable" jq -e '[.dead[] | select(.retryable | not)] | length == 4' "$T/dead.json"
# Pages of 2: every entry once, in order.
seen=()
cursor=
for page in 1 2 3 4; do
  if [ -n "$cursor" ]; then out=$("$PEACE" dead --json --limit 2 --cursor "$cursor"); else out=$("$PEACE" dead --json --limit 2); fi
  mapfile -t ids < <(jq -r '.dead[].id' <<<"$out")
  seen+=("${ids[@]}")
  cursor=$(jq -r '.next_cursor // empty' <<<"$out")
  [ -z "$cursor" ] && break
done
check "dead: pages of 2 see the 5 entries once, in order" \
  test "$(printf '%s\n' "${seen[@]}")" = "$(jq -r '.dead[].id' "$T/dead.json")"
"$PEACE" dead --cursor 'x-1' >"$T/badcur.out" 2>&1
check "dead: a bad cursor is refused" test $? -eq 1
"$PEACE" dead --limit 101 >"$T/badlim.out" 2>&1
check "dead: a limit over 100 is refused" test $? -eq 1

entry=$(jq -r --arg id "$nope" '.dead[] | select(.exec == $id) | .id' "$T/dead.json")
"$PEACE" dead retry "$entry" --json >"$T/retry.json"
new=$(jq -r .id "$T/retry.json")
check "retry: a new execution" jq -e '.already_retried == false' "$T/retry.json"
check "retry: linked to the entry" meta_is "$new" retry_of "$entry"
check "retry: the entry left the dead letters" test "$(rcli XRANGE peace:dead "$entry" "$entry" | grep -c .)" -eq 0
"$PEACE" dead retry "$entry" --json >"$T/retry2.json"
check "retry: twice answers the same execution" \
  test "$(jq -r '[.id, .already_retried] | @tsv' "$T/retry2.json")" = "$(printf '%s\ttrue' "$new")"
wait_finished 20 "$new"
check "retry: the job ran again (still rejected: no such type)" meta_is "$new" outcome rejected
garbage=$(jq -r '.dead[] | select(.retryable | not) | .id' "$T/dead.json" | head -1)
"$PEACE" dead retry "$garbage" >"$T/rg.out" 2>&1
check "retry: an undecodable job is refused (exit 1)" test $? -eq 1
check "retry: saying why" grep -q 'cannot be queued again' "$T/rg.out"
check "retry: and the entry stays" test "$(rcli XRANGE peace:dead "$garbage" "$garbage" | wc -l)" -gt 0
"$PEACE" dead retry 1-0 >"$T/r404.out" 2>&1
check "retry: an unknown entry is refused" test $? -eq 1
check "retry: as not found" grep -q 'not found' "$T/r404.out"
"$PEACE" dead retry 'nope' >/dev/null 2>&1
check "retry: a malformed id is refused" test $? -eq 1

# ---- 4. rerun -------------------------------------------------------------------
sleep_flow "$T/quick.json" demo p quick 2 10 2
"$PEACE" run "$T/quick.json" --cmd discover --no-progress >/dev/null 2>&1
"$PEACE" run "$T/quick.json" --cmd ensure --no-progress >"$T/quick.out" 2>&1
first=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/quick.out" | head -1)
check "rerun: the first run completed" meta_is "$first" outcome complete
"$PEACE" rerun "$first" --json >"$T/rerun.json"
again=$(jq -r .id "$T/rerun.json")
check "rerun: a new id" test -n "$again" -a "$again" != "$first"
check "rerun: linked" meta_is "$again" rerun_of "$first"
check "rerun: the same command, app, profile and flow" \
  test "$(for f in cmd app profile flow items; do meta "$again" $f; done)" = "$(for f in cmd app profile flow items; do meta "$first" $f; done)"
wait_finished 30 "$again"
check "rerun: it completes" meta_is "$again" outcome complete
"$PEACE" rerun 01HZZZZZZZZZZZZZZZZZZZZZZ9 >"$T/rr404.out" 2>&1
check "rerun: an unknown id is refused" test $? -eq 1
check "rerun: as not found" grep -q 'not found' "$T/rr404.out"
# The kept job is one copy per content, shared by the first run, the run of
# the same flow before it (discover aside: another command) and the rerun.
digest=$(meta "$first" job)
check "rerun: the meta names the kept copy (a SHA-256)" grep -qx '[0-9a-f]\{64\}' <<<"$digest"
check "rerun: the rerun shares it" meta_is "$again" job "$digest"
check "rerun: the copy is kept 7 days" test "$(rcli TTL "peace:jobs:{$digest}")" -gt 604000
check "rerun: no copy per execution" test "$(rcli EXISTS "peace:exec:{$first}:job")" = 0
"$PEACE" run "$T/quick.json" --cmd ensure --no-progress >"$T/quick2.out" 2>&1
second=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/quick2.out" | head -1)
check "rerun: another submit of the same flow shares the copy" meta_is "$second" job "$digest"
# An execution of the layout before the shared copy: its own :job key (the
# job as queued), no meta field; it still reruns.
rcli --raw GET "peace:jobs:{$digest}" | head -c -1 >"$T/copy.bin"
check "rerun: the copy is the job (its id blanked)" grep -q 00000000000000000000000000 "$T/copy.bin"
rcli -x SET "peace:exec:{$second}:job" <"$T/copy.bin" >/dev/null
rcli HDEL "peace:exec:{$second}" job >/dev/null
rcli RENAME "peace:jobs:{$digest}" "peace:jobs:{$digest}:away" >/dev/null
"$PEACE" rerun "$second" --json >"$T/rerun_old.json"
old_again=$(jq -r .id "$T/rerun_old.json")
check "rerun: an old-layout execution reruns" meta_is "$old_again" rerun_of "$second"
wait_finished 30 "$old_again"
check "rerun: and completes" meta_is "$old_again" outcome complete
rcli RENAME "peace:jobs:{$digest}:away" "peace:jobs:{$digest}" >/dev/null
# The copy gone (expired): not kept.
rcli RENAME "peace:jobs:{$digest}" "peace:jobs:{$digest}:away" >/dev/null
"$PEACE" rerun "$first" >"$T/rrgone.out" 2>&1
check "rerun: an execution whose job is not kept is refused" test $? -eq 1
check "rerun: saying why" grep -q 'not kept' "$T/rrgone.out"
rcli RENAME "peace:jobs:{$digest}:away" "peace:jobs:{$digest}" >/dev/null
rcli HDEL "peace:exec:{$first}" job >/dev/null
"$PEACE" rerun 'bad/id' >/dev/null 2>&1
check "rerun: a malformed id is refused" test $? -eq 1

# ---- 5. the same through a scheduler ---------------------------------------------
if [ -n "$SCHED" ]; then
  PEACE_TOKEN=ops-token "$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 --queue other \
    >"$T/sched.log" 2>&1 &
  PIDS+=("$!")
  wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/sched.log" || fatal "no scheduler"
  SPORT=$(grep -m1 'listening on' "$T/sched.log" | sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/')
  S=(--server "http://127.0.0.1:$SPORT" --token ops-token)
  timeless='del(.. | .oldest_age_ms?, .last_seen_ms?, .expires_ms?, .threads_busy?)'
  check "server: peace dead --json is the same document" \
    test "$("$PEACE" dead --json "${S[@]}")" = "$("$PEACE" dead --json)"
  check "server: peace queues --json is the same document (ages aside)" \
    test "$("$PEACE" queues --json "${S[@]}" | jq -S "$timeless")" = "$("$PEACE" queues --json --queue other | jq -S "$timeless")"
  check "server: peace workers --json is the same document (times aside)" \
    test "$("$PEACE" workers --json "${S[@]}" | jq -S "$timeless")" = "$("$PEACE" workers --json | jq -S "$timeless")"
  "$PEACE" rerun "$again" "${S[@]}" >"$T/srerun.out" 2>&1
  check "server: peace rerun through the API" grep -q "rerun of $again" "$T/srerun.out"
  "$PEACE" dead retry "$entry" "${S[@]}" --json >"$T/sretry.json"
  check "server: a retry made on Redis answers the same id through the API" \
    test "$(jq -r '[.id, .already_retried] | @tsv' "$T/sretry.json")" = "$(printf '%s\ttrue' "$new")"
  "$PEACE" dead retry 1-0 "${S[@]}" >"$T/s404.out" 2>&1
  check "server: an unknown dead letter exits 1 naming the code" grep -q dead_letter_not_found "$T/s404.out"
  "$PEACE" rerun "$first" "${S[@]}" >"$T/s409.out" 2>&1
  check "server: a job not kept exits 1 naming the code" grep -q cannot_requeue "$T/s409.out"
  # The scheduler's counters and the fleet's figures on /metrics.
  curl -s -X POST -H 'Authorization: Bearer ops-token' -H 'Content-Type: application/json' \
    -d '{"cmd":' "http://127.0.0.1:$SPORT/v1/executions" >/dev/null
  curl -s -X POST -H 'Authorization: Bearer wrong' -H 'Content-Type: application/json' \
    -d '{}' "http://127.0.0.1:$SPORT/v1/executions" >/dev/null
  curl -s -H 'Authorization: Bearer ops-token' "http://127.0.0.1:$SPORT/metrics" >"$T/metrics.prom"
  if command -v promtool >/dev/null; then
    check "server: /metrics passes promtool check metrics" promtool check metrics <"$T/metrics.prom"
  elif [ -n "${CI:-}" ]; then
    check "server: promtool is installed (Debian package prometheus; CI runs every check)" false
  fi
  check "server: the rerun is counted" grep -qx 'peace_scheduler_executions_submitted_total{via="rerun"} 1' "$T/metrics.prom"
  check "server: refused submissions are counted by reason" \
    eval "grep -qx 'peace_scheduler_submissions_rejected_total{reason=\"invalid_json\"} 1' '$T/metrics.prom' &&
          grep -qx 'peace_scheduler_submissions_rejected_total{reason=\"unauthorized\"} 1' '$T/metrics.prom'"
  check "server: the dead-letter length" \
    grep -qx "peace_dead_letters $(rcli XLEN peace:dead)" "$T/metrics.prom"
  check "server: the oldest job of the queue without workers" \
    grep -Eq '^peace_queue_oldest_age_seconds\{queue="other"\} [0-9]+\.[0-9]+$' "$T/metrics.prom"
  check "server: per-worker figures of w1" \
    grep -Eq "^peace_fleet_worker_concurrency\\{consumer=\"[^\"]*:${WORKER_PID[w1]}:[^\"]*\",queue=\"default\"\\} 2$" "$T/metrics.prom"
  check "server: interrupts are counted by mode" grep -q '^peace_scheduler_interrupts_requested_total{mode="cancel"} 0$' "$T/metrics.prom"
  # The Grafana dashboard uses only metrics that exist: every name in its
  # queries is a family of the scheduler's or a worker's /metrics.
  curl -s "http://127.0.0.1:$WMPORT/metrics" >"$T/worker.prom"
  DASH=$(realpath "$(dirname "$0")/../../docs/grafana-dashboard.json")
  jq -r '.panels[].targets[].expr' "$DASH" | grep -oE '\b(peace|process)_[a-z_]+' |
    sed -E 's/_(bucket|sum|count)$//' | sort -u >"$T/dash.names"
  cat "$T/metrics.prom" "$T/worker.prom" | sed -n 's/^# TYPE \([a-z_]*\) .*/\1/p' | sort -u >"$T/live.names"
  check "the Grafana dashboard is JSON with panels" jq -e '.panels | length > 10' "$DASH"
  check "the Grafana dashboard's $(wc -l <"$T/dash.names") metric names all exist on a live /metrics" \
    test -z "$(comm -23 "$T/dash.names" "$T/live.names" | tee "$T/missing.names")"
fi

finish
