// studycurves.js — every trial of a study on one uPlot chart: the mean over its folds of the
// objective's validation value per epoch (val_r2 for r2, the validation loss for the others), from
// the history of the trial's last rung's run (GET /v1/studies/{id}/runs says which run trained
// which rung; a rung is a prefix of the trial's one run, trained from scratch, so the longest
// rung run is the trial's whole curve so far). Completed trials solid, running ones thin, pruned
// ones grey and dashed, ending with a dot at the rung where they stopped; failed ones left out.

import { api } from './api.js';
import { h, clear, fmt } from './ui.js';
import { PALETTE, widthOf, follow, chartHeight } from './charts.js';

const uPlot = globalThis.uPlot;
const ENDED = new Set(['succeeded', 'failed', 'cancelled']);
const PRUNED = '#8a8f96';
const EPOCH_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 1e5, 2e5, 5e5, 1e6];

// The history's per-epoch column for an objective.
export function historyKey(metric) {
  return { r2: 'val_r2', accuracy: 'val_accuracy', log_loss: 'val_log_loss' }[metric] || 'val_loss';
}

// History rows → the mean over the run's `folds` cross-validation folds (each fold's members
// averaged first) per epoch, up to the last epoch every fold has reached (a run's folds train a
// few at a time). The final refit (fold 0) has no validation.
export function meanCurve(history, key, folds) {
  const seen = new Map();
  let n = 0;
  for (const e of history) {
    const v = e[key];
    if (!(e.fold > 0) || typeof v !== 'number' || !Number.isFinite(v)) continue;
    if (!seen.has(e.fold)) seen.set(e.fold, []);
    const f = seen.get(e.fold);
    const a = f[e.epoch - 1] || (f[e.epoch - 1] = [0, 0]);
    a[0] += v;
    a[1]++;
    n = Math.max(n, e.epoch);
  }
  const out = [];
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (const f of seen.values()) if (f[i]) { s += f[i][0] / f[i][1]; c++; }
    out.push(c === Math.max(folds, seen.size) ? s / c : null);
  }
  while (out.length && out[out.length - 1] === null) out.pop();
  return out;
}

export class StudyCurves {
  // card: the element the chart, its note and its readout go in.
  constructor(card, metric) {
    this.metric = metric;
    this.key = historyKey(metric);
    this.yLabel = this.key === 'val_loss' ? 'validation loss' : `validation ${metric}`;
    this.cache = new Map(); // run id → {curve, done}: an ended run's curve is read once
    this.chart = null;
    this.sig = '';
    this.meta = [];
    this.focused = null;
    this.el = h('div', { id: 'trial-curves', dataset: { series: '0', curves: '[]' } });
    this.note = h('p', { class: 'muted' });
    this.readout = h('p', { class: 'muted', id: 'curve-readout', 'aria-live': 'polite' }, '\u00a0');
    clear(card, h('h2', {}, `Every trial's ${this.yLabel} per epoch (mean over folds)`),
      this.note, this.el, this.readout);
    this.ro = follow(this.el, () => this.chart, () => chartHeight(this.el));
  }

  // The curves of the trials of board (the leaderboard) from runs ({trial, rung, run, status}):
  // the histories of runs not yet read to their end are read (again); ended: the study has
  // (its running trials were stopped). Returns how many of the runs read had not ended.
  async update(board, runs, ended = false) {
    this.ended = ended;
    const rungs = new Map();
    for (const r of runs) {
      if (!rungs.has(r.trial)) rungs.set(r.trial, []);
      rungs.get(r.trial).push(r);
    }
    const trials = board.filter((t) => t.status !== 'failed').sort((a, b) => a.trial - b.trial);
    // an ended trial's curve is its last rung's run; a running one's may still be its previous
    const wanted = trials.flatMap((t) => (rungs.get(t.trial) || []).slice(t.status === 'running' ? -2 : -1))
      .filter((r) => r.status && r.status !== 'queued' && !(this.cache.get(r.run) || {}).done);
    await Promise.all(wanted.map(async (r) => {
      const curve = meanCurve(await api.history(r.run), this.key, r.folds || 0);
      this.cache.set(r.run, { curve, done: ENDED.has(r.status) });
    }));
    const drawn = [];
    for (const t of trials) {
      let curve = [];
      for (const r of rungs.get(t.trial) || []) {
        const c = this.cache.get(r.run);
        if (c && c.curve.length > curve.length) curve = c.curve;
      }
      if (curve.length) drawn.push({ t, curve });
    }
    this.draw(drawn, board.filter((t) => t.status === 'failed').map((t) => t.trial));
    return wanted.filter((r) => !ENDED.has(r.status)).length;
  }

  draw(drawn, failed) {
    const n = Math.max(0, ...drawn.map((d) => d.curve.length));
    const x = Array.from({ length: n }, (_, i) => i + 1);
    const data = [x, ...drawn.map((d) => x.map((_, i) => (i < d.curve.length ? d.curve[i] : null)))];
    this.meta = drawn.map(({ t, curve }) => {
      const pruned = t.status === 'pruned';
      const label = pruned ? `trial ${t.trial} (pruned at epoch ${curve.length})`
        : t.status === 'running' ? `trial ${t.trial} (${this.ended ? 'stopped with the study' : 'running'})`
          : `trial ${t.trial}`;
      return { trial: t.trial, status: t.status, last: curve.length, end: curve[curve.length - 1],
        label, pruned, color: pruned ? PRUNED : PALETTE[(t.trial - 1) % PALETTE.length] };
    });
    clear(this.note,
      drawn.length ? 'Solid: completed; thin: running; grey, dashed and ending in a dot: pruned at '
        + 'the rung it stopped at.' : 'No curve yet.',
      failed.length ? ` Failed (not drawn): trial ${failed.join(', ')}.` : '',
      this.key === 'val_r2' ? ' R² below −1 is cut off.' : '',
      ' Scored each epoch on the target as the model sees it (after the spec\'s preprocessing), so '
        + 'a curve\'s end can differ from the leaderboard, which scores the original values.');
    const sig = this.meta.map((m) => `${m.label}|${m.status}`).join(';');
    if (sig !== this.sig || !this.chart) {
      if (this.chart) this.chart.destroy();
      this.chart = null;
      this.sig = sig;
      if (drawn.length) this.chart = new uPlot(this.options(), data, this.el);
    } else {
      this.chart.setData(data);
    }
    this.el.dataset.series = String(drawn.length);
    this.el.dataset.curves = JSON.stringify(this.meta.map(({ trial, status, last, end }) =>
      ({ trial, status, last, end })));
  }

  options() {
    const floor = this.key === 'val_r2' ? -1 : -Infinity;
    return {
      width: widthOf(this.el),
      height: chartHeight(this.el),
      scales: {
        x: { time: false },
        y: { range: (u, lo, hi) => {
          if (lo === null || hi === null) return [0, 1];
          const a = Math.max(lo, floor);
          const pad = (hi - a) * 0.05 || Math.abs(hi) * 0.05 || 0.1;
          return [a - pad, hi + pad];
        } },
      },
      axes: [{ label: 'epoch', incrs: EPOCH_STEPS }, { label: this.yLabel, size: 60 }],
      legend: { live: false },
      focus: { alpha: 0.25 },
      cursor: { focus: { prox: 24 }, drag: { x: true, y: false } },
      series: [{ label: 'epoch' }, ...this.meta.map((m) => ({
        label: m.label,
        stroke: m.color,
        width: m.pruned ? 1.25 : m.status === 'running' ? 1 : 2,
        dash: m.pruned ? [5, 4] : undefined,
        spanGaps: false,
        // the pruned trial's last epoch: a dot where it was cut
        points: m.pruned
          ? { show: false, size: 7, fill: m.color, stroke: m.color, filter: () => [m.last - 1] }
          : { show: false },
      }))],
      hooks: {
        setSeries: [(u, si) => { this.focused = si; this.show(u); }],
        setCursor: [(u) => this.show(u)],
      },
    };
  }

  // The focused trial's value at the cursor's epoch, in words.
  show(u) {
    const m = this.focused ? this.meta[this.focused - 1] : null;
    const i = u.cursor.idx;
    const at = i === null || i === undefined ? ''
      : `: ${this.yLabel} ${fmt(u.data[this.focused][i])} at epoch ${i + 1}`;
    this.readout.textContent = m ? `${m.label}${at}` : '\u00a0';
  }

  destroy() {
    this.ro.disconnect();
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }
}
