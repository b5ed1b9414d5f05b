// views/rca-layout.js - the structure under the graph of a root-cause
// analysis, as plain functions of plain data (no DOM, no imports, so that
// tests/web/test_rca_layout.mjs checks it in Node): a topology's index and
// neighbours, an incident's nodes and ranks by id, a node's state, the
// incident's neighbourhood in a large topology and the layered layout
// (columns by depth from the root along its propagation tree, the other
// nodes by their distance from the tree, tall columns wrapped).

const LAYER_DX = 170;
const LAYER_DY = 52;
const SUB_COLUMN = 0.45; // a wrapped layer's sub-columns, as a share of a layer's width

/* ---- what a node is in an incident -------------------------------------------- */

/* {byNode: Map id -> incident node, rankOf: Map id -> best rank} */
export function incidentIndex(incident) {
  const byNode = new Map((incident?.nodes || []).map((n) => [n.node, n]));
  const rankOf = new Map();
  for (const r of incident?.ranks || []) if (!rankOf.has(r.node)) rankOf.set(r.node, r.rank);
  return { byNode, rankOf };
}

/* 'abnormal' | 'normal' | 'unobserved' */
export function nodeState(byNode, id) {
  const n = byNode.get(id);
  if (!n) return 'unobserved';
  return n.abnormal ? 'abnormal' : 'normal';
}

/* Built once per topology: the node index and the neighbours of each node
 * either way along the edges. */
export function topologyIndex(graph) {
  const nodes = graph?.nodes || [];
  const edges = graph?.edges || [];
  const at = new Map(nodes.map((n, i) => [n.id, i]));
  const around = nodes.map(() => []);
  for (const e of edges) {
    const a = at.get(e.from);
    const b = at.get(e.to);
    if (a === undefined || b === undefined) continue;
    around[a].push(b);
    around[b].push(a);
  }
  return { nodes, edges, at, around };
}

/* The ids an incident is about: its abnormal nodes, the nodes of every
 * rank's tree and path, and one hop around them. */
export function neighbourhood(topo, incident) {
  const core = new Set();
  for (const n of incident?.nodes || []) if (n.abnormal) core.add(n.node);
  for (const r of incident?.ranks || []) {
    core.add(r.node);
    for (const x of r.tree || []) core.add(x.node);
    for (const x of r.path || []) core.add(x);
  }
  const out = new Set(core);
  for (const id of core) {
    const i = topo.at.get(id);
    if (i !== undefined) for (const j of topo.around[i]) out.add(topo.nodes[j].id);
  }
  return out;
}

/* Layered positions: the tree's nodes by their depth from the root, the
 * others one column per hop further from the tree (those the tree cannot
 * reach in a last column), each column ordered by where its parents are. */
export function layeredPositions(topo, shown, tree) {
  const depth = new Map();
  const parentOf = new Map((tree || []).map((x) => [x.node, x.parent]));
  const depthOf = (id, guard = 0) => {
    if (depth.has(id)) return depth.get(id);
    const p = parentOf.get(id);
    const d = p == null || guard > parentOf.size ? 0 : depthOf(p, guard + 1) + 1;
    depth.set(id, d);
    return d;
  };
  for (const x of tree || []) if (shown.has(x.node)) depthOf(x.node);
  // the rest: breadth first from the tree (or from the first node shown)
  const via = new Map();
  let queue = [...depth.keys()];
  if (!queue.length && shown.size) { const first = shown.values().next().value; depth.set(first, 0); queue = [first]; }
  while (queue.length) {
    const next = [];
    for (const id of queue) {
      for (const j of topo.around[topo.at.get(id)] || []) {
        const nb = topo.nodes[j].id;
        if (!shown.has(nb) || depth.has(nb)) continue;
        depth.set(nb, depth.get(id) + 1);
        via.set(nb, id);
        next.push(nb);
      }
    }
    queue = next;
  }
  const last = Math.max(0, ...depth.values()) + 1;
  const columns = new Map();
  for (const id of shown) {
    const d = depth.has(id) ? depth.get(id) : last;
    if (!columns.has(d)) columns.set(d, []);
    columns.get(d).push(id);
  }
  // a layer taller than about the square root of the graph wraps into
  // sub-columns, so that a wide topology does not draw as a thin line
  const perColumn = Math.max(12, Math.ceil(Math.sqrt(shown.size) * 1.2));
  const pos = new Map();
  let x = 0;
  for (const d of [...columns.keys()].sort((a, b) => a - b)) {
    const col = columns.get(d);
    const anchor = (id) => pos.get(parentOf.get(id) ?? via.get(id))?.y ?? 0;
    col.sort((a, b) => (parentOf.has(b) - parentOf.has(a)) || anchor(a) - anchor(b) || (a < b ? -1 : a > b ? 1 : 0));
    const rows = Math.min(col.length, perColumn);
    col.forEach((id, k) => pos.set(id, {
      x: x + Math.floor(k / perColumn) * LAYER_DX * SUB_COLUMN,
      y: ((k % perColumn) - (rows - 1) / 2) * LAYER_DY,
    }));
    x += LAYER_DX + (Math.ceil(col.length / perColumn) - 1) * LAYER_DX * SUB_COLUMN;
  }
  return pos;
}
