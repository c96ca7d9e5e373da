/*
 * test_redis_cluster.c - the Redis Cluster client's decisions without a
 * server: key slots (checked against CLUSTER KEYSLOT of Redis 7.0), routing
 * keys of the commands the fleet sends, CLUSTER SLOTS replies (6.x and 7.0
 * shapes, hostless nodes, malformed ones refused) and redirect replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../worker/reply_builder.h"
#include "peace/redis_cluster.h"

static void crc16_matches_the_xmodem_check_value(void **state)
{
    (void)state;
    assert_int_equal(pc_cluster_crc16("123456789", 9), 0x31C3);
    assert_int_equal(pc_cluster_crc16("", 0), 0);
}

static unsigned slot(const char *k)
{
    return pc_cluster_key_slot(k, strlen(k));
}

static void key_slots_match_redis(void **state)
{
    (void)state;
    /* Values from CLUSTER KEYSLOT on redis-server 7.0. */
    assert_int_equal(slot("foo"), 12182);
    assert_int_equal(slot("bar"), 5061);
    assert_int_equal(slot("123456789"), 12739);
    assert_int_equal(slot("{user1000}.following"), 3443);
    assert_int_equal(slot("foo{}{bar}"), 8363);    /* empty tag: the whole key */
    assert_int_equal(slot("foo{{bar}}zap"), 4015); /* tag "{bar" */
    assert_int_equal(slot("foo{bar}{zap}"), 5061); /* first tag only: "bar" */
    assert_int_equal(slot("{}"), 15257);
    assert_int_equal(slot("peace:queue:{default}"), 5718);
    assert_int_equal(slot("peace:queue:{default:0}"), 6591);
    assert_int_equal(slot("peace:queue:{default:5}"), 2330);
    /* Every key of one execution shares its slot. */
    assert_int_equal(slot("peace:exec:{abc}"), slot("peace:exec:{abc}:progress"));
    assert_int_equal(slot("peace:exec:{abc}"), slot("peace:exec:{abc}:events"));
    assert_int_equal(slot("{"), pc_cluster_crc16("{", 1) & 16383u);
    assert_int_equal(slot("a}b{"), pc_cluster_crc16("a}b{", 4) & 16383u);
    assert_int_equal(pc_cluster_key_slot(NULL, 0), 0);
}

static int key_of(int argc, ...)
{
    const char *argv[32];
    size_t lens[32];
    va_list ap;

    va_start(ap, argc);
    for (int i = 0; i < argc; i++) {
        argv[i] = va_arg(ap, const char *);
        lens[i] = strlen(argv[i]);
    }
    va_end(ap);
    return pc_cluster_cmd_key(argc, argv, lens);
}

static void routing_keys_of_the_fleets_commands(void **state)
{
    (void)state;
    assert_int_equal(key_of(3, "HGET", "k", "f"), 1);
    assert_int_equal(key_of(4, "hgetall", "k", "x", "y"), 1);
    assert_int_equal(key_of(5, "EVALSHA", "sha", "2", "k1", "k2"), 3);
    assert_int_equal(key_of(4, "eval", "src", "1", "k1"), 3);
    assert_int_equal(key_of(3, "EVAL", "src", "0"), -1);
    assert_int_equal(key_of(4, "EVAL", "src", "0", "arg"), -1);
    assert_int_equal(key_of(11, "XREADGROUP", "GROUP", "g", "c", "COUNT", "1", "BLOCK", "5",
                            "STREAMS", "q", ">"),
                     9);
    assert_int_equal(key_of(6, "XREAD", "BLOCK", "5", "STREAMS", "s", "0"), 4);
    assert_int_equal(key_of(3, "XREAD", "COUNT", "STREAMS"), -1);
    assert_int_equal(key_of(5, "XGROUP", "CREATE", "q", "g", "$"), 2);
    assert_int_equal(key_of(5, "XGROUP", "CREATECONSUMER", "q", "g", "c"), 2);
    assert_int_equal(key_of(3, "XINFO", "GROUPS", "q"), 2);
    assert_int_equal(key_of(2, "XINFO", "HELP"), -1);
    assert_int_equal(key_of(2, "MEMORY", "STATS"), -1);
    assert_int_equal(key_of(3, "PUBLISH", "ch", "msg"), -1);
    assert_int_equal(key_of(1, "PING"), -1);
    assert_int_equal(key_of(3, "SCRIPT", "LOAD", "src"), -1);
    assert_int_equal(key_of(2, "CLUSTER", "SLOTS"), -1);
    assert_int_equal(key_of(1, "XLEN"), -1);
    assert_int_equal(key_of(2, "XLEN", "q"), 1);
    assert_int_equal(pc_cluster_cmd_key(0, NULL, NULL), -1);
}

/* [start, end, [host, port, id (, metadata)], replicas...] */
static redisReply *range(long long a, long long b, const char *host, long long port, bool meta)
{
    redisReply *master = meta ? rb_arr(4, rb_str(host), rb_int(port), rb_str("id1"), rb_arr(0))
                              : rb_arr(3, rb_str(host), rb_int(port), rb_str("id1"));

    return rb_arr(4, rb_int(a), rb_int(b), master,
                  rb_arr(3, rb_str("127.0.0.1"), rb_int(9999), rb_str("replica")));
}

static void cluster_slots_of_three_masters(void **state)
{
    struct pc_redis_addr asked = {"10.0.0.9", 7000};
    struct pc_cluster_topo *t = malloc(sizeof(*t));
    struct pc_err err;
    redisReply *r = rb_arr(
        4, range(0, 5460, "127.0.0.1", 7001, true), range(5461, 10922, "127.0.0.1", 7002, true),
        range(10923, 16000, "", 7003, false), range(16001, 16383, "127.0.0.1", 7001, true));

    (void)state;
    assert_non_null(t);
    assert_int_equal(pc_cluster_parse_slots(r, &asked, t, &err), 0);
    assert_int_equal(t->nnodes, 3);
    assert_int_equal(t->covered, PC_CLUSTER_SLOTS);
    assert_string_equal(t->nodes[0].host, "127.0.0.1");
    assert_int_equal(t->nodes[0].port, 7001);
    assert_int_equal(t->nodes[1].port, 7002);
    /* An empty ip is the node that answered. */
    assert_string_equal(t->nodes[2].host, "10.0.0.9");
    assert_int_equal(t->nodes[2].port, 7003);
    assert_int_equal(t->slot_node[0], 0);
    assert_int_equal(t->slot_node[5460], 0);
    assert_int_equal(t->slot_node[5461], 1);
    assert_int_equal(t->slot_node[12000], 2);
    assert_int_equal(t->slot_node[16383], 0); /* a second range of the first master */
    rb_free(r);

    /* A partial table: the uncovered slots have no node. */
    r = rb_arr(1, range(100, 199, "h", 1, false));
    assert_int_equal(pc_cluster_parse_slots(r, &asked, t, &err), 0);
    assert_int_equal(t->covered, 100);
    assert_int_equal(t->slot_node[99], PC_CLUSTER_NO_NODE);
    assert_int_equal(t->slot_node[150], 0);
    rb_free(r);
    free(t);
}

static void malformed_cluster_slots_are_refused(void **state)
{
    struct pc_redis_addr asked = {"h", 1};
    struct pc_cluster_topo *t = malloc(sizeof(*t));
    struct pc_err err;
    redisReply *bad[] = {
        rb_err("ERR This instance has cluster support disabled"),
        rb_str("nope"),
        rb_arr(1, rb_arr(2, rb_int(0), rb_int(1))),
        rb_arr(1, rb_arr(3, rb_int(5), rb_int(4), rb_arr(2, rb_str("h"), rb_int(1)))),
        rb_arr(1, rb_arr(3, rb_int(0), rb_int(16384), rb_arr(2, rb_str("h"), rb_int(1)))),
        rb_arr(1, rb_arr(3, rb_int(-1), rb_int(3), rb_arr(2, rb_str("h"), rb_int(1)))),
        rb_arr(1, rb_arr(3, rb_int(0), rb_int(3), rb_arr(2, rb_str("h"), rb_int(0)))),
        rb_arr(1, rb_arr(3, rb_int(0), rb_int(3), rb_arr(2, rb_str("h"), rb_int(70000)))),
        rb_arr(1, rb_arr(3, rb_int(0), rb_int(3), rb_arr(2, rb_int(1), rb_int(1)))),
        rb_arr(1, rb_arr(3, rb_int(0), rb_int(3), rb_arr(1, rb_str("h")))),
        rb_arr(1, rb_arr(3, rb_int(0), rb_int(3), rb_arr(2, rb_str("a b"), rb_int(1)))),
        rb_arr(1, rb_arr(3, rb_str("0"), rb_int(3), rb_arr(2, rb_str("h"), rb_int(1)))),
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        pc_err_clear(&err);
        assert_int_not_equal(pc_cluster_parse_slots(bad[i], &asked, t, &err), 0);
        assert_true(strncmp(err.msg, "CLUSTER SLOTS", 13) == 0);
        rb_free(bad[i]);
    }
    free(t);
}

static struct pc_cluster_redirect classify(const char *text)
{
    struct pc_redis_addr from = {"192.168.1.5", 7005};
    redisReply *r = rb_err(text);
    struct pc_cluster_redirect d = pc_cluster_classify(r, &from);

    rb_free(r);
    return d;
}

static void redirects_are_read(void **state)
{
    struct pc_cluster_redirect d;
    redisReply *ok = rb_str("MOVED 1 h:1");

    (void)state;
    d = classify("MOVED 3999 127.0.0.1:6381");
    assert_int_equal(d.kind, PC_CLUSTER_MOVED);
    assert_int_equal(d.slot, 3999);
    assert_string_equal(d.addr.host, "127.0.0.1");
    assert_int_equal(d.addr.port, 6381);
    d = classify("ASK 16383 [::1]:7000");
    assert_int_equal(d.kind, PC_CLUSTER_ASK);
    assert_int_equal(d.slot, 16383);
    assert_string_equal(d.addr.host, "::1");
    assert_int_equal(d.addr.port, 7000);
    /* No host: the node that answered. */
    d = classify("MOVED 0 :7010");
    assert_int_equal(d.kind, PC_CLUSTER_MOVED);
    assert_string_equal(d.addr.host, "192.168.1.5");
    assert_int_equal(d.addr.port, 7010);
    assert_int_equal(classify("TRYAGAIN Multiple keys request during rehashing of slot").kind,
                     PC_CLUSTER_TRYAGAIN);
    assert_int_equal(classify("CLUSTERDOWN The cluster is down").kind, PC_CLUSTER_CLUSTERDOWN);
    /* Anything else, malformed redirects included, is the caller's reply. */
    assert_int_equal(classify("ERR unknown command").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("NOSCRIPT No matching script").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED 16384 h:1").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED x h:1").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED 12 h").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED 12 h:0").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED 12 h:123456").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED 12 h:1x").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED 12").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("MOVED").kind, PC_CLUSTER_REPLY);
    assert_int_equal(classify("ASK 1 a b:1").kind, PC_CLUSTER_REPLY);
    /* Only error replies redirect. */
    assert_int_equal(pc_cluster_classify(ok, NULL).kind, PC_CLUSTER_REPLY);
    assert_int_equal(pc_cluster_classify(NULL, NULL).kind, PC_CLUSTER_REPLY);
    rb_free(ok);
}

static void retry_delays_grow_and_stop_at_a_second(void **state)
{
    (void)state;
    assert_int_equal(pc_cluster_retry_delay_ms(0), 25);
    assert_int_equal(pc_cluster_retry_delay_ms(1), 50);
    assert_int_equal(pc_cluster_retry_delay_ms(5), 800);
    assert_int_equal(pc_cluster_retry_delay_ms(6), 1000);
    assert_int_equal(pc_cluster_retry_delay_ms(1000), 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc16_matches_the_xmodem_check_value),
        cmocka_unit_test(key_slots_match_redis),
        cmocka_unit_test(routing_keys_of_the_fleets_commands),
        cmocka_unit_test(cluster_slots_of_three_masters),
        cmocka_unit_test(malformed_cluster_slots_are_refused),
        cmocka_unit_test(redirects_are_read),
        cmocka_unit_test(retry_delays_grow_and_stop_at_a_second),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
