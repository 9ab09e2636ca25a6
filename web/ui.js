// ui.js — small DOM helpers, number formatting and plain-words error messages.

// h('div', {class: 'x', onclick: f}, child, 'text', [more]) → element.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmt(v, digits = 4) {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (typeof v !== 'number') return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return v.toPrecision(digits);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumSignificantDigits: digits });
}

export function fmtBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined) return '—';
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtTime(ms) {
  if (!ms) return '—';
  const d = new Date(ms);
  const same = d.toDateString() === new Date().toDateString();
  return same ? d.toLocaleTimeString() : d.toLocaleString();
}

const WHAT = {
  0: 'The server could not be reached.',
  400: 'The request was not understood.',
  401: 'The server needs an access token.',
  403: 'That is not allowed.',
  404: 'It was not found.',
  409: 'That cannot be done now.',
  413: 'The file is too large for the server.',
  422: 'The server could not accept it.',
  429: 'The server is busy; try again shortly.',
  500: 'The server failed.',
  503: 'The server is not available.',
  507: 'The server is out of disk space.',
};

// An error shown where it happened: "<what failed>: <the server's words>".
export function errorBox(action, err) {
  const status = err && err.status !== undefined ? err.status : 0;
  const lead = WHAT[status] || `The server answered ${status}.`;
  const detail = err && err.detail ? err.detail : String(err && err.message ? err.message : err);
  const list = err && err.errors && err.errors.length > 1
    ? h('ul', {}, err.errors.map((e) => h('li', {}, h('code', {}, e.pointer || '/'), ' ', e.message)))
    : null;
  return h('div', { class: 'error', role: 'alert' },
    h('strong', {}, `${action} failed. `), lead, ' ', h('span', { class: 'detail' }, detail), list);
}

export function showError(container, action, err) {
  clear(container, errorBox(action, err));
}

export function statusBadge(status) {
  return h('span', { class: `badge st-${status}` }, status);
}

// A table from column definitions [{label, get(row) → node|text, class}].
export function table(cols, rows, { caption, rowAttrs } = {}) {
  return h('div', { class: 'table-wrap' },
    h('table', {},
      caption ? h('caption', {}, caption) : null,
      h('thead', {}, h('tr', {}, cols.map((c) => h('th', { scope: 'col', class: c.class }, c.label)))),
      h('tbody', {}, rows.map((r) => h('tr', rowAttrs ? rowAttrs(r) : {},
        cols.map((c) => h('td', { class: c.class, 'data-label': c.label }, c.get(r))))))));
}

// A tiny CSV parser (RFC 4180 quotes) → {header, rows: string[][]}.
export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let i = 0;
  let quoted = false;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i += 2; continue; }
        quoted = false; i++; continue;
      }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\n' || c === '\r') {
      row.push(field); field = '';
      if (row.length > 1 || row[0] !== '') rows.push(row);
      row = [];
      if (c === '\r' && text[i + 1] === '\n') i++;
      i++; continue;
    }
    field += c; i++;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  const header = rows.shift() || [];
  return { header, rows };
}

// Numeric columns of a parsed CSV: {name: Float64Array (NaN where missing or text)}.
export function numericColumns(csv) {
  const out = {};
  csv.header.forEach((name, j) => {
    const col = new Float64Array(csv.rows.length);
    let numbers = 0;
    let texts = 0;
    csv.rows.forEach((r, i) => {
      const s = r[j];
      const v = s === undefined || s === '' ? NaN : Number(s);
      col[i] = v;
      if (Number.isFinite(v)) numbers++; else if (s) texts++;
    });
    if (numbers > 0 && texts === 0) out[name] = col;
  });
  return out;
}

export function quantiles(values) {
  const v = Array.from(values).filter(Number.isFinite).sort((a, b) => a - b);
  if (!v.length) return null;
  const q = (p) => {
    const x = (v.length - 1) * p;
    const lo = Math.floor(x);
    const hi = Math.ceil(x);
    return v[lo] + (v[hi] - v[lo]) * (x - lo);
  };
  return { min: v[0], q1: q(0.25), median: q(0.5), q3: q(0.75), max: v[v.length - 1], n: v.length };
}

// The per-fold table of a run's metrics: fold, rows, epochs, the given metric columns and
// seconds; one row a fold, the last for all of them.
export function foldTable(metrics, rows) {
  return table([
    { label: 'Fold', get: (f) => f.fold },
    { label: 'Train rows', class: 'num', get: (f) => fmt(f.n_train) },
    { label: 'Val rows', class: 'num', get: (f) => fmt(f.n_val) },
    { label: 'Epochs', class: 'num', get: (f) => fmt(f.epochs_run) },
    { label: 'Best', class: 'num', get: (f) => fmt(f.best_epoch) },
    ...metrics,
    { label: 'Seconds', class: 'num', get: (f) => fmt(f.seconds, 3) },
  ], rows, { caption: 'Per fold (validation) and overall' });
}
