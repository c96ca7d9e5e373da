#!/usr/bin/env bash
# The 202 of POST /v1/executions/{id}/interrupt waits for the worker's latch
# without polling: the worker announces it (exec_mark_interrupt PUBLISHes the
# execution id on peace:interrupts:latched) and the scheduler, subscribed,
# reads the meta again only then. The worker is stopped (SIGSTOP) while the
# request is made and continued 300 ms later: the answer comes after the
# latch, with latched_ms, and the scheduler read the meta at most 3 times
# meanwhile (polling every 5 ms would be ~60 reads; Redis MONITOR counts
# them). A request the worker never latches (stopped past the 500 ms) is
# answered at 500 ms with latched_ms null. Garbage published on the channel
# is ignored.
SCHED=${1:?usage: http_interrupt_latch.sh PATH/TO/peace-scheduler PATH/TO/peace PATH/TO/peace-worker}
PEACE=${2:?}
WORKER=${3:?}
. "$(dirname "$0")/lib.sh"

redis_start
worker_start w
wait_for 10 "the worker to join" worker_ready w || fatal "the worker did not start"
"$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 --no-auth >"$T/scheduler.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/scheduler.log" ||
  fatal "the scheduler did not start: $(cat "$T/scheduler.log")"
SPORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+) .*/\1/p' "$T/scheduler.log" | head -1)
API=http://127.0.0.1:$SPORT

sleep_flow "$T/flow.json" latch p f 400 50 1
"$PEACE" run "$T/flow.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover failed"
api_ensure() {
  jq -c '{cmd: "ensure", flow: .}' "$T/flow.json" |
    curl -fsS -H 'Content-Type: application/json' --data-binary @- "$API/v1/executions" | jq -r .id
}
running() { [ "$(ppart "$1" s1 done)" -gt 0 ] 2>/dev/null; }
interrupt() { # ID BODY OUT: the answer, then its time on the last line
  curl -sS -H 'Content-Type: application/json' -d "$2" -w '\n%{time_total}\n' \
    "$API/v1/executions/$1/interrupt" >"$3"
}
wait_pid_gone() { ! kill -0 "$1" 2>/dev/null; }

# 1. Latched 300 ms after the request: announced, read again once.
id=$(api_ensure)
wait_for 30 "the ensure to run" running "$id" || fatal "the ensure did not run"
redis-cli -p "$REDIS_PORT" SUBSCRIBE peace:interrupts:latched >"$T/announced" 2>&1 &
SUB_PID=$!
PIDS+=("$SUB_PID")
wait_for 5 "the test's subscription" grep -q 'peace:interrupts:latched' "$T/announced"
redis-cli -p "$REDIS_PORT" MONITOR >"$T/monitor" 2>&1 &
MON_PID=$!
PIDS+=("$MON_PID")
wait_for 5 "MONITOR" grep -q OK "$T/monitor"
kill -STOP "${WORKER_PID[w]}"
interrupt "$id" '{"mode":"cancel","reason":"latch test"}' "$T/a1" &
CURL_PID=$!
wait_for 5 "the interrupt to be published" grep -q '"PUBLISH" "peace:exec:{'"$id"'}:interrupt"' "$T/monitor"
sleep 0.3 # the worker latches 300 ms late: what is measured, not a race
kill -CONT "${WORKER_PID[w]}"
wait_for 5 "the answer" wait_pid_gone "$CURL_PID"
kill "$MON_PID" 2>/dev/null
log "answer: $(head -1 "$T/a1") in $(tail -1 "$T/a1") s"
check "the 202 carries the worker's latch (latched_ms, mode_in_effect cancel)" \
  bash -c "head -1 '$T/a1' | jq -e '.requested and (.latched_ms | type) == \"number\" and .latched_ms >= .requested_ms and .mode_in_effect == \"cancel\"'"
check "... answered after the latch, before the 500 ms limit" \
  awk 'END { exit !($1 >= 0.3 && $1 < 0.5) }' "$T/a1"
reads=$(grep -c "\"HMGET\" \"peace:exec:{$id}\" \"status\" \"interrupt_latched_ms\"" "$T/monitor")
log "meta reads while waiting: $reads"
check "the scheduler read the meta at most 3 times while it waited (no 5 ms polling)" \
  [ "$reads" -ge 1 -a "$reads" -le 3 ]
check "the worker announced the latch: the execution id on peace:interrupts:latched" \
  grep -qx "$id" "$T/announced"
wait_finished 30 "$id" || fatal "the interrupted ensure did not finish"

# Hostile announcements (anyone may publish there): ignored, the scheduler serves on.
long=$(head -c 5000 /dev/zero | tr '\0' 'A')
for payload in "" "$long" "$id" "../../x" $'\x01\x02\xff' "$id$id"; do
  redis-cli -p "$REDIS_PORT" PUBLISH peace:interrupts:latched "$payload" >/dev/null
done
check "garbage on peace:interrupts:latched is ignored: the scheduler still answers" \
  bash -c "curl -fsS '$API/healthz' | jq -e '.status == \"ok\"'"

# 2. Never latched within 500 ms: answered at the limit, latched_ms null.
id2=$(api_ensure)
wait_for 30 "the second ensure to run" running "$id2" || fatal "the second ensure did not run"
kill -STOP "${WORKER_PID[w]}"
interrupt "$id2" '{}' "$T/a2"
kill -CONT "${WORKER_PID[w]}"
log "answer: $(head -1 "$T/a2") in $(tail -1 "$T/a2") s"
check "not latched within 500 ms: answered then, latched_ms null" \
  bash -c "head -1 '$T/a2' | jq -e '.requested and .latched_ms == null and .status == \"running\"' &&
    awk 'END { exit !(\$1 >= 0.5 && \$1 < 2) }' '$T/a2'"
wait_finished 30 "$id2" || fatal "the second ensure did not finish"
check "... and the worker latched it after (the receipt on the execution)" \
  bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id2}' interrupt_latched_ms)\" ]"
finish
