#!/usr/bin/env bash
# Co-located execution ids on a Redis Cluster (docs/fleet.md "Co-located
# execution ids"): every key of an execution submitted by `peace run` is in
# its profile's slot, and the worker starts + locks and finishes + releases
# it in one script call each: the masters' SLOWLOG (every command logged,
# no MONITOR) shows no lock call of its own (no SET of the lock, no
# lock_acquire / lock_release script: EVALSHA with the lock as only key)
# for those, and the start script carrying the lock key. An execution
# whose id is a plain random ULID (a third-party submitter: the same job
# queued with another id) still runs, with the separate lock calls, and
# writes the same states. A zombie (SIGSTOP, taken over, SIGCONT) of a
# co-located execution cannot finish it or release the new owner's lock.
PEACE=${1:?usage: cluster_colocated.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
LEASE=2000

cluster_start 0
masters=($(cluster_masters))
check "three masters" test "${#masters[@]}" -eq 3
worker_start w1 --concurrency 4 --lease-ms "$LEASE"
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"

slowlog_on() {
  local p
  for p in "${masters[@]}"; do
    ccli "$p" CONFIG SET slowlog-log-slower-than 0 >/dev/null
    ccli "$p" CONFIG SET slowlog-max-len 100000 >/dev/null
    ccli "$p" SLOWLOG RESET >/dev/null
  done
}
# slowlog_dump: every command the masters logged from a client (not those a
# script ran, client "?:0"), one per line, arguments separated by spaces.
slowlog_dump() {
  local p
  for p in "${masters[@]}"; do
    ccli "$p" -2 --json SLOWLOG GET -1 | jq -r '.[] | select(.[4] != "?:0") | .[3] | join(" ")'
  done
}
# lock_calls PROFILE_TAG: commands whose only key is that profile's lock (SET,
# and the lock_acquire / lock_release / lock_renew scripts: EVALSHA SHA 1).
lock_calls() {
  slowlog_dump | grep -cE "^(SET peace:lock:\\{$1\\}|EVALSHA [0-9a-f]{40} 1 peace:lock:\\{$1\\})" || true
}
# fused_starts PROFILE_TAG: start scripts carrying the lock (4 keys, the 4th the lock).
fused_starts() {
  slowlog_dump | grep -cE "^EVALSHA [0-9a-f]{40} 4 peace:exec:\\{[0-9A-Z]+\\} [^ ]+ [^ ]+ peace:lock:\\{$1\\}" || true
}

# 1. Co-located ids: submitted by the CLI, each on a free lock.
sleep_flow "$T/co.json" co p1 f 1 0 1
slowlog_on
ids=()
# One after the other: an execution that finds the lock busy parks, and its
# retries are lock calls of their own (SET NX GET) whatever its id.
for i in 1 2 3 4 5; do
  ids+=("$(submit "$T/co.json" --cmd discover)")
  wait_finished 30 "${ids[-1]}"
done
lock_slot=$(ccli "${masters[0]}" CLUSTER KEYSLOT "peace:lock:{co:p1}")
all_in_slot=yes
for id in "${ids[@]}"; do
  [ "$(ccli "${masters[0]}" CLUSTER KEYSLOT "peace:exec:{$id}")" = "$lock_slot" ] || all_in_slot=no
  [ "$(meta "$id" outcome)" = complete ] || all_in_slot="no ($id $(meta "$id" outcome))"
done
check "5 discovers complete, each id in its profile's slot ($lock_slot)" test "$all_in_slot" = yes
n_lock=$(lock_calls co:p1)
n_fused=$(fused_starts co:p1)
log "co-located: lock calls of their own $n_lock, starts carrying the lock $n_fused"
check "co-located: no lock call of its own (lock SET, lock_acquire, lock_release)" test "$n_lock" -eq 0
check "co-located: every start took the lock in the same call" test "$n_fused" -ge 5
check "co-located: the lock is free after them" test -z "$(rcli GET "peace:lock:{co:p1}")"

# 2. A random id: the same job (read back from its shared kept copy), queued by hand
# under an id outside the profile's slot, with no meta (a minimal third party).
job_id=${ids[0]}
rand_id=
while [ -z "$rand_id" ]; do
  cand=${job_id:0:10}$(LC_ALL=C tr -dc '0-9A-HJKMNP-TV-Z' </dev/urandom | head -c 16)
  [ "$(ccli "${masters[0]}" CLUSTER KEYSLOT "peace:exec:{$cand}")" != "$lock_slot" ] && rand_id=$cand
done
python3 - "$job_id" "$rand_id" "$T/job.bin" "$REAL_REDIS_CLI" "${masters[0]}" <<'PY' ||
import subprocess, sys
old, new, out = sys.argv[1].encode(), sys.argv[2].encode(), sys.argv[3]
cli = [sys.argv[4], "-c", "-p", sys.argv[5], "--raw"]
digest = subprocess.run(cli + ["HGET", "peace:exec:{%s}" % old.decode(), "job"],
                        capture_output=True, check=True).stdout.strip().decode()
raw = subprocess.run(cli + ["GET", "peace:jobs:{%s}" % digest], capture_output=True, check=True).stdout
raw = raw[:-1] if raw.endswith(b"\n") else raw
blank = b"0" * 26  # the kept copy's id (peace/submit.h)
assert raw.count(blank) == 1, raw
open(out, "wb").write(raw.replace(blank, new))
PY
  fatal "cannot rewrite the job"
slowlog_on
rcli -x XADD "$(queue_stream)" '*' exec "$rand_id" job <"$T/job.bin" >/dev/null
wait_finished 30 "$rand_id"
check "the random-id execution completes" meta_is "$rand_id" outcome complete
n_lock=$(lock_calls co:p1)
log "random id: lock calls of their own $n_lock"
check "random id: the lock is taken and released by calls of their own" test "$n_lock" -ge 2
check "random id: its start did not carry the lock" test "$(fused_starts co:p1)" -eq 0
check "random id: the lock is free after it" test -z "$(rcli GET "peace:lock:{co:p1}")"
check "states written by both kinds" test "$(fleet_states co p1 f current | jq -c keys)" = '["s1"]'

# 3. A zombie of a co-located execution: stopped mid-run, taken over by w2,
# continued; its fused finish is fenced, the new owner's lock stays its own.
sleep_flow "$T/z.json" co p2 z 30 100 2
"$PEACE" run "$T/z.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of z failed"
zid=$(submit "$T/z.json" --cmd ensure)
check "the zombie's id is in its profile's slot" \
  test "$(ccli "${masters[0]}" CLUSTER KEYSLOT "peace:exec:{$zid}")" = \
  "$(ccli "${masters[0]}" CLUSTER KEYSLOT "peace:lock:{co:p2}")"
wait_for 20 "the ensure to apply" pstatus_is "$zid" s1 running || fatal "ensure did not start"
kill -STOP "${WORKER_PID[w1]}"
worker_start w2 --concurrency 4 --lease-ms "$LEASE"
wait_for 30 "w2 to take it over" meta_is "$zid" attempt 2 || fatal "no takeover"
holder=$(rcli GET "peace:lock:{co:p2}")
check "the new attempt holds the lock" test "$holder" = "$zid:2"
kill -CONT "${WORKER_PID[w1]}"
wait_finished 60 "$zid"
log "zombie: outcome $(meta "$zid" outcome) attempt $(meta "$zid" attempt) error $(meta "$zid" error)"
check "the takeover completes it (attempt 2)" \
  test "$(meta "$zid" outcome) $(meta "$zid" attempt)" = "complete 2"
check "w1 notices it lost the execution" wait_for 10 "w1's exec_lost" grep -q "event=exec_lost exec=$zid" "$T/w1.log"
check "the worker that finished it is w2" \
  bash -c "[[ '$(meta "$zid" worker)' == *:${WORKER_PID[w2]}:* ]]"
check "the lock is free after the new owner's finish" test -z "$(rcli GET "peace:lock:{co:p2}")"

finish
