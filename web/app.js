// app.js — the dashboard's router: #/datasets, #/new, #/runs, #/run/<id>, #/compare/<a>/<b>,
// #/studies, #/study/<id>.
// Each page is a module exporting render(main, ...args) that may return a cleanup function.

import { h, clear, errorBox } from './ui.js';
import * as datasets from './datasets.js';
import * as newrun from './newrun.js';
import * as runs from './runs.js';
import * as run from './run.js';
import * as studies from './studies.js';

const main = document.getElementById('main');
let cleanup = null;

const routes = [
  [/^#\/datasets$/, datasets.render, 'datasets', 'Datasets'],
  [/^#\/new(?:\/([0-9a-f]+))?$/, newrun.render, 'new', 'New run'],
  [/^#\/runs$/, runs.render, 'runs', 'Runs'],
  [/^#\/run\/([0-9a-f]+)$/, run.render, 'runs', 'Run'],
  [/^#\/compare\/([0-9a-f]+)\/([0-9a-f]+)$/, runs.renderCompare, 'runs', 'Compare runs'],
  [/^#\/studies$/, studies.render, 'studies', 'Studies'],
  [/^#\/study\/([0-9a-f]+)$/, studies.renderStudy, 'studies', 'Study'],
];

async function route() {
  const hash = location.hash || '#/runs';
  if (cleanup) { try { cleanup(); } catch { /* page already gone */ } cleanup = null; }
  const hit = routes.find(([re]) => re.test(hash));
  for (const a of document.querySelectorAll('header nav a'))
    a.toggleAttribute('aria-current', false);
  if (!hit) {
    clear(main, h('h1', {}, 'Not found'), h('p', {}, 'No page at ', h('code', {}, hash), '.'));
    return;
  }
  const [re, render, nav, title] = hit;
  const link = document.querySelector(`header nav a[data-nav="${nav}"]`);
  if (link) link.setAttribute('aria-current', 'page');
  document.title = `${title} · nnd`;
  clear(main);
  main.dataset.page = nav;
  try {
    const r = await render(main, ...re.exec(hash).slice(1));
    if (typeof r === 'function') cleanup = r;
  } catch (e) {
    main.append(errorBox('Showing this page', e));
  }
}

window.addEventListener('hashchange', () => { route(); main.focus({ preventScroll: true }); });
if (!location.hash) history.replaceState(null, '', '#/runs');
route();
