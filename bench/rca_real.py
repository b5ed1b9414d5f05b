#!/usr/bin/python3
"""Root-cause analysis on incidents made by other means than `healer simulate`.

The simulator's incidents and the engine's method were written side by side,
so a score on them may flatter the method. This benchmark builds incidents
independently: its own topology generators (written here, in Python, with
other shapes than the simulator's), real KPI rows from the reference data
(../shared/data/train_10000.csv) instead of simulated ones, and its own
propagation rules:

- the root node shows real rows of its fault class from its onset on;
- a victim shows a blend, on the signed-log scale, of a real normal row and
  a real row of a *symptom* class drawn per incident (often not the root's
  class: a database's fault shows as something else on its callers), with a
  strength that decays along the spread;
- a fault crosses an edge with probability 0.85, after a log-normal delay;
- clocks are skewed by up to +-40 s, samples are 30-60 s apart, 15 % of the
  nodes are unobserved, and in 60 % of the incidents an unrelated node turns
  abnormal on its own, as strongly as a victim can.

The node classifier is trained on half of the distinct events of the file,
and the incidents draw their rows from the other half only, so no incident
row was seen in training. Class 0 (4,274 of 8,658 rows) is taken as the
normal class (`--normal 0`).

It runs `healer rca --json`, scores the ranks with `healer rca-eval`, and
scores two baselines computed here from the same JSON: "most anomalous
node" and "earliest onset". Prints a markdown table per topology shape.

    /usr/bin/python3 bench/rca_real.py [--incidents 300] [--quick]
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchdata  # noqa: E402

NORMAL = "0"


# ---------------------------------------------------------------- topologies
# Edges are (from, to): `from` depends on `to`; faults travel to -> from.

def layered(rng, n):
    """A layered service graph: each node calls 1-3 nodes of the next layers."""
    layers = max(3, min(6, n // 8))
    layer = np.sort(rng.integers(0, layers, n))
    layer[0], layer[-1] = 0, layers - 1
    edges = set()
    for v in range(n):
        below = np.flatnonzero(layer > layer[v])
        if len(below) == 0:
            continue
        near = below[layer[below] <= layer[v] + 2]
        for to in rng.choice(near, size=min(len(near), int(rng.integers(1, 4))), replace=False):
            edges.add((v, int(to), False))
    return edges


def hubs(rng, n):
    """Services that share a few hubs (databases, a queue) and call each other,
    with cycles between services."""
    n_hubs = max(1, n // 15)
    edges = set()
    for v in range(n_hubs, n):
        for h in rng.choice(n_hubs, size=min(n_hubs, int(rng.integers(1, 3))), replace=False):
            edges.add((v, int(h), False))
        for _ in range(int(rng.integers(0, 3))):
            w = int(rng.integers(n_hubs, n))
            if w != v:
                edges.add((v, w, False))
    for h in range(1, n_hubs):  # replicated hubs share their load
        if rng.random() < 0.5:
            edges.add((h, h - 1, True))
    return edges


def ring(rng, n):
    """A ring of peers with random chords, a third of them bidirectional."""
    edges = set()
    for v in range(n):
        edges.add((v, (v + 1) % n, False))
        w = int(rng.integers(0, n))
        if w != v:
            edges.add((v, w, bool(rng.random() < 0.33)))
    return edges


def deep_tree(rng, n):
    """A deep random tree of calls (each node depends on its children), plus
    a few shortcuts to far descendants."""
    parent = [None] + [int(rng.integers(max(0, v - 4), v)) for v in range(1, n)]
    edges = {(parent[v], v, False) for v in range(1, n)}
    for _ in range(n // 10):
        a, b = sorted(rng.integers(0, n, 2).tolist())
        if a != b:
            edges.add((a, b, False))
    return edges


SHAPES = {"layered": layered, "hubs": hubs, "ring": ring, "deep-tree": deep_tree}


def spread_lists(n, edges):
    out = [[] for _ in range(n)]
    for f, t, bi in edges:
        out[t].append(f)
        if bi:
            out[f].append(t)
    return out


def write_topology(path, names, edges):
    doc = {"nodes": [{"id": x} for x in names],
           "edges": [dict({"from": names[f], "to": names[t]}, **({"bidirectional": True} if bi else {}))
                     for f, t, bi in sorted(edges)]}
    with open(path, "w") as f:
        json.dump(doc, f)


# ----------------------------------------------------------------- incidents

def slog(x):
    return np.sign(x) * np.log1p(np.abs(x))


def unslog(y):
    return np.sign(y) * np.expm1(np.abs(y))


class Pools:
    """Real rows by class, for drawing."""

    def __init__(self, x, labels):
        self.x = x
        self.by_class = {c: np.flatnonzero(labels == c) for c in sorted(set(labels.tolist()))}
        self.faults = [c for c in self.by_class if c != NORMAL]

    def row(self, rng, cls):
        idx = self.by_class[cls]
        return self.x[idx[int(rng.integers(0, len(idx)))]]

    def blend(self, rng, cls, strength):
        n, f = self.row(rng, NORMAL), self.row(rng, cls)
        out = unslog(slog(n) + strength * (slog(f) - slog(n)))
        out = np.where(np.isnan(n), f, out)
        return np.where(np.isnan(f), n, out)


def spread_from(rng, spread, root, t0):
    """onset and strength of every node the fault reaches from root."""
    onset, strength = {root: t0}, {root: 1.0}
    frontier = [root]
    while frontier:
        nxt = []
        for u in frontier:
            for v in spread[u]:
                if v in onset or rng.random() >= 0.85:
                    continue
                s = strength[u] * rng.uniform(0.6, 1.0)
                if s < 0.3:
                    continue
                onset[v] = onset[u] + rng.lognormal(math.log(35), 0.5)
                strength[v] = s
                nxt.append(v)
        frontier = nxt
    return onset, strength


def incident_rows(rng, pools, names, spread, k, fmt_row):
    """The rows of incident k and its truth (root, fault)."""
    n = len(names)
    t0 = 1_800_000_000 + 7200 * k
    root = int(rng.integers(0, n))
    fault = pools.faults[int(rng.integers(0, len(pools.faults)))]
    symptom = fault if rng.random() < 0.3 else pools.faults[int(rng.integers(0, len(pools.faults)))]
    onset, strength = spread_from(rng, spread, root, t0)
    rogue = None
    if rng.random() < 0.6:
        rest = [v for v in range(n) if v not in onset]
        if rest:
            rogue = (int(rng.choice(rest)), t0 + rng.uniform(-60, 240),
                     pools.faults[int(rng.integers(0, len(pools.faults)))], rng.uniform(0.5, 1.0))
    lines = []
    for v in range(n):
        if v != root and rng.random() < 0.15:
            continue  # unobserved
        interval, skew = rng.uniform(30, 60), rng.uniform(-40, 40)
        first = t0 - rng.uniform(0.5, 2.0) * interval
        for r in range(int(rng.integers(3, 6))):
            t = first + r * interval
            if v == root and t >= t0:
                x = pools.row(rng, fault)
            elif v in onset and t >= onset[v]:
                x = pools.blend(rng, symptom, strength[v])
            elif rogue and v == rogue[0] and t >= rogue[1]:
                x = pools.blend(rng, rogue[2], rogue[3])
            else:
                x = pools.row(rng, NORMAL)
            lines.append((t + skew, fmt_row(k, names[v], int(round(t + skew)), x)))
    lines.sort(key=lambda p: p[0])
    return [line for _, line in lines], (names[root], fault)


def fmt_value(v):
    return "" if math.isnan(v) else repr(float(v))


def write_incidents(rng, pools, names, spread, count, first, kpi_names, csv_path, truth_path):
    def fmt_row(k, node, ts, x):
        return f"inc-{k:05d},{node},{ts}," + ",".join(fmt_value(v) for v in x)

    with open(csv_path, "w") as f, open(truth_path, "w") as g:
        f.write("incident_id,node,timestamp," + ",".join(kpi_names) + "\n")
        g.write("incident_id,root_node,root_fault\n")
        for k in range(first, first + count):
            lines, (root, fault) = incident_rows(rng, pools, names, spread, k, fmt_row)
            f.write("\n".join(lines) + "\n")
            g.write(f"inc-{k:05d},{root},{fault}\n")


# ------------------------------------------------------------------- scoring

def baseline_ranks(incident, key):
    nodes = [x for x in incident["nodes"]]
    nodes.sort(key=key)
    return [(x["node"], x["fault"]) for x in nodes[:5]]


def most_anomalous(x):
    return (-x["anomaly"], -(x["confidence"] or 0))


def earliest_onset(x):
    if x["abnormal"] and x["onset_seconds"] is not None:
        return (0, x["onset_seconds"], -x["anomaly"])
    return (1, 0, -x["anomaly"])


def score(ranked, truth):
    """top-1/3/5, fault accuracy when rank 1 is right, mean rank (misses = 6)."""
    hits = {1: 0, 3: 0, 5: 0}
    right = fault_right = 0
    rank_sum = 0
    for inc, roots in truth.items():
        ranks = ranked.get(inc, [])
        best = next((i + 1 for i, (node, _) in enumerate(ranks) if node in roots), 6)
        rank_sum += min(best, 6)
        for k in hits:
            hits[k] += best <= k
        if best == 1:
            right += 1
            fault_right += ranks[0][1] == roots[ranks[0][0]]
    n = len(truth)
    return {"top1": hits[1] / n, "top3": hits[3] / n, "top5": hits[5] / n,
            "fault": fault_right / right if right else float("nan"), "mean_rank": rank_sum / n}


def read_truth(path):
    truth = {}
    with open(path) as f:
        next(f)
        for line in f:
            inc, node, fault = line.rstrip("\n").split(",")
            truth.setdefault(inc, {})[node] = fault
    return truth


def run(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default=os.path.join(here, "..", "..", "shared", "data"))
    ap.add_argument("--out", default=os.path.join(here, "out", "rca_real"))
    ap.add_argument("--healer", default=os.environ.get("HEALER", os.path.join(here, "..", "build", "healer")))
    ap.add_argument("--incidents", type=int, default=300, help="per topology shape")
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--quick", action="store_true", help="60 incidents per shape")
    args = ap.parse_args()
    if args.quick:
        args.incidents = 60
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    table, _ = benchdata.clean_real(benchdata.read_table(os.path.join(args.data_dir, "train_10000.csv")))
    order = rng.permutation(len(table.lines))
    half = len(order) // 2
    train, pool = benchdata.subset(table, np.sort(order[:half])), benchdata.subset(table, np.sort(order[half:]))
    train_csv = os.path.join(args.out, "train.csv")
    benchdata.write_csv(train, train_csv)
    model = os.path.join(args.out, "node.model")
    run([args.healer, "train", "--data", train_csv, "--model", model, "--normal", NORMAL])
    pools = Pools(pool.x, pool.labels)
    kpis = benchdata.feature_names(table)

    rows, first = [], 0
    for shape, make in SHAPES.items():
        n_nodes = [20, 50, 120, 300]
        per = max(1, args.incidents // len(n_nodes))
        truth, ranked = {}, {"healer": {}, "most anomalous": {}, "earliest onset": {}}
        seconds = 0.0
        for n in n_nodes:
            names = [f"{shape}-{i}" for i in range(n)]
            edges = make(rng, n)
            stem = os.path.join(args.out, f"{shape}-{n}")
            write_topology(stem + ".json", names, edges)
            write_incidents(rng, pools, names, spread_lists(n, edges), per, first, kpis,
                            stem + "-incidents.csv", stem + "-truth.csv")
            first += per
            started = time.perf_counter()
            out = run([args.healer, "rca", "--model", model, "--topology", stem + ".json",
                       "--data", stem + "-incidents.csv", "--out", stem + "-ranks.csv",
                       "--normal", NORMAL, "--json"])
            seconds += time.perf_counter() - started
            result = json.loads(out.stdout)
            truth.update(read_truth(stem + "-truth.csv"))
            for inc in result["incidents"]:
                ranked["healer"][inc["incident_id"]] = [(r["node"], r["fault"]) for r in inc["ranks"]]
                ranked["most anomalous"][inc["incident_id"]] = baseline_ranks(inc, most_anomalous)
                ranked["earliest onset"][inc["incident_id"]] = baseline_ranks(inc, earliest_onset)
            ev = json.loads(run([args.healer, "rca-eval", "--ranks", stem + "-ranks.csv",
                                 "--truth", stem + "-truth.csv", "--json"]).stdout)
            mine = score({k: ranked["healer"][k] for k in read_truth(stem + "-truth.csv")},
                         read_truth(stem + "-truth.csv"))
            if abs(ev["top1"] - mine["top1"]) > 1e-9:
                sys.exit(f"rca-eval and this script disagree on {stem}: {ev['top1']} vs {mine['top1']}")
        for method, r in ranked.items():
            rows.append((shape, method, score(r, truth), len(truth), seconds if method == "healer" else None))

    print("| shape | method | incidents | top-1 | top-3 | top-5 | fault when node right | mean rank | rca seconds |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for shape, method, s, n, secs in rows:
        print(f"| {shape} | {method} | {n} | {s['top1']:.3f} | {s['top3']:.3f} | {s['top5']:.3f} | "
              f"{s['fault']:.3f} | {s['mean_rank']:.2f} | {'' if secs is None else f'{secs:.2f}'} |")
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump([{"shape": a, "method": b, **c, "incidents": d} for a, b, c, d, _ in rows], f, indent=1)


if __name__ == "__main__":
    main()
