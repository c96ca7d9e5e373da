#!/usr/bin/env python3
"""http_slow.py - slow-drip clients against an HTTP server of peace
(peace-scheduler or `peace run --local --listen`).

Usage: http_slow.py PORT REQUEST_TIMEOUT_S MAX_CONNECTIONS|0

1. A client sends a request one byte every second (the inactivity timeout
   never trips): the server closes it within REQUEST_TIMEOUT_S (+2 s), long
   before its request is complete, and meanwhile answers other clients at
   once.
2. With MAX_CONNECTIONS > 0: that many idle connections are opened; one more
   is closed at once without an answer while they are open; once their
   deadline closed them, a new client is served again.
3. Its /metrics counts exactly what was provoked:
   peace_scheduler_http_requests_expired_total +1 for the drip (+MAX for the
   idle connections), peace_scheduler_http_connections_refused_total +1 for
   the connection over the cap (+1 per later client it also refused), and
   peace_scheduler_http_connections_open back to its baseline once the
   clients closed (idle connections opened and closed before their deadline
   move it and expire nothing).
Prints ok/not ok lines; exits 1 when any failed.
"""
import socket
import sys
import threading
import time

port, deadline, cap = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok - " if ok else "not ok - ") + name + ("" if ok or not detail else "\n    " + detail))
    failures += 0 if ok else 1


def healthz(timeout=3.0):
    """One normal request: (status line, seconds)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n", 1)[0].decode(errors="replace"), time.monotonic() - t0


def get(path, timeout=3.0):
    """One GET with Connection: close: (status line, body)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(errors="replace"), body.decode(errors="replace")


CONN_METRICS = ("peace_scheduler_http_connections_open", "peace_scheduler_http_connections_max",
                "peace_scheduler_http_connections_refused_total",
                "peace_scheduler_http_requests_expired_total")


def metrics():
    """The connection figures of /metrics (the scrape's own connection is open)."""
    status, body = get("/metrics")
    if not status.endswith("200 OK"):
        raise RuntimeError("/metrics answered " + status)
    got = {}
    for line in body.splitlines():
        name, _, value = line.partition(" ")
        if name in CONN_METRICS:
            got[name] = int(value)
    missing = [n for n in CONN_METRICS if n not in got]
    if missing:
        raise RuntimeError("/metrics lacks " + ", ".join(missing))
    return got


def open_back_to(baseline, within=5.0):
    """Polls the gauge until it is baseline (a closed idle connection is
    dropped by the server's sweep, every second): the last value seen."""
    t0 = time.monotonic()
    while True:
        seen = metrics()["peace_scheduler_http_connections_open"]
        if seen == baseline or time.monotonic() - t0 > within:
            return seen
        time.sleep(0.1)


m0 = metrics()
OPEN = "peace_scheduler_http_connections_open"
REFUSED = "peace_scheduler_http_connections_refused_total"
EXPIRED = "peace_scheduler_http_requests_expired_total"
check("/metrics: one connection open while it is scraped, the cap is %s" % (cap or "the default"),
      m0[OPEN] == 1 and m0["peace_scheduler_http_connections_max"] == (cap or 1024), repr(m0))

# 0. Idle connections move the gauge, and back; they expire nothing.
few = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
time.sleep(0.3)
m = metrics()
check("/metrics: 3 idle connections open -> the gauge is 3 more", m[OPEN] == m0[OPEN] + 3, repr(m))
for s in few:
    s.close()
seen = open_back_to(m0[OPEN])
check("/metrics: they closed -> the gauge is back to %d" % m0[OPEN], seen == m0[OPEN], "seen %d" % seen)
m = metrics()
check("/metrics: closed before the deadline, nothing expired or refused",
      m[EXPIRED] == m0[EXPIRED] and m[REFUSED] == m0[REFUSED], repr(m))

# 1. The slow drip.
result = {}


def drip():
    req = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60 + b"\r\n\r\n"
    s = socket.create_connection(("127.0.0.1", port))
    s.settimeout(1.0)
    t0 = time.monotonic()
    sent = 0
    try:
        for b in req:
            try:
                s.sendall(bytes([b]))
            except OSError:
                break
            sent += 1
            try:
                if s.recv(4096) == b"":
                    break  # closed by the server
            except socket.timeout:
                pass  # nothing yet: one byte a second
            except OSError:
                break
    finally:
        result["closed_after"] = time.monotonic() - t0
        result["sent"] = sent
        result["total"] = len(req)
        s.close()


t = threading.Thread(target=drip)
t.start()
time.sleep(1.5)
others = [healthz() for _ in range(5)]
check("other clients are answered while a client drips", all(
    o[0].endswith("200 OK") and o[1] < 3.0 for o in others), repr(others))
t.join(deadline + 30)
check("the dripping client is closed within the request deadline (%gs), before its request ends" % deadline,
      not t.is_alive() and result["closed_after"] <= deadline + 5 and result["sent"] < result["total"],
      repr(result))
check("... and not before it (the inactivity timeout alone would never close it)",
      result.get("closed_after", 0) >= deadline - 0.5, repr(result))
status, secs = healthz()
check("the server still answers after the drip", status.endswith("200 OK"), status)
m1 = metrics()
check("/metrics: the drip expired -> requests_expired_total +1, nothing refused",
      m1[EXPIRED] == m0[EXPIRED] + 1 and m1[REFUSED] == m0[REFUSED], "before %r after %r" % (m0, m1))
seen = open_back_to(m0[OPEN])
check("/metrics: after the drip the gauge is back to %d" % m0[OPEN], seen == m0[OPEN], "seen %d" % seen)

# 2. The cap on connections.
if cap > 0:
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(cap)]
    time.sleep(0.3)
    extra = socket.create_connection(("127.0.0.1", port))
    extra.settimeout(3.0)
    try:
        extra.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        got = extra.recv(4096)
    except OSError as e:
        got = b""
    extra.close()
    check("a connection over the cap (%d) is closed without an answer" % cap, not got.startswith(b"HTTP/1.1 200"),
          repr(got[:100]))
    t0 = time.monotonic()
    served = False
    turned_away = 0  # later clients the full cap refused too (closed without an answer)
    while time.monotonic() - t0 < deadline + 10 and not served:
        try:
            served = healthz(timeout=2.0)[0].endswith("200 OK")
        except OSError:
            served = False
        if not served:
            turned_away += 1
            time.sleep(0.2)
    check("once the idle connections' deadline passed, new clients are served", served)
    m2 = metrics()
    check("/metrics: over the cap -> connections_refused_total +1 (+%d later clients refused)" % turned_away,
          m2[REFUSED] == m1[REFUSED] + 1 + turned_away, "before %r after %r" % (m1, m2))
    check("/metrics: the %d idle connections expired -> requests_expired_total +%d" % (cap, cap),
          m2[EXPIRED] == m1[EXPIRED] + cap, "before %r after %r" % (m1, m2))
    for s in idle:
        s.close()
    seen = open_back_to(m0[OPEN])
    check("/metrics: every client closed -> the gauge is back to %d" % m0[OPEN], seen == m0[OPEN],
          "seen %d" % seen)

print("http_slow: %d failed" % failures)
sys.exit(1 if failures else 0)
