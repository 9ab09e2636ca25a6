// run.mjs — the dashboard in a real browser: headless Chromium (Debian's) driven by
// playwright-core against a real nnd on a free port with a fresh data directory.
//   NND_BIN         the nnd binary (required)
//   NN_SOURCE_DIR   the source tree (web/ and examples/), default ../..
//   SCREENSHOT_DIR  where each page's screenshot goes, default ./screenshots
//   CHROMIUM        the browser, default /usr/bin/chromium
// Prints "N passed, M failed" and exits non-zero on any failure, including a missing
// browser or a missing node_modules (scripts/test.sh installs both).

import { spawn } from 'node:child_process';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SRC = process.env.NN_SOURCE_DIR || path.resolve(here, '../..');
const NND = process.env.NND_BIN;
const SHOTS = process.env.SCREENSHOT_DIR || path.resolve('screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const t0 = Date.now();

function fatal(msg) {
  console.error(`browser tests: ${msg}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}

if (!NND || !existsSync(NND)) fatal(`NND_BIN (${NND}) is not the nnd binary`);
if (!existsSync(CHROMIUM)) fatal(`no browser at ${CHROMIUM}: install Debian's chromium (scripts/deps.sh)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  fatal(`playwright-core is not installed (npm ci --prefix tests/browser): ${e.message}`);
}

mkdirSync(SHOTS, { recursive: true });
const tmp = mkdtempSync(path.join(tmpdir(), 'nnd-browser-'));

// A slice of King County: the header and the first n rows.
function slice(n, file) {
  const lines = readFileSync(path.join(SRC, 'examples/kc_house_data.csv'), 'utf8').split('\n');
  const p = path.join(tmp, file);
  writeFileSync(p, `${lines.slice(0, n + 1).join('\n')}\n`);
  return p;
}

// Starts nnd on a free port; resolves {proc, url} once it prints where it listens.
function startNnd(name, env = {}) {
  return new Promise((resolve, reject) => {
    const dir = path.join(tmp, name);
    const proc = spawn(NND, ['--listen', '127.0.0.1:0', '--data-dir', dir, '--web-dir',
      path.join(SRC, 'web'), '--workers', '2', '--quiet'], {
      env: { ...process.env, OPENBLAS_NUM_THREADS: '1', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    const timer = setTimeout(() => reject(new Error(`nnd did not start: ${err}`)), 15000);
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve({ proc, url: m[1] }); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`nnd exited (${code}): ${err}`)); });
  });
}

const results = [];
async function test(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push([name, true]);
    console.log(`ok   ${name} (${((Date.now() - start) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push([name, false]);
    console.log(`FAIL ${name}: ${e.stack || e}`);
  }
}

function check(cond, msg) { if (!cond) throw new Error(msg); }

// A fresh load of a dashboard page (a hash change alone would keep the page as it is).
async function open(page, url) {
  await page.goto('about:blank');
  await page.goto(url);
}

async function shot(page, name, fullPage = true) {
  await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage });
}

// The spec of the King County template, made short: k folds, one member, n epochs.
function shortSpec(text, { epochs, k = 3, name }) {
  const s = JSON.parse(text);
  s.name = name;
  s.training.epochs = epochs;
  s.training.ensemble = 1;
  s.training.validation.k = k;
  return JSON.stringify(s, null, 2);
}

// One API call to the nnd at base; the parsed JSON answer, or an error naming the status.
async function apiCall(base, method, p, body, type = 'application/json') {
  const res = await fetch(`${base}${p}`, { method, body, headers: body ? { 'Content-Type': type } : {} });
  const text = await res.text();
  check(res.ok, `${method} ${p}: ${res.status} ${text}`);
  return JSON.parse(text);
}

const LAPTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

let server;
let tokenServer;
let corsServer;
let pageServer;
let ctx;
try {
  server = await startNnd('data');
  const userDir = path.join(tmp, 'chromium-profile');
  ctx = await chromium.launchPersistentContext(userDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: LAPTOP,
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  const page = ctx.pages()[0] || await ctx.newPage();
  const consoleErrors = [];
  // HTTP errors the dashboard handles itself (401, 404, 422) are logged too: not script errors.
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  const base = server.url;
  const csv = slice(3000, 'kc_slice.csv');

  await test('upload a King County slice with progress and see its columns', async () => {
    await open(page, `${base}/#/datasets`);
    await page.waitForSelector('#drop-zone');
    await page.setInputFiles('#file-input', csv);
    await page.waitForSelector('#upload-done', { timeout: 20000 });
    check(await page.$eval('#upload-progress', (p) => p.value) === 1, 'the progress bar is not full');
    await page.waitForSelector('#columns table');
    const cols = await page.$$eval('#columns tbody tr td:first-child', (tds) => tds.map((t) => t.textContent));
    check(cols.includes('price') && cols.includes('lat'), `columns: ${cols}`);
    const row = await page.$$eval('#columns tbody tr', (trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent)));
    const price = row.find((r) => r[0] === 'price');
    check(price[1] === 'number' && price[2] === '0', `price row: ${price}`);
    // the list is refreshed beside the column table (not before it): wait for its row
    await page.waitForSelector('#dataset-list tbody tr');
    check(await page.$$eval('#dataset-list tbody tr', (r) => r.length) === 1, 'the list has not one dataset');
    await shot(page, 'datasets');
    await page.setViewportSize(PHONE);
    await shot(page, 'datasets-phone');
    await page.setViewportSize(LAPTOP);
  });

  await test('a spec error is shown at its JSON pointer', async () => {
    await open(page, `${base}/#/new`);
    await page.waitForSelector('#spec-valid', { timeout: 20000 });
    await page.waitForSelector('#feature-list li');
    check(Number((await page.textContent('#param-count')).replace(/,/g, '')) > 1000, 'no parameter count');
    await shot(page, 'new-run');
    const spec = JSON.parse(await page.inputValue('#spec-editor'));
    spec.network.hidden = 'wide';
    delete spec.training.epochs;
    await page.fill('#spec-editor', JSON.stringify(spec, null, 2));
    const li = await page.waitForSelector('#spec-errors li[data-pointer="/network/hidden"]', { timeout: 10000 });
    check((await li.textContent()).includes('line'), 'the error has no line');
    await page.waitForSelector('#spec-errors li[data-pointer="/training/epochs"]');
    await page.click('#spec-errors li[data-pointer="/network/hidden"] button');
    const sel = await page.$eval('#spec-editor', (t) => t.value.slice(t.selectionStart, t.selectionEnd));
    check(sel === '"wide"', `the button selects ${sel}`);
    await shot(page, 'new-run-error');
    await page.fill('#spec-editor', '{"name": "x",');
    await page.waitForSelector('#json-error');
    // The server's own words when the submit is refused.
    await page.fill('#spec-editor', JSON.stringify({ ...spec, network: { hidden: [] } }));
    await page.click('#submit-run');
    await page.waitForSelector('#submit-message .error');
  });

  let firstRun = '';
  await test('launch a short run from the template and watch it learn', async () => {
    await open(page, `${base}/#/new`);
    await page.waitForSelector('#spec-valid', { timeout: 20000 });
    await page.selectOption('#template-select', 'kc_house');
    const text = await page.inputValue('#spec-editor');
    check(text === readFileSync(path.join(SRC, 'examples/kc_house.json'), 'utf8'), 'the template is not examples/kc_house.json');
    await page.fill('#spec-editor', shortSpec(text, { epochs: 200, name: 'kc-short' }));
    await page.waitForSelector('#spec-valid');
    await page.click('#submit-run');
    await page.waitForURL(/#\/run\/[0-9a-f]{32}$/);
    firstRun = page.url().split('/').pop();
    // The chart gains points while the run trains.
    const seen = [];
    const deadline = Date.now() + 180000;
    for (;;) {
      const [status, points] = await page.evaluate(() => [document.getElementById('main').dataset.status,
        Number(document.getElementById('loss-chart')?.dataset.points || 0)]);
      if (status === 'running' && points > 0 && points !== seen[seen.length - 1]) seen.push(points);
      if (status === 'running' && seen.length === 2) await shot(page, 'run-training', false);
      if (status && status !== 'running' && status !== 'queued') break;
      check(Date.now() < deadline, 'the run did not finish in 180 s');
      await page.waitForTimeout(100);
    }
    check(seen.length >= 3, `the chart did not grow while training: ${seen}`);
    for (let i = 1; i < seen.length; i++) check(seen[i] > seen[i - 1], `points went down: ${seen}`);
    check(await page.$eval('#main', (m) => m.dataset.status) === 'succeeded', 'the run did not succeed');
    await page.waitForSelector('#metric-r2');
    const r2 = Number(await page.textContent('#metric-r2'));
    check(r2 > 0.3 && r2 <= 1, `R² ${r2}`);
    await page.waitForSelector('#overall-metrics');
    check(await page.$$eval('#metrics tbody tr', (r) => r.length) === 4, 'not 3 folds and overall');
    await page.waitForFunction(() => Number(document.getElementById('pred-scatter')?.dataset.points) === 3000, null, { timeout: 20000 });
    await page.waitForSelector('#residual-hist canvas');
    await page.waitForSelector('#box-before canvas');
    await page.waitForFunction(() => Number(document.getElementById('error-map')?.dataset.points) === 3000);
    await page.waitForFunction(() => Number(document.getElementById('input-scatter')?.dataset.points) === 3000);
    // the model's inputs after preprocessing, from GET /v1/runs/{id}/features
    await page.waitForSelector('#box-after canvas', { timeout: 20000 });
    const total = await page.$eval('#loss-chart', (c) => Number(c.dataset.points));
    check(total === 3 * 200 * 2 + 200, `the finished chart has ${total} points`);
    // Every plotted point came from the stream: the same as the history.
    const hist = await page.evaluate(async (id) => (await (await fetch(`/v1/runs/${id}/history`)).json()).history.length, firstRun);
    check(hist === 4 * 200, `history has ${hist} epochs`);
    const href = await page.getAttribute('#downloads a:first-child', 'href');
    check(href.endsWith('/predictions?format=csv'), href);
    await page.click('#log-scale');
    await page.waitForTimeout(300);
    await page.click('#log-scale');
    await page.waitForTimeout(300);
    await shot(page, 'run');
    // The top of the page, for the README (docs/run-page.png).
    const top = await page.$eval('#results .grid2', (el) => el.getBoundingClientRect().bottom + window.scrollY);
    await page.screenshot({ path: path.join(SHOTS, 'run-top.png'), clip: { x: 0, y: 0, width: LAPTOP.width, height: Math.ceil(top + 16) }, fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(400);
    await shot(page, 'run-phone');
    await page.setViewportSize(LAPTOP);
  });

  let secondRun = '';
  await test('cancel a second run from the runs table', async () => {
    await open(page, `${base}/#/new`);
    await page.waitForSelector('#spec-valid', { timeout: 20000 });
    const text = await page.inputValue('#spec-editor');
    await page.fill('#spec-editor', shortSpec(text, { epochs: 5000, name: 'kc-long' }));
    await page.waitForSelector('#spec-valid');
    await page.click('#submit-run');
    await page.waitForURL(/#\/run\/[0-9a-f]{32}$/);
    secondRun = page.url().split('/').pop();
    await page.waitForFunction(() => Number(document.getElementById('loss-chart')?.dataset.points) > 0, null, { timeout: 30000 });
    await open(page, `${base}/#/runs`);
    const row = `#runs-table tr[data-id="${secondRun}"]`;
    await page.waitForSelector(`${row}[data-status="running"]`, { timeout: 20000 });
    check(await page.$(`#runs-table tr[data-id="${firstRun}"][data-status="succeeded"]`), 'the first run is not listed as succeeded');
    await shot(page, 'runs-live');
    await page.click(`${row} button.danger`);
    await page.waitForSelector(`${row}[data-status="cancelled"]`, { timeout: 20000 });
    await page.waitForSelector('#runs-message .ok');
    await shot(page, 'runs');
    await open(page, `${base}/#/run/${secondRun}`);
    await page.waitForSelector('#no-results');
    check(await page.$eval('#main', (m) => m.dataset.status) === 'cancelled', 'not cancelled');
  });

  await test('compare two runs fold by fold', async () => {
    await open(page, `${base}/#/runs`);
    await page.waitForSelector('#runs-table tbody tr');
    await page.check(`#runs-table tr[data-id="${firstRun}"] input[type=checkbox]`);
    check(await page.isDisabled('#compare'), 'compare is enabled with one run');
    await page.check(`#runs-table tr[data-id="${secondRun}"] input[type=checkbox]`);
    await page.click('#compare');
    await page.waitForSelector('#compare-view');
    const rows = await page.$$eval('#compare-view table', (t) => t.map((x) => x.tBodies[0].rows.length));
    check(rows[1] === 3, `fold rows ${rows}`);
    await shot(page, 'compare');
  });

  await test('a study: leaderboard, trial curves (pruned ones cut), parameters, best spec, live until it ends', async () => {
    const { fmt } = await import(pathToFileURL(path.join(SRC, 'web/ui.js')));
    const call = (...args) => apiCall(base, ...args);
    const ds = (await call('POST', '/v1/datasets?name=kc_study', readFileSync(slice(400, 'kc_study.csv')), 'text/csv')).id;
    const template = readFileSync(path.join(SRC, 'examples/kc_house.json'), 'utf8');
    // Two runs hold every training thread (2 workers, 2 active runs: 3 threads), so the study
    // waits until the page shows it running; cancelling them lets it go on while the page watches.
    const blocker = JSON.parse(shortSpec(template, { epochs: 1000000, k: 2, name: 'kc-blocker' }));
    blocker.training.final = 'none';
    const blocks = [];
    for (const folds of [2, 1]) {
      const id = (await call('POST', '/v1/runs', JSON.stringify({ dataset: ds, spec: blocker }))).id;
      blocks.push(id);
      // until that many of its folds are training: its history read page by page from the start
      const seen = new Set();
      let cursor = '';
      for (let tries = 0; seen.size < folds; tries++) {
        const pg = await call('GET', `/v1/runs/${id}/history?limit=10000${cursor && `&cursor=${cursor}`}`);
        for (const e of pg.history) seen.add(e.fold);
        check(tries < 600, `${folds} folds of a blocking run did not start`);
        if (pg.next_cursor) cursor = pg.next_cursor;
        else if (seen.size < folds) await new Promise((r) => setTimeout(r, 50));
      }
    }
    // 4 trials in grid order; ASHA at 2 of 6 epochs with η = 3 promotes only the best so far, so
    // the tiny learning rates (trials 2 and 4) are pruned at epoch 2 whatever the timing.
    const base6 = JSON.parse(shortSpec(template, { epochs: 6, k: 2, name: 'kc-trial' }));
    const study = { name: 'kc-study', seed: 7, base: base6,
      space: { '/training/optimizer/learning_rate': { type: 'categorical', choices: [0.003, 1e-5, 0.01, 3e-6] } },
      objective: { metric: 'r2', direction: 'maximize' }, sampler: { type: 'grid' },
      pruner: { type: 'asha', min_epochs: 2, reduction_factor: 3 },
      budget: { max_trials: 4 }, ensemble: { top: 2, rounds: 5 } };
    const sid = (await call('POST', '/v1/studies', JSON.stringify({ dataset: ds, study }))).id;
    await open(page, `${base}/#/studies`);
    await page.waitForSelector(`#studies-table a[href="#/study/${sid}"]`);
    check((await page.textContent('#studies-table tbody')).includes('running'), 'the list does not show it running');
    await shot(page, 'studies');
    // the page follows the study's event stream, held open while the study runs: one request
    // (an answer that ended with what was stored would make the EventSource ask every second)
    let streams = 0;
    const countStreams = (r) => { if (r.url().includes(`/v1/studies/${sid}/events`)) streams++; };
    page.on('request', countStreams);
    await page.click(`#studies-table a[href="#/study/${sid}"]`);
    await page.waitForSelector('#study-head[data-status="running"]');
    check(await page.$eval('#trial-curves', (c) => c.dataset.series) === '0', 'curves before any trial trained');
    for (const id of blocks) await call('POST', `/v1/runs/${id}/cancel`);
    // the page follows the study to its end without a reload, then stops asking
    await page.waitForSelector('#study-head[data-final]', { timeout: 60000 });
    page.off('request', countStreams);
    check(streams === 1, `the page opened the study's event stream ${streams} times`);
    const st = await call('GET', `/v1/studies/${sid}`);
    check(st.status === 'completed' && await page.$eval('#study-head', (e) => e.dataset.status) === 'completed', `study ${st.status}`);
    let asked = 0;
    const count = (r) => { if (r.url().includes(`/v1/studies/${sid}`)) asked++; };
    page.on('request', count);
    await page.waitForTimeout(2000);
    page.off('request', count);
    check(asked === 0, `the page asked ${asked} times after the study ended`);
    // the leaderboard as the API ranks it, values as displayed
    const board = st.leaderboard;
    const heads = await page.$$eval('#leaderboard thead th', (t) => t.map((x) => x.textContent));
    const rows = await page.$$eval('#leaderboard tbody tr', (t) => t.map((tr) => [...tr.children].map((td) => td.textContent)));
    check(rows.length === 4 && board.length === 4, `${rows.length} rows, ${board.length} trials`);
    const col = (label) => heads.indexOf(label);
    board.forEach((r, i) => {
      const want = [String(r.rank), String(r.trial), fmt(r.objective), String(r.epochs), r.status];
      const got = [rows[i][col('Rank')], rows[i][col('Trial')], rows[i][col('r2')], rows[i][col('Epochs')], rows[i][col('Status')]];
      check(JSON.stringify(got) === JSON.stringify(want), `leaderboard row ${i + 1}: ${got} is not ${want}`);
    });
    const pruned = board.filter((r) => r.status === 'pruned');
    check(pruned.length >= 1 && pruned.every((r) => r.epochs === 2), `pruned: ${JSON.stringify(pruned)}`);
    // one point per trial with an objective, in each parameter's plot
    const scored = board.filter((r) => typeof r.objective === 'number').length;
    const points = await page.$$eval('#param-plots figure', (f) => f.map((x) => x.querySelectorAll('circle').length));
    check(points.length === 1 && points[0] === scored, `param plot points ${points}, ${scored} scored`);
    // one curve per trial; a pruned trial's ends at its rung, a completed one's at its last epoch
    const curves = JSON.parse(await page.$eval('#trial-curves', (c) => c.dataset.curves));
    check(curves.length === 4 && await page.$eval('#trial-curves', (c) => c.dataset.series) === '4', `curves ${JSON.stringify(curves)}`);
    for (const r of board) {
      const c = curves.find((x) => x.trial === r.trial);
      check(c && c.status === r.status && c.last === r.epochs, `trial ${r.trial}: curve ${JSON.stringify(c)}, board epochs ${r.epochs}`);
    }
    // the best trial's curve ends at the mean over its folds of the last epoch's validation R²
    const hist = (await call('GET', `/v1/runs/${st.results.best.run}/history`)).history.filter((e) => e.fold > 0 && e.epoch === 6);
    const mean = hist.reduce((a, e) => a + e.val_r2, 0) / hist.length;
    const best = curves.find((x) => x.trial === st.results.best.trial);
    check(hist.length === 2 && Math.abs(best.end - mean) < 1e-12, `the best curve ends at ${best.end}, not ${mean}`);
    const legend = await page.textContent('#trial-curves .u-legend');
    check(legend.includes(`trial ${pruned[0].trial} (pruned at epoch 2)`), `legend: ${legend}`);
    await shot(page, 'study');
    // the leaderboard and the curves, for the README (docs/study-page.png)
    const bottom = await page.$eval('#curves-card', (el) => el.getBoundingClientRect().bottom + window.scrollY);
    await page.screenshot({ path: path.join(SHOTS, 'study-top.png'), clip: { x: 0, y: 0, width: LAPTOP.width, height: Math.ceil(bottom + 16) }, fullPage: true });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(400);
    await shot(page, 'study-phone');
    await page.setViewportSize(LAPTOP);
    // the best trial's spec into New run
    await page.click('#open-best');
    await page.waitForURL(/#\/new\/[0-9a-f]+$/);
    await page.waitForSelector('#spec-valid', { timeout: 20000 });
    const spec = JSON.parse(await page.inputValue('#spec-editor'));
    check(JSON.stringify(spec) === JSON.stringify(st.results.best.spec), 'the editor does not hold the best spec');
    check(st.results.best.trial === board[0].trial, 'the best trial is not ranked first');
  });

  await test('a classification run: accuracy live, confusion, ROC, PR, reliability, classes', async () => {
    await open(page, `${base}/#/datasets`);
    await page.waitForSelector('#drop-zone');
    await page.setInputFiles('#file-input', path.join(SRC, 'examples/breast_cancer.csv'));
    await page.waitForSelector('#upload-done', { timeout: 20000 });
    const ds = await page.evaluate(async () => (await (await fetch('/v1/datasets')).json()).datasets
      .find((d) => d.name === 'breast_cancer').id);
    await open(page, `${base}/#/new/${ds}`);
    await page.waitForSelector('#spec-editor');
    await page.waitForFunction(() => document.getElementById('spec-editor').value !== '');
    await page.selectOption('#template-select', 'breast_cancer');
    await page.click('#load-template');
    await page.waitForFunction((t) => document.getElementById('spec-editor').value === t,
      readFileSync(path.join(SRC, 'examples/breast_cancer.json'), 'utf8'), { timeout: 10000 });
    await page.waitForSelector('#class-list', { timeout: 20000 });
    check((await page.textContent('#task')) === 'classification', 'validate does not say classification');
    check((await page.textContent('#class-list')).includes('benign (357)'), await page.textContent('#class-list'));
    const spec = JSON.parse(await page.inputValue('#spec-editor'));
    spec.name = 'bc-short';
    spec.training.epochs = 40;
    spec.training.ensemble = 1;
    await page.fill('#spec-editor', JSON.stringify(spec, null, 2));
    await page.waitForSelector('#class-list');
    await page.click('#submit-run');
    await page.waitForURL(/#\/run\/[0-9a-f]{32}$/);
    const runId = page.url().split('/').pop();
    await page.waitForFunction(() => document.getElementById('main').dataset.status === 'succeeded', null, { timeout: 120000 });
    // live accuracy: 5 folds × 40 epochs from the stream (the refit has no validation)
    await page.waitForFunction(() => Number(document.getElementById('acc-chart')?.dataset.points) === 5 * 40, null, { timeout: 20000 });
    check(await page.$eval('#loss-chart', (c) => Number(c.dataset.points)) === 5 * 40 * 2 + 40, 'the log-loss chart');
    const acc = Number(await page.textContent('#metric-accuracy'));
    check(acc > 0.9 && acc <= 1, `accuracy ${acc}`);
    const metrics = await page.evaluate(async (id) => (await (await fetch(`/v1/runs/${id}`)).json()).metrics, runId);
    check(Math.abs(acc - metrics.accuracy) < 1e-3, `the page's accuracy ${acc} is not the API's ${metrics.accuracy}`);
    check(await page.$$eval('#metrics tbody tr', (r) => r.length) === 6, 'not 5 folds and overall');
    await page.waitForSelector('#threshold');
    check(await page.$eval('#confusion', (c) => Number(c.dataset.cells)) === 4, 'the confusion matrix is not 2 × 2');
    const counts = await page.$$eval('#confusion td', (t) => t.map((x) => Number(x.textContent.replace(/,/g, ''))));
    check(counts.reduce((a, b) => a + b, 0) === 569, `confusion counts ${counts}`);
    await page.check('#confusion-normalized');
    const shares = await page.$$eval('#confusion td', (t) => t.map((x) => x.textContent));
    check(shares.every((x) => x.endsWith('%')), `row-normalized: ${shares}`);
    for (const sel of ['#roc-curve', '#pr-curve', '#reliability'])
      check(await page.$eval(sel, (c) => Number(c.dataset.points)) > 2, `${sel} has no points`);
    check((await page.$eval('#roc-curve', (c) => c.textContent)).includes('AUC'), 'the ROC legend has no AUC');
    check(await page.$eval('#prob-hist', (c) => Number(c.dataset.rows)) === 569, 'the histogram does not count every row');
    await page.selectOption('#class-select', 'benign');
    check((await page.$eval('#prob-hist', (c) => c.textContent)).includes('actual benign (357)'), 'the histogram of benign');
    check(await page.$$eval('#per-class tbody tr', (r) => r.length) === 2, 'the per-class table');
    await page.waitForSelector('#box-after canvas', { timeout: 20000 });
    check(!/\bnull\b/.test(await page.textContent('#results')), 'a stray "null" on the page');
    await shot(page, 'run-classification');
    // metrics to the ROC and PR curves, for the README (docs/run-page-classification.png)
    const [y0, y1] = await page.evaluate(() => [
      document.getElementById('metrics').getBoundingClientRect().top + window.scrollY,
      document.getElementById('roc-curve').closest('.grid2').getBoundingClientRect().bottom + window.scrollY]);
    await page.evaluate(() => { document.querySelector('header.top').style.position = 'static'; });
    await page.screenshot({ path: path.join(SHOTS, 'run-classification-top.png'), clip: { x: 0, y: Math.floor(y0 - 8), width: LAPTOP.width, height: Math.ceil(y1 - y0 + 16) }, fullPage: true });
    await page.evaluate(() => { document.querySelector('header.top').style.position = ''; });
    await page.setViewportSize(PHONE);
    await page.waitForTimeout(400);
    await shot(page, 'run-classification-phone');
    await page.setViewportSize(LAPTOP);
    await open(page, `${base}/#/runs`);
    await page.waitForSelector(`#runs-table tr[data-id="${runId}"]`);
    const row = await page.$eval(`#runs-table tr[data-id="${runId}"]`, (tr) => tr.textContent);
    check(row.includes(String(metrics.accuracy.toLocaleString('en-US', { maximumSignificantDigits: 4 }))), `runs row: ${row}`);
  });

  await test('a classification study: ensemble and holdout scored by its objective', async () => {
    const { fmt } = await import(pathToFileURL(path.join(SRC, 'web/ui.js')));
    const call = (...args) => apiCall(base, ...args);
    const ds = (await call('POST', '/v1/datasets?name=bc_study',
      readFileSync(path.join(SRC, 'examples/breast_cancer.csv')), 'text/csv')).id;
    const spec = JSON.parse(readFileSync(path.join(SRC, 'examples/breast_cancer.json'), 'utf8'));
    spec.training.epochs = 5;
    spec.training.ensemble = 1;
    spec.training.validation.k = 2;
    const study = { name: 'bc-study', seed: 3, base: spec,
      space: { '/training/optimizer/learning_rate': { type: 'categorical', choices: [0.003, 0.01] } },
      sampler: { type: 'grid' }, budget: { max_trials: 2 }, ensemble: { top: 2, rounds: 3 },
      holdout: 0.2 };
    const sid = (await call('POST', '/v1/studies', JSON.stringify({ dataset: ds, study }))).id;
    let st;
    for (let tries = 0; ; tries++) {
      st = await call('GET', `/v1/studies/${sid}`);
      if (st.status !== 'running') break;
      check(tries < 1200, 'the classification study did not end');
      await new Promise((r) => setTimeout(r, 100));
    }
    const ens = st.results.ensemble, hold = st.results.holdout;
    check(st.status === 'completed' && ens.metric === 'log_loss', `study ${st.status}, ensemble ${JSON.stringify(ens)}`);
    await open(page, `${base}/#/study/${sid}`);
    await page.waitForSelector('#ensemble');
    const e = await page.textContent('#ensemble'), hl = await page.textContent('#holdout');
    check(e.includes(`out-of-fold log_loss ${fmt(ens.oof.log_loss)} (best trial alone ${fmt(ens.best_trial_oof.log_loss)})`), `ensemble line: ${e}`);
    check(hl.includes(`best trial log_loss ${fmt(hold.best.log_loss)}, ensemble log_loss ${fmt(hold.ensemble.log_loss)}`), `holdout line: ${hl}`);
    check(!/\bnull\b|—/.test(e + hl), `a missing score: ${e} ${hl}`);
  });

  await test('a token is asked for once and sent with every call, the stream included', async () => {
    tokenServer = await startNnd('data-token', { NND_TOKEN: 's3cret-token' });
    const tp = await ctx.newPage();
    tp.on('pageerror', (e) => consoleErrors.push(String(e)));
    await open(tp, `${tokenServer.url}/#/datasets`);
    await tp.waitForSelector('#token-dialog[open]');
    await tp.fill('#token-input', 's3cret-token');
    await tp.click('#token-dialog button[type=submit]');
    await tp.waitForSelector('#dataset-list p.muted:has-text("No datasets")');
    await tp.setInputFiles('#file-input', slice(400, 'kc_small.csv'));
    await tp.waitForSelector('#upload-done', { timeout: 20000 });
    const auth = { Authorization: 'Bearer s3cret-token', 'Content-Type': 'application/json' };
    const ds = (await (await fetch(`${tokenServer.url}/v1/datasets`, { headers: auth })).json()).datasets[0].id;
    const spec = JSON.parse(shortSpec(readFileSync(path.join(SRC, 'examples/kc_house.json'), 'utf8'), { epochs: 10, k: 2, name: 'kc-token' }));
    const res = await fetch(`${tokenServer.url}/v1/runs`, { method: 'POST', headers: auth, body: JSON.stringify({ dataset: ds, spec }) });
    check(res.status === 202, `create run: ${res.status}`);
    const { id } = await res.json();
    await open(tp, `${tokenServer.url}/#/run/${id}`);
    await tp.waitForFunction(() => document.getElementById('main').dataset.status === 'succeeded', null, { timeout: 60000 });
    await tp.waitForFunction(() => Number(document.getElementById('loss-chart')?.dataset.points) === 2 * 10 * 2 + 10);
    await tp.waitForFunction(() => Number(document.getElementById('pred-scatter')?.dataset.points) === 400);
    check(await tp.evaluate(() => sessionStorage.getItem('nnd-token')) === 's3cret-token', 'the token is not kept');
    await shot(tp, 'run-token');
    // Delete the dataset (the confirm dialog accepted), with the token too.
    await open(tp, `${tokenServer.url}/#/datasets`);
    await tp.waitForSelector('#dataset-list tbody tr');
    tp.once('dialog', (d) => d.accept());
    await tp.click('#dataset-list tbody tr button.danger');
    await tp.waitForSelector('#upload-message .ok:has-text("Deleted")');
    await tp.waitForSelector('#dataset-list p.muted:has-text("No datasets")');
    await tp.close();
  });

  await test('a page on another origin calls the API with a token and a JSON body (CORS)', async () => {
    // the page comes from a second tiny server on another port: another origin
    pageServer = http.createServer((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end('<!doctype html><title>elsewhere</title><p>another origin</p>');
    });
    await new Promise((r) => pageServer.listen(0, '127.0.0.1', r));
    const port = pageServer.address().port;
    const origin = `http://127.0.0.1:${port}`;
    corsServer = await startNnd('data-cors', { NND_TOKEN: 'cors-token', NND_CORS_ORIGIN: origin });
    const cp = await ctx.newPage();
    const calls = async (api) => {
      const auth = { Authorization: 'Bearer cors-token' };
      const spec = { name: 'x', target: 'y', training: { epochs: 1 } };
      try {
        const list = await fetch(`${api}/v1/runs`, { headers: auth });
        const v = await fetch(`${api}/v1/specs/validate`, {
          method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' },
          body: JSON.stringify({ spec }),
        });
        const del = await fetch(`${api}/v1/datasets/${'0'.repeat(32)}`, { method: 'DELETE', headers: auth });
        return { list: list.status, validate: v.status, valid: (await v.json()).valid, del: del.status };
      } catch (e) {
        return { error: String(e) };
      }
    };
    await cp.goto(`${origin}/`);
    const ok = await cp.evaluate(calls, corsServer.url);
    check(ok.list === 200 && ok.validate === 200 && ok.valid === true && ok.del === 404,
      `calls from ${origin}: ${JSON.stringify(ok)}`);
    // the same page from an origin nnd does not name is refused by the browser
    await cp.goto(`http://localhost:${port}/`);
    const refused = await cp.evaluate(calls, corsServer.url);
    check(refused.error, `calls from another origin were not refused: ${JSON.stringify(refused)}`);
    await cp.close();
  });

  await test('no script errors in the console', async () => {
    check(consoleErrors.length === 0, consoleErrors.join('\n'));
  });
} catch (e) {
  results.push(['setup', false]);
  console.log(`FAIL setup: ${e.stack || e}`);
} finally {
  if (ctx) await ctx.close().catch(() => {});
  if (pageServer) pageServer.close();
  for (const s of [server, tokenServer, corsServer]) {
    if (!s || s.proc.exitCode !== null) continue;
    const gone = new Promise((r) => s.proc.once('exit', r));
    s.proc.kill('SIGTERM');
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }
  rmSync(tmp, { recursive: true, force: true });
}

const passed = results.filter((r) => r[1]).length;
const failed = results.length - passed;
console.log(`browser tests took ${((Date.now() - t0) / 1000).toFixed(1)} s; screenshots in ${SHOTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
