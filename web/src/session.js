// session.js - who is logged in. The session is an HttpOnly cookie; what the
// UI keeps is the user record and the CSRF token, in memory only (after a
// reload they come back from the auth client's me()). Login, setup and
// logout go through here so that the token and the preferences follow each
// change.

import * as http from './client/http.js';
import * as auth from './client/auth.js';
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
  http.setCsrfToken(csrf);
  for (const fn of listeners) fn(user);
}

async function started(answer) {
  http.setCsrfToken(answer.csrf_token);
  await prefs.load();
  set(answer.user, answer.csrf_token);
  return answer.user;
}

/* The current session, or null when there is none. */
export async function restore() {
  try {
    return await started(await auth.me());
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function login(username, password, remember) {
  return started(await auth.login(username, password, remember));
}

export async function setup(token, username, password, remember = false) {
  return started(await auth.setup(token, username, password, remember));
}

export async function logout() {
  try {
    await prefs.flush();
    await auth.logout();
  } catch { /* the session is gone either way */ }
  ended();
}

/* The server ended the session (401): forget it here too. */
export function ended() {
  prefs.forget();
  set(null, null);
}
