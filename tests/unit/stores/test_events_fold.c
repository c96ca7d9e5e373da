/*
 * test_events_fold.c - the events of a finished execution without an
 * events stream (events_fold.h): what is synthesised, in which order, with
 * which ids, and exec_follow's reply read into it.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdlib.h>
#include <string.h>

#include "peace/buf.h"
#include "peace/cmd.h"
#include "peace/events_fold.h"

/* A progress view of the given (field, value) pairs. */
static void view_of(struct pc_progress_view *v, struct pc_progress_kv *kv, const char *const *fv,
                    size_t n)
{
    for (size_t i = 0; i < n; i++) {
        kv[i].f = fv[2 * i];
        kv[i].fn = strlen(fv[2 * i]);
        kv[i].v = fv[2 * i + 1];
        kv[i].vn = strlen(fv[2 * i + 1]);
    }
    assert_int_equal(pc_progress_view_build(v, kv, n), 0);
}

static const char *const hash2[] = {
    ".layout", "2",                        /* the marker */
    "a",       "success unknown 0",        /**/
    "b",       "fail steps:10 3 oh\\n no", /**/
    "c",       "initialized unknown 0",    /* never ran */
};

static void test_blocks_items_outcome(void **state)
{
    struct pc_progress_kv kv[4];
    struct pc_progress_view v;
    struct pc_outcome rep;
    struct pc_report_block run[2];
    struct pc_events_fold f;
    struct pc_events_fold_in in;
    char id[PC_EVENTS_FOLD_ID_MAX];

    (void)state;
    view_of(&v, kv, hash2, 4);
    pc_outcome_init(&rep);
    memset(run, 0, sizeof(run));
    run[0].kind = PC_BLOCK_DISCOVER;
    run[1].kind = PC_BLOCK_READ_GOAL;
    rep.run = run;
    rep.n_run = 2;
    memset(&in, 0, sizeof(in));
    in.outcome = "item_error";
    in.outcome_len = strlen(in.outcome);
    in.items = "b,c,a,zz";
    in.items_len = strlen(in.items);
    in.report = &rep;
    in.progress = &v;
    assert_int_equal(pc_events_fold(&in, &f, NULL), 0);
    assert_int_equal(f.n, 5);
    assert_int_equal(f.ev[0].kind, MSG_EVENT_BLOCK_START);
    assert_int_equal(f.ev[0].block, PC_BLOCK_DISCOVER);
    assert_int_equal(f.ev[0].block_index, 0);
    assert_int_equal(f.ev[1].block, PC_BLOCK_READ_GOAL);
    assert_int_equal(f.ev[1].block_index, 1);
    /* items order, not the hash's; `c` never ran, `zz` has no progress */
    assert_int_equal(f.ev[2].kind, MSG_EVENT_PROGRESS);
    assert_string_equal(f.ev[2].item.s, "b");
    assert_int_equal(f.ev[2].status, PC_PROGRESS_FAIL);
    assert_int_equal(f.ev[2].limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(f.ev[2].limit.n, 10);
    assert_int_equal(f.ev[2].done, 3);
    assert_string_equal(f.ev[2].msg, "oh\n no");
    assert_string_equal(f.ev[3].item.s, "a");
    assert_int_equal(f.ev[3].status, PC_PROGRESS_SUCCESS);
    assert_int_equal(f.ev[4].kind, MSG_EVENT_OUTCOME);
    assert_int_equal(f.ev[4].outcome, PC_OUTCOME_ITEM_ERROR);
    /* ids and resuming */
    assert_int_equal(pc_events_fold_id(0, id, sizeof(id)), 3);
    assert_string_equal(id, "0-1");
    assert_int_equal(pc_events_fold_id(4, id, sizeof(id)), 3);
    assert_string_equal(id, "0-5");
    assert_int_equal(pc_events_fold_id(4, id, 3), PC_ELIMIT);
    assert_int_equal(pc_events_fold_after(&f, NULL), 0);
    assert_int_equal(pc_events_fold_after(&f, ""), 0);
    assert_int_equal(pc_events_fold_after(&f, "0-0"), 0);
    assert_int_equal(pc_events_fold_after(&f, "0"), 0);
    assert_int_equal(pc_events_fold_after(&f, "0-1"), 1);
    assert_int_equal(pc_events_fold_after(&f, "0-4"), 4);
    assert_int_equal(pc_events_fold_after(&f, "0-5"), 5);
    assert_int_equal(pc_events_fold_after(&f, "0-18446744073709551615"), 5);
    assert_int_equal(pc_events_fold_after(&f, "1733000000000-0"), 5);
    assert_int_equal(pc_events_fold_after(&f, "bogus"), 0);
    assert_int_equal(pc_events_fold_after(&f, "0-x"), 0);
    /* every event renders as the worker would write it */
    for (size_t k = 0; k < f.n; k++) {
        struct msg_event_fields ef;
        struct msg_event back;

        assert_int_equal(msg_event_to_fields(&f.ev[k], &ef, NULL), 0);
        assert_int_equal(msg_event_from_fields(ef.argv, ef.argvlen, ef.n, &back, NULL), 0);
        assert_int_equal(back.kind, f.ev[k].kind);
    }
    pc_events_fold_free(&f);
    pc_events_fold_free(&f); /* twice is fine */
    /* no items list: the hash's order */
    in.items = NULL;
    in.items_len = 0;
    assert_int_equal(pc_events_fold(&in, &f, NULL), 0);
    assert_int_equal(f.n, 5);
    assert_string_equal(f.ev[2].item.s, "a");
    assert_string_equal(f.ev[3].item.s, "b");
    pc_events_fold_free(&f);
    pc_progress_view_free(&v);
}

static void test_interrupt(void **state)
{
    struct pc_progress_kv kv[4];
    struct pc_progress_view v;
    struct pc_outcome rep;
    struct pc_events_fold f;
    struct pc_events_fold_in in;
    char reason[400];

    (void)state;
    view_of(&v, kv, hash2, 4);
    pc_outcome_init(&rep);
    rep.blocks[0] = PC_BLOCK_DISCOVER;
    rep.blocks[1] = PC_BLOCK_READ_GOAL;
    rep.n_blocks = 2;
    rep.n_blocks_processed = 1; /* a version-1 summary: no run list */
    memset(reason, 'r', sizeof(reason));
    reason[3] = '\n';
    memset(&in, 0, sizeof(in));
    in.outcome = "block_interrupted";
    in.outcome_len = strlen(in.outcome);
    in.interrupt_requested = true;
    in.reason = reason;
    in.reason_len = sizeof(reason);
    in.report = &rep;
    in.progress = &v;
    assert_int_equal(pc_events_fold(&in, &f, NULL), 0);
    assert_int_equal(f.n, 5);
    assert_int_equal(f.ev[0].kind, MSG_EVENT_BLOCK_START);
    assert_int_equal(f.ev[1].kind, MSG_EVENT_INTERRUPT);
    assert_int_equal(strlen(f.ev[1].reason), MSG_EVENT_REASON_MAX);
    assert_int_equal(f.ev[1].reason[3], ' ');
    assert_int_equal(f.ev[2].kind, MSG_EVENT_PROGRESS);
    assert_int_equal(f.ev[4].outcome, PC_OUTCOME_BLOCK_INTERRUPTED);
    pc_events_fold_free(&f);
    /* interrupted before any block: the outcome alone, as a written stream */
    rep.n_blocks_processed = 0;
    in.outcome = "execution_interrupted";
    in.outcome_len = strlen(in.outcome);
    assert_int_equal(pc_events_fold(&in, &f, NULL), 0);
    assert_int_equal(f.n, 1);
    assert_int_equal(f.ev[0].outcome, PC_OUTCOME_EXECUTION_INTERRUPTED);
    pc_events_fold_free(&f);
    /* no report: the outcome alone */
    in.report = NULL;
    assert_int_equal(pc_events_fold(&in, &f, NULL), 0);
    assert_int_equal(f.n, 1);
    pc_events_fold_free(&f);
    /* no or unknown outcome: refused */
    in.outcome = "nope";
    in.outcome_len = 4;
    assert_int_equal(pc_events_fold(&in, &f, NULL), PC_ESCHEMA);
    in.outcome = NULL;
    assert_int_equal(pc_events_fold(&in, &f, NULL), PC_ESCHEMA);
    pc_progress_view_free(&v);
}

/* ---- exec_follow's reply ---- */

static redisReply *str(const char *s)
{
    redisReply *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    if (s == NULL) {
        r->type = REDIS_REPLY_NIL;
        return r;
    }
    r->type = REDIS_REPLY_STRING;
    r->len = strlen(s);
    r->str = malloc(r->len + 1);
    assert_non_null(r->str);
    memcpy(r->str, s, r->len + 1);
    return r;
}

static redisReply *bin(const void *p, size_t n)
{
    redisReply *r = calloc(1, sizeof(*r));

    assert_non_null(r);
    r->type = REDIS_REPLY_STRING;
    r->len = n;
    r->str = malloc(n + 1);
    assert_non_null(r->str);
    memcpy(r->str, p, n);
    r->str[n] = '\0';
    return r;
}

static redisReply *arr(size_t n, ...)
{
    redisReply *r = calloc(1, sizeof(*r));
    va_list ap;

    assert_non_null(r);
    r->type = REDIS_REPLY_ARRAY;
    r->elements = n;
    r->element = calloc(n + 1, sizeof(*r->element));
    assert_non_null(r->element);
    va_start(ap, n);
    for (size_t i = 0; i < n; i++) {
        r->element[i] = va_arg(ap, redisReply *);
    }
    va_end(ap);
    return r;
}

static void test_follow_reply(void **state)
{
    struct pc_exec_follow fo;
    struct pc_outcome o;
    struct pc_report_block run[1];
    struct pc_buf report;
    redisReply *r;
    char errtext[] = "ERR x";
    redisReply err = {.type = REDIS_REPLY_ERROR, .str = errtext, .len = 5};
    char keys[PC_EXEC_FOLLOW_NKEYS][PC_KEY_MAX];

    (void)state;
    assert_int_equal(pc_exec_follow_keys(keys, "peace", "01ABC"), 0);
    assert_string_equal(keys[0], "peace:exec:{01ABC}");
    assert_string_equal(keys[2], "peace:exec:{01ABC}:events");
    assert_int_equal(pc_exec_follow_parse(NULL, &fo, NULL), PC_EREDIS);
    assert_int_equal(pc_exec_follow_parse(&err, &fo, NULL), PC_EREDIS);
    r = arr(0);
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), 0);
    assert_int_equal(fo.state, PC_FOLLOW_UNKNOWN);
    freeReplyObject(r);
    r = arr(1, str("running"));
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), 0);
    assert_int_equal(fo.state, PC_FOLLOW_RUNNING);
    freeReplyObject(r);
    r = arr(2, str("finished"), str("1"));
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), 0);
    assert_int_equal(fo.state, PC_FOLLOW_FINISHED);
    freeReplyObject(r);
    r = arr(3, str("finished"), str("0"), str("x"));
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), PC_ESCHEMA);
    freeReplyObject(r);
    r = arr(1, arr(0));
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), PC_ESCHEMA);
    freeReplyObject(r);

    /* folded: a version-3 report in the report key */
    pc_outcome_init(&o);
    o.kind = PC_OUTCOME_COMPLETE;
    o.blocks[0] = PC_BLOCK_DISCOVER;
    o.n_blocks = 1;
    o.n_blocks_processed = 1;
    memset(run, 0, sizeof(run));
    run[0].kind = PC_BLOCK_DISCOVER;
    run[0].start_ms = 5;
    o.run = run;
    o.n_run = 1;
    o.started_ms = 5;
    assert_int_equal(msg_report_encode(&o, &report, NULL), 0);
    r = arr(5, str("finished"), str("0"),
            arr(5, str("complete"), str("a,b"), str(NULL), str(NULL), str("short")),
            arr(4, str(".layout"), str("2"), str("a"), str("success unknown 1")),
            bin(report.data, report.len));
    pc_buf_cleanup(&report);
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), 0);
    assert_int_equal(fo.state, PC_FOLLOW_FOLDED);
    assert_int_equal(fo.fold.n, 3);
    assert_int_equal(fo.fold.ev[0].kind, MSG_EVENT_BLOCK_START);
    assert_string_equal(fo.fold.ev[1].item.s, "a");
    assert_int_equal(fo.fold.ev[1].done, 1);
    assert_int_equal(fo.fold.ev[2].outcome, PC_OUTCOME_COMPLETE);
    pc_exec_follow_free(&fo);
    freeReplyObject(r);
    /* a report that does not decode and no outcome */
    r = arr(5, str("finished"), str("0"),
            arr(5, str(NULL), str(NULL), str(NULL), str(NULL), str("\xff")), arr(0), str(NULL));
    assert_int_equal(pc_exec_follow_parse(r, &fo, NULL), PC_ESCHEMA);
    pc_exec_follow_free(&fo);
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocks_items_outcome),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_follow_reply),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
