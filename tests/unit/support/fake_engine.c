/*
 * fake_engine.c - see fake_engine.h.
 */
#include "fake_engine.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peace/params.h"

struct fake_params {
    struct fake_world *world;
    size_t slot;
    char id[PC_ID_MAX + 1];
};

int fake_state_int(struct pc_state *s, int64_t v)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_int64(&pk, v);
    return pc_state_take(s, msgpack_sbuffer_release(&sb), sb.size);
}

bool fake_state_get_int(const struct pc_state *s, int64_t *v)
{
    msgpack_unpacked u;
    size_t off = 0;
    bool ok = false;

    if (!pc_state_present(s)) {
        return false;
    }
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, (const char *)s->data, s->len, &off) == MSGPACK_UNPACK_SUCCESS) {
        if (u.data.type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            *v = (int64_t)u.data.via.u64;
            ok = true;
        } else if (u.data.type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
            *v = u.data.via.i64;
            ok = true;
        }
    }
    msgpack_unpacked_destroy(&u);
    return ok;
}

static void logf_(struct fake_world *w, const char *what, const char *id)
{
    if (w->n_log < FAKE_LOG_MAX) {
        (void)snprintf(w->log[w->n_log++], sizeof(w->log[0]), "%s:%s", what, id);
    }
}

int fake_log_find(const struct fake_world *w, const char *s)
{
    for (size_t i = 0; i < w->n_log; i++) {
        if (strcmp(w->log[i], s) == 0) {
            return (int)i;
        }
    }
    return -1;
}

size_t fake_log_count_prefix(const struct fake_world *w, const char *prefix)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_log; i++) {
        if (strncmp(w->log[i], prefix, strlen(prefix)) == 0) {
            n++;
        }
    }
    return n;
}

static int fk_params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    uint64_t world = 0;
    uint64_t slot = 0;
    char *id = NULL;
    struct fake_params *p = NULL;
    int rc = pc_params_u64(params, "world", true, &world, err);

    if (rc == 0) {
        rc = pc_params_u64(params, "slot", true, &slot, err);
    }
    if (rc == 0) {
        rc = pc_params_strdup(params, "id", true, PC_ID_MAX, &id, err);
    }
    if (rc != 0) {
        return rc;
    }
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        free(id);
        return PC_ENOMEM;
    }
    p->world = (struct fake_world *)(uintptr_t)world;
    p->slot = (size_t)slot;
    memcpy(p->id, id, strlen(id) + 1);
    free(id);
    *out = p;
    return 0;
}

static void fk_params_destroy(void *params)
{
    free(params);
}

static int fk_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                      struct pc_err *err)
{
    const struct fake_params *p = params;
    struct fake_item_world *it = &p->world->items[p->slot];

    logf_(p->world, "current", p->id);
    if (it->fail_current) {
        return pc_err_set(err, PC_EITEM, "current of %s failed", p->id);
    }
    if (it->honour_cancel && pc_item_cancelled(ctx)) {
        return pc_err_set(err, PC_ECANCELED, "current of %s cancelled", p->id);
    }
    if (it->unknown_current) {
        return 0;
    }
    return fake_state_int(out, it->value);
}

static int fk_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                   struct pc_err *err)
{
    const struct fake_params *p = params;
    struct fake_item_world *it = &p->world->items[p->slot];

    (void)ctx;
    logf_(p->world, "goal", p->id);
    if (it->fail_goal) {
        return pc_err_set(err, PC_EITEM, "goal of %s failed", p->id);
    }
    return fake_state_int(out, it->goal);
}

static int fk_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                   struct pc_state *out, struct pc_err *err)
{
    const struct fake_params *p = params;
    int64_t va = 0;
    int64_t vb = 0;

    logf_(p->world, "diff", p->id);
    if (p->world->items[p->slot].fail_diff) {
        return pc_err_set(err, PC_EITEM, "diff of %s failed", p->id);
    }
    if (!fake_state_get_int(a, &va) || !fake_state_get_int(b, &vb)) {
        return pc_err_set(err, PC_EITEM, "diff of %s: states are not ints", p->id);
    }
    return fake_state_int(out, vb - va);
}

static int fk_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    const struct fake_params *p = params;

    logf_(p->world, "clean", p->id);
    if (p->world->items[p->slot].fail_clean) {
        return pc_err_set(err, PC_EITEM, "clean of %s failed", p->id);
    }
    return fake_state_int(out, 0);
}

static int fk_check(const void *params, const struct pc_state *current,
                    const struct pc_state *target, const struct pc_state *diff,
                    struct pc_apply_check *out, struct pc_err *err)
{
    const struct fake_params *p = params;

    (void)diff;
    logf_(p->world, "check", p->id);
    if (p->world->items[p->slot].fail_check) {
        return pc_err_set(err, PC_EITEM, "apply_check of %s failed", p->id);
    }
    out->exec_required = !pc_state_bytes_eq(current, target);
    out->limit.kind = PC_LIMIT_STEPS;
    out->limit.n = 1;
    return 0;
}

static int fk_apply_dry(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                        const struct pc_state *target, const struct pc_state *diff,
                        struct pc_state *out, struct pc_err *err)
{
    const struct fake_params *p = params;

    (void)ctx;
    (void)current;
    (void)diff;
    logf_(p->world, "apply_dry", p->id);
    if (p->world->items[p->slot].fail_apply_dry) {
        return pc_err_set(err, PC_EITEM, "apply_dry of %s failed", p->id);
    }
    return pc_state_copy(out, target);
}

static int fk_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                    const struct pc_state *target, const struct pc_state *diff,
                    struct pc_state *out, struct pc_err *err)
{
    const struct fake_params *p = params;
    struct fake_item_world *it = &p->world->items[p->slot];
    int64_t v = 0;

    (void)current;
    (void)diff;
    logf_(p->world, "apply", p->id);
    pc_item_progress_inc(ctx, 1, "applying");
    if (it->fail_apply) {
        return pc_err_set(err, PC_EITEM, "apply of %s failed", p->id);
    }
    if (it->honour_cancel && pc_item_cancelled(ctx)) {
        it->value = it->cut_value; /* cut halfway: the world moved */
        return pc_err_set(err, PC_ECANCELED, "apply of %s cancelled", p->id);
    }
    if (!fake_state_get_int(target, &v)) {
        return pc_err_set(err, PC_EITEM, "target of %s is not an int", p->id);
    }
    it->value = v;
    return fake_state_int(out, v);
}

/* Another slot is another place in the world: a replacement (as a file
 * whose path changed). */
static bool fk_needs_replacement(const void *stored_params, const void *new_params)
{
    const struct fake_params *a = stored_params;
    const struct fake_params *b = new_params;

    return a->slot != b->slot;
}

const struct pc_item_type fake_item_type = {
    .name = "fake",
    .params_create = fk_params_create,
    .params_destroy = fk_params_destroy,
    .state_current = fk_current,
    .state_goal = fk_goal,
    .state_diff = fk_diff,
    .state_clean = fk_clean,
    .apply_check = fk_check,
    .apply_dry = fk_apply_dry,
    .apply = fk_apply,
    .state_eq = NULL,
    .needs_replacement = fk_needs_replacement,
};

int fake_flow_build(struct pc_flow *f, struct fake_world *w, const char *const *ids, size_t n,
                    const char *const *edges, size_t n_edges)
{
    memset(f, 0, sizeof(*f));
    memcpy(f->app.s, "app", 4);
    memcpy(f->profile.s, "test", 5);
    memcpy(f->flow.s, "flow", 5);
    f->items = calloc(n, sizeof(*f->items));
    if (f->items == NULL) {
        return -1;
    }
    f->n_items = n;
    for (size_t i = 0; i < n; i++) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        struct pc_flow_item *it = &f->items[i];

        (void)snprintf(it->id.s, sizeof(it->id.s), "%s", ids[i]);
        memcpy(it->type.s, "fake", 5);
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 3);
        msgpack_pack_str_with_body(&pk, "world", 5);
        msgpack_pack_uint64(&pk, (uint64_t)(uintptr_t)w);
        msgpack_pack_str_with_body(&pk, "slot", 4);
        msgpack_pack_uint64(&pk, i);
        msgpack_pack_str_with_body(&pk, "id", 2);
        msgpack_pack_str_with_body(&pk, ids[i], strlen(ids[i]));
        it->params_len = sb.size;
        it->params = (uint8_t *)msgpack_sbuffer_release(&sb);
        it->deps = calloc(n, sizeof(size_t));
        if (it->deps == NULL) {
            return -1;
        }
    }
    for (size_t e = 0; e < n_edges; e++) {
        const char *gt = strchr(edges[e], '>');
        long from = pc_flow_find(f, edges[e], (size_t)(gt - edges[e]));
        long to = pc_flow_find(f, gt + 1, strlen(gt + 1));

        if (from < 0 || to < 0) {
            return -1;
        }
        f->items[to].deps[f->items[to].n_deps++] = (size_t)from;
    }
    return 0;
}

void fake_flow_free(struct pc_flow *f)
{
    for (size_t i = 0; i < f->n_items; i++) {
        free(f->items[i].deps);
        free(f->items[i].params);
    }
    free(f->items);
    memset(f, 0, sizeof(*f));
}

/* Executor ----------------------------------------------------------------- */

static int fx_submit(void *ctx, struct pc_task *t)
{
    struct fake_executor *fx = ctx;

    if (fx->n == sizeof(fx->q) / sizeof(fx->q[0])) {
        return PC_ELIMIT;
    }
    fx->q[fx->n++] = t;
    fx->submitted++;
    return 0;
}

static const struct pc_executor_ops fx_ops = {.submit = fx_submit};

struct pc_executor fake_executor_get(struct fake_executor *fx)
{
    struct pc_executor ex = {&fx_ops, fx};
    return ex;
}

bool fake_executor_run_at(struct fake_executor *fx, size_t pos)
{
    struct pc_task *t = NULL;

    if (pos >= fx->n) {
        return false;
    }
    t = fx->q[pos];
    memmove(&fx->q[pos], &fx->q[pos + 1], (fx->n - pos - 1) * sizeof(fx->q[0]));
    fx->n--;
    t->run(t);
    t->done(t);
    return true;
}

void fake_executor_drain(struct fake_executor *fx)
{
    while (fake_executor_run_at(fx, 0)) {
    }
}

/* Store -------------------------------------------------------------------- */

void fake_store_init(struct fake_store *s)
{
    memset(s, 0, sizeof(*s));
}

void fake_store_cleanup(struct fake_store *s)
{
    pc_stored_items_cleanup(&s->obsolete);
    pc_states_cleanup(&s->maps[0]);
    pc_states_cleanup(&s->maps[1]);
}

static int ensure_map(struct fake_store *s, enum pc_states_kind kind, size_t n)
{
    if (s->maps[kind].v == NULL) {
        /* Room for obsolete items after the flow's. */
        return pc_states_init(&s->maps[kind], n > FAKE_ITEMS_MAX ? n : FAKE_ITEMS_MAX);
    }
    return n <= s->maps[kind].n ? 0 : PC_ELIMIT;
}

static int fs_read(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                   struct pc_states *out, pc_store_done_cb *done, void *arg)
{
    struct fake_store *s = ctx;
    struct pc_err err;

    pc_err_clear(&err);
    if (!s->has[kind]) {
        done(arg, PC_ENOTFOUND, &err);
        return 0;
    }
    for (size_t i = 0; i < flow->n_items && i < s->maps[kind].n; i++) {
        if (pc_state_present(&s->maps[kind].v[i]) &&
            pc_state_copy(&out->v[i], &s->maps[kind].v[i]) != 0) {
            return PC_ENOMEM;
        }
    }
    done(arg, 0, &err);
    return 0;
}

static int fs_write_item(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                         size_t item, const struct pc_state *st, pc_store_done_cb *done, void *arg)
{
    struct fake_store *s = ctx;
    struct pc_err err;

    pc_err_clear(&err);
    if (s->fail_writes != 0) {
        done(arg, s->fail_writes, &err);
        return 0;
    }
    if (ensure_map(s, kind, flow->n_items) != 0 || pc_state_copy(&s->maps[kind].v[item], st) != 0) {
        return PC_ENOMEM;
    }
    s->has[kind] = true;
    s->item_writes[kind]++;
    done(arg, 0, &err);
    return 0;
}

static int fs_write_all(void *ctx, enum pc_states_kind kind, const struct pc_flow *flow,
                        const struct pc_states *m, pc_store_done_cb *done, void *arg)
{
    struct fake_store *s = ctx;
    struct pc_err err;

    pc_err_clear(&err);
    if (s->fail_writes != 0) {
        done(arg, s->fail_writes, &err);
        return 0;
    }
    if (ensure_map(s, kind, flow->n_items) != 0) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < flow->n_items; i++) {
        if (pc_state_copy(&s->maps[kind].v[i], &m->v[i]) != 0) {
            return PC_ENOMEM;
        }
    }
    s->has[kind] = true;
    s->all_writes[kind]++;
    done(arg, 0, &err);
    return 0;
}

static int fs_read_obsolete(void *ctx, const struct pc_flow *flow, struct pc_stored_items *out,
                            pc_store_done_cb *done, void *arg)
{
    struct fake_store *s = ctx;
    struct pc_err err;

    (void)flow;
    pc_err_clear(&err);
    out->v = calloc(s->obsolete.n + 1, sizeof(*out->v));
    if (out->v == NULL) {
        return PC_ENOMEM;
    }
    for (size_t i = 0; i < s->obsolete.n; i++) {
        const struct pc_stored_item *src = &s->obsolete.v[i];
        struct pc_stored_item *d = &out->v[out->n++];

        *d = *src;
        d->params = NULL;
        d->deps = NULL;
        if (src->has_record) {
            d->params = malloc(src->params_len);
            d->deps = calloc(src->n_deps + 1, sizeof(*d->deps));
            if (d->params == NULL || d->deps == NULL) {
                return PC_ENOMEM;
            }
            memcpy(d->params, src->params, src->params_len);
            memcpy(d->deps, src->deps, src->n_deps * sizeof(*d->deps));
        }
    }
    done(arg, 0, &err);
    return 0;
}

static int fs_write_record(void *ctx, const struct pc_flow *flow, size_t item,
                           pc_store_done_cb *done, void *arg)
{
    struct fake_store *s = ctx;
    struct pc_err err;

    (void)flow;
    (void)item;
    pc_err_clear(&err);
    s->record_writes++;
    done(arg, 0, &err);
    return 0;
}

static int fs_remove_item(void *ctx, const struct pc_flow *flow, size_t item,
                          pc_store_done_cb *done, void *arg)
{
    struct fake_store *s = ctx;
    struct pc_err err;

    pc_err_clear(&err);
    if (s->n_removed < FAKE_ITEMS_MAX) {
        (void)snprintf(s->removed[s->n_removed++], sizeof(s->removed[0]), "%s",
                       flow->items[item].id.s);
    }
    for (int k = 0; k < 2; k++) {
        if (item < s->maps[k].n) {
            pc_state_clear(&s->maps[k].v[item]);
        }
    }
    done(arg, 0, &err);
    return 0;
}

void fake_store_add_obsolete(struct fake_store *s, const struct pc_flow *f, size_t from,
                             bool with_record, const char *const *deps, size_t n_deps)
{
    struct pc_stored_item *v = realloc(s->obsolete.v, (s->obsolete.n + 1) * sizeof(*v));
    struct pc_stored_item *it = NULL;

    if (v == NULL) {
        abort();
    }
    s->obsolete.v = v;
    it = &v[s->obsolete.n++];
    memset(it, 0, sizeof(*it));
    it->id = f->items[from].id;
    if (!with_record) {
        return;
    }
    it->has_record = true;
    it->type = f->items[from].type;
    it->params = malloc(f->items[from].params_len);
    it->deps = calloc(n_deps + 1, sizeof(*it->deps));
    if (it->params == NULL || it->deps == NULL) {
        abort();
    }
    memcpy(it->params, f->items[from].params, f->items[from].params_len);
    it->params_len = f->items[from].params_len;
    for (size_t d = 0; d < n_deps; d++) {
        (void)snprintf(it->deps[d].s, sizeof(it->deps[d].s), "%s", deps[d]);
    }
    it->n_deps = n_deps;
}

static const struct pc_store_ops fs_ops = {
    .read = fs_read,
    .write_item = fs_write_item,
    .write_all = fs_write_all,
    .read_obsolete = fs_read_obsolete,
    .write_record = fs_write_record,
    .remove_item = fs_remove_item,
};

struct pc_store fake_store_get(struct fake_store *s)
{
    struct pc_store st = {&fs_ops, s};
    return st;
}

void fake_store_seed(struct fake_store *s, enum pc_states_kind kind, const int64_t *values,
                     size_t n)
{
    if (ensure_map(s, kind, n) != 0) {
        return;
    }
    for (size_t i = 0; i < n; i++) {
        (void)fake_state_int(&s->maps[kind].v[i], values[i]);
    }
    s->has[kind] = true;
}

bool fake_store_int(const struct fake_store *s, enum pc_states_kind kind, size_t item, int64_t *v)
{
    if (!s->has[kind] || item >= s->maps[kind].n) {
        return false;
    }
    return fake_state_get_int(&s->maps[kind].v[item], v);
}

/* Observer ----------------------------------------------------------------- */

void fake_observer_init(struct fake_observer *o)
{
    memset(o, 0, sizeof(*o));
    pc_outcome_init(&o->outcome);
}

void fake_observer_cleanup(struct fake_observer *o)
{
    pc_outcome_cleanup(&o->outcome);
}

static void ob_block_start(void *ctx, size_t index, enum pc_block_kind kind)
{
    struct fake_observer *o = ctx;

    (void)index;
    (void)kind;
    o->block_starts++;
}

static void ob_progress(void *ctx, size_t item, const struct pc_progress_tracker *t,
                        const struct pc_progress_update *u)
{
    struct fake_observer *o = ctx;

    (void)item;
    (void)t;
    (void)u;
    o->progress_events++;
}

static void ob_interrupted(void *ctx)
{
    struct fake_observer *o = ctx;

    o->interrupted = true;
    o->interrupted_calls++;
}

static void ob_finished(void *ctx, const struct pc_outcome *out)
{
    struct fake_observer *o = ctx;

    o->finished = true;
    o->finished_calls++;
    pc_outcome_cleanup(&o->outcome);
    if (pc_outcome_copy(&o->outcome, out) != 0) {
        o->outcome.kind = PC_OUTCOME_REJECTED;
    }
}

const struct pc_exec_observer_ops fake_observer_ops = {
    .block_start = ob_block_start,
    .progress = ob_progress,
    .interrupted = ob_interrupted,
    .finished = ob_finished,
};
