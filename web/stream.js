// stream.js — one client for a run's or a study's event stream (GET /v1/runs/{id}/events,
// /v1/studies/{id}/events; Server-Sent Events). Without a token it uses EventSource; with one it
// reads the stream through fetch() (EventSource cannot send an Authorization header) and parses
// the SSE text itself. Either way it remembers the last event id and, when the connection drops
// before the run or study has finished, reconnects after it (Last-Event-ID header, or ?after=
// for EventSource), so no event is seen twice.

import { authHeaders, token, api } from './api.js';

const KINDS = {
  run: { path: 'runs', types: ['status', 'fold', 'epoch', 'log'],
    final: new Set(['succeeded', 'failed', 'cancelled']), get: (id) => api.run(id) },
  study: { path: 'studies', types: ['status', 'trial', 'rung', 'promoted', 'pruned', 'completed', 'failed'],
    final: new Set(['completed', 'failed', 'cancelled']), get: (id) => api.study(id) },
};

export class EventStream {
  // kind 'run' or 'study'; onEvent(type, data, id); onEnd(reason) once the run or study has
  // finished or the stream is closed.
  constructor(kind, id, { onEvent, onEnd, onState } = {}) {
    this.kind = KINDS[kind];
    this.url = `/v1/${this.kind.path}/${id}/events`;
    this.id = id;
    this.onEvent = onEvent || (() => {});
    this.onEnd = onEnd || (() => {});
    this.onState = onState || (() => {});
    this.lastId = 0;
    this.closed = false;
    this.finished = false;
    this.retries = 0;
    this.es = null;
    this.abort = null;
    this.timer = null;
    this.connect();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.es) this.es.close();
    if (this.abort) this.abort.abort();
    this.es = null;
    this.abort = null;
  }

  deliver(type, dataText, id) {
    if (id) {
      const n = Number(id);
      if (Number.isFinite(n)) {
        if (n <= this.lastId) return; // replayed after a reconnect
        this.lastId = n;
      }
    }
    let data = null;
    try { data = JSON.parse(dataText); } catch { data = { text: dataText }; }
    this.retries = 0;
    this.onEvent(type, data, this.lastId);
    if (type === 'status' && data && this.kind.final.has(data.status)) this.finished = true;
  }

  connect() {
    if (this.closed) return;
    this.onState('connecting');
    if (token()) this.connectFetch(); else this.connectEventSource();
  }

  // The stream ended or broke: done if the run has finished, otherwise try again shortly.
  async ended(error) {
    if (this.closed) return;
    if (this.es) { this.es.close(); this.es = null; }
    if (!this.finished) {
      try {
        const it = await this.kind.get(this.id);
        if (this.kind.final.has(it.status)) this.finished = true;
      } catch (e) {
        if (e.status === 404) this.finished = true;
      }
    }
    if (this.closed) return;
    if (this.finished) {
      this.closed = true;
      this.onState('closed');
      this.onEnd(error);
      return;
    }
    this.onState('reconnecting');
    const delay = Math.min(10000, 500 * 2 ** this.retries++);
    this.timer = setTimeout(() => this.connect(), delay);
  }

  connectEventSource() {
    const url = `${this.url}${this.lastId ? `?after=${this.lastId}` : ''}`;
    const es = new EventSource(url);
    this.es = es;
    es.onopen = () => this.onState('open');
    for (const t of this.kind.types) es.addEventListener(t, (e) => this.deliver(t, e.data, e.lastEventId));
    es.onerror = () => {
      if (this.es !== es) return;
      this.ended(null); // EventSource would reconnect from its start; we do it ourselves
    };
  }

  async connectFetch() {
    const ctl = new AbortController();
    this.abort = ctl;
    let error = null;
    try {
      const headers = authHeaders({ Accept: 'text/event-stream' });
      if (this.lastId) headers['Last-Event-ID'] = String(this.lastId);
      const res = await fetch(this.url, { headers, signal: ctl.signal });
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      this.onState('open');
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let cut;
        while ((cut = buf.search(/\r?\n\r?\n/)) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut).replace(/^\r?\n\r?\n/, '');
          this.parseBlock(block);
        }
      }
    } catch (e) {
      if (ctl.signal.aborted) return;
      error = e;
    }
    if (this.abort === ctl) this.abort = null;
    this.ended(error);
  }

  // One SSE event block: "id:", "event:", "data:" lines; comments (":") are keep-alives.
  parseBlock(block) {
    let type = 'message';
    let id = '';
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(':')) continue;
      const i = line.indexOf(':');
      const field = i < 0 ? line : line.slice(0, i);
      let value = i < 0 ? '' : line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (data.length) this.deliver(type, data.join('\n'), id);
  }
}
