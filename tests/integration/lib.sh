# lib.sh - shared helpers of the fleet integration tests (source it).
#
# Each test gets its own scratch directory ($T), its own redis-server on a
# free loopback port, and a trap that always stops every process the test
# started (redis, workers, followers), whatever happens. Waiting is always
# for a condition with a deadline (wait_for), never a bare sleep.
#
# The caller sets PEACE (the CLI) and, for fleet tests, WORKER (peace-worker)
# before sourcing. PEACE_TEST_BACKEND=cluster runs the same test on a Redis
# Cluster of 3 masters (PEACE_TEST_REPLICAS=1: 3 masters + 3 replicas) that
# redis_start builds in $T (cluster_lib.sh); the default is one standalone
# redis-server. Logs of a failed test are printed at exit, then removed
# (KEEP=1 keeps the directory).
set -u

# Absolute paths: workers run in another directory.
PEACE=$(realpath "$PEACE")
[ -n "${WORKER:-}" ] && WORKER=$(realpath "$WORKER")
T=$(mktemp -d "${TMPDIR:-/tmp}/peace-it.XXXXXX")
WORLD=$T/world # the workers' working directory: what items change
mkdir -p "$WORLD"
PIDS=()        # every background process started here
declare -A WORKER_PID=()
REDIS_PORT=
REDIS_PID=
REDIS_DIR=$T/redis
REDIS_PERSIST=0
BACKEND=${PEACE_TEST_BACKEND:-standalone}
fails=0
checks=0
export PEACE_PREFIX=peace
export PEACE_QUEUE=default

lib_cleanup() {
  local pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do
    kill -CONT "$pid" 2>/dev/null # a stopped process cannot act on TERM
    kill -TERM "$pid" 2>/dev/null
  done
  # Bounded: anything still alive after 3 s is killed.
  for _ in $(seq 1 60); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.05
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null; done
  wait 2>/dev/null
  if [ "$fails" -ne 0 ]; then
    local f
    for f in "$T"/*.log "$REDIS_DIR"/redis.log "$T"/cluster/*/redis.log; do
      [ -f "$f" ] || continue
      echo "---- $(basename "$f") (last 40 lines)"
      tail -n 40 "$f"
    done
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $T"; else rm -rf "$T"; fi
}
trap lib_cleanup EXIT
trap 'echo "interrupted"; fails=$((fails + 1)); exit 130' INT TERM

log() { echo "# $*"; }

# check DESCRIPTION COMMAND...: one "ok"/"FAIL" line; failures are counted.
check() {
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@"; then
    echo "ok   - $what"
  else
    echo "FAIL - $what"
    fails=$((fails + 1))
  fi
}

# fatal MESSAGE: a precondition failed; later checks would be meaningless.
fatal() {
  echo "FAIL - $*"
  fails=$((fails + 1))
  exit 1
}

# finish: the summary line and the exit status of the test.
finish() {
  echo "$(basename "$0" .sh): $checks check(s), $fails failure(s)"
  [ "$fails" -eq 0 ]
  exit $?
}

now_ms() { date +%s%3N; }

# wait_for SECONDS DESCRIPTION COMMAND...: polls COMMAND every 50 ms until it
# succeeds; returns 1 (and says what it waited for) at the deadline.
wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$(($(now_ms) + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    if [ "$(now_ms)" -gt "$deadline" ]; then
      echo "# timed out after ${secs}s waiting for: $what"
      return 1
    fi
    sleep 0.05
  done
}

# ---- redis -------------------------------------------------------------

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# One part of ITEM's progress in execution ID's progress hash, layout 2
# (schemas/README.md "Progress hash": field ITEM = "STATUS LIMIT DONE[ MSG]",
# msg as stored, i.e. escaped). PART: status, limit, done or msg.
ppart() { # ID ITEM PART
  local st lim dn msg
  read -r st lim dn msg <<<"$(rcli HGET "peace:exec:{$1}:progress" "$2")"
  case $3 in
    status) printf '%s\n' "$st" ;;
    limit) printf '%s\n' "$lim" ;;
    done) printf '%s\n' "$dn" ;;
    msg) printf '%s\n' "$msg" ;;
  esac
}
pstatus_is() { [ "$(ppart "$1" "$2" status)" = "$3" ]; } # ID ITEM STATUS

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

redis_up() { [ "$(rcli PING 2>/dev/null)" = PONG ]; }

# Starts redis-server on REDIS_PORT (chosen when empty) with REDIS_DIR.
redis_launch() {
  local args=(--port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR"
    --logfile "$REDIS_DIR/redis.log" --daemonize no --save '')
  if [ "$REDIS_PERSIST" -eq 1 ]; then
    args+=(--appendonly yes --appendfsync always)
  else
    args+=(--appendonly no)
  fi
  redis-server "${args[@]}" &
  REDIS_PID=$!
  PIDS+=("$REDIS_PID")
  # A server that cannot bind exits at once: no need to wait out the deadline.
  wait_for 10 "redis-server on port $REDIS_PORT" redis_up_or_dead
  redis_up
}
redis_up_or_dead() { redis_up || ! kill -0 "$REDIS_PID" 2>/dev/null; }

# redis_start [persist]: a fresh redis-server on a free loopback port;
# exports PEACE_REDIS_URL. With "persist", an append-only file survives
# restarts (redis_restart).
redis_start() {
  [ "${1:-}" = persist ] && REDIS_PERSIST=1
  if [ "$BACKEND" = cluster ]; then
    cluster_start "${PEACE_TEST_REPLICAS:-0}"
    return
  fi
  mkdir -p "$REDIS_DIR"
  local attempt
  for attempt in $(seq 1 20); do
    REDIS_PORT=$((20000 + RANDOM % 12000)) # below the ephemeral range
    port_busy "$REDIS_PORT" && continue
    if redis_launch; then
      export PEACE_REDIS_URL=redis://127.0.0.1:$REDIS_PORT
      log "redis-server pid $REDIS_PID on port $REDIS_PORT (attempt $attempt)"
      return 0
    fi
    kill -KILL "$REDIS_PID" 2>/dev/null
  done
  fatal "could not start redis-server"
}

redis_gone() { ! kill -0 "$REDIS_PID" 2>/dev/null && ! port_busy "$REDIS_PORT"; }

# redis_stop: SHUTDOWN (the AOF, if any, is complete) and wait until the port is free.
redis_stop() {
  [ "$BACKEND" = cluster ] && {
    cluster_stop
    return
  }
  rcli SHUTDOWN >/dev/null 2>&1
  wait_for 10 "redis-server to exit" redis_gone || kill -KILL "$REDIS_PID" 2>/dev/null
}

# redis_crash_restart: kill -9 (what the append-only file holds is what
# survives), then start again on the same port and directory.
redis_crash_restart() {
  kill -KILL "$REDIS_PID" 2>/dev/null
  wait "$REDIS_PID" 2>/dev/null # reaped here: no "Killed" line from the shell
  wait_for 10 "redis-server to die" redis_gone
  redis_launch || fatal "could not restart redis-server on port $REDIS_PORT"
}

# redis_restart: stop, then start again on the same port and directory.
redis_restart() {
  [ "$BACKEND" = cluster ] && {
    cluster_restart
    return
  }
  redis_stop
  redis_launch || fatal "could not restart redis-server on port $REDIS_PORT"
}

. "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

# ---- keys and executions -------------------------------------------------

meta() { rcli HGET "peace:exec:{$1}" "$2"; }
meta_is() { [ "$(meta "$1" "$2")" = "$3" ]; }
finished() { meta_is "$1" status finished; }

# wait_finished SECONDS ID...: every id reaches status=finished.
wait_finished() {
  local secs=$1 id
  shift
  for id in "$@"; do
    wait_for "$secs" "execution $id to finish" finished "$id" || return 1
  done
}

# submit FLOW [peace run options...]: queues and prints the execution id.
submit() {
  local flow=$1
  shift
  "$PEACE" run "$flow" --detach "$@"
}

# ---- workers ---------------------------------------------------------------

# worker_start NAME [worker options...]: a peace-worker in $WORLD, logging to
# $T/NAME.log, with the test's Redis. Its pid is WORKER_PID[NAME].
worker_start() {
  local name=$1
  shift
  (cd "$WORLD" && exec "$WORKER" --redis "$PEACE_REDIS_URL" "$@") >"$T/$name.log" 2>&1 &
  WORKER_PID[$name]=$!
  PIDS+=("$!")
  log "worker $name pid ${WORKER_PID[$name]}"
}

# queue_stream [N]: the queue's stream, or its partition N (default 0) when
# PEACE_QUEUE_PARTITIONS > 1 (docs/fleet.md "Queue partitions").
queue_stream() {
  if [ "${PEACE_QUEUE_PARTITIONS:-1}" -gt 1 ]; then
    echo "peace:queue:{${PEACE_QUEUE}:${1:-0}}"
  else
    echo "peace:queue:{${PEACE_QUEUE}}"
  fi
}

# queue_len: entries in every partition of the queue.
queue_len() {
  local i n=0
  for i in $(seq 0 $((${PEACE_QUEUE_PARTITIONS:-1} - 1))); do
    n=$((n + $(rcli XLEN "$(queue_stream "$i")")))
  done
  echo "$n"
}

# The consumer names the group knows (a worker's name holds its pid): those
# of the last partition, which a worker joins after the others.
consumers() { rcli XINFO CONSUMERS "$(queue_stream $((${PEACE_QUEUE_PARTITIONS:-1} - 1)))" workers 2>/dev/null; }

worker_alive() { kill -0 "${WORKER_PID[$1]}" 2>/dev/null; }
worker_exited() { ! worker_alive "$1"; }

# worker_ready NAME: the worker created the group and is reading from it.
worker_ready() { consumers | grep -q ":${WORKER_PID[$1]}:"; }

# worker_stop NAME: SIGTERM and wait (bounded) for it to exit.
worker_stop() {
  kill -TERM "${WORKER_PID[$1]}" 2>/dev/null
  wait_for 20 "worker $1 to exit" worker_exited "$1" || kill -KILL "${WORKER_PID[$1]}" 2>/dev/null
}

# The consumer name of worker NAME, as the meta hash's `worker` field shows it.
worker_consumer() { consumers | grep -m1 ":${WORKER_PID[$1]}:"; }

# ---- flows -------------------------------------------------------------------

# sleep_flow FILE APP PROFILE FLOW STEPS STEP_MS N: N sleep items s1..sN in a
# chain (s2 after s1, ...), markers under $WORLD/APP/PROFILE/FLOW/.
sleep_flow() {
  local file=$1 app=$2 profile=$3 flow=$4 steps=$5 step_ms=$6 n=$7 i deps
  local dir=$WORLD/$app/$profile/$flow
  mkdir -p "$dir"
  {
    printf '{"app":"%s","profile":"%s","flow":"%s","items":[' "$app" "$profile" "$flow"
    for i in $(seq 1 "$n"); do
      deps=
      [ "$i" -gt 1 ] && deps=",\"deps\":[\"s$((i - 1))\"]"
      [ "$i" -gt 1 ] && printf ','
      printf '{"id":"s%d","type":"sleep"%s,"params":{"steps":%d,"step_ms":%d,"marker":"%s/s%d.done"}}' \
        "$i" "$deps" "$steps" "$step_ms" "$dir" "$i"
    done
    printf ']}\n'
  } >"$file"
}

# gate_flow FILE APP PROFILE GATE [N]: flow f of one sh_cmd item a whose
# apply waits (bounded: 120 s) until the file GATE exists, then writes its
# marker; with N=2, a sleep item b after a. The test creates GATE once it is
# ready (saw the execution running, killed its worker, interrupted it...),
# so the execution cannot end before, however slowly the test's polls go
# under load.
gate_flow() {
  local file=$1 app=$2 profile=$3 gate=$4 n=${5:-1}
  local marker=$WORLD/$app-$profile.done
  {
    printf '{"app":"%s","profile":"%s","flow":"f","items":[' "$app" "$profile"
    printf '{"id":"a","type":"sh_cmd","params":{"state_current":["sh","-c","cat %s 2>/dev/null || true"],' "$marker"
    printf '"state_goal":["echo","ok"],"apply_exec":["sh","-c",'
    printf '"for i in $(seq 1 2400); do [ -e %s ] \u0026\u0026 break; sleep 0.05; done; ' "$gate"
    printf '[ -e %s ] \u0026\u0026 echo ok > %s"]}}' "$gate" "$marker"
    [ "$n" -ge 2 ] && printf ',{"id":"b","type":"sleep","deps":["a"],"params":{"steps":1,"step_ms":1,"marker":"%s.b"}}' "$marker"
    printf ']}\n'
  } >"$file"
}

# JSON of a finished execution's report (peace report --json).
report_json() { "$PEACE" report "$1" --json; }

# ---- states ------------------------------------------------------------------

# fleet_states APP PROFILE FLOW current|goal: the stored map as sorted JSON.
fleet_states() {
  "$PEACE" states "$1" "$2" "$3" --json | jq -S ".$4"
}

# local_discover FLOW.json current|goal: what a local discover (the item
# types themselves, in $WORLD) reports, as sorted JSON - the reference the
# stored states must decode to. (Its own states file lands in $WORLD/.peace,
# which no item looks at.)
local_discover() {
  local out=$T/local-discover.out
  (cd "$WORLD" && "$PEACE" run "$1" --local --cmd discover --no-progress) >"$out" 2>&1 || {
    cat "$out"
    return 1
  }
  awk -v want="$2 states:" '
    /^[a-z]+ states:$/ { on = ($0 == want); next }
    on && /^  [A-Za-z_][A-Za-z0-9_]*: / {
      line = substr($0, 3); i = index(line, ": ");
      print substr(line, 1, i - 1) "\t" substr(line, i + 2); next }
    { on = 0 }' "$out" |
    jq -Rn '[inputs | split("\t") | {(.[0]): (.[1] | fromjson)}] | add // {}' | jq -S .
}
