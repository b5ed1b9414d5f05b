#!/usr/bin/env python3
"""drift_check.py - calibration of the drift checks on the reference data.

The check's promise (include/healer/drift.h): rows from the distribution a
model was trained on say `none`, shifted data is found. This script holds
it to that on ../shared/data and on simulated systems, and fails (exit 1)
when a calibration target is missed:

  1. a model trained on the whole train_10000.csv, checked against random
     halves of that file (20 seeds): every half must say `none` with at
     most one significant KPI (the target of issue 9);
  2. smaller random batches of it (50 to 1,000 rows, 50 draws each): a
     batch of the training distribution may raise a false alarm at most
     5 % of the time (the family-wise rate is 1 %);
  3. a stricter null: a model trained on a random half of the distinct
     events, checked against the other half (neither is a sample of the
     other, as deployment data would be): must say `none`;
  4. test_2000_x.csv, deployment data of the same system known to be
     strongly shifted (about 28 KPIs changed scale completely): what it
     says, the KPIs whose distribution moved almost entirely (KS > 0.9),
     and the constant KPIs 57, 77 and 100 (no NaN, no alarm while they
     stay 0);
  5. the simulator's shifted files over 30 systems: the share of the KPIs
     moved on purpose that are found, and of the others that are flagged.

Writes bench/out/drift.json and the section between <!-- drift --> and
<!-- /drift --> of docs/benchmarks.md (bench/compare.py keeps it).

Usage: /usr/bin/python3 bench/drift_check.py [--entry "make bench"] [--quick]
       HEALER=build/healer BENCH_DATA_DIR=../shared/data BENCH_OUT=bench/out
"""
import argparse
import csv
import datetime
import json
import os
import random
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from report import with_section  # noqa: E402

HEALER = os.environ.get("HEALER", os.path.join(REPO, "build", "healer"))
DATA = os.environ.get("BENCH_DATA_DIR", os.path.join(REPO, "..", "shared", "data"))
OUT = os.environ.get("BENCH_OUT", os.path.join(REPO, "bench", "out"))
DOCS = os.path.join(REPO, "docs", "benchmarks.md")
TRAIN = os.path.join(DATA, "train_10000.csv")
TEST = os.path.join(DATA, "test_2000_x.csv")


def healer(*args):
    p = subprocess.run([HEALER] + [str(a) for a in args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit("healer %s failed (exit %d): %s" % (args[0], p.returncode, p.stderr.strip()))
    return p


def drift(model, data):
    t0 = time.perf_counter()
    out = healer("drift", "--model", model, "--data", data, "--json", "--threads", "2").stdout
    d = json.loads(out)
    d["seconds"] = time.perf_counter() - t0
    return d


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def summary(d):
    sig = [k for k in d["kpis"] if k["significant"]]
    return {
        "verdict": d["verdict"], "rows": d["rows"], "significant": len(sig),
        "max_ks_over_critical": max(k["ks"] / k["ks_critical"] for k in d["kpis"]),
        "max_psi": max(k["psi"] for k in d["kpis"]),
    }


def halves(tmp, model, header, rows, seeds):
    out = []
    for seed in range(seeds):
        half = random.Random(seed).sample(rows, len(rows) // 2)
        path = os.path.join(tmp, "half.csv")
        write_csv(path, header, half)
        out.append(dict(summary(drift(model, path)), seed=seed))
    return out


def small_batches(tmp, model, header, rows, sizes, draws):
    out = []
    for n in sizes:
        alarms = significant = 0
        for seed in range(draws):
            path = os.path.join(tmp, "batch.csv")
            write_csv(path, header, random.Random(1000 * n + seed).sample(rows, n))
            s = summary(drift(model, path))
            alarms += s["verdict"] != "none"
            significant += s["significant"]
        out.append({"rows": n, "draws": draws, "alarms": alarms, "significant_kpis": significant})
    return out


def split_events(tmp, header, rows, seeds):
    """Train on half of the distinct events (copies stay together), check
    the other half."""
    label = header.index("label")
    groups = {}
    for r in rows:
        groups.setdefault(tuple(r[1:label] + r[label + 1:]), []).append(r)
    keys = sorted(groups)
    out = []
    for seed in range(seeds):
        random.Random(seed).shuffle(keys)
        a = [r for k in keys[:len(keys) // 2] for r in groups[k]]
        b = [r for k in keys[len(keys) // 2:] for r in groups[k]]
        pa, pb, pm = (os.path.join(tmp, n) for n in ("a.csv", "b.csv", "a.model"))
        write_csv(pa, header, a)
        write_csv(pb, header, b)
        healer("train", "--data", pa, "--model", pm, "--rounds", "5", "--threads", "2")
        out.append(dict(summary(drift(pm, pb)), seed=seed, train_rows=len(a)))
    return out


def deployment(model):
    d = drift(model, TEST)
    by_name = {k["kpi"]: k for k in d["kpis"]}
    return dict(
        summary(d),
        levels={lv: sum(k["level"] == lv for k in d["kpis"]) for lv in ("none", "moderate", "severe")},
        scale_changed=sum(k["ks"] > 0.9 for k in d["kpis"]),
        worst=[{"kpi": k["kpi"], "psi": k["psi"], "ks": k["ks"]} for k in d["kpis"][:5]],
        constant={n: by_name["feature%d" % n] for n in (57, 77, 100)},
        seconds=d["seconds"],
    )


def simulated(tmp, systems):
    found = shifted = flagged = others = held_alarms = 0
    for seed in range(1, systems + 1):
        a, b, m = (os.path.join(tmp, n) for n in ("s.csv", "s-shift.csv", "s.model"))
        p = healer("simulate", "--out", a, "--samples", 2000, "--features", 32, "--seed", seed,
                   "--shift-out", b)
        moved = set(p.stderr.strip().splitlines()[-1].split(":")[1].split())
        header, rows = read_csv(a)
        train, held = os.path.join(tmp, "s-train.csv"), os.path.join(tmp, "s-held.csv")
        write_csv(train, header, rows[:1000])
        write_csv(held, header, rows[1000:])
        healer("train", "--data", train, "--model", m, "--rounds", 5, "--threads", 2)
        held_alarms += drift(m, held)["verdict"] != "none"
        for k in drift(m, b)["kpis"]:
            if k["kpi"] in moved:
                shifted += 1
                found += k["significant"]
            else:
                others += 1
                flagged += k["significant"]
    return {"systems": systems, "shifted": shifted, "found": found, "others": others,
            "flagged": flagged, "held_out_alarms": held_alarms}


def render(res):
    h, dep, sim = res["halves"], res["deployment"], res["simulated"]
    worst_half = max(h, key=lambda x: x["max_ks_over_critical"])
    lines = [
        "<!-- drift -->",
        "<!-- Written by bench/drift_check.py from bench/out/drift.json; "
        "bench/compare.py keeps this section as it is. -->",
        "## Drift",
        "",
        f"Produced by `{res['command']}` on {res['date']}: `healer drift` (rules in "
        "include/healer/drift.h, docs/cli.md) with a model trained on the whole "
        f"train_10000.csv ({res['reference_rows']:,} reference rows after duplicate "
        "collapsing).",
        "",
        "| check | batches | verdict none | significant KPIs | target |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| random halves of train_10000.csv ({h[0]['rows']:,} rows) | {len(h)} | "
        f"{sum(x['verdict'] == 'none' for x in h)} | max {max(x['significant'] for x in h)} | "
        "none, at most 1 significant: "
        f"**{'met' if res['halves_ok'] else 'MISSED'}** |",
    ]
    for b in res["small_batches"]:
        met = "met" if b["alarms"] <= 0.05 * b["draws"] else "MISSED"
        lines.append(f"| random {b['rows']:,} rows of it | {b['draws']} | "
                     f"{b['draws'] - b['alarms']} | {b['significant_kpis']} in all | "
                     f"false alarms <= 5 %: **{met}** |")
    s = res["split_events"]
    lines.append(f"| model on half the distinct events, the other half | {len(s)} | "
                 f"{sum(x['verdict'] == 'none' for x in s)} | max {max(x['significant'] for x in s)} | "
                 f"none: **{'met' if res['split_ok'] else 'MISSED'}** |")
    lines += [
        "",
        f"The halves come closest at KS {worst_half['max_ks_over_critical']:.2f} times its "
        f"critical value (seed {worst_half['seed']}) and PSI at most "
        f"{max(x['max_psi'] for x in h):.4f}, far from the lines.",
        "",
        f"**Deployment data** (test_2000_x.csv, {dep['rows']:,} rows): verdict "
        f"**{dep['verdict']}**, {dep['significant']} of 107 KPIs significant "
        f"({dep['levels']['severe']} severe, {dep['levels']['moderate']} moderate); "
        f"{dep['scale_changed']} KPIs moved almost entirely (KS > 0.9: the ones whose scale "
        "changed), e.g. " + ", ".join(f"{w['kpi']} (PSI {w['psi']:.2f}, KS {w['ks']:.3f})"
                                      for w in dep["worst"][:3]) +
        ". The constant KPIs 57, 77 and 100 stay 0 there: " +
        ", ".join(f"feature{n} PSI {k['psi']:g}, KS {k['ks']:g}"
                  for n, k in dep["constant"].items()) +
        f". The check took {dep['seconds'] * 1e3:.0f} ms for the whole command "
        "(loading the model and the CSV included).",
        "",
        f"**Simulated shift** (`healer simulate --shift-out`, {sim['systems']} systems of 32 "
        "KPIs, a model on 1,000 rows, 2,000 shifted rows): "
        f"{sim['found']} of {sim['shifted']} KPIs moved on purpose found "
        f"({100 * sim['found'] / sim['shifted']:.1f} %), {sim['flagged']} of {sim['others']} "
        f"others flagged ({100 * sim['flagged'] / sim['others']:.1f} %: they move too, "
        "through the changed class mix and load, by less); "
        f"{sim['held_out_alarms']} alarms on the 1,000 held-out rows of the training "
        "distribution. The KS floor (0.125) was chosen on these systems (at a family-wise "
        "0.05): with 0.1 the other KPIs were flagged 5 % of the time, with 0.125 under "
        "1 % and the moved ones still found 99 % of the time.",
        "",
        "How the tests were chosen, measured with random batches of 50 to 200 rows of "
        "train_10000.csv: testing PSI itself against its chi-square line (PSI is close "
        "to Pearson's statistic for small shifts) flagged most batches of 50 rows, because "
        "an empty bin counts as its epsilon, ln(share / 0.0001) times heavier than in "
        "Pearson's statistic; Pearson's statistic over the same bins, with one Bonferroni "
        "split over the two tests of each KPI, flagged 5 to 7 % of them at a family-wise "
        "0.05 and 0 to 2 % at 0.01, the rate kept (a report is shown with every diagnosis). "
        "The critical values on the reference data's halves grow by about 8 % with it; the "
        "simulated shifts above are found as before.",
        "",
        "<!-- /drift -->",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entry", default="/usr/bin/python3 bench/drift_check.py")
    ap.add_argument("--quick", action="store_true", help="fewer seeds and draws")
    args = ap.parse_args()
    for f in (HEALER, TRAIN, TEST):
        if not os.path.exists(f):
            sys.exit("missing %s" % f)
    q = args.quick
    header, rows = read_csv(TRAIN)
    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "full.model")
        healer("train", "--data", TRAIN, "--model", model, "--threads", "2")
        res = {
            "command": args.entry,
            "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "reference_rows": drift(model, TEST)["reference_rows"],
            "halves": halves(tmp, model, header, rows, 5 if q else 20),
            "small_batches": small_batches(tmp, model, header, rows,
                                           (50, 200) if q else (50, 100, 200, 500, 1000),
                                           10 if q else 50),
            "split_events": split_events(tmp, header, rows, 2 if q else 5),
            "deployment": deployment(model),
            "simulated": simulated(tmp, 5 if q else 30),
        }
    res["halves_ok"] = all(x["verdict"] == "none" and x["significant"] <= 1 for x in res["halves"])
    res["split_ok"] = all(x["verdict"] == "none" for x in res["split_events"])
    res["small_ok"] = all(b["alarms"] <= 0.05 * b["draws"] for b in res["small_batches"])
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "drift-quick.json" if q else "drift.json"), "w") as f:
        json.dump(res, f, indent=1)
    block = render(res)
    if q:
        print(block)
    else:
        with open(DOCS, encoding="utf-8") as f:
            page = f.read()
        with open(DOCS, "w", encoding="utf-8") as f:
            f.write(with_section(page, "drift", block))
        print("wrote the Drift section of %s" % os.path.relpath(DOCS, REPO))
    ok = res["halves_ok"] and res["split_ok"] and res["small_ok"]
    print("calibration: halves %s, small batches %s, split events %s" % tuple(
        "met" if res[k] else "MISSED" for k in ("halves_ok", "small_ok", "split_ok")))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
