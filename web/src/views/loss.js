// views/loss.js - the training loss curve (train and hold-out loss per
// round), shared by the job and pipeline pages (live, redrawn as the job
// runs) and the model page (the finished curve, with the best round
// marked).

import { t } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption } from '../charts.js';

/* [round, loss] pairs, so that a value axis can grow without relabelling. */
export function lossSeries(train = [], valid = []) {
  const pairs = (arr) => arr.map((v, i) => [i + 1, v === null ? null : v]).filter((p) => p[1] !== null);
  return { train: pairs(train), valid: pairs(valid) };
}

/* The loss-curve option shared by the job page and the model page. */
export function lossOption(c, s, { empty, name, markRound } = {}) {
  if (!s.train.length) return emptyOption(c, empty);
  const line = (label, data) => ({ name: label, type: 'line', data, showSymbol: false, lineStyle: { width: 2 }, animation: false });
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
    series: [line(t('job.trainLoss'), s.train), valid].filter(Boolean),
  };
}

/* A job's loss curve drawn in el, kept up to date as the job is polled:
 * -> {update(job)}. The chart is rebuilt only when a series appears or
 * goes (a new attempt or stage), else its data are replaced in place. */
export function liveLoss(el, job) {
  const curve = (j) => lossSeries(j.losses?.train, j.losses?.valid);
  const shapeOf = (s) => `${s.train.length > 0}/${s.valid.length > 0}`;
  let last = job;
  let shape = shapeOf(curve(job));
  const c = chart(el, (cc) => lossOption(cc, curve(last), { name: 'loss-curve', empty: t('job.waitingCurve') }));
  return {
    update(j) {
      last = j;
      const s = curve(j);
      if (shapeOf(s) !== shape) c.rebuild();
      else if (s.train.length) c.update({ series: [{ data: s.train }, ...(s.valid.length ? [{ data: s.valid }] : [])] });
      shape = shapeOf(s);
    },
  };
}
