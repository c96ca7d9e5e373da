// conformance.mjs - docs/openapi.json against the official OpenAPI 3.1
// schema, and real answers of a running peace-scheduler against it.
//
// Every request of the scenario below is sent to the scheduler; each answer
// must match an operation of the document (path template and method), have
// a status that operation documents, the content type it documents, and (for
// JSON) a body its schema accepts (Ajv, JSON Schema 2020-12). At the end of
// the last phase every operation must have been answered with a success
// status and every error status the scenario can provoke must have been seen.
//
// Usage: node conformance.mjs up|down   with the environment
//   BASE (http://127.0.0.1:PORT), TOKEN, READ_TOKEN, EXEC_ID (a finished
//   execution), DEAD_ENTRY (a retryable dead letter), GARBAGE_ENTRY (one that
//   is not), DOC (docs/openapi.json), COVERAGE (a file the phases share).
// Phase "up" runs with Redis up; phase "down" with Redis stopped (503s),
// then checks the coverage of both.
import { readFileSync, writeFileSync, existsSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import { Validator } from "@seriousme/openapi-schema-validator";

const env = (k) => {
  const v = process.env[k];
  if (v === undefined) throw new Error(`${k} is not set`);
  return v;
};
const phase = process.argv[2];
const BASE = env("BASE");
const TOKEN = env("TOKEN");
const doc = JSON.parse(readFileSync(env("DOC"), "utf8"));
let fails = 0;
let checks = 0;
const check = (what, ok, detail = "") => {
  checks++;
  if (ok) console.log(`ok   - ${what}`);
  else {
    fails++;
    console.log(`FAIL - ${what}${detail ? ": " + detail : ""}`);
  }
};

// ---- the document itself ------------------------------------------------------
if (phase === "up") {
  const v = new Validator();
  const res = await v.validate(env("DOC"));
  check("docs/openapi.json is a valid OpenAPI 3.1 document", res.valid, JSON.stringify(res.errors));
  const served = await fetch(`${BASE}/openapi.json`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  check("GET /openapi.json serves docs/openapi.json byte for byte",
    served.status === 200 && (await served.text()) === readFileSync(env("DOC"), "utf8"));
}

// ---- response validation ------------------------------------------------------
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: "openapi", components: doc.components });
const compiled = new Map();
const validatorOf = (schema) => {
  const text = JSON.stringify(schema).replaceAll('"#/components/', '"openapi#/components/');
  if (!compiled.has(text)) compiled.set(text, ajv.compile(JSON.parse(text)));
  return compiled.get(text);
};
const templates = Object.keys(doc.paths).map((p) => ({
  path: p,
  re: new RegExp("^" + p.replace(/\{[^}]+\}/g, "[^/]+").replaceAll(".", "\\.") + "$"),
}));
const coverage = existsSync(env("COVERAGE")) ? JSON.parse(readFileSync(env("COVERAGE"), "utf8")) : {};

async function call(what, method, path, { token = TOKEN, body, ctype = "application/json", headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h["Content-Type"] = ctype;
  const res = await fetch(`${BASE}${path}`, { method, headers: h, body, redirect: "manual" });
  const text = await res.text();
  const bare = path.split("?")[0];
  const t = templates.find((x) => x.re.test(bare));
  const op = t && doc.paths[t.path][method.toLowerCase()];
  if (!op && t && res.status === 405) {
    // A method the path does not take: the layer's 405, an Error document.
    const v = validatorOf({ $ref: "#/components/schemas/Error" });
    let json = null;
    try {
      json = JSON.parse(text);
    } catch {}
    check(`${what}: the 405 of ${method} ${t.path} is an Error document`, json !== null && v(json), text.slice(0, 200));
    return { status: res.status, text, json };
  }
  if (!op) {
    check(`${what}: ${method} ${bare} is documented`, false);
    return { status: res.status, text };
  }
  const r = op.responses[String(res.status)];
  check(`${what}: ${method} ${t.path} -> ${res.status} is a documented status`, r !== undefined, text.slice(0, 200));
  if (r === undefined) return { status: res.status, text };
  const key = `${method.toLowerCase()} ${t.path}`;
  coverage[key] = [...new Set([...(coverage[key] || []), res.status])];
  const types = Object.keys(r.content || {});
  const got = (res.headers.get("content-type") || "").split(";")[0].trim();
  if (types.length === 0) {
    check(`${what}: no body documented, none sent`, text.length === 0, text.slice(0, 100));
    return { status: res.status, text };
  }
  check(`${what}: content type ${got} is documented`, types.includes(got), types.join(","));
  if (got === "application/json") {
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      check(`${what}: the body is JSON`, false, text.slice(0, 200));
      return { status: res.status, text };
    }
    const v = validatorOf(r.content[got].schema);
    check(`${what}: the body matches its schema`, v(json), JSON.stringify(v.errors) + " " + text.slice(0, 300));
    return { status: res.status, text, json };
  }
  return { status: res.status, text };
}

const expect = async (what, status, ...args) => {
  const r = await call(what, ...args);
  check(`${what}: status ${status}`, r.status === status, `got ${r.status}: ${r.text.slice(0, 200)}`);
  return r;
};

const flow = (name) => ({
  app: "oa", profile: "p", flow: name,
  items: [{ id: "s1", type: "sleep", params: { steps: 1, step_ms: 1, marker: `/tmp/peace-oa-${name}-${process.pid}.done` } }],
});

if (phase === "up") {
  const id = env("EXEC_ID");
  const R = env("READ_TOKEN");
  await expect("the page", 200, "GET", "/", { token: "" });
  await expect("health", 200, "GET", "/healthz", { token: "" });
  await expect("metrics", 200, "GET", "/metrics");
  await expect("metrics without a token", 401, "GET", "/metrics", { token: "" });
  await expect("the document", 200, "GET", "/openapi.json");
  await expect("the document, wrong token", 401, "GET", "/openapi.json", { token: "nope" });
  const sub = await expect("submit", 202, "POST", "/v1/executions", { body: JSON.stringify({ cmd: "discover", flow: flow("a") }) });
  await expect("submit, bad JSON", 400, "POST", "/v1/executions", { body: "{" });
  await expect("submit, read token", 403, "POST", "/v1/executions", { token: R, body: JSON.stringify({ cmd: "discover", flow: flow("a") }) });
  await expect("submit, text/plain", 415, "POST", "/v1/executions", { body: "{}", ctype: "text/plain" });
  await expect("submit, too large", 413, "POST", "/v1/executions", { body: JSON.stringify({ cmd: "discover", pad: "x".repeat(9 << 20) }) });
  await expect("list", 200, "GET", "/v1/executions?limit=2");
  const page = await expect("list, filtered", 200, "GET", `/v1/executions?limit=1&status=finished&app=oa`);
  if (page.json && page.json.next_cursor) {
    await expect("list, next page", 200, "GET", `/v1/executions?limit=1&status=finished&cursor=${encodeURIComponent(page.json.next_cursor)}`);
  }
  await expect("list, bad cursor", 400, "GET", "/v1/executions?cursor=x");
  await expect("list, DELETE", 405, "DELETE", "/v1/executions");
  await expect("get", 200, "GET", `/v1/executions/${id}`);
  await expect("get, unknown", 404, "GET", "/v1/executions/01HZZZZZZZZZZZZZZZZZZZZZZ9");
  await expect("get, bad id", 400, "GET", "/v1/executions/bad%2Fid");
  await expect("events, unknown", 404, "GET", "/v1/executions/01HZZZZZZZZZZZZZZZZZZZZZZ9/events");
  await expect("events, bad last id", 400, "GET", `/v1/executions/${id}/events`, { headers: { "Last-Event-ID": "zz" } });
  {
    // A finished execution replays its events and ends: 200 event-stream.
    const r = await call("events", "GET", `/v1/executions/${id}/events`);
    check("events: status 200", r.status === 200);
    check("events: it ends with the outcome", /event: outcome/.test(r.text));
    const last = [...r.text.matchAll(/^id: (\S+)$/gm)].pop();
    if (last) {
      await expect("events, resumed after the outcome", 204, "GET", `/v1/executions/${id}/events`, { headers: { "Last-Event-ID": last[1] } });
    }
  }
  await expect("interrupt", 202, "POST", `/v1/executions/${sub.json ? sub.json.id : id}/interrupt`, { body: "{}" });
  await expect("interrupt, bad mode", 400, "POST", `/v1/executions/${id}/interrupt`, { body: '{"mode":"explode"}' });
  await expect("interrupt, unknown", 404, "POST", "/v1/executions/01HZZZZZZZZZZZZZZZZZZZZZZ9/interrupt", { body: "{}" });
  await expect("rerun", 202, "POST", `/v1/executions/${id}/rerun`, { body: "{}" });
  await expect("rerun, bad body", 400, "POST", `/v1/executions/${id}/rerun`, { body: "[" });
  await expect("rerun, unknown", 404, "POST", "/v1/executions/01HZZZZZZZZZZZZZZZZZZZZZZ9/rerun", { body: "{}" });
  await expect("rerun, read token", 403, "POST", `/v1/executions/${id}/rerun`, { token: R, body: "{}" });
  await expect("rerun, a job not kept", 409, "POST", `/v1/executions/${env("UNKEPT_ID")}/rerun`, { body: "{}" });
  await expect("states", 200, "GET", "/v1/states/oa/p/a");
  await expect("states, bad name", 400, "GET", "/v1/states/oa/p/no%20way");
  await expect("workers", 200, "GET", "/v1/workers");
  await expect("workers, read token", 200, "GET", "/v1/workers", { token: R });
  await expect("queues", 200, "GET", "/v1/queues");
  await expect("dead", 200, "GET", "/v1/dead");
  await expect("dead, a page", 200, "GET", "/v1/dead?limit=1");
  await expect("dead, bad limit", 400, "GET", "/v1/dead?limit=1000");
  await expect("retry, not retryable", 409, "POST", `/v1/dead/${env("GARBAGE_ENTRY")}/retry`, { body: "{}" });
  await expect("retry", 202, "POST", `/v1/dead/${env("DEAD_ENTRY")}/retry`, { body: "{}" });
  await expect("retry, again", 200, "POST", `/v1/dead/${env("DEAD_ENTRY")}/retry`, { body: "{}" });
  await expect("retry, unknown", 404, "POST", "/v1/dead/1-0/retry", { body: "{}" });
  await expect("retry, bad id", 400, "POST", "/v1/dead/x/retry", { body: "{}" });
  await expect("retry, GET", 405, "GET", `/v1/dead/${env("DEAD_ENTRY")}/retry`);
} else {
  // Redis is stopped: every route that needs it says 503.
  await expect("health, Redis down", 503, "GET", "/healthz", { token: "" });
  for (const [what, m, p, body] of [
    ["metrics", "GET", "/metrics"],
    ["list", "GET", "/v1/executions"],
    ["get", "GET", `/v1/executions/${env("EXEC_ID")}`],
    ["workers", "GET", "/v1/workers"],
    ["queues", "GET", "/v1/queues"],
    ["dead", "GET", "/v1/dead"],
    ["states", "GET", "/v1/states/oa/p/a"],
    ["submit", "POST", "/v1/executions", JSON.stringify({ cmd: "discover", flow: flow("b") })],
    ["rerun", "POST", `/v1/executions/${env("EXEC_ID")}/rerun`, "{}"],
    ["retry", "POST", "/v1/dead/1-0/retry", "{}"],
    ["interrupt", "POST", `/v1/executions/${env("EXEC_ID")}/interrupt`, "{}"],
    ["events", "GET", `/v1/executions/${env("EXEC_ID")}/events`],
  ]) {
    await expect(`${what}, Redis down`, 503, m, p, { body });
  }
  // Coverage: every operation answered with success, every provokable error seen.
  for (const [p, item] of Object.entries(doc.paths)) {
    for (const [m, op] of Object.entries(item)) {
      const seen = coverage[`${m} ${p}`] || [];
      check(`coverage: ${m.toUpperCase()} ${p} answered with a success status`,
        seen.some((s) => s < 300), JSON.stringify(seen));
      for (const s of Object.keys(op.responses).map(Number)) {
        // 500 is a bug, never provoked; 413 and 415 only on the routes tested above.
        if (s === 500 || ((s === 413 || s === 415) && !(m === "post" && p === "/v1/executions"))) continue;
        if (s === 403 && !(m === "post" && ["/v1/executions", "/v1/executions/{id}/rerun"].includes(p))) continue;
        if ((s === 400 || s === 401 || s === 404 || s === 409) && !seen.includes(s) && !tested(p, m, s)) continue;
        check(`coverage: ${m.toUpperCase()} ${p} -> ${s} was seen`, seen.includes(s), JSON.stringify(seen));
      }
    }
  }
}
// The statuses the scenario provokes on purpose, route by route.
function tested(p, m, s) {
  const want = {
    "get /metrics": [401], "get /openapi.json": [401], "post /v1/executions": [400],
    "get /v1/executions": [400], "get /v1/executions/{id}": [400, 404],
    "get /v1/executions/{id}/events": [400, 404], "post /v1/executions/{id}/interrupt": [400, 404],
    "post /v1/executions/{id}/rerun": [400, 404, 409], "get /v1/states/{app}/{profile}/{flow}": [400],
    "get /v1/dead": [400], "post /v1/dead/{entry}/retry": [400, 404, 409],
  };
  return (want[`${m} ${p}`] || []).includes(s);
}
writeFileSync(env("COVERAGE"), JSON.stringify(coverage));
console.log(`openapi ${phase}: ${checks} check(s), ${fails} failure(s)`);
process.exit(fails === 0 ? 0 : 1);
