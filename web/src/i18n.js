// i18n.js - every word the UI shows comes from a message catalogue here
// (i18n/en.js, i18n/zh-CN.js), looked up by key with {name} placeholders.
// Plurals use Intl.PluralRules: t('rows', {count}) tries 'rows.one' /
// 'rows.other' first. A key missing from a catalogue falls back to English,
// then to the key itself, so a gap shows up instead of breaking a page.

import en from './i18n/en.js';
import zhCN from './i18n/zh-CN.js';

const CATALOGUES = { en, 'zh-CN': zhCN };
export const LANGUAGES = [
  { code: 'en', name: 'English' },
  { code: 'zh-CN', name: '简体中文' },
];

let current = 'en';
let plural = new Intl.PluralRules('en');
const listeners = new Set();

/* The language the browser asks for, mapped onto the two we have. */
export function detectLanguage() {
  const wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  for (const l of wanted) {
    if (!l) continue;
    if (l.toLowerCase().startsWith('zh')) return 'zh-CN';
    if (l.toLowerCase().startsWith('en')) return 'en';
  }
  return 'en';
}

export const isLanguage = (code) => Object.hasOwn(CATALOGUES, code);
export const language = () => current;

export function setLanguage(code) {
  const next = isLanguage(code) ? code : 'en';
  document.documentElement.lang = next;
  if (next === current) return;
  current = next;
  plural = new Intl.PluralRules(next);
  for (const fn of listeners) fn(next);
}

/* Calls fn(lang) after each change of language; returns an unsubscribe. */
export function onLanguageChange(fn) {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

function lookup(key) {
  const cat = CATALOGUES[current];
  if (Object.hasOwn(cat, key)) return cat[key];
  if (Object.hasOwn(en, key)) return en[key];
  return undefined;
}

export function t(key, params) {
  let msg;
  if (params && typeof params.count === 'number') msg = lookup(`${key}.${plural.select(params.count)}`) ?? lookup(`${key}.other`);
  if (msg === undefined) msg = lookup(key);
  if (msg === undefined) return key;
  if (!params) return msg;
  return msg.replace(/\{(\w+)\}/g, (m, name) => (Object.hasOwn(params, name) ? String(params[name]) : m));
}

/* True when the catalogue has the key (used to map API error codes). */
export const has = (key) => lookup(key) !== undefined;
