#!/usr/bin/env python3
"""A report reader written only from schemas/README.md ("outcome report").

Usage: report_client.py REDIS_PORT EXEC_ID (an ensure of the report_modes
flow: items a, b, c in that order). Reads the full report from
peace:exec:{ID}:report and the summary from the meta hash's `report` field
with redis-py and msgpack (Debian: python3-redis, python3-msgpack), checks
what the README promises, prints a short rendering and exits 0, or prints
what is wrong and exits 1.
"""
import sys

import msgpack
import redis

BLOCKS = {"read_current", "read_goal", "discover", "discover_current", "discover_goal",
          "clean_insertion", "diff", "sync_check", "sync_check_current", "sync_check_goal",
          "apply_ensure", "apply_ensure_dry", "apply_clean", "apply_clean_dry"}
ENTRY_KEYS = {"item", "start_ms", "duration_ms", "current", "goal", "clean", "diff", "stale",
              "changed", "state", "error", "truncated"}


def fail(msg):
    print("report_client: " + msg)
    sys.exit(1)


def main():
    port, exec_id = int(sys.argv[1]), sys.argv[2]
    r = redis.Redis(host="127.0.0.1", port=port)
    raw = r.get("peace:exec:{%s}:report" % exec_id)
    if raw is None:
        fail("no full report key")
    rep = msgpack.unpackb(raw, raw=False)
    if rep.get("v") != 2:
        fail("full report version %r, expected 2" % rep.get("v"))
    if rep["outcome"] != "complete":
        fail("outcome %r" % rep["outcome"])
    if not rep["created_ms"] <= rep["started_ms"] <= rep["finished_ms"]:
        fail("times out of order")
    names = [b["block"] for b in rep["blocks"]]
    if names != rep.get("blocks_processed", []) or not set(names) <= BLOCKS:
        fail("blocks %r vs processed %r" % (names, rep.get("blocks_processed")))
    for b in rep["blocks"]:
        if not {"block", "start_ms", "duration_ms"} <= set(b):
            fail("block without its times: %r" % b)
        for e in b.get("items", []):
            if not set(e) <= ENTRY_KEYS:
                fail("unknown entry keys %r" % (set(e) - ENTRY_KEYS))
    apply = rep["blocks"][-1]
    if apply["block"] != "apply_ensure":
        fail("last block %r" % apply["block"])
    got = [(e["item"], e["changed"], e["state"]["exists"]) for e in apply["items"]]
    if got != [("a", True, True), ("b", True, True), ("c", False, True)]:
        fail("apply entries %r" % got)
    read = rep["blocks"][0]
    if read["block"] != "read_current" or [e["item"] for e in read["items"]] != ["a", "b", "c"]:
        fail("read_current entries not every item in flow order")
    summary = msgpack.unpackb(r.hget("peace:exec:{%s}" % exec_id, "report"), raw=False)
    if summary.get("v") != 1 or "blocks" in summary or summary["outcome"] != rep["outcome"]:
        fail("meta summary %r" % summary)
    for b in rep["blocks"]:
        print("%-18s +%4d ms %4d ms" % (b["block"], b["start_ms"] - rep["started_ms"],
                                          b["duration_ms"]))
        for e in b.get("items", []):
            print("    %s %s" % (e["item"], {k: v for k, v in e.items() if k != "item"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
