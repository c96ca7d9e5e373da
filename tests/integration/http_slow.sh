#!/usr/bin/env bash
# Slow-drip clients (http_slow.py) against both servers of the HTTP layer:
# peace-scheduler with --request-timeout-s 3 --max-connections 16 (and a
# read timeout of 10 s, which a client sending one byte a second never
# trips), and `peace run --local --listen` with its defaults (30 s, 1024).
# Other clients are served meanwhile; the dripping one is closed at the
# deadline; a connection over the cap is closed at once. Each server's
# /metrics counts what was provoked, exactly (connections open, refused,
# expired: http_slow.py) and passes `promtool check metrics`.
SCHED=${1:?usage: http_slow.sh PATH/TO/peace-scheduler PATH/TO/peace}
PEACE=${2:?}
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

redis_start
"$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 --no-auth --read-timeout-s 10 \
  --request-timeout-s 3 --max-connections 16 >"$T/scheduler.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/scheduler.log" ||
  fatal "the scheduler did not start: $(cat "$T/scheduler.log")"
SPORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+) .*/\1/p' "$T/scheduler.log" | head -1)
python3 "$here/http_slow.py" "$SPORT" 3 16 >"$T/sched-slow.out" 2>&1
rc=$?
cat "$T/sched-slow.out"
check "peace-scheduler: slow-drip clients are closed, others served, the cap holds" [ "$rc" -eq 0 ]
check "peace-scheduler logs the closed connection" grep -q 'did not send its request within 3 s' "$T/scheduler.log"
command -v promtool >/dev/null || fatal "promtool is not installed (Debian package prometheus)"
curl -sf "http://127.0.0.1:$SPORT/metrics" >"$T/sched.prom" || fatal "no /metrics from the scheduler"
check "peace-scheduler: /metrics passes promtool check metrics" promtool check metrics <"$T/sched.prom"

# The local run's server: a flow that runs long enough (60 s, interrupted at the end).
cat >"$T/flow.json" <<JSON
{"app":"slow","profile":"p","flow":"f","items":[
 {"id":"s1","type":"sleep","params":{"steps":600,"step_ms":100,"marker":"s1.done"}}]}
JSON
mkdir -p "$T/local"
(cd "$T/local" && "$PEACE" run "$T/flow.json" --local --cmd discover --no-progress) >"$T/local-discover.log" 2>&1 ||
  fatal "the local discover failed"
(cd "$T/local" && exec "$PEACE" run "$T/flow.json" --local --no-progress --listen 127.0.0.1:0 --no-auth \
  --exit-after-s 0) >"$T/local.log" 2>&1 &
LOCAL_PID=$!
PIDS+=("$LOCAL_PID")
wait_for 20 "the local run's URL" grep -q 'dashboard of execution' "$T/local.log" ||
  fatal "the local run did not serve: $(cat "$T/local.log")"
LPORT=$(sed -nE 's/.*dashboard of execution [0-9A-Z]+: http:\/\/127\.0\.0\.1:([0-9]+)\/.*/\1/p' "$T/local.log")
python3 "$here/http_slow.py" "$LPORT" 30 0 >"$T/local-slow.out" 2>&1
rc=$?
cat "$T/local-slow.out"
check "peace run --local --listen: slow-drip clients are closed at 30 s, others served" [ "$rc" -eq 0 ]
curl -sf "http://127.0.0.1:$LPORT/metrics" >"$T/local.prom" || fatal "no /metrics from the local run"
check "peace run --local --listen: /metrics passes promtool check metrics" promtool check metrics <"$T/local.prom"
kill -INT "$LOCAL_PID"
finish
