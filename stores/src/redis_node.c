/*
 * redis_node.c - one asynchronous hiredis connection to one Redis server on
 * libevent that keeps itself connected (redis_conn.c routes commands over
 * one or several of these).
 *
 * Design. hiredis 0.14 gives an async context with connect/disconnect
 * callbacks and nothing else: no timeouts, no reconnection, and a context
 * must never be freed from inside one of its own callbacks. So this file
 * owns one context at a time and wraps every command in a request that has
 * its own libevent timer:
 *
 *   - the request's callback runs exactly once: from hiredis (a reply, or
 *     NULL when the context is torn down) or from the timer (a timeout, or a
 *     deferred failure when the command was sent while not connected);
 *   - a timeout breaks the connection (every later reply would be stale);
 *   - teardown (timeouts, AUTH/SELECT failures, pc_redis_node_reset) always
 *     happens from a timer callback, never inside a hiredis callback, so
 *     redisAsyncFree never runs under hiredis's own frames;
 *   - after a failure, a reconnect timer fires after an exponential backoff
 *     with jitter; the disconnect callback only arms that timer.
 *
 * Connection states: DOWN (waiting for the reconnect timer), CONNECTING
 * (TCP/unix connect in progress, bounded by the connect timer), HANDSHAKE
 * (AUTH, SELECT and a PING in flight, same timer), READY, and CLOSING while
 * destroyed. Only READY accepts commands; others fail them (deferred).
 *
 * This is the only file that includes the hiredis libevent adapter: the
 * adapter defines static functions, and one copy is enough.
 */
#include "redis_node.h"
#include "redis_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>

#define CONN_NAME_MAX 31

enum conn_state {
    CONN_DOWN,
    CONN_CONNECTING,
    CONN_HANDSHAKE,
    CONN_READY,
    CONN_CLOSING,
};

struct req {
    struct pc_redis_node *c;
    pc_redis_reply_cb *cb;
    void *arg;
    struct event *timer; /* timeout, or the deferred failure */
    bool in_hiredis;     /* hiredis holds a callback pointing here */
    bool done;           /* cb has run */
    struct req *prev;
    struct req *next;
};

struct sub {
    struct pc_redis_node *c;
    pc_redis_reply_cb *cb;
    void *arg;
    struct sub *prev;
    struct sub *next;
};

struct pc_redis_node {
    struct event_base *base; /* borrowed */
    struct pc_redis_url url;
    char name[CONN_NAME_MAX + 1];
    uint32_t connect_timeout_ms;
    uint32_t cmd_timeout_ms;
    const struct timeval *common_timeout; /* cmd_timeout_ms, as a common timeout */
    uint32_t backoff_min_ms;
    uint32_t backoff_max_ms;
    pc_redis_state_cb *on_state;
    void *state_ctx;

    enum conn_state state;
    struct pc_redis_addr addr; /* tcp: the server of the current attempt */
    unsigned rotation;         /* next seed to dial (url.nseeds > 1) */
    redisAsyncContext *ac;     /* owned; NULL unless CONNECTING/HANDSHAKE/READY */
    unsigned attempt;          /* failed attempts since the last READY */
    unsigned handshake_pending;
    uint64_t rng;

    struct event *connect_timer;   /* bounds CONNECTING + HANDSHAKE */
    struct event *reconnect_timer; /* DOWN -> CONNECTING */
    struct event *drop_timer;      /* deferred teardown */
    char drop_why[PC__WHY_MAX];

    struct req *reqs; /* every live request */
    struct sub *subs; /* every live subscription */

    /* The command being sent, in RESP (hiredis copies it): formatting here
     * instead of in hiredis avoids an argv array and sds growth per
     * argument, the worker's largest cost per command. */
    char *out;
    size_t out_len;
    size_t out_cap;
};

/* Kept between commands up to this size; a larger one is freed after use. */
#define OUT_KEEP_MAX ((size_t)256 << 10)

static void conn_connect(struct pc_redis_node *c);
static void conn_drop(struct pc_redis_node *c, const char *why);

static uint32_t conn_rand(struct pc_redis_node *c)
{
    /* xorshift64*: jitter only, no need for more. */
    c->rng ^= c->rng >> 12;
    c->rng ^= c->rng << 25;
    c->rng ^= c->rng >> 27;
    return (uint32_t)((c->rng * UINT64_C(2685821657736338717)) >> 32);
}

/* ------------------------------------------------------------------------ */
/* State reporting                                                           */

static void notify(struct pc_redis_node *c, bool ready, const char *why)
{
    if (c->on_state != NULL && c->state != CONN_CLOSING) {
        c->on_state(c->state_ctx, ready, why != NULL ? why : "");
    }
}

static void schedule_reconnect(struct pc_redis_node *c)
{
    struct timeval tv;

    if (c->state == CONN_CLOSING) {
        return;
    }
    tv = pc__ms_tv(
        pc_redis_backoff_ms(c->attempt, c->backoff_min_ms, c->backoff_max_ms, conn_rand(c)));
    if (c->attempt < 64) {
        c->attempt++;
    }
    (void)evtimer_add(c->reconnect_timer, &tv);
}

/* A failure ended the current context (already freed or being freed by
 * hiredis): report it and arm the reconnect timer. */
static void conn_failed(struct pc_redis_node *c, const char *why)
{
    (void)evtimer_del(c->connect_timer);
    if (c->state == CONN_CLOSING) {
        return;
    }
    c->state = CONN_DOWN;
    notify(c, false, why);
    schedule_reconnect(c);
}

/* ------------------------------------------------------------------------ */
/* Requests                                                                  */

static void req_unlink_free(struct req *r)
{
    struct pc_redis_node *c = r->c;

    PC__DLIST_UNLINK(&c->reqs, r);
    (void)event_del(r->timer); /* lives in r's own allocation */
    free(r);
}

static void req_complete(struct req *r, const redisReply *reply)
{
    if (!r->done) {
        r->done = true;
        (void)evtimer_del(r->timer);
        r->cb(r->arg, reply);
    }
}

static void on_hiredis_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct req *r = privdata;
    struct pc_redis_node *c = r->c;

    r->in_hiredis = false;
    if (reply == NULL && c->ac == ac && c->state == CONN_READY) {
        /* The context is going away: refuse new commands from here on. */
        c->state = CONN_HANDSHAKE;
    }
    req_complete(r, reply);
    req_unlink_free(r);
}

static void on_req_timer(evutil_socket_t fd, short what, void *arg)
{
    struct req *r = arg;
    struct pc_redis_node *c = r->c;
    char why[PC__WHY_MAX];

    (void)fd;
    (void)what;
    if (!r->in_hiredis) {
        /* Deferred failure: the command was never sent. */
        req_complete(r, NULL);
        req_unlink_free(r);
        return;
    }
    /* Timed out. hiredis still points at r: r is freed when the context
     * is torn down below (its callback then sees done == true). */
    req_complete(r, NULL);
    (void)snprintf(why, sizeof(why), "a command timed out");
    if (c->ac != NULL) {
        conn_drop(c, why);
    }
}

/* One allocation per request: the timer event lives right after the
 * request (libevent's struct event is opaque, so its size is asked). */
static struct req *req_new(struct pc_redis_node *c, pc_redis_reply_cb *cb, void *arg)
{
    size_t head = (sizeof(struct req) + 15u) & ~(size_t)15u;
    struct req *r = calloc(1, head + event_get_struct_event_size());

    if (r == NULL) {
        return NULL;
    }
    r->timer = (struct event *)(void *)((char *)r + head);
    if (evtimer_assign(r->timer, c->base, on_req_timer, r) != 0) {
        free(r);
        return NULL;
    }
    r->c = c;
    r->cb = cb;
    r->arg = arg;
    r->next = c->reqs;
    if (c->reqs != NULL) {
        c->reqs->prev = r;
    }
    c->reqs = r;
    return r;
}

/* ------------------------------------------------------------------------ */
/* RESP formatting                                                           */

/* Room for `more` bytes in c->out; false when out of memory or too large. */
static bool out_reserve(struct pc_redis_node *c, size_t more)
{
    size_t cap = c->out_cap == 0 ? 1024 : c->out_cap;
    char *p = NULL;

    if (more > (size_t)PC__ARGS_MAX_BYTES * 2 - c->out_len) {
        return false;
    }
    if (c->out_len + more <= c->out_cap) {
        return true;
    }
    while (cap < c->out_len + more) {
        cap *= 2;
    }
    p = realloc(c->out, cap);
    if (p == NULL) {
        return false;
    }
    c->out = p;
    c->out_cap = cap;
    return true;
}

static bool out_begin(struct pc_redis_node *c, size_t nargs)
{
    c->out_len = 0;
    if (!out_reserve(c, 24)) {
        return false;
    }
    c->out[c->out_len++] = '*';
    c->out_len = (size_t)(pc__put_u64(c->out + c->out_len, nargs) - c->out);
    c->out[c->out_len++] = '\r';
    c->out[c->out_len++] = '\n';
    return true;
}

static bool out_arg(struct pc_redis_node *c, const void *p, size_t n)
{
    if (!out_reserve(c, n + 26)) {
        return false;
    }
    c->out[c->out_len++] = '$';
    c->out_len = (size_t)(pc__put_u64(c->out + c->out_len, n) - c->out);
    c->out[c->out_len++] = '\r';
    c->out[c->out_len++] = '\n';
    if (n > 0) {
        memcpy(c->out + c->out_len, p, n);
    }
    c->out_len += n;
    c->out[c->out_len++] = '\r';
    c->out[c->out_len++] = '\n';
    return true;
}

static void out_done(struct pc_redis_node *c)
{
    if (c->out_cap > OUT_KEEP_MAX) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
    c->out_len = 0;
}

/* Formats head then tail (either may be empty) into c->out. */
static int format_cmd(struct pc_redis_node *c, size_t n_head, const char *const *head,
                      const size_t *head_lens, const struct pc_redis_args *tail)
{
    size_t n_tail = tail != NULL ? tail->n : 0;
    bool ok = out_begin(c, n_head + n_tail);

    for (size_t i = 0; ok && i < n_head; i++) {
        ok = out_arg(c, head[i], head_lens[i]);
    }
    for (size_t i = 0; ok && i < n_tail; i++) {
        ok = out_arg(c, tail->data + tail->off[i], tail->lens[i]);
    }
    if (!ok) {
        out_done(c);
        return PC_ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Sending                                                                   */

/* Sends the command formatted in c->out on the current context regardless
 * of state (handshake included); fails it (deferred) when there is none. */
static int send_formatted(struct pc_redis_node *c, uint32_t timeout_ms, pc_redis_reply_cb *cb,
                          void *arg)
{
    struct req *r = NULL;
    struct timeval tv;

    if (c->state == CONN_CLOSING) {
        out_done(c);
        return PC_EREDIS;
    }
    r = req_new(c, cb, arg);
    if (r == NULL) {
        out_done(c);
        return PC_ENOMEM;
    }
    if (c->ac != NULL && c->state != CONN_DOWN && c->state != CONN_CONNECTING &&
        redisAsyncFormattedCommand(c->ac, on_hiredis_reply, r, c->out, c->out_len) == REDIS_OK) {
        r->in_hiredis = true;
        /* The default timeout is a libevent common timeout: O(1) to add. */
        tv = timeout_ms == 0 && c->common_timeout != NULL
                 ? *c->common_timeout
                 : pc__ms_tv(timeout_ms == 0 ? c->cmd_timeout_ms : timeout_ms);
    } else {
        tv = pc__ms_tv(0);
    }
    out_done(c);
    (void)evtimer_add(r->timer, &tv);
    return 0;
}

static int send_raw(struct pc_redis_node *c, int argc, const char *const *argv,
                    const size_t *argvlen, uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    int rc = format_cmd(c, (size_t)argc, argv, argvlen, NULL);

    return rc != 0 ? rc : send_formatted(c, timeout_ms, cb, arg);
}

/* A command that is not sent: its callback runs (with NULL) from a timer. */
static int defer_failure(struct pc_redis_node *c, pc_redis_reply_cb *cb, void *arg)
{
    struct req *r = NULL;
    struct timeval tv = {0, 0};

    if (c->state == CONN_CLOSING) {
        return PC_EREDIS;
    }
    r = req_new(c, cb, arg);
    if (r == NULL) {
        return PC_ENOMEM;
    }
    (void)evtimer_add(r->timer, &tv);
    return 0;
}

int pc_redis_node_cmd(struct pc_redis_node *c, int argc, const char *const *argv,
                      const size_t *argvlen, uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    if (c == NULL || argc <= 0 || argv == NULL || argvlen == NULL || cb == NULL) {
        return PC_EINVAL;
    }
    if (c->state == CONN_READY) {
        return send_raw(c, argc, argv, argvlen, timeout_ms, cb, arg);
    }
    return defer_failure(c, cb, arg);
}

int pc_redis_node_cmd_head_args(struct pc_redis_node *c, size_t n_head, const char *const *head,
                                const size_t *head_lens, const struct pc_redis_args *tail,
                                uint32_t timeout_ms, pc_redis_reply_cb *cb, void *arg)
{
    int rc;

    if (c == NULL || cb == NULL || (n_head > 0 && (head == NULL || head_lens == NULL)) ||
        (tail != NULL && tail->rc != 0)) {
        return tail != NULL && tail->rc != 0 ? tail->rc : PC_EINVAL;
    }
    if (n_head + (tail != NULL ? tail->n : 0) == 0 ||
        n_head + (tail != NULL ? tail->n : 0) > (size_t)INT32_MAX) {
        return PC_EINVAL;
    }
    if (c->state != CONN_READY) {
        return defer_failure(c, cb, arg);
    }
    rc = format_cmd(c, n_head, head, head_lens, tail);
    return rc != 0 ? rc : send_formatted(c, timeout_ms, cb, arg);
}

/* ------------------------------------------------------------------------ */
/* Subscriptions                                                             */

static void sub_unlink_free(struct sub *s)
{
    struct pc_redis_node *c = s->c;

    if (s->prev != NULL) {
        s->prev->next = s->next;
    } else {
        c->subs = s->next;
    }
    if (s->next != NULL) {
        s->next->prev = s->prev;
    }
    free(s);
}

static void on_sub_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    struct sub *s = privdata;

    (void)ac;
    s->cb(s->arg, reply);
    if (reply == NULL) {
        sub_unlink_free(s);
    }
}

int pc_redis_node_subscribe(struct pc_redis_node *c, int argc, const char *const *argv,
                            const size_t *argvlen, pc_redis_reply_cb *cb, void *arg)
{
    struct sub *s = NULL;

    /* hiredis keeps one callback per channel: one name per call, so the
     * final NULL callback runs exactly once per record. */
    if (c == NULL || argc != 2 || argv == NULL || argvlen == NULL || cb == NULL) {
        return PC_EINVAL;
    }
    if (c->state != CONN_READY || c->ac == NULL) {
        return PC_EREDIS;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        return PC_ENOMEM;
    }
    s->c = c;
    s->cb = cb;
    s->arg = arg;
    if (redisAsyncCommandArgv(c->ac, on_sub_reply, s, argc, (const char **)argv, argvlen) !=
        REDIS_OK) {
        free(s);
        return PC_EREDIS;
    }
    s->next = c->subs;
    if (c->subs != NULL) {
        c->subs->prev = s;
    }
    c->subs = s;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Connection life cycle                                                     */

/* Tears the current context down. Only from timer callbacks or destroy. */
static void conn_drop(struct pc_redis_node *c, const char *why)
{
    redisAsyncContext *ac = c->ac;
    char text[PC__WHY_MAX];

    (void)snprintf(text, sizeof(text), "%s", why);
    (void)evtimer_del(c->drop_timer);
    c->ac = NULL;
    if (c->state != CONN_CLOSING) {
        c->state = CONN_DOWN;
    }
    if (ac != NULL) {
        /* Pending callbacks run with NULL; our disconnect callback sees
         * ac != c->ac and does nothing. */
        redisAsyncFree(ac);
    }
    conn_failed(c, text);
}

static void on_drop_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pc_redis_node *c = arg;

    (void)fd;
    (void)what;
    if (c->ac != NULL) {
        conn_drop(c, c->drop_why);
    }
}

void pc_redis_node_reset(struct pc_redis_node *c, const char *why)
{
    struct timeval tv = {0, 0};

    if (c == NULL || c->ac == NULL || evtimer_pending(c->drop_timer, NULL)) {
        return;
    }
    (void)snprintf(c->drop_why, sizeof(c->drop_why), "%s", why != NULL ? why : "reset");
    (void)evtimer_add(c->drop_timer, &tv);
}

static void on_handshake_reply(void *arg, const redisReply *reply)
{
    struct pc_redis_node *c = arg;
    char text[PC__WHY_MAX - 40];
    char why[PC__WHY_MAX];

    if (c->state != CONN_HANDSHAKE) {
        return; /* an old context's reply, or the teardown's NULL */
    }
    if (reply == NULL) {
        return; /* the drop path reports the cause */
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        pc_redis_reply_text(reply, text, sizeof(text));
        (void)snprintf(why, sizeof(why), "connection set-up refused: %s", text);
        pc_redis_node_reset(c, why);
        c->handshake_pending = 0;
        return;
    }
    if (c->handshake_pending > 0 && --c->handshake_pending == 0) {
        (void)evtimer_del(c->connect_timer);
        c->state = CONN_READY;
        c->attempt = 0;
        notify(c, true, "");
    }
}

static void start_handshake(struct pc_redis_node *c)
{
    char db[16];
    const char *argv[3];
    size_t lens[3];
    int argc = 0;
    int rc = 0;

    c->state = CONN_HANDSHAKE;
    c->handshake_pending = 0;
    if (c->url.password[0] != '\0') {
        argv[argc] = "AUTH";
        lens[argc++] = 4;
        if (c->url.user[0] != '\0') {
            argv[argc] = c->url.user;
            lens[argc] = strlen(c->url.user);
            argc++;
        }
        argv[argc] = c->url.password;
        lens[argc] = strlen(c->url.password);
        argc++;
        rc = send_raw(c, argc, argv, lens, c->connect_timeout_ms, on_handshake_reply, c);
        c->handshake_pending += rc == 0;
    }
    if (rc == 0 && c->url.db > 0) {
        (void)snprintf(db, sizeof(db), "%d", c->url.db);
        argv[0] = "SELECT";
        lens[0] = 6;
        argv[1] = db;
        lens[1] = strlen(db);
        rc = send_raw(c, 2, argv, lens, c->connect_timeout_ms, on_handshake_reply, c);
        c->handshake_pending += rc == 0;
    }
    if (rc == 0) {
        /* PING: the server answers commands (not LOADING, not wedged). */
        argv[0] = "PING";
        lens[0] = 4;
        rc = send_raw(c, 1, argv, lens, c->connect_timeout_ms, on_handshake_reply, c);
        c->handshake_pending += rc == 0;
    }
    if (rc != 0) {
        pc_redis_node_reset(c, "out of memory during connection set-up");
    }
}

static void on_connect(const redisAsyncContext *ac, int status)
{
    struct pc_redis_node *c = ac->data;
    char why[PC__WHY_MAX];

    if (c == NULL || c->ac != ac) {
        return;
    }
    if (status != REDIS_OK) {
        /* hiredis frees ac after this returns. */
        (void)snprintf(why, sizeof(why), "cannot connect: %s",
                       ac->errstr != NULL && ac->errstr[0] != '\0' ? ac->errstr : "unknown error");
        c->ac = NULL;
        conn_failed(c, why);
        return;
    }
    (void)redisEnableKeepAlive((redisContext *)&ac->c);
    start_handshake(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct pc_redis_node *c = ac->data;
    char why[PC__WHY_MAX];

    if (c == NULL || c->ac != ac) {
        return; /* we dropped it ourselves */
    }
    /* hiredis frees ac after this returns: forget it, reconnect later. */
    (void)snprintf(why, sizeof(why), "connection lost: %s",
                   status == REDIS_OK                            ? "closed"
                   : ac->errstr != NULL && ac->errstr[0] != '\0' ? ac->errstr
                                                                 : "server closed the connection");
    c->ac = NULL;
    conn_failed(c, why);
}

static void conn_connect(struct pc_redis_node *c)
{
    redisAsyncContext *ac = NULL;
    struct timeval tv;
    char why[PC__WHY_MAX];

    if (c->state == CONN_CLOSING || c->ac != NULL) {
        return;
    }
    if (!c->url.unix_socket && c->url.nseeds > 1) {
        /* Several seeds: each attempt dials the next one. */
        c->addr = c->url.seeds[c->rotation % (unsigned)c->url.nseeds];
        c->rotation++;
    }
    ac = c->url.unix_socket ? redisAsyncConnectUnix(c->url.path)
                            : redisAsyncConnect(c->addr.host, c->addr.port);
    if (ac == NULL) {
        conn_failed(c, "cannot connect: out of memory");
        return;
    }
    if (ac->err != 0) {
        (void)snprintf(why, sizeof(why), "cannot connect: %s", ac->errstr);
        redisAsyncFree(ac);
        conn_failed(c, why);
        return;
    }
    ac->data = c;
    if (redisLibeventAttach(ac, c->base) != REDIS_OK ||
        redisAsyncSetConnectCallback(ac, on_connect) != REDIS_OK ||
        redisAsyncSetDisconnectCallback(ac, on_disconnect) != REDIS_OK) {
        redisAsyncFree(ac);
        conn_failed(c, "cannot connect: event set-up failed");
        return;
    }
    c->ac = ac;
    c->state = CONN_CONNECTING;
    tv = pc__ms_tv(c->connect_timeout_ms);
    (void)evtimer_add(c->connect_timer, &tv);
}

static void on_connect_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pc_redis_node *c = arg;
    char why[PC__WHY_MAX];

    (void)fd;
    (void)what;
    if (c->state == CONN_CONNECTING || c->state == CONN_HANDSHAKE) {
        (void)snprintf(why, sizeof(why), "cannot connect: no answer within %u ms",
                       (unsigned)c->connect_timeout_ms);
        conn_drop(c, why);
    }
}

static void on_reconnect_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_connect(arg);
}

int pc_redis_node_create(struct event_base *base, const struct pc_redis_url *url,
                         const struct pc_redis_conn_opts *opts, struct pc_redis_node **out,
                         struct pc_err *err)
{
    struct pc_redis_node *c = NULL;
    struct timeval now;
    int rc = 0;

    c = pc__redis_conn_alloc(sizeof(*c), base, url, opts, out, &rc, err);
    if (c == NULL) {
        return rc;
    }
    c->base = base;
    c->url = *url;
    memcpy(c->addr.host, url->host, sizeof(c->addr.host));
    c->addr.port = url->port;
    (void)snprintf(c->name, sizeof(c->name), "%s", opts->name != NULL ? opts->name : "redis");
    c->connect_timeout_ms = opts->connect_timeout_ms != 0 ? opts->connect_timeout_ms : 5000;
    c->cmd_timeout_ms = opts->cmd_timeout_ms != 0 ? opts->cmd_timeout_ms : 10000;
    {
        struct timeval tv = pc__ms_tv(c->cmd_timeout_ms);

        c->common_timeout = event_base_init_common_timeout(base, &tv); /* NULL: plain timers */
    }
    c->backoff_min_ms = opts->backoff_min_ms != 0 ? opts->backoff_min_ms : 100;
    c->backoff_max_ms = opts->backoff_max_ms != 0 ? opts->backoff_max_ms : 5000;
    c->on_state = opts->on_state;
    c->state_ctx = opts->state_ctx;
    c->state = CONN_DOWN;
    if (getrandom(&c->rng, sizeof(c->rng), GRND_NONBLOCK) != (ssize_t)sizeof(c->rng)) {
        (void)gettimeofday(&now, NULL);
        c->rng = (uint64_t)now.tv_usec ^ ((uint64_t)getpid() << 20) ^ (uint64_t)(uintptr_t)c;
    }
    c->rng |= 1u;
    c->connect_timer = evtimer_new(base, on_connect_timer, c);
    c->reconnect_timer = evtimer_new(base, on_reconnect_timer, c);
    c->drop_timer = evtimer_new(base, on_drop_timer, c);
    if (c->connect_timer == NULL || c->reconnect_timer == NULL || c->drop_timer == NULL) {
        pc_redis_node_destroy(c);
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    *out = c;
    conn_connect(c);
    return 0;
}

void pc_redis_node_destroy(struct pc_redis_node *c)
{
    redisAsyncContext *ac = NULL;

    if (c == NULL) {
        return;
    }
    c->state = CONN_CLOSING;
    ac = c->ac;
    c->ac = NULL;
    if (ac != NULL) {
        redisAsyncFree(ac); /* in-flight requests and subscriptions end with NULL */
    }
    /* Requests never handed to hiredis (deferred failures) remain; CLOSING
     * refuses new ones, so the detached list cannot grow. */
    for (struct req *r = c->reqs, *next = NULL; r != NULL; r = next) {
        next = r->next;
        req_complete(r, NULL);
        (void)event_del(r->timer);
        free(r);
    }
    c->reqs = NULL;
    for (struct sub *s = c->subs, *next = NULL; s != NULL; s = next) {
        next = s->next; /* only records hiredis never owned */
        free(s);
    }
    c->subs = NULL;
    if (c->connect_timer != NULL) {
        event_free(c->connect_timer);
    }
    if (c->reconnect_timer != NULL) {
        event_free(c->reconnect_timer);
    }
    if (c->drop_timer != NULL) {
        event_free(c->drop_timer);
    }
    free(c->out);
    free(c);
}

bool pc_redis_node_ready(const struct pc_redis_node *c)
{
    return c != NULL && c->state == CONN_READY;
}

const struct pc_redis_addr *pc_redis_node_addr(const struct pc_redis_node *c)
{
    return &c->addr;
}

unsigned pc_redis_node_attempts(const struct pc_redis_node *c)
{
    return c->attempt;
}
