// client/datasets.js - the datasets (docs/api.md: Datasets): uploads that
// the server reads and profiles (and reads again when that failed), the
// list, the trash and its restore.

import * as http from './http.js';

/* Every dataset of the caller; includeDeleted adds those in the trash. */
export const list = ({ includeDeleted = false, ...opts } = {}) =>
  http.listAll('/datasets', { ...opts, query: includeDeleted ? { include_deleted: 1 } : undefined });

/* One DATASET with its profile. */
export const get = (id, opts = {}) => http.get(`/datasets/${id}`, opts);

/* Uploads a CSV file with progress: {promise, abort} (see http.upload). */
export function upload(file, name, { onProgress, label } = {}) {
  const form = new FormData();
  if (name) form.append('name', name);
  form.append('file', file, file.name);
  return http.upload('/datasets', form, { onProgress, label });
}

/* Moves a dataset to the trash (restorable for 7 days). */
export const remove = (id, opts = {}) => http.del(`/datasets/${id}`, opts);

export const restore = (id, opts = {}) => http.post(`/datasets/${id}/restore`, undefined, opts);

/* Tries a failed ingestion again, in place (its file was kept): the
 * DATASET, ingesting again. */
export const retryIngest = (id, opts = {}) => http.post(`/datasets/${id}/ingest`, undefined, opts);

/* The link that downloads the uploaded file. */
export const downloadUrl = (id) => http.url(`/datasets/${id}/download`);
