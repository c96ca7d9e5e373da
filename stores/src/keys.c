/*
 * keys.c - the Redis key and channel names of CONTRACT §3.
 *
 * Every name is built by one bounded formatting pass (only %s conversions:
 * copying is all a name needs, and names are built for every script call)
 * and checked for truncation, so a caller gets either the whole name or
 * PC_ELIMIT, never a prefix of it.
 * Components that sit inside a hash tag (`{ID}`, `{APP:PROFILE}`, `{Q}`) must
 * not contain braces: a stray `{` or `}` would move the tag and so the slot,
 * which breaks the one-slot rule of every Lua script. Such components, and
 * empty or NULL ones, are refused with PC_EINVAL. The prefix itself is checked
 * by pc_prefix_check once at start-up; here it only has to be non-empty and
 * brace-free for the same reason.
 */
#include "peace/keys.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "peace/ulid.h"

static const char exec_tag_open[] = ":exec:{";
static const char interrupt_suffix[] = "}:interrupt";

/* A component usable inside a name: non-empty and without braces. */
static int component_ok(const char *s)
{
    return s != NULL && s[0] != '\0' && strpbrk(s, "{}") == NULL;
}

static int format_name(char *out, size_t out_size, const char *fmt, ...) PC_PRINTF(3, 4);

/* fmt with %s conversions only, into out; the length, or PC_ELIMIT when the
 * name does not fit. */
static int format_name(char *out, size_t out_size, const char *fmt, ...)
{
    va_list ap;
    size_t n = 0;
    bool fits = true;

    if (out == NULL || out_size == 0) {
        return PC_ELIMIT;
    }
    va_start(ap, fmt);
    for (const char *f = fmt; *f != '\0' && fits; f++) {
        if (f[0] == '%' && f[1] == 's') {
            const char *arg = va_arg(ap, const char *);
            size_t len = strlen(arg);

            fits = len < out_size - n;
            if (fits) {
                memcpy(out + n, arg, len);
                n += len;
            }
            f++;
        } else {
            fits = n + 1 < out_size;
            if (fits) {
                out[n++] = *f;
            }
        }
    }
    va_end(ap);
    if (!fits) {
        out[0] = '\0';
        return PC_ELIMIT;
    }
    out[n] = '\0';
    return (int)n;
}

int pc_key_queue(char *out, size_t out_size, const char *prefix, const char *queue)
{
    if (!component_ok(prefix) || !component_ok(queue)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:queue:{%s}", prefix, queue);
}

int pc_key_queue_part(char *out, size_t out_size, const char *prefix, const char *queue,
                      unsigned part, unsigned partitions)
{
    char n[12];

    if (partitions == 0 || partitions > PC_PARTITIONS_MAX || part >= partitions) {
        return PC_EINVAL;
    }
    if (partitions == 1) {
        return pc_key_queue(out, out_size, prefix, queue);
    }
    if (!component_ok(prefix) || !component_ok(queue)) {
        return PC_EINVAL;
    }
    (void)snprintf(n, sizeof(n), "%u", part);
    return format_name(out, out_size, "%s:queue:{%s:%s}", prefix, queue, n);
}

unsigned pc_queue_partition_of(const char *exec_id, unsigned partitions)
{
    uint32_t h = 2166136261u;

    if (partitions <= 1 || exec_id == NULL) {
        return 0;
    }
    for (const unsigned char *p = (const unsigned char *)exec_id; *p != '\0'; p++) {
        h = (h ^ *p) * 16777619u;
    }
    return h % partitions;
}

unsigned pc_profile_slot(const char *app, const char *profile)
{
    const char *a = app != NULL ? app : "";
    const char *p = profile != NULL ? profile : "";
    uint16_t crc = pc_crc16(0, a, strlen(a));

    crc = pc_crc16(crc, ":", 1);
    return pc_crc16(crc, p, strlen(p)) & (PC_KEY_SLOTS - 1u);
}

bool pc_exec_colocated(const char *exec_id, const char *app, const char *profile)
{
    return exec_id != NULL &&
           pc_key_slot(exec_id, strlen(exec_id)) == pc_profile_slot(app, profile);
}

int pc_partitions_parse(const char *text, unsigned *out, struct pc_err *err)
{
    unsigned v = 0;
    size_t i = 0;

    for (; text != NULL && text[i] >= '0' && text[i] <= '9' && i < 3; i++) {
        v = v * 10 + (unsigned)(text[i] - '0');
    }
    if (text == NULL || i == 0 || text[i] != '\0' || v == 0 || v > PC_PARTITIONS_MAX) {
        return pc_err_set(err, PC_EINVAL, "partitions must be a number from 1 to %d",
                          PC_PARTITIONS_MAX);
    }
    *out = v;
    return 0;
}

int pc_key_exec(char *out, size_t out_size, const char *prefix, const char *exec_id)
{
    if (!component_ok(prefix) || !component_ok(exec_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:exec:{%s}", prefix, exec_id);
}

int pc_key_progress(char *out, size_t out_size, const char *prefix, const char *exec_id)
{
    if (!component_ok(prefix) || !component_ok(exec_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:exec:{%s}:progress", prefix, exec_id);
}

int pc_key_report(char *out, size_t out_size, const char *prefix, const char *exec_id)
{
    if (!component_ok(prefix) || !component_ok(exec_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:exec:{%s}:report", prefix, exec_id);
}

int pc_key_events(char *out, size_t out_size, const char *prefix, const char *exec_id)
{
    if (!component_ok(prefix) || !component_ok(exec_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:exec:{%s}:events", prefix, exec_id);
}

int pc_key_interrupt_channel(char *out, size_t out_size, const char *prefix, const char *exec_id)
{
    if (!component_ok(prefix) || !component_ok(exec_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s%s%s%s", prefix, exec_tag_open, exec_id, interrupt_suffix);
}

int pc_key_interrupt_pattern(char *out, size_t out_size, const char *prefix)
{
    /* Glob characters in the prefix would widen the pattern; pc_prefix_check
     * forbids them, and so does this check. */
    if (!component_ok(prefix) || strpbrk(prefix, "*?[]\\") != NULL) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:exec:*:interrupt", prefix);
}

int pc_key_states(char *out, size_t out_size, const char *prefix, const char *app,
                  const char *profile, const char *flow, enum pc_states_kind kind)
{
    const char *suffix;

    if (!component_ok(prefix) || !component_ok(app) || !component_ok(profile) ||
        !component_ok(flow)) {
        return PC_EINVAL;
    }
    switch (kind) {
    case PC_STATES_CURRENT:
        suffix = "current";
        break;
    case PC_STATES_GOAL:
        suffix = "goal";
        break;
    case PC_STATES_RECORDS:
        suffix = "items";
        break;
    default:
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:states:{%s:%s}:%s:%s", prefix, app, profile, flow,
                       suffix);
}

int pc_key_states_order(char *out, size_t out_size, const char *prefix, const char *app,
                        const char *profile, const char *flow)
{
    if (!component_ok(prefix) || !component_ok(app) || !component_ok(profile) ||
        !component_ok(flow)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:states:{%s:%s}:%s:order", prefix, app, profile, flow);
}

int pc_key_lock(char *out, size_t out_size, const char *prefix, const char *app,
                const char *profile)
{
    if (!component_ok(prefix) || !component_ok(app) || !component_ok(profile)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:lock:{%s:%s}", prefix, app, profile);
}

int pc_key_interrupts_latched(char *out, size_t out_size, const char *prefix)
{
    if (!component_ok(prefix)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:interrupts:latched", prefix);
}

int pc_key_profiles_released(char *out, size_t out_size, const char *prefix)
{
    if (!component_ok(prefix)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:profiles:released", prefix);
}

int pc_key_execs(char *out, size_t out_size, const char *prefix)
{
    if (!component_ok(prefix)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:execs", prefix);
}

int pc_key_dead(char *out, size_t out_size, const char *prefix)
{
    if (!component_ok(prefix)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:dead", prefix);
}

int pc_key_worker(char *out, size_t out_size, const char *prefix, const char *consumer)
{
    if (!component_ok(prefix) || !component_ok(consumer)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:worker:{%s}", prefix, consumer);
}

int pc_key_workers(char *out, size_t out_size, const char *prefix, const char *queue)
{
    if (!component_ok(prefix) || !component_ok(queue)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:workers:{%s}", prefix, queue);
}

int pc_key_job(char *out, size_t out_size, const char *prefix, const char *exec_id)
{
    if (!component_ok(prefix) || !component_ok(exec_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:exec:{%s}:job", prefix, exec_id);
}

int pc_key_job_copy(char *out, size_t out_size, const char *prefix, const char *digest)
{
    size_t n = digest != NULL ? strlen(digest) : 0;

    if (!component_ok(prefix) || n != PC_JOB_DIGEST_LEN ||
        strspn(digest, "0123456789abcdef") != n) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:jobs:{%s}", prefix, digest);
}

int pc_key_queues(char *out, size_t out_size, const char *prefix)
{
    if (!component_ok(prefix)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:queues", prefix);
}

int pc_key_dead_retried(char *out, size_t out_size, const char *prefix, const char *entry_id)
{
    if (!component_ok(prefix) || !component_ok(entry_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:dead:retried:{%s}", prefix, entry_id);
}

int pc_key_dead_retry_claim(char *out, size_t out_size, const char *prefix, const char *entry_id)
{
    if (!component_ok(prefix) || !component_ok(entry_id)) {
        return PC_EINVAL;
    }
    return format_name(out, out_size, "%s:dead:retried:{%s}:claim", prefix, entry_id);
}

int pc_key_parse_interrupt_channel(const char *channel, size_t len, const char *prefix,
                                   char *id_out, size_t id_out_size)
{
    size_t prefix_len;
    size_t open_len = sizeof(exec_tag_open) - 1;
    size_t suffix_len = sizeof(interrupt_suffix) - 1;
    size_t id_start;
    size_t id_len;

    if (channel == NULL || !component_ok(prefix) || id_out == NULL || id_out_size == 0) {
        return PC_EINVAL;
    }
    prefix_len = strlen(prefix);
    if (len < prefix_len + open_len + suffix_len + 1) {
        return PC_EINVAL;
    }
    if (memcmp(channel, prefix, prefix_len) != 0 ||
        memcmp(channel + prefix_len, exec_tag_open, open_len) != 0 ||
        memcmp(channel + len - suffix_len, interrupt_suffix, suffix_len) != 0) {
        return PC_EINVAL;
    }
    id_start = prefix_len + open_len;
    id_len = len - suffix_len - id_start;
    if (id_len >= id_out_size) {
        return PC_EINVAL;
    }
    for (size_t i = 0; i < id_len; i++) {
        char c = channel[id_start + i];

        if (c == '{' || c == '}' || c == '\0') {
            return PC_EINVAL;
        }
    }
    memcpy(id_out, channel + id_start, id_len);
    id_out[id_len] = '\0';
    return 0;
}

int pc_prefix_check(const char *prefix, struct pc_err *err)
{
    size_t n;

    if (prefix == NULL || prefix[0] == '\0') {
        return pc_err_set(err, PC_EINVAL, "key prefix is empty");
    }
    n = strlen(prefix);
    if (n > PC_PREFIX_MAX) {
        return pc_err_set(err, PC_EINVAL, "key prefix is longer than %d bytes", PC_PREFIX_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)prefix[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';

        if (!ok) {
            return pc_err_set(err, PC_EINVAL,
                              "key prefix may only hold [A-Za-z0-9_.-] (byte %zu is 0x%02x)", i,
                              (unsigned)c);
        }
    }
    return 0;
}
