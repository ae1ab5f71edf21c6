// Metrics: throughput and success rate over time, per platform, p95 — for 1 h to 7 d.

import { h, replace, duration, percent, select, toast, PLATFORMS } from '../lib/dom.js';
import { lineChart, COLOURS } from '../lib/chart.js';
import { card } from './queue.js';

const WINDOWS = ['1h', '6h', '24h', '7d'];

export function mount(root, ctx) {
  let windowName = '1h';
  let visible = false;
  const cards = h('div', { class: 'cards' });
  const charts = h('div', { class: 'charts' });
  const body = h('tbody');
  root.append(
    h('div', { class: 'toolbar' }, h('h2', {}, 'Metrics'),
      select('Window', WINDOWS.map((w) => ({ value: w, label: w })), windowName, (v) => { windowName = v; load(); })),
    cards, charts,
    h('h3', {}, 'Per platform'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Metrics per platform' },
      h('thead', {}, h('tr', {}, ['Platform', 'Actions', 'Success rate', 'Average', 'p95', 'Quality'].map((c) => h('th', { scope: 'col' }, c)))),
      body)));

  function render(m) {
    const s = m.metrics;
    replace(cards,
      card('Actions', String(s.totalActions)), card('Success rate', percent(s.successRate)),
      card('p50', duration(s.p50ExecutionTime)), card('p95', duration(s.p95ExecutionTime)),
      card('p99', duration(s.p99ExecutionTime)), card('Retry rate', percent(s.retryRate)),
      card('Average queue time', duration(s.avgQueueTime)));
    const t = m.timeline.map((p) => new Date(p.timestamp).getTime());
    replace(charts,
      lineChart([{ label: 'actions / min', colour: COLOURS.total, points: m.timeline.map((p, i) => [t[i], p.actionsPerMinute]) }],
        { title: `Throughput, ${m.timeWindow}` }),
      lineChart([{ label: 'success rate %', colour: COLOURS.success, points: m.timeline.map((p, i) => [t[i], p.successRate * 100]) }],
        { title: `Success rate, ${m.timeWindow}`, max: 100, format: (v) => `${Math.round(v)}` }));
    replace(body, PLATFORMS.map((p) => {
      const b = m.byPlatform[p] || {};
      return h('tr', {}, h('th', { scope: 'row' }, p), h('td', {}, String(b.total ?? 0)), h('td', {}, b.total ? percent(b.successRate) : '—'),
        h('td', {}, b.total ? duration(b.avgExecutionTime) : '—'), h('td', {}, b.total ? duration(b.p95ExecutionTime) : '—'),
        h('td', {}, b.avgQuality ? `${b.avgQuality.toFixed(1)} / 5` : '—'));
    }));
  }

  async function load() {
    try {
      render(await ctx.api.get(`api/actions/metrics?timeWindow=${windowName}`));
    } catch (e) {
      toast(`Could not load metrics: ${e.message}`, 'error');
    }
  }

  ctx.socket.on('metrics:updated', () => { if (visible) load(); });

  return {
    show() { visible = true; load(); },
    hide() { visible = false; },
  };
}
