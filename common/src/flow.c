/*
 * flow.c - structural validation, lookup, copy and cleanup of flows.
 *
 * Validation runs after every decode (JSON file, queued job), so it trusts
 * nothing: it re-checks identifiers, bounds every count against the PC_FLOW_*
 * limits, and checks dependency indices before using them. Duplicate ids are
 * found by sorting an index (flow_index.h) rather than comparing all pairs,
 * and cycles by Kahn's algorithm: the items it cannot order all wait, directly
 * or not, on a cycle, and following unordered dependencies from any of them
 * must enter that cycle within n steps. The error then spells the cycle out,
 * so that a user can see which edge to remove. Every path in an error message
 * uses the JSON path of the flow file ("items[2].deps[0]"), which is also the
 * layout of the job message, so one message serves both sources.
 */
#include "peace/flow.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peace/buf.h"
#include "peace/flow_index.h"

/* Longest cycle text quoted in an error; pc_err truncates at PC_ERR_MSG_MAX anyway. */
#define CYCLE_TEXT_MAX 200

static size_t id_len(const struct pc_id *id)
{
    return strnlen(id->s, sizeof(id->s));
}

static bool id_valid(const struct pc_id *id)
{
    return pc_ident_valid(id->s, id_len(id));
}

/* ------------------------------------------------------------------------ */
/* Index by id                                                              */
/* ------------------------------------------------------------------------ */

/*
 * qsort has no context argument, so the index sorts pointers to items and
 * turns them back into indices afterwards. Equal ids keep flow order (ties
 * broken by address), which makes duplicate reports name the earlier item.
 */
static int cmp_item_ptr(const void *a, const void *b)
{
    const struct pc_flow_item *x = *(const struct pc_flow_item *const *)a;
    const struct pc_flow_item *y = *(const struct pc_flow_item *const *)b;
    int c = strncmp(x->id.s, y->id.s, sizeof(x->id.s));

    if (c != 0) {
        return c;
    }
    return x < y ? -1 : (x > y ? 1 : 0);
}

int pc_flow_index_init(struct pc_flow_index *ix, const struct pc_flow *flow)
{
    const struct pc_flow_item **ptrs = NULL;
    size_t *order = NULL;
    size_t n = flow->n_items;

    if (n > 0) {
        ptrs = malloc(n * sizeof(*ptrs)); /* NOLINT(bugprone-sizeof-expression): pointers */
        order = malloc(n * sizeof(*order));
        if (ptrs == NULL || order == NULL) {
            free(ptrs);
            free(order);
            return PC_ENOMEM;
        }
        for (size_t i = 0; i < n; i++) {
            ptrs[i] = &flow->items[i];
        }
        qsort(ptrs, n, sizeof(*ptrs), cmp_item_ptr); /* NOLINT(bugprone-sizeof-expression) */
        for (size_t i = 0; i < n; i++) {
            order[i] = (size_t)(ptrs[i] - flow->items);
        }
        free(ptrs);
    }
    ix->flow = flow;
    ix->order = order;
    ix->n = n;
    return 0;
}

/* Compares (p, n) with a NUL-terminated id as strcmp would compare two strings. */
static int cmp_key(const char *p, size_t n, const struct pc_id *id)
{
    size_t m = id_len(id);
    int c = memcmp(p, id->s, n < m ? n : m);

    if (c != 0) {
        return c;
    }
    return n < m ? -1 : (n > m ? 1 : 0);
}

long pc_flow_index_find(const struct pc_flow_index *ix, const char *p, size_t n)
{
    size_t lo = 0;
    size_t hi = ix->n;

    if (p == NULL || n > PC_ID_MAX || memchr(p, '\0', n) != NULL) {
        return -1;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        size_t item = ix->order[mid];
        int c = cmp_key(p, n, &ix->flow->items[item].id);

        if (c == 0) {
            return (long)item;
        }
        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

void pc_flow_index_cleanup(struct pc_flow_index *ix)
{
    if (ix == NULL) {
        return;
    }
    free(ix->order);
    ix->order = NULL;
    ix->n = 0;
    ix->flow = NULL;
}

/* ------------------------------------------------------------------------ */
/* Validation                                                               */
/* ------------------------------------------------------------------------ */

static int validate_names(const struct pc_flow *f, struct pc_err *err)
{
    static const char *const what[] = {"app", "profile", "flow"};
    const struct pc_id *ids[] = {&f->app, &f->profile, &f->flow};

    for (size_t i = 0; i < 3; i++) {
        if (!id_valid(ids[i])) {
            return pc_err_set(err, PC_EINVAL,
                              "%s: \"%.*s\" is not an identifier ([A-Za-z_][A-Za-z0-9_]*, "
                              "at most %d bytes)",
                              what[i], (int)id_len(ids[i]), ids[i]->s, PC_ID_MAX);
        }
    }
    if (f->n_items == 0) {
        return pc_err_set(err, PC_EINVAL, "items: a flow needs at least one item");
    }
    if (f->n_items > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "items: %zu items, more than the limit of %d", f->n_items,
                          PC_FLOW_ITEMS_MAX);
    }
    if (f->items == NULL) {
        return pc_err_set(err, PC_EINVAL, "items: missing");
    }
    return 0;
}

/*
 * Checks one item on its own: identifiers, params bounds, dependency list.
 * stamp[k] == i marks k as already listed by item i, which finds repeated
 * deps in time linear in the number of edges (a flow may have 2.5 million).
 */
static int validate_item(const struct pc_flow *f, size_t i, size_t *stamp, struct pc_err *err)
{
    const struct pc_flow_item *it = &f->items[i];

    if (!id_valid(&it->id)) {
        return pc_err_set(err, PC_EINVAL,
                          "items[%zu].id: \"%.*s\" is not an identifier "
                          "([A-Za-z_][A-Za-z0-9_]*, at most %d bytes)",
                          i, (int)id_len(&it->id), it->id.s, PC_ID_MAX);
    }
    if (!id_valid(&it->type)) {
        return pc_err_set(err, PC_EINVAL,
                          "items[%zu].type (item '%s'): \"%.*s\" is not a type name", i, it->id.s,
                          (int)id_len(&it->type), it->type.s);
    }
    if (it->params_len > PC_FLOW_PARAMS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "items[%zu].params (item '%s'): %zu bytes, more than %u",
                          i, it->id.s, it->params_len, PC_FLOW_PARAMS_MAX);
    }
    if (it->params == NULL && it->params_len != 0) {
        return pc_err_set(err, PC_EINVAL, "items[%zu].params (item '%s'): missing", i, it->id.s);
    }
    if (it->n_deps > PC_FLOW_DEPS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "items[%zu].deps (item '%s'): %zu deps, more than %d", i,
                          it->id.s, it->n_deps, PC_FLOW_DEPS_MAX);
    }
    if (it->n_deps > 0 && it->deps == NULL) {
        return pc_err_set(err, PC_EINVAL, "items[%zu].deps (item '%s'): missing", i, it->id.s);
    }
    for (size_t d = 0; d < it->n_deps; d++) {
        size_t dep = it->deps[d];

        if (dep >= f->n_items) {
            return pc_err_set(err, PC_EINVAL,
                              "items[%zu].deps[%zu] (item '%s'): no item number %zu", i, d,
                              it->id.s, dep);
        }
        if (dep == i) {
            return pc_err_set(err, PC_EINVAL, "items[%zu].deps[%zu] (item '%s'): depends on itself",
                              i, d, it->id.s);
        }
        if (stamp[dep] == i) {
            return pc_err_set(err, PC_EINVAL,
                              "items[%zu].deps[%zu] (item '%s'): '%s' is listed twice", i, d,
                              it->id.s, f->items[dep].id.s);
        }
        stamp[dep] = i;
    }
    return 0;
}

static int validate_unique_ids(const struct pc_flow *f, struct pc_err *err)
{
    struct pc_flow_index ix;
    int rc = pc_flow_index_init(&ix, f);

    if (rc != 0) {
        return pc_err_set(err, rc, "flow: out of memory");
    }
    for (size_t k = 1; k < ix.n; k++) {
        size_t first = ix.order[k - 1];
        size_t second = ix.order[k];

        if (strncmp(f->items[first].id.s, f->items[second].id.s, sizeof(f->items[first].id.s)) ==
            0) {
            rc = pc_err_set(err, PC_EINVAL, "items[%zu].id: '%s' is already the id of items[%zu]",
                            second, f->items[second].id.s, first);
            break;
        }
    }
    pc_flow_index_cleanup(&ix);
    return rc;
}

/* First dependency of item that is still unordered (remaining[dep] > 0). */
static size_t unordered_dep(const struct pc_flow *f, const size_t *remaining, size_t item)
{
    const struct pc_flow_item *it = &f->items[item];

    for (size_t d = 0; d < it->n_deps; d++) {
        if (remaining[it->deps[d]] > 0) {
            return it->deps[d];
        }
    }
    return item; /* unreachable for an unordered item; keeps the walk in range */
}

/* Reports the cycle reached from the unordered item start. */
static int report_cycle(const struct pc_flow *f, const size_t *remaining, size_t start,
                        struct pc_err *err)
{
    struct pc_buf text;
    size_t on_cycle = start;
    size_t cur;
    int rc = 0;

    /* After n steps along unordered deps the walk is inside a cycle. */
    for (size_t step = 0; step < f->n_items; step++) {
        on_cycle = unordered_dep(f, remaining, on_cycle);
    }
    pc_buf_init(&text, CYCLE_TEXT_MAX);
    cur = on_cycle;
    do {
        if (rc == 0) {
            rc = pc_buf_appendf(&text, "%s -> ", f->items[cur].id.s);
        }
        cur = unordered_dep(f, remaining, cur);
    } while (cur != on_cycle);
    if (rc == 0) {
        rc = pc_buf_puts(&text, f->items[on_cycle].id.s);
    }
    rc = pc_err_set(err, PC_EINVAL,
                    "items[%zu] (item '%s'): dependency cycle: %s%s (a -> b: a "
                    "depends on b)",
                    on_cycle, f->items[on_cycle].id.s, pc_buf_str(&text), rc == 0 ? "" : "...");
    pc_buf_cleanup(&text);
    return rc;
}

/*
 * Kahn's algorithm over the dependency edges. remaining[i] counts deps of i
 * not yet ordered; dependents are kept in CSR form (offsets + targets).
 */
static int validate_acyclic(const struct pc_flow *f, struct pc_err *err)
{
    size_t n = f->n_items;
    size_t edges = 0;
    size_t *remaining = NULL;
    size_t *offsets = NULL;
    size_t *targets = NULL;
    size_t *queue = NULL;
    size_t head = 0;
    size_t tail = 0;
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        edges += f->items[i].n_deps;
    }
    /* n > 0 here (validate_names), but a zero-size allocation must not look like a failure. */
    remaining = calloc(n > 0 ? n : 1, sizeof(*remaining));
    offsets = calloc(n + 1, sizeof(*offsets));
    targets = malloc((edges > 0 ? edges : 1) * sizeof(*targets));
    queue = malloc((n > 0 ? n : 1) * sizeof(*queue));
    if (remaining == NULL || offsets == NULL || targets == NULL || queue == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "flow: out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        remaining[i] = f->items[i].n_deps;
        for (size_t d = 0; d < f->items[i].n_deps; d++) {
            offsets[f->items[i].deps[d] + 1]++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        offsets[i + 1] += offsets[i];
    }
    /* Fill targets using queue as a per-node write cursor, before its real use. */
    memcpy(queue, offsets, n * sizeof(*queue));
    for (size_t i = 0; i < n; i++) {
        for (size_t d = 0; d < f->items[i].n_deps; d++) {
            targets[queue[f->items[i].deps[d]]++] = i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (remaining[i] == 0) {
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        size_t done = queue[head++];

        for (size_t k = offsets[done]; k < offsets[done + 1]; k++) {
            if (--remaining[targets[k]] == 0) {
                queue[tail++] = targets[k];
            }
        }
    }
    for (size_t i = 0; i < n && tail < n; i++) {
        if (remaining[i] > 0) {
            rc = report_cycle(f, remaining, i, err);
            break;
        }
    }
out:
    free(remaining);
    free(offsets);
    free(targets);
    free(queue);
    return rc;
}

int pc_flow_validate(const struct pc_flow *f, struct pc_err *err)
{
    size_t *stamp = NULL;
    int rc = validate_names(f, err);

    if (rc == 0) {
        stamp = malloc(f->n_items * sizeof(*stamp));
        rc = stamp != NULL ? 0 : pc_err_set(err, PC_ENOMEM, "flow: out of memory");
    }
    for (size_t i = 0; rc == 0 && i < f->n_items; i++) {
        stamp[i] = SIZE_MAX; /* no item has this index */
    }
    for (size_t i = 0; rc == 0 && i < f->n_items; i++) {
        rc = validate_item(f, i, stamp, err);
    }
    free(stamp);
    if (rc == 0) {
        rc = validate_unique_ids(f, err);
    }
    if (rc == 0) {
        rc = validate_acyclic(f, err);
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Lookup, copy, cleanup                                                    */
/* ------------------------------------------------------------------------ */

long pc_flow_find(const struct pc_flow *f, const char *p, size_t n)
{
    if (p == NULL || n > PC_ID_MAX) {
        return -1;
    }
    for (size_t i = 0; i < f->n_items; i++) {
        if (id_len(&f->items[i].id) == n && memcmp(f->items[i].id.s, p, n) == 0) {
            return (long)i;
        }
    }
    return -1;
}

static void item_cleanup(struct pc_flow_item *it)
{
    free(it->deps);
    free(it->params);
    it->deps = NULL;
    it->params = NULL;
    it->n_deps = 0;
    it->params_len = 0;
}

static int item_copy(struct pc_flow_item *dst, const struct pc_flow_item *src)
{
    *dst = *src;
    dst->deps = NULL;
    dst->params = NULL;
    if (src->n_deps > 0) {
        dst->deps = malloc(src->n_deps * sizeof(*dst->deps));
        if (dst->deps == NULL) {
            return PC_ENOMEM;
        }
        memcpy(dst->deps, src->deps, src->n_deps * sizeof(*dst->deps));
    }
    if (src->params != NULL) {
        dst->params = malloc(src->params_len > 0 ? src->params_len : 1);
        if (dst->params == NULL) {
            free(dst->deps);
            dst->deps = NULL;
            return PC_ENOMEM;
        }
        if (src->params_len > 0) {
            memcpy(dst->params, src->params, src->params_len);
        }
    }
    return 0;
}

int pc_flow_copy(struct pc_flow *dst, const struct pc_flow *src)
{
    struct pc_flow copy = *src;
    size_t done = 0;

    copy.items = NULL;
    if (src->n_items > 0) {
        copy.items = calloc(src->n_items, sizeof(*copy.items));
        if (copy.items == NULL) {
            return PC_ENOMEM;
        }
    }
    for (; done < src->n_items; done++) {
        if (item_copy(&copy.items[done], &src->items[done]) != 0) {
            copy.n_items = done;
            pc_flow_cleanup(&copy);
            return PC_ENOMEM;
        }
    }
    *dst = copy;
    return 0;
}

void pc_flow_cleanup(struct pc_flow *f)
{
    if (f == NULL) {
        return;
    }
    for (size_t i = 0; f->items != NULL && i < f->n_items; i++) {
        item_cleanup(&f->items[i]);
    }
    free(f->items);
    memset(f, 0, sizeof(*f));
}
