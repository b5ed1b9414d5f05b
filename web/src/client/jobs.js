// client/jobs.js - training jobs (and the diagnose jobs of large diagnoses,
// and retrainings with people's labels): start one, read its progress,
// cancel it (docs/api.md: Jobs).

import * as http from './http.js';

/* The caller's most recent jobs, newest first. */
export async function recent({ limit = 8, ...opts } = {}) {
  return (await http.get('/jobs', { ...opts, query: { limit } })).items;
}

export const get = (id, opts = {}) => http.get(`/jobs/${id}`, opts);

/* Queues a training: {datasetId, algo, params, name?} -> the JOB. */
export function train({ datasetId, algo, params, name }, opts = {}) {
  const body = { type: 'train', dataset_id: datasetId, algo, params };
  if (name) body.name = name;
  return http.post('/jobs', body, opts);
}

/* Queues a retraining of a model with the labelled rows of diagnoses:
 * {diagnosisIds, modelId?, weight?, name?} -> the JOB. */
export function retrain({ diagnosisIds, modelId, weight, name }, opts = {}) {
  const body = { type: 'retrain', feedback: { diagnosis_ids: diagnosisIds } };
  if (weight) body.feedback.weight = weight;
  if (modelId) body.model_id = modelId;
  if (name) body.name = name;
  return http.post('/jobs', body, opts);
}

export const cancel = (id, opts = {}) => http.post(`/jobs/${id}/cancel`, undefined, opts);
