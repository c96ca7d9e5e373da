/*
 * kit.c - the fleet benchmark driver's helpers (see kit.h).
 *
 * Design. The driver stands where a user stands: it submits with the same
 * commands as `peace run --redis` (pipelined, so submitting is never what a
 * throughput figure measures), follows an execution the way a dashboard
 * does (exec_follow, then XREAD BLOCK on its events stream), and starts real peace-worker
 * processes, whose logs it keeps for the interrupt figures. Everything is
 * synchronous hiredis: a driver that waits is not the thing being timed.
 */
#include "kit.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "peace/buf.h"
#include "peace/events_fold.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/scripts.h"
#include "peace/submit.h"

#define PREFIX "peace"
#define QUEUE  "default"
#define GROUP  "workers"

extern char **environ;

uint64_t kit_now_us(void)
{
    struct timespec ts;

    (void)clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void kit_sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* ------------------------------------------------------------------------ */
/* Redis                                                                     */

redisContext *kit_connect(const struct kit_opts *o)
{
    struct timeval tv = {5, 0};
    struct timeval cmd_tv = {60, 0};
    redisContext *c = redisConnectWithTimeout(o->host, o->port, tv);

    if (c == NULL || c->err != 0) {
        (void)fprintf(stderr, "bench: cannot connect to %s:%d: %s\n", o->host, o->port,
                      c != NULL ? c->errstr : "out of memory");
        redisFree(c);
        return NULL;
    }
    (void)redisSetTimeout(c, cmd_tv);
    return c;
}

redisReply *kit_cmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    redisReply *r = NULL;

    va_start(ap, fmt);
    r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (r == NULL) {
        (void)fprintf(stderr, "bench: redis: %s\n", c->errstr);
    }
    return r;
}

int kit_flush(redisContext *c)
{
    redisReply *r = kit_cmd(c, "FLUSHALL");
    int rc = r != NULL && r->type != REDIS_REPLY_ERROR ? 0 : -1;

    freeReplyObject(r);
    return rc;
}

int kit_used_memory(redisContext *c, uint64_t *out)
{
    redisReply *r = kit_cmd(c, "INFO memory");
    const char *p = NULL;
    int rc = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        p = strstr(r->str, "used_memory:");
        if (p != NULL) {
            *out = strtoull(p + 12, NULL, 10);
            rc = 0;
        }
    }
    freeReplyObject(r);
    return rc;
}

const redisReply *kit_field(const redisReply *arr, const char *field)
{
    size_t n = strlen(field);

    if (arr == NULL || arr->type != REDIS_REPLY_ARRAY) {
        return NULL;
    }
    for (size_t i = 0; i + 1 < arr->elements; i += 2) {
        const redisReply *k = arr->element[i];

        if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) && k->len == n &&
            memcmp(k->str, field, n) == 0) {
            return arr->element[i + 1];
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* Jobs                                                                      */

int kit_flow(struct pc_flow *out, const char *profile, size_t n, const char *type,
             const char *params, bool chain)
{
    struct pc_buf j;
    struct pc_err err;
    int rc;

    pc_buf_init(&j, PC_FLOW_FILE_MAX);
    pc_err_clear(&err);
    rc = pc_buf_appendf(&j, "{\"app\":\"bench\",\"profile\":\"%s\",\"flow\":\"f\",\"items\":[",
                        profile);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pc_buf_appendf(&j, "%s{\"id\":\"i%zu\",\"type\":\"%s\",\"params\":%s", i ? "," : "", i,
                            type, params);
        if (rc == 0 && chain && i > 0) {
            rc = pc_buf_appendf(&j, ",\"deps\":[\"i%zu\"]", i - 1);
        }
        if (rc == 0) {
            rc = pc_buf_puts(&j, "}");
        }
    }
    if (rc == 0) {
        rc = pc_buf_puts(&j, "]}");
    }
    if (rc == 0) {
        rc = pc_flow_parse_json(pc_buf_str(&j), j.len, "bench", out, &err);
        if (rc != 0) {
            (void)fprintf(stderr, "bench: flow: %s\n", err.msg);
        }
    }
    pc_buf_cleanup(&j);
    return rc;
}

void kit_submitter_init(struct kit_submitter *s, redisContext *c)
{
    memset(s, 0, sizeof(*s));
    s->c = c;
    pc_ulid_gen_init(&s->gen, NULL, NULL, NULL, NULL);
}

int kit_group(redisContext *c)
{
    char queue[PC_KEY_MAX];
    redisReply *r = NULL;
    int rc = 0;

    if (pc_key_queue(queue, sizeof(queue), PREFIX, QUEUE) < 0) {
        return -1;
    }
    r = kit_cmd(c, "XGROUP CREATE %s %s 0 MKSTREAM", queue, GROUP);
    if (r == NULL || (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)) {
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

int kit_submit(struct kit_submitter *s, const struct pc_flow *flow, enum pc_cmd cmd,
               char id[KIT_ID_MAX])
{
    struct msg_job job;
    struct pc_buf bytes;
    struct pc_err err;
    enum pc_block_kind blocks[PC_BLOCKS_MAX];
    int rc;

    memset(&job, 0, sizeof(job));
    pc_err_clear(&err);
    if (pc_ulid_next(&s->gen, job.id, &err) != 0) {
        return -1;
    }
    job.cmd = cmd;
    job.sync = PC_SYNC_BOTH;
    job.strategy.kind = PC_STRATEGY_FINISH_CURRENT;
    (void)pc_id_set(&job.queue, QUEUE, strlen(QUEUE), "queue", NULL);
    job.created_ms = pc_ulid_time_ms(job.id, PC_ULID_LEN);
    job.flow = *flow; /* borrowed: never cleaned up here */
    pc_submit_colocate_id(job.id, job.flow.app.s, job.flow.profile.s);
    rc = msg_job_encode(&job, &bytes, &err);
    if (rc != 0) {
        (void)fprintf(stderr, "bench: job: %s\n", err.msg);
        return rc;
    }
    {
        struct pc_redis_args a[PC_SUBMIT_CMDS];
        bool ok = pc_submit_args(PREFIX, 1, &job, bytes.data, bytes.len,
                                 pc_cmd_blocks(cmd, job.sync, blocks), a) == 0;

        for (size_t k = 0; ok && k < PC_SUBMIT_CMDS; k++) {
            const char *argv[32];

            ok = a[k].n <= sizeof(argv) / sizeof(argv[0]);
            if (ok) {
                pc_redis_args_argv(&a[k], argv);
                ok = redisAppendCommandArgv(s->c, (int)a[k].n, argv, a[k].lens) == REDIS_OK;
            }
        }
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        if (!ok) {
            pc_buf_cleanup(&bytes);
            return -1;
        }
    }
    s->pending += PC_SUBMIT_CMDS;
    memcpy(id, job.id, KIT_ID_MAX);
    pc_buf_cleanup(&bytes);
    return 0;
}

int kit_submit_sync(struct kit_submitter *s)
{
    int rc = 0;

    while (s->pending > 0) {
        void *v = NULL;
        redisReply *r = NULL;

        if (redisGetReply(s->c, &v) != REDIS_OK) {
            (void)fprintf(stderr, "bench: submit: %s\n", s->c->errstr);
            return -1;
        }
        r = v;
        s->pending--;
        if (r->type == REDIS_REPLY_ERROR) {
            (void)fprintf(stderr, "bench: submit: %s\n", r->str);
            rc = -1;
        } else if (r->type == REDIS_REPLY_STRING && r->len < sizeof(s->last_entry)) {
            memcpy(s->last_entry, r->str, r->len);
            s->last_entry[r->len] = '\0';
        }
        freeReplyObject(r);
    }
    return rc;
}

bool kit_field_is(const redisReply *fields, const char *field, const char *value)
{
    const redisReply *v = kit_field(fields, field);

    return v != NULL && v->type == REDIS_REPLY_STRING && v->len == strlen(value) &&
           memcmp(v->str, value, v->len) == 0;
}

/* Hands a synthesised event to cb as the entry's fields would come from Redis. */
static int fold_event(const struct msg_event *ev, uint64_t t_us, kit_event_cb *cb, void *ctx)
{
    struct msg_event_fields f;
    redisReply el[MSG_EVENT_FIELDS_MAX];
    redisReply *ptr[MSG_EVENT_FIELDS_MAX];
    redisReply fields;
    char arena[2048];
    size_t used = 0;

    if (msg_event_to_fields(ev, &f, NULL) != 0) {
        return 0;
    }
    memset(el, 0, sizeof(el));
    for (size_t i = 0; i < f.n; i++) {
        if (f.argvlen[i] + 1 > sizeof(arena) - used) {
            return 0;
        }
        memcpy(arena + used, f.argv[i], f.argvlen[i]);
        arena[used + f.argvlen[i]] = '\0';
        el[i].type = REDIS_REPLY_STRING;
        el[i].str = arena + used;
        el[i].len = f.argvlen[i];
        ptr[i] = &el[i];
        used += f.argvlen[i] + 1;
    }
    memset(&fields, 0, sizeof(fields));
    fields.type = REDIS_REPLY_ARRAY;
    fields.elements = f.n;
    fields.element = ptr;
    return cb(ctx, t_us, &fields);
}

/*
 * The registration (exec_follow, events_fold.h), as every follower does it
 * before reading: *state tells what to read; a folded execution's events
 * go to cb at once (*stop when cb asked to stop).
 */
static int follow_register(redisContext *c, char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX], char *last,
                           size_t last_size, kit_event_cb *cb, void *ctx,
                           enum pc_follow_state *state, int *stop)
{
    redisReply *r = kit_cmd(c, "EVAL %s 4 %s %s %s %s", pc_script_source(PC_SCRIPT_EXEC_FOLLOW),
                            keys[0], keys[1], keys[2], keys[3]);
    uint64_t t = kit_now_us();
    struct pc_exec_follow fo;
    struct pc_err err;

    if (r == NULL) {
        return -1;
    }
    pc_err_clear(&err);
    if (pc_exec_follow_parse(r, &fo, &err) != 0) {
        (void)fprintf(stderr, "bench: %s\n", err.msg);
        freeReplyObject(r);
        return -1;
    }
    freeReplyObject(r);
    *state = fo.state;
    for (size_t k = pc_events_fold_after(&fo.fold, last); k < fo.fold.n && !*stop; k++) {
        if (pc_events_fold_id(k, last, last_size) < 0) {
            break;
        }
        *stop = fold_event(&fo.fold.ev[k], t, cb, ctx);
    }
    pc_exec_follow_free(&fo);
    return 0;
}

int kit_follow(redisContext *c, const char *id, char *last, size_t last_size, uint64_t timeout_us,
               kit_event_cb *cb, void *ctx)
{
    char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX];
    const char *key = keys[2];
    uint64_t deadline = kit_now_us() + timeout_us;
    enum pc_follow_state state = PC_FOLLOW_UNKNOWN;
    int stop = 0;

    if (pc_exec_follow_keys(keys, PREFIX, id) != 0) {
        return -1;
    }
    if (last[0] == '\0') {
        (void)snprintf(last, last_size, "0-0");
    }
    if (follow_register(c, keys, last, last_size, cb, ctx, &state, &stop) != 0) {
        return -1;
    }
    while (!stop && state != PC_FOLLOW_UNKNOWN && state != PC_FOLLOW_FOLDED &&
           kit_now_us() < deadline) {
        /* A finished execution's stream is read without waiting. */
        redisReply *r = state == PC_FOLLOW_FINISHED
                            ? kit_cmd(c, "XREAD COUNT 1000 STREAMS %s %s", key, last)
                            : kit_cmd(c, "XREAD COUNT 1000 BLOCK 1000 STREAMS %s %s", key, last);
        uint64_t t = kit_now_us();
        const redisReply *entries = NULL;
        size_t got = 0;

        if (r == NULL) {
            return -1;
        }
        if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
            r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2) {
            entries = r->element[0]->element[1];
        }
        for (size_t i = 0; entries != NULL && !stop && i < entries->elements; i++) {
            const redisReply *e = entries->element[i];

            if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) {
                continue;
            }
            (void)snprintf(last, last_size, "%.*s", (int)e->element[0]->len, e->element[0]->str);
            stop = cb(ctx, t, e->element[1]);
            got++;
        }
        freeReplyObject(r);
        if (!stop && got == 0) {
            if (state == PC_FOLLOW_FINISHED) {
                break; /* nothing left */
            }
            if (follow_register(c, keys, last, last_size, cb, ctx, &state, &stop) != 0) {
                return -1;
            }
        }
    }
    if (stop) {
        return 0;
    }
    (void)fprintf(stderr, "bench: execution %s: %s following its events\n", id,
                  kit_now_us() < deadline ? "no outcome" : "timed out");
    return -1;
}

struct outcome_wait {
    char *outcome;
    size_t size;
};

static int on_outcome_event(void *ctx, uint64_t t_us, const redisReply *fields)
{
    struct outcome_wait *w = ctx;
    const redisReply *oc = NULL;

    (void)t_us;
    if (!kit_field_is(fields, "kind", "outcome")) {
        return 0;
    }
    oc = kit_field(fields, "outcome");
    (void)snprintf(w->outcome, w->size, "%s",
                   oc != NULL && oc->type == REDIS_REPLY_STRING ? oc->str : "?");
    return 1;
}

int kit_wait_outcome(redisContext *c, const char *id, char *last, size_t last_size,
                     uint64_t timeout_us, char *outcome, size_t outcome_size)
{
    struct outcome_wait w = {outcome, outcome_size};

    if (outcome_size > 0) {
        outcome[0] = '\0';
    }

    return kit_follow(c, id, last, last_size, timeout_us, on_outcome_event, &w);
}

int kit_wait_drained(redisContext *c, const char *last_entry, uint64_t timeout_us, uint64_t poll_us)
{
    char queue[PC_KEY_MAX];
    uint64_t deadline = kit_now_us() + timeout_us;

    if (pc_key_queue(queue, sizeof(queue), PREFIX, QUEUE) < 0) {
        return -1;
    }
    while (kit_now_us() < deadline) {
        redisReply *r = kit_cmd(c, "XINFO GROUPS %s", queue);
        int done = 0;

        if (r == NULL) {
            return -1;
        }
        for (size_t g = 0; r->type == REDIS_REPLY_ARRAY && g < r->elements; g++) {
            const redisReply *name = kit_field(r->element[g], "name");
            const redisReply *pending = kit_field(r->element[g], "pending");
            const redisReply *delivered = kit_field(r->element[g], "last-delivered-id");

            if (name != NULL && name->type == REDIS_REPLY_STRING && strcmp(name->str, GROUP) == 0 &&
                pending != NULL && pending->type == REDIS_REPLY_INTEGER && pending->integer == 0 &&
                delivered != NULL && delivered->type == REDIS_REPLY_STRING &&
                strcmp(delivered->str, last_entry) == 0) {
                done = 1;
            }
        }
        freeReplyObject(r);
        if (done) {
            return 0;
        }
        kit_sleep_us(poll_us);
    }
    (void)fprintf(stderr, "bench: the queue did not drain in time\n");
    return -1;
}

/* ------------------------------------------------------------------------ */
/* Workers                                                                   */

void kit_fleet_init(struct kit_fleet *f, const struct kit_opts *o, const char *label)
{
    memset(f, 0, sizeof(*f));
    f->o = o;
    f->label = label;
}

int kit_fleet_start(struct kit_fleet *f, unsigned concurrency, unsigned lease_ms)
{
    const struct kit_opts *o = f->o;
    posix_spawn_file_actions_t fa;
    const char *argv[16 + KIT_EXTRA_ARGS_MAX];
    char url[300];
    char conc[16];
    char lease[16];
    size_t n = 0;
    size_t i = f->n;
    pid_t pid = 0;
    int rc;

    if (f->n == KIT_WORKERS_MAX) {
        return -1;
    }
    (void)snprintf(url, sizeof(url), "redis://%s:%d", o->host, o->port);
    (void)snprintf(conc, sizeof(conc), "%u", concurrency);
    (void)snprintf(lease, sizeof(lease), "%u", lease_ms);
    (void)snprintf(f->log[i], sizeof(f->log[i]), "%s/%s-w%zu.log", o->dir, f->label, i);
    argv[n++] = o->worker;
    argv[n++] = "--redis";
    argv[n++] = url;
    argv[n++] = "--prefix";
    argv[n++] = PREFIX;
    argv[n++] = "--queue";
    argv[n++] = QUEUE;
    argv[n++] = "--plugin";
    argv[n++] = o->plugin;
    argv[n++] = "--concurrency";
    argv[n++] = conc;
    if (lease_ms != 0) {
        argv[n++] = "--lease-ms";
        argv[n++] = lease;
    }
    for (size_t k = 0; k < o->n_extra; k++) {
        argv[n++] = o->extra[k];
    }
    argv[n] = NULL;
    if (posix_spawn_file_actions_init(&fa) != 0) {
        return -1;
    }
    rc = posix_spawn_file_actions_addopen(&fa, 1, f->log[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (rc == 0) {
        rc = posix_spawn_file_actions_adddup2(&fa, 1, 2);
    }
    if (rc == 0) {
        rc = posix_spawn(&pid, o->worker, &fa, NULL, (char *const *)(void *)argv, environ);
    }
    (void)posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        (void)fprintf(stderr, "bench: cannot start %s: %s\n", o->worker, strerror(rc));
        return -1;
    }
    f->pid[i] = pid;
    f->n++;
    return 0;
}

static bool consumer_of(const char *name, size_t len, pid_t pid)
{
    char needle[32];
    int n = snprintf(needle, sizeof(needle), ":%ld:", (long)pid);

    if (n <= 0 || (size_t)n > len) {
        return false;
    }
    for (size_t i = 0; i + (size_t)n <= len; i++) {
        if (memcmp(name + i, needle, (size_t)n) == 0) {
            return true;
        }
    }
    return false;
}

long kit_fleet_find(const struct kit_fleet *f, const char *consumer, size_t len)
{
    for (size_t i = 0; i < f->n; i++) {
        if (f->pid[i] > 0 && consumer_of(consumer, len, f->pid[i])) {
            return (long)i;
        }
    }
    return -1;
}

int kit_fleet_ready(struct kit_fleet *f, redisContext *c)
{
    char queue[PC_KEY_MAX];
    uint64_t deadline = kit_now_us() + 20000000u;

    if (pc_key_queue(queue, sizeof(queue), PREFIX, QUEUE) < 0) {
        return -1;
    }
    while (kit_now_us() < deadline) {
        redisReply *r = kit_cmd(c, "XINFO CONSUMERS %s %s", queue, GROUP);
        size_t found = 0;
        size_t want = 0;

        if (r == NULL) {
            return -1;
        }
        for (size_t i = 0; i < f->n; i++) {
            if (f->pid[i] <= 0) {
                continue;
            }
            want++;
            for (size_t k = 0; r->type == REDIS_REPLY_ARRAY && k < r->elements; k++) {
                const redisReply *name = kit_field(r->element[k], "name");

                if (name != NULL && name->type == REDIS_REPLY_STRING &&
                    consumer_of(name->str, name->len, f->pid[i])) {
                    found++;
                    break;
                }
            }
        }
        /* A worker started through a wrapper (perf, strace) has another
         * pid: after FLUSHALL every consumer of the group is ours. */
        if (found < want && r->type == REDIS_REPLY_ARRAY && r->elements >= want) {
            found = want;
        }
        freeReplyObject(r);
        if (found == want) {
            return 0;
        }
        for (size_t i = 0; i < f->n; i++) {
            int st = 0;

            if (f->pid[i] > 0 && waitpid(f->pid[i], &st, WNOHANG) == f->pid[i]) {
                (void)fprintf(stderr, "bench: worker %zu exited at start (see %s)\n", i, f->log[i]);
                f->pid[i] = 0;
                return -1;
            }
        }
        kit_sleep_us(10000);
    }
    (void)fprintf(stderr, "bench: workers not ready in time\n");
    return -1;
}

void kit_fleet_kill(struct kit_fleet *f, size_t i)
{
    int st = 0;

    if (i < f->n && f->pid[i] > 0) {
        (void)kill(f->pid[i], SIGKILL);
        (void)waitpid(f->pid[i], &st, 0);
        f->pid[i] = 0;
    }
}

void kit_fleet_stop(struct kit_fleet *f, bool kill9)
{
    uint64_t deadline = kit_now_us() + 15000000u;
    bool alive = true;

    for (size_t i = 0; i < f->n; i++) {
        if (f->pid[i] > 0) {
            (void)kill(f->pid[i], kill9 ? SIGKILL : SIGTERM);
        }
    }
    while (alive && kit_now_us() < deadline) {
        alive = false;
        for (size_t i = 0; i < f->n; i++) {
            int st = 0;

            if (f->pid[i] > 0 && waitpid(f->pid[i], &st, WNOHANG) == f->pid[i]) {
                f->pid[i] = 0;
            }
            alive = alive || f->pid[i] > 0;
        }
        if (alive) {
            kit_sleep_us(5000);
        }
    }
    for (size_t i = 0; i < f->n; i++) {
        kit_fleet_kill(f, i);
    }
}

double kit_fleet_cpu_s(const struct kit_fleet *f)
{
    double total = 0;
    long hz = sysconf(_SC_CLK_TCK);

    for (size_t i = 0; i < f->n; i++) {
        char path[64];
        char buf[1024];
        const char *p = NULL;
        FILE *fp = NULL;
        size_t n;

        if (f->pid[i] <= 0) {
            continue;
        }
        (void)snprintf(path, sizeof(path), "/proc/%ld/stat", (long)f->pid[i]);
        fp = fopen(path, "r");
        if (fp == NULL) {
            continue;
        }
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        (void)fclose(fp);
        buf[n] = '\0';
        /* Fields after the command name "(...)": state is field 3, utime
         * field 14 and stime field 15. */
        p = strrchr(buf, ')');
        for (int field = 2; p != NULL && field < 14; field++) {
            p = strchr(p + 1, ' ');
        }
        if (p != NULL) {
            char *end = NULL;
            unsigned long long ut = strtoull(p + 1, &end, 10);
            unsigned long long st = end != NULL ? strtoull(end + 1, NULL, 10) : 0;

            total += (double)(ut + st) / (double)(hz > 0 ? hz : 100);
        }
    }
    return total;
}

int kit_redis_cpu_s(redisContext *c, double *out)
{
    redisReply *r = kit_cmd(c, "INFO cpu");
    const char *u = NULL;
    const char *s = NULL;
    int rc = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        u = strstr(r->str, "used_cpu_user:");
        s = strstr(r->str, "used_cpu_sys:");
        if (u != NULL && s != NULL) {
            *out = strtod(u + 14, NULL) + strtod(s + 13, NULL);
            rc = 0;
        }
    }
    freeReplyObject(r);
    return rc;
}

int kit_cmdstats(redisContext *c, struct kit_cmdstats *out)
{
    redisReply *r = kit_cmd(c, "INFO commandstats");
    const char *p;
    int rc = -1;

    out->n = 0;
    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        rc = 0;
        for (p = strstr(r->str, "cmdstat_"); p != NULL && out->n < KIT_CMDSTATS_MAX;
             p = strstr(p, "cmdstat_")) {
            struct kit_cmdstat *e = &out->e[out->n];
            const char *colon;
            const char *calls;
            const char *usec;
            size_t len;

            p += 8;
            colon = strchr(p, ':');
            calls = strstr(p, "calls=");
            usec = strstr(p, "usec=");
            if (colon == NULL || calls == NULL || usec == NULL) {
                break;
            }
            len = (size_t)(colon - p);
            if (len >= sizeof(e->name)) {
                continue;
            }
            memcpy(e->name, p, len);
            e->name[len] = '\0';
            e->calls = strtoull(calls + 6, NULL, 10);
            e->usec = strtoull(usec + 5, NULL, 10);
            out->n++;
        }
    }
    freeReplyObject(r);
    return rc;
}

static bool cmd_in_script(const char *name)
{
    /* Top-level commands of the fleet: the rest runs inside its scripts. */
    static const char *const top[] = {
        "evalsha",    "eval",        "xack",          "xdel",
        "xreadgroup", "xautoclaim",  "xclaim",        "psubscribe",
        "subscribe",  "ping",        "hello",         "client|setname",
        "client",     "script|load", "xgroup|create", "xgroup|createconsumer",
        "multi",      "exec"};

    for (size_t i = 0; i < sizeof(top) / sizeof(top[0]); i++) {
        if (strcmp(name, top[i]) == 0) {
            return false;
        }
    }
    return true;
}

static bool cmd_of_driver(const char *name)
{
    return strcmp(name, "info") == 0 || strncmp(name, "xinfo", 5) == 0;
}

struct cmd_delta {
    const char *name;
    uint64_t calls;
    uint64_t usec;
};

static int cmp_delta(const void *a, const void *b)
{
    const struct cmd_delta *x = a;
    const struct cmd_delta *y = b;

    return x->usec < y->usec ? 1 : x->usec > y->usec ? -1 : strcmp(x->name, y->name);
}

void kit_cmdstats_print(const char *label, const struct kit_cmdstats *before,
                        const struct kit_cmdstats *after, size_t executions)
{
    struct cmd_delta d[KIT_CMDSTATS_MAX];
    size_t n = 0;
    double calls = 0;
    double usec = 0;
    double ex = executions > 0 ? (double)executions : 1.0;

    for (size_t i = 0; i < after->n; i++) {
        uint64_t c0 = 0;
        uint64_t u0 = 0;

        for (size_t j = 0; j < before->n; j++) {
            if (strcmp(before->e[j].name, after->e[i].name) == 0) {
                c0 = before->e[j].calls;
                u0 = before->e[j].usec;
                break;
            }
        }
        if (after->e[i].calls <= c0) {
            continue;
        }
        d[n].name = after->e[i].name;
        d[n].calls = after->e[i].calls - c0;
        d[n].usec = after->e[i].usec >= u0 ? after->e[i].usec - u0 : 0;
        if (!cmd_of_driver(d[n].name) && !cmd_in_script(d[n].name)) {
            calls += (double)d[n].calls;
            usec += (double)d[n].usec;
        }
        n++;
    }
    qsort(d, n, sizeof(d[0]), cmp_delta);
    printf("bench=commandstats %s executions=%zu calls_per_execution=%.2f us_per_execution=%.1f",
           label, executions, calls / ex, usec / ex);
    for (size_t i = 0; i < n; i++) {
        printf(" %s%s=%.2f/%.2f", cmd_of_driver(d[i].name) ? "driver:" : "", d[i].name,
               (double)d[i].calls / ex, (double)d[i].usec / ex);
    }
    printf("\n");
}

int kit_proc_status(pid_t pid, uint64_t *rss_kb, uint64_t *hwm_kb, uint64_t *threads)
{
    char path[64];
    char line[256];
    FILE *fp = NULL;

    (void)snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    fp = fopen(path, "r");
    if (fp == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), fp) != NULL) {
        if (strncmp(line, "VmRSS:", 6) == 0) {
            *rss_kb = strtoull(line + 6, NULL, 10);
        } else if (strncmp(line, "VmHWM:", 6) == 0) {
            *hwm_kb = strtoull(line + 6, NULL, 10);
        } else if (strncmp(line, "Threads:", 8) == 0) {
            *threads = strtoull(line + 8, NULL, 10);
        }
    }
    (void)fclose(fp);
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Statistics                                                                */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a;
    double y = *(const double *)b;

    return x < y ? -1 : x > y;
}

double kit_pct(double *v, size_t n, double p)
{
    size_t k;

    if (n == 0) {
        return NAN;
    }
    qsort(v, n, sizeof(*v), cmp_double);
    k = (size_t)ceil(p * (double)n);
    return v[k == 0 ? 0 : k - 1];
}
