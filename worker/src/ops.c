/*
 * ops.c - the worker's heartbeat and metrics endpoint (worker/ops.h).
 *
 * Heartbeat, every lease / 3 while the command connection is up:
 *   HSET  PREFIX:worker:{CONSUMER} host pid version queue consumer running
 *         concurrency threads threads_busy started_ms last_seen_ms lease_ms
 *   PEXPIRE that key lease_ms
 *   ZADD  PREFIX:workers:{Q} <now + lease_ms> CONSUMER
 *   ZREMRANGEBYSCORE PREFIX:workers:{Q} -inf <now>   (beats that expired)
 *   ZADD  PREFIX:queues <now> Q                      (the queues registry)
 * A live worker is a member whose score is in the future: ZCOUNT ... now +inf.
 * A worker killed with -9 drops out one lease after its last beat; a clean
 * stop removes both at once.
 *
 * Metrics: a small evhttp server on the worker's loop answering GET
 * /metrics (and HEAD) with the text exposition format; anything else is 404
 * or 405. Counters are per command and outcome, from fixed enums, so the
 * label sets are bounded.
 */
#include "worker/ops.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "peace/buf.h"
#include "peace/keys.h"

#define OUTCOMES       6 /* PC_OUTCOME_COMPLETE .. PC_OUTCOME_REJECTED */
#define HOST_MAX       256
#define METRICS_MAX    (256u * 1024u)
#define HTTP_TIMEOUT_S 10

struct wk_ops {
    struct event_base *base;
    const struct wk_config *cfg;
    struct pc_redis_conn *conn;
    char consumer[256];
    char version[32];
    char host[HOST_MAX];
    char worker_key[PC_KEY_MAX];
    char workers_key[PC_KEY_MAX];
    char queues_key[PC_KEY_MAX];
    uint64_t (*now_ms)(void *ctx);
    void *clock_ctx;
    void (*gauges)(void *ctx, struct wk_ops_gauges *out);
    void *gauges_ctx;
    uint64_t started_ms;
    bool stopped;
    bool left; /* stopped, and Redis answered the removal (or could not) */
    void (*on_left)(void *ctx);
    void *left_ctx;
    struct event *beat;
    struct evhttp *http;
    uint64_t started[PC_CMD_COUNT + 1];
    uint64_t finished[PC_CMD_COUNT + 1][OUTCOMES];
};

static void on_ignored(void *arg, const redisReply *reply)
{
    (void)arg;
    (void)reply; /* a missed beat is made up by the next one */
}

static void send_args(struct wk_ops *ops, struct pc_redis_args *a)
{
    if (pc_redis_args_error(a) == 0 && pc_redis_conn_ready(ops->conn) &&
        pc_redis_cmd_args(ops->conn, a, 0, on_ignored, NULL) != 0) {
        /* Not sent: the next beat sends again. */
    }
    pc_redis_args_cleanup(a);
}

static void beat(struct wk_ops *ops)
{
    struct wk_ops_gauges g;
    struct pc_redis_args a;
    uint64_t now = ops->now_ms(ops->clock_ctx);
    uint32_t lease = ops->cfg->lease_ms;

    if (ops->stopped || !pc_redis_conn_ready(ops->conn)) {
        return;
    }
    memset(&g, 0, sizeof(g));
    ops->gauges(ops->gauges_ctx, &g);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "HSET");
    pc_redis_args_addz(&a, ops->worker_key);
    pc_redis_args_addz(&a, "host");
    pc_redis_args_addz(&a, ops->host);
    pc_redis_args_addz(&a, "pid");
    pc_redis_args_addu64(&a, (uint64_t)getpid());
    pc_redis_args_addz(&a, "version");
    pc_redis_args_addz(&a, ops->version);
    pc_redis_args_addz(&a, "queue");
    pc_redis_args_addz(&a, ops->cfg->queue);
    pc_redis_args_addz(&a, "consumer");
    pc_redis_args_addz(&a, ops->consumer);
    pc_redis_args_addz(&a, "running");
    pc_redis_args_addu64(&a, g.running);
    pc_redis_args_addz(&a, "concurrency");
    pc_redis_args_addu64(&a, ops->cfg->concurrency);
    pc_redis_args_addz(&a, "threads");
    pc_redis_args_addu64(&a, ops->cfg->threads);
    pc_redis_args_addz(&a, "threads_busy");
    pc_redis_args_addu64(&a, g.threads_busy);
    pc_redis_args_addz(&a, "started_ms");
    pc_redis_args_addu64(&a, ops->started_ms);
    pc_redis_args_addz(&a, "last_seen_ms");
    pc_redis_args_addu64(&a, now);
    pc_redis_args_addz(&a, "lease_ms");
    pc_redis_args_addu64(&a, lease);
    pc_redis_args_addz(&a, "execs");
    pc_redis_args_addz(&a, g.execs);
    send_args(ops, &a);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "PEXPIRE");
    pc_redis_args_addz(&a, ops->worker_key);
    pc_redis_args_addu64(&a, lease);
    send_args(ops, &a);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "ZADD");
    pc_redis_args_addz(&a, ops->workers_key);
    pc_redis_args_addu64(&a, now + lease);
    pc_redis_args_addz(&a, ops->consumer);
    send_args(ops, &a);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "ZREMRANGEBYSCORE");
    pc_redis_args_addz(&a, ops->workers_key);
    pc_redis_args_addz(&a, "-inf");
    pc_redis_args_addf(&a, "(%llu", (unsigned long long)now);
    send_args(ops, &a);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "ZADD");
    pc_redis_args_addz(&a, ops->queues_key);
    pc_redis_args_addu64(&a, now);
    pc_redis_args_addz(&a, ops->cfg->queue);
    send_args(ops, &a);
}

static void on_beat(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    beat(arg);
}

static void on_removed(void *arg, const redisReply *reply)
{
    struct wk_ops *ops = arg;

    (void)reply; /* an error or no answer: the beat expires by itself */
    ops->left = true;
    if (ops->on_left != NULL) {
        ops->on_left(ops->left_ctx);
    }
}

void wk_ops_stop(struct wk_ops *ops, void (*on_left)(void *ctx), void *ctx)
{
    struct pc_redis_args a;

    if (ops == NULL || ops->stopped) {
        return;
    }
    ops->stopped = true;
    (void)event_del(ops->beat);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "ZREM");
    pc_redis_args_addz(&a, ops->workers_key);
    pc_redis_args_addz(&a, ops->consumer);
    send_args(ops, &a);
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "DEL");
    pc_redis_args_addz(&a, ops->worker_key);
    /* The last command: its reply (or failure) means the removal is over. */
    ops->on_left = on_left;
    ops->left_ctx = ctx;
    if (pc_redis_args_error(&a) != 0 || !pc_redis_conn_ready(ops->conn) ||
        pc_redis_cmd_args(ops->conn, &a, 0, on_removed, ops) != 0) {
        ops->left = true;
    }
    pc_redis_args_cleanup(&a);
}

bool wk_ops_left(const struct wk_ops *ops)
{
    return ops == NULL || ops->left;
}

void wk_ops_exec_started(struct wk_ops *ops, enum pc_cmd cmd)
{
    if (ops != NULL) {
        ops->started[(unsigned)cmd < PC_CMD_COUNT ? (unsigned)cmd : PC_CMD_COUNT]++;
    }
}

void wk_ops_exec_finished(struct wk_ops *ops, unsigned cmd, enum pc_outcome_kind outcome)
{
    if (ops != NULL && (unsigned)outcome < OUTCOMES) {
        ops->finished[cmd < PC_CMD_COUNT ? cmd : PC_CMD_COUNT][outcome]++;
    }
}

static const char *cmd_label(unsigned c)
{
    return c < PC_CMD_COUNT ? pc_cmd_name((enum pc_cmd)c) : "unknown";
}

static int family(struct pc_buf *b, const char *name, const char *type, const char *help)
{
    return pc_buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

int wk_ops_render(const struct wk_ops *ops, const struct wk_ops_gauges *g, struct pc_buf *b)
{
    int rc = family(b, "peace_build_info", "gauge", "Build of this program (always 1).");

    if (rc == 0) {
        rc = pc_buf_appendf(b, "peace_build_info{program=\"peace-worker\",version=\"%s\"} 1\n",
                            ops->version);
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_executions_started_total", "counter",
                    "Executions this worker started, by command.");
    }
    for (unsigned c = 0; rc == 0 && c < PC_CMD_COUNT; c++) {
        rc = pc_buf_appendf(b, "peace_worker_executions_started_total{cmd=\"%s\"} %llu\n",
                            cmd_label(c), (unsigned long long)ops->started[c]);
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_executions_finished_total", "counter",
                    "Executions this worker finished (outcome recorded), by command and outcome.");
    }
    for (unsigned c = 0; rc == 0 && c <= PC_CMD_COUNT; c++) {
        for (unsigned k = 0; rc == 0 && k < OUTCOMES; k++) {
            if (c == PC_CMD_COUNT && ops->finished[c][k] == 0) {
                continue; /* "unknown" only once it happened */
            }
            rc = pc_buf_appendf(
                b, "peace_worker_executions_finished_total{cmd=\"%s\",outcome=\"%s\"} %llu\n",
                cmd_label(c), pc_outcome_kind_name((enum pc_outcome_kind)k),
                (unsigned long long)ops->finished[c][k]);
        }
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_executions_running", "gauge",
                    "Executions running on this worker now.");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "peace_worker_executions_running %u\n", g->running);
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_concurrency", "gauge",
                    "Executions this worker runs at once at most (--concurrency).");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "peace_worker_concurrency %u\n", ops->cfg->concurrency);
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_item_threads", "gauge", "Threads for item work (--threads).");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "peace_worker_item_threads %u\n", ops->cfg->threads);
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_item_threads_busy", "gauge",
                    "Item tasks submitted to the threads and not done yet.");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "peace_worker_item_threads_busy %lu\n", g->threads_busy);
    }
    if (rc == 0) {
        rc = family(b, "peace_worker_lease_seconds", "gauge",
                    "How long this worker's heartbeat and leases live (--lease-ms).");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "peace_worker_lease_seconds %.3f\n",
                            (double)ops->cfg->lease_ms / 1000.0);
    }
    return rc;
}

/* process_* of the Prometheus client conventions, from /proc and getrusage. */
static int render_process(const struct wk_ops *ops, struct pc_buf *b)
{
    struct rusage ru;
    struct rlimit rl;
    unsigned long long size = 0;
    unsigned long long resident = 0;
    unsigned long fds = 0;
    long page = sysconf(_SC_PAGESIZE);
    FILE *f = fopen("/proc/self/statm", "r");
    DIR *d = opendir("/proc/self/fd");
    double cpu = 0.0;
    int rc;

    if (f != NULL) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2) {
            size = resident = 0;
        }
        (void)fclose(f);
    }
    if (d != NULL) {
        for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
            fds += e->d_name[0] != '.' ? 1u : 0u;
        }
        (void)closedir(d);
        fds = fds > 0 ? fds - 1 : 0; /* the directory's own descriptor */
    }
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    }
    rc = family(b, "process_cpu_seconds_total", "counter", "User and system CPU time spent.");
    if (rc == 0) {
        rc = pc_buf_appendf(b, "process_cpu_seconds_total %.6f\n", cpu);
    }
    if (rc == 0) {
        rc = family(b, "process_resident_memory_bytes", "gauge", "Resident memory size.");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "process_resident_memory_bytes %llu\n",
                            resident * (unsigned long long)(page > 0 ? page : 4096));
    }
    if (rc == 0) {
        rc = family(b, "process_virtual_memory_bytes", "gauge", "Virtual memory size.");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "process_virtual_memory_bytes %llu\n",
                            size * (unsigned long long)(page > 0 ? page : 4096));
    }
    if (rc == 0) {
        rc = family(b, "process_open_fds", "gauge", "Open file descriptors.");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "process_open_fds %lu\n", fds);
    }
    if (rc == 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        rc = family(b, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
        if (rc == 0) {
            rc = pc_buf_appendf(b, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
        }
    }
    if (rc == 0) {
        rc = family(b, "process_start_time_seconds", "gauge",
                    "Start time of the worker since the Unix epoch, in seconds.");
    }
    if (rc == 0) {
        rc = pc_buf_appendf(b, "process_start_time_seconds %.3f\n",
                            (double)ops->started_ms / 1000.0);
    }
    return rc;
}

static void on_http(struct evhttp_request *req, void *arg)
{
    struct wk_ops *ops = arg;
    const char *uri = evhttp_request_get_uri(req);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct wk_ops_gauges g;
    struct evbuffer *out = NULL;
    struct pc_buf b;
    size_t plen = uri != NULL ? strcspn(uri, "?") : 0;

    if (uri == NULL || plen != 8 || memcmp(uri, "/metrics", 8) != 0) {
        evhttp_send_error(req, 404, "Not Found");
        return;
    }
    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        (void)evhttp_add_header(h, "Allow", "GET, HEAD");
        evhttp_send_error(req, 405, "Method Not Allowed");
        return;
    }
    memset(&g, 0, sizeof(g));
    ops->gauges(ops->gauges_ctx, &g);
    pc_buf_init(&b, METRICS_MAX);
    out = evbuffer_new();
    if (out == NULL || wk_ops_render(ops, &g, &b) != 0 || render_process(ops, &b) != 0 ||
        evbuffer_add(out, pc_buf_str(&b), b.len) != 0) {
        pc_buf_cleanup(&b);
        if (out != NULL) {
            evbuffer_free(out);
        }
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    pc_buf_cleanup(&b);
    (void)evhttp_add_header(h, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    (void)evhttp_add_header(h, "Cache-Control", "no-store");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

int wk_ops_parse_listen(const char *text, char *host, size_t host_size, uint16_t *port)
{
    const char *colon = text != NULL ? strrchr(text, ':') : NULL;
    const char *h = text;
    size_t hn;
    char *end = NULL;
    unsigned long p;

    if (colon == NULL || colon == text || colon[1] < '0' || colon[1] > '9') {
        return PC_EINVAL;
    }
    hn = (size_t)(colon - text);
    if (text[0] == '[') { /* [v6]:port */
        if (hn < 3 || text[hn - 1] != ']') {
            return PC_EINVAL;
        }
        h = text + 1;
        hn -= 2;
    } else if (memchr(text, ':', hn) != NULL) {
        return PC_EINVAL; /* a bare IPv6 address needs brackets */
    }
    p = strtoul(colon + 1, &end, 10);
    if (end == NULL || *end != '\0' || p > 65535 || hn == 0 || hn >= host_size) {
        return PC_EINVAL;
    }
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (uint16_t)p;
    return 0;
}

int wk_ops_create(const struct wk_ops_opts *o, struct wk_ops **out, struct pc_err *err)
{
    struct wk_ops *ops = calloc(1, sizeof(*ops));
    uint32_t every = o->cfg->lease_ms / 3 > 0 ? o->cfg->lease_ms / 3 : 1;
    struct timeval tv = {(time_t)(every / 1000u), (suseconds_t)((every % 1000u) * 1000u)};

    if (ops == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    ops->base = o->base;
    ops->cfg = o->cfg;
    ops->conn = o->conn;
    ops->now_ms = o->now_ms;
    ops->clock_ctx = o->clock_ctx;
    ops->gauges = o->gauges;
    ops->gauges_ctx = o->gauges_ctx;
    ops->started_ms = o->now_ms(o->clock_ctx);
    (void)snprintf(ops->consumer, sizeof(ops->consumer), "%s", o->consumer);
    (void)snprintf(ops->version, sizeof(ops->version), "%s", o->version != NULL ? o->version : "");
    if (gethostname(ops->host, sizeof(ops->host)) != 0) {
        (void)snprintf(ops->host, sizeof(ops->host), "?");
    }
    ops->host[sizeof(ops->host) - 1] = '\0';
    if (pc_key_worker(ops->worker_key, sizeof(ops->worker_key), o->cfg->prefix, ops->consumer) <
            0 ||
        pc_key_workers(ops->workers_key, sizeof(ops->workers_key), o->cfg->prefix, o->cfg->queue) <
            0 ||
        pc_key_queues(ops->queues_key, sizeof(ops->queues_key), o->cfg->prefix) < 0) {
        free(ops);
        return pc_err_set(err, PC_EINVAL, "the heartbeat key does not fit");
    }
    ops->beat = event_new(o->base, -1, EV_PERSIST, on_beat, ops);
    if (ops->beat == NULL || event_add(ops->beat, &tv) != 0) {
        wk_ops_destroy(ops);
        return pc_err_set(err, PC_ENOMEM, "cannot start the heartbeat timer");
    }
    if (o->cfg->metrics_listen != NULL) {
        char host[HOST_MAX];
        uint16_t port = 0;
        struct evhttp_bound_socket *bound = NULL;
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);

        if (wk_ops_parse_listen(o->cfg->metrics_listen, host, sizeof(host), &port) != 0) {
            wk_ops_destroy(ops);
            return pc_err_set(err, PC_EINVAL, "--metrics-listen %s: expected HOST:PORT",
                              o->cfg->metrics_listen);
        }
        ops->http = evhttp_new(o->base);
        if (ops->http == NULL) {
            wk_ops_destroy(ops);
            return pc_err_set(err, PC_ENOMEM, "out of memory");
        }
        evhttp_set_timeout(ops->http, HTTP_TIMEOUT_S);
        evhttp_set_max_headers_size(ops->http, 8192);
        evhttp_set_max_body_size(ops->http, 0);
        evhttp_set_allowed_methods(ops->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
                                                  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
        evhttp_set_gencb(ops->http, on_http, ops);
        bound = evhttp_bind_socket_with_handle(ops->http, host, port);
        if (bound == NULL) {
            wk_ops_destroy(ops);
            return pc_err_set(err, PC_EINVAL, "--metrics-listen %s: cannot listen there",
                              o->cfg->metrics_listen);
        }
        /* Port 0 picks a free one: the log line says which. */
        if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&ss, &sl) == 0) {
            port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                  : ((struct sockaddr_in *)&ss)->sin_port);
        }
        wk_log(o->log, WK_LOG_INFO, "metrics_listening", "addr=%s%s%s:%u url=/metrics",
               strchr(host, ':') != NULL ? "[" : "", host, strchr(host, ':') != NULL ? "]" : "",
               (unsigned)port);
    }
    *out = ops;
    return 0;
}

void wk_ops_destroy(struct wk_ops *ops)
{
    if (ops == NULL) {
        return;
    }
    if (ops->http != NULL) {
        evhttp_free(ops->http);
    }
    if (ops->beat != NULL) {
        event_free(ops->beat);
    }
    free(ops);
}
