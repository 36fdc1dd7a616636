// Search playground: run /v1/search with a chosen retriever and k, and show
// the fused ranking beside each branch's own rank and score, so one can see
// why a chunk ranks where it does. The form is mirrored in the URL hash.

import { el, clear, errorBox, field, pageHeading, table, fmtNum, notice } from '../ui.js';

const RETRIEVERS = [
  ['hybrid', 'Hybrid (BM25 + vector, fused)'],
  ['bm25', 'BM25 (keywords)'],
  ['vector', 'Vector (embeddings)'],
];

export async function render(root, ctx) {
  root.append(pageHeading('Search playground'),
    el('p', { class: 'muted' }, 'Try a query against a collection and see how the keyword (BM25) and vector retrievers rank each passage, and how their ranks are fused.'));

  let collections = [];
  try {
    collections = (await ctx.api('/v1/collections', { signal: ctx.signal })).data || [];
  } catch (e) {
    if (e.name === 'AbortError') return;
    root.append(errorBox(e, 'Could not load the collections.'));
    return;
  }
  if (collections.length === 0) {
    root.append(notice('There are no collections yet. Upload documents on the Knowledge base page first.', 'warn'));
    return;
  }

  const q = ctx.query;
  const wantedCollection = collections.some((c) => c.name === q.get('collection')) ? q.get('collection') : collections[0].name;
  const query = el('input', { type: 'search', id: 'search-query', value: q.get('q') || '', required: true, maxlength: 8000, placeholder: 'e.g. reset link expired', 'data-testid': 'search-input' });
  const collection = el('select', { id: 'search-collection' },
    collections.map((c) => el('option', { value: c.name, selected: c.name === wantedCollection }, c.name)));
  const kInput = el('input', { type: 'number', id: 'search-k', min: 1, max: 100, step: 1, value: q.get('k') || '10', required: true });
  const wantedRetriever = RETRIEVERS.some(([v]) => v === q.get('retriever')) ? q.get('retriever') : 'hybrid';
  const retriever = el('select', { id: 'search-retriever' },
    RETRIEVERS.map(([v, label]) => el('option', { value: v, selected: v === wantedRetriever }, label)));
  const submit = el('button', { type: 'submit', class: 'button primary' }, 'Search');
  const qField = field('Query', query);
  qField.classList.add('q');
  const form = el('form', { class: 'search-form', role: 'search' },
    el('div', { class: 'form-row' }, qField, field('Collection', collection), field('Results (k)', kInput), field('Retriever', retriever), submit));
  const results = el('section', { 'aria-label': 'Search results', class: 'search-results' });
  root.append(form, results);

  async function run() {
    const k = Number(kInput.value);
    const body = { collection: collection.value, query: query.value.trim(), k, retriever: retriever.value };
    clear(results);
    if (!body.query) {
      results.append(errorBox(new Error('Enter a query.')));
      query.focus();
      return;
    }
    if (!Number.isInteger(k) || k < 1 || k > 100) {
      results.append(errorBox(new Error('k must be a whole number from 1 to 100.')));
      kInput.focus();
      return;
    }
    const params = new URLSearchParams({ q: body.query, collection: body.collection, k: String(k), retriever: body.retriever });
    history.replaceState(null, '', `#/search?${params}`);
    submit.disabled = true;
    results.append(el('p', { class: 'loading' }, 'Searching…'));
    let res;
    try {
      res = await ctx.api('/v1/search', { method: 'POST', body, signal: ctx.signal });
    } catch (e) {
      submit.disabled = false;
      if (e.name === 'AbortError') return;
      clear(results);
      results.append(errorBox(e, 'The search failed.'));
      return;
    }
    submit.disabled = false;
    clear(results);
    const hits = res.hits || [];
    const took = res.timings_ms && typeof res.timings_ms.total === 'number' ? ` in ${res.timings_ms.total.toFixed(1)} ms` : '';
    results.append(el('h2', {}, `${hits.length} hit${hits.length === 1 ? '' : 's'}${took}`),
      el('p', { class: 'explain', id: 'search-explain' },
        body.retriever === 'hybrid'
          ? 'Fused: the final order, a weighted blend of the two retrievers’ normalised scores (docs/retrieval.md). BM25: keyword-match rank and score. Vector: embedding-similarity rank and cosine score. “—”: that retriever did not return the passage among its candidates.'
          : `Fused: the final order, here the ${body.retriever === 'bm25' ? 'BM25' : 'vector'} retriever's own. BM25: keyword-match rank and score. Vector: embedding-similarity rank and cosine score. “—”: that retriever did not rank the passage (only ${body.retriever} ran).`));
    const terms = termsOf(body.query);
    const rank = (r) => (r && r.rank > 0 ? r.rank : null);
    const score = (r) => (r && r.rank > 0 ? r.score : null);
    results.append(table({
      caption: `Results for “${body.query}” in ${body.collection}`,
      class: 'hits-table',
      columns: [
        { key: 'rank', label: 'Fused rank', numeric: true, render: (h) => cell('Fused rank', String(h.rank)) },
        { key: 'score', label: 'Fused score', numeric: true, render: (h) => cell('Fused score', fmtNum(h.score)) },
        { key: 'bm25_rank', label: 'BM25 rank', numeric: true, value: (h) => rank(h.bm25), render: (h) => cell('BM25 rank', dash(rank(h.bm25))) },
        { key: 'bm25_score', label: 'BM25 score', numeric: true, value: (h) => score(h.bm25), render: (h) => cell('BM25 score', dash(score(h.bm25), fmtNum)) },
        { key: 'vector_rank', label: 'Vector rank', numeric: true, value: (h) => rank(h.vector), render: (h) => cell('Vector rank', dash(rank(h.vector))) },
        { key: 'vector_score', label: 'Vector score', numeric: true, value: (h) => score(h.vector), render: (h) => cell('Vector score', dash(score(h.vector), fmtNum)) },
        {
          key: 'title', label: 'Passage', render: (h) => el('div', { class: 'snippet' },
            el('div', { class: 'hit-title' }, h.title || h.doc_id),
            el('div', { class: 'hit-doc' }, el('code', {}, h.doc_id), ` · chunk ${h.chunk_id}`),
            el('div', {}, snippet(h.text || '', terms))),
        },
      ],
      rows: hits,
      sort: { key: 'rank', dir: 'asc' },
      rowAttrs: (h) => ({
        'data-testid': 'search-hit', 'data-chunk-id': h.chunk_id, 'data-doc-id': h.doc_id, 'data-rank': h.rank,
        'data-bm25-rank': h.bm25 ? h.bm25.rank : 0, 'data-vector-rank': h.vector ? h.vector.rank : 0,
      }),
      empty: 'No passage matched.',
    }));
    const tbl = results.querySelector('table');
    if (tbl) tbl.setAttribute('aria-describedby', 'search-explain');
    ctx.announce(`${hits.length} hit${hits.length === 1 ? '' : 's'}.`);
  }

  form.addEventListener('submit', (ev) => { ev.preventDefault(); run(); });
  if (query.value.trim()) await run();
}

// A number cell that names itself (visually hidden), so the row's text
// alone says which number is which (screen readers in browse mode, tests).
function cell(label, value) {
  return [el('span', { class: 'visually-hidden' }, `${label}: `), value];
}

function dash(v, fmt) {
  if (v === null || v === undefined) return el('span', { 'aria-label': 'not ranked', title: 'not ranked by this retriever' }, '—');
  return fmt ? fmt(v) : String(v);
}

function termsOf(q) {
  return [...new Set(q.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((t) => t.length > 2))];
}

// Up to ~320 characters around the first query term, terms in <mark>.
function snippet(text, terms) {
  const flat = text.replace(/\s+/g, ' ').trim();
  let start = 0;
  const lower = flat.toLowerCase();
  const first = terms.map((t) => lower.indexOf(t)).filter((i) => i >= 0).sort((a, b) => a - b)[0];
  if (first !== undefined && first > 120) start = flat.lastIndexOf(' ', first - 60) + 1;
  let s = flat.slice(start, start + 320);
  if (start + 320 < flat.length) s = `${s.replace(/\s\S*$/, '')} …`;
  if (start > 0) s = `… ${s}`;
  if (terms.length === 0) return [s];
  const re = new RegExp(`(${terms.map(escapeRe).join('|')})`, 'giu');
  const out = [];
  let last = 0;
  let m;
  while ((m = re.exec(s))) {
    if (m.index > last) out.push(s.slice(last, m.index));
    out.push(el('mark', {}, m[0]));
    last = m.index + m[0].length;
  }
  out.push(s.slice(last));
  return out;
}

function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
