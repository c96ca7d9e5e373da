// The dashboard as a person uses it, in Debian's chromium: a bad flow shows
// the scheduler's 400 message; a flow of four chained `sleep` items is
// discovered, then ensured from the page's form, which shows live bars; Interrupt ends it
// `block_interrupted`, and the item lists the page shows are exactly those
// of GET /v1/executions/{id}, consistent with the bars and the markers on
// disk; then an Interrupt in mode cancel cuts the running item, listed as
// interrupted as in the API, with the mode and latch in the header.
// Ends with a screenshot and one "N passed, N failed" line.
//
// Environment:
//   PEACE_DASHBOARD_URL  the page (required), e.g. http://127.0.0.1:7117/
//   PEACE_TOKEN          the API token, typed into the page when it asks
//   PEACE_MARKER_DIR     where the sleep items write their markers (default:
//                        a new temporary directory; must be visible to workers)
//   PEACE_SCREENSHOT     PNG path (default build/dashboard.png in the repository)
//   CHROMIUM             browser binary (default /usr/bin/chromium)
//   PEACE_RESUME_LOG     a server log that must show an events stream resumed
//                        after a given id (the mock drops streams on purpose)
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { answerTokenDialog, apiClient, check, finish, openBrowser, same } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const baseUrl = process.env.PEACE_DASHBOARD_URL;
if (!baseUrl) {
  console.error('dashboard.test: set PEACE_DASHBOARD_URL to the page to test');
  process.exit(2);
}
const token = process.env.PEACE_TOKEN || '';
const screenshot = resolve(process.env.PEACE_SCREENSHOT || join(here, '..', '..', 'build', 'dashboard.png'));
const markerDir = process.env.PEACE_MARKER_DIR || mkdtempSync(join(tmpdir(), 'peace-markers-'));

const ITEMS = ['s1', 's2', 's3', 's4'];
const STEPS = 20;
const STEP_MS = 150;
const profile = 'browser_' + randomBytes(4).toString('hex');
const flow = {
  app: 'dashboard_test',
  profile,
  flow: 'sleepers',
  // A chain, so one item runs at a time and an interrupt always leaves some
  // items not started.
  items: ITEMS.map((id, i) => ({
    id,
    type: 'sleep',
    ...(i > 0 ? { deps: [ITEMS[i - 1]] } : {}),
    params: { steps: STEPS, step_ms: STEP_MS, marker: join(markerDir, `${id}.done`) },
  })),
};
const badFlow = {
  app: 'dashboard_test', profile, flow: 'bad',
  items: [{ id: 'lonely', type: 'sleep', deps: ['nowhere'], params: { steps: 1, step_ms: 1, marker: join(markerDir, 'x') } }],
};

const apiBase = new URL('/', baseUrl).href.replace(/\/$/, '');
const api = apiClient(baseUrl, token);

let browser;
try {
  browser = await openBrowser();
  const { page, pageErrors } = browser;

  // 1. The page loads, lists executions, and asks for the token if needed.
  await page.goto(baseUrl);
  await page.waitForFunction(() =>
    document.getElementById('exec-list').getAttribute('aria-busy') === 'false' ||
    document.getElementById('token-dialog').open);
  const asked = await answerTokenDialog(page, token);
  check(token ? 'the page asks for the token and then works' : 'the page works without a token',
    token ? asked : !asked);
  await page.waitForSelector('#exec-list[aria-busy=false]');
  check('the page shows the new execution form', await page.isVisible('#new-form'));

  // 2. A bad flow: the scheduler's 400 message is shown, nothing starts.
  const hashBefore = await page.evaluate(() => location.hash);
  await page.fill('#flow-json', JSON.stringify(badFlow));
  await page.click('#start-btn');
  await page.waitForFunction(() => document.getElementById('form-error').textContent.trim() !== '');
  const formError = (await page.textContent('#form-error')).trim();
  check('a bad flow shows the scheduler error code and message',
    /^invalid_flow: /.test(formError) && formError.includes('nowhere'), `form error: ${formError}`);
  check('a bad flow selects no execution', (await page.evaluate(() => location.hash)) === hashBefore);

  // 3. Discover first (ensure needs stored states), then ensure, both from
  //    the form.
  await page.selectOption('#example-select', '0');
  check('picking an example fills the flow text',
    (await page.inputValue('#flow-json')).includes('"sleepers"'));
  await page.fill('#flow-json', JSON.stringify(flow, null, 2));
  await page.selectOption('#cmd-select', 'discover');
  await page.click('#start-btn');
  await page.waitForFunction((h) => /^#\/executions\/[0-9A-Za-z]+$/.test(location.hash) && location.hash !== h, hashBefore);
  await page.waitForSelector('#outcome[data-outcome]', { timeout: 60000 });
  check('discover ends complete', (await page.getAttribute('#outcome', 'data-outcome')) === 'complete');
  check('a complete outcome lists no items',
    (await page.isHidden('#outcome-items')) && (await page.isHidden('#outcome-items-not')));
  const discoverHash = await page.evaluate(() => location.hash);

  await page.selectOption('#cmd-select', 'ensure');
  await page.selectOption('#strategy-select', 'finish_current');
  await page.click('#start-btn');
  await page.waitForFunction((h) => /^#\/executions\/[0-9A-Za-z]+$/.test(location.hash) && location.hash !== h, discoverHash);
  const id = decodeURIComponent((await page.evaluate(() => location.hash)).split('/').pop());
  check('Start selects the new execution in the URL hash', id.length >= 26, `id: ${id}`);
  check('the form error is cleared', (await page.textContent('#form-error')).trim() === '');
  await page.waitForFunction((x) => document.getElementById('d-id').textContent === x &&
    document.getElementById('d-cmd').textContent !== '', id);
  check('the header shows cmd and app/profile/flow',
    (await page.textContent('#d-cmd')) === 'ensure' &&
    (await page.textContent('#d-target')) === `dashboard_test / ${profile} / sleepers`);
  await page.waitForSelector(`#exec-list a[data-exec-id="${id}"]`, { timeout: 10000 });
  check('the new execution appears in the list, selected',
    (await page.getAttribute(`#exec-list a[data-exec-id="${id}"]`, 'aria-current')) === 'true');

  // 4. Bars advance, in flow order (an apply bar: limit steps:STEPS).
  await page.waitForFunction((limit) => [...document.querySelectorAll('#items .item')]
    .some((li) => li.dataset.limit === limit && Number(li.dataset.done) > 0), `steps:${STEPS}`, { timeout: 60000 });
  const order = await page.$$eval('#items .item', (lis) => lis.map((li) => li.dataset.itemId));
  check('one bar per item, in flow order', same(order, ITEMS), `bars: ${order}`);
  const running = await page.$$eval('#items .item', (lis) => lis
    .filter((li) => Number(li.dataset.done) > 0)
    .map((li) => ({ id: li.dataset.itemId, status: li.dataset.status, limit: li.dataset.limit,
      units: li.querySelector('.item-units').textContent })));
  check('an advancing bar shows steps of its limit',
    running.length > 0 && running.every((r) => r.limit === `steps:${STEPS}` && r.units.endsWith(`/ ${STEPS} steps`)),
    JSON.stringify(running));
  check('the status badge says running', (await page.textContent('#d-status')) === 'running');
  check('the events stream is live', (await page.getAttribute('#stream', 'data-state')) === 'live',
    token ? 'with a token, the scheduler must accept ?access_token= on /v1/executions/{id}/events ' +
      '(EventSource cannot send an Authorization header)' : '');

  // 5. Interrupt.
  check('Interrupt is enabled while running', await page.isEnabled('#interrupt-btn'));
  await page.click('#interrupt-btn');
  await page.waitForFunction(() => document.getElementById('interrupt-btn').disabled);
  check('Interrupt is disabled once requested', true);

  // 6. The items the interrupt stopped: one interrupt event lists them
  // (no progress event each); the page marks each bar interrupted. The mock
  // sends the outcome 300 ms later, so there the bars must turn before it.
  await page.waitForFunction(() => [...document.querySelectorAll('#items .item')]
    .some((li) => li.dataset.status === 'interrupted'), null, { timeout: 90000 });
  const outcomeFirst = (await page.$('#outcome[data-outcome]')) !== null;
  console.log(`# the first interrupted bar came ${outcomeFirst ? 'with' : 'before'} the outcome`);
  if (process.env.PEACE_MOCK === '1') {
    check('the interrupt event\'s items turn their bars interrupted before the outcome', !outcomeFirst);
  }

  // 7. The outcome.
  await page.waitForSelector('#outcome[data-outcome]', { timeout: 90000 });
  const outcome = await page.getAttribute('#outcome', 'data-outcome');
  check('the outcome is block_interrupted', outcome === 'block_interrupted', `outcome: ${outcome}`);
  const shown = {
    processed: await page.$$eval('#outcome-items-processed li', (l) => l.map((x) => x.dataset.item)),
    notProcessed: await page.$$eval('#outcome-items-not-processed li', (l) => l.map((x) => x.dataset.item)),
    blocksProcessed: await page.$$eval('#outcome-blocks-processed li', (l) => l.map((x) => x.dataset.item)),
    blocksNotProcessed: await page.$$eval('#outcome-blocks-not-processed li', (l) => l.map((x) => x.dataset.item)),
  };
  console.log(`# page: items processed [${shown.processed}] not processed [${shown.notProcessed}]`);
  const got = await api('GET', `/v1/executions/${encodeURIComponent(id)}`);
  const report = got.report || {};
  check('the API agrees on the outcome', report.outcome === 'block_interrupted' &&
    got.execution.outcome === 'block_interrupted' && got.execution.status === 'finished');
  check('items processed: the page shows exactly the API list',
    same(shown.processed, report.items_processed), `api: ${JSON.stringify(report.items_processed)}`);
  check('items not processed: the page shows exactly the API list',
    same(shown.notProcessed, report.items_not_processed), `api: ${JSON.stringify(report.items_not_processed)}`);
  check('blocks processed / not processed: the page shows the API lists',
    same(shown.blocksProcessed, report.blocks_processed) && same(shown.blocksNotProcessed, report.blocks_not_processed));
  check('a finish interrupt cuts nothing: no "Items interrupted"',
    (await page.isHidden('#outcome-items-cut')) && same(report.items_interrupted || [], []));
  check('the interrupt stopped the apply block', same(report.blocks_not_processed, ['apply_ensure']),
    JSON.stringify(report.blocks_not_processed));
  check('some items were processed and some were not',
    shown.processed.length > 0 && shown.notProcessed.length > 0);
  check('processed then not processed is the flow (a chain runs in order)',
    same([...shown.processed, ...shown.notProcessed], ITEMS));
  const bars = await page.$$eval('#items .item', (lis) => Object.fromEntries(lis.map((li) =>
    [li.dataset.itemId, { status: li.dataset.status, done: Number(li.dataset.done) }])));
  check('processed items end with full success bars',
    shown.processed.every((i) => bars[i].status === 'success' && bars[i].done === STEPS), JSON.stringify(bars));
  check('items not processed never started (no success, no units)',
    shown.notProcessed.every((i) => bars[i].status !== 'success' && bars[i].done === 0), JSON.stringify(bars));
  check('the page bars match the API progress',
    got.items.every((it) => bars[it.id] && bars[it.id].status === it.status && bars[it.id].done === Number(it.done)),
    JSON.stringify(got.items));
  check('markers exist for processed items only',
    shown.processed.every((i) => existsSync(join(markerDir, `${i}.done`))) &&
    shown.notProcessed.every((i) => !existsSync(join(markerDir, `${i}.done`))));
  await page.waitForFunction(() => document.getElementById('d-status').textContent === 'finished');
  check('the header says finished, with the outcome badge',
    (await page.textContent('#d-outcome')) === 'block_interrupted');
  check('Interrupt stays disabled once finished', !(await page.isEnabled('#interrupt-btn')));
  await page.waitForSelector(`#exec-list a[data-exec-id="${id}"][data-outcome="block_interrupted"]`, { timeout: 10000 });
  check('the list shows the outcome badge', true);

  // The report's timeline and changes table (report v2; the mock serves v1 reports).
  if (!process.env.PEACE_REPORT_V1) {
    const blocks = Array.isArray(report.blocks) ? report.blocks : [];
    const rows = await page.$$eval('#timeline .tl-row', (l) => l.map((r) => ({
      kind: r.classList.contains('tl-block') ? 'block' : 'item', name: r.dataset.name,
      left: parseFloat(r.querySelector('.tl-bar').style.left), width: parseFloat(r.querySelector('.tl-bar').style.width) })));
    const blockRows = rows.filter((r) => r.kind === 'block');
    check('the timeline has one bar per block run, in order, as the API report',
      blocks.length === 5 && same(blockRows.map((r) => r.name), blocks.map((b) => b.block)), JSON.stringify(rows));
    check('the timeline bars lie on the time axis (0..100%), blocks left to right',
      rows.every((r) => r.left >= 0 && r.left + r.width <= 100.5) &&
      blockRows.every((r, i) => i === 0 || r.left >= blockRows[i - 1].left), JSON.stringify(rows));
    const applied = (blocks[4] && blocks[4].items || []).map((it) => it.item);
    const lastItems = rows.slice(rows.findIndex((r) => r.name === 'apply_ensure') + 1).map((r) => r.name);
    check('the apply block shows a bar per item it started (the in-flight one too)',
      applied.length > 0 && same(lastItems, applied) && same(applied, shown.processed), JSON.stringify({ lastItems, applied }));
    check('the interrupt is marked on the time axis',
      (await page.$$('#timeline .tl-interrupt')).length > 0 && report.interrupted_ms >= blocks[4].start_ms);
    const changes = await page.$$eval('#changes tbody tr', (l) => l.map((r) => ({
      item: r.dataset.item, cls: r.className, cells: [...r.cells].map((c) => c.textContent) })));
    const doneRows = changes.filter((r) => r.cells[2] === 'done');
    check('the changes table: each applied item changed, done false → true, highlighted',
      (await page.textContent('#changes-title')).startsWith('Changes (apply_ensure)') &&
      same(doneRows.map((r) => r.item), applied) &&
      doneRows.every((r) => r.cls === 'changed' && r.cells[3] === 'false' && r.cells[4] === '→ true') &&
      changes.filter((r) => r.cells[0] !== '').every((r) => r.cells[1] === 'changed'), JSON.stringify(changes));
  }

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`# screenshot: ${screenshot}`);

  // 8. The hash alone selects the execution (a fresh load, as from a link).
  await page.goto('about:blank');
  await page.goto(`${apiBase}/#/executions/${encodeURIComponent(id)}`);
  await answerTokenDialog(page, token).catch(() => false);
  await page.waitForSelector('#outcome[data-outcome="block_interrupted"]');
  const again = await page.$$eval('#outcome-items-processed li', (l) => l.map((x) => x.dataset.item));
  check('#/executions/{id} on a fresh load shows the same report', same(again, shown.processed));

  // 9. Interrupt with a choice: `cancel` cuts the running item. The next
  //    ensure of the same flow (the processed items have nothing to do), then
  //    Interrupt in mode cancel while an item runs: the outcome lists it in
  //    "Items interrupted", exactly the API's items_interrupted, and the
  //    header shows the mode in effect and when the worker latched it.
  //    (The mock scheduler knows only `finish`.)
  if (!process.env.PEACE_REPORT_V1) {
    await page.fill('#flow-json', JSON.stringify(flow, null, 2));
    await page.selectOption('#cmd-select', 'ensure');
    const before = await page.evaluate(() => location.hash);
    await page.click('#start-btn');
    await page.waitForFunction((h) => /^#\/executions\/[0-9A-Za-z]+$/.test(location.hash) && location.hash !== h, before);
    const cid = decodeURIComponent((await page.evaluate(() => location.hash)).split('/').pop());
    await page.waitForFunction((x) => document.getElementById('d-id').textContent === x, cid);
    await page.waitForFunction(() => [...document.querySelectorAll('#items .item')]
      .some((li) => li.dataset.status === 'running' && Number(li.dataset.done) > 0), null, { timeout: 60000 });
    await page.selectOption('#interrupt-mode', 'cancel');
    await page.click('#interrupt-btn');
    await page.waitForSelector('#outcome[data-outcome]', { timeout: 60000 });
    const capi = await api('GET', `/v1/executions/${encodeURIComponent(cid)}`);
    const crep = capi.report || {};
    const cutShown = await page.$$eval('#outcome-items-interrupted li', (l) => l.map((x) => x.dataset.item));
    console.log(`# cancel: items interrupted [${cutShown}], api ${JSON.stringify(crep.items_interrupted)}`);
    check('cancel: the outcome is block_interrupted', crep.outcome === 'block_interrupted', JSON.stringify(crep.outcome));
    check('cancel: "Items interrupted" shows exactly the API list (one item, cut short)',
      cutShown.length === 1 && same(cutShown, crep.items_interrupted) && (await page.isVisible('#outcome-items-cut')));
    const cbars = await page.$$eval('#items .item', (lis) => Object.fromEntries(lis.map((li) => [li.dataset.itemId, li.dataset.status])));
    check('cancel: the cut item\'s bar says interrupted', cbars[cutShown[0]] === 'interrupted', JSON.stringify(cbars));
    await page.waitForFunction(() => document.getElementById('d-interrupt-mode').textContent.includes('latched'));
    const modeText = await page.textContent('#d-interrupt-mode');
    check('cancel: the header shows the mode in effect and the latch',
      (await page.getAttribute('#d-interrupt-mode', 'data-mode')) === 'cancel' &&
      capi.execution.interrupt_mode === 'cancel' && typeof capi.execution.interrupt_latched_ms === 'number' &&
      /^cancel, kill after .*latched /.test(modeText), modeText);
  }

  if (process.env.PEACE_RESUME_LOG) {
    const log = readFileSync(process.env.PEACE_RESUME_LOG, 'utf8');
    check('a dropped events stream was resumed after the last event seen',
      log.includes(`sse: ${id} resumed after `), log.split('\n').filter((l) => l.startsWith('sse:')).join('\n    '));
  }
  check('no script errors on the page', pageErrors.length === 0, pageErrors.join('\n    '));
} catch (e) {
  check('the scenario ran to its end', false, e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close();
  if (!process.env.PEACE_MARKER_DIR) rmSync(markerDir, { recursive: true, force: true });
}
finish('dashboard');
