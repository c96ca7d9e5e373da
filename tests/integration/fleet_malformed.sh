#!/usr/bin/env bash
# A malformed job never crashes a worker: it finishes `rejected` with a
# reason, is copied to peace:dead and acknowledged, and the worker serves the
# next job (CONTRACT §4).
#  1. garbage job bytes, hand-made with redis-cli XADD;
#  2. a well-formed job naming an unknown item type (the CLI cannot know the
#     workers' plugins, so it queues it): `peace run` follows it to
#     `rejected` and exits 1;
#  3. an entry without an `exec` field: dead-lettered and acknowledged;
#  4. a job with an unknown version and one that is a msgpack string;
#  5. then a valid discover completes on the same worker.
PEACE=${1:?usage: fleet_malformed.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
Q='peace:queue:{default}'

dead_has() { # ID: a peace:dead entry with exec=ID and a non-empty reason
  rcli XRANGE peace:dead - + | awk -v id="$1" '
    /^[0-9]+-[0-9]+$/ { if (e == id && r != "") found = 1; e = ""; r = ""; next }
    prev == "exec" { e = $0 } prev == "reason" { r = $0 } { prev = $0 }
    END { if (e == id && r != "") found = 1; exit !found }'
}
pending() { rcli XPENDING "$Q" workers | head -1; }

redis_start
worker_start w1 --concurrency 2
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"

# 1. ---------------------------------------------------------------------------
g=01HZZZZZZZZZZZZZZZZZZZZZZ1
rcli XADD "$Q" '*' exec "$g" job 'this is not msgpack' >/dev/null
wait_for 20 "the garbage job to be rejected" finished "$g"
check "1: garbage job bytes end rejected" meta_is "$g" outcome rejected
check "1: with a reason" test -n "$(meta "$g" error)"
check "1: copied to peace:dead with a reason" dead_has "$g"
check "1: the dead entry keeps the job bytes" \
  bash -c "redis-cli -p $REDIS_PORT XRANGE peace:dead - + | grep -qx 'this is not msgpack'"
check "1: peace report shows the rejection" \
  test "$("$PEACE" report "$g" --json | jq -r .outcome)" = rejected
check "1: the worker survived" worker_alive w1

# 2. ---------------------------------------------------------------------------
cat >"$T/nope.json" <<'EOF'
{"app":"bad","profile":"p","flow":"f","items":[{"id":"x","type":"nope","params":{}}]}
EOF
"$PEACE" run "$T/nope.json" --cmd discover >"$T/nope.out" 2>&1
rc=$?
id2=$(sed -n 's/.*execution \([0-9A-Z]\{26\}\) .*/\1/p' "$T/nope.out" | head -1)
check "2: peace run of an unknown item type exits 1" test $rc -eq 1
check "2: it prints outcome rejected" grep -q 'outcome: rejected' "$T/nope.out"
check "2: the reason names the type" bash -c "redis-cli -p $REDIS_PORT HGET 'peace:exec:{$id2}' error | grep -q nope"
check "2: copied to peace:dead" dead_has "$id2"
check "2: nothing of it ran (no states)" test "$(rcli EXISTS 'peace:states:{bad:p}:f:current')" = 0

# 3. ---------------------------------------------------------------------------
dead_before=$(rcli XLEN peace:dead)
rcli XADD "$Q" '*' job 'no exec field' >/dev/null
wait_for 20 "the entry without exec to be dead-lettered" \
  bash -c "test \$(redis-cli -p $REDIS_PORT XLEN peace:dead) -gt $dead_before"
check "3: an entry without exec is dead-lettered" \
  bash -c "redis-cli -p $REDIS_PORT XRANGE peace:dead - + | grep -qx 'no exec field'"

# 4. ---------------------------------------------------------------------------
v=01HZZZZZZZZZZZZZZZZZZZZZZ4
# {"v": 99}
printf '\x81\xa1v\x63' | rcli -x XADD "$Q" '*' exec "$v" job >/dev/null
s=01HZZZZZZZZZZZZZZZZZZZZZZ5
# "hello" (a msgpack string, not a map)
printf '\xa5hello' | rcli -x XADD "$Q" '*' exec "$s" job >/dev/null
wait_finished 20 "$v" "$s"
check "4: an unknown job version ends rejected" meta_is "$v" outcome rejected
check "4: a job that is not a map ends rejected" meta_is "$s" outcome rejected
both_dead() { dead_has "$v" && dead_has "$s"; }
check "4: both are in peace:dead" both_dead
no_pending() { [ "$(pending)" = 0 ]; }
check "every bad entry was acknowledged" wait_for 20 "every bad entry to be acknowledged" no_pending

# 5. ---------------------------------------------------------------------------
sleep_flow "$T/ok.json" good p f 2 10 2
"$PEACE" run "$T/ok.json" --cmd discover --no-progress >"$T/ok.out" 2>&1
check "5: the worker serves the next valid job" test $? -eq 0
check "5: ... to completion" grep -q 'outcome: complete' "$T/ok.out"
check "the worker is still the same process" worker_alive w1

finish
