#!/usr/bin/env bash
# Local runner, end to end: real processes, real files, real signals.
#  1. ensure on a fresh directory is a block_error that says to discover first;
#  2. discover, ensure: every item applied, files on disk;
#  3. ensure again: "nothing to do!" for every item;
#  4. clean removes what ensure made (reverse order);
#  5. Ctrl-C (SIGINT) during a flow of sleep items: block_interrupted, exit 2,
#     the in-flight items processed, the others not, partial states kept;
#  6. a malformed flow file: exit 1 with a one-line reason naming the problem.
set -u
peace=${1:?usage: local_runner.sh PATH/TO/peace EXAMPLES_DIR}
examples=${2:?}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
fails=0
check() { # description, condition...
  local what=$1; shift
  if "$@"; then echo "ok   - $what"; else echo "FAIL - $what"; fails=$((fails + 1)); fi
}
deploy=$examples/deploy/flow.json
sleepers=$examples/sleep/flow.json

"$peace" run "$deploy" --local --cmd ensure >out1 2>&1; rc=$?
check "ensure before discover exits 1" test $rc -eq 1
check "ensure before discover is a block_error" grep -q "outcome: block_error" out1
check "the error says to discover first" grep -q "run discover first" out1

"$peace" run "$deploy" --local --cmd discover >out2 2>&1; rc=$?
check "discover completes" test $rc -eq 0
"$peace" run "$deploy" --local --cmd ensure >out3 2>&1; rc=$?
check "ensure completes" test $rc -eq 0
check "ensure applied every item" test "$(grep -c ': success.* - done!' out3)" -eq 5
check "files were written" test -f deploy/app.conf -a -f deploy/www/index.html -a -f deploy/warm.marker
check "file mode follows params" test "$(stat -c %a deploy/app.conf)" = 640

"$peace" run "$deploy" --local --cmd ensure >out4 2>&1; rc=$?
check "second ensure completes" test $rc -eq 0
check "second ensure has nothing to do for every item" \
  test "$(grep -c ': success.* - nothing to do!' out4)" -eq 5
check "second ensure applied nothing" test "$(grep -c 'done!' out4)" -eq 0

"$peace" run "$deploy" --local --cmd clean >out5 2>&1; rc=$?
check "clean completes" test $rc -eq 0
check "clean removed what ensure made" test ! -e deploy
order=$(grep ': queued' out5 | sed 's/.*] \([a-z]*\): queued/\1/' | tr '\n' ' ')
first=$(echo "$order" | awk '{print $1}')
last=$(echo "$order" | awk '{print $NF}')
check "clean ran in reverse dependency order (warmup first, workspace last): $order" \
  test "$first" = warmup -a "$last" = workspace

"$peace" run "$sleepers" --local --cmd discover >/dev/null 2>&1
"$peace" run "$sleepers" --local --cmd ensure >out6 2>&1 &
pid=$!
# Wait (bounded) until the first items are running, then press Ctrl-C.
for _ in $(seq 1 200); do
  grep -q 'one: running' out6 && grep -q 'two: running' out6 && break
  sleep 0.05
done
kill -INT "$pid"
wait "$pid"; rc=$?
check "Ctrl-C exits 2" test $rc -eq 2
check "Ctrl-C ends block_interrupted" grep -q "outcome: block_interrupted" out6
check "in-flight items were processed" grep -q "items processed: one, two" out6
check "the others were not" grep -q "items not processed: three, four" out6
check "in-flight items ran to completion" test -f sleepers/one.done -a -f sleepers/two.done
check "items not processed did not run" test ! -e sleepers/three.done
"$peace" run "$sleepers" --local --cmd read_current >out7 2>&1
check "partial states were stored (one done, three not)" \
  bash -c "grep -q 'one: {\"done\":true}' out7 && grep -q 'three: {\"done\":false}' out7"

printf '{"app":"a","profile":"p","flow":"f","items":[{"id":"x","type":"sleep","deps":["y"]}]}' >bad.json
"$peace" run bad.json --local >out8 2>&1; rc=$?
check "a bad flow exits 1" test $rc -eq 1
check "a bad flow names the problem on one line" \
  bash -c "test \$(wc -l <out8) -eq 1 && grep -q 'y' out8"
"$peace" run "$deploy" --local --strategy sometimes >out9 2>&1; rc=$?
check "a bad flag exits 1 with a reason" bash -c "test $rc -eq 1 && grep -q 'interrupt strategy' out9"

echo "local runner: $fails failure(s)"
test $fails -eq 0
