// Browser tests of the web UI (issue 7): playwright-core drives Debian's
// Chromium against a real `lathe serve` over loopback, prepared by `lathe demo
// --no-serve` in a temporary data directory (sample KB, a few daily pipeline
// runs). Usage: node tests/ui/run.mjs [LATHE_BINARY]   (see scripts/ui-test.sh)
//
// Environment: UI_DIR=DIR serves the UI from DIR (`serve --ui-dir`) instead of
// the files embedded in the binary; UPDATE_SCREENSHOTS=1 writes the pages'
// screenshots into docs/screenshots/ (otherwise into the temporary directory);
// UI_ONLY=1,3 runs only those scenarios; KEEP_TMP=1 keeps the temporary
// directory (server log, screenshots). Output: "ok N - name" / "not ok N -
// name: reason" per scenario, then "N passed, M failed"; exit 1 on any failure.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const kRepo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const kLathe = path.resolve(process.argv[2] || process.env.LATHE || path.join(kRepo, 'build/lathe'));
const kChromium = process.env.CHROMIUM || '/usr/bin/chromium';
const kUiDir = process.env.UI_DIR ? path.resolve(process.env.UI_DIR) : '';
const kUpdateScreenshots = process.env.UPDATE_SCREENSHOTS === '1';
const kOnly = (process.env.UI_ONLY || '').split(',').filter(Boolean).map(Number);
const kViewport = { width: 1280, height: 800 };
const kPhone = { width: 375, height: 740 };
const kWaitMs = 15000;       // any single element or response
const kScenarioMs = 60000;   // a whole scenario
const kT0 = Date.now();

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lathe-ui-'));
const dataDir = path.join(tmp, 'data');
const shotDir = kUpdateScreenshots ? path.join(kRepo, 'docs/screenshots') : path.join(tmp, 'screenshots');
fs.mkdirSync(shotDir, { recursive: true });

function log(...args) { console.error(`[${((Date.now() - kT0) / 1000).toFixed(1)}s]`, ...args); }

// Runs LATHE ARGS to completion within timeoutMs; its exit code and output.
function run(args, { timeoutMs = 60000, cwd = kRepo } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(kLathe, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); }, timeoutMs);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`lathe ${args.join(' ')}: ${signal ? `killed (${signal}, timeout ${timeoutMs} ms?)` : `exit ${code}`}\n` +
                            `${stdout.slice(-2000)}${stderr.slice(-2000)}`));
    });
  });
}

async function createKey(scope) {
  const { stdout } = await run(['--data-dir', dataDir, 'keys', 'create', '--tenant', 'default', '--scope', scope]);
  const m = stdout.match(/lk_[0-9a-f]{12}_[0-9a-f]{48}/);
  if (!m) throw new Error(`keys create --scope ${scope} printed no key: ${stdout}`);
  return m[0];
}

// `lathe serve --port 0`: resolves with the base URL from its "listening on" line.
function startServer() {
  const args = ['--data-dir', dataDir, 'serve', '--port', '0', '--host', '127.0.0.1'];
  if (kUiDir) args.push('--ui-dir', kUiDir);
  const logFile = fs.openSync(path.join(tmp, 'server.log'), 'a');
  const child = spawn(kLathe, args, { cwd: kRepo, stdio: ['ignore', 'pipe', logFile] });
  server.child = child;
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 30 s: ${out}`)), 30000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      server.exited = true;
      reject(new Error(`lathe serve exited (${code ?? signal}): ${out}${fs.readFileSync(path.join(tmp, 'server.log'), 'utf8').slice(-2000)}`));
    });
    child.stdout.on('data', (d) => {
      fs.appendFileSync(path.join(tmp, 'server.log'), d);
      out += d;
      const m = out.match(/listening on (http:\/\/[^\s]+)/);
      if (m && !server.base) { server.base = m[1]; clearTimeout(timer); resolve(m[1]); }
    });
  });
}

async function stopServer() {
  const child = server.child;
  if (!child || server.exited || child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10000);
  await exited;
  clearTimeout(timer);
}

async function waitReady(base) {
  const deadline = Date.now() + 30000;
  for (;;) {
    try {
      const r = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(2000) });
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) throw new Error(`${base}/readyz not 200 within 30 s`);
    await sleep(200);
  }
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

// The JSON API directly (to check what the UI shows against the server).
async function api(pathname, { key = keys.admin, method = 'GET', body } = {}) {
  const r = await fetch(server.base + pathname, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(kWaitMs),
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${pathname}: ${r.status} ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

function check(cond, message) { if (!cond) throw new Error(message); }

// Polls fn until it returns a truthy value; throws message after timeoutMs.
async function until(fn, message, timeoutMs = kWaitMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e.message; }
    if (Date.now() > deadline) throw new Error(`${message} (waited ${timeoutMs} ms${last ? `; last: ${String(last).slice(0, 200)}` : ''})`);
    await sleep(150);
  }
}

const squash = (s) => (s || '').replace(/\x1b\[[0-9;]*m/g, '').replace(/\s+/g, ' ').trim();

async function shot(page, name) {
  await page.screenshot({ path: path.join(shotDir, `${name}.png`), timeout: kWaitMs });
}

// Opens BASE/#route in the page; with `key`, enters it through the key form first.
// Waits for the page the router renders (a new h1 in main#app, as the router
// clears it on every route).
async function open(page, route, key) {
  await markStale(page);
  await page.goto(`${server.base}/#${route}`, { waitUntil: 'domcontentloaded' });
  await page.locator('main#app h1:not([data-stale])').first().waitFor();
  if (key !== undefined) await saveKey(page, key);
}

async function markStale(page) {
  await page.evaluate(() => document.querySelectorAll('h1').forEach((h) => { h.dataset.stale = '1'; })).catch(() => {});
}

// Enters `key` in the shell's key form; waits for the page to render again with it.
async function saveKey(page, key) {
  await markStale(page);
  const field = page.getByLabel('API key', { exact: true });
  await field.fill(key);
  await page.getByRole('button', { name: 'Save key' }).click();
  await page.locator('main#app h1:not([data-stale])').first().waitFor();
}

// ---------------------------------------------------------------- scenarios

const kQuestion = 'How do I get my money back if I cancel my yearly plan?';
// ("The capital of Mongolia" is answered: the KB's passwords need no "capital letters".)
const kOffTopic = 'Who won the 2018 football World Cup?';
const kMadeUpTerm = `zorblaxian${process.pid}`;

// Sends `message` in the chat page; resolves with the /v1/chat response's parsed final event.
async function ask(page, message) {
  const responseP = page.waitForResponse((r) => r.url().endsWith('/v1/chat') && r.request().method() === 'POST',
                                         { timeout: kWaitMs });
  const before = await page.getByTestId('assistant-message').count();
  const input = page.getByTestId('chat-input');
  await input.fill(message);
  const send = page.getByRole('button', { name: /^(send|ask)\b/i });
  if (await send.count()) await send.first().click(); else await input.press('Enter');
  const response = await responseP;
  check(response.status() === 200, `POST /v1/chat answered ${response.status()}`);
  const sent = response.request().postDataJSON();
  check(sent.stream === true, `the chat request was not streamed: ${JSON.stringify(sent)}`);
  check((response.headers()['content-type'] || '').startsWith('text/event-stream'),
        `the chat response is ${response.headers()['content-type']}, not an event stream`);
  const events = (await response.text()).split('\n').filter((l) => l.startsWith('data:'))
    .map((l) => JSON.parse(l.slice(5)));
  const done = events.find((e) => e.type === 'done');
  check(done, `no "done" event in the stream: ${JSON.stringify(events).slice(0, 300)}`);
  check(events.some((e) => e.type === 'delta'), 'the stream had no delta events');
  await until(async () => (await page.getByTestId('assistant-message').count()) > before,
              'no new assistant message appeared');
  return done;
}

const scenarios = [];
function scenario(name, fn, opts = {}) { scenarios.push({ n: scenarios.length + 1, name, fn, ...opts }); }

scenario('chat: a sample question gets a streamed answer whose citation opens the passage with the quote marked',
  async ({ page }) => {
    await open(page, '/chat', keys.query);
    const done = await ask(page, kQuestion);
    check(!done.abstained && done.citations.length > 0, `the answer abstained or had no citations: ${done.answer}`);
    const message = page.getByTestId('assistant-message').last();
    await until(async () => squash(await message.innerText()).length > 20, 'the assistant message stayed empty');
    const citation = message.getByTestId('citation').first();
    await citation.waitFor();
    const chunkId = await citation.getAttribute('data-chunk-id');
    // The quotes as stored (Chromium hands the event stream's body to the test
    // decoded as Latin-1, so non-ASCII text in `done` cannot be compared).
    const conversation = await api(`/v1/conversations/${done.conversation_id}`, { key: keys.query });
    const cited = conversation.turns[conversation.turns.length - 1].citations.find((c) => String(c.chunk_id) === chunkId);
    check(cited, `citation link data-chunk-id=${chunkId} is none of the answer's citations ` +
                 `(${done.citations.map((c) => c.chunk_id).join(', ')})`);
    await citation.click();
    const passage = page.getByTestId('passage');
    await passage.waitFor();
    const marks = passage.locator('mark');
    await marks.first().waitFor();
    // Letters and digits only: the passage may carry Markdown the quote lacks.
    const loose = (t) => t.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
    const marked = squash((await marks.allInnerTexts()).join(' '));
    const quote = squash(cited.quote);
    check(loose(marked) === loose(quote), `the passage marks "${marked}", not the quote "${quote}"`);
    const text = squash(await passage.innerText());
    check(text.length > quote.length, 'the passage viewer shows no more than the quote');
    await shot(page, 'chat');
  });

scenario('chat: an off-topic question shows the hand-off box and "Talk to a person" requests a person',
  async ({ page }) => {
    await open(page, '/chat', keys.query);
    const done = await ask(page, kOffTopic);
    check(done.abstained, `the server answered "${kOffTopic}" instead of handing off`);
    const handoff = page.getByTestId('handoff');
    await handoff.waitFor();
    const before = squash(await handoff.innerText());
    const responseP = page.waitForResponse((r) => /\/v1\/conversations\/[^/]+\/handoff$/.test(r.url()),
                                           { timeout: kWaitMs });
    await handoff.getByRole('button', { name: 'Talk to a person' }).click();
    const response = await responseP;
    check(response.status() === 202, `the hand-off request answered ${response.status()}`);
    check(response.url().includes(done.conversation_id), 'the hand-off went to another conversation');
    const { message } = await response.json();
    await until(async () => squash(await handoff.innerText()).includes(squash(message)),
                `the hand-off box does not show the server's answer "${message}" (it said "${before}")`);
  });

scenario('kb: an uploaded document is listed and found by search with BM25 and vector ranks', async ({ page }) => {
  const name = `ui-test-${process.pid}.md`;
  const file = path.join(tmp, name);
  fs.writeFileSync(file, `# The ${kMadeUpTerm} valve\n\nThe ${kMadeUpTerm} valve on a card reader must be ` +
                         `recalibrated every seventeen days. Hold the power button for nine seconds to start ` +
                         `the ${kMadeUpTerm} recalibration.\n`);
  await open(page, '/kb', keys.admin);
  await page.getByTestId('doc-row').first().waitFor();
  const responseP = page.waitForResponse((r) => /\/v1\/collections\/[^/]+\/documents$/.test(r.url()) &&
                                                r.request().method() === 'POST', { timeout: kWaitMs });
  await page.locator('input[type=file]').first().setInputFiles(file);
  const upload = page.getByRole('button', { name: /^upload/i });
  if (await upload.count()) await upload.first().click();
  const response = await responseP;
  check(response.status() === 201, `the upload answered ${response.status()}: ${await response.text()}`);
  await page.locator(`[data-testid="upload-file"][data-state="done"]`).filter({ hasText: name }).waitFor();
  await page.locator(`[data-testid="doc-row"][data-doc-id="${name}"]`).waitFor();
  await shot(page, 'kb');

  await open(page, '/search');
  const query = page.getByTestId('search-input');
  await query.fill(`${kMadeUpTerm} recalibration`);
  const searchP = page.waitForResponse((r) => r.url().endsWith('/v1/search'), { timeout: kWaitMs });
  const go = page.getByRole('button', { name: /^search/i });
  if (await go.count()) await go.first().click(); else await query.press('Enter');
  const searched = await searchP;
  check(searched.status() === 200, `the search answered ${searched.status()}`);
  const hit = page.getByTestId('search-hit').first();
  await hit.waitFor();
  const text = squash(await hit.innerText());
  check(await hit.getAttribute('data-doc-id') === name, `the first hit is not the uploaded document: ${text.slice(0, 200)}`);
  // The same search through the API: the row shows both branches' ranks and scores.
  const best = (await api('/v1/search', { key: keys.query, method: 'POST',
                                          body: { collection: 'support', query: `${kMadeUpTerm} recalibration`, k: 10 } })).hits[0];
  check(best.bm25.rank > 0 && best.vector.rank > 0, `the API's hit lacks a branch: ${JSON.stringify(best).slice(0, 200)}`);
  const num = (x) => (Number.isInteger(x) ? String(x) : x.toFixed(4));
  for (const [what, want] of [['BM25 score', num(best.bm25.score)], ['vector score', num(best.vector.score)]]) {
    check(text.includes(want), `the hit does not show its ${what} ${want}: ${text.slice(0, 200)}`);
  }
  const headers = squash(await page.locator('table thead').first().innerText());
  check(/BM25 rank/i.test(headers) && /Vector rank/i.test(headers), `no BM25 and vector columns: ${headers}`);
  await shot(page, 'search');
});

scenario('runs: the runs page lists runs and a run page draws a PR curve', async ({ page }) => {
  const runs = (await api('/v1/runs')).data;
  check(runs.length >= 2, `the demo made ${runs.length} tracked runs`);
  await open(page, '/runs', keys.query);
  await until(async () => (await page.getByTestId('run-row').count()) >= runs.length,
              `the runs page does not list the ${runs.length} runs`);
  const ids = await page.getByTestId('run-row').evaluateAll((rows) => rows.map((r) => r.dataset.runId));
  for (const r of runs) check(ids.includes(r.run_id), `run ${r.run_id} is not listed`);
  await shot(page, 'runs');

  const row = page.locator(`[data-testid="run-row"][data-run-id="${runs[0].run_id}"]`);
  const link = row.getByRole('link').first();
  if (await link.count()) await link.click(); else await row.click();
  await until(() => page.url().includes(`#/runs/${runs[0].run_id}`), 'clicking the run row did not open its page');
  const pr = page.locator('svg[data-testid="pr-curve"]');
  await pr.waitFor();
  const points = await pr.locator('path, polyline').evaluateAll((els) => Math.max(0, ...els.map((e) =>
    ((e.getAttribute('d') || e.getAttribute('points') || '').match(/-?\d+(\.\d+)?[ ,]+-?\d+(\.\d+)?/g) || []).length)));
  check(points >= 20, `the PR curve's longest path has ${points} points`);
  check(await pr.getAttribute('aria-label'), 'the PR chart has no aria-label');
  await page.locator('svg[data-testid="roc-curve"]').waitFor();
  await pr.scrollIntoViewIfNeeded();
  await shot(page, 'run');

  await open(page, `/compare?a=${runs[0].run_id}&b=${runs[1].run_id}`);
  await until(async () => {
    const t = await page.locator('main#app').innerText();
    return t.includes(runs[0].run_id.slice(0, 8)) && t.includes(runs[1].run_id.slice(0, 8));
  }, 'the compare page does not name both runs');
  await shot(page, 'compare');
});

// A version of `fraud` other than the champion.
async function nonChampion() {
  const model = await api('/v1/registry/models/fraud');
  const other = model.versions.find((v) => v.version !== model.champion);
  check(other, `the registry has no version besides the champion ${model.champion}`);
  return { champion: model.champion, other: other.version };
}

async function clickPromote(page, version) {
  const row = page.locator(`[data-testid="version-row"][data-version="${version}"]`);
  await row.getByRole('button', { name: 'Promote' }).click();
  const dialog = page.getByRole('dialog');
  await dialog.waitFor();
  await dialog.getByRole('button', { name: /promote|confirm|yes/i }).first().click();
}

scenario('models: promoting a non-champion version with the admin key moves the champion badge', async ({ page }) => {
  const { champion, other } = await nonChampion();
  await open(page, '/models/fraud', keys.admin);
  const badge = page.getByTestId('champion-version');
  await until(async () => squash(await badge.innerText()) === String(champion),
              `the champion badge does not show version ${champion}`);
  await shot(page, 'models');
  const responseP = page.waitForResponse((r) => r.url().endsWith('/v1/registry/models/fraud/promote'),
                                         { timeout: kWaitMs });
  await clickPromote(page, other);
  const response = await responseP;
  check(response.status() === 200, `promote answered ${response.status()}`);
  await until(async () => squash(await badge.innerText()) === String(other),
              `the champion badge did not change to version ${other}`);
  const model = await api('/v1/registry/models/fraud');
  check(model.champion === other, `the registry's champion is ${model.champion}, not ${other}`);
});

scenario('pipelines: the DAG graph shows every task with its state in the latest run', async ({ page }) => {
  const dag = await api('/v1/pipelines/fraud-daily');
  check(dag.latest_run, 'the demo left no pipeline run');
  await open(page, '/pipelines', keys.query);
  await page.getByText('fraud-daily').first().waitFor();
  await shot(page, 'pipelines');
  await open(page, '/pipelines/fraud-daily');
  const graph = page.locator('svg[data-testid="dag-graph"]');
  await graph.waitFor();
  const nodes = graph.locator('[data-testid="dag-node"]');
  await until(async () => (await nodes.count()) === dag.tasks.length,
              `the graph does not have one node per task (${dag.tasks.length})`);
  const shown = await nodes.evaluateAll((els) => Object.fromEntries(els.map((e) => [e.dataset.task, e.dataset.state])));
  for (const t of dag.tasks) {
    const want = dag.latest_run.tasks[t.task_id]?.state;
    check(shown[t.task_id] === want, `task ${t.task_id} is drawn as "${shown[t.task_id]}", the latest run says "${want}"`);
  }
  check(Object.values(shown).includes('success'), 'no task node is drawn as success');
  await until(async () => (await page.getByTestId('pipeline-run-row').count()) >= Math.min(2, dag.runs.length),
              'the run history is not listed');
  await shot(page, 'pipeline');

  const run = dag.latest_run;
  const task = dag.tasks[0].task_id;
  await open(page, `/pipeline-runs/${encodeURIComponent(run.run_id)}?task=${encodeURIComponent(task)}`);
  const logBox = page.getByTestId('task-log');
  await logBox.waitFor();
  const tries = (await api(`/v1/pipeline-runs/${encodeURIComponent(run.run_id)}/tries?task=${encodeURIComponent(task)}`)).data;
  const want = squash(tries[tries.length - 1]?.log || '').slice(0, 40);
  await until(async () => squash(await logBox.innerText()).includes(want),
              `the log of ${task} does not show its stored log "${want}"`);
  await shot(page, 'pipeline-run');
});

scenario('no key asks for one; a wrong key is refused with a clear message, not a blank page', async ({ page }) => {
  await open(page, '/kb');
  await page.getByTestId('no-key').waitFor();
  check(/enter an api key/i.test(await page.getByTestId('no-key').innerText()), 'without a key the page does not ask for one');
  check(await page.evaluate(() => document.activeElement?.id) === 'api-key', 'without a key the focus is not on the key field');
  await saveKey(page, `lk_000000000000_${'0'.repeat(48)}`);
  const error = page.getByTestId('key-error').first();
  await error.waitFor();
  check(/refused/i.test(await error.innerText()), `the key error says "${await error.innerText()}"`);
  const main = squash(await page.locator('main#app').innerText());
  check(/refused/i.test(main), `the page shows "${main.slice(0, 200)}" instead of the refusal`);
}, { allowConsole: [/status of 401/] });

scenario('a query key cannot promote: the 403 is shown and the champion stays', async ({ page }) => {
  const { champion, other } = await nonChampion();
  await open(page, '/models/fraud', keys.query);
  const badge = page.getByTestId('champion-version');
  await until(async () => squash(await badge.innerText()) === String(champion), 'the champion badge is wrong');
  const responseP = page.waitForResponse((r) => r.url().endsWith('/v1/registry/models/fraud/promote'),
                                         { timeout: kWaitMs });
  await clickPromote(page, other);
  check((await responseP).status() === 403, 'promote with a query key was not refused with 403');
  const alert = page.getByRole('alert').filter({ hasText: /admin|permission|403/i }).first();
  await alert.waitFor();
  check(squash(await badge.innerText()) === String(champion), 'the badge moved although the promotion was refused');
  check((await api('/v1/registry/models/fraud')).champion === champion, 'the champion moved');
}, { allowConsole: [/status of 403/] });

scenario('quality: the data quality page lists days and opens a result', async ({ page }) => {
  const results = (await api('/v1/validation')).data;
  check(results.length > 0, 'the demo left no validation results');
  const suites = [...new Set(results.map((r) => r.suite))];
  const suite = suites.includes('transactions') ? 'transactions' : suites.sort()[0];
  const days = [...new Set(results.filter((r) => r.suite === suite).map((r) => r.day))];
  await open(page, '/quality', keys.query);
  await until(async () => (await page.getByTestId('quality-row').count()) === days.length,
              `the quality page does not list one row per day of suite ${suite} (${days.length})`);
  const shown = await page.getByTestId('quality-row').evaluateAll((rows) => rows.map((r) => r.dataset.day));
  for (const d of days) check(shown.includes(d), `day ${d} is not listed`);
  await page.getByTestId('drift-chart').first().waitFor();
  await shot(page, 'quality');
  const row = page.getByTestId('quality-row').first();
  const link = row.getByRole('link').first();
  if (await link.count()) await link.click(); else await row.click();
  await until(() => /#\/quality\/./.test(page.url()), 'clicking a quality row did not open a result');
  const id = decodeURIComponent(page.url().split('#/quality/')[1].split('?')[0]);
  const result = await api(`/v1/validation/${encodeURIComponent(id)}`);
  await until(async () => (await page.getByTestId('check-row').count()) === result.checks.length,
              `the result page does not show its ${result.checks.length} checks`);
  const failed = result.checks.filter((c) => c.status === 'fail').map((c) => c.name);
  const order = await page.getByTestId('check-row').evaluateAll((rows) => rows.map((r) => r.dataset.check));
  check(failed.every((n) => order.indexOf(n) < failed.length), `failed checks are not listed first: ${order.join(', ')}`);
  await shot(page, 'quality-result');
});

scenario('chat at 375x740 has no horizontal scroll', async ({ page }) => {
  await page.setViewportSize(kPhone);
  await open(page, '/chat', keys.query);
  await ask(page, kQuestion);
  const citation = page.getByTestId('citation').first();
  await citation.click();
  await page.getByTestId('passage').waitFor();
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  check(scroll <= client, `the page is ${scroll} px wide in a ${client} px viewport`);
  await shot(page, 'chat-375');
});

scenario('keyboard: Tab reaches the key field and every nav link', async ({ page }) => {
  await page.goto(`${server.base}/#/chat`, { waitUntil: 'domcontentloaded' });
  await page.locator('main#app h1').first().waitFor();
  const want = ['#/chat', '#/kb', '#/search', '#/runs', '#/models', '#/pipelines', '#/quality'];
  const reached = new Set();
  let keyField = false;
  await page.evaluate(() => document.activeElement?.blur());
  for (let i = 0; i < 40 && !(keyField && want.every((h) => reached.has(h))); ++i) {
    await page.keyboard.press('Tab');
    const a = await page.evaluate(() => {
      const e = document.activeElement;
      return { tag: e?.tagName, href: e?.getAttribute('href'), id: e?.id,
               label: e?.labels?.[0]?.textContent?.trim() || e?.getAttribute('aria-label') };
    });
    if (a.tag === 'A' && a.href) reached.add(a.href);
    if (a.tag === 'INPUT' && /api key/i.test(a.label || '')) keyField = true;
  }
  check(keyField, 'Tab never reached the "API key" field');
  const missing = want.filter((h) => !reached.has(h));
  check(missing.length === 0, `Tab never reached the nav links ${missing.join(', ')}`);
});

scenario('pipelines: "Trigger run" with the admin key starts a run; a day without data fails at extract', async ({ page }) => {
  // Today: the demo generated the 60 days before it, so the run is quick and
  // fails in its first task (a day that already succeeded would be refused, 409).
  const ds = new Date().toISOString().slice(0, 10);
  await open(page, '/pipelines/fraud-daily', keys.admin);
  await page.getByLabel('Run date').fill(ds);
  const responseP = page.waitForResponse((r) => r.url().endsWith('/v1/pipelines/fraud-daily/runs'), { timeout: kWaitMs });
  await page.getByRole('button', { name: 'Trigger run' }).click();
  const response = await responseP;
  check(response.status() === 202, `the trigger answered ${response.status()}: ${await response.text()}`);
  const { run_id: runId } = await response.json();
  check(runId === `fraud-daily@${ds}`, `the trigger for ${ds} started ${runId}`);
  const result = page.getByTestId('trigger-result');
  await result.waitFor();
  check((await result.innerText()).includes(runId), `the trigger result does not name ${runId}`);
  await page.locator(`[data-testid="pipeline-run-row"][data-run-id="${runId}"]`).waitFor();
  const run = await until(async () => {
    const r = await api(`/v1/pipeline-runs/${encodeURIComponent(runId)}`);
    return ['success', 'failed'].includes(r.state) && r;
  }, `run ${runId} did not finish`, 45000);
  check(run.state === 'failed' && run.tasks.extract?.state === 'failed',
        `run ${runId} of a day without data ended ${run.state}, extract ${run.tasks.extract?.state}`);
  await open(page, `/pipeline-runs/${encodeURIComponent(runId)}?task=extract`);
  await page.locator('[data-testid="dag-node"][data-task="extract"][data-state="failed"]').waitFor();
  const tries = (await api(`/v1/pipeline-runs/${encodeURIComponent(runId)}/tries?task=extract`)).data;
  const want = squash(tries[tries.length - 1]?.log || '').slice(-40);
  await until(async () => squash(await page.getByTestId('task-log').innerText()).includes(want),
              `the failed extract's log does not show "${want}"`);
  await shot(page, 'pipeline-run-failed');
});

scenario('every nav page renders with its title, an h1 and labelled controls; unknown UI files are 404',
  async ({ page }) => {
    const pages = [['/chat', 'Chat'], ['/kb', 'Knowledge base'], ['/search', 'Search playground'], ['/runs', 'Runs'],
                   ['/models', 'Models'], ['/pipelines', 'Pipelines'], ['/quality', 'Data quality']];
    await open(page, '/chat', keys.query);
    for (const [route, title] of pages) {
      if (route !== '/chat') await open(page, route);
      await until(async () => (await page.title()) === `${title} · Lathe`, `${route}: the title is not "${title} · Lathe"`);
      await page.waitForLoadState('networkidle', { timeout: kWaitMs });
      const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
        .filter((e) => e.type !== 'hidden' && e.offsetParent !== null)
        .filter((e) => !(e.labels?.length || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby') || e.title))
        .map((e) => e.outerHTML.slice(0, 80)));
      check(unlabelled.length === 0, `${route}: controls without a label: ${unlabelled.join(' ')}`);
    }
    const missing = await fetch(`${server.base}/ui/no-such-file.js`, { signal: AbortSignal.timeout(kWaitMs) });
    check(missing.status === 404, `GET /ui/no-such-file.js answered ${missing.status}`);
  });

scenario('widget: the demo page shows the help button and opens the chat panel', async ({ page }) => {
  await page.goto(`${server.base}/ui/widget-demo.html?key=${keys.query}`, { waitUntil: 'domcontentloaded' });
  const button = page.getByTestId('lathe-widget-button');
  await button.click();
  const panel = page.getByTestId('lathe-widget-panel');
  await panel.waitFor();
  await page.getByTestId('lathe-widget-input').fill(kQuestion);
  await page.getByTestId('lathe-widget-input').press('Enter');
  const answer = page.locator('[data-testid="lathe-widget-answer"]:not([aria-busy])');
  await answer.waitFor();
  check(/\[\d+\]/.test(await answer.innerText()), `the widget's answer has no citation: ${await answer.innerText()}`);
  await shot(page, 'widget-demo');
});

// ------------------------------------------------------------------ driver

const server = { child: null, base: '', exited: false };
const keys = {};
let browser;

async function runScenario(s) {
  const context = await browser.newContext({ viewport: kViewport });
  context.setDefaultTimeout(kWaitMs);
  context.setDefaultNavigationTimeout(kWaitMs);
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    const text = `${m.text()} (${m.location()?.url || ''})`;
    if (!(s.allowConsole || []).some((re) => re.test(text))) problems.push(`console error: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  let timer;
  try {
    await Promise.race([
      s.fn({ page, context }),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`scenario took over ${kScenarioMs} ms`)), kScenarioMs); }),
    ]);
    if (problems.length) throw new Error(problems.join('; '));
  } catch (e) {
    try { await page.screenshot({ path: path.join(tmp, `failed-${s.n}.png`), timeout: 5000 }); } catch { /* closed */ }
    // What the page said may explain a timeout (a blocked script, a failed request).
    if (problems.length && !e.message.includes(problems[0])) e.message += ` [page: ${problems.join('; ')}]`;
    throw e;
  } finally {
    clearTimeout(timer);
    await context.close().catch(() => {});
  }
}

async function main() {
  log(`lathe ${kLathe}, UI ${kUiDir ? `from ${kUiDir}` : 'embedded'}, temp ${tmp}`);
  check(fs.existsSync(kLathe), `no lathe binary at ${kLathe} (build it, or pass its path)`);
  await run(['--data-dir', dataDir, 'demo', '--no-serve', '--customers', '1000', '--terminals', '1500'],
            { timeoutMs: 150000 });
  log('demo prepared');
  keys.admin = await createKey('admin');
  keys.query = await createKey('query');
  await startServer();
  await waitReady(server.base);
  log(`server ready at ${server.base}`);
  browser = await chromium.launch({
    executablePath: kChromium,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    timeout: 30000,
  });
  let passed = 0, failed = 0;
  for (const s of scenarios) {
    if (kOnly.length && !kOnly.includes(s.n)) continue;
    const t = Date.now();
    try {
      await runScenario(s);
      ++passed;
      console.log(`ok ${s.n} - ${s.name} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      ++failed;
      console.log(`not ok ${s.n} - ${s.name}: ${squash(e.message).slice(0, 600)}`);
    }
    if (server.exited) { console.log('the server exited during the tests'); ++failed; break; }
  }
  console.log(`${passed} passed, ${failed} failed (${((Date.now() - kT0) / 1000).toFixed(0)} s` +
              `${kUpdateScreenshots ? ', screenshots in docs/screenshots' : ''})`);
  return failed === 0;
}

let ok = false;
const cleanup = async () => {
  if (browser) await browser.close().catch(() => {});
  await stopServer().catch(() => {});
  if (process.env.KEEP_TMP === '1') log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
};
process.on('SIGINT', async () => { await cleanup(); process.exit(130); });
process.on('SIGTERM', async () => { await cleanup(); process.exit(143); });
try {
  ok = await main();
} catch (e) {
  console.log(`not ok 0 - setup: ${e.message}`);
  console.log('0 passed, 1 failed');
}
await cleanup();
process.exit(ok ? 0 : 1);
