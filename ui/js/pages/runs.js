// Runs page (#/runs): every tracked training run, filterable and sortable;
// pick two to compare. Filters are kept in the hash query (?experiment=&status=&q=).
import { el, enc, fail, done, fmtWindow, missing, fmtNum, fmtTime, pageStart, sortableTable, badge, shortId, timeValue } from '../ml_util.js';

const LIMIT = 1000;

export async function render(root, ctx) {
  const { body } = pageStart(root, 'Runs', {
    lead: 'Training runs of every experiment: their data window, test metrics and status. Choose two to compare them.',
  });
  let runs;
  let experiments;
  try {
    [runs, experiments] = await Promise.all([
      ctx.api(`/v1/runs?limit=${LIMIT}`).then((r) => r.data || []),
      ctx.api('/v1/experiments').then((r) => (r.data || []).map((e) => e.name)).catch(() => null),
    ]);
  } catch (err) {
    fail(body, err);
    return;
  }
  if (!experiments) experiments = [...new Set(runs.map((r) => r.experiment))];
  done(body);

  const q = ctx.query || new URLSearchParams();
  const selected = new Set();

  const expSelect = el('select', { id: 'runs-experiment' },
    el('option', { value: '' }, 'All experiments'),
    experiments.map((n) => el('option', { value: n }, n)));
  expSelect.value = experiments.includes(q.get('experiment')) ? q.get('experiment') : '';
  const statusSelect = el('select', { id: 'runs-status' },
    el('option', { value: '' }, 'Any status'),
    ['finished', 'running', 'failed'].map((s) => el('option', { value: s }, s)));
  statusSelect.value = ['finished', 'running', 'failed'].includes(q.get('status')) ? q.get('status') : '';
  const text = el('input', { id: 'runs-text', type: 'search', value: q.get('q') || '', placeholder: 'run id, tag, date…' });

  const filters = el('form', { class: 'ml-filters', role: 'search', 'aria-label': 'Filter runs', onsubmit: (e) => e.preventDefault() },
    el('label', { for: 'runs-experiment' }, 'Experiment', expSelect),
    el('label', { for: 'runs-status' }, 'Status', statusSelect),
    el('label', { for: 'runs-text' }, 'Filter text', text));

  const count = el('p', { role: 'status', class: 'ml-count' });
  const compareBtn = el('button', { type: 'button', class: 'button primary', disabled: true, onclick: compare }, 'Compare');
  const compareHint = el('span', { id: 'compare-hint' }, 'Select two runs to compare.');
  compareBtn.setAttribute('aria-describedby', 'compare-hint');

  const metric = (r, k) => (r.metrics && Number.isFinite(Number(r.metrics[k])) ? Number(r.metrics[k]) : null);
  const columns = [
    {
      key: 'select', label: 'Compare', sortable: false,
      render: (r) => el('input', {
        type: 'checkbox', 'aria-label': `Select run ${shortId(r.run_id)} for comparison`, checked: selected.has(r.run_id),
        onchange: (e) => {
          if (e.target.checked) selected.add(r.run_id);
          else selected.delete(r.run_id);
          e.target.closest('tr').classList.toggle('ml-selected', e.target.checked);
          updateCompare();
        },
      }),
    },
    { key: 'experiment', label: 'Experiment' },
    {
      key: 'run_id', label: 'Run', value: (r) => r.run_id,
      render: (r) => el('a', { href: `#/runs/${enc(r.run_id)}`, class: 'ml-mono', title: r.run_id }, shortId(r.run_id, 10)),
    },
    { key: 'status', label: 'Status', render: (r) => badge(r.status) },
    {
      key: 'window', label: 'Data window', nowrap: true, value: (r) => (missing(r.data_from) ? '' : r.data_from),
      render: (r) => fmtWindow(r.data_from, r.data_to),
    },
    { key: 'auprc', label: 'Test AUPRC', numeric: true, value: (r) => metric(r, 'test.auprc'), render: (r) => fmtNum(metric(r, 'test.auprc')) },
    { key: 'roc', label: 'Test ROC-AUC', numeric: true, value: (r) => metric(r, 'test.roc_auc'), render: (r) => fmtNum(metric(r, 'test.roc_auc')) },
    { key: 'decision', label: 'Decision', value: (r) => (r.tags && r.tags['promotion.decision']) || '', render: (r) => (r.tags && r.tags['promotion.decision'] ? badge(r.tags['promotion.decision']) : '—') },
    { key: 'start_time', label: 'Started', value: (r) => timeValue(r.start_time), render: (r) => fmtTime(r.start_time) },
  ];
  const table = sortableTable({
    caption: 'Training runs',
    columns,
    rows: [],
    sort: { key: 'start_time', dir: 'descending' },
    empty: runs.length ? 'No run matches the filters.' : 'No runs yet. Train a model (lathe train or the daily pipeline) to see runs here.',
    rowAttrs: (r) => ({ 'data-testid': 'run-row', 'data-run-id': r.run_id, class: selected.has(r.run_id) ? 'ml-selected' : null }),
  });

  function matches(r) {
    if (expSelect.value && r.experiment !== expSelect.value) return false;
    if (statusSelect.value && r.status !== statusSelect.value) return false;
    const t = text.value.trim().toLowerCase();
    if (!t) return true;
    const hay = [r.run_id, r.experiment, r.status, r.data_from, r.test_from, r.data_to, r.source_version, r.error,
      ...Object.entries(r.tags || {}).map(([k, v]) => `${k}=${v}`)].join(' ').toLowerCase();
    return hay.includes(t);
  }

  function apply() {
    const list = runs.filter(matches);
    table.setRows(list);
    count.textContent = `${list.length} of ${runs.length} runs shown.`;
    const p = new URLSearchParams();
    if (expSelect.value) p.set('experiment', expSelect.value);
    if (statusSelect.value) p.set('status', statusSelect.value);
    if (text.value.trim()) p.set('q', text.value.trim());
    const hash = '#/runs' + (p.toString() ? `?${p}` : '');
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  function updateCompare() {
    compareBtn.disabled = selected.size !== 2;
    compareHint.textContent = selected.size === 2 ? 'Two runs selected.'
      : selected.size > 2 ? `${selected.size} runs selected; select exactly two.` : `Select two runs to compare (${selected.size} selected).`;
  }

  function compare() {
    if (selected.size !== 2) return;
    const [a, b] = [...selected];
    ctx.navigate(`#/compare?a=${enc(a)}&b=${enc(b)}`);
  }

  expSelect.addEventListener('change', apply);
  statusSelect.addEventListener('change', apply);
  text.addEventListener('input', apply);

  body.append(filters, el('div', { class: 'ml-actions' }, compareBtn, compareHint), count,
    el('div', { class: 'ml-table-wrap' }, table.table));
  apply();
  updateCompare();
}
