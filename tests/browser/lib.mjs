// What the browser tests (*.test.mjs) share: the checks and their summary
// line, waiting for a condition, the scheduler's JSON API with a bearer
// token, the page's token dialog, and headless chromium (playwright-core)
// with one page whose script errors are collected.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const counts = { passed: 0, failed: 0 };

// One check: prints `ok - NAME` or `not ok - NAME` (with the detail); returns ok.
export function check(name, ok, detail = '') {
  if (ok) {
    counts.passed += 1;
    console.log(`ok - ${name}`);
  } else {
    counts.failed += 1;
    console.log(`not ok - ${name}${detail ? `\n    ${detail}` : ''}`);
  }
  return ok;
}

// The summary line `LABEL: N passed, N failed`, then exits 0 when none failed, else 1.
export function finish(label) {
  console.log(`${label}: ${counts.passed} passed, ${counts.failed} failed`);
  process.exit(counts.failed === 0 ? 0 : 1);
}

export const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn every 100 ms until it returns a truthy value (returned), or throws
// after ms milliseconds naming what was awaited.
export async function until(what, fn, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// api(method, path, body) against the server of pageUrl, with the bearer
// token when there is one: the JSON answer; throws on an error status.
export function apiClient(pageUrl, token) {
  const base = new URL('/', pageUrl).href.replace(/\/$/, '');
  return async function api(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${await res.text()}`);
    return res.json();
  };
}

// The page asks for the token when a call gets 401: answer it with token.
// Returns whether it asked.
export async function answerTokenDialog(page, token) {
  const dialog = page.locator('#token-dialog[open]');
  if (!(await dialog.isVisible())) return false;
  if (!token) throw new Error('the page asks for a token and none is set');
  await page.fill('#token-input', token);
  await page.click('#token-save');
  await dialog.waitFor({ state: 'hidden' });
  return true;
}

// Headless chromium (CHROMIUM, default /usr/bin/chromium) in a fresh
// profile, and its page (30 s default timeout). pageErrors collects the
// page's script errors and console errors, except Chromium's own line for
// each failed request (a 4xx answer can be expected). close() ends the
// browser and removes the profile.
export async function openBrowser({ width = 1360, height = 900 } = {}) {
  const userDataDir = mkdtempSync(join(tmpdir(), 'peace-chromium-'));
  const b = {
    context: null,
    page: null,
    pageErrors: [],
    async close() {
      if (this.context) await this.context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
  try {
    b.context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      viewport: { width, height },
      args: [
        '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync',
      ],
    });
  } catch (e) {
    await b.close();
    throw e;
  }
  b.page = b.context.pages()[0] || (await b.context.newPage());
  b.page.setDefaultTimeout(30000);
  b.page.on('pageerror', (e) => b.pageErrors.push(String(e)));
  b.page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) b.pageErrors.push(`console: ${m.text()}`);
  });
  return b;
}
