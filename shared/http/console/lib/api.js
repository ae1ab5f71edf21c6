// The REST client: every call carries the signed-in key; failures carry the envelope's code.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Baton's base URL: the directory the page was served from (a stage path on AWS). */
export function base() {
  const path = location.pathname.endsWith('/') ? location.pathname : location.pathname.replace(/[^/]*$/, '');
  return `${location.origin}${path}`;
}

export function client(key) {
  async function call(method, path, body) {
    const init = { method, headers: { authorization: `Bearer ${key}` } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let resp;
    try {
      resp = await fetch(base() + path, init);
    } catch (e) {
      throw new ApiError(0, 'NETWORK_ERROR', `Baton cannot be reached (${e.message})`);
    }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!resp.ok) {
      const e = (data && data.error) || {};
      throw new ApiError(resp.status, e.code || `HTTP_${resp.status}`, e.message || text || resp.statusText, e.details);
    }
    return data;
  }
  return {
    key,
    get: (path) => call('GET', path),
    post: (path, body = {}) => call('POST', path, body),
  };
}

/** A query string from an object, leaving out empty values. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
