// pages/report.js - #/models/ID/report: a model's training report as a
// document a person reads, files or prints to PDF, next to the raw JSON
// (which stays a download): the data it learnt from, the parameters and the
// training, the scores, the confusion matrix, the top KPIs and the KPIs'
// normal ranges. Everything comes from GET /api/v1/models/{id} (its
// summary); nothing is recomputed but shares and totals.
//
// Why tables and no charts: a table prints sharp on any page size, is cut
// between rows rather than through a canvas, and is read by screen readers
// as it is; the model page keeps the interactive charts. The print look
// (no navigation, no buttons, A4, a page per section, repeated table
// headers) is in styles.css under @media print.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { fmtPct, fmtFixed, fmtInt, fmtNum, fmtDate, fmtDuration } from '../format.js';
import { className } from '../classnames.js';
import { modelMetrics, confusionTable, algoLabel, trainingFacts } from '../views/metrics.js';
import { pageHeader, button, linkButton, scrollRegion } from '../ui.js';

// The KPIs by importance the report lists (the model page shows as many).
const TOP_KPIS = 20;

/* One section of the document: a heading, then its content. */
function section(testid, title, ...content) {
  return h('section.report-section', { testid, 'aria-labelledby': `${testid}-title` },
    h('h2.report-heading.h5', { id: `${testid}-title` }, title), ...content);
}

function kv(rows) {
  return h('dl.kv-list.report-kv', rows.filter(Boolean).map(([k, v]) => [h('dt', k), h('dd', v)]));
}

/* A table: columns [{label, num}], rows of cells (the first a row header). */
function table(caption, columns, rows, testid) {
  return scrollRegion(caption, h('table.table.table-sm.align-middle.num-table.report-table', { testid },
    h('caption', caption),
    h('thead', h('tr', columns.map((c) => h(c.num ? 'th.text-end' : 'th', { scope: 'col' }, c.label)))),
    h('tbody', rows.map((r) => h('tr', r.map((v, i) => (i ? h(columns[i].num ? 'td.text-end' : 'td', v) : h('th.fw-medium', { scope: 'row' }, v))))))),
  { cls: 'table-responsive.report-scroll' });
}

function dataSection(model, s) {
  const d = s.data || {};
  const counts = Object.entries(d.class_counts || {});
  const total = counts.reduce((a, [, n]) => a + n, 0) || 1;
  return section('report-data', t('report.data'),
    kv([
      [t('report.dataset'), model.dataset_id ? h('a', { href: `#/datasets/${model.dataset_id}` }, t('model.fromDataset', { id: model.dataset_id })) : t('model.datasetGone')],
      [t('report.rowsRead'), fmtInt(d.rows_read)],
      [t('report.rowsNoLabel'), fmtInt(d.rows_skipped_no_label)],
      [t('model.duplicates'), fmtInt(d.duplicate_rows)],
      [t('report.conflicting'), fmtInt(d.conflicting_duplicates)],
      [t('model.rowsTrain'), fmtInt(d.rows_train)],
      [t('model.rowsValidation'), fmtInt(d.rows_validation)],
      [t('report.kpis'), fmtInt(d.features ?? model.features)],
      [t('report.classes'), fmtInt(d.classes ?? model.classes)],
    ]),
    counts.length ? table(t('report.classCounts'), [{ label: t('model.col.class') }, { label: t('report.rows'), num: true }, { label: t('chart.table.share'), num: true }],
      counts.map(([label, n]) => [className(model, label), fmtInt(n), fmtPct(n / total)]), 'report-class-counts') : null);
}

function paramsSection(model, s) {
  const tr = s.training || {};
  const params = Object.entries(s.params || {}).filter(([k]) => k !== 'algo');
  return section('report-params', t('report.params'),
    kv([
      ...trainingFacts(model, s),
      [t('model.trainTime'), fmtDuration(tr.train_seconds)],
      [t('model.version'), s.healer_version || '—'],
    ]),
    params.length ? table(t('model.params'), [{ label: t('report.parameter') }, { label: t('chart.table.value') }],
      params.map(([k, v]) => [k, typeof v === 'number' ? fmtNum(v, 6) : String(v)]), 'report-params-table') : null);
}

function metricsSection(model, m, source) {
  const rows = [
    ['accuracy', 'model.accuracy'], ['macro_f1', 'model.macroF1'], ['weighted_f1', 'model.weightedF1'],
    ['macro_precision', 'model.macroPrecision'], ['macro_recall', 'model.macroRecall'],
  ].filter(([k]) => typeof m?.[k] === 'number').map(([k, key]) => [t(key), fmtPct(m[k], 2), fmtFixed(m[k], 4)]);
  if (typeof m?.log_loss === 'number') rows.push([t('model.logLoss'), '—', fmtFixed(m.log_loss, 4)]);
  const perClass = m?.per_class || [];
  return section('report-metrics', t('report.metrics'),
    h('p', { testid: 'report-metric-source' }, source),
    rows.length ? table(t('report.metricsTable'), [{ label: t('report.metric') }, { label: t('report.percent'), num: true }, { label: t('chart.table.value'), num: true }], rows, 'report-metrics-table')
      : h('p', t('model.noMetrics')),
    perClass.length ? table(t('model.perClass'), ['class', 'precision', 'recall', 'f1', 'support', 'predicted'].map((c, i) => ({ label: t(`model.col.${c}`), num: i > 0 })),
      perClass.map((r) => [className(model, r.class), fmtFixed(r.precision), fmtFixed(r.recall), fmtFixed(r.f1), fmtInt(r.support), fmtInt(r.predicted)]), 'report-per-class') : null);
}

function confusionSection(model, m) {
  const data = confusionTable(m);
  return section('report-confusion', t('model.confusion'),
    data ? [h('p', t('report.confusionText')),
      table(t('model.confusion'), data.columns.map((c, i) => ({ label: i ? className(model, c) : c, num: i > 0 })),
        data.rows.map(([label, ...counts]) => [className(model, label), ...counts.map(fmtInt)]), 'report-confusion-table')]
      : h('p', t('model.noMetrics')));
}

function kpiSection(s) {
  const top = (s.feature_importance || []).slice(0, TOP_KPIS);
  return section('report-kpis', t('report.topKpis', { n: fmtInt(top.length) }),
    top.length ? table(t('model.importance'), [{ label: '#' }, { label: t('report.kpi') }, { label: t('model.share'), num: true }, { label: t('model.gain'), num: true }, { label: t('model.splits'), num: true }],
      top.map((f, i) => [fmtInt(i + 1), f.feature, fmtPct(f.share), fmtNum(f.gain), fmtInt(f.splits)]), 'report-kpis-table')
      : h('p', t('common.noData')));
}

function normalSection(model, s) {
  const n = s.normal;
  if (!n || !Array.isArray(n.kpis)) return section('report-normal', t('report.normal'), h('p', { testid: 'report-normal-none' }, t('report.normalNone')));
  const from = n.class === null || n.class === undefined
    ? t('report.normalAll', { rows: fmtInt(n.rows) })
    : t('report.normalFrom', { rows: fmtInt(n.rows), name: className(model, n.class) });
  return section('report-normal', t('report.normal'),
    h('p', { testid: 'report-normal-from' }, from, ' ', t('report.normalZ', { z: fmtNum(n.z) })),
    table(t('report.normal'), [{ label: t('report.kpi') }, { label: t('report.low'), num: true }, { label: t('report.median'), num: true }, { label: t('report.high'), num: true }],
      n.kpis.map((k) => [k.kpi, fmtNum(k.low, 6), fmtNum(k.median, 6), fmtNum(k.high, 6)]), 'report-normal-table'));
}

export async function render(view, ctx) {
  const model = await ctx.api.models.get(ctx.params.id, { signal: ctx.signal });
  const s = model.summary || {};
  const { m, source } = modelMetrics(s);
  view.classList.add('report');
  view.append(pageHeader(t('report.title', { name: model.name }), {
    eyebrow: t('model.eyebrow', { id: model.id }),
    subtitle: t('report.subtitle', { algo: algoLabel(model.algo), classes: model.classes, features: model.features, date: fmtDate(model.created_at) }),
    actions: [
      button(t('report.print'), { iconName: 'file', testid: 'report-print', onClick: () => window.print() }),
      linkButton(t('model.downloadReport'), ctx.api.models.reportUrl(model.id), { iconName: 'download', testid: 'report-json', download: `model-${model.id}-report.json` }),
      linkButton(t('report.backToModel'), `#/models/${model.id}`, { iconName: 'left', testid: 'report-model-link' }),
    ],
  }));
  view.append(h('article.report-body', { testid: 'report-body' },
    dataSection(model, s),
    paramsSection(model, s),
    metricsSection(model, m, source),
    confusionSection(model, m),
    kpiSection(s),
    normalSection(model, s)));
}
