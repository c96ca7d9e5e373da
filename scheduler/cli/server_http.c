/*
 * server_http.c - the CLI's HTTP client of peace-scheduler (server_http.h).
 *
 * Design. Every request is a heap `struct call` that lives on the client's
 * list from evhttp_make_request until evhttp's request callback, which
 * evhttp calls exactly once per request it did not cancel: with a response,
 * or with no request (NULL) or a response code of 0 when the connection
 * failed (refused, reset, timed out, too large). The error callback, when
 * evhttp calls it, comes first and says which of those it was. Freeing a
 * connection drops its requests without calling anything back, so
 * cli_http_destroy and cli_http_stream_stop free the calls left on the
 * list themselves.
 *
 * A synchronous call runs the loop one iteration at a time until its own
 * call is done; the caller never nests loops, because the follower of an
 * event stream makes its calls asynchronously.
 */
#include "server_http.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>

#include "server_json.h"

#define CLI_HTTP_HOST_MAX     256
#define CLI_HTTP_PATH_MAX     512
#define CLI_HTTP_ERR_BODY_MAX ((size_t)64u << 10)
#define CLI_HTTP_HEADERS_MAX  ((size_t)64u << 10)

struct call {
    struct cli_http *h;
    struct evhttp_request *req; /* evhttp's until its callback; NULL after */
    struct cli_http_response resp;
    struct pc_err err;
    enum evhttp_request_error error;
    bool got_error;
    bool done;
    int rc;
    bool stream;
    bool data_ignored; /* the data callback asked for no more */
    cli_http_done_cb *done_cb;
    cli_http_data_cb *data_cb;
    cli_http_end_cb *end_cb;
    void *arg;
    struct call *next;
};

struct cli_http {
    struct event_base *base;
    struct evhttp_connection *api;    /* calls; NULL until the first */
    struct evhttp_connection *stream; /* the event stream; NULL without one */
    struct call *calls;               /* in flight, on either connection */
    struct call *stream_call;         /* also on calls */
    char host[CLI_HTTP_HOST_MAX + 1]; /* for connecting: no IPv6 brackets */
    char host_header[CLI_HTTP_HOST_MAX + 16];
    char origin[CLI_HTTP_HOST_MAX + 32];
    char base_path[CLI_HTTP_PATH_MAX + 1]; /* "" or "/prefix", no trailing '/' */
    unsigned short port;
    char *authorization; /* owned "Bearer <token>", or NULL */
};

void cli_http_response_init(struct cli_http_response *r)
{
    r->status = 0;
    pc_buf_init(&r->body, CLI_HTTP_BODY_MAX);
}

void cli_http_response_cleanup(struct cli_http_response *r)
{
    if (r != NULL) {
        pc_buf_cleanup(&r->body);
    }
}

static int url_error(struct pc_err *err, const char *url, const char *why)
{
    /* A URL with user info may hold a password: never echo it. */
    if (strchr(url, '@') != NULL) {
        return pc_err_set(err, PC_EINVAL, "--server: %s", why);
    }
    return pc_err_set(err, PC_EINVAL, "--server %.200s: %s", url, why);
}

/* Checks the URL and fills the address parts of h. */
static int parse_url(struct cli_http *h, const char *url, struct pc_err *err)
{
    struct evhttp_uri *uri = evhttp_uri_parse(url);
    const char *scheme = uri != NULL ? evhttp_uri_get_scheme(uri) : NULL;
    const char *host = uri != NULL ? evhttp_uri_get_host(uri) : NULL;
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;
    size_t host_len = host != NULL ? strlen(host) : 0;
    size_t path_len = path != NULL ? strlen(path) : 0;
    int port = uri != NULL ? evhttp_uri_get_port(uri) : -1;
    const char *why = NULL;

    if (scheme != NULL && strcasecmp(scheme, "https") == 0) {
        why = "https is not supported; give the scheduler's http:// address "
              "(for TLS, put a proxy in front of it)";
    } else if (uri == NULL || scheme == NULL || strcasecmp(scheme, "http") != 0) {
        why = "not an http:// URL (for example http://127.0.0.1:7117)";
    } else if (host == NULL || host_len == 0) {
        why = "the URL names no host";
    } else if (host_len > CLI_HTTP_HOST_MAX) {
        why = "the host name is too long";
    } else if (evhttp_uri_get_userinfo(uri) != NULL) {
        why = "user info in the URL is not supported (use --token)";
    } else if (evhttp_uri_get_query(uri) != NULL || evhttp_uri_get_fragment(uri) != NULL) {
        why = "the URL must not have a query or a fragment";
    } else if (port == 0 || port > 65535) {
        why = "the port must be 1..65535";
    } else if (path_len > CLI_HTTP_PATH_MAX) {
        why = "the path is too long";
    }
    if (why != NULL || host == NULL) {
        if (uri != NULL) {
            evhttp_uri_free(uri);
        }
        return url_error(err, url, why != NULL ? why : "the URL names no host");
    }
    h->port = (unsigned short)(port < 0 ? 80 : port);
    if (host[0] == '[' && host_len > 2 && host[host_len - 1] == ']') {
        memcpy(h->host, host + 1, host_len - 2); /* an IPv6 literal */
        h->host[host_len - 2] = '\0';
    } else {
        memcpy(h->host, host, host_len + 1);
    }
    (void)snprintf(h->host_header, sizeof(h->host_header), "%s:%u", host, (unsigned)h->port);
    (void)snprintf(h->origin, sizeof(h->origin), "http://%s:%u", host, (unsigned)h->port);
    while (path_len > 0 && path[path_len - 1] == '/') {
        path_len--;
    }
    memcpy(h->base_path, path != NULL ? path : "", path_len);
    h->base_path[path_len] = '\0';
    evhttp_uri_free(uri);
    return 0;
}

/*
 * The host's first address, as numeric text in h->host: a name that does not
 * resolve is told apart from a server that does not answer, and evhttp never
 * resolves again on a reconnect.
 */
static int resolve_host(struct cli_http *h, struct pc_err *err)
{
    struct addrinfo hints;
    struct addrinfo *res = NULL;
    const void *addr;
    int gai;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    gai = getaddrinfo(h->host, NULL, &hints, &res);
    if (gai != 0 || res == NULL) {
        return pc_err_set(err, PC_EIO, "cannot reach the scheduler at %s: cannot resolve %s: %s",
                          h->origin, h->host, gai != 0 ? gai_strerror(gai) : "no address");
    }
    addr = res->ai_family == AF_INET6
               ? (const void *)&((const struct sockaddr_in6 *)(const void *)res->ai_addr)->sin6_addr
               : (const void *)&((const struct sockaddr_in *)(const void *)res->ai_addr)->sin_addr;
    if (inet_ntop(res->ai_family, addr, h->host, sizeof(h->host)) == NULL) {
        freeaddrinfo(res);
        return pc_err_set(err, PC_EIO, "cannot reach the scheduler at %s: bad address", h->origin);
    }
    freeaddrinfo(res);
    return 0;
}

int cli_http_create(const char *url, const char *token, struct cli_http **out, struct pc_err *err)
{
    struct cli_http *h = calloc(1, sizeof(*h));
    size_t token_len = token != NULL ? strlen(token) : 0;
    int rc;

    if (h == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    rc = parse_url(h, url, err);
    if (rc == 0) {
        rc = resolve_host(h, err);
    }
    if (rc == 0 && token_len > 0) {
        if (token_len > CLI_HTTP_TOKEN_MAX || strpbrk(token, "\r\n") != NULL) {
            rc = pc_err_set(err, PC_EINVAL, "--token: at most %d characters, on one line",
                            CLI_HTTP_TOKEN_MAX);
        } else if ((h->authorization = malloc(token_len + 8)) == NULL) {
            rc = pc_err_set(err, PC_ENOMEM, "out of memory");
        } else {
            (void)snprintf(h->authorization, token_len + 8, "Bearer %s", token);
        }
    }
    if (rc == 0 && (h->base = event_base_new()) == NULL) {
        rc = pc_err_set(err, PC_ENOMEM, "cannot make an event loop");
    }
    if (rc != 0) {
        cli_http_destroy(h);
        return rc;
    }
    *out = h;
    return 0;
}

static void call_unlink(struct cli_http *h, struct call *c)
{
    for (struct call **p = &h->calls; *p != NULL; p = &(*p)->next) {
        if (*p == c) {
            *p = c->next;
            break;
        }
    }
    if (h->stream_call == c) {
        h->stream_call = NULL;
    }
}

static void call_free(struct call *c)
{
    if (c != NULL) {
        cli_http_response_cleanup(&c->resp);
        free(c);
    }
}

void cli_http_destroy(struct cli_http *h)
{
    if (h == NULL) {
        return;
    }
    /* Freeing a connection frees its requests without calling back. */
    if (h->stream != NULL) {
        evhttp_connection_free(h->stream);
    }
    if (h->api != NULL) {
        evhttp_connection_free(h->api);
    }
    while (h->calls != NULL) {
        struct call *c = h->calls;

        h->calls = c->next;
        call_free(c);
    }
    if (h->base != NULL) {
        event_base_free(h->base);
    }
    free(h->authorization);
    free(h);
}

struct event_base *cli_http_base(struct cli_http *h)
{
    return h->base;
}

const char *cli_http_origin(const struct cli_http *h)
{
    return h->origin;
}

static const char *error_text(const struct call *c)
{
    if (c->got_error) {
        switch (c->error) {
        case EVREQ_HTTP_TIMEOUT:
            return "no answer in time";
        case EVREQ_HTTP_EOF:
            return "the connection was closed";
        case EVREQ_HTTP_INVALID_HEADER:
            return "not an HTTP response";
        case EVREQ_HTTP_DATA_TOO_LONG:
            return "the response is too large";
        default:
            break;
        }
    }
    /* Only a failed connect reaches evhttp's callback without an error kind. */
    return "cannot connect (is peace-scheduler listening there?)";
}

static void on_error(enum evhttp_request_error error, void *arg)
{
    struct call *c = arg;

    c->error = error;
    c->got_error = true;
}

/* The body of a non-200 stream response, bounded: the rest is dropped. */
static void keep_error_body(struct call *c, struct evbuffer *in)
{
    size_t n = evbuffer_get_length(in);
    size_t room = CLI_HTTP_ERR_BODY_MAX - c->resp.body.len;
    char piece[4096];

    while (n > 0 && room > 0) {
        size_t take = n < sizeof(piece) ? n : sizeof(piece);
        ev_ssize_t got;

        take = take < room ? take : room;
        got = evbuffer_remove(in, piece, take);
        if (got <= 0 || pc_buf_append(&c->resp.body, piece, (size_t)got) != 0) {
            break;
        }
        n -= (size_t)got;
        room -= (size_t)got;
    }
}

/* A piece of a streamed body (evhttp drains the buffer after this returns). */
static void on_chunk(struct evhttp_request *req, void *arg)
{
    struct call *c = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    struct evbuffer_iovec vec[16];
    int n;

    if (evhttp_request_get_response_code(req) != 200) {
        keep_error_body(c, in);
        return;
    }
    if (c->data_ignored) {
        return;
    }
    /* Hand over the buffer's segments as they are, without copying them. */
    n = evbuffer_peek(in, -1, NULL, vec, 16);
    if (n > 16) {
        (void)evbuffer_pullup(in, -1); /* rare: many small segments; make one */
        n = evbuffer_peek(in, -1, NULL, vec, 16);
    }
    for (int i = 0; i < n && i < 16 && !c->data_ignored; i++) {
        if (c->data_cb(c->arg, vec[i].iov_base, vec[i].iov_len) != 0) {
            c->data_ignored = true;
        }
    }
}

static void on_done(struct evhttp_request *req, void *arg)
{
    struct call *c = arg;
    struct cli_http *h = c->h;
    int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

    c->req = NULL;
    c->done = true;
    if (code <= 0) {
        c->rc = pc_err_set(&c->err, PC_EIO, "cannot reach the scheduler at %s: %s", h->origin,
                           error_text(c));
    } else {
        struct evbuffer *in = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(in);

        c->resp.status = code;
        if (c->stream) {
            if (code != 200) {
                keep_error_body(c, in);
            }
        } else if (n > 0) {
            const unsigned char *p = evbuffer_pullup(in, -1);

            if (p == NULL || pc_buf_append(&c->resp.body, p, n) != 0) {
                c->rc = pc_err_set(&c->err, PC_EIO, "%s: the response is too large (%zu bytes)",
                                   h->origin, n);
            }
        }
    }
    if (c->done_cb != NULL || c->end_cb != NULL) {
        call_unlink(h, c);
        if (c->done_cb != NULL) {
            c->done_cb(c->arg, c->rc, &c->resp, &c->err);
        } else {
            c->end_cb(c->arg, c->rc, &c->resp, &c->err);
        }
        call_free(c);
    }
}

static struct evhttp_connection *connection(struct cli_http *h, bool stream, struct pc_err *err)
{
    struct evhttp_connection **slot = stream ? &h->stream : &h->api;

    if (*slot == NULL) {
        *slot = evhttp_connection_base_new(h->base, NULL, h->host, h->port);
        if (*slot == NULL) {
            (void)pc_err_set(err, PC_EIO, "cannot reach the scheduler at %s: no connection",
                             h->origin);
            return NULL;
        }
        evhttp_connection_set_timeout(*slot,
                                      stream ? CLI_HTTP_STREAM_TIMEOUT_S : CLI_HTTP_TIMEOUT_S);
        evhttp_connection_set_retries(*slot, 0);
        evhttp_connection_set_max_headers_size(*slot, (ev_ssize_t)CLI_HTTP_HEADERS_MAX);
        if (!stream) {
            evhttp_connection_set_max_body_size(*slot, (ev_ssize_t)CLI_HTTP_BODY_MAX);
        }
    }
    return *slot;
}

/* Makes the request of c on the right connection; c joins the list on success. */
static int call_make(struct cli_http *h, struct call *c, enum evhttp_cmd_type method,
                     const char *path, const char *body, size_t body_len, const char *last_event_id,
                     struct pc_err *err)
{
    struct evhttp_connection *conn = connection(h, c->stream, err);
    char uri[CLI_HTTP_PATH_MAX * 2 + 2];
    struct evkeyvalq *headers;
    char length[24];
    int bad = 0;

    if (conn == NULL) {
        return PC_EIO;
    }
    if ((size_t)snprintf(uri, sizeof(uri), "%s%s", h->base_path, path) >= sizeof(uri)) {
        return pc_err_set(err, PC_ELIMIT, "request path too long");
    }
    c->req = evhttp_request_new(on_done, c);
    if (c->req == NULL) {
        return pc_err_set(err, PC_ENOMEM, "out of memory");
    }
    evhttp_request_set_error_cb(c->req, on_error);
    if (c->stream) {
        evhttp_request_set_chunked_cb(c->req, on_chunk);
    }
    headers = evhttp_request_get_output_headers(c->req);
    bad |= evhttp_add_header(headers, "Host", h->host_header);
    bad |= evhttp_add_header(headers, "User-Agent", "peace-cli");
    bad |=
        evhttp_add_header(headers, "Accept", c->stream ? "text/event-stream" : "application/json");
    if (h->authorization != NULL) {
        bad |= evhttp_add_header(headers, "Authorization", h->authorization);
    }
    if (last_event_id != NULL && last_event_id[0] != '\0') {
        bad |= evhttp_add_header(headers, "Last-Event-ID", last_event_id);
    }
    if (method == EVHTTP_REQ_POST) {
        (void)snprintf(length, sizeof(length), "%zu", body_len);
        bad |= evhttp_add_header(headers, "Content-Type", "application/json");
        bad |= evhttp_add_header(headers, "Content-Length", length);
        if (body_len > 0) {
            bad |= evbuffer_add(evhttp_request_get_output_buffer(c->req), body, body_len);
        }
    }
    if (bad != 0) {
        evhttp_request_free(c->req);
        c->req = NULL;
        return pc_err_set(err, PC_ENOMEM, "cannot build the request");
    }
    /* On failure evhttp has freed the request already. */
    if (evhttp_make_request(conn, c->req, method, uri) != 0) {
        c->req = NULL;
        return pc_err_set(err, PC_EIO, "cannot reach the scheduler at %s: %s", h->origin,
                          strerror(errno));
    }
    c->next = h->calls;
    h->calls = c;
    return 0;
}

static struct call *call_new(struct cli_http *h, struct pc_err *err)
{
    struct call *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        (void)pc_err_set(err, PC_ENOMEM, "out of memory");
        return NULL;
    }
    c->h = h;
    cli_http_response_init(&c->resp);
    pc_err_clear(&c->err);
    return c;
}

int cli_http_call(struct cli_http *h, enum evhttp_cmd_type method, const char *path,
                  const char *body, size_t body_len, struct cli_http_response *resp,
                  struct pc_err *err)
{
    struct call *c = call_new(h, err);
    int rc;

    cli_http_response_init(resp);
    if (c == NULL) {
        return PC_ENOMEM;
    }
    rc = call_make(h, c, method, path, body, body_len, NULL, err);
    if (rc != 0) {
        call_free(c);
        return rc;
    }
    while (!c->done) {
        if (event_base_loop(h->base, EVLOOP_ONCE) < 0) {
            /* Cannot happen with a request pending; leave c to cli_http_destroy. */
            return pc_err_set(err, PC_EINTERNAL, "the event loop failed");
        }
    }
    call_unlink(h, c);
    rc = c->rc;
    if (rc != 0) {
        if (err != NULL) {
            *err = c->err;
        }
    } else {
        *resp = c->resp;
        cli_http_response_init(&c->resp); /* moved out */
    }
    call_free(c);
    return rc;
}

int cli_http_call_start(struct cli_http *h, enum evhttp_cmd_type method, const char *path,
                        const char *body, size_t body_len, cli_http_done_cb *done, void *arg,
                        struct pc_err *err)
{
    struct call *c = call_new(h, err);
    int rc;

    if (c == NULL) {
        return PC_ENOMEM;
    }
    c->done_cb = done;
    c->arg = arg;
    rc = call_make(h, c, method, path, body, body_len, NULL, err);
    if (rc != 0) {
        call_free(c);
    }
    return rc;
}

int cli_http_stream_start(struct cli_http *h, const char *path, const char *last_event_id,
                          cli_http_data_cb *data, cli_http_end_cb *end, void *arg,
                          struct pc_err *err)
{
    struct call *c;
    int rc;

    if (h->stream_call != NULL) {
        return pc_err_set(err, PC_EINTERNAL, "an event stream is already open");
    }
    c = call_new(h, err);
    if (c == NULL) {
        return PC_ENOMEM;
    }
    c->stream = true;
    c->data_cb = data;
    c->end_cb = end;
    c->arg = arg;
    rc = call_make(h, c, EVHTTP_REQ_GET, path, NULL, 0, last_event_id, err);
    if (rc != 0) {
        call_free(c);
        return rc;
    }
    h->stream_call = c;
    return 0;
}

void cli_http_stream_stop(struct cli_http *h)
{
    struct call *c = h->stream_call;

    if (h->stream != NULL) {
        evhttp_connection_free(h->stream); /* drops its request, without calling back */
        h->stream = NULL;
    }
    if (c != NULL) {
        call_unlink(h, c);
        call_free(c);
    }
}

void cli_http_error_code(const struct cli_http_response *resp, char *out, size_t out_size)
{
    json_t *doc = NULL;
    const char *code;

    out[0] = '\0';
    if (cli_json_parse(pc_buf_str(&resp->body), resp->body.len, "error body", &doc, NULL) != 0) {
        return;
    }
    code = cli_json_str(doc, "code");
    if (code != NULL) {
        (void)snprintf(out, out_size, "%s", code);
    }
    json_decref(doc);
}

void cli_http_error_line(const struct cli_http_response *resp, char *out, size_t out_size)
{
    json_t *doc = NULL;
    const char *msg = NULL;
    const char *code = NULL;
    bool forbidden = false;
    size_t n;

    if (cli_json_parse(pc_buf_str(&resp->body), resp->body.len, "error body", &doc, NULL) == 0) {
        msg = cli_json_str(doc, "error");
        code = cli_json_str(doc, "code");
    }
    if (msg != NULL) {
        (void)snprintf(out, out_size, "%s%s%s%s", msg, code != NULL ? " (" : "",
                       code != NULL ? code : "", code != NULL ? ")" : "");
    } else {
        /* Not ours (a proxy's page?): the status and the start of the body. */
        (void)snprintf(out, out_size, "HTTP %d%s%.120s", resp->status,
                       resp->body.len > 0 ? ": " : "", pc_buf_str(&resp->body));
    }
    forbidden = code != NULL && strcmp(code, "forbidden") == 0;
    json_decref(doc);
    /* What to do about a refusal of access. */
    n = strlen(out);
    if (resp->status == 401 && n + 1 < out_size) {
        (void)snprintf(out + n, out_size - n, "%s",
                       ": give the scheduler's token with --token-file, --token or PEACE_TOKEN");
    } else if (resp->status == 403 && forbidden && n + 1 < out_size) {
        (void)snprintf(out + n, out_size - n, "%s",
                       ": this token's scope does not allow it (a read token only reads, an "
                       "interrupt token also interrupts; starting needs --token)");
    } else if (resp->status == 403 && n + 1 < out_size) {
        (void)snprintf(out + n, out_size - n, "%s",
                       ": the scheduler does not serve this host name (see its --allow-host)");
    }
    /* One line, whatever the server sent. */
    n = strlen(out);
    for (size_t i = 0; i < n; i++) {
        if (out[i] == '\n' || out[i] == '\r' || (unsigned char)out[i] < 0x20) {
            out[i] = ' ';
        }
    }
}
