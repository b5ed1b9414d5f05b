// views/verdict.js - the verdict on one sample, as an on-call engineer reads
// it: the class the diagnosis gave (its name, what it means, the first
// thing to do about it), how sure it is, the KPIs that drove the call (a
// contribution chart, with its table) and the KPIs outside their normal
// range, value against range. It is built from the sample explained by the
// server (the diagnoses client's sample(): GET .../rows/{row}); when the
// sample cannot be explained (a model that cannot, a deleted model, a
// diagnosis stored without its input) the card still gives the class and
// the confidence from the stored row and says why the rest is missing.
//
// A diagnosis of a few samples (FEW_SAMPLES or fewer) shows one card per
// sample instead of the bulk dashboard (verdictCards); the sample page
// (pages/sample.js) opens with the same card.

import { h, clear, esc } from '../dom.js';
import { t } from '../i18n.js';
import { chart, axisStyle } from '../charts.js';
import { fmtPct, fmtNum, fmtSigned } from '../format.js';
import { card, spinner, errorText, linkButton } from '../ui.js';
import { classInfo, className } from '../classnames.js';
import { classColor } from './results.js';

/* Up to this many samples, a diagnosis shows a verdict card per sample. */
export const FEW_SAMPLES = 5;
const TOP_KPIS = 8;
const ABNORMAL_SHOWN = 10;

/* How a sample is called: its sample id, else its row. */
export const sampleName = (item) => (item.sample_id != null && item.sample_id !== '' ? String(item.sample_id) : t('verdict.row', { row: item.row }));

/* The link that opens a sample of a diagnosis (the sample page's route). */
export const sampleHref = (diagId, row) => `#/diagnoses/${diagId}/rows/${row}`;

/* The sample's KPI entries by name. */
export function kpisByName(sample) {
  return new Map((sample?.kpis || []).map((k) => [k.kpi, k]));
}

/* [{kpi, contribution, value}] toward class CLS, largest |contribution| first. */
export function contributionsToward(sample, cls) {
  const byName = kpisByName(sample);
  const contrib = sample?.classes?.[cls]?.contributions || {};
  return Object.entries(contrib)
    .map(([kpi, c]) => ({ kpi, contribution: c, value: byName.get(kpi)?.value }))
    .sort((a, b) => Math.abs(b.contribution) - Math.abs(a.contribution) || a.kpi.localeCompare(b.kpi));
}

/* "log-odds" or "probability": the unit of the model's scores. */
export const scaleName = (sample) => t(`verdict.scale.${sample?.score_scale === 'probability' ? 'probability' : 'logit'}`);

/* A KPI's normal range as text, or a dash when the model has none. */
export const rangeText = (normal) => (normal ? `${fmtNum(normal.low)} – ${fmtNum(normal.high)}` : '—');

/* How far a KPI is from normal, direction in words (not only a sign). */
export const distanceText = (z) => t(z >= 0 ? 'verdict.above' : 'verdict.below', { z: fmtNum(Math.abs(z), 3) });

/* Colours of contributions: toward the class, against it. */
const towardColor = (c) => c.colors[3 % c.colors.length];
const againstColor = (c) => c.colors[0];

function contributionOption(c, top, cls, diag, sample) {
  return {
    tooltip: {
      trigger: 'axis', axisPointer: { type: 'shadow' },
      formatter: (ps) => {
        const d = top[ps[0].dataIndex];
        return `${esc(d.kpi)}<br>${esc(t('verdict.col.contribution'))}: ${fmtSigned(d.contribution)}<br>${esc(t('verdict.col.value'))}: ${fmtNum(d.value)}`;
      },
    },
    grid: { left: 8, right: 48, top: 28, bottom: 8, containLabel: true },
    xAxis: { type: 'value', name: t('verdict.towards', { name: className(diag, cls), scale: scaleName(sample) }), nameLocation: 'middle', nameGap: 24, position: 'top', ...axisStyle(c) },
    yAxis: { type: 'category', data: top.map((d) => d.kpi), inverse: true, ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, width: 110, overflow: 'truncate' } },
    series: [{
      type: 'bar', barMaxWidth: 22,
      data: top.map((d) => ({ value: d.contribution, itemStyle: { color: d.contribution >= 0 ? towardColor(c) : againstColor(c), borderRadius: 3 } })),
      label: { show: true, position: 'right', color: c.muted, formatter: ({ value }) => fmtSigned(value, 2) },
    }],
  };
}

/* The KPIs that drove the verdict toward class CLS: a bar chart of the
 * largest contributions (positive: toward the class) and its table. */
export function contributionChart(diag, sample, cls) {
  const top = contributionsToward(sample, cls).slice(0, TOP_KPIS);
  const label = t('verdict.drivers', { name: className(diag, cls) });
  // the chart's data table (charts.js) lists KPI, value and contribution
  const el = h('div.chart.chart-contrib', { testid: 'verdict-contrib-chart', role: 'img', 'aria-label': label });
  el.style.height = `${Math.max(160, 44 + top.length * 30)}px`;
  const table = () => ({
    columns: [t('verdict.col.kpi'), t('verdict.col.value'), t('verdict.col.contribution')],
    rows: top.map((d) => [d.kpi, fmtNum(d.value), fmtSigned(d.contribution)]),
  });
  chart(el, (c) => contributionOption(c, top, cls, diag, sample), { table });
  return h('div', h('p.small.text-body-secondary.mb-1', t('verdict.driversHelp', { scale: scaleName(sample) })), el);
}

/* The abnormal KPIs, farthest first: value, normal range, distance. */
export function abnormalTable(sample, { limit = ABNORMAL_SHOWN } = {}) {
  const byName = kpisByName(sample);
  const list = sample.abnormal || [];
  if (!list.length) {
    const ranges = (sample.kpis || []).some((k) => k.normal);
    return h('p.small.text-body-secondary.mb-0', { testid: 'verdict-no-abnormal' }, t(ranges ? 'verdict.noAbnormal' : 'verdict.noRanges'));
  }
  const shown = list.slice(0, limit);
  const th = (key, num) => h(`th${num ? '.text-end' : ''}`, { scope: 'col' }, t(`verdict.col.${key}`));
  return h('div',
    h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('verdict.abnormal') },
      h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'verdict-abnormal' },
        h('caption.visually-hidden', t('verdict.abnormal')),
        h('thead', h('tr', th('kpi'), th('value', true), th('range', true), th('distance', true))),
        h('tbody', shown.map((a) => {
          const k = byName.get(a.kpi) || {};
          return h('tr', { testid: 'verdict-abnormal-row', dataset: { kpi: a.kpi } },
            h('th.fw-medium.text-break', { scope: 'row' }, a.kpi),
            h('td.text-end.text-nowrap.fw-semibold', fmtNum(k.value)),
            h('td.text-end.text-nowrap.text-body-secondary', rangeText(k.normal)),
            h(`td.text-end.text-nowrap.${a.z >= 0 ? 'text-danger-emphasis' : 'text-primary-emphasis'}`, distanceText(a.z)));
        })))),
    list.length > shown.length && h('div.small.text-body-secondary.mt-1', t('verdict.moreAbnormal', { count: list.length - shown.length })));
}

/* A runbook line that is a link opens as one. */
function actionText(action) {
  return /^https?:\/\/\S+$/.test(action) ? h('a', { href: action, target: '_blank', rel: 'noopener' }, action) : action;
}

function headline(diag, item) {
  const info = classInfo(diag, item.predicted);
  const next = Object.entries(item.probabilities || {}).filter(([c]) => c !== item.predicted).sort((a, b) => b[1] - a[1])[0];
  const hasLabel = item.label !== null && item.label !== undefined;
  return [
    h('div.d-flex.flex-wrap.align-items-center.gap-2.mb-1',
      h('span.class-pill.verdict-class', { testid: 'verdict-class', dataset: { class: item.predicted }, style: { '--pill': classColor(diag.classes, item.predicted) } }, className(diag, item.predicted)),
      h('span.fw-semibold', { testid: 'verdict-confidence', dataset: { confidence: String(item.confidence) } }, t('verdict.confidence', { pct: fmtPct(item.confidence) })),
      next && h('span.small.text-body-secondary', t('verdict.runnerUp', { name: className(diag, next[0]), pct: fmtPct(next[1]) }))),
    hasLabel && h(`div.small${item.label === item.predicted ? '.text-success-emphasis' : '.text-danger-emphasis'}`, { testid: 'verdict-label' },
      t(item.label === item.predicted ? 'verdict.labelAgrees' : 'verdict.labelDiffers', { name: className(diag, item.label) })),
    info.description && h('p.mb-2', { testid: 'verdict-description' }, info.description),
    info.action && h('div.verdict-action.small', { testid: 'verdict-action' }, h('span.fw-semibold', t('verdict.action')), ' ', actionText(info.action)),
  ];
}

/* The body of a verdict: ITEM is the stored results row; SAMPLE the
 * explained sample or null (ERROR then says why). */
export function verdictBody(diag, item, sample, error) {
  const cls = item.predicted;
  const own = sample && sample.predicted !== cls
    ? h('div.alert.alert-info.small.py-2.px-3.mt-2.mb-0', { testid: 'verdict-adapted' }, t('verdict.adapted', { name: className(diag, sample.predicted), pct: fmtPct(sample.confidence) }))
    : null;
  const explained = sample && sample.classes?.[cls]
    ? h('div.row.g-4.mt-0',
      h('div.col-lg-7', h('h3.h6.verdict-sub', t('verdict.drivers', { name: className(diag, cls) })), contributionChart(diag, sample, cls)),
      h('div.col-lg-5', h('h3.h6.verdict-sub', t('verdict.abnormal')), abnormalTable(sample)))
    : null;
  const missing = !sample && error
    ? h('div.alert.alert-secondary.small.py-2.px-3.mt-3.mb-0', { testid: 'verdict-unexplained' }, t('verdict.unexplained'), ' ', errorText(error))
    : null;
  return [headline(diag, item), own, explained, missing];
}

/* A card with the verdict on one sample; HREF (optional) opens the sample. */
export function verdictCard(diag, item, sample, { error, href } = {}) {
  return card(t('verdict.title', { name: sampleName(item) }), verdictBody(diag, item, sample, error), {
    testid: 'verdict-card',
    actions: href && linkButton(t('verdict.open'), href, { size: 'sm', iconName: 'right', testid: 'verdict-open', attrs: { 'aria-label': t('verdict.openNamed', { name: sampleName(item) }) } }),
  });
}

/* The verdicts of a diagnosis of a few samples (its first page of results
 * holds them all), each explained as it arrives. */
export function verdictCards(diag, { sample, signal }) {
  const items = diag.results.items;
  return h('div.d-flex.flex-column.gap-4', { testid: 'verdict-cards' }, items.map((item) => {
    const host = h('div', card(t('verdict.title', { name: sampleName(item) }), spinner(t('verdict.loading'))));
    sample(diag.id, item.row, { signal })
      .then((s) => clear(host, verdictCard(diag, s.result || item, s, { href: sampleHref(diag.id, item.row) })))
      .catch((e) => { if (!signal?.aborted) clear(host, verdictCard(diag, item, null, { error: e, href: sampleHref(diag.id, item.row) })); });
    return host;
  }));
}
