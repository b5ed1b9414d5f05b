// client/models.js - trained models: the list with headline scores, one model
// with its summary, the trash (delete, restore), the names of its classes,
// the leaderboard on one dataset, and the download links
// (docs/api.md: Models).

import * as http from './http.js';

/* Every model of the caller; includeDeleted adds those in the trash. */
export const list = ({ includeDeleted = false, ...opts } = {}) =>
  http.listAll('/models', { ...opts, query: includeDeleted ? { include_deleted: 1 } : undefined });

export const get = (id, opts = {}) => http.get(`/models/${id}`, opts);

/* Moves a model to the trash (restorable for 7 days). */
export const remove = (id, opts = {}) => http.del(`/models/${id}`, opts);

/* Replaces the names, descriptions and first actions of its classes
 * ({LABEL: {name, description, action}}); resolves to the MODEL. */
export const setClassNames = (id, classNames, opts = {}) =>
  http.put(`/models/${id}/class-names`, { class_names: classNames }, opts);

/* The models scored side by side on one labelled dataset (all the user's
 * when modelIds is null). */
export const leaderboard = (datasetId, modelIds, opts = {}) =>
  http.post('/models/leaderboard', modelIds ? { dataset_id: datasetId, model_ids: modelIds } : { dataset_id: datasetId }, opts);

export const restore = (id, opts = {}) => http.post(`/models/${id}/restore`, undefined, opts);

/* The model file (healer's binary format). */
export const downloadUrl = (id) => http.url(`/models/${id}/download`);

/* The JSON report (summary, metrics, parameters). */
export const reportUrl = (id) => http.url(`/models/${id}/report`);
