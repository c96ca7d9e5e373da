/*
 * redis_states.c - `peace states` against the fleet's Redis: a profile's
 * stored current and goal states hashes, in their listing order
 * (states_order.h), printed as text or (with --json) one JSON document,
 * and the states printing the run/watch follower shares with it. Stored
 * values are msgpack and are shown decoded, never as bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "peace/keys.h"
#include "peace/msg.h"
#include "peace/states_order.h"
#include "redis_exec.h"

/* A states hash (HGETALL) and its listing order (states_order.h). */
struct states_list {
    redisReply *rep; /* owned: field, value, ... */
    size_t *perm;    /* owned: pair positions in listing order */
    size_t n;        /* pairs */
};

static void states_list_free(struct states_list *l)
{
    if (l->rep != NULL) {
        freeReplyObject(l->rep);
    }
    free(l->perm);
    memset(l, 0, sizeof(*l));
}

/* The pairs of rep in the order of order_rep (the flow's order key). */
static int states_sort(struct states_list *l, const redisReply *order_rep, struct pc_err *err)
{
    const char **names = calloc(l->n + 1, sizeof(*names));
    size_t *lens = calloc(l->n + 1, sizeof(*lens));
    const char *order = NULL;
    size_t order_len = 0;
    int rc = names == NULL || lens == NULL ? PC_ENOMEM : 0;

    l->perm = calloc(l->n + 1, sizeof(*l->perm));
    rc = rc == 0 && l->perm == NULL ? PC_ENOMEM : rc;
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        const redisReply *name = l->rep->element[2 * i];

        if (name->type != REDIS_REPLY_STRING) {
            rc = pc_err_set(err, PC_EREDIS, "states hash: bad field");
            break;
        }
        names[i] = name->str;
        lens[i] = name->len;
    }
    if (rc == 0 && order_rep != NULL && order_rep->type == REDIS_REPLY_STRING &&
        order_rep->len <= PC_STATES_ORDER_MAX) {
        order = order_rep->str;
        order_len = order_rep->len;
    }
    if (rc == 0) {
        rc = pc_states_listing(order, order_len, names, lens, l->n, l->perm);
    }
    if (rc == PC_ENOMEM) {
        (void)pc_err_set(err, rc, "states: out of memory");
    }
    free(names);
    free(lens);
    return rc;
}

static int states_hash(struct cli_redis *r, const char *app, const char *profile, const char *flow,
                       enum pc_states_kind kind, struct states_list *out, struct pc_err *err)
{
    char key[PC_KEY_MAX];
    char order_key[PC_KEY_MAX];
    redisReply *order = NULL;
    int rc;

    memset(out, 0, sizeof(*out));
    if (pc_key_states(key, sizeof(key), cli_redis_prefix(r), app, profile, flow, kind) < 0 ||
        pc_key_states_order(order_key, sizeof(order_key), cli_redis_prefix(r), app, profile, flow) <
            0) {
        (void)pc_err_set(err, PC_EINVAL, "no states key for %s/%s/%s", app, profile, flow);
        return PC_EINVAL;
    }
    rc = cli_redis_cmd(r, &out->rep, err, "HGETALL", key, (char *)NULL);
    if (rc != 0 || out->rep == NULL) {
        return rc != 0 ? rc : PC_EINTERNAL;
    }
    if (out->rep->type != REDIS_REPLY_ARRAY || out->rep->elements % 2 != 0) {
        states_list_free(out);
        (void)pc_err_set(err, PC_EREDIS, "%s: not a hash", key);
        return PC_EREDIS;
    }
    out->n = out->rep->elements / 2;
    rc = cli_redis_cmd(r, &order, err, "GET", order_key, (char *)NULL);
    rc = rc == 0 ? states_sort(out, order, err) : rc;
    if (order != NULL) {
        freeReplyObject(order);
    }
    if (rc != 0) {
        states_list_free(out);
    }
    return rc;
}

/* Appends one stored value as JSON; the item (name, name_len) is named in the error. */
static int append_state(const char *name, size_t name_len, const redisReply *value,
                        struct pc_buf *out, struct pc_err *err)
{
    int shown = (int)(name_len < 64 ? name_len : 64);
    struct pc_state s = {NULL, 0};
    const char *p;
    size_t n;
    int rc;

    if (!cli_reply_str(value, &p, &n) || msg_state_check(p, n, err) != 0) {
        return pc_err_set(err, PC_ESCHEMA, "stored state of %.*s is not one msgpack value", shown,
                          name);
    }
    /* A borrowed view: pc_state_to_json only reads. */
    s.data = (uint8_t *)(uintptr_t)p;
    s.len = n;
    rc = pc_state_to_json(&s, out);
    if (rc != 0) {
        return pc_err_set(err, rc, "stored state of %.*s: cannot render (%s)", shown, name,
                          pc_strerror(rc));
    }
    return 0;
}

int cli_states_json(struct cli_redis *r, const char *app, const char *profile, const char *flow,
                    enum pc_states_kind kind, struct pc_buf *out, struct pc_err *err)
{
    struct states_list l;
    int rc = states_hash(r, app, profile, flow, kind, &l, err);

    if (rc != 0) {
        return rc;
    }
    rc = pc_buf_puts(out, "{");
    for (size_t k = 0; rc == 0 && k < l.n; k++) {
        const redisReply *name = l.rep->element[2 * l.perm[k]];

        rc = k > 0 ? pc_buf_puts(out, ",") : 0;
        if (rc == 0) {
            rc = pc_buf_append_json_str(out, name->str, name->len);
        }
        if (rc == 0) {
            rc = pc_buf_puts(out, ":");
        }
        if (rc == 0) {
            rc = append_state(name->str, name->len, l.rep->element[2 * l.perm[k] + 1], out, err);
        }
    }
    if (rc == 0) {
        rc = pc_buf_puts(out, "}");
    }
    if (rc != 0 && err != NULL && err->code == PC_OK) {
        (void)pc_err_set(err, rc, "states: %s", pc_strerror(rc));
    }
    states_list_free(&l);
    return rc;
}

/* One stored state of a states hash. */
static int state_json(const struct cli_record *rec, struct pc_buf *b, struct pc_err *err)
{
    return append_state(rec->name, rec->name_len, rec->src, b, err);
}

static const struct cli_record_ops state_ops = {NULL, NULL, state_json};

/* The pairs of a states_list, in listing order. */
static bool states_next(const struct cli_records *s, struct cli_cursor *at, struct cli_record *rec)
{
    const struct states_list *l = s->src;
    const redisReply *name;
    size_t pair;

    if (at->index >= l->n) {
        return false;
    }
    pair = l->perm[at->index];
    name = l->rep->element[2 * pair];
    *rec = (struct cli_record){&state_ops, l->rep->element[2 * pair + 1], name->str, name->len};
    at->index++;
    return true;
}

int cli_states_print_text(struct cli_redis *r, const char *app, const char *profile,
                          const char *flow, enum pc_states_kind kind, const char *label,
                          struct pc_err *err)
{
    struct states_list l;
    struct pc_buf b;
    int rc = states_hash(r, app, profile, flow, kind, &l, err);
    struct cli_records states = {&l, states_next};

    if (rc != 0) {
        return rc;
    }
    pc_buf_init(&b, CLI_OUT_MAX);
    rc = cli_states_text(&b, label, &states, err);
    if (rc == 0) {
        (void)fputs(pc_buf_str(&b), stdout);
    }
    pc_buf_cleanup(&b);
    states_list_free(&l);
    return rc;
}

/* {"app","profile","flow","current","goal"} of the stored states, one line. */
static int states_document(struct cli_redis *r, const struct cli_opts *o, struct pc_buf *b,
                           struct pc_err *err)
{
    int rc = pc_buf_puts(b, "{\"app\":");

    rc = rc == 0 ? pc_buf_append_json_str(b, o->args[0], strlen(o->args[0])) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"profile\":") : rc;
    rc = rc == 0 ? pc_buf_append_json_str(b, o->args[1], strlen(o->args[1])) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"flow\":") : rc;
    rc = rc == 0 ? pc_buf_append_json_str(b, o->args[2], strlen(o->args[2])) : rc;
    rc = rc == 0 ? pc_buf_puts(b, ",\"current\":") : rc;
    if (rc == 0) {
        rc = cli_states_json(r, o->args[0], o->args[1], o->args[2], PC_STATES_CURRENT, b, err);
    }
    rc = rc == 0 ? pc_buf_puts(b, ",\"goal\":") : rc;
    if (rc == 0) {
        rc = cli_states_json(r, o->args[0], o->args[1], o->args[2], PC_STATES_GOAL, b, err);
    }
    return rc == 0 ? pc_buf_puts(b, "}\n") : rc;
}

int cli_redis_states(const struct cli_opts *o)
{
    struct cli_redis *r = NULL;
    struct pc_buf b;
    struct pc_err err;
    int status = 1;
    int rc;

    pc_err_clear(&err);
    pc_buf_init(&b, CLI_OUT_MAX);
    if (cli_args_states(o) != 0 || cli_connect_or_fail(o, &r) != 0) {
        goto out;
    }
    if (o->json) {
        rc = states_document(r, o, &b, &err);
        if (rc == 0) {
            (void)fputs(pc_buf_str(&b), stdout);
        }
    } else {
        rc = cli_states_print_text(r, o->args[0], o->args[1], o->args[2], PC_STATES_CURRENT,
                                   "stored current states", &err);
        if (rc == 0) {
            rc = cli_states_print_text(r, o->args[0], o->args[1], o->args[2], PC_STATES_GOAL,
                                       "stored goal states", &err);
        }
    }
    if (rc != 0) {
        if (err.code == PC_OK) {
            (void)pc_err_set(&err, rc, "cannot format the states (%s)", pc_strerror(rc));
        }
        cli_print_err(&err);
        goto out;
    }
    status = 0;
out:
    pc_buf_cleanup(&b);
    cli_redis_destroy(r);
    return status;
}
