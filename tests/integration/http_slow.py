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
    while time.monotonic() - t0 < deadline + 10 and not served:
        try:
            served = healthz(timeout=2.0)[0].endswith("200 OK")
        except OSError:
            served = False
        if not served:
            time.sleep(0.2)
    check("once the idle connections' deadline passed, new clients are served", served)
    for s in idle:
        s.close()

print("http_slow: %d failed" % failures)
sys.exit(1 if failures else 0)
