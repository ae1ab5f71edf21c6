// Workflows: the list, and one workflow as a graph of its steps (states and compensations)
// with a table of the same, live on `workflow:*` and the steps' action events.

import { h, replace, time, badge, facts, select, debounce, toast } from '../lib/dom.js';

const STATUSES = ['all', 'running', 'completed', 'failed', 'rolling_back', 'rolled_back', 'rollback_failed', 'cancelled'];
const NODE_W = 168;
const NODE_H = 50;
const GAP_X = 56;
const GAP_Y = 22;

/** The steps laid out in columns by depth (a step is one column right of its deepest parent). */
export function layout(steps) {
  const depth = new Map();
  const byName = new Map(steps.map((s) => [s.name, s]));
  const of = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const deps = byName.get(name)?.dependsOn || [];
    const d = deps.length ? 1 + Math.max(...deps.map((p) => of(p, seen))) : 0;
    depth.set(name, d);
    return d;
  };
  const columns = [];
  for (const s of steps) (columns[of(s.name)] ||= []).push(s.name);
  const at = new Map();
  columns.forEach((col, x) => col.forEach((name, y) => at.set(name, { x: 12 + x * (NODE_W + GAP_X), y: 12 + y * (NODE_H + GAP_Y) })));
  const width = 24 + columns.length * (NODE_W + GAP_X) - GAP_X;
  const height = 24 + Math.max(1, ...columns.map((c) => c.length)) * (NODE_H + GAP_Y) - GAP_Y;
  return { at, width, height };
}

function graph(w) {
  const { at, width, height } = layout(w.steps);
  const svg = h('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'graph', role: 'img',
    'aria-label': `Steps of ${w.name || w.workflowId}: ${w.steps.map((s) => `${s.name} ${s.status}`).join(', ')}` });
  svg.append(h('defs', {}, h('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto' },
    h('path', { d: 'M0,0 L10,5 L0,10 z', class: 'arrow' }))));
  for (const s of w.steps) {
    for (const p of s.dependsOn || []) {
      const a = at.get(p);
      const b = at.get(s.name);
      if (!a || !b) continue;
      const x1 = a.x + NODE_W;
      const y1 = a.y + NODE_H / 2;
      const x2 = b.x;
      const y2 = b.y + NODE_H / 2;
      const mx = (x1 + x2) / 2;
      svg.append(h('path', { d: `M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`, class: 'edge', 'marker-end': 'url(#arrow)' }));
    }
  }
  for (const s of w.steps) {
    const { x, y } = at.get(s.name);
    const comp = s.compensation ? `undo: ${s.compensation.status}` : '';
    svg.append(h('g', { class: `node s-${s.status}` },
      h('title', {}, `${s.name}: ${s.status}${comp ? ` (${comp})` : ''}`),
      h('rect', { x, y, width: NODE_W, height: NODE_H, rx: 8 }),
      h('text', { x: x + 10, y: y + 20, class: 'name' }, s.name.length > 20 ? `${s.name.slice(0, 19)}…` : s.name),
      h('text', { x: x + 10, y: y + 38, class: 'state' }, comp ? `${s.status} · ${comp}` : s.status)));
  }
  return h('div', { class: 'graph-wrap' }, svg);
}

export function mount(root, ctx) {
  let status = 'all';
  let openId = null;
  let visible = false;
  const body = h('tbody');
  const detail = h('div', { class: 'workflow-detail', hidden: true });
  root.append(
    h('div', { class: 'toolbar' }, h('h2', {}, 'Workflows'),
      select('Workflow status', STATUSES.map((s) => ({ value: s, label: s })), status, (v) => { status = v; loadList(); })),
    detail,
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Workflows' },
      h('thead', {}, h('tr', {}, ['Workflow', 'Name', 'Status', 'Steps', 'Transactional', 'Created', 'Updated'].map((c) => h('th', { scope: 'col' }, c)))),
      body)));

  async function loadList() {
    try {
      const r = await ctx.api.get(`api/workflows?status=${status}&limit=100`);
      replace(body, r.workflows.map((w) => h('tr', {},
        h('td', {}, h('a', { href: `#/workflows/${encodeURIComponent(w.workflowId)}` }, w.workflowId)),
        h('td', {}, w.name || '—'), h('td', {}, badge(w.status)),
        h('td', {}, `${w.steps.filter((s) => s.status === 'success').length} / ${w.steps.length}`),
        h('td', {}, w.transactional ? 'yes' : 'no'), h('td', {}, time(w.createdAt)), h('td', {}, time(w.updatedAt)))));
    } catch (e) {
      toast(`Could not load workflows: ${e.message}`, 'error');
    }
  }

  async function loadOne(id) {
    let w;
    try {
      w = await ctx.api.get(`api/workflows/${encodeURIComponent(id)}`);
    } catch (e) {
      replace(detail, h('p', { class: 'error' }, e.message));
      return;
    }
    if (openId !== id) return;
    const cancel = w.status === 'running' ? h('button', { type: 'button', class: 'danger', onclick: async () => {
      try { await ctx.api.post(`api/workflows/${encodeURIComponent(id)}/cancel`); toast(`${id} cancelled`); loadOne(id); } catch (e) { toast(e.message, 'error'); }
    } }, 'Cancel workflow') : null;
    replace(detail,
      h('h3', {}, w.name || w.workflowId, ' ', badge(w.status)),
      facts([
        ['id', w.workflowId], ['transactional', w.transactional ? 'yes' : 'no'], ['dry run', w.dryRun ? 'yes' : 'no'],
        ['created', time(w.createdAt)], w.completedAt && ['ended', time(w.completedAt)],
        w.failedStep && ['failed step', w.failedStep], w.error && ['error', `${w.error.code}: ${w.error.message}`],
        (w.compensated || []).length && ['compensated', w.compensated.join(', ')],
        (w.notCompensated || []).length && ['not compensated', w.notCompensated.join(', ')],
      ]),
      graph(w),
      h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Steps' },
        h('thead', {}, h('tr', {}, ['Step', 'Status', 'Depends on', 'Action', 'Error', 'Compensation'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', {}, w.steps.map((s) => h('tr', { dataset: { step: s.name } },
          h('th', { scope: 'row' }, s.name), h('td', {}, badge(s.status)), h('td', {}, (s.dependsOn || []).join(', ') || '—'),
          h('td', {}, h('a', { href: `#/live/${encodeURIComponent(s.actionId)}` }, s.actionId)),
          h('td', {}, s.error ? `${s.error.code}: ${s.error.message}` : '—'),
          h('td', {}, s.compensation ? [h('a', { href: `#/live/${encodeURIComponent(s.compensation.actionId)}` }, s.compensation.actionId), ' ', badge(s.compensation.status)] : '—')))))),
      h('div', { class: 'actions' }, cancel, h('button', { type: 'button', class: 'quiet', onclick: () => ctx.go('#/workflows') }, 'Close workflow')));
  }

  const refresh = debounce(() => {
    if (!visible) return;
    loadList();
    if (openId) loadOne(openId);
  }, 250);
  ctx.socket.on('workflow:*', refresh);
  ctx.socket.on('action:*', (d) => { if (openId && d.actionId?.startsWith(`${openId}.`)) refresh(); });

  return {
    show(arg) {
      visible = true;
      openId = arg;
      detail.hidden = !arg;
      loadList();
      if (arg) loadOne(arg);
    },
    hide() { visible = false; },
  };
}
