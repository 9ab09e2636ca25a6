// classify.js — what the run page shows for a classification: its metrics (out of fold and per
// fold), the confusion matrix (counts and row-normalized), ROC and precision-recall curves out of
// fold, a reliability diagram of 10 bins, the per-class table and each class's probability
// histogram. Everything is computed here from GET /v1/runs/{id}/predictions (labels and
// p_<label> columns), so what the page draws a script can check against the API.

import { h, clear, fmt, fmtDuration, table, foldTable } from './ui.js';
import { PALETTE } from './charts.js';

const pct = (v) => (v === null || v === undefined || Number.isNaN(v) ? '—' : `${(100 * v).toFixed(1)}%`);

// The ROC points (fpr, tpr) and precision-recall points (recall, precision) of scores s for
// labels pos (booleans), one point per distinct threshold from the highest; AUC by trapezoids
// (= the Mann–Whitney AUC with ties), average precision as Σ ΔR · P (as scikit-learn).
export function curves(pos, s) {
  const idx = s.map((_, i) => i).sort((a, b) => s[b] - s[a]);
  const P = pos.filter(Boolean).length;
  const N = pos.length - P;
  const roc = [[0, 0]];
  const pr = [[0, 1]];
  let tp = 0;
  let fp = 0;
  let auc = 0;
  let ap = 0;
  let lastR = 0;
  for (let i = 0; i < idx.length;) {
    const t = s[idx[i]];
    const [tp0, fp0] = [tp, fp];
    while (i < idx.length && s[idx[i]] === t) { if (pos[idx[i]]) tp++; else fp++; i++; }
    const tpr = P ? tp / P : 0;
    const fpr = N ? fp / N : 0;
    auc += ((fp - fp0) / (N || 1)) * ((tp + tp0) / 2 / (P || 1));
    roc.push([fpr, tpr]);
    const prec = tp / (tp + fp);
    ap += (tpr - lastR) * prec;
    lastR = tpr;
    pr.push([tpr, prec]);
  }
  return { roc, pr, auc: P && N ? auc : null, ap: P ? ap : null };
}

// Reliability: 10 equal bins of predicted probability; per bin the mean prediction, the
// fraction that was positive and the count.
export function reliability(pos, s, bins = 10) {
  const n = new Array(bins).fill(0);
  const sp = new Array(bins).fill(0);
  const hit = new Array(bins).fill(0);
  s.forEach((v, i) => {
    const b = Math.min(bins - 1, Math.floor(v * bins));
    n[b]++; sp[b] += v; if (pos[i]) hit[b]++;
  });
  return n.map((c, b) => ({ bin: b, n: c, mean: c ? sp[b] / c : null, frac: c ? hit[b] / c : null }));
}

// A canvas on [0, 1] × [0, 1] with axes, an optional y = x line, polylines of points and a
// legend under it. series: [{label, color, points: [[x, y]…], markers, dash}].
function unitPlot(el, { series, xLabel, yLabel, diagonal = false, label }) {
  const draw = () => {
    clear(el);
    const w = Math.max(260, Math.floor(el.clientWidth || 400));
    const H = Math.round(Math.min(340, Math.max(220, w * 0.72)));
    const cv = h('canvas', { role: 'img', 'aria-label': label || yLabel });
    const dpr = window.devicePixelRatio || 1;
    cv.width = w * dpr; cv.height = H * dpr;
    cv.style.width = `${w}px`; cv.style.height = `${H}px`;
    el.append(cv);
    const g = cv.getContext('2d');
    g.scale(dpr, dpr);
    g.font = '12px system-ui, sans-serif';
    const L = 48; const R = 12; const T = 10; const B = 38;
    const X = (x) => L + x * (w - L - R);
    const Y = (y) => T + (1 - y) * (H - T - B);
    g.strokeStyle = '#e3e7ec'; g.fillStyle = '#555'; g.lineWidth = 1;
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      g.beginPath(); g.moveTo(X(t), Y(0)); g.lineTo(X(t), Y(1)); g.moveTo(X(0), Y(t)); g.lineTo(X(1), Y(t)); g.stroke();
      g.textAlign = 'center'; g.textBaseline = 'top'; g.fillText(String(t), X(t), Y(0) + 4);
      g.textAlign = 'right'; g.textBaseline = 'middle'; g.fillText(String(t), X(0) - 5, Y(t));
    }
    g.textAlign = 'center'; g.textBaseline = 'bottom'; g.fillText(xLabel, X(0.5), H - 2);
    g.save(); g.translate(12, Y(0.5)); g.rotate(-Math.PI / 2); g.textBaseline = 'middle'; g.fillText(yLabel, 0, 0); g.restore();
    if (diagonal) {
      g.strokeStyle = '#888'; g.setLineDash([5, 4]);
      g.beginPath(); g.moveTo(X(0), Y(0)); g.lineTo(X(1), Y(1)); g.stroke(); g.setLineDash([]);
    }
    let points = 0;
    for (const s of series) {
      g.strokeStyle = s.color; g.fillStyle = s.color; g.lineWidth = 2; g.setLineDash(s.dash || []);
      g.beginPath();
      s.points.forEach(([x, y], i) => (i ? g.lineTo(X(x), Y(y)) : g.moveTo(X(x), Y(y))));
      g.stroke(); g.setLineDash([]);
      if (s.markers) for (const [x, y] of s.points) { g.beginPath(); g.arc(X(x), Y(y), 3.5, 0, 2 * Math.PI); g.fill(); }
      points += s.points.length;
    }
    el.append(h('div', { class: 'legend' }, series.map((s) => h('span', {},
      h('i', { style: `background:${s.color}` }), s.label))));
    el.dataset.series = String(series.length);
    el.dataset.points = String(points);
  };
  draw();
  if (el._ro) el._ro.disconnect();
  let width = el.clientWidth;
  el._ro = new ResizeObserver(() => { if (el.clientWidth !== width) { width = el.clientWidth; draw(); } });
  el._ro.observe(el);
}

// Bars of two overlapping distributions on [0, 1] (20 bins): the rows of a class and the others.
function probHistogram(el, { inClass, others, label }) {
  const bins = 20;
  const count = (v) => { const c = new Array(bins).fill(0); for (const x of v) c[Math.min(bins - 1, Math.floor(x * bins))]++; return c; };
  const a = count(inClass);
  const b = count(others);
  clear(el);
  const w = Math.max(260, Math.floor(el.clientWidth || 400));
  const H = 220;
  const cv = h('canvas', { role: 'img', 'aria-label': `histogram of the probability of ${label}` });
  const dpr = window.devicePixelRatio || 1;
  cv.width = w * dpr; cv.height = H * dpr; cv.style.width = `${w}px`; cv.style.height = `${H}px`;
  el.append(cv);
  const g = cv.getContext('2d');
  g.scale(dpr, dpr);
  g.font = '12px system-ui, sans-serif';
  const L = 48; const R = 12; const T = 10; const B = 34;
  const top = Math.max(1, ...a, ...b);
  const bw = (w - L - R) / bins;
  const Y = (v) => T + (1 - v / top) * (H - T - B);
  const bar = (c, color) => { g.fillStyle = color; c.forEach((v, i) => { if (v) g.fillRect(L + i * bw + 1, Y(v), bw - 2, Y(0) - Y(v)); }); };
  bar(b, 'rgba(127,127,127,0.45)');
  bar(a, 'rgba(31,119,180,0.6)');
  g.fillStyle = '#555'; g.textAlign = 'center'; g.textBaseline = 'top';
  for (const t of [0, 0.25, 0.5, 0.75, 1]) g.fillText(String(t), L + t * (w - L - R), Y(0) + 4);
  g.textBaseline = 'bottom'; g.fillText(`probability of ${label}`, L + (w - L - R) / 2, H - 2);
  g.textAlign = 'right'; g.textBaseline = 'middle'; g.fillText(String(top), L - 5, Y(top)); g.fillText('0', L - 5, Y(0));
  el.append(h('div', { class: 'legend' },
    h('span', {}, h('i', { style: 'background:rgba(31,119,180,0.6)' }), `actual ${label} (${inClass.length})`),
    h('span', {}, h('i', { style: 'background:rgba(127,127,127,0.45)' }), `other rows (${others.length})`)));
  el.dataset.rows = String(inClass.length + others.length);
}

// The confusion matrix as a table, rows = actual; counts or row-normalized, shaded by the row
// share.
function confusionTable(el, conf, normalized) {
  const { labels, matrix } = conf;
  const sums = matrix.map((r) => r.reduce((a, b) => a + b, 0));
  const cell = (v, i, j) => {
    const share = sums[i] ? v / sums[i] : 0;
    const text = normalized ? pct(sums[i] ? share : null) : fmt(v);
    const dark = share > 0.6;
    return h('td', {
      class: 'num cm', 'data-label': labels[j],
      style: `background:rgba(11,92,173,${(0.08 + 0.85 * share).toFixed(3)});color:${dark ? '#fff' : 'inherit'}`,
      title: `actual ${labels[i]}, predicted ${labels[j]}: ${v} of ${sums[i]}`,
    }, text);
  };
  clear(el, h('div', { class: 'table-wrap' }, h('table', { class: 'confusion' },
    h('caption', {}, normalized ? 'Share of each actual class (rows sum to 100%)' : 'Rows: actual · columns: predicted'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'actual \\ predicted'), labels.map((l) => h('th', { scope: 'col', class: 'num' }, l)))),
    h('tbody', {}, matrix.map((row, i) => h('tr', {}, h('th', { scope: 'row' }, labels[i]), row.map((v, j) => cell(v, i, j))))))));
  el.dataset.cells = String(labels.length * labels.length);
}

export function renderClassMetrics(box, r) {
  const m = r.metrics;
  const kv = (v, label, idAttr, digits) => h('div', {}, h('b', { id: idAttr }, fmt(v, digits)), h('span', {}, label));
  const folds = m.folds || [];
  const binary = (m.classes || []).length === 2;
  const th = m.threshold;
  clear(box, h('section', { class: 'card', 'aria-labelledby': 'metrics-h' },
    h('h2', { id: 'metrics-h' }, `Metrics — ${m.classes.length} classes of ${m.target}${binary ? `, positive “${m.positive}”` : ''}`),
    h('div', { class: 'kv', id: 'overall-metrics' },
      kv(m.accuracy, 'accuracy (out of fold)', 'metric-accuracy'), kv(m.log_loss, 'log loss', 'metric-log-loss'),
      kv(m.roc_auc, binary ? 'ROC AUC' : 'ROC AUC (one-vs-rest)', 'metric-roc-auc'),
      kv(m.balanced_accuracy, 'balanced accuracy'), kv(m.f1_macro, 'F1 (macro)'),
      binary ? kv(m.pr_auc, 'PR AUC (average precision)') : null, kv(m.brier, 'Brier score'),
      h('div', {}, h('b', {}, `${fmt(m.accuracy_mean, 3)} ± ${fmt(m.accuracy_sd, 2)}`), h('span', {}, 'accuracy per fold, mean ± sd')),
      kv(m.rows, 'rows'), h('div', {}, h('b', {}, fmtDuration(r.duration_ms)), h('span', {}, 'duration'))),
    th ? h('p', { class: 'note', id: 'threshold' },
      `At 0.5: F1 ${fmt(th['at_0.5'].f1)}, precision ${fmt(th['at_0.5'].precision)}, recall ${fmt(th['at_0.5'].recall)}. `,
      `The threshold that maximizes F1 out of fold is ${fmt(th.best_f1.threshold, 3)}: F1 ${fmt(th.best_f1.f1)}, `,
      `precision ${fmt(th.best_f1.precision)}, recall ${fmt(th.best_f1.recall)}, accuracy ${fmt(th.best_f1.accuracy)}.`) : null,
    h('div', { style: 'height:.8rem' }),
    foldTable([
      { label: 'Accuracy', class: 'num', get: (f) => fmt(f.accuracy) },
      { label: 'Log loss', class: 'num', get: (f) => fmt(f.log_loss) },
      { label: 'ROC AUC', class: 'num', get: (f) => fmt(f.roc_auc) },
      { label: 'F1 macro', class: 'num', get: (f) => fmt(f.f1_macro) },
    ], [...folds, { fold: 'all', n_val: m.n, accuracy: m.accuracy, log_loss: m.log_loss, roc_auc: m.roc_auc, f1_macro: m.f1_macro }])));
}

// The classification results under the downloads: preds are GET …/predictions rows.
export function renderClassResults(box, r, preds) {
  const m = r.metrics;
  const classes = m.classes;
  const binary = classes.length === 2;
  if (!m.confusion) { // "validation": {"type": "none"}: nothing was scored out of fold
    box.append(h('p', { class: 'note', id: 'no-validation' }, 'This run has no validation, so no out-of-fold results.'));
    return;
  }
  const oof = preds.filter((p) => p.fold !== null && p.actual !== null);
  const prob = (c) => oof.map((p) => p[`p_${c}`]);
  const isC = (c) => oof.map((p) => p.actual === c);
  const shown = binary ? [m.positive] : classes;
  const colorOf = (c) => PALETTE[classes.indexOf(c) % PALETTE.length];

  const normBox = h('input', { type: 'checkbox', id: 'confusion-normalized' });
  const cmEl = h('div', { id: 'confusion' });
  const rocEl = h('div', { class: 'chart', id: 'roc-curve' });
  const prEl = h('div', { class: 'chart', id: 'pr-curve' });
  const relEl = h('div', { class: 'chart', id: 'reliability' });
  const histEl = h('div', { class: 'chart', id: 'prob-hist' });
  const pick = h('select', { id: 'class-select', 'aria-label': 'class of the histogram' },
    classes.map((c) => h('option', { value: c }, c)));
  const perClass = table([
    { label: 'Class', get: (c) => c.label },
    { label: 'Precision', class: 'num', get: (c) => fmt(c.precision) },
    { label: 'Recall', class: 'num', get: (c) => fmt(c.recall) },
    { label: 'F1', class: 'num', get: (c) => fmt(c.f1) },
    { label: 'Support', class: 'num', get: (c) => fmt(c.support) },
  ], m.per_class || [], { caption: 'Per class (out of fold)' });
  box.append(
    h('div', { class: 'grid2', style: 'margin-bottom:1rem' },
      h('section', { class: 'card', 'aria-labelledby': 'cm-h' },
        h('div', { class: 'row' }, h('h2', { id: 'cm-h' }, 'Confusion matrix (out of fold)'), h('span', { class: 'spacer' }),
          h('label', { for: 'confusion-normalized', class: 'row', style: 'font-weight:normal;gap:.3rem;margin:0' }, normBox, 'row-normalized')),
        cmEl),
      h('section', { class: 'card', 'aria-labelledby': 'pc-h', id: 'per-class' }, h('h2', { id: 'pc-h' }, 'Classes'), perClass)),
    h('div', { class: 'grid2', style: 'margin-bottom:1rem' },
      h('section', { class: 'card', 'aria-labelledby': 'roc-h' }, h('h2', { id: 'roc-h' }, binary ? 'ROC curve (out of fold)' : 'ROC curves, one class against the rest'), rocEl),
      h('section', { class: 'card', 'aria-labelledby': 'pr-h' }, h('h2', { id: 'pr-h' }, binary ? 'Precision–recall curve (out of fold)' : 'Precision–recall, one class against the rest'), prEl)),
    h('div', { class: 'grid2', style: 'margin-bottom:1rem' },
      h('section', { class: 'card', 'aria-labelledby': 'rel-h' }, h('h2', { id: 'rel-h' }, 'Reliability (10 bins)'),
        h('p', { class: 'muted' }, 'Mean predicted probability against the fraction that was the class; on the diagonal the probabilities mean what they say.'), relEl),
      h('section', { class: 'card', 'aria-labelledby': 'ph-h' },
        h('div', { class: 'row' }, h('h2', { id: 'ph-h' }, 'Probability of'), pick), histEl)));

  const drawCm = () => confusionTable(cmEl, m.confusion, normBox.checked);
  normBox.addEventListener('change', drawCm);
  drawCm();
  const per = shown.map((c) => ({ c, ...curves(isC(c), prob(c)) }));
  unitPlot(rocEl, {
    xLabel: 'false positive rate', yLabel: 'true positive rate', diagonal: true, label: 'ROC curves',
    series: per.map((x) => ({ label: `${x.c} (AUC ${fmt(x.auc, 3)})`, color: colorOf(x.c), points: x.roc })),
  });
  unitPlot(prEl, {
    xLabel: 'recall', yLabel: 'precision', label: 'precision-recall curves',
    series: per.map((x) => ({ label: `${x.c} (AP ${fmt(x.ap, 3)})`, color: colorOf(x.c), points: x.pr })),
  });
  unitPlot(relEl, {
    xLabel: 'mean predicted probability', yLabel: 'fraction of the class', diagonal: true, label: 'reliability diagram',
    series: shown.map((c) => ({
      label: c, color: colorOf(c), markers: true,
      points: reliability(isC(c), prob(c)).filter((b) => b.n).map((b) => [b.mean, b.frac]),
    })),
  });
  if (binary) pick.value = m.positive;
  const drawHist = () => {
    const c = pick.value;
    const p = prob(c);
    const mine = isC(c);
    probHistogram(histEl, { label: c, inClass: p.filter((_, i) => mine[i]), others: p.filter((_, i) => !mine[i]) });
  };
  pick.addEventListener('change', drawHist);
  drawHist();
}
