#!/usr/bin/env bash
# Terminal manners, in a real terminal: tmux panes of 80x24 running
# `peace run --local` on six items whose messages are longer than the line.
#  1. UTF-8 locale: while it runs, every capture of the pane shows each item
#     on exactly one line (a line that wrapped would leave copies at every
#     redraw), no line wider than 79 columns, messages cut with "…"; at the
#     end the screen is exactly the expected one (elapsed times masked);
#     the status is coloured;
#  2. NO_COLOR and a C locale: no colour, ASCII only, same one line per item;
#  3. TERM=dumb: no cursor movement, one line per change.
PEACE=${1:?usage: tty_progress.sh PATH/TO/peace}
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || fatal "tmux is not installed (scripts/install-deps)"

IDS=(fetch configure_app_servers build migrate_the_database warm_caches publish_release_notes)
{
  printf '{"app":"demo","profile":"local","flow":"six","items":['
  sep=
  for id in "${IDS[@]}"; do
    printf '%s{"id":"%s","type":"sh_cmd","params":{' "$sep" "$id"
    printf '"state_current":["sh","-c","cat %s.done 2>/dev/null || true"],' "$id"
    printf '"state_goal":["echo","ok"],'
    printf '"apply_exec":["sh","-c","if [ -z \\"$2\\" ]; then rm -f %s.done; else ' "$id"
    printf 'echo \\"step one of %s: a long message that does not fit an 80-column terminal at all\\"; ' "$id"
    printf 'sleep 1.2; echo \\"sch\\u00f6n: a second message, with umlauts and wide \\u65e5\\u672c text, also too long\\"; ' 
    printf 'sleep 0.3; printf ok > %s.done; fi","sh"]}}' "$id"
    sep=,
  done
  printf ']}\n'
} >"$T/six.json"
jq -e '.items | length == 6' "$T/six.json" >/dev/null || fatal "the test flow is not valid JSON"

SOCK=$T/tmux.sock
tm() { tmux -S "$SOCK" "$@"; }
# run_pane NAME ENV...: a fresh 80x24 pane runs discover (quietly), clears,
# then ensure with ENV, then prints __END__.
run_pane() {
  local name=$1 dir=$T/$1
  shift
  mkdir -p "$dir"
  (cd "$dir" && "$PEACE" run "$T/six.json" --local --cmd discover >"$T/$name-discover.log" 2>&1) ||
    fatal "$name: discover failed"
  tm -f /dev/null new-session -d -x 80 -y 24 -s "$name" \
    "cd '$dir' && printf '\\033[H\\033[2J' && env $* '$PEACE' run '$T/six.json' --local --cmd ensure; echo __END__; sleep 600"
  PIDS+=("$(tm display -p -t "$name" '#{pid}')")
}
capture() { tm capture-pane -p -t "$1" "${@:2}"; }
ended() { capture "$1" | grep -q '^__END__$'; }

# watch NAME: captures the pane until __END__ (bounded); every capture with
# bars must show each item once and no line over 79 columns. Prints the
# number of captures with bars.
watch_pane() {
  local name=$1 deadline=$(($(now_ms) + 40000)) seen=0 bad=0 id n screen
  while [ "$(now_ms)" -lt "$deadline" ]; do
    screen=$(capture "$name")
    if grep -q 'block [0-9]/' <<<"$screen"; then
      seen=$((seen + 1))
      for id in "${IDS[@]}"; do
        n=$(grep -cE -- "^[^ ]+ +[0-9]+\. $id " <<<"$screen") # its bar lines
        if [ "$n" -ne 1 ]; then
          bad=$((bad + 1))
          echo "# $name: item $id on $n lines:" >&2
          echo "$screen" >&2
        fi
      done
      if [ "$(LC_ALL=C.UTF-8 wc -L <<<"$screen")" -gt 79 ]; then
        bad=$((bad + 1))
        echo "# $name: a line wider than 79 columns:" >&2
        echo "$screen" >&2
      fi
      echo "$screen" >>"$T/$name.captures"
    fi
    grep -q '^__END__$' <<<"$screen" && break
    sleep 0.1
  done
  echo "$seen $bad"
}

mask() { sed -E 's/\(el: [0-9]+\.[0-9]s\)/(el: T)/'; }

# ---- 1. UTF-8, colour ----------------------------------------------------------
run_pane utf8 LANG=C.UTF-8 LC_ALL= LC_CTYPE= NO_COLOR= TERM=screen
read -r seen bad < <(watch_pane utf8)
check "the run ended in the pane" ended utf8
check "the bars were captured while running ($seen captures)" test "$seen" -ge 3
check "every capture shows each item on exactly one line, none over 79 columns" test "$bad" -eq 0
check "long messages were cut with an ellipsis" grep -q '…' "$T/utf8.captures"
# The report below the bars may scroll them up: read the pane's history too.
history() { capture "$1" -S -2000 "${@:2}"; }
live_area() { history "$1" | mask | sed -n '/^ensure demo\/local\/six /,$p' | head -n 8; }
live_area utf8 >"$T/utf8.screen"
cat >"$T/utf8.expected" <<'EOS'
ensure demo/local/six (local, states in ./.peace/demo/local/six)
  block 5/5: apply_ensure
✅  1. fetch                 [==================] success      done! (el: T)
✅  2. configure_app_servers [==================] success      done! (el: T)
✅  3. build                 [==================] success      done! (el: T)
✅  4. migrate_the_database  [==================] success      done! (el: T)
✅  5. warm_caches           [==================] success      done! (el: T)
✅  6. publish_release_notes [==================] success      done! (el: T)
EOS
check "the final screen is the expected one" diff -u "$T/utf8.expected" "$T/utf8.screen"
check "below the bars, the outcome report" eval "history utf8 | grep -q '^outcome: complete'"
check "the status is coloured (green success)" eval "history utf8 -e | grep -q $'\\e\\[32msuccess'"

# ---- 2. NO_COLOR, C locale -------------------------------------------------------
run_pane ascii LANG=C LC_ALL=C NO_COLOR=1 TERM=screen
read -r seen bad < <(watch_pane ascii)
check "ascii: the run ended" ended ascii
check "ascii: each item on exactly one line in every capture ($seen)" test "$seen" -ge 3 -a "$bad" -eq 0
check "ascii: no colour with NO_COLOR" eval "! history ascii -e | grep -q $'\\e\\[3[0-9]m'"
check "ascii: only ASCII on screen" eval "! LC_ALL=C grep -q '[^ -~]' '$T/ascii.captures'"
check "ascii: messages cut with ..." grep -q '\.\.\.' "$T/ascii.captures"
live_area ascii | sed -n 3p >"$T/ascii.line"
check "ascii: the item line" test "$(cat "$T/ascii.line")" = \
  "+  1. fetch                 [===================] success      done! (el: T)"

# ---- 3. TERM=dumb ----------------------------------------------------------------
run_pane dumb LANG=C.UTF-8 TERM=dumb
wait_for 40 "the dumb run to end" ended dumb
check "dumb: the run ended" ended dumb
check "dumb: line mode (timestamped lines, no redraw)" \
  eval "capture dumb -S -200 | grep -q '^\[ *[0-9.]*s\] block 5/5: apply_ensure$'"
check "dumb: each status change is its own line" \
  eval "[ \"\$(capture dumb -S -200 | grep -c '\] fetch: ')\" -ge 2 ]"
finish
