#!/usr/bin/env bash
# The dashboard's browser tests (dashboard.test.mjs; on the fleet also
# ops.test.mjs and replaced.test.mjs) against a real fleet:
# a private redis-server on a free loopback port, two peace-workers and
# peace-scheduler with a token, all in a scratch directory and always torn
# down, whatever happens. With --mock, against mock-server.mjs instead (no
# Redis, no workers: the page alone).
#
# Installs what it needs when missing: Debian's chromium (apt), node and npm,
# and the npm package playwright-core (npm ci from package-lock.json).
#
# Usage: run.sh [SCHEDULER WORKER]   default build/scheduler/peace-scheduler
#                                    and build/worker/peace-worker
#        run.sh --mock
#        run.sh --local PEACE   local.test.mjs: `peace run --local --listen`
#                               (the test starts its own runs; no Redis)
# Environment: PEACE_SCREENSHOT (PNG path, default build/dashboard.png);
# PEACE_TOKEN (the API token the scheduler is started with: default a random
# one, so the page's token prompt and ?access_token= are exercised; set it
# empty for no token); KEEP=1 keeps the scratch directory and its logs.
# Exit status: 0 passed, 1 failed, 77 skipped (no way to install chromium,
# node or playwright-core here; on CI, with CI set, that fails instead:
# tests/missing_dep.sh).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
mode=fleet
if [ "${1:-}" = --mock ]; then
  mode=mock
elif [ "${1:-}" = --local ]; then
  mode=local
  PEACE_BIN=$(realpath -m "${2:?usage: run.sh --local PATH/TO/peace}")
  [ -x "$PEACE_BIN" ] || { echo "run.sh: $PEACE_BIN is missing: build it first" >&2; exit 1; }
  export PEACE_BIN
else
  scheduler=$(realpath -m "${1:-$root/build/scheduler/peace-scheduler}")
  worker=$(realpath -m "${2:-$root/build/worker/peace-worker}")
  for bin in "$scheduler" "$worker"; do
    [ -x "$bin" ] || { echo "run.sh: $bin is missing: build it first" >&2; exit 1; }
  done
fi
export PEACE_SCREENSHOT=${PEACE_SCREENSHOT:-$root/build/dashboard.png}

# ---- dependencies -------------------------------------------------------
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(none)
  fi
fi
. "$here/../missing_dep.sh"
apt_install() {
  if [ "${as_root[0]:-}" = none ]; then
    missing_dep "run.sh: $* missing and no root or sudo to install them"
  fi
  echo "# installing $* (apt)"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
    { "${as_root[@]}" apt-get update -q >/dev/null && "${as_root[@]}" apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
}
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ "$mode" = fleet ]; then
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
fi
[ "${#missing[@]}" -eq 0 ] || apt_install "${missing[@]}"
if [ ! -f "$here/node_modules/playwright-core/package.json" ]; then
  echo "# installing playwright-core (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
    missing_dep "run.sh: npm ci failed in tests/browser (no registry?)"
fi
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || missing_dep "run.sh: no chromium at ${CHROMIUM:-/usr/bin/chromium}"

# ---- processes ------------------------------------------------------------
T=$(mktemp -d "${TMPDIR:-/tmp}/peace-browser.XXXXXX")
PIDS=()
status=1
cleanup() {
  local pid
  trap - EXIT INT TERM
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 60); do # bounded: 3 s, then KILL
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && break
    sleep 0.05
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$status" -ne 0 ]; then
    local f
    for f in "$T"/*.log; do
      [ -f "$f" ] || continue
      echo "---- $(basename "$f") (last 40 lines)"
      tail -n 40 "$f"
    done
  fi
  if [ -n "${KEEP:-}" ]; then echo "# kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted"; exit 130' INT TERM

now_ms() { date +%s%3N; }
# wait_for SECONDS WHAT COMMAND...: polls every 50 ms until COMMAND succeeds.
wait_for() {
  local secs=$1 what=$2
  shift 2
  local deadline=$(($(now_ms) + secs * 1000))
  until "$@" >/dev/null 2>&1; do
    if [ "$(now_ms)" -gt "$deadline" ]; then
      echo "run.sh: timed out after ${secs}s waiting for $what" >&2
      return 1
    fi
    sleep 0.05
  done
}
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    port_busy "$p" || { echo "$p"; return 0; }
  done
  return 1
}
alive() { kill -0 "$1" 2>/dev/null; }
healthy() { curl -fs --max-time 2 "http://127.0.0.1:$1/healthz" 2>/dev/null | grep -q '"ok"'; }
healthy_or_gone() { healthy "$1" || ! alive "$2"; }
redis_up() { [ "$(redis-cli -p "$1" PING 2>/dev/null)" = PONG ]; }
redis_up_or_gone() { redis_up "$1" || ! alive "$2"; }

if [ "$mode" = local ]; then
  set +e
  node "$here/local.test.mjs"
  status=$?
  set -e
  exit $status
fi
if [ "$mode" = mock ]; then
  export PEACE_TOKEN=${PEACE_TOKEN-mock-$RANDOM$RANDOM}
  export PEACE_MOCK=1
  # The mock drops the first events stream of each execution after three
  # events: the page must resume it (Last-Event-ID), and the test checks the
  # mock saw that.
  started=0
  for _ in $(seq 1 10); do
    port=$(free_port)
    node "$here/mock-server.mjs" --port "$port" --token "$PEACE_TOKEN" --drop-sse-after 3 \
      >"$T/mock.log" 2>&1 &
    mock_pid=$!
    PIDS+=("$mock_pid")
    # Healthy, or exited (its port was taken meanwhile: try another one).
    if wait_for 10 "the mock scheduler" healthy_or_gone "$port" "$mock_pid" && healthy "$port"; then
      started=1
      break
    fi
    kill -KILL "$mock_pid" 2>/dev/null || true
  done
  [ $started -eq 1 ] || { echo "run.sh: could not start the mock scheduler" >&2; exit 1; }
  export PEACE_RESUME_LOG=$T/mock.log
  export PEACE_REPORT_V1=1 # the mock's reports have no times and no blocks
else
  mkdir -p "$T/redis" "$T/world" "$T/markers"
  started=0
  for _ in $(seq 1 10); do
    redis_port=$(free_port)
    redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$T/redis" --save '' --appendonly no \
      --daemonize no --logfile "$T/redis.log" &
    redis_pid=$!
    if wait_for 10 "redis-server" redis_up_or_gone "$redis_port" "$redis_pid" && redis_up "$redis_port"; then
      started=1
      break
    fi
    kill -KILL "$redis_pid" 2>/dev/null || true
  done
  [ $started -eq 1 ] || { echo "run.sh: could not start redis-server" >&2; exit 1; }
  PIDS+=("$redis_pid")
  export PEACE_REDIS_URL=redis://127.0.0.1:$redis_port
  echo "# redis-server on port $redis_port"

  for n in 1 2; do
    (cd "$T/world" && exec "$worker" --redis "$PEACE_REDIS_URL") >"$T/worker$n.log" 2>&1 &
    PIDS+=("$!")
  done

  export PEACE_TOKEN=${PEACE_TOKEN-browser-$RANDOM$RANDOM}
  # No token: --no-auth (the scheduler would make one otherwise; the
  # address is loopback, where --no-auth is allowed).
  token_args=(--no-auth)
  [ -z "$PEACE_TOKEN" ] || token_args=(--token "$PEACE_TOKEN")
  started=0
  for _ in $(seq 1 10); do
    port=$(free_port)
    "$scheduler" --redis "$PEACE_REDIS_URL" --listen "127.0.0.1:$port" "${token_args[@]}" \
      >"$T/scheduler.log" 2>&1 &
    sched_pid=$!
    PIDS+=("$sched_pid")
    # Healthy, or exited (its port was taken meanwhile: try another one).
    if wait_for 15 "peace-scheduler /healthz" healthy_or_gone "$port" "$sched_pid" && healthy "$port"; then
      started=1
      break
    fi
    alive "$sched_pid" && { echo "run.sh: peace-scheduler runs but is not healthy" >&2; exit 1; }
    echo "# peace-scheduler exited: $(tail -n 1 "$T/scheduler.log")"
  done
  [ $started -eq 1 ] || { echo "run.sh: could not start peace-scheduler" >&2; exit 1; }
  for n in 1 2; do
    alive "${PIDS[$n]}" || { echo "run.sh: worker $n exited" >&2; exit 1; }
  done
  export PEACE_MARKER_DIR=$T/markers
fi
export PEACE_DASHBOARD_URL=http://127.0.0.1:$port/
echo "# dashboard at $PEACE_DASHBOARD_URL ($mode)"

set +e
node "$here/dashboard.test.mjs"
status=$?
# The fleet views (workers, queues, dead letters with Retry, filters) need
# the real fleet: its Redis makes a dead letter.
if [ "$mode" = fleet ]; then
  node "$here/ops.test.mjs" || status=1
  # Replaced items (a blocking change of an ensure) need the real engine.
  node "$here/replaced.test.mjs" || status=1
fi
set -e
exit $status
