// pages/model.js - #/models/ID: what a model is worth before anyone downloads
// it. Scores come from summary.cv.metrics when cross-validation ran, else
// from the hold-out (summary.validation); then the per-class table, the
// confusion matrix as a heat map, per-class F1 bars, the top KPIs by
// importance and the training curve, plus the parameters it was trained with.

import { h, esc } from '../dom.js';
import { t } from '../i18n.js';
import * as api from '../api.js';
import * as prefs from '../prefs.js';
import { chart, toolbox, axisStyle, emptyOption, categoryZoom, rotateFor } from '../charts.js';
import { fmtPct, fmtFixed, fmtInt, fmtBytes, fmtDate, fmtDuration, fmtNum } from '../format.js';
import { lossSeries, lossOption } from './job.js';
import { pageHeader, card, statTile, statGrid, linkButton, button, confirmDialog, toast, showError } from '../ui.js';

const TOP_KPIS = 20;

/* The metrics to show and where they come from. */
export function modelMetrics(summary) {
  if (summary?.cv?.metrics) return { m: summary.cv.metrics, source: t('model.sourceCv', { folds: summary.cv.folds }) };
  if (summary?.validation) return { m: summary.validation, source: t('model.sourceHoldout', { n: fmtInt(summary.validation.samples) }) };
  return { m: null, source: t('model.sourceNone') };
}

function tiles(m) {
  const v = (x) => (typeof x === 'number' ? String(x) : '');
  return statGrid(
    statTile(t('model.accuracy'), fmtPct(m?.accuracy), { testid: 'metric-accuracy', tone: 'primary', valueAttrs: { 'data-value': v(m?.accuracy) } }),
    statTile(t('model.macroF1'), fmtPct(m?.macro_f1), { testid: 'metric-macro-f1', tone: 'primary', valueAttrs: { 'data-value': v(m?.macro_f1) } }),
    statTile(t('model.weightedF1'), fmtPct(m?.weighted_f1)),
    statTile(t('model.macroPrecision'), fmtPct(m?.macro_precision)),
    statTile(t('model.macroRecall'), fmtPct(m?.macro_recall)),
    statTile(t('model.logLoss'), fmtFixed(m?.log_loss, 4), { hint: m ? t('model.samples', { n: fmtInt(m.samples) }) : null }));
}

export function perClassTable(m, testid = 'per-class-table') {
  const rows = m?.per_class || [];
  return h('div.table-responsive', h('table.table.table-sm.table-hover.align-middle.mb-0.num-table', { testid },
    h('caption.visually-hidden', t('model.perClass')),
    h('thead', h('tr', ['class', 'precision', 'recall', 'f1', 'support', 'predicted'].map((c, i) => h(i ? 'th.text-end' : 'th', { scope: 'col' }, t(`model.col.${c}`))))),
    h('tbody', rows.length ? rows.map((r) => h('tr',
      h('th.fw-medium.text-nowrap', { scope: 'row' }, r.class),
      h('td.text-end', fmtFixed(r.precision)), h('td.text-end', fmtFixed(r.recall)),
      h('td.text-end.fw-semibold', fmtFixed(r.f1)), h('td.text-end', fmtInt(r.support)), h('td.text-end', fmtInt(r.predicted))))
      : h('tr', h('td.text-center.text-body-secondary', { colspan: '6' }, t('model.noMetrics'))))));
}

export function confusionChart(el, m) {
  chart(el, (c) => {
    if (!m?.confusion?.length) return emptyOption(c, t('model.noMetrics'));
    const names = m.per_class.map((r) => r.class);
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
  });
}

export function f1Chart(el, m) {
  chart(el, (c) => {
    const rows = m?.per_class || [];
    if (!rows.length) return emptyOption(c, t('model.noMetrics'));
    const series = (key, i, extra = {}) => ({ type: 'bar', name: t(`model.col.${key}`), data: rows.map((r) => r[key] ?? '-'), itemStyle: { color: c.colors[i], borderRadius: [3, 3, 0, 0] }, barMaxWidth: 22, ...extra });
    return {
      toolbox: toolbox('per-class-f1'),
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => (typeof v === 'number' ? v.toFixed(3) : '—') },
      legend: { top: 0, left: 0, textStyle: { color: c.text } },
      grid: { left: 8, right: 16, top: 44, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: rows.map((r) => r.class), ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, rotate: rotateFor(rows.map((r) => r.class)) } },
      yAxis: { type: 'value', min: 0, max: 1, ...axisStyle(c) },
      dataZoom: categoryZoom(rows.length, 16),
      series: [series('precision', 4, { itemStyle: { color: c.colors[4 % c.colors.length], opacity: 0.55, borderRadius: [3, 3, 0, 0] } }),
        series('recall', 2, { itemStyle: { color: c.colors[2], opacity: 0.55, borderRadius: [3, 3, 0, 0] } }),
        series('f1', 0)],
    };
  });
}

function importanceChart(el, summary) {
  const top = (summary.feature_importance || []).slice(0, TOP_KPIS).reverse();
  chart(el, (c) => {
    if (!top.length) return emptyOption(c, t('common.noData'));
    return {
      toolbox: toolbox('feature-importance'),
      tooltip: {
        trigger: 'axis', axisPointer: { type: 'shadow' },
        formatter: (ps) => { const f = top[ps[0].dataIndex]; return `<b>${esc(f.feature)}</b><br>${esc(t('model.share'))}: ${fmtPct(f.share)}<br>${esc(t('model.gain'))}: ${fmtNum(f.gain)}<br>${esc(t('model.splits'))}: ${fmtInt(f.splits)}`; },
      },
      grid: { left: 8, right: 40, top: 30, bottom: 8, containLabel: true },
      xAxis: { type: 'value', ...axisStyle(c), axisLabel: { color: c.muted, formatter: (v) => fmtPct(v, 0) } },
      yAxis: { type: 'category', data: top.map((f) => f.feature), ...axisStyle(c), axisLabel: { color: c.muted, interval: 0 } },
      series: [{
        type: 'bar', data: top.map((f) => f.share), barMaxWidth: 16,
        itemStyle: { color: c.colors[1], borderRadius: [0, 4, 4, 0] },
        label: { show: true, position: 'right', color: c.muted, formatter: ({ value }) => fmtPct(value) },
      }],
    };
  });
}

function curveChart(el, summary) {
  const series = lossSeries(summary.curve?.train_loss, summary.curve?.valid_loss);
  chart(el, (c) => lossOption(c, series, { name: 'training-curve', empty: t('common.noData'), markRound: summary.training?.best_round }));
}

function kv(rows) {
  return h('dl.kv-list.mb-0', rows.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v)]));
}

function detailsCard(model, summary) {
  const d = summary.data || {};
  const tr = summary.training || {};
  const params = summary.params || {};
  return card(t('model.details'), h('div.row.g-4',
    h('div.col-md-6', h('h3.h6.text-body-secondary', t('model.training')), kv([
      [t('model.algo'), (model.algo || '').toUpperCase()],
      [t('model.roundsDone'), fmtInt(tr.rounds_done)],
      [t('model.bestRoundLabel'), fmtInt(tr.best_round)],
      [t('model.trees'), fmtInt(tr.trees)],
      [t('model.trainTime'), fmtDuration(tr.train_seconds)],
      [t('model.rowsTrain'), fmtInt(d.rows_train)],
      [t('model.rowsValidation'), fmtInt(d.rows_validation)],
      [t('model.duplicates'), fmtInt(d.duplicate_rows)],
      [t('model.size'), fmtBytes(model.size_bytes)],
      [t('model.version'), summary.healer_version || '—'],
    ])),
    h('div.col-md-6', h('h3.h6.text-body-secondary', t('model.params')),
      h('div.param-chips', Object.entries(params).filter(([k]) => k !== 'algo').map(([k, v]) => h('span.param-chip', h('span.param-k', k), h('span.param-v', String(v))))))));
}

export async function render(view, ctx) {
  const model = await api.get(`/models/${ctx.params.id}`, { signal: ctx.signal });
  prefs.set({ last_model_id: model.id });
  const summary = model.summary || {};
  const { m, source } = modelMetrics(summary);

  const del = button(t('common.delete'), {
    iconName: 'trash', variant: 'outline-danger',
    onClick: async () => {
      const ok = await confirmDialog({ title: t('model.deleteTitle'), message: t('model.deleteText', { name: model.name }), okLabel: t('common.delete') });
      if (!ok) return;
      try {
        await api.del(`/models/${model.id}`);
        if (prefs.pref('last_model_id') === model.id) prefs.set({ last_model_id: null });
        toast(t('model.deleted', { name: model.name }), { variant: 'info' });
        ctx.navigate('#/models');
      } catch (e) { showError(e); }
    },
  });

  view.append(pageHeader(model.name, {
    eyebrow: t('model.eyebrow', { id: model.id }),
    subtitle: [t('model.subtitle', { classes: model.classes, features: model.features, date: fmtDate(model.created_at) }), ' · ',
      model.dataset_id ? h('a', { href: `#/datasets/${model.dataset_id}` }, t('model.fromDataset', { id: model.dataset_id })) : t('model.datasetGone')],
    actions: [
      linkButton(t('model.diagnoseWith'), `#/diagnose?model=${model.id}`, { variant: 'primary', iconName: 'diagnose' }),
      linkButton(t('model.downloadModel'), api.url(`/models/${model.id}/download`), { iconName: 'download', testid: 'download-model', download: `model-${model.id}.model` }),
      linkButton(t('model.downloadReport'), api.url(`/models/${model.id}/report`), { iconName: 'file', testid: 'download-report', download: `model-${model.id}-report.json` }),
      del,
    ],
  }));

  const el = (testid, label, cls = 'chart') => h(`div.${cls}`, { testid, role: 'img', 'aria-label': label });
  const confusion = el('chart-confusion', t('model.confusion'), 'chart.chart-square');
  const f1 = el('chart-f1', t('model.f1Chart'));
  const importance = el('chart-importance', t('model.importance'), 'chart.chart-tall');
  const curve = el('chart-curve', t('model.curve'), 'chart.chart-tall');

  view.append(h('div.d-flex.flex-column.gap-4',
    h('div', h('div.metric-source.small.text-body-secondary.mb-2', source), tiles(m)),
    h('div.row.g-4',
      h('div.col-xl-6', card(t('model.perClass'), perClassTable(m), { bodyCls: 'p-0', cls: 'h-100' })),
      h('div.col-xl-6', card(t('model.f1Chart'), f1, { cls: 'h-100' }))),
    h('div.row.g-4',
      h('div.col-xl-6', card(t('model.confusion'), confusion, { cls: 'h-100', actions: h('span.small.text-body-secondary', t('model.confusionHint')) })),
      h('div.col-xl-6', card(t('model.importance'), importance, { cls: 'h-100', actions: h('span.small.text-body-secondary', t('model.importanceHint', { n: Math.min(TOP_KPIS, (summary.feature_importance || []).length) })) }))),
    card(t('model.curve'), curve),
    detailsCard(model, summary)));
  confusionChart(confusion, m);
  f1Chart(f1, m);
  importanceChart(importance, summary);
  curveChart(curve, summary);
}
