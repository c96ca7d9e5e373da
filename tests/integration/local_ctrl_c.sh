#!/usr/bin/env bash
# Ctrl-C in `peace run --local` (CONTRACT §7): once is a finish (the running
# item goes on), twice a cancel (the running sh_cmd's process group gets
# SIGTERM, the item is listed as interrupted, exit 2), three times exits 130
# at once. Signals are sent with kill -INT, as a terminal does. After an
# interrupt the run prints the receipt `peace interrupt ID --wait` prints for
# a fleet execution (mode in effect, requested, latched, escalations,
# finished); a run nobody interrupted prints none.
PEACE=${1:?usage: local_ctrl_c.sh PATH/TO/peace}
. "$(dirname "$0")/lib.sh"

# flow FILE NAME: one sh_cmd whose apply records its pid, its child's, then sleeps.
flow() {
  local dir=$WORLD/$2
  mkdir -p "$dir"
  cat >"$1" <<EOF
{"app":"local","profile":"$2","flow":"f","items":[
 {"id":"long","type":"sh_cmd","params":{
   "state_current":["sh","-c","cat $dir/state 2>/dev/null || echo absent"],
   "state_goal":["echo","applied"],
   "apply_exec":["sh","-c","echo \$\$ > $dir/sh.pid; echo started > $dir/state; sleep 600 & echo \$! > $dir/child.pid; wait"]}}]}
EOF
}
gone() {
  local st
  st=$(awk '{ sub(/.*\) /, ""); print substr($0, 1, 1) }' "/proc/$1/stat" 2>/dev/null) || return 0
  [ -z "$st" ] || [ "$st" = Z ] || [ "$st" = X ]
}
alive() { kill -0 "$1" 2>/dev/null; }
exited() { ! alive "$1"; }

# Twice: cancel ---------------------------------------------------------------
flow "$T/twice.json" twice
(cd "$WORLD" && exec "$PEACE" run "$T/twice.json" --local --cmd discover --no-progress) >"$T/disc.out" 2>&1 ||
  fatal "discover failed"
check "a run nobody interrupted prints no receipt" bash -c "! grep -q 'latched at' '$T/disc.out'"
(cd "$WORLD" && exec "$PEACE" run "$T/twice.json" --local --cmd ensure) >"$T/twice.out" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_for 20 "the apply to run" test -s "$WORLD/twice/child.pid" || fatal "apply never ran"
kill -INT "$pid"
wait_for 10 "the first Ctrl-C's note" grep -q 'interrupt requested' "$T/twice.out"
check "once: a finish lets the running item go on" alive "$pid"
kill -INT "$pid"
wait_for 20 "the run to end after the second Ctrl-C" exited "$pid"
wait "$pid"
rc=$?
check "twice: the run ends with exit status 2 (interrupted)" test "$rc" -eq 2
check "twice: the report lists the item as interrupted" grep -q 'items interrupted: long' "$T/twice.out"
id=$(sed -nE 's/^execution ([0-9A-Z]{26}) \(peace report .*/\1/p' "$T/twice.out")
check "twice: the receipt names the execution and its outcome" \
  grep -qx "execution $id: outcome block_interrupted" "$T/twice.out"
check "twice: the receipt: mode cancel, latched when requested, one escalation, finished after" \
  bash -c "grep -E '^  mode cancel, requested at [0-9]+, latched at [0-9]+, escalations 1, finished at [0-9]+ \(Unix ms\)$' '$T/twice.out' |
    awk '{ gsub(/,/, \"\"); ok = (\$5 == \$8 && \$13 >= \$5 && \$5 > 0) } END { exit !(NR == 1 && ok) }'"
log "receipt: $(grep -A1 "^execution $id: outcome" "$T/twice.out" | tr '\n' '|')"
check "twice: the item's process group is gone" \
  wait_for 5 "the group to die" bash -c "$(declare -f gone); gone \$(cat $WORLD/twice/sh.pid) && gone \$(cat $WORLD/twice/child.pid)"

# Three times: exit 130 -------------------------------------------------------
flow "$T/thrice.json" thrice
(cd "$WORLD" && exec "$PEACE" run "$T/thrice.json" --local --cmd discover --no-progress) >/dev/null 2>&1 ||
  fatal "discover failed"
# The apply ignores SIGTERM, so the cancel cannot end the run before the third Ctrl-C.
sed -i 's/"sh","-c","echo/"sh","-c","trap \\"\\" TERM; echo/' "$T/thrice.json"
(cd "$WORLD" && exec "$PEACE" run "$T/thrice.json" --local --cmd ensure) >"$T/thrice.out" 2>&1 &
pid=$!
PIDS+=("$pid")
wait_for 20 "the apply to run" test -s "$WORLD/thrice/child.pid" || fatal "apply never ran"
# Each Ctrl-C once the previous one was handled (its note is shown): a
# terminal's signals are not queued, two pending ones would count as one.
kill -INT "$pid"
wait_for 10 "the first Ctrl-C's note" grep -q 'interrupt requested' "$T/thrice.out"
kill -INT "$pid"
wait_for 10 "the second Ctrl-C's note" grep -q 'cancel requested' "$T/thrice.out"
kill -INT "$pid"
wait_for 10 "the run to exit after three Ctrl-C" exited "$pid"
wait "$pid"
rc=$?
check "three times: exit status 130" test "$rc" -eq 130
kill -KILL "$(cat "$WORLD/thrice/sh.pid")" "$(cat "$WORLD/thrice/child.pid")" 2>/dev/null

finish
