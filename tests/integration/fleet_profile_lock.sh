#!/usr/bin/env bash
# One execution per profile writes states at a time (CONTRACT §2): two
# ensures of two flows of one profile, queued together on a fleet with free
# slots, run one after the other - neither fails, and their
# started..finished intervals (meta) and first-event..outcome intervals
# (events stream, server time) do not overlap, and while one applies the
# other shows as waiting in the queue. The control: two ensures on
# two different profiles do run at the same time on the same fleet, so the
# measurement can see an overlap when there is one.
PEACE=${1:?usage: fleet_profile_lock.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

# meta_interval ID: "started_ms finished_ms"
meta_interval() { echo "$(meta "$1" started_ms) $(meta "$1" finished_ms)"; }
# event_interval ID: ms of the first event and of the last (the outcome), server clock
event_interval() {
  local ids
  ids=$(rcli XRANGE "peace:exec:{$1}:events" - + | grep -E '^[0-9]+-[0-9]+$')
  echo "$(echo "$ids" | head -1 | cut -d- -f1) $(echo "$ids" | tail -1 | cut -d- -f1)"
}
# disjoint "A0 A1" "B0 B1": the intervals do not overlap
disjoint() {
  local a0 a1 b0 b1
  read -r a0 a1 <<<"$1"
  read -r b0 b1 <<<"$2"
  [ -n "$a0" ] && [ -n "$a1" ] && [ -n "$b0" ] && [ -n "$b1" ] || return 1
  [ "$a1" -le "$b0" ] || [ "$b1" -le "$a0" ]
}
overlap() {
  local a0 a1 b0 b1
  read -r a0 a1 <<<"$1"
  read -r b0 b1 <<<"$2"
  [ -n "$a0" ] && [ -n "$b1" ] && [ "$a0" -lt "$b1" ] && [ "$b0" -lt "$a1" ]
}

redis_start
worker_start w1 --concurrency 2
worker_start w2 --concurrency 2
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"

sleep_flow "$T/x.json" lock same x 8 100 2
sleep_flow "$T/y.json" lock same y 8 100 2
sleep_flow "$T/c1.json" lock other1 c 8 100 2
sleep_flow "$T/c2.json" lock other2 c 8 100 2
for f in x y c1 c2; do
  "$PEACE" run "$T/$f.json" --cmd discover --no-progress >/dev/null 2>&1 || fatal "discover of $f failed"
done
check "x and y are two flows of one profile" \
  test "$(jq -r '.app + ":" + .profile' "$T/x.json")" = "$(jq -r '.app + ":" + .profile' "$T/y.json")"

idx=$(submit "$T/x.json" --cmd ensure)
idy=$(submit "$T/y.json" --cmd ensure)
one_applies() { meta_is "$idx" block apply_ensure || meta_is "$idy" block apply_ensure; }
wait_for 30 "one of the two to reach its apply block" one_applies
if meta_is "$idx" block apply_ensure; then first=$idx other=$idy; else first=$idy other=$idx; fi
other_status=$(meta "$other" status)
other_started=$(meta "$other" started_ms)
first_running=$(meta "$first" status)
log "while one applies ($first_running), the other is $other_status (started_ms '$other_started')"
check "while one applies, the other waits in the queue (status queued, not started)" \
  test "$first_running $other_status $other_started" = "running queued "
wait_finished 60 "$idx" "$idy"
check "both ensures of one profile complete (neither failed)" \
  test "$(meta "$idx" outcome) $(meta "$idy" outcome)" = "complete complete"
check "each on its first attempt" test "$(meta "$idx" attempt) $(meta "$idy" attempt)" = "1 1"
log "x meta $(meta_interval "$idx"), events $(event_interval "$idx")"
log "y meta $(meta_interval "$idy"), events $(event_interval "$idy")"
check "their started..finished times do not overlap" disjoint "$(meta_interval "$idx")" "$(meta_interval "$idy")"
check "their event streams do not overlap in time" disjoint "$(event_interval "$idx")" "$(event_interval "$idy")"

id1=$(submit "$T/c1.json" --cmd ensure)
id2=$(submit "$T/c2.json" --cmd ensure)
wait_finished 60 "$id1" "$id2"
check "control: ensures of two profiles complete" \
  test "$(meta "$id1" outcome) $(meta "$id2" outcome)" = "complete complete"
log "c1 events $(event_interval "$id1"), c2 events $(event_interval "$id2")"
check "control: ensures of two different profiles do run at the same time" \
  overlap "$(event_interval "$id1")" "$(event_interval "$id2")"

finish
