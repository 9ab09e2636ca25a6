// datasets.js — upload (drag and drop or file picker, with progress), list, columns, delete.

import { api, upload } from './api.js';
import { h, clear, fmt, fmtBytes, fmtTime, table, showError, errorBox } from './ui.js';

// A dataset name from a file name: what the server accepts (no quotes, slashes, "..").
function nameOf(file) {
  const n = file.name.replace(/\.csv$/i, '').replace(/[^A-Za-z0-9 _.()-]/g, '_').replace(/\.\.+/g, '.');
  return (n || 'dataset').slice(0, 120);
}

export async function render(main) {
  const input = h('input', { type: 'file', id: 'file-input', accept: '.csv,text/csv', 'aria-label': 'CSV file' });
  const bar = h('progress', { id: 'upload-progress', max: '1', value: '0', hidden: true, 'aria-label': 'upload progress' });
  const upMsg = h('div', { id: 'upload-message', 'aria-live': 'polite' });
  const drop = h('div', { class: 'drop', id: 'drop-zone' },
    h('p', {}, 'Drop a CSV file here, or'),
    h('button', { type: 'button', id: 'choose-file', onclick: () => input.click() }, 'Choose a file…'),
    input);
  input.style.display = 'none';
  const listBox = h('div', { id: 'dataset-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const detail = h('div', { id: 'dataset-detail' });
  clear(main,
    h('h1', {}, 'Datasets'),
    h('section', { class: 'card', 'aria-labelledby': 'up-h' }, h('h2', { id: 'up-h' }, 'Upload'), drop, bar, upMsg),
    h('section', { class: 'card', 'aria-labelledby': 'list-h' }, h('h2', { id: 'list-h' }, 'Uploaded'), listBox),
    detail);

  let selected = null;

  async function refresh() {
    let list;
    try {
      list = await api.datasets();
    } catch (e) {
      showError(listBox, 'Listing the datasets', e);
      return;
    }
    if (!list.length) {
      clear(listBox, h('p', { class: 'muted' }, 'No datasets yet: upload a CSV file above.'));
      return;
    }
    clear(listBox, table([
      { label: 'Name', get: (d) => h('button', { class: 'linkish', onclick: () => show(d.id), 'aria-label': `Show columns of ${d.name}` }, d.name) },
      { label: 'Rows', class: 'num', get: (d) => fmt(d.rows) },
      { label: 'Size', class: 'num', get: (d) => fmtBytes(d.bytes) },
      { label: 'Uploaded', get: (d) => fmtTime(d.created_at) },
      { label: 'Id', get: (d) => h('code', {}, d.id.slice(0, 8)) },
      { label: '', get: (d) => h('div', { class: 'row' },
        h('a', { class: 'button', href: `#/new/${d.id}` }, 'New run'),
        h('button', { class: 'danger', onclick: () => remove(d), 'aria-label': `Delete ${d.name}` }, 'Delete')) },
    ], list, { rowAttrs: (d) => ({ class: d.id === selected ? 'selected' : null, 'data-id': d.id }) }));
  }

  async function show(id) {
    selected = id;
    clear(detail, h('p', { class: 'muted' }, 'Loading…'));
    let d;
    try {
      d = await api.dataset(id);
    } catch (e) {
      showError(detail, 'Reading the dataset', e);
      return;
    }
    refresh();
    clear(detail, h('section', { class: 'card', 'aria-labelledby': 'cols-h', id: 'columns' },
      h('div', { class: 'row' },
        h('h2', { id: 'cols-h' }, `${d.name} — ${fmt(d.rows)} rows, ${d.columns.length} columns`),
        h('span', { class: 'spacer' }),
        h('a', { class: 'button', href: `#/new/${d.id}` }, 'New run with this dataset')),
      table([
        { label: 'Column', get: (c) => c.name },
        { label: 'Type', get: (c) => c.type },
        { label: 'Missing', class: 'num', get: (c) => fmt(c.missing) },
        { label: 'Min', class: 'num', get: (c) => fmt(c.min) },
        { label: 'Max', class: 'num', get: (c) => fmt(c.max) },
        { label: 'Mean', class: 'num', get: (c) => fmt(c.mean) },
        { label: 'SD', class: 'num', get: (c) => fmt(c.sd) },
      ], d.columns)));
  }

  async function remove(d) {
    if (!window.confirm(`Delete the dataset "${d.name}" and its file?`)) return;
    try {
      await api.deleteDataset(d.id);
      if (selected === d.id) { selected = null; clear(detail); }
      clear(upMsg, h('div', { class: 'ok' }, `Deleted "${d.name}".`));
      refresh();
    } catch (e) {
      showError(upMsg, `Deleting "${d.name}"`, e);
    }
  }

  async function send(file) {
    if (!file) return;
    bar.hidden = false;
    bar.value = 0;
    clear(upMsg, h('p', { class: 'muted' }, `Uploading ${file.name} (${fmtBytes(file.size)})…`));
    try {
      const { created, dataset } = await upload(file, nameOf(file), (f) => { bar.value = f; });
      bar.value = 1;
      clear(upMsg, h('div', { class: 'ok', id: 'upload-done' },
        created ? `Uploaded "${dataset.name}": ${fmt(dataset.rows)} rows.`
          : `This file was uploaded before as "${dataset.name}".`));
      await show(dataset.id);
    } catch (e) {
      bar.hidden = true;
      clear(upMsg, errorBox(`Uploading ${file.name}`, e));
    }
  }

  input.addEventListener('change', () => { send(input.files[0]); input.value = ''; });
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    send(e.dataTransfer.files[0]);
  });
  await refresh();
}
