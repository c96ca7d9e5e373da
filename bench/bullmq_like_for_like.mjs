// bench/bullmq_like_for_like.mjs - BullMQ doing what one peace execution
// records, for a like-for-like throughput figure next to the peer kit's no-op
// job (docs/BENCHMARKS.md, "Like for like").
//
// A 1-item peace `discover` writes, besides the queue bookkeeping: the item's
// progress twice (running, then success: a hash and an events stream), the
// item's current and goal States (two hashes of the profile), and an outcome
// report. Here each BullMQ job does the same through BullMQ's own API where it
// has one: job.updateProgress() twice (job hash + BullMQ's events stream), two
// HSETs of States under the job's own profile, and the report as the job's
// return value. BullMQ's per-job lock stands for peace's profile lock.
//
// Usage (copied next to a node_modules with `bullmq`, e.g. the peer kit's):
//   BENCH_REDIS_PORT=PORT node bullmq_like_for_like.mjs [mode=like|noop] [jobs=N] [workers=W] [concurrency=C]
// Prints one line: peer=bullmq ver=... bench=throughput_like_for_like (or
// throughput_noop) ... jobs_per_s=... redis_cpu_us_per_job=... (Redis CPU from
// the workers' start to the last completion, the enqueue excluded, as in ours).
import { Queue, Worker } from 'bullmq';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const version = require('bullmq/package.json').version;
const connection = { host: '127.0.0.1', port: Number(process.env.BENCH_REDIS_PORT || 6379) };
const args = Object.fromEntries(process.argv.slice(2).filter((s) => s.includes('=')).map((s) => s.split('=')));
const num = (k, d) => (args[k] !== undefined ? Number(args[k]) : d);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const REPORT = { v: 1, outcome: 'complete', blocks_processed: ['discover'] };

async function workerMain(queueName, concurrency, mode) {
  let client = null;
  const processor = mode === 'noop' ? async () => null : async (job) => {
    const profile = `p${job.data.i}`;
    await job.updateProgress({ item: 'i0', status: 'running', done: 0, limit: 'unknown', msg: '' });
    await client.hset(`states:{bench:${profile}}:f:current`, 'i0', '\x00');
    await client.hset(`states:{bench:${profile}}:f:goal`, 'i0', '\x01');
    await job.updateProgress({ item: 'i0', status: 'success', done: 0, limit: 'unknown', msg: 'discovered' });
    return REPORT;
  };
  const worker = new Worker(queueName, processor, { connection, concurrency, autorun: false });
  worker.on('error', (e) => console.error('worker error', e));
  await worker.waitUntilReady();
  client = await worker.client;
  process.send({ ready: true });
  process.on('message', async (m) => {
    if (m && m.go) worker.run().catch((e) => console.error('run error', e));
    if (m && m.stop) {
      await worker.close();
      process.exit(0);
    }
  });
}

function startWorker(queueName, concurrency, mode) {
  return new Promise((resolve, reject) => {
    const c = fork(fileURLToPath(import.meta.url), ['worker', queueName, String(concurrency), mode],
      { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    c.once('message', (m) => (m && m.ready ? resolve(c) : reject(new Error('bad message'))));
    c.once('error', reject);
  });
}

async function stopWorker(c) {
  if (c.exitCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.send({ stop: true });
  const t = setTimeout(() => c.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(t);
}

async function main() {
  const N = num('jobs', 20000), W = num('workers', 1), C = num('concurrency', 50);
  const qn = `like_${W}_${C}_${Date.now()}`;
  const q = new Queue(qn, { connection });
  await q.waitUntilReady();
  const mode = args.mode === 'noop' ? 'noop' : 'like';
  const ws = await Promise.all(Array.from({ length: W }, () => startWorker(qn, C, mode)));
  const client = await q.client;
  const redisCpu = async () => {
    const info = await client.info('cpu');
    let s = 0;
    for (const m of info.matchAll(/^used_cpu_(?:user|sys):([0-9.]+)/gm)) s += Number(m[1]);
    return s;
  };
  for (let i = 0; i < N; i += 1000) {
    const jobs = [];
    for (let j = i; j < Math.min(N, i + 1000); j++) jobs.push({ name: 'discover', data: { i: j } });
    await q.addBulk(jobs);
  }
  const cpu0 = await redisCpu();
  for (const w of ws) w.send({ go: true });
  const deadline = Date.now() + num('timeout_s', 120) * 1000;
  let counts;
  for (;;) {
    counts = await q.getJobCounts('completed', 'failed');
    if (counts.completed + counts.failed >= N || Date.now() > deadline) break;
    await sleep(50);
  }
  const cpu1 = await redisCpu();
  await Promise.all(ws.map(stopWorker));
  // The window: first processedOn to last finishedOn, as BullMQ stores them.
  let first = Infinity, last = -Infinity;
  for (let i = 1; i <= N; i += 2000) {
    const p = client.pipeline();
    for (let j = i; j < Math.min(N + 1, i + 2000); j++) p.hmget(`bull:${qn}:${j}`, 'processedOn', 'finishedOn');
    for (const [, [po, fo]] of await p.exec()) {
      if (po) first = Math.min(first, Number(po));
      if (fo) last = Math.max(last, Number(fo));
    }
  }
  const secs = (last - first) / 1000;
  console.log(`peer=bullmq ver=${version} bench=throughput_${mode === 'noop' ? 'noop' : 'like_for_like'} ` +
    `jobs=${N} workers=${W} concurrency=${C} completed=${counts.completed} failed=${counts.failed} ` +
    `seconds=${secs.toFixed(3)} jobs_per_s=${(counts.completed / secs).toFixed(0)} ` +
    `redis_cpu_us_per_job=${((cpu1 - cpu0) * 1e6 / N).toFixed(1)}`);
  await q.obliterate({ force: true }).catch(() => {});
  await q.close();
  process.exit(counts.completed === N ? 0 : 1);
}

if (process.argv[2] === 'worker') {
  await workerMain(process.argv[3], Number(process.argv[4]), process.argv[5]);
} else {
  await main();
}
