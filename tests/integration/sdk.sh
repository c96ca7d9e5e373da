#!/usr/bin/env bash
# The plugin SDK, as a plugin author uses it:
#  1. `cmake --install` of this build into a temporary prefix installs the
#     programs, the headers, libpeace, peace.pc and the CMake package;
#  2. examples/plugin builds out of tree against it, with find_package(peace)
#     and with pkg-config;
#  3. the installed peace-worker loads the out-of-tree plugin and runs its
#     flow queued by the installed peace;
#  4. plugins built for another major version (or a newer minor) are refused
#     with a message naming both versions, and their register is never called.
BUILD=$(realpath "${1:?usage: sdk.sh BUILD_DIR}")
SRC=$(cd "$(dirname "$0")/../.." && pwd)
PEACE=$BUILD/scheduler/peace # replaced by the installed one below
. "$(dirname "$0")/lib.sh"

P=$T/prefix
cmake --install "$BUILD" --prefix "$P" >"$T/install.log" 2>&1 || fatal "cmake --install failed"
check "the installed headers include plugin.h and item.h" \
  test -f "$P/include/peace/plugin.h" -a -f "$P/include/peace/item.h" -a -f "$P/include/peace/params.h"
libdir=$(dirname "$(find "$P" -name libpeace.a | head -n1)")
check "libpeace is installed" test -f "$libdir/libpeace.a"
check "peace.pc is installed" test -f "$libdir/pkgconfig/peace.pc"
check "the CMake package is installed" test -f "$libdir/cmake/peace/peaceConfig.cmake"
PEACE=$P/bin/peace
# The version, from the one place it is kept.
api() { sed -n "s/^#define PC_PLUGIN_API_$1 \([0-9]*\)$/\1/p" "$P/include/peace/plugin.h"; }
MAJ=$(api MAJOR)
MIN=$(api MINOR)
[ -n "$MAJ" ] && [ -n "$MIN" ] || fatal "no plugin API version in the installed plugin.h"
WORKER=$P/bin/peace-worker
check "the programs are installed" test -x "$PEACE" -a -x "$WORKER"

# 2. Out of tree: CMake package, then pkg-config.
cmake -S "$SRC/examples/plugin" -B "$T/plugin-build" -DCMAKE_PREFIX_PATH="$P" \
  >"$T/plugin-cmake.log" 2>&1 && cmake --build "$T/plugin-build" >>"$T/plugin-cmake.log" 2>&1
check "examples/plugin builds out of tree with find_package(peace)" test -f "$T/plugin-build/greeting.so"
export PKG_CONFIG_PATH=$libdir/pkgconfig
pc() { pkg-config "$@" peace; }
check "pkg-config knows peace" pc --exists
check "peace.pc carries the plugin API version" test "$(pc --modversion)" = "$MAJ.$MIN"
# shellcheck disable=SC2046
cc -std=c11 -fPIC -shared -o "$T/greeting-pc.so" "$SRC/examples/plugin/greeting_item.c" \
  $(pc --cflags --libs) >"$T/plugin-pc.log" 2>&1
check "examples/plugin builds with pkg-config" test -f "$T/greeting-pc.so"

# 4. Version refusals, before any Redis: a worker refuses to start.
version_plugin() { # NAME VERSION_EXPRESSION
  # shellcheck disable=SC2046
  cc -std=c11 -fPIC -shared -o "$T/$1.so" -DPLUGIN_API_VERSION="$2" \
    "$SRC/tests/integration/sdk_version_plugin.c" $(pc --cflags --libs) >>"$T/plugin-pc.log" 2>&1
}
version_plugin next_major '(PC_PLUGIN_API_VERSION + 0x10000u)'
version_plugin newer_minor '(PC_PLUGIN_API_VERSION + 1u)'
version_plugin same '(PC_PLUGIN_API_VERSION)'
for p in next_major newer_minor same; do
  [ -f "$T/$p.so" ] || fatal "cannot build the $p test plugin (see plugin-pc.log)"
done
"$WORKER" --redis redis://127.0.0.1:1 --plugin "$T/next_major.so" >"$T/next_major.out" 2>&1
rc=$?
check "a worker refuses a plugin of another major version (exit $rc)" test $rc -ne 0
check "the refusal names both versions and what to do" grep -q \
  "next_major.so: built for plugin API $((MAJ + 1)).$MIN, this program provides $MAJ.$MIN (another major version): rebuild" \
  "$T/next_major.out"
lacks() { ! grep -q "$1" "$2"; }
check "the refused plugin's register never ran" lacks "register called" "$T/next_major.out"
"$WORKER" --redis redis://127.0.0.1:1 --plugin "$T/newer_minor.so" >"$T/newer_minor.out" 2>&1
check "a plugin of a newer minor version is refused" grep -q \
  "built for plugin API $MAJ.$((MIN + 1)), this program provides only $MAJ.$MIN" "$T/newer_minor.out"
"$WORKER" --redis redis://127.0.0.1:1 --plugin "$T/same.so" >"$T/same.out" 2>&1
check "a plugin of the same version is registered (its register runs)" \
  grep -q "register called by API $MAJ.$MIN" "$T/same.out"
"$PEACE" run "$SRC/examples/plugin/flow.json" --local --workdir "$T/l" --plugin "$T/next_major.so" \
  >"$T/local_major.out" 2>&1
check "peace run --local refuses it too" grep -q "another major version" "$T/local_major.out"

# 1.x plugins still load (2.0 appended needs_replacement to the item type):
# their types are adopted in 2.0's layout. sdk_v1_plugin's type ends at a
# page boundary followed by an inaccessible page, so reading a 2.x member of
# it would crash; two ensures (the second has an item record, so the engine
# asks the type about replacement) complete.
# shellcheck disable=SC2046
cc -std=c11 -fPIC -shared -o "$T/v1.so" "$SRC/tests/integration/sdk_v1_plugin.c" \
  $(pc --cflags --libs) >>"$T/plugin-pc.log" 2>&1 || fatal "cannot build the 1.x test plugin"
if [ "$MAJ" -ge 2 ]; then
  mkdir -p "$T/v1w"
  printf '{"app":"v1","profile":"p","flow":"f","items":[{"id":"flag","type":"v1flag","params":{"path":"%s"}}]}\n' \
    "$T/v1w/flag" >"$T/v1.json"
  v1run() { "$PEACE" run "$T/v1.json" --local --workdir "$T/v1w" --plugin "$T/v1.so" --no-progress "$@"; }
  v1run --cmd discover >"$T/v1-1.out" 2>&1
  check "a 1.0 plugin is loaded by this $MAJ.$MIN program (its register runs with API 1.0)" \
    grep -q "register called by API 1.0" "$T/v1-1.out"
  v1run --cmd ensure >"$T/v1-2.out" 2>&1
  check "its item type ensures (first ensure)" grep -q "outcome: complete" "$T/v1-2.out"
  check "its item made the marker" test -f "$T/v1w/flag"
  v1run --cmd ensure >"$T/v1-3.out" 2>&1
  check "a second ensure (with the item's record) completes, nothing read past the 1.x type" \
    grep -q "outcome: complete" "$T/v1-3.out"
  v1run --cmd clean >"$T/v1-4.out" 2>&1
  check "clean removes the marker" test ! -e "$T/v1w/flag"
  version_plugin v1_newer_minor '((1u << 16) | (PC_PLUGIN_API_V1_MINOR_MAX + 1u))'
  "$WORKER" --redis redis://127.0.0.1:1 --plugin "$T/v1_newer_minor.so" >"$T/v1nm.out" 2>&1
  check "a 1.x plugin newer than the 1.x this program loads is refused, saying so" grep -q \
    "built for plugin API 1.1, this program provides $MAJ.$MIN and loads 1.x plugins up to 1.0" \
    "$T/v1nm.out"
  check "its register never ran" lacks "register called" "$T/v1nm.out"
fi

# 3. The installed worker runs the out-of-tree plugin's flow.
redis_start
worker_start w1 --plugin "$T/plugin-build/greeting.so"
wait_for 20 "worker w1 to read the queue" worker_ready w1 || fatal "worker w1 not ready"
"$PEACE" run "$SRC/examples/plugin/flow.json" --cmd discover --no-progress >"$T/discover.out" 2>&1
check "the installed worker discovers with the plugin" grep -q "outcome: complete" "$T/discover.out"
"$PEACE" run "$SRC/examples/plugin/flow.json" --cmd ensure --no-progress >"$T/ensure.out" 2>&1
check "the installed worker runs the plugin's flow to complete" grep -q "outcome: complete" "$T/ensure.out"
check "the plugin wrote its files" \
  test "$(cat "$WORLD/hello-world.txt" "$WORLD/hello-peace.txt" 2>/dev/null)" = "hello, world
hello, peace"
finish
