/*
 * redis_interrupt.c - POST /v1/executions/{id}/interrupt on peace-scheduler's
 * Redis backend: the marker (exec_mark_interrupt) first, so a queued
 * execution ends interrupted when it starts whoever hears the PUBLISH, then
 * the PUBLISH, then the answer once the executor's latch is known.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/msg.h"
#include "redis_backend.h"
#include "redis_backend_internal.h"
#include "sched_log.h"

/*
 * After publishing, the answer waits for what the executor made of the
 * request: until the request is latched (at most
 * WEB_INTERRUPT_LATCH_WAIT_MS, and only for a running execution), or with
 * ?wait=MS until the execution finished or MS passed, reading the meta hash
 * (HMGET) each time.
 *
 * The latch is announced: the worker's exec_mark_interrupt PUBLISHes the
 * execution id on PREFIX:interrupts:latched when it records the latch (or
 * a mode rising). While the backend's subscriber connection is subscribed
 * to it, an answer waiting for the latch reads the meta once, then again
 * only when its id is announced (or at its deadline): no polling. A message
 * that arrives while a read is in flight makes one more read when it
 * returns, so none is lost; a (re)subscription reads every waiting answer
 * again (announcements may have been missed meanwhile). While not
 * subscribed (Redis away, a user that may not SUBSCRIBE: docs/acl.md), and
 * for ?wait (the finish is not announced), the meta is polled every
 * IRQ_POLL_MS. Between reads the call sits on a timer in rb->irq_waiting,
 * so redis_backend_destroy can answer it.
 */
#define IRQ_POLL_MS 5

struct irq {
    char status[16];
    char reason[MSG_EVENT_REASON_MAX + 1];
    struct pc_interrupt_req req;
    uint64_t requested_ms;
    uint32_t wait_ms;
    bool requested;
    uint64_t until_ms; /* polling stops then */
    struct web_interrupt_seen seen;
    char mode[16];
    char outcome[32];
    struct rcall *call;
    struct event *timer; /* owned; NULL until the first wait */
    struct irq *next;    /* rb->irq_waiting while the timer is armed */
    struct irq **pprev;
    bool polling;      /* an HMGET is in flight */
    bool again;        /* announced meanwhile: read once more */
    struct irq *lnext; /* rb->irq_latch while it waits for the latch */
    struct irq **lpprev;
};

static void latch_unlink(struct irq *q)
{
    if (q->lpprev != NULL) {
        *q->lpprev = q->lnext;
        if (q->lnext != NULL) {
            q->lnext->lpprev = q->lpprev;
        }
        q->lnext = NULL;
        q->lpprev = NULL;
    }
}

static void latch_link(struct redis_backend *rb, struct irq *q)
{
    q->lnext = rb->irq_latch;
    if (q->lnext != NULL) {
        q->lnext->lpprev = &q->lnext;
    }
    q->lpprev = &rb->irq_latch;
    rb->irq_latch = q;
}

static void irq_unlink(struct irq *q)
{
    if (q->pprev != NULL) {
        *q->pprev = q->next;
        if (q->next != NULL) {
            q->next->pprev = q->pprev;
        }
        q->next = NULL;
        q->pprev = NULL;
    }
}

static void irq_free(void *data)
{
    struct irq *q = data;

    irq_unlink(q);
    latch_unlink(q);
    if (q->timer != NULL) {
        event_free(q->timer);
    }
    free(q);
}

static void interrupt_answer(struct rcall *c, const char *status, bool requested)
{
    const struct irq *q = c->data;

    web_answer_interrupt(c->wc, status, requested, &q->req, q->requested_ms,
                         q->until_ms > 0 ? &q->seen : NULL);
    redis__call_done(c);
}

static void interrupt_poll(struct rcall *c);

static void on_irq_timer(evutil_socket_t fd, short what, void *arg)
{
    struct irq *q = arg;

    (void)fd;
    (void)what;
    irq_unlink(q);
    interrupt_poll(q->call);
}

/* A decimal field of the HMGET reply (0 when absent or not a number). */
static uint64_t flat_u64(const struct sched_str *v)
{
    uint64_t n = 0;

    if (v->p == NULL || v->n == 0 || v->n > 19) {
        return 0;
    }
    for (size_t i = 0; i < v->n; i++) {
        if (v->p[i] < '0' || v->p[i] > '9') {
            return 0;
        }
        n = n * 10 + (uint64_t)(v->p[i] - '0');
    }
    return n;
}

static void flat_copy(const struct sched_str *v, char *out, size_t out_size)
{
    size_t n = v->p != NULL ? v->n : 0;

    (void)snprintf(out, out_size, "%.*s", (int)(n < out_size ? n : out_size - 1),
                   n > 0 ? v->p : "");
}

static void interrupt_polled(struct rcall *c, struct sched_flat *slots, size_t n)
{
    struct irq *q = c->data;
    const struct sched_flat *f = &slots[0];
    struct timeval tv = {0, (suseconds_t)IRQ_POLL_MS * 1000};
    bool done;
    uint64_t now = web_unix_ms();

    q->polling = false;
    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    if (f->kind != SCHED_FLAT_ARRAY || f->n != 6) {
        redis__reply_code(c, SCHED_INTERNAL, "interrupt receipt: unexpected reply");
        return;
    }
    flat_copy(&f->v[0], q->status, sizeof(q->status));
    q->seen.latched_ms = flat_u64(&f->v[1]);
    q->seen.escalations = flat_u64(&f->v[2]);
    flat_copy(&f->v[3], q->mode, sizeof(q->mode));
    flat_copy(&f->v[4], q->outcome, sizeof(q->outcome));
    q->seen.finished_ms = flat_u64(&f->v[5]);
    if (q->status[0] == '\0') {
        /* Gone meanwhile (expired): answer with what is known. */
        memcpy(q->status, "unknown", sizeof("unknown"));
    }
    if (strcmp(q->status, "finished") != 0) {
        q->outcome[0] = '\0';
        q->seen.finished_ms = 0;
    }
    done = strcmp(q->status, "finished") == 0 || now >= q->until_ms ||
           (q->wait_ms == 0 && (q->seen.latched_ms > 0 || strcmp(q->status, "running") != 0));
    if (!done && q->again) {
        q->again = false; /* announced while this read was in flight */
        interrupt_poll(c);
        return;
    }
    if (!done && q->wait_ms == 0 && c->rb->latch_subscribed) {
        /* The announcement wakes it; else its deadline. */
        uint64_t left = q->until_ms - now;

        tv.tv_sec = (time_t)(left / 1000);
        tv.tv_usec = (suseconds_t)(left % 1000) * 1000;
    }
    if (!done && q->timer == NULL) {
        q->timer = evtimer_new(c->rb->base, on_irq_timer, q);
    }
    if (done || q->timer == NULL || evtimer_add(q->timer, &tv) != 0) {
        interrupt_answer(c, q->status, q->requested);
        return;
    }
    q->next = c->rb->irq_waiting;
    if (q->next != NULL) {
        q->next->pprev = &q->next;
    }
    q->pprev = &c->rb->irq_waiting;
    c->rb->irq_waiting = q;
}

static void interrupt_poll(struct rcall *c)
{
    struct irq *q = c->data;
    struct pc_redis_args a;
    char key[PC_KEY_MAX];

    if (!pc_redis_conn_ready(c->rb->redis)) {
        interrupt_answer(c, q->status, q->requested); /* what is known */
        return;
    }
    q->polling = true;
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "HMGET");
    if (pc_key_exec(key, sizeof(key), c->rb->cfg->prefix, c->id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    pc_redis_args_addz(&a, "status");
    pc_redis_args_addz(&a, "interrupt_latched_ms");
    pc_redis_args_addz(&a, "interrupt_escalations");
    pc_redis_args_addz(&a, "interrupt_mode");
    pc_redis_args_addz(&a, "outcome");
    pc_redis_args_addz(&a, "finished_ms");
    redis__run_one(c, &a, interrupt_polled);
}

/* Answers at once, or first reads back what the executor made of it. */
static void interrupt_settle(struct rcall *c, bool requested)
{
    struct irq *q = c->data;
    bool running = strcmp(q->status, "running") == 0;

    q->requested = requested;
    if (q->wait_ms == 0 && !(requested && running)) {
        interrupt_answer(c, q->status, requested);
        return;
    }
    q->seen.mode = q->mode;
    q->seen.outcome = q->outcome;
    q->seen.waited = q->wait_ms > 0;
    q->until_ms = web_unix_ms() + (q->wait_ms > 0 ? q->wait_ms : WEB_INTERRUPT_LATCH_WAIT_MS);
    if (q->wait_ms == 0) {
        latch_link(c->rb, q); /* before the first read: no announcement is missed */
    }
    interrupt_poll(c);
}

static void interrupt_published(struct rcall *c, struct sched_flat *slots, size_t n)
{
    (void)n;
    if (slots[0].kind == SCHED_FLAT_NONE || slots[0].kind == SCHED_FLAT_ERROR) {
        /* The marker is recorded: the worker honours it at its next lease
         * renewal (or at start), so the request stands. */
        sched_log("execution %s: interrupt recorded, PUBLISH failed", c->id);
    }
    interrupt_settle(c, true);
}

static void interrupt_marked(struct rcall *c, struct sched_flat *slots, size_t n)
{
    struct irq *q = c->data;
    struct pc_redis_args a;
    char channel[PC_KEY_MAX];
    /* A plain finish publishes the bare reason, as before modes existed. */
    char payload[MSG_EVENT_REASON_MAX + 48];
    struct pc_interrupt_req r = q->req;
    int len = 0;

    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    if (slots[0].kind != SCHED_FLAT_INT) {
        redis__reply_code(c, SCHED_INTERNAL, "exec_mark_interrupt: unexpected reply");
        return;
    }
    if (slots[0].integer == 0) {
        memcpy(q->status, "finished", sizeof("finished")); /* it finished in between */
        interrupt_settle(c, false);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "PUBLISH");
    if (pc_key_interrupt_channel(channel, sizeof(channel), c->rb->cfg->prefix, c->id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, channel);
    r.reason = q->reason;
    r.reason_len = strlen(q->reason);
    len = pc_interrupt_payload_format(&r, payload, sizeof(payload));
    if (len < 0 || (size_t)len >= sizeof(payload)) {
        a.rc = PC_ELIMIT;
        len = 0;
    }
    pc_redis_args_add(&a, payload, (size_t)len);
    redis__run_one(c, &a, interrupt_published);
}

static void interrupt_status(struct rcall *c, struct sched_flat *slots, size_t n)
{
    const struct sched_flat *st = &slots[0];
    struct irq *q = c->data;
    struct pc_redis_args a;
    char key[PC_KEY_MAX];
    struct redis_batch *b = NULL;

    if (redis__reply_if_failed(c, slots, n)) {
        return;
    }
    if (st->kind != SCHED_FLAT_STR) {
        redis__reply_code(c, SCHED_EXECUTION_NOT_FOUND, "execution %s not found", c->id);
        return;
    }
    (void)snprintf(q->status, sizeof(q->status), "%.*s", (int)(st->v[0].n < 15 ? st->v[0].n : 15),
                   st->v[0].p);
    if (strcmp(q->status, "finished") == 0) {
        interrupt_settle(c, false);
        return;
    }
    /* Record the marker first (so a queued execution ends interrupted when
     * it starts, whoever hears the PUBLISH), then publish. */
    pc_redis_args_init(&a);
    if (pc_key_exec(key, sizeof(key), c->rb->cfg->prefix, c->id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    q->requested_ms = web_unix_ms();
    pc_redis_args_addu64(&a, q->requested_ms);
    pc_redis_args_addz(&a, q->reason);
    pc_redis_args_addz(&a, pc_interrupt_mode_name(q->req.mode));
    pc_redis_args_addu64(&a, q->req.has_deadline ? q->req.deadline_ms
                                                 : PC_INTERRUPT_DEADLINE_DEFAULT_MS);
    if (pc_redis_args_error(&a) != 0 || (b = redis__batch_new(c, 1, interrupt_marked)) == NULL) {
        pc_redis_args_cleanup(&a);
        redis__reply_code(c, SCHED_INTERNAL, "cannot build the interrupt script call");
        return;
    }
    redis__batch_send_script(b, 0, PC_SCRIPT_EXEC_MARK_INTERRUPT, 1, &a);
    redis__batch_launch(b);
}

void redis__interrupt(void *be, struct web_call *wc, const char *id, const struct web_interrupt *ir)
{
    struct rcall *c = redis__call_new(be, wc);
    struct irq *q = NULL;
    struct pc_redis_args a;
    char key[PC_KEY_MAX];

    if (c == NULL) {
        return;
    }
    q = calloc(1, sizeof(*q));
    if (q == NULL) {
        redis__reply_code(c, SCHED_INTERNAL, "out of memory");
        return;
    }
    c->data = q;
    c->data_free = irq_free;
    q->call = c;
    q->wait_ms = ir->wait_ms;
    q->req = ir->req;
    (void)snprintf(q->reason, sizeof(q->reason), "%s", ir->reason);
    if (!pc_redis_conn_ready(c->rb->redis)) {
        redis__reply_unavailable(c);
        return;
    }
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "HGET");
    if (pc_key_exec(key, sizeof(key), c->rb->cfg->prefix, id) < 0) {
        a.rc = PC_ELIMIT;
    }
    pc_redis_args_addz(&a, key);
    pc_redis_args_addz(&a, "status");
    redis__run_one(c, &a, interrupt_status);
}

/* Reads q's meta now: at once if it waits on its timer, after the read in
 * flight otherwise. */
static void latch_wake(struct irq *q)
{
    if (q->polling) {
        q->again = true;
        return;
    }
    if (q->pprev != NULL) {
        (void)evtimer_del(q->timer);
        irq_unlink(q);
        interrupt_poll(q->call);
    }
}

static void latch_wake_all(struct redis_backend *rb, const char *id, size_t id_len)
{
    for (struct irq *q = rb->irq_latch, *next = NULL; q != NULL; q = next) {
        next = q->lnext; /* q may be answered (and freed) now */
        if (id == NULL || (strlen(q->call->id) == id_len && memcmp(q->call->id, id, id_len) == 0)) {
            latch_wake(q);
        }
    }
}

static void on_latched_msg(void *arg, const redisReply *reply)
{
    struct redis_backend *rb = arg;
    const redisReply *kind = NULL;

    if (rb->stopping) {
        return;
    }
    if (reply == NULL) {
        rb->latch_subscribed = false; /* the subscription ended: poll */
        latch_wake_all(rb, NULL, 0);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
        reply->element[0]->type != REDIS_REPLY_STRING) {
        return;
    }
    kind = reply->element[0];
    if (kind->len == 9 && memcmp(kind->str, "subscribe", 9) == 0) {
        /* (Re)subscribed: announcements may have been missed meanwhile. */
        rb->latch_subscribed = true;
        latch_wake_all(rb, NULL, 0);
        return;
    }
    if (kind->len == 7 && memcmp(kind->str, "message", 7) == 0 &&
        reply->element[2]->type == REDIS_REPLY_STRING && reply->element[2]->len > 0 &&
        reply->element[2]->len <= PC_EXEC_ID_MAX) {
        latch_wake_all(rb, reply->element[2]->str, reply->element[2]->len);
    }
}

void redis__latch_sub_state(void *ctx, bool ready, const char *why)
{
    struct redis_backend *rb = ctx;
    char channel[PC_KEY_MAX];
    const char *argv[2] = {"SUBSCRIBE", channel};
    size_t lens[2] = {9, 0};

    if (rb->stopping) {
        return;
    }
    if (!ready) {
        if (rb->latch_subscribed) {
            sched_log("interrupt latch announcements: not subscribed (%s): interrupt answers poll",
                      why[0] != '\0' ? why : "disconnected");
        }
        rb->latch_subscribed = false;
        latch_wake_all(rb, NULL, 0);
        return;
    }
    if (pc_key_interrupts_latched(channel, sizeof(channel), rb->cfg->prefix) < 0) {
        return; /* cannot happen with a checked prefix: answers poll */
    }
    lens[1] = strlen(channel);
    if (pc_redis_subscribe(rb->sub, 2, argv, lens, on_latched_msg, rb) != 0) {
        pc_redis_conn_reset(rb->sub, "subscribe failed");
    }
}

void redis__interrupts_answer_waiting(struct redis_backend *rb)
{
    /* Interrupt answers waiting on a timer: what is known so far. */
    while (rb->irq_waiting != NULL) {
        struct irq *q = rb->irq_waiting;

        irq_unlink(q);
        interrupt_answer(q->call, q->status, q->requested);
    }
}
