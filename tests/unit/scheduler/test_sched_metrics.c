/*
 * test_sched_metrics.c - the /metrics text: every documented family with
 * HELP/TYPE, the exact sample lines for given numbers, nearest-rank
 * quantiles of the interrupt latency, and request counters by status.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "sched_metrics.h"

static void has_line(const struct pc_buf *b, const char *line)
{
    const char *text = pc_buf_str(b);
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)) != NULL; p++) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return;
        }
    }
    fail_msg("missing line \"%s\" in:\n%s", line, text);
}

static void nearest_rank_quantiles(void **state)
{
    static const double v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

    (void)state;
    assert_true(sched_quantile(v, 0, 0.5) == 0.0);
    assert_true(sched_quantile(v, 10, 0.5) == 5.0);
    assert_true(sched_quantile(v, 10, 0.9) == 9.0);
    assert_true(sched_quantile(v, 10, 0.99) == 10.0);
    assert_true(sched_quantile(v, 10, 0.0) == 1.0);
    assert_true(sched_quantile(v, 10, 1.0) == 10.0);
    assert_true(sched_quantile(v, 1, 0.5) == 1.0);
    assert_true(sched_quantile(v, 3, 0.5) == 2.0);
}

static void every_family_is_rendered_with_its_samples(void **state)
{
    double lat[] = {3.5, 0.25, 1.0, 2.0};
    struct sched_http_counts http;
    struct sched_metrics m;
    struct pc_buf b;

    (void)state;
    memset(&m, 0, sizeof(m));
    memset(&http, 0, sizeof(http));
    sched_http_count(&http, 200);
    sched_http_count(&http, 200);
    sched_http_count(&http, 404);
    sched_http_count(&http, 99);  /* ignored */
    sched_http_count(&http, 600); /* ignored */
    m.sampled = 9;
    m.by_status[SCHED_STATUS_QUEUED] = 2;
    m.by_status[SCHED_STATUS_RUNNING] = 1;
    m.by_status[SCHED_STATUS_FINISHED] = 6;
    m.by_outcome[PC_OUTCOME_COMPLETE] = 4;
    m.by_outcome[PC_OUTCOME_BLOCK_INTERRUPTED] = 2;
    memcpy(m.queues[0].name.s, "default", 8);
    m.queues[0].length = 7;
    m.queues[0].pending = 3;
    m.queues[0].workers_live = 2;
    memcpy(m.queues[1].name.s, "bulk", 5);
    m.n_queues = 2;
    m.interrupt_s = lat;
    m.n_interrupt = 4;
    m.http = &http;
    m.sse_streams = 5;
    m.conns_open = 3;
    m.conns_max = 16;
    m.conns_refused = 2;
    m.requests_expired = 7;
    pc_buf_init(&b, 1u << 20);
    assert_int_equal(sched_metrics_render(&m, &b), 0);
    has_line(&b, "# TYPE peace_executions gauge");
    has_line(&b, "peace_executions{status=\"queued\"} 2");
    has_line(&b, "peace_executions{status=\"running\"} 1");
    has_line(&b, "peace_executions{status=\"finished\"} 6");
    has_line(&b, "peace_executions_sampled 9");
    has_line(&b, "peace_executions_finished{outcome=\"complete\"} 4");
    has_line(&b, "peace_executions_finished{outcome=\"block_interrupted\"} 2");
    has_line(&b, "peace_executions_finished{outcome=\"rejected\"} 0");
    has_line(&b, "peace_queue_length{queue=\"default\"} 7");
    has_line(&b, "peace_queue_length{queue=\"bulk\"} 0");
    has_line(&b, "peace_queue_pending{queue=\"default\"} 3");
    has_line(&b, "peace_workers_live{queue=\"default\"} 2");
    has_line(&b, "# TYPE peace_interrupt_to_outcome_seconds summary");
    has_line(&b, "peace_interrupt_to_outcome_seconds{quantile=\"0.5\"} 1.000");
    has_line(&b, "peace_interrupt_to_outcome_seconds{quantile=\"0.9\"} 3.500");
    has_line(&b, "peace_interrupt_to_outcome_seconds{quantile=\"0.99\"} 3.500");
    has_line(&b, "peace_interrupt_to_outcome_seconds_sum 6.750");
    has_line(&b, "peace_interrupt_to_outcome_seconds_count 4");
    has_line(&b, "# TYPE peace_scheduler_http_requests_total counter");
    has_line(&b, "peace_scheduler_http_requests_total{code=\"200\"} 2");
    has_line(&b, "peace_scheduler_http_requests_total{code=\"404\"} 1");
    assert_null(strstr(pc_buf_str(&b), "code=\"500\""));
    has_line(&b, "peace_scheduler_sse_streams 5");
    has_line(&b, "# TYPE peace_scheduler_http_connections_open gauge");
    has_line(&b, "peace_scheduler_http_connections_open 3");
    has_line(&b, "# TYPE peace_scheduler_http_connections_max gauge");
    has_line(&b, "peace_scheduler_http_connections_max 16");
    has_line(&b, "# TYPE peace_scheduler_http_connections_refused_total counter");
    has_line(&b, "peace_scheduler_http_connections_refused_total 2");
    has_line(&b, "# TYPE peace_scheduler_http_requests_expired_total counter");
    has_line(&b, "peace_scheduler_http_requests_expired_total 7");
    /* The caller's array was sorted in place. */
    assert_true(lat[0] == 0.25 && lat[3] == 3.5);
    /* The text ends with a newline (the format requires it). */
    assert_int_equal(pc_buf_str(&b)[b.len - 1], '\n');
    pc_buf_cleanup(&b);
}

static void empty_numbers_still_name_every_family(void **state)
{
    static const char *const families[] = {
        "peace_executions",
        "peace_executions_finished",
        "peace_queue_length",
        "peace_queue_pending",
        "peace_workers_live",
        "peace_interrupt_to_outcome_seconds",
        "peace_scheduler_http_requests_total",
        "peace_scheduler_http_connections_open",
        "peace_scheduler_http_connections_max",
        "peace_scheduler_http_connections_refused_total",
        "peace_scheduler_http_requests_expired_total",
        "peace_execution_duration_seconds",
        "peace_block_duration_seconds",
        "peace_queue_wait_seconds",
    };
    struct sched_metrics m;
    struct pc_buf b;

    (void)state;
    memset(&m, 0, sizeof(m));
    pc_buf_init(&b, 1u << 20);
    assert_int_equal(sched_metrics_render(&m, &b), 0);
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        char help[128];

        (void)snprintf(help, sizeof(help), "# HELP %s ", families[i]);
        assert_non_null(strstr(pc_buf_str(&b), help));
    }
    has_line(&b, "peace_interrupt_to_outcome_seconds_count 0");
    pc_buf_cleanup(&b);
}

static void timings_are_histograms_by_command_and_label(void **state)
{
    struct sched_timing exec_t[] = {
        {PC_CMD_ENSURE, PC_OUTCOME_COMPLETE, 2.0},
        {PC_CMD_DIFF, PC_OUTCOME_COMPLETE, 0.02},
        {PC_CMD_ENSURE, PC_OUTCOME_COMPLETE, 0.04},
        {PC_CMD_ENSURE, PC_OUTCOME_ITEM_ERROR, 400.0},
    };
    struct sched_timing block_t[] = {
        {PC_CMD_ENSURE, PC_BLOCK_APPLY_ENSURE, 1.5},
        {PC_CMD_ENSURE, PC_BLOCK_DISCOVER, 0.003},
        {PC_CMD_ENSURE, PC_BLOCK_APPLY_ENSURE, 0.2},
    };
    double wait[] = {0.5, 0.001};
    struct sched_metrics m;
    struct pc_buf b;

    (void)state;
    memset(&m, 0, sizeof(m));
    m.exec_t = exec_t;
    m.n_exec = 4;
    m.block_t = block_t;
    m.n_block = 3;
    m.wait_s = wait;
    m.n_wait = 2;
    pc_buf_init(&b, 1u << 20);
    assert_int_equal(sched_metrics_render(&m, &b), 0);
    assert_non_null(strstr(pc_buf_str(&b), "# TYPE peace_execution_duration_seconds histogram\n"));
    has_line(&b, "peace_execution_duration_seconds_bucket{cmd=\"ensure\",outcome=\"complete\","
                 "le=\"0.05\"} 1");
    has_line(&b, "peace_execution_duration_seconds_bucket{cmd=\"ensure\",outcome=\"complete\","
                 "le=\"2.5\"} 2");
    has_line(&b, "peace_execution_duration_seconds_count{cmd=\"ensure\",outcome=\"complete\"} 2");
    has_line(&b, "peace_execution_duration_seconds_sum{cmd=\"ensure\",outcome=\"complete\"} 2.040");
    has_line(&b, "peace_execution_duration_seconds_bucket{cmd=\"ensure\",outcome=\"item_error\","
                 "le=\"300\"} 0");
    has_line(&b, "peace_execution_duration_seconds_bucket{cmd=\"ensure\",outcome=\"item_error\","
                 "le=\"+Inf\"} 1");
    has_line(&b, "peace_execution_duration_seconds_count{cmd=\"diff\",outcome=\"complete\"} 1");
    has_line(&b, "peace_block_duration_seconds_bucket{cmd=\"ensure\",block=\"apply_ensure\","
                 "le=\"0.25\"} 1");
    has_line(&b, "peace_block_duration_seconds_count{cmd=\"ensure\",block=\"apply_ensure\"} 2");
    has_line(&b, "peace_block_duration_seconds_bucket{cmd=\"ensure\",block=\"discover\","
                 "le=\"0.005\"} 1");
    has_line(&b, "peace_queue_wait_seconds_bucket{le=\"0.005\"} 1");
    has_line(&b, "peace_queue_wait_seconds_bucket{le=\"+Inf\"} 2");
    has_line(&b, "peace_queue_wait_seconds_count 2");
    pc_buf_cleanup(&b);
}

static void a_full_buffer_fails_with_elimit(void **state)
{
    struct sched_metrics m;
    struct pc_buf b;

    (void)state;
    memset(&m, 0, sizeof(m));
    pc_buf_init(&b, 64);
    assert_int_equal(sched_metrics_render(&m, &b), PC_ELIMIT);
    pc_buf_cleanup(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nearest_rank_quantiles),
        cmocka_unit_test(every_family_is_rendered_with_its_samples),
        cmocka_unit_test(empty_numbers_still_name_every_family),
        cmocka_unit_test(timings_are_histograms_by_command_and_label),
        cmocka_unit_test(a_full_buffer_fails_with_elimit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
