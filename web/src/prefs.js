// prefs.js - the user's preferences (language, theme, palette, density and
// the last dataset/model/diagnosis), kept on the server per user through
// the auth client's preferences() / savePreferences(). A save replaces the
// whole object, so the full set is kept here and saved after a short pause
// (several quick changes make one request); a save that fails for lack of
// connection is tried again.
// The look (language, theme, palette, density) is mirrored in localStorage,
// so the login page and the first paint already look right. No secrets here.

import * as auth from './client/auth.js';
import { detectLanguage, isLanguage, setLanguage } from './i18n.js';
import { setPalette, refreshCharts, PALETTES } from './charts.js';

const LOCAL_KEY = 'healer.look';
const LOOK = ['language', 'theme', 'palette', 'density'];
const SAVE_DELAY_MS = 150;

let prefs = {};
let saveTimer = null;
let saving = Promise.resolve();
let loggedIn = false;
const media = window.matchMedia('(prefers-color-scheme: dark)');

function readLocal() {
  try { return JSON.parse(localStorage.getItem(LOCAL_KEY)) || {}; } catch { return {}; }
}

function writeLocal() {
  const look = {};
  for (const k of LOOK) if (prefs[k] !== undefined) look[k] = prefs[k];
  try { localStorage.setItem(LOCAL_KEY, JSON.stringify(look)); } catch { /* private mode */ }
}

export const DEFAULTS = { theme: 'auto', palette: 'default', density: 'comfortable' };

export function pref(key) {
  if (prefs[key] !== undefined && prefs[key] !== null) return prefs[key];
  if (key === 'language') return detectLanguage();
  return DEFAULTS[key] ?? null;
}

function resolvedTheme() {
  const th = pref('theme');
  if (th === 'dark' || th === 'light') return th;
  return media.matches ? 'dark' : 'light';
}

/* Puts the look on the page: language, theme, density, palette. */
export function apply() {
  const root = document.documentElement;
  const theme = resolvedTheme();
  const themeChanged = root.getAttribute('data-bs-theme') !== theme;
  root.setAttribute('data-bs-theme', theme);
  root.dataset.density = pref('density');
  setPalette(PALETTES[pref('palette')] ? pref('palette') : 'default');
  setLanguage(isLanguage(pref('language')) ? pref('language') : 'en');
  if (themeChanged) refreshCharts();
  document.dispatchEvent(new CustomEvent('healer:look'));
}

media.addEventListener('change', () => { if (pref('theme') === 'auto') apply(); });

/* Before login: the look saved in this browser. */
export function loadLocal() {
  prefs = { ...readLocal() };
  apply();
}

/* After login: the user's own preferences from the server. */
export async function load() {
  const local = readLocal();
  let server = {};
  try {
    server = await auth.preferences();
  } catch { /* keep the local look */ }
  loggedIn = true;
  prefs = { ...server };
  // A first login keeps what the person already chose on the login page.
  for (const k of LOOK) if (prefs[k] === undefined && local[k] !== undefined) prefs[k] = local[k];
  writeLocal();
  apply();
}

export function forget() {
  loggedIn = false;
  clearTimeout(saveTimer);
  prefs = { ...readLocal() };
}

/* Saves are chained, so the server ends with the last state sent. */
function save() {
  saveTimer = null;
  if (!loggedIn) return saving;
  saving = saving.then(() => auth.savePreferences(prefs))
    .catch(() => { /* a bad value is refused by the server; nothing to keep */ });
  return saving;
}

/* Merges a change, applies the look at once and saves soon. */
export function set(patch) {
  let changed = false;
  for (const [k, v] of Object.entries(patch)) {
    if (prefs[k] !== v) { prefs[k] = v; changed = true; }
  }
  if (!changed) return;
  if (LOOK.some((k) => k in patch)) {
    writeLocal();
    apply();
  }
  clearTimeout(saveTimer);
  saveTimer = setTimeout(save, SAVE_DELAY_MS);
}

/* Sends a pending save now (before logout). */
export async function flush() {
  if (saveTimer) {
    clearTimeout(saveTimer);
    save();
  }
  await saving;
}

// Leaving the page with a save still pending: send it anyway (keepalive).
window.addEventListener('pagehide', () => {
  if (!saveTimer || !loggedIn) return;
  clearTimeout(saveTimer);
  saveTimer = null;
  auth.savePreferencesOnExit(prefs);
});
