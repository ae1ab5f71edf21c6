// Failed: what ended badly (failed, cancelled, rejected, expired) with its error code; replay
// one, or every match of a filter after showing how many; and what still waits, to cancel.

import { h, replace, time, badge, select, toast, debounce, PLATFORMS } from '../lib/dom.js';
import { query } from '../lib/api.js';
import { RUNNABLE } from './live.js';

const CODES = ['VALIDATION_ERROR', 'AUTH_ERROR', 'PERMISSION_DENIED', 'NOT_FOUND', 'RATE_LIMITED', 'QUOTA_EXCEEDED',
  'SERVICE_DOWN', 'TIMEOUT_ERROR', 'NETWORK_ERROR', 'DUPLICATE_ERROR', 'UNKNOWN_ERROR'];
const SINCE = [['1h', 3600e3], ['24h', 86400e3], ['7d', 7 * 86400e3], ['30d', 30 * 86400e3]];

export function mount(root, ctx) {
  const filter = { platform: '', errorCode: '', since: '24h' };
  let visible = false;
  const failedBody = h('tbody');
  const waitingBody = h('tbody');
  const confirm = h('div', { class: 'confirm', role: 'region', 'aria-label': 'Bulk replay', hidden: true });
  const summary = h('span', { class: 'muted', 'aria-live': 'polite' });
  root.append(
    h('div', { class: 'toolbar' }, h('h2', {}, 'Failed'),
      select('Platform', [{ value: '', label: 'all' }, ...PLATFORMS.map((p) => ({ value: p, label: p }))], '', (v) => { filter.platform = v; load(); }),
      select('Error code', [{ value: '', label: 'any' }, ...CODES.map((c) => ({ value: c, label: c }))], '', (v) => { filter.errorCode = v; load(); }),
      select('Since', SINCE.map(([l]) => ({ value: l, label: `last ${l}` })), filter.since, (v) => { filter.since = v; load(); }),
      h('button', { type: 'button', onclick: count }, 'Replay matching…'),
      summary),
    confirm,
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Failed actions' },
      h('thead', {}, h('tr', {}, ['Action', 'Type', 'Platform', 'Status', 'Error code', 'Error', 'When', ''].map((c) => h('th', { scope: 'col' }, c)))),
      failedBody)),
    h('h3', {}, 'Waiting'),
    h('p', { class: 'hint' }, 'Queued, retrying and held actions can still be cancelled.'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Waiting actions' },
      h('thead', {}, h('tr', {}, ['Action', 'Type', 'Platform', 'Status', 'Since', ''].map((c) => h('th', { scope: 'col' }, c)))),
      waitingBody)));

  const startDate = () => new Date(Date.now() - Object.fromEntries(SINCE)[filter.since]).toISOString();
  const bulkFilter = () => Object.fromEntries(Object.entries({ platform: filter.platform, errorCode: filter.errorCode, startDate: startDate() })
    .filter(([, v]) => v));

  async function replayOne(id) {
    try {
      const r = await ctx.api.post(`api/actions/${encodeURIComponent(id)}/replay`);
      toast(`${id} replayed as ${r.actionId}`);
      load();
    } catch (e) {
      toast(`${e.message} (${e.code})`, 'error');
    }
  }

  async function cancelOne(id) {
    try {
      await ctx.api.post(`api/actions/${encodeURIComponent(id)}/cancel`, { reason: 'cancelled from the console' });
      toast(`${id} cancelled`);
      load();
    } catch (e) {
      toast(`${e.message} (${e.code})`, 'error');
    }
  }

  async function count() {
    let r;
    try {
      r = await ctx.api.post('api/actions/replay', { filter: bulkFilter(), dryRun: true });
    } catch (e) {
      toast(`${e.message} (${e.code})`, 'error');
      return;
    }
    confirm.hidden = false;
    if (!r.matched) {
      replace(confirm, h('p', {}, 'Nothing matches that filter (that was not already replayed).'),
        h('button', { type: 'button', class: 'quiet', onclick: () => { confirm.hidden = true; } }, 'Close'));
      return;
    }
    replace(confirm,
      h('p', {}, h('strong', {}, `${r.matched} action(s) match`), ` (never replayed, ${describe()}). First: ${r.ids.slice(0, 5).join(', ')}${r.ids.length > 5 ? ', …' : ''}`),
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: async () => {
          try {
            const done = await ctx.api.post('api/actions/replay', { filter: bulkFilter(), dryRun: false });
            replace(confirm, h('p', {}, `Replayed ${done.replayed.length} of ${done.matched}.`),
              h('button', { type: 'button', class: 'quiet', onclick: () => { confirm.hidden = true; } }, 'Close'));
            load();
          } catch (e) {
            toast(`${e.message} (${e.code})`, 'error');
          }
        } }, `Replay ${r.matched}`),
        h('button', { type: 'button', class: 'quiet', onclick: () => { confirm.hidden = true; } }, 'Keep them')));
  }

  function describe() {
    return [filter.platform || 'any platform', filter.errorCode || 'any error', `last ${filter.since}`].join(', ');
  }

  async function load() {
    try {
      const common = { platform: filter.platform, startDate: startDate(), limit: 200 };
      const [failed, waiting] = await Promise.all([
        ctx.api.get(`api/actions/recent${query({ ...common, status: 'failed' })}`),
        ctx.api.get(`api/actions/recent${query({ platform: filter.platform, status: 'pending', limit: 200 })}`),
      ]);
      const shown = failed.actions.filter((a) => !filter.errorCode || a.errorCode === filter.errorCode);
      summary.textContent = `${shown.length} shown`;
      replace(failedBody, shown.map((a) => h('tr', { dataset: { id: a.id } },
        h('td', {}, h('a', { href: `#/live/${encodeURIComponent(a.id)}` }, a.id)),
        h('td', {}, a.type), h('td', {}, a.platform), h('td', {}, badge(a.state)),
        h('td', {}, a.errorCode ? h('code', {}, a.errorCode) : '—'), h('td', { class: 'wrap' }, a.error || '—'),
        h('td', {}, time(a.timestamp)),
        h('td', {}, a.replayedBy?.length ? h('span', { class: 'muted' }, 'replayed')
          : h('button', { type: 'button', onclick: () => replayOne(a.id), 'aria-label': `Replay ${a.id}` }, 'Replay')))));
      replace(waitingBody, waiting.actions.filter((a) => RUNNABLE.has(a.state)).map((a) => h('tr', { dataset: { id: a.id } },
        h('td', {}, h('a', { href: `#/live/${encodeURIComponent(a.id)}` }, a.id)),
        h('td', {}, a.type), h('td', {}, a.platform), h('td', {}, badge(a.state)), h('td', {}, time(a.timestamp)),
        h('td', {}, h('button', { type: 'button', class: 'danger', onclick: () => cancelOne(a.id), 'aria-label': `Cancel ${a.id}` }, 'Cancel')))));
    } catch (e) {
      toast(`Could not load failed actions: ${e.message}`, 'error');
    }
  }

  const refresh = debounce(() => { if (visible) load(); }, 300);
  for (const e of ['action:failed', 'action:cancelled', 'action:queued', 'action:executing', 'approval:pending', 'approval:resolved']) ctx.socket.on(e, refresh);

  return {
    show() { visible = true; load(); },
    hide() { visible = false; },
  };
}
