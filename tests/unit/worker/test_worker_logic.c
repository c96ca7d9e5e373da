/*
 * test_worker_logic.c - the worker's decisions without Redis: stream
 * entries (good, missing, repeated, oversize, foreign fields), job
 * acceptance and rejection reasons, script replies, the takeover tolerance
 * rule, lease arithmetic, reconnect backoff and consumer names.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/items.h"
#include "peace/msg.h"
#include "peace/redis_conn.h"
#include "reply_builder.h"
#include "worker/logic.h"

#define EXEC_ID "01HZX3K5T0Y8M2Q4R6S8T0V2W4"

static const char flow_json[] =
    "{\"app\": \"shop\", \"profile\": \"dev\", \"flow\": \"deploy\", \"items\": ["
    " {\"id\": \"db\", \"type\": \"sleep\", \"params\": {\"steps\": 3, \"step_ms\": 1,"
    "  \"marker\": \"/tmp/x\"}},"
    " {\"id\": \"web\", \"type\": \"sleep\", \"deps\": [\"db\"], \"params\": {\"steps\": 1,"
    "  \"step_ms\": 1, \"marker\": \"/tmp/y\"}},"
    " {\"id\": \"cache\", \"type\": \"sleep\", \"deps\": [\"web\"], \"params\": {\"steps\": 1,"
    "  \"step_ms\": 1, \"marker\": \"/tmp/z\"}}]}";

static void load_flow(struct pc_flow *f, const char *json)
{
    assert_int_equal(pc_flow_parse_json(json, strlen(json), "test", f, NULL), 0);
}

/* Encodes a job for EXEC_ID over json into out (caller frees). */
static void encode_job(const char *id, const char *json, struct pc_buf *out)
{
    struct msg_job job;

    memset(&job, 0, sizeof(job));
    (void)snprintf(job.id, sizeof(job.id), "%s", id);
    job.cmd = PC_CMD_ENSURE;
    (void)snprintf(job.queue.s, sizeof(job.queue.s), "default");
    job.created_ms = 1732233445566u;
    load_flow(&job.flow, json);
    assert_int_equal(msg_job_encode(&job, out, NULL), 0);
    msg_job_cleanup(&job);
}

static redisReply *entry(const char *id, redisReply *fields)
{
    return rb_arr(2, rb_str(id), fields);
}

/* ------------------------------------------------------------------------ */
/* Entries                                                                   */

static void entry_with_exec_and_job_is_read(void **state)
{
    redisReply *e = entry("1-0", rb_arr(4, rb_str("exec"), rb_str(EXEC_ID), rb_str("job"),
                                        rb_strn("\x81\xa1v\x01", 4)));
    struct wk_entry out;

    (void)state;
    assert_int_equal(wk_entry_parse(e, &out), 0);
    assert_string_equal(out.id, "1-0");
    assert_string_equal(out.exec_id, EXEC_ID);
    assert_non_null(out.job);
    assert_int_equal(out.job_len, 4);
    rb_free(e);
}

static void entry_fields_in_any_order_and_unknown_ones_ignored(void **state)
{
    redisReply *e = entry("7-3", rb_arr(6, rb_str("job"), rb_str("J"), rb_str("extra"),
                                        rb_str("whatever"), rb_str("exec"), rb_str(EXEC_ID)));
    struct wk_entry out;

    (void)state;
    assert_int_equal(wk_entry_parse(e, &out), 0);
    assert_string_equal(out.exec_id, EXEC_ID);
    assert_int_equal(out.job_len, 1);
    rb_free(e);
}

static void entry_without_exec_has_empty_exec_id(void **state)
{
    redisReply *e = entry("1-0", rb_arr(2, rb_str("job"), rb_str("J")));
    struct wk_entry out;

    (void)state;
    assert_int_equal(wk_entry_parse(e, &out), 0);
    assert_string_equal(out.exec_id, "");
    assert_non_null(out.job);
    rb_free(e);
}

static void entry_exec_with_key_breaking_characters_is_unusable(void **state)
{
    const char *bad[] = {"a}b",
                         "{x",
                         "has space",
                         "",
                         "01HZX3K5T0Y8M2Q4R6S8T0V2W4:1",
                         "0123456789012345678901234567890123456789012345678901234567890123456"};
    struct wk_entry out;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redisReply *e = entry("1-0", rb_arr(2, rb_str("exec"), rb_str(bad[i])));

        assert_int_equal(wk_entry_parse(e, &out), 0);
        assert_string_equal(out.exec_id, "");
        rb_free(e);
    }
    assert_true(pc_exec_id_valid("0190f0b6-7a3c-7d2e-9c4f-0123456789ab", 36));
}

static void entry_repeated_fields_are_not_trusted(void **state)
{
    redisReply *e = entry("1-0", rb_arr(8, rb_str("exec"), rb_str(EXEC_ID), rb_str("job"),
                                        rb_str("A"), rb_str("job"), rb_str("B"), rb_str("exec"),
                                        rb_str("01HZX3K5T0Y8M2Q4R6S8T0V2W5")));
    struct wk_entry out;

    (void)state;
    assert_int_equal(wk_entry_parse(e, &out), 0);
    assert_string_equal(out.exec_id, "");
    assert_null(out.job);
    rb_free(e);
}

static void entry_job_over_the_limit_is_dropped(void **state)
{
    redisReply *e =
        entry("1-0", rb_arr(4, rb_str("exec"), rb_str(EXEC_ID), rb_str("job"), rb_str("x")));
    struct wk_entry out;

    (void)state;
    /* Only the length is looked at: no need for 8 MiB of memory. */
    e->element[1]->element[3]->len = (size_t)MSG_JOB_MAX + 1;
    assert_int_equal(wk_entry_parse(e, &out), 0);
    assert_null(out.job);
    e->element[1]->element[3]->len = 1;
    rb_free(e);
}

static void deleted_entry_has_id_and_nothing_else(void **state)
{
    redisReply *e = entry("5-1", rb_nil());
    struct wk_entry out;

    (void)state;
    assert_int_equal(wk_entry_parse(e, &out), 0);
    assert_string_equal(out.id, "5-1");
    assert_string_equal(out.exec_id, "");
    assert_null(out.job);
    rb_free(e);
}

static void entry_without_usable_id_is_schema_error(void **state)
{
    redisReply *cases[] = {rb_str("not an array"), rb_arr(0), entry("1-0 junk", rb_arr(0)),
                           rb_arr(1, rb_int(3)), NULL};
    struct wk_entry out;

    (void)state;
    for (size_t i = 0; cases[i] != NULL; i++) {
        assert_int_equal(wk_entry_parse(cases[i], &out), PC_ESCHEMA);
        rb_free(cases[i]);
    }
    assert_int_equal(wk_entry_parse(NULL, &out), PC_ESCHEMA);
}

/* ------------------------------------------------------------------------ */
/* Job acceptance                                                            */

static struct pc_registry *builtin_registry(void)
{
    struct pc_registry *r = NULL;

    assert_int_equal(pc_registry_create(&r, NULL), 0);
    assert_int_equal(pc_items_register_builtin(r, NULL), 0);
    return r;
}

static void valid_job_is_accepted(void **state)
{
    struct pc_registry *reg = builtin_registry();
    struct pc_buf b;
    struct wk_entry e;
    struct msg_job job;
    char reason[WK_REASON_MAX] = "";

    (void)state;
    encode_job(EXEC_ID, flow_json, &b);
    memset(&e, 0, sizeof(e));
    (void)snprintf(e.exec_id, sizeof(e.exec_id), "%s", EXEC_ID);
    e.job = b.data;
    e.job_len = b.len;
    assert_int_equal(wk_job_accept(&e, reg, &job, reason, sizeof(reason)), 0);
    assert_string_equal(job.id, EXEC_ID);
    assert_int_equal(job.flow.n_items, 3);
    msg_job_cleanup(&job);
    pc_buf_cleanup(&b);
    pc_registry_destroy(reg);
}

static void undecodable_job_is_rejected_with_the_decoder_reason(void **state)
{
    struct wk_entry e;
    struct msg_job job;
    char reason[WK_REASON_MAX] = "";

    (void)state;
    memset(&e, 0, sizeof(e));
    (void)snprintf(e.exec_id, sizeof(e.exec_id), "%s", EXEC_ID);
    e.job = "\xc1 not msgpack";
    e.job_len = 13;
    assert_int_not_equal(wk_job_accept(&e, NULL, &job, reason, sizeof(reason)), 0);
    assert_non_null(strstr(reason, "undecodable job"));
}

static void missing_job_is_rejected(void **state)
{
    struct wk_entry e;
    struct msg_job job;
    char reason[WK_REASON_MAX] = "";

    (void)state;
    memset(&e, 0, sizeof(e));
    assert_int_equal(wk_job_accept(&e, NULL, &job, reason, sizeof(reason)), PC_ESCHEMA);
    assert_non_null(strstr(reason, "no usable job field"));
}

static void job_for_another_execution_is_rejected(void **state)
{
    struct pc_buf b;
    struct wk_entry e;
    struct msg_job job;
    char reason[WK_REASON_MAX] = "";

    (void)state;
    encode_job("01HZX3K5T0Y8M2Q4R6S8T0V2W9", flow_json, &b);
    memset(&e, 0, sizeof(e));
    (void)snprintf(e.exec_id, sizeof(e.exec_id), "%s", EXEC_ID);
    e.job = b.data;
    e.job_len = b.len;
    assert_int_equal(wk_job_accept(&e, NULL, &job, reason, sizeof(reason)), PC_EINVAL);
    assert_non_null(strstr(reason, "01HZX3K5T0Y8M2Q4R6S8T0V2W9"));
    assert_non_null(strstr(reason, EXEC_ID));
    pc_buf_cleanup(&b);
}

static void unknown_item_type_is_rejected_naming_the_item(void **state)
{
    static const char json[] = "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
                               " {\"id\": \"mystery\", \"type\": \"teleport\"}]}";
    struct pc_registry *reg = builtin_registry();
    struct pc_buf b;
    struct wk_entry e;
    struct msg_job job;
    char reason[WK_REASON_MAX] = "";

    (void)state;
    encode_job(EXEC_ID, json, &b);
    memset(&e, 0, sizeof(e));
    e.job = b.data;
    e.job_len = b.len;
    assert_int_equal(wk_job_accept(&e, reg, &job, reason, sizeof(reason)), PC_EINVAL);
    assert_non_null(strstr(reason, "mystery"));
    pc_buf_cleanup(&b);
    pc_registry_destroy(reg);
}

/* ------------------------------------------------------------------------ */
/* Script replies                                                            */

static void start_reply_started_is_read(void **state)
{
    redisReply *r = rb_arr(8, rb_str("started"), rb_int(4), rb_int(2), rb_str("1700000000123"),
                           rb_str("stop it"), rb_str("apply_ensure"), rb_str("db"),
                           rb_arr(2, rb_str("db.status"), rb_str("running")));
    struct wk_start s;

    (void)state;
    assert_int_equal(wk_start_parse(r, &s, NULL), 0);
    assert_int_equal(s.kind, WK_START_STARTED);
    assert_int_equal(s.epoch, 4);
    assert_int_equal(s.attempt, 2);
    assert_int_equal(s.interrupt_requested_ms, 1700000000123u);
    assert_int_equal(s.interrupt_reason_len, 7);
    assert_int_equal(s.block_len, 12);
    assert_int_equal(s.progress->elements, 2);
    rb_free(r);
}

static void start_reply_without_marker_has_zero(void **state)
{
    redisReply *r = rb_arr(8, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""),
                           rb_str(""), rb_str(""), rb_arr(0));
    struct wk_start s;

    (void)state;
    assert_int_equal(wk_start_parse(r, &s, NULL), 0);
    assert_int_equal(s.interrupt_requested_ms, 0);
    assert_int_equal(s.block_len, 0);
    rb_free(r);
}

/* exec_start with the profile lock in the same call (a standalone Redis):
 * not asked, held, busy with its holder; a malformed answer is refused. */
static void start_reply_with_lock_answer(void **state)
{
    redisReply *none = rb_arr(9, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""),
                              rb_str(""), rb_str(""), rb_arr(0), rb_arr(0));
    redisReply *held = rb_arr(9, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""),
                              rb_str(""), rb_str(""), rb_arr(0), rb_arr(2, rb_int(1), rb_str("")));
    redisReply *busy =
        rb_arr(9, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""), rb_str(""),
               rb_str(""), rb_arr(0), rb_arr(2, rb_int(0), rb_str("01HOTHER:3")));
    redisReply *bad = rb_arr(9, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""),
                             rb_str(""), rb_str(""), rb_arr(0), rb_arr(2, rb_int(2), rb_str("")));
    redisReply *odd = rb_arr(9, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""),
                             rb_str(""), rb_str(""), rb_arr(0), rb_arr(1, rb_int(1)));
    redisReply *old = rb_arr(8, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""),
                             rb_str(""), rb_str(""), rb_arr(0));
    struct wk_start s;

    (void)state;
    assert_int_equal(wk_start_parse(none, &s, NULL), 0);
    assert_int_equal(s.lock, -1);
    assert_int_equal(wk_start_parse(held, &s, NULL), 0);
    assert_int_equal(s.lock, 1);
    assert_int_equal(wk_start_parse(busy, &s, NULL), 0);
    assert_int_equal(s.lock, 0);
    assert_int_equal(s.lock_holder_len, strlen("01HOTHER:3"));
    assert_memory_equal(s.lock_holder, "01HOTHER:3", s.lock_holder_len);
    assert_int_equal(wk_start_parse(bad, &s, NULL), PC_ESCHEMA);
    assert_int_equal(wk_start_parse(odd, &s, NULL), PC_ESCHEMA);
    assert_int_equal(wk_start_parse(old, &s, NULL), 0);
    assert_int_equal(s.lock, -1);
    rb_free(none);
    rb_free(held);
    rb_free(busy);
    rb_free(bad);
    rb_free(odd);
    rb_free(old);
}

static void start_reply_finished_and_exhausted(void **state)
{
    redisReply *f = rb_arr(2, rb_str("finished"), rb_str("complete"));
    redisReply *x = rb_arr(2, rb_str("exhausted"), rb_int(4));
    struct wk_start s;

    (void)state;
    assert_int_equal(wk_start_parse(f, &s, NULL), 0);
    assert_int_equal(s.kind, WK_START_FINISHED);
    assert_int_equal(wk_start_parse(x, &s, NULL), 0);
    assert_int_equal(s.kind, WK_START_EXHAUSTED);
    assert_int_equal(s.attempt, 4);
    rb_free(f);
    rb_free(x);
}

static void start_reply_more_asks_for_the_long_form(void **state)
{
    redisReply *m = rb_arr(1, rb_str("more"));
    struct wk_start s;

    (void)state;
    assert_int_equal(wk_start_parse(m, &s, NULL), 0);
    assert_int_equal(s.kind, WK_START_MORE);
    rb_free(m);
}

static void start_reply_malformed_is_schema_error(void **state)
{
    redisReply *cases[] = {
        rb_str("OK"),
        rb_arr(0),
        rb_arr(1, rb_str("what")),
        rb_arr(3, rb_str("started"), rb_int(1), rb_int(1)),
        rb_arr(8, rb_str("started"), rb_int(0), rb_int(1), rb_str(""), rb_str(""), rb_str(""),
               rb_str(""), rb_arr(0)),
        rb_arr(8, rb_str("started"), rb_str("x"), rb_int(1), rb_str(""), rb_str(""), rb_str(""),
               rb_str(""), rb_arr(0)),
        rb_arr(8, rb_str("started"), rb_int(1), rb_int(-1), rb_str(""), rb_str(""), rb_str(""),
               rb_str(""), rb_arr(0)),
        rb_arr(8, rb_str("started"), rb_int(1), rb_int(1), rb_str(""), rb_str(""), rb_str(""),
               rb_str(""), rb_str("not an array")),
        NULL,
    };
    struct wk_start s;
    struct pc_err err;

    (void)state;
    for (size_t i = 0; cases[i] != NULL; i++) {
        pc_err_clear(&err);
        assert_int_equal(wk_start_parse(cases[i], &s, &err), PC_ESCHEMA);
        assert_non_null(strstr(err.msg, "exec_start"));
        rb_free(cases[i]);
    }
}

static void renew_reply_ok_fenced_and_malformed(void **state)
{
    redisReply *ok = rb_arr(3, rb_str("ok"), rb_str("17"), rb_str("why"));
    redisReply *quiet = rb_arr(3, rb_str("ok"), rb_str(""), rb_str(""));
    redisReply *fenced = rb_arr(1, rb_str("fenced"));
    redisReply *bad = rb_arr(2, rb_str("ok"), rb_str(""));
    struct wk_renew r;

    (void)state;
    assert_int_equal(wk_renew_parse(ok, &r, NULL), 0);
    assert_false(r.fenced);
    assert_int_equal(r.interrupt_requested_ms, 17);
    assert_int_equal(r.interrupt_reason_len, 3);
    assert_int_equal(wk_renew_parse(quiet, &r, NULL), 0);
    assert_int_equal(r.interrupt_requested_ms, 0);
    assert_int_equal(wk_renew_parse(fenced, &r, NULL), 0);
    assert_true(r.fenced);
    assert_int_equal(wk_renew_parse(bad, &r, NULL), PC_ESCHEMA);
    rb_free(ok);
    rb_free(quiet);
    rb_free(fenced);
    rb_free(bad);
}

static void lock_reply_acquired_busy_and_malformed(void **state)
{
    redisReply *got = rb_arr(2, rb_int(1), rb_str(""));
    redisReply *busy = rb_arr(2, rb_int(0), rb_str(EXEC_ID ":3"));
    redisReply *bad = rb_arr(2, rb_int(7), rb_str(""));
    bool acquired = false;
    const char *holder = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(wk_lock_parse(got, &acquired, &holder, &n, NULL), 0);
    assert_true(acquired);
    assert_int_equal(wk_lock_parse(busy, &acquired, &holder, &n, NULL), 0);
    assert_false(acquired);
    assert_int_equal(n, strlen(EXEC_ID ":3"));
    assert_int_equal(wk_lock_parse(bad, &acquired, &holder, &n, NULL), PC_ESCHEMA);
    rb_free(got);
    rb_free(busy);
    rb_free(bad);
}

/* The plain SET NX GET: nil takes the lock, another execution's value is
 * the holder, a value of this execution (any attempt) goes to the script. */
static void lock_set_reply_taken_busy_ours_and_malformed(void **state)
{
    redisReply *taken = rb_nil();
    redisReply *busy = rb_str("01HOTHER000000000000000000:2");
    redisReply *ours_old = rb_str(EXEC_ID ":1");
    redisReply *prefix_only = rb_str(EXEC_ID "X:1"); /* another id that starts like ours */
    redisReply *bare = rb_str(EXEC_ID);              /* no ":EPOCH": not a lock of ours */
    redisReply *bad = rb_int(1);
    enum wk_lock_try t = WK_LOCK_TAKEN;
    const char *holder = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(wk_lock_set_parse(taken, EXEC_ID, &t, &holder, &n, NULL), 0);
    assert_int_equal(t, WK_LOCK_TAKEN);
    assert_int_equal(wk_lock_set_parse(busy, EXEC_ID, &t, &holder, &n, NULL), 0);
    assert_int_equal(t, WK_LOCK_BUSY);
    assert_int_equal(n, strlen("01HOTHER000000000000000000:2"));
    assert_int_equal(wk_lock_set_parse(ours_old, EXEC_ID, &t, &holder, &n, NULL), 0);
    assert_int_equal(t, WK_LOCK_ASK_SCRIPT);
    assert_int_equal(wk_lock_set_parse(prefix_only, EXEC_ID, &t, &holder, &n, NULL), 0);
    assert_int_equal(t, WK_LOCK_BUSY);
    assert_int_equal(wk_lock_set_parse(bare, EXEC_ID, &t, &holder, &n, NULL), 0);
    assert_int_equal(t, WK_LOCK_BUSY);
    assert_int_equal(wk_lock_set_parse(bad, EXEC_ID, &t, &holder, &n, NULL), PC_ESCHEMA);
    assert_int_equal(wk_lock_set_parse(NULL, EXEC_ID, &t, &holder, &n, NULL), PC_EREDIS);
    rb_free(taken);
    rb_free(busy);
    rb_free(ours_old);
    rb_free(prefix_only);
    rb_free(bare);
    rb_free(bad);
}

/* ------------------------------------------------------------------------ */
/* Takeover tolerance                                                        */

#define KV(k, v)                                                                                   \
    {                                                                                              \
        k, sizeof(k) - 1, v, sizeof(v) - 1                                                         \
    }

static long tolerate(const char *block, const char *prev, const struct pc_progress_kv *kv, size_t n,
                     bool out[3], char *list, size_t list_size)
{
    struct wk_prev_attempt pa = {block, strlen(block), prev, strlen(prev), kv, n};
    struct pc_flow f;
    struct pc_buf b;
    long rc;

    load_flow(&f, flow_json);
    pc_buf_init(&b, 1024);
    rc = wk_tolerate(&f, &pa, out, &b);
    (void)snprintf(list, list_size, "%s", pc_buf_str(&b));
    pc_buf_cleanup(&b);
    pc_flow_cleanup(&f);
    return rc;
}

static void apply_block_items_not_recorded_success_are_tolerated(void **state)
{
    const struct pc_progress_kv kv[] = {
        KV("db.status", "success"),   KV("db.limit", "steps:3"),
        KV("db.msg", "done!"),        KV("web.status", "running"),
        KV("web.limit", "steps:1"),   KV("cache.status", "exec_pending"),
        KV("cache.limit", "unknown"), KV("cache.msg", ""),
    };
    bool out[3];
    char list[64];

    (void)state;
    /* cache shows exec_pending, but the progress that would show it running
     * may be what the outage lost. */
    assert_int_equal(tolerate("apply_ensure", "", kv, 8, out, list, sizeof(list)), 2);
    assert_false(out[0]);
    assert_true(out[1]);
    assert_true(out[2]);
    assert_string_equal(list, "web,cache");
}

static void every_status_but_success_is_tolerated(void **state)
{
    static const char *const statuses[] = {
        "initialized",     "exec_pending", "queued", "running",  "interrupted",
        "running_stalled", "user_pending", "fail",   "nonsense", "",
    };
    bool out[3];
    char list[64];

    (void)state;
    for (size_t i = 0; i < sizeof(statuses) / sizeof(statuses[0]); i++) {
        const struct pc_progress_kv kv[] = {
            {"db.status", 9, statuses[i], strlen(statuses[i])},
            KV("web.status", "success"),
            KV("cache.status", "success"),
        };

        assert_int_equal(tolerate("apply_clean", "", kv, 3, out, list, sizeof(list)), 1);
        assert_true(out[0]);
        assert_string_equal(list, "db");
    }
}

static void items_without_a_recorded_status_are_tolerated(void **state)
{
    const struct pc_progress_kv kv[] = {KV("db.status", "success"), KV("web.msg", "done!")};
    bool out[3];
    char list[64];

    (void)state;
    assert_int_equal(tolerate("apply_ensure", "", kv, 2, out, list, sizeof(list)), 2);
    assert_string_equal(list, "web,cache");
}

static void outside_the_apply_block_nothing_is_tolerated(void **state)
{
    const struct pc_progress_kv kv[] = {KV("db.status", "running"), KV("web.status", "queued")};
    const char *blocks[] = {"discover", "sync_check",       "read_current",
                            "",         "apply_ensure_dry", "bogus"};
    bool out[3];
    char list[64];

    (void)state;
    for (size_t i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++) {
        assert_int_equal(tolerate(blocks[i], "", kv, 2, out, list, sizeof(list)), 0);
        assert_false(out[0] || out[1] || out[2]);
        assert_string_equal(list, "");
    }
}

static void earlier_attempts_tolerance_carries_over(void **state)
{
    const struct pc_progress_kv kv[] = {KV("db.status", "success"), KV("web.status", "running")};
    bool out[3];
    char list[64];

    (void)state;
    /* A crash in discover after an earlier crash in apply: the earlier list
     * still counts, and unknown ids in it are ignored. */
    assert_int_equal(tolerate("discover", "cache,gone", kv, 2, out, list, sizeof(list)), 1);
    assert_string_equal(list, "cache");
    assert_int_equal(tolerate("apply_ensure", "cache", kv, 2, out, list, sizeof(list)), 2);
    assert_string_equal(list, "web,cache");
}

static void only_the_items_own_success_counts(void **state)
{
    const struct pc_progress_kv kv[] = {KV("webx.status", "success"),
                                        KV("we.status", "success"),
                                        KV("web", "running unknown 0 success"),
                                        KV("web.statusx", "success"),
                                        KV("db.status", "success"),
                                        KV("cache.status", "success")};
    bool out[3];
    char list[64];

    (void)state;
    assert_int_equal(tolerate("apply_ensure", "", kv, 6, out, list, sizeof(list)), 1);
    assert_string_equal(list, "web");
}

/* Progress layout 2 (one line per item) is read as layout 1 is. */
static void success_recorded_in_layout_2_counts(void **state)
{
    const struct pc_progress_kv kv[] = {KV(".layout", "2"), KV("web", "success steps:3 3 ok"),
                                        KV("db", "fail unknown 0 success"), KV("cache", "success")};
    bool out[3];
    char list[64];

    (void)state;
    assert_int_equal(tolerate("apply_ensure", "", kv, 4, out, list, sizeof(list)), 1);
    assert_string_equal(list, "db");
}

/* ------------------------------------------------------------------------ */
/* Leases, backoff, names                                                    */

static void timing_follows_the_lease(void **state)
{
    struct wk_timing t;

    (void)state;
    wk_timing_from_lease(10000, &t);
    assert_int_equal(t.renew_ms, 3333);
    assert_int_equal(t.claim_ms, 500);
    assert_int_equal(t.read_block_ms, 2000);
    assert_int_equal(t.cmd_timeout_ms, 5000);
    wk_timing_from_lease(900, &t);
    assert_int_equal(t.renew_ms, 300);
    assert_int_equal(t.claim_ms, 450);
    assert_int_equal(t.read_block_ms, 300);
    assert_int_equal(t.cmd_timeout_ms, 1000);
    assert_int_equal(wk_lease_until(1000, 10000), 11000);
}

static void lease_is_lost_after_a_whole_lease_without_renewal(void **state)
{
    (void)state;
    assert_false(wk_lease_lost(1000, 10999, 10000));
    assert_true(wk_lease_lost(1000, 11000, 10000));
    /* A clock that stepped back is not a lost lease. */
    assert_false(wk_lease_lost(5000, 1000, 10000));
}

static void parked_retry_every_half_lease(void **state)
{
    (void)state;
    assert_false(wk_park_retry_due(1000, 5999, 10000));
    assert_true(wk_park_retry_due(1000, 6000, 10000));
    assert_true(wk_park_retry_due(5000, 1000, 10000));
}

static void backoff_doubles_with_jitter_and_is_capped(void **state)
{
    (void)state;
    /* jitter rand 0 = lower half bound, max = upper bound */
    assert_int_equal(pc_redis_backoff_ms(0, 100, 5000, 0), 50);
    assert_int_equal(pc_redis_backoff_ms(0, 100, 5000, 50), 100);
    assert_int_equal(pc_redis_backoff_ms(1, 100, 5000, 0), 100);
    assert_int_equal(pc_redis_backoff_ms(3, 100, 5000, 400), 800);
    assert_int_equal(pc_redis_backoff_ms(6, 100, 5000, 0), 2500);
    assert_int_equal(pc_redis_backoff_ms(60, 100, 5000, 2500), 5000);
    for (uint32_t r = 0; r < 20000; r += 7) {
        uint32_t d = pc_redis_backoff_ms(200, 100, 5000, r * 2654435761u);

        assert_true(d >= 2500 && d <= 5000);
    }
    assert_true(pc_redis_backoff_ms(0, 0, 0, 0) >= 1);
}

static void consumer_name_is_printable_and_bounded(void **state)
{
    char out[40];

    (void)state;
    assert_int_equal(wk_consumer_name("host one", 42, 0xabcdef12u, out, sizeof(out)), 0);
    assert_string_equal(out, "host_one:42:cdef12");
    assert_int_equal(wk_consumer_name("", 1, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "host:1:000000");
    assert_int_equal(wk_consumer_name("a-very-long-host-name-that-does-not-fit", 1, 0, out, 20),
                     PC_ELIMIT);
}

static void rejected_report_round_trips(void **state)
{
    struct pc_buf b;
    struct pc_outcome o;

    (void)state;
    assert_int_equal(wk_rejected_report("bad params", &b), 0);
    assert_int_equal(msg_report_decode(b.data, b.len, &o, NULL), 0);
    assert_int_equal(o.kind, PC_OUTCOME_REJECTED);
    assert_string_equal(o.error, "bad params");
    pc_outcome_cleanup(&o);
    pc_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(entry_with_exec_and_job_is_read),
        cmocka_unit_test(entry_fields_in_any_order_and_unknown_ones_ignored),
        cmocka_unit_test(entry_without_exec_has_empty_exec_id),
        cmocka_unit_test(entry_exec_with_key_breaking_characters_is_unusable),
        cmocka_unit_test(entry_repeated_fields_are_not_trusted),
        cmocka_unit_test(entry_job_over_the_limit_is_dropped),
        cmocka_unit_test(deleted_entry_has_id_and_nothing_else),
        cmocka_unit_test(entry_without_usable_id_is_schema_error),
        cmocka_unit_test(valid_job_is_accepted),
        cmocka_unit_test(undecodable_job_is_rejected_with_the_decoder_reason),
        cmocka_unit_test(missing_job_is_rejected),
        cmocka_unit_test(job_for_another_execution_is_rejected),
        cmocka_unit_test(unknown_item_type_is_rejected_naming_the_item),
        cmocka_unit_test(start_reply_started_is_read),
        cmocka_unit_test(start_reply_without_marker_has_zero),
        cmocka_unit_test(start_reply_with_lock_answer),
        cmocka_unit_test(start_reply_finished_and_exhausted),
        cmocka_unit_test(start_reply_more_asks_for_the_long_form),
        cmocka_unit_test(start_reply_malformed_is_schema_error),
        cmocka_unit_test(renew_reply_ok_fenced_and_malformed),
        cmocka_unit_test(lock_reply_acquired_busy_and_malformed),
        cmocka_unit_test(lock_set_reply_taken_busy_ours_and_malformed),
        cmocka_unit_test(apply_block_items_not_recorded_success_are_tolerated),
        cmocka_unit_test(every_status_but_success_is_tolerated),
        cmocka_unit_test(items_without_a_recorded_status_are_tolerated),
        cmocka_unit_test(outside_the_apply_block_nothing_is_tolerated),
        cmocka_unit_test(earlier_attempts_tolerance_carries_over),
        cmocka_unit_test(only_the_items_own_success_counts),
        cmocka_unit_test(success_recorded_in_layout_2_counts),
        cmocka_unit_test(timing_follows_the_lease),
        cmocka_unit_test(lease_is_lost_after_a_whole_lease_without_renewal),
        cmocka_unit_test(parked_retry_every_half_lease),
        cmocka_unit_test(backoff_doubles_with_jitter_and_is_capped),
        cmocka_unit_test(consumer_name_is_printable_and_bounded),
        cmocka_unit_test(rejected_report_round_trips),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
