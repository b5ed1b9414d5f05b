// client/http.js - the machinery every API client (client/*.js) shares to
// talk to healer's REST API (/api/v1); it knows no resource paths, the
// clients do. (The folder is client/, not api/: the server keeps every path
// under /api/ for the REST API, so web/dist/api/ could not be served.)
// - JSON in and out; errors become ApiError with the API's code, message,
//   details and request id (kind 'http'), or kind 'network' / 'abort'.
// - The CSRF token (from login or GET /auth/me) is kept in memory only and
//   sent as X-CSRF-Token on POST/PUT/PATCH/DELETE; the session itself is an
//   HttpOnly cookie the UI never sees.
// - Every request is a task for the busy indicator (tasks.js) unless quiet.
// - A network failure marks the connection lost (connection.js); GETs wait
//   for it to come back and retry by themselves, while changes are not
//   replayed behind the user's back: they fail with kind 'network' and the
//   page offers to retry, with the form still filled in.
// - Uploads go through XMLHttpRequest, the only browser API that reports
//   upload progress, and can be aborted.

import * as connection from '../connection.js';
import * as tasks from '../tasks.js';

const BASE = '/api/v1';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
let csrfToken = null;
let onUnauthorized = null;

export const setCsrfToken = (token) => { csrfToken = token || null; };
/* fn(error) runs when a request answers 401 outside the login itself. */
export const setUnauthorizedHandler = (fn) => { onUnauthorized = fn; };

export class ApiError extends Error {
  constructor({ kind = 'http', status = 0, code = '', message = '', details = {}, requestId = '' }) {
    super(message || code || kind);
    this.kind = kind;
    this.status = status;
    this.code = code;
    this.details = details || {};
    this.requestId = requestId;
  }
}

export const isAbort = (e) => e?.name === 'AbortError' || e?.kind === 'abort';

/* path + {offset: 0} -> '/api/v1' + path + '?offset=0' */
export function url(path, query) {
  const qs = query ? new URLSearchParams(Object.entries(query).filter(([, v]) => v !== undefined && v !== null)).toString() : '';
  return BASE + path + (qs ? `?${qs}` : '');
}

/* Builds the ApiError for a non-2xx answer from its status and body text. */
function httpError(status, text, requestId) {
  let body = null;
  try { body = JSON.parse(text); } catch { /* not JSON */ }
  const e = body?.error;
  return new ApiError({
    status,
    code: e?.code || `http_${status}`,
    message: e?.message || text.slice(0, 200) || `HTTP ${status}`,
    details: e?.details,
    requestId: e?.request_id || requestId || '',
  });
}

function parseBody(text) {
  if (!text) return null;
  try { return JSON.parse(text); } catch { return text; }
}

/* A 401 means the session ended, except for the requests that try to
 * start one (login, setup: opts.authAttempt), where it is their answer. */
function checkUnauthorized(err, opts) {
  if (err.status === 401 && !opts.authAttempt && onUnauthorized) onUnauthorized(err);
}

function headersFor(method, json) {
  const hd = { Accept: 'application/json' };
  if (json) hd['Content-Type'] = 'application/json';
  if (UNSAFE.has(method) && csrfToken) hd['X-CSRF-Token'] = csrfToken;
  return hd;
}

async function once(method, path, opts) {
  const json = opts.body !== undefined;
  const res = await fetch(url(path, opts.query), {
    method,
    headers: headersFor(method, json),
    body: json ? JSON.stringify(opts.body) : undefined,
    credentials: 'same-origin',
    cache: 'no-store',
    signal: opts.signal,
  });
  const text = await res.text();
  if (!res.ok) throw httpError(res.status, text, res.headers.get('X-Request-Id'));
  return parseBody(text);
}

/* request(method, path, {query, body, signal, quiet, label, retry, authAttempt})
 * -> the parsed JSON answer. GETs retry after a lost connection unless
 * retry is false. */
export async function request(method, path, opts = {}) {
  const retry = opts.retry ?? method === 'GET';
  const task = opts.quiet ? null : tasks.begin({ label: opts.label || '' });
  try {
    for (;;) {
      try {
        return await once(method, path, opts);
      } catch (e) {
        if (isAbort(e)) throw e;
        if (e instanceof ApiError) {
          checkUnauthorized(e, opts);
          throw e;
        }
        connection.lost();
        if (!retry) throw new ApiError({ kind: 'network', message: String(e?.message || e) });
        await connection.whenOnline(opts.signal);
      }
    }
  } finally {
    task?.end();
  }
}

export const get = (path, opts) => request('GET', path, opts);
export const post = (path, body, opts = {}) => request('POST', path, { ...opts, body });
export const put = (path, body, opts = {}) => request('PUT', path, { ...opts, body });
export const del = (path, opts) => request('DELETE', path, opts);

/* Posts a FormData with upload progress. Returns {promise, abort}; the
 * promise resolves with the JSON answer, or rejects with ApiError (kind
 * 'abort' after abort()). onProgress(fraction) follows the bytes sent. */
export function upload(path, form, { onProgress, label = '', query } = {}) {
  const xhr = new XMLHttpRequest();
  const abort = () => xhr.abort();
  const task = tasks.begin({ label, cancel: abort });
  task.setProgress(0);
  const promise = new Promise((resolve, reject) => {
    xhr.open('POST', url(path, query));
    xhr.setRequestHeader('Accept', 'application/json');
    if (csrfToken) xhr.setRequestHeader('X-CSRF-Token', csrfToken);
    xhr.upload.onprogress = (ev) => {
      if (!ev.lengthComputable) return;
      const p = ev.total ? ev.loaded / ev.total : 0;
      task.setProgress(p);
      onProgress?.(p);
    };
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(parseBody(xhr.responseText));
      else {
        const err = httpError(xhr.status, xhr.responseText || '', xhr.getResponseHeader('X-Request-Id'));
        checkUnauthorized(err, {});
        reject(err);
      }
    };
    xhr.onerror = () => {
      connection.lost();
      reject(new ApiError({ kind: 'network', message: 'network error' }));
    };
    xhr.onabort = () => reject(new ApiError({ kind: 'abort', message: 'aborted' }));
    xhr.send(form);
  }).finally(() => task.end());
  return { promise, abort };
}

/* A last request that outlives the page (fetch keepalive), for pagehide. */
export function sendBeacon(method, path, body) {
  try {
    fetch(url(path), { method, headers: headersFor(method, true), body: JSON.stringify(body), credentials: 'same-origin', keepalive: true });
  } catch { /* the page is going away */ }
}

/* The list endpoints: every item, following offset/limit pages. */
export async function listAll(path, opts = {}) {
  const items = [];
  for (let offset = 0; ; ) {
    const page = await get(path, { ...opts, query: { ...(opts.query || {}), offset, limit: 1000 } });
    items.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total) return items;
  }
}
