// studies.js — hyperparameter studies: the list, and one study's leaderboard, every trial's
// validation curve (studycurves.js), the objective against each parameter, its best trial (with
// a button that opens its spec in New run), ensemble and holdout. While the study runs the page
// follows the study's event stream (stream.js): a trial that starts, reaches a rung or ends
// refreshes the page at once. The epochs of the trials still training are not in that stream,
// and a stream per training trial would take the browser's connections, so their curves are
// read every 3 s besides. It stops once the study has ended and the runs it read have too.

import { api } from './api.js';
import { EventStream } from './stream.js';
import { StudyCurves } from './studycurves.js';
import { h, clear, fmt, fmtTime, statusBadge, table, showError, errorBox } from './ui.js';

export async function render(main) {
  const box = h('div', { id: 'studies-table' }, h('p', { class: 'muted' }, 'Loading…'));
  clear(main, h('h1', {}, 'Studies'),
    h('div', { class: 'card' },
      h('p', { class: 'muted' }, 'Start a study with ', h('code', {}, 'POST /v1/studies'), ' or ',
        h('code', {}, 'nn tune'), '; its trials are ordinary runs.'),
      box));
  let list;
  try {
    list = await api.studies();
  } catch (e) {
    showError(box, 'Listing the studies', e);
    return;
  }
  if (!list.length) {
    clear(box, h('p', { class: 'muted' }, 'No studies yet.'));
    return;
  }
  clear(box, table([
    { label: 'Study', get: (s) => h('a', { href: `#/study/${s.id}` }, s.name) },
    { label: 'Status', get: (s) => statusBadge(s.status) },
    { label: 'Trials', class: 'num', get: (s) => fmt(s.trials) },
    { label: 'Best', class: 'num', get: (s) => (s.best ? `${s.best.metric} ${fmt(s.best.objective)} (trial ${s.best.trial})` : '—') },
    { label: 'Created', get: (s) => fmtTime(s.created_at) },
  ], list));
}

const valueText = (v) => (typeof v === 'number' ? fmt(v) : JSON.stringify(v));

// The objective against one parameter: a small SVG scatter, completed trials filled, pruned ones
// hollow (their value at the rung they reached), a log axis for a positive range over 20×.
export function paramPlot(board, pointer, metric) {
  const NS = 'http://www.w3.org/2000/svg';
  const el = (tag, attrs) => {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
    return e;
  };
  const rows = board.filter((r) => typeof r.objective === 'number');
  const cats = [...new Set(rows.map((r) => JSON.stringify(r.values[pointer])))];
  const numeric = rows.every((r) => typeof r.values[pointer] === 'number');
  const xs = rows.map((r) => r.values[pointer]);
  const lo = Math.min(...xs), hi = Math.max(...xs);
  const log = numeric && lo > 0 && hi / lo > 20;
  const xOf = (v) => {
    if (!numeric) return (cats.indexOf(JSON.stringify(v)) + 0.5) / cats.length;
    if (hi === lo) return 0.5;
    return log ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
  };
  const ys = rows.map((r) => r.objective);
  const ylo = Math.min(...ys), yhi = Math.max(...ys);
  const W = 240, H = 150, P = 12;
  const svg = el('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img',
    'aria-label': `${metric} against ${pointer}` });
  svg.append(el('rect', { x: P, y: P, width: W - 2 * P, height: H - 2 * P, fill: 'none',
    stroke: 'currentColor', 'stroke-opacity': 0.2 }));
  for (const r of rows) {
    const x = P + xOf(r.values[pointer]) * (W - 2 * P);
    const y = H - P - (yhi === ylo ? 0.5 : (r.objective - ylo) / (yhi - ylo)) * (H - 2 * P);
    const done = r.status === 'completed';
    const dot = el('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 3.5, stroke: 'currentColor',
      fill: done ? 'currentColor' : 'none' });
    const title = document.createElementNS(NS, 'title');
    title.textContent = `trial ${r.trial}: ${valueText(r.values[pointer])} → ${fmt(r.objective)} (${r.status})`;
    dot.append(title);
    svg.append(dot);
  }
  return h('figure', { class: 'param-plot' }, svg,
    h('figcaption', {}, h('code', {}, pointer), log ? ' (log)' : '',
      numeric && rows.length ? ` ${fmt(lo)} … ${fmt(hi)}` : ''));
}

export async function renderStudy(main, id) {
  const head = h('div', { id: 'study-head' });
  const box = h('div', { id: 'leaderboard' }, h('p', { class: 'muted' }, 'Loading…'));
  const curvesCard = h('div', { class: 'card', id: 'curves-card' });
  const extra = h('div', {});
  clear(main, h('h1', {}, 'Study'), head, h('div', { class: 'card' }, box), curvesCard, extra);
  let timer = null;
  let gone = false;
  let busy = false; // a refresh is under way: it schedules the next itself
  let news = false; // an event came during a refresh: refresh again right after it
  let settling = 0; // refreshes after the study ended, until its runs have
  let curves = null;
  let stream = null;

  async function refresh() {
    busy = true;
    news = false;
    try {
      await update();
    } finally {
      busy = false;
    }
    if (news) soon(50);
  }

  function soon(ms) {
    if (gone || head.dataset.final) return;
    if (busy) { news = true; return; }
    clearTimeout(timer);
    timer = setTimeout(refresh, ms);
  }

  async function update() {
    let st;
    try {
      st = await api.study(id);
    } catch (e) {
      if (gone) return;
      showError(box, 'Reading the study', e);
      if (e.status !== 404) timer = setTimeout(refresh, 3000); // a passing failure: try again
      return;
    }
    if (gone) return;
    const board = st.leaderboard || [];
    const pointers = Object.keys((board[0] && board[0].values) || {});
    const metric = (st.study && st.study.objective && st.study.objective.metric) || 'objective';
    const cancel = h('button', { type: 'button', id: 'cancel-study' }, 'Cancel');
    cancel.addEventListener('click', async () => {
      try { await api.cancelStudy(id); } catch (e) { showError(extra, 'Cancelling', e); }
      if (!busy && !gone) { clearTimeout(timer); refresh(); }
    });
    head.dataset.status = st.status;
    clear(head, h('p', {}, h('b', {}, st.name), ' ', statusBadge(st.status), ' ',
      `${board.length} of ${st.budget ? st.budget.max_trials : '?'} trials`,
      st.error ? h('span', { class: 'muted' }, ` — ${st.error}`) : '', ' ',
      st.status === 'running' ? cancel : ''));
    clear(box, board.length ? table([
      { label: 'Rank', class: 'num', get: (r) => r.rank },
      { label: 'Trial', class: 'num', get: (r) => r.trial },
      ...pointers.map((p) => ({ label: p, class: 'num', get: (r) => valueText(r.values[p]) })),
      { label: metric, class: 'num', get: (r) => fmt(r.objective) },
      { label: '± sd', class: 'num', get: (r) => fmt(r.objective_sd) },
      { label: 'Epochs', class: 'num', get: (r) => r.epochs },
      { label: 'Status', get: (r) => statusBadge(r.status) },
      { label: 'Seconds', class: 'num', get: (r) => fmt(r.seconds, 3) },
    ], board, { caption: 'Leaderboard (pruned trials stopped at their rung)',
      rowAttrs: (r) => ({ 'data-trial': r.trial, 'data-status': r.status }) })
      : h('p', { class: 'muted' }, 'No trial yet.'));
    const scored = board.filter((r) => typeof r.objective === 'number');
    const plots = scored.length > 1 ? h('div', { class: 'card', id: 'param-plots' },
      h('h2', {}, `${metric} against each parameter`),
      h('p', { class: 'muted' }, 'Filled: completed; hollow: pruned, at the rung it reached.'),
      h('div', { class: 'row', style: 'flex-wrap:wrap;gap:1rem' },
        pointers.map((p) => paramPlot(scored, p, metric)))) : null;
    const res = st.results;
    if (res && res.best) {
      const open = h('button', { type: 'button', id: 'open-best' }, 'Open the best spec in New run');
      open.addEventListener('click', () => {
        sessionStorage.setItem('nnd-open-spec', JSON.stringify(res.best.spec, null, 2));
        location.hash = `#/new/${st.dataset}`;
      });
      const ens = res.ensemble || {};
      const hold = res.holdout || null;
      // a classification study's ensemble and holdout are scored by its objective (ens.metric,
      // score objects oof / best_trial_oof); a regression study's by R²
      const cls = !!ens.metric || !!(hold && hold.best && !('r2' in hold.best));
      const scoreKey = cls ? metric : 'r2';
      const scoreName = scoreKey === 'r2' ? 'R²' : scoreKey;
      const ensScore = (e, best) => (e.metric ? (best ? e.best_trial_oof : e.oof)?.[e.metric]
        : (best ? e.best_trial_oof_r2 : e.oof_r2));
      clear(extra, plots, h('div', { class: 'card' },
        h('h2', {}, 'Results'),
        h('p', {}, `Best: trial ${res.best.trial}, ${metric} ${fmt(res.best.objective)} ± ${fmt(res.best.objective_sd)} `,
          '(', h('a', { href: `#/run/${res.best.run}` }, 'its run'), ') ', open),
        ens.members ? h('p', { id: 'ensemble' }, `Ensemble of ${ens.members.length}: `,
          ens.members.map((m) => `trial ${m.trial} × ${fmt(m.weight, 2)}`).join(', '),
          `; out-of-fold ${scoreName} ${fmt(ensScore(ens, false))} (best trial alone ${fmt(ensScore(ens, true))})`) : null,
        hold ? h('p', { id: 'holdout' }, `Holdout (${hold.rows} rows set aside before the search): best trial ${scoreName} `,
          fmt(hold.best && hold.best[scoreKey]), `, ensemble ${scoreName} `, fmt(hold.ensemble && hold.ensemble[scoreKey])) : null));
    }
    if (!(res && res.best)) clear(extra, plots);
    // the runs are read after the study: once it has ended, every run read has ended too
    if (!curves) curves = new StudyCurves(curvesCard, metric);
    let training = 0; // runs still training (a cancelled study's wind down)
    try {
      const runs = board.length ? await api.studyRuns(id) : [];
      if (!gone) training = await curves.update(board, runs, st.status !== 'running');
    } catch (e) {
      if (!gone) curves.note.replaceChildren(errorBox('Reading the trials\' curves', e));
    }
    if (gone) return;
    if (st.status === 'running' && !stream) {
      stream = new EventStream('study', id, {
        onEvent: () => soon(50), // a burst of events makes one refresh
        onEnd: () => soon(0),
      });
    }
    if (st.status === 'running' || (training && settling++ < 10)) {
      timer = setTimeout(refresh, st.status === 'running' ? 3000 : 1500);
    } else {
      head.dataset.final = 'true';
      if (stream) stream.close();
    }
  }
  await refresh();
  return () => {
    gone = true;
    clearTimeout(timer);
    if (stream) stream.close();
    if (curves) curves.destroy();
  };
}
