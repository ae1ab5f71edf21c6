// Approvals: the inbox of pending approvals — reason, the exact preview, approvers, a
// countdown — with Approve (optionally after editing the data) and Reject (with a reason).
// Decisions carry the approver's Slack user id, asked for once and kept in this tab.

import { h, replace, time, duration, json, facts, toast } from '../lib/dom.js';

const USER_KEY = 'baton.slackUserId';

/** The JSON merge patch (RFC 7386) that turns `from` into `to`. */
export function mergePatch(from, to) {
  if (typeof from !== 'object' || typeof to !== 'object' || !from || !to || Array.isArray(from) || Array.isArray(to)) return to;
  const patch = {};
  for (const k of Object.keys(from)) if (!(k in to)) patch[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (JSON.stringify(from[k]) !== JSON.stringify(v)) patch[k] = k in from ? mergePatch(from[k], v) : v;
  }
  return patch;
}

export function mount(root, ctx) {
  const items = new Map();
  const cards = new Map();
  const list = h('div', { class: 'approvals', 'aria-label': 'Pending approvals' });
  const empty = h('p', { class: 'empty' }, 'Nothing waits for a decision.');
  const count = document.getElementById('approvals-count');
  const userInput = h('input', { id: 'approver-id', type: 'text', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'U012AB3CD', value: sessionStorage.getItem(USER_KEY) || '' });
  userInput.addEventListener('change', () => sessionStorage.setItem(USER_KEY, userInput.value.trim()));
  root.append(
    h('div', { class: 'toolbar' }, h('h2', {}, 'Approvals'),
      h('span', { class: 'field' }, h('label', { for: 'approver-id' }, 'Your Slack user ID'), userInput)),
    h('p', { class: 'hint' }, 'Decisions are recorded under this id; only the named approvers (or, if none are named, anyone allowed to approve) may decide, never the action\'s own requester.'),
    list, empty);

  function userId() {
    const id = userInput.value.trim();
    sessionStorage.setItem(USER_KEY, id);
    if (!id) {
      userInput.focus();
      toast('Enter your Slack user ID first: decisions are recorded under it.', 'error');
    }
    return id;
  }

  function counts() {
    count.textContent = items.size ? String(items.size) : '';
    empty.hidden = items.size > 0;
  }

  function add(a) {
    items.set(a.id, a);
    const old = cards.get(a.id);
    const c = renderCard(a);
    if (old) old.replaceWith(c); else list.append(c);
    cards.set(a.id, c);
    counts();
  }

  function remove(id, message) {
    const c = cards.get(id);
    items.delete(id);
    cards.delete(id);
    if (c) c.remove();
    if (message) toast(message);
    counts();
  }

  function renderCard(a) {
    const titleId = `apv-${a.id.replace(/[^a-zA-Z0-9_-]/g, '')}`;
    const status = h('p', { class: 'muted', role: 'status' });
    const editor = h('textarea', { rows: 8, spellcheck: 'false', 'aria-label': 'Action data (JSON)', hidden: true },
      JSON.stringify(a.action?.data ?? {}, null, 2));
    const reason = h('input', { type: 'text', 'aria-label': 'Reason for rejecting', placeholder: 'why not' });
    const decided = (a.decisions || []).filter((d) => d.decision === 'approve' || d.approved).map((d) => d.userId);
    const approve = async () => {
      const user = userId();
      if (!user) return;
      const body = { userId: user };
      if (!editor.hidden) {
        let edited;
        try { edited = JSON.parse(editor.value); } catch (e) { status.textContent = `The data is not JSON: ${e.message}`; return; }
        const patch = mergePatch(a.action?.data ?? {}, edited);
        if (Object.keys(patch).length) body.patch = patch;
      }
      try {
        const r = await ctx.api.post(`api/approvals/${encodeURIComponent(a.id)}/approve`, body);
        if (r.status === 'approved') remove(a.id, `Approved ${a.actionId}`);
        else status.textContent = `Recorded; ${r.approvals?.length ?? 1} of ${a.requiredApprovals} approvals so far.`;
      } catch (e) {
        status.textContent = `${e.message} (${e.code})`;
      }
    };
    const reject = async () => {
      const user = userId();
      if (!user) return;
      if (!reason.value.trim()) { reason.focus(); status.textContent = 'Give a reason to reject.'; return; }
      try {
        await ctx.api.post(`api/approvals/${encodeURIComponent(a.id)}/reject`, { userId: user, reason: reason.value.trim() });
        remove(a.id, `Rejected ${a.actionId}`);
      } catch (e) {
        status.textContent = `${e.message} (${e.code})`;
      }
    };
    return h('article', { class: 'card approval', 'aria-labelledby': titleId, dataset: { id: a.id } },
      h('h3', { id: titleId }, a.reason || 'Approval requested'),
      facts([
        ['action', h('a', { href: `#/live/${encodeURIComponent(a.actionId)}` }, `${a.action?.type} on ${a.action?.platform} (${a.actionId})`)],
        ['approvers', (a.approvers || []).length ? a.approvers.join(', ') : 'anyone with approvals:write'],
        ['needs', `${a.requiredApprovals || 1} approval(s)${decided.length ? `; so far ${decided.join(', ')}` : ''}`],
        ['expires', h('span', {}, time(a.expiresAt), ' · ', h('span', { class: 'countdown', dataset: { expires: a.expiresAt } }, left(a.expiresAt)))],
      ]),
      h('h4', {}, 'Preview: the exact request'),
      json(a.preview?.request || a.preview?.requests || a.preview, 'Preview'),
      editor,
      h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onclick: approve, 'aria-describedby': titleId }, 'Approve'),
        h('button', { type: 'button', class: 'quiet', 'aria-expanded': 'false', onclick: (e) => {
          editor.hidden = !editor.hidden;
          e.target.setAttribute('aria-expanded', String(!editor.hidden));
          e.target.textContent = editor.hidden ? 'Edit data' : 'Keep data as is';
        } }, 'Edit data'),
        reason,
        h('button', { type: 'button', class: 'danger', onclick: reject, 'aria-describedby': titleId }, 'Reject')),
      status);
  }

  function left(expiresAt) {
    const ms = new Date(expiresAt).getTime() - Date.now();
    return ms > 0 ? `${duration(ms)} left` : 'expiring…';
  }

  async function load() {
    try {
      const r = await ctx.api.get('api/approvals?status=pending&limit=200');
      const seen = new Set(r.approvals.map((a) => a.id));
      for (const id of [...items.keys()]) if (!seen.has(id)) remove(id);
      for (const a of r.approvals) add(a);
    } catch (e) {
      toast(`Could not load approvals: ${e.message}`, 'error');
    }
  }

  ctx.socket.on('approval:pending', (d) => add({
    id: d.approvalId, actionId: d.actionId, action: d.action, reason: d.reason, preview: d.preview,
    approvers: d.approvers, requiredApprovals: d.requiredApprovals, expiresAt: d.expiresAt, decisions: [],
  }));
  ctx.socket.on('approval:resolved', (d) => {
    if (items.has(d.approvalId)) remove(d.approvalId, `${d.actionId}: ${d.status}${d.resolvedBy ? ` by ${d.resolvedBy}` : ''}`);
  });
  ctx.socket.on('socket:open', load);
  setInterval(() => {
    for (const el of list.querySelectorAll('.countdown')) el.textContent = left(el.dataset.expires);
  }, 1000);
  load();

  return { show() { load(); } };
}
