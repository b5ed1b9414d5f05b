#!/usr/bin/env python3
"""rca.py - root-cause analysis on simulated incidents: accuracy per
topology shape against two baselines, and speed.

Everything comes from `healer simulate` (one system, --system-seed 42):
  - the node classifier: a training file of that system (--train-out,
    4,000 rows, string labels) trained by `healer train` at its defaults;
  - per shape (chain, tree, mesh, microservices): topologies of 20, 50, 200
    and 500 nodes, a quarter of the incidents on each (>= 500 per shape by
    default), with the simulator's defaults (10 % unobserved nodes, one
    unrelated weak anomaly per incident on average, +-30 s clock skew, 4
    samples per node 30-60 s apart), plus a row of microservice incidents
    with a second simultaneous root in 20 % of them;
  - `healer rca --json` on each, scored by `healer rca-eval` (incident ids
    prefixed per topology so one ranks file and one truth file per shape)
    and, in the same run from the same JSON's per-node data, two baselines:
    "most confident abnormal node" (abnormal nodes by anomaly, ties by the
    classifier's confidence) and "earliest onset" (abnormal nodes by
    onset_seconds, ties by anomaly), each cut to 5 ranks like healer's and
    scored with rca-eval's rules (a root not ranked counts as ranks + 1);
  - speed: 1,000 incidents on a 500-node microservice topology (target
    10 s) and 1 incident on 10,000 nodes (target 1 s), `healer rca`
    without --json, wall and processor seconds (the machine is shared).

The targets are the issue's: top-1 >= 0.90, top-3 >= 0.98 and the
fault right in >= 0.80 of the incidents whose node is right, over all four
shapes together; the section says whether each is met overall, and shows
every shape's figures against the same thresholds, marking the ones below
(the issue asks for the figures per shape too). Each speed row says
whether its target is met.

Writes bench/out/rca.json and the "rca" section of docs/benchmarks.md
(<!-- rca --> markers); --quick (or BENCH_QUICK=1): 40 incidents per
shape on 20 and 50 nodes, 100 timed incidents, bench/out/rca-quick.{json,md}
and the docs untouched. --render JSON re-renders the section from a saved
result (bench/out/rca.json, or rca-quick.json into rca-quick.md) without
running anything, for a change of the report alone.

Usage: nice /usr/bin/python3 bench/rca.py [--incidents 500] [--quick] [--entry CMD]
       /usr/bin/python3 bench/rca.py --render bench/out/rca.json
"""

import argparse
import csv
import datetime
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from report import write_section  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEALER = os.environ.get("HEALER", os.path.join(REPO, "build", "healer"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
SHAPES = ("chain", "tree", "mesh", "microservices")
SYSTEM_SEED = 42
TOP = 5
TARGETS = {"top1": 0.90, "top3": 0.98, "fault_accuracy": 0.80}
TARGET_NAMES = (("top1", "top-1"), ("top3", "top-3"),
                ("fault_accuracy", "fault right when the node is right"))
# Seconds allowed for 1,000 incidents on 500 nodes and for 1 incident on
# 10,000 (a quick run times fewer incidents against a pro-rata target).
SPEED_TARGETS = {"many": 10.0 / 1000, "huge": 1.0}


def healer(*args, capture=True):
    """Runs build/healer; returns (stdout, wall seconds, processor seconds)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([HEALER] + [str(a) for a in args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        sys.exit("bench/rca.py: healer %s failed (%d): %s"
                 % (" ".join(map(str, args[:2])), p.returncode, p.stderr.strip()))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (p.stdout if capture else None), wall, cpu


def topology(tmp, shape, nodes, seed):
    path = os.path.join(tmp, "%s-%d-%d.json" % (shape, nodes, seed))
    healer("simulate", "--topology-shape", shape, "--nodes", nodes, "--out", path,
           "--seed", seed)
    return path


def incidents(tmp, topo, n, seed, *extra):
    base = os.path.join(tmp, "inc-%d" % seed)
    healer("simulate", "--topology", topo, "--incidents", n, "--out", base + ".csv",
           "--truth", base + "-truth.csv", "--seed", seed, "--system-seed", SYSTEM_SEED,
           *extra)
    return base + ".csv", base + "-truth.csv"


def train_model(tmp):
    """The node classifier, from a training file of the benchmark's system."""
    topo = topology(tmp, "chain", 2, 1)
    train = os.path.join(tmp, "train.csv")
    incidents(tmp, topo, 1, 1, "--train-out", train, "--train-samples", 4000)
    model = os.path.join(tmp, "node.model")
    out, wall, _ = healer("train", "--data", train, "--model", model, "--threads", THREADS,
                          "--json")
    validation = json.loads(out)["summary"]["validation"]
    return model, {"seconds": wall, "accuracy": validation["accuracy"],
                   "samples": validation["samples"]}


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- baselines ---------------------------------------------------------------

def most_confident(inc):
    ab = [n for n in inc["nodes"] if n["abnormal"]]
    ab.sort(key=lambda n: (-n["anomaly"], -(n["confidence"] or 0), n["node"]))
    return [(n["node"], n["fault"]) for n in ab[:TOP]]


def earliest_onset(inc):
    ab = [n for n in inc["nodes"] if n["abnormal"] and n["onset_seconds"] is not None]
    ab.sort(key=lambda n: (n["onset_seconds"], -n["anomaly"], n["node"]))
    return [(n["node"], n["fault"]) for n in ab[:TOP]]


def score(ranked, truth):
    """rca-eval's rules over {incident: [(node, fault), ...]} and the truth
    rows: top-k shares, fault accuracy when the rank-1 node is a root, mean
    best rank (a root not ranked = the incident's ranks + 1)."""
    roots = {}
    for t in truth:
        roots.setdefault(t["incident_id"], {})[t["root_node"]] = t["root_fault"]
    hits = {1: 0, 3: 0, 5: 0}
    node_right = fault_right = 0
    rank_sum = 0
    for iid, want in roots.items():
        ranks = ranked.get(iid, [])
        best = next((i + 1 for i, (node, _) in enumerate(ranks) if node in want),
                    len(ranks) + 1)
        rank_sum += best
        for k in hits:
            hits[k] += best <= k
        if ranks and ranks[0][0] in want:
            node_right += 1
            fault_right += ranks[0][1] == want[ranks[0][0]]
    n = len(roots)
    return {"incidents": n, "top1": hits[1] / n, "top3": hits[3] / n, "top5": hits[5] / n,
            "node_right": node_right,
            "fault_accuracy": fault_right / node_right if node_right else None,
            "mean_rank": rank_sum / n}


# --- one shape -----------------------------------------------------------------

def run_set(tmp, model, shape, sizes, per_topology, seed, extra=()):
    """Incidents on one topology per size; returns the prefixed ranks and
    truth rows, the per-node JSON of every incident, and the time rca took."""
    ranks_rows, truth_rows, inc_json = [], [], []
    seconds = cpu = 0.0
    for k, nodes in enumerate(sizes):
        topo = topology(tmp, shape, nodes, seed + k)
        data, truth = incidents(tmp, topo, per_topology, seed * 10 + k, *extra)
        ranks = data + ".ranks.csv"
        out, wall, c = healer("rca", "--model", model, "--topology", topo, "--data", data,
                              "--out", ranks, "--json", "--top", TOP, "--threads", THREADS)
        seconds += wall
        cpu += c
        prefix = "n%d-" % nodes
        for r in read_csv(ranks):
            r["incident_id"] = prefix + r["incident_id"]
            ranks_rows.append(r)
        for t in read_csv(truth):
            t["incident_id"] = prefix + t["incident_id"]
            truth_rows.append(t)
        for inc in json.loads(out)["incidents"]:
            inc["incident_id"] = prefix + inc["incident_id"]
            inc_json.append(inc)
        os.remove(data)
    return ranks_rows, truth_rows, inc_json, seconds, cpu


def write_rows(path, rows, header):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)


def rca_eval(tmp, name, ranks_rows, truth_rows):
    ranks = os.path.join(tmp, name + "-ranks.csv")
    truth = os.path.join(tmp, name + "-truth.csv")
    write_rows(ranks, ranks_rows, ["incident_id", "rank", "node", "fault", "score", "onset",
                                   "path"])
    write_rows(truth, truth_rows, ["incident_id", "root_node", "root_fault"])
    out, _, _ = healer("rca-eval", "--ranks", ranks, "--truth", truth, "--json")
    return json.loads(out)


def evaluate(tmp, name, ranks_rows, truth_rows, inc_json):
    result = {"healer": rca_eval(tmp, name, ranks_rows, truth_rows)}
    for base, fn in (("most_confident", most_confident), ("earliest_onset", earliest_onset)):
        result[base] = score({inc["incident_id"]: fn(inc) for inc in inc_json}, truth_rows)
    result["mean_abnormal"] = (sum(inc["abnormal"] for inc in inc_json)
                               / max(1, len(inc_json)))
    return result


# --- speed ---------------------------------------------------------------------

def speed(tmp, model, nodes, n, seed, repeats):
    topo = topology(tmp, "microservices", nodes, seed)
    data, _ = incidents(tmp, topo, n, seed)
    size = os.path.getsize(data)
    best = None
    for _ in range(repeats):
        _, wall, cpu = healer("rca", "--model", model, "--topology", topo, "--data", data,
                              "--out", data + ".ranks.csv", "--threads", THREADS,
                              capture=False)
        if best is None or wall < best["seconds"]:
            best = {"seconds": wall, "cpu_seconds": cpu}
    with open(data, "rb") as f:
        rows = sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 24), b"")) - 1
    os.remove(data)
    best.update({"nodes": nodes, "incidents": n, "csv_bytes": size, "csv_rows": rows})
    return best


# --- report --------------------------------------------------------------------

def fmt(x, digits=3):
    return "-" if x is None else ("%.*f" % (digits, x))


def table(results):
    lines = ["| incidents | method | top-1 | top-3 | top-5 | fault right (node right) "
             "| mean rank |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    names = (("healer", "**healer rca**"), ("most_confident", "most confident abnormal node"),
             ("earliest_onset", "earliest onset"))
    for label, r in results:
        for key, name in names:
            s = r[key]
            lines.append("| %s (%d) | %s | %s | %s | %s | %s (%d) | %s |"
                         % (label, s["incidents"], name, fmt(s["top1"]), fmt(s["top3"]),
                            fmt(s["top5"]), fmt(s["fault_accuracy"]), s["node_right"],
                            fmt(s["mean_rank"], 2)))
    return lines


def below(s, key):
    """True when figure `key` of scores s is under its target's threshold
    (a fault accuracy never measured, no node being right, counts as under)."""
    return s[key] is None or s[key] < TARGETS[key]


def versus_target(s, key):
    """A figure beside its threshold: "0.988 >= 0.90", "**0.888 < 0.90**"."""
    if below(s, key):
        return "**%s < %.2f**" % (fmt(s[key]), TARGETS[key])
    return "%s >= %.2f" % (fmt(s[key]), TARGETS[key])


def targets_text(res):
    """The overall verdicts, then every shape's figure under a threshold."""
    overall = res["overall"]["healer"]
    verdicts = ", ".join("%s >= %.2f %s (%s)"
                         % (name, TARGETS[key], "**missed**" if below(overall, key) else "met",
                            fmt(overall[key]))
                         for key, name in TARGET_NAMES)
    short = [("%s %s %s < %.2f" % (shape, name, fmt(res["shapes"][shape]["healer"][key]),
                                   TARGETS[key]))
             for shape in res["shape_order"] for key, name in TARGET_NAMES
             if below(res["shapes"][shape]["healer"], key)]
    return ("Targets: the issue sets them over all four shapes together, and overall "
            "they are: %s. Per shape, against the same thresholds (table below; the "
            "issue asks for the figures per shape, not for a target per shape): %s."
            % (verdicts, ("**below** for " + "; ".join(short)) if short
               else "every shape is at or above every threshold"))


def shape_table(res):
    lines = ["| shape (incidents) | %s |" % " | ".join(name for _, name in TARGET_NAMES),
             "| --- |%s" % (" ---: |" * len(TARGET_NAMES))]
    for shape in res["shape_order"]:
        s = res["shapes"][shape]["healer"]
        lines.append("| %s (%d) | %s |" % (shape, s["incidents"], " | ".join(
            versus_target(s, key) for key, _ in TARGET_NAMES)))
    s = res["overall"]["healer"]
    lines.append("| all four shapes (%d): the targets | %s |" % (s["incidents"], " | ".join(
        versus_target(s, key) for key, _ in TARGET_NAMES)))
    return lines


def speed_target(key, s):
    """Seconds allowed for the speed row (pro rata for a quick run's
    fewer incidents)."""
    return SPEED_TARGETS[key] * (s["incidents"] if key == "many" else 1)


def speed_text(res):
    parts = []
    for key, what in (("many", "%s incidents on %s nodes"), ("huge", "%s incident on %s nodes")):
        s = res["speed"][key]
        target = speed_target(key, s)
        met = s["seconds"] < target
        parts.append("%s in under %.3g s %s (%.2f s%s)"
                     % (what % ("{:,}".format(s["incidents"]), "{:,}".format(s["nodes"])),
                        target, "met" if met else "**missed**", s["seconds"],
                        "" if met else ", %.2f times the target" % (s["seconds"] / target)))
    return "Speed targets: %s." % "; ".join(parts)


def render(a, res):
    overall = res["overall"]["healer"]
    many = res["speed"]["many"]
    rows = [("%s" % s, res["shapes"][s]) for s in res["shape_order"]]
    rows.append(("all four shapes", res["overall"]))
    if "two_roots" in res:
        rows.append(("microservices, 20 % two roots", res["two_roots"]))
    lines = [
        "<!-- rca -->",
        "## Root-cause analysis",
        "",
        "Produced by `%s` on %s (%.1f min); load average %.1f / %.1f / %.1f when it started, "
        "%.1f / %.1f / %.1f when it ended (2 shared cores). All data from `healer simulate`: "
        "one system (32 KPIs, 6 classes, system seed %d), a node classifier trained by "
        "`healer train` at its defaults on 4,000 rows of it (`--train-out`, %.1f s), and per "
        "shape %d incidents on topologies of %s nodes (a quarter on each), with the "
        "simulator's defaults: 10 %% of the nodes unobserved, on average one unrelated weak "
        "anomaly per incident, clocks skewed by up to +-30 s, 4 samples per node 30-60 s "
        "apart, faults that spread with a delay of 10-60 s and lose strength per hop, a "
        "victim showing the root's fault or its symptom class. `healer rca --json --top %d` "
        "on each, scored by `healer rca-eval`; the two baselines are computed from the same "
        "JSON's per-node data in the same run, cut to %d ranks like healer's: \"most "
        "confident abnormal node\" (highest anomaly, ties by confidence) and \"earliest "
        "onset\" (earliest onset_seconds among the abnormal nodes). A root not ranked counts "
        "as ranks + 1 in the mean rank. Mean abnormal nodes per incident: %s."
        % (res.get("entry", a.entry), res["date"], res["minutes"], *res["load"], *res["load_end"], SYSTEM_SEED,
           res["classifier"]["seconds"], res["per_shape"], "/".join(map(str, res["sizes"])), TOP, TOP,
           ", ".join("%s %.1f" % (s, res["shapes"][s]["mean_abnormal"])
                     for s in res["shape_order"])),
        "",
    ]
    lines += table(rows)
    lines += ["", targets_text(res), ""]
    lines += shape_table(res)
    lines += [
        "",
        speed_text(res),
        "",
        "| speed | nodes | incidents | incident CSV | seconds | processor seconds "
        "| target | seconds / target | target met |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for key, name in (("many", "many incidents"), ("huge", "one large topology")):
        s = res["speed"][key]
        target = speed_target(key, s)
        lines.append("| %s | %d | %d | %.1f MB | %.2f | %.2f | %.3g s | %.2f | %s |"
                     % (name, s["nodes"], s["incidents"], s["csv_bytes"] / 1e6, s["seconds"],
                        s["cpu_seconds"], target, s["seconds"] / target,
                        "met" if s["seconds"] < target else "**missed**"))
    clf = res["classifier"]
    fault = overall["fault_accuracy"]
    lines += [
        "",
        "- `healer rca` without `--json`, %d threads, best of %d; the time includes reading "
        "the model, the topology and the incident CSV (%s rows x 32 KPIs, %.0f MB, in the "
        "many-incidents run). Microservice topologies (the speed runs use fresh incidents "
        "of the same system)." % (THREADS, res["repeats"], "{:,}".format(many["csv_rows"]),
                                  many["csv_bytes"] / 1e6),
        "- The node classifier scores %.3f accuracy on its %d held-out training rows%s"
        % (clf["accuracy"], clf["samples"],
           ", and the root's fault is right in %.3f of the incidents whose node is: at full "
           "strength (a root) the simulated fault signatures are far apart, so this table "
           "measures the choice of the node. Real faults overlap more; `bench/rca_real.py` "
           "(real KPI rows of the reference data, its own topologies and propagation rules) "
           "is the harder test." % fault if fault is not None and fault >= 0.99 else "."),
        "- What a simulator can show: that the three signals (each node's diagnosis, the "
        "order of onsets, the topology) are combined as intended on incidents that follow "
        "the simulator's own model of spreading. It cannot show accuracy on real "
        "incidents, where faults do not follow one propagation rule, topologies are "
        "incomplete and the classifier has not seen the faults; published methods report "
        "top-1 of about 0.5-0.85 on real microservice benchmarks (RCAEval, AIOps 2020).",
        "",
        "<!-- /rca -->",
    ]
    return "\n".join(lines)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--incidents", type=int, default=500, help="per shape (>= 4)")
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("BENCH_QUICK") == "1")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--entry", default="nice /usr/bin/python3 bench/rca.py")
    ap.add_argument("--docs", default=os.path.join(REPO, "docs", "benchmarks.md"))
    ap.add_argument("--render", metavar="JSON",
                    help="re-render the section from a saved result; nothing runs")
    a = ap.parse_args(argv)
    if a.render:
        return render_saved(a)
    if a.incidents < 4:
        ap.error("--incidents must be at least 4 (one per topology size)")
    sizes = [20, 50] if a.quick else [20, 50, 200, 500]
    per_shape = 40 if a.quick else a.incidents
    per_topology = math.ceil(per_shape / len(sizes))
    repeats = 1 if a.quick else a.repeats
    started = time.time()
    res = {"entry": a.entry, "quick": a.quick,
           "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
           "load": list(os.getloadavg()), "sizes": sizes, "per_shape": per_topology * len(sizes),
           "shape_order": list(SHAPES), "shapes": {}, "repeats": repeats}
    all_ranks, all_truth, all_json = [], [], []
    with tempfile.TemporaryDirectory(prefix="healer-rca-bench-") as tmp:
        model, res["classifier"] = train_model(tmp)
        for i, shape in enumerate(SHAPES):
            ranks, truth, inc, secs, cpu = run_set(tmp, model, shape, sizes, per_topology,
                                                   100 + 10 * i)
            res["shapes"][shape] = evaluate(tmp, shape, ranks, truth, inc)
            res["shapes"][shape].update({"rca_seconds": secs, "rca_cpu_seconds": cpu})
            all_ranks += [dict(r, incident_id=shape + "-" + r["incident_id"]) for r in ranks]
            all_truth += [dict(t, incident_id=shape + "-" + t["incident_id"]) for t in truth]
            all_json += [dict(x, incident_id=shape + "-" + x["incident_id"]) for x in inc]
            print(shape, json.dumps(res["shapes"][shape]["healer"]), file=sys.stderr)
        res["overall"] = evaluate(tmp, "overall", all_ranks, all_truth, all_json)
        ranks, truth, inc, _, _ = run_set(tmp, model, "microservices", [200],
                                          per_topology, 900, ("--two-roots", "0.2"))
        res["two_roots"] = evaluate(tmp, "two-roots", ranks, truth, inc)
        res["speed"] = {
            "many": speed(tmp, model, 500, 100 if a.quick else 1000, 7, repeats),
            "huge": speed(tmp, model, 10000, 1, 8, repeats),
        }
    res["load_end"] = list(os.getloadavg())
    res["minutes"] = (time.time() - started) / 60
    out_dir = os.path.join(REPO, "bench", "out")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, ("rca-quick" if a.quick else "rca") + ".json"), "w") as f:
        json.dump(res, f, indent=1)
    publish(a, res)


def publish(a, res):
    """Prints the section and writes it: a quick run's to
    bench/out/rca-quick.md, a full run's into the docs."""
    block = render(a, res)
    print(block)
    if res.get("quick"):
        out_dir = os.path.join(REPO, "bench", "out")
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, "rca-quick.md"), "w") as f:
            f.write(block + "\n")
        return
    write_section(a.docs, "rca", block)


def render_saved(a):
    """--render: the section of a result saved by an earlier run. A result
    saved before "quick" was recorded is told by its sizes (a quick run
    has no 200- or 500-node topologies)."""
    try:
        with open(a.render) as f:
            res = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit("bench/rca.py: cannot read %s: %s" % (a.render, e))
    res.setdefault("quick", max(res.get("sizes", [0])) < 200)
    publish(a, res)


if __name__ == "__main__":
    main(sys.argv[1:])
