// run.js — one run: live loss curves from the event stream, progress and ETA, metrics per
// fold, predicted vs actual, residuals, input box plots, predictions against any input, a
// map coloured by error, and downloads. A classification shows its validation log loss and
// accuracy live, and its own results (classify.js).

import { api, token, download } from './api.js';
import { EventStream } from './stream.js';
import { LossChart, PALETTE, scatter, histogram, boxPlots, errorMap } from './charts.js';
import { renderClassMetrics, renderClassResults } from './classify.js';
import { h, clear, fmt, fmtDuration, fmtTime, statusBadge, table, foldTable, errorBox, parseCsv, numericColumns, quantiles } from './ui.js';

const ACTIVE = new Set(['queued', 'running']);

// Epoch events → per fold, per member, per epoch losses; series averaged over members.
class Curves {
  constructor() { this.folds = new Map(); this.maxEpoch = 0; this.epochs = 0; }

  add(e) {
    if (!this.folds.has(e.fold)) this.folds.set(e.fold, new Map());
    const f = this.folds.get(e.fold);
    if (!f.has(e.member)) f.set(e.member, { train: [], val: [], acc: [] });
    const m = f.get(e.member);
    m.train[e.epoch - 1] = e.train_loss;
    // a classification's validation curve is its log loss (val_loss adds smoothing, if any)
    m.val[e.epoch - 1] = 'val_log_loss' in e ? e.val_log_loss : e.val_loss;
    if ('val_accuracy' in e) { m.acc[e.epoch - 1] = e.val_accuracy; this.classify = true; }
    this.maxEpoch = Math.max(this.maxEpoch, e.epoch);
    this.epochs = Math.max(this.epochs, e.epochs || 0);
  }

  static mean(members, key, n) {
    const out = new Array(n).fill(null);
    for (let i = 0; i < n; i++) {
      let s = 0;
      let c = 0;
      for (const m of members) {
        const v = m[key][i];
        if (typeof v === 'number' && Number.isFinite(v)) { s += v; c++; }
      }
      if (c) out[i] = s / c;
    }
    return out;
  }

  series(show) {
    const n = this.maxEpoch;
    const x = Array.from({ length: n }, (_, i) => i + 1);
    const out = [];
    const cv = [...this.folds.keys()].filter((f) => f > 0).sort((a, b) => a - b);
    const perFold = new Map();
    for (const f of cv) {
      const members = [...this.folds.get(f).values()];
      const color = PALETTE[(f - 1) % PALETTE.length];
      const train = Curves.mean(members, 'train', n);
      const val = Curves.mean(members, 'val', n);
      perFold.set(f, { train, val });
      if (show !== 'val') out.push({ label: `fold ${f} train`, color, dash: [5, 4], width: 1, values: train });
      if (show !== 'train') out.push({ label: `fold ${f} val`, color, width: 1.5, values: val });
    }
    if (cv.length > 1) {
      const avg = (key) => x.map((_, i) => {
        let s = 0;
        let c = 0;
        for (const f of cv) { const v = perFold.get(f)[key][i]; if (v !== null) { s += v; c++; } }
        return c === cv.length ? s / c : null; // only where every fold has reached the epoch
      });
      if (show !== 'val') out.push({ label: 'mean train', color: '#111', dash: [5, 4], width: 2.5, values: avg('train'), derived: true });
      if (show !== 'train') out.push({ label: 'mean val', color: '#111', width: 3, values: avg('val'), derived: true });
    }
    if (this.folds.has(0) && show !== 'val') {
      const members = [...this.folds.get(0).values()];
      out.push({ label: 'final refit train', color: '#888', dash: [2, 3], width: 2, values: Curves.mean(members, 'train', n) });
    }
    return { x, series: out };
  }

  // Validation accuracy per fold and its mean (a classification).
  accuracy() {
    const n = this.maxEpoch;
    const x = Array.from({ length: n }, (_, i) => i + 1);
    const cv = [...this.folds.keys()].filter((f) => f > 0).sort((a, b) => a - b);
    const per = cv.map((f) => Curves.mean([...this.folds.get(f).values()], 'acc', n));
    const out = cv.map((f, i) => ({ label: `fold ${f}`, color: PALETTE[(f - 1) % PALETTE.length], width: 1.5, values: per[i] }));
    if (cv.length > 1)
      out.push({ label: 'mean', color: '#111', width: 3, derived: true,
        values: x.map((_, i) => (per.every((p) => p[i] !== null) ? per.reduce((a, p) => a + p[i], 0) / per.length : null)) });
    return { x, series: out };
  }
}

function targetsOf(spec) {
  const t = spec && spec.target;
  return Array.isArray(t) ? t : t ? [t] : [];
}

export async function render(main, id) {
  let run;
  try {
    run = await api.run(id);
  } catch (e) {
    clear(main, h('h1', {}, 'Run'), errorBox('Reading the run', e));
    return undefined;
  }
  let gone = false;
  let poll = null;
  const badge = h('span', { id: 'run-status' });
  const progress = h('progress', { id: 'run-progress', max: '1', value: '0', 'aria-label': 'progress' });
  const progressText = h('span', { id: 'run-eta', class: 'muted' });
  const cancelBtn = h('button', { class: 'danger', id: 'cancel-run' }, 'Cancel run');
  const actionMsg = h('div', { 'aria-live': 'polite' });
  const errBox = h('div', { id: 'run-error' });
  const streamState = h('span', { class: 'muted', id: 'stream-state' });
  const chartEl = h('div', { class: 'chart', id: 'loss-chart' });
  const logBox = h('input', { type: 'checkbox', id: 'log-scale', checked: true });
  const showSel = h('select', { id: 'curve-select', 'aria-label': 'curves shown' },
    h('option', { value: 'both' }, 'training and validation'),
    h('option', { value: 'val' }, 'validation only'),
    h('option', { value: 'train' }, 'training only'));
  const accEl = h('div', { class: 'chart', id: 'acc-chart' });
  const accBox = h('section', { class: 'card', 'aria-labelledby': 'acc-h', hidden: true },
    h('h2', { id: 'acc-h' }, 'Validation accuracy per fold'), accEl);
  const metricsBox = h('div', { id: 'metrics' });
  const resultsBox = h('div', { id: 'results' });

  clear(main,
    h('h1', {}, h('span', { id: 'run-name' }, run.name), badge, h('code', { class: 'muted' }, run.id)),
    h('div', { class: 'card' },
      h('div', { class: 'row' },
        h('span', { id: 'run-dataset' }, 'Dataset: ', run.dataset ? h('code', {}, run.dataset.slice(0, 8)) : '—'),
        h('span', { class: 'muted' }, `queued ${fmtTime(run.created_at)}`),
        h('span', { class: 'spacer' }), cancelBtn),
      h('div', { class: 'row', style: 'margin-top:.6rem' }, h('div', { style: 'flex:1;min-width:10rem' }, progress), progressText),
      actionMsg, errBox),
    h('section', { class: 'card', 'aria-labelledby': 'loss-h' },
      h('div', { class: 'row' },
        h('h2', { id: 'loss-h' }, 'Loss per fold'), h('span', { class: 'spacer' }),
        h('label', { for: 'log-scale', class: 'row', style: 'font-weight:normal;gap:.3rem;margin:0' }, logBox, 'log scale'),
        showSel, streamState),
      chartEl),
    accBox, metricsBox, resultsBox);

  if (run.dataset)
    api.dataset(run.dataset).then((d) => clear(document.getElementById('run-dataset') || h('span'), 'Dataset: ',
      h('a', { href: '#/datasets' }, d.name), ` (${fmt(d.rows)} rows)`)).catch(() => {});
  const chart = new LossChart(chartEl);
  const accChart = new LossChart(accEl, { yLabel: 'accuracy' });
  const curves = new Curves();
  let drawPending = false;
  const draw = () => {
    drawPending = false;
    if (gone || !curves.maxEpoch) return;
    chart.update({ ...curves.series(showSel.value), log: logBox.checked });
    if (curves.classify) {
      accBox.hidden = false;
      accChart.update({ ...curves.accuracy(), log: false });
    }
  };
  const drawSoon = () => {
    if (drawPending) return;
    drawPending = true;
    setTimeout(draw, 150);
  };
  logBox.addEventListener('change', () => { chart.key = ''; draw(); });
  showSel.addEventListener('change', draw);

  const training = (run.spec && run.spec.training) || {};
  const live = { done: 0, total: 0, members: training.ensemble || 1, epochs: training.epochs || 0 };
  function showRun(r) {
    run = r;
    clear(badge, statusBadge(r.status));
    main.dataset.status = r.status;
    cancelBtn.hidden = !ACTIVE.has(r.status);
    // The server stores progress in batches; the stream's epochs count it as they come.
    const p = r.status === 'succeeded' ? 1 : Math.max(r.progress || 0, live.total ? Math.min(0.999, live.done / live.total) : 0);
    progress.value = p;
    const elapsed = r.started_at ? (r.finished_at || Date.now()) - r.started_at : null;
    let text = `${Math.round(p * 100)}%`;
    if (r.status === 'running' && p > 0.02 && elapsed)
      text += ` · about ${fmtDuration(elapsed * (1 - p) / p)} left`;
    else if (elapsed !== null) text += ` · ${fmtDuration(elapsed)}`;
    progressText.textContent = text;
    clear(errBox, r.error ? errorBox('The run', { status: 500, detail: r.error }) : null);
  }
  showRun(run);

  cancelBtn.addEventListener('click', async () => {
    cancelBtn.disabled = true;
    try {
      await api.cancel(id);
      clear(actionMsg, h('div', { class: 'ok' }, 'Cancelling: the run stops within one batch.'));
      showRun(await api.run(id));
    } catch (e) {
      clear(actionMsg, errorBox('Cancelling the run', e));
    } finally {
      cancelBtn.disabled = false;
    }
  });

  let finishedShown = false;
  async function refreshRun() {
    clearTimeout(poll);
    try {
      const r = await api.run(id);
      if (gone) return;
      showRun(r);
      if (!ACTIVE.has(r.status)) {
        if (!finishedShown) { finishedShown = true; showFinished(r); }
        return;
      }
    } catch (e) {
      if (!gone) clear(actionMsg, errorBox('Reading the run', e));
    }
    if (!gone) poll = setTimeout(refreshRun, 2000);
  }

  const stream = new EventStream('run', id, {
    onEvent: (type, data) => {
      if (type === 'epoch') {
        curves.add(data);
        live.done++;
        live.epochs = data.epochs || live.epochs;
        drawSoon();
        if (live.total && run.status === 'running') showRun(run);
      } else if (type === 'status' || type === 'fold') {
        if (type === 'status' && data.tasks) { live.done = 0; live.total = data.tasks * live.members * live.epochs; }
        refreshRun();
      }
    },
    onState: (s) => { streamState.textContent = s === 'open' ? 'live' : s === 'closed' ? '' : s; },
    onEnd: () => { draw(); refreshRun(); },
  });
  refreshRun();

  function showFinished(r) {
    draw();
    renderMetrics(metricsBox, r);
    if (r.status === 'succeeded') renderResults(resultsBox, r).catch((e) => resultsBox.append(errorBox('Showing the results', e)));
    else clear(resultsBox, h('p', { class: 'note', id: 'no-results' }, `This run ${r.status === 'cancelled' ? 'was cancelled' : 'failed'}: it has no predictions.`));
  }

  return () => {
    gone = true;
    clearTimeout(poll);
    stream.close();
    chart.destroy();
    accChart.destroy();
  };
}

function renderMetrics(box, r) {
  const m = r.metrics;
  if (!m) { clear(box); return; }
  if (m.task === 'classification') { renderClassMetrics(box, r); return; }
  const kv = (v, label, idAttr) => h('div', {}, h('b', { id: idAttr }, fmt(v)), h('span', {}, label));
  const folds = m.folds || [];
  clear(box, h('section', { class: 'card', 'aria-labelledby': 'metrics-h' },
    h('h2', { id: 'metrics-h' }, 'Metrics'),
    h('div', { class: 'kv', id: 'overall-metrics' },
      kv(m.r2, 'R² (out of fold)', 'metric-r2'), kv(m.rmse, 'RMSE', 'metric-rmse'), kv(m.mae, 'MAE'),
      kv(m.mape, 'MAPE %'), h('div', {}, h('b', {}, `${fmt(m.r2_mean, 3)} ± ${fmt(m.r2_sd, 2)}`), h('span', {}, 'R² per fold, mean ± sd')),
      kv(m.r2_model, 'R² on model scale'), kv(m.rows, 'rows'), h('div', {}, h('b', {}, fmtDuration(r.duration_ms)), h('span', {}, 'duration'))),
    h('div', { style: 'height:.8rem' }),
    foldTable([
      { label: 'R²', class: 'num', get: (f) => fmt(f.r2) },
      { label: 'RMSE', class: 'num', get: (f) => fmt(f.rmse) },
      { label: 'MAE', class: 'num', get: (f) => fmt(f.mae) },
    ], [...folds, { fold: 'all', n_val: m.rows, r2: m.r2, rmse: m.rmse, mae: m.mae }])));
}

function downloadLink(label, path, filename) {
  return h('a', {
    href: path,
    download: filename,
    onclick: (e) => {
      if (!token()) return; // a plain link works without a token
      e.preventDefault();
      download(path, filename).catch((err) => e.target.after(errorBox(`Downloading ${filename}`, err)));
    },
  }, label);
}

async function renderResults(box, r) {
  const id = r.id;
  const targets = targetsOf(r.spec);
  const tname = targets[0] || 'target';
  const ak = targets.length > 1 ? `actual_${tname}` : 'actual';
  const pk = targets.length > 1 ? `predicted_${tname}` : 'predicted';
  const links = h('p', { class: 'links', id: 'downloads' },
    downloadLink('Predictions (CSV)', `/v1/runs/${id}/predictions?format=csv`, `predictions-${id.slice(0, 8)}.csv`),
    downloadLink('History (CSV)', `/v1/runs/${id}/history?format=csv`, `history-${id.slice(0, 8)}.csv`),
    downloadLink('Model (JSON)', `/v1/runs/${id}/model`, `model-${id.slice(0, 8)}.json`));
  if (r.metrics && r.metrics.task === 'classification') {
    clear(box, h('section', { class: 'card' }, h('h2', {}, 'Downloads'), links));
    const preds = await api.predictions(id);
    renderClassResults(box, r, preds);
    await renderInputs(box, r, preds, null);
    return;
  }
  const scatterEl = h('div', { class: 'chart', id: 'pred-scatter' });
  const histEl = h('div', { class: 'chart', id: 'residual-hist' });
  clear(box,
    h('section', { class: 'card' }, h('h2', {}, 'Downloads'), links),
    h('div', { class: 'grid2', style: 'margin-bottom:1rem' },
      h('section', { class: 'card', 'aria-labelledby': 'sc-h' }, h('h2', { id: 'sc-h' }, `Predicted vs actual ${tname} (out of fold)`), scatterEl),
      h('section', { class: 'card', 'aria-labelledby': 'rh-h' }, h('h2', { id: 'rh-h' }, 'Residuals (predicted − actual)'), histEl)));

  const preds = await api.predictions(id);
  const actual = preds.map((p) => p[ak]);
  const predicted = preds.map((p) => p[pk]);
  const folds = [...new Set(preds.map((p) => p.fold))].sort((a, b) => a - b);
  // One colour per fold, so a fold that went wrong stands out.
  const series = folds.map((f) => ({
    label: `fold ${f}`,
    color: PALETTE[(f - 1) % PALETTE.length],
    values: preds.map((p) => (p.fold === f ? p[pk] : null)),
  }));
  scatter(scatterEl, { x: actual, series, xLabel: `actual ${tname}`, yLabel: `predicted ${tname}`, identity: true, size: 3 });
  const resid = preds.map((p) => p[pk] - p[ak]);
  histogram(histEl, { values: resid, xLabel: `predicted − actual ${tname}` });
  await renderInputs(box, r, preds, { actual, predicted, resid, tname });
}

// The raw data: box plots of the inputs before and after preprocessing; for a regression (reg:
// its actual, predicted and residuals) also predictions against an input and the map.
async function renderInputs(box, r, preds, reg) {
  const id = r.id;
  const targets = targetsOf(r.spec);
  const { actual, predicted, resid, tname } = reg || {};
  const inputsBox = h('div', {});
  box.append(inputsBox);
  if (!r.dataset) return;
  let csv;
  try {
    csv = parseCsv(await api.datasetCsv(r.dataset));
  } catch (e) {
    inputsBox.append(errorBox('Reading the dataset', e));
    return;
  }
  const cols = numericColumns(csv);
  const skip = new Set([...targets, r.spec && r.spec.id].filter(Boolean));
  const inputs = Object.keys(cols).filter((c) => !skip.has(c));
  const rowIndex = preds.map((p) => p.row - 1); // prediction rows count data rows from 1

  const beforeEl = h('div', { id: 'box-before' });
  const afterEl = h('div', { id: 'box-after' });
  const vsEl = h('div', { class: 'chart', id: 'input-scatter' });
  const pick = h('select', { id: 'input-select', 'aria-label': 'input to plot against' },
    inputs.map((c) => h('option', { value: c }, c)));
  const mapEl = h('div', { id: 'error-map' });
  const lat = Object.keys(cols).find((c) => /^(lat|latitude)$/i.test(c));
  const lon = Object.keys(cols).find((c) => /^(long|lon|lng|longitude)$/i.test(c));
  inputsBox.append(...[
    reg ? h('section', { class: 'card', 'aria-labelledby': 'vs-h' },
      h('div', { class: 'row' }, h('h2', { id: 'vs-h' }, `Predicted and actual ${tname} against`), pick), vsEl) : null,
    reg && lat && lon ? h('section', { class: 'card', 'aria-labelledby': 'map-h' },
      h('h2', { id: 'map-h' }, `Where the errors are (${lat}, ${lon})`), mapEl) : null,
    h('div', { class: 'grid2' },
      h('section', { class: 'card', 'aria-labelledby': 'bb-h' },
        h('h2', { id: 'bb-h' }, 'Inputs before preprocessing'),
        h('p', { class: 'muted' }, 'Raw columns, each on its own scale: whiskers at min and max, box at the quartiles, red at the median.'),
        beforeEl),
      h('section', { class: 'card', 'aria-labelledby': 'ba-h' }, h('h2', { id: 'ba-h' }, 'Model inputs after preprocessing'), afterEl)),
  ].filter(Boolean)); // DOM append would write a null as the text "null"

  boxPlots(beforeEl, inputs.map((c) => ({ name: c, ...quantiles(cols[c]) })).filter((b) => b.n),
    { label: 'box plots of the raw inputs' });

  const drawVs = () => {
    const col = cols[pick.value];
    const x = rowIndex.map((i) => col[i]);
    scatter(vsEl, {
      x, xLabel: pick.value, yLabel: tname, size: 3,
      series: [
        { label: `actual ${tname}`, color: '#1f77b4', values: actual, size: 4 },
        { label: `predicted ${tname}`, color: 'rgba(214,39,40,0.75)', values: predicted, size: 2.5 },
      ],
    });
  };
  const preferred = inputs.find((c) => /sqft_living$|area|size/i.test(c));
  if (preferred) pick.value = preferred;
  pick.addEventListener('change', drawVs);
  if (reg && inputs.length) drawVs();

  if (reg && lat && lon)
    errorMap(mapEl, { lat: rowIndex.map((i) => cols[lat][i]), lon: rowIndex.map((i) => cols[lon][i]), err: resid, unit: tname });

  // Transformed features need the server (the fitted preprocessing lives there).
  try {
    const f = await api.features(id);
    // f.after: every number column after the fitted pipeline; keep the network's inputs
    const inputsAfter = new Set(f.features || []);
    const list = (f.after || []).filter((b) => inputsAfter.has(b.name));
    boxPlots(afterEl, list, { shared: true, label: 'box plots of the model inputs' });
    afterEl.prepend(h('p', { class: 'muted' }, 'As the network sees them, on one axis.'));
  } catch (e) {
    clear(afterEl, e.status === 404
      ? h('p', { class: 'note', id: 'features-missing' },
        'This run has no model yet, so there are no transformed inputs to show; only the raw inputs are.')
      : errorBox('Reading the model inputs', e));
  }
}
