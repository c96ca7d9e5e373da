// `peace run FLOW.json --local --listen` in a real browser (Debian's
// chromium, headless): a local run of four chained `sleep` items serves its
// own dashboard; the page knows it is a local run (no new-execution form),
// shows the bars moving, and its Interrupt ends the run `block_interrupted`
// with the same item and block lists as a Ctrl-C at the same point of an
// identical run; the CLI exits 2 with the report.
//
// Token (PEACE_TOKEN): empty = the CLI generates one and prints the URL
// with #token=..., which the page must pick up and remove from the address
// bar; set = the run gets --token and the page asks for it once. With
// PEACE_READ_TOKEN also set, a second run is opened with that read-only
// token: pressing Interrupt shows a clear "not allowed" message (403) and
// the run goes on.
//
// Environment: PEACE_BIN (the peace CLI, required), PEACE_TOKEN,
// PEACE_READ_TOKEN, PEACE_SCREENSHOT, CHROMIUM.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { answerTokenDialog, check, finish, openBrowser, same, sleep } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const peace = process.env.PEACE_BIN;
if (!peace) {
  console.error('local.test: set PEACE_BIN to the peace CLI');
  process.exit(2);
}
const token = process.env.PEACE_TOKEN || '';
const readToken = process.env.PEACE_READ_TOKEN || '';
const screenshot = resolve(process.env.PEACE_SCREENSHOT || join(here, '..', '..', 'build', 'dashboard-local.png'));

const ITEMS = ['s1', 's2', 's3', 's4'];
const STEPS = 20;
const STEP_MS = 150;
const scratch = mkdtempSync(join(tmpdir(), 'peace-local-browser-'));

// A working directory with the flow (a chain: one item runs at a time) and
// its current states discovered (ensure needs them).
function workdir(name) {
  const dir = join(scratch, name);
  mkdirSync(join(dir, 'markers'), { recursive: true });
  const flow = {
    app: 'local_test', profile: 'p', flow: 'sleepers',
    items: ITEMS.map((id, i) => ({
      id, type: 'sleep', ...(i > 0 ? { deps: [ITEMS[i - 1]] } : {}),
      params: { steps: STEPS, step_ms: STEP_MS, marker: join(dir, 'markers', `${id}.done`) },
    })),
  };
  writeFileSync(join(dir, 'flow.json'), JSON.stringify(flow, null, 2));
  const r = spawnSync(peace, ['run', 'flow.json', '--local', '--cmd', 'discover', '--no-progress'],
    { cwd: dir, encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`discover failed (${r.status}): ${r.stdout}${r.stderr}`);
  return dir;
}

// Starts a run; resolves when it printed its dashboard URL.
function startRun(dir, args) {
  const child = spawn(peace, ['run', 'flow.json', '--local', '--no-progress', ...args], { cwd: dir });
  const run = { child, out: '', err: '', code: null, url: null, id: null };
  run.exited = new Promise((res) => child.on('exit', (code, sig) => { run.code = code ?? sig; res(run.code); }));
  child.stdout.on('data', (d) => { run.out += d; });
  child.stderr.on('data', (d) => { run.err += d; });
  run.ready = (async () => {
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline && run.code === null) {
      const m = /dashboard of execution (\S+): (http:\/\/\S+)/.exec(run.out + run.err);
      if (m) { run.id = m[1]; run.url = m[2]; return run; }
      await sleep(50);
    }
    throw new Error(`no dashboard URL (exit ${run.code}): ${run.out}${run.err}`);
  })();
  return run;
}

async function api(run, method, path, body, bearer) {
  const base = new URL('/', run.url).href.replace(/\/$/, '');
  const headers = { Accept: 'application/json' };
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const runs = [];
let browser;
try {
  browser = await openBrowser();
  const { page, pageErrors } = browser;

  // 1. The run with --listen, and its page.
  const webDir = workdir('web');
  const run = startRun(webDir, ['--listen', '127.0.0.1:0', '--exit-after-s', '2',
    ...(token ? ['--token', token] : [])]);
  runs.push(run);
  await run.ready;
  check('the CLI prints the dashboard URL', /^http:\/\/127\.0\.0\.1:\d+\//.test(run.url), run.url);
  check(token ? 'a given token is not printed' : 'a generated token is in the URL (#token=)',
    token ? !run.url.includes('#token=') && !(run.out + run.err).includes(token) : /#token=[0-9a-f]{48}$/.test(run.url));
  const bearer = token || decodeURIComponent(run.url.split('#token=')[1] || '');
  await page.goto(run.url);
  const asked = await (async () => {
    await page.waitForFunction(() =>
      document.getElementById('exec-list').getAttribute('aria-busy') === 'false' ||
      document.getElementById('token-dialog').open);
    return answerTokenDialog(page, token);
  })();
  check(token ? 'the page asks for the token once' : 'the page takes the token from the URL (no dialog)',
    token ? asked : !asked);
  if (!token) {
    const href = await page.evaluate(() => location.href);
    check('the #token= fragment is removed from the address bar', !href.includes('token='), href);
  }
  await page.waitForFunction((id) => location.hash === `#/executions/${id}`, run.id);
  check('a local run is selected without a click', true);
  await page.waitForFunction(() => document.body.dataset.backend === 'local');
  check('the page says it shows one local run and disables the new-execution form',
    (await page.isVisible('#local-note')) && !(await page.isEnabled('#start-btn')) &&
    !(await page.isEnabled('#flow-json')) && (await page.textContent('#new-exec summary')).includes('local run'));
  await page.waitForFunction((x) => document.getElementById('d-id').textContent === x, run.id);
  check('the header shows the execution', (await page.textContent('#d-cmd')) === 'ensure' &&
    (await page.textContent('#d-target')) === 'local_test / p / sleepers');

  // 2. The bars move.
  const doneNow = () => page.$$eval('#items .item', (l) => l.reduce((a, li) => a + Number(li.dataset.done), 0));
  await page.waitForFunction(() => [...document.querySelectorAll('#items .item')].some((li) => Number(li.dataset.done) > 0),
    null, { timeout: 30000 });
  const d0 = await doneNow();
  await sleep(4 * STEP_MS);
  const d1 = await doneNow();
  check('the bars move (units grow between two looks)', d1 > d0, `${d0} -> ${d1}`);
  check('the events stream is live', (await page.getAttribute('#stream', 'data-state')) === 'live');
  const order = await page.$$eval('#items .item', (l) => l.map((li) => li.dataset.itemId));
  check('one bar per item, in flow order', same(order, ITEMS), String(order));

  // 3. Interrupt from the page while s2 runs (s1 done).
  await page.waitForFunction(() => {
    const s = (id) => document.querySelector(`#items .item[data-item-id="${id}"]`)?.dataset.status;
    return s('s1') === 'success' && s('s2') === 'running';
  }, null, { timeout: 30000 });
  await page.click('#interrupt-btn');
  await page.waitForSelector('#outcome[data-outcome]', { timeout: 60000 });
  const outcome = await page.getAttribute('#outcome', 'data-outcome');
  check('Interrupt ends the run block_interrupted', outcome === 'block_interrupted', outcome);
  const shown = {
    processed: await page.$$eval('#outcome-items-processed li', (l) => l.map((x) => x.dataset.item)),
    notProcessed: await page.$$eval('#outcome-items-not-processed li', (l) => l.map((x) => x.dataset.item)),
  };
  const got = await api(run, 'GET', `/v1/executions/${run.id}`, undefined, bearer);
  const report = (got.body && got.body.report) || {};
  check('the page shows the API lists', same(shown.processed, report.items_processed) &&
    same(shown.notProcessed, report.items_not_processed), JSON.stringify({ shown, report }));
  check('the API agrees: finished, block_interrupted, the interrupt recorded',
    got.body.execution.status === 'finished' && got.body.execution.outcome === 'block_interrupted' &&
    got.body.execution.interrupt_requested_ms > 0, JSON.stringify(got.body.execution));
  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`# screenshot: ${screenshot}`);
  const code = await Promise.race([run.exited, sleep(30000).then(() => 'timeout')]);
  check('the CLI exits 2 (interrupted) after --exit-after-s', code === 2, `exit ${code}\n${run.err}`);
  check('the CLI printed the report', /outcome: block_interrupted/.test(run.out) &&
    run.out.includes(`items processed: ${report.items_processed.join(', ')}`), run.out);
  check('the report was kept under the run\'s id', run.out.includes(`execution ${run.id} (peace report`));

  // 4. The same run interrupted with Ctrl-C at the same point: the same lists.
  const ccDir = workdir('ctrl-c');
  const cc = spawn(peace, ['run', 'flow.json', '--local', '--no-progress', '--json'], { cwd: ccDir });
  runs.push({ child: cc });
  let ccOut = '';
  cc.stdout.on('data', (d) => { ccOut += d; });
  const ccExit = new Promise((res) => cc.on('exit', (c) => res(c)));
  const t0 = Date.now();
  while (!existsSync(join(ccDir, 'markers', 's1.done')) && Date.now() - t0 < 30000) await sleep(20);
  await sleep(3 * STEP_MS); // s2 is running
  cc.kill('SIGINT');
  const ccCode = await Promise.race([ccExit, sleep(30000).then(() => 'timeout')]);
  let ccReport = {};
  try { ccReport = JSON.parse(ccOut); } catch (e) { ccReport = {}; }
  check('Ctrl-C: exit 2, block_interrupted', ccCode === 2 && ccReport.outcome === 'block_interrupted', `exit ${ccCode}: ${ccOut}`);
  for (const k of ['items_processed', 'items_not_processed', 'blocks_processed', 'blocks_not_processed']) {
    check(`Interrupt and Ctrl-C give the same ${k}`, same(report[k], ccReport[k]),
      `page run ${JSON.stringify(report[k])}, Ctrl-C ${JSON.stringify(ccReport[k])}`);
  }

  // 5. A read-only token: Interrupt is refused with a clear message.
  if (readToken) {
    const roDir = workdir('read-only');
    const ro = startRun(roDir, ['--listen', '127.0.0.1:0', '--exit-after-s', '0', '--token', token || 'all-scope',
      '--read-token', readToken]);
    runs.push(ro);
    await ro.ready;
    await page.goto('about:blank');
    await page.goto(new URL('/', ro.url).href + '#token=' + encodeURIComponent(readToken));
    await page.waitForFunction((id) => location.hash === `#/executions/${id}`, ro.id);
    await page.waitForFunction(() => [...document.querySelectorAll('#items .item')].some((li) => Number(li.dataset.done) > 0),
      null, { timeout: 30000 });
    await page.click('#interrupt-btn');
    await page.waitForFunction(() => /not allowed/i.test(document.getElementById('interrupt-note').textContent));
    const note = await page.textContent('#interrupt-note');
    check('a read-only token: Interrupt shows "not allowed"', /Not allowed with this token/.test(note), note);
    const still = await api(ro, 'GET', `/v1/executions/${ro.id}`, undefined, readToken);
    check('... and the run goes on (no interrupt recorded)', still.status === 200 &&
      still.body.execution.status === 'running' && still.body.execution.interrupt_requested_ms === undefined,
      JSON.stringify(still.body && still.body.execution));
    const stop = await api(ro, 'POST', `/v1/executions/${ro.id}/interrupt`, { mode: 'kill' }, token || 'all-scope');
    check('the all-scope token interrupts it (kill)', stop.status === 202 && stop.body.requested === true &&
      stop.body.mode === 'kill', JSON.stringify(stop));
    const roCode = await Promise.race([ro.exited, sleep(30000).then(() => 'timeout')]);
    check('the killed run exits 2', roCode === 2, `exit ${roCode}: ${ro.out}${ro.err}`);
  }
  check('no script errors on the page', pageErrors.length === 0, pageErrors.join('\n    '));
} catch (e) {
  check('the scenario ran to its end', false, e && e.stack ? e.stack : String(e));
} finally {
  for (const r of runs) {
    if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
  }
  if (browser) await browser.close();
  rmSync(scratch, { recursive: true, force: true });
}
finish('local dashboard');
