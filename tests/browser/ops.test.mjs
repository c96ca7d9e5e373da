// The dashboard's fleet views in Debian's chromium, on the real fleet of
// run.sh: the Workers table lists the live workers the API lists, the
// Queues table the configured queue, the Dead letters table a dead letter
// (made here by copying a finished execution's kept job into peace:dead), and
// its Retry button queues it again as a new execution (linked by retry_of)
// and removes the row; the executions filters show only what the API's
// filtered listing returns. Ends with one "N passed, N failed" line.
//
// Environment: PEACE_DASHBOARD_URL, PEACE_TOKEN, PEACE_REDIS_URL (the fleet's
// Redis, for the dead letter), PEACE_MARKER_DIR, CHROMIUM (as dashboard.test.mjs).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { answerTokenDialog, apiClient, check, finish, openBrowser, until } from './lib.mjs';

const baseUrl = process.env.PEACE_DASHBOARD_URL;
const redisUrl = process.env.PEACE_REDIS_URL;
if (!baseUrl || !redisUrl) {
  console.error('ops.test: set PEACE_DASHBOARD_URL and PEACE_REDIS_URL');
  process.exit(2);
}
const token = process.env.PEACE_TOKEN || '';
const markerDir = process.env.PEACE_MARKER_DIR || mkdtempSync(join(tmpdir(), 'peace-markers-'));
const redisPort = new URL(redisUrl).port;
const flowName = 'ops_' + randomBytes(4).toString('hex');

const api = apiClient(baseUrl, token);

let browser;
try {
  // A finished execution, and a dead letter holding its job (as a worker
  // would copy a job it could not run).
  const flow = { app: 'ops_test', profile: 'p', flow: flowName,
    items: [{ id: 's1', type: 'sleep', params: { steps: 1, step_ms: 1, marker: join(markerDir, `${flowName}.done`) } }] };
  const sub = await api('POST', '/v1/executions', { cmd: 'discover', flow });
  await until('the discover to finish', async () => (await api('GET', `/v1/executions/${sub.id}`)).execution.status === 'finished');
  // (The job kept for a rerun: the shared copy the meta's `job` field names.)
  const digest = execFileSync('redis-cli', ['-p', redisPort, 'HGET', `peace:exec:{${sub.id}}`, 'job'],
    { encoding: 'utf8' }).trim();
  const entry = execFileSync('redis-cli', ['-p', redisPort, 'EVAL',
    "return redis.call('XADD', KEYS[2], '*', 'exec', ARGV[1], 'reason', 'copied by the test', 'job', redis.call('GET', KEYS[1]))",
    '2', `peace:jobs:{${digest}}`, 'peace:dead', sub.id], { encoding: 'utf8' }).trim();
  check('a dead letter was made', /^[0-9]+-[0-9]+$/.test(entry), entry);

  browser = await openBrowser({ height: 1200 });
  const { page, pageErrors } = browser;
  await page.goto(baseUrl);
  await page.waitForFunction(() => document.getElementById('exec-list').getAttribute('aria-busy') === 'false' ||
    document.getElementById('token-dialog').open);
  await answerTokenDialog(page, token);
  await page.click('#ops-refresh');

  // Workers: the same consumers as the API.
  const workers = (await api('GET', '/v1/workers')).workers.map((w) => w.consumer).sort();
  await page.waitForFunction((n) => document.querySelectorAll('#workers-table tbody tr[data-consumer]').length === n, workers.length);
  const shownWorkers = (await page.$$eval('#workers-table tbody tr[data-consumer]', (r) => r.map((x) => x.dataset.consumer))).sort();
  check(`the Workers table lists the ${workers.length} live workers`, workers.length === 2 && JSON.stringify(shownWorkers) === JSON.stringify(workers), JSON.stringify(shownWorkers));
  // Queues.
  await page.waitForSelector('#queues-table tbody tr[data-queue="default"]');
  check('the Queues table lists the default queue', true);
  // Dead letters, and Retry.
  const row = page.locator(`#dead-table tbody tr[data-entry="${entry}"]`);
  await row.waitFor();
  check('the Dead letters table shows the dead letter with its job',
    (await row.innerText()).includes(`ops_test/p/${flowName}`), await row.innerText());
  await row.locator('button', { hasText: 'Retry' }).click();
  await page.waitForFunction(() => /Queued execution/.test(document.getElementById('ops-notice').textContent));
  const notice = await page.textContent('#ops-notice');
  const newId = (notice.match(/Queued execution (\S+)/) || [])[1];
  check('Retry says which execution it queued', !!newId, notice);
  await row.waitFor({ state: 'detached' });
  check('the retried dead letter leaves the table', true);
  const retried = await api('GET', `/v1/executions/${newId}`);
  check('the new execution has the dead letter\'s job', retried.execution.flow === flowName && retried.execution.cmd === 'discover',
    JSON.stringify(retried.execution));
  const again = await api('POST', `/v1/dead/${entry}/retry`, {});
  check('retrying it again through the API answers the same execution', again.id === newId && again.already_retried === true);

  // Filters: the flow filter shows exactly the API's filtered listing.
  await until('the retry to finish', async () => (await api('GET', `/v1/executions/${newId}`)).execution.status === 'finished');
  await page.fill('#filter-flow', flowName);
  await page.press('#filter-flow', 'Enter');
  await page.locator('#filter-flow').dispatchEvent('change');
  const want = (await api('GET', `/v1/executions?limit=50&flow=${flowName}`)).executions.map((x) => x.id);
  await page.waitForFunction((ids) => {
    const shown = [...document.querySelectorAll('#exec-list a[data-exec-id]')].map((a) => a.dataset.execId);
    return JSON.stringify(shown) === JSON.stringify(ids);
  }, want);
  check(`the flow filter shows the ${want.length} executions of that flow`, want.length === 2 && want.includes(newId) && want.includes(sub.id));
  await page.selectOption('#filter-status', 'queued');
  await page.waitForFunction(() => document.querySelectorAll('#exec-list a[data-exec-id]').length === 0);
  check('a status filter with no match empties the list', true);
  check('no script errors on the page', pageErrors.length === 0, pageErrors.join('\n    '));
} catch (e) {
  check('the scenario ran to its end', false, e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close();
}
finish('ops');
