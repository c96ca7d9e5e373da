#!/usr/bin/env bash
# Obsolete items, and diff / discover on demand without saving.
# An item removed from the flow is cleaned by the next ensure
# (in a last block, clean_obsolete), and its stored state goes with it.
# Local runner and fleet alike:
#  1. ensure {a, b, c} (files); drop c: diff lists c as obsolete, ensure_dry
#     too (and changes nothing), --keep-obsolete leaves c and says so, ensure
#     deletes c's file and its stored state, a second ensure has nothing
#     obsolete left;
#  3. diff --current discovered --goal discovered on a new profile completes
#     and stores nothing; discover --no-save stores nothing (local and fleet);
#  2. fleet: kill -9 of the worker while it cleans an obsolete item (a slow
#     sh_cmd); another worker takes the execution over and finishes it: the
#     item is gone from the world and from the stored States.
PEACE=${1:?usage: obsolete_items.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
LEASE=2000

# files_flow FILE PROFILE ID...: file items ID writing $WORLD/PROFILE/ID.txt
files_flow() {
  local file=$1 profile=$2 first=1 id
  shift 2
  {
    printf '{"app":"ob","profile":"%s","flow":"files","items":[' "$profile"
    for id in "$@"; do
      [ $first -eq 1 ] || printf ','
      first=0
      printf '{"id":"%s","type":"file","params":{"path":"%s/%s/%s.txt","content":"%s\\n"}}' \
        "$id" "$WORLD" "$profile" "$id" "$id"
    done
    printf ']}\n'
  } >"$file"
  mkdir -p "$WORLD/$profile"
}

# ---- 1. local ---------------------------------------------------------------
L=$T/local
mkdir -p "$L"
files_flow "$T/abc.json" loc a b c
files_flow "$T/ab.json" loc a b
lrun() { (cd "$L" && "$PEACE" run "$@" --local --no-progress); }
lrun "$T/abc.json" --cmd discover >"$T/l1" 2>&1 || fatal "local discover failed: $(cat "$T/l1")"
lrun "$T/abc.json" --cmd ensure >"$T/l2" 2>&1 || fatal "local ensure failed: $(cat "$T/l2")"
check "local: ensure {a,b,c} wrote c's file" test -f "$WORLD/loc/c.txt"
check "local: c has a stored item record" test -f "$L/.peace/ob/loc/files/states_items.msgpack"
lrun "$T/ab.json" --cmd diff >"$T/l3" 2>&1
check "local: diff of {a,b} completes" grep -q "outcome: complete" "$T/l3"
check "local: diff lists c as obsolete" grep -Eq "obsolete items.*: c$" "$T/l3"
lrun "$T/ab.json" --cmd ensure_dry >"$T/l4" 2>&1
check "local: ensure_dry lists c and a clean_obsolete_dry block" \
  grep -q "clean_obsolete_dry" "$T/l4"
check "local: ensure_dry leaves c's file" test -f "$WORLD/loc/c.txt"
lrun "$T/ab.json" --cmd ensure --keep-obsolete >"$T/l5" 2>&1
check "local: --keep-obsolete completes and says it kept c" grep -q "kept (--keep-obsolete)" "$T/l5"
check "local: --keep-obsolete leaves c's file" test -f "$WORLD/loc/c.txt"
lrun "$T/ab.json" --cmd ensure >"$T/l6" 2>&1; rc=$?
check "local: ensure of {a,b} completes" test $rc -eq 0
check "local: ensure ran clean_obsolete" grep -q "clean_obsolete" "$T/l6"
check "local: ensure deleted c's file" test ! -e "$WORLD/loc/c.txt"
check "local: a and b stay" test -f "$WORLD/loc/a.txt" -a -f "$WORLD/loc/b.txt"
lrun "$T/abc.json" --cmd read_current >"$T/l7" 2>&1
check "local: c's stored state is gone" grep -q '^  c: null$' "$T/l7"
lrun "$T/ab.json" --cmd ensure >"$T/l8" 2>&1
check "local: the next ensure has nothing obsolete" bash -c "! grep -q obsolete '$T/l8'"

files_flow "$T/fresh.json" fresh a
lrun "$T/fresh.json" --cmd diff --current discovered --goal discovered >"$T/l9" 2>&1; rc=$?
check "local: diff discovered/discovered on a new profile completes" test $rc -eq 0
check "local: it ran discover_current, discover_goal, diff" \
  grep -q "blocks processed: discover_current, discover_goal, diff" "$T/l9"
check "local: it shows a's diff" grep -q '^  a: {"change":"create"' "$T/l9"
lrun "$T/fresh.json" --cmd discover --no-save >"$T/l10" 2>&1; rc=$?
check "local: discover --no-save completes" test $rc -eq 0
# No states file (the run's report is kept in the local history, not states).
check "local: neither stored any states" test -z "$(find "$L/.peace/ob/fresh" -name 'states_*' 2>/dev/null)"
lrun "$T/fresh.json" --cmd diff --current stored >"$T/l11" 2>&1
check "local: a stored side still needs stored states" grep -q "run discover first" "$T/l11"

# ---- 1. fleet ---------------------------------------------------------------
redis_start
worker_start a --lease-ms "$LEASE"
wait_for 20 "worker a" worker_ready a || fatal "worker a not ready"
files_flow "$T/fabc.json" fleet a b c
files_flow "$T/fab.json" fleet a b
frun() { "$PEACE" run "$@" --no-progress; }
frun "$T/fabc.json" --cmd discover >"$T/f1" 2>&1 || fatal "fleet discover failed: $(cat "$T/f1")"
frun "$T/fabc.json" --cmd ensure >"$T/f2" 2>&1 || fatal "fleet ensure failed: $(cat "$T/f2")"
check "fleet: ensure {a,b,c} wrote c's file" test -f "$WORLD/fleet/c.txt"
check "fleet: c has a stored item record" \
  test "$(rcli HEXISTS 'peace:states:{ob:fleet}:files:items' c)" = 1
frun "$T/fab.json" --cmd diff >"$T/f3" 2>&1
check "fleet: diff lists c as obsolete" grep -Eq "obsolete items.*: c$" "$T/f3"
frun "$T/fab.json" --cmd ensure --keep-obsolete >"$T/f4" 2>&1
check "fleet: --keep-obsolete says it kept c" grep -q "kept (--keep-obsolete)" "$T/f4"
check "fleet: --keep-obsolete leaves c's state" \
  test "$(rcli HEXISTS 'peace:states:{ob:fleet}:files:current' c)" = 1
frun "$T/fab.json" --cmd ensure >"$T/f5" 2>&1; rc=$?
check "fleet: ensure of {a,b} completes" test $rc -eq 0
check "fleet: ensure deleted c's file" test ! -e "$WORLD/fleet/c.txt"
check "fleet: c's current state is gone" \
  test "$(rcli HEXISTS 'peace:states:{ob:fleet}:files:current' c)" = 0
check "fleet: c's goal state is gone" \
  test "$(rcli HEXISTS 'peace:states:{ob:fleet}:files:goal' c)" = 0
check "fleet: c's record is gone" \
  test "$(rcli HEXISTS 'peace:states:{ob:fleet}:files:items' c)" = 0
check "fleet: a's state stays" test "$(rcli HEXISTS 'peace:states:{ob:fleet}:files:current' a)" = 1

files_flow "$T/ffresh.json" ffresh a
frun "$T/ffresh.json" --cmd diff --current discovered --goal discovered >"$T/f6" 2>&1; rc=$?
check "fleet: diff discovered/discovered on a new profile completes" test $rc -eq 0
check "fleet: it ran discover_current, discover_goal, diff" \
  grep -q "blocks processed: discover_current, discover_goal, diff" "$T/f6"
frun "$T/ffresh.json" --cmd discover --no-save >"$T/f7" 2>&1; rc=$?
check "fleet: discover --no-save completes" test $rc -eq 0
check "fleet: neither stored anything" \
  test -z "$(rcli --scan --pattern 'peace:states:{ob:ffresh}*')"

# ---- 2. kill -9 inside the obsolete block ----------------------------------
# slow_flow FILE WITH_SLOW: file item k, plus (WITH_SLOW=1) sh_cmd item slow
# whose apply takes 3 s and creates / removes $WORLD/kill/slow.marker.
slow_flow() {
  local m=$WORLD/kill/slow.marker
  {
    printf '{"app":"ob","profile":"kill","flow":"slow","items":['
    printf '{"id":"k","type":"file","params":{"path":"%s/kill/k.txt","content":"k\\n"}}' "$WORLD"
    if [ "$2" = 1 ]; then
      printf ',{"id":"slow","type":"sh_cmd","params":{'
      printf '"state_current":["sh","-c","test -f %s && echo yes || echo no"],' "$m"
      printf '"state_goal":["echo","yes"],"state_clean":["echo","no"],'
      printf '"apply_exec":["sh","-c","sleep 3; case \\"$2\\" in yes*) touch %s;; *) rm -f %s;; esac","sh"]}}' "$m" "$m"
    fi
    printf ']}\n'
  } >"$1"
  mkdir -p "$WORLD/kill"
}
slow_flow "$T/slow.json" 1
slow_flow "$T/noslow.json" 0
frun "$T/slow.json" --cmd discover >"$T/k1" 2>&1 || fatal "discover (slow) failed: $(cat "$T/k1")"
frun "$T/slow.json" --cmd ensure >"$T/k2" 2>&1 || fatal "ensure (slow) failed: $(cat "$T/k2")"
check "kill: the slow item made its marker" test -f "$WORLD/kill/slow.marker"
in_obsolete() { [ "$(meta "$1" block)" = clean_obsolete ]; }
id=$(submit "$T/noslow.json" --cmd ensure)
wait_for 30 "worker a inside clean_obsolete" in_obsolete "$id" || fatal "never saw clean_obsolete"
worker_start b --lease-ms "$LEASE"
wait_for 20 "worker b" worker_ready b || fatal "worker b not ready"
kill -KILL "${WORKER_PID[a]}"
log "worker a killed inside clean_obsolete"
wait_finished 60 "$id"
check "kill: the execution completes after its worker was killed" meta_is "$id" outcome complete
check "kill: on a second attempt" meta_is "$id" attempt 2
check "kill: the obsolete item is gone from the world" test ! -e "$WORLD/kill/slow.marker"
check "kill: its current state is gone" \
  test "$(rcli HEXISTS 'peace:states:{ob:kill}:slow:current' slow)" = 0
check "kill: its record is gone" test "$(rcli HEXISTS 'peace:states:{ob:kill}:slow:items' slow)" = 0
check "kill: k stays applied" test -f "$WORLD/kill/k.txt"
frun "$T/noslow.json" --cmd ensure >"$T/k3" 2>&1
check "kill: the next ensure has nothing obsolete and completes" \
  bash -c "grep -q 'outcome: complete' '$T/k3' && ! grep -q obsolete '$T/k3'"

finish
