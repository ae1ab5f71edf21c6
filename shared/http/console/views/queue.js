// Queue: depth per priority over the last minutes (sampled from `queue:updated` and a
// refresh), worker utilisation, and the oldest waiting action of each priority.

import { h, replace, time, duration, percent, toast } from '../lib/dom.js';
import { lineChart, COLOURS } from '../lib/chart.js';

const PRIORITIES = ['critical', 'high', 'normal', 'low'];
const SPAN_MS = 10 * 60 * 1000;
const SAMPLE_MS = 2000;

export function mount(root, ctx) {
  const samples = [];
  let stats = null;
  let queues = {};
  let visible = false;
  let refresher = null;
  const cards = h('div', { class: 'cards' });
  const chart = h('div', { class: 'chart-slot' });
  const oldest = h('tbody');
  root.append(h('h2', {}, 'Queue'), cards, chart,
    h('h3', {}, 'Oldest waiting'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'list', 'aria-label': 'Oldest waiting action per priority' },
      h('thead', {}, h('tr', {}, ['Priority', 'Action', 'Type', 'Platform', 'Waiting since', 'Waiting'].map((c) => h('th', { scope: 'col' }, c)))),
      oldest)));

  function sample() {
    if (!stats) return;
    samples.push({ t: Date.now(), by: { ...stats.byPriority }, util: stats.workerUtilization });
    while (samples.length && samples[0].t < Date.now() - SPAN_MS) samples.shift();
    if (visible) render();
  }

  function render() {
    if (!stats) return;
    replace(cards,
      card('Waiting', String(stats.totalQueued)),
      ...PRIORITIES.map((p) => card(p, String(stats.byPriority[p] ?? 0))),
      card('Worker utilisation', percent(stats.workerUtilization)),
      card('Average wait', duration(stats.avgWaitTime)));
    replace(chart, lineChart(PRIORITIES.map((p) => ({
      label: p, colour: COLOURS[p], points: samples.map((s) => [s.t, s.by[p] ?? 0]),
    })), { title: 'Depth per priority, last 10 minutes', format: (v) => String(Math.round(v)) }));
    replace(oldest, PRIORITIES.map((p) => {
      const first = (queues[p] || [])[0];
      return h('tr', {}, h('th', { scope: 'row' }, p),
        first ? [h('td', {}, h('a', { href: `#/live/${encodeURIComponent(first.actionId)}` }, first.actionId)),
          h('td', {}, first.type), h('td', {}, first.platform), h('td', {}, time(first.queuedAt)),
          h('td', {}, duration(Date.now() - new Date(first.queuedAt).getTime()))]
          : h('td', { colspan: 5, class: 'muted' }, 'nothing waiting'));
    }));
  }

  async function load() {
    try {
      const q = await ctx.api.get('api/actions/queue');
      stats = q.stats;
      queues = q.queues;
      sample();
    } catch (e) {
      toast(`Could not load the queue: ${e.message}`, 'error');
    }
  }

  ctx.socket.on('queue:updated', (d) => {
    stats = d;
    sample();
    if (visible) load();
  });
  setInterval(sample, SAMPLE_MS);

  return {
    show() {
      visible = true;
      load();
      clearInterval(refresher);
      refresher = setInterval(load, 10000);
    },
    hide() { visible = false; clearInterval(refresher); },
  };
}

export function card(label, value, extra) {
  return h('div', { class: 'stat' }, h('span', { class: 'label' }, label), h('strong', { class: 'value' }, value), extra || null);
}
