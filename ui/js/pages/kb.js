// Knowledge base page: the tenant's collections, a collection's documents,
// upload (one request per file, with progress and a result per file) and
// delete with confirmation. Upload and delete need an admin key; a query
// key gets the server's 403, shown as such.

import { el, clear, errorBox, field, pageHeading, table, confirmDialog, fmtTime, notice, fmtBytes } from '../ui.js';
import { upload, seg, ApiError } from '../api.js';

const ACCEPT = '.md,.markdown,.html,.htm,.txt,.pdf,.jsonl';

export async function render(root, ctx) {
  root.append(pageHeading('Knowledge base'),
    el('p', { class: 'muted' }, 'The documents the assistant answers from, by collection. Uploading and deleting need an admin key.'));

  const state = { collections: [], selected: ctx.query.get('collection') || '' };
  const collectionsBox = el('section', { 'aria-labelledby': 'kb-collections-h' });
  const docsBox = el('section', { 'aria-labelledby': 'kb-docs-h' });
  const uploadBox = el('section', { 'aria-labelledby': 'kb-upload-h' });
  root.append(el('div', { class: 'kb-layout' }, el('div', {}, collectionsBox, docsBox), uploadBox));

  async function loadCollections() {
    clear(collectionsBox);
    collectionsBox.append(el('h2', { id: 'kb-collections-h' }, 'Collections'));
    try {
      state.collections = (await ctx.api('/v1/collections', { signal: ctx.signal })).data || [];
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      collectionsBox.append(errorBox(e, 'Could not load the collections.'));
      return false;
    }
    if (!state.collections.some((c) => c.name === state.selected)) {
      state.selected = state.collections.length ? state.collections[0].name : '';
    }
    if (state.collections.length === 0) {
      collectionsBox.append(notice('No collections yet. Upload documents to create one.'));
      return true;
    }
    collectionsBox.append(el('ul', { class: 'collection-list' },
      state.collections.map((c) => el('li', {},
        el('a', {
          href: `#/kb?collection=${encodeURIComponent(c.name)}`,
          'aria-current': c.name === state.selected ? 'true' : false,
          'data-testid': 'collection-link', 'data-collection': c.name,
          onclick: (ev) => { ev.preventDefault(); select(c.name); },
        }, `${c.name} `, el('span', { class: 'count' }, `(${c.documents} documents, ${c.chunks} chunks)`))))));
    return true;
  }

  const docsError = el('div');
  async function loadDocuments() {
    clear(docsBox);
    if (!state.selected) return;
    const c = state.collections.find((x) => x.name === state.selected);
    docsBox.append(el('h2', { id: 'kb-docs-h' }, `Documents in “${state.selected}”`),
      c ? el('p', { class: 'muted' }, `${c.documents} documents, ${c.chunks} chunks, embedder `, el('code', {}, c.embedder || '—')) : null);
    const wait = el('p', { class: 'loading' }, 'Loading documents…');
    docsBox.append(wait);
    let docs;
    try {
      docs = (await ctx.api(`/v1/collections/${seg(state.selected)}/documents`, { signal: ctx.signal })).data || [];
    } catch (e) {
      wait.remove();
      if (e.name === 'AbortError') throw e;
      docsBox.append(errorBox(e, 'Could not load the documents.'));
      return;
    }
    wait.remove();
    clear(docsError);
    const filter = el('input', { type: 'search', id: 'kb-filter', placeholder: 'title or id' });
    const holder = el('div');
    const draw = () => {
      const f = filter.value.trim().toLowerCase();
      const shown = f ? docs.filter((d) => `${d.title} ${d.id}`.toLowerCase().includes(f)) : docs;
      clear(holder);
      holder.append(table({
        caption: `${shown.length} of ${docs.length} documents`,
        columns: [
          { key: 'title', label: 'Title', render: (d) => el('span', { class: 'doc-title' }, d.title || '(untitled)') },
          { key: 'id', label: 'Document id', render: (d) => el('code', {}, d.id) },
          { key: 'format', label: 'Format' },
          { key: 'chunks', label: 'Chunks', numeric: true },
          { key: 'ingested_at', label: 'Last ingested', class: 'nowrap', render: (d) => el('time', { datetime: d.ingested_at }, fmtTime(d.ingested_at)) },
          {
            key: 'actions', label: 'Actions', sortable: false,
            render: (d) => el('button', {
              type: 'button', class: 'button small', 'aria-label': `Delete ${d.title || d.id}`,
              onclick: (ev) => removeDocument(d, ev.currentTarget),
            }, 'Delete'),
          },
        ],
        rows: shown,
        sort: { key: 'id', dir: 'asc' },
        rowAttrs: (d) => ({ 'data-testid': 'doc-row', 'data-doc-id': d.id }),
        empty: f ? 'No document matches the filter.' : 'This collection has no documents.',
      }));
    };
    filter.addEventListener('input', draw);
    docsBox.append(field('Filter documents', filter), docsError, holder);
    draw();
  }

  async function removeDocument(d, opener) {
    const ok = await confirmDialog({
      title: 'Delete this document?',
      message: el('p', {}, 'Delete ', el('strong', {}, d.title || d.id), ' (', el('code', {}, d.id), `) from “${state.selected}”? `,
        'Its chunks leave search and chat at once. This cannot be undone; upload the file again to restore it.'),
      confirmLabel: 'Delete', danger: true,
    });
    if (!ok) return;
    clear(docsError);
    try {
      await ctx.api(`/v1/collections/${seg(state.selected)}/documents/${seg(d.id)}`, { method: 'DELETE' });
    } catch (e) {
      docsError.append(errorBox(e, `Could not delete ${d.id}.`));
      if (opener && opener.isConnected) opener.focus();
      return;
    }
    ctx.announce(`Deleted ${d.title || d.id}.`);
    await refresh();
    const h = document.getElementById('kb-docs-h');
    if (h) { h.setAttribute('tabindex', '-1'); h.focus(); }
  }

  // Switching collection redraws this page only (no route change, so focus
  // can go to the documents' heading rather than back to the h1).
  async function select(name) {
    state.selected = name;
    history.replaceState(null, '', `#/kb?collection=${encodeURIComponent(name)}`);
    await refresh();
    const h = document.getElementById('kb-docs-h');
    if (h) { h.setAttribute('tabindex', '-1'); h.focus(); }
    ctx.announce(`Showing the documents of ${name}.`);
  }

  async function refresh() {
    if (await loadCollections()) await loadDocuments();
  }

  drawUpload(ctx, uploadBox, state, refresh);
  await refresh();
}

function drawUpload(ctx, box, state, refresh) {
  const target = el('input', { type: 'text', id: 'kb-upload-collection', value: state.selected || 'support', required: true, pattern: '[A-Za-z0-9_.\\-]{1,64}', spellcheck: 'false' });
  const files = el('input', { type: 'file', id: 'kb-files', multiple: true, accept: ACCEPT });
  const submit = el('button', { type: 'submit', class: 'button primary' }, 'Upload');
  const results = el('ul', { class: 'upload-list', 'aria-label': 'Upload results' });
  const formError = el('div');
  const drop = el('div', { class: 'drop-zone' },
    field('Files', files, 'Markdown, HTML, text, PDF or BEIR JSONL. You can also drop files here.'));
  const form = el('form', { 'aria-labelledby': 'kb-upload-h' },
    field('Collection', target, 'An existing collection, or a new name to create one.'),
    drop, submit, formError);
  box.append(el('h2', { id: 'kb-upload-h' }, 'Upload documents'), form, results);

  let dropped = null;
  drop.addEventListener('dragover', (ev) => { ev.preventDefault(); drop.classList.add('dragging'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragging'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('dragging');
    if (ev.dataTransfer && ev.dataTransfer.files.length) {
      dropped = [...ev.dataTransfer.files];
      ctx.announce(`${dropped.length} file${dropped.length === 1 ? '' : 's'} ready to upload.`);
      form.requestSubmit();
    }
  });
  files.addEventListener('change', () => { dropped = null; });

  // Keep the target in step with the collection being viewed.
  box.addEventListener('focusin', () => {
    if (!target.dataset.touched && state.selected) target.value = state.selected;
  });
  target.addEventListener('input', () => { target.dataset.touched = '1'; });

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clear(formError);
    const list = dropped || [...files.files];
    dropped = null;
    const collection = target.value.trim();
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(collection)) {
      formError.append(errorBox(new Error('A collection name is 1 to 64 letters, digits, “_”, “-” or “.”.')));
      target.focus();
      return;
    }
    if (list.length === 0) {
      formError.append(errorBox(new Error('Choose at least one file to upload.')));
      files.focus();
      return;
    }
    submit.disabled = true;
    clear(results);
    const rows = list.map((f) => {
      const progress = el('progress', { max: '1', value: '0', 'aria-label': `Upload progress of ${f.name}` });
      const status = el('span', { class: 'upload-status' }, 'Waiting…');
      const li = el('li', { 'data-testid': 'upload-file', 'data-file': f.name, 'data-state': 'waiting' },
        el('span', { class: 'upload-name' }, f.name, el('span', { class: 'muted' }, ` ${fmtBytes(f.size)}`)),
        progress, status);
      results.append(li);
      return { f, li, progress, status };
    });
    let okCount = 0;
    for (const r of rows) {
      r.status.textContent = 'Uploading…';
      r.li.dataset.state = 'uploading';
      const form = new FormData();
      form.append('file', r.f, r.f.name);
      try {
        const res = await upload(`/v1/collections/${seg(collection)}/documents`, form, {
          onProgress: (p) => { r.progress.value = p; },
        });
        r.progress.value = 1;
        const b = res.body || {};
        const parts = [];
        if (b.added) parts.push(`added ${b.added}`);
        if (b.updated) parts.push(`updated ${b.updated}`);
        if (b.unchanged) parts.push(`unchanged ${b.unchanged}`);
        if (b.failed) parts.push(`failed ${b.failed}`);
        const summary = `${parts.join(', ') || 'done'}; ${b.chunks || 0} chunk${b.chunks === 1 ? '' : 's'}`;
        const errs = b.errors || [];
        r.status.textContent = errs.length ? `${summary}. ${errs.join('; ')}` : `${cap(summary)}.`;
        r.status.classList.add(b.failed ? 'bad' : 'ok');
        r.li.dataset.state = b.failed ? 'partial' : 'done';
        okCount += 1;
      } catch (e) {
        r.progress.value = 0;
        let text = uploadErrorText(e);
        r.status.textContent = text;
        r.status.classList.add('bad');
        r.status.setAttribute('role', 'alert');
        r.li.dataset.state = 'failed';
        if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.code === 'no_key')) {
          // The same answer is coming for every file: stop here.
          for (const rest of rows.slice(rows.indexOf(r) + 1)) {
            rest.status.textContent = 'Not sent.';
            rest.li.dataset.state = 'skipped';
          }
          break;
        }
      }
    }
    submit.disabled = false;
    files.value = '';
    ctx.announce(`Upload finished: ${okCount} of ${rows.length} file${rows.length === 1 ? '' : 's'} accepted.`);
    if (okCount > 0) {
      state.selected = collection;
      await refresh();
    }
  });
}

function cap(s) { return s.charAt(0).toUpperCase() + s.slice(1); }

function uploadErrorText(e) {
  if (e instanceof ApiError) {
    if (e.status === 403) return `Refused: uploading needs an admin key; this key has query scope only. (${e.message})`;
    if (e.status === 401) return `Refused: the API key was refused: ${e.message}`;
    const errs = e.body && Array.isArray(e.body.errors) ? e.body.errors : [];
    if (errs.length) return `Failed: ${errs.join('; ')}`;
    return `Failed: ${e.message}${e.status ? ` (HTTP ${e.status})` : ''}`;
  }
  return `Failed: ${e && e.message ? e.message : e}`;
}
