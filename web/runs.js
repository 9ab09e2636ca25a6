// runs.js — the table of runs (live while any is queued or running), cancel, and comparing two
// runs' metrics side by side, fold by fold.

import { api } from './api.js';
import { h, clear, fmt, fmtDuration, fmtTime, statusBadge, table, showError, errorBox } from './ui.js';

const ACTIVE = new Set(['queued', 'running']);

export async function render(main) {
  const picked = new Set();
  const compareBtn = h('button', { id: 'compare', disabled: true }, 'Compare selected');
  const msg = h('div', { id: 'runs-message', 'aria-live': 'polite' });
  const box = h('div', { id: 'runs-table' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(main,
    h('h1', {}, 'Runs', h('span', { class: 'spacer' }), h('a', { class: 'button', href: '#/new' }, 'New run')),
    h('div', { class: 'card' },
      h('div', { class: 'row', style: 'margin-bottom:.6rem' },
        h('span', { class: 'muted' }, 'Tick two runs to compare them.'), h('span', { class: 'spacer' }), compareBtn),
      msg, box));
  compareBtn.addEventListener('click', () => {
    const [a, b] = [...picked];
    location.hash = `#/compare/${a}/${b}`;
  });

  let names = {};
  let timer = null;
  let gone = false;

  async function cancel(r) {
    try {
      await api.cancel(r.id);
      clear(msg, h('div', { class: 'ok' }, `Cancelling ${r.name} (${r.id.slice(0, 8)}).`));
    } catch (e) {
      showError(msg, `Cancelling ${r.name}`, e);
    }
    refresh();
  }

  async function refresh() {
    clearTimeout(timer);
    let list;
    try {
      [list] = await Promise.all([
        api.runs(),
        Object.keys(names).length ? null : api.datasets().then((ds) => {
          names = Object.fromEntries(ds.map((d) => [d.id, d.name]));
        }).catch(() => {}),
      ]);
    } catch (e) {
      if (!gone) showError(box, 'Listing the runs', e);
      return;
    }
    if (gone) return;
    for (const id of [...picked]) if (!list.some((r) => r.id === id)) picked.delete(id);
    compareBtn.disabled = picked.size !== 2;
    if (!list.length) {
      clear(box, h('p', { class: 'muted' }, 'No runs yet. ', h('a', { href: '#/new' }, 'Start one.')));
    } else {
      clear(box, table([
        { label: 'Compare', get: (r) => h('input', {
          type: 'checkbox', 'aria-label': `Compare ${r.name} ${r.id.slice(0, 8)}`, checked: picked.has(r.id),
          onchange: (e) => {
            if (e.target.checked) picked.add(r.id); else picked.delete(r.id);
            compareBtn.disabled = picked.size !== 2;
          },
        }) },
        { label: 'Status', get: (r) => h('span', {}, statusBadge(r.status),
          r.status === 'running' ? ` ${Math.round((r.progress || 0) * 100)}%` : '') },
        { label: 'Run', get: (r) => h('a', { href: `#/run/${r.id}` }, r.name, ' ', h('code', { class: 'muted' }, r.id.slice(0, 6))) },
        { label: 'Dataset', get: (r) => (r.dataset ? names[r.dataset] || r.dataset.slice(0, 8) : '—') },
        { label: 'R²', class: 'num', get: (r) => fmt(r.r2) },
        { label: 'RMSE', class: 'num', get: (r) => fmt(r.rmse) },
        { label: 'Accuracy', class: 'num', get: (r) => fmt(r.accuracy) },
        { label: 'Log loss', class: 'num', get: (r) => fmt(r.log_loss) },
        { label: 'Duration', class: 'num', get: (r) => fmtDuration(r.started_at ? (r.finished_at || Date.now()) - r.started_at : null) },
        { label: 'Started', get: (r) => fmtTime(r.started_at || r.created_at) },
        { label: '', get: (r) => (ACTIVE.has(r.status)
          ? h('button', { class: 'danger', onclick: () => cancel(r), 'aria-label': `Cancel ${r.name} ${r.id.slice(0, 8)}` }, 'Cancel') : '') },
      ], list, { rowAttrs: (r) => ({ 'data-id': r.id, 'data-status': r.status }) }));
    }
    // Live: poll while something is queued or running, slowly otherwise.
    timer = setTimeout(refresh, list.some((r) => ACTIVE.has(r.status)) ? 1500 : 10000);
  }
  await refresh();
  return () => { gone = true; clearTimeout(timer); };
}

const OVERALL = [
  ['r2', 'R²'], ['rmse', 'RMSE'], ['mae', 'MAE'], ['mape', 'MAPE %'], ['r2_mean', 'R² fold mean'],
  ['r2_sd', 'R² fold sd'], ['rmse_mean', 'RMSE fold mean'], ['rmse_sd', 'RMSE fold sd'], ['train_seconds', 'train seconds'],
];
const OVERALL_CLASS = [
  ['accuracy', 'accuracy'], ['log_loss', 'log loss'], ['roc_auc', 'ROC AUC'], ['balanced_accuracy', 'balanced accuracy'],
  ['f1_macro', 'F1 macro'], ['brier', 'Brier'], ['accuracy_mean', 'accuracy fold mean'], ['accuracy_sd', 'accuracy fold sd'],
  ['train_seconds', 'train seconds'],
];
// Fold columns: [key, label] of the per-fold metrics compared.
const FOLD_REG = [['r2', 'R²'], ['rmse', 'RMSE'], ['mae', 'MAE']];
const FOLD_CLASS = [['accuracy', 'accuracy'], ['log_loss', 'log loss'], ['roc_auc', 'AUC']];

const HIGHER = /^(r2|accuracy|roc_auc|balanced_accuracy|f1_macro)/;
function better(key, a, b) {
  if (typeof a !== 'number' || typeof b !== 'number' || a === b) return 0;
  const up = HIGHER.test(key) && !key.endsWith('sd');
  return (up ? a > b : a < b) ? 1 : -1;
}

export async function renderCompare(main, a, b) {
  clear(main, h('h1', {}, 'Compare runs'), h('p', { class: 'muted' }, 'Loading…'));
  let ra;
  let rb;
  try {
    [ra, rb] = await Promise.all([api.run(a), api.run(b)]);
  } catch (e) {
    clear(main, h('h1', {}, 'Compare runs'), errorBox('Reading the runs', e));
    return;
  }
  const ma = ra.metrics || {};
  const mb = rb.metrics || {};
  const head = (r) => h('span', {}, h('a', { href: `#/run/${r.id}` }, r.name), ' ', statusBadge(r.status), ' ',
    h('code', { class: 'muted' }, r.id.slice(0, 6)));
  const cell = (key, x, y) => h('span', { class: better(key, x, y) > 0 ? 'win' : '' }, fmt(x));
  const classify = ma.task === 'classification' || mb.task === 'classification';
  const overall = table([
    { label: 'Metric', get: (k) => k[1] },
    { label: `A: ${ra.name}`, class: 'num', get: (k) => cell(k[0], ma[k[0]], mb[k[0]]) },
    { label: `B: ${rb.name}`, class: 'num', get: (k) => cell(k[0], mb[k[0]], ma[k[0]]) },
  ], classify ? OVERALL_CLASS : OVERALL, { caption: 'Overall (out of fold)' });
  const fa = ma.folds || [];
  const fb = mb.folds || [];
  const n = Math.max(fa.length, fb.length);
  const rows = Array.from({ length: n }, (_, i) => ({ i, a: fa[i] || {}, b: fb[i] || {} }));
  const folds = table([
    { label: 'Fold', get: (r) => r.a.fold || r.b.fold || r.i + 1 },
    ...(classify ? FOLD_CLASS : FOLD_REG).flatMap(([k, label]) => [
      { label: `A ${label}`, class: 'num', get: (r) => cell(k, r.a[k], r.b[k]) },
      { label: `B ${label}`, class: 'num', get: (r) => cell(k, r.b[k], r.a[k]) },
    ]),
    { label: 'A epochs', class: 'num', get: (r) => fmt(r.a.epochs_run) },
    { label: 'B epochs', class: 'num', get: (r) => fmt(r.b.epochs_run) },
  ], rows, { caption: 'Fold by fold' });
  // the fold differences with the corrected resampled t-test, when the runs share their folds
  const test = h('p', { id: 'compare-test', class: 'muted' }, 'Testing the difference…');
  api.compare(a, b).then((c) => {
    clear(test, h('b', {}, 'R², A − B: '), `${fmt(c.mean_difference)} ± ${fmt(c.sd)} over ${c.folds.length} folds; `,
      `corrected resampled t-test (Nadeau–Bengio): t = ${fmt(c.t, 3)}, ${c.df} df, p = ${fmt(c.p, 3)}`);
    test.className = '';
  }).catch((e) => clear(test, `No paired test: ${e.detail || e.message}`));
  clear(main, h('h1', {}, 'Compare runs'),
    h('div', { class: 'card', id: 'compare-view' },
      h('p', {}, 'A: ', head(ra), h('br'), 'B: ', head(rb)),
      (!ra.metrics || !rb.metrics) ? h('p', { class: 'note' }, 'A run that did not succeed has no metrics: its cells show —.') : null,
      test, overall, h('div', { style: 'height:1rem' }), folds));
}
