// client/diagnoses.js - diagnoses: samples run through a model, by uploaded CSV
// or by JSON rows; their results page by page, the 2-D projection for the
// scatter plot, the downloads, the trash (delete, restore), and the labels
// people give their rows with the rows worth labelling first (docs/api.md:
// Diagnoses, Labels).

import * as http from './http.js';

/* The results filters as the server's query: {predicted, maxConfidence,
 * abnormal} -> {predicted, max_confidence, abnormal} (unset ones left out). */
const filterQuery = ({ predicted, maxConfidence, abnormal } = {}) => ({
  predicted: predicted || undefined,
  max_confidence: maxConfidence ?? undefined,
  abnormal: abnormal || undefined,
});

/* A DIAGNOSIS with one page of its results (diag.results), of the rows
 * that pass `filters` ({predicted, maxConfidence, abnormal}) when given. */
export const page = (id, { offset = 0, limit = 50, filters, ...opts } = {}) =>
  http.get(`/diagnoses/${id}`, { ...opts, query: { offset, limit, ...filterQuery(filters) } });

/* Diagnoses JSON rows ({column: value} objects): a DIAGNOSIS (201) with the
 * first `limit` results, or {job} (202) for a large request. With `adapt`
 * the predictions are corrected for the batch's class mix (diag.adapt). */
export const fromRows = (modelId, rows, name, { limit = 50, adapt = false, ...opts } = {}) =>
  http.post('/diagnoses', { model_id: modelId, rows, name, adapt: !!adapt }, { ...opts, query: { limit } });

/* Uploads a CSV to diagnose, with progress: {promise, abort}; `adapt` as
 * for fromRows. */
export function fromFile(modelId, file, name, { onProgress, label, adapt = false } = {}) {
  const form = new FormData();
  form.append('model_id', String(modelId));
  if (name) form.append('name', name);
  if (adapt) form.append('adapt', 'true');
  form.append('file', file, file.name);
  return http.upload('/diagnoses', form, { onProgress, label });
}

/* One sample of the diagnosis explained (row counted from 1): the model's
 * prediction, every class's expected score, score and KPI contributions,
 * every KPI against its normal range, the abnormal ones, and `result`, the
 * row as the diagnosis stored it (docs/api.md, GET .../rows/{row}). */
export const sample = (id, row, opts = {}) => http.get(`/diagnoses/${id}/rows/${row}`, opts);

/* {points: [[row, x, y, class, confidence]...], classes, sampled, shown, total, ...} */
export const projection = (id, { maxPoints = 5000, ...opts } = {}) =>
  http.get(`/diagnoses/${id}/projection`, { ...opts, query: { max_points: maxPoints } });

/* Every result row at once ({rows: [...]}, the JSON download), of those
 * that pass `filters` when given. */
export const allRows = (id, { filters, ...opts } = {}) =>
  http.get(`/diagnoses/${id}/download`, { ...opts, query: { format: 'json', ...filterQuery(filters) } });

/* Every diagnosis of the caller (without results); includeDeleted adds
 * those in the trash. */
export const list = ({ includeDeleted = false, ...opts } = {}) =>
  http.listAll('/diagnoses', { ...opts, query: includeDeleted ? { include_deleted: 1 } : undefined });

/* Moves a diagnosis to the trash (restorable for 7 days). */
export const remove = (id, opts = {}) => http.del(`/diagnoses/${id}`, opts);

export const restore = (id, opts = {}) => http.post(`/diagnoses/${id}/restore`, undefined, opts);

/* The link that downloads the results as 'csv' or 'json', the rows that
 * pass `filters` only when given; `explain` (CSV only) appends each row's
 * that many top KPIs and its abnormal ones (healer predict --explain N). */
export const downloadUrl = (id, format, filters, explain) =>
  http.url(`/diagnoses/${id}/download`, { format, ...filterQuery(filters), explain });

/* {per_class, classes, items: [{row, sample_id, predicted, confidence,
 * margin, label}]}: the rows worth labelling first. */
export const suggestions = (id, { perClass, ...opts } = {}) =>
  http.get(`/diagnoses/${id}/suggestions`, { ...opts, query: perClass ? { per_class: perClass } : undefined });

/* Every label of the diagnosis (pages followed) with the counts of the
 * last page read: {items, total, class_counts, confirmed, corrected,
 * classes, new_classes}. */
export async function labels(id, opts = {}) {
  const items = [];
  for (let offset = 0; ; ) {
    const page = await http.get(`/diagnoses/${id}/labels`, { ...opts, query: { offset, limit: 1000 } });
    items.push(...page.items);
    offset += page.items.length;
    if (!page.items.length || offset >= page.total) return { ...page, items };
  }
}

/* Sets ({row, label}) or clears ({row, label: null}) labels, all or
 * nothing; a class the model lacks needs newClass. Answers the first page
 * of labels with the counts. */
export const setLabels = (id, items, opts = {}) =>
  http.put(`/diagnoses/${id}/labels`, {
    labels: items.map(({ row, label, newClass }) => (newClass ? { row, label, new_class: true } : { row, label })),
  }, opts);
