// views/metrics.js - a model's scores as the model page and the diagnosis
// page show them: where the metrics come from (cross-validation or the
// hold-out), the per-class table, the confusion matrix as a heat map (and
// as a table of counts) and the per-class F1 bars; how a model was trained.
// A class is shown by its name (classnames.js) when the OWNER passed in
// (the MODEL or the DIAGNOSIS) names it.

import { h, esc } from '../dom.js';
import { t, has } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption, categoryZoom, rotateFor } from '../charts.js';
import { fmtPct, fmtFixed, fmtInt } from '../format.js';
import { className } from '../classnames.js';

/* The metrics to show and where they come from: cross-validation, the
 * hold-out, else the model's own estimate (summary.oob: out-of-bag for a
 * forest, out-of-fold for an ensemble, which lists its members), which has
 * accuracy and macro-F1 only. */
export function modelMetrics(summary) {
  if (summary?.cv?.metrics) return { m: summary.cv.metrics, source: t('model.sourceCv', { folds: summary.cv.folds }) };
  if (summary?.validation) return { m: summary.validation, source: t('model.sourceHoldout', { n: fmtInt(summary.validation.samples) }) };
  const oob = summary?.oob;
  if (oob) {
    return {
      m: { accuracy: oob.accuracy, macro_f1: oob.macro_f1, samples: oob.rows },
      source: t(summary.members ? 'model.sourceOof' : 'model.sourceOob', { n: fmtInt(oob.rows) }),
    };
  }
  return { m: null, source: t('model.sourceNone') };
}

/* The learner by its name in the catalogue (the code name upper-cased when
 * the catalogue has none). */
export const algoLabel = (name) => (has(`train.algo.${name}`) ? t(`train.algo.${name}`) : String(name || '').toUpperCase());

/* How a model was trained, as [label, value] rows (the model page's
 * details and the training report). */
export function trainingFacts(model, summary) {
  const tr = summary?.training || {};
  return [
    [t('model.algo'), algoLabel(model.algo)],
    [t('model.roundsDone'), fmtInt(tr.rounds_done)],
    [t('model.bestRoundLabel'), fmtInt(tr.best_round)],
    [t('model.trees'), fmtInt(tr.trees)],
  ];
}

export function perClassTable(m, testid = 'per-class-table', owner = null) {
  const rows = m?.per_class || [];
  return h('div.table-responsive', h('table.table.table-sm.table-hover.align-middle.mb-0.num-table', { testid },
    h('caption.visually-hidden', t('model.perClass')),
    h('thead', h('tr', ['class', 'precision', 'recall', 'f1', 'support', 'predicted'].map((c, i) => h(i ? 'th.text-end' : 'th', { scope: 'col' }, t(`model.col.${c}`))))),
    h('tbody', rows.length ? rows.map((r) => h('tr',
      h('th.fw-medium', { scope: 'row', dataset: { label: r.class } }, className(owner, r.class)),
      h('td.text-end', fmtFixed(r.precision)), h('td.text-end', fmtFixed(r.recall)),
      h('td.text-end.fw-semibold', fmtFixed(r.f1)), h('td.text-end', fmtInt(r.support)), h('td.text-end', fmtInt(r.predicted))))
      : h('tr', h('td.text-center.text-body-secondary', { colspan: '6' }, t(m ? 'model.noPerClass' : 'model.noMetrics'))))));
}

/* The confusion matrix as counts: true classes down, predicted across. */
export function confusionTable(m, owner = null) {
  if (!m?.confusion?.length) return null;
  const names = m.per_class.map((r) => className(owner, r.class));
  return {
    columns: [`${t('model.trueClass')} / ${t('model.predictedClass')}`, ...names],
    rows: m.confusion.map((row, i) => [names[i], ...row]),
  };
}

export function confusionChart(el, m, owner = null) {
  chart(el, (c) => {
    if (!m?.confusion?.length) return emptyOption(c, t('model.noMetrics'));
    const names = m.per_class.map((r) => className(owner, r.class));
    const data = [];
    m.confusion.forEach((row, y) => {
      const total = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((n, x) => data.push([x, y, n / total, n]));
    });
    return {
      toolbox: toolbox('confusion-matrix'),
      tooltip: {
        formatter: ({ data: d }) => `${esc(t('model.trueClass'))}: ${esc(names[d[1]])}<br>${esc(t('model.predictedClass'))}: ${esc(names[d[0]])}<br>${fmtInt(d[3])} (${fmtPct(d[2])})`,
      },
      grid: { left: 16, right: 16, top: 36, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: names, position: 'bottom', ...axisStyle(c), splitArea: { show: false }, axisLabel: { color: c.muted, interval: 0, rotate: rotateFor(names) } },
      yAxis: { type: 'category', data: names, inverse: true, ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, width: 120, overflow: 'truncate', margin: 10 } },
      visualMap: { min: 0, max: 1, dimension: 2, calculable: false, show: false, inRange: { color: [c.dark ? '#1f2633' : '#f2f5fb', c.colors[0]] } },
      series: [{
        type: 'heatmap', data, encode: { x: 0, y: 1, value: 2 },
        label: { show: names.length <= 12, formatter: ({ data: d }) => fmtInt(d[3]), color: c.text },
        itemStyle: { borderColor: c.dark ? '#161b22' : '#fff', borderWidth: 2, borderRadius: 3 },
        emphasis: { itemStyle: { shadowBlur: 8, shadowColor: 'rgba(0,0,0,0.3)' } },
      }],
    };
  }, { table: () => confusionTable(m, owner) });
}

export function f1Chart(el, m, owner = null) {
  chart(el, (c) => {
    const rows = m?.per_class || [];
    if (!rows.length) return emptyOption(c, t('model.noMetrics'));
    const series = (key, i, extra = {}) => ({ type: 'bar', name: t(`model.col.${key}`), data: rows.map((r) => r[key] ?? '-'), itemStyle: { color: c.colors[i], borderRadius: [3, 3, 0, 0] }, barMaxWidth: 22, ...extra });
    return {
      toolbox: toolbox('per-class-f1'),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => (typeof v === 'number' ? v.toFixed(3) : '—') },
      legend: { top: 0, left: 0, textStyle: { color: c.text } },
      grid: { left: 8, right: 16, top: 44, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: rows.map((r) => className(owner, r.class)), ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, rotate: rotateFor(rows.map((r) => className(owner, r.class))) } },
      yAxis: { type: 'value', min: 0, max: 1, ...axisStyle(c) },
      dataZoom: categoryZoom(rows.length, 16),
      series: [series('precision', 4, { itemStyle: { color: c.colors[4 % c.colors.length], opacity: 0.55, borderRadius: [3, 3, 0, 0] } }),
        series('recall', 2, { itemStyle: { color: c.colors[2], opacity: 0.55, borderRadius: [3, 3, 0, 0] } }),
        series('f1', 0)],
    };
  });
}
