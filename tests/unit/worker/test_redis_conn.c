/*
 * test_redis_conn.c - the reconnecting Redis connection against servers
 * that misbehave on purpose, all on one libevent loop in this process:
 * nobody listening (connect refused, retried with backoff), a server that
 * answers the set-up PING and then stays silent (a command times out: its
 * callback runs once with NULL, the connection is dropped and comes back),
 * commands sent while down (NULL, once, never before the call returns), and
 * destroy with commands in flight (each completes once with NULL).
 * Also the argument builder and the store's HGETALL decoding.
 */
/* cmocka needs these four headers first, in this order. */
/* clang-format off */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
/* clang-format on */

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "peace/redis_conn.h"
#include "peace/scripts.h"
#include "peace/store_redis.h"
#include "reply_builder.h"

/* ------------------------------------------------------------------------ */
/* A fake server: accepts, answers the first read with +PONG, then reads and
 * ignores everything (a wedged Redis).                                      */

struct fake_server {
    struct event_base *base;
    int listen_fd;
    int port;
    struct event *accept_ev;
    int conns[16];
    struct event *conn_ev[16];
    int n_conns;
    int accepted;
    bool answered[16];
};

static void on_fake_read(evutil_socket_t fd, short what, void *arg)
{
    struct fake_server *s = arg;
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));

    (void)what;
    for (int i = 0; i < s->n_conns; i++) {
        if (s->conns[i] != fd) {
            continue;
        }
        if (n <= 0) {
            event_del(s->conn_ev[i]);
            return;
        }
        if (!s->answered[i]) {
            s->answered[i] = true;
            assert_int_equal(write(fd, "+PONG\r\n", 7), 7);
        }
    }
}

static void on_fake_accept(evutil_socket_t fd, short what, void *arg)
{
    struct fake_server *s = arg;
    int c = accept(fd, NULL, NULL);

    (void)what;
    if (c < 0 || s->n_conns == 16) {
        if (c >= 0) {
            close(c);
        }
        return;
    }
    s->accepted++;
    s->conns[s->n_conns] = c;
    s->answered[s->n_conns] = false;
    s->conn_ev[s->n_conns] = event_new(s->base, c, EV_READ | EV_PERSIST, on_fake_read, s);
    assert_non_null(s->conn_ev[s->n_conns]);
    assert_int_equal(event_add(s->conn_ev[s->n_conns], NULL), 0);
    s->n_conns++;
}

static void fake_start(struct fake_server *s, struct event_base *base)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);

    memset(s, 0, sizeof(*s));
    s->base = base;
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->listen_fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->listen_fd, 16), 0);
    assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    s->accept_ev = event_new(base, s->listen_fd, EV_READ | EV_PERSIST, on_fake_accept, s);
    assert_non_null(s->accept_ev);
    assert_int_equal(event_add(s->accept_ev, NULL), 0);
}

static void fake_stop(struct fake_server *s)
{
    for (int i = 0; i < s->n_conns; i++) {
        event_free(s->conn_ev[i]);
        close(s->conns[i]);
    }
    event_free(s->accept_ev);
    close(s->listen_fd);
}

/* A port nobody listens on: bound, never listening, closed. */
static int closed_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ------------------------------------------------------------------------ */
/* Observers                                                                 */

struct observed {
    struct event_base *base;
    int ups;
    int downs;
    char last_why[256];
    int stop_after_ups;   /* loopexit after this many ups (0 = never) */
    int stop_after_downs; /* likewise for downs */
};

static void on_state(void *ctx, bool ready, const char *why)
{
    struct observed *o = ctx;

    if (ready) {
        o->ups++;
        if (o->stop_after_ups != 0 && o->ups >= o->stop_after_ups) {
            event_base_loopexit(o->base, NULL);
        }
    } else {
        o->downs++;
        (void)snprintf(o->last_why, sizeof(o->last_why), "%s", why);
        if (o->stop_after_downs != 0 && o->downs >= o->stop_after_downs) {
            event_base_loopexit(o->base, NULL);
        }
    }
}

struct reply_count {
    int calls;
    int nulls;
    bool in_call; /* set around the sending call: a callback there breaks the contract */
    bool early;
};

static void on_reply(void *arg, const redisReply *reply)
{
    struct reply_count *rc = arg;

    rc->calls++;
    rc->nulls += reply == NULL;
    rc->early = rc->early || rc->in_call;
}

static void tcp_url(struct pc_redis_url *u, int port)
{
    memset(u, 0, sizeof(*u));
    (void)snprintf(u->host, sizeof(u->host), "127.0.0.1");
    u->port = port;
}

static void on_safety(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    fail_msg("the test did not finish in time");
    (void)arg;
}

static struct event *arm_safety(struct event_base *base)
{
    struct timeval tv = {10, 0};
    struct event *ev = evtimer_new(base, on_safety, NULL);

    assert_non_null(ev);
    assert_int_equal(evtimer_add(ev, &tv), 0);
    return ev;
}

/* ------------------------------------------------------------------------ */
/* Tests                                                                     */

static void refused_connect_reports_down_and_retries_with_backoff(void **state)
{
    struct event_base *base = event_base_new();
    struct pc_redis_conn_opts o = {0};
    struct pc_redis_conn *c = NULL;
    struct pc_redis_url u;
    struct observed obs = {0};
    struct event *safety = arm_safety(base);

    (void)state;
    obs.base = base;
    obs.stop_after_downs = 3;
    tcp_url(&u, closed_port());
    o.on_state = on_state;
    o.state_ctx = &obs;
    o.backoff_min_ms = 5;
    o.backoff_max_ms = 20;
    assert_int_equal(pc_redis_conn_create(base, &u, &o, &c, NULL), 0);
    assert_false(pc_redis_conn_ready(c));
    (void)event_base_dispatch(base);
    assert_int_equal(obs.downs, 3);
    assert_int_equal(obs.ups, 0);
    assert_non_null(strstr(obs.last_why, "cannot connect"));
    pc_redis_conn_destroy(c);
    event_free(safety);
    event_base_free(base);
}

static void command_while_down_fails_once_and_never_inline(void **state)
{
    struct event_base *base = event_base_new();
    struct pc_redis_conn_opts o = {0};
    struct pc_redis_conn *c = NULL;
    struct pc_redis_url u;
    struct observed obs = {0};
    struct reply_count rc = {0};
    const char *argv[1] = {"PING"};
    size_t lens[1] = {4};
    struct event *safety = arm_safety(base);

    (void)state;
    obs.base = base;
    obs.stop_after_downs = 1;
    tcp_url(&u, closed_port());
    o.on_state = on_state;
    o.state_ctx = &obs;
    o.backoff_min_ms = 1000;
    assert_int_equal(pc_redis_conn_create(base, &u, &o, &c, NULL), 0);
    rc.in_call = true;
    assert_int_equal(pc_redis_cmd(c, 1, argv, lens, 0, on_reply, &rc), 0);
    rc.in_call = false;
    assert_int_equal(rc.calls, 0);
    (void)event_base_dispatch(base);
    (void)event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(rc.calls, 1);
    assert_int_equal(rc.nulls, 1);
    assert_false(rc.early);
    assert_int_equal(pc_redis_cmd(c, 0, argv, lens, 0, on_reply, &rc), PC_EINVAL);
    pc_redis_conn_destroy(c);
    assert_int_equal(rc.calls, 1);
    event_free(safety);
    event_base_free(base);
}

static void silent_server_times_out_command_and_connection_comes_back(void **state)
{
    struct event_base *base = event_base_new();
    struct fake_server srv;
    struct pc_redis_conn_opts o = {0};
    struct pc_redis_conn *c = NULL;
    struct pc_redis_url u;
    struct observed obs = {0};
    struct reply_count rc = {0};
    const char *argv[2] = {"GET", "k"};
    size_t lens[2] = {3, 1};
    struct event *safety = arm_safety(base);

    (void)state;
    fake_start(&srv, base);
    obs.base = base;
    obs.stop_after_ups = 1;
    tcp_url(&u, srv.port);
    o.on_state = on_state;
    o.state_ctx = &obs;
    o.cmd_timeout_ms = 50;
    o.backoff_min_ms = 5;
    o.backoff_max_ms = 10;
    assert_int_equal(pc_redis_conn_create(base, &u, &o, &c, NULL), 0);
    (void)event_base_dispatch(base);
    assert_true(pc_redis_conn_ready(c));
    /* The server never answers GET: the command times out, the connection
     * is dropped and re-established (the server PONGs the new one). */
    obs.stop_after_ups = 2;
    assert_int_equal(pc_redis_cmd(c, 2, argv, lens, 0, on_reply, &rc), 0);
    (void)event_base_dispatch(base);
    assert_int_equal(rc.calls, 1);
    assert_int_equal(rc.nulls, 1);
    assert_int_equal(obs.downs, 1);
    assert_non_null(strstr(obs.last_why, "timed out"));
    assert_int_equal(obs.ups, 2);
    assert_int_equal(srv.accepted, 2);
    pc_redis_conn_destroy(c);
    fake_stop(&srv);
    event_free(safety);
    event_base_free(base);
}

static void destroy_completes_commands_in_flight_once(void **state)
{
    struct event_base *base = event_base_new();
    struct fake_server srv;
    struct pc_redis_conn_opts o = {0};
    struct pc_redis_conn *c = NULL;
    struct pc_redis_url u;
    struct observed obs = {0};
    struct reply_count rc = {0};
    const char *argv[2] = {"GET", "k"};
    size_t lens[2] = {3, 1};
    struct event *safety = arm_safety(base);

    (void)state;
    fake_start(&srv, base);
    obs.base = base;
    obs.stop_after_ups = 1;
    tcp_url(&u, srv.port);
    o.on_state = on_state;
    o.state_ctx = &obs;
    assert_int_equal(pc_redis_conn_create(base, &u, &o, &c, NULL), 0);
    (void)event_base_dispatch(base);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(pc_redis_cmd(c, 2, argv, lens, 0, on_reply, &rc), 0);
    }
    (void)event_base_loop(base, EVLOOP_NONBLOCK);
    assert_int_equal(rc.calls, 0);
    pc_redis_conn_destroy(c);
    assert_int_equal(rc.calls, 5);
    assert_int_equal(rc.nulls, 5);
    assert_int_equal(obs.downs, 0); /* destroy is not reported as a failure */
    fake_stop(&srv);
    event_free(safety);
    event_base_free(base);
}

static void args_builder_keeps_binary_and_sticky_errors(void **state)
{
    struct pc_redis_args a;

    (void)state;
    pc_redis_args_init(&a);
    pc_redis_args_addz(&a, "HSET");
    pc_redis_args_add(&a, "a\0b", 3);
    pc_redis_args_addu64(&a, 18446744073709551615u);
    pc_redis_args_addf(&a, "%s.%s", "item", "status");
    for (int i = 0; i < 100; i++) {
        pc_redis_args_addu64(&a, (uint64_t)i); /* grows past the first blocks */
    }
    assert_int_equal(pc_redis_args_error(&a), 0);
    assert_int_equal(a.n, 104);
    assert_int_equal(a.lens[1], 3);
    assert_memory_equal(a.data + a.off[1], "a\0b", 3);
    /* Arguments are (ptr, len) ranges of one buffer, not C strings. */
    assert_int_equal(a.lens[2], 20);
    assert_memory_equal(a.data + a.off[2], "18446744073709551615", 20);
    assert_int_equal(a.lens[3], 11);
    assert_memory_equal(a.data + a.off[3], "item.status", 11);
    assert_int_equal(a.lens[103], 2);
    assert_memory_equal(a.data + a.off[103], "99", 2);
    pc_redis_args_cleanup(&a);
    pc_redis_args_init(&a);
    pc_redis_args_addf(&a, "%0600d", 1); /* over the formatting bound */
    pc_redis_args_addz(&a, "ignored after the error");
    assert_int_equal(pc_redis_args_error(&a), PC_ELIMIT);
    assert_int_equal(a.n, 0);
    pc_redis_args_cleanup(&a);
}

static void every_script_has_a_name_and_a_source(void **state)
{
    (void)state;
    for (int id = 0; id < PC_SCRIPT_COUNT; id++) {
        assert_true(strlen(pc_script_name((enum pc_script)id)) > 0);
        assert_non_null(strstr(pc_script_source((enum pc_script)id), "redis.call"));
    }
    assert_string_equal(pc_script_name(PC_SCRIPT_STATES_WRITE), "states_write");
    assert_string_equal(pc_script_name((enum pc_script)PC_SCRIPT_COUNT), "?");
}

/* ------------------------------------------------------------------------ */
/* Store decoding                                                            */

static const char flow_json[] =
    "{\"app\": \"a\", \"profile\": \"p\", \"flow\": \"f\", \"items\": ["
    " {\"id\": \"one\", \"type\": \"sleep\"}, {\"id\": \"two\", \"type\": \"sleep\"},"
    " {\"id\": \"three\", \"type\": \"sleep\"}]}";

static void states_hash_decodes_by_flow_order_ignoring_strangers(void **state)
{
    struct pc_flow f;
    struct pc_states m;
    redisReply *r =
        rb_arr(8, rb_str("two"), rb_strn("\x81\xa1x\x01", 4), rb_str("gone"), rb_strn("\x01", 1),
               rb_str("one"), rb_strn("\xc0", 1), rb_str("three"), rb_strn("\xa2hi", 3));

    (void)state;
    assert_int_equal(pc_flow_parse_json(flow_json, strlen(flow_json), "t", &f, NULL), 0);
    assert_int_equal(pc_states_init(&m, 3), 0);
    assert_int_equal(pc_store_redis_decode(r, &f, &m, NULL), 0);
    assert_null(m.v[0].data); /* nil = no state */
    assert_int_equal(m.v[1].len, 4);
    assert_int_equal(m.v[2].len, 3);
    pc_states_cleanup(&m);
    pc_flow_cleanup(&f);
    rb_free(r);
}

static void states_hash_empty_or_malformed_is_an_error_and_out_unchanged(void **state)
{
    struct pc_flow f;
    struct pc_states m;
    redisReply *empty = rb_arr(0);
    redisReply *bad_value =
        rb_arr(4, rb_str("one"), rb_strn("\x81\xa1x\x01", 4), rb_str("two"), rb_strn("\xc1", 1));
    redisReply *trailing = rb_arr(2, rb_str("one"), rb_strn("\x01\x02", 2));
    redisReply *odd = rb_arr(1, rb_str("one"));
    redisReply *not_str = rb_arr(2, rb_str("one"), rb_int(1));
    struct pc_err err;

    (void)state;
    assert_int_equal(pc_flow_parse_json(flow_json, strlen(flow_json), "t", &f, NULL), 0);
    assert_int_equal(pc_states_init(&m, 3), 0);
    assert_int_equal(pc_store_redis_decode(empty, &f, &m, NULL), PC_ENOTFOUND);
    pc_err_clear(&err);
    assert_int_equal(pc_store_redis_decode(bad_value, &f, &m, &err), PC_ESCHEMA);
    assert_non_null(strstr(err.msg, "two"));
    assert_null(m.v[0].data);
    assert_int_not_equal(pc_store_redis_decode(trailing, &f, &m, NULL), 0);
    assert_int_equal(pc_store_redis_decode(odd, &f, &m, NULL), PC_ESCHEMA);
    assert_int_equal(pc_store_redis_decode(not_str, &f, &m, NULL), PC_ESCHEMA);
    assert_int_equal(pc_store_redis_decode(NULL, &f, &m, NULL), PC_ESCHEMA);
    assert_null(m.v[0].data);
    pc_states_cleanup(&m);
    pc_flow_cleanup(&f);
    rb_free(empty);
    rb_free(bad_value);
    rb_free(trailing);
    rb_free(odd);
    rb_free(not_str);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refused_connect_reports_down_and_retries_with_backoff),
        cmocka_unit_test(command_while_down_fails_once_and_never_inline),
        cmocka_unit_test(silent_server_times_out_command_and_connection_comes_back),
        cmocka_unit_test(destroy_completes_commands_in_flight_once),
        cmocka_unit_test(args_builder_keeps_binary_and_sticky_errors),
        cmocka_unit_test(every_script_has_a_name_and_a_source),
        cmocka_unit_test(states_hash_decodes_by_flow_order_ignoring_strangers),
        cmocka_unit_test(states_hash_empty_or_malformed_is_an_error_and_out_unchanged),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
