#!/usr/bin/env bash
# docker/Dockerfile.worker's HEALTHCHECK command, run as written (bash, no
# curl) against a real peace-worker configured like the image
# (PEACE_METRICS_LISTEN): healthy while the worker runs, unhealthy once it
# is gone. No Docker engine needed.
PEACE=${1:?usage: worker_healthcheck.sh PEACE WORKER}
WORKER=${2:?}
. "$(dirname "$0")/../integration/lib.sh"
DOCKERFILE=$(dirname "$0")/../../docker/Dockerfile.worker
cmd=$(sed -n 's/^  CMD \["bash", "-c", "\(.*\)"\]$/\1/p' "$DOCKERFILE" | sed 's/\\"/"/g; s/\\\\/\\/g')
[ -n "$cmd" ] || fatal "no bash HEALTHCHECK command in $DOCKERFILE"
grep -q '^ENV PEACE_METRICS_LISTEN=0.0.0.0:9464$' "$DOCKERFILE" || fatal "the image does not set PEACE_METRICS_LISTEN"

redis_start
port=$((20000 + RANDOM % 12000))
while port_busy "$port"; do port=$((20000 + RANDOM % 12000)); done
export PEACE_METRICS_LISTEN=127.0.0.1:$port
worker_start w1
wait_for 10 "the worker's metrics endpoint" grep -q metrics_listening "$T/w1.log" || fatal "no endpoint"
check "the healthcheck passes on a running worker" bash -c "$cmd"
kill -KILL "${WORKER_PID[w1]}"
wait_for 10 "the worker to die" worker_exited w1
check "the healthcheck fails once the worker is gone" eval "! bash -c '$cmd' 2>/dev/null"
finish
