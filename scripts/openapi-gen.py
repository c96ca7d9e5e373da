#!/usr/bin/env python3
# openapi-gen.py - writes docs/openapi.json (the OpenAPI 3.1 description of the
# scheduler API) to stdout: python3 scripts/openapi-gen.py > docs/openapi.json.
# tests/unit/scheduler/test_openapi_routes.c and tests/integration/openapi.sh
# check the result against the route table and real answers.
import json
def ref(n): return {"$ref": "#/components/schemas/" + n}
def jresp(desc, schema): return {"description": desc, "content": {"application/json": {"schema": schema}}}
def err(desc): return jresp(desc, ref("Error"))
E = {
 "400": err("A bad request: malformed JSON, a bad parameter, a bad id (code invalid_json, bad_request, invalid_flow or unknown_item_type)."),
 "401": err("No token, or a wrong one (code unauthorized)."),
 "403": err("The token's scope does not cover the route, or Host/Origin refused (code forbidden, host_not_allowed, origin_not_allowed)."),
 "404": err("Not found (code execution_not_found, dead_letter_not_found or not_found)."),
 "405": err("The route exists, the method does not (code method_not_allowed)."),
 "409": err("The job cannot be queued again (code cannot_requeue)."),
 "413": err("The body is over the limit (code body_too_large)."),
 "415": err("A POST that is not application/json (code unsupported_media_type)."),
 "500": err("A bug (code internal)."),
 "503": err("Redis cannot be reached right now, or every event stream is in use (code redis_unavailable, too_many_streams)."),
}
def errs(*codes): return {c: E[c] for c in codes}
ms = {"type": "integer", "minimum": 0}
s = lambda **k: dict({"type": "string"}, **k)
ident = s(pattern="^[A-Za-z_][A-Za-z0-9_]*$", maxLength=64)
execid = s(pattern="^[0-9A-Za-z-]{1,64}$")
entryid = s(pattern="^[0-9]{1,20}-[0-9]{1,20}$")
outcome = s(enum=["complete","block_interrupted","execution_interrupted","item_error","block_error","rejected"])
status = s(enum=["queued","running","finished"])
cmd = s(enum=["discover","discover_current","discover_goal","read_current","read_goal","diff","ensure","ensure_dry","clean","clean_dry"])
nullable = lambda t: {"oneOf": [t, {"type": "null"}]}
schemas = {
 "Error": {"type": "object", "required": ["error","code"], "properties": {
   "error": s(), "code": s(enum=["invalid_json","bad_request","invalid_flow","unknown_item_type","body_too_large","unauthorized","forbidden","host_not_allowed","origin_not_allowed","unsupported_media_type","execution_not_found","not_found","method_not_allowed","redis_unavailable","too_many_streams","dead_letter_not_found","cannot_requeue","internal"])},
   "additionalProperties": False},
 "Execution": {"type": "object", "description": "The meta hash of an execution (CONTRACT §3): times and counters as numbers, the rest as strings.",
   "required": ["id"], "properties": {
   "id": execid, "cmd": cmd, "app": ident, "profile": ident, "flow": ident, "queue": ident,
   "status": status, "outcome": outcome, "created_ms": ms, "started_ms": ms, "finished_ms": ms,
   "worker": s(), "attempt": ms, "block": s(), "block_index": ms, "blocks_total": ms, "items_total": ms,
   "items_done": ms, "interrupt_requested_ms": ms, "interrupt_reason": s(), "error": s(),
   "interrupt_mode": s(enum=["finish","cancel","kill"]), "interrupt_deadline_ms": ms, "interrupt_latched_ms": ms,
   "interrupt_escalations": ms}},
 "ExecutionPage": {"type": "object", "required": ["executions","next_cursor"], "properties": {
   "executions": {"type": "array", "items": ref("Execution")},
   "next_cursor": nullable(s(description="Opaque: give it as ?cursor= for the next page."))}, "additionalProperties": False},
 "ItemProgress": {"type": "object", "required": ["id"], "properties": {
   "id": ident, "status": s(), "limit": s(), "done": {"type": ["integer","string"]}, "msg": s()}},
 "ExecutionDetail": {"type": "object", "required": ["execution","items","report"], "properties": {
   "execution": ref("Execution"), "items": {"type": "array", "items": ref("ItemProgress")},
   "report": nullable({"type": "object", "description": "The outcome report (schemas/README.md), as pc_outcome_format_json."})}},
 "Submitted": {"type": "object", "required": ["id","status"], "properties": {"id": execid, "status": s(const="queued")}, "additionalProperties": False},
 "SubmitRequest": {"type": "object", "required": ["cmd","flow"], "properties": {
   "cmd": cmd, "flow": {"type": "object", "description": "A flow file object (CONTRACT §6).", "required": ["app","profile","flow","items"]},
   "interrupt_strategy": s(), "apply_stored_state_sync": s(enum=["both","current","goal","none"]), "queue": ident,
   "keep_obsolete": {"type": "boolean"}, "diff_current": s(enum=["stored","discovered"]), "diff_goal": s(enum=["stored","discovered"]),
   "no_save": {"type": "boolean"}}},
 "InterruptRequest": {"type": "object", "properties": {"reason": s(), "mode": s(enum=["finish","cancel","kill"]), "deadline_ms": {"type": "integer", "minimum": 0, "maximum": 86400000}}},
 "InterruptReceipt": {"type": "object", "required": ["id","status","requested"], "properties": {
   "id": execid, "status": status, "requested": {"type": "boolean"}, "mode": s(enum=["finish","cancel","kill"]),
   "deadline_ms": ms, "requested_ms": ms}, "additionalProperties": False},
 "States": {"type": "object", "required": ["app","profile","flow","current","goal"], "properties": {
   "app": ident, "profile": ident, "flow": ident, "current": {"type": "object"}, "goal": {"type": "object"}}, "additionalProperties": False},
 "Health": {"type": "object", "required": ["status"], "properties": {"status": s(enum=["ok","unavailable"]), "error": s()}, "additionalProperties": False},
 "Worker": {"type": "object", "required": ["consumer","queue","expires_ms","executions"], "properties": {
   "consumer": s(), "queue": nullable(s()), "host": nullable(s()), "version": nullable(s()),
   "pid": nullable(ms), "running": nullable(ms), "concurrency": nullable(ms), "threads": nullable(ms), "threads_busy": nullable(ms),
   "started_ms": nullable(ms), "last_seen_ms": nullable(ms), "lease_ms": nullable(ms), "expires_ms": ms,
   "executions": {"type": "array", "items": s()}}, "additionalProperties": False},
 "Workers": {"type": "object", "required": ["workers"], "properties": {"workers": {"type": "array", "items": ref("Worker")}}, "additionalProperties": False},
 "Queue": {"type": "object", "required": ["name","length","pending","workers_live","oldest_ms","oldest_age_ms"], "properties": {
   "name": ident, "length": ms, "pending": ms, "workers_live": ms, "oldest_ms": nullable(ms), "oldest_age_ms": nullable(ms)}, "additionalProperties": False},
 "Queues": {"type": "object", "required": ["queues","dead_length"], "properties": {"queues": {"type": "array", "items": ref("Queue")}, "dead_length": ms}, "additionalProperties": False},
 "DeadJob": {"type": "object", "required": ["cmd","app","profile","flow","queue","items","created_ms"], "properties": {
   "cmd": cmd, "app": ident, "profile": ident, "flow": ident, "queue": ident, "items": ms, "created_ms": ms}, "additionalProperties": False},
 "DeadLetter": {"type": "object", "required": ["id","dead_ms","exec","reason","job","retryable"], "properties": {
   "id": entryid, "dead_ms": ms, "exec": nullable(s()), "reason": nullable(s()), "job": nullable(ref("DeadJob")), "retryable": {"type": "boolean"}}, "additionalProperties": False},
 "DeadPage": {"type": "object", "required": ["dead","length","next_cursor"], "properties": {
   "dead": {"type": "array", "items": ref("DeadLetter")}, "length": ms, "next_cursor": nullable(entryid)}, "additionalProperties": False},
 "Retried": {"type": "object", "required": ["entry","id","already_retried"], "properties": {"entry": entryid, "id": execid, "already_retried": {"type": "boolean"}}, "additionalProperties": False},
 "Rerun": {"type": "object", "required": ["id","status","rerun_of"], "properties": {"id": execid, "status": s(const="queued"), "rerun_of": execid}, "additionalProperties": False},
 "EmptyOrObject": {"type": "object", "description": "Ignored: the action takes no parameters."},
}
P = lambda name, sch, desc, where="path": {"name": name, "in": where, "required": where == "path", "schema": sch, "description": desc}
q = lambda name, sch, desc: P(name, sch, desc, "query")
idp = P("id", execid, "The execution id.")
sec = [{"bearer": []}]
def op(summary, responses, opid, params=None, body=None, public=False, desc=None):
    o = {"operationId": opid, "summary": summary, "responses": responses}
    if desc: o["description"] = desc
    if params: o["parameters"] = params
    if body: o["requestBody"] = body
    o["security"] = [] if public else sec
    return o
jbody = lambda sch, req=True: {"required": req, "content": {"application/json": {"schema": sch}}}
loc = {"Location": {"description": "The new execution.", "schema": s()}}
paths = {
 "/": {"get": op("The dashboard page.", {"200": {"description": "HTML.", "content": {"text/html": {"schema": s()}}}, **errs("403")}, "getPage", public=True)},
 "/healthz": {"get": op("Liveness: checks Redis.", {"200": jresp("Redis answered.", ref("Health")), "503": jresp("Redis did not.", ref("Health")), **errs("403")}, "getHealth", public=True)},
 "/metrics": {"get": op("Prometheus metrics (text exposition format).", {"200": {"description": "Metrics.", "content": {"text/plain": {"schema": s()}}}, **errs("401","403","500","503")}, "getMetrics")},
 "/openapi.json": {"get": op("This document.", {"200": jresp("The OpenAPI 3.1 description.", {"type": "object", "required": ["openapi","info","paths"]}), **errs("401","403")}, "getOpenapi")},
 "/v1/executions": {
   "post": op("Start an execution.", {"202": dict(jresp("Queued.", ref("Submitted")), headers=loc), **errs("400","401","403","413","415","500","503")}, "submitExecution", body=jbody(ref("SubmitRequest"))),
   "get": op("Executions, newest first, filtered, in pages.", {"200": jresp("A page.", ref("ExecutionPage")), **errs("400","401","403","500","503")}, "listExecutions", params=[
     q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}, "Page size."),
     q("cursor", s(maxLength=95), "The next_cursor of the previous page."),
     q("status", status, "Only executions with this status."), q("outcome", outcome, "Only finished executions with this outcome."),
     q("cmd", cmd, "Only this command."), q("app", ident, "Only this app."), q("profile", ident, "Only this profile."),
     q("flow", ident, "Only this flow."), q("queue", ident, "Only this queue."),
     q("since", {"type": "integer", "minimum": 0}, "Only executions created at or after (Unix ms).")])},
 "/v1/executions/{id}": {"get": op("An execution: meta, per-item progress, report.", {"200": jresp("The execution.", ref("ExecutionDetail")), **errs("400","401","403","404","500","503")}, "getExecution", params=[idp])},
 "/v1/executions/{id}/events": {"get": op("Server-Sent Events of an execution, live, resumable.", {
   "200": {"description": "The event stream (`retry: 2000`; ends after the outcome).", "content": {"text/event-stream": {"schema": s()}}},
   "204": {"description": "A resuming client whose execution is over: nothing follows."},
   **errs("400","401","403","404","503")}, "streamEvents", params=[idp,
   P("Last-Event-ID", entryid, "Resume after this entry.", "header"), q("last_event_id", entryid, "Resume after this entry (clients that cannot set headers)."),
   q("access_token", s(), "The token, for clients that cannot set headers (EventSource).")])},
 "/v1/executions/{id}/interrupt": {"post": op("Interrupt an execution.", {"202": jresp("The receipt.", ref("InterruptReceipt")), **errs("400","401","403","404","413","415","500","503")}, "interruptExecution", params=[idp], body=jbody(ref("InterruptRequest"), False))},
 "/v1/executions/{id}/rerun": {"post": op("Queue the same command and flow again, as a new execution.", {"202": dict(jresp("Queued.", ref("Rerun")), headers=loc), **errs("400","401","403","404","409","413","415","500","503")}, "rerunExecution", params=[idp], body=jbody(ref("EmptyOrObject"), False))},
 "/v1/states/{app}/{profile}/{flow}": {"get": op("Stored current and goal states.", {"200": jresp("The states.", ref("States")), **errs("400","401","403","500","503")}, "getStates", params=[P("app", ident, "App."), P("profile", ident, "Profile."), P("flow", ident, "Flow.")])},
 "/v1/workers": {"get": op("Live workers, from their heartbeats.", {"200": jresp("The workers.", ref("Workers")), **errs("401","403","500","503")}, "listWorkers")},
 "/v1/queues": {"get": op("Queues: length, pending, live workers, oldest job; the dead-letter length.", {"200": jresp("The queues.", ref("Queues")), **errs("401","403","500","503")}, "listQueues")},
 "/v1/dead": {"get": op("Dead-lettered jobs, newest first, in pages.", {"200": jresp("A page.", ref("DeadPage")), **errs("400","401","403","500","503")}, "listDead", params=[
   q("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}, "Page size."), q("cursor", entryid, "The next_cursor of the previous page.")])},
 "/v1/dead/{entry}/retry": {"post": op("Queue a dead letter's job again as a new execution, once.", {
   "202": dict(jresp("Queued.", ref("Retried")), headers=loc), "200": jresp("Retried before: the execution it queued.", ref("Retried")),
   **errs("400","401","403","404","409","413","415","500","503")}, "retryDead", params=[P("entry", entryid, "The dead letter's stream entry id.")], body=jbody(ref("EmptyOrObject"), False))},
}
doc = {"openapi": "3.1.0",
 "info": {"title": "peace-scheduler API", "version": "1", "description": "The HTTP API of peace-scheduler (docs/http-api.md). Errors are {\"error\", \"code\"} with a 4xx/5xx status. Auth: a bearer token; its scope (read, interrupt, all) must cover the route."},
 "servers": [{"url": "http://127.0.0.1:7117"}],
 "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}, "schemas": schemas},
 "security": sec, "paths": paths}
print(json.dumps(doc, indent=2, ensure_ascii=False))
