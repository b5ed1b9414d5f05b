// pages/model.js - #/models/ID: what a model is worth before anyone downloads
// it. Scores come from summary.cv.metrics when cross-validation ran, else
// from the hold-out (summary.validation); then the per-class table, the
// confusion matrix as a heat map, per-class F1 bars, the top KPIs by
// importance and the training curve, plus the parameters it was trained with.
// A model that took its training more than one attempt says so first
// (views/attempts.js): which learner made it, and why the others did not.

import { h, esc } from '../dom.js';
import { t } from '../i18n.js';
import { chart, toolbox, axisStyle, emptyOption } from '../charts.js';
import { fmtPct, fmtFixed, fmtInt, fmtBytes, fmtDate, fmtDuration, fmtNum } from '../format.js';
import { lossSeries, lossOption } from '../views/loss.js';
import { modelMetrics, perClassTable, confusionChart, f1Chart } from '../views/metrics.js';
import { attemptsCard, worthShowing } from '../views/attempts.js';
import { pageHeader, card, statTile, statGrid, linkButton, button, confirmDialog, toast, showError } from '../ui.js';

const TOP_KPIS = 20;

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
      summary.oob && [t('model.oobF1'), fmtNum(summary.oob.macro_f1, 4)],
      summary.oob && [t('model.oobAccuracy'), fmtNum(summary.oob.accuracy, 4)],
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
  const model = await ctx.api.models.get(ctx.params.id, { signal: ctx.signal });
  ctx.prefs.set({ last_model_id: model.id });
  const summary = model.summary || {};
  const { m, source } = modelMetrics(summary);

  const del = button(t('common.delete'), {
    iconName: 'trash', variant: 'outline-danger',
    onClick: async () => {
      const ok = await confirmDialog({ title: t('model.deleteTitle'), message: t('model.deleteText', { name: model.name }), okLabel: t('common.delete') });
      if (!ok) return;
      try {
        await ctx.api.models.remove(model.id);
        if (ctx.prefs.get('last_model_id') === model.id) ctx.prefs.set({ last_model_id: null });
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
      linkButton(t('model.downloadModel'), ctx.api.models.downloadUrl(model.id), { iconName: 'download', testid: 'download-model', download: `model-${model.id}.model` }),
      linkButton(t('model.downloadReport'), ctx.api.models.reportUrl(model.id), { iconName: 'file', testid: 'download-report', download: `model-${model.id}-report.json` }),
      del,
    ],
  }));

  const el = (testid, label, cls = 'chart') => h(`div.${cls}`, { testid, role: 'img', 'aria-label': label });
  const confusion = el('chart-confusion', t('model.confusion'), 'chart.chart-square');
  const f1 = el('chart-f1', t('model.f1Chart'));
  const importance = el('chart-importance', t('model.importance'), 'chart.chart-tall');
  const curve = el('chart-curve', t('model.curve'), 'chart.chart-tall');

  view.append(h('div.d-flex.flex-column.gap-4',
    worthShowing(model.attempts) && attemptsCard(model.attempts),
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
