// pages/job.js - #/jobs/ID: a job as it runs. Reads the job about every
// 500 ms (ctx.pollJob) and updates the state, the progress bar, the round
// (saying whether it counts a fit that stops early or its refit), the
// elapsed and remaining time (the server's estimate, "—" until it has a
// basis) and the live loss curve (a line per finished fold, the refit
// apart) in place, without re-rendering; "updates live" goes at the end. Cancel asks the server to stop the job; leaving the page
// while it runs hands it to a background watcher that toasts at the end.
// After a retry the training's attempts show too (views/attempts.js): why
// each failed and, at the end, which learner made the model. A retraining
// with people's labels is followed like a training, and opens its
// comparison with the old model when it succeeds; a root-cause analysis
// (type rca) says its stage (reading, diagnosing the nodes, ranking) and
// opens the analysis when it succeeds.

import { h, clear } from '../dom.js';
import { t, has } from '../i18n.js';
import { fmtDuration, fmtInt, fmtDate, fmtPct } from '../format.js';
import { pageHeader, card, progressBar, stateBadge, statTile, linkButton } from '../ui.js';
import { isFinished, resultLink, analysisOf } from '../jobwatch.js';
import { liveLoss } from '../views/loss.js';
import { attemptsCard, worthShowing } from '../views/attempts.js';
import { jobCancelButton } from '../views/job-cancel.js';

function stageText(job) {
  if (job.state === 'queued') return t('job.stage.queued');
  if (isFinished(job)) return '';
  if (job.type === 'diagnose') return t('job.stage.diagnose');
  if (job.type === 'rca') return rcaStageText(job.rca || {});
  if (job.stage === 'cv' && job.fold) {
    return t(job.phase === 'refit' ? 'job.stage.cvFoldRefit' : 'job.stage.cvFold', { fold: job.fold, folds: job.folds });
  }
  return job.stage ? t(`job.stage.${job.stage}`) : t('job.stage.starting');
}

/* An rca job's stage (JOB.rca: reading, diagnosing, storing) with the
 * incidents done of the total while it diagnoses. */
function rcaStageText({ stage, incidents_done: done, incidents }) {
  const name = stage && has(`job.stage.rca.${stage}`) ? t(`job.stage.rca.${stage}`) : (stage || t('job.stage.rca'));
  return stage === 'diagnosing' && incidents ? t('job.stage.rcaCount', { stage: name, done: fmtInt(done), total: fmtInt(incidents) }) : name;
}

/* The round counter says which rounds it counts: those of a fit that stops
 * early (the planned rounds only a cap), or of the refit (the rounds the
 * early stopping chose). */
function roundText(job) {
  if (!job.rounds) return fmtInt(job.round);
  const n = { round: fmtInt(job.round), rounds: fmtInt(job.rounds) };
  if (job.phase === 'early_stopping' && !isFinished(job)) return t('job.roundEarly', n);
  if (job.phase === 'refit') return t('job.roundRefit', n);
  return t('job.roundOf', n);
}

/* "—" until the server's estimate has a basis (docs/api.md, JOB). */
function remainingText(job) {
  if (isFinished(job)) return job.state === 'succeeded' ? fmtDuration(0) : '—';
  if (job.eta_seconds === null || job.eta_seconds === undefined) return '—';
  return fmtDuration(job.eta_seconds);
}

export async function render(view, ctx) {
  let job = await ctx.api.jobs.get(ctx.params.id, { signal: ctx.signal });
  if (job.type === 'pipeline') { // followed on its own page, with its steps
    ctx.navigate(`#/pipelines/${job.id}`);
    return undefined;
  }
  const isRetrain = job.type === 'retrain';
  const isTrain = job.type === 'train' || isRetrain;
  const isRca = job.type === 'rca';
  ctx.setNav(isTrain ? 'train' : isRca ? 'rca' : 'diagnose');
  // #/jobs/ID?follow=1 (the analysis form's): a job already done opens its
  // analysis at once; the job's entry in the history loses the flag first,
  // so that "back" shows the job instead of forwarding again
  if (isRca && ctx.query.follow === '1' && job.state === 'succeeded' && analysisOf(job)) {
    history.replaceState(null, '', `#/jobs/${job.id}`);
    ctx.navigate(resultLink(job));
    return undefined;
  }

  const state = h('span.job-state-host');
  const bar = progressBar({ testid: 'job-progress', label: t('job.progress'), striped: true });
  const stage = h('span.job-stage.text-body-secondary', { testid: 'job-stage' });
  const round = h('span', { testid: 'job-round' });
  const elapsed = h('span', { testid: 'job-elapsed' });
  const remaining = h('span', { testid: 'job-remaining' });
  const remainingHint = h('div.small.text-body-secondary.fw-normal', { testid: 'job-remaining-hint' });
  const liveHint = h('span.small.text-body-secondary', { testid: 'job-live-hint' }, t('job.lossHint'));
  const pct = h('span.job-pct.fw-semibold');
  const actions = h('div.d-flex.flex-wrap.gap-2');
  const outcome = h('div.job-outcome');
  const attempts = h('div');
  const lossEl = h('div.chart.chart-tall', { testid: 'chart-loss', role: 'img', 'aria-label': t('job.lossChart') });

  const cancel = jobCancelButton({
    label: t('job.cancel'), testid: 'job-cancel',
    cancel: () => ctx.api.jobs.cancel(job.id, { label: t('job.cancelling') }),
    onCancelled: (j) => { job = j; update(); },
  });

  let loss = null;
  let shownAttempts = '';
  const update = () => {
    clear(state, stateBadge(job.state, { testid: 'job-state', class: 'state-badge fs-6' }));
    const done = isFinished(job);
    bar.set(job.progress, fmtPct(job.progress, 0));
    bar.bar.classList.toggle('progress-bar-animated', !done);
    bar.bar.classList.toggle('progress-bar-striped', !done);
    bar.state({ succeeded: 'success', failed: 'danger', cancelled: 'warning' }[job.state] || null);
    pct.textContent = fmtPct(job.progress, 0);
    stage.textContent = stageText(job);
    round.textContent = roundText(job);
    elapsed.textContent = fmtDuration(job.elapsed_seconds);
    remaining.textContent = remainingText(job);
    const noBasis = !done && job.state === 'running' && (job.eta_seconds === null || job.eta_seconds === undefined);
    remainingHint.textContent = noBasis ? t(isTrain ? 'job.noEstimateTrain' : 'job.noEstimate') : '';
    liveHint.hidden = done;
    cancel.hidden = done;
    cancel.disabled = job.cancel_requested;
    cancel.lastChild.textContent = job.cancel_requested ? t('job.cancelling') : t('job.cancel');
    clear(actions, cancel,
      job.state === 'succeeded' && isRetrain && job.model_id && linkButton(t('job.openComparison'), resultLink(job), { variant: 'primary', iconName: 'bars', testid: 'job-comparison-link' }),
      job.state === 'succeeded' && isTrain && job.model_id && linkButton(t('job.openModel'), `#/models/${job.model_id}`, { variant: isRetrain ? 'outline-secondary' : 'primary', iconName: 'model', testid: 'job-model-link' }),
      job.state === 'succeeded' && isRca && analysisOf(job) && linkButton(t('job.openAnalysis'), resultLink(job), { variant: 'primary', iconName: 'network', testid: 'job-analysis-link' }),
      job.state === 'succeeded' && !isTrain && job.diagnosis_id && linkButton(t('job.openDiagnosis'), `#/diagnoses/${job.diagnosis_id}`, { variant: 'primary', iconName: 'diagnose', testid: 'job-diagnosis-link' }),
      job.state !== 'running' && job.state !== 'queued' && isTrain && !isRetrain && job.dataset_id && linkButton(t('job.trainAgain'), `#/train?dataset=${job.dataset_id}`, { iconName: 'refresh' }));
    clear(outcome,
      job.state === 'failed' && h('div.alert.alert-danger.mb-0', { role: 'alert' }, h('div.fw-semibold', t('job.failed')), h('div.small.text-break', job.error || '')),
      job.state === 'cancelled' && h('div.alert.alert-warning.mb-0', t('job.wasCancelled')),
      job.state === 'succeeded' && h('div.alert.alert-success.mb-0.d-flex.align-items-center.gap-2', t(isTrain ? 'job.modelReady' : isRca ? 'job.analysisReady' : 'job.diagnosisReady')));
    /* Redrawn only when an attempt was added or the job ended, so that
     * polling does not rebuild the table twice a second. */
    const attemptsKey = `${job.attempts?.length || 0}/${done}`;
    if (attemptsKey !== shownAttempts) {
      shownAttempts = attemptsKey;
      clear(attempts, worthShowing(job.attempts, !done) ? attemptsCard(job.attempts, { running: !done }) : null);
    }
    loss?.update(job);
  };

  view.append(pageHeader(job.name, {
    eyebrow: t(isRetrain ? 'job.eyebrowRetrain' : isTrain ? 'job.eyebrowTrain' : isRca ? 'job.eyebrowRca' : 'job.eyebrowDiagnose', { id: job.id }),
    subtitle: t('job.created', { date: fmtDate(job.created_at) }),
    actions,
  }));
  view.append(h('div.d-flex.flex-column.gap-4',
    card(null, [
      h('div.d-flex.flex-wrap.align-items-center.gap-3.mb-3', state, stage, h('span.ms-auto', pct)),
      bar.el,
      h('div.stat-grid.stat-grid-3.mt-4',
        isTrain ? statTile(t('job.round'), round)
          : statTile(t('job.model'), job.model_id ? h('a', { href: `#/models/${job.model_id}` }, `#${job.model_id}`) : '—'),
        statTile(t('job.elapsed'), elapsed),
        statTile(t('job.remaining'), h('span', remaining, remainingHint))),
    ], { cls: 'job-card' }),
    outcome,
    isTrain && card(t('job.lossChart'), lossEl, { actions: liveHint }),
    attempts));
  update();
  if (isTrain) loss = liveLoss(lossEl, job);

  if (!isFinished(job)) {
    ctx.pollJob(job.id, {
      onUpdate: (j) => {
        const was = job.state;
        job = j;
        update();
        if ((!isTrain || isRetrain) && j.state === 'succeeded' && was !== 'succeeded' && (j.diagnosis_id || isRetrain || analysisOf(j))) ctx.navigate(resultLink(j));
      },
    }).catch(() => { /* page left */ });
  }
  return () => { if (!isFinished(job)) ctx.watchJob(job); };
}
