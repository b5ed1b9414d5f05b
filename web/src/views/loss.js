// views/loss.js - the training loss curve (train and hold-out loss per
// round), shared by the job and pipeline pages (live, redrawn as the job
// runs) and the model page (the finished curve, with the best round
// marked). On a live curve the finished cross-validation folds are lines
// of their own (thin, one per fold) and a refit's training loss is a
// series apart, so that a fold's rounds and then its refit's never join
// into one sawtooth.

import { t } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption } from '../charts.js';

const pairs = (arr = []) => arr.map((v, i) => [i + 1, v === null ? null : v]).filter((p) => p[1] !== null);

/* [round, loss] pairs, so that a value axis can grow without relabelling;
 * `refit` (a refit's training loss) and `folds` (finished folds:
 * [{fold, loss, points: [[round, loss]...]}], docs/api.md JOB) when given. */
export function lossSeries(train = [], valid = [], { refit = [], folds = [] } = {}) {
  return { train: pairs(train), valid: pairs(valid), refit: pairs(refit), folds: folds || [] };
}

/* The live series in the order lossOption draws them (for in-place updates). */
export const seriesData = (s) => [
  ...(s.folds || []).map((f) => f.points),
  s.train, ...(s.valid.length ? [s.valid] : []), ...(s.refit?.length ? [s.refit] : []),
];

/* What decides the chart's series: redrawn from scratch when it changes. */
export const seriesShape = (s) => `${(s.folds || []).length}/${s.train.length > 0}/${s.valid.length > 0}/${(s.refit || []).length > 0}`;

/* The loss-curve option shared by the job page and the model page. */
export function lossOption(c, s, { empty, name, markRound } = {}) {
  if (!s.train.length && !s.folds?.length) return emptyOption(c, empty);
  const line = (label, data, width = 2) => ({ name: label, type: 'line', data, showSymbol: false, lineStyle: { width }, animation: false });
  const folds = (s.folds || []).map((f) => ({
    ...line(t(f.loss === 'valid' ? 'job.foldValidLoss' : 'job.foldTrainLoss', { fold: f.fold }), f.points, 1),
    lineStyle: { width: 1, type: 'dotted' },
  }));
  const refit = s.refit?.length ? { ...line(t('job.refitLoss'), s.refit), lineStyle: { width: 2, type: 'dashed' } } : null;
  const valid = s.valid.length ? line(t('job.validLoss'), s.valid) : null;
  if (valid && markRound) {
    valid.markLine = { symbol: 'none', animation: false, label: { formatter: t('model.bestRound', { n: markRound }), color: c.muted }, lineStyle: { type: 'dashed', color: c.muted }, data: [{ xAxis: markRound }] };
  }
  return {
    animation: false, // a live curve is redrawn twice a second; animated axes would leave ghost labels
    toolbox: toolbox(name, { zoom: true }),
    tooltip: { trigger: 'axis', valueFormatter: (v) => (typeof v === 'number' ? v.toFixed(4) : '—') },
    legend: { bottom: 0, left: 'center', textStyle: { color: c.text } },
    grid: { left: 8, right: 24, top: 40, bottom: 76, containLabel: true },
    xAxis: { type: 'value', name: t('job.roundAxis'), nameLocation: 'middle', nameGap: 26, min: 1, max: 'dataMax', minInterval: 1, ...axisStyle(c), splitLine: { show: false } },
    yAxis: { type: 'value', name: t('job.lossAxis'), scale: true, ...axisStyle(c) },
    dataZoom: [{ type: 'inside' }, { type: 'slider', height: 14, bottom: 30 }],
    series: [...folds, line(t('job.trainLoss'), s.train), valid, refit].filter(Boolean),
  };
}

/* A job's loss curve drawn in el, kept up to date as the job is polled:
 * -> {update(job)}. The chart is rebuilt only when a series appears or
 * goes (a new attempt or stage), else its data are replaced in place. */
export function liveLoss(el, job) {
  const curve = (j) => lossSeries(j.losses?.train, j.losses?.valid, { refit: j.losses?.refit, folds: j.losses?.folds });
  let last = job;
  let shape = seriesShape(curve(job));
  const c = chart(el, (cc) => lossOption(cc, curve(last), { name: 'loss-curve', empty: t('job.waitingCurve') }));
  return {
    update(j) {
      last = j;
      const s = curve(j);
      if (seriesShape(s) !== shape) c.rebuild();
      else if (s.train.length) c.update({ series: seriesData(s).map((data) => ({ data })) });
      shape = seriesShape(s);
    },
  };
}
