// Compare page (#/compare?a=RUN&b=RUN): two runs side by side: params with
// the differing ones marked, metrics with the difference, both PR curves on
// one chart. Without a and b it offers a form to choose the runs.
import { prChart, prPoints, rocChart, rocPoints } from './run.js';
import { badge, done, el, enc, fail, fmtNum, fmtSigned, fmtTime, fmtWindow, missing, pageStart, section, shortId } from '../ml_util.js';

function chooser(ctx, body, runs, a, b) {
  const opt = (r) => el('option', { value: r.run_id },
    `${r.experiment} · ${shortId(r.run_id, 10)} · ${missing(r.data_to) ? '' : r.data_to} · AUPRC ${fmtNum(r.metrics && r.metrics['test.auprc'], 3)}`);
  const selA = el('select', { id: 'cmp-a', required: true }, el('option', { value: '' }, 'Choose a run'), runs.map(opt));
  const selB = el('select', { id: 'cmp-b', required: true }, el('option', { value: '' }, 'Choose a run'), runs.map(opt));
  if (a) selA.value = a;
  if (b) selB.value = b;
  const form = el('form', {
    class: 'ml-filters', 'aria-label': 'Choose two runs',
    onsubmit: (e) => {
      e.preventDefault();
      if (!selA.value || !selB.value) return;
      ctx.navigate(`#/compare?a=${enc(selA.value)}&b=${enc(selB.value)}`);
    },
  },
  el('label', { for: 'cmp-a' }, 'Run A', selA),
  el('label', { for: 'cmp-b' }, 'Run B', selB),
  el('button', { type: 'submit', class: 'button primary' }, 'Compare'));
  body.append(form);
}

export async function render(root, ctx) {
  const a = ctx.query.get('a');
  const b = ctx.query.get('b');
  const { body } = pageStart(root, 'Compare runs', { crumbs: [['Runs', '#/runs'], ['Compare']] });
  if (!a || !b) {
    try {
      const runs = (await ctx.api('/v1/runs?limit=500')).data || [];
      done(body);
      body.append(el('p', {}, 'Choose two runs, or select two on the ', el('a', { href: '#/runs' }, 'runs page'), '.'));
      chooser(ctx, body, runs, a, b);
    } catch (err) {
      fail(body, err);
    }
    return;
  }
  let A;
  let B;
  try {
    [A, B] = await Promise.all([ctx.api(`/v1/runs/${enc(a)}`), ctx.api(`/v1/runs/${enc(b)}`)]);
  } catch (err) {
    fail(body, err);
    return;
  }
  done(body);
  const label = (r, n) => `${n}: ${shortId(r.run_id, 10)}`;

  // Who is who.
  const head = el('table', { class: 'data-table' },
    el('caption', {}, 'The two runs'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, ''), el('th', { scope: 'col' }, 'Run A'), el('th', { scope: 'col' }, 'Run B'))),
    el('tbody', {},
      [
        ['Run', (r) => el('a', { href: `#/runs/${enc(r.run_id)}`, class: 'ml-mono', title: r.run_id }, shortId(r.run_id, 12))],
        ['Experiment', (r) => r.experiment],
        ['Status', (r) => badge(r.status)],
        ['Data window', (r) => fmtWindow(r.data_from, r.data_to)],
        ['Test from', (r) => (missing(r.test_from) ? '—' : r.test_from)],
        ['Started', (r) => fmtTime(r.start_time)],
        ['Decision', (r) => (r.decision ? badge(r.decision.decision) : (r.tags && r.tags['promotion.decision']) || '—')],
        ['Model version', (r) => (r.model_version === null || r.model_version === undefined ? '—'
          : `${r.model_name || ''} version ${typeof r.model_version === 'number' ? r.model_version : r.model_version.version}`.trim())],
      ].map(([k, f]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', {}, f(A)), el('td', {}, f(B))))));
  body.append(el('div', { class: 'table-wrap' }, head));

  // Curves.
  const pr = [
    { name: `A ${shortId(A.run_id)} (AUPRC ${fmtNum(A.metrics && A.metrics['test.auprc'], 3)})`, points: prPoints(A.curves && A.curves.pr), markers: false },
    { name: `B ${shortId(B.run_id)} (AUPRC ${fmtNum(B.metrics && B.metrics['test.auprc'], 3)})`, points: prPoints(B.curves && B.curves.pr), markers: false },
  ];
  const roc = [
    { name: `A ${shortId(A.run_id)}`, points: rocPoints(A.curves && A.curves.roc), markers: false },
    { name: `B ${shortId(B.run_id)}`, points: rocPoints(B.curves && B.curves.roc), markers: false },
  ];
  body.append(section('Curves', el('div', { class: 'ml-charts' },
    el('figure', {}, el('figcaption', {}, 'Precision-recall, both runs'), prChart(pr, 'Precision-recall curves of runs A and B')),
    el('figure', {}, el('figcaption', {}, 'ROC, both runs'), rocChart(roc, 'ROC curves of runs A and B')))));

  // Metrics with B − A.
  const mA = A.metrics || {};
  const mB = B.metrics || {};
  const mkeys = [...new Set([...Object.keys(mA), ...Object.keys(mB)])].sort((x, y) => x.localeCompare(y));
  const mt = el('table', { class: 'data-table' },
    el('caption', {}, 'Metrics (last values); difference is B − A'),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Metric'), el('th', { scope: 'col', class: 'num' }, label(A, 'A')),
      el('th', { scope: 'col', class: 'num' }, label(B, 'B')), el('th', { scope: 'col', class: 'num' }, 'B − A'))));
  const mtb = el('tbody');
  if (!mkeys.length) mtb.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'No metrics.')));
  for (const k of mkeys) {
    const va = mA[k];
    const vb = mB[k];
    const both = Number.isFinite(Number(va)) && Number.isFinite(Number(vb)) && va !== undefined && vb !== undefined;
    mtb.append(el('tr', { class: both && Number(va) !== Number(vb) ? null : null },
      el('th', { scope: 'row', class: 'ml-mono' }, k),
      el('td', { class: 'num' }, fmtNum(va)), el('td', { class: 'num' }, fmtNum(vb)),
      el('td', { class: 'num' }, both ? fmtSigned(Number(vb) - Number(va)) : '—')));
  }
  mt.append(mtb);
  body.append(section('Metrics', el('div', { class: 'table-wrap' }, mt)));

  // Params with differences marked (row class and a text marker).
  const pA = A.params || {};
  const pB = B.params || {};
  const pkeys = [...new Set([...Object.keys(pA), ...Object.keys(pB)])].sort((x, y) => x.localeCompare(y));
  let differing = 0;
  const onlyDiff = el('input', { type: 'checkbox', id: 'cmp-only-diff' });
  const pt = el('table', { class: 'data-table' },
    el('caption', {}, 'Params; rows marked “differs” are not the same in both runs'),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, 'Param'), el('th', { scope: 'col' }, label(A, 'A')), el('th', { scope: 'col' }, label(B, 'B')),
      el('th', { scope: 'col' }, 'Same?'))));
  const ptb = el('tbody');
  if (!pkeys.length) ptb.append(el('tr', {}, el('td', { colspan: 4, class: 'empty' }, 'No params.')));
  for (const k of pkeys) {
    const diff = String(pA[k]) !== String(pB[k]);
    if (diff) differing++;
    ptb.append(el('tr', { class: diff ? 'ml-diff' : 'ml-same', 'data-param': k, 'data-differs': diff ? 'true' : 'false' },
      el('th', { scope: 'row', class: 'ml-mono' }, k),
      el('td', { class: 'ml-break' }, pA[k] === undefined ? '(not set)' : String(pA[k])),
      el('td', { class: 'ml-break' }, pB[k] === undefined ? '(not set)' : String(pB[k])),
      el('td', {}, diff ? el('span', { class: 'ml-diff-mark' }, '≠ differs') : 'same')));
  }
  pt.append(ptb);
  onlyDiff.addEventListener('change', () => {
    for (const tr of ptb.querySelectorAll('tr.ml-same')) tr.hidden = onlyDiff.checked;
  });
  body.append(section('Params',
    el('p', {}, `${differing} of ${pkeys.length} params differ.`),
    el('p', {}, onlyDiff, ' ', el('label', { for: 'cmp-only-diff' }, 'Show only params that differ')),
    el('div', { class: 'table-wrap' }, pt)));
}
