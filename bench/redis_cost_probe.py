#!/usr/bin/env python3
"""redis_cost_probe.py - what single Redis operations cost, in Redis CPU
(INFO cpu, user + sys) per call, pipelined 500 at a time: the figures behind
docs/BENCHMARKS.md "Redis cost per execution" (where a 1-item execution's
Redis time goes, and what a different layout would save).

    bench/redis_cost_probe.py PORT [N]

PORT is a scratch redis-server on 127.0.0.1 (it is FLUSHALLed between
probes: never point it at a server with data). Needs python3-redis.
"""
import sys

import redis


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    port = int(sys.argv[1])
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    r = redis.Redis(host="127.0.0.1", port=port)

    def cpu():
        i = r.info("cpu")
        return i["used_cpu_user"] + i["used_cpu_sys"]

    def probe(name, per_call):
        r.flushall()
        c0 = cpu()
        p = r.pipeline(transaction=False)
        for i in range(n):
            per_call(p, i)
            if i % 500 == 499:
                p.execute()
        p.execute()
        print("probe=%s redis_cpu_us_per_call=%.1f" % (name, (cpu() - c0) * 1e6 / n))

    def script(src):
        sha = r.script_load(src)
        return lambda p, i, nk, *k: p.evalsha(sha, nk, *k)

    def keys(i):
        return ["e:{%d}" % i, "e:{%d}:p" % i, "e:{%d}:ev" % i]

    probe("ping", lambda p, i: p.execute_command("PING"))
    probe("hset_plain_new_key", lambda p, i: p.execute_command("HSET", keys(i)[0], "a", "1"))
    probe("xadd_plain_new_stream",
          lambda p, i: p.execute_command("XADD", keys(i)[2], "MAXLEN", "~", "10000", "*", "k", "x"))
    empty = script("return 1")
    probe("script_empty", lambda p, i: empty(p, i, 0))
    for calls in (1, 5, 10):
        s = script("for i = 1, %d do redis.call('HSET', KEYS[1], 'a' .. i, '1') end return 1" % calls)
        probe("script_%d_hset" % calls, lambda p, i, s=s: s(p, i, 1, keys(i)[0]))
    for calls in (1, 3):
        s = script("for i = 1, %d do redis.call('XADD', KEYS[1], 'MAXLEN', '~', '10000', '*', "
                   "'k', 'x') end return 1" % calls)
        probe("script_%d_xadd_new_stream" % calls, lambda p, i, s=s: s(p, i, 1, keys(i)[2]))
    s = script("redis.call('HSET', KEYS[1], 'a', '1') "
               "for i = 1, 3 do redis.call('EXPIRE', KEYS[1], 3600) end return 1")
    probe("script_hset_3_expire", lambda p, i: s(p, i, 1, keys(i)[0]))

    # A 100-item execution's progress hash: the initial fields, then the
    # final status and units of every item; 4 fields per item (the layout
    # today: 400 fields, a listpack, where each field written is a scan) or
    # one packed field per item.
    items = ["item%03d" % k for k in range(100)]

    def four_fields(p, i):
        k = keys(i)[1]
        init = []
        for it in items:
            init += [it + ".status", "queued", it + ".limit", "unknown", it + ".done", "0",
                     it + ".msg", ""]
        p.execute_command("HSET", k, *init[:400])
        p.execute_command("HSET", k, *init[400:])
        done = []
        for it in items:
            done += [it + ".status", "success", it + ".done", "1"]
        p.execute_command("HSET", k, *done)

    def one_field(p, i):
        k = keys(i)[1]
        init = []
        for it in items:
            init += [it, "queued\tunknown\t0\t"]
        p.execute_command("HSET", k, *init)
        done = []
        for it in items:
            done += [it, "success\tunknown\t1\t"]
        p.execute_command("HSET", k, *done)

    saved = n
    n = max(1, n // 20)  # 100 items each
    probe("progress_100_items_4_fields_per_item", four_fields)
    probe("progress_100_items_1_field_per_item", one_field)
    n = saved
    p = r.pipeline(transaction=False)
    four_fields(p, 1)
    one_field(p, 2)
    p.execute()
    print("probe=progress_100_items_4_fields_per_item memory_bytes=%d" %
          r.memory_usage(keys(1)[1]))
    print("probe=progress_100_items_1_field_per_item memory_bytes=%d" %
          r.memory_usage(keys(2)[1]))


if __name__ == "__main__":
    main()
