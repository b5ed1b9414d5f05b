#!/usr/bin/env python3
"""results_page.py - stored diagnosis results: page, scatter and export times.

Runs build/bench/results_page (bench/results_page.c, built by `make
build/bench/results_page`), which writes the results of diagnoses of 10k,
100k and 1M rows in the service's paged format and times, through the
diagnoses service as the API calls it: page 1 and the last page (100 rows),
the scatter sample (5,000 points), the whole CSV export - and, for
comparison, what page 1 cost in the format used before (one JSON document
parsed whole). Writes bench/out/results_page.json and the section between
<!-- results_page --> and <!-- /results_page --> of docs/benchmarks.md
(bench/compare.py keeps it as it is).

Usage: /usr/bin/python3 bench/results_page.py [--entry "make bench"]
       BENCH_RESULTS_ROWS="10000 100000 1000000" to change the sizes.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
from report import with_section  # noqa: E402

BINARY = os.path.join(REPO, "build", "bench", "results_page")


def run(sizes):
    out = subprocess.run([BINARY] + [str(n) for n in sizes], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def render(res):
    lines = [
        "<!-- results_page -->",
        "<!-- Written by bench/results_page.py from bench/out/results_page.json; "
        "bench/compare.py keeps this section as it is. -->",
        "## Stored diagnosis results: reading a page",
        "",
        f"Produced by `{res['command']}` on {res['date']}"
        + (f" (load average {res['load']:.1f} on the 2 cores when it started)"
           if res.get("load") is not None else "")
        + ". A diagnosis's rows are "
        "stored in a paged binary format (src/service/domain/results.h): fixed-size "
        "row records, an index of sample ids, the 2-D projection, each at an offset "
        "the header gives, so a page costs a few preads whatever the diagnosis's size. "
        "Times are medians of 15 runs (the export: one run), through the diagnoses "
        "service exactly as `GET /api/v1/diagnoses/{id}` and its projection and "
        "download call it; \"before\" is page 1 in the format used until this change "
        "(one JSON document that every page request parsed whole). \"Filtered\" is "
        "page 1 of `?predicted=0&max_confidence=0.9`, which scans every row record.",
        "",
        "| rows | page 1 (100 rows) | last page | page 1 filtered | scatter, 5,000 points | "
        "CSV export | page 1 before | write |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in res["sizes"]:
        filtered = r.get("filtered_page1_ms")
        lines.append(
            f"| {r['rows']:,} | {r['page1_ms']:.2f} ms | {r['last_page_ms']:.2f} ms | "
            + (f"{filtered:.1f} ms" if filtered is not None else "-") + " | "
            f"{r['scatter_5000_ms']:.1f} ms | {r['export_csv_ms'] / 1e3:.2f} s | "
            f"{r['old_page1_ms'] / 1e3:.2f} s | {r['write_ms']:.0f} ms |")
    lines += ["", "<!-- /results_page -->"]
    return "\n".join(lines)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--entry", default="/usr/bin/python3 bench/results_page.py")
    args = p.parse_args(argv)
    if not os.access(BINARY, os.X_OK):
        print(f"{BINARY} not found: run `make build/bench/results_page`", file=sys.stderr)
        return 1
    sizes = [int(s) for s in os.environ.get("BENCH_RESULTS_ROWS",
                                            "10000 100000 1000000").split()]
    res = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": args.entry, "load": os.getloadavg()[0], "sizes": run(sizes)}
    out_dir = os.path.join(REPO, "bench", "out")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "results_page.json"), "w", encoding="utf-8") as f:
        json.dump(res, f, indent=1)
    docs = os.path.join(REPO, "docs", "benchmarks.md")
    with open(docs, encoding="utf-8") as f:
        text = f.read()
    with open(docs, "w", encoding="utf-8") as f:
        f.write(with_section(text, "results_page", render(res)))
    print(f"wrote bench/out/results_page.json and {docs}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
