#!/usr/bin/env bash
# A quick throughput figure: N small discover executions (one file item
# each, distinct profiles) on 2 workers, from the first submit to the last
# outcome. The figure is printed, never asserted: machines differ.
PEACE=${1:?usage: fleet_throughput.sh PATH/TO/peace PATH/TO/peace-worker}
WORKER=${2:?}
. "$(dirname "$0")/lib.sh"
N=${PEACE_THROUGHPUT_N:-50}

redis_start
worker_start w1 --concurrency 4
worker_start w2 --concurrency 4
wait_for 20 "worker w1" worker_ready w1 || fatal "worker w1 not ready"
wait_for 20 "worker w2" worker_ready w2 || fatal "worker w2 not ready"

for p in $(seq 1 "$N"); do
  cat >"$T/f$p.json" <<EOF2
{"app":"tp","profile":"p$p","flow":"f","items":[
 {"id":"conf","type":"file","params":{"path":"$WORLD/tp/p$p.conf","content":"n=$p\n","mode":"0644"}}]}
EOF2
done
ids=()
t0=$(now_ms)
for p in $(seq 1 "$N"); do
  ids+=("$(submit "$T/f$p.json" --cmd discover)")
done
t_submitted=$(now_ms)
wait_finished 120 "${ids[@]}"
t1=$(now_ms)
complete=0
for i in "${ids[@]}"; do meta_is "$i" outcome complete && complete=$((complete + 1)); done
check "all $N executions complete" test "$complete" -eq "$N"
per_worker=$(for i in "${ids[@]}"; do meta "$i" worker; done | sort | uniq -c | awk '{print $1}' | paste -sd/)
check "the throughput figure" awk -v n="$N" -v ms=$((t1 - t0)) -v submit_ms=$((t_submitted - t0)) -v pw="$per_worker" 'BEGIN {
  printf "throughput: %d discover executions on 2 workers in %.2f s (submitting took %.2f s): %.1f executions/s (per worker: %s)\n",
    n, ms / 1000, submit_ms / 1000, n / (ms / 1000), pw }'

finish
