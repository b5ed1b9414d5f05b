// views/rca-timeline.js - when each node of an incident turned abnormal: a
// mark per abnormal node on a time axis (seconds after the first onset),
// the nodes down the side in onset order, coloured by their fault class as
// on the graph; the ranked root candidates are diamonds, bigger, and carry
// their rank. Onsets are uncertain (skewed clocks, sparse samples: the
// analysis allows for it), so the chart shows the order the analysis saw,
// not a measured propagation delay. Its data table lists the same marks.

import { esc } from '../dom.js';
import { t } from '../i18n.js';
import { fmtNum, fmtInt } from '../format.js';
import { toolbox, axisStyle, emptyOption, categoryZoom } from '../charts.js';
import { className } from '../classnames.js';
import { faultColor } from './rca-graph.js';
import { incidentIndex } from './rca-layout.js';

// Nodes listed without scrolling; more scroll (the slider on the side).
const VISIBLE_NODES = 24;

/* The abnormal nodes with an onset, earliest first: [{node, onset,
 * seconds (after the first), fault, rank}]. */
export function onsetMarks(incident) {
  const { rankOf } = incidentIndex(incident);
  const marks = (incident?.nodes || []).filter((n) => n.abnormal && n.onset_seconds != null)
    .map((n) => ({ node: n.node, onset: n.onset, at: n.onset_seconds, fault: n.fault, rank: rankOf.get(n.node) || 0 }));
  marks.sort((a, b) => a.at - b.at || (a.node < b.node ? -1 : 1));
  const first = marks.length ? marks[0].at : 0;
  return marks.map((m) => ({ ...m, seconds: m.at - first }));
}

/* The timeline's height for n marks (px). */
export const timelineHeight = (n) => Math.max(200, Math.min(n, VISIBLE_NODES) * 24 + 90);

/* The ECharts option: labels is faultLabels' order, owner the model. */
export function timelineOption(c, marks, labels, owner) {
  if (!marks.length) return emptyOption(c, t('rca.timeline.none'));
  const nodes = marks.map((m) => m.node);
  const point = (m) => ({
    value: [m.seconds, m.node],
    mark: m,
    symbol: m.rank ? 'diamond' : 'circle',
    symbolSize: m.rank === 1 ? 22 : m.rank ? 16 : 11,
    itemStyle: {
      color: m.fault != null ? faultColor(c.colors, labels, m.fault) : c.muted,
      borderColor: m.rank ? c.text : 'transparent',
      borderWidth: m.rank === 1 ? 3 : m.rank ? 2 : 0,
    },
    label: { show: !!m.rank, position: 'right', formatter: `#${m.rank}`, color: c.text, fontWeight: m.rank === 1 ? 'bold' : 'normal' },
  });
  return {
    toolbox: toolbox('onset-timeline'),
    tooltip: {
      trigger: 'item',
      formatter: (p) => {
        const m = p.data.mark;
        return [`<b>${esc(m.node)}</b>${m.rank ? ` · ${esc(t('rca.graph.rankN', { rank: m.rank }))}` : ''}`,
          esc(t('rca.timeline.after', { s: fmtNum(m.seconds, 6), onset: m.onset })),
          m.fault != null ? esc(className(owner, m.fault)) : ''].filter(Boolean).join('<br>');
      },
    },
    grid: { left: 8, right: marks.length > VISIBLE_NODES ? 40 : 24, top: 36, bottom: 44, containLabel: true },
    xAxis: { type: 'value', name: t('rca.timeline.seconds'), nameLocation: 'middle', nameGap: 28, min: 0, ...axisStyle(c) },
    yAxis: { type: 'category', data: nodes, inverse: true, ...axisStyle(c), axisLabel: { color: c.muted, width: 140, overflow: 'truncate' } },
    dataZoom: categoryZoom(nodes.length, VISIBLE_NODES, 'y'),
    series: [
      { type: 'scatter', name: t('rca.timeline.roots'), data: marks.filter((m) => m.rank).map(point), z: 3 },
      { type: 'scatter', name: t('rca.timeline.others'), data: marks.filter((m) => !m.rank).map(point) },
    ],
  };
}

/* The timeline's data table: a row per mark, earliest first. */
export function timelineTable(marks, owner) {
  return {
    columns: [t('rca.col.node'), t('rca.col.onset'), t('rca.timeline.secondsShort'), t('rca.col.fault'), t('rca.col.rank')],
    rows: marks.map((m) => [m.node, m.onset, m.seconds, m.fault != null ? className(owner, m.fault) : '—', m.rank ? fmtInt(m.rank) : '—']),
  };
}
