// Pipeline run page (#/pipeline-runs/RUN_ID[?task=T]): the run's tasks with
// their state and tries; choosing a task lists its tries, and the chosen try
// shows its exit reason, outputs and log. Refreshes while the run is active.
import { dagGraph, dagLegend } from '../charts.js';
import { isActive } from './pipeline.js';
import { badge, done, el, enc, errorBox, fail, fmtTime, pageStart, param, section } from '../ml_util.js';

const POLL_MS = 3000;

export async function render(root, ctx) {
  const runId = param(ctx);
  const dagFromId = String(runId).split('@')[0];
  const { body, wrap } = pageStart(root, `Pipeline run ${runId}`, {
    crumbs: [['Pipelines', '#/pipelines'], [dagFromId, `#/pipelines/${enc(dagFromId)}`], [runId]],
  });
  let selectedTask = ctx.query.get('task') || '';
  let selectedTry = Number(ctx.query.get('try')) || 0;
  let dagTasks = null;
  let run = null;
  let timer = null;

  const facts = el('div');
  const graphBox = el('div');
  const tasksBox = el('div');
  const triesSection = el('section', { class: 'ml-section', 'aria-labelledby': 'tries-heading' });
  const triesHeading = el('h2', { id: 'tries-heading', tabindex: '-1' }, 'Tries');
  const triesBox = el('div');
  triesSection.append(triesHeading, triesBox);

  function setUrl() {
    const p = new URLSearchParams();
    if (selectedTask) p.set('task', selectedTask);
    if (selectedTask && selectedTry) p.set('try', String(selectedTry));
    const hash = `#/pipeline-runs/${enc(runId)}` + (p.toString() ? `?${p}` : '');
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  function choose(task) {
    selectedTask = task;
    selectedTry = 0;
    setUrl();
    drawRun();
    loadTries(true);
  }

  function drawRun() {
    const tasks = run.tasks || {};
    const order = dagTasks ? dagTasks.map((t) => t.task_id) : Object.keys(tasks);
    for (const id of Object.keys(tasks)) if (!order.includes(id)) order.push(id);
    facts.replaceChildren(el('dl', { class: 'ml-facts' },
      [['DAG', el('a', { href: `#/pipelines/${enc(run.dag_id)}` }, run.dag_id)], ['Date (ds)', run.ds], ['Kind', run.kind],
        ['State', badge(run.state)], ['Created', fmtTime(run.created_at)], ['Started', fmtTime(run.started_at)], ['Ended', fmtTime(run.ended_at)]]
        .map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v)))));

    if (dagTasks) {
      const states = {};
      const tries = {};
      for (const [id, t] of Object.entries(tasks)) {
        states[id] = t.state;
        tries[id] = t.tries;
      }
      graphBox.replaceChildren(el('div', { class: 'ml-dag-wrap' },
        dagGraph({ tasks: dagTasks, states, tries, selected: selectedTask, onSelect: choose, label: `Tasks of run ${run.run_id}` })),
      dagLegend());
    }

    const table = el('table', { class: 'data-table' },
      el('caption', {}, 'Tasks of this run'),
      el('thead', {}, el('tr', {}, ['Task', 'Operator', 'State', 'Tries', ''].map((h, i) =>
        el('th', { scope: 'col', class: i === 3 ? 'num' : null }, h || el('span', { class: 'visually-hidden' }, 'Action'))))));
    const tb = el('tbody');
    if (!order.length) tb.append(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No tasks.')));
    for (const id of order) {
      const t = tasks[id] || { state: 'none', tries: 0 };
      const op = dagTasks && (dagTasks.find((x) => x.task_id === id) || {}).operator;
      const isSel = id === selectedTask;
      tb.append(el('tr', { 'data-testid': 'task-row', 'data-task': id, 'data-state': t.state, class: isSel ? 'ml-selected' : null },
        el('th', { scope: 'row' }, id),
        el('td', {}, op || '—'),
        el('td', {}, badge(t.state)),
        el('td', { class: 'num' }, String(t.tries ?? 0)),
        el('td', {}, el('button', {
          type: 'button', class: 'button small', 'aria-pressed': isSel ? 'true' : 'false', onclick: () => choose(id),
          'aria-label': `Show tries of ${id}`,
        }, isSel ? 'Shown' : 'Show tries'))));
    }
    table.append(tb);
    tasksBox.replaceChildren(el('div', { class: 'table-wrap' }, table));
  }

  async function loadTries(focus) {
    if (!selectedTask) {
      triesHeading.textContent = 'Tries';
      triesBox.replaceChildren(el('p', {}, 'Choose a task to see its tries and log.'));
      return;
    }
    triesHeading.textContent = `Tries of ${selectedTask}`;
    if (focus) triesHeading.focus();
    let tries;
    try {
      tries = (await ctx.api(`/v1/pipeline-runs/${enc(runId)}/tries?task=${enc(selectedTask)}`, { signal: ctx.signal })).data || [];
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      triesBox.replaceChildren(errorBox(err));
      return;
    }
    if (!wrap.isConnected) return;
    tries.sort((a, b) => a.try_number - b.try_number);
    if (!tries.length) {
      triesBox.replaceChildren(el('p', {}, `${selectedTask} has not been tried in this run yet.`));
      return;
    }
    let current = tries.find((t) => t.try_number === selectedTry);
    if (!current) current = tries[tries.length - 1];
    const list = el('ul', { class: 'ml-tries', 'aria-label': `Tries of ${selectedTask}` },
      tries.map((t) => el('li', {}, el('button', {
        type: 'button', class: 'button small', 'aria-pressed': t === current ? 'true' : 'false', 'data-testid': 'try-button',
        onclick: () => {
          selectedTry = t.try_number;
          setUrl();
          loadTries(false);
        },
      }, `Try ${t.try_number}: ${String(t.state).replace(/_/g, ' ')}`))));
    const outputs = current.outputs && (typeof current.outputs === 'string' ? current.outputs : JSON.stringify(current.outputs, null, 2));
    const logText = current.log || '';
    // Keep the reader's scroll position in the log across refreshes.
    const oldLog = triesBox.querySelector('[data-testid="task-log"]');
    const atBottom = !oldLog || oldLog.scrollTop + oldLog.clientHeight >= oldLog.scrollHeight - 4;
    const log = el('pre', {
      class: 'ml-log', 'data-testid': 'task-log', tabindex: '0', 'aria-label': `Log of ${selectedTask}, try ${current.try_number}`,
    }, logText || '(empty log)');
    triesBox.replaceChildren(list,
      el('dl', { class: 'ml-facts' },
        [['Try', String(current.try_number)], ['State', badge(current.state)], ['Started', fmtTime(current.started_at)],
          ['Ended', fmtTime(current.ended_at)], ['Exit reason', current.exit_reason || '—']]
          .map(([k, v]) => el('div', {}, el('dt', {}, k), el('dd', {}, v)))),
      outputs && outputs !== '{}' && outputs !== 'null' ? el('details', {}, el('summary', {}, 'Outputs'), el('pre', { class: 'ml-json' }, outputs)) : '',
      el('h3', {}, `Log of try ${current.try_number}`),
      log);
    if (atBottom) log.scrollTop = log.scrollHeight;
    else log.scrollTop = oldLog.scrollTop;
  }

  async function load(first) {
    try {
      run = await ctx.api(`/v1/pipeline-runs/${enc(runId)}`, { signal: ctx.signal });
    } catch (err) {
      if (err && err.name === 'AbortError') return;
      if (first) fail(body, err);
      else tasksBox.replaceChildren(errorBox(err));
      return;
    }
    if (!wrap.isConnected) return;
    if (first) {
      try {
        dagTasks = (await ctx.api(`/v1/pipelines/${enc(run.dag_id)}?limit=1`, { signal: ctx.signal })).tasks || null;
      } catch {
        dagTasks = null; // the DAG file may be gone; the table still shows the tasks
      }
      done(body);
      body.append(facts, dagTasks ? section('Task graph', graphBox) : '', section('Tasks', tasksBox), triesSection);
    }
    drawRun();
    await loadTries(false);
    clearTimeout(timer);
    if (isActive(run) && !(ctx.signal && ctx.signal.aborted)) timer = setTimeout(() => load(false), POLL_MS);
  }

  if (ctx.signal) ctx.signal.addEventListener('abort', () => clearTimeout(timer));
  await load(true);
}
