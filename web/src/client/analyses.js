// client/analyses.js - root-cause analyses (docs/api.md: Analyses): what an
// rca job made of an incident file over a topology with a model. The list,
// one analysis with its summary, its incidents page by page (searchable),
// one incident whole (ranks, propagation trees, every observed node's
// diagnosis), the CSV/JSON downloads and the trash.

import * as http from './http.js';

/* Every analysis of the caller, newest first; includeDeleted adds those in
 * the trash. */
export async function list({ includeDeleted = false, ...opts } = {}) {
  return (await http.get('/analyses', { ...opts, query: includeDeleted ? { include_deleted: 1 } : undefined })).items;
}

export const get = (id, opts = {}) => http.get(`/analyses/${id}`, opts);

/* {total, offset, limit, items: [{index, incident_id, observed, abnormal,
 * ranks}]}: the incidents from offset; q keeps those whose id or rank-1
 * node contains it. */
export const incidents = (id, { offset = 0, limit = 100, q, ...opts } = {}) =>
  http.get(`/analyses/${id}/incidents`, { ...opts, query: { offset, limit, q: q || undefined } });

/* The INCIDENT at index (0-based) with index and total. */
export const incident = (id, index, opts = {}) => http.get(`/analyses/${id}/incidents/${index}`, opts);

/* The link that downloads the ranks: 'csv' (healer rca's ranks file) or
 * 'json' (healer rca --json). */
export const downloadUrl = (id, format) => http.url(`/analyses/${id}/download`, { format });

/* Moves an analysis to the trash (restorable for 7 days). */
export const remove = (id, opts = {}) => http.del(`/analyses/${id}`, opts);

export const restore = (id, opts = {}) => http.post(`/analyses/${id}/restore`, undefined, opts);
