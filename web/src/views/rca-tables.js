// views/rca-tables.js - the words beside the graph of an incident: the
// ranks table (rank, node, fault, score, onset, path; choosing a row makes
// that rank the one whose tree the graph draws, and opens its node) and the
// node panel (a node's state, its fault class by name with description and
// first action from the model's class names, confidence, anomaly, onset and
// its abnormal KPIs with their robust z). Only an abnormal node has a fault:
// a healthy one reads "none", an abnormal one without a class "unknown fault
// (its KPIs only)". Class names go through
// classnames.js, so a named class reads the same as everywhere else.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { fmtFixed, fmtPct, fmtNum, fmtInt } from '../format.js';
import { scrollRegion, badge, emptyState } from '../ui.js';
import { className, classInfo } from '../classnames.js';
import { incidentIndex, nodeState } from './rca-layout.js';

const STATE_TONE = { abnormal: 'danger', normal: 'success', unobserved: 'secondary' };

/* What a rank says of its cause's fault: {kind, text, label}. kind
 * 'unobserved' (a cause without rows), 'healthy' (no node of the incident
 * is abnormal: the rank is the least healthy node, and has no fault),
 * 'unknown' (abnormal by its KPIs alone: no fault class) or 'fault' (text
 * the class by name, label the model's label). anyAbnormal: whether the
 * incident has an abnormal node (a rank of such an incident that is
 * observed is abnormal: only abnormal nodes are candidates then). A rank
 * stored without `observed` (before it was kept) is unobserved when it has
 * no fault. */
export function rankFault(owner, r, anyAbnormal) {
  const observed = r.observed ?? r.fault != null;
  if (!observed) return { kind: 'unobserved', text: t('rca.unobservedCause'), label: '' };
  if (!anyAbnormal) return { kind: 'healthy', text: t('rca.node.noFault'), label: '' };
  if (r.fault == null) return { kind: 'unknown', text: t('rca.fault.unknown'), label: '' };
  return { kind: 'fault', text: className(owner, r.fault), label: r.fault };
}

/* A fault cell: the class by name, its label kept in data-label; an
 * unobserved, healthy or unknown one muted. */
function faultCell(owner, r, anyAbnormal) {
  const f = rankFault(owner, r, anyAbnormal);
  if (f.kind !== 'fault') return h('span.text-body-secondary', { dataset: { label: '' } }, f.text);
  return h('span', { dataset: { label: f.label } }, f.text);
}

/* The ranks of an incident; onChoose(rank) when a row is chosen (a click
 * anywhere on it, or its button by keyboard). */
export function ranksTable(incident, owner, { chosenRank, onChoose }) {
  const ranks = incident.ranks || [];
  const anyAbnormal = (incident.nodes || []).some((n) => n.abnormal);
  if (!ranks.length) return emptyState('check', t('rca.noRanks'), t('rca.noRanksText'));
  const rows = ranks.map((r) => {
    const chosen = r.rank === chosenRank;
    const pick = h('button.btn.btn-sm.rank-pick', {
      type: 'button', testid: 'rca-rank-choose', 'aria-pressed': String(chosen),
      class: chosen ? 'btn-primary' : 'btn-outline-secondary',
      'aria-label': t('rca.chooseRank', { rank: r.rank, node: r.node }),
    }, `#${r.rank}`);
    return h(`tr.rank-row${chosen ? '.table-active' : ''}`, {
      testid: 'rca-rank-row', dataset: { rank: String(r.rank), node: r.node },
      on: { click: () => onChoose(r) },
    },
    h('td', pick),
    h('th.fw-semibold.rank-node', { scope: 'row', testid: 'rca-rank-node' }, r.node),
    h('td', faultCell(owner, r, anyAbnormal)),
    h('td.text-end.font-monospace', fmtFixed(r.score, 3)),
    h('td.text-nowrap', r.onset ?? '—'),
    h('td.small.text-break.rank-path', (r.path || []).join(' › ')));
  });
  return scrollRegion(t('rca.ranks'), h('table.table.table-sm.table-hover.align-middle.mb-0.ranks-table',
    h('caption.visually-hidden', t('rca.ranks')),
    h('thead', h('tr',
      h('th', { scope: 'col' }, t('rca.col.rank')), h('th', { scope: 'col' }, t('rca.col.node')), h('th', { scope: 'col' }, t('rca.col.fault')),
      h('th.text-end', { scope: 'col' }, t('rca.col.score')), h('th', { scope: 'col' }, t('rca.col.onset')), h('th', { scope: 'col' }, t('rca.col.path')))),
    h('tbody', rows)), { testid: 'rca-ranks' });
}

function fact(label, value, testid, attrs = {}) {
  return [h('dt.col-5.text-body-secondary.fw-normal', label), h('dd.col-7.mb-1.text-break', { testid, ...attrs }, value)];
}

function kpiTable(kpis) {
  if (!kpis?.length) return h('p.small.text-body-secondary.mb-0', { testid: 'rca-node-no-kpis' }, t('rca.node.noKpis'));
  return scrollRegion(t('rca.node.kpis'), h('table.table.table-sm.mb-0.num-table',
    h('caption.visually-hidden', t('rca.node.kpis')),
    h('thead', h('tr', h('th', { scope: 'col' }, t('rca.col.kpi')), h('th.text-end', { scope: 'col' }, t('rca.col.z')))),
    h('tbody', kpis.map((k) => h('tr', { testid: 'rca-node-kpi', dataset: { kpi: k.kpi } },
      h('th.fw-medium', { scope: 'row' }, k.kpi), h('td.text-end', fmtNum(k.z, 3)))))), { testid: 'rca-node-kpis', cls: 'table-responsive.table-scroll.kpi-scroll' });
}

/* The panel of node `id` in the incident (kind from the topology). */
export function nodePanel(incident, id, kind, owner) {
  const { byNode, rankOf } = incidentIndex(incident);
  const n = byNode.get(id);
  const state = nodeState(byNode, id);
  const rank = rankOf.get(id);
  // Only an abnormal node has a fault: a healthy one has none, whatever
  // class the engine names for it; an abnormal one without a class is
  // abnormal by its KPIs alone (an unknown fault).
  const sick = state === 'abnormal';
  const info = sick && n?.fault != null ? classInfo(owner, n.fault) : null;
  const faultWords = !sick ? t('rca.node.noFault') : n?.fault != null ? className(owner, n.fault) : t('rca.fault.unknown');
  return h('div', { testid: 'rca-node-panel', dataset: { node: id, state } },
    h('div.d-flex.align-items-center.gap-2.flex-wrap.mb-2',
      h('h3.h6.mb-0.text-break', { testid: 'rca-node-name' }, id),
      badge(t(`rca.state.${state}`), STATE_TONE[state], { testid: 'rca-node-state' }),
      rank && badge(t('rca.graph.rankN', { rank }), 'primary')),
    state === 'unobserved' && h('p.small.text-body-secondary', { testid: 'rca-node-unobserved' }, t('rca.node.unobserved')),
    h('dl.row.small.mb-2',
      fact(t('rca.col.kind'), kind || '—'),
      n && fact(t('rca.col.fault'), faultWords, 'rca-node-fault',
        { dataset: { label: sick ? n.fault ?? '' : '' } }),
      info?.description && fact(t('rca.node.description'), info.description, 'rca-node-description'),
      info?.action && fact(t('rca.node.action'), info.action, 'rca-node-action'),
      n && sick && n.fault != null && fact(t('rca.col.confidence'), fmtPct(n.confidence), 'rca-node-confidence'),
      n && fact(t('rca.col.anomaly'), fmtFixed(n.anomaly, 3), 'rca-node-anomaly'),
      n && fact(t('rca.col.onset'), n.onset ?? t('rca.node.neverAbnormal'), 'rca-node-onset'),
      n && fact(t('rca.node.rows'), fmtInt(n.rows))),
    n && h('h4.h6.small.fw-semibold.mt-2', t('rca.node.kpis')),
    n && kpiTable(n.abnormal_kpis));
}
