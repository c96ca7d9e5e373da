#!/usr/bin/env python3
"""http_compare.py - the HTTP API of `peace run --local --listen` against
peace-scheduler's, for the same flow run to its outcome on each.

Usage: http_compare.py FLEET_URL FLEET_ID LOCAL_URL LOCAL_ID TOKEN READ_TOKEN APP PROFILE FLOW

Every request is sent to both servers; the answers must have the same
status, the same content type and, once ids and times are normalised (every
key named id, worker, queue or ending in _ms is replaced by its JSON type),
the same JSON, exactly. Event streams (whose progress events are coalesced
by time) are compared per kind: the same block_start and outcome events in
order, the same field names per kind, and for each item the same sequence of
statuses and the same last progress event. Prints one ok/not ok line per
check and exits 1 when any failed.
"""
import json
import sys
import urllib.error
import urllib.request

fleet_url, fleet_id, local_url, local_id, token, read_token, app, profile, flow = sys.argv[1:10]
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + name + ("" if ok or not detail else "\n    " + detail))
    if not ok:
        failures += 1


def request(base, method, path, body=None, bearer=None, ctype="application/json", headers=None):
    data = None
    if body is not None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    req = urllib.request.Request(base.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", ctype)
    if bearer:
        req.add_header("Authorization", "Bearer " + bearer)
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=20) as res:
            return res.status, res.headers.get("Content-Type", ""), res.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


IDENTITY = {"id", "worker", "queue"}


def normalise(v, key=""):
    if key in IDENTITY or key.endswith("_ms"):
        return "<%s>" % type(v).__name__
    if isinstance(v, dict):
        return {k: normalise(x, k) for k, x in v.items()}
    if isinstance(v, list):
        return [normalise(x) for x in v]
    if isinstance(v, str):
        return v.replace(fleet_id, "<ID>").replace(local_id, "<ID>")
    return v


def both(name, method, path_of, body=None, bearer=None, ctype="application/json", want=None,
         headers=None):
    """Sends the request to both; checks status, media type, JSON equality."""
    answers = []
    for base, xid in ((fleet_url, fleet_id), (local_url, local_id)):
        answers.append(request(base, method, path_of(xid), body, bearer, ctype, headers))
    (fs, fct, fb), (ls, lct, lb) = answers
    ok = fs == ls and fct.split(";")[0] == lct.split(";")[0]
    if want is not None:
        ok = ok and fs == want
    detail = "fleet %d %s %s | local %d %s %s" % (fs, fct, fb[:300], ls, lct, lb[:300])
    if ok and fct.startswith("application/json"):
        fj, lj = normalise(json.loads(fb)), normalise(json.loads(lb))
        ok = fj == lj
        if not ok:
            detail = "fleet %s\n    local %s" % (json.dumps(fj, sort_keys=True), json.dumps(lj, sort_keys=True))
    check("%s: the same answer (%d)" % (name, fs), ok, detail)
    return answers


def sse(text):
    events = []
    for block in text.split("\n\n"):
        ev = {}
        for line in block.split("\n"):
            if line.startswith("id: "):
                ev["id"] = line[4:]
            elif line.startswith("event: "):
                ev["event"] = line[7:]
            elif line.startswith("data: "):
                ev["data"] = json.loads(line[6:])
        if "event" in ev:
            events.append(ev)
    return events


def stream_view(events):
    """What two runs of the same flow must share, whatever the timing."""
    order = [(e["event"], e["data"].get("block", e["data"].get("outcome")))
             for e in events if e["event"] in ("block_start", "outcome")]
    fields = {}
    for e in events:
        fields.setdefault(e["event"], set()).update(e["data"].keys())
    statuses, last = {}, {}
    for e in events:
        if e["event"] == "progress":
            item = e["data"]["item"]
            seq = statuses.setdefault(item, [])
            if not seq or seq[-1] != e["data"]["status"]:
                seq.append(e["data"]["status"])
            last[item] = e["data"]
    return {"order": order, "fields": {k: sorted(v) for k, v in fields.items()},
            "statuses": statuses, "last": last}


T, R = token, read_token
ex = lambda xid: "/v1/executions/" + xid  # noqa: E731

# Reading.
both("GET /healthz", "GET", lambda x: "/healthz", want=200)
both("GET /v1/executions/{id}", "GET", ex, bearer=T, want=200)
both("GET /v1/executions/{id} (read token)", "GET", ex, bearer=R, want=200)
both("GET /v1/states/{app}/{profile}/{flow}", "GET", lambda x: "/v1/states/%s/%s/%s" % (app, profile, flow),
     bearer=T, want=200)
both("GET /v1/states of a flow never run", "GET", lambda x: "/v1/states/nothing/here/at_all", bearer=T, want=200)
lists = [json.loads(b) for _, _, b in
         (request(fleet_url, "GET", "/v1/executions?limit=50", bearer=T),
          request(local_url, "GET", "/v1/executions?limit=50", bearer=T))]
pick = lambda doc, xid: [e for e in doc.get("executions", []) if e.get("id") == xid]  # noqa: E731
fl, ll = pick(lists[0], fleet_id), pick(lists[1], local_id)
check("GET /v1/executions: the run's entry is the same", len(fl) == 1 and len(ll) == 1 and
      normalise(fl[0]) == normalise(ll[0]), json.dumps([fl, ll]))
check("GET /v1/executions: the local server lists exactly its run", len(lists[1].get("executions", [])) == 1)
both("GET /v1/executions?limit=0", "GET", lambda x: "/v1/executions?limit=0", bearer=T, want=400)
both("GET /v1/executions?limit=x", "GET", lambda x: "/v1/executions?limit=x", bearer=T, want=400)

# The event stream of a finished execution: replayed, then ended.
replays = []
for base, xid in ((fleet_url, fleet_id), (local_url, local_id)):
    st, ct, body = request(base, "GET", ex(xid) + "/events", bearer=T)
    replays.append((st, ct, sse(body)))
(fst, fct, fev), (lst, lct, lev) = replays
check("events: 200 text/event-stream from both", fst == lst == 200 and
      fct.startswith("text/event-stream") and lct.startswith("text/event-stream"), "%s %s" % (fct, lct))
fv, lv = stream_view(fev), stream_view(lev)
for k in ("order", "fields", "statuses", "last"):
    check("events: the same %s" % k, fv[k] == lv[k], "fleet %s\n    local %s" % (fv[k], lv[k]))
check("events: ids are stream entry ids, increasing", all(
    [tuple(map(int, a["id"].split("-"))) < tuple(map(int, b["id"].split("-"))) for a, b in zip(ev, ev[1:])]
    for ev in (fev, lev)) and len(fev) > 0 and len(lev) > 0)
# Resuming after the outcome: 204, so an EventSource stops.
for base, xid, ev in ((fleet_url, fleet_id, fev), (local_url, local_id, lev)):
    st, _, _ = request(base, "GET", ex(xid) + "/events", bearer=T, headers={"Last-Event-ID": ev[-1]["id"]})
    check("events resumed after the outcome: 204 (%s)" % ("fleet" if base == fleet_url else "local"), st == 204, str(st))
both("events ?access_token= (EventSource)", "GET",
     lambda x: ex(x) + "/events?last_event_id=0-0&access_token=" + T, want=200)
both("events with a bad Last-Event-ID", "GET", lambda x: ex(x) + "/events", bearer=T,
     headers={"Last-Event-ID": "nope"}, want=400)

# Errors: unknown ids, bad ids, bad routes and methods.
unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV"
both("GET an unknown id", "GET", lambda x: ex(unknown), bearer=T, want=404)
both("events of an unknown id", "GET", lambda x: ex(unknown) + "/events", bearer=T, want=404)
both("interrupt an unknown id", "POST", lambda x: ex(unknown) + "/interrupt", body={}, bearer=T, want=404)
both("GET a malformed id", "GET", lambda x: "/v1/executions/not%20an%20id", bearer=T, want=400)
both("GET an unknown route", "GET", lambda x: "/v1/nothing", bearer=T, want=404)
both("DELETE an execution", "DELETE", ex, bearer=T, want=405)

# Auth: the same rules.
both("no token", "GET", ex, want=401)
both("a wrong token", "GET", ex, bearer="wrong", want=401)
both("no token on the events", "GET", lambda x: ex(x) + "/events", want=401)
both("no token on /metrics", "GET", lambda x: "/metrics", want=401)
both("a read token cannot interrupt", "POST", lambda x: ex(x) + "/interrupt", body={}, bearer=R, want=403)
both("a read token cannot start", "POST", lambda x: "/v1/executions", body={"cmd": "ensure"}, bearer=R,
     want=403)
both("a foreign Host", "GET", ex, bearer=T, headers={"Host": "evil.example"}, want=403)
both("a cross-site Origin", "GET", ex, bearer=T, headers={"Origin": "http://evil.example"}, want=403)

# Bad bodies.
both("interrupt: a body that is not JSON", "POST", lambda x: ex(x) + "/interrupt", body="{bad", bearer=T,
     want=400)
both("interrupt: text/plain", "POST", lambda x: ex(x) + "/interrupt", body="{}", bearer=T,
     ctype="text/plain", want=415)
both("interrupt: an unknown mode", "POST", lambda x: ex(x) + "/interrupt", body={"mode": "nope"}, bearer=T,
     want=400)
both("interrupt: an unknown field", "POST", lambda x: ex(x) + "/interrupt", body={"nope": 1}, bearer=T,
     want=400)
both("interrupt: a finished execution (not requested)", "POST", lambda x: ex(x) + "/interrupt",
     body={"reason": "late"}, bearer=T, want=202)
both("interrupt?wait=1000: a finished execution answers at once with its outcome", "POST",
     lambda x: ex(x) + "/interrupt?wait=1000", body={}, bearer=T, want=202)
for bad in ("0", "300001", "-1", "abc", "1e3", "", "99999999999999999999"):
    both("interrupt?wait=%s is refused" % bad, "POST", lambda x, b=bad: ex(x) + "/interrupt?wait=" + b,
         body={}, bearer=T, want=400)
both("a body over the limit (8 MiB)", "POST", lambda x: ex(x) + "/interrupt",
     body="{" + " " * (9 << 20) + "}", bearer=T, want=413)

# What only differs by design: a local run cannot start executions.
st, _, body = request(local_url, "POST", "/v1/executions", body={"cmd": "ensure"}, bearer=T)
check("POST /v1/executions on a local run: 405 method_not_allowed with the reason",
      st == 405 and json.loads(body).get("code") == "method_not_allowed" and "local run" in body, body)
for base in (fleet_url, local_url):
    st, ct, body = request(base, "GET", "/metrics", bearer=R)
    check("GET /metrics: 200 Prometheus text (%s)" % ("fleet" if base == fleet_url else "local"),
          st == 200 and ct.startswith("text/plain") and "peace_executions" in body, "%d %s" % (st, body[:200]))
st, _, _ = request(local_url, "GET", "/", bearer=None)
check("the page is served by the local run", st == 200)

print("http_compare: %d failed" % failures)
sys.exit(1 if failures else 0)
