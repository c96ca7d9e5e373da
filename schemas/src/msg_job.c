/*
 * msg_job.c - the job message: one queued execution (schemas/README.md).
 *
 * The decoder reads the flow in two passes, like the flow file parser: the
 * first pass takes every item's id, type and params and only notes where its
 * dependency list starts; once the ids are known to be valid and unique, the
 * second pass re-reads each list from that offset and resolves ids through a
 * sorted index. Dependencies may name items that come later in the list, so
 * they cannot be resolved in one pass, and resolving them against duplicate
 * ids would give misleading errors.
 *
 * Params are kept as the exact bytes of the map they arrived as (after a
 * bounded walk has checked them), so decoding and re-encoding a job is
 * byte-for-byte stable.
 *
 * Error paths ("job: flow.items[2].deps") are formatted only once an error
 * has happened: formatting one per item and key cost more than the decoding
 * itself (a third of a worker's CPU on 100-item jobs).
 */
#include "peace/msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"
#include "peace/flow_index.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Room for "job: flow.items[18446744073709551615].params". */
#define PATH_LEN 64

/* Offset marking an item without a "deps" key. */
#define NO_DEPS SIZE_MAX

/* Longest strategy text accepted ("poll_next_n:" and 20 digits fit). */
#define STRATEGY_TEXT_MAX 40

enum job_key {
    JOB_V,
    JOB_ID,
    JOB_CMD,
    JOB_SYNC,
    JOB_STRATEGY,
    JOB_QUEUE,
    JOB_CREATED,
    JOB_FLOW,
    JOB_KEEP_OBSOLETE,
    JOB_DIFF_CURRENT,
    JOB_DIFF_GOAL,
    JOB_NO_SAVE
};
static const char *const job_keys[] = {
    "v",          "id",   "cmd",           "sync",         "strategy",  "queue",
    "created_ms", "flow", "keep_obsolete", "diff_current", "diff_goal", "no_save"};
#define JOB_REQUIRED                                                                               \
    ((1u << JOB_V) | (1u << JOB_ID) | (1u << JOB_CMD) | (1u << JOB_QUEUE) | (1u << JOB_CREATED) |  \
     (1u << JOB_FLOW))

enum flow_key { FLOW_APP, FLOW_PROFILE, FLOW_FLOW, FLOW_ITEMS };
static const char *const flow_keys[] = {"app", "profile", "flow", "items"};
#define FLOW_REQUIRED 0xfu

enum item_key { ITEM_ID, ITEM_TYPE, ITEM_DEPS, ITEM_PARAMS };
static const char *const item_keys[] = {"id", "type", "deps", "params"};
#define ITEM_REQUIRED ((1u << ITEM_ID) | (1u << ITEM_TYPE))

/* The empty msgpack map: params of an item that has none. */
static const uint8_t empty_map[] = {0x80};

struct job_dec {
    struct msg__rd r;
    struct msg_job job;
    size_t *deps_off; /* per item: offset of its deps array, or NO_DEPS */
    bool any_deps;    /* some item lists at least one dependency */
    struct pc_err *err;
};

/* ------------------------------------------------------------------------ */
/* Decoding: flow                                                           */
/* ------------------------------------------------------------------------ */

/* "job: flow.items[i]" followed by suffix, into path (PATH_LEN bytes). */
static const char *item_path(char *path, size_t i, const char *suffix)
{
    (void)snprintf(path, PATH_LEN, "job: flow.items[%zu]%s", i, suffix);
    return path;
}

/* Checks the shape of a deps array and remembers where it starts. */
static int scan_deps(struct job_dec *d, size_t i)
{
    uint32_t count = 0;
    int rc;

    d->deps_off[i] = d->r.off;
    rc = msg__rd_array(&d->r, &count);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: flow.items[%zu].deps", i);
    }
    if (count > PC_FLOW_DEPS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "job: flow.items[%zu].deps: %u deps, more than %d", i,
                          (unsigned)count, PC_FLOW_DEPS_MAX);
    }
    d->any_deps = d->any_deps || count > 0;
    for (uint32_t k = 0; k < count; k++) {
        const char *p = NULL;
        size_t n = 0;

        rc = msg__rd_str(&d->r, &p, &n);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "job: flow.items[%zu].deps[%u]", i, (unsigned)k);
        }
    }
    return 0;
}

/* Copies the params map after checking it is one bounded msgpack map. */
static int read_params(struct job_dec *d, struct pc_flow_item *it, size_t i)
{
    size_t start = d->r.off;
    size_t len;
    int rc;

    if (!msg__rd_peek_map(&d->r)) {
        return pc_err_set(d->err, PC_ESCHEMA, "job: flow.items[%zu].params: expected a map", i);
    }
    rc = msg__rd_skip(&d->r, MSG_DEPTH_MAX);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: flow.items[%zu].params", i);
    }
    len = d->r.off - start;
    if (len > PC_FLOW_PARAMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "job: flow.items[%zu].params: %zu bytes, more than %u",
                          i, len, PC_FLOW_PARAMS_MAX);
    }
    it->params = malloc(len);
    if (it->params == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "job: flow.items[%zu].params: out of memory", i);
    }
    memcpy(it->params, d->r.p + start, len);
    it->params_len = len;
    return 0;
}

/*
 * Reads the key of one of item i's fields. A failed key is read again from
 * the same place with the item's path (msg__rd_key changes nothing else when
 * it fails), so the path is formatted for errors only.
 */
static int read_item_key(struct job_dec *d, size_t i, uint32_t *seen, size_t *key)
{
    char path[PATH_LEN];
    size_t start = d->r.off;

    if (msg__rd_key(&d->r, item_keys, COUNT_OF(item_keys), seen, key, "", NULL) == 0) {
        return 0;
    }
    d->r.off = start;
    return msg__rd_key(&d->r, item_keys, COUNT_OF(item_keys), seen, key, item_path(path, i, ""),
                       d->err);
}

/* Reads the id or type (key) of item i into out. */
static int read_item_id(struct job_dec *d, size_t i, size_t key, struct pc_id *out)
{
    char path[PATH_LEN];
    const char *p = NULL;
    size_t n = 0;
    int rc = msg__rd_str(&d->r, &p, &n);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: flow.items[%zu].%s", i, item_keys[key]);
    }
    /* pc_id_set changes nothing when it fails: try without a message first. */
    if (pc_id_set(out, p, n, "", NULL) == 0) {
        return 0;
    }
    return pc_id_set(out, p, n, item_path(path, i, key == ITEM_ID ? ".id" : ".type"), d->err);
}

static int decode_item(struct job_dec *d, size_t i)
{
    struct pc_flow_item *it = &d->job.flow.items[i];
    char path[PATH_LEN];
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc;

    rc = msg__rd_map(&d->r, &count);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: flow.items[%zu]", i);
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t key = 0;

        rc = read_item_key(d, i, &seen, &key);
        if (rc != 0) {
            break;
        }
        if (key == ITEM_ID || key == ITEM_TYPE) {
            rc = read_item_id(d, i, key, key == ITEM_ID ? &it->id : &it->type);
        } else if (key == ITEM_DEPS) {
            rc = scan_deps(d, i);
        } else {
            rc = read_params(d, it, i);
        }
    }
    if (rc == 0 && (seen & ITEM_REQUIRED) != ITEM_REQUIRED) {
        rc = msg__require(item_keys, COUNT_OF(item_keys), ITEM_REQUIRED, seen,
                          item_path(path, i, ""), d->err);
    }
    if (rc == 0 && it->params == NULL) {
        it->params = malloc(sizeof(empty_map));
        if (it->params == NULL) {
            return pc_err_set(d->err, PC_ENOMEM, "job: flow.items[%zu].params: out of memory", i);
        }
        memcpy(it->params, empty_map, sizeof(empty_map));
        it->params_len = sizeof(empty_map);
    }
    return rc;
}

/* Second pass over one item's deps: ids -> indices. */
static int resolve_deps(struct job_dec *d, const struct pc_flow_index *ix, size_t i)
{
    struct pc_flow_item *it = &d->job.flow.items[i];
    struct msg__rd r = d->r;
    uint32_t count = 0;

    r.off = d->deps_off[i];
    if (msg__rd_array(&r, &count) != 0) {
        return pc_err_set(d->err, PC_EINTERNAL, "job: flow.items[%zu].deps: moved", i);
    }
    if (count == 0) {
        return 0;
    }
    it->deps = malloc(count * sizeof(*it->deps));
    if (it->deps == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "job: flow.items[%zu].deps: out of memory", i);
    }
    for (uint32_t k = 0; k < count; k++) {
        const char *p = NULL;
        size_t n = 0;
        long found;

        if (msg__rd_str(&r, &p, &n) != 0) {
            return pc_err_set(d->err, PC_EINTERNAL, "job: flow.items[%zu].deps: moved", i);
        }
        found = pc_flow_index_find(ix, p, n);
        if (found < 0) {
            return pc_err_set(d->err, PC_EINVAL,
                              "job: flow.items[%zu].deps[%u] (item '%s'): unknown "
                              "item \"%.*s\"",
                              i, (unsigned)k, it->id.s, (int)(n > 64 ? 64 : n), p);
        }
        it->deps[k] = (size_t)found;
        it->n_deps = k + 1;
    }
    return 0;
}

static int decode_items(struct job_dec *d)
{
    struct pc_flow *f = &d->job.flow;
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: flow.items");
    }
    if (count > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "job: flow.items: %u items, more than %d",
                          (unsigned)count, PC_FLOW_ITEMS_MAX);
    }
    if (count == 0) {
        return 0; /* pc_flow_validate reports the empty flow */
    }
    f->items = calloc(count, sizeof(*f->items));
    d->deps_off = malloc(count * sizeof(*d->deps_off));
    if (f->items == NULL || d->deps_off == NULL) {
        return pc_err_set(d->err, PC_ENOMEM, "job: flow.items: out of memory");
    }
    f->n_items = count;
    for (size_t i = 0; i < count; i++) {
        d->deps_off[i] = NO_DEPS;
    }
    for (size_t i = 0; rc == 0 && i < count; i++) {
        rc = decode_item(d, i);
    }
    return rc;
}

static int decode_flow(struct job_dec *d)
{
    struct pc_flow *f = &d->job.flow;
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: flow");
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t key = 0;

        rc = msg__rd_key(&d->r, flow_keys, COUNT_OF(flow_keys), &seen, &key, "job: flow", d->err);
        if (rc != 0) {
            break;
        }
        switch ((enum flow_key)key) {
        case FLOW_APP:
            rc = msg__rd_id(&d->r, &f->app, "job: flow.app", d->err);
            break;
        case FLOW_PROFILE:
            rc = msg__rd_id(&d->r, &f->profile, "job: flow.profile", d->err);
            break;
        case FLOW_FLOW:
            rc = msg__rd_id(&d->r, &f->flow, "job: flow.flow", d->err);
            break;
        case FLOW_ITEMS:
            rc = decode_items(d);
            break;
        }
    }
    if (rc == 0) {
        rc = msg__require(flow_keys, COUNT_OF(flow_keys), FLOW_REQUIRED, seen, "job: flow", d->err);
    }
    return rc;
}

/*
 * Validates ids, resolves deps, validates again (self-deps, cycles). A flow
 * without deps is complete after the first validation: there is nothing to
 * resolve, and validating the same flow again would give the same answer.
 */
static int link_flow(struct job_dec *d)
{
    struct pc_flow *f = &d->job.flow;
    struct pc_flow_index ix = {0};
    int rc = pc_flow_validate(f, d->err);

    if (rc == 0 && d->any_deps) {
        rc = pc_flow_index_init(&ix, f);
        if (rc != 0) {
            return pc_err_set(d->err, rc, "job: flow: out of memory");
        }
        for (size_t i = 0; rc == 0 && i < f->n_items; i++) {
            rc = d->deps_off[i] == NO_DEPS ? 0 : resolve_deps(d, &ix, i);
        }
        pc_flow_index_cleanup(&ix);
        if (rc != 0) {
            return rc;
        }
        rc = pc_flow_validate(f, d->err);
    }
    if (rc != 0) {
        pc_err_prefix(d->err, "job: flow");
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Decoding: the envelope                                                   */
/* ------------------------------------------------------------------------ */

static int decode_text_field(struct job_dec *d, size_t key)
{
    char path[PATH_LEN];
    const char *p = NULL;
    size_t n = 0;
    int rc = msg__rd_str(&d->r, &p, &n);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job: %s", job_keys[key]);
    }
    switch ((enum job_key)key) {
    case JOB_ID:
        if (!pc_ulid_valid(p, n)) {
            return pc_err_set(d->err, PC_EINVAL, "job: %s: \"%.*s\" is not an execution id (ULID)",
                              job_keys[key], (int)(n > 64 ? 64 : n), p);
        }
        memcpy(d->job.id, p, n);
        d->job.id[n] = '\0';
        return 0;
    case JOB_CMD:
        rc = pc_cmd_parse(p, n, &d->job.cmd, d->err);
        break;
    case JOB_SYNC:
        rc = pc_sync_parse(p, n, &d->job.sync, d->err);
        break;
    case JOB_STRATEGY:
        rc = n <= STRATEGY_TEXT_MAX
                 ? pc_strategy_parse(p, n, &d->job.strategy, d->err)
                 : pc_err_set(d->err, PC_EINVAL, "over %d bytes", STRATEGY_TEXT_MAX);
        break;
    case JOB_QUEUE:
        /* pc_id_set changes nothing when it fails: try without a message first. */
        if (pc_id_set(&d->job.queue, p, n, "", NULL) == 0) {
            return 0;
        }
        (void)snprintf(path, sizeof(path), "job: %s", job_keys[key]);
        return pc_id_set(&d->job.queue, p, n, path, d->err);
    default:
        return pc_err_set(d->err, PC_EINTERNAL, "job: %s: not a text field", job_keys[key]);
    }
    if (rc != 0) {
        pc_err_prefix(d->err, "job: %s", job_keys[key]);
    }
    return rc;
}

static int decode_field(struct job_dec *d, size_t key)
{
    uint64_t v = 0;
    int rc;

    switch ((enum job_key)key) {
    case JOB_V:
    case JOB_CREATED:
        rc = msg__rd_uint(&d->r, &v);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "job: %s", job_keys[key]);
        }
        if (key == JOB_V && v != MSG_VERSION) {
            return pc_err_set(d->err, PC_ESCHEMA, "job: unknown version %llu",
                              (unsigned long long)v);
        }
        if (key == JOB_CREATED) {
            d->job.created_ms = v;
        }
        return 0;
    case JOB_FLOW:
        return decode_flow(d);
    case JOB_KEEP_OBSOLETE:
    case JOB_NO_SAVE:
        rc = msg__rd_bool(&d->r, key == JOB_NO_SAVE ? &d->job.no_save : &d->job.keep_obsolete);
        return rc == 0 ? 0 : msg__fail(d->err, rc, &d->r, "job: %s", job_keys[key]);
    case JOB_DIFF_CURRENT:
    case JOB_DIFF_GOAL: {
        const char *p = NULL;
        size_t n = 0;
        bool discovered;

        rc = msg__rd_str(&d->r, &p, &n);
        if (rc != 0) {
            return msg__fail(d->err, rc, &d->r, "job: %s", job_keys[key]);
        }
        discovered = n == 10 && memcmp(p, "discovered", 10) == 0;
        if (!discovered && !(n == 6 && memcmp(p, "stored", 6) == 0)) {
            return pc_err_set(d->err, PC_EINVAL, "job: %s: \"stored\" or \"discovered\"",
                              job_keys[key]);
        }
        *(key == JOB_DIFF_CURRENT ? &d->job.diff_current_discovered
                                  : &d->job.diff_goal_discovered) = discovered;
        return 0;
    }
    default:
        return decode_text_field(d, key);
    }
}

static int decode_job(struct job_dec *d)
{
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "job");
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        size_t key = 0;

        rc = msg__rd_key(&d->r, job_keys, COUNT_OF(job_keys), &seen, &key, "job", d->err);
        if (rc == 0) {
            rc = decode_field(d, key);
        }
    }
    if (rc == 0) {
        rc = msg__require(job_keys, COUNT_OF(job_keys), JOB_REQUIRED, seen, "job", d->err);
    }
    if (rc == 0 && !msg__rd_done(&d->r)) {
        rc = pc_err_set(d->err, PC_ESCHEMA, "job: %zu bytes after the message", d->r.n - d->r.off);
    }
    if (rc == 0) {
        rc = link_flow(d);
    }
    return rc;
}

int msg_job_decode(const void *p, size_t n, struct msg_job *out, struct pc_err *err)
{
    struct job_dec d;
    int rc = msg__check_version(p, n, MSG_JOB_MAX, "job", err);

    if (rc != 0) {
        return rc;
    }
    memset(&d, 0, sizeof(d));
    msg__rd_init(&d.r, p, n);
    d.job.sync = PC_SYNC_BOTH;
    d.job.strategy.kind = PC_STRATEGY_FINISH_CURRENT;
    d.err = err;
    rc = decode_job(&d);
    free(d.deps_off);
    if (rc != 0) {
        msg_job_cleanup(&d.job);
        return rc;
    }
    *out = d.job;
    return 0;
}

void msg_job_cleanup(struct msg_job *job)
{
    if (job == NULL) {
        return;
    }
    pc_flow_cleanup(&job->flow);
    memset(job, 0, sizeof(*job));
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

/* True when (p, n) is exactly one msgpack map within the params limits. */
static bool params_ok(const uint8_t *p, size_t n)
{
    struct msg__rd r;

    if (n > PC_FLOW_PARAMS_MAX) {
        return false;
    }
    msg__rd_init(&r, p, n);
    return msg__rd_peek_map(&r) && msg__rd_skip(&r, MSG_DEPTH_MAX) == 0 && msg__rd_done(&r);
}

/* Refuses anything msg_job_decode would refuse, so a queued job always decodes. */
static int check_job(const struct msg_job *job, char *strategy, size_t strategy_size,
                     struct pc_err *err)
{
    struct pc_strategy parsed;
    enum pc_sync sync;
    int rc;

    if (!pc_ulid_valid(job->id, strnlen(job->id, sizeof(job->id)))) {
        return pc_err_set(err, PC_EINVAL, "job: id: not an execution id (ULID)");
    }
    if ((unsigned)job->cmd >= PC_CMD_COUNT) {
        return pc_err_set(err, PC_EINVAL, "job: cmd: no command number %d", (int)job->cmd);
    }
    if (pc_sync_parse(pc_sync_name(job->sync), strlen(pc_sync_name(job->sync)), &sync, NULL) != 0 ||
        sync != job->sync) {
        return pc_err_set(err, PC_EINVAL, "job: sync: no sync mode number %d", (int)job->sync);
    }
    rc = pc_strategy_format(&job->strategy, strategy, strategy_size);
    if (rc < 0 || (size_t)rc >= strategy_size ||
        pc_strategy_parse(strategy, (size_t)rc, &parsed, NULL) != 0 ||
        parsed.kind != job->strategy.kind ||
        (parsed.kind == PC_STRATEGY_POLL_NEXT_N && parsed.n != job->strategy.n)) {
        return pc_err_set(err, PC_EINVAL, "job: strategy: not a valid interrupt strategy");
    }
    if (!pc_ident_valid(job->queue.s, strnlen(job->queue.s, sizeof(job->queue.s)))) {
        return pc_err_set(err, PC_EINVAL, "job: queue: \"%s\" is not an identifier", job->queue.s);
    }
    rc = pc_flow_validate(&job->flow, err);
    if (rc != 0) {
        pc_err_prefix(err, "job: flow");
        return rc;
    }
    for (size_t i = 0; i < job->flow.n_items; i++) {
        const struct pc_flow_item *it = &job->flow.items[i];

        if (it->params != NULL && !params_ok(it->params, it->params_len)) {
            return pc_err_set(err, PC_EINVAL,
                              "job: flow.items[%zu].params (item '%s'): not one "
                              "msgpack map within limits",
                              i, it->id.s);
        }
    }
    return 0;
}

static void encode_item(struct msg__wr *w, const struct pc_flow *f, const struct pc_flow_item *it)
{
    msg__wr_map(w, 4);
    msg__wr_cstr(w, "id");
    msg__wr_cstr(w, it->id.s);
    msg__wr_cstr(w, "type");
    msg__wr_cstr(w, it->type.s);
    msg__wr_cstr(w, "deps");
    msg__wr_array(w, (uint32_t)it->n_deps);
    for (size_t d = 0; d < it->n_deps; d++) {
        msg__wr_cstr(w, f->items[it->deps[d]].id.s);
    }
    msg__wr_cstr(w, "params");
    if (it->params != NULL) {
        msg__wr_raw(w, it->params, it->params_len);
    } else {
        msg__wr_raw(w, empty_map, sizeof(empty_map));
    }
}

int msg_job_encode(const struct msg_job *job, struct pc_buf *out, struct pc_err *err)
{
    char strategy[STRATEGY_TEXT_MAX + 1];
    struct msg__wr w;
    int rc = check_job(job, strategy, sizeof(strategy), err);

    if (rc != 0) {
        return rc;
    }
    msg__wr_init(&w, MSG_JOB_MAX);
    msg__wr_map(&w, 8 + (uint32_t)job->keep_obsolete + (uint32_t)job->diff_current_discovered +
                        (uint32_t)job->diff_goal_discovered + (uint32_t)job->no_save);
    if (job->keep_obsolete) {
        msg__wr_cstr(&w, "keep_obsolete");
        msg__wr_bool(&w, true);
    }
    if (job->diff_current_discovered) {
        msg__wr_cstr(&w, "diff_current");
        msg__wr_cstr(&w, "discovered");
    }
    if (job->diff_goal_discovered) {
        msg__wr_cstr(&w, "diff_goal");
        msg__wr_cstr(&w, "discovered");
    }
    if (job->no_save) {
        msg__wr_cstr(&w, "no_save");
        msg__wr_bool(&w, true);
    }
    msg__wr_cstr(&w, "v");
    msg__wr_uint(&w, MSG_VERSION);
    msg__wr_cstr(&w, "id");
    msg__wr_cstr(&w, job->id);
    msg__wr_cstr(&w, "cmd");
    msg__wr_cstr(&w, pc_cmd_name(job->cmd));
    msg__wr_cstr(&w, "sync");
    msg__wr_cstr(&w, pc_sync_name(job->sync));
    msg__wr_cstr(&w, "strategy");
    msg__wr_cstr(&w, strategy);
    msg__wr_cstr(&w, "queue");
    msg__wr_cstr(&w, job->queue.s);
    msg__wr_cstr(&w, "created_ms");
    msg__wr_uint(&w, job->created_ms);
    msg__wr_cstr(&w, "flow");
    msg__wr_map(&w, 4);
    msg__wr_cstr(&w, "app");
    msg__wr_cstr(&w, job->flow.app.s);
    msg__wr_cstr(&w, "profile");
    msg__wr_cstr(&w, job->flow.profile.s);
    msg__wr_cstr(&w, "flow");
    msg__wr_cstr(&w, job->flow.flow.s);
    msg__wr_cstr(&w, "items");
    msg__wr_array(&w, (uint32_t)job->flow.n_items);
    for (size_t i = 0; i < job->flow.n_items; i++) {
        encode_item(&w, &job->flow, &job->flow.items[i]);
    }
    return msg__wr_finish(&w, out, "job", err);
}
