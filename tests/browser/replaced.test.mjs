// Replaced items on the dashboard, in Debian's chromium, on the real fleet of
// run.sh (as tests/integration/replaced_items.sh does it with the CLI): a
// flow {a (a file), b after a, c} is discovered and ensured; then a's path
// changes (a blocking change): ensure_dry, then discover and ensure. The page
// shows "Items replaced" exactly as the API's report.items_replaced (a, b),
// titled as would-be for ensure_dry, and hides the list for the first ensure
// and for the next one, which replaces nothing. Ends with one "N passed, N
// failed" line.
//
// Environment: PEACE_DASHBOARD_URL, PEACE_TOKEN, PEACE_MARKER_DIR (a
// directory the workers can write: the files go there), CHROMIUM (as
// dashboard.test.mjs).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { answerTokenDialog, apiClient, check, finish, openBrowser, same, until } from './lib.mjs';

const baseUrl = process.env.PEACE_DASHBOARD_URL;
if (!baseUrl) {
  console.error('replaced.test: set PEACE_DASHBOARD_URL');
  process.exit(2);
}
const token = process.env.PEACE_TOKEN || '';
const baseDir = process.env.PEACE_MARKER_DIR || mkdtempSync(join(tmpdir(), 'peace-markers-'));
const profile = 'replaced_' + randomBytes(4).toString('hex');
const dir = join(baseDir, profile);
mkdirSync(dir, { recursive: true });

const apiBase = new URL('/', baseUrl).href.replace(/\/$/, '');
const api = apiClient(baseUrl, token);

// a at dir/A_NAME, b (after a) and c.
function abc(aName) {
  return {
    app: 'replaced_test', profile, flow: 'files',
    items: [
      { id: 'a', type: 'file', params: { path: join(dir, aName), content: 'a\n' } },
      { id: 'b', type: 'file', deps: ['a'], params: { path: join(dir, 'b.txt'), content: 'b\n' } },
      { id: 'c', type: 'file', params: { path: join(dir, 'c.txt'), content: 'c\n' } },
    ],
  };
}
// Runs cmd on the fleet to its end: the API's answer for it.
async function run(cmd, flow) {
  const sub = await api('POST', '/v1/executions', { cmd, flow });
  return until(`${cmd} to finish`, async () => {
    const got = await api('GET', `/v1/executions/${encodeURIComponent(sub.id)}`);
    return got.execution.status === 'finished' ? got : null;
  });
}

let browser;
try {
  browser = await openBrowser();
  const { page, pageErrors } = browser;
  // The page's view of a finished execution: the outcome, and the replaced
  // list (null when hidden), with its title.
  async function shown(id) {
    await page.goto('about:blank');
    await page.goto(`${apiBase}/#/executions/${encodeURIComponent(id)}`);
    await answerTokenDialog(page, token).catch(() => false);
    await page.waitForFunction((x) => document.getElementById('d-id').textContent === x, id);
    await page.waitForSelector('#outcome[data-outcome]');
    const hidden = await page.isHidden('#outcome-items-replaced-box');
    return {
      outcome: await page.getAttribute('#outcome', 'data-outcome'),
      replaced: hidden ? null : await page.$$eval('#outcome-items-replaced li', (l) => l.map((x) => x.dataset.item)),
      title: (await page.textContent('#outcome-items-replaced-title')).trim(),
    };
  }

  const first = abc('a1.txt');
  const moved = abc('a2.txt');
  check('discover (a at its first path) completes', (await run('discover', first)).report.outcome === 'complete');
  const e1 = await run('ensure', first);
  check('the first ensure completes and writes a', e1.report.outcome === 'complete' && existsSync(join(dir, 'a1.txt')),
    JSON.stringify(e1.report));
  const v1 = await shown(e1.execution.id);
  check('the first ensure replaces nothing: no "Items replaced" on the page',
    v1.outcome === 'complete' && v1.replaced === null && !('items_replaced' in e1.report), JSON.stringify(v1));

  // a's path changes: ensure_dry says a and b would be replaced, changes nothing.
  const dry = await run('ensure_dry', moved);
  const vd = await shown(dry.execution.id);
  console.log(`# ensure_dry: page [${vd.replaced}], api ${JSON.stringify(dry.report.items_replaced)}`);
  check('ensure_dry: "Items that would be replaced" shows exactly the API list (a, b)',
    same(dry.report.items_replaced, ['a', 'b']) && same(vd.replaced, dry.report.items_replaced) &&
    vd.title.startsWith('Items that would be replaced'), JSON.stringify(vd));
  check('ensure_dry changed nothing', existsSync(join(dir, 'a1.txt')) && !existsSync(join(dir, 'a2.txt')));

  check('discover (a at its new path) completes', (await run('discover', moved)).report.outcome === 'complete');
  const e2 = await run('ensure', moved);
  const v2 = await shown(e2.execution.id);
  console.log(`# ensure: page [${v2.replaced}], api ${JSON.stringify(e2.report.items_replaced)}`);
  check('ensure: the outcome is complete, on the page as in the API',
    e2.report.outcome === 'complete' && v2.outcome === 'complete', JSON.stringify(e2.report.outcome));
  check('ensure: "Items replaced" shows exactly the API list (a, b), in flow order',
    same(e2.report.items_replaced, ['a', 'b']) && same(v2.replaced, e2.report.items_replaced), JSON.stringify(v2));
  check('ensure: the list is titled as done, not as would-be',
    v2.title.startsWith('Items replaced (cleaned as last applied'), v2.title);
  check('ensure: the replacement happened (old file gone, new one written, b and c there)',
    !existsSync(join(dir, 'a1.txt')) && readFileSync(join(dir, 'a2.txt'), 'utf8') === 'a\n' &&
    existsSync(join(dir, 'b.txt')) && existsSync(join(dir, 'c.txt')));
  const chips = await page.$$eval('#outcome-items-replaced li', (l) => l.map((x) => x.textContent));
  check('each replaced chip names its item', same(chips, ['a', 'b']), JSON.stringify(chips));

  // The same page, live: selecting another execution hides the list again.
  const e3 = await run('ensure', moved);
  const v3 = await shown(e3.execution.id);
  check('the next ensure replaces nothing: the list is hidden again',
    v3.outcome === 'complete' && v3.replaced === null && !('items_replaced' in e3.report), JSON.stringify(v3));
  check('no script errors on the page', pageErrors.length === 0, pageErrors.join('\n    '));
} catch (e) {
  check('the scenario ran to its end', false, e && e.stack ? e.stack : String(e));
} finally {
  if (browser) await browser.close();
  if (!process.env.PEACE_MARKER_DIR) rmSync(baseDir, { recursive: true, force: true });
}
finish('replaced');
