/*
 * flow_json.c - flow files (CONTRACT §6): JSON text -> struct pc_flow.
 *
 * jansson parses the whole text into a tree (duplicate object keys rejected,
 * so `{"id":"a","id":"b"}` cannot silently keep one of them); the tree is
 * then walked twice. The first walk reads every item's id, type and params,
 * which lets pc_flow_validate check identifiers and unique ids before any
 * dependency is resolved: a duplicated id would otherwise make a dependency
 * resolve to the wrong item and yield a confusing error. The second walk
 * resolves dependency ids to indices through a sorted index, and a final
 * pc_flow_validate looks for self-dependencies and cycles.
 *
 * Unknown keys are errors, because a typo such as "dep" for "deps" would
 * otherwise silently drop an edge. Every error names the source, the JSON
 * path ("items[2].deps[0]") and, once known, the item id; syntax errors give
 * line:column. Params are re-encoded as msgpack (the worker never sees JSON)
 * into a buffer bounded by PC_FLOW_PARAMS_MAX, with nesting bounded by
 * PC_FLOW_JSON_DEPTH_MAX.
 */
#include "peace/flow.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <msgpack.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "peace/buf.h"
#include "peace/flow_index.h"
#include "peace/state.h"

/* Room for "items[9999].deps[255]" and similar paths. */
#define PATH_MAX_LEN 48

/* Quoted user text is cut to this many bytes in error messages. */
#define QUOTE_MAX 64

static const char *const root_keys[] = {"app", "profile", "flow", "items"};
static const char *const item_keys[] = {"id", "type", "deps", "params"};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Formats " (item 'x')" for an item whose id is known, else "". */
static const char *item_note(const struct pc_flow_item *it, char *note, size_t size)
{
    if (it == NULL || it->id.s[0] == '\0') {
        return "";
    }
    (void)snprintf(note, size, " (item '%s')", it->id.s);
    return note;
}

/* Rejects keys of obj that are not in allowed[]. */
static int check_keys(const json_t *obj, const char *const *allowed, size_t n_allowed,
                      const char *path, const char *note, struct pc_err *err)
{
    const char *key = NULL;
    json_t *value = NULL;

    json_object_foreach((json_t *)obj, key, value)
    {
        bool known = false;

        for (size_t i = 0; i < n_allowed; i++) {
            known = known || strcmp(key, allowed[i]) == 0;
        }
        if (!known) {
            return pc_err_set(err, PC_EINVAL,
                              "%s%s: unknown key \"%.*s\" (allowed: %s, %s, %s, %s)", path, note,
                              QUOTE_MAX, key, allowed[0], allowed[1], allowed[2], allowed[3]);
        }
    }
    return 0;
}

/* Reads the identifier at obj[key] (inside the object at path, "" for the root) into out. */
static int get_id(const json_t *obj, const char *key, const char *path, const char *note,
                  struct pc_id *out, struct pc_err *err)
{
    const json_t *v = json_object_get(obj, key);
    char where[PATH_MAX_LEN + 16];
    const char *s = NULL;
    size_t n;

    (void)snprintf(where, sizeof(where), "%s%s%s", path, path[0] != '\0' ? "." : "", key);
    if (v == NULL) {
        if (path[0] == '\0') {
            return pc_err_set(err, PC_EINVAL, "missing \"%s\"", key);
        }
        return pc_err_set(err, PC_EINVAL, "%s%s: missing \"%s\"", path, note, key);
    }
    if (!json_is_string(v)) {
        return pc_err_set(err, PC_EINVAL, "%s%s: expected a string", where, note);
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n > PC_ID_MAX) {
        return pc_err_set(err, PC_EINVAL, "%s%s: \"%.*s...\" is longer than %d bytes", where, note,
                          QUOTE_MAX, s, PC_ID_MAX);
    }
    if (!pc_ident_valid(s, n)) {
        return pc_err_set(err, PC_EINVAL,
                          "%s%s: \"%s\" is not an identifier "
                          "([A-Za-z_][A-Za-z0-9_]*)",
                          where, note, s);
    }
    memcpy(out->s, s, n);
    out->s[n] = '\0';
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Params: JSON -> msgpack                                                  */
/* ------------------------------------------------------------------------ */

struct packer {
    msgpack_packer pk;
    struct pc_buf buf;
    bool too_deep;
};

/* msgpack_packer write callback: its non-zero result is returned by every pack call. */
static int write_to_buf(void *data, const char *p, size_t n)
{
    return pc_buf_append(data, p, n);
}

static int pack_json(struct packer *pk, const json_t *v, unsigned depth);

static int pack_object(struct packer *pk, const json_t *v, unsigned depth)
{
    const char *key = NULL;
    json_t *value = NULL;
    int rc = msgpack_pack_map(&pk->pk, json_object_size(v));

    json_object_foreach((json_t *)v, key, value)
    {
        size_t n = strlen(key);

        if (rc == 0) {
            rc = msgpack_pack_str(&pk->pk, n);
        }
        if (rc == 0) {
            rc = msgpack_pack_str_body(&pk->pk, key, n);
        }
        if (rc == 0) {
            rc = pack_json(pk, value, depth);
        }
    }
    return rc;
}

static int pack_array(struct packer *pk, const json_t *v, unsigned depth)
{
    size_t n = json_array_size(v);
    int rc = msgpack_pack_array(&pk->pk, n);

    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = pack_json(pk, json_array_get(v, i), depth);
    }
    return rc;
}

/* Packs v, a value found at nesting depth `depth` (the params object is at 0). */
static int pack_json(struct packer *pk, const json_t *v, unsigned depth)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_ARRAY:
        if (depth + 1 > PC_FLOW_JSON_DEPTH_MAX) {
            pk->too_deep = true;
            return PC_ELIMIT;
        }
        return json_is_object(v) ? pack_object(pk, v, depth + 1) : pack_array(pk, v, depth + 1);
    case JSON_STRING: {
        size_t n = json_string_length(v);
        int rc = msgpack_pack_str(&pk->pk, n);

        return rc != 0 ? rc : msgpack_pack_str_body(&pk->pk, json_string_value(v), n);
    }
    case JSON_INTEGER:
        return msgpack_pack_int64(&pk->pk, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return msgpack_pack_double(&pk->pk, json_real_value(v));
    case JSON_TRUE:
        return msgpack_pack_true(&pk->pk);
    case JSON_FALSE:
        return msgpack_pack_false(&pk->pk);
    case JSON_NULL:
        return msgpack_pack_nil(&pk->pk);
    }
    return PC_EINTERNAL;
}

/* Encodes the item's "params" object (an empty map when absent) into it->params. */
static int parse_params(const json_t *item, const char *path, const char *note,
                        struct pc_flow_item *it, struct pc_err *err)
{
    const json_t *v = json_object_get(item, "params");
    struct packer pk;
    int rc;

    if (v != NULL && !json_is_object(v)) {
        return pc_err_set(err, PC_EINVAL, "%s.params%s: expected an object", path, note);
    }
    pc_buf_init(&pk.buf, PC_FLOW_PARAMS_MAX);
    pk.too_deep = false;
    msgpack_packer_init(&pk.pk, &pk.buf, write_to_buf);
    rc = v != NULL ? pack_json(&pk, v, 0) : msgpack_pack_map(&pk.pk, 0);
    if (rc == 0) {
        it->params = malloc(pk.buf.len);
        rc = it->params != NULL ? 0 : PC_ENOMEM;
    }
    if (rc == 0) {
        memcpy(it->params, pk.buf.data, pk.buf.len);
        it->params_len = pk.buf.len;
    } else if (pk.too_deep) {
        rc = pc_err_set(err, PC_ELIMIT, "%s.params%s: nested deeper than %d levels", path, note,
                        PC_FLOW_JSON_DEPTH_MAX);
    } else if (rc == PC_ELIMIT) {
        rc = pc_err_set(err, PC_ELIMIT, "%s.params%s: larger than %u bytes once encoded", path,
                        note, PC_FLOW_PARAMS_MAX);
    } else {
        rc = pc_err_set(err, rc < 0 ? rc : PC_ENOMEM, "%s.params%s: out of memory", path, note);
    }
    pc_buf_cleanup(&pk.buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Items                                                                    */
/* ------------------------------------------------------------------------ */

/* First walk: id, type, params, and the shape of deps (resolved later). */
static int parse_item(const json_t *item, size_t i, struct pc_flow_item *it, struct pc_err *err)
{
    char path[PATH_MAX_LEN];
    char note[PC_ID_MAX + 16];
    const json_t *deps = NULL;
    int rc;

    (void)snprintf(path, sizeof(path), "items[%zu]", i);
    if (!json_is_object(item)) {
        return pc_err_set(err, PC_EINVAL, "%s: expected an object", path);
    }
    rc = get_id(item, "id", path, "", &it->id, err);
    if (rc == 0) {
        rc = check_keys(item, item_keys, COUNT_OF(item_keys), path,
                        item_note(it, note, sizeof(note)), err);
    }
    if (rc == 0) {
        rc = get_id(item, "type", path, item_note(it, note, sizeof(note)), &it->type, err);
    }
    if (rc != 0) {
        return rc;
    }
    deps = json_object_get(item, "deps");
    if (deps != NULL && !json_is_array(deps)) {
        return pc_err_set(err, PC_EINVAL, "%s.deps%s: expected an array of item ids", path,
                          item_note(it, note, sizeof(note)));
    }
    if (deps != NULL && json_array_size(deps) > PC_FLOW_DEPS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "%s.deps%s: %zu deps, more than %d", path,
                          item_note(it, note, sizeof(note)), json_array_size(deps),
                          PC_FLOW_DEPS_MAX);
    }
    return parse_params(item, path, item_note(it, note, sizeof(note)), it, err);
}

/* Second walk: dependency ids -> indices. */
static int resolve_deps(const json_t *item, size_t i, const struct pc_flow_index *ix,
                        struct pc_flow_item *it, struct pc_err *err)
{
    const json_t *deps = json_object_get(item, "deps");
    size_t n = deps != NULL ? json_array_size(deps) : 0;

    if (n == 0) {
        return 0;
    }
    it->deps = malloc(n * sizeof(*it->deps));
    if (it->deps == NULL) {
        return pc_err_set(err, PC_ENOMEM, "items[%zu].deps: out of memory", i);
    }
    for (size_t d = 0; d < n; d++) {
        const json_t *v = json_array_get(deps, d);
        long found;

        if (!json_is_string(v)) {
            return pc_err_set(err, PC_EINVAL,
                              "items[%zu].deps[%zu] (item '%s'): expected an item id "
                              "(a string)",
                              i, d, it->id.s);
        }
        found = pc_flow_index_find(ix, json_string_value(v), json_string_length(v));
        if (found < 0) {
            return pc_err_set(err, PC_EINVAL,
                              "items[%zu].deps[%zu] (item '%s'): unknown item "
                              "\"%.*s\"",
                              i, d, it->id.s, QUOTE_MAX, json_string_value(v));
        }
        it->deps[d] = (size_t)found;
        it->n_deps = d + 1;
    }
    return 0;
}

static int parse_items(const json_t *items, struct pc_flow *f, struct pc_err *err)
{
    struct pc_flow_index ix = {0};
    size_t n;
    int rc = 0;

    if (!json_is_array(items)) {
        return pc_err_set(err, PC_EINVAL, "items: expected an array of items");
    }
    n = json_array_size(items);
    if (n > PC_FLOW_ITEMS_MAX) {
        return pc_err_set(err, PC_ELIMIT, "items: %zu items, more than the limit of %d", n,
                          PC_FLOW_ITEMS_MAX);
    }
    if (n > 0) {
        f->items = calloc(n, sizeof(*f->items));
        if (f->items == NULL) {
            return pc_err_set(err, PC_ENOMEM, "items: out of memory");
        }
        f->n_items = n;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = parse_item(json_array_get(items, i), i, &f->items[i], err);
    }
    /* Identifiers and unique ids first, so that every dep resolves to the one item it names. */
    if (rc == 0) {
        rc = pc_flow_validate(f, err);
    }
    if (rc == 0) {
        rc = pc_flow_index_init(&ix, f);
        if (rc != 0) {
            rc = pc_err_set(err, rc, "items: out of memory");
        }
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = resolve_deps(json_array_get(items, i), i, &ix, &f->items[i], err);
    }
    pc_flow_index_cleanup(&ix);
    return rc;
}

static int parse_root(const json_t *root, struct pc_flow *f, struct pc_err *err)
{
    const json_t *items = NULL;
    int rc;

    if (!json_is_object(root)) {
        return pc_err_set(err, PC_EINVAL,
                          "expected a JSON object {\"app\", \"profile\", \"flow\", "
                          "\"items\"}");
    }
    rc = check_keys(root, root_keys, COUNT_OF(root_keys), "flow file", "", err);
    if (rc == 0) {
        rc = get_id(root, "app", "", "", &f->app, err);
    }
    if (rc == 0) {
        rc = get_id(root, "profile", "", "", &f->profile, err);
    }
    if (rc == 0) {
        rc = get_id(root, "flow", "", "", &f->flow, err);
    }
    if (rc != 0) {
        return rc;
    }
    items = json_object_get(root, "items");
    if (items == NULL) {
        return pc_err_set(err, PC_EINVAL, "missing \"items\"");
    }
    rc = parse_items(items, f, err);
    if (rc == 0) {
        rc = pc_flow_validate(f, err);
    }
    return rc;
}

int pc_flow_parse_json(const char *text, size_t len, const char *source, struct pc_flow *out,
                       struct pc_err *err)
{
    struct pc_flow f;
    json_error_t jerr;
    json_t *root = NULL;
    int rc;

    memset(&f, 0, sizeof(f));
    if (source == NULL) {
        source = "flow";
    }
    if (len > PC_FLOW_FILE_MAX) {
        return pc_err_set(err, PC_ELIMIT, "%s: %zu bytes, more than the limit of %u", source, len,
                          PC_FLOW_FILE_MAX);
    }
    if (text == NULL) {
        return pc_err_set(err, PC_EINVAL, "%s: no text", source);
    }
    memset(&jerr, 0, sizeof(jerr));
    root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* An allocation failure inside jansson is either json_error_out_of_memory
         * or, where load.c returns NULL without a message (lexer set-up, a
         * value or object member it cannot allocate), an empty record. */
        if (json_error_code(&jerr) == json_error_out_of_memory || jerr.text[0] == '\0') {
            return pc_err_set(err, PC_ENOMEM, "%s: out of memory parsing JSON", source);
        }
        return pc_err_set(err, PC_EINVAL, "%s:%d:%d: invalid JSON: %s", source, jerr.line,
                          jerr.column, jerr.text);
    }
    rc = parse_root(root, &f, err);
    json_decref(root);
    if (rc != 0) {
        pc_flow_cleanup(&f);
        pc_err_prefix(err, "%s", source);
        return rc;
    }
    *out = f;
    return 0;
}

int pc_state_from_json(struct pc_state *s, const char *text, size_t len)
{
    struct packer pk;
    json_t *v = json_loadb(text, len, JSON_DECODE_ANY, NULL);
    int rc;

    if (v == NULL) {
        return PC_EINVAL;
    }
    memset(&pk, 0, sizeof(pk));
    pc_buf_init(&pk.buf, PC_STATE_MAX);
    msgpack_packer_init(&pk.pk, &pk.buf, write_to_buf);
    rc = pack_json(&pk, v, 0);
    json_decref(v);
    if (rc == 0) {
        rc = pc_state_set(s, pk.buf.data, pk.buf.len);
    } else {
        rc = pk.too_deep ? PC_ELIMIT : (rc < 0 ? rc : PC_ENOMEM);
    }
    pc_buf_cleanup(&pk.buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

static int fail_errno(struct pc_err *err, int e, const char *path, const char *what)
{
    char text[128];

    if (strerror_r(e, text, sizeof(text)) != 0) {
        (void)snprintf(text, sizeof(text), "error %d", e);
    }
    return pc_err_set(err, -e, "%s: cannot %s: %s", path, what, text);
}

/*
 * Reads at most PC_FLOW_FILE_MAX bytes. The size is not taken from fstat,
 * so pipes and files that grow while read are bounded the same way.
 */
static int read_bounded(int fd, const char *path, struct pc_buf *text, struct pc_err *err)
{
    char chunk[16384];

    for (;;) {
        ssize_t got = read(fd, chunk, sizeof(chunk));
        int rc;

        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            return fail_errno(err, errno, path, "read");
        }
        if (got == 0) {
            return 0;
        }
        rc = pc_buf_append(text, chunk, (size_t)got);
        if (rc == PC_ELIMIT) {
            return pc_err_set(err, rc, "%s: larger than the limit of %u bytes", path,
                              PC_FLOW_FILE_MAX);
        }
        if (rc != 0) {
            return pc_err_set(err, rc, "%s: out of memory", path);
        }
    }
}

int pc_flow_load_file(const char *path, struct pc_flow *out, struct pc_err *err)
{
    struct pc_buf text;
    int fd;
    int rc;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return fail_errno(err, errno, path, "open");
    }
    pc_buf_init(&text, PC_FLOW_FILE_MAX);
    rc = read_bounded(fd, path, &text, err);
    (void)close(fd);
    if (rc == 0) {
        rc = pc_flow_parse_json(pc_buf_str(&text), text.len, path, out, err);
    }
    pc_buf_cleanup(&text);
    return rc;
}

static void *json_alloc_or_abort(size_t n)
{
    void *p = malloc(n);

    if (p == NULL) {
        static const char msg[] = "out of memory while handling JSON\n";

        (void)write(STDERR_FILENO, msg, sizeof(msg) - 1);
        abort();
    }
    return p;
}

void pc_json_abort_on_oom(void)
{
    json_set_alloc_funcs(json_alloc_or_abort, free);
}
