// Run page (#/runs/RUN_ID): one training run's window, metrics (with history),
// params, tags, artifacts (downloaded with the key), PR and ROC curves, its
// promotion decision and registered model version.
import { lineChart } from '../charts.js';
import {
  badge, done, el, enc, facts, fail, fetchBlob, fmtBytes, fmtNum, fmtSigned, fmtTime, kvTable, pageStart, param,
  saveBlob, section, shortId, errorBox, fmtWindow, missing,
} from '../ml_util.js';

const MAX_POINTS = 400;

// Drops points closer than 1/n (x + y, in unit axes) to the last kept one, so a
// curve of ~20k thresholds keeps its shape in a few hundred points; then keeps
// at most n evenly. The first and last points always stay.
export function thin(points, n = MAX_POINTS) {
  if (points.length <= n) return points;
  const step = 1 / n;
  const out = [points[0]];
  for (let i = 1; i < points.length - 1; i++) {
    const last = out[out.length - 1];
    if (Math.abs(points[i][0] - last[0]) + Math.abs(points[i][1] - last[1]) >= step) out.push(points[i]);
  }
  out.push(points[points.length - 1]);
  if (out.length <= n * 2) return out;
  const even = [];
  const k = (out.length - 1) / (n - 1);
  for (let i = 0; i < n; i++) even.push(out[Math.round(i * k)]);
  return even;
}

export function prPoints(curve) {
  return thin((curve || []).slice().sort((a, b) => b.threshold - a.threshold).map((p) => [Number(p.recall), Number(p.precision)]));
}

export function rocPoints(curve) {
  const pts = (curve || []).slice().sort((a, b) => b.threshold - a.threshold).map((p) => [Number(p.fpr), Number(p.tpr)]);
  return thin(pts);
}

export function prChart(seriesList, title) {
  return lineChart({
    series: seriesList, xLabel: 'Recall', yLabel: 'Precision', xDomain: [0, 1], yDomain: [0, 1],
    title: title || 'Precision-recall curve', testid: 'pr-curve', width: 520, height: 340,
    desc: 'Precision against recall on the test window, one point per score threshold.',
  });
}

export function rocChart(seriesList, title) {
  return lineChart({
    series: seriesList, xLabel: 'False positive rate', yLabel: 'True positive rate', xDomain: [0, 1], yDomain: [0, 1],
    title: title || 'ROC curve', testid: 'roc-curve', width: 520, height: 340, diagonal: true,
    desc: 'True positive rate against false positive rate on the test window; the dotted diagonal is a random ranking.',
  });
}

export function decisionFacts(d) {
  return facts([
    ['Decision', badge(d.decision || (d.promote ? 'promote' : 'keep'))],
    ['Challenger version', d.challenger_version ?? '—'],
    ['Champion version', d.champion_version ?? 'none'],
    ['Challenger AUPRC', fmtNum(d.challenger_auprc)],
    ['Champion AUPRC', fmtNum(d.champion_auprc)],
    ['Difference', fmtSigned(d.difference)],
    ['95% interval', Array.isArray(d.ci) ? `[${fmtSigned(d.ci[0])}, ${fmtSigned(d.ci[1])}]` : '—'],
    ['Margin', fmtNum(d.margin)],
    ['Decided', fmtTime(d.created_at)],
  ]);
}

export async function render(root, ctx) {
  const runId = param(ctx);
  const { body, h1 } = pageStart(root, `Run ${shortId(runId, 12)}`, { crumbs: [['Runs', '#/runs'], [shortId(runId, 12)]] });
  let run;
  try {
    run = await ctx.api(`/v1/runs/${enc(runId)}`);
  } catch (err) {
    fail(body, err);
    return;
  }
  done(body);
  h1.textContent = `Run ${shortId(run.run_id, 12)}`;
  h1.title = run.run_id;
  const metrics = run.metrics || {};
  const tags = run.tags || {};

  // Summary.
  const rows = run.rows || {};
  body.append(facts([
    ['Run id', el('span', { class: 'ml-mono' }, run.run_id)],
    ['Experiment', run.experiment],
    ['Status', badge(run.status)],
    ['Started', fmtTime(run.start_time)],
    ['Ended', run.end_time ? fmtTime(run.end_time) : 'still running'],
    ['Data window', fmtWindow(run.data_from, run.data_to)],
    ['Test from', missing(run.test_from) ? '—' : run.test_from],
    ['Rows (train / validation / test)', `${fmtNum(rows.train)} / ${fmtNum(rows.validation)} / ${fmtNum(rows.test)}`],
    ['Test AUPRC', fmtNum(metrics['test.auprc'])],
    ['Test ROC-AUC', fmtNum(metrics['test.roc_auc'])],
    ['Source version', run.source_version || '—'],
  ]));
  if (run.error) body.append(el('div', { class: 'ml-error', role: 'note' }, el('p', {}, `This run failed: ${run.error}`)));
  body.append(el('p', {}, el('a', { href: `#/compare?a=${enc(run.run_id)}` }, 'Compare this run with another')));

  // Promotion decision and model version.
  const d = run.decision;
  const decisionSec = section('Promotion decision');
  if (d) {
    decisionSec.append(el('p', { class: 'ml-reason' }, el('strong', {}, 'Reason: '), d.reason || tags['promotion.reason'] || '—'), decisionFacts(d));
  } else if (tags['promotion.decision']) {
    decisionSec.append(facts([
      ['Decision', badge(tags['promotion.decision'])],
      ['Reason', tags['promotion.reason'] || '—'],
    ]));
  } else {
    decisionSec.append(el('p', {}, 'No promotion decision was made for this run.'));
  }
  // model_version is the version number (with model_name), or an object in older drafts of the API.
  let mv = typeof run.model_version === 'number' ? { version: run.model_version } : run.model_version;
  const modelName = run.model_name || (mv && (mv.name || mv.model)) || (tags.registered || '').split(' version ')[0] || 'fraud';
  if (mv && mv.kind === undefined) {
    try {
      const m = await ctx.api(`/v1/registry/models/${enc(modelName)}`);
      mv = { ...((m.versions || []).find((v) => v.version === mv.version) || {}), ...mv };
    } catch {
      /* the version number alone still says enough */
    }
  }
  if (mv) {
    decisionSec.append(el('h3', {}, 'Registered model version'), facts([
      ['Model', el('a', { href: `#/models/${enc(modelName)}` }, modelName)],
      ['Version', mv.version],
      ['Kind', mv.kind],
      ['Threshold', mv.threshold === undefined ? undefined : fmtNum(mv.threshold)],
      ['Aliases', (mv.aliases || []).length ? el('span', {}, (mv.aliases || []).map((a) => badge(a, a === 'champion' ? 'champion' : 'info'))) : 'none'],
      ['Registered', fmtTime(mv.created_at)],
    ]));
  } else {
    decisionSec.append(el('p', {}, tags.registered ? `Registered: ${tags.registered}.` : 'No model version was registered from this run.'));
  }
  body.append(decisionSec);

  // Curves.
  const curves = run.curves || {};
  const pr = prPoints(curves.pr);
  const roc = rocPoints(curves.roc);
  const chartSec = section('Test curves');
  for (const k of ['pr_error', 'roc_error']) {
    if (curves[k]) chartSec.append(el('div', { class: 'error-box', role: 'alert' }, `The ${k === 'pr_error' ? 'PR' : 'ROC'} curve could not be read: ${curves[k]}`));
  }
  if (!pr.length && !roc.length) chartSec.append(el('p', {}, 'This run has no curves (a failed run or an old run without pr_curve.json and roc_curve.json).'));
  chartSec.append(el('div', { class: 'ml-charts' },
    el('figure', {}, el('figcaption', {}, 'Precision-recall'),
      prChart([{ name: `test (AUPRC ${fmtNum(metrics['test.auprc'], 3)})`, points: pr, markers: false }], `Precision-recall curve of run ${shortId(run.run_id)}`)),
    el('figure', {}, el('figcaption', {}, 'ROC'),
      rocChart([{ name: `test (ROC-AUC ${fmtNum(metrics['test.roc_auc'], 3)})`, points: roc, markers: false }], `ROC curve of run ${shortId(run.run_id)}`))));
  body.append(chartSec);

  // Metrics with history.
  const history = new Map();
  for (const h of run.metric_history || []) {
    if (!history.has(h.key)) history.set(h.key, []);
    history.get(h.key).push(h);
  }
  const mTable = el('table', { class: 'data-table' },
    el('caption', {}, 'Last value of each metric'),
    el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Metric'), el('th', { scope: 'col', class: 'num' }, 'Value'), el('th', { scope: 'col' }, 'History'))));
  const mBody = el('tbody');
  const keys = Object.keys(metrics).sort((a, b) => a.localeCompare(b));
  if (!keys.length) mBody.append(el('tr', {}, el('td', { colspan: 3, class: 'empty' }, 'No metrics.')));
  for (const k of keys) {
    const h = (history.get(k) || []).slice().sort((a, b) => a.step - b.step || a.ts - b.ts);
    const withSteps = h.length > 1 || h.some((x) => x.step > 0);
    mBody.append(el('tr', {},
      el('th', { scope: 'row', class: 'ml-mono' }, k),
      el('td', { class: 'num' }, fmtNum(metrics[k])),
      el('td', {}, !withSteps ? '—'
        : h.length === 1 ? `step ${h[0].step}`
          : el('details', {}, el('summary', {}, `${h.length} values`),
            el('ul', {}, h.map((x) => el('li', {}, `step ${x.step}: ${fmtNum(x.value)}`)))))));
  }
  mTable.append(mBody);
  body.append(section('Metrics', el('div', { class: 'ml-table-wrap' }, mTable)));

  body.append(section('Params', el('div', { class: 'ml-table-wrap' }, kvTable(run.params, { caption: 'Parameters (write-once)', keyLabel: 'Param' }))));
  body.append(section('Tags', el('div', { class: 'ml-table-wrap' }, kvTable(tags, { caption: 'Tags', keyLabel: 'Tag' }))));

  // Artifacts.
  const artSec = section('Artifacts');
  const status = el('div', { role: 'status', class: 'ml-art-status' });
  const arts = run.artifacts || [];
  const aTable = el('table', { class: 'data-table' },
    el('caption', {}, 'Artifacts (content-addressed)'),
    el('thead', {}, el('tr', {}, ['Name', 'Media type', 'Size', 'SHA-256', 'Actions'].map((h) => el('th', { scope: 'col' }, h)))));
  const aBody = el('tbody');
  if (!arts.length) aBody.append(el('tr', {}, el('td', { colspan: 5, class: 'empty' }, 'No artifacts.')));
  for (const a of arts) {
    const url = a.url || `/v1/runs/${enc(run.run_id)}/artifacts/${enc(a.name)}`;
    const viewer = el('pre', { class: 'ml-json', tabindex: '0', 'aria-label': `Content of ${a.name}` });
    const viewerRow = el('tr', { class: 'ml-viewer-row', hidden: true }, el('td', { colspan: 5 }, viewer));
    const textual = /json|yaml|text|csv/.test(a.media_type || '') && (a.size || 0) <= 512 * 1024;
    const download = el('button', {
      type: 'button', class: 'button small', 'aria-label': `Download ${a.name}`,
      onclick: async () => {
        status.replaceChildren('Downloading…');
        try {
          saveBlob(await fetchBlob(ctx.api, url), a.name);
          status.replaceChildren(`Downloaded ${a.name}.`);
        } catch (err) {
          status.replaceChildren(errorBox(err));
        }
      },
    }, 'Download');
    const show = textual ? el('button', {
      type: 'button', class: 'button small', 'aria-expanded': 'false', 'aria-label': `Show ${a.name}`,
      onclick: async (e) => {
        const btn = e.currentTarget;
        if (!viewerRow.hidden) {
          viewerRow.hidden = true;
          btn.setAttribute('aria-expanded', 'false');
          btn.textContent = 'Show';
          return;
        }
        try {
          let t = await (await fetchBlob(ctx.api, url)).text();
          if (/json/.test(a.media_type)) {
            try { t = JSON.stringify(JSON.parse(t), null, 2); } catch { /* keep raw */ }
          }
          if (t.length > 20000) t = t.slice(0, 20000) + '\n… (truncated; download for the whole file)';
          viewer.textContent = t;
          viewerRow.hidden = false;
          btn.setAttribute('aria-expanded', 'true');
          btn.textContent = 'Hide';
        } catch (err) {
          status.replaceChildren(errorBox(err));
        }
      },
    }, 'Show') : null;
    aBody.append(el('tr', {},
      el('th', { scope: 'row', class: 'ml-mono' }, a.name),
      el('td', {}, a.media_type || '—'),
      el('td', { class: 'num' }, fmtBytes(a.size)),
      el('td', { class: 'ml-mono', title: a.sha256 }, shortId(a.sha256, 12)),
      el('td', {}, el('div', { class: 'ml-actions' }, download, show))));
    aBody.append(viewerRow);
  }
  aTable.append(aBody);
  artSec.append(el('div', { class: 'ml-table-wrap' }, aTable), status);
  body.append(artSec);
}
