// A stand-in for peace-scheduler, for developing and testing the dashboard
// without Redis or workers: the endpoints of docs/http-api.md that the page
// uses, with an in-memory simulation of each execution. Items run in
// dependency order one at a time; a `sleep` item spends steps x step_ms with
// one progress step each (fail_at_step fails it), any other item takes one
// short step (an absolute sleep marker is written, as the real item does).
// Interrupts follow finish_current (the running item finishes,
// nothing new starts) or ignore; poll_next_n:N lets N more items start.
//
// Usage: node mock-server.mjs [--port N] [--token T] [--page PATH]
//                             [--drop-sse-after N]
// Prints "listening http://127.0.0.1:PORT" once ready.
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const port = Number(opt('--port', '0'));
const token = opt('--token', process.env.MOCK_TOKEN || '');
const pagePath = opt('--page', join(here, '..', '..', 'scheduler', 'web', 'index.html'));
// Ends the first events stream of each execution after this many events
// (0 = never), so a client must resume with Last-Event-ID.
const dropSseAfter = Number(opt('--drop-sse-after', '0'));

const CMD_BLOCKS = {
  ensure: ['read_current', 'read_goal', 'discover', 'sync_check', 'apply_ensure'],
  ensure_dry: ['read_current', 'read_goal', 'discover', 'sync_check', 'apply_ensure_dry'],
  clean: ['read_current', 'discover_current', 'clean_insertion', 'sync_check_current', 'apply_clean'],
  clean_dry: ['read_current', 'discover_current', 'clean_insertion', 'sync_check_current', 'apply_clean_dry'],
  discover: ['discover'],
  discover_current: ['discover_current'],
  discover_goal: ['discover_goal'],
  read_current: ['read_current'],
  read_goal: ['read_goal'],
  diff: ['read_current', 'read_goal', 'diff'],
};
const ITEM_TYPES = new Set(['file', 'sh_cmd', 'sleep', 'http_download']);
const ID_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const executions = new Map(); // id -> exec, insertion order = creation order
let eventSeq = 0;

// Crockford base32 ULID: 48-bit time, 80 random bits.
function ulid() {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  let t = Date.now();
  let timePart = '';
  for (let i = 0; i < 10; i++) {
    timePart = alphabet[t % 32] + timePart;
    t = Math.floor(t / 32);
  }
  const rand = randomBytes(16);
  let randPart = '';
  for (let i = 0; i < 16; i++) randPart += alphabet[rand[i] % 32];
  return timePart + randPart;
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(text);
}
function fail(res, status, code, error) {
  send(res, status, { error, code });
}

function validate(body) {
  if (typeof body.cmd !== 'string' || !CMD_BLOCKS[body.cmd]) return ['bad_request', 'cmd: unknown command'];
  const f = body.flow;
  if (!f || typeof f !== 'object' || Array.isArray(f)) return ['bad_request', 'flow: missing or not an object'];
  for (const k of ['app', 'profile', 'flow']) {
    if (typeof f[k] !== 'string' || !ID_RE.test(f[k])) return ['invalid_flow', `flow.${k}: not a valid id`];
  }
  if (!Array.isArray(f.items) || f.items.length === 0) return ['invalid_flow', 'flow.items: missing or empty'];
  const seen = new Set();
  for (let i = 0; i < f.items.length; i++) {
    const it = f.items[i];
    if (!it || typeof it.id !== 'string' || !ID_RE.test(it.id)) return ['invalid_flow', `items[${i}].id: not a valid id`];
    if (seen.has(it.id)) return ['invalid_flow', `items[${i}].id: duplicate id ${it.id}`];
    if (!ITEM_TYPES.has(it.type)) return ['unknown_item_type', `items[${i}].type: unknown item type ${it.type}`];
    for (const d of it.deps || []) {
      if (!seen.has(d)) return ['invalid_flow', `items[${i}].deps: unknown dep ${d} of ${it.id}`];
    }
    seen.add(it.id);
  }
  const s = body.interrupt_strategy ?? 'finish_current';
  if (!/^(finish_current|ignore|poll_next_n:\d+)$/.test(s)) return ['bad_request', 'interrupt_strategy: bad value'];
  return null;
}

function emit(x, kind, fields) {
  eventSeq += 1;
  const ev = { id: `${Date.now()}-${eventSeq}`, kind, data: { kind, ...fields } };
  x.events.push(ev);
  for (const res of x.listeners) {
    writeEvent(res, ev);
    if (res.dropAfter && ++res.written >= res.dropAfter && kind !== 'outcome') {
      console.log(`sse: dropped the stream of ${x.meta.id} after event ${ev.id}`);
      x.listeners.delete(res);
      res.end();
    }
  }
  if (kind === 'outcome') {
    for (const res of x.listeners) res.end();
    x.listeners.clear();
  }
}
function writeEvent(res, ev) {
  res.write(`id: ${ev.id}\nevent: ${ev.kind}\ndata: ${JSON.stringify(ev.data)}\n\n`);
}

function progress(x, item, patch) {
  const p = x.progress.get(item);
  Object.assign(p, patch);
  emit(x, 'progress', { item, status: p.status, done: String(p.done), limit: p.limit, msg: p.msg });
}

const sleepMs = (ms) => new Promise((r) => setTimeout(r, ms));

// Interrupt polling as CONTRACT §2 / peace-semantics §5.2 describe it.
function interrupted(x) {
  if (!x.interruptRequested) return false;
  if (x.strategy === 'ignore') return false;
  if (x.strategy === 'finish_current') return true;
  const n = Number(x.strategy.split(':')[1]);
  if (!x.pollsSeenSignal) {
    x.pollsSeenSignal = true; // the poll that first sees the signal is not counted
    return n === 0;
  }
  x.pollsSinceSignal += 1;
  return x.pollsSinceSignal >= n;
}

async function runItem(x, item, applying) {
  const p = item.params || {};
  const steps = item.type === 'sleep' ? Number(p.steps) || 1 : 1;
  const stepMs = item.type === 'sleep' ? Number(p.step_ms) || 100 : 150;
  progress(x, item.id, { status: 'queued', msg: '' });
  progress(x, item.id, { status: 'running', limit: `steps:${steps}`, done: 0 });
  for (let s = 1; s <= steps; s++) {
    await sleepMs(applying ? stepMs : 20);
    if (applying && p.fail_at_step !== undefined && Number(p.fail_at_step) === s) {
      progress(x, item.id, { status: 'fail', done: s - 1, msg: `failed at step ${s}` });
      return `sleep: failed at step ${s} as asked (fail_at_step)`;
    }
    progress(x, item.id, { done: s, msg: `step ${s}/${steps}` });
    if (!applying) break;
  }
  if (applying && item.type === 'sleep' && typeof p.marker === 'string' && p.marker.startsWith('/')) {
    mkdirSync(dirname(p.marker), { recursive: true });
    writeFileSync(p.marker, '');
  }
  progress(x, item.id, { status: 'success', done: applying ? steps : 1, limit: applying ? `steps:${steps}` : 'steps:1', msg: 'done' });
  return null;
}

async function runExecution(x) {
  await sleepMs(400);
  x.meta.status = 'running';
  x.meta.worker = 'mock:1';
  x.meta.attempt = 1;
  x.meta.started_ms = Date.now();
  const blocks = CMD_BLOCKS[x.meta.cmd];
  const finish = (outcome, extra = {}) => {
    x.meta.status = 'finished';
    x.meta.outcome = outcome;
    x.meta.finished_ms = Date.now();
    if (extra.error) x.meta.error = extra.error;
    x.report = { outcome, ...extra };
    emit(x, 'outcome', { outcome });
  };
  for (let b = 0; b < blocks.length; b++) {
    if (interrupted(x)) {
      emit(x, 'interrupt', { reason: x.meta.interrupt_reason || '' });
      finish(b === 0 ? 'execution_interrupted' : 'block_interrupted', {
        blocks_processed: blocks.slice(0, b), blocks_not_processed: blocks.slice(b),
        ...(b === 0 ? {} : { items_processed: [], items_not_processed: x.items.map((i) => i.id) }),
      });
      return;
    }
    x.meta.block = blocks[b];
    x.meta.block_index = b;
    emit(x, 'block_start', { block: blocks[b], index: String(b) });
    const streaming = !/^(read_|sync_check)/.test(blocks[b]);
    if (!streaming) {
      await sleepMs(120);
      continue;
    }
    const applying = blocks[b].startsWith('apply_');
    for (const it of x.items) progress(x, it.id, { status: 'exec_pending', done: 0, limit: 'unknown', msg: '' });
    const done = new Set();
    const started = [];
    const errors = [];
    let stopped = false;
    for (;;) {
      const ready = x.items.find((it) => !started.includes(it.id) && (it.deps || []).every((d) => done.has(d)));
      if (!ready) break;
      if (interrupted(x)) { stopped = true; break; }
      started.push(ready.id);
      const err = await runItem(x, ready, applying);
      if (err) { errors.push({ item: ready.id, error: err }); break; }
      done.add(ready.id);
    }
    const notProcessed = x.items.map((i) => i.id).filter((id) => !started.includes(id));
    if (stopped) {
      // As the fleet does: one interrupt event lists the items it stopped
      // (schemas/README.md, progress event), no progress event each. The
      // outcome follows a little later, so the test sees the page apply it.
      for (const id of notProcessed) Object.assign(x.progress.get(id), { status: 'interrupted', msg: 'interrupted' });
      emit(x, 'interrupt', { reason: x.meta.interrupt_reason || '', items: notProcessed.join(',') });
      await sleepMs(300);
    } else if (errors.length) {
      for (const id of notProcessed) progress(x, id, { status: 'interrupted', msg: 'interrupted' });
    }
    if (stopped || errors.length) {
      x.meta.items_done = done.size;
      const common = {
        blocks_processed: blocks.slice(0, b), blocks_not_processed: blocks.slice(b),
        items_processed: started, items_not_processed: notProcessed,
      };
      if (errors.length) finish('item_error', { ...common, errors });
      else finish('block_interrupted', common);
      return;
    }
    x.meta.items_done = done.size;
  }
  finish('complete', { blocks_processed: blocks, blocks_not_processed: [] });
}

function authorized(req, url) {
  if (!token) return true;
  if (req.headers.authorization === `Bearer ${token}`) return true;
  return url.pathname.endsWith('/events') && url.searchParams.get('access_token') === token;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const parts = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 8 << 20) { reject(new Error('too large')); req.destroy(); return; }
      parts.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function itemsOf(x) {
  return x.items.map((it) => ({ id: it.id, ...x.progress.get(it.id) }));
}

const server = createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const path = url.pathname;
  try {
    if (req.method === 'GET' && path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(readFileSync(pagePath));
      return;
    }
    if (path === '/healthz') { send(res, 200, { status: 'ok' }); return; }
    if (!path.startsWith('/v1/')) { fail(res, 404, 'not_found', 'no such route'); return; }
    if (!authorized(req, url)) { fail(res, 401, 'unauthorized', 'missing or wrong bearer token'); return; }

    if (path === '/v1/executions') {
      if (req.method === 'GET') {
        const limit = Math.min(1000, Math.max(1, Number(url.searchParams.get('limit') || 50)));
        const list = [...executions.values()].reverse().slice(0, limit).map((x) => x.meta);
        send(res, 200, { executions: list });
        return;
      }
      if (req.method !== 'POST') { fail(res, 405, 'method_not_allowed', 'use GET or POST'); return; }
      let body;
      try { body = JSON.parse(await readBody(req)); } catch { fail(res, 400, 'invalid_json', 'the body is not JSON'); return; }
      const bad = validate(body || {});
      if (bad) { fail(res, 400, bad[0], bad[1]); return; }
      const id = ulid();
      const f = body.flow;
      const x = {
        meta: {
          id, cmd: body.cmd, app: f.app, profile: f.profile, flow: f.flow, queue: body.queue || 'default',
          status: 'queued', created_ms: Date.now(), attempt: 0, blocks_total: CMD_BLOCKS[body.cmd].length,
          items_total: f.items.length, items_done: 0,
        },
        items: f.items, strategy: body.interrupt_strategy || 'finish_current',
        progress: new Map(f.items.map((it) => [it.id, { status: 'initialized', limit: 'unknown', done: 0, msg: '' }])),
        events: [], listeners: new Set(), report: null,
        interruptRequested: false, pollsSeenSignal: false, pollsSinceSignal: 0,
      };
      executions.set(id, x);
      runExecution(x).catch((e) => console.error('mock: execution failed', e));
      send(res, 202, { id, status: 'queued' }, { Location: `/v1/executions/${id}` });
      return;
    }

    const m = /^\/v1\/executions\/([0-9A-Za-z]+)(\/events|\/interrupt)?$/.exec(path);
    if (!m) { fail(res, 404, 'not_found', 'no such route'); return; }
    const x = executions.get(m[1]);
    if (!x) { fail(res, 404, 'execution_not_found', `no execution ${m[1]}`); return; }

    if (!m[2] && req.method === 'GET') {
      send(res, 200, { execution: x.meta, items: itemsOf(x), report: x.meta.status === 'finished' ? x.report : null });
      return;
    }
    if (m[2] === '/interrupt' && req.method === 'POST') {
      const raw = await readBody(req);
      let reason = '';
      try { reason = raw ? JSON.parse(raw).reason || '' : ''; } catch { fail(res, 400, 'invalid_json', 'the body is not JSON'); return; }
      const was = x.meta.status;
      const requested = was !== 'finished';
      if (requested && !x.interruptRequested) {
        x.interruptRequested = true;
        x.meta.interrupt_requested_ms = Date.now();
        x.meta.interrupt_reason = reason; // the event comes when the run sees it
      }
      send(res, 202, { id: x.meta.id, status: was, requested });
      return;
    }
    if (m[2] === '/events' && req.method === 'GET') {
      const after = req.headers['last-event-id'] || url.searchParams.get('last_event_id') || '';
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' });
      res.write('retry: 300\n\n');
      if (after) console.log(`sse: ${x.meta.id} resumed after ${after}`);
      if (dropSseAfter > 0 && !x.dropped) {
        x.dropped = true;
        res.dropAfter = dropSseAfter;
        res.written = 0;
      }
      let i = 0;
      if (after) {
        const at = x.events.findIndex((e) => e.id === after);
        i = at >= 0 ? at + 1 : 0;
      }
      for (; i < x.events.length; i++) writeEvent(res, x.events[i]);
      if (x.meta.status === 'finished') { res.end(); return; }
      x.listeners.add(res);
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), 15000);
      req.on('close', () => { clearInterval(keepalive); x.listeners.delete(res); });
      return;
    }
    fail(res, 405, 'method_not_allowed', 'route exists, method does not');
  } catch (e) {
    console.error('mock:', e);
    if (!res.headersSent) fail(res, 500, 'internal', String(e.message || e));
  }
});

server.listen(port, '127.0.0.1', () => {
  console.log(`listening http://127.0.0.1:${server.address().port}`);
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { server.closeAllConnections(); server.close(() => process.exit(0)); });
