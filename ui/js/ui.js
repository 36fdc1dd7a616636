// Small DOM helpers shared by every page: el(), error boxes, sortable
// tables, a confirmation <dialog>, and formatting. No state of its own.

import { ApiError } from './api.js';

// el('button', {type: 'button', class: 'x', onclick: fn, 'data-testid': 't'}, 'text', child, [more])
// Attributes: on<event> functions become listeners; false/null/undefined are
// skipped; true sets an empty attribute; value/checked/selected/disabled are
// set as properties. Children: strings, numbers, Nodes, arrays, null.
export function el(tag, attrs = {}, ...children) {
  const node = tag.includes(':')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.split(':')[1])
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      node.addEventListener(k.slice(2).toLowerCase(), v);
    } else if (k === 'value' || k === 'checked' || k === 'selected' || k === 'disabled' || k === 'indeterminate') {
      node[k] = v;
    } else if (k === 'class' && Array.isArray(v)) {
      node.setAttribute('class', v.filter(Boolean).join(' '));
    } else {
      node.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// One line for people describing an error (ApiError or anything else).
export function describeError(err) {
  if (err instanceof ApiError) {
    if (err.code === 'no_key') return 'Enter an API key to use this page.';
    if (err.status === 401) return `The API key was refused: ${err.message}`;
    if (err.status === 403 && err.code === 'permission_denied') {
      return `This needs an admin key; the key in use has query scope only. (${err.message})`;
    }
    return err.status ? `${err.message} (HTTP ${err.status}${err.code ? `, ${err.code}` : ''})` : err.message;
  }
  return (err && err.message) ? err.message : String(err);
}

// <div role="alert" class="error-box">; title is optional bold first line.
export function errorBox(err, title) {
  const box = el('div', { class: 'error-box', role: 'alert' },
    title ? el('strong', {}, title, ' ') : null,
    el('span', {}, describeError(err)));
  if (err instanceof ApiError && err.code === 'no_key') {
    box.append(' ', el('button', { type: 'button', class: 'link-button', onclick: focusKeyField }, 'Go to the key field'));
  }
  return box;
}

export function focusKeyField() {
  const f = document.getElementById('api-key');
  if (f) f.focus();
}

export function notice(text, kind = 'info') {
  return el('p', { class: `notice notice-${kind}` }, text);
}

export function loading(text = 'Loading…') {
  return el('p', { class: 'loading', role: 'status' }, text);
}

// A label + control pair. control must have an id.
export function field(label, control, hint) {
  const hintId = hint ? `${control.id}-hint` : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return el('div', { class: 'field' },
    el('label', { for: control.id }, label),
    control,
    hint ? el('span', { class: 'hint', id: hintId }, hint) : null);
}

let idCounter = 0;
export function uid(prefix = 'id') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// table({columns, rows, caption, rowAttrs, sort:{key, dir}, empty})
//   columns: [{key, label, render?(row) -> Node|string, value?(row) -> sortable value,
//              sortable? (default true), numeric?, class?}]
//   rowAttrs(row) -> attributes for the <tr> (data-testid etc.)
// Sortable headers are buttons; the sorted column carries aria-sort.
export function table({ columns, rows, caption, rowAttrs, sort, empty = 'Nothing to show.', class: cls }) {
  const state = { key: sort ? sort.key : null, dir: sort ? (sort.dir || 'asc') : 'asc' };
  const tbody = el('tbody');
  const thead = el('thead');
  const tbl = el('table', { class: ['data-table', cls] },
    caption ? el('caption', {}, caption) : null, thead, tbody);
  const valueOf = (c, r) => (c.value ? c.value(r) : r[c.key]);

  const drawHead = () => {
    clear(thead);
    const tr = el('tr');
    for (const c of columns) {
      const th = el('th', { scope: 'col', class: [c.numeric ? 'num' : '', c.class] });
      if (c.sortable === false) {
        th.append(c.label);
      } else {
        const active = state.key === c.key;
        if (active) th.setAttribute('aria-sort', state.dir === 'asc' ? 'ascending' : 'descending');
        th.append(el('button', {
          type: 'button', class: 'sort-button',
          onclick: () => {
            if (state.key === c.key) state.dir = state.dir === 'asc' ? 'desc' : 'asc';
            else { state.key = c.key; state.dir = 'asc'; }
            drawHead(); drawBody();
            const btn = [...thead.querySelectorAll('button')].find((b) => b.dataset.key === c.key);
            if (btn) btn.focus();
          },
          'data-key': c.key,
        }, c.label, el('span', { class: 'sort-mark', 'aria-hidden': 'true' }, active ? (state.dir === 'asc' ? ' ▲' : ' ▼') : '')));
      }
      tr.append(th);
    }
    thead.append(tr);
  };

  const drawBody = () => {
    clear(tbody);
    let list = rows.slice();
    if (state.key) {
      const c = columns.find((x) => x.key === state.key);
      if (c) {
        list.sort((a, b) => {
          const va = valueOf(c, a); const vb = valueOf(c, b);
          let r;
          if (va === vb) r = 0;
          else if (va === null || va === undefined || va === '') r = 1;
          else if (vb === null || vb === undefined || vb === '') r = -1;
          else if (typeof va === 'number' && typeof vb === 'number') r = va - vb;
          else r = String(va).localeCompare(String(vb), undefined, { numeric: true });
          return state.dir === 'asc' ? r : -r;
        });
      }
    }
    if (list.length === 0) {
      tbody.append(el('tr', {}, el('td', { colspan: columns.length, class: 'empty' }, empty)));
      return;
    }
    for (const r of list) {
      const tr = el('tr', rowAttrs ? rowAttrs(r) : {});
      for (const c of columns) {
        const v = c.render ? c.render(r) : valueOf(c, r);
        tr.append(el('td', { class: [c.numeric ? 'num' : '', c.class] }, v === null || v === undefined ? '—' : v));
      }
      tbody.append(tr);
    }
  };

  drawHead();
  drawBody();
  return el('div', { class: 'table-wrap' }, tbl);
}

// confirmDialog({title, message, confirmLabel, cancelLabel, danger}) -> Promise<boolean>
// A modal <dialog>; Esc or Cancel resolve false. Focus goes to Cancel and
// returns to the element that had it.
export function confirmDialog({ title, message, confirmLabel = 'Confirm', cancelLabel = 'Cancel', danger = false }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = uid('dlg-title');
    const cancel = el('button', { type: 'button', class: 'button' }, cancelLabel);
    const ok = el('button', { type: 'button', class: ['button', danger ? 'danger' : 'primary'] }, confirmLabel);
    const dlg = el('dialog', { class: 'confirm-dialog', 'aria-labelledby': titleId, 'data-testid': 'confirm-dialog' },
      el('h2', { id: titleId }, title),
      typeof message === 'string' ? el('p', {}, message) : message,
      el('div', { class: 'dialog-actions' }, cancel, ok));
    let result = false;
    cancel.addEventListener('click', () => { result = false; dlg.close(); });
    ok.addEventListener('click', () => { result = true; dlg.close(); });
    dlg.addEventListener('close', () => {
      dlg.remove();
      if (opener && opener.isConnected && typeof opener.focus === 'function') opener.focus();
      resolve(result);
    });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}

// Times: accepts unix seconds, ISO strings, '' / null.
export function fmtTime(t) {
  if (t === null || t === undefined || t === '' || t === 0) return '—';
  const d = typeof t === 'number' ? new Date(t * 1000) : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z'); // UTC, to the second
}

export function fmtNum(x, digits = 4) {
  if (x === null || x === undefined || x === '') return '—';
  if (typeof x !== 'number') return String(x);
  if (Number.isInteger(x)) return String(x);
  return x.toFixed(digits);
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return '—';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

// The page heading: an <h1 tabindex=-1> the router moves focus to.
export function pageHeading(text) {
  return el('h1', { tabindex: '-1' }, text);
}
