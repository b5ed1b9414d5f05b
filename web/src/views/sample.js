// views/sample.js - the parts of one explained sample that the sample page
// shows below its verdict: the contribution waterfall (how the model went
// from its expected score to this sample's score, KPI by KPI, toward any
// class the user picks), the class probabilities, and every KPI against
// its normal range. The waterfall is drawn in the model's own score space
// (score_scale: log-odds for boosted trees, probability for forests),
// where contributions add up exactly; the smaller contributions are summed
// into one "other KPIs" step so the chart stays readable.

import { h, clear, esc } from '../dom.js';
import { t } from '../i18n.js';
import { chart, axisStyle } from '../charts.js';
import { fmtPct, fmtNum, fmtSigned, fmtFixed } from '../format.js';
import { select, sortHeader } from '../ui.js';
import { className } from '../classnames.js';
import { classColor } from './results.js';
import { contributionsToward, scaleName, rangeText, distanceText } from './verdict.js';

const WATERFALL_KPIS = 10;

/* The waterfall's steps toward class CLS: [{name, start, end, kind}],
 * kind base | up | down | total. */
export function waterfallSteps(sample, cls) {
  const k = sample.classes[cls];
  const all = contributionsToward(sample, cls);
  const top = all.slice(0, WATERFALL_KPIS);
  const rest = all.slice(WATERFALL_KPIS);
  const steps = [{ name: t('sample.expected'), start: 0, end: k.expected, kind: 'base' }];
  let at = k.expected;
  const step = (name, c, kpi) => { steps.push({ name, kpi, start: at, end: at + c, kind: c >= 0 ? 'up' : 'down' }); at += c; };
  for (const d of top) step(d.kpi, d.contribution, true);
  if (rest.length) step(t('sample.otherKpis', { count: rest.length }), rest.reduce((a, d) => a + d.contribution, 0), false);
  steps.push({ name: t('sample.score'), start: 0, end: k.score, kind: 'total' });
  return steps;
}

function waterfallOption(c, steps, sample, label) {
  const colour = { base: c.muted, total: c.colors[1 % c.colors.length], up: c.colors[3 % c.colors.length], down: c.colors[0] };
  const text = (s) => (s.kind === 'base' || s.kind === 'total' ? fmtFixed(s.end) : fmtSigned(s.end - s.start));
  return {
    tooltip: {
      trigger: 'item',
      formatter: (p) => { const s = steps[p.dataIndex]; return `${esc(s.name)}<br>${text(s)} → ${fmtFixed(s.end)}`; },
    },
    grid: { left: 8, right: 56, top: 30, bottom: 8, containLabel: true },
    xAxis: { type: 'value', scale: false, name: label, nameLocation: 'middle', nameGap: 22, position: 'top', ...axisStyle(c) },
    yAxis: { type: 'category', data: steps.map((s) => s.name), inverse: true, ...axisStyle(c), axisLabel: { color: c.muted, interval: 0, width: 120, overflow: 'truncate' } },
    series: [{
      type: 'custom',
      encode: { x: [1, 2], y: 0 },
      data: steps.map((s, i) => ({ value: [i, s.start, s.end], itemStyle: { color: colour[s.kind] } })),
      renderItem: (params, api) => {
        const i = api.value(0);
        const a = api.coord([api.value(1), i]);
        const b = api.coord([api.value(2), i]);
        const height = api.size([0, 1])[1] * 0.62;
        const left = Math.min(a[0], b[0]);
        const width = Math.max(1, Math.abs(b[0] - a[0]));
        const s = steps[i];
        return {
          type: 'group',
          children: [
            { type: 'rect', shape: { x: left, y: a[1] - height / 2, width, height, r: 2 }, style: api.style() },
            { type: 'text', style: { text: text(s), x: Math.max(a[0], b[0]) + 4, y: a[1], fill: c.muted, verticalAlign: 'middle', fontSize: 11 } },
          ],
        };
      },
    }],
  };
}

/* The waterfall toward one class, with a class picker (the predicted
 * class first chosen) and its table. */
export function waterfallCard(diag, sample, cls0) {
  const host = h('div');
  let handle = null;
  const picker = select(diag.classes.filter((c) => sample.classes?.[c]).map((c) => ({ value: c, label: className(diag, c) })), {
    value: cls0, testid: 'sample-waterfall-class', cls: 'form-select form-select-sm w-auto mw-100', id: 'sample-waterfall-class',
  });
  const draw = () => {
    handle?.dispose();
    const cls = picker.value;
    const steps = waterfallSteps(sample, cls);
    const label = t('sample.waterfallAxis', { name: className(diag, cls), scale: scaleName(sample) });
    const el = h('div.chart.chart-waterfall', { testid: 'sample-waterfall', role: 'img', 'aria-label': t('sample.waterfallLabel', { name: className(diag, cls) }) });
    el.style.height = `${44 + steps.length * 28}px`;
    const table = () => ({
      columns: [t('sample.col.step'), t('verdict.col.contribution'), t('sample.col.running')],
      rows: steps.map((s) => [s.name, s.kind === 'base' || s.kind === 'total' ? '' : fmtSigned(s.end - s.start), fmtFixed(s.end)]),
    });
    clear(host, el); // in the page first: the table's toggle goes after the chart
    handle = chart(el, (c) => waterfallOption(c, steps, sample, label), { table });
  };
  picker.addEventListener('change', draw);
  draw();
  return {
    picker: h('div.d-flex.align-items-center.gap-2',
      h('label.small.text-body-secondary.text-nowrap', { for: 'sample-waterfall-class' }, t('sample.toward')), picker),
    body: [h('p.small.text-body-secondary.mb-2', t('sample.waterfallHelp', { scale: scaleName(sample) })), host],
  };
}

/* Every class's probability, likeliest first, the verdict's class marked. */
export function probabilitiesTable(diag, item) {
  const rows = Object.entries(item.probabilities || {}).sort((a, b) => b[1] - a[1]);
  return h('div.table-responsive', { tabindex: '0', role: 'region', 'aria-label': t('sample.probabilities') },
    h('table.table.table-sm.align-middle.mb-0', { testid: 'sample-probabilities' },
      h('caption.visually-hidden', t('sample.probabilities')),
      h('thead', h('tr', h('th', { scope: 'col' }, t('sample.col.class')), h('th.text-end', { scope: 'col' }, t('sample.col.probability')))),
      h('tbody', rows.map(([c, p]) => h(`tr${c === item.predicted ? '.fw-semibold' : ''}`, { testid: 'sample-prob-row', dataset: { class: c } },
        h('th.fw-normal', { scope: 'row' }, h('span.class-pill', { style: { '--pill': classColor(diag.classes, c) } }, className(diag, c)),
          c === item.predicted && h('span.small.text-body-secondary.ms-2', t('sample.verdict'))),
        h('td.text-end', h('div.conf-cell', h('span.conf-bar', { 'aria-hidden': 'true' }, h('span', { style: { width: `${Math.round(p * 100)}%` } })), h('span', fmtPct(p)))))))));
}

const KPI_COLUMNS = [
  { key: 'kpi', get: (k) => k.kpi },
  { key: 'value', num: true, get: (k) => k.value },
  { key: 'range', sortable: false },
  { key: 'median', num: true, get: (k) => k.normal?.median },
  { key: 'z', num: true, get: (k) => Math.abs(k.z) },
  { key: 'contribution', num: true, get: (k) => Math.abs(k.contribution) },
];

function kpiRow(k) {
  const num = (text) => h('td.text-end.text-nowrap', text);
  const z = Number.isFinite(k.z) ? h(`td.text-end.text-nowrap${k.abnormal ? (k.z >= 0 ? '.text-danger-emphasis.fw-semibold' : '.text-primary-emphasis.fw-semibold') : ''}`, distanceText(k.z)) : num('—');
  return h(`tr${k.abnormal ? '.kpi-abnormal' : ''}`, { testid: 'sample-kpi-row', dataset: { kpi: k.kpi, abnormal: String(!!k.abnormal) } },
    h('th.fw-medium.text-break', { scope: 'row' }, k.kpi, k.read === false && h('span.badge.badge-soft-secondary.ms-2', t('sample.notRead'))),
    num(fmtNum(k.value)), h('td.text-end.text-nowrap.text-body-secondary', rangeText(k.normal)), num(fmtNum(k.normal?.median)),
    z, num(fmtSigned(k.contribution)));
}

/* Where the normal ranges come from. */
function rangesNote(sample) {
  if (!(sample.kpis || []).some((k) => k.normal)) return t('verdict.noRanges');
  return sample.normal_class ? t('sample.rangesFrom', { name: sample.normal_class }) : t('sample.rangesAll');
}

/* Every KPI of the sample against its normal range, sortable, with
 * "abnormal only"; the API's order (largest contribution first) to start. */
export function kpiTable(sample) {
  let sort = null;
  let dir = 1;
  let onlyAbnormal = false;
  const cols = KPI_COLUMNS.map((c) => ({ ...c, label: t(`sample.kpiCol.${c.key}`) }));
  const headRow = h('tr');
  const tbody = h('tbody');
  const count = h('span.small.text-body-secondary', { 'aria-live': 'polite', testid: 'sample-kpi-count' });
  const draw = () => {
    clear(headRow, cols.map((c) => sortHeader(c, sort, dir, (key) => { dir = sort === key ? -dir : (cols.find((x) => x.key === key).num ? -1 : 1); sort = key; draw(); })));
    let rows = (sample.kpis || []).filter((k) => !onlyAbnormal || k.abnormal);
    const col = cols.find((c) => c.key === sort);
    if (col) {
      rows = [...rows].sort((a, b) => {
        const x = col.get(a);
        const y = col.get(b);
        const r = col.num ? (x ?? -Infinity) - (y ?? -Infinity) : String(x).localeCompare(String(y), undefined, { numeric: true });
        return r * dir;
      });
    }
    clear(tbody, rows.map(kpiRow));
    count.textContent = t('sample.kpiCount', { shown: rows.length, total: (sample.kpis || []).length });
  };
  const box = h('input.form-check-input', { type: 'checkbox', id: 'sample-only-abnormal', testid: 'sample-only-abnormal', on: { change: (e) => { onlyAbnormal = e.target.checked; draw(); } } });
  draw();
  return [
    h('div.d-flex.flex-wrap.align-items-center.gap-3.mb-2',
      h('div.form-check.mb-0', box, h('label.form-check-label', { for: 'sample-only-abnormal' }, t('sample.onlyAbnormal'))),
      count),
    h('div.table-responsive.results-scroll', { tabindex: '0', role: 'region', 'aria-label': t('sample.kpis') },
      h('table.table.table-sm.align-middle.mb-0.num-table', { testid: 'sample-kpis' },
        h('caption.visually-hidden', t('sample.kpis')), h('thead', headRow), tbody)),
    h('p.small.text-body-secondary.mt-2.mb-0', rangesNote(sample)),
  ];
}
