// Pipelines page (#/pipelines): every DAG the server knows with its schedule
// and the state of its latest run.
import { badge, done, el, enc, fail, fmtTime, pageStart, sortableTable } from '../ml_util.js';

// "5 success, 1 failed, 1 upstream failed" for a PIPELINE_RUN's tasks.
export function taskSummary(run) {
  const counts = {};
  for (const t of Object.values((run && run.tasks) || {})) counts[t.state] = (counts[t.state] || 0) + 1;
  const order = ['success', 'running', 'up_for_retry', 'failed', 'upstream_failed', 'scheduled'];
  return Object.entries(counts)
    .sort(([a], [b]) => (order.indexOf(a) + 99) % 99 - (order.indexOf(b) + 99) % 99)
    .map(([s, n]) => `${n} ${s.replace(/_/g, ' ')}`)
    .join(', ') || '—';
}

export async function render(root, ctx) {
  const { body } = pageStart(root, 'Pipelines', {
    lead: 'DAGs of batch tasks (the daily fraud retraining among them) and how their latest run went.',
  });
  let dags;
  try {
    dags = (await ctx.api('/v1/pipelines')).data || [];
  } catch (err) {
    fail(body, err);
    return;
  }
  done(body);
  const t = sortableTable({
    caption: 'Pipelines (DAGs)',
    rows: dags,
    sort: { key: 'dag_id', dir: 'ascending' },
    empty: 'No DAG files found in the server\'s pipelines folder (config pipelines.dir).',
    rowAttrs: (d) => ({ 'data-testid': 'pipeline-row', 'data-dag': d.dag_id }),
    columns: [
      { key: 'dag_id', label: 'DAG', render: (d) => el('a', { href: `#/pipelines/${enc(d.dag_id)}` }, d.dag_id) },
      { key: 'description', label: 'Description' },
      { key: 'schedule', label: 'Schedule', render: (d) => (d.schedule ? el('code', {}, d.schedule) : 'manual only') },
      { key: 'tasks', label: 'Tasks', numeric: true, value: (d) => (d.tasks || []).length },
      { key: 'latest_ds', label: 'Latest run date', value: (d) => (d.latest_run && d.latest_run.ds) || '',
        render: (d) => (d.latest_run ? el('a', { href: `#/pipeline-runs/${enc(d.latest_run.run_id)}` }, d.latest_run.ds) : 'never run') },
      { key: 'latest_state', label: 'Latest state', value: (d) => (d.latest_run && d.latest_run.state) || '',
        render: (d) => (d.latest_run ? badge(d.latest_run.state) : '—') },
      { key: 'latest_tasks', label: 'Tasks of the latest run', sortable: false, render: (d) => taskSummary(d.latest_run) },
      { key: 'ended', label: 'Ended', value: (d) => (d.latest_run && d.latest_run.ended_at) || '',
        render: (d) => fmtTime(d.latest_run && d.latest_run.ended_at) },
    ],
  });
  body.append(t.table);
}
