// DAG page (#/pipelines/DAG): the task graph coloured by the latest run's
// task states, the run history, and a form to trigger a run for a date
// (admin key). Refreshes itself while a run is queued or running.
import { dagGraph, dagLegend } from '../charts.js';
import { taskSummary } from './pipelines.js';
import { badge, done, el, enc, errorBox, fail, fmtTime, pageStart, param, section, sortableTable } from '../ml_util.js';

const POLL_MS = 3000;

function today() {
  const d = new Date();
  return d.toISOString().slice(0, 10);
}

export function isActive(run) {
  return run && (run.state === 'running' || run.state === 'queued');
}

export async function render(root, ctx) {
  const dagId = param(ctx);
  const { body, wrap } = pageStart(root, `Pipeline ${dagId}`, { crumbs: [['Pipelines', '#/pipelines'], [dagId]] });
  const graphBox = el('div');
  const historyBox = el('div');
  const info = el('div');
  let timer = null;
  let lastTriggered = null;
  let pendingPolls = 0; // after a trigger, until the new run shows up

  // Trigger form.
  const date = el('input', { id: 'trigger-date', type: 'date', required: true, value: today(), 'aria-describedby': 'trigger-hint' });
  let dateTouched = false;
  date.addEventListener('input', () => { dateTouched = true; });
  const force = el('input', { id: 'trigger-force', type: 'checkbox' });
  const result = el('div', { class: 'ml-trigger-result' });
  const submit = el('button', { type: 'submit', class: 'button primary' }, 'Trigger run');
  const form = el('form', {
    class: 'form-row ml-trigger', 'aria-label': 'Trigger a run',
    onsubmit: async (e) => {
      e.preventDefault();
      if (!date.value) {
        result.replaceChildren(el('div', { class: 'error-box', role: 'alert' }, 'Choose a run date first.'));
        date.focus();
        return;
      }
      submit.disabled = true;
      result.replaceChildren(el('p', { class: 'loading', role: 'status' }, `Starting a run for ${date.value}…`));
      try {
        const r = await ctx.api(`/v1/pipelines/${enc(dagId)}/runs`, { method: 'POST', body: { date: date.value, ...(force.checked ? { force: true } : {}) } });
        lastTriggered = r.run_id;
        pendingPolls = 10;
        const text = `Run ${r.run_id} accepted (state ${r.state}) for ${r.ds}.`;
        result.replaceChildren(el('div', { class: 'notice notice-ok', role: 'status', 'data-testid': 'trigger-result' },
          el('p', {}, text, ' ', el('a', { href: `#/pipeline-runs/${enc(r.run_id)}` }, 'Follow the run'))));
        ctx.announce(text);
        await load();
      } catch (err) {
        result.replaceChildren(errorBox(err, 'Triggering a run'));
      } finally {
        submit.disabled = false;
      }
    },
  },
  el('div', { class: 'field' }, el('label', { for: 'trigger-date' }, 'Run date'), date,
    el('span', { id: 'trigger-hint', class: 'hint' }, 'The logical date (ds) of the run. Needs an admin key.')),
  el('div', { class: 'field ml-check' }, el('span', { class: 'ml-inline' }, force, el('label', { for: 'trigger-force' }, 'Run every task again (force)'))),
  submit);

  async function load() {
    let dag;
    try {
      dag = await ctx.api(`/v1/pipelines/${enc(dagId)}?limit=50`, { signal: ctx.signal });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      if (!graphBox.isConnected) fail(body, err);
      else historyBox.replaceChildren(errorBox(err));
      return;
    }
    if (!wrap.isConnected) return;
    const runs = dag.runs || [];
    const latest = dag.latest_run || runs[0] || null;
    if (!dateTouched && latest && /^\d{4}-\d{2}-\d{2}$/.test(latest.ds)) {
      // The next logical date after the newest run is the usual one to trigger.
      const next = new Date(`${latest.ds}T00:00:00Z`);
      next.setUTCDate(next.getUTCDate() + 1);
      date.value = next.toISOString().slice(0, 10);
    }

    info.replaceChildren(
      dag.description ? el('p', { class: 'ml-lead' }, dag.description) : '',
      el('p', {}, 'Schedule: ', dag.schedule ? el('code', {}, dag.schedule) : 'manual only',
        dag.path ? [' · file ', el('code', {}, dag.path)] : ''));

    const states = {};
    const tries = {};
    for (const [id, t] of Object.entries((latest && latest.tasks) || {})) {
      states[id] = t.state;
      tries[id] = t.tries;
    }
    graphBox.replaceChildren(
      el('p', {}, latest
        ? ['Colours show the tasks of the latest run, ', el('a', { href: `#/pipeline-runs/${enc(latest.run_id)}` }, latest.run_id), ' (', badge(latest.state), '). Choose a task to see its tries and log.']
        : 'This DAG has not run yet; the graph shows its tasks and dependencies.'),
      el('div', { class: 'ml-dag-wrap' }, dagGraph({
        tasks: dag.tasks || [], states, tries,
        label: `Tasks of ${dag.dag_id}` + (latest ? `, coloured by run ${latest.run_id}` : ''),
        onSelect: latest ? (task) => ctx.navigate(`#/pipeline-runs/${enc(latest.run_id)}?task=${enc(task)}`) : undefined,
      })),
      dagLegend());

    const t = sortableTable({
      caption: 'Runs, newest first',
      rows: runs,
      empty: 'No runs yet.',
      rowAttrs: (r) => ({ 'data-testid': 'pipeline-run-row', 'data-run-id': r.run_id, class: r.run_id === lastTriggered ? 'ml-selected' : null }),
      columns: [
        { key: 'run_id', label: 'Run', nowrap: true, render: (r) => el('a', { href: `#/pipeline-runs/${enc(r.run_id)}` }, r.run_id) },
        { key: 'ds', label: 'Date', nowrap: true },
        { key: 'kind', label: 'Kind' },
        { key: 'state', label: 'State', render: (r) => badge(r.state) },
        { key: 'tasks', label: 'Tasks', sortable: false, render: (r) => taskSummary(r) },
        { key: 'created_at', label: 'Created', render: (r) => fmtTime(r.created_at) },
        { key: 'started_at', label: 'Started', render: (r) => fmtTime(r.started_at) },
        { key: 'ended_at', label: 'Ended', render: (r) => fmtTime(r.ended_at) },
      ],
    });
    historyBox.replaceChildren(t.table);
    if (body.getAttribute('aria-busy')) {
      done(body);
      body.append(info,
        section('Task graph', graphBox),
        section('Trigger a run', form, result),
        section('Run history', historyBox));
    }
    clearTimeout(timer);
    if (pendingPolls > 0) pendingPolls -= 1;
    if ((runs.some(isActive) || pendingPolls > 0) && !(ctx.signal && ctx.signal.aborted)) timer = setTimeout(load, POLL_MS);
  }

  if (ctx.signal) ctx.signal.addEventListener('abort', () => clearTimeout(timer));
  await load();
}
