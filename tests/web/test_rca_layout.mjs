// test_rca_layout.mjs - the structure under the root-cause graph
// (web/src/views/rca-layout.js), without a browser.
//
// What: a topology's neighbours go both ways along its edges (an edge to an
// unknown node is skipped, not thrown); an incident's neighbourhood is its
// abnormal nodes, every rank's tree and path, and one hop around them, no
// more; the layered layout puts the tree's nodes in columns by their depth
// from the root, the rest one column per hop further, the unreachable ones
// last, a node's children beside it; a tree that loops (bad data) still
// ends; a layer taller than the graph's square root wraps into
// sub-columns; a node's state is abnormal, normal or unobserved (no rows).
// Why: the graph is a canvas, so a browser test sees pixels, not where a
// node went; these are the rules the picture is drawn by.
//
// Output: cmocka's lines, counted by tests/run.sh. Run: node tests/web/test_rca_layout.mjs

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runChecks } from './checks.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const text = fs.readFileSync(path.join(ROOT, 'web/src/views/rca-layout.js'), 'utf8');
const L = await import('data:text/javascript;charset=utf-8,' + encodeURIComponent(text));

// web-1 -> api-1 -> db-1 <-> cache-1; api-1 -> auth-1; web-2 -> api-1; lone
const graph = {
  nodes: ['web-1', 'web-2', 'api-1', 'auth-1', 'db-1', 'cache-1', 'lone'].map((id) => ({ id })),
  edges: [{ from: 'web-1', to: 'api-1' }, { from: 'web-2', to: 'api-1' }, { from: 'api-1', to: 'db-1' },
    { from: 'api-1', to: 'auth-1' }, { from: 'cache-1', to: 'db-1', bidirectional: true }, { from: 'web-1', to: 'ghost' }],
};
const tree = [{ node: 'db-1', parent: null }, { node: 'api-1', parent: 'db-1' }, { node: 'web-1', parent: 'api-1' }];
const incident = {
  ranks: [{ rank: 1, node: 'db-1', tree, path: ['db-1', 'api-1', 'web-1'] }],
  nodes: [{ node: 'db-1', abnormal: true }, { node: 'api-1', abnormal: true }, { node: 'web-1', abnormal: true }, { node: 'web-2', abnormal: false }],
};
const sorted = (set) => [...set].sort().join(' ');

const tests = {
  neighbours_both_ways() {
    const topo = L.topologyIndex(graph);
    const of = (id) => topo.around[topo.at.get(id)].map((j) => topo.nodes[j].id).sort().join(' ');
    const out = [];
    if (of('api-1') !== 'auth-1 db-1 web-1 web-2') out.push(`api-1's neighbours: ${of('api-1')}`);
    if (of('lone') !== '') out.push(`lone has neighbours: ${of('lone')}`);
    if (of('web-1') !== 'api-1') out.push(`web-1's edge to an unknown node should be skipped: ${of('web-1')}`);
    return out;
  },
  neighbourhood_is_one_hop() {
    const topo = L.topologyIndex(graph);
    const got = sorted(L.neighbourhood(topo, incident));
    const want = 'api-1 auth-1 cache-1 db-1 web-1 web-2'; // lone is two hops from nothing
    return got === want ? [] : [`neighbourhood ${got}, expected ${want}`];
  },
  layered_columns_by_depth() {
    const topo = L.topologyIndex(graph);
    const pos = L.layeredPositions(topo, new Set(graph.nodes.map((n) => n.id)), tree);
    const x = (id) => pos.get(id).x;
    const out = [];
    if (!(x('db-1') < x('api-1') && x('api-1') < x('web-1'))) out.push(`the tree's columns: db-1 ${x('db-1')}, api-1 ${x('api-1')}, web-1 ${x('web-1')}`);
    if (x('cache-1') !== x('api-1')) out.push('cache-1 (one hop from the root) belongs in depth 1\'s column');
    if (x('auth-1') !== x('web-1') || x('web-2') !== x('web-1')) out.push('auth-1 and web-2 (one hop from api-1) belong in depth 2\'s column');
    if (!(x('lone') > x('web-1'))) out.push('a node the tree cannot reach goes in the last column');
    if (pos.size !== graph.nodes.length) out.push(`${pos.size} positions for ${graph.nodes.length} nodes`);
    return out;
  },
  looping_tree_ends() {
    const topo = L.topologyIndex(graph);
    const loop = [{ node: 'db-1', parent: 'api-1' }, { node: 'api-1', parent: 'db-1' }];
    const pos = L.layeredPositions(topo, new Set(['db-1', 'api-1']), loop);
    return pos.size === 2 ? [] : [`a looping tree placed ${pos.size} nodes`];
  },
  tall_layers_wrap() {
    const n = 400;
    const g = { nodes: [{ id: 'hub' }], edges: [] };
    for (let i = 0; i < n; i++) { g.nodes.push({ id: `n${i}` }); g.edges.push({ from: `n${i}`, to: 'hub' }); }
    const topo = L.topologyIndex(g);
    const pos = L.layeredPositions(topo, new Set(g.nodes.map((x) => x.id)), [{ node: 'hub', parent: null }]);
    const xs = new Set(g.nodes.slice(1).map((x) => pos.get(x.id).x));
    const ys = new Set(g.nodes.slice(1).map((x) => pos.get(x.id).y));
    const out = [];
    if (xs.size < 2) out.push(`400 nodes one hop from the root should wrap into sub-columns, took ${xs.size}`);
    if (ys.size > Math.ceil(Math.sqrt(n + 1) * 1.2)) out.push(`a sub-column holds ${ys.size} rows, more than the square-root rule`);
    const distinct = new Set(g.nodes.map((x) => `${pos.get(x.id).x},${pos.get(x.id).y}`));
    if (distinct.size !== g.nodes.length) out.push('two nodes share a position');
    return out;
  },
  node_states() {
    const { byNode, rankOf } = L.incidentIndex(incident);
    const got = ['db-1', 'web-2', 'cache-1'].map((id) => L.nodeState(byNode, id)).join(' ');
    const out = got === 'abnormal normal unobserved' ? [] : [`states ${got}`];
    if (rankOf.get('db-1') !== 1 || rankOf.has('api-1')) out.push('rankOf holds the ranked nodes only');
    return out;
  },
};

runChecks(tests);
