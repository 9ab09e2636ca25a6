// api.js — the dashboard's only way to the server: the public /v1 API.
// Every error becomes an ApiError carrying the problem+json fields (title, detail, errors).
// A 401 asks for the bearer token once (kept in sessionStorage) and retries.

const TOKEN_KEY = 'nnd-token';

export class ApiError extends Error {
  constructor(status, problem) {
    const detail = (problem && (problem.detail || problem.title)) || `HTTP ${status}`;
    super(detail);
    this.status = status;
    this.title = (problem && problem.title) || '';
    this.detail = detail;
    this.errors = (problem && Array.isArray(problem.errors)) ? problem.errors : [];
  }
}

export function token() { return sessionStorage.getItem(TOKEN_KEY) || ''; }
export function setToken(t) {
  if (t) sessionStorage.setItem(TOKEN_KEY, t); else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(extra = {}) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

// One token prompt at a time, however many requests hit 401 together.
let asking = null;
function askToken() {
  if (asking) return asking;
  asking = new Promise((resolve) => {
    const dlg = document.getElementById('token-dialog');
    const input = document.getElementById('token-input');
    const form = dlg.querySelector('form');
    input.value = '';
    const done = (ok) => {
      form.removeEventListener('submit', onSubmit);
      dlg.removeEventListener('cancel', onCancel);
      if (dlg.open) dlg.close();
      asking = null;
      resolve(ok);
    };
    const onSubmit = (e) => {
      e.preventDefault();
      const v = input.value.trim();
      if (!v) return;
      setToken(v);
      done(true);
    };
    const onCancel = () => done(false);
    form.addEventListener('submit', onSubmit);
    dlg.addEventListener('cancel', onCancel);
    dlg.showModal();
    input.focus();
  });
  return asking;
}

async function problemOf(res) {
  const type = res.headers.get('Content-Type') || '';
  try {
    if (type.includes('json')) return await res.json();
    const text = await res.text();
    return { detail: text.slice(0, 300) || res.statusText };
  } catch {
    return { detail: res.statusText };
  }
}

// fetch with the token; on 401 asks for a token and tries once more.
export async function request(path, opts = {}, retried = false) {
  const res = await fetch(path, { ...opts, headers: authHeaders(opts.headers || {}) });
  if (res.status === 401 && !retried) {
    setToken('');
    if (await askToken()) return request(path, opts, true);
  }
  if (!res.ok) throw new ApiError(res.status, await problemOf(res));
  return res;
}

export async function getJSON(path) {
  return (await request(path)).json();
}

export async function sendJSON(method, path, body) {
  const res = await request(path, {
    method,
    headers: { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return res.status === 204 ? null : res.json();
}

export const api = {
  datasets: () => getJSON('/v1/datasets').then((d) => d.datasets),
  dataset: (id) => getJSON(`/v1/datasets/${id}`),
  deleteDataset: (id) => request(`/v1/datasets/${id}`, { method: 'DELETE' }),
  datasetCsv: (id) => request(`/v1/datasets/${id}/csv`).then((r) => r.text()),
  validate: (spec, dataset) => sendJSON('POST', '/v1/specs/validate', dataset ? { spec, dataset } : { spec }),
  createRun: (dataset, spec) => sendJSON('POST', '/v1/runs', { dataset, spec }),
  runs: (limit = 100) => getJSON(`/v1/runs?limit=${limit}`).then((d) => d.runs),
  run: (id) => getJSON(`/v1/runs/${id}`),
  cancel: (id) => sendJSON('POST', `/v1/runs/${id}/cancel`),
  history: (id) => getJSON(`/v1/runs/${id}/history`).then((d) => d.history),
  predictions: (id) => getJSON(`/v1/runs/${id}/predictions`).then((d) => d.predictions),
  features: (id) => getJSON(`/v1/runs/${id}/features`),
  compare: (a, b) => getJSON(`/v1/runs/${a}/compare?with=${b}`),
  studies: () => getJSON('/v1/studies').then((d) => d.studies),
  study: (id) => getJSON(`/v1/studies/${id}`),
  studyRuns: (id) => getJSON(`/v1/studies/${id}/runs`).then((d) => d.runs),
  cancelStudy: (id) => sendJSON('POST', `/v1/studies/${id}/cancel`),
};

// Uploads a file with XHR so the upload's progress can be shown; resolves to the dataset.
export function upload(file, name, onProgress, retried = false) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/v1/datasets?name=${encodeURIComponent(name)}`);
    xhr.setRequestHeader('Content-Type', 'text/csv');
    const t = token();
    if (t) xhr.setRequestHeader('Authorization', `Bearer ${t}`);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError(0, { detail: 'the upload could not reach the server' }));
    xhr.onload = async () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { body = { detail: xhr.responseText }; }
      if (xhr.status === 401 && !retried) {
        setToken('');
        if (await askToken()) {
          upload(file, name, onProgress, true).then(resolve, reject);
          return;
        }
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve({ created: xhr.status === 201, dataset: body });
      else reject(new ApiError(xhr.status, body));
    };
    xhr.send(file);
  });
}

// Downloads an API resource; with a token the browser cannot send the header on a plain
// link, so it fetches the body and saves it through an object URL.
export async function download(path, filename) {
  const res = await request(path);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
