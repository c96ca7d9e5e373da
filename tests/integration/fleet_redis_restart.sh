#!/usr/bin/env bash
# Redis restarted under a running fleet (CONTRACT §4): with an append-only
# file so queued entries survive, a restart while executions are running and
# others are queued. The workers reconnect by themselves, and every
# execution completes: the queued ones as usual, the ones in flight at the
# restart (their writes failed) after takeover by a reconnected worker.
PEACE=${1:?usage: fleet_redis_restart.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
N=8

redis_start persist

ids=()
for p in $(seq 1 $N); do
  cat >"$T/f$p.json" <<EOF2
{"app":"rs","profile":"p$p","flow":"slow","items":[
 {"id":"slow","type":"sh_cmd","params":{
   "state_current":["sh","-c","sleep 0.8; echo p$p"],
   "state_goal":["echo","p$p"],
   "apply_exec":["true"]}}]}
EOF2
  ids+=("$(submit "$T/f$p.json" --cmd discover)")
done
# The workers start once everything is queued: however slow the submits,
# most executions are still queued when the first run.
worker_start w1 --lease-ms 2000 --concurrency 1
worker_start w2 --lease-ms 2000 --concurrency 1
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"
count_status() { # STATUS
  local n=0 i
  for i in "${ids[@]}"; do meta_is "$i" status "$1" && n=$((n + 1)); done
  echo $n
}
some_running() { [ "$(count_status running)" -ge 1 ]; }
wait_for 20 "an execution to run" some_running || fatal "nothing ran"
queued=$(count_status queued)
log "restarting redis with $(count_status running) running, $queued queued"
check "executions are still queued when Redis goes away" test "$queued" -ge 2
# The queued executions (a worker may finish and delete one in between:
# those are finished, the others must still be in the stream).
queue_execs() { rcli XRANGE 'peace:queue:{default}' - + | awk 'prev == "exec" { print } { prev = $0 }' | sort; }
before=$(queue_execs)
redis_restart
after=$(queue_execs)
survived() {
  local i
  for i in $(comm -23 <(echo "$before") <(echo "$after")); do finished "$i" || return 1; done
}
check "the queue survived the restart" survived
wait_finished 120 "${ids[@]}"
all=1
for i in "${ids[@]}"; do
  meta_is "$i" outcome complete || {
    all=0
    log "$i: $(meta "$i" status) $(meta "$i" outcome) $(meta "$i" error)"
  }
done
check "every execution completes after the restart" test $all -eq 1
check "their states were stored" \
  test "$("$PEACE" states rs "p$N" slow --json | jq -r .current.slow.stdout)" = "p$N"
check "both workers survived the outage" bash -c "kill -0 ${WORKER_PID[w1]} && kill -0 ${WORKER_PID[w2]}"
sleep_flow "$T/after.json" rs after f 1 1 1
"$PEACE" run "$T/after.json" --cmd discover --no-progress >/dev/null 2>&1
check "the fleet serves new work after the restart" test $? -eq 0

finish
