// Validation result page (#/quality/RESULT_ID): one day's checks, failed
// first, then warned, passed and skipped; the HTML report in a sandboxed
// iframe (fetched with the key, shown through srcdoc).
import { badge, button, done, el, enc, errorBox, fail, fetchBlob, fmtNum, fmtTime, pageStart, param, saveBlob, section } from '../ml_util.js';

// "fail" | "warn" | "pass" | "skip" from a check's status and severity
// (the stored format says passed/failed/skipped; a failed warn-severity check is a warning).
export function outcome(check) {
  const s = String(check.status || '').toLowerCase();
  if (s.startsWith('skip')) return 'skip';
  if (s.startsWith('warn')) return 'warn';
  if (s.startsWith('fail')) return String(check.severity).toLowerCase() === 'warn' ? 'warn' : 'fail';
  if (s.startsWith('pass') || s === 'ok') return 'pass';
  return s || 'skip';
}

const RANK = { fail: 0, warn: 1, pass: 2, skip: 3 };
const LABEL = { fail: 'failed', warn: 'warned', pass: 'passed', skip: 'skipped' };
const KIND = { fail: 'bad', warn: 'warn', pass: 'ok', skip: 'neutral' };

function show(v) {
  if (v === null || v === undefined || v === '') return '—';
  if (typeof v === 'number') return fmtNum(v, 6);
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export async function render(root, ctx) {
  const id = param(ctx);
  const { body, h1 } = pageStart(root, `Validation result ${id}`, { crumbs: [['Data quality', '#/quality'], [`Result ${id}`]] });
  let r;
  try {
    r = await ctx.api(`/v1/validation/${enc(id)}`);
  } catch (err) {
    fail(body, err);
    return;
  }
  done(body);
  h1.textContent = `Validation of ${r.day} (${r.suite})`;
  const checks = (r.checks || []).map((c, i) => ({ ...c, outcome: outcome(c), index: i }));
  checks.sort((a, b) => (RANK[a.outcome] ?? 9) - (RANK[b.outcome] ?? 9) || a.index - b.index);
  const count = (o) => checks.filter((c) => c.outcome === o).length;
  const s = r.summary || {};

  body.append(
    el('div', { class: r.passed ? 'notice notice-ok' : 'error-box', role: 'status', 'data-testid': 'quality-verdict' },
      el('p', {}, el('strong', {}, r.passed ? 'Passed. ' : 'Failed. '),
        `${s.checks ?? checks.length} checks: ${count('fail')} failed, ${count('warn')} warned, ${count('pass')} passed, ${count('skip')} skipped.`,
        r.passed ? '' : ' Nothing trains on this day until it is fixed and validated again.')),
    el('dl', { class: 'ml-facts' },
      [['Suite', r.suite], ['Day', r.day], ['Rows', fmtNum(r.rows)],
        ['Reference window', r.reference ? `${String(r.reference.from).slice(0, 10)} – ${String(r.reference.to).slice(0, 10)} (${fmtNum(r.reference.rows)} rows)` : '—'],
        ['Validated', fmtTime(r.created_at)], ['Result id', String(r.result_id ?? id)]]
        .map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v)))));

  const table = el('table', { class: 'data-table' },
    el('caption', {}, 'Checks: failed first, then warned, passed and skipped'),
    el('thead', {}, el('tr', {}, ['Outcome', 'Check', 'Type', 'Column', 'Severity', 'Expected', 'Observed', 'Detail']
      .map((h) => el('th', { scope: 'col' }, h)))));
  const tb = el('tbody');
  if (!checks.length) tb.append(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No checks.')));
  for (const c of checks) {
    tb.append(el('tr', { 'data-testid': 'check-row', 'data-check': c.name, 'data-outcome': c.outcome },
      el('td', {}, badge(LABEL[c.outcome] || c.outcome, KIND[c.outcome])),
      el('th', { scope: 'row', class: 'ml-mono' }, c.name),
      el('td', {}, c.type || '—'),
      el('td', {}, c.column || '—'),
      el('td', {}, c.severity || '—'),
      el('td', {}, show(c.expected)),
      el('td', { class: typeof c.observed === 'number' ? 'num' : null }, show(c.observed)),
      el('td', {}, show(c.detail))));
  }
  table.append(tb);
  body.append(section('Checks', el('div', { class: 'table-wrap' }, table)));

  if (r.quarantine && Object.keys(r.quarantine).length) {
    body.append(section('Quarantined rows',
      el('table', { class: 'data-table' }, el('caption', {}, 'Rows held back on this day, by reason'),
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Reason'), el('th', { scope: 'col', class: 'num' }, 'Rows'))),
        el('tbody', {}, Object.entries(r.quarantine).map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'num' }, fmtNum(v))))))));
  }

  // The HTML report: self-contained, no scripts; shown sandboxed.
  const reportPath = r.report_url || `/v1/validation/${enc(id)}/report`;
  const reportBox = el('div', {}, el('p', { class: 'loading', role: 'status' }, 'Loading the report…'));
  const reportSec = section('HTML report',
    el('div', { class: 'toolbar' }, button('Download report', {
      onclick: async () => {
        try {
          saveBlob(await fetchBlob(ctx.api, reportPath), `validation-${r.suite}-${r.day}.html`);
        } catch (err) {
          reportBox.prepend(errorBox(err));
        }
      },
    })),
    reportBox);
  body.append(reportSec);
  try {
    const res = await ctx.api(reportPath, { raw: true, signal: ctx.signal });
    const html = await res.text();
    if (!reportBox.isConnected) return;
    reportBox.replaceChildren(el('iframe', {
      class: 'ml-report', title: `Validation report of ${r.day}`, sandbox: '', srcdoc: html, 'data-testid': 'quality-report',
    }));
  } catch (err) {
    if (err && err.name === 'AbortError') return;
    reportBox.replaceChildren(errorBox(err));
  }
}
