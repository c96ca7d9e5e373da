/*
 * test_job_codec.c - the job message: round trips, and every kind of
 * malformed job (built independently with msgpack-c) as a clean error.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec_fuzz.h"
#include "peace/msg.h"

#define JOB_ID "01HZX3K5T0Y8M2Q4R6S8T0V2W4"

static const char flow_json[] =
    "{\"app\": \"shop\", \"profile\": \"dev\", \"flow\": \"deploy\", \"items\": ["
    " {\"id\": \"web\", \"type\": \"file\", \"deps\": [\"db\"],"
    "  \"params\": {\"path\": \"/srv/x\", \"mode\": \"0644\", \"n\": [1, -2, 3.5, null, true]}},"
    " {\"id\": \"db\", \"type\": \"sleep\", \"params\": {\"steps\": 3}},"
    " {\"id\": \"cache\", \"type\": \"sh_cmd\", \"deps\": [\"web\", \"db\"]}]}";

static void make_job(struct msg_job *job)
{
    memset(job, 0, sizeof(*job));
    memcpy(job->id, JOB_ID, sizeof(JOB_ID));
    job->cmd = PC_CMD_ENSURE;
    job->sync = PC_SYNC_CURRENT;
    job->strategy.kind = PC_STRATEGY_POLL_NEXT_N;
    job->strategy.n = 3;
    (void)snprintf(job->queue.s, sizeof(job->queue.s), "default");
    job->created_ms = 1732233445566u;
    assert_int_equal(pc_flow_parse_json(flow_json, strlen(flow_json), "t", &job->flow, NULL), 0);
}

/* Decodes and enforces the failure contract. */
static int try_decode(const void *p, size_t n)
{
    struct msg_job out;
    struct msg_job sentinel;
    struct pc_err err;
    int rc;

    memset(&sentinel, 0x5a, sizeof(sentinel));
    out = sentinel;
    pc_err_clear(&err);
    rc = msg_job_decode(p, n, &out, &err);
    if (rc == 0) {
        msg_job_cleanup(&out);
        return 0;
    }
    assert_memory_equal(&out, &sentinel, sizeof(out));
    assert_int_equal(err.code, rc);
    assert_true(strncmp(err.msg, "job", 3) == 0);
    return rc;
}

static void encode_valid(struct pc_buf *out)
{
    struct msg_job job;

    make_job(&job);
    assert_int_equal(msg_job_encode(&job, out, NULL), 0);
    msg_job_cleanup(&job);
}

static void test_job_round_trips_every_field(void **state)
{
    struct msg_job job;
    struct msg_job back;
    struct pc_buf enc;
    struct pc_buf again;

    (void)state;
    make_job(&job);
    assert_int_equal(msg_job_encode(&job, &enc, NULL), 0);
    assert_int_equal(msg_job_decode(enc.data, enc.len, &back, NULL), 0);
    assert_string_equal(back.id, JOB_ID);
    assert_int_equal(back.cmd, PC_CMD_ENSURE);
    assert_int_equal(back.sync, PC_SYNC_CURRENT);
    assert_int_equal(back.strategy.kind, PC_STRATEGY_POLL_NEXT_N);
    assert_int_equal(back.strategy.n, 3);
    assert_string_equal(back.queue.s, "default");
    assert_int_equal(back.created_ms, 1732233445566u);
    assert_string_equal(back.flow.app.s, "shop");
    assert_string_equal(back.flow.profile.s, "dev");
    assert_string_equal(back.flow.flow.s, "deploy");
    assert_int_equal(back.flow.n_items, 3);
    for (size_t i = 0; i < 3; i++) {
        const struct pc_flow_item *a = &job.flow.items[i];
        const struct pc_flow_item *b = &back.flow.items[i];

        assert_string_equal(a->id.s, b->id.s);
        assert_string_equal(a->type.s, b->type.s);
        assert_int_equal(a->n_deps, b->n_deps);
        if (a->n_deps > 0) {
            assert_memory_equal(a->deps, b->deps, a->n_deps * sizeof(size_t));
        }
        assert_int_equal(a->params_len, b->params_len);
        assert_memory_equal(a->params, b->params, a->params_len);
    }
    /* Byte-for-byte stable through a second round. */
    assert_int_equal(msg_job_encode(&back, &again, NULL), 0);
    assert_int_equal(again.len, enc.len);
    assert_memory_equal(again.data, enc.data, enc.len);
    pc_buf_cleanup(&again);
    pc_buf_cleanup(&enc);
    msg_job_cleanup(&back);
    msg_job_cleanup(&job);
}

static void test_every_command_sync_and_strategy_round_trips(void **state)
{
    struct msg_job job;
    struct msg_job back;
    struct pc_buf enc;
    static const struct pc_strategy strategies[] = {{PC_STRATEGY_FINISH_CURRENT, 0},
                                                    {PC_STRATEGY_IGNORE, 0},
                                                    {PC_STRATEGY_POLL_NEXT_N, 0},
                                                    {PC_STRATEGY_POLL_NEXT_N, UINT64_MAX}};

    (void)state;
    make_job(&job);
    for (int c = 0; c < PC_CMD_COUNT; c++) {
        for (int s = 0; s < 4; s++) {
            job.cmd = (enum pc_cmd)c;
            job.sync = (enum pc_sync)s;
            job.strategy = strategies[(size_t)(c + s) % 4];
            if (msg_job_encode(&job, &enc, NULL) != 0) {
                continue; /* pc_strategy_parse may refuse poll_next_n:0; then so does encode */
            }
            assert_int_equal(msg_job_decode(enc.data, enc.len, &back, NULL), 0);
            assert_int_equal(back.cmd, job.cmd);
            assert_int_equal(back.sync, job.sync);
            assert_int_equal(back.strategy.kind, job.strategy.kind);
            assert_int_equal(back.strategy.n, job.strategy.n);
            msg_job_cleanup(&back);
            pc_buf_cleanup(&enc);
        }
    }
    msg_job_cleanup(&job);
}

static void test_encode_refuses_what_decode_would_refuse(void **state)
{
    static const uint8_t not_a_map[] = {0x91, 0x01};
    static const uint8_t map_and_more[] = {0x80, 0x80};
    struct msg_job job;
    struct pc_buf enc;
    struct pc_err err;
    uint8_t *saved = NULL;
    size_t saved_len;

    (void)state;
    make_job(&job);
    memcpy(job.id, "not-a-ulid", 11);
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "job: id"));
    memcpy(job.id, JOB_ID, sizeof(JOB_ID));

    job.cmd = (enum pc_cmd)PC_CMD_COUNT;
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    job.cmd = PC_CMD_CLEAN;
    job.sync = (enum pc_sync)9;
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    job.sync = PC_SYNC_BOTH;
    job.strategy.kind = (enum pc_strategy_kind)7;
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    job.strategy.kind = PC_STRATEGY_IGNORE;
    job.queue.s[0] = '-';
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    job.queue.s[0] = 'd';

    job.flow.items[1].deps = malloc(sizeof(size_t));
    assert_non_null(job.flow.items[1].deps);
    job.flow.items[1].deps[0] = 2; /* db -> cache -> web -> db */
    job.flow.items[1].n_deps = 1;
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "cycle"));
    job.flow.items[1].n_deps = 0;

    saved = job.flow.items[0].params;
    saved_len = job.flow.items[0].params_len;
    job.flow.items[0].params = (uint8_t *)not_a_map;
    job.flow.items[0].params_len = sizeof(not_a_map);
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    assert_non_null(strstr(err.msg, "items[0].params"));
    job.flow.items[0].params = (uint8_t *)map_and_more;
    job.flow.items[0].params_len = sizeof(map_and_more);
    assert_int_equal(msg_job_encode(&job, &enc, &err), PC_EINVAL);
    job.flow.items[0].params = saved;
    job.flow.items[0].params_len = saved_len;

    assert_int_equal(msg_job_encode(&job, &enc, &err), 0);
    pc_buf_cleanup(&enc);
    msg_job_cleanup(&job);
}

/* ------------------------------------------------------------------------ */
/* Hand-built jobs, one fault each                                          */
/* ------------------------------------------------------------------------ */

enum fault {
    F_NONE,
    F_NO_SYNC_OR_STRATEGY,
    F_NO_PARAMS,
    F_PARAMS_DEPTH_AT_LIMIT,
    F_VERSION_2,
    F_NO_VERSION,
    F_VERSION_TEXT,
    F_TOP_ARRAY,
    F_KEY_NOT_STRING,
    F_UNKNOWN_TOP_KEY,
    F_REPEATED_KEY,
    F_TRAILING_BYTES,
    F_ID_NOT_ULID,
    F_ID_NUMBER,
    F_CMD_UNKNOWN,
    F_SYNC_UNKNOWN,
    F_STRATEGY_UNKNOWN,
    F_QUEUE_NOT_ID,
    F_CREATED_NEGATIVE,
    F_CREATED_TEXT,
    F_NO_FLOW,
    F_FLOW_ARRAY,
    F_FLOW_UNKNOWN_KEY,
    F_APP_NOT_ID,
    F_ITEMS_MAP,
    F_ITEMS_EMPTY,
    F_ITEMS_HUGE_COUNT,
    F_ITEM_NOT_MAP,
    F_ITEM_UNKNOWN_KEY,
    F_ITEM_NO_TYPE,
    F_ITEM_ID_TOO_LONG,
    F_DEP_NUMBER,
    F_DEP_UNKNOWN,
    F_DEP_SELF,
    F_DEPS_CYCLE,
    F_DUP_ITEM_ID,
    F_PARAMS_ARRAY,
    F_PARAMS_TOO_DEEP,
    F_PARAMS_BAD_BYTE,
    F_ITEM_KEY_REPEATED,
    F_ITEM_KEY_NUMBER,
    F_ITEM_TYPE_NUMBER,
    F_ITEM_TYPE_NOT_ID,
    F_DEPS_NOT_ARRAY,
};

struct fault_case {
    enum fault fault;
    int rc;
    const char *needle; /* part of the error message */
};

static const struct fault_case fault_cases[] = {
    {F_NONE, 0, NULL},
    {F_NO_SYNC_OR_STRATEGY, 0, NULL},
    {F_NO_PARAMS, 0, NULL},
    {F_PARAMS_DEPTH_AT_LIMIT, 0, NULL},
    {F_VERSION_2, PC_ESCHEMA, "unknown version 2"},
    {F_NO_VERSION, PC_ESCHEMA, "no version"},
    {F_VERSION_TEXT, PC_ESCHEMA, "job: v"},
    {F_TOP_ARRAY, PC_ESCHEMA, "expected a map"},
    {F_KEY_NOT_STRING, PC_ESCHEMA, "key"},
    {F_UNKNOWN_TOP_KEY, PC_ESCHEMA, "unknown key \"priority\""},
    {F_REPEATED_KEY, PC_ESCHEMA, "\"cmd\" repeated"},
    {F_TRAILING_BYTES, PC_ESCHEMA, "after the message"},
    {F_ID_NOT_ULID, PC_EINVAL, "job: id"},
    {F_ID_NUMBER, PC_ESCHEMA, "job: id: expected a string"},
    {F_CMD_UNKNOWN, PC_EINVAL, "job: cmd"},
    {F_SYNC_UNKNOWN, PC_EINVAL, "job: sync"},
    {F_STRATEGY_UNKNOWN, PC_EINVAL, "job: strategy"},
    {F_QUEUE_NOT_ID, PC_EINVAL, "job: queue"},
    {F_CREATED_NEGATIVE, PC_ESCHEMA, "job: created_ms"},
    {F_CREATED_TEXT, PC_ESCHEMA, "job: created_ms"},
    {F_NO_FLOW, PC_ESCHEMA, "missing \"flow\""},
    {F_FLOW_ARRAY, PC_ESCHEMA, "job: flow: expected a map"},
    {F_FLOW_UNKNOWN_KEY, PC_ESCHEMA, "job: flow: unknown key"},
    {F_APP_NOT_ID, PC_EINVAL, "flow.app"},
    {F_ITEMS_MAP, PC_ESCHEMA, "flow.items: expected an array"},
    {F_ITEMS_EMPTY, PC_EINVAL, "at least one item"},
    {F_ITEMS_HUGE_COUNT, PC_ESCHEMA, "truncated"},
    {F_ITEM_NOT_MAP, PC_ESCHEMA, "flow.items[1]: expected a map"},
    {F_ITEM_UNKNOWN_KEY, PC_ESCHEMA, "flow.items[1]: unknown key \"dep\""},
    {F_ITEM_NO_TYPE, PC_ESCHEMA, "flow.items[1]: missing \"type\""},
    {F_ITEM_ID_TOO_LONG, PC_EINVAL, "flow.items[1].id"},
    {F_DEP_NUMBER, PC_ESCHEMA, "flow.items[1].deps[0]"},
    {F_DEP_UNKNOWN, PC_EINVAL, "flow.items[1].deps[0] (item 'b'): unknown item \"zz\""},
    {F_DEP_SELF, PC_EINVAL, "itself"},
    {F_DEPS_CYCLE, PC_EINVAL, "cycle"},
    {F_DUP_ITEM_ID, PC_EINVAL, "already the id"},
    {F_PARAMS_ARRAY, PC_ESCHEMA, "flow.items[2].params: expected a map"},
    {F_PARAMS_TOO_DEEP, PC_ELIMIT, "flow.items[2].params: nested too deep"},
    {F_PARAMS_BAD_BYTE, PC_ESCHEMA, "0xc1"},
    {F_ITEM_KEY_REPEATED, PC_ESCHEMA, "job: flow.items[1]: key \"id\" repeated"},
    {F_ITEM_KEY_NUMBER, PC_ESCHEMA, "job: flow.items[1]: key: expected a string"},
    {F_ITEM_TYPE_NUMBER, PC_ESCHEMA, "job: flow.items[1].type: expected a string"},
    {F_ITEM_TYPE_NOT_ID, PC_EINVAL, "job: flow.items[1].type \"t t\" is not an identifier"},
    {F_DEPS_NOT_ARRAY, PC_ESCHEMA, "job: flow.items[1].deps: expected an array"},
};

static void pk_str(msgpack_packer *pk, const char *s)
{
    assert_int_equal(msgpack_pack_str(pk, strlen(s)), 0);
    assert_int_equal(msgpack_pack_str_body(pk, s, strlen(s)), 0);
}

static void pk_kv(msgpack_packer *pk, const char *k, const char *v)
{
    pk_str(pk, k);
    pk_str(pk, v);
}

/* params of item c: {"k": [[...]]} with `arrays` nested arrays (the map is level 1). */
static void pk_params(msgpack_packer *pk, enum fault f)
{
    size_t arrays = f == F_PARAMS_TOO_DEEP ? MSG_DEPTH_MAX
                                           : (f == F_PARAMS_DEPTH_AT_LIMIT ? MSG_DEPTH_MAX - 1 : 1);

    if (f == F_PARAMS_ARRAY) {
        msgpack_pack_array(pk, 0);
        return;
    }
    msgpack_pack_map(pk, 1);
    pk_str(pk, "k");
    for (size_t i = 0; i < arrays; i++) {
        msgpack_pack_array(pk, 1);
    }
    if (f == F_PARAMS_BAD_BYTE) {
        static const char bad = (char)0xc1;

        assert_int_equal(msgpack_sbuffer_write(pk->data, &bad, 1), 0);
    } else {
        msgpack_pack_int(pk, -5);
    }
}

static void pk_items(msgpack_packer *pk, enum fault f)
{
    if (f == F_ITEMS_MAP) {
        msgpack_pack_map(pk, 0);
        return;
    }
    if (f == F_ITEMS_EMPTY) {
        msgpack_pack_array(pk, 0);
        return;
    }
    if (f == F_ITEMS_HUGE_COUNT) {
        static const char huge[] = {(char)0xdd, (char)0xff, (char)0xff, (char)0xff, (char)0xff};

        assert_int_equal(msgpack_sbuffer_write(pk->data, huge, sizeof(huge)), 0);
        return;
    }
    msgpack_pack_array(pk, 3);
    /* a: no deps; deps [c] to make a cycle */
    msgpack_pack_map(pk, f == F_DEPS_CYCLE ? 4 : 3);
    pk_kv(pk, "id", "a");
    pk_kv(pk, "type", "t");
    if (f == F_DEPS_CYCLE) {
        pk_str(pk, "deps");
        msgpack_pack_array(pk, 1);
        pk_str(pk, "c");
    }
    pk_str(pk, "params");
    msgpack_pack_map(pk, 0);
    /* b: deps [a] */
    if (f == F_ITEM_NOT_MAP) {
        msgpack_pack_array(pk, 0);
    } else {
        char long_id[PC_ID_MAX + 2];

        memset(long_id, 'b', sizeof(long_id) - 1);
        long_id[sizeof(long_id) - 1] = '\0';
        msgpack_pack_map(pk, f == F_ITEM_NO_TYPE
                                 ? 2
                                 : (f == F_ITEM_KEY_REPEATED || f == F_ITEM_KEY_NUMBER ? 4 : 3));
        pk_kv(pk, "id", f == F_ITEM_ID_TOO_LONG ? long_id : (f == F_DUP_ITEM_ID ? "a" : "b"));
        if (f == F_ITEM_KEY_REPEATED) {
            pk_kv(pk, "id", "b2");
        }
        if (f == F_ITEM_KEY_NUMBER) {
            msgpack_pack_int(pk, 3);
            pk_str(pk, "x");
        }
        if (f == F_ITEM_TYPE_NUMBER) {
            pk_str(pk, "type");
            msgpack_pack_int(pk, 1);
        } else if (f != F_ITEM_NO_TYPE) {
            pk_kv(pk, "type", f == F_ITEM_TYPE_NOT_ID ? "t t" : "t");
        }
        pk_str(pk, f == F_ITEM_UNKNOWN_KEY ? "dep" : "deps");
        if (f == F_DEPS_NOT_ARRAY) {
            pk_str(pk, "a");
        } else {
            msgpack_pack_array(pk, 1);
            if (f == F_DEP_NUMBER) {
                msgpack_pack_int(pk, 0);
            } else {
                pk_str(pk, f == F_DEP_UNKNOWN ? "zz" : (f == F_DEP_SELF ? "b" : "a"));
            }
        }
    }
    /* c: deps [a, b], params */
    msgpack_pack_map(pk, f == F_NO_PARAMS ? 3 : 4);
    pk_kv(pk, "id", "c");
    pk_kv(pk, "type", "t");
    pk_str(pk, "deps");
    msgpack_pack_array(pk, 2);
    pk_str(pk, "a");
    pk_str(pk, "b");
    if (f != F_NO_PARAMS) {
        pk_str(pk, "params");
        pk_params(pk, f);
    }
}

static void pk_flow(msgpack_packer *pk, enum fault f)
{
    if (f == F_FLOW_ARRAY) {
        msgpack_pack_array(pk, 0);
        return;
    }
    msgpack_pack_map(pk, f == F_FLOW_UNKNOWN_KEY ? 5 : 4);
    pk_kv(pk, "app", f == F_APP_NOT_ID ? "my app" : "shop");
    pk_kv(pk, "profile", "dev");
    pk_kv(pk, "flow", "deploy");
    if (f == F_FLOW_UNKNOWN_KEY) {
        pk_kv(pk, "owner", "x");
    }
    pk_str(pk, "items");
    pk_items(pk, f);
}

static void pk_job(msgpack_sbuffer *sb, enum fault f)
{
    msgpack_packer pk;
    uint32_t n = 8;

    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    if (f == F_TOP_ARRAY) {
        msgpack_pack_array(&pk, 1);
        msgpack_pack_int(&pk, 1);
        return;
    }
    n -= f == F_NO_VERSION ? 1 : 0;
    n -= f == F_NO_SYNC_OR_STRATEGY ? 2 : 0;
    n -= f == F_NO_FLOW ? 1 : 0;
    n += (f == F_UNKNOWN_TOP_KEY || f == F_REPEATED_KEY || f == F_KEY_NOT_STRING) ? 1 : 0;
    msgpack_pack_map(&pk, n);
    if (f == F_VERSION_TEXT) {
        pk_kv(&pk, "v", "1");
    } else if (f != F_NO_VERSION) {
        pk_str(&pk, "v");
        msgpack_pack_uint64(&pk, f == F_VERSION_2 ? 2 : 1);
    }
    if (f == F_ID_NUMBER) {
        pk_str(&pk, "id");
        msgpack_pack_int(&pk, 7);
    } else {
        pk_kv(&pk, "id", f == F_ID_NOT_ULID ? "01HZX3K5T0Y8M2Q4R6S8T0V2WI" : JOB_ID);
    }
    pk_kv(&pk, "cmd", f == F_CMD_UNKNOWN ? "destroy" : "ensure");
    if (f == F_REPEATED_KEY) {
        pk_kv(&pk, "cmd", "clean");
    }
    if (f == F_UNKNOWN_TOP_KEY) {
        pk_kv(&pk, "priority", "high");
    }
    if (f == F_KEY_NOT_STRING) {
        msgpack_pack_int(&pk, 1);
        msgpack_pack_int(&pk, 2);
    }
    if (f != F_NO_SYNC_OR_STRATEGY) {
        pk_kv(&pk, "sync", f == F_SYNC_UNKNOWN ? "all" : "none");
        pk_kv(&pk, "strategy", f == F_STRATEGY_UNKNOWN ? "poll_next_n:x" : "ignore");
    }
    pk_kv(&pk, "queue", f == F_QUEUE_NOT_ID ? "q.1" : "default");
    pk_str(&pk, "created_ms");
    if (f == F_CREATED_NEGATIVE) {
        msgpack_pack_int64(&pk, -1);
    } else if (f == F_CREATED_TEXT) {
        pk_str(&pk, "now");
    } else {
        msgpack_pack_uint64(&pk, 1700000000000u);
    }
    if (f != F_NO_FLOW) {
        pk_str(&pk, "flow");
        pk_flow(&pk, f);
    }
    if (f == F_TRAILING_BYTES) {
        msgpack_pack_nil(&pk);
    }
}

static void test_hand_built_jobs_fail_with_the_right_code_and_path(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(fault_cases) / sizeof(fault_cases[0]); i++) {
        const struct fault_case *c = &fault_cases[i];
        msgpack_sbuffer sb;
        struct msg_job out;
        struct pc_err err;
        int rc;

        msgpack_sbuffer_init(&sb);
        pk_job(&sb, c->fault);
        pc_err_clear(&err);
        rc = try_decode(sb.data, sb.size);
        if (rc != c->rc) {
            if (msg_job_decode(sb.data, sb.size, &out, &err) == 0) {
                msg_job_cleanup(&out);
            }
            fail_msg("fault %d: expected %d, got %d (%s)", (int)c->fault, c->rc, rc, err.msg);
        }
        if (c->needle != NULL) {
            assert_int_equal(msg_job_decode(sb.data, sb.size, &out, &err), c->rc);
            if (strstr(err.msg, c->needle) == NULL) {
                fail_msg("fault %d: \"%s\" not in \"%s\"", (int)c->fault, c->needle, err.msg);
            }
        }
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_optional_fields_take_their_defaults(void **state)
{
    msgpack_sbuffer sb;
    struct msg_job out;

    (void)state;
    msgpack_sbuffer_init(&sb);
    pk_job(&sb, F_NO_SYNC_OR_STRATEGY);
    assert_int_equal(msg_job_decode(sb.data, sb.size, &out, NULL), 0);
    assert_int_equal(out.sync, PC_SYNC_BOTH);
    assert_int_equal(out.strategy.kind, PC_STRATEGY_FINISH_CURRENT);
    msg_job_cleanup(&out);
    msgpack_sbuffer_destroy(&sb);

    msgpack_sbuffer_init(&sb);
    pk_job(&sb, F_NO_PARAMS);
    assert_int_equal(msg_job_decode(sb.data, sb.size, &out, NULL), 0);
    assert_int_equal(out.flow.items[2].params_len, 1);
    assert_int_equal(out.flow.items[2].params[0], 0x80);
    assert_int_equal(out.flow.items[2].n_deps, 2);
    assert_int_equal(out.flow.items[2].deps[1], 1);
    msg_job_cleanup(&out);
    msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------------------ */
/* Malformed bytes                                                          */
/* ------------------------------------------------------------------------ */

static void test_every_truncation_of_a_valid_job_is_a_schema_error(void **state)
{
    struct pc_buf enc;

    (void)state;
    encode_valid(&enc);
    fuzz_truncations((const uint8_t *)enc.data, enc.len, try_decode, PC_ESCHEMA);
    pc_buf_cleanup(&enc);
}

static void test_mutated_jobs_never_crash_or_leak(void **state)
{
    struct pc_buf enc;

    (void)state;
    encode_valid(&enc);
    fuzz_mutations((const uint8_t *)enc.data, enc.len, try_decode);
    pc_buf_cleanup(&enc);
}

static void test_random_garbage_is_rejected(void **state)
{
    struct pc_buf enc;

    (void)state;
    encode_valid(&enc);
    fuzz_garbage((const uint8_t *)enc.data, 4, try_decode, 4000);
    pc_buf_cleanup(&enc);
}

static void test_oversized_job_is_refused_before_reading(void **state)
{
    size_t n = MSG_JOB_MAX + 1;
    uint8_t *big = calloc(1, n);

    (void)state;
    assert_non_null(big);
    assert_int_equal(try_decode(big, n), PC_ELIMIT);
    free(big);
}

/* A job whose only field's value nests 100000 arrays: refused, no stack exhaustion. */
static void test_deep_nesting_anywhere_is_a_limit_error(void **state)
{
    size_t depth = 100000;
    uint8_t *deep = deep_arrays(depth);
    uint8_t *msg = malloc(depth + 8);

    (void)state;
    assert_non_null(msg);
    msg[0] = 0x81; /* {"x": [[[...]]]} */
    msg[1] = 0xa1;
    msg[2] = 'x';
    memcpy(msg + 3, deep, depth + 1);
    assert_int_equal(try_decode(msg, depth + 4), PC_ELIMIT);
    assert_int_equal(try_decode(deep, depth + 1), PC_ESCHEMA);
    free(deep);
    free(msg);
}

static void test_cleanup_accepts_null_and_zeroed_jobs(void **state)
{
    struct msg_job job;

    (void)state;
    memset(&job, 0, sizeof(job));
    msg_job_cleanup(&job);
    msg_job_cleanup(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_round_trips_every_field),
        cmocka_unit_test(test_every_command_sync_and_strategy_round_trips),
        cmocka_unit_test(test_encode_refuses_what_decode_would_refuse),
        cmocka_unit_test(test_hand_built_jobs_fail_with_the_right_code_and_path),
        cmocka_unit_test(test_optional_fields_take_their_defaults),
        cmocka_unit_test(test_every_truncation_of_a_valid_job_is_a_schema_error),
        cmocka_unit_test(test_mutated_jobs_never_crash_or_leak),
        cmocka_unit_test(test_random_garbage_is_rejected),
        cmocka_unit_test(test_oversized_job_is_refused_before_reading),
        cmocka_unit_test(test_deep_nesting_anywhere_is_a_limit_error),
        cmocka_unit_test(test_cleanup_accepts_null_and_zeroed_jobs),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
