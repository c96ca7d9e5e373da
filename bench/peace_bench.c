/*
 * peace_bench.c - the fleet benchmark driver: one scenario per run, one
 * machine-readable line per figure (`bench=NAME key=value ...`).
 *
 *   peace-bench SCENARIO --redis HOST:PORT --worker PATH --plugin PATH
 *               --dir DIR [--sched HOST:PORT] [--worker-arg ARG]... [key=value]...
 *
 * Scenarios (bench/run.sh runs them all; docs/BENCHMARKS.md explains them):
 *   throughput  n= items= workers= concurrency=   executions/s, items/s
 *   latency     n= items=                          submit -> outcome, one at a time
 *   latency_http n=                                the same through peace-scheduler
 *   interrupt   trials= items= us=                 PUBLISH -> latched, -> outcome
 *   cancel      trials= [deadline_ms=]             !cancel of a running sh_cmd -> gone, -> outcome
 *   cancel_download trials=                        !cancel of a running http_download -> outcome
 *   progress    calls=                             progress calls/s, staleness
 *   recovery    trials= lease_ms= items= us=       kill -9 -> resumed, -> finished
 *   footprint   n= items= profiles=                Redis bytes per finished execution
 *   rss         n= us=                             worker RSS with n executions running
 *
 * Methodology mirrors the peer kit (../shared/bench-peers): throughput
 * enqueues first, then starts the workers, and times min(started_ms) ..
 * max(finished_ms) from the executions' own meta hashes; latency discards
 * 20 warm-up executions; percentiles are nearest-rank.
 *
 * Each scenario starts from FLUSHALL on the benchmark's private Redis and
 * stops every worker it started.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <msgpack.h>
#include <netdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_download.h"
#include "kit.h"
#include "peace/keys.h"
#include "peace/msg.h"

#define PARAMS_MAX 32
#define WARMUP     20

struct params {
    const char *key[PARAMS_MAX];
    const char *value[PARAMS_MAX];
    size_t n;
};

static uint64_t param(const struct params *p, const char *key, uint64_t def)
{
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->key[i], key) == 0) {
            char *end = NULL;
            unsigned long long v = strtoull(p->value[i], &end, 10);

            if (end != p->value[i] && *end == '\0') {
                return v;
            }
            (void)fprintf(stderr, "bench: %s=%s is not a number; using %llu\n", key, p->value[i],
                          (unsigned long long)def);
        }
    }
    return def;
}

static uint32_t rand32(void)
{
    uint32_t v = 0;

    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
        v = (uint32_t)kit_now_us();
    }
    return v;
}

/* A fresh server with the group created and the fleet's workers ready. */
static redisContext *setup(const struct kit_opts *o, struct kit_fleet *f, size_t workers,
                           unsigned concurrency, unsigned lease_ms, bool start)
{
    redisContext *c = kit_connect(o);

    if (c == NULL || kit_flush(c) != 0 || kit_group(c) != 0) {
        redisFree(c);
        return NULL;
    }
    for (size_t i = 0; start && i < workers; i++) {
        if (kit_fleet_start(f, concurrency, lease_ms) != 0) {
            kit_fleet_stop(f, true);
            redisFree(c);
            return NULL;
        }
    }
    if (start && kit_fleet_ready(f, c) != 0) {
        kit_fleet_stop(f, true);
        redisFree(c);
        return NULL;
    }
    return c;
}

static void set_profile(struct pc_flow *flow, size_t i)
{
    (void)snprintf(flow->profile.s, sizeof(flow->profile.s), "p%zu", i);
}

/* ------------------------------------------------------------------------ */
/* throughput                                                                */

/* started_ms / finished_ms of every execution: the window, as BullMQ's
 * processedOn / finishedOn give it to the peer kit. */
static int window_of(redisContext *c, char (*ids)[KIT_ID_MAX], size_t n, uint64_t *first,
                     uint64_t *last, size_t *complete)
{
    char key[PC_KEY_MAX];
    int rc = 0;

    *first = UINT64_MAX;
    *last = 0;
    *complete = 0;
    for (size_t i = 0; i < n; i += 1000) {
        size_t m = n - i < 1000 ? n - i : 1000;

        for (size_t k = 0; k < m; k++) {
            if (pc_key_exec(key, sizeof(key), "peace", ids[i + k]) < 0 ||
                redisAppendCommand(c, "HMGET %s started_ms finished_ms outcome", key) != REDIS_OK) {
                return -1;
            }
        }
        for (size_t k = 0; k < m; k++) {
            void *v = NULL;
            redisReply *r = NULL;

            if (redisGetReply(c, &v) != REDIS_OK) {
                return -1;
            }
            r = v;
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                r->element[0]->type == REDIS_REPLY_STRING &&
                r->element[1]->type == REDIS_REPLY_STRING) {
                uint64_t s = strtoull(r->element[0]->str, NULL, 10);
                uint64_t e = strtoull(r->element[1]->str, NULL, 10);

                *first = s < *first ? s : *first;
                *last = e > *last ? e : *last;
                if (r->element[2]->type == REDIS_REPLY_STRING &&
                    strcmp(r->element[2]->str, "complete") == 0) {
                    (*complete)++;
                }
            } else {
                rc = -1;
            }
            freeReplyObject(r);
        }
    }
    return rc;
}

static int submit_many(redisContext *c, struct pc_flow *flow, size_t n, char (*ids)[KIT_ID_MAX],
                       bool distinct_profiles, size_t profiles, char *last_entry, size_t size)
{
    struct kit_submitter s;

    kit_submitter_init(&s, c);
    for (size_t i = 0; i < n; i++) {
        set_profile(flow, distinct_profiles ? i : i % (profiles ? profiles : 1));
        if (kit_submit(&s, flow, PC_CMD_DISCOVER, ids[i]) != 0) {
            return -1;
        }
        if (s.pending >= (size_t)3 * 500 && kit_submit_sync(&s) != 0) {
            return -1;
        }
    }
    if (kit_submit_sync(&s) != 0) {
        return -1;
    }
    (void)snprintf(last_entry, size, "%s", s.last_entry);
    return 0;
}

static int sc_throughput(const struct kit_opts *o, const struct params *p)
{
    size_t n = param(p, "n", 20000);
    size_t items = param(p, "items", 1);
    size_t workers = param(p, "workers", 1);
    unsigned conc = (unsigned)param(p, "concurrency", 64);
    uint64_t poll_ms = param(p, "poll_ms", 2);
    struct kit_fleet f;
    struct pc_flow flow;
    char(*ids)[KIT_ID_MAX] = calloc(n + 1, sizeof(*ids));
    char last_entry[64];
    char label[64];
    redisContext *c = NULL;
    uint64_t t0, t1, t2, t3, first, last;
    double redis_cpu_enq = 0, redis_cpu0 = 0, redis_cpu1 = 0, worker_cpu = 0;
    struct kit_cmdstats *cs = calloc(2, sizeof(*cs)); /* before, after the run */
    size_t complete = 0;
    int rc = 1;

    (void)snprintf(label, sizeof(label), "throughput-i%zu-w%zu", items, workers);
    kit_fleet_init(&f, o, label);
    memset(&flow, 0, sizeof(flow));
    if (ids == NULL || cs == NULL || workers == 0 || workers > KIT_WORKERS_MAX ||
        kit_flow(&flow, "p0", items, "bench_noop", "{}", false) != 0) {
        goto out;
    }
    c = setup(o, &f, workers, conc, 0, false);
    if (c == NULL) {
        goto out;
    }
    /* Enqueue first, then start the workers (the peer kit's method). */
    if (kit_redis_cpu_s(c, &redis_cpu_enq) != 0) {
        goto out;
    }
    t0 = kit_now_us();
    if (submit_many(c, &flow, n, ids, true, 0, last_entry, sizeof(last_entry)) != 0) {
        goto out;
    }
    t1 = kit_now_us();
    if (kit_cmdstats(c, &cs[0]) != 0) {
        goto out;
    }
    for (size_t i = 0; i < workers; i++) {
        if (kit_fleet_start(&f, conc, 0) != 0) {
            goto out;
        }
    }
    t2 = kit_now_us();
    if (kit_redis_cpu_s(c, &redis_cpu0) != 0 ||
        kit_wait_drained(c, last_entry, 900000000u, 1000 * poll_ms) != 0) {
        goto out;
    }
    t3 = kit_now_us();
    /* CPU per execution, where it goes: Redis, the workers (the rest of
     * the machine runs this driver, which polls the queue every 2 ms). */
    worker_cpu = kit_fleet_cpu_s(&f);
    if (kit_redis_cpu_s(c, &redis_cpu1) != 0 || kit_cmdstats(c, &cs[1]) != 0) {
        goto out;
    }
    kit_fleet_stop(&f, false);
    if (window_of(c, ids, n, &first, &last, &complete) != 0 || last <= first) {
        (void)fprintf(stderr, "bench: throughput: executions without started_ms/finished_ms\n");
        goto out;
    }
    {
        double secs = (double)(last - first) / 1000.0;

        printf("bench=throughput executions=%zu items=%zu workers=%zu concurrency=%u "
               "complete=%zu seconds=%.3f executions_per_s=%.0f items_per_s=%.0f "
               "wall_s=%.3f enqueue_per_s=%.0f redis_cpu_us_per_execution=%.1f "
               "worker_cpu_us_per_execution=%.1f enqueue_redis_cpu_us_per_execution=%.1f\n",
               n, items, workers, conc, complete, secs, (double)complete / secs,
               (double)(complete * items) / secs, (double)(t3 - t2) / 1e6,
               (double)n / ((double)(t1 - t0) / 1e6), (redis_cpu1 - redis_cpu0) * 1e6 / (double)n,
               worker_cpu * 1e6 / (double)n, (redis_cpu0 - redis_cpu_enq) * 1e6 / (double)n);
        /* Where Redis's time went while the workers ran (not the submit). */
        (void)snprintf(label, sizeof(label), "scenario=throughput items=%zu workers=%zu", items,
                       workers);
        kit_cmdstats_print(label, &cs[0], &cs[1], n);
    }
    rc = complete == n ? 0 : 1;
out:
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    redisFree(c);
    free(cs);
    free(ids);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* latency                                                                   */

static int sc_latency(const struct kit_opts *o, const struct params *p)
{
    size_t n = param(p, "n", 500);
    size_t items = param(p, "items", 1);
    struct kit_fleet f;
    struct pc_flow flow;
    double *lat = calloc(n + 1, sizeof(double));
    redisContext *c = NULL;
    struct kit_submitter s;
    int rc = 1;

    kit_fleet_init(&f, o, "latency");
    memset(&flow, 0, sizeof(flow));
    if (lat == NULL || kit_flow(&flow, "p0", items, "bench_noop", "{}", false) != 0) {
        goto out;
    }
    c = setup(o, &f, 1, 4, 0, true);
    if (c == NULL) {
        goto out;
    }
    kit_submitter_init(&s, c);
    for (size_t i = 0; i < n + WARMUP; i++) {
        char id[KIT_ID_MAX];
        char last[64] = "";
        char outcome[32];
        uint64_t t0 = kit_now_us();

        if (kit_submit(&s, &flow, PC_CMD_DISCOVER, id) != 0 || kit_submit_sync(&s) != 0 ||
            kit_wait_outcome(c, id, last, sizeof(last), 10000000u, outcome, sizeof(outcome)) != 0) {
            goto out;
        }
        if (i >= WARMUP) {
            lat[i - WARMUP] = (double)(kit_now_us() - t0) / 1000.0;
        }
    }
    printf("bench=latency n=%zu items=%zu workers=1 wait=XREAD-BLOCK-events p50_ms=%.3f "
           "p99_ms=%.3f max_ms=%.3f\n",
           n, items, kit_pct(lat, n, 0.5), kit_pct(lat, n, 0.99), kit_pct(lat, n, 1.0));
    rc = 0;
out:
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    redisFree(c);
    free(lat);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* latency through peace-scheduler (HTTP)                                    */

static int http_connect(const char *hostport)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    struct addrinfo hints;
    struct addrinfo *ai = NULL;
    int fd = -1;

    if (colon == NULL || (size_t)(colon - hostport) >= sizeof(host)) {
        return -1;
    }
    memcpy(host, hostport, (size_t)(colon - hostport));
    host[colon - hostport] = '\0';
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        (void)close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads until needle appears (or the peer closes); buf keeps what was read. */
static ssize_t read_until(int fd, char *buf, size_t size, const char *needle)
{
    size_t len = 0;

    while (len + 1 < size) {
        ssize_t r = read(fd, buf + len, size - 1 - len);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        len += (size_t)r;
        buf[len] = '\0';
        if (strstr(buf, needle) != NULL) {
            return (ssize_t)len;
        }
    }
    return -1;
}

static int http_submit(const char *sched, const char *body, char id[KIT_ID_MAX])
{
    char req[8192];
    char resp[8192];
    const char *p = NULL;
    int fd = http_connect(sched);
    int n;

    if (fd < 0) {
        return -1;
    }
    n = snprintf(req, sizeof(req),
                 "POST /v1/executions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                 sched, strlen(body), body);
    if (n <= 0 || (size_t)n >= sizeof(req) || write_all(fd, req, (size_t)n) != 0 ||
        read_until(fd, resp, sizeof(resp), "}") < 0) {
        (void)close(fd);
        return -1;
    }
    (void)close(fd);
    p = strstr(resp, "\"id\":\"");
    if (strncmp(resp, "HTTP/1.1 202", 12) != 0 || p == NULL) {
        (void)fprintf(stderr, "bench: scheduler refused: %.200s\n", resp);
        return -1;
    }
    memcpy(id, p + 6, PC_ULID_LEN);
    id[PC_ULID_LEN] = '\0';
    return 0;
}

static int http_wait_outcome(const char *sched, const char *id)
{
    char req[512];
    char *buf = malloc(1u << 20);
    int fd = http_connect(sched);
    int n;
    int rc = -1;

    if (fd < 0 || buf == NULL) {
        free(buf);
        if (fd >= 0) {
            (void)close(fd);
        }
        return -1;
    }
    n = snprintf(req, sizeof(req),
                 "GET /v1/executions/%s/events HTTP/1.1\r\nHost: %s\r\nAccept: "
                 "text/event-stream\r\n\r\n",
                 id, sched);
    if (n > 0 && (size_t)n < sizeof(req) && write_all(fd, req, (size_t)n) == 0 &&
        read_until(fd, buf, 1u << 20, "event: outcome") >= 0) {
        rc = 0;
    }
    (void)close(fd);
    free(buf);
    return rc;
}

static int sc_latency_http(const struct kit_opts *o, const struct params *p)
{
    size_t n = param(p, "n", 200);
    struct kit_fleet f;
    double *lat = calloc(n + 1, sizeof(double));
    redisContext *c = NULL;
    const char *body = "{\"cmd\":\"discover\",\"flow\":{\"app\":\"bench\",\"profile\":\"p0\","
                       "\"flow\":\"f\",\"items\":[{\"id\":\"i0\",\"type\":\"bench_noop\","
                       "\"params\":{}}]}}";
    int rc = 1;

    kit_fleet_init(&f, o, "latency-http");
    if (lat == NULL || o->sched == NULL) {
        (void)fprintf(stderr, "bench: latency_http needs --sched HOST:PORT\n");
        goto out;
    }
    c = setup(o, &f, 1, 4, 0, true);
    if (c == NULL) {
        goto out;
    }
    for (size_t i = 0; i < n + WARMUP; i++) {
        char id[KIT_ID_MAX];
        uint64_t t0 = kit_now_us();

        if (http_submit(o->sched, body, id) != 0 || http_wait_outcome(o->sched, id) != 0) {
            (void)fprintf(stderr, "bench: latency_http: execution %zu failed\n", i);
            goto out;
        }
        if (i >= WARMUP) {
            lat[i - WARMUP] = (double)(kit_now_us() - t0) / 1000.0;
        }
    }
    printf("bench=latency_http n=%zu items=1 workers=1 wait=SSE-events p50_ms=%.3f p99_ms=%.3f "
           "max_ms=%.3f\n",
           n, kit_pct(lat, n, 0.5), kit_pct(lat, n, 0.99), kit_pct(lat, n, 1.0));
    rc = 0;
out:
    kit_fleet_stop(&f, false);
    redisFree(c);
    free(lat);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* interrupt                                                                 */

/* Polls the meta until a worker started the execution (status=running):
 * independent of when the worker flushes its first progress. */
static int wait_running(redisContext *c, const char *id, uint64_t timeout_us)
{
    char key[PC_KEY_MAX];
    uint64_t deadline = kit_now_us() + timeout_us;

    if (pc_key_exec(key, sizeof(key), "peace", id) < 0) {
        return -1;
    }
    while (kit_now_us() < deadline) {
        redisReply *r = kit_cmd(c, "HGET %s status", key);
        bool running = r != NULL && r->type == REDIS_REPLY_STRING && strcmp(r->str, "running") == 0;

        if (r == NULL) {
            return -1;
        }
        freeReplyObject(r);
        if (running) {
            return 0;
        }
        kit_sleep_us(100);
    }
    (void)fprintf(stderr, "bench: execution %s never ran\n", id);
    return -1;
}

/* Whether execution ID's finished_ms is at or before AT_US (both Unix time
 * on this host). */
static bool finished_before(redisContext *c, const char *id, uint64_t at_us)
{
    char key[PC_KEY_MAX];
    redisReply *r;
    bool before = false;

    if (pc_key_exec(key, sizeof(key), "peace", id) < 0) {
        return false;
    }
    r = kit_cmd(c, "HGET %s finished_ms", key);
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        char *end = NULL;
        unsigned long long ms = strtoull(r->str, &end, 10);

        before = end != r->str && *end == '\0' && ms * 1000u <= at_us;
    }
    if (r != NULL) {
        freeReplyObject(r);
    }
    return before;
}

/* The worker logs `event=interrupt exec=ID ... latched_us=T` (realtime
 * microseconds, taken on its loop thread right after the engine holds the
 * interrupt; each line is flushed): T for id. */
static int latched_at(const char *log, const char *id, uint64_t *out)
{
    FILE *fp = fopen(log, "r");
    char line[4096];
    char needle[64];
    int rc = -1;

    if (fp == NULL) {
        return -1;
    }
    (void)snprintf(needle, sizeof(needle), "event=interrupt exec=%s ", id);
    while (fgets(line, sizeof(line), fp) != NULL) {
        const char *p = strstr(line, needle);
        const char *q = p != NULL ? strstr(p, " latched_us=") : NULL;

        if (q != NULL) {
            *out = strtoull(q + 12, NULL, 10);
            rc = 0;
            break;
        }
    }
    (void)fclose(fp);
    return rc;
}

/* When the last item of execution ID started (Unix ms, as the engine
 * stamped it): the latest start of a timed entry of its report, read from the
 * meta hash's `report` field or, when that is the summary, the report key. */
static int last_item_start(redisContext *c, const char *id, uint64_t *out)
{
    char key[PC_KEY_MAX];
    int rc = -1;

    *out = 0;
    for (int form = 0; form < 2 && rc != 0; form++) {
        redisReply *r = NULL;
        struct pc_outcome o;

        if (form == 0) {
            r = pc_key_exec(key, sizeof(key), "peace", id) < 0 ? NULL
                                                               : kit_cmd(c, "HGET %s report", key);
        } else {
            r = pc_key_report(key, sizeof(key), "peace", id) < 0 ? NULL : kit_cmd(c, "GET %s", key);
        }
        if (r != NULL && r->type == REDIS_REPLY_STRING &&
            msg_report_decode(r->str, r->len, &o, NULL) == 0) {
            for (size_t b = 0; b < o.n_run; b++) {
                for (size_t i = 0; i < o.run[b].n_items; i++) {
                    const struct pc_report_item *it = &o.run[b].items[i];

                    if (it->timed && it->start_ms >= *out) {
                        *out = it->start_ms;
                        rc = 0;
                    }
                }
            }
            pc_outcome_cleanup(&o);
        }
        if (r != NULL) {
            freeReplyObject(r);
        }
    }
    return rc;
}

/* What an interrupt trial that ended without being interrupted means. */
enum late_trial {
    TRIAL_LATE,     /* latched after the last item started: `complete` is right */
    TRIAL_MISSED,   /* latched before the last item started: a real miss */
    TRIAL_UNORDERED /* no latch, or in the same millisecond: cannot tell */
};

/*
 * finish_current starts nothing once the interrupt is latched, and the
 * worker latches and starts items on one thread: an item that started after
 * the latch is a miss. The latch (us) and the start (ms, truncated) are on
 * the same realtime clock; in the same millisecond their order is unknown.
 * No latch at all: the message reached the worker after it let go of the
 * execution, or the worker dropped it; run again (a worker that drops every
 * interrupt then fails the scenario once the re-runs are used up).
 */
static enum late_trial classify_late(bool latched, uint64_t latched_us, uint64_t last_start_ms)
{
    if (!latched || latched_us / 1000u == last_start_ms) {
        return TRIAL_UNORDERED;
    }
    return latched_us / 1000u < last_start_ms ? TRIAL_MISSED : TRIAL_LATE;
}

/* ------------------------------------------------------------------------ */
/* cancel: PUBLISH "!cancel" (or "!cancel DEADLINE" to a program ignoring    */
/* SIGTERM) -> the program's process gone, and the outcome written           */

/* True when /proc/PID is gone or a zombie. */
static bool proc_gone(long pid)
{
    char path[64];
    char buf[512];
    FILE *fp = NULL;
    char *q = NULL;
    bool gone = true;

    (void)snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return true;
    }
    if (fgets(buf, sizeof(buf), fp) != NULL && (q = strrchr(buf, ')')) != NULL) {
        gone = q[1] == ' ' && (q[2] == 'Z' || q[2] == 'X');
    }
    (void)fclose(fp);
    return gone;
}

static long read_pid_file(const char *path)
{
    char buf[32] = "";
    FILE *fp = fopen(path, "r");
    long pid = 0;

    if (fp == NULL) {
        return 0;
    }
    if (fgets(buf, sizeof(buf), fp) != NULL) {
        pid = strtol(buf, NULL, 10);
    }
    (void)fclose(fp);
    return pid;
}

static int sc_cancel(const struct kit_opts *o, const struct params *p)
{
    size_t trials = param(p, "trials", 30);
    uint64_t deadline = param(p, "deadline_ms", 0); /* 0: plain cancel (SIGTERM works) */
    struct kit_fleet f;
    struct pc_flow flow;
    char pidfile[512];
    char params_json[1200];
    double *to_gone = calloc(trials + 1, sizeof(double));
    double *to_outcome = calloc(trials + 1, sizeof(double));
    redisContext *c = NULL;
    struct kit_submitter s;
    size_t cut = 0;
    int rc = 1;

    kit_fleet_init(&f, o, "cancel");
    memset(&flow, 0, sizeof(flow));
    (void)snprintf(pidfile, sizeof(pidfile), "%s/cancel.pid", o->dir);
    /* Discovery runs the program: it records its pid, then sleeps 600 s
     * (with a deadline, ignoring SIGTERM, so only the kill stops it). */
    (void)snprintf(params_json, sizeof(params_json),
                   "{\"state_current\":[\"sh\",\"-c\",\"%secho $$ > %s; exec sleep 600\"],"
                   "\"state_goal\":[\"echo\",\"g\"],\"apply_exec\":[\"true\"]}",
                   deadline > 0 ? "trap '' TERM; " : "", pidfile);
    if (to_gone == NULL || to_outcome == NULL ||
        kit_flow(&flow, "p0", 1, "sh_cmd", params_json, false) != 0) {
        goto out;
    }
    c = setup(o, &f, 1, 4, 0, true);
    if (c == NULL) {
        goto out;
    }
    kit_submitter_init(&s, c);
    for (size_t t = 0; t < trials; t++) {
        char id[KIT_ID_MAX];
        char last[64] = "";
        char outcome[32];
        char channel[PC_KEY_MAX];
        uint64_t t_pub;
        uint64_t limit;
        long pid = 0;
        redisReply *r = NULL;

        (void)unlink(pidfile);
        if (kit_submit(&s, &flow, PC_CMD_DISCOVER_CURRENT, id) != 0 || kit_submit_sync(&s) != 0 ||
            pc_key_interrupt_channel(channel, sizeof(channel), "peace", id) < 0) {
            goto out;
        }
        for (limit = kit_now_us() + 10000000u; pid <= 1 && kit_now_us() < limit;) {
            pid = read_pid_file(pidfile);
            if (pid <= 1) {
                kit_sleep_us(200);
            }
        }
        if (pid <= 1) {
            (void)fprintf(stderr, "bench: cancel: the program never started\n");
            goto out;
        }
        t_pub = kit_now_us();
        {
            char payload[48];

            if (deadline > 0) {
                (void)snprintf(payload, sizeof(payload), "!cancel %llu",
                               (unsigned long long)deadline);
            } else {
                (void)snprintf(payload, sizeof(payload), "!cancel");
            }
            r = kit_cmd(c, "PUBLISH %s %s", channel, payload); /* the payload is one argument */
        }
        if (r == NULL) {
            goto out;
        }
        freeReplyObject(r);
        for (limit = t_pub + 30000000u; !proc_gone(pid) && kit_now_us() < limit;) {
            kit_sleep_us(100);
        }
        to_gone[t] = (double)(kit_now_us() - t_pub) / 1000.0;
        if (kit_wait_outcome(c, id, last, sizeof(last), 30000000u, outcome, sizeof(outcome)) != 0) {
            goto out;
        }
        to_outcome[t] = (double)(kit_now_us() - t_pub) / 1000.0 - (double)deadline;
        cut += strcmp(outcome, "block_interrupted") == 0;
    }
    if (deadline > 0) {
        printf(
            "bench=cancel_kill trials=%zu cut=%zu item=sh_cmd_ignoring_sigterm deadline_ms=%" PRIu64
            " outcome_after_deadline_p50_ms=%.3f outcome_after_deadline_p99_ms=%.3f "
            "outcome_after_deadline_max_ms=%.3f gone_p50_ms=%.3f\n",
            trials, cut, deadline, kit_pct(to_outcome, trials, 0.5),
            kit_pct(to_outcome, trials, 0.99), kit_pct(to_outcome, trials, 1.0),
            kit_pct(to_gone, trials, 0.5));
    } else {
        printf("bench=cancel trials=%zu cut=%zu item=sh_cmd_sleep_600s gone_p50_ms=%.3f "
               "gone_p99_ms=%.3f gone_max_ms=%.3f outcome_p50_ms=%.3f outcome_p99_ms=%.3f "
               "outcome_max_ms=%.3f\n",
               trials, cut, kit_pct(to_gone, trials, 0.5), kit_pct(to_gone, trials, 0.99),
               kit_pct(to_gone, trials, 1.0), kit_pct(to_outcome, trials, 0.5),
               kit_pct(to_outcome, trials, 0.99), kit_pct(to_outcome, trials, 1.0));
    }
    rc = cut == trials ? 0 : 1;
    if (rc != 0) {
        (void)fprintf(stderr, "bench: cancel: %zu of %zu cut\n", cut, trials);
    }
out:
    if (c != NULL) {
        redisFree(c);
    }
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    free(to_gone);
    free(to_outcome);
    return rc;
}

static int sc_interrupt(const struct kit_opts *o, const struct params *p)
{
    size_t trials = param(p, "trials", 50);
    size_t items = param(p, "items", 150);
    uint64_t us = param(p, "us", 200);
    uint64_t delay_min = param(p, "delay_min_ms", 5);
    uint64_t delay_max = param(p, "delay_max_ms", 25);
    struct kit_fleet f;
    struct pc_flow flow;
    char params_json[64];
    char(*ids)[KIT_ID_MAX] = calloc(trials + 1, sizeof(*ids));
    uint64_t *t_pub = calloc(trials + 1, sizeof(uint64_t));
    double *to_outcome = calloc(trials + 1, sizeof(double));
    double *to_latch = calloc(trials + 1, sizeof(double));
    redisContext *c = NULL;
    struct kit_submitter s;
    size_t n_latch = 0;
    size_t interrupted = 0;
    size_t late = 0;      /* latched during the last item: complete, rightly */
    size_t missed = 0;    /* finished before the PUBLISH: run again */
    size_t unordered = 0; /* latch and last start not ordered: run again */
    size_t failed = 0;
    int rc = 1;

    kit_fleet_init(&f, o, "interrupt");
    memset(&flow, 0, sizeof(flow));
    (void)snprintf(params_json, sizeof(params_json), "{\"us\":%" PRIu64 "}", us);
    if (ids == NULL || t_pub == NULL || to_outcome == NULL || to_latch == NULL ||
        delay_max < delay_min ||
        kit_flow(&flow, "p0", items, "bench_sleep", params_json, true) != 0) {
        goto out;
    }
    c = setup(o, &f, 1, 4, 0, true);
    if (c == NULL) {
        goto out;
    }
    kit_submitter_init(&s, c);
    for (size_t t = 0; t < trials; t++) {
        char last[64] = "";
        char outcome[32];
        char channel[PC_KEY_MAX];
        redisReply *r = NULL;
        uint64_t latch_us = 0;
        uint64_t last_start_ms = 0;
        bool latched = false;
        size_t *again = NULL; /* the count of re-runs this trial adds to */

        if (kit_submit(&s, &flow, PC_CMD_DISCOVER, ids[t]) != 0 || kit_submit_sync(&s) != 0 ||
            wait_running(c, ids[t], 10000000u) != 0 ||
            pc_key_interrupt_channel(channel, sizeof(channel), "peace", ids[t]) < 0) {
            goto out;
        }
        /* Between items, at a random point (as the peer kit's cancel bench). */
        kit_sleep_us(1000 * delay_min + rand32() % (1000 * (delay_max - delay_min) + 1));
        t_pub[t] = kit_now_us();
        r = kit_cmd(c, "PUBLISH %s bench", channel);
        if (r == NULL) {
            goto out;
        }
        freeReplyObject(r);
        if (kit_wait_outcome(c, ids[t], last, sizeof(last), 10000000u, outcome, sizeof(outcome)) !=
            0) {
            goto out;
        }
        to_outcome[t] = (double)(kit_now_us() - t_pub[t]) / 1000.0;
        latched = latched_at(f.log[0], ids[t], &latch_us) == 0;
        if (strstr(outcome, "interrupted") != NULL) {
            interrupted++;
        } else if (finished_before(c, ids[t], t_pub[t])) {
            /* It had finished when the PUBLISH went out: it measured nothing
             * (a loaded machine can run the whole chain inside the random
             * delay). */
            again = &missed;
        } else if (last_item_start(c, ids[t], &last_start_ms) != 0) {
            (void)fprintf(stderr, "bench: interrupt: %s: %s, and its report has no item times\n",
                          ids[t], outcome);
            failed++;
        } else {
            switch (classify_late(latched, latch_us, last_start_ms)) {
            case TRIAL_LATE:
                late++;
                break;
            case TRIAL_MISSED:
                (void)fprintf(stderr,
                              "bench: interrupt: %s: %s, but the interrupt was latched at %" PRIu64
                              " us, before its last item started (%" PRIu64 " ms)\n",
                              ids[t], outcome, latch_us, last_start_ms);
                failed++;
                break;
            case TRIAL_UNORDERED:
                again = &unordered;
                break;
            }
        }
        if (again != NULL) {
            /* Run again, a bounded number of times; past that, the trial
             * fails (a worker that drops every interrupt ends here). */
            if (missed + unordered < trials) {
                (*again)++;
                t--;
                continue;
            }
            (void)fprintf(stderr, "bench: interrupt: %s: %s, %s\n", ids[t], outcome,
                          again == &missed ? "finished before the PUBLISH"
                          : latched        ? "latched in the millisecond its last item started"
                                           : "never latched");
            failed++;
        }
        if (latched && latch_us >= t_pub[t]) {
            to_latch[n_latch++] = (double)(latch_us - t_pub[t]) / 1000.0;
        }
    }
    printf("bench=interrupt trials=%zu interrupted=%zu late=%zu missed=%zu unordered=%zu "
           "items=%zu item_us=%" PRIu64 " delay_ms=%" PRIu64 "-%" PRIu64
           " latched_p50_ms=%.3f latched_p99_ms=%.3f latched_max_ms=%.3f outcome_p50_ms=%.3f "
           "outcome_p99_ms=%.3f outcome_max_ms=%.3f\n",
           trials, interrupted, late, missed, unordered, items, us, delay_min, delay_max,
           kit_pct(to_latch, n_latch, 0.5), kit_pct(to_latch, n_latch, 0.99),
           kit_pct(to_latch, n_latch, 1.0), kit_pct(to_outcome, trials, 0.5),
           kit_pct(to_outcome, trials, 0.99), kit_pct(to_outcome, trials, 1.0));
    rc = failed == 0 && interrupted + late == trials && n_latch == trials ? 0 : 1;
    if (rc != 0) {
        (void)fprintf(stderr,
                      "bench: interrupt: %zu interrupted, %zu latched during the last item, %zu "
                      "failed, %zu latch times found\n",
                      interrupted, late, failed, n_latch);
    }
out:
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    redisFree(c);
    free(ids);
    free(t_pub);
    free(to_outcome);
    free(to_latch);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* progress                                                                  */

#define MILESTONES 100
#define SEEN_MAX   100000

struct progress_seen {
    uint64_t t[SEEN_MAX];
    uint64_t done[SEEN_MAX];
    size_t n;
    size_t events;
};

static int on_progress_event(void *ctx, uint64_t t_us, const redisReply *fields)
{
    struct progress_seen *ps = ctx;
    const redisReply *done = NULL;

    if (kit_field_is(fields, "kind", "outcome")) {
        return 1;
    }
    if (!kit_field_is(fields, "kind", "progress") || !kit_field_is(fields, "item", "i0")) {
        return 0;
    }
    ps->events++;
    done = kit_field(fields, "done");
    if (done != NULL && done->type == REDIS_REPLY_STRING && ps->n < SEEN_MAX) {
        ps->t[ps->n] = t_us;
        ps->done[ps->n] = strtoull(done->str, NULL, 10);
        ps->n++;
    }
    return 0;
}

/* bench_spin's discovered state: calls, ns, reached_us[MILESTONES]. */
static int spin_state(const char *p, size_t n, uint64_t *calls, uint64_t *ns, uint64_t *reached)
{
    msgpack_unpacked u;
    size_t off = 0;
    int found = 0;

    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, p, n, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&u);
        return -1;
    }
    for (uint32_t i = 0; i < u.data.via.map.size; i++) {
        const msgpack_object *k = &u.data.via.map.ptr[i].key;
        const msgpack_object *v = &u.data.via.map.ptr[i].val;

        if (k->type != MSGPACK_OBJECT_STR) {
            continue;
        }
        if (k->via.str.size == 5 && memcmp(k->via.str.ptr, "calls", 5) == 0 &&
            v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *calls = v->via.u64;
            found++;
        } else if (k->via.str.size == 2 && memcmp(k->via.str.ptr, "ns", 2) == 0 &&
                   v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *ns = v->via.u64;
            found++;
        } else if (k->via.str.size == 10 && memcmp(k->via.str.ptr, "reached_us", 10) == 0 &&
                   v->type == MSGPACK_OBJECT_ARRAY && v->via.array.size == MILESTONES) {
            for (uint32_t m = 0; m < MILESTONES; m++) {
                reached[m] = v->via.array.ptr[m].via.u64;
            }
            found++;
        }
    }
    msgpack_unpacked_destroy(&u);
    return found == 3 ? 0 : -1;
}

static int sc_progress(const struct kit_opts *o, const struct params *p)
{
    uint64_t calls = param(p, "calls", 200000000);
    struct kit_fleet f;
    struct pc_flow flow;
    struct progress_seen *ps = calloc(1, sizeof(*ps));
    char params_json[64];
    char id[KIT_ID_MAX];
    char last[64] = "";
    char key[PC_KEY_MAX];
    redisContext *c = NULL;
    redisReply *r = NULL;
    struct kit_submitter s;
    uint64_t reached[MILESTONES];
    double stale[MILESTONES];
    uint64_t got_calls = 0;
    uint64_t ns = 0;
    size_t n_stale = 0;
    int rc = 1;

    kit_fleet_init(&f, o, "progress");
    memset(&flow, 0, sizeof(flow));
    (void)snprintf(params_json, sizeof(params_json), "{\"calls\":%" PRIu64 "}", calls);
    if (ps == NULL || kit_flow(&flow, "p0", 1, "bench_spin", params_json, false) != 0) {
        goto out;
    }
    c = setup(o, &f, 1, 4, 0, true);
    if (c == NULL) {
        goto out;
    }
    kit_submitter_init(&s, c);
    if (kit_submit(&s, &flow, PC_CMD_DISCOVER, id) != 0 || kit_submit_sync(&s) != 0 ||
        kit_follow(c, id, last, sizeof(last), 600000000u, on_progress_event, ps) != 0 ||
        pc_key_states(key, sizeof(key), "peace", "bench", "p0", "f", PC_STATES_CURRENT) < 0) {
        goto out;
    }
    r = kit_cmd(c, "HGET %s i0", key);
    if (r == NULL || r->type != REDIS_REPLY_STRING ||
        spin_state(r->str, r->len, &got_calls, &ns, reached) != 0 || ns == 0) {
        (void)fprintf(stderr, "bench: progress: no usable state stored\n");
        goto out;
    }
    for (size_t m = 0; m < MILESTONES; m++) {
        uint64_t want = (got_calls / MILESTONES) * (m + 1);

        for (size_t k = 0; k < ps->n; k++) {
            if (ps->done[k] >= want) {
                stale[n_stale++] =
                    ps->t[k] > reached[m] ? (double)(ps->t[k] - reached[m]) / 1000.0 : 0.0;
                break;
            }
        }
    }
    printf("bench=progress calls=%" PRIu64 " seconds=%.3f calls_per_s=%.0f events=%zu "
           "staleness_samples=%zu staleness_p50_ms=%.2f staleness_p99_ms=%.2f "
           "staleness_max_ms=%.2f reader=XREAD-BLOCK-events\n",
           got_calls, (double)ns / 1e9, (double)got_calls / ((double)ns / 1e9), ps->events, n_stale,
           kit_pct(stale, n_stale, 0.5), kit_pct(stale, n_stale, 0.99),
           kit_pct(stale, n_stale, 1.0));
    rc = n_stale == MILESTONES ? 0 : 1;
out:
    freeReplyObject(r);
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    redisFree(c);
    free(ps);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* recovery                                                                  */

/* Polls the meta's attempt counter until another attempt started. */
static int wait_attempt(redisContext *c, const char *meta, long attempt, uint64_t timeout_us,
                        uint64_t *at)
{
    uint64_t deadline = kit_now_us() + timeout_us;

    while (kit_now_us() < deadline) {
        redisReply *r = kit_cmd(c, "HGET %s attempt", meta);
        long v = r != NULL && r->type == REDIS_REPLY_STRING ? strtol(r->str, NULL, 10) : 0;

        if (r == NULL) {
            return -1;
        }
        freeReplyObject(r);
        if (v >= attempt) {
            *at = kit_now_us();
            return 0;
        }
        kit_sleep_us(1000);
    }
    (void)fprintf(stderr, "bench: recovery: attempt %ld never started\n", attempt);
    return -1;
}

static int sc_recovery(const struct kit_opts *o, const struct params *p)
{
    size_t trials = param(p, "trials", 3);
    unsigned lease = (unsigned)param(p, "lease_ms", 3000);
    size_t items = param(p, "items", 10);
    uint64_t us = param(p, "us", 20000);
    struct kit_fleet f;
    struct pc_flow flow;
    char params_json[64];
    double resumed[16];
    double finished[16];
    redisContext *c = NULL;
    struct kit_submitter s;
    int rc = 1;

    kit_fleet_init(&f, o, "recovery");
    memset(&flow, 0, sizeof(flow));
    (void)snprintf(params_json, sizeof(params_json), "{\"us\":%" PRIu64 "}", us);
    if (trials == 0 || trials > 16 ||
        kit_flow(&flow, "p0", items, "bench_sleep", params_json, true) != 0) {
        goto out;
    }
    c = setup(o, &f, 2, 4, lease, true);
    if (c == NULL) {
        goto out;
    }
    kit_submitter_init(&s, c);
    for (size_t t = 0; t < trials; t++) {
        char id[KIT_ID_MAX];
        char last[64] = "";
        char outcome[32];
        char meta[PC_KEY_MAX];
        redisReply *r = NULL;
        long victim = -1;
        uint64_t t_kill;
        uint64_t t_resumed = 0;

        set_profile(&flow, t);
        if (kit_submit(&s, &flow, PC_CMD_DISCOVER, id) != 0 || kit_submit_sync(&s) != 0 ||
            wait_running(c, id, 10000000u) != 0 ||
            pc_key_exec(meta, sizeof(meta), "peace", id) < 0) {
            goto out;
        }
        r = kit_cmd(c, "HGET %s worker", meta);
        if (r != NULL && r->type == REDIS_REPLY_STRING) {
            victim = kit_fleet_find(&f, r->str, r->len);
        }
        freeReplyObject(r);
        if (victim < 0) {
            (void)fprintf(stderr, "bench: recovery: which worker runs %s?\n", id);
            goto out;
        }
        kit_sleep_us(rand32() % (us * items / 2 + 1));
        t_kill = kit_now_us();
        kit_fleet_kill(&f, (size_t)victim);
        if (wait_attempt(c, meta, 2, 120000000u, &t_resumed) != 0 ||
            kit_wait_outcome(c, id, last, sizeof(last), 120000000u, outcome, sizeof(outcome)) !=
                0) {
            goto out;
        }
        resumed[t] = (double)(t_resumed - t_kill) / 1e6;
        finished[t] = (double)(kit_now_us() - t_kill) / 1e6;
        if (strcmp(outcome, "complete") != 0) {
            (void)fprintf(stderr, "bench: recovery: outcome %s\n", outcome);
            goto out;
        }
        /* Back to two workers for the next trial. */
        if (t + 1 < trials && (kit_fleet_start(&f, 4, lease) != 0 || kit_fleet_ready(&f, c) != 0)) {
            goto out;
        }
    }
    printf("bench=recovery trials=%zu lease_ms=%u run_s=%.3f resumed_p50_s=%.3f "
           "resumed_max_s=%.3f finished_p50_s=%.3f finished_max_s=%.3f\n",
           trials, lease, (double)(us * items) / 1e6, kit_pct(resumed, trials, 0.5),
           kit_pct(resumed, trials, 1.0), kit_pct(finished, trials, 0.5),
           kit_pct(finished, trials, 1.0));
    rc = 0;
out:
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    redisFree(c);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* footprint                                                                 */

static uint64_t key_bytes(redisContext *c, const char *key)
{
    redisReply *r = kit_cmd(c, "MEMORY USAGE %s SAMPLES 0", key);
    uint64_t v = r != NULL && r->type == REDIS_REPLY_INTEGER ? (uint64_t)r->integer : 0;

    freeReplyObject(r);
    return v;
}

/* MEMORY USAGE of one execution's keys (all are alike) and of the shared ones. */
struct key_sizes {
    uint64_t meta;
    uint64_t progress;
    uint64_t events;
    uint64_t report; /* the full report (peace:exec:{ID}:report) */
    uint64_t queue;
    uint64_t index;
    uint64_t states; /* every profile's two maps */
};

static void measure_keys(redisContext *c, const char *id, size_t profiles, struct key_sizes *k)
{
    char key[PC_KEY_MAX];

    memset(k, 0, sizeof(*k));
    if (pc_key_exec(key, sizeof(key), "peace", id) >= 0) {
        k->meta = key_bytes(c, key);
    }
    if (pc_key_progress(key, sizeof(key), "peace", id) >= 0) {
        k->progress = key_bytes(c, key);
    }
    if (pc_key_events(key, sizeof(key), "peace", id) >= 0) {
        k->events = key_bytes(c, key);
    }
    if (pc_key_report(key, sizeof(key), "peace", id) >= 0) {
        k->report = key_bytes(c, key);
    }
    if (pc_key_queue(key, sizeof(key), "peace", "default") >= 0) {
        k->queue = key_bytes(c, key);
    }
    if (pc_key_execs(key, sizeof(key), "peace") >= 0) {
        k->index = key_bytes(c, key);
    }
    for (size_t i = 0; i < profiles; i++) {
        char pname[32];

        (void)snprintf(pname, sizeof(pname), "p%zu", i);
        if (pc_key_states(key, sizeof(key), "peace", "bench", pname, "f", PC_STATES_CURRENT) >= 0) {
            k->states += key_bytes(c, key);
        }
        if (pc_key_states(key, sizeof(key), "peace", "bench", pname, "f", PC_STATES_GOAL) >= 0) {
            k->states += key_bytes(c, key);
        }
    }
}

/* Sets hash-max-listpack-value to value (0: leaves it), keeping the old one
 * in before (restored by the caller). */
static void set_listpack_value(redisContext *c, uint64_t value, char *before, size_t size)
{
    redisReply *r = NULL;

    if (value == 0) {
        return;
    }
    r = kit_cmd(c, "CONFIG GET hash-max-listpack-value");
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        (void)snprintf(before, size, "%s", r->element[1]->str);
    }
    freeReplyObject(r);
    freeReplyObject(
        kit_cmd(c, "CONFIG SET hash-max-listpack-value %llu", (unsigned long long)value));
}

/* used_memory less the clients' buffers (a pipeline's query buffer stays
 * allocated a while after it ran), so that differences are the keys'. */
static int data_memory(redisContext *c, uint64_t *out)
{
    redisReply *r = kit_cmd(c, "INFO memory");
    const char *p = r != NULL && r->type == REDIS_REPLY_STRING ? r->str : "";
    const char *used = strstr(p, "\r\nused_memory:");
    const char *clients = strstr(p, "\r\nmem_clients_normal:");
    int rc = -1;

    if (used != NULL && clients != NULL) {
        uint64_t u = strtoull(used + 14, NULL, 10);
        uint64_t k = strtoull(clients + 21, NULL, 10);

        *out = u > k ? u - k : 0;
        rc = 0;
    }
    freeReplyObject(r);
    return rc;
}

/* One execution's report in each form measured. */
struct report_copy {
    struct pc_buf summary; /* the meta hash's version 1 summary */
    struct pc_buf v2;      /* the full report as the release before wrote it */
    struct pc_buf meta3;   /* this release: the meta hash's `report` ... */
    struct pc_buf full3;   /* ... and the report key (empty: none) */
    long long pttl;
};

enum report_form { FORM_READ, FORM_NONE, FORM_V2, FORM_V3 };

static int copy_forms(struct report_copy *rc, const char *p, size_t n)
{
    struct pc_outcome out;
    int err = msg_report_decode(p, n, &out, NULL);

    if (err != 0) {
        return -1;
    }
    err = msg_report_summary_encode(&out, &rc->summary, NULL);
    if (err == 0 && msg_report_encode_version(&out, 2, &rc->v2, NULL) != 0) {
        pc_buf_cleanup(&rc->summary);
        err = -1;
    }
    if (err == 0 && msg_report_encode_redis(&out, &rc->meta3, &rc->full3, NULL) != 0) {
        pc_buf_cleanup(&rc->summary);
        pc_buf_cleanup(&rc->v2);
        err = -1;
    }
    pc_outcome_cleanup(&out);
    return err == 0 ? 0 : -1;
}

/* The commands of one execution for form f; returns how many replies follow. */
static int append_form(redisContext *c, const char *meta, const char *key, enum report_form f,
                       const struct report_copy *rc)
{
    const struct pc_buf *m = f == FORM_V3 ? &rc->meta3 : &rc->summary;
    const struct pc_buf *k = f == FORM_V2 ? &rc->v2 : f == FORM_V3 ? &rc->full3 : NULL;
    long long ttl = rc->pttl > 0 ? rc->pttl : 86400000LL;

    if (f == FORM_READ) {
        return redisAppendCommand(c, "HGET %s report", meta) == REDIS_OK &&
                       redisAppendCommand(c, "GET %s", key) == REDIS_OK &&
                       redisAppendCommand(c, "PTTL %s", meta) == REDIS_OK
                   ? 3
                   : -1;
    }
    if (redisAppendCommand(c, "HSET %s report %b", meta, m->data != NULL ? m->data : "", m->len) !=
        REDIS_OK) {
        return -1;
    }
    if (k == NULL || k->len == 0) {
        return redisAppendCommand(c, "DEL %s", key) == REDIS_OK ? 2 : -1;
    }
    return redisAppendCommand(c, "SET %s %b PX %lld", key, k->data, k->len, ttl) == REDIS_OK ? 2
                                                                                             : -1;
}

/* Reads the replies of one execution (form f); FORM_READ keeps its forms. */
static int read_form(redisContext *c, int n, enum report_form f, struct report_copy *rc)
{
    redisReply *r[3] = {NULL, NULL, NULL};
    int ok = 1;

    for (int m = 0; m < n; m++) {
        if (redisGetReply(c, (void **)&r[m]) != REDIS_OK || r[m] == NULL ||
            r[m]->type == REDIS_REPLY_ERROR) {
            ok = 0;
        }
    }
    if (ok && f == FORM_READ) {
        /* The full report: the key when there is one, else the meta's. */
        const redisReply *full = r[1]->type == REDIS_REPLY_STRING ? r[1] : r[0];

        rc->pttl = r[2]->type == REDIS_REPLY_INTEGER ? r[2]->integer : -1;
        ok = full->type == REDIS_REPLY_STRING && copy_forms(rc, full->str, full->len) == 0;
    }
    for (int m = 0; m < n; m++) {
        freeReplyObject(r[m]);
    }
    return ok ? 0 : -1;
}

/* Puts every execution's report in form f (FORM_READ: reads them). */
static int report_round(redisContext *c, char (*ids)[KIT_ID_MAX], size_t n, enum report_form f,
                        struct report_copy *copies)
{
    const size_t batch = 64; /* keeps the query buffer small */

    for (size_t i = 0; i < n; i += batch) {
        size_t j = i + batch < n ? i + batch : n;
        int replies[64];

        for (size_t k = i; k < j; k++) {
            char meta[PC_KEY_MAX];
            char key[PC_KEY_MAX];

            if (pc_key_exec(meta, sizeof(meta), "peace", ids[k]) < 0 ||
                pc_key_report(key, sizeof(key), "peace", ids[k]) < 0) {
                return -1;
            }
            replies[k - i] = append_form(c, meta, key, f, &copies[k]);
            if (replies[k - i] < 0) {
                return -1;
            }
        }
        for (size_t k = i; k < j; k++) {
            if (read_form(c, replies[k - i], f, &copies[k]) != 0) {
                return -1;
            }
        }
    }
    return 0;
}

/*
 * What the report adds to the footprint, in this run: every execution's
 * report is read (as the workers wrote it) and put, in turn, in three
 * forms: none (the meta hash's version 1 summary only: the footprint before
 * per-block reports), version 2 (the summary and a report key, as the
 * release before wrote it) and this release's (msg_report_encode_redis),
 * which is also how the run left them. Bytes per execution into *v3, *v2
 * and *without (from m0, before the submissions).
 */
static int report_footprint(redisContext *c, char (*ids)[KIT_ID_MAX], size_t n, uint64_t m0,
                            double *v3, double *v2, double *without)
{
    struct report_copy *copies = calloc(n, sizeof(*copies));
    uint64_t none = 0, with2 = 0, with3 = 0;
    int rc = -1;

    if (copies == NULL) {
        return -1;
    }
    if (report_round(c, ids, n, FORM_READ, copies) == 0 &&
        report_round(c, ids, n, FORM_NONE, copies) == 0 && data_memory(c, &none) == 0 &&
        report_round(c, ids, n, FORM_V2, copies) == 0 && data_memory(c, &with2) == 0 &&
        report_round(c, ids, n, FORM_V3, copies) == 0 && data_memory(c, &with3) == 0) {
        *v3 = (double)((int64_t)with3 - (int64_t)none) / (double)n;
        *v2 = (double)((int64_t)with2 - (int64_t)none) / (double)n;
        *without = none > m0 ? (double)(none - m0) / (double)n : 0.0;
        rc = 0;
    }
    for (size_t i = 0; i < n; i++) {
        pc_buf_cleanup(&copies[i].summary);
        pc_buf_cleanup(&copies[i].v2);
        pc_buf_cleanup(&copies[i].meta3);
        pc_buf_cleanup(&copies[i].full3);
    }
    free(copies);
    return rc;
}

static int sc_footprint(const struct kit_opts *o, const struct params *p)
{
    size_t n = param(p, "n", 2000);
    size_t items = param(p, "items", 10);
    size_t profiles = param(p, "profiles", 16);
    /* What the server's hash-max-listpack-value does to the meta hash (its
     * `report` is over the default 64 bytes); 0 = the server's setting. */
    uint64_t listpack_value = param(p, "listpack_value", 0);
    char lpv_before[32] = "";
    char lpv_text[32] = "default";
    struct kit_fleet f;
    struct pc_flow flow;
    char(*ids)[KIT_ID_MAX] = calloc(n + 1, sizeof(*ids));
    char last_entry[64];
    char label[32];
    redisContext *c = NULL;
    struct key_sizes k;
    uint64_t m0 = 0;
    uint64_t m1 = 0;
    uint64_t dm0 = 0;
    double rep_v3 = 0, rep_v2 = 0, without = 0;
    uint64_t first, last;
    size_t complete = 0;
    int rc = 1;

    (void)snprintf(label, sizeof(label), "footprint-i%zu", items);
    kit_fleet_init(&f, o, label);
    memset(&flow, 0, sizeof(flow));
    if (ids == NULL || n == 0 || profiles == 0 ||
        kit_flow(&flow, "p0", items, "bench_noop", "{}", false) != 0) {
        goto out;
    }
    c = setup(o, &f, 2, 16, 0, true);
    if (c == NULL) {
        goto out;
    }
    set_listpack_value(c, listpack_value, lpv_before, sizeof(lpv_before));
    if (listpack_value != 0) {
        (void)snprintf(lpv_text, sizeof(lpv_text), "%llu", (unsigned long long)listpack_value);
    }
    if (kit_used_memory(c, &m0) != 0 || data_memory(c, &dm0) != 0 ||
        submit_many(c, &flow, n, ids, false, profiles, last_entry, sizeof(last_entry)) != 0 ||
        kit_wait_drained(c, last_entry, 900000000u, 2000) != 0) {
        goto out;
    }
    kit_fleet_stop(&f, false);
    if (kit_used_memory(c, &m1) != 0 || window_of(c, ids, n, &first, &last, &complete) != 0) {
        goto out;
    }
    measure_keys(c, ids[n - 1], profiles < n ? profiles : n, &k);
    if (report_footprint(c, ids, n, dm0, &rep_v3, &rep_v2, &without) != 0) {
        fprintf(stderr, "footprint: cannot measure the report keys\n");
        goto out;
    }
    printf("bench=footprint items=%zu executions=%zu complete=%zu profiles=%zu "
           "hash_max_listpack_value=%s bytes_per_execution=%.0f meta_bytes=%" PRIu64
           " progress_bytes=%" PRIu64 " events_bytes=%" PRIu64 " report_bytes=%" PRIu64
           " queue_bytes_per_execution=%.0f index_bytes_per_execution=%.0f"
           " states_bytes_total=%" PRIu64 " without_report_bytes_per_execution=%.0f"
           " report_v2_bytes_per_execution=%.0f report_v3_bytes_per_execution=%.0f"
           " report_v2_pct=%.1f report_v3_pct=%.1f\n",
           items, n, complete, profiles, lpv_text, m1 > m0 ? (double)(m1 - m0) / (double)n : 0.0,
           k.meta, k.progress, k.events, k.report, (double)k.queue / (double)n,
           (double)k.index / (double)n, k.states, without, rep_v2, rep_v3,
           without > 0 ? 100.0 * rep_v2 / without : 0.0,
           without > 0 ? 100.0 * rep_v3 / without : 0.0);
    rc = complete == n ? 0 : 1;
out:
    if (c != NULL && lpv_before[0] != '\0') {
        freeReplyObject(kit_cmd(c, "CONFIG SET hash-max-listpack-value %s", lpv_before));
    }
    kit_fleet_stop(&f, false);
    pc_flow_cleanup(&flow);
    redisFree(c);
    free(ids);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* worker RSS with many executions running                                   */

static size_t count_started(redisContext *c, char (*ids)[KIT_ID_MAX], size_t n)
{
    char key[PC_KEY_MAX];
    size_t started = 0;

    for (size_t i = 0; i < n; i++) {
        if (pc_key_exec(key, sizeof(key), "peace", ids[i]) < 0 ||
            redisAppendCommand(c, "HEXISTS %s started_ms", key) != REDIS_OK) {
            return 0;
        }
    }
    for (size_t i = 0; i < n; i++) {
        void *v = NULL;

        if (redisGetReply(c, &v) != REDIS_OK) {
            return 0;
        }
        started +=
            ((redisReply *)v)->type == REDIS_REPLY_INTEGER && ((redisReply *)v)->integer == 1;
        freeReplyObject(v);
    }
    return started;
}

static int sc_rss(const struct kit_opts *o, const struct params *p)
{
    size_t n = param(p, "n", 256);
    uint64_t us = param(p, "us", 30000000);
    struct kit_fleet f;
    struct pc_flow flow;
    char(*ids)[KIT_ID_MAX] = calloc(n + 1, sizeof(*ids));
    char params_json[64];
    char last_entry[64];
    redisContext *c = NULL;
    uint64_t idle_rss = 0, rss = 0, hwm = 0, threads = 0, idle_threads = 0;
    uint64_t deadline;
    size_t started = 0;
    int rc = 1;

    kit_fleet_init(&f, o, "rss");
    memset(&flow, 0, sizeof(flow));
    (void)snprintf(params_json, sizeof(params_json), "{\"us\":%" PRIu64 "}", us);
    if (ids == NULL || n == 0 || n > 256 ||
        kit_flow(&flow, "p0", 1, "bench_sleep", params_json, false) != 0) {
        goto out;
    }
    c = setup(o, &f, 1, (unsigned)n, 0, true);
    if (c == NULL || kit_proc_status(f.pid[0], &idle_rss, &hwm, &idle_threads) != 0) {
        goto out;
    }
    if (submit_many(c, &flow, n, ids, true, 0, last_entry, sizeof(last_entry)) != 0) {
        goto out;
    }
    deadline = kit_now_us() + us / 2;
    while (kit_now_us() < deadline && (started = count_started(c, ids, n)) < n) {
        kit_sleep_us(20000);
    }
    if (started < n || kit_proc_status(f.pid[0], &rss, &hwm, &threads) != 0) {
        (void)fprintf(stderr, "bench: rss: only %zu of %zu executions started\n", started, n);
        goto out;
    }
    printf("bench=worker_rss executions_running=%zu rss_kb=%" PRIu64 " idle_rss_kb=%" PRIu64
           " per_execution_kb=%.1f threads=%" PRIu64 "\n",
           n, rss, idle_rss, (double)(rss > idle_rss ? rss - idle_rss : 0) / (double)n, threads);
    rc = 0;
out:
    kit_fleet_stop(&f, true); /* the items sleep on: nothing to wait for */
    pc_flow_cleanup(&flow);
    redisFree(c);
    free(ids);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* main                                                                      */

static const char usage[] =
    "usage: peace-bench SCENARIO --redis HOST:PORT --worker PATH --plugin PATH --dir DIR\n"
    "                   [--sched HOST:PORT] [--worker-arg ARG]... [key=value]...\n"
    "scenarios: throughput latency latency_http interrupt progress recovery footprint rss\n";

int main(int argc, char **argv)
{
    struct kit_opts o;
    struct params p;
    const char *scenario = NULL;
    const char *redis = "127.0.0.1:6379";
    int rc = 2;

    memset(&o, 0, sizeof(o));
    memset(&p, 0, sizeof(p));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *eq = strchr(a, '=');

        if (i + 1 < argc && strcmp(a, "--redis") == 0) {
            redis = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--worker") == 0) {
            o.worker = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--plugin") == 0) {
            o.plugin = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--dir") == 0) {
            o.dir = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--sched") == 0) {
            o.sched = argv[++i];
        } else if (i + 1 < argc && strcmp(a, "--worker-arg") == 0 &&
                   o.n_extra < KIT_EXTRA_ARGS_MAX) {
            o.extra[o.n_extra++] = argv[++i];
        } else if (a[0] != '-' && eq != NULL && p.n < PARAMS_MAX) {
            argv[i][eq - a] = '\0';
            p.key[p.n] = a;
            p.value[p.n++] = eq + 1;
        } else if (a[0] != '-' && scenario == NULL) {
            scenario = a;
        } else {
            (void)fputs(usage, stderr);
            return 2;
        }
    }
    {
        const char *colon = strrchr(redis, ':');

        if (colon == NULL || (size_t)(colon - redis) >= sizeof(o.host)) {
            (void)fputs(usage, stderr);
            return 2;
        }
        memcpy(o.host, redis, (size_t)(colon - redis));
        o.host[colon - redis] = '\0';
        o.port = (int)strtol(colon + 1, NULL, 10);
    }
    if (scenario == NULL || o.worker == NULL || o.plugin == NULL || o.dir == NULL) {
        (void)fputs(usage, stderr);
        return 2;
    }
    (void)setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(scenario, "throughput") == 0) {
        rc = sc_throughput(&o, &p);
    } else if (strcmp(scenario, "latency") == 0) {
        rc = sc_latency(&o, &p);
    } else if (strcmp(scenario, "latency_http") == 0) {
        rc = sc_latency_http(&o, &p);
    } else if (strcmp(scenario, "interrupt") == 0) {
        rc = sc_interrupt(&o, &p);
    } else if (strcmp(scenario, "cancel") == 0) {
        rc = sc_cancel(&o, &p);
    } else if (strcmp(scenario, "cancel_download") == 0) {
        rc = bench_cancel_download(&o, (size_t)param(&p, "trials", 20));
    } else if (strcmp(scenario, "progress") == 0) {
        rc = sc_progress(&o, &p);
    } else if (strcmp(scenario, "recovery") == 0) {
        rc = sc_recovery(&o, &p);
    } else if (strcmp(scenario, "footprint") == 0) {
        rc = sc_footprint(&o, &p);
    } else if (strcmp(scenario, "rss") == 0) {
        rc = sc_rss(&o, &p);
    } else {
        (void)fputs(usage, stderr);
    }
    return rc;
}
