// views/chart-table.js - a chart with its data as a table: the canvas an
// ECharts chart draws says nothing to a screen reader or a keyboard, so
// every chart of the diagnosis drill-down comes with the same numbers in a
// table behind a native disclosure (<details>: focusable, announced,
// opened with Enter), below the chart where a sighted user can open it too.

import { h } from '../dom.js';
import { t } from '../i18n.js';

/* The chart element (role img, labelled) followed by its table.
 * columns: [{label, num?}], rows: [[cell...]] (text or nodes).
 * Returns {el, chartEl}: draw the chart into chartEl. */
export function chartWithTable({ label, columns, rows, testid, chartCls = 'chart' }) {
  const chartEl = h(`div.${chartCls.split(' ').join('.')}`, { testid, role: 'img', 'aria-label': label });
  const table = h('div.table-responsive.chart-table', { tabindex: '0', role: 'region', 'aria-label': label },
    h('table.table.table-sm.align-middle.mb-0.num-table', { testid: testid && `${testid}-table` },
      h('caption.visually-hidden', label),
      h('thead', h('tr', columns.map((c) => h(`th${c.num ? '.text-end' : ''}`, { scope: 'col' }, c.label)))),
      h('tbody', rows.map((r) => h('tr', r.map((v, i) => (i === 0
        ? h('th.fw-medium.text-break', { scope: 'row' }, v)
        : h(`td${columns[i].num ? '.text-end.text-nowrap' : ''}`, v))))))));
  const details = h('details.chart-data.mt-2', h('summary.small', { testid: testid && `${testid}-toggle` }, t('chartTable.show')), table);
  return { el: h('div', chartEl, details), chartEl };
}
