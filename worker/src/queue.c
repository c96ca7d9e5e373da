/*
 * queue.c - the consumer groups, blocking reads and takeover sweeps of a
 * worker's queue partitions (worker/queue.h).
 *
 * Per partition: its stream key, its read connection, whether its group
 * exists (XGROUP CREATE ... 0 MKSTREAM at every command (re)connect;
 * BUSYGROUP means it does), the read in flight and the COUNT it holds, the
 * XAUTOCLAIM cursor, and a retry timer after a failed read or group
 * creation. Every read and claim goes through the hooks' free slots, so the
 * worker never receives more entries than it can start (claims excepted,
 * as before partitions: a claim sweep takes what is free while reads are
 * blocked, so a busy fleet still takes over a dead worker's entries).
 */
#include "worker/queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "worker/logic.h"
#include "worker/parts.h"

struct part {
    struct wk_queue *q;
    unsigned index;
    char key[PC_KEY_MAX];
    char name[16]; /* connection name: "read" or "read:N" */
    struct pc_redis_conn *read;
    struct event *retry;
    bool group_ready;
    bool group_creating;
    bool reading;
    unsigned held; /* COUNT of the read in flight */
    char claim_cursor[WK_ENTRY_ID_MAX + 1];
};

struct wk_queue {
    struct event_base *base;
    struct pc_redis_conn *cmd;
    const struct wk_log *log;
    struct wk_queue_hooks hooks;
    char consumer[128];
    char group[64];
    uint32_t lease_ms;
    uint32_t read_block_ms;
    uint32_t cmd_timeout_ms;
    uint32_t retry_ms;
    unsigned nparts;
    unsigned cursor;     /* read turns (wk_read_plan) */
    bool claiming;       /* a sweep is running */
    unsigned claim_next; /* the partition the sweep claims next */
    bool stopping;
    struct part parts[];
};

static void read_part(struct wk_queue *q);
static void create_group(struct part *p);

static int send_argv(struct pc_redis_conn *c, int argc, const char *const *argv,
                     pc_redis_reply_cb *cb, void *arg)
{
    size_t lens[8];

    for (int i = 0; i < argc; i++) {
        lens[i] = strlen(argv[i]);
    }
    return pc_redis_cmd(c, argc, argv, lens, 0, cb, arg);
}

static void note_error(struct wk_queue *q, const char *what, const redisReply *reply)
{
    if (q->hooks.error != NULL && reply != NULL && reply->type == REDIS_REPLY_ERROR) {
        q->hooks.error(q->hooks.ctx, what, reply);
    }
}

static void schedule_retry(struct part *p)
{
    struct timeval tv = {.tv_sec = p->q->retry_ms / 1000,
                         .tv_usec = (suseconds_t)(p->q->retry_ms % 1000) * 1000};

    (void)evtimer_add(p->retry, &tv);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct part *p = arg;

    (void)fd;
    (void)what;
    if (!p->group_ready) {
        create_group(p);
    }
    read_part(p->q);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */

static void on_read_reply(void *arg, const redisReply *reply)
{
    struct part *p = arg;
    struct wk_queue *q = p->q;
    char text[160];

    p->reading = false;
    p->held = 0;
    if (q->stopping || reply == NULL) {
        return; /* the connection went away; reading resumes when it is back */
    }
    if (pc_redis_reply_is_error(reply, "NOGROUP")) {
        p->group_ready = false;
        create_group(p);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        note_error(q, "XREADGROUP", reply);
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(q->log, WK_LOG_WARN, "read_failed", "stream=%s err=\"%s\"", p->key, text);
        schedule_retry(p);
        read_part(q);
        return;
    }
    if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t s = 0; s < reply->elements; s++) {
            const redisReply *stream = reply->element[s];

            if (stream->type == REDIS_REPLY_ARRAY && stream->elements == 2) {
                q->hooks.entries(q->hooks.ctx, p->index, stream->element[1]);
            }
        }
    }
    read_part(q);
}

static bool part_can_read(const struct part *p)
{
    return p->group_ready && pc_redis_conn_ready(p->read) && !evtimer_pending(p->retry, NULL);
}

/* Starts the reads the plan grants (worker/parts.h). */
static void read_part(struct wk_queue *q)
{
    struct wk_part_state st[PC_PARTITIONS_MAX];
    unsigned grant[PC_PARTITIONS_MAX];
    bool all_covered = false;
    uint32_t block;

    if (q->stopping || !q->hooks.may_take(q->hooks.ctx)) {
        return;
    }
    for (unsigned i = 0; i < q->nparts; i++) {
        st[i].can_read = part_can_read(&q->parts[i]);
        st[i].reading = q->parts[i].reading;
        st[i].held = q->parts[i].held;
    }
    if (wk_read_plan(q->nparts, st, q->hooks.free_slots(q->hooks.ctx), &q->cursor, grant,
                     &all_covered) == 0) {
        return;
    }
    block = wk_read_block_ms(all_covered, q->read_block_ms);
    for (unsigned i = 0; i < q->nparts; i++) {
        struct part *p = &q->parts[i];
        struct pc_redis_args a;

        if (grant[i] == 0) {
            continue;
        }
        pc_redis_args_init(&a);
        pc_redis_args_addz(&a, "XREADGROUP");
        pc_redis_args_addz(&a, "GROUP");
        pc_redis_args_addz(&a, q->group);
        pc_redis_args_addz(&a, q->consumer);
        pc_redis_args_addz(&a, "COUNT");
        pc_redis_args_addu64(&a, grant[i]);
        pc_redis_args_addz(&a, "BLOCK");
        pc_redis_args_addu64(&a, block);
        pc_redis_args_addz(&a, "STREAMS");
        pc_redis_args_addz(&a, p->key);
        pc_redis_args_addz(&a, ">");
        if (pc_redis_cmd_args(p->read, &a, block + q->cmd_timeout_ms, on_read_reply, p) == 0) {
            p->reading = true;
            p->held = grant[i];
        }
        pc_redis_args_cleanup(&a);
    }
}

void wk_queue_read(struct wk_queue *q)
{
    if (q != NULL) {
        read_part(q);
    }
}

/* ------------------------------------------------------------------------ */
/* Takeover                                                                  */

static void claim_next(struct wk_queue *q);

static void on_claim_reply(void *arg, const redisReply *reply)
{
    struct part *p = arg;
    struct wk_queue *q = p->q;
    const redisReply *cur = NULL;

    if (q->stopping) {
        return;
    }
    note_error(q, "XAUTOCLAIM", reply);
    if (reply != NULL && reply->type == REDIS_REPLY_ARRAY && reply->elements >= 2) {
        cur = reply->element[0];
        if (cur->type == REDIS_REPLY_STRING && cur->len > 0 && cur->len < sizeof(p->claim_cursor)) {
            memcpy(p->claim_cursor, cur->str, cur->len);
            p->claim_cursor[cur->len] = '\0';
        }
        if (reply->element[1]->type == REDIS_REPLY_ARRAY && reply->element[1]->elements > 0) {
            wk_log(q->log, WK_LOG_INFO, "entries_claimed", "stream=%s count=%zu", p->key,
                   reply->element[1]->elements);
            q->hooks.entries(q->hooks.ctx, p->index, reply->element[1]);
        }
    }
    claim_next(q);
}

/* Claims the sweep's next partition, or ends the sweep. */
static void claim_next(struct wk_queue *q)
{
    while (q->claim_next < q->nparts) {
        struct part *p = &q->parts[q->claim_next++];
        unsigned n = q->hooks.free_slots(q->hooks.ctx);
        struct pc_redis_args a;
        int rc;

        if (n == 0 || !q->hooks.may_take(q->hooks.ctx)) {
            break;
        }
        if (!p->group_ready) {
            continue;
        }
        pc_redis_args_init(&a);
        pc_redis_args_addz(&a, "XAUTOCLAIM");
        pc_redis_args_addz(&a, p->key);
        pc_redis_args_addz(&a, q->group);
        pc_redis_args_addz(&a, q->consumer);
        pc_redis_args_addu64(&a, q->lease_ms);
        pc_redis_args_addz(&a, p->claim_cursor);
        pc_redis_args_addz(&a, "COUNT");
        pc_redis_args_addu64(&a, n);
        rc = pc_redis_cmd_args(q->cmd, &a, 0, on_claim_reply, p);
        pc_redis_args_cleanup(&a);
        if (rc == 0) {
            return; /* the reply continues the sweep */
        }
    }
    q->claiming = false;
}

void wk_queue_claim(struct wk_queue *q)
{
    if (q == NULL || q->stopping || q->claiming || !pc_redis_conn_ready(q->cmd)) {
        return;
    }
    q->claiming = true;
    q->claim_next = 0;
    claim_next(q);
}

/* ------------------------------------------------------------------------ */
/* Consumer groups                                                           */

static void on_announce_reply(void *arg, const redisReply *reply)
{
    struct part *p = arg;

    if (!p->q->stopping) {
        note_error(p->q, "XGROUP CREATECONSUMER", reply);
    }
}

static void on_group_reply(void *arg, const redisReply *reply)
{
    struct part *p = arg;
    struct wk_queue *q = p->q;
    char text[160];

    p->group_creating = false;
    if (q->stopping || reply == NULL) {
        return; /* retried when the connection is back */
    }
    if (reply->type == REDIS_REPLY_ERROR && !pc_redis_reply_is_error(reply, "BUSYGROUP")) {
        note_error(q, "XGROUP CREATE", reply);
        pc_redis_reply_text(reply, text, sizeof(text));
        wk_log(q->log, WK_LOG_ERROR, "group_failed", "stream=%s err=\"%s\"", p->key, text);
        schedule_retry(p);
        return;
    }
    p->group_ready = true;
    /* Visible in XINFO CONSUMERS from the start (Redis creates a consumer
     * only when it first receives an entry otherwise). */
    {
        const char *argv[5] = {"XGROUP", "CREATECONSUMER", p->key, q->group, q->consumer};

        if (send_argv(q->cmd, 5, argv, on_announce_reply, p) != 0) {
            wk_log(q->log, WK_LOG_DEBUG, "announce_failed", "consumer=%s", q->consumer);
        }
    }
    read_part(q);
    wk_queue_claim(q);
}

/* Created at the stream's start ("0"), so jobs queued before any worker ever
 * ran are not skipped; BUSYGROUP means it exists already. */
static void create_group(struct part *p)
{
    struct wk_queue *q = p->q;
    const char *argv[6] = {"XGROUP", "CREATE", p->key, q->group, "0", "MKSTREAM"};

    if (p->group_creating || q->stopping) {
        return;
    }
    if (send_argv(q->cmd, 6, argv, on_group_reply, p) == 0) {
        p->group_creating = true;
    }
}

void wk_queue_cmd_ready(struct wk_queue *q)
{
    for (unsigned i = 0; q != NULL && i < q->nparts; i++) {
        create_group(&q->parts[i]);
    }
}

/* ------------------------------------------------------------------------ */
/* Life                                                                      */

static void on_read_state(void *ctx, bool ready, const char *why)
{
    struct part *p = ctx;

    if (p->q->stopping) {
        return;
    }
    if (ready) {
        read_part(p->q);
    } else {
        wk_log(p->q->log, WK_LOG_DEBUG, "redis_down", "conn=%s err=\"%.200s\"", p->name, why);
    }
}

int wk_queue_create(const struct wk_queue_opts *o, struct wk_queue **out, struct pc_err *err)
{
    struct wk_queue *q = NULL;
    int rc = 0;

    if (o == NULL || o->partitions == 0 || o->partitions > PC_PARTITIONS_MAX ||
        o->hooks.free_slots == NULL || o->hooks.may_take == NULL || o->hooks.entries == NULL) {
        return pc_err_set(err, PC_EINVAL, "queue: bad options");
    }
    q = calloc(1, sizeof(*q) + o->partitions * sizeof(q->parts[0]));
    if (q == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    q->base = o->base;
    q->cmd = o->cmd;
    q->log = o->log;
    q->hooks = o->hooks;
    q->lease_ms = o->lease_ms;
    q->read_block_ms = o->read_block_ms;
    q->cmd_timeout_ms = o->cmd_timeout_ms;
    q->retry_ms = o->retry_ms > 0 ? o->retry_ms : 1000;
    q->nparts = o->partitions;
    if ((size_t)snprintf(q->consumer, sizeof(q->consumer), "%s", o->consumer) >=
            sizeof(q->consumer) ||
        (size_t)snprintf(q->group, sizeof(q->group), "%s", o->group) >= sizeof(q->group)) {
        free(q);
        return pc_err_set(err, PC_ELIMIT, "queue: consumer or group name too long");
    }
    for (unsigned i = 0; i < q->nparts && rc == 0; i++) {
        struct part *p = &q->parts[i];
        struct pc_redis_conn_opts co;

        p->q = q;
        p->index = i;
        (void)snprintf(p->claim_cursor, sizeof(p->claim_cursor), "0-0");
        if (q->nparts == 1) {
            (void)snprintf(p->name, sizeof(p->name), "read");
        } else {
            (void)snprintf(p->name, sizeof(p->name), "read:%u", i);
        }
        if (pc_key_queue_part(p->key, sizeof(p->key), o->prefix, o->queue, i, q->nparts) < 0) {
            rc = pc_err_set(err, PC_ELIMIT, "queue: a stream name does not fit");
            break;
        }
        p->retry = evtimer_new(q->base, on_retry, p);
        if (p->retry == NULL) {
            rc = pc_err_set(err, PC_ENOMEM, "out of memory");
            break;
        }
        memset(&co, 0, sizeof(co));
        co.name = p->name;
        co.cmd_timeout_ms = o->cmd_timeout_ms;
        co.on_state = on_read_state;
        co.state_ctx = p;
        rc = pc_redis_conn_create(q->base, o->url, &co, &p->read, err);
    }
    if (rc != 0) {
        wk_queue_destroy(q);
        return rc;
    }
    *out = q;
    return 0;
}

void wk_queue_stop(struct wk_queue *q)
{
    if (q != NULL) {
        q->stopping = true;
    }
}

void wk_queue_destroy(struct wk_queue *q)
{
    if (q == NULL) {
        return;
    }
    q->stopping = true;
    for (unsigned i = 0; i < q->nparts; i++) {
        pc_redis_conn_destroy(q->parts[i].read);
        if (q->parts[i].retry != NULL) {
            event_free(q->parts[i].retry);
        }
    }
    free(q);
}

const char *wk_queue_key(const struct wk_queue *q, unsigned part)
{
    return q->parts[part < q->nparts ? part : 0].key;
}

unsigned wk_queue_partitions(const struct wk_queue *q)
{
    return q->nparts;
}
