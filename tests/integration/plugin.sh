#!/usr/bin/env bash
# A custom item type from a plugin (examples/plugin, --plugin PATH.so):
#  1. local runner: without the plugin the flow is refused naming the type;
#     with it, discover + ensure write the greeting files, clean removes them;
#  2. the fleet: a worker started with --plugin runs the same flow queued
#     with `peace run --redis`; the stored states are the greeting texts.
PEACE=${1:?usage: plugin.sh PATH/TO/peace PATH/TO/peace-worker PATH/TO/plugin.so}
WORKER=${2:?}
PLUGIN=$(realpath "${3:?}")
PEACE=$(realpath "$PEACE")
WORKER=$(realpath "$WORKER")
. "$(dirname "$0")/lib.sh"
flow=$(cd "$(dirname "$0")/../../examples/plugin" && pwd)/flow.json

local_dir=$T/local
mkdir -p "$local_dir"
"$PEACE" run "$flow" --local --workdir "$local_dir" --cmd discover >"$T/noplug.out" 2>&1
rc=$?
check "without the plugin the flow is refused" test $rc -eq 1
check "the refusal names the unknown type" grep -q 'unknown item type "greeting"' "$T/noplug.out"
"$PEACE" run "$flow" --local --workdir "$local_dir" --plugin "$PLUGIN" --cmd discover >"$T/l1.out" 2>&1
check "local discover with the plugin completes" grep -q "outcome: complete" "$T/l1.out"
"$PEACE" run "$flow" --local --workdir "$local_dir" --plugin "$PLUGIN" --cmd ensure >"$T/l2.out" 2>&1
check "local ensure with the plugin completes" grep -q "outcome: complete" "$T/l2.out"
check "the plugin wrote its files" \
  test "$(cat "$local_dir/hello-world.txt" "$local_dir/hello-peace.txt" 2>/dev/null)" = "hello, world
hello, peace"
"$PEACE" run "$flow" --local --workdir "$local_dir" --plugin "$PLUGIN" --cmd clean >"$T/l3.out" 2>&1
check "local clean removed them" test ! -e "$local_dir/hello-world.txt" -a ! -e "$local_dir/hello-peace.txt"

redis_start
worker_start w1 --plugin "$PLUGIN"
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"
"$PEACE" run "$flow" --cmd discover >"$T/f1.out" 2>&1
check "fleet discover with the plugin completes" grep -q "outcome: complete" "$T/f1.out"
"$PEACE" run "$flow" --cmd ensure >"$T/f2.out" 2>&1
check "fleet ensure with the plugin completes" grep -q "outcome: complete" "$T/f2.out"
"$PEACE" states demo local greetings >"$T/states.out" 2>&1
check "stored states are the greeting texts" grep -q 'hello, peace' "$T/states.out"
check "the worker wrote the files" test -f "$WORLD/hello-world.txt" -a -f "$WORLD/hello-peace.txt"
finish
