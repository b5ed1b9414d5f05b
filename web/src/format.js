// format.js - numbers, percentages, sizes, dates and durations in the user's
// language (Intl), so every page writes them the same way. The formatters
// are cached per language because Intl objects are slow to build.

import { language, t } from './i18n.js';

const cache = new Map();
function nf(opts) {
  const key = language() + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(language(), opts);
    cache.set(key, f);
  }
  return f;
}

const DASH = '—';
const isNum = (x) => typeof x === 'number' && Number.isFinite(x);

export const fmtInt = (x) => (isNum(x) ? nf({ maximumFractionDigits: 0 }).format(x) : DASH);

/* Whole numbers as plain digits (no grouping), for counts that people and
 * scripts read back. */
export const fmtCount = (x) => (isNum(x) ? String(Math.round(x)) : DASH);

export function fmtNum(x, digits = 4) {
  if (!isNum(x)) return DASH;
  const a = Math.abs(x);
  if (a !== 0 && (a >= 1e9 || a < 1e-3)) return x.toExponential(2);
  return nf({ maximumSignificantDigits: digits }).format(x);
}

export const fmtPct = (x, digits = 1) =>
  (isNum(x) ? nf({ style: 'percent', minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x) : DASH);

export const fmtFixed = (x, digits = 3) =>
  (isNum(x) ? nf({ minimumFractionDigits: digits, maximumFractionDigits: digits }).format(x) : DASH);

export function fmtBytes(n) {
  if (!isNum(n)) return DASH;
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${nf({ maximumFractionDigits: i ? 1 : 0 }).format(v)} ${units[i]}`;
}

export function fmtDate(unix) {
  if (!isNum(unix)) return DASH;
  return new Intl.DateTimeFormat(language(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(unix * 1000));
}

/* "3 minutes ago" style, for lists. */
export function fmtAgo(unix) {
  if (!isNum(unix)) return DASH;
  const rtf = new Intl.RelativeTimeFormat(language(), { numeric: 'auto' });
  const s = Math.round(unix - Date.now() / 1000);
  const a = Math.abs(s);
  if (a < 60) return rtf.format(s, 'second');
  if (a < 3600) return rtf.format(Math.round(s / 60), 'minute');
  if (a < 86400) return rtf.format(Math.round(s / 3600), 'hour');
  return rtf.format(Math.round(s / 86400), 'day');
}

/* 75.4 -> "1 min 15 s" (units from the catalogue). */
export function fmtDuration(seconds) {
  if (!isNum(seconds) || seconds < 0) return DASH;
  if (seconds < 10 && seconds > 0 && !Number.isInteger(seconds)) return t('unit.s', { n: nf({ maximumFractionDigits: 1 }).format(seconds) });
  const s = Math.round(seconds);
  if (s < 60) return t('unit.s', { n: s });
  const m = Math.floor(s / 60);
  if (m < 60) return t('unit.min_s', { m, s: s % 60 });
  return t('unit.h_min', { h: Math.floor(m / 60), m: m % 60 });
}

/* 900 -> "15 minutes" (whole minutes, the unit's word in the user's
 * language), for rules stated in minutes. */
export const fmtMinutes = (seconds) =>
  (isNum(seconds) ? nf({ style: 'unit', unit: 'minute', unitDisplay: 'long', maximumFractionDigits: 0 }).format(seconds / 60) : DASH);

/* A signed amount with a fixed number of decimals (+1.250, −0.031), for
 * contributions to a score. */
export const fmtSigned = (x, digits = 3) =>
  (isNum(x) ? nf({ minimumFractionDigits: digits, maximumFractionDigits: digits, signDisplay: 'exceptZero' }).format(x) : DASH);
