#!/usr/bin/env bash
# Events on demand (docs/fleet.md "Events on demand", events layout 2):
#  1. a short (shorter than the flush interval), unfollowed execution writes
#     no events stream, and what a
#     follower reads of it (synthesised: `peace events`) says what layout 1
#     writes: the same flows run by a worker with --events-layout 1 and one
#     with 2 give the same block starts, the same last progress of every
#     item, the same outcome;
#  2. no lost wake-up: N short executions, each watched right after it is
#     queued (no sleeps, so the registration races the finish): every watch
#     ends with the outcome, and every execution a follower registered on
#     before its finish (meta `followed`) has its whole stream, block_start to
#     outcome, though it never flushed;
#  3. an execution that outlives one flush interval writes its stream
#     unfollowed (meta `events` = 1), and `peace events` reads it as is;
#  4. following an unknown id fails and creates no key;
#  5. a zombie (a worker stalled past its lease, the execution taken over)
#     writes no event: a short, unfollowed execution keeps having no stream.
PEACE=${1:?usage: fleet_events.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

# events_lines ID: one line per event as a follower reads it, without the
# id: "kind=K field=value ..."
events_lines() {
  "$PEACE" events "$1" | awk '
    /^[0-9]+-[0-9]+$/ { if (line != "") print line; line = ""; n = 0; next }
    { if (n % 2 == 0) f = $0; else line = line (line == "" ? "" : " ") f "=" $0; n++ }
    END { if (line != "") print line }'
}
# folded_view ID: what a synthesis keeps of the events: block starts, the
# last progress of each item (sorted), the outcome
folded_view() {
  local lines
  lines=$(events_lines "$1")
  echo "$lines" | grep '^kind=block_start'
  echo "$lines" | grep '^kind=progress' | awk '{ last[$2] = $0 } END { for (k in last) print last[k] }' | sort
  echo "$lines" | grep '^kind=outcome'
}
file_flow() { # FILE PROFILE
  mkdir -p "$WORLD/ev/$2"
  cat >"$1" <<JSON
{"app":"ev","profile":"$2","flow":"f","items":[
 {"id":"a","type":"file","params":{"path":"$WORLD/ev/$2/a.conf","content":"a\n","mode":"0644"}},
 {"id":"b","type":"file","deps":["a"],"params":{"path":"$WORLD/ev/$2/b.conf","content":"b\n","mode":"0644"}},
 {"id":"c","type":"file","deps":["a"],"params":{"path":"$WORLD/ev/$2/c.conf","content":"c\n","mode":"0644"}}]}
JSON
}

redis_start

# 1. ---------------------------------------------------------------------------
declare -A ids
for layout in 1 2; do
  # A flush interval far longer than these runs (on a loaded machine or a
  # cluster one could outlive 40 ms and rightly get its stream).
  worker_start "l$layout" --events-layout "$layout" --progress-flush-ms 10000
  wait_for 20 "worker l$layout" worker_ready "l$layout" || fatal "worker l$layout not ready"
  file_flow "$T/f$layout.json" "p$layout"
  for cmd in discover ensure clean; do
    id=$(submit "$T/f$layout.json" --cmd "$cmd")
    wait_finished 20 "$id" || fatal "execution $id did not finish"
    ids[$layout.$cmd]=$id
  done
  worker_stop "l$layout"
done
for cmd in discover ensure clean; do
  id1=${ids[1.$cmd]} id2=${ids[2.$cmd]}
  check "1: $cmd, layout 1: a stream, with the retention" \
    test "$(rcli EXISTS "peace:exec:{$id1}:events")" = 1 -a "$(rcli TTL "peace:exec:{$id1}:events")" -gt 0
  check "1: $cmd, layout 2, unfollowed and short: no stream" \
    test "$(rcli EXISTS "peace:exec:{$id2}:events")" = 0
  check "1: $cmd, layout 2: no marker of a stream, nobody followed" \
    test "$(meta "$id2" events)$(meta "$id2" followed)" = ""
  check "1: $cmd, layout 2: outcome complete" meta_is "$id2" outcome complete
  check "1: $cmd, layout 2: meta and progress keep the retention" \
    bash -c "test \$(redis-cli -p $REDIS_PORT TTL 'peace:exec:{$id2}') -gt 0 &&
             test \$(redis-cli -p $REDIS_PORT TTL 'peace:exec:{$id2}:progress') -gt 0"
  folded_view "$id1" >"$T/$cmd.1"
  folded_view "$id2" >"$T/$cmd.2"
  check "1: $cmd: synthesised events say what layout 1 wrote ($(wc -l <"$T/$cmd.2") events)" \
    diff "$T/$cmd.1" "$T/$cmd.2"
  check "1: $cmd: synthesised events come in order: blocks, items, outcome, ids 0-1..." bash -c \
    "'$PEACE' events '$id2' | grep -E '^[0-9]+-[0-9]+$' | paste -sd' ' | grep -qx '0-1 0-2.* 0-$(wc -l <"$T/$cmd.2")'"
done
check "1: ensure ran five blocks" test "$(grep -c '^kind=block_start' "$T/ensure.2")" = 5
check "1: every item's last progress is success" \
  test "$(grep -c '^kind=progress item=[abc] status=success' "$T/ensure.2")" = 3

# 2. ---------------------------------------------------------------------------
# Each ensure runs one 20 ms sleep, and no flush happens within it (10 s):
# a watch that registers while it runs is the only reason its stream is
# written, by the finish; one that registers after the finish reads it
# synthesised.
worker_start w2 --concurrency 4 --progress-flush-ms 10000
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"
N=40
bad=0 followed=0 folded=0
for i in $(seq 1 $N); do
  sleep_flow "$T/race$i.json" ev "race$i" f 1 20 1
  idr=$(submit "$T/race$i.json" --cmd discover)
  wait_finished 20 "$idr" || fatal "discover $idr did not finish"
  id=$(submit "$T/race$i.json" --cmd ensure)
  out=$(timeout 20 "$PEACE" watch "$id" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] || ! grep -q '^outcome: complete' <<<"$out"; then
    log "watch of $id: status $rc: $out"
    bad=$((bad + 1))
  fi
  if [ "$(meta "$id" followed)" = 1 ]; then
    followed=$((followed + 1))
    kinds=$(rcli XRANGE "peace:exec:{$id}:events" - + | awk 'prev == "kind" { print } { prev = $0 }' | paste -sd' ')
    if [[ "$kinds" != "block_start "*" outcome" ]]; then
      log "followed $id: its stream is '$kinds'"
      bad=$((bad + 1))
    fi
  else
    folded=$((folded + 1))
  fi
done
log "$N watches: $followed registered before the finish, $folded after it"
check "2: every watch ends with the outcome; every followed execution's stream is whole" \
  test $bad = 0
check "2: some watches registered before the finish" test $followed -gt 0

# 3. ---------------------------------------------------------------------------
worker_stop w2
worker_start w3 # the default flush interval, 40 ms
wait_for 20 "worker w3" worker_ready w3 || fatal "worker w3 not ready"
sleep_flow "$T/long.json" ev long chain 3 40 2
idl=$(submit "$T/long.json" --cmd discover)
wait_finished 20 "$idl" || fatal "execution $idl did not finish"
idl=$(submit "$T/long.json" --cmd ensure) # the sleeps run in the apply block
wait_finished 20 "$idl" || fatal "execution $idl did not finish"
log "3: $idl: $(meta "$idl" outcome), blocks' ms $(meta "$idl" block_ms)"
check "3: a long execution has its stream, unfollowed" \
  test "$(rcli EXISTS "peace:exec:{$idl}:events")$(meta "$idl" events)" = 11
check "3: peace events reads it as it is" \
  diff <("$PEACE" events "$idl") <(rcli XRANGE "peace:exec:{$idl}:events" - +)
check "3: it ends with the outcome" \
  test "$(rcli XREVRANGE "peace:exec:{$idl}:events" + - COUNT 1 | sed -n 3p)" = outcome

# 5. ---------------------------------------------------------------------------
# A zombie writes no event. An ensure with no flush within it (10 s); its
# worker stalls in the apply block; a follower registers (so any finish would
# write the stream); another worker takes it over and finishes it, writing
# the stream with one outcome; the stalled one, continued, is fenced: the
# stream stays as it was.
worker_stop w3
ZL=(--lease-ms 1500 --progress-flush-ms 10000 --concurrency 1)
worker_start zb "${ZL[@]}"
wait_for 20 "worker zb" worker_ready zb || fatal "worker zb not ready"
sleep_flow "$T/zomb.json" ev zomb chain 5 100 2
idz=$(submit "$T/zomb.json" --cmd discover)
wait_finished 20 "$idz" || fatal "discover $idz did not finish"
idz=$(submit "$T/zomb.json" --cmd ensure)
in_apply() { meta_is "$idz" block apply_ensure; }
wait_for 20 "worker zb in the apply block" in_apply || fatal "never saw the apply"
kill -STOP "${WORKER_PID[zb]}"
log "worker zb stopped in the apply block of $idz"
check "5: no stream while nobody follows and nothing flushed" \
  test "$(rcli EXISTS "peace:exec:{$idz}:events")" = 0
"$PEACE" events "$idz" >/dev/null # registers (exec_follow)
check "5: the follower is registered" meta_is "$idz" followed 1
worker_start zc "${ZL[@]}"
wait_finished 60 "$idz" || fatal "execution $idz did not finish"
check "5: taken over and finished by zc, attempt 2" \
  test "$(meta "$idz" worker) $(meta "$idz" attempt) $(meta "$idz" outcome)" = "$(worker_consumer zc) 2 complete"
outcomes() { rcli XRANGE "peace:exec:{$idz}:events" - + | awk 'prev == "kind" && $0 == "outcome" { n++ } { prev = $0 } END { print n + 0 }'; }
check "5: followed: the finish wrote the stream, one outcome" test "$(outcomes)" = 1
rcli XRANGE "peace:exec:{$idz}:events" - + >"$T/zomb.before"
zlines=$(wc -l <"$T/zb.log")
kill -CONT "${WORKER_PID[zb]}"
zb_lost() { tail -n +"$((zlines + 1))" "$T/zb.log" | grep "exec=$idz" | grep -Eqi 'lost|fenc'; }
check "5: the zombie notices it lost the execution" wait_for 30 "worker zb to log the lost lease" zb_lost
# Barrier: with zc gone, zb alone serves one more execution; it handles its
# events in order, so by then the old item's completion has been dealt with.
worker_stop zc
sleep_flow "$T/zbar.json" ev zbar chain 1 1 1
idb=$(submit "$T/zbar.json" --cmd discover)
wait_finished 30 "$idb" || fatal "barrier $idb did not finish"
check "5: the zombie wrote no event (the stream unchanged)" \
  diff "$T/zomb.before" <(rcli XRANGE "peace:exec:{$idz}:events" - +)
check "5: ... and changed neither the outcome nor the attempt" \
  test "$(meta "$idz" attempt) $(meta "$idz" outcome)" = "2 complete"

# 4. ---------------------------------------------------------------------------
unknown=01ZZZZZZZZZZZZZZZZZZZZZZZZ
check "4: following an unknown id fails" bash -c "! '$PEACE' events $unknown 2>/dev/null"
check "4: ... and creates no key" test "$(rcli EXISTS "peace:exec:{$unknown}")" = 0

finish
