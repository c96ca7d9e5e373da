/*
 * http_download.c - the `http_download` item type: a file fetched over
 * plain HTTP.
 *
 * params  {url: "http://host[:port]/path[?query]", path: str,
 *          timeout_ms?: 1..86400000 (default 600000, the whole request),
 *          max_bytes?: 1..2^40 (default 1 GiB, the largest body accepted)}
 * state   {exists: bool, size: uint | nil, etag: str | nil}
 *         size nil: unknown (a goal without Content-Length); etag nil: unknown.
 * clean   {exists: false, size: 0, etag: nil}
 * diff    {change: "none"|"download"|"delete"}
 *
 * Current: the file's existence and size; the ETag cannot be read from a
 * file, so it is carried over from the item's stored current state when the
 * size still matches. Goal: a HEAD request (a GET aborted after the headers
 * when the server refuses HEAD) giving Content-Length and ETag. A present
 * file is in sync only when both ETags are known and equal (and the sizes
 * agree): without ETags nothing proves the content is the same, so it is
 * downloaded again. Apply streams the body into a temporary file next to
 * path and renames it over (never a partial file at path), one progress
 * increment per chunk in bytes; it sends If-None-Match with the current ETag
 * and keeps the file on 304. Clean removes the file.
 *
 * https is rejected when params are read: there is no TLS here, and a
 * silent downgrade to http would be worse than an error. Redirects are not
 * followed (the error names the Location); non-2xx is an error with status.
 *
 * libevent: each request makes its own event_base on the calling executor
 * thread and runs it until the request is over, so the item blocks only its
 * executor thread, never the caller's loop, and nothing is shared between
 * items. A timer bounds the whole request; the connection's own timeout
 * bounds connecting and each idle read/write. All callbacks only record
 * into struct http_xfer and break the loop; the connection is freed after
 * the loop returns, outside every libevent callback.
 *
 * Cancel token (item.h): a cancel or kill aborts the request at once (an
 * event on the token's fd in the private base); the call fails with
 * PC_ECANCELED and the temporary file is removed, so no partial file stays.
 */
#include "peace/items.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "items_internal.h"
#include "peace/params.h"

#define HTTP_URL_MAX            8192
#define HTTP_TIMEOUT_MS_DEFAULT 600000u
#define HTTP_TIMEOUT_MS_MAX     86400000u
#define HTTP_IDLE_TIMEOUT_MS    30000u
#define HTTP_MAX_BYTES_DEFAULT  (1ull << 30)
#define HTTP_MAX_BYTES_MAX      (1ull << 40)
#define HTTP_HEADERS_MAX        ((ev_ssize_t)64 * 1024)
#define HTTP_ETAG_MAX           512
#define HTTP_CHUNK              16384

struct http_params {
    char *url;
    char *host;        /* for connecting (IPv6 without brackets) */
    char *host_header; /* for the Host header */
    char *target;      /* path and query, e.g. "/a/b?x=1" */
    uint16_t port;
    char *path;
    uint64_t timeout_ms;
    uint64_t max_bytes;
};

/* A decoded state; etag points into the reader (borrowed). */
struct http_state {
    bool exists;
    bool size_known;
    uint64_t size;
    const char *etag; /* NULL = unknown */
    size_t etag_len;
};

/* ------------------------------------------------------------------------ */
/* Params                                                                    */

static void http_params_destroy(void *p)
{
    struct http_params *hp = p;

    if (hp == NULL) {
        return;
    }
    free(hp->url);
    free(hp->host);
    free(hp->host_header);
    free(hp->target);
    free(hp->path);
    free(hp);
}

static char *dup_printf(size_t cap, const char *fmt, ...) PC_PRINTF(2, 3);

static char *dup_printf(size_t cap, const char *fmt, ...)
{
    char *s = malloc(cap);
    va_list ap;
    int n = 0;

    if (s == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    n = vsnprintf(s, cap, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= cap) {
        free(s);
        return NULL;
    }
    return s;
}

/* Splits the URL into what a request needs. */
static int parse_url(struct http_params *hp, struct pc_err *err)
{
    struct evhttp_uri *uri = NULL;
    const char *host = NULL;
    const char *path = NULL;
    const char *query = NULL;
    size_t cap = strlen(hp->url) + 16;
    int port = 0;
    bool v6 = false;
    int rc = 0;

    if (strncasecmp(hp->url, "https://", 8) == 0) {
        return pc_err_set(err, PC_EINVAL, "params.url: https is not supported (only http:// URLs)");
    }
    if (strncasecmp(hp->url, "http://", 7) != 0) {
        return pc_err_set(err, PC_EINVAL, "params.url: expected an http:// URL");
    }
    uri = evhttp_uri_parse(hp->url);
    if (uri == NULL) {
        return pc_err_set(err, PC_EINVAL, "params.url: not a valid URL");
    }
    host = evhttp_uri_get_host(uri);
    port = evhttp_uri_get_port(uri);
    path = evhttp_uri_get_path(uri);
    query = evhttp_uri_get_query(uri);
    if (host == NULL || host[0] == '\0') {
        rc = pc_err_set(err, PC_EINVAL, "params.url: no host");
        goto out;
    }
    if (port == 0 || port > 65535) {
        rc = pc_err_set(err, PC_EINVAL, "params.url: port out of range");
        goto out;
    }
    hp->port = port < 0 ? 80 : (uint16_t)port;
    hp->host = dup_printf(cap, "%s", host);
    /* An IPv6 literal needs its brackets back in the Host header. */
    v6 = strchr(host, ':') != NULL;
    if (port > 0) {
        hp->host_header = dup_printf(cap, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    } else {
        hp->host_header = dup_printf(cap, "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
    }
    hp->target = dup_printf(cap, "%s%s%s", path != NULL && path[0] != '\0' ? path : "/",
                            query != NULL ? "?" : "", query != NULL ? query : "");
    if (hp->host == NULL || hp->host_header == NULL || hp->target == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "params.url: out of memory");
    }
out:
    evhttp_uri_free(uri);
    return rc;
}

/* Reads an optional bounded integer param (kept at its default when absent). */
static int bounded_u64(const msgpack_object *params, const char *key, uint64_t max, uint64_t *out,
                       struct pc_err *err)
{
    uint64_t v = *out;
    int rc = pc_params_u64(params, key, false, &v, err);

    if (rc < 0) {
        return rc;
    }
    if (v < 1 || v > max) {
        return pc_err_set(err, PC_EINVAL, "params.%s: must be between 1 and %llu", key,
                          (unsigned long long)max);
    }
    *out = v;
    return 0;
}

static int http_params_create(const msgpack_object *params, void **out, struct pc_err *err)
{
    struct http_params *hp = calloc(1, sizeof(*hp));
    int rc = 0;

    if (hp == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    hp->timeout_ms = HTTP_TIMEOUT_MS_DEFAULT;
    hp->max_bytes = HTTP_MAX_BYTES_DEFAULT;
    rc = pc_params_strdup(params, "url", true, HTTP_URL_MAX, &hp->url, err);
    if (rc == 0) {
        rc = parse_url(hp, err);
    }
    if (rc == 0) {
        rc = pc_params_strdup(params, "path", true, PC_ITEMS_PATH_MAX, &hp->path, err);
    }
    if (rc == 0 && (hp->path[0] == '\0' || hp->path[strlen(hp->path) - 1] == '/')) {
        rc = pc_err_set(err, PC_EINVAL,
                        "params.path: expected a file path (not empty, no trailing /)");
    }
    if (rc == 0) {
        rc = bounded_u64(params, "timeout_ms", HTTP_TIMEOUT_MS_MAX, &hp->timeout_ms, err);
    }
    if (rc == 0) {
        rc = bounded_u64(params, "max_bytes", HTTP_MAX_BYTES_MAX, &hp->max_bytes, err);
    }
    if (rc < 0) {
        http_params_destroy(hp);
        return rc;
    }
    *out = hp;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* States                                                                    */

static int http_state_pack(bool exists, bool size_known, uint64_t size, const char *etag,
                           size_t etag_len, struct pc_state *out, struct pc_err *err)
{
    struct pc__mpw w;

    pc__mpw_init(&w);
    pc__mpw_map(&w, 3);
    pc__mpw_cstr(&w, "exists");
    pc__mpw_bool(&w, exists);
    pc__mpw_cstr(&w, "size");
    if (size_known) {
        pc__mpw_u64(&w, size);
    } else {
        pc__mpw_nil(&w);
    }
    pc__mpw_cstr(&w, "etag");
    if (etag != NULL) {
        pc__mpw_str(&w, etag, etag_len);
    } else {
        pc__mpw_nil(&w);
    }
    return pc__mpw_finish(&w, out, err);
}

/* Decodes s into out (borrowing from r, which the caller closes on success). */
static int http_state_decode(struct pc__mpr *r, const struct pc_state *s, const char *what,
                             struct http_state *out, struct pc_err *err)
{
    const msgpack_object *size = NULL;
    struct http_state hs = {0};
    int rc = pc__mpr_open(r, s, what, err);

    if (rc < 0) {
        return rc;
    }
    rc = pc__mpr_bool(r, "exists", &hs.exists, err);
    if (rc == 0) {
        size = pc_msgpack_map_get(r->map, "size");
        hs.size_known = size != NULL && size->type == MSGPACK_OBJECT_POSITIVE_INTEGER;
        hs.size = hs.size_known ? size->via.u64 : 0;
        if (size == NULL || (!hs.size_known && size->type != MSGPACK_OBJECT_NIL)) {
            rc = pc_err_set(err, PC_ESCHEMA, "%s.size: expected a non-negative integer or nil",
                            what);
        }
    }
    if (rc == 0) {
        rc = pc__mpr_str(r, "etag", true, &hs.etag, &hs.etag_len, err);
    }
    if (rc < 0) {
        pc__mpr_close(r);
        return rc;
    }
    *out = hs;
    return 0;
}

static int http_state_current(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                              struct pc_err *err)
{
    const struct http_params *hp = params;
    struct pc__mpr r;
    struct http_state stored;
    struct stat st;
    struct pc__where wh;
    int rc = pc__where_open(ctx != NULL ? ctx->file_root : NULL, hp->path, false, &wh, err);

    if (rc < 0) {
        return rc;
    }
    rc = wh.absent ? -ENOENT : lstat(wh.path, &st) != 0 ? -errno : 0;
    pc__where_close(&wh);
    if (rc != 0) {
        if (rc == -ENOENT || rc == -ENOTDIR) {
            return http_state_pack(false, true, 0, NULL, 0, out, err);
        }
        return pc__err_sys(err, rc, "cannot stat %s", hp->path);
    }
    if (!S_ISREG(st.st_mode)) {
        return pc_err_set(err, PC_EINVAL, "%s exists and is not a regular file", hp->path);
    }
    /* The ETag of the bytes on disk is only known from the last apply; trust
     * it while the size still matches. A stored state that does not decode
     * just means no ETag. */
    if (ctx != NULL && ctx->stored_current != NULL &&
        http_state_decode(&r, ctx->stored_current, "stored current state", &stored, NULL) == 0) {
        bool carry = stored.exists && stored.size_known && stored.size == (uint64_t)st.st_size &&
                     stored.etag != NULL;

        rc = http_state_pack(true, true, (uint64_t)st.st_size, carry ? stored.etag : NULL,
                             carry ? stored.etag_len : 0, out, err);
        pc__mpr_close(&r);
        return rc;
    }
    return http_state_pack(true, true, (uint64_t)st.st_size, NULL, 0, out, err);
}

static int http_state_clean(const void *params, struct pc_state *out, struct pc_err *err)
{
    (void)params;
    return http_state_pack(false, true, 0, NULL, 0, out, err);
}

enum http_change { HTTP_NONE, HTTP_DOWNLOAD, HTTP_DELETE };

static enum http_change http_compare(const struct http_state *cur, const struct http_state *tgt)
{
    if (!tgt->exists) {
        return cur->exists ? HTTP_DELETE : HTTP_NONE;
    }
    if (!cur->exists || cur->etag == NULL || tgt->etag == NULL ||
        !pc__bytes_eq_opt(cur->etag, cur->etag_len, tgt->etag, tgt->etag_len)) {
        return HTTP_DOWNLOAD;
    }
    if (tgt->size_known && (!cur->size_known || cur->size != tgt->size)) {
        return HTTP_DOWNLOAD;
    }
    return HTTP_NONE;
}

/* Decodes both states and compares them. */
static int http_compare_states(const struct pc_state *a, const char *a_what,
                               const struct pc_state *b, const char *b_what,
                               enum http_change *change, struct http_state *b_out,
                               struct pc_err *err)
{
    struct pc__mpr ra;
    struct pc__mpr rb;
    struct http_state sa;
    struct http_state sb;
    int rc = http_state_decode(&ra, a, a_what, &sa, err);

    if (rc < 0) {
        return rc;
    }
    rc = http_state_decode(&rb, b, b_what, &sb, err);
    if (rc < 0) {
        pc__mpr_close(&ra);
        return rc;
    }
    *change = http_compare(&sa, &sb);
    if (b_out != NULL) {
        /* Only the scalar fields survive the close below. */
        *b_out = sb;
        b_out->etag = NULL;
        b_out->etag_len = 0;
    }
    pc__mpr_close(&ra);
    pc__mpr_close(&rb);
    return 0;
}

static int http_state_diff(const void *params, const struct pc_state *a, const struct pc_state *b,
                           struct pc_state *out, struct pc_err *err)
{
    static const char *const names[] = {"none", "download", "delete"};
    enum http_change change = HTTP_NONE;
    struct pc__mpw w;
    int rc = http_compare_states(a, "state a", b, "state b", &change, NULL, err);

    (void)params;
    if (rc < 0) {
        return rc;
    }
    pc__mpw_init(&w);
    pc__mpw_map(&w, 1);
    pc__mpw_cstr(&w, "change");
    pc__mpw_cstr(&w, names[change]);
    return pc__mpw_finish(&w, out, err);
}

static int http_apply_check(const void *params, const struct pc_state *current,
                            const struct pc_state *target, const struct pc_state *diff,
                            struct pc_apply_check *out, struct pc_err *err)
{
    enum http_change change = HTTP_NONE;
    struct http_state tgt;
    int rc =
        http_compare_states(current, "current state", target, "target state", &change, &tgt, err);

    (void)params;
    (void)diff;
    if (rc < 0) {
        return rc;
    }
    out->exec_required = change != HTTP_NONE;
    out->limit.kind = PC_LIMIT_STEPS;
    out->limit.n = change == HTTP_NONE ? 0 : 1;
    if (change == HTTP_DOWNLOAD) {
        out->limit.kind = tgt.size_known && tgt.size > 0 ? PC_LIMIT_BYTES : PC_LIMIT_UNKNOWN;
        out->limit.n = tgt.size_known ? tgt.size : 0;
    }
    return 0;
}

static bool http_state_eq(const void *params, const struct pc_state *a, const struct pc_state *b)
{
    struct pc__mpr ra;
    struct pc__mpr rb;
    struct http_state sa;
    struct http_state sb;
    bool eq = false;

    (void)params;
    if (!pc_state_present(a) || !pc_state_present(b)) {
        return pc_state_bytes_eq(a, b);
    }
    if (http_state_decode(&ra, a, "a", &sa, NULL) < 0) {
        return pc_state_bytes_eq(a, b);
    }
    if (http_state_decode(&rb, b, "b", &sb, NULL) < 0) {
        pc__mpr_close(&ra);
        return pc_state_bytes_eq(a, b);
    }
    eq = sa.exists == sb.exists && sa.size_known == sb.size_known && sa.size == sb.size &&
         pc__bytes_eq_opt(sa.etag, sa.etag_len, sb.etag, sb.etag_len);
    pc__mpr_close(&ra);
    pc__mpr_close(&rb);
    return eq;
}

/* ------------------------------------------------------------------------ */
/* One HTTP request on a private event_base                                  */

enum http_mode {
    HTTP_MODE_HEAD,        /* headers of a HEAD */
    HTTP_MODE_GET_HEADERS, /* headers of a GET, body abandoned */
    HTTP_MODE_GET_BODY,    /* a GET whose body goes to fd */
};

struct http_xfer {
    /* inputs */
    const struct http_params *hp;
    struct pc_item_ctx *ctx;
    enum http_mode mode;
    int fd;                    /* HTTP_MODE_GET_BODY: the body's sink */
    const char *if_none_match; /* may be NULL */
    struct event_base *base;
    struct pc_err *err;
    /* outcome */
    bool done;
    int rc;
    int status;
    bool length_known;
    uint64_t length;
    bool etag_known;
    char etag[HTTP_ETAG_MAX + 1];
    uint64_t received;
    bool have_req_error;
    enum evhttp_request_error req_error;
};

/* Ends the request: records the first outcome and stops the loop. */
static void xfer_finish(struct http_xfer *x, int rc)
{
    if (x->done) {
        return;
    }
    x->done = true;
    x->rc = rc;
    event_base_loopbreak(x->base);
}

static const char *method_name(const struct http_xfer *x)
{
    return x->mode == HTTP_MODE_HEAD ? "HEAD" : "GET";
}

/* Parses Content-Length: digits only, within max_bytes. */
static int parse_length(struct http_xfer *x, const char *v)
{
    char *end = NULL;
    unsigned long long n = 0;

    if (v == NULL) {
        return 0;
    }
    errno = 0;
    n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0) {
        return pc_err_set(x->err, PC_EITEM, "%s %s: invalid Content-Length", method_name(x),
                          x->hp->url);
    }
    if (n > x->hp->max_bytes) {
        return pc_err_set(x->err, PC_ELIMIT, "%s %s: body of %llu bytes exceeds max_bytes (%llu)",
                          method_name(x), x->hp->url, n, (unsigned long long)x->hp->max_bytes);
    }
    x->length_known = true;
    x->length = n;
    return 0;
}

/* Judges the status line; returns 0 to go on, negative when finished. */
static int judge_status(struct http_xfer *x, struct evhttp_request *req)
{
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    int status = x->status;

    if (status == 304 && x->if_none_match != NULL) {
        return 0;
    }
    if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
        const char *location = evhttp_find_header(headers, "Location");

        return pc_err_set(
            x->err, PC_EITEM, "%s %s: status %d redirects to %.160s (redirects are not followed)",
            method_name(x), x->hp->url, status, location != NULL ? location : "(no Location)");
    }
    if (status < 200 || status >= 300) {
        const char *line = evhttp_request_get_response_code_line(req);

        return pc_err_set(x->err, PC_EITEM, "%s %s: status %d %.60s", method_name(x), x->hp->url,
                          status, line != NULL ? line : "");
    }
    return 0;
}

static int on_headers(struct evhttp_request *req, void *arg)
{
    struct http_xfer *x = arg;
    struct evkeyvalq *headers = evhttp_request_get_input_headers(req);
    const char *etag = evhttp_find_header(headers, "ETag");
    int rc = 0;

    x->status = evhttp_request_get_response_code(req);
    rc = judge_status(x, req);
    if (rc == 0) {
        rc = parse_length(x, evhttp_find_header(headers, "Content-Length"));
    }
    /* An ETag too long to keep is treated as absent: only an optimisation is lost. */
    if (rc == 0 && etag != NULL && strlen(etag) <= HTTP_ETAG_MAX) {
        memcpy(x->etag, etag, strlen(etag) + 1);
        x->etag_known = true;
    }
    if (rc < 0) {
        xfer_finish(x, rc);
        return -1;
    }
    if (x->mode == HTTP_MODE_GET_HEADERS) {
        /* The headers were all that was wanted: drop the connection. */
        xfer_finish(x, 0);
        return -1;
    }
    return 0;
}

static void on_chunk(struct evhttp_request *req, void *arg)
{
    struct http_xfer *x = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    char buf[HTTP_CHUNK];

    /* After a failure the rest of the body is ignored (libevent drains it)
     * until the loop stops and the connection is freed. */
    while (!x->done && evbuffer_get_length(in) > 0) {
        int n = evbuffer_remove(in, buf, sizeof(buf));
        int rc = 0;

        if (n <= 0) {
            xfer_finish(
                x, pc_err_set(x->err, PC_EIO, "GET %s: cannot read the body buffer", x->hp->url));
            return;
        }
        if ((uint64_t)n > x->hp->max_bytes - x->received) {
            xfer_finish(x, pc_err_set(x->err, PC_ELIMIT, "GET %s: body exceeds max_bytes (%llu)",
                                      x->hp->url, (unsigned long long)x->hp->max_bytes));
            return;
        }
        rc = pc__write_all(x->fd, buf, (size_t)n);
        if (rc < 0) {
            xfer_finish(x, pc__err_sys(x->err, rc, "GET %s: cannot write the body", x->hp->url));
            return;
        }
        x->received += (uint64_t)n;
        pc_item_progress_inc(x->ctx, (uint64_t)n, NULL);
    }
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    struct http_xfer *x = arg;

    if (!x->have_req_error) {
        x->have_req_error = true;
        x->req_error = e;
    }
}

static const char *req_error_text(enum evhttp_request_error e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "timed out waiting for the server";
    case EVREQ_HTTP_EOF:
        return "connection closed early";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid response headers";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "read or write error";
    case EVREQ_HTTP_REQUEST_CANCEL:
        return "request cancelled";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "response too large";
    }
    return "request failed";
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct http_xfer *x = arg;

    if (x->done) {
        return;
    }
    if (x->have_req_error && x->req_error == EVREQ_HTTP_DATA_TOO_LONG) {
        /* libevent's own body limit (set to max_bytes) fired before ours. */
        xfer_finish(x,
                    pc_err_set(x->err, PC_ELIMIT, "%s %s: body exceeds max_bytes (%llu)",
                               method_name(x), x->hp->url, (unsigned long long)x->hp->max_bytes));
        return;
    }
    if (req == NULL || evhttp_request_get_response_code(req) == 0) {
        /* No response at all: libevent reports connection failures as a
         * completed request without a status. */
        const char *why = x->have_req_error ? req_error_text(x->req_error) : "cannot connect";

        xfer_finish(x, pc_err_set(x->err, PC_EIO, "%s %s: %s", method_name(x), x->hp->url, why));
        return;
    }
    if (x->mode == HTTP_MODE_GET_BODY && x->status != 304 && x->length_known &&
        x->received != x->length) {
        xfer_finish(x, pc_err_set(x->err, PC_EIO, "GET %s: body truncated (%llu of %llu bytes)",
                                  x->hp->url, (unsigned long long)x->received,
                                  (unsigned long long)x->length));
        return;
    }
    xfer_finish(x, 0);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct http_xfer *x = arg;

    (void)fd;
    (void)what;
    xfer_finish(x, pc_err_set(x->err, PC_EIO, "%s %s: timed out after %llu ms", method_name(x),
                              x->hp->url, (unsigned long long)x->hp->timeout_ms));
}

static struct timeval ms_to_tv(uint64_t ms)
{
    struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};

    return tv;
}

/* Builds the request (headers and callbacks); NULL when out of memory. */
static struct evhttp_request *make_request(struct http_xfer *x)
{
    struct evhttp_request *req = evhttp_request_new(on_done, x);
    struct evkeyvalq *out = NULL;
    int rc = 0;

    if (req == NULL) {
        return NULL;
    }
    evhttp_request_set_header_cb(req, on_headers);
    evhttp_request_set_error_cb(req, on_error);
    if (x->mode == HTTP_MODE_GET_BODY) {
        evhttp_request_set_chunked_cb(req, on_chunk);
    }
    out = evhttp_request_get_output_headers(req);
    rc |= evhttp_add_header(out, "Host", x->hp->host_header);
    rc |= evhttp_add_header(out, "Connection", "close");
    rc |= evhttp_add_header(out, "User-Agent", "peace-fleet");
    if (x->if_none_match != NULL) {
        rc |= evhttp_add_header(out, "If-None-Match", x->if_none_match);
    }
    if (rc != 0) {
        evhttp_request_free(req);
        return NULL;
    }
    return req;
}

/* The item's cancel token rose: abort the transfer (the caller removes the
 * temporary file, so no partial file stays). */
static void on_cancel(evutil_socket_t fd, short what, void *arg)
{
    struct http_xfer *x = arg;

    (void)fd;
    (void)what;
    if (!pc_item_cancelled(x->ctx)) {
        return;
    }
    xfer_finish(x, pc_err_set(x->err, PC_ECANCELED, "%s %s: cancelled after %llu bytes",
                              method_name(x), x->hp->url, (unsigned long long)x->received));
}

/* Watches the cancel token: its fd, or without one a 20 ms timer. */
static struct event *watch_cancel(struct http_xfer *x)
{
    int cfd = pc_item_cancel_fd(x->ctx);
    struct timeval every = {.tv_sec = 0, .tv_usec = 20000};
    struct event *ev = NULL;

    if (x->ctx == NULL || x->ctx->cancel == NULL) {
        return NULL;
    }
    ev = event_new(x->base, cfd >= 0 ? cfd : -1, cfd >= 0 ? EV_READ | EV_PERSIST : EV_PERSIST,
                   on_cancel, x);
    if (ev != NULL && event_add(ev, cfd >= 0 ? NULL : &every) != 0) {
        event_free(ev);
        ev = NULL;
    }
    return ev;
}

/* Runs one request to completion on a private event_base. */
static int http_run(struct http_xfer *x)
{
    struct evhttp_connection *evcon = NULL;
    struct evhttp_request *req = NULL;
    struct event *timer = NULL;
    struct event *cancel = NULL;
    struct timeval overall = ms_to_tv(x->hp->timeout_ms);
    struct timeval idle = ms_to_tv(x->hp->timeout_ms < HTTP_IDLE_TIMEOUT_MS ? x->hp->timeout_ms
                                                                            : HTTP_IDLE_TIMEOUT_MS);
    int rc = 0;

    x->base = event_base_new();
    if (x->base == NULL) {
        return pc_err_set(x->err, PC_ENOMEM, "cannot create an event base");
    }
    evcon = evhttp_connection_base_new(x->base, NULL, x->hp->host, x->hp->port);
    timer = evtimer_new(x->base, on_timeout, x);
    if (evcon == NULL || timer == NULL || evtimer_add(timer, &overall) != 0) {
        rc = pc_err_set(x->err, PC_ENOMEM, "cannot set up a connection to %s", x->hp->host_header);
        goto out;
    }
    if (pc_item_cancelled(x->ctx)) {
        rc = pc_err_set(x->err, PC_ECANCELED, "%s %s: cancelled before it started", method_name(x),
                        x->hp->url);
        goto out;
    }
    cancel = watch_cancel(x);
    evhttp_connection_set_timeout_tv(evcon, &idle);
    evhttp_connection_set_retries(evcon, 0);
    evhttp_connection_set_max_headers_size(evcon, HTTP_HEADERS_MAX);
    evhttp_connection_set_max_body_size(evcon, (ev_ssize_t)x->hp->max_bytes);
    req = make_request(x);
    if (req == NULL) {
        rc = pc_err_set(x->err, PC_ENOMEM, "cannot build the request");
        goto out;
    }
    /* On failure libevent has already freed req. */
    if (evhttp_make_request(evcon, req,
                            x->mode == HTTP_MODE_HEAD ? EVHTTP_REQ_HEAD : EVHTTP_REQ_GET,
                            x->hp->target) != 0) {
        rc = pc_err_set(x->err, PC_EIO, "%s %s: cannot start the request", method_name(x),
                        x->hp->url);
        goto out;
    }
    while (!x->done) {
        if (event_base_loop(x->base, EVLOOP_ONCE) != 0 && !x->done) {
            xfer_finish(x, pc_err_set(x->err, PC_EINTERNAL, "%s %s: event loop ended early",
                                      method_name(x), x->hp->url));
        }
    }
    rc = x->rc;
out:
    /* Frees a request still in flight (after a failure) without callbacks. */
    if (evcon != NULL) {
        evhttp_connection_free(evcon);
    }
    if (timer != NULL) {
        event_free(timer);
    }
    if (cancel != NULL) {
        event_free(cancel);
    }
    event_base_free(x->base);
    x->base = NULL;
    return rc;
}

static void xfer_init(struct http_xfer *x, const struct http_params *hp, struct pc_item_ctx *ctx,
                      enum http_mode mode, struct pc_err *err)
{
    memset(x, 0, sizeof(*x));
    x->hp = hp;
    x->ctx = ctx;
    x->mode = mode;
    x->fd = -1;
    x->err = err;
}

/* ------------------------------------------------------------------------ */
/* Goal, apply                                                               */

static int http_state_goal(struct pc_item_ctx *ctx, const void *params, struct pc_state *out,
                           struct pc_err *err)
{
    const struct http_params *hp = params;
    struct http_xfer x;
    int rc = 0;

    xfer_init(&x, hp, ctx, HTTP_MODE_HEAD, err);
    rc = http_run(&x);
    if (rc < 0 && (x.status == 405 || x.status == 501)) {
        /* The server refuses HEAD: read the headers of a GET instead. */
        pc_err_clear(err);
        xfer_init(&x, hp, ctx, HTTP_MODE_GET_HEADERS, err);
        rc = http_run(&x);
    }
    if (rc < 0) {
        return rc;
    }
    return http_state_pack(true, x.length_known, x.length, x.etag_known ? x.etag : NULL,
                           x.etag_known ? strlen(x.etag) : 0, out, err);
}

/* Downloads into a temp file and renames it over path (the operation path
 * of a pc__where). */
static int http_fetch(struct pc_item_ctx *ctx, const struct http_params *hp, const char *path,
                      const char *if_none_match, const struct pc_state *current,
                      struct pc_state *out, struct pc_err *err)
{
    struct http_xfer x;
    char *tmp_path = NULL;
    int fd = -1;
    int rc = pc__tmp_open(path, &tmp_path, &fd, err);

    if (rc < 0) {
        return rc;
    }
    xfer_init(&x, hp, ctx, HTTP_MODE_GET_BODY, err);
    x.fd = fd;
    x.if_none_match = if_none_match;
    rc = http_run(&x);
    if (rc < 0 || x.status == 304) {
        pc__tmp_abandon(fd, tmp_path);
        free(tmp_path);
        if (rc < 0) {
            return rc;
        }
        /* Not modified: the file on disk is what the server has. */
        rc = pc_state_copy(out, current);
        return rc < 0 ? pc_err_set(err, rc, "cannot copy the current state") : 0;
    }
    rc = pc__tmp_commit(fd, tmp_path, path, 0644, err);
    free(tmp_path);
    if (rc < 0) {
        return rc;
    }
    return http_state_pack(true, true, x.received, x.etag_known ? x.etag : NULL,
                           x.etag_known ? strlen(x.etag) : 0, out, err);
}

static int http_apply(struct pc_item_ctx *ctx, const void *params, const struct pc_state *current,
                      const struct pc_state *target, const struct pc_state *diff,
                      struct pc_state *out, struct pc_err *err)
{
    const struct http_params *hp = params;
    struct pc__mpr r;
    struct http_state tgt;
    struct http_state cur;
    char etag[HTTP_ETAG_MAX + 1];
    bool have_etag = false;
    struct pc__where wh;
    int rc = http_state_decode(&r, target, "target state", &tgt, err);

    (void)diff;
    if (rc < 0) {
        return rc;
    }
    pc__mpr_close(&r);
    rc = pc__where_open(ctx->file_root, hp->path, tgt.exists, &wh, err);
    if (rc < 0) {
        return rc;
    }
    if (!tgt.exists) {
        rc = wh.absent ? 0 : pc__unlink_if_exists(wh.path, err);
        pc__where_close(&wh);
        if (rc < 0) {
            return rc;
        }
        pc_item_progress_inc(ctx, 1, NULL);
        return http_state_pack(false, true, 0, NULL, 0, out, err);
    }
    /* The current ETag (if any) lets the server answer 304 instead of the body. */
    if (http_state_decode(&r, current, "current state", &cur, NULL) == 0) {
        if (cur.exists && cur.etag != NULL && cur.etag_len <= HTTP_ETAG_MAX &&
            memchr(cur.etag, '\0', cur.etag_len) == NULL) {
            memcpy(etag, cur.etag, cur.etag_len);
            etag[cur.etag_len] = '\0';
            have_etag = true;
        }
        pc__mpr_close(&r);
    }
    rc = http_fetch(ctx, hp, wh.path, have_etag ? etag : NULL, current, out, err);
    pc__where_close(&wh);
    return rc;
}

static int http_apply_dry(struct pc_item_ctx *ctx, const void *params,
                          const struct pc_state *current, const struct pc_state *target,
                          const struct pc_state *diff, struct pc_state *out, struct pc_err *err)
{
    int rc = 0;

    (void)ctx;
    (void)params;
    (void)current;
    (void)diff;
    rc = pc_state_copy(out, target);
    if (rc < 0) {
        return pc_err_set(err, rc, "cannot copy the target state");
    }
    return 0;
}

const struct pc_item_type pc_item_http_download = {
    .name = "http_download",
    .params_create = http_params_create,
    .params_destroy = http_params_destroy,
    .state_current = http_state_current,
    .state_goal = http_state_goal,
    .state_diff = http_state_diff,
    .state_clean = http_state_clean,
    .apply_check = http_apply_check,
    .apply_dry = http_apply_dry,
    .apply = http_apply,
    .state_eq = http_state_eq,
};
