// client/topologies.js - the topologies of root-cause analysis (docs/api.md:
// Topologies): a system's nodes and dependency edges, uploaded as JSON or a
// CSV edge list and checked by the server; the list, one with its graph,
// the trash and its restore.

import * as http from './http.js';

/* Every topology of the caller, newest first; includeDeleted adds those in
 * the trash. */
export async function list({ includeDeleted = false, ...opts } = {}) {
  return (await http.get('/topologies', { ...opts, query: includeDeleted ? { include_deleted: 1 } : undefined })).items;
}

/* One TOPOLOGY with its normalised graph ({nodes: [{id, kind}], edges:
 * [{from, to, bidirectional}]}). */
export const get = (id, opts = {}) => http.get(`/topologies/${id}`, opts);

/* Uploads a JSON or CSV topology with progress: {promise, abort} (see
 * http.upload); a file the engine refuses rejects with its message. */
export function upload(file, name, { onProgress, label } = {}) {
  const form = new FormData();
  if (name) form.append('name', name);
  form.append('file', file, file.name);
  return http.upload('/topologies', form, { onProgress, label });
}

/* Moves a topology to the trash (restorable for 7 days). */
export const remove = (id, opts = {}) => http.del(`/topologies/${id}`, opts);

export const restore = (id, opts = {}) => http.post(`/topologies/${id}/restore`, undefined, opts);
