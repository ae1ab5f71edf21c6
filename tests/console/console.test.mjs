// The console in a real browser: playwright-core driving Debian's chromium (headless)
// against a real `baton serve`. Run by infra/cli/tests/console_browser.rs, which starts the
// runtime and the Slack stand-in (wiremock) and passes:
//   BATON_URL, BATON_KEY   the runtime and its admin key
//   SCREENSHOTS            where to write a screenshot of every view
// Platform faults are asked of the harness on stdout (`control: slack down`) and confirmed on
// stdin (`ok`). Every step prints what it measured; any failure exits non-zero.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { createInterface } from 'node:readline';

const URL = process.env.BATON_URL;
const KEY = process.env.BATON_KEY;
const SHOTS = process.env.SCREENSHOTS || 'target/console-screenshots';
const APPROVER = 'U0CONSOLE1';
mkdirSync(SHOTS, { recursive: true });

const stdin = createInterface({ input: process.stdin });
const replies = [];
stdin.on('line', (l) => { const r = replies.shift(); if (r) r(l); });
function control(what) {
  return new Promise((resolve) => { replies.push(resolve); console.log(`control: ${what}`); });
}

function fail(message) {
  throw new Error(message);
}

async function api(method, path, body) {
  const resp = await fetch(`${URL}${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = await resp.json().catch(() => null);
  if (!resp.ok) fail(`${method} ${path}: ${resp.status} ${JSON.stringify(data)}`);
  return data;
}

async function until(what, check, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const slack = (id, extra = {}) => ({
  action: { id, type: 'notify', platform: 'slack', priority: 'high', data: { channel: '#ops', text: `console ${id}` }, ...extra },
});

const errors = [];
const foreign = [];
const origin = new globalThis.URL(URL).host;

function watch(page, name) {
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') errors.push(`${name}: ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`${name}: page error: ${e.message}`));
  page.on('requestfailed', (r) => errors.push(`${name}: request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on('request', (r) => {
    const u = new globalThis.URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.host !== origin) foreign.push(`${name}: ${r.url()}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`${name}: HTTP ${r.status()} ${r.url()}`); });
}

async function shot(page, name) {
  await page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
}

async function view(page, name) {
  await page.getByRole('link', { name: new RegExp(`^${name}`) }).click();
  await page.getByRole('heading', { level: 2, name: new RegExp(`^${name}`) }).waitFor();
}

const step = async (name, fn) => {
  const t0 = Date.now();
  await fn();
  console.log(`ok   ${name} (${Date.now() - t0} ms)`);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});
let exit = 0;
try {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  watch(page, 'desktop');

  await step('sign in with the form', async () => {
    await page.goto(`${URL}/`);
    await page.getByLabel('API key').fill(KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Live actions' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'live' }).first().waitFor();
    if (!(await page.evaluate(() => sessionStorage.getItem('baton.apiKey')))) fail('the key is not in sessionStorage');
  });

  await step('an action submitted over the API appears in Live within a second', async () => {
    const t0 = Date.now();
    await api('POST', '/api/actions', slack('ui-live-1', { dryRun: true }));
    await page.getByRole('button', { name: 'Show action ui-live-1' }).waitFor({ timeout: 1000 });
    const seen = Date.now() - t0;
    await page.getByRole('table', { name: 'Actions' }).locator('tr[data-id="ui-live-1"] .badge', { hasText: 'success' }).waitFor();
    console.log(`     seen after ${seen} ms`);
    await page.getByRole('button', { name: 'Show action ui-live-1' }).click();
    const detail = page.getByRole('complementary', { name: 'Action detail' });
    await detail.getByText('chat.postMessage').first().waitFor();
    await detail.getByRole('heading', { name: 'Lifecycle' }).waitFor();
    await shot(page, 'live');
  });

  await step('an approval appears, Approve is clicked, the action completes and leaves the inbox', async () => {
    await view(page, 'Approvals');
    await page.getByLabel('Your Slack user ID').fill(APPROVER);
    const held = await api('POST', '/api/approvals', {
      ...slack('ui-held-1', { dryRun: true }), reason: 'console approval test', approvers: [APPROVER], timeout: 600000,
    });
    const card = page.getByRole('article', { name: 'console approval test' });
    await card.waitFor();
    await card.getByText('chat.postMessage').first().waitFor();
    await card.locator('.countdown', { hasText: 'left' }).waitFor();
    await shot(page, 'approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.waitFor({ state: 'detached' });
    await until('the approved action to complete', async () => (await api('GET', '/api/actions/ui-held-1')).status === 'success');
    const approval = await api('GET', `/api/approvals/${held.approvalId}`);
    if (approval.status !== 'approved' || approval.resolvedBy !== APPROVER) fail(`approval: ${JSON.stringify(approval)}`);
  });

  await step('an approval approved after editing its data runs the edited data', async () => {
    await api('POST', '/api/approvals', { ...slack('ui-held-2', { dryRun: true }), reason: 'edit before approving', approvers: [APPROVER] });
    const card = page.getByRole('article', { name: 'edit before approving' });
    await card.getByRole('button', { name: 'Edit data' }).click();
    await card.getByLabel('Action data (JSON)').fill(JSON.stringify({ channel: '#ops', text: 'edited in the console' }));
    await card.getByRole('button', { name: 'Approve' }).click();
    await card.waitFor({ state: 'detached' });
    const ran = await until('the edited action to complete', async () => {
      const a = await api('GET', '/api/actions/ui-held-2');
      return a.status === 'success' && a;
    });
    if (ran.data.text !== 'edited in the console') fail(`ran ${JSON.stringify(ran.data)}`);
  });

  await step('a failed action is replayed from Failed', async () => {
    await api('POST', '/api/actions', { action: { id: 'ui-fail-1', type: 'notify', platform: 'slack', priority: 'high', data: { channel: '#broken', text: 'x' } } });
    await until('the action to fail', async () => (await api('GET', '/api/actions/ui-fail-1')).status === 'failed');
    await view(page, 'Failed');
    const row = page.getByRole('table', { name: 'Failed actions' }).locator('tr[data-id="ui-fail-1"]');
    await row.getByText('NOT_FOUND', { exact: true }).waitFor();
    await shot(page, 'failed');
    await row.getByRole('button', { name: 'Replay ui-fail-1' }).click();
    await page.getByText('ui-fail-1 replayed as ui-fail-1.r1').waitFor();
    const replay = await api('GET', '/api/actions/ui-fail-1.r1');
    if (replay.replayOf !== 'ui-fail-1') fail(`replay: ${JSON.stringify(replay)}`);
  });

  await step('Failed counts a filtered set before replaying it, and cancels what waits', async () => {
    await until('the replay to fail too', async () => (await api('GET', '/api/actions/ui-fail-1.r1')).status === 'failed');
    await page.getByRole('button', { name: 'Replay matching…' }).click();
    const confirm = page.getByRole('region', { name: 'Bulk replay' });
    await confirm.getByText('1 action(s) match').waitFor();
    await confirm.getByRole('button', { name: 'Replay 1' }).click();
    await confirm.getByText('Replayed 1 of 1.').waitFor();
    await api('POST', '/api/approvals', { ...slack('ui-wait-1'), reason: 'to be cancelled', timeout: 600000 });
    const waiting = page.getByRole('table', { name: 'Waiting actions' }).locator('tr[data-id="ui-wait-1"]');
    await waiting.getByRole('button', { name: 'Cancel ui-wait-1' }).click();
    await until('the held action to be cancelled', async () => (await api('GET', '/api/actions/ui-wait-1')).status === 'cancelled');
    await waiting.waitFor({ state: 'detached' });
  });

  await step('the platform goes down: Health shows the breaker open, then closed', async () => {
    await view(page, 'Health');
    const breaker = page.locator('tr[data-platform="slack"] .breaker');
    await breaker.getByText('closed').waitFor();
    await control('slack down');
    for (let i = 0; i < 6; i += 1) {
      await api('POST', '/api/actions', { action: { id: `ui-down-${i}`, type: 'notify', platform: 'slack', priority: 'normal',
        data: { channel: `#c${i}`, text: 'down' } } });
    }
    await breaker.getByText('open').waitFor({ timeout: 30000 });
    await page.getByRole('list', { name: 'Recent health changes' }).getByText('slack').first().waitFor();
    await shot(page, 'health');
    await control('slack up');
    await breaker.getByText('closed').waitFor({ timeout: 60000 });
  });

  await step('Workflows: a workflow as a graph of its steps', async () => {
    const wf = await api('POST', '/api/workflows', {
      name: 'console demo', dryRun: true, transactional: true,
      steps: [
        { name: 'announce', action: { type: 'notify', platform: 'slack', priority: 'normal', data: { channel: '#ops', text: 'deploying' } } },
        { name: 'log', dependsOn: 'announce', action: { type: 'log', platform: 'sheets', priority: 'normal',
          data: { spreadsheetId: 'sheet-1', range: 'Sheet1!A:B', values: [['deploy', '{{steps.announce.result.ts}}']] } } },
        { name: 'file', dependsOn: 'announce', action: { type: 'file', platform: 'drive', priority: 'normal',
          data: { name: 'notes.txt', content: 'hello', mimeType: 'text/plain' } } },
      ],
    });
    await view(page, 'Workflows');
    await page.getByRole('link', { name: wf.workflowId }).click();
    const graph = page.getByRole('img', { name: /^Steps of console demo/ });
    await graph.waitFor();
    await page.locator('tr[data-step="file"] .badge', { hasText: 'success' }).waitFor();
    await page.getByRole('heading', { name: /console demo/ }).getByText('completed').waitFor();
    // A transactional workflow whose second step fails: the first is undone, and the graph says so.
    const undo = await api('POST', '/api/workflows', {
      name: 'console rollback', transactional: true,
      steps: [
        { name: 'announce', action: { type: 'notify', platform: 'slack', priority: 'high', data: { channel: '#ops', text: 'starting' } } },
        { name: 'report', dependsOn: 'announce', action: { type: 'notify', platform: 'slack', priority: 'high', data: { channel: '#broken', text: 'x' } } },
      ],
    });
    await page.getByRole('button', { name: 'Close workflow' }).click();
    await page.getByRole('link', { name: undo.workflowId }).click();
    await page.getByRole('heading', { name: /console rollback/ }).getByText('rolled_back').waitFor({ timeout: 30000 });
    await page.getByRole('img', { name: /^Steps of console rollback/ }).getByText('compensated · undo: success').waitFor();
    await shot(page, 'workflows');
  });

  await step('Queue and Metrics show live figures', async () => {
    await view(page, 'Queue');
    await page.getByRole('img', { name: /^Depth per priority/ }).waitFor();
    await page.getByText('Worker utilisation').waitFor();
    await shot(page, 'queue');
    await view(page, 'Metrics');
    await page.getByRole('img', { name: /^Throughput/ }).waitFor();
    await page.locator('.stat', { hasText: 'Actions' }).locator('.value').filter({ hasNotText: /^0$/ }).waitFor();
    await shot(page, 'metrics');
  });

  await step('a sign-in link signs in and leaves the address bar at once', async () => {
    const linked = await context.newPage();
    watch(linked, 'link');
    await linked.goto(`${URL}/#key=${encodeURIComponent(KEY)}`);
    await linked.getByRole('heading', { name: 'Live actions' }).waitFor();
    if (linked.url().includes(KEY)) fail(`the key stayed in the address bar: ${linked.url()}`);
    await linked.close();
  });

  await step('phone width: every view is usable without sideways scrolling', async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    watch(p, 'phone');
    await p.goto(`${URL}/#key=${encodeURIComponent(KEY)}`);
    await p.getByRole('heading', { name: 'Live actions' }).waitFor();
    for (const name of ['Live', 'Queue', 'Health', 'Metrics', 'Approvals', 'Workflows', 'Failed']) {
      await view(p, name);
      const wide = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      if (wide > 1) fail(`${name} is ${wide} px wider than the phone`);
    }
    await view(p, 'Live');
    await shot(p, 'phone-live');
    await phone.close();
  });

  await step('every control has an accessible name', async () => {
    for (const name of ['Live', 'Approvals', 'Failed', 'Workflows']) {
      await view(page, name);
      const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, a[href], input, select, textarea')]
        .filter((el) => el.offsetParent !== null)
        .filter((el) => !(el.getAttribute('aria-label') || el.labels?.length || el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80)));
      if (unnamed.length) fail(`${name}: controls without a name: ${unnamed.join(' | ')}`);
    }
  });

  await view(page, 'Live');
  await shot(page, 'overview');

  if (errors.length) fail(`browser errors:\n  ${errors.join('\n  ')}`);
  if (foreign.length) fail(`requests to other hosts:\n  ${foreign.join('\n  ')}`);
  console.log('ok   no console errors, no request to another host');
} catch (e) {
  console.error(`FAIL ${e.message}`);
  if (errors.length) console.error(`browser errors so far:\n  ${errors.join('\n  ')}`);
  exit = 1;
} finally {
  await browser.close();
  stdin.close();
}
process.exit(exit);
