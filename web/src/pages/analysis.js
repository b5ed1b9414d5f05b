// pages/analysis.js - #/analyses/ID[?incident=N]: one root-cause analysis,
// an incident at a time (N is the incident's 0-based index, as the API's).
// On the left the incidents (searchable by id or rank-1 node, paged); on
// the right the chosen incident: its most likely root, the topology graph
// coloured by diagnosis with the chosen rank's propagation tree
// (views/rca-graph.js), the ranks table and a node's panel
// (views/rca-tables.js), and the timeline of anomaly onsets
// (views/rca-timeline.js). Previous/next, j/k or the arrow keys step
// through the incidents; the URL follows (replaceState: the page is not
// drawn again, only the incident's parts), so a link or a reload opens the
// same incident. Downloads, links to the model, topology and dataset, and
// the trash (delete with Undo, the banner when opened from the trash).

import { h, clear, uid } from '../dom.js';
import { t } from '../i18n.js';
import { fmtInt, fmtDate, fmtFixed, fmtNum } from '../format.js';
import { chart, emptyOption, paletteColors, isDark } from '../charts.js';
import { pageHeader, card, statTile, statGrid, linkButton, button, badge, emptyState, errorAlert, toast } from '../ui.js';
import { className } from '../classnames.js';
import { deleteButton, trashBanner } from '../views/trash.js';
import {
  NEIGHBOURHOOD_ABOVE, FORCE_MAX_NODES, faultLabels, faultColor, stateStyle, prepareView, graphOption, graphTable,
} from '../views/rca-graph.js';
import { topologyIndex, neighbourhood } from '../views/rca-layout.js';
import { onsetMarks, timelineHeight, timelineOption, timelineTable } from '../views/rca-timeline.js';
import { ranksTable, nodePanel, rankFault } from '../views/rca-tables.js';

// Incidents listed per page of the list.
const LIST_PAGE = 100;

const hashOf = (id, index) => `#/analyses/${id}?incident=${index}`;

/* A key press that is not typing into a control. */
function isTyping(ev) {
  const el = ev.target;
  return ev.altKey || ev.ctrlKey || ev.metaKey || el.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName || '');
}

function summaryCard(an, owner) {
  const faults = Object.entries(an.summary?.faults || {}).sort((a, b) => b[1] - a[1]);
  return card(t('rca.summary'), [
    statGrid(
      statTile(t('rca.incidents'), fmtInt(an.incidents), { testid: 'analysis-incidents' }),
      statTile(t('rca.topologyNodes'), fmtInt(an.topology_nodes)),
      statTile(t('rca.meanAbnormal'), fmtNum(an.summary?.mean_abnormal, 3)),
      statTile(t('rca.meanScore'), fmtFixed(an.summary?.mean_score, 3))),
    (faults.length > 0 || an.summary?.unknown_faults > 0 || an.summary?.no_abnormal > 0) && h('div.mt-3',
      h('div.small.text-body-secondary.mb-1', t('rca.rootFaults')),
      h('div.d-flex.flex-wrap.gap-1', { testid: 'analysis-faults' }, faults.map(([label, n]) => badge(
        `${label === '' ? t('rca.unobservedCause') : className(owner, label)} · ${fmtInt(n)}`, 'secondary', { 'data-label': label })),
      an.summary?.unknown_faults > 0 && badge(`${t('rca.fault.unknown')} · ${fmtInt(an.summary.unknown_faults)}`, 'secondary', { testid: 'analysis-unknown-faults' }),
      an.summary?.no_abnormal > 0 && badge(`${t('rca.summary.noAbnormal')} · ${fmtInt(an.summary.no_abnormal)}`, 'secondary', { testid: 'analysis-no-abnormal' }))),
  ], { testid: 'analysis-summary' });
}

/* The links to what the analysis was made from; an input purged since
 * (its id null) is said to be deleted instead of linking nowhere. */
function linksRow(an, model) {
  const link = (id, href, testid, text, gone) => (id == null
    ? h('span.text-body-secondary', { testid: `${testid}-deleted` }, t(gone))
    : h('a', { href, testid }, text));
  return h('div.d-flex.flex-wrap.gap-2.small.align-items-center',
    link(an.model_id, `#/models/${an.model_id}`, 'analysis-model-link',
      model ? t('rca.link.modelNamed', { name: model.name }) : t('rca.link.model', { id: an.model_id }), 'rca.link.modelDeleted'),
    an.model_id != null && an.model_deleted_at && badge(t('rca.modelInTrash'), 'warning', { testid: 'analysis-model-trashed' }),
    h('span.text-body-secondary', '·'),
    link(an.topology_id, `#/rca?topology=${an.topology_id}`, 'analysis-topology-link', t('rca.link.topology', { id: an.topology_id }), 'rca.link.topologyDeleted'),
    h('span.text-body-secondary', '·'),
    link(an.dataset_id, `#/datasets/${an.dataset_id}`, 'analysis-dataset-link', t('rca.link.dataset', { id: an.dataset_id }), 'rca.link.datasetDeleted'));
}

/* The HTML legend under the graph: the fault classes present, normal,
 * unobserved, roots and the tree. */
function graphLegend(incident, labels, owner, normal) {
  const colors = paletteColors();
  const st = stateStyle(isDark());
  const present = [...new Set((incident?.nodes || []).filter((n) => n.abnormal && n.fault != null).map((n) => n.fault))];
  const swatch = (style) => h('span.legend-swatch', { 'aria-hidden': 'true', style });
  return h('ul.rca-legend.list-unstyled.d-flex.flex-wrap.gap-3.small.mb-0', { testid: 'rca-graph-legend' },
    present.map((f) => h('li', swatch({ background: faultColor(colors, labels, f) }), f === normal ? t('rca.legend.normalClass', { name: className(owner, f) }) : className(owner, f))),
    h('li', swatch({ background: st.normalFill, 'border-color': st.normalBorder }), t('rca.state.normal')),
    h('li', swatch({ background: st.hollowFill, 'border-style': 'dashed', 'border-color': st.normalBorder }), t('rca.state.unobserved')),
    h('li', swatch({ background: 'transparent', 'border-width': '3px' }), t('rca.legend.root')),
    h('li', h('span.legend-line', { 'aria-hidden': 'true' }), t('rca.legend.tree')));
}

export async function render(view, ctx) {
  const id = ctx.params.id;
  const an = await ctx.api.analyses.get(id, { signal: ctx.signal });
  const quiet = { signal: ctx.signal, quiet: true, retry: false };
  const [model, topology] = await Promise.all([
    an.model_id == null ? null : ctx.api.models.get(an.model_id, quiet).catch(() => null),
    // a purged topology (id null) is not asked for: the graph says it is gone
    an.topology_id == null ? null : ctx.api.topologies.get(an.topology_id, quiet).catch((e) => ({ error: e })),
  ]);
  if (ctx.signal.aborted) return undefined;
  // class names: the analysis carries its model's (ANALYSIS.class_names), else the model's own
  const owner = an.class_names && typeof an.class_names === 'object' ? an : model;
  const topo = topology?.graph ? topologyIndex(topology.graph) : null;
  const big = topo ? topo.nodes.length > NEIGHBOURHOOD_ABOVE : false;
  const total = an.incidents;
  const wanted = ctx.query.incident === undefined ? 0 : Number(ctx.query.incident);
  const wantedOk = Number.isInteger(wanted) && wanted >= 0 && wanted < total;
  const state = {
    index: wantedOk ? wanted : 0,
    incident: null, rank: null, node: null,
    layout: ctx.prefs.get('rca_layout') === 'force' ? 'force' : 'layered',
    whole: !big, q: '', listOffset: 0, loading: 0,
  };
  const restore = () => ctx.api.analyses.restore(an.id);
  const reopen = () => ctx.navigate(`#/analyses/${an.id}`);

  view.append(pageHeader(an.name, {
    eyebrow: t('rca.eyebrow', { id: an.id }),
    subtitle: h('span', t('rca.subtitle', { date: fmtDate(an.created_at), top: an.top, normal: an.normal })),
    actions: [
      linkButton(t('rca.downloadCsv'), ctx.api.analyses.downloadUrl(an.id, 'csv'), { iconName: 'download', testid: 'analysis-download-csv', download: '' }),
      linkButton(t('rca.downloadJson'), ctx.api.analyses.downloadUrl(an.id, 'json'), { iconName: 'download', testid: 'analysis-download-json', download: '' }),
      !an.deleted_at && deleteButton({
        testid: 'analysis-delete',
        remove: () => ctx.api.analyses.remove(an.id),
        restore,
        texts: { deleted: t('rca.analysisTrashed', { name: an.name }), restored: t('rca.analysisRestored', { name: an.name }) },
        onDeleted: () => ctx.navigate('#/rca'),
        onRestored: reopen,
      }),
    ],
  }));
  const banner = trashBanner(an, { text: t('rca.analysisInTrash'), restore: () => restore(), onRestored: () => { toast(t('rca.analysisRestored', { name: an.name })); reopen(); } });

  /* ---- the parts an incident redraws ---- */
  const listHost = h('div.list-group.list-group-flush.incident-list', { testid: 'rca-incident-list', 'aria-label': t('rca.incidentList') });
  const listMore = h('div');
  const listCount = h('span.small.text-body-secondary');
  const search = h('input.form-control.form-control-sm', {
    type: 'search', name: 'rca-incident-search', testid: 'rca-incident-search', 'aria-label': t('rca.search'), placeholder: t('rca.search'),
  });
  const title = h('h2.h5.mb-0.text-break', { testid: 'rca-incident-title' });
  const position = h('span.small.text-body-secondary', { testid: 'rca-incident-position' });
  const rootLine = h('div.mt-2', { testid: 'rca-root' });
  const loadError = h('div');
  const prev = button(t('rca.prev'), { iconName: 'left', variant: 'outline-secondary', size: 'sm', testid: 'rca-incident-prev', onClick: () => go(state.index - 1) });
  const next = button(t('rca.next'), { iconName: 'right', variant: 'outline-secondary', size: 'sm', testid: 'rca-incident-next', onClick: () => go(state.index + 1) });
  const graphEl = h('div.chart.rca-graph', { testid: 'rca-graph', role: 'img', 'aria-label': t('rca.graph.title') });
  const legendHost = h('div.mt-2');
  const scopeNote = h('div.small.text-body-secondary', { testid: 'rca-graph-scope' });
  const whole = h('input.form-check-input', { type: 'checkbox', testid: 'rca-graph-whole', name: 'rca-graph-whole', id: 'rca-graph-whole' });
  const layoutBtn = (key) => button(t(`rca.layout.${key}`), {
    variant: 'outline-secondary', size: 'sm', testid: `rca-layout-${key}`,
    onClick: () => { state.layout = key; ctx.prefs.set({ rca_layout: key }); drawGraph(); },
  });
  const layoutBtns = { layered: layoutBtn('layered'), force: layoutBtn('force') };
  const ranksHost = h('div');
  const nodeHost = h('div');
  // Every observed node can be opened without a pointer (the graph is a
  // canvas): the sick ones first, as in the graph's table.
  const pickId = uid('rca-node');
  const nodePick = h('select.form-select.form-select-sm', { id: pickId, testid: 'rca-node-pick' });
  nodePick.addEventListener('change', () => { if (nodePick.value) chooseNode(nodePick.value); });
  const nodePickRow = h('div.mb-3', h('label.form-label.small.mb-1', { for: pickId }, t('rca.node.pickLabel')), nodePick);
  const timelineEl = h('div.chart', { testid: 'rca-timeline', role: 'img', 'aria-label': t('rca.timeline.title') });

  let labels = faultLabels(model, an.normal, null);
  let graphView = null;
  const graph = topo ? chart(graphEl, (c) => (graphView ? graphOption(c, graphView) : emptyOption(c, t('common.loading'))), {
    table: () => (graphView ? graphTable(graphView, owner) : null),
    onInit: (inst) => inst.on('click', (p) => { if (p.dataType === 'node') chooseNode(p.data.name); }),
  }) : null;
  let marks = [];
  const timeline = chart(timelineEl, (c) => timelineOption(c, marks, labels, owner), {
    table: () => timelineTable(marks, owner),
    onInit: (inst) => inst.on('click', (p) => { if (p.data?.mark) chooseNode(p.data.mark.node); }),
  });

  function shownSet() {
    if (!topo) return new Set();
    if (state.whole || !big) return new Set(topo.nodes.map((n) => n.id));
    return neighbourhood(topo, state.incident);
  }

  function drawGraph() {
    if (!graph) return;
    const shown = shownSet();
    const forceOk = shown.size <= FORCE_MAX_NODES;
    for (const [key, btn] of Object.entries(layoutBtns)) {
      const on = state.layout === key || (key === 'layered' && !forceOk);
      btn.setAttribute('aria-pressed', String(on));
      btn.classList.toggle('active', on);
    }
    layoutBtns.force.disabled = !forceOk;
    layoutBtns.force.title = forceOk ? '' : t('rca.layout.forceTooBig', { max: fmtInt(FORCE_MAX_NODES) });
    graphView = prepareView({ topo, shown, incident: state.incident, rank: state.rank, selectedNode: state.node, layout: state.layout, labels, owner });
    whole.checked = state.whole;
    scopeNote.textContent = big
      ? t(state.whole ? 'rca.scope.whole' : 'rca.scope.neighbourhood', { shown: fmtInt(shown.size), total: fmtInt(topo.nodes.length) })
      : t('rca.scope.all', { total: fmtInt(topo.nodes.length) });
    graph.rebuild();
    clear(legendHost, graphLegend(state.incident, labels, owner, an.normal));
  }

  function fillNodePick() {
    const nodes = [...(state.incident?.nodes || [])].sort((a, b) => (Number(b.abnormal) - Number(a.abnormal))
      || (b.anomaly - a.anomaly) || (a.node < b.node ? -1 : 1));
    clear(nodePick,
      h('option', { value: '' }, t('rca.node.pickNone')),
      nodes.map((n) => h('option', { value: n.node, selected: n.node === state.node },
        `${n.node} · ${t(`rca.state.${n.abnormal ? 'abnormal' : 'normal'}`)}`)));
    if (!nodes.some((n) => n.node === state.node)) nodePick.value = '';
  }

  function drawNode() {
    fillNodePick();
    const kind = topo?.nodes[topo.at.get(state.node)]?.kind ?? null;
    clear(nodeHost, state.node ? nodePanel(state.incident, state.node, kind, owner)
      : h('p.small.text-body-secondary.mb-0', t('rca.node.pick')));
  }

  function drawRanks() {
    clear(ranksHost, ranksTable(state.incident, owner, { chosenRank: state.rank?.rank, onChoose: chooseRank }));
  }

  function chooseRank(r) {
    state.rank = r;
    state.node = r.node;
    drawRanks();
    drawNode();
    drawGraph();
  }

  function chooseNode(nodeId) {
    state.node = nodeId;
    const r = state.incident?.ranks?.find((x) => x.node === nodeId);
    if (r) { chooseRank(r); return; }
    drawNode();
    drawGraph();
  }

  /* The rank-1's fault: red only for a fault class of an abnormal node;
   * an unknown fault amber; no fault (nothing abnormal, or unobserved)
   * neutral. */
  function rootBadge(f) {
    const tone = f.kind === 'fault' ? 'danger' : f.kind === 'unknown' ? 'warning' : 'secondary';
    return badge(f.text, tone, { testid: 'rca-root-fault', 'data-label': f.label, 'data-kind': f.kind });
  }

  function drawRoot(inc) {
    const r = inc.ranks?.[0];
    if (!r) { clear(rootLine, h('span.text-body-secondary', t('rca.noRanks'))); return; }
    clear(rootLine,
      h('span.small.text-body-secondary.me-2', t('rca.mostLikely')),
      h('strong.text-break', { testid: 'rca-root-node' }, r.node), ' ',
      rootBadge(rankFault(owner, r, (inc.nodes || []).some((n) => n.abnormal))),
      h('span.small.text-body-secondary.ms-2', t('rca.scoreOnset', { score: fmtFixed(r.score, 3), onset: r.onset ?? '—' })));
  }

  function markList() {
    for (const el of listHost.querySelectorAll('[data-testid="rca-incident-row"]')) {
      const on = Number(el.dataset.index) === state.index;
      el.classList.toggle('active-row', on);
      if (on) el.setAttribute('aria-current', 'true'); else el.removeAttribute('aria-current');
    }
  }

  /* Opens incident index: reads it, then redraws what shows it. */
  async function go(index) {
    if (index < 0 || index >= total) return;
    const ticket = ++state.loading;
    state.index = index;
    prev.disabled = index <= 0;
    next.disabled = index >= total - 1;
    position.textContent = t('rca.position', { n: fmtInt(index + 1), total: fmtInt(total) });
    markList();
    if (location.hash.startsWith(`#/analyses/${an.id}`)) history.replaceState(null, '', hashOf(an.id, index));
    let inc;
    try {
      inc = await ctx.api.analyses.incident(an.id, index, { signal: ctx.signal });
    } catch (e) {
      if (ctx.signal.aborted || ticket !== state.loading) return;
      clear(loadError, errorAlert(e, { testid: 'rca-incident-error', retry: () => go(index) }));
      return;
    }
    if (ticket !== state.loading) return; // a later step won
    clear(loadError);
    state.incident = inc;
    state.rank = inc.ranks?.[0] || null;
    state.node = state.rank?.node || null;
    labels = faultLabels(model, an.normal, inc);
    title.textContent = t('rca.incidentTitle', { id: inc.incident_id });
    title.dataset.incident = inc.incident_id;
    title.dataset.index = String(index);
    drawRoot(inc);
    drawRanks();
    drawNode();
    drawGraph();
    marks = onsetMarks(inc);
    timelineEl.style.height = `${timelineHeight(marks.length)}px`;
    timeline.rebuild();
  }

  async function loadList({ append = false } = {}) {
    const page = await ctx.api.analyses.incidents(an.id, { signal: ctx.signal, offset: state.listOffset, limit: LIST_PAGE, q: state.q });
    const rows = page.items.map((it) => {
      const r = it.ranks?.[0];
      return h('button.list-group-item.list-group-item-action.incident-row', {
        type: 'button', testid: 'rca-incident-row', dataset: { index: String(it.index), incident: it.incident_id },
        on: { click: () => go(it.index) },
      },
      h('div.d-flex.gap-2.align-items-baseline', h('span.fw-semibold.text-break.flex-grow-1', it.incident_id),
        h('span.small.text-body-secondary.text-nowrap', t('rca.abnormalOf', { abnormal: fmtInt(it.abnormal), observed: fmtInt(it.observed) }))),
      h('div.small.text-body-secondary.text-break', r ? `${r.node} · ${rankFault(owner, r, it.abnormal > 0).text}` : t('rca.noRanks')));
    });
    if (append) listHost.append(...rows);
    else clear(listHost, rows.length ? rows : h('div.p-3', emptyState('alert', t('rca.noMatch'))));
    listCount.textContent = state.q ? t('rca.listMatches', { total: fmtInt(page.total) }) : t('rca.listCount', { total: fmtInt(page.total) });
    const shownCount = page.offset + page.items.length;
    clear(listMore, shownCount < page.total && h('div.p-2', button(t('rca.more'), {
      variant: 'link', size: 'sm', testid: 'rca-incident-more',
      onClick: () => { state.listOffset = shownCount; loadList({ append: true }); },
    })));
    markList();
  }

  // the list's keyboard: up and down move between incidents and open them
  listHost.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowDown' && ev.key !== 'ArrowUp') return;
    const items = [...listHost.querySelectorAll('[data-testid="rca-incident-row"]')];
    const at = items.indexOf(document.activeElement);
    const to = items[at + (ev.key === 'ArrowDown' ? 1 : -1)];
    if (!to) return;
    ev.preventDefault();
    to.focus();
    go(Number(to.dataset.index));
  });
  let searchTimer = null;
  search.addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => { state.q = search.value.trim(); state.listOffset = 0; loadList().catch((e) => clear(listMore, errorAlert(e))); }, 250);
  });
  whole.addEventListener('change', () => { state.whole = whole.checked; drawGraph(); });
  const onKey = (ev) => {
    if (isTyping(ev) || ev.target.closest?.('.incident-list, [role="region"], .chart')) return;
    if (ev.key === 'j' || ev.key === 'ArrowRight') { ev.preventDefault(); go(state.index + 1); }
    if (ev.key === 'k' || ev.key === 'ArrowLeft') { ev.preventDefault(); go(state.index - 1); }
  };
  document.addEventListener('keydown', onKey);
  ctx.signal.addEventListener('abort', () => { document.removeEventListener('keydown', onKey); clearTimeout(searchTimer); });

  const graphCard = topo
    ? card(t('rca.graph.title'), [
      h('div.d-flex.flex-wrap.align-items-center.gap-2.mb-2',
        h('div.btn-group', { role: 'group', 'aria-label': t('rca.layout.label') }, layoutBtns.layered, layoutBtns.force),
        big && h('div.form-check.form-switch.mb-0.ms-1', whole, h('label.form-check-label', { for: 'rca-graph-whole' }, t('rca.scope.showWhole'))),
        h('div.ms-auto', scopeNote)),
      graphEl,
      legendHost,
      h('p.small.text-body-secondary.mt-2.mb-0', t('rca.graph.help')),
    ], { testid: 'rca-graph-card' })
    : card(t('rca.graph.title'), topology?.error ? errorAlert(topology.error, { testid: 'rca-topology-error' })
      : h('div.alert.alert-warning.mb-0', { testid: 'rca-topology-error' }, t('rca.topologyGone')));

  const incidentCard = card(null, [
    h('div.d-flex.flex-wrap.align-items-center.gap-2',
      h('div.flex-grow-1.min-w-0', title, position),
      h('div.btn-group', { role: 'group', 'aria-label': t('rca.pager') }, prev, next)),
    rootLine,
    !wantedOk && total > 0 && h('div.alert.alert-warning.small.py-2.mt-2.mb-0', { testid: 'rca-incident-missing', role: 'status' },
      t('rca.incidentMissing', { n: String(ctx.query.incident), total: fmtInt(total) })),
    h('p.small.text-body-secondary.mt-2.mb-0', t('rca.keys')),
    loadError,
  ], { testid: 'rca-incident' });

  const listCard = card(t('rca.incidentList'), [h('div.p-2', search, h('div.mt-1', listCount)), listHost, listMore], { bodyCls: 'p-0', cls: 'incident-list-card' });

  view.append(h('div.d-flex.flex-column.gap-4',
    banner,
    linksRow(an, model),
    summaryCard(an, owner),
    total === 0 ? card(null, emptyState('alert', t('rca.noIncidents'))) : h('div.row.g-4',
      h('div.col-lg-3', listCard),
      h('div.col-lg-9.d-flex.flex-column.gap-4',
        incidentCard,
        graphCard,
        h('div.row.g-4',
          h('div.col-xl-7', card(t('rca.ranks'), ranksHost, { cls: 'h-100' })),
          h('div.col-xl-5', card(t('rca.node.title'), [nodePickRow, nodeHost], { cls: 'h-100', testid: 'rca-node-card' }))),
        card(t('rca.timeline.title'), [timelineEl, h('p.small.text-body-secondary.mt-2.mb-0', t('rca.timeline.help'))], { testid: 'rca-timeline-card' })))));

  if (total > 0) await Promise.all([loadList(), go(state.index)]);
  return undefined;
}
