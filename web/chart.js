// The dashboard's chart: one stream's numeric instances as a line over time
// (SVG), its calculated and reopened intervals as bars under the time axis,
// a zoom by dragging a range across the plot, and a readout of the point
// nearest to the pointer.
//
//   const chart = createChart(host, { onZoom(fromMs, toMs) {...} });
//   chart.render({ points: [[ms, value], ...], calculated: [[ms, ms], ...],
//                  reopened: [[ms, ms], ...], domain: [ms, ms] or null });
//
// The SVG carries data-points (the number of points plotted) and data-from,
// data-to (the time domain, epoch ms), so that tests can read what is drawn.

const NS = 'http://www.w3.org/2000/svg';
const M = { left: 60, right: 24, top: 12 };
const PLOT_H = 220;
const AXIS_H = 22;
const BAR_H = 9;
const MARKERS_MAX = 400; // points drawn as dots too when there are no more than this
const MAX_DATE = 8.64e15;

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const SEC = 1000, MIN = 60 * SEC, HOUR = 60 * MIN, DAY = 24 * HOUR;
const STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, SEC, 2 * SEC, 5 * SEC, 10 * SEC, 15 * SEC,
  30 * SEC, MIN, 2 * MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR,
  6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY, 182 * DAY, 365 * DAY];

// Time ticks at round UTC times, about one per `px` pixels.
function timeTicks(a, b, width, px = 110) {
  const want = Math.max(2, Math.floor(width / px));
  const span = b - a;
  let step = STEPS[STEPS.length - 1];
  for (const s of STEPS) {
    if (span / s <= want) { step = s; break; }
  }
  if (span / step > want) step = Math.ceil(span / want / (365 * DAY)) * 365 * DAY;
  const ticks = [];
  for (let t = Math.ceil(a / step) * step; t <= b && ticks.length < 200; t += step) ticks.push(t);
  return { ticks, step };
}

function timeLabel(ms, step) {
  const s = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  if (step < SEC) return s.slice(11, 23);
  if (step < MIN) return s.slice(11, 19);
  if (step < DAY) return s.slice(11, 16);
  if (step < 30 * DAY) return s.slice(5, 10);
  return s.slice(0, 10);
}

// Round value ticks (1, 2, 5 times a power of ten).
function valueTicks(lo, hi, n = 5) {
  const raw = (hi - lo) / n;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => raw <= s) || 10 * p;
  const out = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(v);
  return { ticks: out, step };
}

function valueLabel(v, step) {
  const digits = Math.max(0, Math.min(10, -Math.floor(Math.log10(step))));
  return Math.abs(v) >= 1e6 || (Math.abs(v) > 0 && Math.abs(v) < 1e-4) ? v.toExponential(2) : v.toFixed(digits);
}

export function createChart(host, opts = {}) {
  let state = null;
  let drag = null;
  let width = 0;
  const svg = svgEl('svg', { 'data-testid': 'chart', class: 'chart', 'data-points': 0 });
  host.append(svg);

  function render(s) {
    state = s;
    draw();
  }

  function draw() {
    width = Math.max(320, host.clientWidth || 640);
    const s = state;
    const plotW = width - M.left - M.right;
    const barsY = M.top + PLOT_H + AXIS_H;
    const height = barsY + 2 * (BAR_H + 3) + 4;
    svg.replaceChildren();
    svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    svg.setAttribute('width', width);
    svg.setAttribute('height', height);
    if (!s) {
      svg.setAttribute('data-points', 0);
      return;
    }
    const pts = s.points || [];
    let [a, b] = s.domain || [Infinity, -Infinity];
    if (!s.domain) {
      for (const p of pts) { if (p[0] < a) a = p[0]; if (p[0] > b) b = p[0]; }
      for (const iv of [...(s.calculated || []), ...(s.reopened || [])]) {
        if (Math.abs(iv[0]) < MAX_DATE && iv[0] < a) a = iv[0];
        if (Math.abs(iv[1]) < MAX_DATE && iv[1] > b) b = iv[1];
      }
    }
    if (!(a < b)) {
      if (Number.isFinite(a)) { a -= MIN; b = a + 2 * MIN; } else { a = Date.now() - HOUR; b = Date.now(); }
    }
    let lo = Infinity, hi = -Infinity;
    for (const p of pts) { if (p[1] < lo) lo = p[1]; if (p[1] > hi) hi = p[1]; }
    if (!(lo <= hi)) { lo = 0; hi = 1; }
    if (lo === hi) { const d = Math.abs(lo) * 0.1 || 1; lo -= d; hi += d; }
    const pad = (hi - lo) * 0.06;
    lo -= pad; hi += pad;
    const x = (t) => M.left + ((t - a) / (b - a)) * plotW;
    const y = (v) => M.top + (1 - (v - lo) / (hi - lo)) * PLOT_H;
    state.scale = { a, b, plotW, x };
    svg.setAttribute('data-from', a);
    svg.setAttribute('data-to', b);

    // axes and grid
    const grid = svgEl('g', { class: 'grid-lines' });
    const vt = valueTicks(lo, hi);
    for (const v of vt.ticks) {
      const yy = y(v).toFixed(1);
      grid.append(svgEl('line', { x1: M.left, x2: M.left + plotW, y1: yy, y2: yy }));
      grid.append(svgEl('text', { x: M.left - 6, y: yy, class: 'ylabel', dy: '0.32em' }, valueLabel(v, vt.step)));
    }
    const tt = timeTicks(a, b, plotW);
    for (const t of tt.ticks) {
      const xx = x(t).toFixed(1);
      grid.append(svgEl('line', { x1: xx, x2: xx, y1: M.top, y2: M.top + PLOT_H }));
      const edge = x(t) > M.left + plotW - 24 ? 'end' : x(t) < M.left + 24 ? 'start' : 'middle';
      grid.append(svgEl('text', { x: xx, y: M.top + PLOT_H + 15, class: 'xlabel', 'text-anchor': edge }, timeLabel(t, tt.step)));
    }
    svg.append(grid);
    svg.append(svgEl('rect', { x: M.left, y: M.top, width: plotW, height: PLOT_H, class: 'frame' }));

    // the line and its points
    const clipId = 'chart-clip';
    const defs = svgEl('defs');
    const clip = svgEl('clipPath', { id: clipId });
    clip.append(svgEl('rect', { x: M.left, y: M.top - 4, width: plotW, height: PLOT_H + 8 }));
    defs.append(clip);
    svg.append(defs);
    const g = svgEl('g', { 'clip-path': `url(#${clipId})` });
    let d = '';
    for (let i = 0; i < pts.length; i++) {
      d += (i ? 'L' : 'M') + x(pts[i][0]).toFixed(1) + ',' + y(pts[i][1]).toFixed(1);
    }
    if (pts.length) g.append(svgEl('path', { d, class: 'line', 'data-testid': 'chart-line' }));
    if (pts.length <= MARKERS_MAX) {
      const dots = svgEl('g', { class: 'dots' });
      for (const p of pts) {
        dots.append(svgEl('circle', { cx: x(p[0]).toFixed(1), cy: y(p[1]).toFixed(1), r: 2.5, 'data-point': '' }));
      }
      g.append(dots);
    }
    svg.append(g);
    svg.setAttribute('data-points', pts.length);
    if (!pts.length) {
      svg.append(svgEl('text', { x: M.left + plotW / 2, y: M.top + PLOT_H / 2, class: 'empty' },
        s.empty || 'no numeric instances here'));
    }

    // calculated and reopened intervals under the axis
    const rows = [['calculated', s.calculated || [], 'iv-calc'], ['reopened', s.reopened || [], 'iv-reop']];
    rows.forEach(([kind, ivs, cls], row) => {
      const yy = barsY + row * (BAR_H + 3);
      svg.append(svgEl('text', { x: M.left - 6, y: yy + BAR_H / 2, class: 'ylabel small', dy: '0.32em' }, kind));
      svg.append(svgEl('rect', { x: M.left, y: yy, width: plotW, height: BAR_H, class: 'iv-track' }));
      for (const iv of ivs) {
        const s0 = Math.max(iv[0], a), s1 = Math.min(iv[1], b);
        if (!(s1 > s0)) continue;
        const r = svgEl('rect', {
          x: x(s0).toFixed(1), y: yy, width: Math.max(1, x(s1) - x(s0)).toFixed(1), height: BAR_H,
          class: cls, 'data-kind': kind, 'data-testid': 'interval-' + kind,
        });
        r.append(svgEl('title', {}, `${kind} (${new Date(iv[0]).toISOString()}, ${new Date(iv[1]).toISOString()}]`));
        svg.append(r);
      }
    });

    // pointer: readout, drag to zoom
    const hover = svgEl('g', { class: 'hover', visibility: 'hidden' });
    const hl = svgEl('line', { y1: M.top, y2: M.top + PLOT_H });
    const hc = svgEl('circle', { r: 4 });
    const ht = svgEl('text', { class: 'readout', y: M.top + 12 });
    hover.append(hl, hc, ht);
    const sel = svgEl('rect', { class: 'selection', y: M.top, height: PLOT_H, width: 0, visibility: 'hidden' });
    const overlay = svgEl('rect', { x: M.left, y: M.top, width: plotW, height: PLOT_H, class: 'overlay', 'data-testid': 'chart-overlay' });
    svg.append(hover, sel, overlay);

    const px = (ev) => {
      const r = svg.getBoundingClientRect();
      const k = r.width ? width / r.width : 1;
      return Math.min(M.left + plotW, Math.max(M.left, (ev.clientX - r.left) * k));
    };
    const tOf = (xx) => a + ((xx - M.left) / plotW) * (b - a);
    overlay.addEventListener('pointerdown', (ev) => {
      drag = { x0: px(ev) };
      overlay.setPointerCapture(ev.pointerId);
      sel.setAttribute('x', drag.x0);
      sel.setAttribute('width', 0);
      sel.setAttribute('visibility', 'visible');
    });
    overlay.addEventListener('pointermove', (ev) => {
      const xx = px(ev);
      if (drag) {
        sel.setAttribute('x', Math.min(drag.x0, xx));
        sel.setAttribute('width', Math.abs(xx - drag.x0));
        return;
      }
      if (!pts.length) return;
      const t = tOf(xx);
      let lo2 = 0, hi2 = pts.length - 1;
      while (lo2 < hi2) { const m = (lo2 + hi2) >> 1; if (pts[m][0] < t) lo2 = m + 1; else hi2 = m; }
      if (lo2 > 0 && t - pts[lo2 - 1][0] < pts[lo2][0] - t) lo2--;
      const p = pts[lo2];
      const cx = x(p[0]), cy = y(p[1]);
      hl.setAttribute('x1', cx); hl.setAttribute('x2', cx);
      hc.setAttribute('cx', cx); hc.setAttribute('cy', cy);
      ht.textContent = `${new Date(p[0]).toISOString().replace('T', ' ').replace('Z', '')}  ${p[1]}`;
      const right = cx > M.left + plotW / 2;
      ht.setAttribute('x', right ? cx - 8 : cx + 8);
      ht.setAttribute('text-anchor', right ? 'end' : 'start');
      hover.setAttribute('visibility', 'visible');
    });
    overlay.addEventListener('pointerleave', () => { if (!drag) hover.setAttribute('visibility', 'hidden'); });
    const end = (ev, cancel) => {
      if (!drag) return;
      const x0 = drag.x0, x1 = px(ev);
      drag = null;
      sel.setAttribute('visibility', 'hidden');
      if (!cancel && Math.abs(x1 - x0) >= 4 && opts.onZoom) {
        const t0 = tOf(Math.min(x0, x1)), t1 = tOf(Math.max(x0, x1));
        if (t1 > t0) opts.onZoom(Math.floor(t0), Math.ceil(t1));
      }
    };
    overlay.addEventListener('pointerup', (ev) => end(ev, false));
    overlay.addEventListener('pointercancel', (ev) => end(ev, true));
  }

  if (typeof ResizeObserver === 'function') {
    let last = 0;
    new ResizeObserver(() => {
      const w = host.clientWidth;
      if (state && Math.abs(w - last) > 2) { last = w; draw(); }
    }).observe(host);
  }
  draw();
  return { render, svg, clear: () => render(null) };
}
