/*
 * sched_http.c - error codes, routing, bearer tokens and URL decoding.
 *
 * Design. The router splits the raw path on '/' and percent-decodes each
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
    [SCHED_EXECUTION_NOT_FOUND] = {"execution_not_found", 404},
    [SCHED_NOT_FOUND] = {"not_found", 404},
    [SCHED_METHOD_NOT_ALLOWED] = {"method_not_allowed", 405},
    [SCHED_REDIS_UNAVAILABLE] = {"redis_unavailable", 503},
    [SCHED_TOO_MANY_STREAMS] = {"too_many_streams", 503},
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

void sched_log_target(const char *uri, char *out, size_t out_size)
{
    static const char secret[] = "access_token=";
    const char *query = NULL;
    size_t n = 0;
    bool cut = false;

    if (out_size == 0) {
        return;
    }
    for (size_t i = 0; uri != NULL && uri[i] != '\0'; i++) {
        unsigned char c = (unsigned char)uri[i];

        if (n + 1 >= out_size) {
            cut = true;
            break;
        }
        if (c == '?' && query == NULL) {
            query = uri + i;
        }
        out[n++] = (char)(c > 0x20 && c < 0x7f ? c : '?');
        /* A token in the query never reaches the log. */
        if (query != NULL && (uri[i] == '?' || uri[i] == '&') &&
            strncmp(uri + i + 1, secret, sizeof(secret) - 1) == 0) {
            const char *v = uri + i + sizeof(secret);

            if (n + sizeof(secret) - 1 + 3 + 1 >= out_size) {
                cut = true;
                break;
            }
            memcpy(out + n, secret, sizeof(secret) - 1);
            n += sizeof(secret) - 1;
            memcpy(out + n, "***", 3);
            n += 3;
            i = (size_t)(v - uri);
            while (uri[i] != '\0' && uri[i] != '&') {
                i++;
            }
            i--; /* the loop's i++ lands on '&' or the end */
        }
    }
    out[n] = '\0';
    if (cut && n >= 3) {
        memcpy(out + n - 3, "...", 3);
    }
}

bool sched_path_needs_auth(const char *path)
{
    if (path == NULL) {
        return false;
    }
    return strcmp(path, "/v1") == 0 || strncmp(path, "/v1/", 4) == 0 ||
           strcmp(path, "/metrics") == 0 || strncmp(path, "/metrics/", 9) == 0;
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

static bool seg_is(const struct segments *s, size_t i, const char *word)
{
    return i < s->n && s->len[i] == strlen(word) && memcmp(s->text[i], word, s->len[i]) == 0;
}

/* Route found: the method decides. get_ok: GET (and HEAD unless no_head). */
static int method_check(enum sched_method m, bool get_ok, bool post_ok, bool no_head,
                        struct sched_fail *fail)
{
    if ((m == SCHED_METHOD_GET && get_ok) || (m == SCHED_METHOD_HEAD && get_ok && !no_head) ||
        (m == SCHED_METHOD_POST && post_ok)) {
        return 0;
    }
    return sched_fail_set(fail, SCHED_METHOD_NOT_ALLOWED, "method not allowed here (allowed: %s)",
                          get_ok && post_ok ? "GET, POST"
                          : post_ok         ? "POST"
                          : no_head         ? "GET"
                                            : "GET, HEAD");
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

int sched_route_match(enum sched_method method, const char *path, struct sched_route *out,
                      struct sched_fail *fail)
{
    struct segments *s = calloc(1, sizeof(*s));
    struct sched_route r;
    int rc;

    if (s == NULL) {
        return sched_fail_set(fail, SCHED_INTERNAL, "out of memory");
    }
    memset(&r, 0, sizeof(r));
    rc = split_path(path != NULL ? path : "", s, fail);
    if (rc != 0) {
        goto out;
    }
    if (s->n == 0) {
        r.kind = SCHED_ROUTE_PAGE;
        rc = method_check(method, true, false, false, fail);
    } else if (s->n == 1 && seg_is(s, 0, "healthz")) {
        r.kind = SCHED_ROUTE_HEALTHZ;
        rc = method_check(method, true, false, false, fail);
    } else if (s->n == 1 && seg_is(s, 0, "metrics")) {
        r.kind = SCHED_ROUTE_METRICS;
        rc = method_check(method, true, false, false, fail);
    } else if (s->n >= 2 && seg_is(s, 0, "v1") && seg_is(s, 1, "executions")) {
        if (s->n == 2) {
            r.kind = method == SCHED_METHOD_POST ? SCHED_ROUTE_SUBMIT : SCHED_ROUTE_LIST;
            rc = method_check(method, true, true, false, fail);
        } else if (s->n == 3) {
            r.kind = SCHED_ROUTE_GET;
            rc = method_check(method, true, false, false, fail);
            rc = rc == 0 ? take_exec_id(s, 2, &r, fail) : rc;
        } else if (s->n == 4 && seg_is(s, 3, "events")) {
            r.kind = SCHED_ROUTE_EVENTS;
            rc = method_check(method, true, false, true, fail);
            rc = rc == 0 ? take_exec_id(s, 2, &r, fail) : rc;
        } else if (s->n == 4 && seg_is(s, 3, "interrupt")) {
            r.kind = SCHED_ROUTE_INTERRUPT;
            rc = method_check(method, false, true, false, fail);
            rc = rc == 0 ? take_exec_id(s, 2, &r, fail) : rc;
        } else {
            rc = sched_fail_set(fail, SCHED_NOT_FOUND, "no such route");
        }
    } else if (s->n == 5 && seg_is(s, 0, "v1") && seg_is(s, 1, "states")) {
        r.kind = SCHED_ROUTE_STATES;
        rc = method_check(method, true, false, false, fail);
        rc = rc == 0 ? take_ident(s, 2, "app", &r.app, fail) : rc;
        rc = rc == 0 ? take_ident(s, 3, "profile", &r.profile, fail) : rc;
        rc = rc == 0 ? take_ident(s, 4, "flow", &r.flow, fail) : rc;
    } else {
        rc = sched_fail_set(fail, SCHED_NOT_FOUND, "no such route");
    }
    if (rc == 0) {
        *out = r;
    }
out:
    free(s);
    return rc;
}
