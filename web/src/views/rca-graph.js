// views/rca-graph.js - the topology of a root-cause analysis as an ECharts
// graph, built from the topology's normalised graph and one incident of the
// analysis. Each node is coloured by its diagnosis: an abnormal node the
// colour of its fault class (the palette's, the same on the timeline and in
// the legend; a fault the classifier did not name, the colour after them),
// grey when normal (a healthy node has no fault, whatever class the engine
// reports for it), hollow and dashed when the incident has no rows for it
// (unobserved is not normal). The rank-1 root is big with a strong border,
// ranks 2..K carry their number, and the selected rank's propagation tree
// is drawn along the edges with arrows in the fault's direction (from the
// root outwards, against the dependency edges), its path thickest.
//
// Two layouts: layered (the default: columns by depth from the selected
// root along its tree, the other nodes placed by their distance from the
// tree, so the spread reads left to right) and force (ECharts' own, seeded
// with the layered positions). Both zoom and pan (roam) and drag. Over
// NEIGHBOURHOOD_ABOVE nodes the graph shows the incident's neighbourhood
// (abnormal nodes, every rank's tree, one hop around) unless asked for the
// whole. The page owns the state; this module only computes and draws.

import { esc } from '../dom.js';
import { t } from '../i18n.js';
import { fmtNum, fmtPct, fmtInt } from '../format.js';
import { toolbox } from '../charts.js';
import { className } from '../classnames.js';
import { incidentIndex, nodeState, layeredPositions } from './rca-layout.js';

// Topologies larger than this show the incident's neighbourhood first.
export const NEIGHBOURHOOD_ABOVE = 300;
// The force layout is offered up to this many nodes shown (it simulates
// every pair; larger graphs keep the layered layout).
export const FORCE_MAX_NODES = 1500;
// Node labels are all drawn up to this many nodes; above, only the ranked,
// abnormal and chosen ones.
const ALL_LABELS_UP_TO = 80;

/* ---- colours ------------------------------------------------------------------ */

/* The fault labels in colour order: the model's classes without the normal
 * one, then any other label the incident names (a model since replaced). */
export function faultLabels(model, normal, incident) {
  const out = (model?.labels || []).map(String).filter((l) => l !== normal);
  const seen = new Set(out);
  for (const n of incident?.nodes || []) {
    if (n.fault != null && n.fault !== normal && !seen.has(n.fault)) { seen.add(n.fault); out.push(n.fault); }
  }
  return out;
}

/* The colour of a fault class: the palette's, in faultLabels' order. */
export function faultColor(colors, labels, label) {
  const i = labels.indexOf(label);
  return colors[(i < 0 ? labels.length : i) % colors.length];
}

/* The look of the three node states in the theme (dark or light). */
export function stateStyle(dark) {
  return {
    normalFill: dark ? '#3a434e' : '#dfe4ea',
    normalBorder: dark ? '#8b949e' : '#8a95a3',
    hollowFill: dark ? '#161b22' : '#ffffff',
    edge: dark ? 'rgba(201,209,217,0.28)' : 'rgba(59,66,82,0.25)',
  };
}

/* The shapes of node kinds in a topology's preview: a kind is told by its
 * shape in neutral greys, never by a colour of the fault palette, so that
 * no kind reads as a fault. Each shape is the same drawing twice: an
 * ECharts symbol path (in a 10 x 10 box) and a CSS clip-path for the
 * legend's swatch. Past six kinds the shapes repeat in another shade. */
const KIND_SHAPES = [
  { path: 'M0,0H10V10H0Z', clip: 'none' },
  { path: 'M5,0L10,10H0Z', clip: 'polygon(50% 0, 100% 100%, 0 100%)' },
  { path: 'M5,0L10,5L5,10L0,5Z', clip: 'polygon(50% 0, 100% 50%, 50% 100%, 0 50%)' },
  { path: 'M2.5,0H7.5L10,5L7.5,10H2.5L0,5Z', clip: 'polygon(25% 0, 75% 0, 100% 50%, 75% 100%, 25% 100%, 0 50%)' },
  { path: 'M0,0H10L5,10Z', clip: 'polygon(0 0, 100% 0, 50% 100%)' },
  { path: 'M3.5,0H6.5V3.5H10V6.5H6.5V10H3.5V6.5H0V3.5H3.5Z', clip: 'polygon(35% 0, 65% 0, 65% 35%, 100% 35%, 100% 65%, 65% 65%, 65% 100%, 35% 100%, 35% 65%, 0 65%, 0 35%, 35% 35%)' },
];
const KIND_SHADES = { light: ['#5b6775', '#8a95a3', '#3b4450'], dark: ['#8b949e', '#c9d1d9', '#6e7681'] };

/* How a kind looks in a preview: {symbol (ECharts), clip (CSS), color};
 * a node without a kind is a plain circle. kinds: the sorted kinds. */
export function kindLook(kinds, kind, dark) {
  const st = stateStyle(dark);
  const i = kinds.indexOf(kind);
  if (kind == null || i < 0) return { symbol: 'circle', clip: 'circle(50%)', color: st.normalFill };
  const shape = KIND_SHAPES[i % KIND_SHAPES.length];
  const shades = KIND_SHADES[dark ? 'dark' : 'light'];
  return { symbol: `path://${shape.path}`, clip: shape.clip, color: shades[Math.floor(i / KIND_SHAPES.length) % shades.length] };
}

/* ---- the option ---------------------------------------------------------------- */

/* A node's fault as its tooltip and tables say it: only an abnormal node
 * has one; an abnormal node without a fault class (abnormal by its KPIs
 * alone) has an unknown fault. */
export function faultText(owner, n) {
  if (!n?.abnormal) return null;
  return n.fault != null ? className(owner, n.fault) : t('rca.fault.unknown');
}

function nodeTooltip(id, kind, view) {
  const n = view.byNode.get(id);
  const lines = [`<b>${esc(id)}</b>${kind ? ` · ${esc(kind)}` : ''}`];
  if (!view.incident) return lines[0]; // a topology's preview
  const rank = view.rankOf.get(id);
  if (rank) lines.push(esc(t('rca.graph.rankN', { rank })));
  if (!n) lines.push(esc(t('rca.state.unobserved')));
  else {
    lines.push(esc(n.abnormal ? t('rca.state.abnormal') : t('rca.state.normal')));
    const fault = faultText(view.owner, n);
    if (fault) lines.push(n.fault != null ? `${esc(fault)} · ${esc(fmtPct(n.confidence))}` : esc(fault));
    lines.push(esc(t('rca.graph.anomaly', { value: fmtNum(n.anomaly, 3) })));
    if (n.onset != null) lines.push(esc(t('rca.graph.onset', { onset: n.onset })));
  }
  return lines.join('<br>');
}

/* The look of one node: fill, border, size and label by state and rank. */
function nodeItem(c, st, view, id, kind, showLabels) {
  const n = view.byNode.get(id);
  const state = nodeState(view.byNode, id);
  const rank = view.rankOf.get(id);
  const chosen = view.selectedNode === id;
  const onPath = view.pathSet.has(id);
  if (!view.incident) return previewItem(c, st, view, id, kind, showLabels);
  const fill = state === 'unobserved' ? st.hollowFill
    : state === 'normal' ? st.normalFill : faultColor(c.colors, view.labels, n.fault);
  const item = {
    name: id,
    kind,
    value: rank || 0,
    symbol: 'circle',
    symbolSize: rank === 1 ? 40 : rank ? 28 : (state === 'abnormal' ? 18 : 13) * view.shrink,
    itemStyle: {
      color: fill,
      borderColor: rank === 1 || chosen ? c.text : state === 'abnormal' && onPath ? c.text : st.normalBorder,
      borderWidth: rank === 1 ? 5 : rank || chosen ? 3 : onPath ? 2 : 1,
      borderType: state === 'unobserved' ? 'dashed' : 'solid',
      shadowBlur: chosen ? 14 : 0,
      shadowColor: c.dark ? 'rgba(255,255,255,0.45)' : 'rgba(0,0,0,0.35)',
    },
    label: {
      show: showLabels || !!rank || chosen || (state === 'abnormal' && view.shrink === 1),
      formatter: rank ? `#${rank} ${id}` : id,
      fontWeight: rank === 1 ? 'bold' : 'normal',
      color: state === 'unobserved' ? c.muted : c.text,
    },
  };
  const p = view.pos.get(id);
  if (p) { item.x = p.x; item.y = p.y; }
  return item;
}

/* A node of a topology shown without an incident: shaped by its kind. */
function previewItem(c, st, view, id, kind, showLabels) {
  const p = view.pos.get(id);
  const look = kindLook(view.kinds, kind, c.dark);
  return {
    name: id, kind, x: p?.x, y: p?.y, symbol: look.symbol, symbolSize: 14 * view.shrink,
    itemStyle: { color: look.color, borderColor: st.normalBorder, borderWidth: 1 },
    label: { show: showLabels, color: c.text },
  };
}

/* The selected rank's tree as arrows from parent to child, the path's
 * steps thickest; the topology's other edges thin underneath. */
function links(c, st, view, shownIds, at) {
  const out = [];
  const covered = new Set();
  const key = (a, b) => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  const rank = view.rank;
  const root = rank && view.byNode.get(rank.node);
  const treeColor = root?.abnormal && root.fault != null ? faultColor(c.colors, view.labels, root.fault) : c.text;
  const pathSteps = new Set();
  const path = rank?.path || [];
  for (let k = 1; k < path.length; k++) pathSteps.add(key(path[k - 1], path[k]));
  for (const x of rank?.tree || []) {
    if (x.parent == null || !at.has(x.parent) || !at.has(x.node)) continue;
    const onPath = pathSteps.has(key(x.parent, x.node));
    covered.add(key(x.parent, x.node));
    out.push({
      source: at.get(x.parent), target: at.get(x.node), tree: true, from: x.parent, to: x.node,
      symbol: ['none', 'arrow'], symbolSize: onPath ? 14 : 10,
      lineStyle: { color: treeColor, width: onPath ? 6 : 3, opacity: onPath ? 1 : 0.8, type: 'solid' },
      z: 3,
    });
  }
  for (const e of view.topo.edges) {
    if (!shownIds.has(e.from) || !shownIds.has(e.to) || covered.has(key(e.from, e.to))) continue;
    out.push({
      source: at.get(e.from), target: at.get(e.to), from: e.from, to: e.to, bidirectional: !!e.bidirectional,
      symbol: ['none', 'none'],
      lineStyle: { color: st.edge, width: 1, type: e.bidirectional ? 'dashed' : 'solid', opacity: 1 },
    });
  }
  return out;
}

function edgeTooltip(d) {
  if (d.tree) return esc(t('rca.graph.spreads', { from: d.from, to: d.to }));
  return esc(t(d.bidirectional ? 'rca.graph.shares' : 'rca.graph.dependsOn', { from: d.from, to: d.to }));
}

/* The view the option is drawn from: {topo, shown (Set of ids), incident,
 * rank (the selected RANK or null), selectedNode, layout ('layered' |
 * 'force'), labels (faultLabels), owner (for class names)}; fills in what
 * the drawing needs (indexes, positions, kinds) and returns it. Without
 * an incident it is a topology's preview: nodes shaped by kind. */
export function prepareView(v) {
  const { byNode, rankOf } = incidentIndex(v.incident);
  const pos = layeredPositions(v.topo, v.shown, v.rank?.tree || v.incident?.ranks?.[0]?.tree);
  const kinds = [...new Set(v.topo.nodes.map((n) => n.kind).filter((k) => k != null))].sort();
  // the nodes of a large graph drawn smaller (the ranked ones keep their size)
  const shrink = v.shown.size > 2000 ? 0.4 : v.shown.size > 500 ? 0.65 : 1;
  return { ...v, byNode, rankOf, pos, kinds, shrink, pathSet: new Set(v.rank?.path || []) };
}

/* The ECharts option of the graph. */
export function graphOption(c, view) {
  const st = stateStyle(c.dark);
  const ids = view.topo.nodes.filter((n) => view.shown.has(n.id));
  const at = new Map(ids.map((n, i) => [n.id, i]));
  const showLabels = ids.length <= ALL_LABELS_UP_TO;
  const force = view.layout === 'force' && ids.length <= FORCE_MAX_NODES;
  return {
    toolbox: toolbox('topology', { restore: true }),
    tooltip: {
      trigger: 'item',
      confine: true,
      formatter: (p) => (p.dataType === 'edge' ? edgeTooltip(p.data) : nodeTooltip(p.data.name, p.data.kind, view)),
    },
    animationDurationUpdate: 300,
    series: [{
      type: 'graph',
      name: t('rca.graph.title'),
      layout: force ? 'force' : 'none',
      roam: true,
      draggable: true,
      scaleLimit: { min: 0.05, max: 10 },
      labelLayout: { hideOverlap: true },
      label: { position: 'right', fontSize: 11 },
      emphasis: { focus: 'adjacency', lineStyle: { width: 4 } },
      // a small graph spreads wider (ECharts does not fit a force layout to its box)
      force: force ? {
        repulsion: ids.length > 200 ? 60 : ids.length > 50 ? 160 : 420,
        edgeLength: ids.length > 50 ? [30, 90] : [70, 140],
        gravity: 0.08, friction: 0.25, layoutAnimation: ids.length <= 300,
      } : undefined,
      zoom: force && ids.length <= 50 ? 1.25 : 1,
      data: ids.map((n) => nodeItem(c, st, view, n.id, n.kind, showLabels)),
      links: links(c, st, view, view.shown, at),
    }],
  };
}

/* A preview's table: a row per node with what it depends on. */
function previewTable(view) {
  const deps = new Map();
  for (const e of view.topo.edges) {
    if (!deps.has(e.from)) deps.set(e.from, []);
    deps.get(e.from).push(e.to);
  }
  return {
    columns: [t('rca.col.node'), t('rca.col.kind'), t('rca.col.dependsOn')],
    rows: view.topo.nodes.filter((n) => view.shown.has(n.id)).map((n) => [n.id, n.kind || '—', (deps.get(n.id) || []).join(', ') || '—']),
  };
}

/* The graph's data table: a row per node shown, ranked ones first, then
 * the abnormal ones (highest anomaly first), then by id. */
export function graphTable(view, owner) {
  if (!view.incident) return previewTable(view);
  const rows = view.topo.nodes.filter((n) => view.shown.has(n.id)).map((n) => {
    const d = view.byNode.get(n.id);
    return { n, d, rank: view.rankOf.get(n.id) || 0 };
  });
  rows.sort((a, b) => ((a.rank || 1e9) - (b.rank || 1e9)) || ((b.d?.abnormal ? 1 : 0) - (a.d?.abnormal ? 1 : 0))
    || ((b.d?.anomaly ?? -1) - (a.d?.anomaly ?? -1)) || (a.n.id < b.n.id ? -1 : 1));
  return {
    columns: [t('rca.col.node'), t('rca.col.kind'), t('rca.col.state'), t('rca.col.rank'), t('rca.col.fault'), t('rca.col.confidence'), t('rca.col.anomaly'), t('rca.col.onset')],
    rows: rows.map(({ n, d, rank }) => [
      n.id, n.kind || '—', t(`rca.state.${nodeState(view.byNode, n.id)}`), rank ? fmtInt(rank) : '—',
      faultText(owner, d) ?? '—', d?.abnormal && d.fault != null ? d.confidence ?? null : null, d?.anomaly ?? null, d?.onset ?? null,
    ]),
  };
}
