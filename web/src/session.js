// session.js - who is logged in. The session is an HttpOnly cookie; what the
// UI keeps is the user record and the CSRF token, in memory only (after a
// reload they come back from GET /auth/me). Login, setup and logout go
// through here so that the token and the preferences follow each change.

import * as api from './api.js';
import * as prefs from './prefs.js';

let user = null;
const listeners = new Set();

export const currentUser = () => user;
export const isAdmin = () => user?.role === 'admin';

export function onChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function set(next, csrf) {
  user = next;
  api.setCsrfToken(csrf);
  for (const fn of listeners) fn(user);
}

async function started(answer) {
  api.setCsrfToken(answer.csrf_token);
  await prefs.load();
  set(answer.user, answer.csrf_token);
  return answer.user;
}

/* The current session, or null when there is none. */
export async function restore() {
  try {
    return await started(await api.get('/auth/me', { quiet: true }));
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function login(username, password, remember) {
  return started(await api.post('/auth/login', { username, password, remember }, { quiet: true }));
}

export async function setup(token, username, password) {
  return started(await api.post('/setup', { token, username, password }, { quiet: true }));
}

export async function logout() {
  try {
    await prefs.flush();
    await api.post('/auth/logout', undefined, { quiet: true });
  } catch { /* the session is gone either way */ }
  ended();
}

/* The server ended the session (401): forget it here too. */
export function ended() {
  prefs.forget();
  set(null, null);
}
