// Line charts in SVG: a few series over time, with axes labels and an accessible summary.

import { h } from './dom.js';

const W = 640;
const H = 200;
const PAD = { l: 44, r: 12, t: 12, b: 24 };

/**
 * `series`: `[{label, points: [[timeMs, value]], colour}]`; `opts`: `{title, max, format}`.
 * Returns an `<figure>` whose `<svg>` has a role of img and a label summarising the last values.
 */
export function lineChart(series, opts = {}) {
  const fmt = opts.format || ((v) => String(Math.round(v * 10) / 10));
  const all = series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const x0 = Math.min(...xs, Date.now() - 60000);
  const x1 = Math.max(...xs, x0 + 1);
  const top = opts.max ?? Math.max(1, ...all.map((p) => p[1]));
  const sx = (x) => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const sy = (y) => H - PAD.b - (y / top) * (H - PAD.t - PAD.b);
  const last = series.map((s) => `${s.label} ${s.points.length ? fmt(s.points[s.points.length - 1][1]) : 'no data'}`);
  const svg = h('svg', {
    viewBox: `0 0 ${W} ${H}`, role: 'img', class: 'chart',
    'aria-label': `${opts.title || 'chart'}: now ${last.join(', ')}`,
    preserveAspectRatio: 'none',
  });
  for (const f of [0, 0.5, 1]) {
    const y = sy(top * f);
    svg.append(h('line', { x1: PAD.l, x2: W - PAD.r, y1: y, y2: y, class: 'grid' }));
    svg.append(h('text', { x: PAD.l - 6, y: y + 4, class: 'axis', 'text-anchor': 'end' }, fmt(top * f)));
  }
  const tick = (x) => new Date(x).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hour12: false });
  svg.append(h('text', { x: PAD.l, y: H - 6, class: 'axis' }, tick(x0)));
  svg.append(h('text', { x: W - PAD.r, y: H - 6, class: 'axis', 'text-anchor': 'end' }, tick(x1)));
  for (const s of series) {
    if (!s.points.length) continue;
    const d = s.points.map((p, i) => `${i ? 'L' : 'M'}${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ');
    svg.append(h('path', { d, class: 'line', stroke: s.colour || 'currentColor' }));
  }
  const legend = h('figcaption', { class: 'legend' }, opts.title ? h('strong', {}, opts.title) : null,
    series.map((s) => h('span', { class: 'key' }, h('i', { class: 'swatch', style: `background:${s.colour}` }), s.label)));
  return h('figure', { class: 'chart-box' }, legend, svg);
}

export const COLOURS = {
  critical: '#c0392b', high: '#d68910', normal: '#2874a6', low: '#7f8c8d',
  notion: '#34495e', trello: '#0079bf', slack: '#7d3c98', drive: '#1e8449', sheets: '#16a085',
  total: '#2874a6', success: '#1e8449',
};
