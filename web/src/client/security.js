// client/security.js - the administrators' security views (docs/api.md:
// Audit log and security report): the audit log of administrative actions,
// a page at a time, and the security report (failed logins, locks and
// refused requests over time, by route and by source), each also as a
// download (CSV, JSON).

import * as http from './http.js';

const clean = (q = {}) => Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== null && v !== ''));

/* {limit, before, action, actor, since, until} -> {items, limit, next_before, actions} */
export const audit = (query = {}, opts = {}) => http.get('/audit', { ...opts, query: clean(query) });

/* The same selection (its newest 1000) as a download: format 'csv' or 'json'. */
export const auditUrl = (query = {}, format = 'csv') =>
  http.url('/audit', { ...clean(query), format: format === 'json' ? 'json-download' : 'csv', limit: 1000 });

/* {since, until, bucket, top} -> the report (series, totals, top_routes, top_sources) */
export const report = (query = {}, opts = {}) => http.get('/security/report', { ...opts, query: clean(query) });

/* The report as a download: format 'csv' or 'json'. */
export const reportUrl = (query = {}, format = 'csv') =>
  http.url('/security/report', { ...clean(query), format: format === 'json' ? 'json-download' : 'csv' });
