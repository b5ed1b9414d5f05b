// client/models.js - trained models: the list with headline scores, one model
// with its summary, delete, the names of its classes, the leaderboard on one
// dataset, and the download links
// (docs/api.md: Models).

import * as http from './http.js';

export const list = (opts = {}) => http.listAll('/models', opts);

export const get = (id, opts = {}) => http.get(`/models/${id}`, opts);

export const remove = (id, opts = {}) => http.del(`/models/${id}`, opts);

/* Replaces the names, descriptions and first actions of its classes
 * ({LABEL: {name, description, action}}); resolves to the MODEL. */
export const setClassNames = (id, classNames, opts = {}) =>
  http.put(`/models/${id}/class-names`, { class_names: classNames }, opts);

/* The models scored side by side on one labelled dataset (all the user's
 * when modelIds is null). */
export const leaderboard = (datasetId, modelIds, opts = {}) =>
  http.post('/models/leaderboard', modelIds ? { dataset_id: datasetId, model_ids: modelIds } : { dataset_id: datasetId }, opts);

/* The model file (healer's binary format). */
export const downloadUrl = (id) => http.url(`/models/${id}/download`);

/* The JSON report (summary, metrics, parameters). */
export const reportUrl = (id) => http.url(`/models/${id}/report`);
