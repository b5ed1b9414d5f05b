// client/auth.js - sessions, first-run setup, the user's own password and
// e-mail, unlock links and the user's preferences (docs/api.md: First-run
// setup, Auth). The session itself is an HttpOnly
// cookie; login, setup and me answer {user, csrf_token}, and session.js
// hands the token to http.js.

import * as http from './http.js';

/* The current session: {user, csrf_token}; 401 when there is none. */
export const me = (opts = {}) => http.get('/auth/me', { quiet: true, ...opts });

export const login = (username, password, remember, opts = {}) =>
  http.post('/auth/login', { username, password, remember }, { quiet: true, authAttempt: true, ...opts });

export const logout = (opts = {}) => http.post('/auth/logout', undefined, { quiet: true, ...opts });

/* {setup_required}: whether the server still waits for its first admin. */
export const setupStatus = (opts = {}) => http.get('/setup', { quiet: true, authAttempt: true, ...opts });

/* Creates the first admin with the one-time token and logs it in. */
export const setup = (token, username, password, remember = false, opts = {}) =>
  http.post('/setup', { token, username, password, remember }, { quiet: true, authAttempt: true, ...opts });

/* The preferences object of the logged-in user ({} when none). */
export async function preferences(opts = {}) {
  return (await http.get('/auth/me/preferences', { quiet: true, ...opts })).preferences || {};
}

/* Replaces the whole preferences object (PUT); retried after a lost connection. */
export const savePreferences = (prefs, opts = {}) =>
  http.put('/auth/me/preferences', { preferences: prefs }, { quiet: true, retry: true, ...opts });

/* The same, as a last request that outlives the page (pagehide). */
export const savePreferencesOnExit = (prefs) => http.sendBeacon('PUT', '/auth/me/preferences', { preferences: prefs });

/* Changes the logged-in user's password; other sessions end -> {user}. */
export const changePassword = (current, next, opts = {}) =>
  http.post('/auth/me/password', { current, new: next }, { quiet: true, ...opts });

/* Sets the logged-in user's e-mail ('' or null = none), proved by the
 * current password -> {user}. */
export const changeEmail = (email, password, opts = {}) =>
  http.put('/auth/me/email', { email: email || null, password }, { quiet: true, ...opts });

/* Lifts an account's lock with the token of its mail's link (no session
 * needed) -> {ok, username}. */
export const unlock = (token, opts = {}) =>
  http.post('/auth/unlock', { token }, { quiet: true, authAttempt: true, ...opts });
