// Models pages: #/models lists the registered models; #/models/NAME shows one
// model's versions (champion, challenger), promotion decisions with their
// reasons, the alias history, and Promote / Roll back (admin key, confirmed
// in a <dialog>).
import {
  badge, button, confirmDialog, done, el, enc, errorBox, fail, fmtNum, fmtSigned, fmtTime, pageStart, param, section,
  shortId, sortableTable, timeValue,
} from '../ml_util.js';

export async function render(root, ctx) {
  const name = param(ctx);
  if (name) return renderModel(root, ctx, name);
  const { body } = pageStart(root, 'Models', {
    lead: 'Registered models. The champion serves; a challenger replaces it only when the promotion rule says so.',
  });
  let models;
  try {
    models = (await ctx.api('/v1/registry/models')).data || [];
  } catch (err) {
    fail(body, err);
    return;
  }
  done(body);
  const t = sortableTable({
    caption: 'Registered models',
    rows: models,
    sort: { key: 'name', dir: 'ascending' },
    empty: 'No registered models yet. Train one (lathe train or the daily pipeline).',
    rowAttrs: (m) => ({ 'data-testid': 'model-row', 'data-model': m.name }),
    columns: [
      { key: 'name', label: 'Model', render: (m) => el('a', { href: `#/models/${enc(m.name)}` }, m.name) },
      { key: 'champion', label: 'Champion', numeric: true, render: (m) => (m.champion ? `version ${m.champion}` : 'none') },
      { key: 'challenger', label: 'Challenger', numeric: true, render: (m) => (m.challenger ? `version ${m.challenger}` : 'none') },
      { key: 'latest_version', label: 'Latest version', numeric: true },
      { key: 'created_at', label: 'Created', render: (m) => fmtTime(m.created_at) },
    ],
  });
  body.append(t.table);
}

async function renderModel(root, ctx, name) {
  const { body, wrap } = pageStart(root, `Model ${name}`, { crumbs: [['Models', '#/models'], [name]] });
  const messages = el('div', { class: 'ml-messages' });
  wrap.insertBefore(messages, body);

  const say = (node) => {
    messages.replaceChildren(node);
    node.setAttribute('tabindex', '-1');
    node.focus();
  };

  async function act(what, path, payload, confirmText) {
    const ok = await confirmDialog(confirmText);
    if (!ok) return;
    messages.replaceChildren(el('p', { class: 'loading', role: 'status' }, `${what}…`));
    let res;
    try {
      res = await ctx.api(path, { method: 'POST', body: typeof payload === 'function' ? payload() : payload });
    } catch (err) {
      say(errorBox(err, what));
      return;
    }
    const text = res.moved === false
      ? `Version ${res.champion} already was the champion of ${name}; nothing changed.`
      : `The champion of ${name} is now version ${res.champion}` +
        (res.previous_champion ? ` (it was version ${res.previous_champion}).` : '.');
    const served = res.served && res.served.error ? `The server did not load it yet: ${res.served.error}` : '';
    await load();
    say(el('div', { class: 'notice notice-ok', 'data-testid': 'champion-changed' }, el('p', {}, text), served ? el('p', {}, served) : ''));
    ctx.announce(text);
  }

  function promote(v, champion) {
    const reasonId = `promote-reason-${v.version}`;
    const reason = el('input', { id: reasonId, type: 'text', maxlength: '200', value: '' });
    const msg = el('div', {},
      el('p', {}, `Make version ${v.version} the champion of ${name}` +
        (champion ? ` in place of version ${champion}` : '') + '? The server starts serving it at once. This needs an admin key.'),
      el('div', { class: 'field' }, el('label', { for: reasonId }, 'Reason (optional)'), reason));
    return act(`Promoting version ${v.version}`, `/v1/registry/models/${enc(name)}/promote`,
      () => ({ version: v.version, ...(reason.value.trim() ? { reason: reason.value.trim() } : {}) }),
      { title: `Promote version ${v.version}?`, message: msg, confirmLabel: 'Promote' });
  }

  function rollback(champion) {
    return act('Rolling back', `/v1/registry/models/${enc(name)}/rollback`, () => ({}), {
      title: `Roll back ${name}?`,
      message: `Version ${champion} stops being the champion; the champion before it serves again. This needs an admin key.`,
      confirmLabel: 'Roll back',
      danger: true,
    });
  }

  async function load() {
    let m;
    try {
      m = await ctx.api(`/v1/registry/models/${enc(name)}`);
    } catch (err) {
      fail(body, err);
      return;
    }
    done(body);
    body.replaceChildren();
    const versions = (m.versions || []).slice().sort((a, b) => b.version - a.version);
    const champ = versions.find((v) => v.version === m.champion);

    const summary = el('div', { class: 'ml-model-summary' },
      el('p', { class: 'ml-champion-line' }, 'Champion: ',
        m.champion ? el('span', { class: 'badge champion', 'data-testid': 'champion-version', title: `Champion: version ${m.champion}` }, String(m.champion)) : 'none',
        champ ? ` · test AUPRC ${fmtNum(champ.test_auprc, 4)} · ${champ.kind || ''}` : '',
        ' · Challenger: ',
        m.challenger ? el('span', { class: 'badge info', 'data-testid': 'challenger-version' }, String(m.challenger)) : 'none'),
      el('div', { class: 'toolbar' },
        m.champion ? button('Roll back', { onclick: () => rollback(m.champion), 'aria-describedby': 'rollback-hint' }, 'danger') : null,
        m.champion ? el('span', { id: 'rollback-hint', class: 'hint' }, 'Makes the previous champion serve again.') : null));
    body.append(summary);

    // Versions.
    const vt = el('table', { class: 'data-table' },
      el('caption', {}, 'Versions, newest first'),
      el('thead', {}, el('tr', {}, ['Version', 'Aliases', 'Run', 'Kind', 'Threshold', 'Test AUPRC', 'Registered', 'Action']
        .map((h) => el('th', { scope: 'col', class: ['Version', 'Threshold', 'Test AUPRC'].includes(h) ? 'num' : null }, h)))));
    const vb = el('tbody');
    if (!versions.length) vb.append(el('tr', {}, el('td', { colspan: 8, class: 'empty' }, 'No versions.')));
    for (const v of versions) {
      const aliases = v.aliases || [];
      const isChamp = v.version === m.champion;
      vb.append(el('tr', { 'data-testid': 'version-row', 'data-version': v.version, class: isChamp ? 'ml-selected' : null },
        el('th', { scope: 'row', class: 'num' }, String(v.version)),
        el('td', {}, aliases.length ? aliases.map((a) => [badge(a, a === 'champion' ? 'champion' : 'info'), ' ']) : '—'),
        el('td', {}, v.run_id ? el('a', { href: `#/runs/${enc(v.run_id)}`, class: 'ml-mono', title: v.run_id }, shortId(v.run_id, 10)) : '—'),
        el('td', {}, v.kind || '—'),
        el('td', { class: 'num' }, fmtNum(v.threshold)),
        el('td', { class: 'num' }, fmtNum(v.test_auprc)),
        el('td', {}, fmtTime(v.created_at)),
        el('td', {}, isChamp ? 'serving' : button('Promote', {
          onclick: () => promote(v, m.champion), 'aria-label': `Promote version ${v.version}`,
        }, 'primary'))));
    }
    vt.append(vb);
    body.append(section('Versions', el('div', { class: 'table-wrap' }, vt)));

    // Decisions, newest first.
    const decisions = (m.decisions || []).slice().sort((a, b) => (b.decision_id || 0) - (a.decision_id || 0));
    const dt = el('table', { class: 'data-table' },
      el('caption', {}, 'Promotion decisions, newest first'),
      el('thead', {}, el('tr', {}, ['Decided', 'Decision', 'Challenger', 'Champion', 'AUPRC (challenger / champion)', 'Difference', '95% interval', 'Margin', 'Reason']
        .map((h) => el('th', { scope: 'col' }, h)))));
    const db = el('tbody');
    if (!decisions.length) db.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No decisions yet.')));
    for (const d of decisions) {
      db.append(el('tr', { 'data-testid': 'decision-row', 'data-decision-id': d.decision_id },
        el('td', {}, fmtTime(d.created_at)),
        el('td', {}, badge(d.decision)),
        el('td', { class: 'num' }, d.challenger_version ? `v${d.challenger_version}` : '—'),
        el('td', { class: 'num' }, d.champion_version ? `v${d.champion_version}` : 'none'),
        el('td', { class: 'num' }, `${fmtNum(d.challenger_auprc)} / ${fmtNum(d.champion_auprc)}`),
        el('td', { class: 'num' }, fmtSigned(d.difference)),
        el('td', { class: 'num' }, Array.isArray(d.ci) ? `[${fmtSigned(d.ci[0])}, ${fmtSigned(d.ci[1])}]` : '—'),
        el('td', { class: 'num' }, fmtNum(d.margin)),
        el('td', {}, d.reason || '—')));
    }
    dt.append(db);
    body.append(section('Decisions', el('div', { class: 'table-wrap' }, dt)));

    // Alias history, newest first.
    const history = (m.history || []).slice().sort((a, b) => timeValue(b.changed_at) - timeValue(a.changed_at) || (b.history_id || 0) - (a.history_id || 0));
    const ht = el('table', { class: 'data-table' },
      el('caption', {}, 'Alias history, newest first'),
      el('thead', {}, el('tr', {}, ['Changed', 'Alias', 'Version', 'Previous', 'Reason', 'Decision'].map((h) => el('th', { scope: 'col' }, h)))));
    const hb = el('tbody');
    if (!history.length) hb.append(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'No alias changes.')));
    for (const h of history) {
      hb.append(el('tr', {},
        el('td', {}, fmtTime(h.changed_at)),
        el('td', {}, badge(h.alias, h.alias === 'champion' ? 'champion' : 'info')),
        el('td', { class: 'num' }, h.version === null || h.version === undefined ? 'removed' : `v${h.version}`),
        el('td', { class: 'num' }, h.previous_version ? `v${h.previous_version}` : '—'),
        el('td', {}, h.reason || '—'),
        el('td', { class: 'num' }, h.decision_id ? `#${h.decision_id}` : '—')));
    }
    ht.append(hb);
    body.append(section('Alias history', el('div', { class: 'table-wrap' }, ht)));
  }

  await load();
}
