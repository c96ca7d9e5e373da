#!/usr/bin/env bash
# What a worker may run (CONTRACT §1): --item-types and --file-root. A job
# outside the worker's policy ends `rejected` before any of it runs, is
# copied to peace:dead, and the reason names the item:
#  1. --item-types file,sleep: an sh_cmd job is rejected (and its command
#     never runs);
#  2. --file-root: an absolute path outside the root, a relative path that
#     climbs out with '..', and a path through a symlink that leaves the root
#     are each rejected, and nothing is written outside; an http_download
#     outside the root too;
#  3. a file inside the root (also through a symlink that stays inside) is
#     written as usual;
#  4. a bad --item-types or --file-root stops the worker at start with a
#     one-line reason;
#  5. obsolete items (known only from the stored States) are held to the
#     policy: a worker that may not run an obsolete item's type does not
#     clean it, the ensure fails naming it, before anything runs.
PEACE=${1:?usage: fleet_policy.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"

dead_reason() { # ID: the reason of its peace:dead entry
  rcli XRANGE peace:dead - + | awk -v id="$1" '
    /^[0-9]+-[0-9]+$/ { if (e == id) print r; e = ""; r = ""; next }
    prev == "exec" { e = $0 } prev == "reason" { r = $0 } { prev = $0 }
    END { if (e == id) print r }'
}
# rejected ID ITEM WORDS: the execution ended rejected, with a reason naming
# ITEM and containing WORDS, in both the meta and peace:dead.
rejected() {
  meta_is "$1" outcome rejected &&
    meta "$1" error | grep -q "item $2: .*$3" &&
    dead_reason "$1" | grep -q "item $2: .*$3"
}
file_flow() { # FILE ITEM PATH
  printf '{"app":"pol","profile":"p","flow":"f","items":[{"id":"%s","type":"file","params":{"path":"%s","content":"x"}}]}\n' \
    "$2" "$3" >"$1"
}

redis_start
ROOT=$WORLD/root
OUT=$T/outside
mkdir -p "$ROOT/in" "$OUT"
ln -s "$OUT" "$ROOT/esc"  # leaves the root
ln -s "$ROOT/in" "$ROOT/ok" # stays inside
worker_start w1 --item-types file,sleep,http_download --file-root "$ROOT"
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"

# 1. ---------------------------------------------------------------------------
cat >"$T/sh.json" <<EOF2
{"app":"pol","profile":"p","flow":"sh","items":[{"id":"cmd","type":"sh_cmd","params":{
 "state_current":["touch","$T/ran"],"state_goal":["true"],"apply_exec":["true"]}}]}
EOF2
id=$(submit "$T/sh.json" --cmd ensure)
wait_finished 20 "$id"
check "1: an sh_cmd job on a file,sleep,http_download worker is rejected" \
  rejected "$id" cmd "type sh_cmd is not allowed"
check "1: its command never ran" test ! -e "$T/ran"

# 2. ---------------------------------------------------------------------------
file_flow "$T/abs.json" abs /etc/peace-policy-test
file_flow "$T/up.json" up "root/../../etc/peace-policy-test"
file_flow "$T/link.json" link "$ROOT/esc/x"
file_flow "$T/rel.json" rel "root/esc/y"
printf '{"app":"pol","profile":"p","flow":"h","items":[{"id":"dl","type":"http_download","params":{"url":"http://127.0.0.1:9/x","path":"/tmp/peace-policy-dl"}}]}\n' >"$T/dl.json"
a=$(submit "$T/abs.json" --cmd ensure)
u=$(submit "$T/up.json" --cmd ensure)
l=$(submit "$T/link.json" --cmd ensure)
r=$(submit "$T/rel.json" --cmd ensure)
d=$(submit "$T/dl.json" --cmd ensure)
wait_finished 20 "$a" "$u" "$l" "$r" "$d"
check "2: /etc/... is refused: outside the root" rejected "$a" abs "outside the file root"
check "2: root/../../etc/... is refused: '..'" rejected "$u" up "'..' component"
check "2: a symlink leaving the root is refused" rejected "$l" link "outside the file root"
check "2: ... also on a relative path" rejected "$r" rel "outside the file root"
check "2: an http_download outside the root is refused" rejected "$d" dl "outside the file root"
check "2: nothing was written outside" \
  bash -c "test ! -e /etc/peace-policy-test && test -z \"\$(ls -A '$OUT')\" && test ! -e /tmp/peace-policy-dl"
check "2: no states were stored" test "$(rcli EXISTS 'peace:states:{pol:p}:f:current')" = 0
check "2: the worker logged the refusals" grep -q 'event=job_refused' "$T/w1.log"

# 3. ---------------------------------------------------------------------------
file_flow "$T/good.json" good "$ROOT/in/sub/good.txt"
"$PEACE" run "$T/good.json" --cmd discover --no-progress >"$T/good.out" 2>&1
"$PEACE" run "$T/good.json" --cmd ensure --no-progress >>"$T/good.out" 2>&1
check "3: a file inside the root is written" test "$(cat "$ROOT/in/sub/good.txt" 2>/dev/null)" = x
file_flow "$T/ok.json" viaok "root/ok/v.txt"
sed -i 's/"flow":"f"/"flow":"g"/' "$T/ok.json"
"$PEACE" run "$T/ok.json" --cmd discover --no-progress >"$T/ok.out" 2>&1
"$PEACE" run "$T/ok.json" --cmd ensure --no-progress >>"$T/ok.out" 2>&1
check "3: ... also through a symlink that stays inside" test "$(cat "$ROOT/in/v.txt" 2>/dev/null)" = x
check "3: the worker is still the same process" worker_alive w1

# 5. ---------------------------------------------------------------------------
# Items the job does not name but the store does are held to the policy too:
# {f, s} (a file and an sh_cmd) is ensured by an unrestricted worker (queue
# all); s is dropped from the flow, so it is obsolete: on w1 (no sh_cmd) the
# ensure fails in its first block naming s, and s stays, made and stored;
# --keep-obsolete passes (s is only listed); the unrestricted worker cleans it.
worker_start w2 --queue all
w2_ready() { rcli XINFO CONSUMERS 'peace:queue:{all}' workers 2>/dev/null | grep -q ":${WORKER_PID[w2]}:"; }
wait_for 20 "worker w2" w2_ready || fatal "worker w2 not ready"
M=$T/s.marker
fs_flow() { # FILE WITH_S
  {
    printf '{"app":"pol","profile":"ob","flow":"fs","items":['
    printf '{"id":"f","type":"file","params":{"path":"%s/in/fs.txt","content":"f"}}' "$ROOT"
    if [ "$2" = 1 ]; then
      printf ',{"id":"s","type":"sh_cmd","params":{"state_current":["sh","-c","test -f %s && echo yes || echo no"],' "$M"
      printf '"state_goal":["echo","yes"],"state_clean":["echo","no"],'
      printf '"apply_exec":["sh","-c","case \\"$2\\" in yes*) touch %s;; *) rm -f %s;; esac","sh"]}}' "$M" "$M"
    fi
    printf ']}\n'
  } >"$1"
}
fs_flow "$T/fs.json" 1
fs_flow "$T/f.json" 0
"$PEACE" run "$T/fs.json" --queue all --cmd discover --no-progress >"$T/fs1.out" 2>&1
"$PEACE" run "$T/fs.json" --queue all --cmd ensure --no-progress >>"$T/fs1.out" 2>&1
check "5: the unrestricted worker made s" test -f "$M"
"$PEACE" run "$T/f.json" --cmd ensure --no-progress >"$T/fs2.out" 2>&1
check "5: on w1, the ensure that would clean the obsolete sh_cmd s fails (block_error)" \
  grep -q "outcome: block_error" "$T/fs2.out"
check "5: the reason names s and the policy" grep -q \
  "obsolete item s cannot run here: item s: type sh_cmd is not allowed on this worker" "$T/fs2.out"
check "5: nothing ran: no block processed" grep -q "blocks processed: (none)" "$T/fs2.out"
check "5: s is still made" test -f "$M"
check "5: and still stored" test "$(rcli HEXISTS 'peace:states:{pol:ob}:fs:items' s)" = 1
"$PEACE" run "$T/f.json" --cmd ensure --keep-obsolete --no-progress >"$T/fs3.out" 2>&1
check "5: --keep-obsolete completes on w1 (s only listed)" \
  bash -c "grep -q 'outcome: complete' '$T/fs3.out' && grep -q 'kept (--keep-obsolete)' '$T/fs3.out'"
"$PEACE" run "$T/f.json" --queue all --cmd ensure --no-progress >"$T/fs4.out" 2>&1
check "5: the unrestricted worker cleans s" \
  bash -c "grep -q 'outcome: complete' '$T/fs4.out' && test ! -e '$M'"

# 4. ---------------------------------------------------------------------------
bad_start() { # EXPECTED-WORDS ARGS...: exits non-zero at once with a reason
  local want=$1 out rc
  shift
  out=$(timeout 10 "$WORKER" --redis "$PEACE_REDIS_URL" "$@" 2>&1)
  rc=$?
  [ $rc -ne 0 ] && [ $rc -ne 124 ] && echo "$out" | grep -q -- "$want"
}
check "4: an unknown type in --item-types stops the worker" bad_start "no item type \"nope\"" --item-types file,nope
check "4: an empty --item-types stops the worker" bad_start "--item-types" --item-types ""
check "4: a missing --file-root stops the worker" bad_start "--file-root" --file-root "$T/missing"
check "4: a file as --file-root stops the worker" bad_start "not a directory" --file-root "$T/sh.json"

finish
