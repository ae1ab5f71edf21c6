// The console's entry: sign-in (a key in sessionStorage, or a `#key=` link), the live feed,
// and the views, one per hash route (`#/live`, `#/live/<actionId>`, `#/workflows/<id>`, …).

import { client } from './lib/api.js';
import { live } from './lib/socket.js';
import * as liveView from './views/live.js';
import * as queueView from './views/queue.js';
import * as healthView from './views/health.js';
import * as metricsView from './views/metrics.js';
import * as approvalsView from './views/approvals.js';
import * as workflowsView from './views/workflows.js';
import * as failedView from './views/failed.js';

const MODULES = {
  live: liveView, queue: queueView, health: healthView, metrics: metricsView,
  approvals: approvalsView, workflows: workflowsView, failed: failedView,
};
const STORED_KEY = 'baton.apiKey';

// A sign-in link (`/#key=…`, what `baton console` opens): take the key, then drop it from
// the address bar and the history at once.
const linked = location.hash.match(/^#key=([^&]+)/);
if (linked) {
  sessionStorage.setItem(STORED_KEY, decodeURIComponent(linked[1]));
  history.replaceState(null, '', `${location.pathname}${location.search}#/live`);
}

const $ = (id) => document.getElementById(id);

async function verify(key) {
  const api = client(key);
  await api.get('api/actions/queue');
  return api;
}

function showSignIn(message) {
  $('app').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message || '';
  $('signin-key').focus();
}

function route() {
  const [name, ...rest] = location.hash.replace(/^#\/?/, '').split('/');
  return { name: MODULES[name] ? name : 'live', arg: rest.length ? decodeURIComponent(rest.join('/')) : null };
}

function start(api) {
  $('signin').hidden = true;
  $('app').hidden = false;
  const status = $('connection');
  const socket = live(api.key, (state) => {
    status.textContent = state === 'live' ? 'live' : state === 'connecting' ? 'connecting…' : 'reconnecting…';
    status.className = `connection ${state}`;
  });
  const ctx = { api, socket, go: (hash) => { location.hash = hash; } };
  const views = {};
  for (const [name, mod] of Object.entries(MODULES)) views[name] = mod.mount($(`view-${name}`), ctx);
  let current = null;
  const show = () => {
    const { name, arg } = route();
    for (const [n, v] of Object.entries(views)) {
      $(`view-${n}`).hidden = n !== name;
      if (n !== name && current === n && v.hide) v.hide();
    }
    for (const a of document.querySelectorAll('nav a')) {
      if (a.dataset.view === name) a.setAttribute('aria-current', 'page');
      else a.removeAttribute('aria-current');
    }
    current = name;
    views[name].show(arg);
  };
  window.addEventListener('hashchange', show);
  show();
  $('signout').addEventListener('click', () => {
    sessionStorage.removeItem(STORED_KEY);
    socket.close();
    location.hash = '';
    location.reload();
  });
}

$('signin-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const key = $('signin-key').value.trim();
  if (!key) return showSignIn('Enter an API key.');
  $('signin-error').textContent = 'Signing in…';
  try {
    const api = await verify(key);
    sessionStorage.setItem(STORED_KEY, key);
    $('signin-key').value = '';
    start(api);
  } catch (err) {
    showSignIn(err.status === 401 ? 'That key is not valid (unknown, expired or revoked).'
      : err.status === 403 ? 'That key may not read actions (it needs actions:read).'
        : `Sign-in failed: ${err.message}`);
  }
});

const stored = sessionStorage.getItem(STORED_KEY);
if (stored) {
  verify(stored).then(start, (err) => {
    sessionStorage.removeItem(STORED_KEY);
    showSignIn(err.status === 401 ? 'The saved key no longer works; sign in again.' : err.message);
  });
} else {
  showSignIn();
}
