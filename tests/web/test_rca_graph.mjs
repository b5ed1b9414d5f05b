// test_rca_graph.mjs - what the root-cause graph draws
// (web/src/views/rca-graph.js graphOption), without a browser.
//
// What: on one incident (db-1 the rank-1 root with the fault disk_full, its
// tree db-1 -> api-1 -> web-1 and api-1 -> auth-1, its path db-1 > api-1 >
// web-1; web-2 healthy; cache-1 without rows) the ECharts option must
//   - highlight the root: the largest symbol and the thickest border, bold;
//   - draw the selected rank's tree along the edges with arrows from the
//     root outwards, the path's edges thicker than the tree's other edges,
//     both thicker than the topology's plain edges (no arrows);
//   - colour every abnormal node by its diagnosed fault (a node with another
//     fault another colour), the healthy ones neutral (never a fault's
//     colour, even though the engine reports the normal class as their
//     fault), an unobserved node hollow and dashed;
//   - let the user zoom, pan and drag (roam, draggable) in both layouts;
//     layered = fixed positions (layout 'none', every node placed, columns
//     by depth from the root), force = ECharts' force layout.
// Why: the graph is a canvas, so the browser tests see pixels, not which
// node got which colour; these are the rules the picture is drawn by.
//
// Output: cmocka's lines, counted by tests/run.sh. Run: node tests/web/test_rca_graph.mjs

import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runChecks } from './checks.mjs';

// The modules rca-graph.js imports listen to the window's online/offline
// events when loaded; nothing else of a browser is touched by graphOption.
globalThis.window = { addEventListener() {} };

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const G = await import(pathToFileURL(path.join(ROOT, 'web/src/views/rca-graph.js')).href);
const L = await import(pathToFileURL(path.join(ROOT, 'web/src/views/rca-layout.js')).href);

// web-1 -> api-1 -> db-1; web-2 -> api-1; auth-1 -> api-1; cache-1 <-> db-1
const topo = L.topologyIndex({
  nodes: [{ id: 'db-1', kind: 'database' }, { id: 'api-1' }, { id: 'web-1' }, { id: 'web-2' },
    { id: 'auth-1' }, { id: 'cache-1', kind: 'cache' }],
  edges: [{ from: 'web-1', to: 'api-1' }, { from: 'web-2', to: 'api-1' }, { from: 'api-1', to: 'db-1' },
    { from: 'auth-1', to: 'api-1' }, { from: 'cache-1', to: 'db-1', bidirectional: true }],
});
const tree = [{ node: 'db-1', parent: null }, { node: 'api-1', parent: 'db-1' },
  { node: 'web-1', parent: 'api-1' }, { node: 'auth-1', parent: 'api-1' }];
const incident = {
  incident_id: 'inc-a',
  ranks: [{ rank: 1, node: 'db-1', fault: 'disk_full', score: 0.99, tree, path: ['db-1', 'api-1', 'web-1'] },
    { rank: 2, node: 'api-1', fault: 'disk_full', score: 0.6, tree: [{ node: 'api-1', parent: null }], path: ['api-1'] }],
  nodes: [
    { node: 'db-1', abnormal: true, fault: 'disk_full', confidence: 0.97, anomaly: 0.98, onset: '100' },
    { node: 'api-1', abnormal: true, fault: 'disk_full', confidence: 0.9, anomaly: 0.95, onset: '160' },
    { node: 'web-1', abnormal: true, fault: 'disk_full', confidence: 0.8, anomaly: 0.9, onset: '220' },
    { node: 'auth-1', abnormal: true, fault: 'cpu_saturation', confidence: 0.7, anomaly: 0.8, onset: '230' },
    { node: 'web-2', abnormal: false, fault: 'normal', confidence: 0.95, anomaly: 0.05, onset: null },
  ],
};
const model = { labels: ['normal', 'cpu_saturation', 'disk_full', 'memory_leak'] };
const c = { dark: false, colors: ['#c1', '#c2', '#c3', '#c4', '#c5'], text: '#text', muted: '#muted' };

function option(layout = 'layered') {
  const view = G.prepareView({
    topo, shown: new Set(topo.nodes.map((n) => n.id)), incident, rank: incident.ranks[0],
    selectedNode: null, layout, labels: G.faultLabels(model, 'normal', incident), owner: null,
  });
  const opt = G.graphOption(c, view);
  const s = opt.series[0];
  const node = new Map(s.data.map((d) => [d.name, d]));
  const edge = (from, to) => s.links.find((l) => l.from === from && l.to === to);
  return { s, node, edge };
}

const tests = {
  root_highlighted() {
    const { node } = option();
    const root = node.get('db-1');
    const out = [];
    for (const [id, d] of node) {
      if (id === 'db-1') continue;
      if (!(d.symbolSize < root.symbolSize)) out.push(`${id} (${d.symbolSize}) is not smaller than the root (${root.symbolSize})`);
      if (!(d.itemStyle.borderWidth < root.itemStyle.borderWidth)) out.push(`${id}'s border ${d.itemStyle.borderWidth} is not thinner than the root's ${root.itemStyle.borderWidth}`);
    }
    if (root.itemStyle.borderColor !== c.text) out.push(`the root's border ${root.itemStyle.borderColor}, expected the strong text colour`);
    if (root.label.fontWeight !== 'bold' || root.label.formatter !== '#1 db-1') out.push(`the root's label ${JSON.stringify(root.label)}`);
    if (node.get('api-1').label.formatter !== '#2 api-1') out.push('rank 2 carries its number');
    return out;
  },
  path_thicker_with_arrows() {
    const { s, edge } = option();
    const out = [];
    const onPath = [edge('db-1', 'api-1'), edge('api-1', 'web-1')];
    const inTree = edge('api-1', 'auth-1');
    const plain = s.links.filter((l) => !l.tree);
    if (onPath.some((l) => !l) || !inTree) return [`the tree's edges from the root outwards are missing: ${JSON.stringify(s.links.map((l) => [l.from, l.to]))}`];
    // drawn in the fault's direction: no edge of the tree from a child to its parent
    if (edge('api-1', 'db-1') || edge('web-1', 'api-1')) out.push('a tree edge drawn against the spread');
    for (const l of [...onPath, inTree]) {
      if (l.symbol[1] !== 'arrow') out.push(`${l.from} -> ${l.to} has no arrow`);
    }
    for (const l of onPath) {
      if (!(l.lineStyle.width > inTree.lineStyle.width)) out.push(`the path's ${l.from} -> ${l.to} (${l.lineStyle.width}) is not thicker than the tree's other edge (${inTree.lineStyle.width})`);
    }
    if (plain.length !== 2) out.push(`${plain.length} plain edges, expected web-2 -> api-1 and cache-1 <-> db-1`);
    for (const l of plain) {
      if (l.symbol[1] !== 'none') out.push(`the plain edge ${l.from} -> ${l.to} has an arrow`);
      if (!(l.lineStyle.width < inTree.lineStyle.width)) out.push(`the plain edge ${l.from} -> ${l.to} is as thick as the tree's`);
    }
    const shared = plain.find((l) => l.from === 'cache-1');
    if (shared?.lineStyle.type !== 'dashed') out.push('a bidirectional edge is dashed');
    return out;
  },
  coloured_by_diagnosis() {
    const { node } = option();
    const labels = G.faultLabels(model, 'normal', incident);
    const disk = G.faultColor(c.colors, labels, 'disk_full');
    const cpu = G.faultColor(c.colors, labels, 'cpu_saturation');
    const st = G.stateStyle(false);
    const out = [];
    if (disk === cpu) out.push('two faults share a colour');
    for (const id of ['db-1', 'api-1', 'web-1']) {
      if (node.get(id).itemStyle.color !== disk) out.push(`${id} (disk_full) is ${node.get(id).itemStyle.color}, expected ${disk}`);
    }
    if (node.get('auth-1').itemStyle.color !== cpu) out.push(`auth-1 (cpu_saturation) is ${node.get('auth-1').itemStyle.color}, expected ${cpu}`);
    const healthy = node.get('web-2').itemStyle;
    if (healthy.color !== st.normalFill) out.push(`the healthy web-2 is ${healthy.color}, expected the neutral ${st.normalFill}`);
    if (c.colors.includes(healthy.color)) out.push('the healthy node has a fault colour');
    const unobserved = node.get('cache-1').itemStyle;
    if (unobserved.color !== st.hollowFill || unobserved.borderType !== 'dashed') out.push(`the unobserved cache-1: ${JSON.stringify(unobserved)}`);
    return out;
  },
  roam_drag_and_layouts() {
    const layered = option('layered');
    const force = option('force');
    const out = [];
    for (const [name, { s }] of [['layered', layered], ['force', force]]) {
      if (s.roam !== true) out.push(`${name}: roam is ${s.roam}`);
      if (s.draggable !== true) out.push(`${name}: draggable is ${s.draggable}`);
    }
    if (layered.s.layout !== 'none' || layered.s.force) out.push(`layered: layout ${layered.s.layout}, force ${JSON.stringify(layered.s.force)}`);
    const unplaced = layered.s.data.filter((d) => typeof d.x !== 'number' || typeof d.y !== 'number');
    if (unplaced.length) out.push(`layered: ${unplaced.map((d) => d.name).join(', ')} without a position`);
    const x = (id) => layered.node.get(id).x;
    if (!(x('db-1') < x('api-1') && x('api-1') < x('web-1'))) out.push('layered: the tree reads left to right from the root');
    if (force.s.layout !== 'force' || !force.s.force?.repulsion) out.push(`force: layout ${force.s.layout}, force ${JSON.stringify(force.s.force)}`);
    return out;
  },
};

runChecks(tests);
