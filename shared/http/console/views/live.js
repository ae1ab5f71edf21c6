// Live: the newest actions as they change, filtered by platform and status, and one
// action's detail (lifecycle, the request as sent or as it would be, result or error,
// feedback) with Cancel and Replay.

import { h, replace, time, duration, badge, json, facts, select, toast, PLATFORMS } from '../lib/dom.js';
import { query } from '../lib/api.js';

const KEEP = 300;
const STATUSES = ['queued', 'executing', 'retrying', 'success', 'failed', 'cancelled', 'pending_approval',
  'rejected', 'expired'];
export const RUNNABLE = new Set(['queued', 'retrying', 'pending_approval']);
export const REPLAYABLE = new Set(['failed', 'cancelled', 'rejected', 'expired']);
const BY_EVENT = {
  'action:queued': 'queued', 'action:executing': 'executing', 'action:retrying': 'retrying',
  'action:completed': 'success', 'action:failed': 'failed', 'action:cancelled': 'cancelled',
};
// Columns a phone leaves out (priority, created, took); the detail has them.
const WIDE = new Set([3, 5, 7]);
const RESOLVED = { approved: 'queued', rejected: 'rejected', timeout: 'expired', cancelled: 'cancelled' };

export function mount(root, ctx) {
  const rows = new Map();
  const filter = { platform: '', status: '' };
  let detailId = null;
  let loaded = false;
  let pending = false;

  const body = h('tbody');
  const empty = h('p', { class: 'empty' }, 'No actions yet. Submit one with baton submit or POST /api/actions.');
  const detail = h('aside', { class: 'detail', 'aria-label': 'Action detail', hidden: true });
  const counter = h('span', { class: 'muted', 'aria-live': 'polite' });
  root.append(
    h('div', { class: 'toolbar' },
      h('h2', {}, 'Live actions'),
      select('Platform', [{ value: '', label: 'all' }, ...PLATFORMS.map((p) => ({ value: p, label: p }))], '',
        (v) => { filter.platform = v; render(); }),
      select('Status', [{ value: '', label: 'all' }, ...STATUSES.map((s) => ({ value: s, label: s }))], '',
        (v) => { filter.status = v; render(); }),
      counter),
    h('div', { class: 'split' },
      h('div', { class: 'table-wrap' },
        h('table', { class: 'list', 'aria-label': 'Actions' },
          h('thead', {}, h('tr', {}, ['Action', 'Type', 'Platform', 'Priority', 'Status', 'Created', 'Updated', 'Took']
            .map((c, i) => h('th', { scope: 'col', class: WIDE.has(i) ? 'wide' : null }, c)))),
          body),
        empty),
      detail));

  function upsert(id, patch) {
    const row = rows.get(id) || { id, createdAt: patch.updatedAt };
    Object.assign(row, Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined && v !== null)));
    rows.set(id, row);
    if (rows.size > KEEP * 2) {
      const oldest = [...rows.values()].sort((a, b) => (a.createdAt < b.createdAt ? -1 : 1)).slice(0, rows.size - KEEP);
      for (const r of oldest) rows.delete(r.id);
    }
    schedule();
    if (id === detailId) openDetail(id);
  }

  function schedule() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  }

  function render() {
    const shown = [...rows.values()]
      .filter((r) => (!filter.platform || r.platform === filter.platform) && (!filter.status || r.status === filter.status))
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))
      .slice(0, KEEP);
    replace(body, shown.map((r) => h('tr', { dataset: { id: r.id }, class: r.id === detailId ? 'selected' : '' },
      h('td', { class: 'id' }, h('button', { type: 'button', class: 'link', onclick: () => ctx.go(`#/live/${encodeURIComponent(r.id)}`),
        'aria-label': `Show action ${r.id}` }, r.id)),
      h('td', {}, r.type), h('td', {}, r.platform), h('td', { class: 'wide' }, r.priority || '—'),
      h('td', {}, badge(r.status)), h('td', { class: 'wide' }, time(r.createdAt)), h('td', {}, time(r.updatedAt)),
      h('td', { class: 'wide' }, r.executionTime !== undefined ? duration(r.executionTime) : '—'))));
    empty.hidden = shown.length > 0;
    counter.textContent = `${shown.length} shown`;
  }

  async function load() {
    try {
      const recent = await ctx.api.get(`api/actions/recent${query({ limit: 100 })}`);
      for (const a of recent.actions) {
        upsert(a.id, { type: a.type, platform: a.platform, priority: a.priority, status: a.state,
          createdAt: a.timestamp, updatedAt: a.timestamp, executionTime: a.executionTime });
      }
      loaded = true;
    } catch (e) {
      toast(`Could not load the recent actions: ${e.message}`, 'error');
    }
  }

  for (const [event, status] of Object.entries(BY_EVENT)) {
    ctx.socket.on(event, (d) => upsert(d.actionId, { type: d.type, platform: d.platform, priority: d.priority,
      status, updatedAt: d.timestamp, executionTime: d.executionTime }));
  }
  ctx.socket.on('approval:pending', (d) => upsert(d.actionId, { type: d.action?.type, platform: d.action?.platform,
    priority: d.action?.priority, status: 'pending_approval', updatedAt: d.timestamp }));
  ctx.socket.on('approval:resolved', (d) => upsert(d.actionId, { status: RESOLVED[d.status], updatedAt: d.timestamp }));
  ctx.socket.on('socket:open', () => { if (loaded) load(); });

  async function openDetail(id) {
    detailId = id;
    detail.hidden = false;
    let action;
    try {
      action = await ctx.api.get(`api/actions/${encodeURIComponent(id)}`);
    } catch (e) {
      replace(detail, h('h3', {}, id), h('p', { class: 'error' }, e.message), closeButton());
      return;
    }
    if (detailId !== id) return;
    let request = null;
    try {
      request = await ctx.api.get(`api/actions/${encodeURIComponent(id)}/request`);
    } catch (e) {
      request = { unavailable: e.message };
    }
    if (detailId !== id) return;
    replace(detail, ...actionDetail(action, request, ctx, () => openDetail(id)), closeButton());
    render();
  }

  function closeButton() {
    return h('button', { type: 'button', class: 'quiet', onclick: () => ctx.go('#/live') }, 'Close detail');
  }

  return {
    show(arg) {
      if (!loaded) load();
      if (arg) openDetail(arg);
      else { detailId = null; detail.hidden = true; render(); }
    },
  };
}

/** The detail of one action: what the Live and Failed views show. */
export function actionDetail(a, request, ctx, refresh) {
  const lifecycle = [
    ['created', a.createdAt],
    a.firstStartedAt && ['first started', a.firstStartedAt],
    a.retries > 0 && a.startedAt && [`started (attempt ${a.attempts})`, a.startedAt],
    a.notBefore && a.status === 'retrying' && ['next attempt', a.notBefore],
    a.completedAt && [a.status, a.completedAt],
  ].filter(Boolean);
  const buttons = [];
  if (RUNNABLE.has(a.status)) {
    buttons.push(h('button', { type: 'button', class: 'danger', onclick: async () => {
      try { await ctx.api.post(`api/actions/${encodeURIComponent(a.id)}/cancel`, { reason: 'cancelled from the console' }); toast(`${a.id} cancelled`); refresh(); } catch (e) { toast(e.message, 'error'); }
    } }, 'Cancel action'));
  }
  if (REPLAYABLE.has(a.status) && !(a.replayedBy || []).length) {
    buttons.push(h('button', { type: 'button', onclick: async () => {
      try { const r = await ctx.api.post(`api/actions/${encodeURIComponent(a.id)}/replay`); toast(`replayed as ${r.actionId}`); ctx.go(`#/live/${encodeURIComponent(r.actionId)}`); } catch (e) { toast(e.message, 'error'); }
    } }, 'Replay action'));
  }
  const link = (id) => h('a', { href: `#/live/${encodeURIComponent(id)}` }, id);
  return [
    h('h3', {}, `${a.type} on ${a.platform} `, badge(a.status)),
    facts([
      ['id', a.id], ['priority', a.priority], ['dry run', a.dryRun ? 'yes' : 'no'],
      ['attempts', String(a.attempts ?? 0)], ['retries', String(a.retries ?? 0)],
      ['queue time', duration(a.queueTime)], ['execution', duration(a.executionTime)],
      a.workerId && ['worker', a.workerId],
      a.replayOf && ['replay of', link(a.replayOf)],
      (a.replayedBy || []).length && ['replayed by', a.replayedBy.map(link)],
      a.fallbackActionId && ['fallback', link(a.fallbackActionId)],
      a.workflowId && ['workflow', h('a', { href: `#/workflows/${encodeURIComponent(a.workflowId)}` }, a.workflowId)],
    ]),
    h('h4', {}, 'Lifecycle'),
    h('ol', { class: 'lifecycle' }, lifecycle.map(([what, ts]) => h('li', {}, h('span', {}, what), ' ', h('time', { datetime: ts }, time(ts))))),
    buttons.length ? h('div', { class: 'actions' }, buttons) : null,
    a.error ? [h('h4', {}, 'Error'), h('p', { class: 'error' }, h('code', {}, a.error.code), ' ', a.error.message)] : null,
    h('h4', {}, a.dryRun || ['success', 'failed', 'executing', 'retrying'].includes(a.status) ? 'Request as sent' : 'Request as it would be'),
    json(request?.request || request?.requests || request, 'Platform request'),
    a.result && !a.dryRun ? [h('h4', {}, 'Result'), json(a.result, 'Result')] : null,
    h('h4', {}, 'Data'), json(a.data, 'Action data'),
    (a.feedback || []).length ? [h('h4', {}, 'Feedback'), h('ul', { class: 'feedback' }, a.feedback.map((f) =>
      h('li', {}, badge(f.outcome), ` quality ${f.executionQuality}/5 `, f.notes ? `— ${f.notes}` : '')))] : null,
  ];
}
