/*
 * test_item_http_download.c - the `http_download` item type against an
 * in-test libevent HTTP server on 127.0.0.1 (port chosen by the kernel),
 * run on its own thread: HEAD goals with Content-Length and ETag, downloads
 * with byte progress, ETag carry-over and the resulting in-sync check, the
 * 304 path, chunked bodies of unknown size, errors (404, redirects, refused
 * connections, timeouts, max_bytes) leaving no file behind, clean, and
 * params errors including https.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "item_test_support.h"
#include "peace/items.h"

#define FILE_SIZE 100000

/* Request counts, written by the server thread and read by the test. */
struct server_counts {
    int head;
    int get;
    int conditional; /* requests carrying If-None-Match */
};

struct server {
    pthread_t thread;
    struct event_base *base;
    struct evhttp *http;
    uint16_t port;
    pthread_mutex_t mu;
    struct server_counts counts;
    char body[FILE_SIZE];
};

struct fx {
    struct server srv;
    struct scratch scratch;
    char path[256];
    char url[128];
    struct progress_rec rec;
    struct pc_item_ctx ctx;
};

/* ------------------------------------------------------------------------ */
/* The server                                                                */

static void reply(struct evhttp_request *req, int code, const char *reason, const char *etag,
                  const void *body, size_t len)
{
    struct evbuffer *buf = evbuffer_new();

    assert_non_null(buf);
    if (etag != NULL) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "ETag", etag);
    }
    if (len > 0 && evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        /* evhttp drops the body of a HEAD reply and with it the length. */
        char n[32];

        snprintf(n, sizeof(n), "%zu", len);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Length", n);
    }
    if (len > 0) {
        evbuffer_add(buf, body, len);
    }
    evhttp_send_reply(req, code, reason, buf);
    evbuffer_free(buf);
}

static void serve_chunked(struct evhttp_request *req)
{
    struct evbuffer *buf = evbuffer_new();

    evhttp_send_reply_start(req, 200, "OK");
    for (int i = 0; i < 3; i++) {
        evbuffer_add(buf, "chunk!", 6);
        evhttp_send_reply_chunk(req, buf);
    }
    evhttp_send_reply_end(req);
    evbuffer_free(buf);
}

static void serve_file(struct server *s, struct evhttp_request *req)
{
    const char *inm = evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match");

    if (inm != NULL && strcmp(inm, "\"v1\"") == 0) {
        reply(req, 304, "Not Modified", "\"v1\"", NULL, 0);
        return;
    }
    reply(req, 200, "OK", "\"v1\"", s->body, sizeof(s->body));
}

static void on_request(struct evhttp_request *req, void *arg)
{
    struct server *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    bool head = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;

    pthread_mutex_lock(&s->mu);
    s->counts.head += head;
    s->counts.get += !head;
    s->counts.conditional +=
        evhttp_find_header(evhttp_request_get_input_headers(req), "If-None-Match") != NULL;
    pthread_mutex_unlock(&s->mu);

    if (strcmp(uri, "/file") == 0) {
        serve_file(s, req);
    } else if (strcmp(uri, "/noetag?x=1") == 0) {
        reply(req, 200, "OK", NULL, "hello", 5);
    } else if (strcmp(uri, "/nohead") == 0) {
        if (head) {
            reply(req, 405, "Method Not Allowed", NULL, NULL, 0);
        } else {
            reply(req, 200, "OK", "\"n1\"", "abc", 3);
        }
    } else if (strcmp(uri, "/redirect") == 0) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
                          "http://example.invalid/elsewhere");
        reply(req, 302, "Found", NULL, NULL, 0);
    } else if (strcmp(uri, "/chunked") == 0) {
        serve_chunked(req);
    } else if (strcmp(uri, "/slow") == 0) {
        /* Never answered: the client must time out. evhttp_free releases it. */
    } else {
        reply(req, 404, "Not Found", NULL, "nope", 4);
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;

    event_base_dispatch(s->base);
    return NULL;
}

static void server_start(struct server *s)
{
    struct evhttp_bound_socket *sock = NULL;
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);

    for (size_t i = 0; i < sizeof(s->body); i++) {
        s->body[i] = (char)('a' + i % 26);
    }
    pthread_mutex_init(&s->mu, NULL);
    s->base = event_base_new();
    assert_non_null(s->base);
    s->http = evhttp_new(s->base);
    assert_non_null(s->http);
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
    evhttp_set_gencb(s->http, on_request, s);
    sock = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    assert_non_null(sock);
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&addr, &len),
                     0);
    s->port = ntohs(addr.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_stop(struct server *s)
{
    /* loopexit, unlike loopbreak, is not lost if the loop has not started yet. */
    event_base_loopexit(s->base, NULL);
    pthread_join(s->thread, NULL);
    evhttp_free(s->http);
    event_base_free(s->base);
    pthread_mutex_destroy(&s->mu);
}

static struct server_counts server_counts(struct server *s)
{
    struct server_counts c;

    pthread_mutex_lock(&s->mu);
    c = s->counts;
    pthread_mutex_unlock(&s->mu);
    return c;
}

/* ------------------------------------------------------------------------ */
/* Helpers                                                                   */

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    server_start(&f->srv);
    scratch_init(&f->scratch);
    snprintf(f->path, sizeof(f->path), "%s/dl/file.bin", f->scratch.dir);
    progress_rec_ctx(&f->rec, &f->ctx, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;

    server_stop(&f->srv);
    scratch_cleanup(&f->scratch);
    free(f);
    return 0;
}

/* Params for url path `res` on the test server, plus extra JSON fields. */
static void *dl_params(struct fx *f, const char *res, const char *extra)
{
    struct test_params tp;
    void *p = NULL;

    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u%s", (unsigned)f->srv.port, res);
    test_params_json(&tp, "{\"url\": \"%s\", \"path\": \"%s\"%s}", f->url, f->path, extra);
    p = params_create_ok(&pc_item_http_download, tp.obj);
    test_params_free(&tp);
    return p;
}

static void goal_ok(struct fx *f, const void *p, struct pc_state *out)
{
    struct pc_err err = {0};

    if (pc_item_http_download.state_goal(&f->ctx, p, out, &err) != 0) {
        fail_msg("state_goal: %s", err.msg);
    }
}

static void current_ok(struct fx *f, const void *p, struct pc_state *out)
{
    struct pc_err err = {0};

    if (pc_item_http_download.state_current(&f->ctx, p, out, &err) != 0) {
        fail_msg("state_current: %s", err.msg);
    }
}

static struct pc_apply_check check(const void *p, const struct pc_state *cur,
                                   const struct pc_state *tgt)
{
    struct pc_state diff = {0};
    struct pc_apply_check ck = {0};
    struct pc_err err = {0};

    assert_int_equal(pc_item_http_download.state_diff(p, cur, tgt, &diff, &err), 0);
    assert_int_equal(pc_item_http_download.apply_check(p, cur, tgt, &diff, &ck, &err), 0);
    pc_state_clear(&diff);
    return ck;
}

static void expect_etag(const struct pc_state *s, const char *want)
{
    char *got = NULL;

    if (want == NULL) {
        assert_true(state_is_nil(s, "etag"));
        return;
    }
    got = state_str(s, "etag");
    assert_string_equal(got, want);
    free(got);
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void goal_comes_from_a_head_request(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/file", "");
    struct pc_state goal = {0};
    struct server_counts c;

    goal_ok(f, p, &goal);
    assert_true(state_bool(&goal, "exists"));
    assert_int_equal(state_u64(&goal, "size"), FILE_SIZE);
    expect_etag(&goal, "\"v1\"");
    c = server_counts(&f->srv);
    assert_int_equal(c.head, 1);
    assert_int_equal(c.get, 0);
    pc_state_clear(&goal);
    pc_item_http_download.params_destroy(p);
}

static void ensure_downloads_with_byte_progress_then_is_in_sync(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/file", "");
    struct pc_state cur = {0}, goal = {0}, applied = {0}, again = {0};
    struct pc_apply_check ck;
    struct pc_err err = {0};
    char *body = NULL;
    size_t len = 0;
    char dir[300];

    current_ok(f, p, &cur);
    assert_false(state_bool(&cur, "exists"));
    goal_ok(f, p, &goal);
    ck = check(p, &cur, &goal);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_BYTES);
    assert_int_equal(ck.limit.n, FILE_SIZE);

    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &goal, NULL, &applied, &err), 0);
    assert_int_equal(f->rec.units, FILE_SIZE);
    assert_true(f->rec.n_inc >= 1);
    assert_true(pc_item_http_download.state_eq(p, &applied, &goal));
    body = read_file_text(f->path, &len);
    assert_int_equal(len, FILE_SIZE);
    assert_memory_equal(body, f->srv.body, FILE_SIZE);
    free(body);
    snprintf(dir, sizeof(dir), "%s/dl", f->scratch.dir);
    assert_int_equal(dir_entries(dir), 1);

    /* Next discovery: the ETag is carried over from the stored state. */
    f->ctx.stored_current = &applied;
    current_ok(f, p, &again);
    expect_etag(&again, "\"v1\"");
    assert_true(pc_state_bytes_eq(&again, &applied));
    ck = check(p, &again, &goal);
    assert_false(ck.exec_required);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_state_clear(&again);
    pc_item_http_download.params_destroy(p);
}

static void etag_is_not_carried_over_when_the_size_changed(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/file", "");
    struct pc_state stored = {0}, cur = {0};

    snprintf(f->path, sizeof(f->path), "%s/f", f->scratch.dir);
    pc_item_http_download.params_destroy(p);
    p = dl_params(f, "/file", "");
    write_file_text(f->path, "abc");
    state_from_json(&stored, "{\"exists\": true, \"size\": 5, \"etag\": \"\\\"v1\\\"\"}");
    f->ctx.stored_current = &stored;
    current_ok(f, p, &cur);
    assert_int_equal(state_u64(&cur, "size"), 3);
    expect_etag(&cur, NULL);
    pc_state_clear(&cur);
    pc_state_clear(&stored);
    /* A stored state that does not decode is ignored, not an error. */
    state_from_json(&stored, "[\"garbage\"]");
    current_ok(f, p, &cur);
    expect_etag(&cur, NULL);
    pc_state_clear(&cur);
    pc_state_clear(&stored);
    pc_item_http_download.params_destroy(p);
}

static void not_modified_keeps_the_file(void **state)
{
    struct fx *f = *state;
    void *p = NULL;
    struct pc_state cur = {0}, tgt = {0}, applied = {0};
    struct pc_err err = {0};
    char *text = NULL;

    snprintf(f->path, sizeof(f->path), "%s/kept", f->scratch.dir);
    p = dl_params(f, "/file", "");
    write_file_text(f->path, "old");
    state_from_json(&cur, "{\"exists\": true, \"size\": 3, \"etag\": \"\\\"v1\\\"\"}");
    state_from_json(&tgt, "{\"exists\": true, \"size\": 3, \"etag\": \"\\\"v2\\\"\"}");
    assert_true(check(p, &cur, &tgt).exec_required);
    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &tgt, NULL, &applied, &err), 0);
    assert_true(pc_state_bytes_eq(&applied, &cur));
    assert_int_equal(f->rec.units, 0);
    assert_int_equal(server_counts(&f->srv).conditional, 1);
    text = read_file_text(f->path, NULL);
    assert_string_equal(text, "old");
    free(text);
    assert_int_equal(dir_entries(f->scratch.dir), 1);

    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_state_clear(&applied);
    pc_item_http_download.params_destroy(p);
}

static void a_file_without_etags_is_downloaded_again(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/noetag?x=1", "");
    struct pc_state cur = {0}, goal = {0}, applied = {0}, again = {0};
    struct pc_err err = {0};

    current_ok(f, p, &cur);
    goal_ok(f, p, &goal);
    expect_etag(&goal, NULL);
    assert_int_equal(state_u64(&goal, "size"), 5);
    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &goal, NULL, &applied, &err), 0);
    assert_int_equal(state_u64(&applied, "size"), 5);
    f->ctx.stored_current = &applied;
    current_ok(f, p, &again);
    /* Nothing proves the bytes are the server's: apply is needed again. */
    assert_true(check(p, &again, &goal).exec_required);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_state_clear(&again);
    pc_item_http_download.params_destroy(p);
}

static void chunked_body_of_unknown_size_downloads(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/chunked", "");
    struct pc_state cur = {0}, goal = {0}, applied = {0};
    struct pc_apply_check ck;
    struct pc_err err = {0};
    char *text = NULL;

    current_ok(f, p, &cur);
    goal_ok(f, p, &goal);
    assert_true(state_is_nil(&goal, "size"));
    ck = check(p, &cur, &goal);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_UNKNOWN);
    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &goal, NULL, &applied, &err), 0);
    assert_int_equal(state_u64(&applied, "size"), 18);
    assert_int_equal(f->rec.units, 18);
    text = read_file_text(f->path, NULL);
    assert_string_equal(text, "chunk!chunk!chunk!");
    free(text);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_item_http_download.params_destroy(p);
}

static void head_refused_falls_back_to_get_headers(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/nohead", "");
    struct pc_state goal = {0};

    goal_ok(f, p, &goal);
    assert_int_equal(state_u64(&goal, "size"), 3);
    expect_etag(&goal, "\"n1\"");
    assert_int_equal(server_counts(&f->srv).get, 1);
    pc_state_clear(&goal);
    pc_item_http_download.params_destroy(p);
}

static void not_found_is_an_error_with_the_status_and_leaves_no_file(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/missing", "");
    struct pc_state goal = {0}, cur = {0}, out = {0}, tgt = {0};
    struct pc_err err = {0};
    char want[256];
    char dir[300];

    assert_int_equal(pc_item_http_download.state_goal(&f->ctx, p, &goal, &err), PC_EITEM);
    snprintf(want, sizeof(want), "HEAD %s: status 404 Not Found", f->url);
    assert_string_equal(err.msg, want);
    assert_null(goal.data);

    current_ok(f, p, &cur);
    state_from_json(&tgt, "{\"exists\": true, \"size\": 4, \"etag\": null}");
    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &tgt, NULL, &out, &err),
                     PC_EITEM);
    snprintf(want, sizeof(want), "GET %s: status 404 Not Found", f->url);
    assert_string_equal(err.msg, want);
    assert_null(out.data);
    snprintf(dir, sizeof(dir), "%s/dl", f->scratch.dir);
    assert_int_equal(dir_entries(dir), 0);

    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_item_http_download.params_destroy(p);
}

static void redirects_are_not_followed(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/redirect", "");
    struct pc_state goal = {0};
    struct pc_err err = {0};

    assert_int_equal(pc_item_http_download.state_goal(&f->ctx, p, &goal, &err), PC_EITEM);
    assert_non_null(strstr(err.msg, "status 302 redirects to http://example.invalid/elsewhere"));
    pc_item_http_download.params_destroy(p);
}

static void a_silent_server_times_out(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/slow", ", \"timeout_ms\": 200");
    struct pc_state goal = {0};
    struct pc_err err = {0};
    char want[256];

    assert_int_equal(pc_item_http_download.state_goal(&f->ctx, p, &goal, &err), PC_EIO);
    snprintf(want, sizeof(want), "HEAD %s: ", f->url);
    assert_int_equal(strncmp(err.msg, want, strlen(want)), 0);
    assert_non_null(strstr(err.msg, "timed out"));
    pc_item_http_download.params_destroy(p);
}

static void a_refused_connection_is_an_error(void **state)
{
    struct fx *f = *state;
    struct sockaddr_in addr = {.sin_family = AF_INET};
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct test_params tp;
    void *p = NULL;
    struct pc_state goal = {0};
    struct pc_err err = {0};

    /* A port that was just free: bound, then closed without listening. */
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    close(fd);
    test_params_json(&tp, "{\"url\": \"http://127.0.0.1:%u/x\", \"path\": \"%s\"}",
                     (unsigned)ntohs(addr.sin_port), f->path);
    p = params_create_ok(&pc_item_http_download, tp.obj);
    test_params_free(&tp);
    assert_int_equal(pc_item_http_download.state_goal(&f->ctx, p, &goal, &err), PC_EIO);
    assert_non_null(strstr(err.msg, "cannot connect"));
    pc_item_http_download.params_destroy(p);
}

static void bodies_over_max_bytes_are_refused(void **state)
{
    struct fx *f = *state;
    void *small = dl_params(f, "/file", ", \"max_bytes\": 1000");
    void *chunked = dl_params(f, "/chunked", ", \"max_bytes\": 10");
    struct pc_state goal = {0}, cur = {0}, tgt = {0}, out = {0};
    struct pc_err err = {0};
    char dir[300];

    assert_int_equal(pc_item_http_download.state_goal(&f->ctx, small, &goal, &err), PC_ELIMIT);
    assert_non_null(strstr(err.msg, "body of 100000 bytes exceeds max_bytes (1000)"));
    /* Without Content-Length the limit is enforced while streaming. */
    current_ok(f, chunked, &cur);
    state_from_json(&tgt, "{\"exists\": true, \"size\": null, \"etag\": null}");
    assert_int_equal(pc_item_http_download.apply(&f->ctx, chunked, &cur, &tgt, NULL, &out, &err),
                     PC_ELIMIT);
    assert_non_null(strstr(err.msg, "body exceeds max_bytes (10)"));
    snprintf(dir, sizeof(dir), "%s/dl", f->scratch.dir);
    assert_int_equal(dir_entries(dir), 0);

    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_item_http_download.params_destroy(small);
    pc_item_http_download.params_destroy(chunked);
}

static void clean_removes_the_file(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/file", "");
    struct pc_state cur = {0}, goal = {0}, applied = {0}, clean = {0}, gone = {0};
    struct pc_apply_check ck;
    struct pc_err err = {0};

    current_ok(f, p, &cur);
    goal_ok(f, p, &goal);
    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &cur, &goal, NULL, &applied, &err), 0);
    assert_int_equal(pc_item_http_download.state_clean(p, &clean, &err), 0);
    assert_false(state_bool(&clean, "exists"));
    ck = check(p, &applied, &clean);
    assert_true(ck.exec_required);
    assert_int_equal(ck.limit.kind, PC_LIMIT_STEPS);
    assert_int_equal(ck.limit.n, 1);
    f->rec.units = 0;
    assert_int_equal(pc_item_http_download.apply(&f->ctx, p, &applied, &clean, NULL, &gone, &err),
                     0);
    assert_true(pc_state_bytes_eq(&gone, &clean));
    assert_int_equal(f->rec.units, 1);
    assert_int_equal(access(f->path, F_OK), -1);

    pc_state_clear(&cur);
    pc_state_clear(&goal);
    pc_state_clear(&applied);
    pc_state_clear(&clean);
    pc_state_clear(&gone);
    pc_item_http_download.params_destroy(p);
}

static void apply_dry_returns_target_without_a_request(void **state)
{
    struct fx *f = *state;
    void *p = dl_params(f, "/file", "");
    struct pc_state cur = {0}, tgt = {0}, dry = {0};
    struct pc_err err = {0};
    struct server_counts c;

    current_ok(f, p, &cur);
    state_from_json(&tgt, "{\"exists\": true, \"size\": 100000, \"etag\": \"\\\"v1\\\"\"}");
    assert_int_equal(pc_item_http_download.apply_dry(&f->ctx, p, &cur, &tgt, NULL, &dry, &err), 0);
    assert_true(pc_state_bytes_eq(&dry, &tgt));
    c = server_counts(&f->srv);
    assert_int_equal(c.get + c.head, 0);
    assert_int_equal(access(f->path, F_OK), -1);
    pc_state_clear(&cur);
    pc_state_clear(&tgt);
    pc_state_clear(&dry);
    pc_item_http_download.params_destroy(p);
}

static void bad_params_are_einval_naming_the_key(void **state)
{
    static const struct {
        const char *json;
        const char *msg;
    } cases[] = {
        {"{\"path\": \"/tmp/x\"}", "params.url: required"},
        {"{\"url\": 5, \"path\": \"/tmp/x\"}", "params.url: expected a string"},
        {"{\"url\": \"https://example.com/x\", \"path\": \"/tmp/x\"}",
         "params.url: https is not supported (only http:// URLs)"},
        {"{\"url\": \"HTTPS://example.com/x\", \"path\": \"/tmp/x\"}",
         "params.url: https is not supported (only http:// URLs)"},
        {"{\"url\": \"ftp://example.com/x\", \"path\": \"/tmp/x\"}",
         "params.url: expected an http:// URL"},
        {"{\"url\": \"http://\", \"path\": \"/tmp/x\"}", "params.url: no host"},
        {"{\"url\": \"http://exa mple.com/\", \"path\": \"/tmp/x\"}",
         "params.url: not a valid URL"},
        {"{\"url\": \"http://example.com:0/\", \"path\": \"/tmp/x\"}",
         "params.url: port out of range"},
        {"{\"url\": \"http://example.com/\"}", "params.path: required"},
        {"{\"url\": \"http://example.com/\", \"path\": \"/tmp/d/\"}",
         "params.path: expected a file path (not empty, no trailing /)"},
        {"{\"url\": \"http://example.com/\", \"path\": \"/tmp/x\", \"timeout_ms\": 0}",
         "params.timeout_ms: must be between 1 and 86400000"},
        {"{\"url\": \"http://example.com/\", \"path\": \"/tmp/x\", \"max_bytes\": \"big\"}",
         "params.max_bytes: expected a non-negative integer"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct test_params tp;

        test_params_json(&tp, "%s", cases[i].json);
        assert_string_equal(params_create_err(&pc_item_http_download, tp.obj, PC_EINVAL),
                            cases[i].msg);
        test_params_free(&tp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(goal_comes_from_a_head_request, setup, teardown),
        cmocka_unit_test_setup_teardown(ensure_downloads_with_byte_progress_then_is_in_sync, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(etag_is_not_carried_over_when_the_size_changed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(not_modified_keeps_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_without_etags_is_downloaded_again, setup, teardown),
        cmocka_unit_test_setup_teardown(chunked_body_of_unknown_size_downloads, setup, teardown),
        cmocka_unit_test_setup_teardown(head_refused_falls_back_to_get_headers, setup, teardown),
        cmocka_unit_test_setup_teardown(not_found_is_an_error_with_the_status_and_leaves_no_file,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(redirects_are_not_followed, setup, teardown),
        cmocka_unit_test_setup_teardown(a_silent_server_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(a_refused_connection_is_an_error, setup, teardown),
        cmocka_unit_test_setup_teardown(bodies_over_max_bytes_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(clean_removes_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(apply_dry_returns_target_without_a_request, setup,
                                        teardown),
        cmocka_unit_test(bad_params_are_einval_naming_the_key),
    };

    /* The server thread is stopped from the test thread. */
    evthread_use_pthreads();
    /* A peer closing early must be an error, not a fatal SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
