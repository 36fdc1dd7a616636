// SVG charts for the ML pages: line charts (PR and ROC curves, drift over
// time) and the pipeline DAG graph. Pure functions that build and return DOM
// nodes; no state, no network. Colours are paired with dash patterns, marker
// shapes and text so no chart relies on colour alone.

const NS = 'http://www.w3.org/2000/svg';

// Okabe-Ito based, all >= 4.5:1 against white.
export const PALETTE = ['#0a5c99', '#b34700', '#00704f', '#8a3b8f', '#6b5a00'];
const DASHES = ['', '7 4', '2 3', '10 3 2 3', '4 4'];

let chartCounter = 0;

function svgEl(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(typeof c === 'string' || typeof c === 'number' ? String(c) : c);
  }
  return node;
}

// About `count` round tick values covering [lo, hi].
export function niceTicks(lo, hi, count = 5) {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [];
  if (hi === lo) return [lo];
  const span = hi - lo;
  const raw = span / Math.max(1, count);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const norm = raw / mag;
  const step = (norm >= 5 ? 10 : norm >= 2 ? 5 : norm >= 1 ? 2 : 1) * mag;
  const ticks = [];
  const first = Math.ceil(lo / step - 1e-9) * step;
  for (let v = first; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

function extent(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return lo === 0 ? [0, 1] : [Math.min(0, lo), Math.max(0, hi) * 1.1 || 1];
  return [lo, hi];
}

function defaultFormat(v) {
  if (!Number.isFinite(v)) return '';
  const a = Math.abs(v);
  if (a !== 0 && (a < 0.001 || a >= 1e6)) return v.toExponential(1);
  return String(Number(v.toPrecision(4)));
}

function describeSeries(series, xFmt, yFmt) {
  return series
    .map((s) => {
      const pts = (s.points || []).filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
      if (!pts.length) return `${s.name}: no points`;
      const xs = extent(pts.map((p) => p[0]));
      const ys = extent(pts.map((p) => p[1]));
      return `${s.name}: ${pts.length} points, x from ${xFmt(xs[0])} to ${xFmt(xs[1])}, ` +
        `y from ${yFmt(ys[0])} to ${yFmt(ys[1])}`;
    })
    .join('; ');
}

/**
 * A line chart as an <svg role="img">.
 * opts.series: [{name, points: [[x, y], ...], dashed?, color?, markers?, pointLabels?: [string]}]
 * opts.xLabel, opts.yLabel: axis titles. opts.title: the chart's <title> (and aria-label start).
 * opts.width, opts.height: user units (the svg scales down to its container).
 * opts.xDomain, opts.yDomain: [lo, hi]; default: the data's extent.
 * opts.xTicks: explicit tick values; opts.xTickFormat / opts.yTickFormat: value -> label.
 * opts.diagonal: draw the y = x reference line (ROC). opts.desc: extra text for <desc>.
 * opts.testid: data-testid of the svg. opts.compact: smaller margins and fonts.
 * Points outside the domain are clamped to it.
 */
export function lineChart(opts = {}) {
  const series = (opts.series || []).filter(Boolean);
  const width = opts.width || 480;
  const compact = !!opts.compact;
  const xFmt = opts.xTickFormat || defaultFormat;
  const yFmt = opts.yTickFormat || defaultFormat;
  const font = compact ? 11 : 12;
  const legendItems = series.filter((s) => !s.hideLegend);
  const legendRowH = font + 8;

  // Lay the legend out in rows under the x axis label.
  const itemW = (s) => 30 + Math.min(40, String(s.name).length) * (font * 0.6) + 14;
  const margin = { top: 12, right: 16, bottom: compact ? 38 : 44, left: compact ? 48 : 58 };
  const innerWidth = width - margin.left - margin.right;
  const legendRows = [];
  let row = [];
  let rowW = 0;
  for (const s of legendItems) {
    const w = itemW(s);
    if (row.length && rowW + w > innerWidth) {
      legendRows.push(row);
      row = [];
      rowW = 0;
    }
    row.push({ s, x: rowW });
    rowW += w;
  }
  if (row.length) legendRows.push(row);
  const legendH = legendRows.length * legendRowH + (legendRows.length ? 6 : 0);
  const height = (opts.height || 320) + legendH;
  const plotH = height - margin.top - margin.bottom - legendH;
  const plotW = innerWidth;

  const allPts = series.flatMap((s) => s.points || []).filter((p) => p && Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const xDomain = opts.xDomain || extent(allPts.map((p) => p[0]));
  const yDomain = opts.yDomain || extent(allPts.map((p) => p[1]));
  const [x0, x1] = xDomain;
  const [y0, y1] = yDomain;
  const clamp = (v, lo, hi) => Math.min(hi, Math.max(lo, v));
  const sx = (v) => margin.left + ((clamp(v, x0, x1) - x0) / (x1 - x0 || 1)) * plotW;
  const sy = (v) => margin.top + plotH - ((clamp(v, y0, y1) - y0) / (y1 - y0 || 1)) * plotH;

  const id = `chart-${++chartCounter}`;
  const title = opts.title || `${opts.yLabel || 'y'} against ${opts.xLabel || 'x'}`;
  const names = legendItems.map((s) => s.name).join(', ');
  const ariaLabel = `${title}. ${opts.xLabel || 'x'} on the horizontal axis, ${opts.yLabel || 'y'} on the vertical axis` +
    (names ? `. Series: ${names}.` : '.');
  const summary = describeSeries(series, xFmt, yFmt);

  const svg = svgEl('svg', {
    xmlns: NS,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: 'img',
    'aria-label': ariaLabel,
    'aria-describedby': `${id}-desc`,
    'data-testid': opts.testid,
    class: 'ml-chart',
    'font-size': font,
    'font-family': 'system-ui, sans-serif',
  });
  svg.append(svgEl('title', { id: `${id}-title` }, title));
  svg.append(svgEl('desc', { id: `${id}-desc` }, [opts.desc, summary].filter(Boolean).join(' ')));

  // Plot background, grid and ticks.
  svg.append(svgEl('rect', { x: margin.left, y: margin.top, width: plotW, height: plotH, fill: '#ffffff', stroke: '#595959' }));
  const grid = svgEl('g', { 'aria-hidden': 'true' });
  const xTicks = opts.xTicks || niceTicks(x0, x1, compact ? 4 : 6);
  const yTicks = opts.yTicks || niceTicks(y0, y1, compact ? 3 : 5);
  for (const t of xTicks) {
    if (t < x0 - 1e-12 || t > x1 + 1e-12) continue;
    const x = sx(t);
    grid.append(svgEl('line', { x1: x, x2: x, y1: margin.top, y2: margin.top + plotH, stroke: '#e3e3e3' }));
    grid.append(svgEl('line', { x1: x, x2: x, y1: margin.top + plotH, y2: margin.top + plotH + 5, stroke: '#333333' }));
    grid.append(svgEl('text', { x, y: margin.top + plotH + 8 + font, 'text-anchor': 'middle', fill: '#333333' }, xFmt(t)));
  }
  for (const t of yTicks) {
    if (t < y0 - 1e-12 || t > y1 + 1e-12) continue;
    const y = sy(t);
    grid.append(svgEl('line', { x1: margin.left, x2: margin.left + plotW, y1: y, y2: y, stroke: '#e3e3e3' }));
    grid.append(svgEl('line', { x1: margin.left - 5, x2: margin.left, y1: y, y2: y, stroke: '#333333' }));
    grid.append(svgEl('text', { x: margin.left - 8, y: y + font * 0.35, 'text-anchor': 'end', fill: '#333333' }, yFmt(t)));
  }
  svg.append(grid);

  // Axis titles.
  if (opts.xLabel) {
    svg.append(svgEl('text', {
      x: margin.left + plotW / 2, y: margin.top + plotH + (compact ? 32 : 38), 'text-anchor': 'middle', fill: '#1a1a1a', 'font-weight': 600,
    }, opts.xLabel));
  }
  if (opts.yLabel) {
    const cx = compact ? 12 : 14;
    const cy = margin.top + plotH / 2;
    svg.append(svgEl('text', {
      x: cx, y: cy, transform: `rotate(-90 ${cx} ${cy})`, 'text-anchor': 'middle', fill: '#1a1a1a', 'font-weight': 600,
    }, opts.yLabel));
  }

  if (opts.diagonal) {
    svg.append(svgEl('line', {
      x1: sx(x0), y1: sy(y0), x2: sx(x1), y2: sy(y1), stroke: '#767676', 'stroke-dasharray': '3 4', 'aria-hidden': 'true',
      class: 'ml-chart-diagonal',
    }));
  }

  // Series.
  const plot = svgEl('g', { class: 'ml-chart-series' });
  series.forEach((s, i) => {
    const color = s.color || PALETTE[i % PALETTE.length];
    const dash = s.dashed ? '7 4' : s.dash !== undefined ? s.dash : DASHES[i % DASHES.length];
    const raw = s.points || [];
    const ok = (p) => p && Number.isFinite(p[0]) && Number.isFinite(p[1]);
    const g = svgEl('g', { 'data-series': s.name });
    if (raw.some(ok)) {
      // A point that is not a number breaks the line (a gap), it is not drawn as 0.
      let d = '';
      let pen = false;
      for (const p of raw) {
        if (!ok(p)) {
          pen = false;
          continue;
        }
        d += `${pen ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`;
        pen = true;
      }
      g.append(svgEl('path', {
        d, fill: 'none', stroke: color, 'stroke-width': s.dashed ? 1.5 : 2, 'stroke-dasharray': dash || null,
        'stroke-linejoin': 'round',
      }));
      const count = raw.filter(ok).length;
      const markers = s.markers !== undefined ? s.markers : count <= 40 && !s.dashed;
      if (markers) {
        raw.forEach((p, j) => {
          if (!ok(p)) return;
          const label = (s.pointLabels && s.pointLabels[j]) || `${xFmt(p[0])}: ${yFmt(p[1])}`;
          const bad = s.pointBad && s.pointBad[j];
          const m = bad
            ? svgEl('rect', { x: sx(p[0]) - 4.5, y: sy(p[1]) - 4.5, width: 9, height: 9, fill: '#b91c1c', stroke: '#ffffff', 'stroke-width': 1 })
            : svgEl('circle', { cx: sx(p[0]), cy: sy(p[1]), r: 3.5, fill: color, stroke: '#ffffff', 'stroke-width': 1 });
          m.append(svgEl('title', {}, `${s.name} — ${label}`));
          g.append(m);
        });
      }
    }
    plot.append(g);
  });
  svg.append(plot);

  if (!allPts.length) {
    svg.append(svgEl('text', {
      x: margin.left + plotW / 2, y: margin.top + plotH / 2, 'text-anchor': 'middle', fill: '#333333',
    }, opts.emptyText || 'No data'));
  }

  // Legend.
  const legend = svgEl('g', { class: 'ml-chart-legend', 'aria-hidden': 'true' });
  const legendTop = height - legendH;
  legendRows.forEach((r, ri) => {
    const y = legendTop + ri * legendRowH + legendRowH / 2;
    for (const { s, x } of r) {
      const i = series.indexOf(s);
      const color = s.color || PALETTE[i % PALETTE.length];
      const dash = s.dashed ? '7 4' : s.dash !== undefined ? s.dash : DASHES[i % DASHES.length];
      const lx = margin.left + x;
      legend.append(svgEl('line', {
        x1: lx, x2: lx + 24, y1: y, y2: y, stroke: color, 'stroke-width': s.dashed ? 1.5 : 2.5, 'stroke-dasharray': dash || null,
      }));
      legend.append(svgEl('text', { x: lx + 30, y: y + font * 0.35, fill: '#1a1a1a' }, String(s.name).slice(0, 40)));
    }
  });
  svg.append(legend);
  return svg;
}

// ---------------------------------------------------------------------------
// DAG graph.

// Fill, stroke and a glyph per task state; fills are light so the dark text
// keeps >= 4.5:1, and the state is also written in each node.
export const TASK_STATES = {
  success: { fill: '#d7f5e3', stroke: '#00704f', glyph: '✓', label: 'success' },
  failed: { fill: '#fde2e2', stroke: '#b91c1c', glyph: '✗', label: 'failed' },
  running: { fill: '#dbeafe', stroke: '#1d4ed8', glyph: '▶', label: 'running' },
  up_for_retry: { fill: '#fdf0c4', stroke: '#8a5300', glyph: '↻', label: 'up for retry' },
  upstream_failed: { fill: '#f6e1f2', stroke: '#8a2a6e', glyph: '⊘', label: 'upstream failed', dash: '5 3' },
  scheduled: { fill: '#eef0f2', stroke: '#4b5563', glyph: '◷', label: 'scheduled' },
  queued: { fill: '#eef0f2', stroke: '#4b5563', glyph: '◷', label: 'queued' },
  none: { fill: '#ffffff', stroke: '#6b7280', glyph: '·', label: 'no run', dash: '3 3' },
};

export function stateStyle(state) {
  return TASK_STATES[state] || { fill: '#ffffff', stroke: '#4b5563', glyph: '?', label: state || 'unknown' };
}

// Depth of each task = longest path from a task without upstream tasks.
export function dagLayers(tasks) {
  const byId = new Map(tasks.map((t) => [t.task_id, t]));
  const depth = new Map();
  const visiting = new Set();
  const visit = (id) => {
    if (depth.has(id)) return depth.get(id);
    if (visiting.has(id)) return 0; // a cycle cannot load, but never loop
    visiting.add(id);
    const t = byId.get(id);
    let d = 0;
    for (const u of (t && t.upstream) || []) if (byId.has(u)) d = Math.max(d, visit(u) + 1);
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  tasks.forEach((t) => visit(t.task_id));
  const layers = [];
  for (const t of tasks) {
    const d = depth.get(t.task_id);
    (layers[d] = layers[d] || []).push(t.task_id);
  }
  // Order each layer by the mean position of its upstream tasks (fewer crossings).
  const pos = new Map();
  layers.forEach((layer, li) => {
    if (li > 0) {
      const score = (id) => {
        const ups = (byId.get(id).upstream || []).filter((u) => pos.has(u));
        return ups.length ? ups.reduce((a, u) => a + pos.get(u), 0) / ups.length : 0;
      };
      layer.sort((a, b) => score(a) - score(b));
    }
    layer.forEach((id, i) => pos.set(id, i));
  });
  return { layers, depth };
}

/**
 * The DAG as an <svg data-testid="dag-graph">, layered left to right.
 * tasks: [{task_id, operator, upstream: [ids]}]; states: {task_id: state} (missing -> "none");
 * tries: {task_id: n} (optional); onSelect(task_id): makes nodes buttons; selected: a task id.
 */
export function dagGraph({ tasks = [], states = {}, tries = {}, onSelect, selected, label } = {}) {
  const { layers } = dagLayers(tasks);
  const nodeW = 134;
  const nodeH = 50;
  const gapX = 38;
  const gapY = 18;
  const pad = 12;
  const maxRows = Math.max(1, ...layers.map((l) => l.length));
  const width = pad * 2 + layers.length * nodeW + Math.max(0, layers.length - 1) * gapX;
  const height = pad * 2 + maxRows * nodeH + (maxRows - 1) * gapY;
  const at = new Map();
  layers.forEach((layer, li) => {
    const colH = layer.length * nodeH + (layer.length - 1) * gapY;
    const top = pad + (height - pad * 2 - colH) / 2;
    layer.forEach((id, i) => at.set(id, { x: pad + li * (nodeW + gapX), y: top + i * (nodeH + gapY) }));
  });

  const id = `dag-${++chartCounter}`;
  const svg = svgEl('svg', {
    xmlns: NS,
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: onSelect ? 'group' : 'img',
    'aria-label': label || `Task graph with ${tasks.length} tasks`,
    'data-testid': 'dag-graph',
    class: 'ml-dag',
    'font-family': 'system-ui, sans-serif',
    'font-size': 12,
  });
  svg.append(svgEl('title', {}, label || 'Task graph'));
  const summary = tasks
    .map((t) => `${t.task_id}: ${stateStyle(states[t.task_id] || 'none').label}` +
      ((t.upstream || []).length ? `, after ${t.upstream.join(', ')}` : ''))
    .join('; ');
  svg.append(svgEl('desc', {}, summary));
  const defs = svgEl('defs');
  defs.append(svgEl('marker', {
    id: `${id}-arrow`, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 8, markerHeight: 8, orient: 'auto-start-reverse',
  }, svgEl('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#4b5563' })));
  svg.append(defs);

  const edges = svgEl('g', { class: 'ml-dag-edges', 'aria-hidden': 'true' });
  for (const t of tasks) {
    const to = at.get(t.task_id);
    for (const u of t.upstream || []) {
      const from = at.get(u);
      if (!from || !to) continue;
      const xa = from.x + nodeW;
      const ya = from.y + nodeH / 2;
      const xb = to.x - 2;
      const yb = to.y + nodeH / 2;
      const mid = (xa + xb) / 2;
      edges.append(svgEl('path', {
        d: `M${xa},${ya} C${mid},${ya} ${mid},${yb} ${xb},${yb}`, fill: 'none', stroke: '#4b5563', 'stroke-width': 1.5,
        'marker-end': `url(#${id}-arrow)`, 'data-from': u, 'data-to': t.task_id,
      }));
    }
  }
  svg.append(edges);

  for (const t of tasks) {
    const p = at.get(t.task_id);
    const state = states[t.task_id] || 'none';
    const st = stateStyle(state);
    const n = tries[t.task_id];
    // Short enough for the node; the title and aria-label spell the tries out.
    const stateText = `${st.glyph} ${st.label}` + (n ? (st.label.length > 10 ? ` · ${n}×` : ` · ${n} ${n === 1 ? 'try' : 'tries'}`) : '');
    const g = svgEl('g', {
      'data-testid': 'dag-node',
      'data-task': t.task_id,
      'data-state': state,
      transform: `translate(${p.x},${p.y})`,
      class: 'ml-dag-node' + (selected === t.task_id ? ' selected' : ''),
    });
    g.append(svgEl('title', {}, `${t.task_id} (${t.operator || 'task'}): ${st.label}` + (n ? `, ${n} tries` : '')));
    g.append(svgEl('rect', {
      width: nodeW, height: nodeH, rx: 6, fill: st.fill, stroke: st.stroke,
      'stroke-width': selected === t.task_id ? 3.5 : 2, 'stroke-dasharray': st.dash || null,
    }));
    const name = t.task_id.length > 17 ? t.task_id.slice(0, 16) + '…' : t.task_id;
    g.append(svgEl('text', { x: 10, y: 20, fill: '#111111', 'font-weight': 700 }, name));
    g.append(svgEl('text', { x: 10, y: 38, fill: '#1f2937' }, stateText));
    if (onSelect) {
      g.setAttribute('role', 'button');
      g.setAttribute('tabindex', '0');
      g.setAttribute('aria-label', `Task ${t.task_id}: ${st.label}. Show its tries`);
      if (selected === t.task_id) g.setAttribute('aria-pressed', 'true');
      g.addEventListener('click', () => onSelect(t.task_id));
      g.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') {
          e.preventDefault();
          onSelect(t.task_id);
        }
      });
    }
    svg.append(g);
  }
  return svg;
}

// The colour key for dagGraph, as an HTML list (text, not colour alone).
export function dagLegend(states = ['success', 'running', 'up_for_retry', 'failed', 'upstream_failed', 'scheduled', 'none']) {
  const ul = document.createElement('ul');
  ul.className = 'ml-legend';
  ul.setAttribute('aria-label', 'Task states');
  for (const s of states) {
    const st = stateStyle(s);
    const li = document.createElement('li');
    const sw = document.createElement('span');
    sw.className = 'ml-swatch';
    sw.setAttribute('aria-hidden', 'true');
    sw.style.background = st.fill;
    sw.style.borderColor = st.stroke;
    if (st.dash) sw.style.borderStyle = 'dashed';
    li.append(sw, `${st.glyph} ${st.label}`);
    ul.append(li);
  }
  return ul;
}
