#!/usr/bin/env bash
# The fleet under the least Redis ACL of docs/acl.md, read from that page
# (the `ACL SETUSER` lines, passwords filled in): peace-scheduler, two
# workers and the CLI (--redis) each under its user.
#  1. discover and ensure through the CLI, a submission, listings, states,
#     workers, queues, dead letters, metrics and an SSE stream through the
#     scheduler, an interrupt through the API and one through the CLI;
#  2. a raw PUBLISH interrupt made as the client user reaches the worker;
#  3. nothing was denied: ACL LOG is empty;
#  4. a worker whose user may not PSUBSCRIBE says so once, clearly, and still
#     honours interrupts recorded on the execution (peace interrupt);
#  5. a worker user without COPY still finishes executions.
SCHED=${1:?usage: fleet_acl.sh PATH/TO/peace-scheduler PATH/TO/peace PATH/TO/peace-worker}
PEACE=${2:?}
WORKER=${3:?}
DOC=$(realpath "$(dirname "$0")/../../docs/acl.md")
. "$(dirname "$0")/lib.sh"
SCHED=$(realpath "$SCHED")
TOKEN=acl-test-token
WPASS=worker-secret-1
CPASS=client-secret-2

# The ACL lines of the doc, with the passwords.
acl_lines() {
  grep '^ACL SETUSER ' "$DOC" | sed -e "s/WORKER_PASSWORD/$WPASS/" -e "s/CLIENT_PASSWORD/$CPASS/"
}
acl_apply() { # LINE: run one ACL SETUSER line (words split as redis-cli would)
  local -a words
  read -r -a words <<<"$1"
  rcli "${words[@]}"
}

redis_start
[ "$(acl_lines | wc -l)" -eq 2 ] || fatal "docs/acl.md should hold two ACL SETUSER lines"
while IFS= read -r line; do
  [ "$(acl_apply "$line")" = OK ] || fatal "ACL line refused by Redis: $line"
done < <(acl_lines)
rcli ACL LOG RESET >/dev/null
WURL=redis://peace-worker:$WPASS@127.0.0.1:$REDIS_PORT
CURL_=redis://peace-client:$CPASS@127.0.0.1:$REDIS_PORT
check "the worker user cannot read outside the prefix" \
  bash -c "redis-cli --no-auth-warning -u '$WURL' GET other:key 2>&1 | grep -q NOPERM"
check "the client user cannot run the worker's commands" \
  bash -c "redis-cli --no-auth-warning -u '$CURL_' XAUTOCLAIM 'peace:queue:{default}' workers c 0 0 2>&1 | grep -q NOPERM"
rcli ACL LOG RESET >/dev/null

export PEACE_REDIS_URL=$WURL
worker_start w1 --lease-ms 1500
worker_start w2 --lease-ms 1500
export PEACE_REDIS_URL=$CURL_
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"
PEACE_TOKEN=$TOKEN "$SCHED" --listen 127.0.0.1:0 >"$T/scheduler.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/scheduler.log" || fatal "no scheduler"
SCHED_PORT=$(sed -nE 's/.*listening on [^ ]*:([0-9]+) .*/\1/p' "$T/scheduler.log" | head -1)
API=http://127.0.0.1:$SCHED_PORT
api() { curl -sS -H "Authorization: Bearer $TOKEN" "$@"; }
code() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" "$@"; }

# 1. ---------------------------------------------------------------------------
sleep_flow "$T/f.json" acl p f 2 20 3
"$PEACE" run "$T/f.json" --cmd discover --no-progress >"$T/1.out" 2>&1
check "1: a discover through the CLI completes" grep -q 'outcome: complete' "$T/1.out"
"$PEACE" run "$T/f.json" --cmd ensure --no-progress >"$T/1e.out" 2>&1
check "1: an ensure through the CLI completes" grep -q 'outcome: complete' "$T/1e.out"
check "1: its States are stored" \
  test "$("$PEACE" states acl p f --json | jq '[.current[] | select(.done)] | length')" = 3
id=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\).*/\1/p' "$T/1e.out" | head -1)
for c in "list" "status $id" "report $id" "workers" "queues" "dead" "rerun $id"; do
  # shellcheck disable=SC2086
  "$PEACE" $c >"$T/c.out" 2>&1
  check "1: peace $c works" test $? -eq 0
done
body=$(jq -n --slurpfile f "$T/f.json" '{cmd: "discover", flow: $f[0]}')
sid=$(api -X POST -H 'Content-Type: application/json' -d "$body" "$API/v1/executions" | jq -r .id)
check "1: a submission through the scheduler is accepted" test -n "$sid" -a "$sid" != null
wait_finished 30 "$sid"
check "1: ... and completes" meta_is "$sid" outcome complete
for path in /v1/executions "/v1/executions/$sid" /v1/states/acl/p/f /metrics /healthz; do
  check "1: GET $path answers 200" test "$(code "$API$path")" = 200
done
check "1: the event stream of a finished execution ends normally" \
  bash -c "curl -sS -m 10 -H 'Authorization: Bearer $TOKEN' '$API/v1/executions/$sid/events' | grep -q outcome"
sleep_flow "$T/long.json" acl long f 50 20 4
lid=$(api -X POST -H 'Content-Type: application/json' \
  -d "$(jq -n --slurpfile f "$T/long.json" '{cmd: "discover", flow: $f[0]}')" "$API/v1/executions" | jq -r .id)
"$PEACE" run "$T/long.json" --cmd discover --no-progress >/dev/null 2>&1
sleep_flow "$T/l2.json" acl long2 f 50 20 4
"$PEACE" run "$T/l2.json" --cmd discover --no-progress >/dev/null 2>&1
l2=$(submit "$T/l2.json" --cmd ensure)
l1=$(submit "$T/long.json" --cmd ensure)
running() { meta_is "$1" status running && meta_is "$1" block apply_ensure; }
# interrupted ID: ended by the interrupt, before the last item (finish_current).
interrupted() {
  case "$(meta "$1" outcome)" in execution_interrupted | block_interrupted) ;; *) return 1 ;; esac
  [ "$(meta "$1" items_done)" -lt 4 ]
}
wait_for 20 "$l1 to apply" running "$l1" || fatal "$l1 never applied"
check "1: an interrupt through the API is accepted" \
  test "$(code -X POST -H 'Content-Type: application/json' -d '{"reason":"api"}' "$API/v1/executions/$l1/interrupt")" = 202
wait_finished 30 "$l1"
check "1: ... and interrupts the execution" interrupted "$l1"
wait_for 20 "$l2 to apply" running "$l2" || fatal "$l2 never applied"
"$PEACE" interrupt "$l2" --reason cli >/dev/null 2>&1
wait_finished 30 "$l2"
check "1: peace interrupt interrupts it" interrupted "$l2"
wait_finished 30 "$lid"

# 2. ---------------------------------------------------------------------------
sleep_flow "$T/l3.json" acl long3 f 50 20 4
"$PEACE" run "$T/l3.json" --cmd discover --no-progress >/dev/null 2>&1
l3=$(submit "$T/l3.json" --cmd ensure)
wait_for 20 "$l3 to apply" running "$l3" || fatal "$l3 never applied"
check "2: a raw PUBLISH as the client user reaches a worker" \
  test "$(redis-cli --no-auth-warning -u "$CURL_" PUBLISH "peace:exec:{$l3}:interrupt" raw)" -ge 1
wait_finished 30 "$l3"
check "2: ... and interrupts the execution" interrupted "$l3"
check "2: with its reason" meta_is "$l3" interrupt_reason raw

# 3. ---------------------------------------------------------------------------
denials=$(rcli ACL LOG 100)
check "3: nothing was denied (ACL LOG is empty)" test -z "$denials"
[ -z "$denials" ] || echo "$denials" | paste - - | head -40

# 4. ---------------------------------------------------------------------------
nosub=$(acl_lines | grep 'peace-worker' | sed -e 's/peace-worker/peace-nosub/' \
  -e 's/ &peace:exec:\*:interrupt//')
[ "$(acl_apply "$nosub")" = OK ] || fatal "cannot make the user without subscription"
for w in w1 w2; do worker_stop $w; done
export PEACE_REDIS_URL=redis://peace-nosub:$WPASS@127.0.0.1:$REDIS_PORT
worker_start w3 --lease-ms 1500
export PEACE_REDIS_URL=$CURL_
wait_for 20 "worker w3" worker_ready w3 || fatal "worker w3 not ready"
unsub() { grep -c 'event=interrupts_unsubscribed' "$T/w3.log"; }
wait_for 10 "w3 to say it cannot subscribe" test "$(unsub)" -ge 1
sleep_flow "$T/l4.json" acl long4 f 50 20 4
"$PEACE" run "$T/l4.json" --cmd discover --no-progress >/dev/null 2>&1
l4=$(submit "$T/l4.json" --cmd ensure)
wait_for 20 "$l4 to apply" running "$l4" || fatal "$l4 never applied"
"$PEACE" interrupt "$l4" --reason marker >/dev/null 2>&1
wait_finished 30 "$l4"
check "4: the worker without subscription honours the recorded interrupt" \
  interrupted "$l4"
check "4: it said so once, clearly, although it kept retrying" \
  bash -c "test $(unsub) -eq 1 && grep 'event=interrupts_unsubscribed' '$T/w3.log' | grep -q 'PUBLISH interrupts are not heard'"

# 5. ---------------------------------------------------------------------------
nocopy=$(acl_lines | grep 'peace-worker' | sed -e 's/peace-worker/peace-nocopy/' -e 's/ +copy//')
[ "$(acl_apply "$nocopy")" = OK ] || fatal "cannot make the user without COPY"
worker_stop w3
export PEACE_REDIS_URL=redis://peace-nocopy:$WPASS@127.0.0.1:$REDIS_PORT
worker_start w4 --lease-ms 1500
export PEACE_REDIS_URL=$CURL_
wait_for 20 "worker w4" worker_ready w4 || fatal "worker w4 not ready"
sleep_flow "$T/g.json" acl nocopy f 1 1 2
"$PEACE" run "$T/g.json" --cmd discover --no-progress >"$T/5.out" 2>&1
check "5: a worker without COPY still finishes executions" grep -q 'outcome: complete' "$T/5.out"

finish
