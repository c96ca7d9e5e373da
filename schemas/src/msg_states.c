/*
 * msg_states.c - the states envelope of a local states file, and the check
 * of a single state value (schemas/README.md).
 *
 * States are opaque msgpack values owned by item types, so the codec only
 * checks that each one is a single well-formed value within PC_STATE_MAX and
 * MSG_DEPTH_MAX, and copies its bytes. Entries are written in flow order as
 * [id, state] pairs rather than as a map, so the file keeps that order for
 * any reader. Decoding maps entries back by id: items removed from the flow
 * since the file was written are skipped, items added since stay absent. The
 * result is assembled in a scratch map and only moved into the caller's map
 * once the whole envelope has been accepted.
 */
#include "peace/msg.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "msg_internal.h"
#include "peace/flow_index.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

enum env_key { ENV_V, ENV_APP, ENV_PROFILE, ENV_FLOW, ENV_KIND, ENV_STATES };
static const char *const env_keys[] = {"v", "app", "profile", "flow", "kind", "states"};
#define ENV_REQUIRED 0x3fu

static const uint8_t msgpack_nil[] = {0xc0};

const char *msg_states_kind_name(enum pc_states_kind kind)
{
    switch (kind) {
    case PC_STATES_CURRENT:
        return "current";
    case PC_STATES_GOAL:
        return "goal";
    case PC_STATES_RECORDS:
        return "items";
    }
    return NULL;
}

int msg_state_check(const void *p, size_t n, struct pc_err *err)
{
    struct msg__rd r;
    int rc;

    if (n > PC_STATE_MAX) {
        return pc_err_set(err, PC_ELIMIT, "state: %zu bytes, more than %u", n, PC_STATE_MAX);
    }
    msg__rd_init(&r, p, n);
    rc = msg__rd_skip(&r, MSG_DEPTH_MAX);
    if (rc != 0) {
        return msg__fail(err, rc, &r, "state");
    }
    if (!msg__rd_done(&r)) {
        return pc_err_set(err, PC_ESCHEMA, "state: %zu bytes after the value", r.n - r.off);
    }
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Encoding                                                                 */
/* ------------------------------------------------------------------------ */

int msg_states_encode(const struct pc_flow *flow, enum pc_states_kind kind,
                      const struct pc_states *states, struct pc_buf *out, struct pc_err *err)
{
    return msg_states_encode_ex(flow, kind, states, NULL, out, err);
}

int msg_states_encode_ex(const struct pc_flow *flow, enum pc_states_kind kind,
                         const struct pc_states *states, const struct msg_states_extra *extra,
                         struct pc_buf *out, struct pc_err *err)
{
    size_t n_extra = extra != NULL ? extra->n : 0;

    const char *kind_name = msg_states_kind_name(kind);
    struct msg__wr w;

    if (kind_name == NULL) {
        return pc_err_set(err, PC_EINVAL, "states: no states kind number %d", (int)kind);
    }
    if (states->n != flow->n_items || flow->n_items > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_EINVAL, "states: %zu states for %zu items", states->n,
                          flow->n_items);
    }
    for (size_t i = 0; i < states->n; i++) {
        const struct pc_state *s = &states->v[i];
        int rc = s->data != NULL ? msg_state_check(s->data, s->len, err) : 0;

        if (rc != 0) {
            pc_err_prefix(err, "states: item '%s'", flow->items[i].id.s);
            return rc;
        }
    }
    msg__wr_init(&w, MSG_STATES_MAX);
    msg__wr_map(&w, 6);
    msg__wr_cstr(&w, "v");
    msg__wr_uint(&w, MSG_VERSION);
    msg__wr_cstr(&w, "app");
    msg__wr_cstr(&w, flow->app.s);
    msg__wr_cstr(&w, "profile");
    msg__wr_cstr(&w, flow->profile.s);
    msg__wr_cstr(&w, "flow");
    msg__wr_cstr(&w, flow->flow.s);
    msg__wr_cstr(&w, "kind");
    msg__wr_cstr(&w, kind_name);
    if (states->n + n_extra > PC_FLOW_ITEMS_MAX) {
        msg__wr_cleanup(&w);
        return pc_err_set(err, PC_ELIMIT, "states: more than %d entries", PC_FLOW_ITEMS_MAX);
    }
    msg__wr_cstr(&w, "states");
    msg__wr_array(&w, (uint32_t)(states->n + n_extra));
    for (size_t i = 0; i < states->n; i++) {
        const struct pc_state *s = &states->v[i];

        msg__wr_array(&w, 2);
        msg__wr_cstr(&w, flow->items[i].id.s);
        if (s->data != NULL) {
            msg__wr_raw(&w, s->data, s->len);
        } else {
            msg__wr_raw(&w, msgpack_nil, sizeof(msgpack_nil));
        }
    }
    for (size_t i = 0; i < n_extra; i++) {
        msg__wr_array(&w, 2);
        msg__wr_cstr(&w, extra->ids[i].s);
        if (extra->v[i].data != NULL) {
            msg__wr_raw(&w, extra->v[i].data, extra->v[i].len);
        } else {
            msg__wr_raw(&w, msgpack_nil, sizeof(msgpack_nil));
        }
    }
    return msg__wr_finish(&w, out, "states", err);
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                 */
/* ------------------------------------------------------------------------ */

struct states_dec {
    struct msg__rd r;
    const struct pc_flow *flow;
    struct pc_flow_index ix;
    struct pc_states tmp;           /* the result, moved into out on success */
    bool *seen;                     /* per flow item: an entry was read */
    struct msg_states_extra *extra; /* NULL: entries not in the flow are skipped */
    size_t extra_cap;
    struct pc_err *err;
};

void msg_states_extra_cleanup(struct msg_states_extra *x)
{
    if (x == NULL) {
        return;
    }
    for (size_t i = 0; i < x->n; i++) {
        pc_state_clear(&x->v[i]);
    }
    free(x->ids);
    free(x->v);
    memset(x, 0, sizeof(*x));
}

/* Keeps an entry whose id is not in the flow (nil kept as absent). */
static int extra_add(struct states_dec *d, const char *id, size_t id_len, const uint8_t *p,
                     size_t n, uint32_t k)
{
    struct msg_states_extra *x = d->extra;
    int rc;

    for (size_t i = 0; i < x->n; i++) {
        if (strlen(x->ids[i].s) == id_len && memcmp(x->ids[i].s, id, id_len) == 0) {
            return pc_err_set(d->err, PC_ESCHEMA, "states: states[%u]: item '%s' repeated",
                              (unsigned)k, x->ids[i].s);
        }
    }
    if (x->n == d->extra_cap) {
        size_t cap = d->extra_cap == 0 ? 8 : d->extra_cap * 2;
        struct pc_id *ids = realloc(x->ids, cap * sizeof(*ids));
        struct pc_state *v = NULL;

        if (ids == NULL) {
            return pc_err_set(d->err, PC_ENOMEM, "states: out of memory");
        }
        x->ids = ids;
        v = realloc(x->v, cap * sizeof(*v));
        if (v == NULL) {
            return pc_err_set(d->err, PC_ENOMEM, "states: out of memory");
        }
        x->v = v;
        d->extra_cap = cap;
    }
    rc = pc_id_set(&x->ids[x->n], id, id_len, "item id", d->err);
    if (rc != 0) {
        pc_err_prefix(d->err, "states: states[%u]", (unsigned)k);
        return rc;
    }
    x->v[x->n].data = NULL;
    x->v[x->n].len = 0;
    if (p != NULL && pc_state_set(&x->v[x->n], p, n) != 0) {
        return pc_err_set(d->err, PC_ENOMEM, "states: out of memory");
    }
    x->n++;
    return 0;
}

/* Reads a str that must equal the flow's identifier `want`. */
static int expect_name(struct states_dec *d, const char *key, const struct pc_id *want)
{
    const char *p = NULL;
    size_t n = 0;
    int rc = msg__rd_str(&d->r, &p, &n);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "states: %s", key);
    }
    if (n != strlen(want->s) || memcmp(p, want->s, n) != 0) {
        return pc_err_set(d->err, PC_EINVAL, "states: written for %s \"%.*s\", not \"%s\"", key,
                          (int)(n > 64 ? 64 : n), p, want->s);
    }
    return 0;
}

static int read_kind(struct states_dec *d)
{
    const char *p = NULL;
    size_t n = 0;
    int rc = msg__rd_str(&d->r, &p, &n);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "states: kind");
    }
    if ((n == 7 && memcmp(p, "current", 7) == 0) || (n == 4 && memcmp(p, "goal", 4) == 0) ||
        (n == 5 && memcmp(p, "items", 5) == 0)) {
        return 0;
    }
    return pc_err_set(d->err, PC_ESCHEMA, "states: kind: unknown kind \"%.*s\"",
                      (int)(n > 64 ? 64 : n), p);
}

/* One [id, state] entry. */
static int read_entry(struct states_dec *d, uint32_t k)
{
    const char *id = NULL;
    size_t id_len = 0;
    uint32_t pair = 0;
    size_t start;
    long item;
    int rc = msg__rd_array(&d->r, &pair);

    if (rc == 0 && pair != 2) {
        return pc_err_set(d->err, PC_ESCHEMA, "states: states[%u]: expected [id, state]",
                          (unsigned)k);
    }
    if (rc == 0) {
        rc = msg__rd_str(&d->r, &id, &id_len);
    }
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "states: states[%u]", (unsigned)k);
    }
    item = pc_flow_index_find(&d->ix, id, id_len);
    if (item >= 0 && d->seen[item]) {
        return pc_err_set(d->err, PC_ESCHEMA, "states: states[%u]: item '%s' repeated", (unsigned)k,
                          d->flow->items[item].id.s);
    }
    if (item >= 0) {
        d->seen[item] = true;
    }
    if (msg__rd_nil(&d->r)) {
        /* a stored nil is "no state": the slot stays absent */
        return item < 0 && d->extra != NULL ? extra_add(d, id, id_len, NULL, 0, k) : 0;
    }
    start = d->r.off;
    rc = msg__rd_skip(&d->r, MSG_DEPTH_MAX);
    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "states: states[%u]", (unsigned)k);
    }
    if (d->r.off - start > PC_STATE_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "states: states[%u]: %zu bytes, more than %u",
                          (unsigned)k, d->r.off - start, PC_STATE_MAX);
    }
    if (item < 0) {
        /* no longer in the flow: kept only when the caller asked for it */
        return d->extra != NULL ? extra_add(d, id, id_len, d->r.p + start, d->r.off - start, k) : 0;
    }
    rc = pc_state_set(&d->tmp.v[item], d->r.p + start, d->r.off - start);
    return rc == 0 ? 0 : pc_err_set(d->err, rc, "states: states[%u]: out of memory", (unsigned)k);
}

static int read_entries(struct states_dec *d)
{
    uint32_t count = 0;
    int rc = msg__rd_array(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "states: states");
    }
    if (count > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(d->err, PC_ELIMIT, "states: states: %u entries, more than %d",
                          (unsigned)count, PC_FLOW_ITEMS_MAX);
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        rc = read_entry(d, k);
    }
    return rc;
}

static int decode_envelope(struct states_dec *d)
{
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc = msg__rd_map(&d->r, &count);

    if (rc != 0) {
        return msg__fail(d->err, rc, &d->r, "states");
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        uint64_t v = 0;
        size_t key = 0;

        rc = msg__rd_key(&d->r, env_keys, COUNT_OF(env_keys), &seen, &key, "states", d->err);
        if (rc != 0) {
            break;
        }
        switch ((enum env_key)key) {
        case ENV_V:
            rc = msg__rd_uint(&d->r, &v);
            rc = rc != 0 ? msg__fail(d->err, rc, &d->r, "states: v")
                         : (v == MSG_VERSION ? 0
                                             : pc_err_set(d->err, PC_ESCHEMA,
                                                          "states: unknown "
                                                          "version %llu",
                                                          (unsigned long long)v));
            break;
        case ENV_APP:
            rc = expect_name(d, "app", &d->flow->app);
            break;
        case ENV_PROFILE:
            rc = expect_name(d, "profile", &d->flow->profile);
            break;
        case ENV_FLOW:
            rc = expect_name(d, "flow", &d->flow->flow);
            break;
        case ENV_KIND:
            rc = read_kind(d);
            break;
        case ENV_STATES:
            rc = read_entries(d);
            break;
        }
    }
    if (rc == 0) {
        rc = msg__require(env_keys, COUNT_OF(env_keys), ENV_REQUIRED, seen, "states", d->err);
    }
    if (rc == 0 && !msg__rd_done(&d->r)) {
        rc = pc_err_set(d->err, PC_ESCHEMA, "states: %zu bytes after the message",
                        d->r.n - d->r.off);
    }
    return rc;
}

int msg_states_decode(const void *p, size_t n, const struct pc_flow *flow, struct pc_states *out,
                      struct pc_err *err)
{
    return msg_states_decode_ex(p, n, flow, out, NULL, err);
}

int msg_states_decode_ex(const void *p, size_t n, const struct pc_flow *flow, struct pc_states *out,
                         struct msg_states_extra *extra, struct pc_err *err)
{
    struct states_dec d;
    int rc = msg__check_version(p, n, MSG_STATES_MAX, "states", err);

    if (rc != 0) {
        return rc;
    }
    if (out->n != flow->n_items) {
        return pc_err_set(err, PC_EINVAL, "states: %zu slots for %zu items", out->n, flow->n_items);
    }
    memset(&d, 0, sizeof(d));
    msg__rd_init(&d.r, p, n);
    d.flow = flow;
    d.err = err;
    d.extra = extra;
    if (extra != NULL) {
        memset(extra, 0, sizeof(*extra));
    }
    rc = pc_states_init(&d.tmp, flow->n_items);
    if (rc == 0) {
        d.seen = calloc(flow->n_items > 0 ? flow->n_items : 1, sizeof(*d.seen));
        rc = d.seen != NULL ? pc_flow_index_init(&d.ix, flow) : PC_ENOMEM;
    }
    if (rc != 0) {
        rc = pc_err_set(err, rc, "states: out of memory");
    } else {
        rc = decode_envelope(&d);
    }
    for (size_t i = 0; rc == 0 && i < flow->n_items; i++) {
        pc_state_move(&out->v[i], &d.tmp.v[i]);
    }
    pc_states_cleanup(&d.tmp);
    pc_flow_index_cleanup(&d.ix);
    free(d.seen);
    if (rc != 0) {
        msg_states_extra_cleanup(extra);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Item records                                                             */
/* ------------------------------------------------------------------------ */

enum rec_key { REC_V, REC_TYPE, REC_PARAMS, REC_DEPS };
static const char *const rec_keys[] = {"v", "type", "params", "deps"};
#define REC_REQUIRED 0x7u

int msg_record_encode(const struct pc_flow *flow, size_t item, struct pc_buf *out,
                      struct pc_err *err)
{
    const struct pc_flow_item *it = NULL;
    struct msg__wr w;

    if (item >= flow->n_items) {
        return pc_err_set(err, PC_EINVAL, "record: no item %zu", item);
    }
    it = &flow->items[item];
    msg__wr_init(&w, PC_STATE_MAX);
    msg__wr_map(&w, 4);
    msg__wr_cstr(&w, "v");
    msg__wr_uint(&w, MSG_VERSION);
    msg__wr_cstr(&w, "type");
    msg__wr_cstr(&w, it->type.s);
    msg__wr_cstr(&w, "params");
    msg__wr_raw(&w, it->params, it->params_len);
    msg__wr_cstr(&w, "deps");
    msg__wr_array(&w, (uint32_t)it->n_deps);
    for (size_t d = 0; d < it->n_deps; d++) {
        msg__wr_cstr(&w, flow->items[it->deps[d]].id.s);
    }
    return msg__wr_finish(&w, out, "record", err);
}

static int record_params(struct msg__rd *r, struct pc_stored_item *out, struct pc_err *err)
{
    size_t start = r->off;
    int rc;

    if (!msg__rd_peek_map(r)) {
        return pc_err_set(err, PC_ESCHEMA, "record: params: expected a map");
    }
    rc = msg__rd_skip(r, MSG_DEPTH_MAX);
    if (rc != 0) {
        return msg__fail(err, rc, r, "record: params");
    }
    out->params = malloc(r->off - start);
    if (out->params == NULL) {
        return pc_err_set(err, PC_ENOMEM, "record: out of memory");
    }
    memcpy(out->params, r->p + start, r->off - start);
    out->params_len = r->off - start;
    return 0;
}

static int record_deps(struct msg__rd *r, struct pc_stored_item *out, struct pc_err *err)
{
    uint32_t count = 0;
    int rc = msg__rd_array(r, &count);

    if (rc != 0) {
        return msg__fail(err, rc, r, "record: deps");
    }
    if (count > PC_FLOW_DEPS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "record: deps: %u, more than %d", (unsigned)count,
                          PC_FLOW_DEPS_MAX);
    }
    out->deps = calloc(count + 1, sizeof(*out->deps));
    if (out->deps == NULL) {
        return pc_err_set(err, PC_ENOMEM, "record: out of memory");
    }
    for (uint32_t i = 0; rc == 0 && i < count; i++) {
        rc = msg__rd_id(r, &out->deps[i], "record: deps", err);
        if (rc == 0) {
            out->n_deps++;
        }
    }
    return rc;
}

int msg_record_decode(const void *p, size_t n, struct pc_stored_item *out, struct pc_err *err)
{
    struct msg__rd r;
    uint32_t count = 0;
    uint32_t seen = 0;
    int rc = msg__check_version(p, n, PC_STATE_MAX, "record", err);

    if (rc != 0) {
        return rc;
    }
    msg__rd_init(&r, p, n);
    rc = msg__rd_map(&r, &count);
    if (rc != 0) {
        return msg__fail(err, rc, &r, "record");
    }
    for (uint32_t k = 0; rc == 0 && k < count; k++) {
        uint64_t v = 0;
        size_t key = 0;

        rc = msg__rd_key(&r, rec_keys, COUNT_OF(rec_keys), &seen, &key, "record", err);
        if (rc != 0) {
            break;
        }
        switch ((enum rec_key)key) {
        case REC_V:
            rc = msg__rd_uint(&r, &v);
            rc = rc != 0 ? msg__fail(err, rc, &r, "record: v") : 0;
            break;
        case REC_TYPE:
            rc = msg__rd_id(&r, &out->type, "record: type", err);
            break;
        case REC_PARAMS:
            rc = record_params(&r, out, err);
            break;
        case REC_DEPS:
            rc = record_deps(&r, out, err);
            break;
        }
    }
    if (rc == 0) {
        rc = msg__require(rec_keys, COUNT_OF(rec_keys), REC_REQUIRED, seen, "record", err);
    }
    if (rc == 0 && !msg__rd_done(&r)) {
        rc = pc_err_set(err, PC_ESCHEMA, "record: %zu bytes after the message", r.n - r.off);
    }
    if (rc != 0) {
        free(out->params);
        free(out->deps);
        out->params = NULL;
        out->deps = NULL;
        out->params_len = 0;
        out->n_deps = 0;
        return rc;
    }
    out->has_record = true;
    return 0;
}
