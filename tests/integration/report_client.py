#!/usr/bin/env python3
"""A report reader written only from schemas/README.md ("outcome report").

Usage: report_client.py REDIS_PORT EXEC_ID [short] (an ensure of the report_modes
flow: items a, b, c in that order). Reads the full report (version 3, or
2 as the previous release wrote it) from peace:exec:{ID}:report, or when
there is no such key from the meta hash's `report` field (a full report of
at most 64 bytes is kept there), and the summary from that field
with redis-py and msgpack (Debian: python3-redis, python3-msgpack), checks
what the README promises, prints a short rendering and exits 0, or prints
what is wrong and exits 1.
"""
import sys

import msgpack
import redis

BLOCKS = {"read_current", "read_goal", "discover", "discover_current", "discover_goal",
          "clean_insertion", "diff", "sync_check", "sync_check_current", "sync_check_goal",
          "apply_ensure", "apply_ensure_dry", "apply_clean", "apply_clean_dry",
          "clean_obsolete", "clean_obsolete_dry", "clean_replaced", "clean_replaced_dry",
          "ensure_replaced", "ensure_replaced_dry"}
ENTRY_KEYS = {"item", "start_ms", "duration_ms", "current", "goal", "clean", "diff", "stale",
              "changed", "state", "error", "truncated"}


VALUE_COLS = {"current", "goal", "diff", "clean", "state"}
# Version 3: the columns a block names when its "cols" is left out.
DEFAULT_COLS = {
    "read_current": ["current"], "discover_current": ["current"],
    "read_goal": ["goal"], "discover_goal": ["goal"],
    "discover": ["current", "goal"], "clean_insertion": ["clean"], "diff": ["diff"],
    "sync_check": ["stale"], "sync_check_current": ["stale"], "sync_check_goal": ["stale"],
}
for _b in ("apply_ensure", "apply_ensure_dry", "apply_clean", "apply_clean_dry",
           "clean_obsolete", "clean_obsolete_dry", "clean_replaced", "clean_replaced_dry",
           "ensure_replaced", "ensure_replaced_dry"):
    DEFAULT_COLS[_b] = ["changed", "state"]


def fail(msg):
    print("report_client: " + msg)
    sys.exit(1)


def expand_v3(rep):
    """A version 3 report as the version 2 form (absolute times, entry maps)."""
    out = {k: v for k, v in rep.items() if k not in ("times", "blocks")}
    out.setdefault("outcome", "complete")
    times = rep.get("times", [0, None, None])
    started = times[0]
    names = ("started_ms", "created_ms", "finished_ms", "interrupted_ms")
    for i, name in enumerate(names[:len(times)]):
        if times[i] is not None:
            value = times[i] if i == 0 else started + times[i]
            if value != 0:
                out[name] = value
    blocks = []
    for b in rep.get("blocks", []):
        name, start, duration = b[0], started + b[1], b[2]
        cols = b[3] if len(b) >= 5 else DEFAULT_COLS[name]
        rows = b[4] if len(b) >= 5 else (b[3] if len(b) == 4 else [])
        unset = {(r, c) for r, c in b[5]} if len(b) == 6 else set()
        entries = []
        for ri, row in enumerate(rows):
            e = {"item": row[0]}
            cells = row[1:]
            if len(row) == len(cols) + 3:
                e["start_ms"], e["duration_ms"] = start + row[1], row[2]
                cells = row[3:]
            elif len(row) != len(cols) + 1:
                fail("row %r does not fit the columns %r" % (row, cols))
            cell = dict(zip(cols, cells))
            truncated = cell.get("truncated") or {}
            for ci, col in enumerate(cols):
                if col in VALUE_COLS:
                    if (ri, ci) not in unset and col not in truncated:
                        e[col] = cell[col]
                elif cell[col] is not None:
                    e[col] = cell[col]
            entries.append(e)
        blocks.append({"block": name, "start_ms": start, "duration_ms": duration,
                       "items": entries})
    out["blocks"] = blocks
    out.setdefault("blocks_processed", [b["block"] for b in blocks])
    return out


def main():
    port, exec_id = int(sys.argv[1]), sys.argv[2]
    r = redis.Redis(host="127.0.0.1", port=port)
    meta_report = r.hget("peace:exec:{%s}" % exec_id, "report")
    raw = r.get("peace:exec:{%s}:report" % exec_id)
    if raw is None:
        # A full report of at most 64 bytes is the meta hash's own `report`.
        if meta_report is None or len(meta_report) > 64:
            fail("no full report key and no short full report in the meta hash")
        raw = meta_report
    rep = msgpack.unpackb(raw, raw=False)
    if len(sys.argv) > 3 and sys.argv[3] == "short":
        # A read_current of one sleep item "x" not done yet: kept whole in the meta hash.
        if r.exists("peace:exec:{%s}:report" % exec_id) or rep.get("v") != 3:
            fail("short report: key present or version %r" % rep.get("v"))
        rep = expand_v3(rep)
        if (rep["outcome"], rep["blocks_processed"]) != ("complete", ["read_current"]) or \
                rep["blocks"][0]["items"] != [{"item": "x", "current": {"done": False}}]:
            fail("short report %r" % rep)
        print("short report: %d bytes, %r" % (len(raw), rep["blocks"]))
        return 0
    if rep.get("v") not in (2, 3):
        fail("full report version %r, expected 3 (or 2)" % rep.get("v"))
    if rep["v"] == 3:
        rep = expand_v3(rep)
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
    summary = msgpack.unpackb(meta_report, raw=False)
    if raw != meta_report and (summary.get("v") != 1 or "blocks" in summary or
                               summary["outcome"] != rep["outcome"]):
        fail("meta summary %r" % summary)
    for b in rep["blocks"]:
        print("%-18s +%4d ms %4d ms" % (b["block"], b["start_ms"] - rep["started_ms"],
                                          b["duration_ms"]))
        for e in b.get("items", []):
            print("    %s %s" % (e["item"], {k: v for k, v in e.items() if k != "item"}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
