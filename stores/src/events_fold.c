/*
 * events_fold.c - the events of a finished execution that has no events
 * stream, and the reply of the follower's registration (events_fold.h).
 *
 * Design. The synthesis reads only what every finished execution keeps
 * anyway (meta hash, progress hash, report), so not writing a stream loses
 * nothing a follower could see of a short execution but the intermediate
 * statuses of its items (queued, running), which a written stream of an
 * execution shorter than one flush interval carries too, but which nobody
 * was there to watch. Ids are `0-K`: Redis never gives an entry an id below
 * `0-1`'s successor of a real clock, so synthesised and written ids never
 * mix in one execution (it has one or the other) and a client's
 * Last-Event-ID resumes either.
 */
#include "peace/events_fold.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/cmd.h"

/* ------------------------------------------------------------------------ */
/* The synthesis                                                             */

static int push(struct pc_events_fold *f, size_t cap, const struct msg_event *ev)
{
    if (f->n >= cap) {
        return PC_ELIMIT;
    }
    f->ev[f->n++] = *ev;
    return 0;
}

/* The progress event of item p, or false when it never ran (initialized). */
static bool item_event(const struct pc_progress_item *p, struct msg_event *ev)
{
    enum pc_progress_status st;

    memset(ev, 0, sizeof(*ev));
    ev->kind = MSG_EVENT_PROGRESS;
    if (p->status.s == NULL || pc_progress_status_parse(p->status.s, p->status.n, &st) != 0 ||
        st == PC_PROGRESS_INITIALIZED) {
        return false;
    }
    if (pc_id_set(&ev->item, p->id, p->id_len, "item", NULL) != 0) {
        return false;
    }
    ev->status = st;
    if (p->limit.s == NULL || pc_limit_parse(p->limit.s, p->limit.n, &ev->limit) != 0) {
        ev->limit.kind = PC_LIMIT_UNKNOWN;
        ev->limit.n = 0;
    }
    if (p->done.s != NULL) {
        uint64_t v = 0;
        bool ok = p->done.n > 0 && p->done.n <= 20;

        for (size_t i = 0; ok && i < p->done.n; i++) {
            char c = p->done.s[i];

            ok = c >= '0' && c <= '9' && v <= (UINT64_MAX - (uint64_t)(c - '0')) / 10;
            v = ok ? v * 10 + (uint64_t)(c - '0') : 0;
        }
        ev->done = ok ? v : 0;
    }
    if (p->msg.s != NULL) {
        size_t n =
            strnlen(p->msg.s, p->msg.n < PC_PROGRESS_MSG_MAX ? p->msg.n : PC_PROGRESS_MSG_MAX);

        memcpy(ev->msg, p->msg.s, n);
        ev->msg[n] = '\0';
    }
    return true;
}

static int fold_items(const struct pc_events_fold_in *in, struct pc_events_fold *f, size_t cap)
{
    const struct pc_progress_view *v = in->progress;
    struct msg_event ev;
    int rc = 0;

    if (v == NULL) {
        return 0;
    }
    if (in->items == NULL || in->items_len == 0) {
        for (size_t i = 0; rc == 0 && i < v->n; i++) {
            if (item_event(&v->items[i], &ev)) {
                rc = push(f, cap, &ev);
            }
        }
        return rc;
    }
    for (size_t s = 0; rc == 0 && s < in->items_len;) {
        const char *comma = memchr(in->items + s, ',', in->items_len - s);
        size_t e = comma != NULL ? (size_t)(comma - in->items) : in->items_len;
        const struct pc_progress_item *p = pc_progress_view_find(v, in->items + s, e - s);

        if (p != NULL && item_event(p, &ev)) {
            rc = push(f, cap, &ev);
        }
        s = e + 1;
    }
    return rc;
}

int pc_events_fold(const struct pc_events_fold_in *in, struct pc_events_fold *out,
                   struct pc_err *err)
{
    const struct pc_outcome *rep = in->report;
    struct pc_events_fold f = {NULL, 0};
    struct msg_event ev;
    enum pc_outcome_kind kind;
    size_t n_blocks = 0;
    size_t cap;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    if (in->outcome == NULL || pc_outcome_kind_parse(in->outcome, in->outcome_len, &kind) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "the execution has no known outcome");
    }
    if (rep != NULL) {
        n_blocks = rep->n_run > 0 ? rep->n_run : rep->n_blocks_processed;
        n_blocks = n_blocks < PC_BLOCKS_MAX ? n_blocks : PC_BLOCKS_MAX;
    }
    cap = n_blocks + 2 + (in->progress != NULL ? in->progress->n : 0);
    if (cap > PC_EVENTS_FOLD_ITEMS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "too many items to fold");
    }
    f.ev = calloc(cap, sizeof(*f.ev));
    if (f.ev == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    for (size_t b = 0; rc == 0 && b < n_blocks; b++) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = MSG_EVENT_BLOCK_START;
        ev.block = rep->n_run > 0 ? rep->run[b].kind : rep->blocks[b];
        ev.block_index = b;
        rc = push(&f, cap, &ev);
    }
    if (rc == 0 && n_blocks > 0 &&
        (in->interrupt_requested || rep->interrupted_ms != 0 ||
         kind == PC_OUTCOME_EXECUTION_INTERRUPTED || kind == PC_OUTCOME_BLOCK_INTERRUPTED)) {
        size_t n = 0;

        memset(&ev, 0, sizeof(ev));
        ev.kind = MSG_EVENT_INTERRUPT;
        if (in->reason != NULL) {
            n = in->reason_len < MSG_EVENT_REASON_MAX ? in->reason_len : MSG_EVENT_REASON_MAX;
            n = strnlen(in->reason, n);
            memcpy(ev.reason, in->reason, n);
        }
        ev.reason[n] = '\0';
        for (size_t i = 0; i < n; i++) { /* event values are one line, as the worker writes */
            if (ev.reason[i] == '\r' || ev.reason[i] == '\n') {
                ev.reason[i] = ' ';
            }
        }
        rc = push(&f, cap, &ev);
    }
    if (rc == 0 && n_blocks > 0) {
        rc = fold_items(in, &f, cap);
    }
    if (rc == 0) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = MSG_EVENT_OUTCOME;
        ev.outcome = kind;
        rc = push(&f, cap, &ev);
    }
    if (rc != 0) {
        pc_events_fold_free(&f);
        return pc_err_set(err, rc, "cannot fold the execution's events");
    }
    *out = f;
    return 0;
}

void pc_events_fold_free(struct pc_events_fold *f)
{
    if (f != NULL) {
        free(f->ev);
        f->ev = NULL;
        f->n = 0;
    }
}

int pc_events_fold_id(size_t k, char *out, size_t out_size)
{
    int n = snprintf(out, out_size, "0-%zu", k + 1);

    return n > 0 && (size_t)n < out_size ? n : PC_ELIMIT;
}

/* Parses a decimal of at most 20 digits; false when it is not one. */
static bool parse_u64(const char *p, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0 || n > 20) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10) {
            return false;
        }
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    *out = v;
    return true;
}

size_t pc_events_fold_after(const struct pc_events_fold *f, const char *last_id)
{
    const char *dash = NULL;
    uint64_t ms = 0;
    uint64_t seq = 0; /* "MS" alone is MS-0, as XREAD reads it */
    size_t len;

    if (last_id == NULL || last_id[0] == '\0') {
        return 0;
    }
    len = strnlen(last_id, 64);
    dash = memchr(last_id, '-', len);
    if (!parse_u64(last_id, dash != NULL ? (size_t)(dash - last_id) : len, &ms) ||
        (dash != NULL && !parse_u64(dash + 1, len - (size_t)(dash + 1 - last_id), &seq))) {
        return 0;
    }
    if (ms > 0) {
        return f->n; /* a real entry's id: every synthesised one is before it */
    }
    return seq < f->n ? (size_t)seq : f->n;
}

/* ------------------------------------------------------------------------ */
/* exec_follow's reply                                                       */

int pc_exec_follow_keys(char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX], const char *prefix,
                        const char *exec_id)
{
    if (pc_key_exec(keys[0], PC_KEY_MAX, prefix, exec_id) < 0 ||
        pc_key_progress(keys[1], PC_KEY_MAX, prefix, exec_id) < 0 ||
        pc_key_events(keys[2], PC_KEY_MAX, prefix, exec_id) < 0 ||
        pc_key_report(keys[3], PC_KEY_MAX, prefix, exec_id) < 0) {
        return PC_EINVAL;
    }
    return 0;
}

static bool is_str(const redisReply *r)
{
    return r != NULL && r->type == REDIS_REPLY_STRING;
}

/* The meta values of the folded reply: outcome items interrupt_requested_ms
 * interrupt_reason report (exec_follow's HMGET, in that order). */
enum { M_OUTCOME, M_ITEMS, M_INTERRUPT, M_REASON, M_REPORT, M_COUNT };

static int parse_folded(const redisReply *reply, struct pc_exec_follow *out, struct pc_err *err)
{
    const redisReply *m = reply->element[2];
    const redisReply *h = reply->element[3];
    const redisReply *full = reply->element[4];
    const redisReply *rep = NULL;
    struct pc_progress_kv *kv = NULL;
    struct pc_progress_view view;
    struct pc_outcome report;
    struct pc_events_fold_in in;
    bool have_report = false;
    size_t n_kv;
    int rc;

    memset(&view, 0, sizeof(view));
    if (m->type != REDIS_REPLY_ARRAY || m->elements != M_COUNT || h->type != REDIS_REPLY_ARRAY ||
        h->elements % 2 != 0) {
        return pc_err_set(err, PC_ESCHEMA, "exec_follow: unexpected reply");
    }
    n_kv = h->elements / 2;
    kv = calloc(n_kv + 1, sizeof(*kv));
    if (kv == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n_kv; i++) {
        const redisReply *f = h->element[2 * i];
        const redisReply *v = h->element[2 * i + 1];

        kv[i].f = is_str(f) ? f->str : "";
        kv[i].fn = is_str(f) ? f->len : 0;
        kv[i].v = is_str(v) ? v->str : "";
        kv[i].vn = is_str(v) ? v->len : 0;
    }
    rc = pc_progress_view_build(&view, kv, n_kv);
    if (rc != 0) {
        free(kv);
        return pc_err_set(err, rc, "out of memory");
    }
    rep = is_str(full) && full->len > 0 ? full : m->element[M_REPORT];
    if (is_str(rep) && msg_report_decode(rep->str, rep->len, &report, NULL) == 0) {
        have_report = true; /* a report that does not decode: no blocks shown */
    }
    memset(&in, 0, sizeof(in));
    if (is_str(m->element[M_OUTCOME])) {
        in.outcome = m->element[M_OUTCOME]->str;
        in.outcome_len = m->element[M_OUTCOME]->len;
    }
    if (is_str(m->element[M_ITEMS])) {
        in.items = m->element[M_ITEMS]->str;
        in.items_len = m->element[M_ITEMS]->len;
    }
    in.interrupt_requested = is_str(m->element[M_INTERRUPT]);
    if (is_str(m->element[M_REASON])) {
        in.reason = m->element[M_REASON]->str;
        in.reason_len = m->element[M_REASON]->len;
    }
    in.report = have_report ? &report : NULL;
    in.progress = &view;
    rc = pc_events_fold(&in, &out->fold, err);
    if (have_report) {
        pc_outcome_cleanup(&report);
    }
    pc_progress_view_free(&view);
    free(kv);
    return rc;
}

int pc_exec_follow_parse(const redisReply *reply, struct pc_exec_follow *out, struct pc_err *err)
{
    memset(out, 0, sizeof(*out));
    if (reply == NULL) {
        return pc_err_set(err, PC_EREDIS, "exec_follow: no reply");
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        return pc_err_set(err, PC_EREDIS, "exec_follow: %.*s",
                          (int)(reply->len < 200 ? reply->len : 200), reply->str);
    }
    if (reply->type != REDIS_REPLY_ARRAY) {
        return pc_err_set(err, PC_ESCHEMA, "exec_follow: unexpected reply");
    }
    if (reply->elements == 0) {
        out->state = PC_FOLLOW_UNKNOWN;
        return 0;
    }
    if (!is_str(reply->element[0])) {
        return pc_err_set(err, PC_ESCHEMA, "exec_follow: unexpected reply");
    }
    if (reply->element[0]->len != 8 || memcmp(reply->element[0]->str, "finished", 8) != 0) {
        out->state = PC_FOLLOW_RUNNING;
        return 0;
    }
    if (reply->elements == 2) {
        out->state = PC_FOLLOW_FINISHED;
        return 0;
    }
    if (reply->elements != 5) {
        return pc_err_set(err, PC_ESCHEMA, "exec_follow: unexpected reply");
    }
    out->state = PC_FOLLOW_FOLDED;
    return parse_folded(reply, out, err);
}

void pc_exec_follow_free(struct pc_exec_follow *f)
{
    if (f != NULL) {
        pc_events_fold_free(&f->fold);
        f->state = PC_FOLLOW_UNKNOWN;
    }
}
