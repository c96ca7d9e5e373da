/*
 * sched_http.c - error codes, routing, bearer tokens and URL decoding.
 *
 * Design. Every route is one row of route_table, with its method and its
 * permission (sched_guard.c decides access from that row, never from the
 * path). The router splits the raw path on '/' and percent-decodes each
 * segment on its own, so an encoded slash ("%2F") stays inside its segment
 * and can never create a route. Every segment is decoded strictly (a bad
 * escape is a 400, never a guess) and identifiers are checked here, before
 * any key is built from them. Routing knows which methods each path takes,
 * so a wrong method is a 405, not a 404.
 *
 * The token check compares every byte of the configured token whatever the
 * client sent, so its time depends only on the token's length.
 */
#include "sched_http.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "peace/pct.h"

#define MAX_SEGMENTS 6

static const struct {
    const char *name;
    int status;
} codes[SCHED_CODE_COUNT] = {
    [SCHED_INVALID_JSON] = {"invalid_json", 400},
    [SCHED_BAD_REQUEST] = {"bad_request", 400},
    [SCHED_INVALID_FLOW] = {"invalid_flow", 400},
    [SCHED_UNKNOWN_ITEM_TYPE] = {"unknown_item_type", 400},
    [SCHED_BODY_TOO_LARGE] = {"body_too_large", 413},
    [SCHED_UNAUTHORIZED] = {"unauthorized", 401},
    [SCHED_FORBIDDEN] = {"forbidden", 403},
    [SCHED_HOST_NOT_ALLOWED] = {"host_not_allowed", 403},
    [SCHED_ORIGIN_NOT_ALLOWED] = {"origin_not_allowed", 403},
    [SCHED_UNSUPPORTED_MEDIA] = {"unsupported_media_type", 415},
    [SCHED_EXECUTION_NOT_FOUND] = {"execution_not_found", 404},
    [SCHED_NOT_FOUND] = {"not_found", 404},
    [SCHED_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [SCHED_REDIS_UNAVAILABLE] = {"redis_unavailable", 503},
    [SCHED_TOO_MANY_STREAMS] = {"too_many_streams", 503},
    [SCHED_DEAD_LETTER_NOT_FOUND] = {"dead_letter_not_found", 404},
    [SCHED_CANNOT_REQUEUE] = {"cannot_requeue", 409},
    [SCHED_INTERNAL] = {"internal", 500},
};

const char *sched_code_name(enum sched_code c)
{
    return (unsigned)c < SCHED_CODE_COUNT ? codes[c].name : "internal";
}

int sched_code_status(enum sched_code c)
{
    return (unsigned)c < SCHED_CODE_COUNT ? codes[c].status : 500;
}

int sched_fail_set(struct sched_fail *f, enum sched_code code, const char *fmt, ...)
{
    va_list ap;

    if (f == NULL) {
        return PC_EINVAL;
    }
    f->code = code;
    va_start(ap, fmt);
    (void)vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
    va_end(ap);
    for (char *p = f->msg; *p != '\0'; p++) {
        if (*p == '\r' || *p == '\n') {
            *p = ' ';
        }
    }
    return PC_EINVAL;
}

/* ------------------------------------------------------------------------ */
/* Decoding                                                                  */

/* True when the raw query key (p, n) decodes to name. */
static bool key_is(const char *p, size_t n, const char *name)
{
    char key[128];
    size_t len = 0;

    return pc_pct_decode(p, n, true, key, sizeof(key), &len) == 0 && len == strlen(name) &&
           memcmp(key, name, len) == 0;
}

int sched_query_get(const char *query, const char *name, char *out, size_t out_size, bool *found)
{
    const char *p = query;
    bool seen = false;

    *found = false;
    if (query == NULL) {
        return 0;
    }
    /* A malformed query is refused as a whole, whatever parameter is bad. */
    if (!pc_pct_valid(query, strlen(query))) {
        return PC_EINVAL;
    }
    for (;;) {
        const char *end = strchr(p, '&');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        size_t key_len = eq != NULL ? (size_t)(eq - p) : len;

        if (!seen && len > 0 && key_is(p, key_len, name)) {
            size_t value_len = 0;
            int rc = eq != NULL
                         ? pc_pct_decode(eq + 1, len - key_len - 1, true, out, out_size, &value_len)
                         : pc_pct_decode("", 0, true, out, out_size, &value_len);

            if (rc != 0) {
                return rc;
            }
            seen = true;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    *found = seen;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                    */

/* A decimal number of 1..20 digits that fits 64 bits; *end is past it. */
static bool u64_text(const char *s, const char **end)
{
    unsigned long long v;
    char *stop = NULL;
    size_t n = 0;

    while (s[n] >= '0' && s[n] <= '9') {
        n++;
    }
    if (n == 0 || n > 20) {
        return false;
    }
    errno = 0;
    v = strtoull(s, &stop, 10);
    (void)v;
    if (errno != 0 || stop != s + n) {
        return false;
    }
    *end = stop;
    return true;
}

bool sched_stream_id_valid(const char *s)
{
    const char *p = NULL;

    if (s == NULL || !u64_text(s, &p)) {
        return false;
    }
    if (*p == '\0') {
        return true;
    }
    if (*p != '-' || !u64_text(p + 1, &p)) {
        return false;
    }
    return *p == '\0';
}

int sched_parse_count(const char *s, unsigned long long min, unsigned long long max,
                      unsigned long long *out)
{
    const char *end = NULL;
    unsigned long long v;

    if (s == NULL || !u64_text(s, &end) || *end != '\0') {
        return PC_EINVAL;
    }
    v = strtoull(s, NULL, 10);
    if (v < min || v > max) {
        return PC_EINVAL;
    }
    *out = v;
    return 0;
}

bool sched_token_eq(const char *given, size_t given_len, const char *token, size_t token_len)
{
    unsigned diff = given_len != token_len;

    if (given == NULL || token == NULL || token_len == 0) {
        return false;
    }
    /* Constant time in the token: every byte of it is compared. */
    for (size_t i = 0; i < token_len; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;

        diff |= (unsigned)(g ^ (unsigned char)token[i]);
    }
    return diff == 0;
}

bool sched_auth_ok(const char *header, const char *token, size_t token_len)
{
    const char *p = header;
    size_t given_len;

    if (header == NULL || token == NULL || token_len == 0) {
        return false;
    }
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    if (strncasecmp(p, "Bearer", 6) != 0 || (p[6] != ' ' && p[6] != '\t')) {
        return false;
    }
    p += 6;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    given_len = strlen(p);
    while (given_len > 0 && (p[given_len - 1] == ' ' || p[given_len - 1] == '\t')) {
        given_len--;
    }
    return sched_token_eq(p, given_len, token, token_len);
}

/* A bounded log line being built: bytes past the end set cut. */
struct log_out {
    char *p;
    size_t size;
    size_t n;
    bool cut;
};

/* Appends (p, n), non-printable bytes as '?'. */
static void log_put(struct log_out *o, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (o->n + 1 >= o->size) {
            o->cut = true;
            return;
        }
        o->p[o->n++] = (char)(c > 0x20 && c < 0x7f ? c : '?');
    }
}

/* True when the raw key (p, n) may be shown: a short plain name, not a
 * token's, once decoded. */
static bool key_shown(const char *p, size_t n, bool *value_shown)
{
    char key[64];
    size_t len = 0;

    *value_shown = false;
    if (n == 0 || n > 32 ||
        strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") < n ||
        pc_pct_decode(p, n, true, key, sizeof(key), &len) != 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        key[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] + 32 : key[i]);
    }
    if (strstr(key, "token") != NULL) {
        return false;
    }
    *value_shown = strcmp(key, "limit") == 0 || strcmp(key, "last_event_id") == 0;
    return true;
}

void sched_log_target(const char *uri, char *out, size_t out_size)
{
    struct log_out o = {out, out_size, 0, false};
    const char *q;
    size_t path_len;

    if (out_size == 0) {
        return;
    }
    uri = uri != NULL ? uri : "";
    path_len = strcspn(uri, "?#");
    log_put(&o, uri, path_len);
    q = uri + path_len;
    /* The query: only the values of known harmless parameters are shown;
     * any other value, and any key that is not a plain name or names a
     * token (however it is encoded), is "***". */
    if (*q == '?') {
        q++;
        log_put(&o, "?", 1);
        for (;;) {
            size_t len = strcspn(q, "&#");
            const char *eq = memchr(q, '=', len);
            size_t key_len = eq != NULL ? (size_t)(eq - q) : len;
            bool value_shown = false;

            if (eq != NULL && key_shown(q, key_len, &value_shown)) {
                log_put(&o, q, key_len);
                log_put(&o, "=", 1);
                log_put(&o, value_shown ? eq + 1 : "***", value_shown ? len - key_len - 1 : 3);
            } else if (len > 0) {
                log_put(&o, "***", 3);
            }
            q += len;
            if (*q != '&') {
                break;
            }
            log_put(&o, "&", 1);
            q++;
        }
    }
    if (*q == '#') {
        log_put(&o, "#***", 4);
    }
    out[o.n] = '\0';
    if (o.cut && o.n >= 3) {
        memcpy(out + o.n - 3, "...", 3);
    }
}

void sched_request_path(const char *target, const char *parsed_path, char *out, size_t out_size)
{
    bool origin_form = target != NULL && target[0] == '/';
    const char *src = origin_form ? target : parsed_path;
    size_t n = src == NULL ? 0 : origin_form ? strcspn(src, "?#") : strlen(src);

    if (out_size == 0) {
        return;
    }
    n = n < out_size - 1 ? n : out_size - 1;
    if (n > 0) {
        memcpy(out, src, n);
    }
    out[n] = '\0';
}

/* ------------------------------------------------------------------------ */
/* Routing                                                                   */

struct segments {
    char text[MAX_SEGMENTS][SCHED_PATH_MAX + 1];
    size_t len[MAX_SEGMENTS];
    size_t n;
};

/* Splits "/a/b/c" into decoded segments; "/" has none. */
static int split_path(const char *path, struct segments *s, struct sched_fail *fail)
{
    const char *p = path;
    size_t total = strlen(path);

    s->n = 0;
    if (total == 0 || path[0] != '/') {
        return sched_fail_set(fail, SCHED_NOT_FOUND, "no such route");
    }
    if (total > SCHED_PATH_MAX) {
        return sched_fail_set(fail, SCHED_NOT_FOUND, "no such route (path too long)");
    }
    if (total == 1) {
        return 0;
    }
    p++;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);
        int rc;

        if (s->n == MAX_SEGMENTS || n == 0) {
            return sched_fail_set(fail, SCHED_NOT_FOUND, "no such route");
        }
        rc = pc_pct_decode(p, n, false, s->text[s->n], sizeof(s->text[s->n]), &s->len[s->n]);
        if (rc != 0) {
            return sched_fail_set(fail, SCHED_BAD_REQUEST, "the path has a bad percent-encoding");
        }
        s->n++;
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    return 0;
}

/*
 * The route table: every route, its method and its permission. A route
 * that is not here does not exist; a permission is never decided elsewhere.
 */
static const struct sched_route_def route_table[] = {
    {SCHED_METHOD_GET, "/", SCHED_ROUTE_PAGE, SCHED_PERM_PUBLIC, false},
    {SCHED_METHOD_GET, "/healthz", SCHED_ROUTE_HEALTHZ, SCHED_PERM_PUBLIC, false},
    {SCHED_METHOD_GET, "/metrics", SCHED_ROUTE_METRICS, SCHED_PERM_READ, false},
    {SCHED_METHOD_POST, "/v1/executions", SCHED_ROUTE_SUBMIT, SCHED_PERM_ADMIN, false},
    {SCHED_METHOD_GET, "/v1/executions", SCHED_ROUTE_LIST, SCHED_PERM_READ, false},
    {SCHED_METHOD_GET, "/v1/executions/{id}", SCHED_ROUTE_GET, SCHED_PERM_READ, false},
    {SCHED_METHOD_GET, "/v1/executions/{id}/events", SCHED_ROUTE_EVENTS, SCHED_PERM_READ, true},
    {SCHED_METHOD_POST, "/v1/executions/{id}/interrupt", SCHED_ROUTE_INTERRUPT,
     SCHED_PERM_INTERRUPT, false},
    {SCHED_METHOD_GET, "/v1/states/{app}/{profile}/{flow}", SCHED_ROUTE_STATES, SCHED_PERM_READ,
     false},
    /* The operations views and actions (docs/http-api.md): reading needs the
     * read scope; a retry or a rerun starts an execution, as a submission. */
    {SCHED_METHOD_GET, "/v1/workers", SCHED_ROUTE_WORKERS, SCHED_PERM_READ, false},
    {SCHED_METHOD_GET, "/v1/queues", SCHED_ROUTE_QUEUES, SCHED_PERM_READ, false},
    {SCHED_METHOD_GET, "/v1/dead", SCHED_ROUTE_DEAD, SCHED_PERM_READ, false},
    {SCHED_METHOD_POST, "/v1/dead/{id}/retry", SCHED_ROUTE_RETRY, SCHED_PERM_ADMIN, false},
    {SCHED_METHOD_POST, "/v1/executions/{id}/rerun", SCHED_ROUTE_RERUN, SCHED_PERM_ADMIN, false},
    {SCHED_METHOD_GET, "/openapi.json", SCHED_ROUTE_OPENAPI, SCHED_PERM_READ, false},
};

#define ROUTE_COUNT (sizeof(route_table) / sizeof(route_table[0]))

const struct sched_route_def *sched_routes(size_t *n)
{
    *n = ROUTE_COUNT;
    return route_table;
}

const char *sched_perm_name(enum sched_perm p)
{
    static const char *const names[] = {"public", "read", "interrupt", "admin"};

    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

/* True when the decoded segments s are the pattern's, placeholders
 * matching any segment. */
static bool pattern_matches(const char *pattern, const struct segments *s)
{
    const char *p = pattern + 1;
    size_t i = 0;

    if (pattern[1] == '\0') {
        return s->n == 0;
    }
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

        if (i == s->n) {
            return false;
        }
        if (!(p[0] == '{' && p[n - 1] == '}') &&
            (s->len[i] != n || memcmp(s->text[i], p, n) != 0)) {
            return false;
        }
        i++;
        if (slash == NULL) {
            return i == s->n;
        }
        p = slash + 1;
    }
}

static bool method_serves(const struct sched_route_def *d, enum sched_method m)
{
    return d->method == m ||
           (m == SCHED_METHOD_HEAD && d->method == SCHED_METHOD_GET && !d->no_head);
}

/* The methods of the rows matching the path, for a 405's message. */
static const char *allowed_text(bool get, bool head, bool post)
{
    return get && post    ? (head ? "GET, HEAD, POST" : "GET, POST")
           : post         ? "POST"
           : get && !head ? "GET"
                          : "GET, HEAD";
}

static int take_exec_id(const struct segments *s, size_t i, struct sched_route *r,
                        struct sched_fail *fail)
{
    if (!pc_exec_id_valid(s->text[i], s->len[i])) {
        return sched_fail_set(fail, SCHED_BAD_REQUEST,
                              "an execution id has 1..%d characters of [A-Za-z0-9-]",
                              SCHED_EXEC_ID_MAX);
    }
    memcpy(r->id, s->text[i], s->len[i] + 1);
    return 0;
}

static int take_ident(const struct segments *s, size_t i, const char *what, struct pc_id *out,
                      struct sched_fail *fail)
{
    if (!pc_ident_valid(s->text[i], s->len[i])) {
        return sched_fail_set(fail, SCHED_BAD_REQUEST,
                              "%s is not an identifier ([A-Za-z_][A-Za-z0-9_]*, at most %d bytes)",
                              what, PC_ID_MAX);
    }
    memcpy(out->s, s->text[i], s->len[i] + 1);
    return 0;
}

/* Checks and copies the placeholders of pattern from s into r. */
static int bind_params(const char *pattern, const struct segments *s, struct sched_route *r,
                       struct sched_fail *fail)
{
    const char *p = pattern + 1;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < s->n; i++) {
        const char *slash = strchr(p, '/');
        size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

        if (n == 4 && memcmp(p, "{id}", 4) == 0) {
            rc = take_exec_id(s, i, r, fail);
        } else if (n == 5 && memcmp(p, "{app}", 5) == 0) {
            rc = take_ident(s, i, "app", &r->app, fail);
        } else if (n == 9 && memcmp(p, "{profile}", 9) == 0) {
            rc = take_ident(s, i, "profile", &r->profile, fail);
        } else if (n == 6 && memcmp(p, "{flow}", 6) == 0) {
            rc = take_ident(s, i, "flow", &r->flow, fail);
        }
        if (slash == NULL) {
            break;
        }
        p = slash + 1;
    }
    return rc;
}

int sched_route_find(enum sched_method method, const char *path, struct sched_route *out,
                     enum sched_perm *perm, struct sched_fail *fail)
{
    struct segments *s = calloc(1, sizeof(*s));
    const struct sched_route_def *hit = NULL;
    enum sched_perm strictest = SCHED_PERM_PUBLIC;
    bool any = false;
    bool get = false;
    bool head = false;
    bool post = false;
    struct sched_route r;
    int rc;

    if (perm != NULL) {
        *perm = SCHED_PERM_ADMIN;
    }
    if (s == NULL) {
        return sched_fail_set(fail, SCHED_INTERNAL, "out of memory");
    }
    memset(&r, 0, sizeof(r));
    rc = split_path(path != NULL ? path : "", s, fail);
    for (size_t i = 0; rc == 0 && i < ROUTE_COUNT; i++) {
        const struct sched_route_def *d = &route_table[i];

        if (!pattern_matches(d->pattern, s)) {
            continue;
        }
        any = true;
        strictest = d->perm > strictest ? d->perm : strictest;
        get = get || d->method == SCHED_METHOD_GET;
        head = head || (d->method == SCHED_METHOD_GET && !d->no_head);
        post = post || d->method == SCHED_METHOD_POST;
        if (hit == NULL && method_serves(d, method)) {
            hit = d;
        }
    }
    if (rc == 0 && hit == NULL) {
        if (any && perm != NULL) {
            *perm = strictest;
        }
        rc = any ? sched_fail_set(fail, SCHED_METHOD_NOT_ALLOWED,
                                  "method not allowed here (allowed: %s)",
                                  allowed_text(get, head, post))
                 : sched_fail_set(fail, SCHED_NOT_FOUND, "no such route");
    }
    if (rc == 0) {
        if (perm != NULL) {
            *perm = hit->perm;
        }
        r.kind = hit->kind;
        r.perm = hit->perm;
        rc = bind_params(hit->pattern, s, &r, fail);
    }
    if (rc == 0) {
        *out = r;
    }
    free(s);
    return rc;
}

int sched_route_match(enum sched_method method, const char *path, struct sched_route *out,
                      struct sched_fail *fail)
{
    return sched_route_find(method, path, out, NULL, fail);
}

int sched_listen_parse(const char *text, char *host, size_t host_size, uint16_t *port,
                       struct pc_err *err)
{
    const char *colon = NULL;
    const char *h = text;
    size_t hn;
    unsigned long long p = 0;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');

        if (close == NULL || close[1] != ':') {
            return pc_err_set(err, PC_EINVAL, "--listen: expected [ADDRESS]:PORT");
        }
        h = text + 1;
        hn = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            return pc_err_set(err, PC_EINVAL, "--listen: expected HOST:PORT, got \"%.64s\"", text);
        }
        hn = (size_t)(colon - text);
        if (memchr(text, ':', hn) != NULL) {
            return pc_err_set(err, PC_EINVAL, "--listen: put an IPv6 address in brackets");
        }
    }
    if (sched_parse_count(colon + 1, 0, 65535, &p) != 0) {
        return pc_err_set(err, PC_EINVAL, "--listen: the port must be 0..65535");
    }
    if (hn == 0) {
        h = "0.0.0.0";
        hn = 7;
    }
    if (hn >= host_size) {
        return pc_err_set(err, PC_EINVAL, "--listen: the host name is too long");
    }
    for (size_t i = 0; i < hn; i++) {
        char c = h[i];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '.' || c == '-' || c == ':' || c == '_')) {
            return pc_err_set(err, PC_EINVAL, "--listen: bad character in the host");
        }
    }
    memcpy(host, h, hn);
    host[hn] = '\0';
    *port = (uint16_t)p;
    return 0;
}
