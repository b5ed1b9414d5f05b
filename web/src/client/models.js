// client/models.js - trained models: the list with headline scores, one model
// with its summary, the trash (delete, restore), and the download links
// (docs/api.md: Models).

import * as http from './http.js';

/* Every model of the caller; includeDeleted adds those in the trash. */
export const list = ({ includeDeleted = false, ...opts } = {}) =>
  http.listAll('/models', { ...opts, query: includeDeleted ? { include_deleted: 1 } : undefined });

export const get = (id, opts = {}) => http.get(`/models/${id}`, opts);

/* Moves a model to the trash (restorable for 7 days). */
export const remove = (id, opts = {}) => http.del(`/models/${id}`, opts);

export const restore = (id, opts = {}) => http.post(`/models/${id}/restore`, undefined, opts);

/* The model file (healer's binary format). */
export const downloadUrl = (id) => http.url(`/models/${id}/download`);

/* The JSON report (summary, metrics, parameters). */
export const reportUrl = (id) => http.url(`/models/${id}/report`);
