// newrun.js — pick a dataset, start from a template, edit the spec with inline validation
// (POST /v1/specs/validate: errors at their JSON pointer, or the expanded features and the
// parameter count), submit.

import { api } from './api.js';
import { h, clear, fmt, errorBox } from './ui.js';

const TEMPLATES = [
  { id: 'kc_house', label: 'King County houses (ensemble, k = 8)', url: '/assets/kc_house.json' },
  { id: 'kc_house_seed', label: 'King County houses (the seed report)', url: '/assets/kc_house_seed.json' },
  { id: 'breast_cancer', label: 'Breast cancer: malignant or benign (classification)', url: '/assets/breast_cancer.json' },
  { id: 'wine', label: 'Wine: three cultivars (classification)', url: '/assets/wine.json' },
  { id: 'blank', label: 'Blank spec for this dataset (its last column the target)' },
];

// A blank spec for a dataset: a likely target (a column named like one, else the last), other
// text columns dropped. A text target makes it a classification (the server decides the same).
function blankSpec(ds) {
  const cols = (ds && ds.columns) || [];
  const named = cols.find((c) => /^(target|y|label|class|price|value)$/i.test(c.name));
  const last = cols[cols.length - 1];
  const t = named || last || { name: 'y', type: 'number' };
  const classify = t.type !== 'number';
  const texts = cols.filter((c) => c.type !== 'number' && c.name !== t.name).map((c) => c.name);
  const preprocess = [];
  if (texts.length) preprocess.push({ op: 'drop', columns: texts });
  preprocess.push({ op: 'normalize', columns: classify ? 'inputs' : 'all', method: 'zscore' });
  return JSON.stringify({
    name: classify ? 'classification' : 'regression', seed: 1, target: t.name, preprocess,
    network: { hidden: [{ units: 32, activation: 'relu', repeat: 2 }], output: { activation: 'linear' } },
    training: {
      epochs: 50, batch_size: 64, loss: classify ? 'cross_entropy' : 'mse',
      optimizer: { type: 'adam', learning_rate: 0.001 },
      validation: { type: 'kfold', k: 5 },
    },
  }, null, 2);
}

// Where each JSON pointer's value starts and ends in the text (a small JSON scanner).
export function locate(text) {
  const at = new Map();
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i++; };
  const str = () => {
    let out = '';
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text[i] === '\\') { out += JSON.parse(`"${text.slice(i, text[i + 1] === 'u' ? i + 6 : i + 2)}"`); i += text[i + 1] === 'u' ? 6 : 2; }
      else out += text[i++];
    }
    i++;
    return out;
  };
  const esc = (k) => k.replace(/~/g, '~0').replace(/\//g, '~1');
  const value = (ptr) => {
    ws();
    const start = i;
    const c = text[i];
    if (c === '{') {
      i++; ws();
      while (i < text.length && text[i] !== '}') {
        ws();
        const k = str(); ws(); i++; // the colon
        value(`${ptr}/${esc(k)}`); ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '[') {
      i++; ws();
      let n = 0;
      while (i < text.length && text[i] !== ']') {
        value(`${ptr}/${n++}`); ws();
        if (text[i] === ',') i++;
        ws();
      }
      i++;
    } else if (c === '"') {
      str();
    } else {
      while (i < text.length && !/[\s,\]}]/.test(text[i])) i++;
    }
    at.set(ptr, { start, end: i });
  };
  try { value(''); } catch { /* partial map is fine */ }
  return at;
}

function lineOf(text, offset) {
  let n = 1;
  for (let k = 0; k < offset && k < text.length; k++) if (text[k] === '\n') n++;
  return n;
}

// The text range of a pointer, or of its nearest parent that exists.
function rangeOf(map, pointer) {
  let p = pointer || '';
  for (;;) {
    if (map.has(p)) return { ...map.get(p), exact: p === pointer };
    if (!p) return null;
    p = p.slice(0, p.lastIndexOf('/'));
  }
}

// The position of a JSON.parse SyntaxError, if the message tells it.
function syntaxPosition(text, e) {
  const m = /position (\d+)/.exec(e.message);
  if (m) return Number(m[1]);
  const lc = /line (\d+) column (\d+)/.exec(e.message);
  if (lc) {
    const lines = text.split('\n');
    let off = 0;
    for (let k = 0; k < Number(lc[1]) - 1; k++) off += lines[k].length + 1;
    return off + Number(lc[2]) - 1;
  }
  return -1;
}

export async function render(main, datasetArg) {
  const dsSelect = h('select', { id: 'dataset-select' });
  const tplSelect = h('select', { id: 'template-select' },
    TEMPLATES.map((t) => h('option', { value: t.id }, t.label)));
  const loadBtn = h('button', { type: 'button', id: 'load-template' }, 'Load template');
  const editor = h('textarea', {
    id: 'spec-editor', spellcheck: 'false', 'aria-describedby': 'validation',
    autocapitalize: 'off', autocomplete: 'off',
  });
  const result = h('div', { id: 'validation', 'aria-live': 'polite' });
  const submit = h('button', { class: 'primary', id: 'submit-run', type: 'submit' }, 'Start run');
  const submitMsg = h('div', { id: 'submit-message', 'aria-live': 'polite' });
  const form = h('form', { class: 'stack' },
    h('div', { class: 'card' },
      h('div', { class: 'row' },
        h('div', {}, h('label', { for: 'dataset-select' }, 'Dataset'), dsSelect),
        h('div', {}, h('label', { for: 'template-select' }, 'Template'), h('div', { class: 'row' }, tplSelect, loadBtn)))),
    h('div', { class: 'grid2 editor-grid' },
      h('div', { class: 'card' }, h('label', { for: 'spec-editor' }, 'Spec (JSON)'), editor),
      h('div', { class: 'card' }, h('h2', {}, 'Check'), result)),
    h('div', { class: 'row' }, submit, submitMsg));
  clear(main, h('h1', {}, 'New run'), form);

  let datasets = [];
  try {
    datasets = await api.datasets();
  } catch (e) {
    form.prepend(errorBox('Listing the datasets', e));
  }
  if (!datasets.length)
    dsSelect.append(h('option', { value: '' }, 'no datasets: upload one first'));
  for (const d of datasets)
    dsSelect.append(h('option', { value: d.id }, `${d.name} (${fmt(d.rows)} rows)`));
  if (datasetArg && datasets.some((d) => d.id === datasetArg)) dsSelect.value = datasetArg;

  let seq = 0;
  let timer = null;

  function showErrors(text, errors) {
    const map = locate(text);
    return h('ul', { class: 'errors', id: 'spec-errors' }, errors.map((e) => {
      const r = rangeOf(map, e.pointer);
      const line = r ? lineOf(text, r.start) : null;
      return h('li', { 'data-pointer': e.pointer || '' },
        h('code', {}, e.pointer || '/'), ' ', e.message, ' ',
        r ? h('button', {
          type: 'button', 'aria-label': `Go to line ${line}`,
          onclick: () => { editor.focus(); editor.setSelectionRange(r.start, r.end); },
        }, `line ${line}`) : null);
    }));
  }

  async function validate() {
    const my = ++seq;
    const text = editor.value;
    let spec;
    try {
      spec = JSON.parse(text);
    } catch (e) {
      const pos = syntaxPosition(text, e);
      editor.setAttribute('aria-invalid', 'true');
      clear(result, h('div', { class: 'error', role: 'alert', id: 'json-error' },
        h('strong', {}, 'Not valid JSON'), pos >= 0 ? ` at line ${lineOf(text, pos)}` : '', `: ${e.message}`));
      return;
    }
    clear(result, h('p', { class: 'muted' }, 'Checking…'));
    try {
      const v = await api.validate(spec, dsSelect.value || undefined);
      if (my !== seq) return;
      editor.setAttribute('aria-invalid', 'false');
      const feats = v.features || [];
      clear(result,
        h('div', { class: 'ok', id: 'spec-valid' }, `Valid spec “${v.name}”.`),
        v.parameters !== undefined ? h('div', { class: 'kv' },
          h('div', {}, h('b', { id: 'param-count' }, fmt(v.parameters)), h('span', {}, 'parameters')),
          h('div', {}, h('b', {}, fmt(v.input_width)), h('span', {}, 'inputs')),
          h('div', {}, h('b', {}, fmt(v.rows)), h('span', {}, 'rows')),
          h('div', {}, h('b', { id: 'task' }, v.task), h('span', {}, 'task'))) : h('p', { class: 'muted' }, 'Pick a dataset to see the features.'),
        v.classes ? h('p', { id: 'class-list' }, `${v.classes.length} classes: `,
          v.classes.map((c, i) => `${i ? ', ' : ''}${c.label} (${fmt(c.rows)})`).join(''),
          v.positive ? `; positive “${v.positive}”` : '') : null,
        feats.length ? h('div', {}, h('h2', { style: 'margin-top:.8rem' }, `Features (${feats.length})`),
          h('ol', { class: 'features', id: 'feature-list' }, feats.map((f) => h('li', {}, f)))) : null);
    } catch (e) {
      if (my !== seq) return;
      editor.setAttribute('aria-invalid', 'true');
      if (e.status === 422 && e.errors.length) {
        clear(result, h('div', { class: 'error', role: 'alert' },
          h('strong', {}, `${e.errors.length === 1 ? 'One problem' : `${e.errors.length} problems`} in the spec:`),
          showErrors(text, e.errors)));
      } else {
        clear(result, errorBox('Checking the spec', e));
      }
    }
  }

  const soon = () => { clearTimeout(timer); timer = setTimeout(validate, 350); };
  editor.addEventListener('input', soon);
  dsSelect.addEventListener('change', soon);

  async function loadTemplate() {
    const t = TEMPLATES.find((x) => x.id === tplSelect.value);
    try {
      if (t.url) {
        const res = await fetch(t.url);
        if (!res.ok) throw new Error(`${t.url}: HTTP ${res.status}`);
        editor.value = await res.text();
      } else {
        const ds = dsSelect.value ? await api.dataset(dsSelect.value) : null;
        editor.value = blankSpec(ds);
      }
      validate();
    } catch (e) {
      clear(result, errorBox('Loading the template', e));
    }
  }
  loadBtn.addEventListener('click', loadTemplate);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clear(submitMsg);
    let spec;
    try {
      spec = JSON.parse(editor.value);
    } catch (err) {
      clear(submitMsg, errorBox('Starting the run', { status: 400, detail: `the spec is not valid JSON: ${err.message}` }));
      return;
    }
    if (!dsSelect.value) {
      clear(submitMsg, errorBox('Starting the run', { status: 400, detail: 'pick a dataset first' }));
      return;
    }
    submit.disabled = true;
    try {
      const r = await api.createRun(dsSelect.value, spec);
      location.hash = `#/run/${r.id}`;
    } catch (err) {
      clear(submitMsg, errorBox('Starting the run', err));
      if (err.errors && err.errors.length) submitMsg.append(showErrors(editor.value, err.errors));
    } finally {
      submit.disabled = false;
    }
  });

  // a spec handed over by another page (a study's "Open the best spec in New run")
  const handed = sessionStorage.getItem('nnd-open-spec');
  if (handed) {
    sessionStorage.removeItem('nnd-open-spec');
    editor.value = handed;
    validate();
  } else {
    await loadTemplate();
  }
  return () => clearTimeout(timer);
}
