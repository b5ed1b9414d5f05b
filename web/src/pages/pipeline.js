// pages/pipeline.js - #/pipelines and #/pipelines/ID: upload a training CSV
// and a CSV to diagnose, train on the first and diagnose the second, as one
// action with one progress view (upload 1, upload 2, training, diagnosing)
// and one cancel that works at every step. The uploads are the datasets
// client's; the rest is one "pipeline" job on the server (docs/api.md),
// which this page follows. Nothing half-made is left: a cancel or a
// failure during the uploads sends what was uploaded to the trash (7 days
// to restore), and the server drops the model of a pipeline that does not
// succeed. A finished pipeline can run again on new files with its
// parameters; the side panel lists the user's recent pipelines.

import { h, clear } from '../dom.js';
import { t, has } from '../i18n.js';
import { fmtAgo, fmtPct, fmtDate } from '../format.js';
import { pageHeader, card, field, setInvalid, select, errorAlert, emptyState, stateBadge, button, linkButton, progressBar } from '../ui.js';
import { dropZone } from '../dropzone.js';
import { isFinished } from '../jobwatch.js';
import { paramCards, collectParams, reveal } from '../views/param-fields.js';
import { attemptsCard, worthShowing } from '../views/attempts.js';
import { jobCancelButton } from '../views/job-cancel.js';
import { liveLoss } from '../views/loss.js';

// The uploads' share of the one progress bar (the job has the rest).
const UPLOAD_SHARE = 0.1;
const STEPS = ['upload1', 'upload2', 'training', 'diagnosing'];

const algoLabel = (name) => (has(`train.algo.${name}`) ? t(`train.algo.${name}`) : name);

/* The four steps and the overall bar: {el, step(i, state, {progress, detail}), overall(p)}. */
function stepsView() {
  const bar = progressBar({ testid: 'pipeline-progress', label: t('pipeline.progress'), striped: true });
  const pct = h('span.fw-semibold');
  const items = STEPS.map((key, n) => {
    const badge = h('span');
    const sub = progressBar({ label: t(`pipeline.step.${key}`) });
    const detail = h('div.small.text-body-secondary.text-break');
    const li = h('li.list-group-item', { testid: `pipeline-step-${key}` },
      h('div.d-flex.flex-wrap.align-items-center.gap-2', h('span.fw-semibold', `${n + 1}. ${t(`pipeline.step.${key}`)}`), h('span.ms-auto', badge)),
      sub.el, detail);
    return { li, badge, sub, detail };
  });
  const el = h('div',
    h('div.d-flex.align-items-center.gap-3.mb-2', h('span', t('pipeline.progress')), h('span.ms-auto', pct)),
    bar.el,
    h('ol.list-group.mt-3', items.map((i) => i.li)));
  const step = (i, state, { progress = null, detail = null } = {}) => {
    const it = items[i];
    it.li.dataset.state = state;
    clear(it.badge, stateBadge(state === 'active' ? 'running' : state === 'pending' ? 'queued' : state, { class: 'state-badge' }));
    it.sub.el.hidden = state !== 'active' || progress === null;
    if (progress !== null) it.sub.set(progress, fmtPct(progress, 0));
    clear(it.detail, detail);
  };
  const overall = (p, state = null) => {
    bar.set(p, fmtPct(p, 0));
    pct.textContent = fmtPct(p, 0);
    const done = !!state;
    bar.bar.classList.toggle('progress-bar-animated', !done);
    bar.bar.classList.toggle('progress-bar-striped', !done);
    bar.state({ succeeded: 'success', failed: 'danger', cancelled: 'warning' }[state] || null);
  };
  STEPS.forEach((_, i) => step(i, 'pending'));
  overall(0);
  return { el, step, overall };
}

/* A large upload is answered "ingesting" and read by a job afterwards
 * (docs/api.md, "Large uploads"): a pipeline needs both datasets ready, so
 * this waits for it, showing the job's progress, and throws the engine's
 * reason when the file could not be ingested. */
async function untilIngested(ctx, ds, isStopped, onProgress) {
  let d = ds;
  while (d.state === 'ingesting') {
    if (isStopped()) throw Object.assign(new Error('aborted'), { kind: 'abort' });
    onProgress(d.ingest_progress || 0);
    await new Promise((resolve) => { setTimeout(resolve, 500); });
    d = await ctx.api.datasets.get(d.id);
  }
  if (d.state === 'failed') {
    throw Object.assign(new Error(d.ingest_error || ''), { kind: 'http', code: 'invalid_csv', details: {}, message: d.ingest_error || '' });
  }
  return d;
}

/* Uploads the two files and submits the job (submitJob(trainId, diagId)),
 * then opens the pipeline's page. Cancel aborts the upload running; what
 * was uploaded goes to the trash when the pipeline does not start.
 * -> {el, cancel()}. */
function startRun(ctx, { trainFile, diagFile, submitJob, onEnd }) {
  const steps = stepsView();
  const errorBox = h('div.mt-3', { testid: 'pipeline-error' });
  let handle = null;
  let stopped = false;
  let over = false;
  const uploaded = [];
  const cancel = button(t('pipeline.cancel'), { iconName: 'stop', variant: 'outline-danger', testid: 'pipeline-cancel', onClick: () => stop() });
  const el = card(t('pipeline.running'), [steps.el, h('div.mt-3', cancel), errorBox], { testid: 'pipeline-run-card', cls: 'mt-4' });
  const stop = () => {
    if (over) return;
    stopped = true;
    handle?.abort();
  };
  const files = [trainFile, diagFile];
  const fraction = [0, 0];
  const sizes = files.map((f) => Math.max(1, f.size));
  const total = sizes[0] + sizes[1];
  const uploadProgress = () => (UPLOAD_SHARE * (fraction[0] * sizes[0] + fraction[1] * sizes[1])) / total;
  (async () => {
    let at = 0;
    try {
      for (at = 0; at < 2; at++) {
        if (stopped) throw Object.assign(new Error('aborted'), { kind: 'abort' });
        steps.step(at, 'active', { progress: 0, detail: files[at].name });
        handle = ctx.api.datasets.upload(files[at], null, {
          label: t('pipeline.uploading', { name: files[at].name }),
          onProgress: (p) => { fraction[at] = p; steps.step(at, 'active', { progress: p, detail: files[at].name }); steps.overall(uploadProgress()); },
        });
        const answered = await handle.promise;
        handle = null;
        uploaded.push(answered.id);
        await untilIngested(ctx, answered, () => stopped,
          (p) => steps.step(at, 'active', { progress: p, detail: t('dataset.ingestingTag', { pct: Math.round(p * 100) }) }));
        fraction[at] = 1;
        steps.step(at, 'succeeded', { detail: files[at].name });
        steps.overall(uploadProgress());
      }
      if (stopped) throw Object.assign(new Error('aborted'), { kind: 'abort' });
      steps.step(2, 'active', { progress: 0, detail: t('pipeline.starting') });
      const job = await submitJob(uploaded[0], uploaded[1]);
      over = true;
      ctx.navigate(`#/pipelines/${job.id}`);
    } catch (e) {
      over = true;
      cancel.hidden = true;
      for (const id of uploaded) ctx.api.datasets.remove(id).catch(() => {});
      const aborted = stopped || e.kind === 'abort';
      // A refused job names the dataset it refused: show it on its upload.
      const field = String(e.details?.field || '');
      const failedAt = at < 2 ? at : field === 'dataset_id' ? 0 : field === 'diagnose_dataset_id' ? 1 : 2;
      steps.step(failedAt, aborted ? 'cancelled' : 'failed', { detail: failedAt < 2 ? files[failedAt].name : null });
      steps.overall(uploadProgress(), aborted ? 'cancelled' : 'failed');
      clear(errorBox, aborted
        ? h('div.alert.alert-warning.mb-0', { role: 'status', testid: 'pipeline-cancelled' }, t('pipeline.uploadsCancelled'))
        : errorAlert(e));
      onEnd?.();
    }
  })();
  return { el, cancel: stop, running: () => !over };
}

/* The two drop zones: {el, files(), zones}. */
function fileZones() {
  const chosen = [null, null];
  const zones = ['train', 'diagnose'].map((which, i) => {
    const z = dropZone({
      title: t(`pipeline.zone.${which}`), hint: t(`pipeline.zone.${which}Hint`),
      zoneTestid: `pipeline-zone-${which}`, inputTestid: `pipeline-file-${which}`, inputLabel: t(`pipeline.zone.${which}`),
      onFile: (f) => { chosen[i] = f; z.setFileName(f.name); setInvalid(z.el, null); },
    });
    return z;
  });
  const el = h('div.row.g-3', zones.map((z) => h('div.col-md-6', z.el)));
  return { el, zones, files: () => chosen };
}

/* Files chosen, or null with the empty zone marked. */
function chosenFiles(zones) {
  const files = zones.files();
  let ok = true;
  files.forEach((f, i) => {
    setInvalid(zones.zones[i].el, f ? null : t('pipeline.needFile'));
    if (!f) ok = false;
  });
  if (!ok) zones.zones[files[0] ? 1 : 0].el.focus();
  return ok ? files : null;
}

function recentCard(pipelines) {
  if (!pipelines.length) return card(t('pipeline.recent'), emptyState('layers', t('pipeline.noRecent'), t('pipeline.noRecentText')), { testid: 'pipeline-recent' });
  return card(t('pipeline.recent'), h('div.list-group.list-group-flush', pipelines.map((j) => h('a.list-group-item.list-group-item-action.job-item', { href: `#/pipelines/${j.id}` },
    h('div.d-flex.align-items-center.gap-2', h('span.fw-semibold.text-truncate.flex-grow-1', j.name), stateBadge(j.state, { class: 'state-badge' })),
    h('div.small.text-body-secondary.d-flex.gap-2', h('span', fmtAgo(j.created_at)), !isFinished(j) && h('span.ms-auto', fmtPct(j.progress, 0)))))),
  { bodyCls: 'p-0', testid: 'pipeline-recent' });
}

async function renderForm(view, ctx) {
  const [pipelines, algorithms] = await Promise.all([
    ctx.api.jobs.recent({ signal: ctx.signal, limit: 8, type: 'pipeline' }),
    ctx.api.algorithms.list({ signal: ctx.signal }),
  ]);
  view.append(pageHeader(t('pipeline.title'), { subtitle: t('pipeline.subtitle') }));
  const zones = fileZones();
  const algo = select(algorithms.map((a) => ({ value: a.name, label: algoLabel(a.name) })), { value: algorithms[0]?.name, testid: 'pipeline-algo' });
  const name = h('input.form-control', { type: 'text', testid: 'pipeline-name', name: 'pipeline-name', maxlength: '255', autocomplete: 'off', placeholder: t('pipeline.namePlaceholder') });
  const adapt = h('input.form-check-input', { type: 'checkbox', id: 'pipeline-adapt', testid: 'pipeline-adapt' });
  const paramsHost = h('div');
  let cards = null;
  const showParams = () => { cards = paramCards(algorithms.find((a) => a.name === algo.value)); clear(paramsHost, cards.el); };
  algo.addEventListener('change', showParams);
  if (algorithms.length) showParams();
  const runHost = h('div');
  const run = button(t('pipeline.run'), { iconName: 'play', type: 'submit', testid: 'pipeline-run', attrs: { class: 'btn-lg' } });
  const form = h('form', { novalidate: true },
    card(t('pipeline.files'), [zones.el,
      h('div.row.g-3.mt-1',
        h('div.col-md-5', field(t('train.algorithm'), algo, { cls: 'mb-0' })),
        h('div.col-md-7', field(t('train.name'), name, { help: t('pipeline.nameHelp'), cls: 'mb-0' })),
        h('div.col-12', h('div.form-check', adapt, h('label.form-check-label', { for: 'pipeline-adapt' }, t('diagnose.adapt')),
          h('div.form-text', t('pipeline.adaptHelp')))))]),
    paramsHost,
    h('div.d-flex.flex-wrap.align-items-center.gap-3.mt-4', run, h('span.small.text-body-secondary', t('pipeline.runHint'))),
    runHost);
  let current = null;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (current?.running()) return;
    const files = chosenFiles(zones);
    const params = files && cards && collectParams(cards);
    if (!params) return;
    run.disabled = true;
    current = startRun(ctx, {
      trainFile: files[0], diagFile: files[1],
      submitJob: (datasetId, diagnoseDatasetId) => ctx.api.jobs.pipeline({ datasetId, diagnoseDatasetId, algo: algo.value, params, adapt: adapt.checked, name: name.value.trim() }, { label: t('pipeline.starting') })
        .catch((e) => {
          const f = String(e.details?.field || '');
          const control = f.startsWith('params.') ? cards.controls.get(f.slice(7)) : f === 'algo' ? algo : f === 'name' ? name : null;
          if (control) { setInvalid(control, e.message); reveal(control); }
          throw e;
        }),
      onEnd: () => { run.disabled = false; },
    });
    clear(runHost, current.el);
  });
  view.append(h('div.row.g-4', h('div.col-lg-8', form), h('div.col-lg-4', recentCard(pipelines))));
  return () => current?.cancel();
}

/* The steps of a pipeline job as the server reports them; names: dataset
 * id -> name (a dataset purged since shows its id). */
function showJob(steps, job, names) {
  const p = job.pipeline || {};
  const links = (id) => h('a', { href: `#/datasets/${id}` }, names.get(id) || t('pipeline.dataset', { id }));
  steps.step(0, 'succeeded', { detail: job.dataset_id ? links(job.dataset_id) : null });
  steps.step(1, 'succeeded', { detail: p.diagnose_dataset_id ? links(p.diagnose_dataset_id) : null });
  const final = isFinished(job) ? job.state : null;
  const stepNow = p.step || (job.state === 'queued' ? 0 : 1);
  [2, 3].forEach((i) => {
    const n = i - 1; // the job's step number
    let state = 'pending';
    if (n < stepNow || (n === stepNow && job.state === 'succeeded')) state = 'succeeded';
    else if (n === stepNow && final) state = final;
    else if (n === stepNow && job.state === 'running') state = 'active';
    const detail = i === 2 && state === 'active' && job.rounds ? t('job.roundOf', { round: job.round, rounds: job.rounds }) : null;
    steps.step(i, state, { progress: state === 'active' ? p.step_progress ?? 0 : null, detail });
  });
  steps.overall(UPLOAD_SHARE + (1 - UPLOAD_SHARE) * (job.progress || 0), final);
}

async function renderJob(view, ctx) {
  let job = await ctx.api.jobs.get(ctx.params.id, { signal: ctx.signal });
  if (job.type !== 'pipeline') {
    ctx.navigate(`#/jobs/${job.id}`);
    return undefined;
  }
  const names = new Map();
  await Promise.all([job.dataset_id, job.pipeline?.diagnose_dataset_id].filter(Boolean).map((id) =>
    ctx.api.datasets.get(id, { signal: ctx.signal }).then((d) => names.set(id, d.name), (e) => { if (ctx.signal.aborted) throw e; })));
  const steps = stepsView();
  const actions = h('div.d-flex.flex-wrap.gap-2');
  const outcome = h('div');
  const attempts = h('div');
  const rerunHost = h('div');
  const lossEl = h('div.chart.chart-tall', { testid: 'chart-loss', role: 'img', 'aria-label': t('job.lossChart') });
  let loss = null;
  const cancel = jobCancelButton({
    label: t('pipeline.cancel'), testid: 'pipeline-cancel',
    cancel: () => ctx.api.jobs.cancel(job.id, { label: t('job.cancelling') }),
    onCancelled: (j) => { job = j; update(); },
  });
  let rerunShown = false;
  let rerun = null;
  const update = () => {
    const done = isFinished(job);
    showJob(steps, job, names);
    cancel.hidden = done;
    cancel.disabled = job.cancel_requested;
    const p = job.pipeline || {};
    clear(actions,
      job.state === 'succeeded' && job.diagnosis_id && linkButton(t('pipeline.openDiagnosis'), `#/diagnoses/${job.diagnosis_id}`, { variant: 'primary', iconName: 'diagnose', testid: 'pipeline-diagnosis-link' }),
      job.state === 'succeeded' && p.model_id && linkButton(t('pipeline.openModel'), `#/models/${p.model_id}`, { variant: 'secondary', iconName: 'model', testid: 'pipeline-model-link' }));
    clear(outcome,
      job.state === 'failed' && h('div.alert.alert-danger.mb-0', { role: 'alert', testid: 'pipeline-failed' },
        h('div.fw-semibold', t(p.failed_step === 'diagnosing' ? 'pipeline.failedDiagnosing' : 'pipeline.failedTraining')), h('div.small.text-break', job.error || ''),
        h('div.small.mt-1', t('pipeline.nothingKept'))),
      job.state === 'cancelled' && h('div.alert.alert-warning.mb-0', { testid: 'pipeline-cancelled' }, t('pipeline.wasCancelled')),
      job.state === 'succeeded' && h('div.alert.alert-success.mb-0', { testid: 'pipeline-succeeded' }, t('pipeline.ready')));
    clear(attempts, worthShowing(job.attempts, !done) ? attemptsCard(job.attempts, { running: !done }) : null);
    loss?.update(job);
    if (done && !rerunShown) {
      rerunShown = true;
      rerun = rerunCard(ctx, job);
      clear(rerunHost, rerun.el);
    }
  };
  view.append(pageHeader(job.name, {
    eyebrow: t('pipeline.eyebrow', { id: job.id }),
    subtitle: t('pipeline.created', { date: fmtDate(job.created_at), algo: algoLabel(job.pipeline?.algo || '') }),
    actions,
  }));
  view.append(h('div.d-flex.flex-column.gap-4',
    card(null, [steps.el, h('div.mt-3', cancel)], { testid: 'pipeline-job' }),
    outcome,
    card(t('job.lossChart'), lossEl, { actions: h('span.small.text-body-secondary', t('job.lossHint')) }),
    attempts, rerunHost));
  update();
  loss = liveLoss(lossEl, job);
  if (!isFinished(job)) {
    ctx.pollJob(job.id, { onUpdate: (j) => { job = j; update(); } }).catch(() => { /* page left */ });
  }
  return () => {
    rerun?.cancel();
    if (!isFinished(job)) ctx.watchJob(job);
  };
}

/* "Run again on new files": two drop zones, the pipeline's parameters.
 * -> {el, cancel()} (cancel: the uploads, when the page is left). */
function rerunCard(ctx, job) {
  const zones = fileZones();
  const host = h('div');
  let current = null;
  const again = button(t('pipeline.rerun'), { iconName: 'refresh', testid: 'pipeline-rerun', onClick: () => {
    if (current?.running()) return;
    const files = chosenFiles(zones);
    if (!files) return;
    again.disabled = true;
    current = startRun(ctx, {
      trainFile: files[0], diagFile: files[1],
      submitJob: (datasetId, diagnoseDatasetId) => ctx.api.jobs.pipeline({ datasetId, diagnoseDatasetId, rerunOf: job.id }, { label: t('pipeline.starting') }),
      onEnd: () => { again.disabled = false; },
    });
    clear(host, current.el);
  } });
  const el = card(t('pipeline.rerunTitle'), [h('p.text-body-secondary', t('pipeline.rerunText')), zones.el, h('div.mt-3', again), host], { testid: 'pipeline-rerun-card' });
  return { el, cancel: () => current?.cancel() };
}

export async function render(view, ctx) {
  ctx.setNav('pipelines');
  return ctx.params.id ? renderJob(view, ctx) : renderForm(view, ctx);
}
