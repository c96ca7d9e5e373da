/*
 * test_oom.c - allocation-failure injection for the code that takes
 * untrusted input: the wire codecs (schemas/), the flow file parser, state
 * values, outcomes, params, and the engine (creation and a short run).
 *
 * Each case runs the call under test with allocation N failing, for
 * N = 1, 2, 3, ... until a run completes without any injected failure, in
 * two modes: only the Nth allocation fails, and the Nth and every later one
 * fail. For every N the case checks what the header promises: the call
 * returns PC_ENOMEM (never 0 with a half-built result), the pc_err record
 * carries the code and a message, out parameters documented as "written only
 * on success" are byte-for-byte untouched, and every block allocated during
 * the attempt has been freed (counted by the wrappers; LeakSanitizer checks
 * the same in the sanitizer build). The run without injection must give the
 * normal result, so every case also proves it reached the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_engine.h"
#include "oom_alloc.h"
#include "peace/exec.h"
#include "peace/flow.h"
#include "peace/msg.h"
#include "peace/outcome.h"
#include "peace/params.h"
#include "peace/state.h"

/* No case here needs more allocations than this; more means a loop that never ends. */
#define OOM_POINTS_MAX 5000

/* A valid ULID text for jobs. */
#define JOB_ID "01ARZ3NDEKTSV4RRFFQ69G5FAV"

/*
 * One attempt: arms the counter (oom_arm(n, sticky)) just around the call
 * under test, checks the result, frees everything, and returns whether a
 * failure was injected (oom_disarm()).
 */
typedef bool oom_attempt_fn(void *ctx, long n, bool sticky);

/* The attempt running now, for failure messages. */
static struct {
    const char *what;
    long n;
    bool sticky;
} g_now;

static long drive_mode(const char *what, oom_attempt_fn *attempt, void *ctx, bool sticky)
{
    long n;

    for (n = 1; n <= OOM_POINTS_MAX; n++) {
        long live = oom_live();
        bool injected;

        g_now.what = what;
        g_now.n = n;
        g_now.sticky = sticky;
        injected = attempt(ctx, n, sticky);

        (void)oom_disarm();
        if (oom_live() != live) {
            fail_msg("%s: allocation %ld failing%s: %ld block(s) not freed", what, n,
                     sticky ? " (and every later one)" : "", oom_live() - live);
        }
        if (!injected) {
            break;
        }
    }
    if (n > OOM_POINTS_MAX) {
        fail_msg("%s: still failing after %d injected failures", what, OOM_POINTS_MAX);
    }
    return n - 1;
}

/*
 * Runs attempt in both modes and returns the number of allocation points
 * (the allocations of a successful run). Fails when it is below min_points,
 * so a case that stopped reaching its allocations cannot pass unnoticed.
 */
static long drive(const char *what, oom_attempt_fn *attempt, void *ctx, long min_points)
{
    long points = drive_mode(what, attempt, ctx, false);
    long sticky_points = drive_mode(what, attempt, ctx, true);

    print_message("%-34s %3ld allocation points\n", what, points);
    assert_int_equal(points, sticky_points);
    if (points < min_points) {
        fail_msg("%s: %ld allocation points, expected at least %ld", what, points, min_points);
    }
    return points;
}

/* rc of a call whose allocation failed: PC_ENOMEM; the message names the case and N. */
static void assert_enomem_rc(int rc, const struct pc_err *err)
{
    if (rc != PC_ENOMEM) {
        fail_msg("%s: allocation %ld failing%s: returned %d (%s), not PC_ENOMEM%s%s", g_now.what,
                 g_now.n, g_now.sticky ? " (and every later one)" : "", rc, pc_strerror(rc),
                 err != NULL ? ": " : "", err != NULL ? err->msg : "");
    }
}

static void assert_enomem(int rc, const struct pc_err *err)
{
    assert_enomem_rc(rc, err);
    assert_int_equal(err->code, PC_ENOMEM);
    assert_true(err->msg[0] != '\0');
}

/*
 * One encode into a pc_buf with allocation n failing (and every later one
 * when sticky): on failure the buf is untouched, otherwise it holds exactly
 * `expected`. Returns whether a failure was injected.
 */
typedef int encode_call(const void *ctx, struct pc_buf *out, struct pc_err *err);

static bool attempt_encode_into_buf(encode_call *call, const void *ctx,
                                    const struct pc_buf *expected, long n, bool sticky)
{
    struct pc_buf out;
    struct pc_buf sentinel;
    struct pc_err err;
    bool injected;
    int rc;

    memset(&sentinel, 0xa5, sizeof(sentinel));
    out = sentinel;
    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = call(ctx, &out, &err);
    injected = oom_disarm();
    if (injected) {
        assert_enomem(rc, &err);
        assert_memory_equal(&out, &sentinel, sizeof(out)); /* on failure the buf is untouched */
        return true;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(out.len, expected->len);
    assert_memory_equal(out.data, expected->data, out.len);
    pc_buf_cleanup(&out);
    return false;
}

/* ------------------------------------------------------------------------ */
/* Shared inputs                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Four items, deps (one item with two), params of every JSON type, nested.
 * Every token is shorter than 16 bytes, the initial size of jansson's token
 * buffer: jansson 2.14 ignores a failure to grow that buffer (lex_save drops
 * the byte, akheron/jansson#362) and then reads and writes past it (SEGV or
 * heap corruption), so longer tokens cannot be put through injection.
 */
static const char flow_json[] =
    "{\"app\":\"shop\",\"profile\":\"prod\",\"flow\":\"deploy\",\"items\":["
    "{\"id\":\"fetch\",\"type\":\"http_download\",\"params\":{\"url\":\"http://h/a\","
    "\"size\":12345,\"ratio\":0.5,\"neg\":-7,\"ok\":true,\"no\":false,\"none\":null,"
    "\"hdr\":{\"a\":[1,2,{\"b\":\"c\"}],\"e\":{}}}},"
    "{\"id\":\"unpack\",\"type\":\"sh_cmd\",\"deps\":[\"fetch\"],"
    "\"params\":{\"argv\":[\"tar\",\"xf\",\"a.tgz\"]}},"
    "{\"id\":\"config\",\"type\":\"file\",\"deps\":[\"unpack\",\"fetch\"]},"
    "{\"id\":\"start\",\"type\":\"sh_cmd\",\"deps\":[\"config\"],\"params\":{}}]}";

static void parse_flow(struct pc_flow *f)
{
    struct pc_err err;

    assert_int_equal(pc_flow_parse_json(flow_json, strlen(flow_json), "test", f, &err), 0);
}

static void pack_cstr(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* ------------------------------------------------------------------------ */
/* Flow file (JSON) parser, flow copy and validation                         */
/* ------------------------------------------------------------------------ */

/* Failed jansson allocations that jansson reported as a syntax error (see below). */
static long g_json_syntax_errors;

static bool attempt_flow_parse(void *ctx, long n, bool sticky)
{
    struct pc_flow out;
    struct pc_flow sentinel;
    struct pc_err err;
    bool injected;
    int rc;

    (void)ctx;
    memset(&sentinel, 0xa5, sizeof(sentinel));
    out = sentinel;
    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = pc_flow_parse_json(flow_json, strlen(flow_json), "flow.json", &out, &err);
    injected = oom_disarm();
    if (injected && oom_first_failure_in_json() && rc == PC_EINVAL) {
        /*
         * jansson 2.14 reports some failed allocations of its own as syntax
         * errors (a token whose copy cannot be allocated is "invalid token
         * near ..."), indistinguishable from real ones: a documented error
         * code, never a success, is all that can be asked of the parser.
         */
        assert_int_equal(err.code, PC_EINVAL);
        assert_memory_equal(&out, &sentinel, sizeof(out));
        g_json_syntax_errors++;
        return true;
    }
    if (injected) {
        assert_enomem(rc, &err);
        assert_memory_equal(&out, &sentinel, sizeof(out)); /* out is filled only on success */
        return true;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(out.n_items, 4);
    assert_int_equal(out.items[2].n_deps, 2);
    assert_int_equal(out.items[2].deps[0], 1);
    assert_int_equal(out.items[2].deps[1], 0);
    assert_non_null(out.items[2].params); /* absent params: the empty map */
    assert_int_equal(out.items[2].params_len, 1);
    pc_flow_cleanup(&out);
    return false;
}

static void test_flow_parse_json(void **state)
{
    (void)state;
    g_json_syntax_errors = 0;
    (void)drive("pc_flow_parse_json", attempt_flow_parse, NULL, 10);
    print_message("%-34s %3ld failures (both modes) reported by jansson as a syntax error\n", "",
                  g_json_syntax_errors);
}

static bool attempt_flow_copy(void *ctx, long n, bool sticky)
{
    const struct pc_flow *src = ctx;
    struct pc_flow dst;
    bool injected;
    int rc;

    memset(&dst, 0, sizeof(dst));
    oom_arm(n, sticky);
    rc = pc_flow_copy(&dst, src);
    injected = oom_disarm();
    if (injected) {
        assert_enomem_rc(rc, NULL);
        return true;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(dst.n_items, src->n_items);
    assert_memory_equal(dst.items[3].params, src->items[3].params, src->items[3].params_len);
    pc_flow_cleanup(&dst);
    return false;
}

static bool attempt_flow_validate(void *ctx, long n, bool sticky)
{
    const struct pc_flow *f = ctx;
    struct pc_err err;
    bool injected;
    int rc;

    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = pc_flow_validate(f, &err);
    injected = oom_disarm();
    if (injected) {
        assert_enomem(rc, &err);
        return true;
    }
    assert_int_equal(rc, 0);
    return false;
}

static void test_flow_copy_and_validate(void **state)
{
    struct pc_flow f;

    (void)state;
    parse_flow(&f);
    (void)drive("pc_flow_copy", attempt_flow_copy, &f, 5);
    (void)drive("pc_flow_validate", attempt_flow_validate, &f, 3);
    pc_flow_cleanup(&f);
}

/* ------------------------------------------------------------------------ */
/* job message                                                               */
/* ------------------------------------------------------------------------ */

struct job_case {
    struct msg_job job;   /* for the encoder */
    struct pc_buf bytes;  /* the encoder's reference output */
    struct pc_buf sparse; /* a job whose items omit deps and params */
};

/* A job map packed by hand: item a has neither deps nor params (the decoder supplies them). */
static void pack_sparse_job(struct pc_buf *out)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    pack_cstr(&pk, "v");
    msgpack_pack_uint64(&pk, MSG_VERSION);
    pack_cstr(&pk, "id");
    pack_cstr(&pk, JOB_ID);
    pack_cstr(&pk, "cmd");
    pack_cstr(&pk, pc_cmd_name(PC_CMD_CLEAN));
    pack_cstr(&pk, "queue");
    pack_cstr(&pk, "default");
    pack_cstr(&pk, "created_ms");
    msgpack_pack_uint64(&pk, 1700000000000u);
    pack_cstr(&pk, "flow");
    msgpack_pack_map(&pk, 4);
    pack_cstr(&pk, "app");
    pack_cstr(&pk, "shop");
    pack_cstr(&pk, "profile");
    pack_cstr(&pk, "prod");
    pack_cstr(&pk, "flow");
    pack_cstr(&pk, "deploy");
    pack_cstr(&pk, "items");
    msgpack_pack_array(&pk, 3);
    msgpack_pack_map(&pk, 2);
    pack_cstr(&pk, "id");
    pack_cstr(&pk, "a");
    pack_cstr(&pk, "type");
    pack_cstr(&pk, "t");
    msgpack_pack_map(&pk, 4);
    pack_cstr(&pk, "params");
    msgpack_pack_map(&pk, 1);
    pack_cstr(&pk, "k");
    msgpack_pack_array(&pk, 2);
    msgpack_pack_int64(&pk, -1);
    pack_cstr(&pk, "x");
    pack_cstr(&pk, "deps");
    msgpack_pack_array(&pk, 1);
    pack_cstr(&pk, "c"); /* a later item */
    pack_cstr(&pk, "id");
    pack_cstr(&pk, "b");
    pack_cstr(&pk, "type");
    pack_cstr(&pk, "t");
    msgpack_pack_map(&pk, 3);
    pack_cstr(&pk, "id");
    pack_cstr(&pk, "c");
    pack_cstr(&pk, "type");
    pack_cstr(&pk, "t");
    pack_cstr(&pk, "deps");
    msgpack_pack_array(&pk, 1);
    pack_cstr(&pk, "a");
    pc_buf_init(out, MSG_JOB_MAX);
    assert_int_equal(pc_buf_append(out, sb.data, sb.size), 0);
    msgpack_sbuffer_destroy(&sb);
}

static void job_case_init(struct job_case *c)
{
    struct pc_err err;

    memset(c, 0, sizeof(*c));
    memcpy(c->job.id, JOB_ID, sizeof(JOB_ID));
    c->job.cmd = PC_CMD_ENSURE;
    c->job.sync = PC_SYNC_CURRENT;
    assert_int_equal(pc_strategy_parse("poll_next_n:3", 13, &c->job.strategy, &err), 0);
    memcpy(c->job.queue.s, "default", 8);
    c->job.created_ms = 1700000000000u;
    parse_flow(&c->job.flow);
    assert_int_equal(msg_job_encode(&c->job, &c->bytes, &err), 0);
    pack_sparse_job(&c->sparse);
}

static void job_case_cleanup(struct job_case *c)
{
    msg_job_cleanup(&c->job);
    pc_buf_cleanup(&c->bytes);
    pc_buf_cleanup(&c->sparse);
}

static int call_job_encode(const void *ctx, struct pc_buf *out, struct pc_err *err)
{
    const struct job_case *c = ctx;

    return msg_job_encode(&c->job, out, err);
}

static bool attempt_job_encode(void *ctx, long n, bool sticky)
{
    const struct job_case *c = ctx;

    return attempt_encode_into_buf(call_job_encode, ctx, &c->bytes, n, sticky);
}

static bool job_decode_once(const struct pc_buf *in, long n, bool sticky, struct msg_job *out)
{
    struct msg_job sentinel;
    struct pc_err err;
    bool injected;
    int rc;

    memset(&sentinel, 0xa5, sizeof(sentinel));
    *out = sentinel;
    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = msg_job_decode(in->data, in->len, out, &err);
    injected = oom_disarm();
    if (injected) {
        assert_enomem(rc, &err);
        assert_memory_equal(out, &sentinel, sizeof(*out)); /* out is written only on success */
        return true;
    }
    assert_int_equal(rc, 0);
    return false;
}

static bool attempt_job_decode(void *ctx, long n, bool sticky)
{
    const struct job_case *c = ctx;
    struct msg_job out;

    if (job_decode_once(&c->bytes, n, sticky, &out)) {
        return true;
    }
    assert_int_equal(out.flow.n_items, 4);
    assert_int_equal(out.flow.items[2].n_deps, 2);
    assert_int_equal(out.strategy.n, 3);
    assert_memory_equal(out.flow.items[0].params, c->job.flow.items[0].params,
                        c->job.flow.items[0].params_len);
    msg_job_cleanup(&out);
    return false;
}

static bool attempt_job_decode_sparse(void *ctx, long n, bool sticky)
{
    const struct job_case *c = ctx;
    struct msg_job out;

    if (job_decode_once(&c->sparse, n, sticky, &out)) {
        return true;
    }
    assert_int_equal(out.cmd, PC_CMD_CLEAN);
    assert_int_equal(out.flow.n_items, 3);
    assert_int_equal(out.flow.items[0].n_deps, 0);
    assert_int_equal(out.flow.items[0].params_len, 1); /* the empty map */
    assert_int_equal(out.flow.items[1].n_deps, 1);
    assert_int_equal(out.flow.items[1].deps[0], 2);
    msg_job_cleanup(&out);
    return false;
}

static void test_job_codec(void **state)
{
    struct job_case c;

    (void)state;
    job_case_init(&c);
    (void)drive("msg_job_encode", attempt_job_encode, &c, 3);
    (void)drive("msg_job_decode", attempt_job_decode, &c, 10);
    (void)drive("msg_job_decode (no deps/params)", attempt_job_decode_sparse, &c, 8);
    job_case_cleanup(&c);
}

/* ------------------------------------------------------------------------ */
/* outcome report                                                            */
/* ------------------------------------------------------------------------ */

struct report_case {
    struct pc_outcome o[2]; /* item_error with lists and errors; block_error with error */
    struct pc_buf bytes[2];
    size_t which;
};

static void report_case_init(struct report_case *c)
{
    static const enum pc_block_kind blocks[] = {PC_BLOCK_READ_CURRENT, PC_BLOCK_READ_GOAL,
                                                PC_BLOCK_DISCOVER, PC_BLOCK_SYNC_CHECK,
                                                PC_BLOCK_APPLY_ENSURE};
    const char *const done[] = {"fetch", "unpack"};
    const char *const not_done[] = {"config", "start", "stop"};
    struct pc_id id;
    struct pc_err err;

    memset(c, 0, sizeof(*c));
    for (size_t k = 0; k < 2; k++) {
        struct pc_outcome *o = &c->o[k];

        pc_outcome_init(o);
        memcpy(o->blocks, blocks, sizeof(blocks));
        o->n_blocks = 5;
        o->n_blocks_processed = 4;
    }
    c->o[0].kind = PC_OUTCOME_ITEM_ERROR;
    c->o[0].items_processed = calloc(2, sizeof(struct pc_id));
    c->o[0].items_not_processed = calloc(3, sizeof(struct pc_id));
    assert_non_null(c->o[0].items_processed);
    assert_non_null(c->o[0].items_not_processed);
    for (size_t i = 0; i < 2; i++) {
        (void)snprintf(c->o[0].items_processed[i].s, sizeof(id.s), "%s", done[i]);
    }
    for (size_t i = 0; i < 3; i++) {
        (void)snprintf(c->o[0].items_not_processed[i].s, sizeof(id.s), "%s", not_done[i]);
    }
    c->o[0].n_items_processed = 2;
    c->o[0].n_items_not_processed = 3;
    memcpy(id.s, "unpack", 7);
    assert_int_equal(pc_outcome_add_error(&c->o[0], &id, "tar: exit status 2"), 0);
    memcpy(id.s, "fetch", 6);
    assert_int_equal(pc_outcome_add_error(&c->o[0], &id, "HTTP 503 \"busy\"\n"), 0);
    c->o[1].kind = PC_OUTCOME_BLOCK_ERROR;
    c->o[1].n_blocks_processed = 3;
    assert_int_equal(pc_outcome_set_error(&c->o[1], "states write failed: ENOMEM"), 0);
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(msg_report_encode(&c->o[k], &c->bytes[k], &err), 0);
    }
}

static void report_case_cleanup(struct report_case *c)
{
    for (size_t k = 0; k < 2; k++) {
        pc_outcome_cleanup(&c->o[k]);
        pc_buf_cleanup(&c->bytes[k]);
    }
}

static int call_report_encode(const void *ctx, struct pc_buf *out, struct pc_err *err)
{
    const struct report_case *c = ctx;

    return msg_report_encode(&c->o[c->which], out, err);
}

static bool attempt_report_encode(void *ctx, long n, bool sticky)
{
    const struct report_case *c = ctx;

    return attempt_encode_into_buf(call_report_encode, ctx, &c->bytes[c->which], n, sticky);
}

static bool attempt_report_decode(void *ctx, long n, bool sticky)
{
    const struct report_case *c = ctx;
    const struct pc_buf *in = &c->bytes[c->which];
    struct pc_outcome out;
    struct pc_outcome sentinel;
    struct pc_err err;
    bool injected;
    int rc;

    memset(&sentinel, 0xa5, sizeof(sentinel));
    out = sentinel;
    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = msg_report_decode(in->data, in->len, &out, &err);
    injected = oom_disarm();
    if (injected) {
        assert_enomem(rc, &err);
        assert_memory_equal(&out, &sentinel, sizeof(out));
        return true;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(out.kind, c->o[c->which].kind);
    assert_int_equal(out.n_items_processed, c->o[c->which].n_items_processed);
    assert_int_equal(out.n_items_not_processed, c->o[c->which].n_items_not_processed);
    assert_int_equal(out.n_errors, c->o[c->which].n_errors);
    if (c->which == 0) {
        assert_string_equal(out.errors[1].text, c->o[0].errors[1].text);
    } else {
        assert_string_equal(out.error, c->o[1].error);
    }
    pc_outcome_cleanup(&out);
    return false;
}

static void test_report_codec(void **state)
{
    struct report_case c;

    (void)state;
    report_case_init(&c);
    c.which = 0;
    (void)drive("msg_report_encode (item_error)", attempt_report_encode, &c, 1);
    (void)drive("msg_report_decode (item_error)", attempt_report_decode, &c, 5);
    c.which = 1;
    (void)drive("msg_report_encode (block_error)", attempt_report_encode, &c, 1);
    (void)drive("msg_report_decode (block_error)", attempt_report_decode, &c, 1);
    report_case_cleanup(&c);
}

/* ------------------------------------------------------------------------ */
/* outcome values                                                            */
/* ------------------------------------------------------------------------ */

static bool attempt_outcome_copy(void *ctx, long n, bool sticky)
{
    const struct report_case *c = ctx;
    struct pc_outcome dst;
    bool injected;
    int rc;

    oom_arm(n, sticky);
    rc = pc_outcome_copy(&dst, &c->o[c->which]);
    injected = oom_disarm();
    if (injected) {
        assert_enomem_rc(rc, NULL);
        pc_outcome_cleanup(&dst); /* the copy left a clean outcome: cleanup is harmless */
        return true;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(dst.n_errors, c->o[c->which].n_errors);
    pc_outcome_cleanup(&dst);
    return false;
}

static bool attempt_outcome_json(void *ctx, long n, bool sticky)
{
    const struct report_case *c = ctx;
    struct pc_buf out;
    bool injected;
    int rc;

    pc_buf_init(&out, 1u << 20);
    oom_arm(n, sticky);
    rc = pc_outcome_format_json(&c->o[c->which], &out);
    injected = oom_disarm();
    if (injected) {
        assert_enomem_rc(rc, NULL);
        assert_int_equal(out.len, 0); /* the object is appended whole or not at all */
        pc_buf_cleanup(&out);
        return true;
    }
    assert_int_equal(rc, 0);
    assert_non_null(strstr(pc_buf_str(&out), "\"outcome\":"));
    pc_buf_cleanup(&out);
    return false;
}

static void test_outcome_values(void **state)
{
    struct report_case c;

    (void)state;
    report_case_init(&c);
    for (c.which = 0; c.which < 2; c.which++) {
        (void)drive("pc_outcome_copy", attempt_outcome_copy, &c, 1);
        (void)drive("pc_outcome_format_json", attempt_outcome_json, &c, 1);
    }
    report_case_cleanup(&c);
}

/* ------------------------------------------------------------------------ */
/* states envelope and state values                                          */
/* ------------------------------------------------------------------------ */

struct states_case {
    struct pc_flow flow;
    struct pc_states states; /* fetch: 1; unpack: a map; config: absent; start: nil */
    struct pc_buf bytes;
    struct pc_state rich; /* a state with every msgpack type, for pc_state_to_json */
};

static void pack_state(struct pc_state *s, void (*fill)(msgpack_packer *pk))
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    fill(&pk);
    assert_int_equal(pc_state_set(s, sb.data, sb.size), 0);
    msgpack_sbuffer_destroy(&sb);
}

static void fill_int(msgpack_packer *pk)
{
    msgpack_pack_uint64(pk, 1);
}

static void fill_map(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    pack_cstr(pk, "path");
    pack_cstr(pk, "/srv/app");
    pack_cstr(pk, "sha256");
    pack_cstr(pk, "9f86d081884c7d659a2feaa0c55ad015");
}

static void fill_rich(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 5);
    pack_cstr(pk, "list");
    msgpack_pack_array(pk, 4);
    msgpack_pack_int64(pk, -3);
    msgpack_pack_double(pk, 2.5);
    msgpack_pack_true(pk);
    msgpack_pack_nil(pk);
    msgpack_pack_uint64(pk, 7); /* a non-string key */
    pack_cstr(pk, "seven");
    pack_cstr(pk, "bin");
    msgpack_pack_bin_with_body(pk, "\x00\x01\x02\xff", 4);
    pack_cstr(pk, "text");
    pack_cstr(pk, "quote \" and \\ and \n");
    msgpack_pack_array(pk, 1); /* an array key */
    pack_cstr(pk, "k");
    msgpack_pack_map(pk, 1);
    pack_cstr(pk, "deep");
    msgpack_pack_array(pk, 0);
}

static void states_case_init(struct states_case *c)
{
    struct pc_err err;

    memset(c, 0, sizeof(*c));
    parse_flow(&c->flow);
    assert_int_equal(pc_states_init(&c->states, 4), 0);
    pack_state(&c->states.v[0], fill_int);
    pack_state(&c->states.v[1], fill_map);
    assert_int_equal(pc_state_set_nil(&c->states.v[3]), 0);
    assert_int_equal(msg_states_encode(&c->flow, PC_STATES_GOAL, &c->states, &c->bytes, &err), 0);
    pack_state(&c->rich, fill_rich);
}

static void states_case_cleanup(struct states_case *c)
{
    pc_flow_cleanup(&c->flow);
    pc_states_cleanup(&c->states);
    pc_buf_cleanup(&c->bytes);
    pc_state_clear(&c->rich);
}

static int call_states_encode(const void *ctx, struct pc_buf *out, struct pc_err *err)
{
    const struct states_case *c = ctx;

    return msg_states_encode(&c->flow, PC_STATES_GOAL, &c->states, out, err);
}

static bool attempt_states_encode(void *ctx, long n, bool sticky)
{
    const struct states_case *c = ctx;

    return attempt_encode_into_buf(call_states_encode, ctx, &c->bytes, n, sticky);
}

static bool attempt_states_decode(void *ctx, long n, bool sticky)
{
    const struct states_case *c = ctx;
    struct pc_states out;
    struct pc_state before[4];
    uint8_t old = 0x05; /* msgpack 5: what slot 2 held before */
    struct pc_err err;
    bool injected;
    int rc;

    assert_int_equal(pc_states_init(&out, 4), 0);
    assert_int_equal(pc_state_set(&out.v[2], &old, 1), 0);
    memcpy(before, out.v, sizeof(before));
    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = msg_states_decode(c->bytes.data, c->bytes.len, &c->flow, &out, &err);
    injected = oom_disarm();
    if (injected) {
        assert_enomem(rc, &err);
        /* On failure out is unchanged: same slots, same blocks, same bytes. */
        assert_memory_equal(out.v, before, sizeof(before));
        assert_int_equal(out.v[2].data[0], old);
        pc_states_cleanup(&out);
        return true;
    }
    assert_int_equal(rc, 0);
    assert_true(pc_state_bytes_eq(&out.v[0], &c->states.v[0]));
    assert_true(pc_state_bytes_eq(&out.v[1], &c->states.v[1]));
    assert_null(out.v[2].data); /* not stored: absent, the old value replaced */
    assert_null(out.v[3].data); /* a stored nil is absent */
    pc_states_cleanup(&out);
    return false;
}

static bool attempt_state_values(void *ctx, long n, bool sticky)
{
    const struct states_case *c = ctx;
    struct pc_state s = {0};
    struct pc_state copy = {0};
    struct pc_states map_copy = {0};
    bool injected;
    int rc;

    oom_arm(n, sticky);
    rc = pc_state_set_nil(&s);
    if (rc == 0) {
        rc = pc_state_copy(&copy, &c->states.v[1]);
    }
    if (rc == 0) {
        rc = pc_state_set(&s, c->rich.data, c->rich.len);
    }
    if (rc == 0) {
        rc = pc_states_copy(&map_copy, &c->states);
    }
    injected = oom_disarm();
    if (injected) {
        assert_enomem_rc(rc, NULL);
        assert_null(map_copy.v); /* a failed map copy leaves nothing to free */
    } else {
        assert_int_equal(rc, 0);
        assert_true(pc_state_bytes_eq(&s, &c->rich));
        assert_true(pc_state_bytes_eq(&copy, &c->states.v[1]));
        assert_int_equal(map_copy.n, 4);
        assert_true(pc_state_bytes_eq(&map_copy.v[1], &c->states.v[1]));
    }
    pc_state_clear(&s);
    pc_state_clear(&copy);
    pc_states_cleanup(&map_copy);
    return injected;
}

static bool attempt_state_to_json(void *ctx, long n, bool sticky)
{
    const struct states_case *c = ctx;
    struct pc_buf out;
    bool injected;
    int rc;

    pc_buf_init(&out, 1u << 20);
    assert_int_equal(pc_buf_puts(&out, "state="), 0);
    oom_arm(n, sticky);
    rc = pc_state_to_json(&c->rich, &out);
    injected = oom_disarm();
    if (injected) {
        assert_enomem_rc(rc, NULL);
        assert_string_equal(pc_buf_str(&out), "state="); /* nothing half-rendered */
        pc_buf_cleanup(&out);
        return true;
    }
    assert_int_equal(rc, 0);
    assert_string_equal(pc_buf_str(&out),
                        "state={\"list\":[-3,2.5,true,null],\"7\":\"seven\",\"bin\":\"AAEC/w==\","
                        "\"text\":\"quote \\\" and \\\\ and \\n\",\"[\\\"k\\\"]\":{\"deep\":[]}}");
    pc_buf_cleanup(&out);
    return false;
}

static void test_states_codec_and_values(void **state)
{
    struct states_case c;

    (void)state;
    states_case_init(&c);
    (void)drive("msg_states_encode", attempt_states_encode, &c, 1);
    (void)drive("msg_states_decode", attempt_states_decode, &c, 5);
    (void)drive("pc_state_set/copy, pc_states_copy", attempt_state_values, &c, 5);
    (void)drive("pc_state_to_json", attempt_state_to_json, &c, 2);
    states_case_cleanup(&c);
}

/* ------------------------------------------------------------------------ */
/* progress events: plain values, no heap                                    */
/* ------------------------------------------------------------------------ */

static bool attempt_event_codec(void *ctx, long n, bool sticky)
{
    struct msg_event ev[4];
    struct msg_event back;
    struct msg_event_fields f;
    struct pc_err err;
    bool injected;

    (void)ctx;
    memset(ev, 0, sizeof(ev));
    ev[0].kind = MSG_EVENT_BLOCK_START;
    ev[0].block = PC_BLOCK_APPLY_CLEAN;
    ev[0].block_index = 2;
    ev[1].kind = MSG_EVENT_PROGRESS;
    memcpy(ev[1].item.s, "fetch", 6);
    ev[1].status = PC_PROGRESS_RUNNING;
    ev[1].done = 12345;
    ev[1].limit.kind = PC_LIMIT_BYTES;
    ev[1].limit.n = 99999;
    memcpy(ev[1].msg, "downloading", 12);
    ev[2].kind = MSG_EVENT_INTERRUPT;
    memcpy(ev[2].reason, "operator asked", 15);
    ev[3].kind = MSG_EVENT_OUTCOME;
    ev[3].outcome = PC_OUTCOME_BLOCK_INTERRUPTED;
    oom_arm(n, sticky);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(msg_event_to_fields(&ev[i], &f, &err), 0);
        assert_int_equal(msg_event_from_fields(f.argv, f.argvlen, f.n, &back, &err), 0);
        assert_int_equal(back.kind, ev[i].kind);
    }
    assert_int_equal(oom_calls(), 0); /* msg.h: "a plain value, no heap" */
    injected = oom_disarm();
    assert_int_equal(back.outcome, PC_OUTCOME_BLOCK_INTERRUPTED);
    return injected;
}

static void test_event_codec_does_not_allocate(void **state)
{
    (void)state;
    assert_int_equal(drive("msg_event to/from fields", attempt_event_codec, NULL, 0), 0);
}

/* ------------------------------------------------------------------------ */
/* item params helpers                                                       */
/* ------------------------------------------------------------------------ */

static bool attempt_params(void *ctx, long n, bool sticky)
{
    const msgpack_object *params = ctx;
    char **argv = NULL;
    char *url = NULL;
    struct pc_err err;
    bool injected;
    int rc;

    pc_err_clear(&err);
    oom_arm(n, sticky);
    rc = pc_params_strdup(params, "url", true, 1024, &url, &err);
    if (rc == 0) {
        rc = pc_params_argv(params, "argv", true, 16, &argv, &err);
    }
    injected = oom_disarm();
    if (injected) {
        assert_enomem(rc, &err);
        assert_null(argv);
    } else {
        assert_int_equal(rc, 0);
        assert_string_equal(url, "http://h/a.tgz");
        assert_string_equal(argv[2], "a.tgz");
        assert_null(argv[3]);
    }
    free(url);
    pc_argv_free(argv);
    return injected;
}

static void test_params(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_unpacked u;
    size_t off = 0;

    (void)state;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 2);
    pack_cstr(&pk, "url");
    pack_cstr(&pk, "http://h/a.tgz");
    pack_cstr(&pk, "argv");
    msgpack_pack_array(&pk, 3);
    pack_cstr(&pk, "tar");
    pack_cstr(&pk, "xf");
    pack_cstr(&pk, "a.tgz");
    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    (void)drive("pc_params_strdup/argv", attempt_params, &u.data, 5);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&sb);
}

/* ------------------------------------------------------------------------ */
/* engine: creation and a short run with the fake executor                   */
/* ------------------------------------------------------------------------ */

/*
 * The fake item type, store and observer run with injection paused: they
 * stand for item and host code, not for the engine. Store callbacks run
 * engine code again, so the trampoline resumes injection around them.
 */
#define PAUSED(call)                                                                               \
    do {                                                                                           \
        oom_pause();                                                                               \
        rc = (call);                                                                               \
        oom_resume();                                                                              \
    } while (0)

static int w_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                     struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.state_current(ctx, params, out, err));
    return rc;
}

static int w_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                  struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.state_goal(ctx, params, out, err));
    return rc;
}

static int w_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                  struct pc_state *out, struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.state_diff(params, a, b, out, err));
    return rc;
}

static int w_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.state_clean(params, out, err));
    return rc;
}

static int w_check(const void *params, const struct pc_state *current,
                   const struct pc_state *target, const struct pc_state *diff,
                   struct pc_apply_check *out, struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.apply_check(params, current, target, diff, out, err));
    return rc;
}

static int w_apply_dry(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                       const struct pc_state *target, const struct pc_state *diff,
                       struct pc_state *out, struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.apply_dry(ctx, params, current, target, diff, out, err));
    return rc;
}

static int w_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                   const struct pc_state *target, const struct pc_state *diff, struct pc_state *out,
                   struct pc_err *err)
{
    int rc;

    PAUSED(fake_item_type.apply(ctx, params, current, target, diff, out, err));
    return rc;
}

/* params_create is not paused: it is where the engine's params (pc_params_*) are read. */
static const struct pc_item_type wrapped_item_type = {
    .name = "fake",
    .params_create = NULL, /* set in test_engine: fake_item_type is not a constant expression */
    .params_destroy = NULL,
    .state_current = w_current,
    .state_goal = w_goal,
    .state_diff = w_diff,
    .state_clean = w_clean,
    .apply_check = w_check,
    .apply_dry = w_apply_dry,
    .apply = w_apply,
    .state_eq = NULL,
};

struct trampoline {
    pc_store_done_cb *done;
    void *arg;
};

static void trampoline_done(void *arg, int rc, const struct pc_err *err)
{
    struct trampoline *t = arg;

    oom_resume();
    t->done(t->arg, rc, err);
    oom_pause();
}

static int ws_read(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                   struct pc_states *out, pc_store_done_cb *done, void *arg)
{
    struct pc_store fs = fake_store_get(ctx);
    struct trampoline t = {done, arg};
    int rc;

    PAUSED(fs.ops->read(fs.ctx, kind, flow, out, trampoline_done, &t));
    return rc;
}

static int ws_write_item(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                         size_t item, const struct pc_state *s, pc_store_done_cb *done, void *arg)
{
    struct pc_store fs = fake_store_get(ctx);
    struct trampoline t = {done, arg};
    int rc;

    PAUSED(fs.ops->write_item(fs.ctx, kind, flow, item, s, trampoline_done, &t));
    return rc;
}

static int ws_write_all(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                        const struct pc_states *m, pc_store_done_cb *done, void *arg)
{
    struct pc_store fs = fake_store_get(ctx);
    struct trampoline t = {done, arg};
    int rc;

    PAUSED(fs.ops->write_all(fs.ctx, kind, flow, m, trampoline_done, &t));
    return rc;
}

static const struct pc_store_ops wrapped_store_ops = {
    .read = ws_read,
    .write_item = ws_write_item,
    .write_all = ws_write_all,
};

static void wo_finished(void *ctx, const struct pc_outcome *o)
{
    oom_pause();
    fake_observer_ops.finished(ctx, o);
    oom_resume();
}

struct engine_case {
    enum pc_cmd cmd;
    struct pc_item_type type;
    struct pc_exec_observer_ops observer;
};

/* Outcome text that shows the failure came from an allocation. */
static bool names_memory(const char *text)
{
    return text != NULL && strstr(text, "memory") != NULL;
}

static bool attempt_engine(void *ctx, long n, bool sticky)
{
    const struct engine_case *c = ctx;
    const char *const ids[] = {"a", "b", "c"};
    const char *const edges[] = {"a>b", "a>c"};
    int64_t current[3] = {0, 0, 0};
    int64_t goal[3] = {1, 1, 1};
    struct fake_world world;
    struct pc_flow flow;
    struct fake_store store;
    struct fake_executor fx;
    struct fake_observer obs;
    struct pc_registry *reg = NULL;
    struct pc_exec *sentinel = (struct pc_exec *)(uintptr_t)0xa5a5a5a5u;
    struct pc_exec *exec = sentinel;
    struct pc_exec_opts o;
    struct pc_err err;
    bool injected;
    int rc;

    memset(&world, 0, sizeof(world));
    memset(&fx, 0, sizeof(fx));
    for (size_t i = 0; i < 3; i++) {
        world.items[i].value = current[i];
        world.items[i].goal = goal[i];
    }
    assert_int_equal(fake_flow_build(&flow, &world, ids, 3, edges, 2), 0);
    fake_store_init(&store);
    fake_store_seed(&store, PC_STATES_CURRENT, current, 3);
    fake_store_seed(&store, PC_STATES_GOAL, goal, 3);
    fake_observer_init(&obs);
    assert_int_equal(pc_registry_create(&reg, &err), 0);
    assert_int_equal(pc_registry_add(reg, &c->type, &err), 0);
    memset(&o, 0, sizeof(o));
    o.cmd = c->cmd;
    o.sync = PC_SYNC_BOTH;
    o.strategy.kind = PC_STRATEGY_FINISH_CURRENT;
    o.flow = &flow;
    o.registry = reg;
    o.store.ops = &wrapped_store_ops;
    o.store.ctx = &store;
    o.executor = fake_executor_get(&fx);
    o.observer = &c->observer;
    o.observer_ctx = &obs;
    pc_err_clear(&err);

    oom_arm(n, sticky);
    rc = pc_exec_create(&o, &exec, &err);
    if (rc == 0) {
        pc_exec_start(exec);
        fake_executor_drain(&fx);
    }
    injected = oom_disarm();

    if (rc != 0) {
        assert_true(injected);
        assert_enomem(rc, &err);
        assert_ptr_equal(exec, sentinel); /* nothing is created */
    } else {
        /* The run ends, exactly once, even when an allocation failed. */
        assert_true(pc_exec_finished(exec));
        assert_int_equal(obs.finished_calls, 1);
        assert_int_equal(fx.n, 0);
        if (!injected) {
            assert_int_equal(obs.outcome.kind, PC_OUTCOME_COMPLETE);
        } else if (obs.outcome.kind == PC_OUTCOME_COMPLETE) {
            /* Only the report's recording failed: the report says it is partial. */
            assert_true(obs.outcome.partial);
        } else if (obs.outcome.kind == PC_OUTCOME_ITEM_ERROR) {
            /* An item could not be prepared: the failure is an item error naming memory. */
            assert_true(obs.outcome.n_errors > 0);
            assert_true(names_memory(obs.outcome.errors[0].text));
        } else {
            /* Never a success: a failed allocation is reported as a block error. */
            assert_int_equal(obs.outcome.kind, PC_OUTCOME_BLOCK_ERROR);
            assert_true(obs.outcome.error == NULL || names_memory(obs.outcome.error));
        }
        pc_exec_destroy(exec);
    }
    pc_registry_destroy(reg);
    fake_observer_cleanup(&obs);
    fake_store_cleanup(&store);
    fake_flow_free(&flow);
    return injected;
}

static void test_engine(void **state)
{
    static const struct {
        enum pc_cmd cmd;
        const char *name;
    } cmds[] = {
        {PC_CMD_ENSURE, "pc_exec create+run (ensure)"},
        {PC_CMD_CLEAN, "pc_exec create+run (clean)"},
        {PC_CMD_DISCOVER, "pc_exec create+run (discover)"},
        {PC_CMD_DIFF, "pc_exec create+run (diff)"},
    };
    struct engine_case c;

    (void)state;
    c.type = wrapped_item_type;
    c.type.params_create = fake_item_type.params_create;
    c.type.params_destroy = fake_item_type.params_destroy;
    c.observer = fake_observer_ops;
    c.observer.finished = wo_finished;
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        c.cmd = cmds[i].cmd;
        (void)drive(cmds[i].name, attempt_engine, &c, 10);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flow_parse_json),
        cmocka_unit_test(test_flow_copy_and_validate),
        cmocka_unit_test(test_job_codec),
        cmocka_unit_test(test_report_codec),
        cmocka_unit_test(test_outcome_values),
        cmocka_unit_test(test_states_codec_and_values),
        cmocka_unit_test(test_event_codec_does_not_allocate),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_engine),
    };

    /* jansson allocates from its shared library, out of --wrap's reach: route it here. */
    json_set_alloc_funcs(oom_json_malloc, oom_json_free);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
