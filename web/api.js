// The REST API of hs-api (docs/HTTP.md §1), relative to the page so that the
// dashboard also works behind a proxy that mounts it under a sub-path.

export const API = 'api/v1/';

// A stream id into a URL path: its slashes stay, each level is escaped.
export function streamPath(id) {
  return id.split('/').map((s) => encodeURIComponent(s).replace(/%3D/g, '=')).join('/');
}

export function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const qs = q.toString();
  return API + path + (qs ? '?' + qs : '');
}

// Reads a JSON answer; a 4xx/5xx throws an Error with the API's message.
async function answer(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const msg = body && body.error ? body.error : text.trim() || res.statusText;
    const err = new Error(`${res.status}: ${msg}`);
    err.status = res.status;
    err.body = body;
    throw err;
  }
  return body;
}

export async function get(path, params, signal) {
  return answer(await fetch(url(path, params), { signal, headers: { Accept: 'application/json' } }));
}

export async function post(path, params) {
  return answer(await fetch(url(path, params), { method: 'POST' }));
}

// ------------------------------------------------------------------ times

// "2026-12-07T06:41:00Z" from epoch milliseconds (milliseconds shown only when set).
export function iso(ms) {
  if (!Number.isFinite(ms)) return '';
  const s = new Date(ms).toISOString();
  return s.endsWith('.000Z') ? s.slice(0, -5) + 'Z' : s;
}

// Short display form: "06:41:00" or "2026-12-07 06:41" as the span asks.
export function shortTime(text) {
  if (!text) return '';
  return String(text).replace('T', ' ').replace(/(\.\d+)?Z$/, '');
}

// An interval (a, b] of two ISO texts, the end without its date when it is a's.
export function span(a, b) {
  const sa = shortTime(a), sb = shortTime(b);
  return `(${sa}, ${sa.slice(0, 10) === sb.slice(0, 10) ? sb.slice(11) : sb}]`;
}

// Microseconds since the epoch (the API's *_us numbers) as milliseconds.
export const usToMs = (us) => us / 1000;

export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

// A JSON value as short text for tables.
export function valueText(v, max = 120) {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > max ? s.slice(0, max - 1) + '…' : s;
}
