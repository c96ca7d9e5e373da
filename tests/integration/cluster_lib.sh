# cluster_lib.sh - a Redis Cluster on free loopback ports in the test's
# scratch directory (sourced by lib.sh; used when PEACE_TEST_BACKEND=cluster
# and by the cluster-only tests).
#
# cluster_start [REPLICAS]: 3 masters (REPLICAS=1: each with one replica),
# every node a redis-server --cluster-enabled yes in $T/cluster/N, joined by
# redis-cli --cluster create. It exports PEACE_REDIS_URL as
# redis+cluster://127.0.0.1:P1,...(the masters), points REDIS_PORT at the
# first master, and puts a redis-cli in front of PATH that adds -c (follow
# redirects), so the tests' redis-cli lines work unchanged. Every node is in
# PIDS: lib_cleanup always stops them.

CLUSTER_DIR=$T/cluster
CLUSTER_PORTS=()
declare -A CLUSTER_PID=()
REAL_REDIS_CLI=$(command -v redis-cli)

# ccli PORT ARGS...: redis-cli to one node, without redirects.
ccli() {
  local port=$1
  shift
  "$REAL_REDIS_CLI" -p "$port" "$@"
}

cluster_node_up() { [ "$(ccli "$1" PING 2>/dev/null)" = PONG ]; }
cluster_node_up_or_dead() { cluster_node_up "$1" || ! kill -0 "${CLUSTER_PID[$1]}" 2>/dev/null; }

# cluster_node_spawn PORT: starts (or restarts) the node of PORT, no waiting.
cluster_node_spawn() {
  local port=$1 dir=$CLUSTER_DIR/$1
  mkdir -p "$dir"
  local args=(--port "$port" --bind 127.0.0.1 --dir "$dir" --logfile "$dir/redis.log"
    --daemonize no --save '' --cluster-enabled yes --cluster-config-file nodes.conf
    --cluster-node-timeout 2000)
  if [ "$REDIS_PERSIST" -eq 1 ]; then
    args+=(--appendonly yes --appendfsync always)
  else
    args+=(--appendonly no)
  fi
  redis-server "${args[@]}" &
  CLUSTER_PID[$port]=$!
  PIDS+=("$!")
}

# cluster_node_launch PORT: starts the node and waits until it answers.
cluster_node_launch() {
  cluster_node_spawn "$1"
  wait_for 10 "cluster node on port $1" cluster_node_up_or_dead "$1"
  cluster_node_up "$1"
}

# A port whose cluster bus port (+10000) is free too.
cluster_free_port() {
  local p
  while :; do
    p=$((12000 + RANDOM % 8000))
    port_busy "$p" || port_busy $((p + 10000)) || {
      local used=0 q
      for q in "${CLUSTER_PORTS[@]}"; do [ "$q" = "$p" ] && used=1; done
      [ $used -eq 0 ] && echo "$p" && return
    }
  done
}

# cluster_ok: every node says cluster_state:ok and agrees on all 16384 slots.
cluster_ok() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    ccli "$p" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' || return 1
  done
  "$REAL_REDIS_CLI" --cluster check "127.0.0.1:${CLUSTER_PORTS[0]}" 2>/dev/null |
    grep -q 'All 16384 slots covered' || return 1
  ! "$REAL_REDIS_CLI" --cluster check "127.0.0.1:${CLUSTER_PORTS[0]}" 2>/dev/null | grep -q '\[ERR\]\|\[WARNING\]'
}

# Every node sees CLUSTER_REPLICAS replicas, each attached to a master.
cluster_replicas_ok() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do
    [ "$(ccli "$p" CLUSTER NODES | awk '$3 ~ /slave/ && $4 != "-"' | wc -l)" -eq "${CLUSTER_REPLICAS:-0}" ] || return 1
  done
}

# The ports of the current masters.
cluster_masters() {
  ccli "${1:-${CLUSTER_PORTS[0]}}" CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ {split($2, a, "[:@]"); print a[2]}'
}

# cluster_key_port KEY: the port of the master serving KEY's slot.
cluster_key_port() {
  local slot
  slot=$(ccli "${CLUSTER_PORTS[0]}" CLUSTER KEYSLOT "$1") || return 1
  ccli "${CLUSTER_PORTS[0]}" CLUSTER NODES | awk -v s="$slot" '$3 ~ /master/ && $3 !~ /fail/ {
    split($2, a, "[:@]")
    for (i = 9; i <= NF; i++) {
      if ($i ~ /^\[/) continue
      n = split($i, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1])
      if (s >= lo + 0 && s <= hi + 0) { print a[2]; exit }
    }
  }'
}

# cluster_key_holder KEY: the port of the master holding KEY (EXISTS on each).
cluster_key_holder() {
  local p
  for p in $(cluster_masters); do
    [ "$(ccli "$p" EXISTS "$1" 2>/dev/null)" = 1 ] && echo "$p" && return
  done
}

# cluster_workers ARGS...: workers w1 and w2 with ARGS, both reading.
cluster_workers() {
  worker_start w1 "$@"
  worker_start w2 "$@"
  wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
  wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"
}

# cluster_sh_flow FILE APP N A_S B_S: a flow of profile pN (its own slots) of
# two sh_cmd items, a then b, discovering in A_S and B_S seconds, whose
# states name the profile.
cluster_sh_flow() {
  cat >"$1" <<EOF2
{"app":"$2","profile":"p$3","flow":"f","items":[
 {"id":"a","type":"sh_cmd","params":{
   "state_current":["sh","-c","sleep $4; echo current-p$3"],
   "state_goal":["echo","goal-p$3"],
   "apply_exec":["true"]}},
 {"id":"b","type":"sh_cmd","deps":["a"],"params":{
   "state_current":["sh","-c","sleep $5; echo b-p$3"],
   "state_goal":["echo","b-p$3"],
   "apply_exec":["true"]}}]}
EOF2
}

cluster_start() {
  local replicas=${1:-0} n i addrs=()
  n=$((3 * (1 + replicas)))
  mkdir -p "$CLUSTER_DIR"
  for i in $(seq 1 "$n"); do
    CLUSTER_PORTS+=("$(cluster_free_port)")
  done
  for i in "${CLUSTER_PORTS[@]}"; do
    cluster_node_launch "$i" || fatal "could not start a cluster node on port $i"
    addrs+=("127.0.0.1:$i")
  done
  "$REAL_REDIS_CLI" --cluster create "${addrs[@]}" --cluster-replicas "$replicas" --cluster-yes \
    >"$CLUSTER_DIR/create.log" 2>&1 || {
    cat "$CLUSTER_DIR/create.log"
    fatal "redis-cli --cluster create failed"
  }
  wait_for 30 "the cluster to be ok" cluster_ok || fatal "the cluster did not converge"
  CLUSTER_REPLICAS=$((3 * replicas))
  wait_for 30 "every replica to be attached" cluster_replicas_ok || fatal "the replicas did not attach"
  REDIS_PORT=${CLUSTER_PORTS[0]}
  REDIS_PID=${CLUSTER_PID[$REDIS_PORT]}
  local seeds=
  for i in "${CLUSTER_PORTS[@]:0:3}"; do seeds+=${seeds:+,}127.0.0.1:$i; done
  export PEACE_REDIS_URL=redis+cluster://$seeds
  mkdir -p "$T/bin"
  printf '#!/bin/sh\nexec %s -c "$@"\n' "$REAL_REDIS_CLI" >"$T/bin/redis-cli"
  chmod +x "$T/bin/redis-cli"
  export PATH=$T/bin:$PATH
  log "redis cluster of $n nodes on ports ${CLUSTER_PORTS[*]}"
}

cluster_node_gone() { ! kill -0 "${CLUSTER_PID[$1]}" 2>/dev/null && ! port_busy "$1"; }

# cluster_node_stop PORT: SHUTDOWN one node and wait until its port is free.
cluster_node_stop() {
  ccli "$1" SHUTDOWN >/dev/null 2>&1
  wait_for 10 "cluster node $1 to exit" cluster_node_gone "$1" || kill -KILL "${CLUSTER_PID[$1]}" 2>/dev/null
}

# cluster_stop: every node shut down at once (as one server going away).
cluster_stop() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do ccli "$p" SHUTDOWN >/dev/null 2>&1 & done
  wait_for 10 "the cluster nodes to exit" cluster_all_gone || {
    for p in "${CLUSTER_PORTS[@]}"; do kill -KILL "${CLUSTER_PID[$p]}" 2>/dev/null; done
  }
}
cluster_all_gone() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do cluster_node_gone "$p" || return 1; done
}
cluster_all_up() {
  local p
  for p in "${CLUSTER_PORTS[@]}"; do cluster_node_up_or_dead "$p" || return 1; done
}

# cluster_restart: every node stopped, then started again on its port and
# directory (nodes.conf keeps the topology, the AOF the data).
cluster_restart() {
  local p
  cluster_stop
  for p in "${CLUSTER_PORTS[@]}"; do cluster_node_spawn "$p"; done
  wait_for 10 "the cluster nodes to answer" cluster_all_up
  for p in "${CLUSTER_PORTS[@]}"; do
    cluster_node_up "$p" || fatal "could not restart the cluster node on port $p"
  done
  wait_for 30 "the cluster to be ok again" cluster_ok || fatal "the cluster did not come back"
  REDIS_PID=${CLUSTER_PID[$REDIS_PORT]}
}
