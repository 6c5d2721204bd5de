// A workflow's graph as SVG, from its parsed definition (the "workflow"
// member of GET /api/v1/workflows/{id}, as `hsctl workflow show ID --json`
// prints it): streams are boxes (data-node="<name>"; inputs that no factor
// makes are marked as such), factors are boxes labelled with their tool
// (data-factor="<index>"), edges go from sources to their factor and from
// the factor to its sink. Layers left to right by longest path.

const NS = 'http://www.w3.org/2000/svg';
const CH = 7.2; // width of a character of the 12px monospace font
const GAP_X = 46, GAP_Y = 14, PAD = 10;

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

const list = (v) => (v === undefined || v === null ? [] : Array.isArray(v) ? v.map(String) : [String(v)]);

function factorDetail(f) {
  const parts = [];
  const p = f.params || {};
  if (p.func !== undefined) parts.push(String(p.func));
  else if (p.width !== undefined) parts.push(`${p.width}/${p.increment ?? p.width}`);
  if (f.over) parts.push('over ' + f.over);
  const pl = list(f.plates);
  if (pl.length) parts.push('[' + pl.join(',') + ']');
  return parts.join(' · ');
}

// The graph's nodes and edges.
export function graphOf(wf) {
  const nodes = new Map();
  const edges = [];
  const stream = (name) => {
    if (!nodes.has(name)) nodes.set(name, { id: 's:' + name, name, kind: 'stream', made: false, plates: [] });
    return nodes.get(name);
  };
  const inputs = wf && wf.inputs && typeof wf.inputs === 'object' ? wf.inputs : {};
  for (const [name, def] of Object.entries(inputs)) stream(name).plates = list(def && def.plates);
  (wf && Array.isArray(wf.factors) ? wf.factors : []).forEach((f, i) => {
    const fn = { id: 'f:' + i, index: i, kind: 'factor', name: String(f.tool || '?'), detail: factorDetail(f), f };
    nodes.set(fn.id, fn);
    for (const s of list(f.sources)) edges.push([stream(s), fn]);
    for (const s of list(f.sink)) {
      const sn = stream(s);
      sn.made = true;
      sn.plates = list(f.plates);
      edges.push([fn, sn]);
    }
  });
  return { nodes: [...nodes.values()], edges };
}

function layout(g) {
  for (const n of g.nodes) {
    n.layer = 0;
    const label = n.kind === 'factor' ? Math.max(n.name.length, (n.detail || '').length) : n.name.length;
    n.w = Math.max(n.kind === 'factor' ? 70 : 90, Math.ceil(label * CH) + 20);
    n.h = n.kind === 'factor' && n.detail ? 36 : 26;
  }
  // longest path from the inputs (a cycle, which a valid workflow has not, stops after n rounds)
  for (let round = 0, changed = true; changed && round <= g.nodes.length; round++) {
    changed = false;
    for (const [a, b] of g.edges) {
      if (b.layer < a.layer + 1) { b.layer = a.layer + 1; changed = true; }
    }
  }
  const layers = [];
  for (const n of g.nodes) (layers[n.layer] ||= []).push(n);
  // order each layer by the mean position of its predecessors, twice
  layers.forEach((L) => L.forEach((n, k) => { n.order = k; }));
  for (let pass = 0; pass < 2; pass++) {
    layers.forEach((L, li) => {
      if (li === 0) return;
      L.forEach((n, k) => {
        const prev = g.edges.filter((e) => e[1] === n).map((e) => e[0].order ?? 0);
        n.key = prev.length ? prev.reduce((s, v) => s + v, 0) / prev.length : k;
      });
      L.sort((p, q) => p.key - q.key);
      L.forEach((n, k) => { n.order = k; });
    });
  }
  let x = PAD;
  const heights = layers.map((L) => L.reduce((s, n) => s + n.h, 0) + GAP_Y * (L.length - 1));
  const maxH = Math.max(0, ...heights);
  layers.forEach((L, li) => {
    const w = Math.max(...L.map((n) => n.w));
    let y = PAD + (maxH - heights[li]) / 2;
    for (const n of L) {
      n.x = x + (w - n.w) / 2;
      n.y = y;
      y += n.h + GAP_Y;
    }
    x += w + GAP_X;
  });
  return { width: Math.max(x - GAP_X + PAD, 2 * PAD), height: maxH + 2 * PAD };
}

// Draws the workflow wf into svg (replacing what it held).
export function drawWorkflow(svg, wf) {
  const g = graphOf(wf);
  const size = layout(g);
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${size.width} ${size.height}`);
  svg.setAttribute('width', size.width);
  svg.setAttribute('height', size.height);
  // Shrinks to the panel's width down to 60 %, then scrolls.
  svg.style.minWidth = Math.round(size.width * 0.6) + 'px';
  svg.setAttribute('data-nodes', g.nodes.filter((n) => n.kind === 'stream').length);
  svg.setAttribute('data-factors', g.nodes.filter((n) => n.kind === 'factor').length);
  const defs = svgEl('defs');
  const marker = svgEl('marker', { id: 'wf-arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
  marker.append(svgEl('path', { d: 'M0,0L10,5L0,10z', class: 'arrow' }));
  defs.append(marker);
  svg.append(defs);
  const edges = svgEl('g', { class: 'edges' });
  for (const [a, b] of g.edges) {
    const x1 = a.x + a.w, y1 = a.y + a.h / 2, x2 = b.x, y2 = b.y + b.h / 2;
    const mx = (x1 + x2) / 2;
    edges.append(svgEl('path', {
      d: `M${x1},${y1}C${mx},${y1} ${mx},${y2} ${x2},${y2}`, 'marker-end': 'url(#wf-arrow)',
      'data-from': a.kind === 'stream' ? a.name : 'factor ' + a.index,
      'data-to': b.kind === 'stream' ? b.name : 'factor ' + b.index,
    }));
  }
  svg.append(edges);
  for (const n of g.nodes) {
    const attrs = n.kind === 'stream'
      ? { 'data-node': n.name, class: 'node stream' + (n.made ? '' : ' input') }
      : { 'data-factor': n.index, class: 'node factor' };
    const ng = svgEl('g', { ...attrs, transform: `translate(${n.x},${n.y})` });
    ng.append(svgEl('rect', { width: n.w, height: n.h, rx: n.kind === 'stream' ? 13 : 3 }));
    if (n.kind === 'stream') {
      ng.append(svgEl('text', { x: n.w / 2, y: n.h / 2, dy: '0.35em' }, n.name));
      ng.append(svgEl('title', {}, `${n.name}${n.made ? '' : ' (input)'}${n.plates.length ? ' on plates ' + n.plates.join(', ') : ''}`));
    } else {
      ng.append(svgEl('text', { x: n.w / 2, y: n.detail ? 14 : n.h / 2, dy: n.detail ? '0' : '0.35em', class: 'tool' }, n.name));
      if (n.detail) ng.append(svgEl('text', { x: n.w / 2, y: 28, class: 'detail' }, n.detail));
      ng.append(svgEl('title', {}, `factor ${n.index}: ${JSON.stringify(n.f)}`));
    }
    svg.append(ng);
  }
  return g;
}
