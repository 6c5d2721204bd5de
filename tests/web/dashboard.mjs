// The dashboard in headless Chromium (playwright-core), against a stack that
// tests/integration/it_web.sh started and loaded:
//   HS_URL          the dashboard, http://127.0.0.1:PORT/
//   HS_HSCTL        hsctl, and HS_DATA_DIR the stack's directory (to publish)
//   HS_T0           epoch seconds: the raw stream holds v(i) at T0 + 10 i, i = 1..50
//   HS_RAW_STREAM   that stream's id
//   HS_ROOM_COUNT   instances of room_temp/house=1/room=kitchen by `hsctl stream get`
//   HS_CHROMIUM     the browser (/usr/bin/chromium)
//   HS_SHOTS        where screenshots go; HS_ARTIFACTS gets a copy of each
//   HS_PROFILE      a fresh directory for the browser's profile
// Every check waits for its condition with a timeout; the first that fails
// ends the test (exit 1) after a screenshot of the page as it was.
import { chromium } from 'playwright-core';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

const run = promisify(execFile);
const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set (tests/integration/it_web.sh sets it)`);
  return v;
};
const BASE = env('HS_URL');
const T0 = Number(env('HS_T0'));
const RAW = env('HS_RAW_STREAM');
const ROOM = 'room_temp/house=1/room=kitchen';
const ROOM_COUNT = Number(env('HS_ROOM_COUNT'));
const SHOTS = env('HS_SHOTS');
const ARTIFACTS = env('HS_ARTIFACTS');
const WAIT = 15000;
const RAW_N = 50;
const rawTimesMs = Array.from({ length: RAW_N }, (_, k) => (T0 + 10 * (k + 1)) * 1000);

const started = Date.now();
const log = (msg) => console.log(`[web ${((Date.now() - started) / 1000).toFixed(1)}s] ${msg}`);
function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

async function rest(p) {
  const res = await fetch(new URL('api/v1/' + p, BASE));
  const body = await res.json();
  check(res.ok, `GET /api/v1/${p}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

const hsctl = (...args) => run(env('HS_HSCTL'), ['--data', env('HS_DATA_DIR'), ...args], { timeout: 20000 });

const saved = [];
async function screenshot(name, target, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await target.screenshot({ path: file, ...opts });
  const copy = path.join(ARTIFACTS, name);
  fs.copyFileSync(file, copy);
  saved.push(file, copy);
}

const errors = [];
let context, page;

// What the chart shows: its attributes, dots, line vertices and interval bars.
const chartInfo = () => page.locator('svg[data-testid=chart]').evaluate((svg) => {
  const line = svg.querySelector('[data-testid=chart-line]');
  const overlay = svg.querySelector('[data-testid=chart-overlay]');
  const bars = (kind) => [...svg.querySelectorAll(`[data-testid=interval-${kind}]`)].map((r) => Number(r.getAttribute('width')));
  return {
    stream: svg.dataset.stream,
    state: svg.dataset.state,
    points: Number(svg.dataset.points),
    dots: svg.querySelectorAll('[data-point]').length,
    vertices: line ? (line.getAttribute('d').match(/[ML]/g) || []).length : 0,
    from: Number(svg.dataset.from),
    to: Number(svg.dataset.to),
    plotWidth: overlay ? Number(overlay.getAttribute('width')) : 0,
    calculated: bars('calculated'),
    reopened: bars('reopened'),
  };
});

// Waits until the chart shows stream id, loaded, and (optionally) matches pred.
async function chartReady(id, pred = () => true, what = 'loaded') {
  const deadline = Date.now() + WAIT;
  let info;
  for (;;) {
    info = await chartInfo();
    if (info.stream === id && info.state === 'ready' && pred(info)) return info;
    if (Date.now() > deadline) throw new Error(`the chart of ${id} is not ${what} after ${WAIT} ms: ${JSON.stringify(info)}`);
    await page.waitForTimeout(100);
  }
}

// The same count three ways: the chart's data-points, its dots and its line's vertices.
function checkPoints(info, want, what) {
  check(info.points === want, `${what}: the chart plots ${info.points} points, want ${want}`);
  check(info.dots === want, `${what}: the chart has ${info.dots} dots, want ${want}`);
  check(info.vertices === want, `${what}: the chart's line has ${info.vertices} vertices, want ${want}`);
}

async function main() {
  fs.rmSync(env('HS_PROFILE'), { recursive: true, force: true });
  context = await chromium.launchPersistentContext(env('HS_PROFILE'), {
    executablePath: env('HS_CHROMIUM'),
    headless: true,
    viewport: { width: 1500, height: 1100 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(WAIT);
  page.on('console', (m) => { if (m.type() === 'error') errors.push(`console: ${m.text()} (${m.location().url})`); });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));

  // The page loads, with 10 streams a page so that paging is used.
  const res = await page.goto(new URL('?streams_page=10', BASE).href);
  check(res && res.ok(), `GET / answered ${res && res.status()}`);
  await page.locator('body[data-ready="1"]').waitFor();
  log('page loaded');

  // Every service online.
  for (const id of ['writer', 'ingest', 'scheduler', 'tools', 'api']) {
    const row = page.locator(`[data-testid="service-${id}"]`);
    await row.locator('[data-testid=service-state]', { hasText: 'online' }).waitFor();
    check((await row.getAttribute('data-state')) === 'online', `service ${id} is not shown online`);
  }
  log('services writer, ingest, scheduler, tools, api online');

  // The stream list, page by page (next), until the raw stream.
  const all = (await rest('streams?limit=1000')).streams.map((s) => s.id);
  const listed = [];
  const items = page.locator('[data-testid=stream-item]');
  await items.first().waitFor();
  for (let p = 0; p < 10; p++) {
    const ids = await items.evaluateAll((els) => els.map((e) => e.dataset.stream));
    check(ids.length > 0 && ids.length <= 10, `page ${p + 1} of the stream list has ${ids.length} streams (10 a page)`);
    listed.push(...ids);
    if (ids.includes(RAW)) break;
    check(await page.locator('[data-testid=stream-next]').isEnabled(), `no next page, and ${RAW} not listed`);
    const last = ids[ids.length - 1];
    await page.click('[data-testid=stream-next]');
    await page.waitForFunction((l) => {
      const e = document.querySelectorAll('[data-testid=stream-item]');
      return e.length > 0 && e[0].dataset.stream > l;
    }, last);
  }
  check(JSON.stringify(listed) === JSON.stringify(all.slice(0, listed.length)),
    `the pages list ${listed.join(' ')}; the API lists ${all.join(' ')}`);
  log(`stream list: ${listed.length} streams over ${Math.ceil(listed.length / 10)} pages`);

  // The raw stream: exactly its 50 readings, and its calculated interval under them.
  await page.click(`[data-testid=stream-item][data-stream="${RAW}"]`);
  let info = await chartReady(RAW);
  const restRaw = await rest(`streams/${RAW}/data`);
  check(restRaw.length === RAW_N, `the API gives ${restRaw.length} instances of ${RAW}, want ${RAW_N}`);
  checkPoints(info, RAW_N, RAW);
  const rawIv = await rest(`streams/${RAW}/intervals`);
  check(rawIv.calculated.length > 0, `${RAW} has no calculated interval`);
  check(info.calculated.length === rawIv.calculated.length,
    `${info.calculated.length} calculated interval bars, the API has ${rawIv.calculated.length}`);
  check(info.calculated.reduce((s, w) => s + w, 0) > 0.9 * info.plotWidth,
    `the calculated interval bar is ${info.calculated} px wide of ${info.plotWidth}`);
  check(info.reopened.length === rawIv.reopened.length, `reopened bars ${info.reopened.length}, API ${rawIv.reopened.length}`);
  await screenshot('chart-raw.png', page.locator('#chart-panel'));
  log(`${RAW}: ${info.points} points, ${info.calculated.length} calculated interval bar`);

  // A reading that conflicts with a stored one, which the writer refuses:
  // a dead letter, looked for at the end (the page reads them every 5 s).
  await hsctl('pub', RAW, '--t', String(T0 + 10), '999.5');

  // Dragging across the middle of the plot zooms: exactly the readings in (from, to].
  const box = await page.locator('[data-testid=chart-overlay]').boundingBox();
  const y = box.y + box.height / 2;
  await page.mouse.move(box.x + box.width * 0.3, y);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width * 0.45, y, { steps: 4 });
  await page.mouse.move(box.x + box.width * 0.62, y, { steps: 4 });
  await page.mouse.up();
  await page.locator('[data-testid=chart-reset]:enabled').waitFor();
  info = await chartReady(RAW, (i) => i.to - i.from < 0.5 * (rawTimesMs[RAW_N - 1] - rawTimesMs[0]), 'zoomed');
  const inside = rawTimesMs.filter((t) => t > info.from && t <= info.to).length;
  check(inside >= 10 && inside <= 25, `the zoom kept ${inside} readings, want about a third`);
  checkPoints(info, inside, `${RAW} zoomed to (${new Date(info.from).toISOString()}, ${new Date(info.to).toISOString()}]`);
  await screenshot('chart-zoomed.png', page.locator('#chart-panel'));
  log(`zoomed: ${info.points} points in (${new Date(info.from).toISOString()}, ${new Date(info.to).toISOString()}]`);
  await page.click('[data-testid=chart-reset]');
  info = await chartReady(RAW, (i) => i.points === RAW_N, `back to all ${RAW_N} points`);
  checkPoints(info, RAW_N, `${RAW} after reset`);
  check(await page.locator('[data-testid=chart-reset]').isDisabled(), 'reset is still enabled after a reset');

  // A computed stream, found with the prefix filter: as many points as the API gives.
  await page.fill('[data-testid=stream-prefix]', 'room_temp/house=1/');
  await page.press('[data-testid=stream-prefix]', 'Enter');
  await page.locator(`[data-testid=stream-item][data-stream="${ROOM}"]`).waitFor();
  const shown = await items.evaluateAll((els) => els.map((e) => e.dataset.stream));
  check(shown.every((s) => s.startsWith('room_temp/house=1/')), `the prefix filter lists ${shown.join(' ')}`);
  await page.click(`[data-testid=stream-item][data-stream="${ROOM}"]`);
  info = await chartReady(ROOM);
  const restRoom = await rest(`streams/${ROOM}/data`);
  const numeric = restRoom.filter((d) => typeof d.v === 'number').length;
  check(restRoom.length === ROOM_COUNT, `the API gives ${restRoom.length} instances of ${ROOM}, hsctl ${ROOM_COUNT}`);
  check(numeric === restRoom.length && numeric > 0, `${ROOM}: ${numeric} of ${restRoom.length} instances are numbers`);
  checkPoints(info, numeric, ROOM);
  check(info.calculated.length > 0, `no calculated interval bar under ${ROOM}`);
  await screenshot('chart-computed.png', page.locator('#chart-panel'));
  log(`${ROOM}: ${info.points} points, as the API and hsctl give`);

  // The workflow's graph: one node per stream, one per factor.
  await page.click('[data-testid=workflow-house_climate]');
  const graph = page.locator('[data-testid=workflow-graph]');
  await graph.locator('[data-node]').first().waitFor();
  const wf = (await rest('workflows/house_climate')).workflow;
  const names = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  const want = new Set(Object.keys(wf.inputs || {}));
  for (const f of wf.factors) for (const s of [...names(f.sources), ...names(f.sink)]) want.add(s);
  const nodes = await graph.locator('[data-node]').evaluateAll((els) => els.map((e) => e.dataset.node));
  check(nodes.length === want.size && nodes.every((n) => want.has(n)),
    `the graph's stream nodes are ${[...nodes].sort().join(', ')}; the workflow's streams ${[...want].sort().join(', ')}`);
  const factors = await graph.locator('[data-factor]').count();
  check(factors === wf.factors.length, `the graph has ${factors} factor nodes, the workflow ${wf.factors.length} factors`);
  await screenshot('workflow-graph.png', page.locator('#workflows-panel'));
  log(`graph: ${nodes.length} stream nodes (${nodes.join(', ')}), ${factors} factors`);

  // A compute from the page over the next 20 minutes reaches done, 100 %.
  await page.fill('#compute-from', String(T0 + 600));
  await page.fill('#compute-to', String(T0 + 1800));
  await page.click('[data-testid=compute-go]');
  const progress = page.locator('[data-testid=compute-progress]');
  await page.locator('[data-testid=compute-progress][data-state=done]').waitFor({ timeout: 30000 });
  check((await progress.getAttribute('data-percent')) === '100', `done at ${await progress.getAttribute('data-percent')} %`);
  // The request's document is stored by the writer a moment after the
  // scheduler's progress said done: read until it says so too.
  const reqId = await progress.getAttribute('data-request');
  let req;
  for (const deadline = Date.now() + WAIT; ;) {
    req = await rest(`requests/${reqId}`);
    if (req.state !== 'running' || Date.now() > deadline) break;
    await page.waitForTimeout(100);
  }
  check(req.state === 'done' && req.jobs > 0 && req.done === req.jobs && req.failed === 0,
    `request ${reqId} from the page: ${JSON.stringify(req)}`);
  log(`compute from the page: request ${reqId} done, ${req.jobs} jobs, ${await page.textContent('[data-testid=compute-text]')}`);

  // Live results: a reading published now reaches the page.
  await page.fill('[data-testid=live-pattern]', 'temperature/#');
  await page.click('[data-testid=live-go]');
  await page.locator('[data-testid=live-state][data-state=open]').waitFor();
  const liveStream = 'temperature/house=2/room=lounge';
  await hsctl('pub', liveStream, '42.125');
  await page.locator(`[data-testid=live-row][data-stream="${liveStream}"]`, { hasText: '42.125' }).waitFor();
  log(`live: ${liveStream} 42.125 shown`);

  // Jobs (the page's compute among them, at most 50) and the dead letter.
  await page.locator('[data-testid=dead-row]', { hasText: 'conflict' }).first().waitFor();
  const jobs = await page.locator('[data-testid=job-row]').count();
  check(jobs > 0 && jobs <= 50, `${jobs} job rows`);
  log(`${jobs} job rows, ${await page.locator('[data-testid=dead-row]').count()} dead letters`);

  check(errors.length === 0, `the page reported errors:\n  ${errors.join('\n  ')}`);
  await screenshot('dashboard.png', page, { fullPage: true });
}

let rc = 0;
try {
  await main();
  log('all checks passed');
} catch (e) {
  rc = 1;
  console.error(`FAIL: ${e.message}`);
  if (errors.length) console.error(`page errors so far:\n  ${errors.join('\n  ')}`);
  if (page) await screenshot('failure.png', page, { fullPage: true }).catch(() => {});
} finally {
  if (context) await context.close().catch(() => {});
}
for (const f of saved) console.log(`screenshot: ${f}`);
process.exit(rc);
