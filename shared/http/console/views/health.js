// Health: every platform's status, breaker, rate-limit use, last success and response time;
// a `health:changed` shows at once.

import { h, replace, time, badge, toast, PLATFORMS } from '../lib/dom.js';

export function mount(root, ctx) {
  let report = null;
  let visible = false;
  let refresher = null;
  const overall = h('p', { class: 'overall', 'aria-live': 'polite' });
  const body = h('tbody');
  const changes = h('ol', { class: 'changes', 'aria-label': 'Recent health changes' });
  root.append(h('h2', {}, 'Health'), overall,
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Platform health' },
      h('thead', {}, h('tr', {}, ['Platform', 'Status', 'Circuit breaker', 'Failures', 'Rate limit', 'Last success', 'Response time', 'Credentials']
        .map((c) => h('th', { scope: 'col' }, c)))),
      body)),
    h('h3', {}, 'Changes'), changes);

  function render() {
    if (!report) return;
    replace(overall, 'Overall: ', badge(report.overall), ` · queue depth ${report.queue?.depth ?? 0} · as of ${time(report.timestamp)}`);
    replace(body, PLATFORMS.filter((p) => report.executors[p]).map((p) => {
      const e = report.executors[p];
      const rl = e.rateLimit || {};
      const used = rl.limit ? Math.max(0, Math.min(1, 1 - rl.current / rl.limit)) : 0;
      return h('tr', { dataset: { platform: p } },
        h('th', { scope: 'row' }, p),
        h('td', {}, badge(e.status), e.reason ? h('span', { class: 'muted' }, ` ${e.reason}`) : null),
        h('td', { class: 'breaker' }, badge((e.circuitBreaker?.state || 'CLOSED').toLowerCase())),
        h('td', {}, String(e.circuitBreaker?.failureCount ?? 0)),
        h('td', {}, h('meter', { min: 0, max: 1, value: used, 'aria-label': `${p} rate limit used` }),
          ` ${Math.round(used * 100)} % of ${rl.limit ?? '—'}`),
        h('td', {}, time(e.lastSuccess)),
        h('td', {}, e.avgResponseTime ? `${Math.round(e.avgResponseTime)} ms` : '—'),
        h('td', {}, e.configured ? 'configured' : 'missing'));
    }));
  }

  async function load() {
    try {
      report = await ctx.api.get('api/actions/health');
      render();
    } catch (e) {
      toast(`Could not load health: ${e.message}`, 'error');
    }
  }

  ctx.socket.on('health:changed', (d) => {
    const e = report?.executors?.[d.platform];
    if (e) {
      e.status = d.currentStatus || e.status;
      if (d.circuitBreaker) e.circuitBreaker = d.circuitBreaker;
      render();
    }
    changes.prepend(h('li', {}, h('time', {}, time(d.timestamp)), ` ${d.platform}: ${d.previousStatus} → ${d.currentStatus}`,
      d.circuitBreaker ? ` (breaker ${String(d.circuitBreaker.state).toLowerCase()})` : ''));
    while (changes.children.length > 20) changes.lastChild.remove();
    load();
  });

  return {
    show() {
      visible = true;
      load();
      clearInterval(refresher);
      refresher = setInterval(() => visible && load(), 5000);
    },
    hide() { visible = false; clearInterval(refresher); },
  };
}
