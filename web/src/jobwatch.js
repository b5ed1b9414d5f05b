// jobwatch.js - following jobs. poll() reads a job about every 500 ms (the
// next read starts when the last one is answered, so a slow server is never
// flooded) until the job is finished or the signal fires. watch() keeps an
// eye on a job the user left running while working elsewhere, and says with
// a toast when it is done. Both take the read function (the jobs client's
// get, bound by app.js), so this module knows no client and pages may use
// its helpers freely; pages get poll and watch through ctx.pollJob and
// ctx.watchJob.

import { t } from './i18n.js';
import { toast } from './ui.js';

export const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);
export const isFinished = (job) => FINISHED.has(job?.state);

const sleep = (ms, signal) => new Promise((resolve, reject) => {
  const tm = setTimeout(resolve, ms);
  signal?.addEventListener('abort', () => { clearTimeout(tm); reject(new DOMException('aborted', 'AbortError')); }, { once: true });
});

/* read() -> the job now. Calls onUpdate(job) after every read; resolves
 * with the finished job. */
export async function poll(read, { signal, interval = 500, onUpdate } = {}) {
  for (;;) {
    const job = await read();
    onUpdate?.(job);
    if (isFinished(job)) return job;
    await sleep(interval, signal);
  }
}

const watched = new Set();

/* Where a finished job leads: its model (a retrained one: beside the old
 * one, on the labelled rows), its diagnosis or its root-cause analysis. */
export function resultLink(job) {
  if (job.state === 'succeeded' && job.type === 'train' && job.model_id) return `#/models/${job.model_id}`;
  if (job.state === 'succeeded' && job.type === 'retrain' && job.model_id) return `#/models/${job.model_id}/comparison`;
  if (job.state === 'succeeded' && job.type === 'diagnose' && job.diagnosis_id) return `#/diagnoses/${job.diagnosis_id}`;
  if (job.state === 'succeeded' && job.type === 'pipeline' && job.diagnosis_id) return `#/diagnoses/${job.diagnosis_id}`;
  if (job.state === 'succeeded' && job.type === 'rca' && analysisOf(job)) return `#/analyses/${analysisOf(job)}`;
  if (job.type === 'pipeline') return `#/pipelines/${job.id}`;
  return `#/jobs/${job.id}`;
}

/* The analysis an rca job made (its analysis_id, or its result's id), or
 * null before it has one. */
export function analysisOf(job) {
  if (job?.analysis_id) return job.analysis_id;
  return job?.result?.kind === 'analysis' && job.result.id ? job.result.id : null;
}

/* Follows job in the background with read() every 2 s; toasts at its end
 * (unless its page is open then). */
export function watch(job, read) {
  if (isFinished(job) || watched.has(job.id)) return;
  watched.add(job.id);
  poll(read, { interval: 2000 }).then((done) => {
    watched.delete(job.id);
    if (location.hash === `#/jobs/${done.id}`) return;
    const ok = done.state === 'succeeded';
    toast(t(`job.toast.${done.state}`, { name: done.name }), {
      variant: ok ? 'success' : done.state === 'failed' ? 'danger' : 'warning',
      action: { label: t('common.open'), href: resultLink(done) },
      timeout: 12000,
    });
  }).catch(() => watched.delete(job.id));
}
