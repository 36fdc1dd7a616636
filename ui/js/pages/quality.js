// Data quality page (#/quality): the validation verdict of each day (newest
// first; a re-validated day shows its latest result) and drift charts, one
// per feature and statistic, over the days (GET /v1/validation/drift).
import { lineChart } from '../charts.js';
import { badge, done, el, enc, errorBox, fail, fmtNum, fmtTime, pageStart, section, timeValue } from '../ml_util.js';

const LIMIT = 365;

// Latest result per (suite, day), newest day first; earlier results ride along.
export function latestPerDay(results) {
  const byKey = new Map();
  for (const r of results) {
    const k = `${r.suite}\u0000${r.day}`;
    if (!byKey.has(k)) byKey.set(k, []);
    byKey.get(k).push(r);
  }
  const out = [];
  for (const list of byKey.values()) {
    list.sort((a, b) => (b.result_id || 0) - (a.result_id || 0) || timeValue(b.created_at) - timeValue(a.created_at));
    out.push({ ...list[0], earlier: list.slice(1) });
  }
  out.sort((a, b) => String(b.day).localeCompare(String(a.day)) || String(a.suite).localeCompare(String(b.suite)));
  return out;
}

function verdict(r) {
  if (r.passed) return r.warned_checks ? badge(`passed, ${r.warned_checks} warned`, 'warn') : badge('passed');
  return badge('failed');
}

function driftChart(column, type, points) {
  const n = points.length;
  const num = (v) => (v === null || v === undefined || v === '' ? NaN : Number(v));
  // Skipped days (no reference rows) have no value: they leave a gap in the x axis, not a 0.
  const values = points.map((p, i) => [i, num(p.value)]);
  const maxes = points.map((p, i) => [i, num(p.max)]).filter((p) => Number.isFinite(p[1]));
  const hi = Math.max(...values.map((p) => p[1]).filter(Number.isFinite), ...maxes.map((p) => p[1]), 0) * 1.15 || 1;
  const step = Math.max(1, Math.ceil(n / 6));
  const ticks = [];
  for (let i = 0; i < n; i += step) ticks.push(i);
  if (n > 1 && ticks[ticks.length - 1] !== n - 1 && n - 1 - ticks[ticks.length - 1] >= step * 0.75) ticks.push(n - 1);
  const stat = type === 'ks' ? 'KS statistic' : type === 'psi' ? 'PSI' : type;
  const failedDays = points.filter((p) => String(p.status).startsWith('fail')).map((p) => p.day);
  const svg = lineChart({
    series: [
      {
        name: stat, points: values, markers: true,
        pointLabels: points.map((p) => `${p.day}: ${fmtNum(p.value)} (${p.status})`),
        pointBad: points.map((p) => String(p.status).startsWith('fail')),
      },
      { name: 'max (fails above)', points: maxes, dashed: true, color: '#9b1c1c', markers: false },
    ],
    xLabel: 'Day', yLabel: stat, width: 380, height: 210, compact: true,
    xDomain: [0, Math.max(1, n - 1)], yDomain: [0, hi], xTicks: ticks,
    xTickFormat: (i) => (points[i] ? String(points[i].day).slice(5) : ''),
    title: `${stat} of ${column} by day`,
    desc: `${n} days from ${points[0] ? points[0].day : '—'} to ${points[n - 1] ? points[n - 1].day : '—'}. ` +
      (failedDays.length ? `Failed on ${failedDays.join(', ')}.` : 'No day failed.'),
    testid: 'drift-chart',
  });
  svg.setAttribute('data-column', column);
  svg.setAttribute('data-type', type);
  const table = el('table', { class: 'data-table' },
    el('thead', {}, el('tr', {}, ['Day', stat, 'Max', 'Status'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, points.map((p) => el('tr', {}, el('td', {}, p.day), el('td', { class: 'num' }, fmtNum(p.value)),
      el('td', { class: 'num' }, fmtNum(p.max)), el('td', {}, badge(p.status))))));
  return el('figure', {},
    el('figcaption', {}, `${column} — ${stat}`),
    svg,
    el('details', {}, el('summary', {}, `Values of ${column} (${stat}) as a table`), el('div', { class: 'table-wrap' }, table)));
}

export async function render(root, ctx) {
  const { body } = pageStart(root, 'Data quality', {
    lead: 'Each day\'s transactions are checked against an expectation suite before anything trains on them.',
  });
  let results;
  try {
    results = (await ctx.api(`/v1/validation?limit=${LIMIT}`)).data || [];
  } catch (err) {
    fail(body, err);
    return;
  }
  done(body);
  const suites = [...new Set(results.map((r) => r.suite))].sort();
  const wanted = ctx.query.get('suite');
  let suite = suites.includes(wanted) ? wanted : suites.includes('transactions') ? 'transactions' : suites[0] || '';

  const suiteSelect = el('select', { id: 'quality-suite' }, suites.map((s) => el('option', { value: s }, s)));
  suiteSelect.value = suite;
  const onlyFailed = el('input', { id: 'quality-failed', type: 'checkbox' });
  const listBox = el('div');
  const driftBox = el('div', { class: 'ml-charts small' });
  const summary = el('p', { role: 'status' });

  function drawList() {
    const rows = latestPerDay(results.filter((r) => r.suite === suite)).filter((r) => !onlyFailed.checked || !r.passed);
    const failedDays = rows.filter((r) => !r.passed).length;
    summary.textContent = `${rows.length} days shown; ${failedDays} failed.`;
    const table = el('table', { class: 'data-table' },
      el('caption', {}, `Validation results of suite ${suite}, newest day first`),
      el('thead', {}, el('tr', {}, ['Day', 'Verdict', 'Failed checks', 'Warned checks', 'Rows', 'Validated', 'Earlier results']
        .map((h, i) => el('th', { scope: 'col', class: [2, 3, 4].includes(i) ? 'num' : null }, h)))));
    const tb = el('tbody');
    if (!rows.length) tb.append(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, results.length ? 'No day matches.' : 'No validation results yet (lathe validate or the daily pipeline writes them).')));
    for (const r of rows) {
      tb.append(el('tr', { 'data-testid': 'quality-row', 'data-result-id': r.result_id, 'data-day': r.day, 'data-passed': r.passed ? 'true' : 'false' },
        el('th', { scope: 'row' }, el('a', { href: `#/quality/${enc(r.result_id)}` }, r.day)),
        el('td', {}, verdict(r)),
        el('td', { class: 'num' }, String(r.failed_checks ?? '—')),
        el('td', { class: 'num' }, String(r.warned_checks ?? '—')),
        el('td', { class: 'num' }, fmtNum(r.rows)),
        el('td', {}, fmtTime(r.created_at)),
        el('td', {}, r.earlier.length
          ? r.earlier.map((e, i) => [i ? ', ' : '', el('a', { href: `#/quality/${enc(e.result_id)}`, 'aria-label': `Earlier result ${e.result_id} of ${r.day}` }, `#${e.result_id}`)])
          : '—')));
    }
    table.append(tb);
    listBox.replaceChildren(el('div', { class: 'table-wrap' }, table));
  }

  async function drawDrift() {
    if (!suite) {
      driftBox.replaceChildren(el('p', {}, 'No suite has results yet.'));
      return;
    }
    driftBox.replaceChildren(el('p', { class: 'loading', role: 'status' }, 'Loading drift…'));
    let drift;
    try {
      drift = await ctx.api(`/v1/validation/drift?suite=${enc(suite)}&limit=60`, { signal: ctx.signal });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      driftBox.replaceChildren(errorBox(err));
      return;
    }
    const figs = [];
    for (const [column, list] of Object.entries(drift.features || {}).sort(([a], [b]) => a.localeCompare(b))) {
      const byType = new Map();
      for (const p of list) {
        if (!byType.has(p.type)) byType.set(p.type, []);
        byType.get(p.type).push(p);
      }
      for (const [type, pts] of byType) {
        pts.sort((a, b) => String(a.day).localeCompare(String(b.day)));
        figs.push(driftChart(column, type, pts));
      }
    }
    driftBox.replaceChildren(...(figs.length ? figs : [el('p', {}, 'This suite has no drift (psi or ks) checks with values yet.')]));
  }

  suiteSelect.addEventListener('change', () => {
    suite = suiteSelect.value;
    const hash = `#/quality?suite=${enc(suite)}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
    drawList();
    drawDrift();
  });
  onlyFailed.addEventListener('change', drawList);

  body.append(
    el('form', { class: 'ml-filters', 'aria-label': 'Choose the results', onsubmit: (e) => e.preventDefault() },
      suites.length > 1 ? el('label', { for: 'quality-suite' }, 'Suite', suiteSelect) : '',
      el('span', { class: 'ml-inline' }, onlyFailed, el('label', { for: 'quality-failed' }, 'Only failed days'))),
    section('Results per day', summary, listBox),
    section('Drift by feature', el('p', {}, 'PSI and KS of each watched column against its reference window; the dashed line is the check\'s maximum, squares mark failed days.'), driftBox));
  drawList();
  await drawDrift();
}
