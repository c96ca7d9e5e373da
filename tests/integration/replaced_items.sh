#!/usr/bin/env bash
# Replaced (blocking) items: the seeds' full EnsureCmd. A `file` item whose
# path changed blocks: ensure ensures the other items, cleans the item as last
# applied (its stored record: the old path) and everything depending on it,
# in reverse dependency order (block clean_replaced), then ensures them again
# in order (ensure_replaced). Local runner and fleet alike (and, with
# PEACE_TEST_BACKEND=cluster, on a 3-master Redis Cluster):
#  1. ensure {a, b after a, c}; change a's path: ensure_dry lists a and b as
#     replaced and changes nothing; ensure removes a's old file, writes the
#     new one, re-runs b (cleaned, then made again), leaves c; the report says
#     so; the stored record is the new path's; the next ensure replaces nothing;
#  2. fleet: an interrupt (finish) while the dependent s is cleaned in
#     clean_replaced ends block_interrupted with exactly s processed and a not
#     processed, a's old file still there; the next ensure finishes the
#     replacement;
#  3. fleet: kill -9 of the worker inside clean_replaced: another worker takes
#     the execution over and finishes it, with the right world and States.
PEACE=${1:?usage: replaced_items.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

# abc_flow FILE PROFILE A_NAME: file a at $WORLD/PROFILE/A_NAME, b (after a)
# and c.
abc_flow() {
  local d=$WORLD/$2
  mkdir -p "$d"
  printf '{"app":"rp","profile":"%s","flow":"files","items":[' "$2" >"$1"
  printf '{"id":"a","type":"file","params":{"path":"%s/%s","content":"a\\n"}},' "$d" "$3" >>"$1"
  printf '{"id":"b","type":"file","deps":["a"],"params":{"path":"%s/b.txt","content":"b\\n"}},' "$d" >>"$1"
  printf '{"id":"c","type":"file","params":{"path":"%s/c.txt","content":"c\\n"}}]}\n' "$d" >>"$1"
}

# replaced_checks WHERE OUT DIR: the second ensure's report and world.
replaced_checks() {
  local w=$1 out=$2 d=$3
  check "$w: the ensure with a's new path completes" grep -q "outcome: complete" "$out"
  check "$w: it ran clean_replaced, then ensure_replaced" grep -q \
    "blocks processed: read_current, read_goal, discover, sync_check, apply_ensure, clean_replaced, ensure_replaced$" "$out"
  check "$w: the report lists a and b as replaced" grep -q "^  replaced items.*: a, b$" "$out"
  check "$w: a's old file is removed" test ! -e "$d/a1.txt"
  check "$w: a's new file is written" test "$(cat "$d/a2.txt" 2>/dev/null)" = a
  check "$w: b is there again" test "$(cat "$d/b.txt" 2>/dev/null)" = b
  check "$w: c stays" test "$(cat "$d/c.txt" 2>/dev/null)" = c
  # Block by block: c ensured first (already in its goal), b then a cleaned
  # (both changed), a then b made again.
  check "$w: apply_ensure ran only c" bash -c \
    "sed -n '/^  block apply_ensure:/,/^  block clean_replaced:/p' '$out' | grep -E '^    [a-z]:' | cut -c5 | tr -d '\n' | grep -qx c"
  check "$w: clean_replaced cleaned a and b" bash -c \
    "sed -n '/^  block clean_replaced:/,/^  block ensure_replaced:/p' '$out' | grep -cE '^    [ab]: changed' | grep -qx 2"
  check "$w: ensure_replaced made a and b again" bash -c \
    "sed -n '/^  block ensure_replaced:/,\$p' '$out' | grep -cE '^    [ab]: changed' | grep -qx 2"
}

# ---- 1. local ---------------------------------------------------------------
L=$T/local
mkdir -p "$L"
abc_flow "$T/l1.json" loc a1.txt
abc_flow "$T/l2.json" loc a2.txt
lrun() { (cd "$L" && "$PEACE" run "$@" --local --no-progress); }
lrun "$T/l1.json" --cmd discover >"$T/l1" 2>&1 || fatal "local discover failed: $(cat "$T/l1")"
lrun "$T/l1.json" --cmd ensure >"$T/l2" 2>&1 || fatal "local ensure failed: $(cat "$T/l2")"
check "local: ensure wrote a at its first path" test -f "$WORLD/loc/a1.txt"
lrun "$T/l2.json" --cmd ensure_dry --sync none >"$T/l3" 2>&1
check "local: ensure_dry completes" grep -q "outcome: complete" "$T/l3"
check "local: ensure_dry runs the dry replacement blocks" \
  grep -q "apply_ensure_dry, clean_replaced_dry, ensure_replaced_dry$" "$T/l3"
check "local: ensure_dry lists a and b as replaced" grep -q "^  replaced items.*: a, b$" "$T/l3"
check "local: ensure_dry changes nothing" test -f "$WORLD/loc/a1.txt" -a ! -e "$WORLD/loc/a2.txt"
lrun "$T/l2.json" --cmd diff >"$T/l3d" 2>&1
check "local: diff lists a and b as replaced, and runs nothing of it" \
  bash -c "grep -q '^  replaced items.*: a, b$' '$T/l3d' && grep -q 'blocks processed: read_current, read_goal, diff$' '$T/l3d'"
lrun "$T/l2.json" --cmd discover >"$T/l4" 2>&1 || fatal "local discover (a2) failed: $(cat "$T/l4")"
lrun "$T/l2.json" --cmd ensure >"$T/l5" 2>&1
replaced_checks local "$T/l5" "$WORLD/loc"
lrun "$T/l2.json" --cmd ensure >"$T/l6" 2>&1
check "local: the next ensure replaces nothing" \
  bash -c "grep -q 'outcome: complete' '$T/l6' && ! grep -q replaced '$T/l6'"

# ---- 1. fleet ---------------------------------------------------------------
redis_start
worker_start w --lease-ms 2000
wait_for 20 "worker w" worker_ready w || fatal "worker w not ready"
abc_flow "$T/f1.json" fleet a1.txt
abc_flow "$T/f2.json" fleet a2.txt
frun() { "$PEACE" run "$@" --no-progress; }
frun "$T/f1.json" --cmd discover >"$T/f1" 2>&1 || fatal "fleet discover failed: $(cat "$T/f1")"
frun "$T/f1.json" --cmd ensure >"$T/f2" 2>&1 || fatal "fleet ensure failed: $(cat "$T/f2")"
check "fleet: ensure wrote a at its first path" test -f "$WORLD/fleet/a1.txt"
check "fleet: a's record has its first path" bash -c \
  "redis-cli -p $REDIS_PORT HGET 'peace:states:{rp:fleet}:files:items' a | grep -q a1.txt"
frun "$T/f2.json" --cmd discover >"$T/f3" 2>&1 || fatal "fleet discover (a2) failed: $(cat "$T/f3")"
frun "$T/f2.json" --cmd ensure >"$T/f4" 2>&1
replaced_checks fleet "$T/f4" "$WORLD/fleet"
check "fleet: a's record has its new path" bash -c \
  "redis-cli -p $REDIS_PORT HGET 'peace:states:{rp:fleet}:files:items' a | grep -q a2.txt"
id=$(submit "$T/f2.json" --cmd ensure)
wait_finished 30 "$id"
check "fleet: the next ensure completes" meta_is "$id" outcome complete
check "fleet: and replaces nothing" bash -c "! '$PEACE' report '$id' | grep -q replaced"

# ---- 2. fleet: interrupt inside clean_replaced ------------------------------
# slow_flow FILE A_NAME: file a, and sh_cmd s after a whose apply takes 3 s
# (creates / removes $WORLD/int/s.marker).
slow_flow() {
  local d=$WORLD/int m=$WORLD/int/s.marker
  mkdir -p "$d"
  {
    printf '{"app":"rp","profile":"int","flow":"slow","items":['
    printf '{"id":"a","type":"file","params":{"path":"%s/%s","content":"a\\n"}},' "$d" "$2"
    printf '{"id":"s","type":"sh_cmd","deps":["a"],"params":{'
    printf '"state_current":["sh","-c","test -f %s && echo yes || echo no"],' "$m"
    printf '"state_goal":["echo","yes"],"state_clean":["echo","no"],'
    printf '"apply_exec":["sh","-c","sleep 3; case \\"$2\\" in yes*) touch %s;; *) rm -f %s;; esac","sh"]}}' "$m" "$m"
    printf ']}\n'
  } >"$1"
}
slow_flow "$T/s1.json" a1.txt
slow_flow "$T/s2.json" a2.txt
frun "$T/s1.json" --cmd discover >"$T/s1" 2>&1 || fatal "discover (slow) failed: $(cat "$T/s1")"
frun "$T/s1.json" --cmd ensure >"$T/s2" 2>&1 || fatal "ensure (slow) failed: $(cat "$T/s2")"
check "int: the first ensure made a and s" test -f "$WORLD/int/a1.txt" -a -f "$WORLD/int/s.marker"
frun "$T/s2.json" --cmd discover >"$T/s3" 2>&1 || fatal "discover (slow, a2) failed: $(cat "$T/s3")"
in_clean_replaced() { [ "$(meta "$1" block)" = clean_replaced ]; }
id=$(submit "$T/s2.json" --cmd ensure)
wait_for 30 "the ensure inside clean_replaced" in_clean_replaced "$id" || fatal "never saw clean_replaced"
"$PEACE" interrupt "$id" --reason "mid replacement" >/dev/null
wait_finished 30 "$id"
check "int: the ensure ends block_interrupted" meta_is "$id" outcome block_interrupted
rj=$(report_json "$id")
check "int: blocks processed are exactly those before clean_replaced" test \
  "$(jq -c .blocks_processed <<<"$rj")" = '["read_current","read_goal","discover","sync_check","apply_ensure"]'
check "int: clean_replaced and ensure_replaced are not processed" test \
  "$(jq -c .blocks_not_processed <<<"$rj")" = '["clean_replaced","ensure_replaced"]'
check "int: items processed: exactly s (the dependent, cleaned first)" test \
  "$(jq -c .items_processed <<<"$rj")" = '["s"]'
check "int: items not processed: exactly a" test "$(jq -c .items_not_processed <<<"$rj")" = '["a"]'
check "int: the report lists a and s as replaced" test "$(jq -c .items_replaced <<<"$rj")" = '["a","s"]'
check "int: s was cleaned (its marker is gone)" test ! -e "$WORLD/int/s.marker"
check "int: a's old file is still there" test -f "$WORLD/int/a1.txt"
frun "$T/s2.json" --cmd ensure >"$T/s4" 2>&1
check "int: the next ensure completes the replacement" grep -q "outcome: complete" "$T/s4"
check "int: it replaced a and s" grep -q "^  replaced items.*: a, s$" "$T/s4"
check "int: a's old file is gone, the new one written" \
  test ! -e "$WORLD/int/a1.txt" -a -f "$WORLD/int/a2.txt"
check "int: s is made again" test -f "$WORLD/int/s.marker"

# ---- 3. fleet: kill -9 of the worker inside clean_replaced -------------------
# a moves back to a1.txt; the worker dies while s is cleaned; another worker
# takes the execution over after the lease and finishes the replacement.
frun "$T/s1.json" --cmd discover >"$T/k1" 2>&1 || fatal "discover (back to a1) failed: $(cat "$T/k1")"
id=$(submit "$T/s1.json" --cmd ensure)
wait_for 30 "the ensure inside clean_replaced" in_clean_replaced "$id" || fatal "never saw clean_replaced (kill)"
worker_start w2 --lease-ms 2000
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"
kill -KILL "${WORKER_PID[w]}"
log "worker w killed inside clean_replaced"
wait_finished 60 "$id"
check "kill: the execution completes after its worker was killed" meta_is "$id" outcome complete
check "kill: on a second attempt" meta_is "$id" attempt 2
check "kill: a is back at a1.txt, a2.txt is gone" \
  test -f "$WORLD/int/a1.txt" -a ! -e "$WORLD/int/a2.txt"
check "kill: s is made" test -f "$WORLD/int/s.marker"
check "kill: a's record has a1.txt" bash -c \
  "redis-cli -p $REDIS_PORT HGET 'peace:states:{rp:int}:slow:items' a | grep -q a1.txt"
frun "$T/s1.json" --cmd ensure >"$T/k2" 2>&1
check "kill: the next ensure completes and replaces nothing" \
  bash -c "grep -q 'outcome: complete' '$T/k2' && ! grep -q replaced '$T/k2'"

finish
