/*
 * redis_sync.c - the blocking client: a private event loop run inside each
 * call, over one struct pc_redis_conn.
 *
 * Each appended command gets a slot in a FIFO; its callback stores a copy of
 * the reply there (replies are only borrowed during callbacks). get_reply
 * runs the loop until the oldest slot is filled. A NULL reply (the command
 * did not complete) marks the client broken.
 */
#include "peace/redis_sync.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "peace/redis_conn.h"

#define WHY_MAX 200

struct slot {
    struct pc_redis_sync *s;
    bool done;
    redisReply *reply; /* owned; NULL = failed */
    struct slot *next;
};

struct pc_redis_sync {
    struct event_base *base; /* owned */
    struct pc_redis_conn *conn;
    struct pc_redis_url url;
    char where[PC_REDIS_HOST_MAX + 32];
    uint32_t connect_timeout_ms;
    uint32_t cmd_timeout_ms;
    bool broken;
    bool state_known; /* the connection reported since the last connect */
    bool ready;
    char why[WHY_MAX];
    struct slot *head; /* FIFO of appended commands */
    struct slot *tail;
};

redisReply *pc_redis_reply_dup(const redisReply *r)
{
    redisReply *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->type = r->type;
    d->integer = r->integer;
    if (r->type == REDIS_REPLY_ARRAY) {
        if (r->elements > 0) {
            d->element = calloc(r->elements, sizeof(*d->element));
            if (d->element == NULL) {
                free(d);
                return NULL;
            }
            for (size_t i = 0; i < r->elements; i++) {
                d->element[i] = pc_redis_reply_dup(r->element[i]);
                d->elements = i + 1;
                if (d->element[i] == NULL) {
                    freeReplyObject(d);
                    return NULL;
                }
            }
        }
    } else if (r->str != NULL && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ||
                                  r->type == REDIS_REPLY_ERROR)) {
        d->str = malloc(r->len + 1);
        if (d->str == NULL) {
            free(d);
            return NULL;
        }
        memcpy(d->str, r->str, r->len);
        d->str[r->len] = '\0';
        d->len = r->len;
    }
    return d;
}

static void on_state(void *ctx, bool ready, const char *why)
{
    struct pc_redis_sync *s = ctx;

    s->state_known = true;
    s->ready = ready;
    if (!ready) {
        (void)snprintf(s->why, sizeof(s->why), "%s", why);
    }
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    bool *expired = arg;

    (void)fd;
    (void)what;
    *expired = true;
}

static void drop_conn(struct pc_redis_sync *s)
{
    /* Pending slots complete with NULL (their callbacks run in destroy). */
    pc_redis_conn_destroy(s->conn);
    s->conn = NULL;
}

static int dial(struct pc_redis_sync *s, struct pc_err *err)
{
    struct pc_redis_conn_opts o;
    struct timeval tv = {(time_t)(s->connect_timeout_ms / 1000u),
                         (suseconds_t)((s->connect_timeout_ms % 1000u) * 1000u)};
    struct event *timer = NULL;
    bool expired = false;
    int rc;

    drop_conn(s);
    s->broken = true;
    s->state_known = false;
    s->ready = false;
    s->why[0] = '\0';
    memset(&o, 0, sizeof(o));
    o.name = "cli";
    o.connect_timeout_ms = s->connect_timeout_ms;
    o.cmd_timeout_ms = s->cmd_timeout_ms;
    o.on_state = on_state;
    o.state_ctx = s;
    o.ordered = true; /* pipelines are written for one server's order */
    rc = pc_redis_conn_create(s->base, &s->url, &o, &s->conn, err);
    if (rc != 0) {
        return rc;
    }
    timer = evtimer_new(s->base, on_timeout, &expired);
    if (timer == NULL || evtimer_add(timer, &tv) != 0) {
        if (timer != NULL) {
            event_free(timer);
        }
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    while (!s->state_known && !expired) {
        if (event_base_loop(s->base, EVLOOP_ONCE) < 0) {
            break;
        }
    }
    event_free(timer);
    if (!s->ready) {
        rc = pc_err_set(err, PC_EREDIS, "cannot connect to Redis at %s: %s", s->where,
                        s->state_known && s->why[0] != '\0' ? s->why : "no answer in time");
        drop_conn(s);
        return rc;
    }
    s->broken = false;
    return 0;
}

int pc_redis_sync_connect(const struct pc_redis_url *url, uint32_t connect_timeout_ms,
                          uint32_t cmd_timeout_ms, struct pc_redis_sync **out, struct pc_err *err)
{
    struct pc_redis_sync *s = NULL;
    int rc;

    if (url == NULL || out == NULL) {
        return pc_err_set(err, PC_EINVAL, "redis: missing argument");
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    s->base = event_base_new();
    if (s->base == NULL) {
        free(s);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    s->url = *url;
    s->connect_timeout_ms = connect_timeout_ms != 0 ? connect_timeout_ms : 3000;
    s->cmd_timeout_ms = cmd_timeout_ms != 0 ? cmd_timeout_ms : 10000;
    if (pc_redis_url_describe(url, s->where, sizeof(s->where)) < 0) {
        (void)snprintf(s->where, sizeof(s->where), "?");
    }
    rc = dial(s, err);
    if (rc != 0) {
        pc_redis_sync_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

static void slots_clear(struct pc_redis_sync *s)
{
    while (s->head != NULL) {
        struct slot *next = s->head->next;

        if (!s->head->done) {
            /* Still referenced by a pending callback: it completes (with
             * NULL) when the connection is destroyed, just below. */
            s->head->s = NULL;
        } else {
            freeReplyObject(s->head->reply);
            free(s->head);
        }
        s->head = next;
    }
    s->tail = NULL;
}

void pc_redis_sync_destroy(struct pc_redis_sync *s)
{
    if (s == NULL) {
        return;
    }
    slots_clear(s);
    drop_conn(s);
    if (s->base != NULL) {
        event_base_free(s->base);
    }
    memset(&s->url, 0, sizeof(s->url));
    free(s);
}

bool pc_redis_sync_broken(const struct pc_redis_sync *s)
{
    return s == NULL || s->broken || s->conn == NULL;
}

int pc_redis_sync_reconnect(struct pc_redis_sync *s, struct pc_err *err)
{
    slots_clear(s);
    return dial(s, err);
}

static void on_reply(void *arg, const redisReply *reply)
{
    struct slot *sl = arg;

    if (sl->s == NULL) {
        free(sl); /* abandoned by slots_clear */
        return;
    }
    sl->done = true;
    if (reply != NULL) {
        sl->reply = pc_redis_reply_dup(reply);
    }
    if (sl->reply == NULL) {
        sl->s->broken = true;
    }
}

int pc_redis_sync_append(struct pc_redis_sync *s, int argc, const char *const *argv,
                         const size_t *lens, struct pc_err *err)
{
    struct slot *sl = NULL;
    int rc;

    if (pc_redis_sync_broken(s)) {
        return pc_err_set(err, PC_EREDIS, "Redis at %s: not connected", s->where);
    }
    sl = calloc(1, sizeof(*sl));
    if (sl == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    sl->s = s;
    rc = pc_redis_cmd(s->conn, argc, argv, lens, 0, on_reply, sl);
    if (rc != 0) {
        free(sl);
        return pc_err_set(err, rc, "Redis at %s: cannot send %.*s", s->where,
                          argc > 0 && lens[0] < 32 ? (int)lens[0] : 0, argc > 0 ? argv[0] : "");
    }
    if (s->tail != NULL) {
        s->tail->next = sl;
    } else {
        s->head = sl;
    }
    s->tail = sl;
    return 0;
}

int pc_redis_sync_get_reply(struct pc_redis_sync *s, redisReply **reply, struct pc_err *err)
{
    struct slot *sl = s->head;
    int rc = 0;

    if (sl == NULL) {
        return pc_err_set(err, PC_EINTERNAL, "Redis at %s: no command awaits a reply", s->where);
    }
    while (!sl->done) {
        if (event_base_loop(s->base, EVLOOP_ONCE) < 0) {
            return pc_err_set(err, PC_EIO, "Redis at %s: event loop failed", s->where);
        }
    }
    s->head = sl->next;
    if (s->head == NULL) {
        s->tail = NULL;
    }
    if (sl->reply == NULL) {
        s->broken = true;
        rc = pc_err_set(err, PC_EREDIS, "Redis at %s: connection lost or command timed out",
                        s->where);
    } else {
        *reply = sl->reply;
    }
    free(sl);
    return rc;
}
