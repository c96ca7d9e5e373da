#!/usr/bin/env bash
# The OpenAPI document (docs/openapi.json) against the official OpenAPI 3.1
# schema and against a real peace-scheduler (tests/openapi/conformance.mjs):
# every route answered, each answer's status documented and its body valid
# against the documented schema, with Redis up and then with Redis stopped
# (503). Needs node and npm (the npm packages are installed by `npm ci` from
# tests/openapi/package-lock.json when missing); without them it is skipped
# (exit 77), or fails on CI (tests/missing_dep.sh).
PEACE=${1:?usage: openapi.sh PEACE WORKER SCHEDULER}
WORKER=${2:?}
SCHED=$(realpath "${3:?}")
HERE=$(realpath "$(dirname "$0")/../openapi")
DOC=$(realpath "$(dirname "$0")/../../docs/openapi.json")
. "$(dirname "$0")/../missing_dep.sh"
command -v node >/dev/null && command -v npm >/dev/null || missing_dep "node and npm are needed"
if [ ! -f "$HERE/node_modules/ajv/package.json" ] ||
  [ ! -f "$HERE/node_modules/@seriousme/openapi-schema-validator/package.json" ]; then
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error >/dev/null 2>&1) ||
    missing_dep "npm ci failed in tests/openapi (no registry?)"
fi
. "$(dirname "$0")/lib.sh"

redis_start
worker_start w1 --concurrency 2
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
TOKEN=oa-token
READ_TOKEN=oa-read-token
"$SCHED" --redis "$PEACE_REDIS_URL" --listen 127.0.0.1:0 --token "$TOKEN" --read-token "$READ_TOKEN" \
  >"$T/sched.log" 2>&1 &
PIDS+=("$!")
wait_for 10 "the scheduler to listen" grep -q 'listening on' "$T/sched.log" || fatal "no scheduler"
PORT=$(grep -m1 'listening on' "$T/sched.log" | sed -E 's/.*listening on [^ ]*:([0-9]+) .*/\1/')

# What the scenario needs: a finished execution, one whose job is not kept,
# a retryable dead letter and one that is not.
sleep_flow "$T/f.json" oa p a 1 1 1
"$PEACE" run "$T/f.json" --cmd discover --no-progress >"$T/run.out" 2>&1
EXEC_ID=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/run.out" | head -1)
meta_is "$EXEC_ID" outcome complete || fatal "the first execution did not complete: $(cat "$T/run.out")"
"$PEACE" run "$T/f.json" --cmd discover --no-progress >"$T/run2.out" 2>&1
UNKEPT_ID=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/run2.out" | head -1)
rcli HDEL "peace:exec:{$UNKEPT_ID}" job >/dev/null
cat >"$T/nope.json" <<'JSON'
{"app":"oa","profile":"p","flow":"nope","items":[{"id":"x","type":"nope","params":{}}]}
JSON
"$PEACE" run "$T/nope.json" --cmd discover --no-progress >/dev/null 2>&1
rcli XADD 'peace:queue:{default}' '*' exec 01HZZZZZZZZZZZZZZZZZZZZZZ1 job garbage >/dev/null
wait_for 20 "two dead letters" bash -c "test \$(redis-cli -p $REDIS_PORT XLEN peace:dead) -eq 2"
DEAD_ENTRY=$("$PEACE" dead --json | jq -r '.dead[] | select(.retryable) | .id')
GARBAGE_ENTRY=$("$PEACE" dead --json | jq -r '.dead[] | select(.retryable | not) | .id')

export BASE=http://127.0.0.1:$PORT TOKEN READ_TOKEN EXEC_ID UNKEPT_ID DEAD_ENTRY GARBAGE_ENTRY DOC
export COVERAGE=$T/coverage.json
node "$HERE/conformance.mjs" up >"$T/up.out" 2>&1
up=$?
grep -E '^(FAIL|openapi)' "$T/up.out"
check "with Redis up, every answer conforms to docs/openapi.json" test $up -eq 0
redis_stop
node "$HERE/conformance.mjs" down >"$T/down.out" 2>&1
down=$?
grep -E '^(FAIL|openapi)' "$T/down.out"
check "with Redis down, every answer conforms, and every operation and status was covered" test $down -eq 0
finish
