// The dashboard of hs-api (docs/HTTP.md §4): services, workflows with their
// graph and a compute form, a stream browser with a zoomable chart, live
// results, jobs and dead letters. It uses only the REST API and its
// Server-Sent Events.

import { get, post, url, streamPath, iso, shortTime, span, usToMs, el, valueText } from './api.js';
import { createChart } from './chart.js';
import { drawWorkflow } from './graph.js';

const $ = (id) => document.getElementById(id);
// Streams a page of the list (?streams_page=N in the page's address sets another).
const STREAM_PAGE = Math.min(1000, Math.max(1, Number(new URLSearchParams(location.search).get('streams_page')) || 50));
const DATA_LIMIT = 20000; // instances read for one chart
const LIVE_ROWS = 200;
const TEXT_ROWS = 200;

// ------------------------------------------------------------------ errors and connection

let errorTimer = 0;
function showError(msg) {
  const box = $('error');
  box.textContent = msg;
  box.hidden = false;
  clearTimeout(errorTimer);
  errorTimer = setTimeout(() => { box.hidden = true; }, 8000);
}

function setConn(ok, err) {
  const c = $('conn');
  c.textContent = ok ? 'connected' : `API unreachable${err ? ': ' + err.message : ''}`;
  c.className = 'conn ' + (ok ? 'ok' : 'bad');
  c.dataset.ok = ok ? '1' : '0';
}

// Runs fn now and then every ms after each run ends (no overlapping calls).
function every(ms, fn) {
  const run = async () => {
    try {
      await fn();
    } finally {
      setTimeout(run, ms);
    }
  };
  run();
}

// How long since an ISO time: "42s", "5m 03s", "2h 05m", "3d 4h".
function uptime(started) {
  const s = Math.floor((Date.now() - Date.parse(String(started).replace(/(\.\d{3})\d+/, '$1'))) / 1000);
  if (!Number.isFinite(s)) return '';
  const p2 = (n) => String(n).padStart(2, '0');
  if (s < 60) return `${Math.max(0, s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${p2(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${p2(Math.floor(s / 60) % 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor(s / 3600) % 24}h`;
}

const badgeClass = (state) => (state === 'online' ? 'ok' : state === 'paused' ? 'warn' : 'bad');

// ------------------------------------------------------------------ services

async function refreshServices() {
  let r;
  try {
    r = await get('services');
  } catch (e) {
    setConn(false, e);
    return;
  }
  setConn(true);
  const rows = (r.services || []).map((s) => el('tr', { 'data-testid': `service-${s.id}`, 'data-state': s.state },
    el('td', { text: s.id }),
    el('td', {}, el('span', { class: 'badge ' + badgeClass(s.state), 'data-testid': 'service-state', text: s.state || '?' })),
    el('td', { text: s.service || '' }),
    el('td', { text: s.version || '' }),
    el('td', { text: uptime(s.started), title: `since ${shortTime(s.started)}${s.host ? `, pid ${s.pid} on ${s.host}` : ''}` })));
  $('services-body').replaceChildren(...rows);
  $('services-age').textContent = 'updated ' + new Date().toISOString().slice(11, 19) + ' UTC';
}

// ------------------------------------------------------------------ workflows and compute

let workflowId = null;

async function refreshWorkflows() {
  let r;
  try {
    r = await get('workflows');
  } catch {
    return;
  }
  const items = (r.workflows || []).map((w) => el('li', {},
    el('button', {
      type: 'button', 'data-testid': `workflow-${w.id}`, 'data-workflow': w.id,
      class: w.id === workflowId ? 'selected' : '', onclick: () => selectWorkflow(w.id),
    }, w.id, ' ', el('small', { class: 'muted', text: w.filename || '' }))));
  if (!items.length) items.push(el('li', { class: 'muted', text: 'no workflow yet: hsctl workflow add FILE' }));
  $('workflow-list').replaceChildren(...items);
}

async function selectWorkflow(id) {
  workflowId = id;
  for (const b of $('workflow-list').querySelectorAll('button')) b.classList.toggle('selected', b.dataset.workflow === id);
  let r;
  try {
    r = await get(`workflows/${encodeURIComponent(id)}`);
  } catch (e) {
    showError(`workflow ${id}: ${e.message}`);
    return;
  }
  if (workflowId !== id) return;
  $('workflow-detail').hidden = false;
  const name = r.workflow && r.workflow.name ? ` — ${r.workflow.name}` : '';
  $('workflow-title').textContent = id + name;
  const svg = $('workflow-graph');
  if (r.workflow) {
    drawWorkflow(svg, r.workflow);
  } else {
    svg.replaceChildren();
    showError(`workflow ${id} does not parse with this hs-api's tools`);
  }
  svg.dataset.workflow = id;
}

// Clicking a stream of the graph lists the streams of that name.
$('workflow-graph').addEventListener('click', (ev) => {
  const node = ev.target.closest('[data-node]');
  if (!node) return;
  $('stream-prefix').value = node.dataset.node;
  loadStreams(null, true);
});

function setProgress(state, done, failed, total, note) {
  const pct = total > 0 ? Math.min(100, Math.round(((done + failed) / total) * 100)) : state === 'done' ? 100 : 0;
  const p = $('compute-progress');
  p.dataset.state = state;
  p.dataset.percent = String(pct);
  p.className = 'progress ' + (state === 'failed' || failed > 0 ? 'bad' : state === 'done' ? 'ok' : '');
  $('compute-bar').style.width = pct + '%';
  $('compute-text').textContent = note || `${state}: ${done}/${total} jobs done, ${failed} failed (${pct}%)`;
}

const TERMINAL = new Set(['done', 'failed', 'cancelled']);

// Resolves when the EventSource is open, or after ms (the state is polled too).
const opened = (es, ms) => new Promise((resolve) => {
  const t = setTimeout(resolve, ms);
  es.addEventListener('open', () => { clearTimeout(t); resolve(); }, { once: true });
});

let computeSeq = 0;
async function compute(ev) {
  ev.preventDefault();
  if (!workflowId) return;
  const wf = workflowId;
  const seq = ++computeSeq;
  const from = $('compute-from').value.trim(), to = $('compute-to').value.trim();
  const id = `web-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  setProgress('starting', 0, 0, 0, 'starting…');
  $('compute-go').disabled = true;
  // Subscribed before the request exists, so that no progress is missed.
  const es = new EventSource(url(`requests/${encodeURIComponent(id)}/events`));
  let finished = false, seen = 0;
  const update = (state, done, failed, total) => {
    if (finished || seq !== computeSeq) return;
    // The stored document can lag behind the events: never step back.
    if (!TERMINAL.has(state) && done + failed < seen) return;
    seen = done + failed;
    setProgress(state, done, failed, total);
    $('compute-progress').dataset.request = id;
    if (TERMINAL.has(state)) {
      finished = true;
      es.close();
      $('compute-go').disabled = false;
      refreshJobs();
    }
  };
  es.addEventListener('progress', (e) => {
    const m = JSON.parse(e.data);
    update(m.state, m.jobs_done || 0, m.jobs_failed || 0, m.jobs_total || 0);
  });
  es.onerror = () => { if (es.readyState === EventSource.CLOSED && !finished) es.close(); };
  await opened(es, 1500);
  let r;
  try {
    r = await post(`workflows/${encodeURIComponent(wf)}/compute`, { from, to: to || 'now', request: id });
  } catch (e) {
    es.close();
    finished = true;
    $('compute-go').disabled = false;
    setProgress('failed', 0, 0, 0, `refused: ${e.message}`);
    return;
  }
  if (!finished) setProgress('running', 0, 0, r.jobs || 0, `request ${r.request}: ${r.jobs} jobs planned`);
  // The request's document tells the state too, should an event have been missed.
  while (!finished && seq === computeSeq) {
    await new Promise((res) => setTimeout(res, 1000));
    if (finished) break;
    try {
      const d = await get(`requests/${encodeURIComponent(r.request || id)}`);
      update(d.state, d.done || 0, d.failed || 0, d.jobs || 0);
    } catch (e) {
      if (e.status !== 404) showError(`request ${id}: ${e.message}`);
    }
  }
}
$('compute-form').addEventListener('submit', compute);

// ------------------------------------------------------------------ streams

const pages = { after: null, stack: [], next: null };

async function loadStreams(after, fresh) {
  if (fresh) pages.stack = [];
  let r;
  try {
    r = await get('streams', { prefix: $('stream-prefix').value.trim(), kind: $('stream-kind').value, limit: STREAM_PAGE, after });
  } catch (e) {
    showError(`streams: ${e.message}`);
    return;
  }
  pages.after = after;
  pages.next = r.next;
  const items = (r.streams || []).map((s) => {
    const iv = s.intervals && s.intervals.length
      ? `(${shortTime(iso(usToMs(s.intervals[0][0])))}, ${shortTime(iso(usToMs(s.intervals[s.intervals.length - 1][1])))}]`
      : 'nothing calculated';
    return el('li', {}, el('button', {
      type: 'button', 'data-testid': 'stream-item', 'data-stream': s.id, title: iv,
      class: s.id === chartState.stream ? 'selected' : '', onclick: () => selectStream(s.id),
    }, s.id, ' ', el('small', { class: 'kind ' + s.kind, text: s.kind })));
  });
  if (!items.length) items.push(el('li', { class: 'muted', text: 'no stream' }));
  $('stream-list').replaceChildren(...items);
  $('stream-next').disabled = !r.next;
  $('stream-page').textContent = `page ${pages.stack.length + 1}`;
}

$('stream-filter').addEventListener('submit', (ev) => { ev.preventDefault(); loadStreams(null, true); });
$('stream-kind').addEventListener('change', () => loadStreams(null, true));
$('stream-first').addEventListener('click', () => loadStreams(null, true));
$('stream-next').addEventListener('click', () => {
  if (!pages.next) return;
  pages.stack.push(pages.after);
  loadStreams(pages.next, false);
});

// ------------------------------------------------------------------ the chart

const chartState = { stream: null, range: null, seq: 0, abort: null };
const chart = createChart($('chart'), { onZoom: (a, b) => selectStream(chartState.stream, [a, b]) });

// Epoch ms of the API's ISO text (microseconds cut to milliseconds).
const parseT = (t) => Date.parse(String(t).replace(/(\.\d{3})\d+/, '$1'));

async function selectStream(id, range = null) {
  if (!id) return;
  const seq = ++chartState.seq;
  if (chartState.abort) chartState.abort.abort();
  const ctl = new AbortController();
  chartState.abort = ctl;
  chartState.stream = id;
  chartState.range = range;
  for (const b of $('stream-list').querySelectorAll('button')) b.classList.toggle('selected', b.dataset.stream === id);
  $('chart-title').textContent = id;
  $('chart-range').textContent = range ? `(${iso(range[0])}, ${iso(range[1])}]` : 'all of it';
  $('chart-reset').disabled = !range;
  $('chart-info').textContent = 'loading…';
  const svg = chart.svg;
  svg.dataset.stream = id;
  svg.dataset.state = 'loading';
  const path = `streams/${streamPath(id)}`;
  const q = { limit: DATA_LIMIT + 1, format: 'json' };
  if (range) { q.from = iso(range[0]); q.to = iso(range[1]); }
  let data, ivs;
  try {
    [data, ivs] = await Promise.all([get(path + '/data', q, ctl.signal), get(path + '/intervals', null, ctl.signal)]);
  } catch (e) {
    if (e.name === 'AbortError' || seq !== chartState.seq) return;
    svg.dataset.state = 'error';
    $('chart-info').textContent = e.message;
    return;
  }
  if (seq !== chartState.seq) return;
  const more = data.length > DATA_LIMIT;
  if (more) data = data.slice(0, DATA_LIMIT);
  const points = [], texts = [];
  for (const d of data) {
    if (typeof d.v === 'number' && Number.isFinite(d.v)) points.push([parseT(d.t), d.v]);
    else texts.push(d);
  }
  const toMs = (list) => (list || []).map((iv) => [usToMs(iv[0]), usToMs(iv[1])]);
  chart.render({
    points, calculated: toMs(ivs.calculated), reopened: toMs(ivs.reopened), domain: range,
    empty: data.length ? 'no numeric instances here (listed below)' : 'no instances here',
  });
  svg.dataset.state = 'ready';
  svg.dataset.instances = String(data.length);
  $('chart-info').textContent = `${data.length} instances${more ? ` (the first ${DATA_LIMIT}: zoom in for the rest)` : ''}, ` +
    `${points.length} plotted${texts.length ? `, ${texts.length} not numeric (below)` : ''}; ` +
    `${(ivs.calculated || []).length} calculated, ${(ivs.reopened || []).length} reopened intervals`;
  const table = $('chart-text');
  table.hidden = !texts.length;
  table.tBodies[0].replaceChildren(...texts.slice(0, TEXT_ROWS).map((d) =>
    el('tr', {}, el('td', { text: shortTime(d.t) }), el('td', { text: valueText(d.v, 300) }))));
}

$('chart-reset').addEventListener('click', () => selectStream(chartState.stream, null));

// ------------------------------------------------------------------ live results

let live = null, liveCount = 0;

// The API's rule: '+' and a final '#' only as whole levels.
function filterOk(p) {
  if (!p || p.length > 400) return false;
  const levels = p.split('/');
  return levels.every((l, i) => (!l.includes('+') || l === '+') && (!l.includes('#') || (l === '#' && i === levels.length - 1)));
}

function liveRow(kind, stream, t, v, note) {
  const body = $('live-body');
  body.prepend(el('tr', { 'data-testid': 'live-row', 'data-kind': kind, 'data-stream': stream, class: kind },
    el('td', { class: 'time', text: shortTime(iso(usToMs(t))) }),
    el('td', { text: stream }),
    el('td', {}, note ? el('span', { class: 'badge warn', text: note }) : null, valueText(v))));
  while (body.rows.length > LIVE_ROWS) body.deleteRow(body.rows.length - 1);
  $('live-count').textContent = `${++liveCount} received`;
}

function liveStop() {
  if (live) live.close();
  live = null;
  $('live-stop').disabled = true;
  $('live-state').textContent = 'stopped';
  $('live-state').dataset.state = 'stopped';
}

function liveStart(ev) {
  ev.preventDefault();
  const pat = $('live-pattern').value.trim();
  if (!filterOk(pat)) {
    showError('a stream id, or an MQTT filter over stream ids such as temperature/# or temperature/+/room=kitchen');
    return;
  }
  liveStop();
  const es = new EventSource(url('live', { stream: pat }));
  live = es;
  $('live-stop').disabled = false;
  $('live-state').textContent = 'connecting…';
  es.onopen = () => {
    $('live-state').textContent = `following ${pat}`;
    $('live-state').dataset.state = 'open';
  };
  es.onerror = () => {
    if (live !== es) return;
    $('live-state').textContent = es.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting…';
    $('live-state').dataset.state = 'error';
  };
  es.addEventListener('data', (e) => {
    const m = JSON.parse(e.data);
    for (const [t, v] of m.data || []) liveRow('data', m.stream, t, v);
  });
  es.addEventListener('correction', (e) => {
    const m = JSON.parse(e.data);
    const [a, b] = m.interval || [0, 0];
    const note = 'correction ' + span(iso(usToMs(a)), iso(usToMs(b)));
    const rows = m.data || [];
    if (!rows.length) liveRow('correction', m.stream, b, '(no instances now)', note);
    for (const [t, v] of rows) liveRow('correction', m.stream, t, v, note);
  });
}
$('live-form').addEventListener('submit', liveStart);
$('live-stop').addEventListener('click', liveStop);

// ------------------------------------------------------------------ jobs and dead letters

async function refreshJobs() {
  let r;
  try {
    r = await get('jobs', { limit: 50 });
  } catch {
    return;
  }
  const rows = (r.jobs || []).map((j) => {
    const bad = j.outcome !== 'ok';
    const iv = j.interval || [];
    return el('tr', { 'data-testid': 'job-row', 'data-outcome': j.outcome, class: bad ? 'failed' : '', title: j.error || '' },
      el('td', { class: 'time', text: shortTime(j.committed).slice(11), title: j.committed }),
      el('td', { text: j.workflow }),
      el('td', { text: j.factor }),
      el('td', { text: j.plate_value || '' }),
      el('td', { text: j.tool ? `${j.tool.name} ${j.tool.version}` : '' }),
      el('td', { class: 'time', text: span(iv[0], iv[1]) }),
      el('td', { class: 'num', text: j.count ?? '' }),
      el('td', { class: 'num', text: j.duration_us !== undefined ? (j.duration_us / 1000).toFixed(1) : '' }),
      el('td', { text: j.trigger || '' }),
      el('td', {}, el('span', { class: 'badge ' + (bad ? 'bad' : 'ok'), text: j.outcome }), j.error ? ' ' + valueText(j.error, 160) : null));
  });
  $('jobs-body').replaceChildren(...rows);
}

async function refreshDead() {
  let r;
  try {
    r = await get('dead', { limit: 50 });
  } catch {
    return;
  }
  const rows = (r.dead || []).map((d) => {
    const l = d.letter && typeof d.letter === 'object' ? d.letter : { reason: String(d.letter) };
    const payload = l.payload !== undefined ? l.payload : l.payload_json;
    return el('tr', { 'data-testid': 'dead-row', title: l.topic ? `sent on ${l.topic}` : '' },
      el('td', { class: 'time', text: shortTime(d.received) }),
      el('td', { text: l.service || d.topic }),
      el('td', { text: l.stream || '' }),
      el('td', { text: valueText(l.reason || l.error || '', 300) }),
      el('td', { text: payload !== undefined ? valueText(payload) : '' }));
  });
  $('dead-body').replaceChildren(...rows);
}

// ------------------------------------------------------------------ start

every(2000, refreshServices);
every(10000, refreshWorkflows);
every(5000, refreshJobs);
every(3000, refreshDead);
loadStreams(null, true);
window.addEventListener('unhandledrejection', (e) => showError(String(e.reason && e.reason.message ? e.reason.message : e.reason)));
document.body.dataset.ready = '1';
