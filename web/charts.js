// charts.js — uPlot (vendor/uPlot.iife.min.js, global uPlot) for lines, points and bars; plain
// canvas for box plots and the map. Every chart sizes itself to its container and follows it.

import { h, clear, fmt } from './ui.js';

const uPlot = globalThis.uPlot;

export const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b',
  '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#ad494a'];

const compact = new Intl.NumberFormat('en-US', { notation: 'compact', maximumSignificantDigits: 3 });
const axisValues = (u, splits) => splits.map((v) => (v === null ? '' : Math.abs(v) >= 1e4 ? compact.format(v) : fmt(v, 3)));

export function widthOf(el) { return Math.max(260, Math.floor(el.clientWidth || 600)); }

export function follow(el, getChart, height) {
  const ro = new ResizeObserver(() => {
    const c = getChart();
    if (c) c.setSize({ width: widthOf(el), height: height() });
  });
  ro.observe(el);
  return ro;
}

export function chartHeight(el) {
  return Math.round(Math.min(360, Math.max(220, widthOf(el) * 0.55)));
}

// Live loss curves. update({x, series: [{label, color, dash, width, values}], log}) redraws;
// the chart is rebuilt only when the set of series or the scale changes. el.dataset.points
// holds the number of points plotted from the stream, derived series (means) left out
// (tests read it).
export class LossChart {
  constructor(el, { yLabel = 'loss' } = {}) {
    this.el = el;
    this.yLabel = yLabel;
    this.chart = null;
    this.key = '';
    this.ro = follow(el, () => this.chart, () => chartHeight(el));
    el.dataset.points = '0';
  }

  update({ x, series, log }) {
    const key = `${log}|${series.map((s) => s.label).join('|')}`;
    const data = [x, ...series.map((s) => s.values)];
    if (key !== this.key || !this.chart) {
      if (this.chart) this.chart.destroy();
      this.key = key;
      const opts = {
        width: widthOf(this.el),
        height: chartHeight(this.el),
        scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
        axes: [{ label: 'epoch' }, { label: log ? `${this.yLabel} (log)` : this.yLabel, size: 60 }],
        legend: { live: true },
        cursor: { drag: { x: true, y: false } },
        series: [{ label: 'epoch' }, ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: s.width || 1.5,
          dash: s.dash,
          spanGaps: true,
          points: { show: false },
          value: (u, v) => fmt(v),
        }))],
      };
      this.chart = new uPlot(opts, data, this.el);
    } else {
      this.chart.setData(data);
    }
    let n = 0;
    for (const s of series) if (!s.derived) for (const v of s.values) if (v !== null && v !== undefined) n++;
    this.el.dataset.points = String(n);
  }

  destroy() {
    this.ro.disconnect();
    if (this.chart) this.chart.destroy();
    this.chart = null;
  }
}

// Points (not lines) over a sorted x: series [{label, color, values}], plus an optional y = x
// line. Points are sorted here, so callers pass x and values in any order.
export function scatter(el, { x, series, xLabel, yLabel, identity = false, size = 4 }) {
  const order = Array.from(x.keys()).sort((a, b) => x[a] - x[b]);
  const xs = order.map((i) => x[i]);
  const data = [xs, ...series.map((s) => order.map((i) => s.values[i]))];
  const ser = [{ label: xLabel }, ...series.map((s) => ({
    label: s.label,
    stroke: s.color,
    fill: s.color,
    paths: () => null,
    points: { show: true, space: 0, size: s.size || size, width: 0, fill: s.color, stroke: s.color },
    value: (u, v) => fmt(v),
  }))];
  if (identity) {
    data.push(xs);
    ser.push({ label: 'y = x', stroke: '#222', width: 1.5, dash: [6, 4], points: { show: false } });
  }
  clear(el);
  const chart = new uPlot({
    width: widthOf(el),
    height: chartHeight(el),
    scales: { x: { time: false } },
    axes: [{ label: xLabel, size: 50, values: axisValues }, { label: yLabel, size: 60, values: axisValues }],
    legend: { live: false },
    series: ser,
  }, data, el);
  el.dataset.points = String(xs.length);
  follow(el, () => chart, () => chartHeight(el));
  return chart;
}

// A histogram of values in `bins` bars.
export function histogram(el, { values, bins = 40, xLabel, color = '#1f77b4' }) {
  const v = values.filter(Number.isFinite);
  clear(el);
  if (!v.length) return null;
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of v) { if (a < lo) lo = a; if (a > hi) hi = a; }
  if (hi === lo) hi = lo + 1;
  const w = (hi - lo) / bins;
  const counts = new Array(bins).fill(0);
  for (const a of v) counts[Math.min(bins - 1, Math.floor((a - lo) / w))]++;
  const xs = counts.map((_, i) => lo + (i + 0.5) * w);
  const chart = new uPlot({
    width: widthOf(el),
    height: chartHeight(el),
    scales: { x: { time: false, range: [lo, hi] } },
    axes: [{ label: xLabel, size: 50, values: axisValues }, { label: 'rows', size: 60 }],
    legend: { live: false },
    series: [{ label: xLabel }, {
      label: 'rows', stroke: color, fill: `${color}99`,
      paths: uPlot.paths.bars({ size: [1, Infinity], gap: 1 }),
      points: { show: false },
    }],
  }, [xs, counts], el);
  el.dataset.bins = String(bins);
  follow(el, () => chart, () => chartHeight(el));
  return chart;
}

function canvasIn(el, height) {
  clear(el);
  const cv = h('canvas', { role: 'img' });
  el.append(cv);
  const dpr = window.devicePixelRatio || 1;
  const w = widthOf(el);
  cv.width = w * dpr;
  cv.height = height * dpr;
  cv.style.width = `${w}px`;
  cv.style.height = `${height}px`;
  const g = cv.getContext('2d');
  g.scale(dpr, dpr);
  g.font = '12px system-ui, sans-serif';
  return { cv, g, w, hgt: height };
}

// Horizontal box plots, one row per item {name, min, q1, median, q3, max}; whiskers at min and
// max. shared: one axis for all rows (model inputs); otherwise each row has its own range,
// printed at its ends (raw columns of very different units).
// Redraws a canvas chart when its container's width changes.
function redrawOnResize(el, draw) {
  if (el._ro) el._ro.disconnect();
  let w = widthOf(el);
  let t = null;
  el._ro = new ResizeObserver(() => {
    if (widthOf(el) === w) return;
    w = widthOf(el);
    clearTimeout(t);
    t = setTimeout(draw, 60);
  });
  el._ro.observe(el);
}

export function boxPlots(el, items, opts = {}) {
  drawBoxes(el, items, opts);
  redrawOnResize(el, () => drawBoxes(el, items, opts));
}

function drawBoxes(el, items, { shared = false, label = '' } = {}) {
  const rowH = 22;
  const top = shared ? 24 : 6;
  const height = top + items.length * rowH + 8;
  const { cv, g, w } = canvasIn(el, height);
  cv.setAttribute('aria-label', label || 'box plots');
  const nameW = Math.min(170, Math.max(90, w * 0.28));
  const numW = shared ? 0 : 64;
  const x0 = nameW + numW;
  const x1 = w - numW - 8;
  let glo = Infinity;
  let ghi = -Infinity;
  for (const it of items) { glo = Math.min(glo, it.min); ghi = Math.max(ghi, it.max); }
  if (shared) {
    g.fillStyle = '#555';
    g.textAlign = 'left';
    g.fillText(fmt(glo, 3), x0, 14);
    g.textAlign = 'right';
    g.fillText(fmt(ghi, 3), x1, 14);
  }
  items.forEach((it, i) => {
    const y = top + i * rowH + rowH / 2;
    const lo = shared ? glo : it.min;
    const hi = shared ? ghi : it.max;
    const span = hi > lo ? hi - lo : 1;
    const X = (v) => x0 + ((v - lo) / span) * (x1 - x0);
    g.fillStyle = i % 2 ? '#fafafa' : '#f0f3f7';
    g.fillRect(0, y - rowH / 2, w, rowH);
    g.fillStyle = '#222';
    g.textAlign = 'right';
    g.textBaseline = 'middle';
    const name = it.name.length > 24 ? `${it.name.slice(0, 23)}…` : it.name;
    g.fillText(name, nameW - 6, y);
    if (!shared) {
      g.fillStyle = '#666';
      g.fillText(fmt(it.min, 3), x0 - 4, y);
      g.textAlign = 'left';
      g.fillText(fmt(it.max, 3), x1 + 4, y);
    }
    g.strokeStyle = '#333';
    g.lineWidth = 1;
    g.beginPath();
    g.moveTo(X(it.min), y); g.lineTo(X(it.q1), y);
    g.moveTo(X(it.q3), y); g.lineTo(X(it.max), y);
    g.moveTo(X(it.min), y - 4); g.lineTo(X(it.min), y + 4);
    g.moveTo(X(it.max), y - 4); g.lineTo(X(it.max), y + 4);
    g.stroke();
    g.fillStyle = '#9ecae1';
    g.fillRect(X(it.q1), y - 7, Math.max(1, X(it.q3) - X(it.q1)), 14);
    g.strokeRect(X(it.q1), y - 7, Math.max(1, X(it.q3) - X(it.q1)), 14);
    g.strokeStyle = '#d62728';
    g.lineWidth = 2;
    g.beginPath();
    g.moveTo(X(it.median), y - 7); g.lineTo(X(it.median), y + 7);
    g.stroke();
  });
  el.dataset.boxes = String(items.length);
}

// Diverging colour for t in [-1, 1]: blue (under-predicted) … grey … red (over-predicted).
function diverging(t) {
  const a = Math.max(-1, Math.min(1, t));
  const mix = (c0, c1, f) => c0.map((v, i) => Math.round(v + (c1[i] - v) * f));
  const mid = [200, 200, 200];
  const c = a < 0 ? mix(mid, [33, 102, 172], -a) : mix(mid, [178, 24, 43], a);
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

// Points at (lon, lat), coloured by err (predicted − actual), equal-distance axes.
export function errorMap(el, opts) {
  drawMap(el, opts);
  redrawOnResize(el, () => drawMap(el, opts));
}

function drawMap(el, { lat, lon, err, unit = '' }) {
  const idx = [];
  for (let i = 0; i < lat.length; i++)
    if (Number.isFinite(lat[i]) && Number.isFinite(lon[i]) && Number.isFinite(err[i])) idx.push(i);
  const w = widthOf(el);
  let la0 = Infinity, la1 = -Infinity, lo0 = Infinity, lo1 = -Infinity;
  for (const i of idx) {
    la0 = Math.min(la0, lat[i]); la1 = Math.max(la1, lat[i]);
    lo0 = Math.min(lo0, lon[i]); lo1 = Math.max(lo1, lon[i]);
  }
  const k = Math.cos(((la0 + la1) / 2) * Math.PI / 180);
  const spanX = Math.max(1e-9, (lo1 - lo0) * k);
  const spanY = Math.max(1e-9, la1 - la0);
  const pad = 12;
  const legendH = 34;
  const scale = Math.min((w - 2 * pad) / spanX, 420 / spanY);
  const height = Math.round(spanY * scale + 2 * pad + legendH);
  const { cv, g } = canvasIn(el, height);
  cv.setAttribute('aria-label', `map of ${idx.length} rows coloured by prediction error`);
  const abs = idx.map((i) => Math.abs(err[i])).sort((a, b) => a - b);
  const lim = abs.length ? abs[Math.floor(abs.length * 0.95)] || abs[abs.length - 1] || 1 : 1;
  g.fillStyle = '#fcfcfc';
  g.fillRect(0, 0, w, height - legendH);
  for (const i of idx) {
    const x = pad + (lon[i] - lo0) * k * scale;
    const y = pad + (la1 - lat[i]) * scale;
    g.fillStyle = diverging(err[i] / lim);
    g.fillRect(x - 1.5, y - 1.5, 3, 3);
  }
  const ly = height - legendH + 8;
  const lw = Math.min(240, w - 140);
  for (let j = 0; j < lw; j++) {
    g.fillStyle = diverging((j / (lw - 1)) * 2 - 1);
    g.fillRect(70 + j, ly, 1, 10);
  }
  g.fillStyle = '#333';
  g.textBaseline = 'top';
  g.textAlign = 'right';
  g.fillText(`−${fmt(lim, 3)}`, 66, ly);
  g.textAlign = 'left';
  g.fillText(`+${fmt(lim, 3)} ${unit}`, 74 + lw, ly);
  g.textAlign = 'center';
  g.fillText('predicted − actual (blue: too low, red: too high)', 70 + lw / 2, ly + 12);
  el.dataset.points = String(idx.length);
}
