// client/jobs.js - training jobs (and the diagnose jobs of large diagnoses,
// retrainings with people's labels, pipelines: a training then a
// diagnosis, and root-cause analyses): start one, read its progress,
// cancel it (docs/api.md: Jobs).

import * as http from './http.js';

/* The caller's most recent jobs, newest first; type keeps one kind. */
export async function recent({ limit = 8, type, ...opts } = {}) {
  return (await http.get('/jobs', { ...opts, query: { limit, type } })).items;
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

/* Queues a pipeline: train on one dataset, diagnose another with the model.
 * {datasetId, diagnoseDatasetId, algo, params, adapt?, name?} -> the JOB;
 * with rerunOf (a pipeline's id) the learner, parameters and adapt are
 * that one's. */
export function pipeline({ datasetId, diagnoseDatasetId, algo, params, adapt = false, name, rerunOf }, opts = {}) {
  const body = { type: 'pipeline', dataset_id: datasetId, diagnose_dataset_id: diagnoseDatasetId };
  if (rerunOf) body.rerun_of = rerunOf;
  else Object.assign(body, { algo, params, adapt });
  if (name) body.name = name;
  return http.post('/jobs', body, opts);
}

/* Queues a root-cause analysis of an incident dataset over a topology with
 * a model: {modelId, topologyId, datasetId, params?: {top, normal, skew,
 * hop_delay}, name?} -> the JOB. */
export function rca({ modelId, topologyId, datasetId, params, name }, opts = {}) {
  const body = { type: 'rca', model_id: modelId, topology_id: topologyId, dataset_id: datasetId };
  if (params && Object.keys(params).length) body.params = params;
  if (name) body.name = name;
  return http.post('/jobs', body, opts);
}

export const cancel = (id, opts = {}) => http.post(`/jobs/${id}/cancel`, undefined, opts);
