/*
 * test_submit.c - the one submit implementation (peace/submit.h): the
 * commands, in order, with every meta field (`items` in flow order), and the
 * job copy shared by submits of the same content.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "peace/keys.h"
#include "peace/redis_cluster.h"
#include "peace/submit.h"
#include "peace/ulid.h"

static const char *arg(const struct pc_redis_args *a, size_t i, char *buf, size_t size)
{
    size_t n = a->lens[i] < size - 1 ? a->lens[i] : size - 1;

    memcpy(buf, a->data + a->off[i], n);
    buf[n] = '\0';
    return buf;
}

/* The value following field `name` in an HSET, or NULL. */
static const char *field(const struct pc_redis_args *a, const char *name, char *buf, size_t size)
{
    char k[64];

    for (size_t i = 2; i + 1 < a->n; i += 2) {
        if (strcmp(arg(a, i, k, sizeof(k)), name) == 0) {
            return arg(a, i + 1, buf, size);
        }
    }
    return NULL;
}

static void submit_builds_hset_zadd_xadd_with_items_in_flow_order(void **state)
{
    struct msg_job job;
    struct pc_flow_item items[3];
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    const char *argv[32];
    char buf[128];
    static const char bytes[] = "\x81\xa1v\x01";

    (void)state;
    memset(&job, 0, sizeof(job));
    memset(items, 0, sizeof(items));
    memcpy(job.id, "01ARZ3NDEKTSV4RRFFQ69G5FAV", PC_ULID_LEN + 1);
    job.cmd = PC_CMD_ENSURE;
    job.created_ms = 1700000000000ull;
    (void)snprintf(job.queue.s, sizeof(job.queue.s), "%s", "q1");
    (void)snprintf(job.flow.app.s, sizeof(job.flow.app.s), "%s", "app");
    (void)snprintf(job.flow.profile.s, sizeof(job.flow.profile.s), "%s", "prof");
    (void)snprintf(job.flow.flow.s, sizeof(job.flow.flow.s), "%s", "fl");
    (void)snprintf(items[0].id.s, sizeof(items[0].id.s), "%s", "zeta");
    (void)snprintf(items[1].id.s, sizeof(items[1].id.s), "%s", "alpha");
    (void)snprintf(items[2].id.s, sizeof(items[2].id.s), "%s", "mid");
    for (size_t i = 0; i < 3; i++) {
        (void)snprintf(items[i].type.s, sizeof(items[i].type.s), "%s", "sleep");
    }
    job.flow.items = items;
    job.flow.n_items = 3;
    assert_int_equal(pc_submit_args("pfx", 1, &job, bytes, 4, 5, a), 0);
    assert_string_equal(arg(&a[1], 0, buf, sizeof(buf)), "HSET");
    assert_string_equal(arg(&a[1], 1, buf, sizeof(buf)), "pfx:exec:{01ARZ3NDEKTSV4RRFFQ69G5FAV}");
    assert_string_equal(field(&a[1], "items", buf, sizeof(buf)), "zeta,alpha,mid");
    assert_string_equal(field(&a[1], "status", buf, sizeof(buf)), "queued");
    assert_string_equal(field(&a[1], "cmd", buf, sizeof(buf)), "ensure");
    assert_string_equal(field(&a[1], "queue", buf, sizeof(buf)), "q1");
    assert_string_equal(field(&a[1], "created_ms", buf, sizeof(buf)), "1700000000000");
    assert_string_equal(field(&a[1], "blocks_total", buf, sizeof(buf)), "5");
    assert_string_equal(field(&a[1], "items_total", buf, sizeof(buf)), "3");
    assert_string_equal(field(&a[1], "items_done", buf, sizeof(buf)), "0");
    assert_string_equal(field(&a[1], "attempt", buf, sizeof(buf)), "0");
    assert_string_equal(arg(&a[2], 0, buf, sizeof(buf)), "ZADD");
    assert_string_equal(arg(&a[2], 1, buf, sizeof(buf)), "pfx:execs");
    assert_string_equal(arg(&a[3], 0, buf, sizeof(buf)), "XADD");
    assert_string_equal(arg(&a[3], 1, buf, sizeof(buf)), "pfx:queue:{q1}");
    assert_int_equal(a[3].lens[6], 4);
    assert_memory_equal(a[3].data + a[3].off[6], bytes, 4);
    pc_redis_args_argv(&a[3], argv);
    assert_memory_equal(argv[3], "exec", 4);
    /* The job is kept for a rerun, first, content-addressed with its own
     * expiry: the job with the id and created_ms blanked, named by the meta. */
    {
        struct pc_buf copy;
        struct pc_err err;
        struct msg_job back;
        char digest[PC_JOB_DIGEST_LEN + 1];
        char want[160];

        memset(&copy, 0, sizeof(copy));
        assert_int_equal(pc_submit_job_copy(&job, &copy, digest, &err), 0);
        assert_int_equal(strlen(digest), 64);
        assert_int_equal(PC_SUBMIT_COPY, 0);
        assert_string_equal(arg(&a[PC_SUBMIT_COPY], 0, buf, sizeof(buf)), "SET");
        (void)snprintf(want, sizeof(want), "pfx:jobs:{%s}", digest);
        assert_string_equal(arg(&a[PC_SUBMIT_COPY], 1, buf, sizeof(buf)), want);
        assert_int_equal(a[PC_SUBMIT_COPY].lens[2], copy.len);
        assert_memory_equal(a[PC_SUBMIT_COPY].data + a[PC_SUBMIT_COPY].off[2], copy.data, copy.len);
        assert_string_equal(arg(&a[PC_SUBMIT_COPY], 3, buf, sizeof(buf)), "EX");
        assert_string_equal(arg(&a[PC_SUBMIT_COPY], 4, buf, sizeof(buf)), "604800");
        assert_string_equal(field(&a[PC_SUBMIT_META], "job", buf, sizeof(buf)), digest);
        /* The copy decodes as the job, with neither its id nor its time. */
        memset(&back, 0, sizeof(back));
        assert_int_equal(msg_job_decode(copy.data, copy.len, &back, &err), 0);
        assert_string_equal(back.id, "00000000000000000000000000");
        assert_int_equal(back.created_ms, 0);
        assert_int_equal(back.flow.n_items, 3);
        assert_string_equal(back.flow.items[1].id.s, "alpha");
        msg_job_cleanup(&back);
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        /* Another submit of the same content shares the copy; other content does not. */
        memcpy(job.id, "01ARZ3NDEKTSV4RRFFQ69G5FAW", PC_ULID_LEN + 1);
        job.created_ms++;
        assert_int_equal(pc_submit_args("pfx", 1, &job, bytes, 4, 5, a), 0);
        (void)snprintf(want, sizeof(want), "pfx:jobs:{%s}", digest);
        assert_string_equal(arg(&a[PC_SUBMIT_COPY], 1, buf, sizeof(buf)), want);
        assert_string_equal(field(&a[PC_SUBMIT_META], "job", buf, sizeof(buf)), digest);
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        job.cmd = PC_CMD_DISCOVER;
        assert_int_equal(pc_submit_args("pfx", 1, &job, bytes, 4, 5, a), 0);
        assert_string_not_equal(arg(&a[PC_SUBMIT_COPY], 1, buf, sizeof(buf)), want);
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        job.cmd = PC_CMD_ENSURE;
        pc_buf_cleanup(&copy);
    }
    /* A prefix that makes no key is refused. */
    assert_int_not_equal(pc_submit_args("bad{prefix", 1, &job, bytes, 4, 5, a), 0);
    for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
        pc_redis_args_cleanup(&a[k]);
    }
}

/* With P partitions the job goes to the stream of its id's partition; the
 * meta and the index do not change. */
static void submit_to_the_partition_of_the_id(void **state)
{
    struct msg_job job;
    struct pc_flow_item item;
    struct pc_redis_args a[PC_SUBMIT_CMDS];
    char buf[128];
    char want[128];
    static const char bytes[] = "\x81\xa1v\x01";
    unsigned seen[6] = {0};

    (void)state;
    memset(&job, 0, sizeof(job));
    memset(&item, 0, sizeof(item));
    (void)snprintf(job.queue.s, sizeof(job.queue.s), "%s", "q1");
    (void)snprintf(job.flow.app.s, sizeof(job.flow.app.s), "%s", "app");
    (void)snprintf(job.flow.profile.s, sizeof(job.flow.profile.s), "%s", "prof");
    (void)snprintf(job.flow.flow.s, sizeof(job.flow.flow.s), "%s", "fl");
    (void)snprintf(item.id.s, sizeof(item.id.s), "%s", "a");
    (void)snprintf(item.type.s, sizeof(item.type.s), "%s", "sleep");
    job.flow.items = &item;
    job.flow.n_items = 1;
    for (unsigned i = 0; i < 60; i++) {
        unsigned part;

        (void)snprintf(job.id, sizeof(job.id), "01ARZ3NDEKTSV4RRFFQ69G%04u", i);
        part = pc_queue_partition_of(job.id, 6);
        assert_true(part < 6);
        seen[part]++;
        assert_int_equal(pc_submit_args("pfx", 6, &job, bytes, 4, 5, a), 0);
        (void)snprintf(want, sizeof(want), "pfx:queue:{q1:%u}", part);
        assert_string_equal(arg(&a[3], 1, buf, sizeof(buf)), want);
        (void)snprintf(want, sizeof(want), "pfx:exec:{%s}", job.id);
        assert_string_equal(arg(&a[1], 1, buf, sizeof(buf)), want);
        assert_string_equal(arg(&a[2], 1, buf, sizeof(buf)), "pfx:execs");
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
        /* One partition is the old single stream. */
        assert_int_equal(pc_submit_args("pfx", 1, &job, bytes, 4, 5, a), 0);
        assert_string_equal(arg(&a[3], 1, buf, sizeof(buf)), "pfx:queue:{q1}");
        for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
            pc_redis_args_cleanup(&a[k]);
        }
    }
    /* 60 ids over 6 partitions: every partition gets some. */
    for (unsigned p = 0; p < 6; p++) {
        assert_true(seen[p] > 0);
    }
    /* Out of range partition counts build nothing. */
    assert_int_not_equal(pc_submit_args("pfx", 0, &job, bytes, 4, 5, a), 0);
    for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
        pc_redis_args_cleanup(&a[k]);
    }
    assert_int_not_equal(pc_submit_args("pfx", PC_PARTITIONS_MAX + 1, &job, bytes, 4, 5, a), 0);
    for (size_t k = 0; k < PC_SUBMIT_CMDS; k++) {
        pc_redis_args_cleanup(&a[k]);
    }
}

static uint64_t tick_ms(void *ctx)
{
    return (*(uint64_t *)ctx)++;
}

/* Ids placed in their profile's slot: the slot Redis Cluster gives the
 * execution's keys (computed by the cluster client's own CRC16, independent
 * of pc_ulid_set_slot's) is that of the profile's lock, for many profiles;
 * the queue partitions (FNV-1a of the id) still spread evenly, also when
 * every id is in one slot (one busy profile). */
static void colocated_ids_share_the_profile_slot_and_spread_over_partitions(void **state)
{
    uint64_t now = 1700000000000ull;
    struct pc_ulid_gen g;
    char key[PC_KEY_MAX];
    unsigned seen[6] = {0};
    const unsigned n = 60000;

    (void)state;
    pc_ulid_gen_init(&g, tick_ms, &now, NULL, NULL);
    for (unsigned i = 0; i < 500; i++) {
        char app[32];
        char prof[32];
        char id[PC_ULID_LEN + 1];
        unsigned lock_slot;

        (void)snprintf(app, sizeof(app), "app%u", i % 7);
        (void)snprintf(prof, sizeof(prof), "profile_%u", i);
        assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
        assert_int_equal(pc_key_lock(key, sizeof(key), "peace", app, prof) > 0, 1);
        lock_slot = pc_cluster_key_slot(key, strlen(key));
        assert_int_equal(pc_profile_slot(app, prof), lock_slot);
        pc_submit_colocate_id(id, app, prof);
        assert_true(pc_ulid_valid(id, strlen(id)));
        assert_true(pc_exec_colocated(id, app, prof));
        assert_int_equal(pc_key_exec(key, sizeof(key), "peace", id) > 0, 1);
        assert_int_equal(pc_cluster_key_slot(key, strlen(key)), lock_slot);
        assert_int_equal(pc_key_progress(key, sizeof(key), "peace", id) > 0, 1);
        assert_int_equal(pc_cluster_key_slot(key, strlen(key)), lock_slot);
    }
    /* One profile, many ids (one per millisecond and several per millisecond). */
    for (unsigned i = 0; i < n; i++) {
        char id[PC_ULID_LEN + 1];

        if (i % 3 == 0) {
            now -= 1; /* the same millisecond again: the generator increments */
        }
        assert_int_equal(pc_ulid_next(&g, id, NULL), 0);
        pc_submit_colocate_id(id, "bench", "p0");
        seen[pc_queue_partition_of(id, 6)]++;
    }
    for (unsigned p = 0; p < 6; p++) {
        /* 10000 expected; 5 standard deviations is about 456. */
        assert_in_range(seen[p], n / 6 - 500, n / 6 + 500);
    }
    /* Not a ULID (a third party's UUID): left as it is. */
    {
        char id[PC_ULID_LEN + 1] = "not-a-ulid-0123";

        pc_submit_colocate_id(id, "app", "prof");
        assert_string_equal(id, "not-a-ulid-0123");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(submit_builds_hset_zadd_xadd_with_items_in_flow_order),
        cmocka_unit_test(submit_to_the_partition_of_the_id),
        cmocka_unit_test(colocated_ids_share_the_profile_slot_and_spread_over_partitions),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
