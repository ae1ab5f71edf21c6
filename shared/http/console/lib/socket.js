// The live feed: one WebSocket (`?token=`), subscribed to every event, reconnecting with
// backoff; views register handlers by event pattern (`action:*`, `health:changed`, `*`).

import { base } from './api.js';

function url(key) {
  const meta = document.querySelector('meta[name="baton-ws"]');
  const configured = meta && meta.content && !meta.content.startsWith('{{') ? meta.content : '';
  const ws = configured || `${base().replace(/^http/, 'ws')}ws`;
  return `${ws}${ws.includes('?') ? '&' : '?'}token=${encodeURIComponent(key)}`;
}

function matches(pattern, name) {
  if (pattern === '*' || pattern === name) return true;
  return pattern.endsWith(':*') && name.startsWith(pattern.slice(0, -1));
}

export function live(key, onState) {
  const handlers = [];
  let socket = null;
  let delay = 500;
  let closed = false;
  let pinger = null;
  const seen = new Set();

  function connect() {
    onState('connecting');
    socket = new WebSocket(url(key));
    socket.addEventListener('open', () => {
      delay = 500;
      socket.send(JSON.stringify({ action: 'subscribe', events: ['*'] }));
      onState('live');
      for (const h of handlers) if (h.pattern === 'socket:open') h.fn({});
      clearInterval(pinger);
      pinger = setInterval(() => socket.readyState === 1 && socket.send('{"action":"ping"}'), 240000);
    });
    socket.addEventListener('message', (m) => {
      let frame;
      try { frame = JSON.parse(m.data); } catch { return; }
      if (!frame || typeof frame.event !== 'string') return;
      // Event ids are deterministic: a duplicate delivery is dropped here.
      if (frame.id) {
        if (seen.has(frame.id)) return;
        seen.add(frame.id);
        if (seen.size > 5000) seen.clear();
      }
      for (const h of handlers) if (matches(h.pattern, frame.event)) h.fn(frame.data || {}, frame.event, frame);
    });
    socket.addEventListener('close', () => {
      clearInterval(pinger);
      if (closed) return;
      onState('reconnecting');
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }

  connect();
  return {
    on(pattern, fn) { handlers.push({ pattern, fn }); },
    close() { closed = true; if (socket) socket.close(); },
  };
}
