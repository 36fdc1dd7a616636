// Small DOM and formatting helpers shared by the ML pages (runs, models,
// pipelines, data quality). Stateless except for adding ml.css to the page once.

import { el, errorBox as uiErrorBox, describeError, confirmDialog } from './ui.js';

export function ensureCss() {
  if (document.querySelector('link[data-ml-css]')) return;
  const link = document.createElement('link');
  link.rel = 'stylesheet';
  link.href = '/ui/ml.css';
  link.dataset.mlCss = '1';
  document.head.append(link);
}

export { el, confirmDialog, describeError };

// A button in the shell's style: kind '' | 'primary' | 'danger'; small by default.
export function button(label, attrs = {}, kind = '') {
  const cls = ['button', kind, attrs.large ? '' : 'small', attrs.class].filter(Boolean).join(' ');
  const { large, ...rest } = attrs;
  return el('button', { type: 'button', ...rest, class: cls }, label);
}

// The first path parameter of the route, whatever shape the router gives.
export function param(ctx, i = 0) {
  const p = ctx && ctx.params;
  if (p === undefined || p === null) return undefined;
  if (typeof p === 'string') return p;
  if (Array.isArray(p)) return p[i];
  const vals = Object.values(p);
  return vals[i];
}

// The API writes "-" for a day or time that is not set.
export function missing(v) {
  return v === null || v === undefined || v === '' || v === '-';
}

// "2026-01-01 – 2026-02-01", or "—" when the window is not set.
export function fmtWindow(from, to) {
  if (missing(from) && missing(to)) return '—';
  return `${missing(from) ? '…' : from} – ${missing(to) ? '…' : to}`;
}

export function enc(s) {
  return encodeURIComponent(String(s));
}

// ---- formatting

export function fmtNum(v, digits = 4) {
  if (v === null || v === undefined || v === '') return '—';
  const n = Number(v);
  if (!Number.isFinite(n)) return String(v);
  if (Number.isInteger(n) && Math.abs(n) < 1e12) return n.toLocaleString('en-US');
  const a = Math.abs(n);
  if (a !== 0 && (a < 1e-4 || a >= 1e9)) return n.toExponential(2);
  return String(Number(n.toFixed(digits)));
}

export function fmtSigned(v, digits = 4) {
  if (v === null || v === undefined || !Number.isFinite(Number(v))) return '—';
  const n = Number(v);
  return (n > 0 ? '+' : n < 0 ? '−' : '±') + fmtNum(Math.abs(n), digits);
}

function pad(n) {
  return String(n).padStart(2, '0');
}

function fmtDate(d) {
  if (Number.isNaN(d.getTime())) return '—';
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
}

// A time given as unix seconds, unix milliseconds or an ISO string.
export function fmtTime(v) {
  if (missing(v) || v === 0) return '—';
  if (typeof v === 'number') return fmtDate(new Date(v > 1e11 ? v : v * 1000));
  const n = Number(v);
  if (/^\d+(\.\d+)?$/.test(String(v))) return fmtDate(new Date(n > 1e11 ? n : n * 1000));
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? String(v) : fmtDate(d);
}

export function timeValue(v) {
  if (missing(v)) return 0;
  if (typeof v === 'number') return v > 1e11 ? v / 1000 : v;
  if (/^\d+(\.\d+)?$/.test(String(v))) return timeValue(Number(v));
  const t = Date.parse(v);
  return Number.isNaN(t) ? 0 : t / 1000;
}

export function fmtBytes(n) {
  if (!Number.isFinite(Number(n))) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let v = Number(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u ? v.toFixed(1) : v} ${units[u]}`;
}

export function shortId(id, n = 8) {
  const s = String(id || '');
  return s.length > n + 2 ? s.slice(0, n) + '…' : s;
}

// ---- page structure

// Clears root, adds the page's h1 (focus target of the router) and returns a body container.
export function pageStart(root, title, { crumbs = [], lead } = {}) {
  ensureCss();
  root.replaceChildren();
  const wrap = el('div', { class: 'ml-page' });
  if (crumbs.length) {
    wrap.append(el('nav', { 'aria-label': 'Breadcrumb', class: 'ml-crumbs' },
      el('ol', {}, crumbs.map(([label, href]) => el('li', {}, href ? el('a', { href }, label) : el('span', { 'aria-current': 'page' }, label))))));
  }
  const h1 = el('h1', { tabindex: '-1' }, title);
  wrap.append(h1);
  if (lead) wrap.append(el('p', { class: 'ml-lead' }, lead));
  const body = el('div', { class: 'ml-body', 'aria-busy': 'true' });
  body.append(el('p', { class: 'loading ml-loading', role: 'status' }, 'Loading…'));
  wrap.append(body);
  root.append(wrap);
  return { h1, body, wrap };
}

export function done(body) {
  body.removeAttribute('aria-busy');
  body.querySelectorAll(':scope > .ml-loading').forEach((n) => n.remove());
}

// An error box (role="alert") that never leaves the page blank; for a 403
// it names what needed the admin key.
export function errorBox(err, action) {
  if (err && err.status === 403) {
    return el('div', { class: 'error-box', role: 'alert', 'data-testid': 'permission-error' },
      el('strong', {}, `${action || 'This'} needs an admin key. `),
      el('span', {}, `The key in use is not allowed to do it (query scope): ${err.message}`));
  }
  return uiErrorBox(err);
}

// Shows an error in body in place of the page's content.
export function fail(body, err, action) {
  done(body);
  body.replaceChildren(errorBox(err, action));
}

// ---- badges

const STATE_CLASS = {
  success: 'ok', finished: 'ok', passed: 'ok', pass: 'ok', promote: 'ok',
  failed: 'bad', fail: 'bad', upstream_failed: 'bad',
  running: 'info', queued: 'neutral', scheduled: 'neutral',
  up_for_retry: 'warn', warn: 'warn', warned: 'warn', keep: 'neutral',
  skip: 'neutral', skipped: 'neutral', abandoned: 'warn',
};

export function badge(text, kind) {
  const k = kind || STATE_CLASS[text] || 'neutral';
  return el('span', { class: k === 'neutral' ? 'badge' : `badge ${k}` }, String(text ?? '—').replace(/_/g, ' '));
}

// ---- tables

/**
 * A table with sortable columns: columns = [{key, label, value(row) -> sortable, render(row) -> node|string,
 * numeric?, sortable? (default true)}]. rowAttrs(row) -> attrs for the <tr>.
 * Returns {table, setRows(rows)}.
 */
export function sortableTable({ caption, columns, rows = [], rowAttrs, sort, empty = 'Nothing to show.' }) {
  let sortKey = sort ? sort.key : null;
  let sortDir = sort ? sort.dir || 'ascending' : 'none';
  let current = rows;
  const table = el('table', { class: 'data-table ml-table' });
  if (caption) table.append(el('caption', {}, caption));
  const thead = el('thead');
  const headRow = el('tr');
  const ths = new Map();
  for (const c of columns) {
    const th = el('th', { scope: 'col', class: c.numeric ? 'num' : null });
    if (c.sortable === false) th.append(c.label);
    else {
      th.append(el('button', { type: 'button', class: 'sort-button', onclick: () => toggle(c.key) }, c.label,
        el('span', { class: 'ml-sort-icon', 'aria-hidden': 'true' })));
    }
    ths.set(c.key, th);
    headRow.append(th);
  }
  thead.append(headRow);
  const tbody = el('tbody');
  table.append(thead, tbody);

  function toggle(key) {
    if (sortKey === key) sortDir = sortDir === 'ascending' ? 'descending' : 'ascending';
    else {
      sortKey = key;
      sortDir = 'ascending';
    }
    draw();
  }

  function value(c, r) {
    return c.value ? c.value(r) : r[c.key];
  }

  function draw() {
    for (const c of columns) {
      const th = ths.get(c.key);
      if (c.sortable === false) continue;
      const active = c.key === sortKey && sortDir !== 'none';
      th.setAttribute('aria-sort', active ? sortDir : 'none');
      th.querySelector('.ml-sort-icon').textContent = active ? (sortDir === 'ascending' ? ' ▲' : ' ▼') : ' ↕';
    }
    let list = current.slice();
    const col = columns.find((c) => c.key === sortKey);
    if (col && sortDir !== 'none') {
      const dir = sortDir === 'ascending' ? 1 : -1;
      list.sort((a, b) => {
        const va = value(col, a);
        const vb = value(col, b);
        const na = va === null || va === undefined || va === '';
        const nb = vb === null || vb === undefined || vb === '';
        if (na || nb) return na === nb ? 0 : na ? 1 : -1; // blanks last either way
        if (typeof va === 'number' && typeof vb === 'number') return (va - vb) * dir;
        return String(va).localeCompare(String(vb), 'en', { numeric: true }) * dir;
      });
    }
    tbody.replaceChildren();
    if (!list.length) {
      tbody.append(el('tr', {}, el('td', { colspan: columns.length, class: 'empty' }, empty)));
      return;
    }
    for (const r of list) {
      const tr = el('tr', rowAttrs ? rowAttrs(r) : {});
      for (const c of columns) {
        const v = c.render ? c.render(r) : value(c, r);
        const cls = [c.numeric ? 'num' : '', c.nowrap ? 'ml-nowrap' : ''].filter(Boolean).join(' ');
        const td = el(c.header ? 'th' : 'td', { class: cls || null, scope: c.header ? 'row' : null });
        td.append(v instanceof Node ? v : v === null || v === undefined || v === '' ? '—' : String(v));
        tr.append(td);
      }
      tbody.append(tr);
    }
  }

  draw();
  return {
    table,
    setRows(r) {
      current = r;
      draw();
    },
  };
}

// A two-column table of key/value pairs.
export function kvTable(obj, { caption, keyLabel = 'Key', valueLabel = 'Value', highlight } = {}) {
  const entries = Object.entries(obj || {}).sort(([a], [b]) => a.localeCompare(b));
  const table = el('table', { class: 'data-table ml-kv' });
  if (caption) table.append(el('caption', {}, caption));
  table.append(el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, keyLabel), el('th', { scope: 'col' }, valueLabel))));
  const tbody = el('tbody');
  if (!entries.length) tbody.append(el('tr', {}, el('td', { colspan: 2, class: 'empty' }, 'None.')));
  for (const [k, v] of entries) {
    tbody.append(el('tr', { class: highlight && highlight(k) ? 'ml-diff' : null },
      el('th', { scope: 'row' }, k), el('td', {}, typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v))));
  }
  table.append(tbody);
  return table;
}

// A <dl> of label/value pairs; values may be nodes.
export function facts(pairs) {
  const dl = el('dl', { class: 'ml-facts' });
  for (const [k, v] of pairs) {
    if (v === undefined) continue;
    dl.append(el('div', {}, el('dt', {}, k), el('dd', {}, v instanceof Node ? v : v === null || v === '' ? '—' : String(v))));
  }
  return dl;
}

export function section(title, ...children) {
  const id = 'sec-' + title.toLowerCase().replace(/[^a-z0-9]+/g, '-');
  return el('section', { class: 'ml-section', 'aria-labelledby': id }, el('h2', { id }, title), ...children);
}

// ---- downloads (links cannot carry the Authorization header)

export async function fetchBlob(api, path) {
  const res = await api(path, { raw: true });
  if (!res.ok) {
    let message = res.statusText;
    try {
      const j = await res.json();
      message = (j.error && j.error.message) || message;
    } catch {
      /* not JSON */
    }
    const e = new Error(message);
    e.status = res.status;
    throw e;
  }
  return res.blob();
}

export function saveBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
