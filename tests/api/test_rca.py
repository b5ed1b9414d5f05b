"""test_rca.py - root-cause analysis through the API: topologies, incident
datasets, the rca job and the analyses it stores.

What: topologies uploaded as JSON and as a from,to CSV (counts, kinds, the
normalised graph, the file back as uploaded) and each refusal of the engine
(bad JSON, unknown node, duplicate id, self-loop, empty graph, more nodes
than the server's --max-topology-nodes); their list, trash, restore and the
owner-or-admin rule; incident files told apart from samples at upload
(kind, counts) and refused where samples are needed, samples refused where
incidents are; every refusal of an rca job at submission, each naming its
field; a run on a small hand-made case (a 4-node topology, incidents made of
`healer simulate --string-labels` rows), its progress and stage, a cancel
while queued and one while running (nothing stored);
the stored analysis: paging and search of its incidents, one incident, 404
past the end, downloads byte for byte those of `healer rca` on the same
files; the trash of analyses, and a model in the trash.

Why this way: the suite drives a real server (harness.py) with tiny inputs
so that it stays well under a minute; the CLI comparison runs `healer rca`
on the files the server has (the model downloaded, the topology and the
incident file as uploaded), so the API and the CLI are held to one output.
"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, Cases, check, details, expect_error, expect_json, has_fields, is_int  # noqa: E402

MAX_NODES = 50
SERVER = {"args": ["--max-topology-nodes", str(MAX_NODES)]}

TOPOLOGY_FIELDS = ("id", "owner_id", "name", "format", "nodes", "edges", "bidirectional_edges",
                   "kinds", "size_bytes", "created_at", "deleted_at")
ANALYSIS_FIELDS = ("id", "owner_id", "name", "job_id", "model_id", "topology_id", "dataset_id",
                   "normal", "top", "incidents", "topology_nodes", "created_at", "deleted_at",
                   "model_deleted_at", "summary", "class_names")

TOPOLOGY = {
    "nodes": [{"id": "web-1", "kind": "frontend"}, {"id": "api-1", "kind": "service"},
              {"id": "db-1", "kind": "database"}, {"id": "cache-1", "kind": "database"}],
    "edges": [{"from": "web-1", "to": "api-1"}, {"from": "api-1", "to": "db-1"},
              {"from": "api-1", "to": "cache-1", "bidirectional": True},
              {"from": "web-1", "to": "api-1"}],  # a repeat: kept once
}
TOPOLOGY_CSV = b"from,to\nweb-1,api-1\napi-1,db-1\napi-1,cache-1\n"
FEATURES = 6
SMALL = {"rounds": 20}


# ---- fixtures ----

def ok(r, what=None):
    """The response, after checking it is a 200 (downloads are not JSON)."""
    check(r.status == 200, "%s: expected HTTP 200, got %s" % (what or r.path, r.status), r)
    return r


def samples():
    """Labelled rows (normal, cpu_saturation, disk_full, ...) by class."""
    data = harness.simulate(samples=900, features=FEATURES, classes=3, seed=11, string_labels=True)
    by = {}
    for rec in harness.csv_records(data):
        by.setdefault(rec["label"], []).append(rec)
    return data, by


def incident_csv(n_incidents=6, nodes=("web-1", "api-1", "db-1", "cache-1"), drop=None, extra_node=None):
    """An incident file: per incident, a root (db-1 or cache-1) with a
    fault's rows first, its dependants with the same fault later, the
    others normal. drop: a KPI left out; extra_node: a node the topology
    lacks."""
    _, by = samples()
    faults = sorted(k for k in by if k != "normal")
    kpis = ["feature%d" % i for i in range(FEATURES) if "feature%d" % i != drop]
    lines = [",".join(["incident_id", "node", "timestamp"] + kpis)]
    cursor = {k: 0 for k in by}

    def take(label):
        rows = by[label]
        r = rows[cursor[label] % len(rows)]
        cursor[label] += 1
        return r

    for k in range(n_incidents):
        root = "db-1" if k % 2 == 0 else "cache-1"
        fault = faults[k % len(faults)]
        t0 = 1700000000 + 3600 * k
        onset = {root: 0, "api-1": 60, "web-1": 120}
        for node in list(nodes) + ([extra_node] if extra_node else []):
            for s in range(3):
                t = t0 + 30 * s
                sick = node in onset and 30 * s >= onset[node]
                rec = take(fault if sick else "normal")
                lines.append(",".join(["inc-%03d" % k, node, str(t)] + [rec[f] for f in kpis]))
    return ("\n".join(lines) + "\n").encode()


def upload_topology(c, data=None, name=None, filename="topology.json"):
    body = data if data is not None else json.dumps(TOPOLOGY).encode()
    fields = {"name": name} if name else {}
    return c.upload(API + "/topologies", fields, {"file": (filename, body)})


def topology(c, **kw):
    t = expect_json(upload_topology(c, **kw), 201, "topology upload")
    has_fields(t, TOPOLOGY_FIELDS, "TOPOLOGY")
    return t


_MODELS = {}


def model(c):
    """A small model of the simulated classes, one per user and server."""
    key = (id(c.server), c.user["id"])
    if key not in _MODELS:
        data, _ = samples()
        _, _, m = harness.train_model(c, data=data, params=SMALL, name="rca-train")
        _MODELS[key] = m
    return _MODELS[key]


def rca_inputs(c, **incident_kw):
    """(model, topology, incident dataset) of c's user."""
    m = model(c)
    t = topology(c)
    ds = harness.upload_dataset(c, incident_csv(**incident_kw), name="incidents.csv")
    return m, t, ds


def submit(c, m, t, ds, params=None, name=None):
    body = {"type": "rca", "model_id": m["id"], "topology_id": t["id"], "dataset_id": ds["id"]}
    if params is not None:
        body["params"] = params
    if name is not None:
        body["name"] = name
    return c.post_json(API + "/jobs", body)


def run_analysis(c, m, t, ds, params=None):
    job = expect_json(submit(c, m, t, ds, params, name="rca-run"), 202, "rca job")
    done = harness.wait_job(c, job["id"], timeout=60)
    check(done["state"] == "succeeded", "the rca job succeeds", done)
    return done, expect_json(c.get(API + "/analyses/%d" % done["analysis_id"]), 200, "ANALYSIS")


# ---- topologies ----

def test_topology_json_and_csv(c):
    c.login_as("alice")
    body = json.dumps(TOPOLOGY).encode()
    t = topology(c, data=body, filename="shop.json")
    check(t["name"] == "shop.json" and t["format"] == "json", "named after the file, JSON", t)
    check((t["nodes"], t["edges"], t["bidirectional_edges"]) == (4, 3, 1),
          "4 nodes, 3 edges (a repeat merged), 1 bidirectional", t)
    check(t["kinds"] == {"frontend": 1, "service": 1, "database": 2}, "nodes per kind", t)
    check(t["size_bytes"] == len(body) and t["deleted_at"] is None and t["owner_id"] == c.user["id"],
          "size, live, owner", t)
    got = expect_json(c.get(API + "/topologies/%d" % t["id"]), 200)
    check(got["graph"]["nodes"] == [{"id": n["id"], "kind": n["kind"]} for n in TOPOLOGY["nodes"]],
          "the graph's nodes in file order", got)
    check(got["graph"]["edges"] == [{"from": "web-1", "to": "api-1", "bidirectional": False},
                                    {"from": "api-1", "to": "db-1", "bidirectional": False},
                                    {"from": "api-1", "to": "cache-1", "bidirectional": True}],
          "the graph's edges, normalised", got)
    r = ok(c.get(API + "/topologies/%d/download" % t["id"]))
    check(r.body == body, "the download is the file as uploaded", r)

    t2 = topology(c, data=TOPOLOGY_CSV, name="edges", filename="edges.csv")
    check(t2["name"] == "edges" and t2["format"] == "csv", "the name field wins; CSV", t2)
    check((t2["nodes"], t2["edges"], t2["bidirectional_edges"], t2["kinds"]) == (4, 3, 0, {}),
          "a CSV edge list: 4 nodes, 3 edges, no kinds", t2)
    g = expect_json(c.get(API + "/topologies/%d" % t2["id"]), 200)["graph"]
    check([n["id"] for n in g["nodes"]] == ["web-1", "api-1", "db-1", "cache-1"] and
          all(n["kind"] is None for n in g["nodes"]), "nodes in order of appearance, kind null", g)


def test_topology_refusals(c):
    c.login_as("alice")
    before = harness.list_ids(c, API + "/topologies", "include_deleted=1&limit=1000")
    many = {"nodes": [{"id": "n%d" % i} for i in range(MAX_NODES + 1)], "edges": []}
    cases = Cases()
    for label, data, fname, word in [
        ("bad JSON", b'{"nodes": [{"id": "a"}', "bad.json", None),
        ("unknown node", json.dumps({"nodes": [{"id": "a"}], "edges": [{"from": "a", "to": "zz"}]}).encode(),
         "t.json", "zz"),
        ("duplicate id", json.dumps({"nodes": [{"id": "a"}, {"id": "a"}], "edges": []}).encode(), "t.json", "a"),
        ("self-loop", json.dumps({"nodes": [{"id": "a"}], "edges": [{"from": "a", "to": "a"}]}).encode(),
         "t.json", "a"),
        ("empty graph", b'{"nodes": [], "edges": []}', "t.json", None),
        ("too many nodes", json.dumps(many).encode(), "t.json", str(MAX_NODES)),
        ("CSV self-loop", b"from,to\na,b\nb,b\n", "t.csv", "b"),
        ("CSV bad header", b"source,target\na,b\n", "t.csv", None),
        ("empty file", b"", "t.json", None),
    ]:
        with cases(label):
            err = expect_error(upload_topology(c, data=data, filename=fname), 422, "invalid_topology")
            if word:
                check(word in err["message"], "the message names %r" % word, err)
            if label == "too many nodes":
                check("max-topology-nodes" in err["message"], "the message names the setting that raises it", err)
            if fname.endswith(".csv") and label == "CSV self-loop":
                check(details(err).get("line") == 3, "a CSV refusal gives its line", err)
    with cases("no file part"):
        r = c.upload(API + "/topologies", {"name": "x"}, {})
        check(details(expect_error(r, 400, "bad_request")).get("field") == "file", "names the file part", r)
    cases.done()
    after = harness.list_ids(c, API + "/topologies", "include_deleted=1&limit=1000")
    check(sorted(after) == sorted(before), "a refused upload leaves no topology behind", after)


def test_topology_over_upload_limit():
    """A topology over --max-upload-mb is a 413, and nothing is kept."""
    with harness.Server(args=["--max-upload-mb", "1"], name="small-uploads") as s:
        c = s.client().login_as("alice")
        big = {"nodes": [{"id": "node-%07d" % i, "kind": "x" * 40} for i in range(20000)], "edges": []}
        err = expect_error(upload_topology(c, data=json.dumps(big).encode()), 413, "payload_too_large")
        check(is_int(details(err).get("limit_bytes")), "the limit is given", err)
        check(harness.list_ids(c, API + "/topologies", "include_deleted=1") == [], "nothing kept")


def test_topology_list_trash_access(c):
    c.login_as("alice")
    a = topology(c, name="first")
    b = topology(c, name="second")
    ids = harness.list_ids(c, API + "/topologies")
    check(ids.index(b["id"]) < ids.index(a["id"]), "newest first", ids)
    bob = c.new().login_as("bob")
    expect_error(bob.get(API + "/topologies/%d" % a["id"]), 404, "not_found")
    expect_error(bob.delete(API + "/topologies/%d" % a["id"]), 404, "not_found")
    check(a["id"] not in harness.list_ids(bob, API + "/topologies"), "bob does not see alice's", a)
    admin = c.new().login_as("admin")
    expect_json(admin.get(API + "/topologies/%d" % a["id"]), 200, "an admin sees anyone's")
    gone = expect_json(c.delete(API + "/topologies/%d" % a["id"]), 200, "delete")
    check(is_int(gone["deleted_at"]), "a deleted topology has deleted_at", gone)
    check(a["id"] not in harness.list_ids(c, API + "/topologies"), "out of the list", gone)
    check(a["id"] in harness.list_ids(c, API + "/topologies", "include_deleted=1"), "in the trash", gone)
    back = expect_json(c.post_json(API + "/topologies/%d/restore" % a["id"], {}), 200, "restore")
    check(back["deleted_at"] is None, "restored", back)
    expect_error(c.get(API + "/topologies/999999"), 404, "not_found")


# ---- incident datasets ----

def test_incident_dataset_upload_and_refusals(c):
    c.login_as("alice")
    data = incident_csv(n_incidents=4)
    ds = harness.upload_dataset(c, data, name="inc")
    check(ds["kind"] == "incidents", "an incident file is of kind incidents", ds)
    check(ds["incidents"] == {"incidents": 4, "nodes": 4, "rows": 48}, "its counts", ds)
    check(ds["features"] == FEATURES and ds["rows"] == 48, "its KPI columns and rows", ds)
    full = expect_json(c.get(API + "/datasets/%d" % ds["id"]), 200)
    check([k["name"] for k in full["profile"]["kpis"]] == ["feature%d" % i for i in range(FEATURES)],
          "the profile of its KPI columns", full["profile"])
    check("node_ids" not in full["profile"].get("incidents", {}),
          "the node ids kept for the rca check are not shown", full["profile"])
    plain = harness.upload_dataset(c, samples()[0], name="plain")
    check(plain["kind"] == "samples" and "incidents" not in plain, "samples are samples", plain)

    bad = data.replace(b",1700000030,", b",yesterday,", 1)
    err = expect_error(c.upload(API + "/datasets", {}, {"file": ("bad.csv", bad)}), 422, "invalid_csv")
    check("timestamp" in err["message"] and is_int(details(err).get("line")),
          "a bad timestamp is refused with its line", err)
    noid = b"incident_id,node,timestamp,feature0\n,db-1,1700000000,1.5\n"
    expect_error(c.upload(API + "/datasets", {}, {"file": ("noid.csv", noid)}), 422, "invalid_csv")

    m = model(c)
    r = c.upload(API + "/diagnoses", {"model_id": str(m["id"])}, {"file": ("inc.csv", data)})
    err = expect_error(r, 422, "invalid_csv")
    check("incident file" in err["message"], "a diagnosis of an incident file says what it is", err)

    r = c.post_json(API + "/jobs", {"type": "train", "dataset_id": ds["id"], "algo": "gbdt", "params": SMALL})
    err = expect_error(r, 422)
    check(details(err).get("field") == "dataset_id" and "incident file" in err["message"],
          "a training on an incident file is refused naming dataset_id", err)
    r = c.post_json(API + "/jobs", {"type": "pipeline", "dataset_id": plain["id"],
                                     "diagnose_dataset_id": ds["id"], "algo": "gbdt", "params": SMALL})
    err = expect_error(r, 422)
    check(details(err).get("field") == "diagnose_dataset_id" and "incident file" in err["message"],
          "a pipeline diagnosing an incident file is refused", err)


# ---- rca jobs ----

def test_rca_submit_refusals(c):
    c.login_as("alice")
    m, t, ds = rca_inputs(c, n_incidents=2)
    plain = harness.upload_dataset(c, samples()[0], name="plain")
    nokpi = harness.upload_dataset(c, incident_csv(n_incidents=2, drop="feature5"), name="nokpi")
    stranger = harness.upload_dataset(c, incident_csv(n_incidents=2, extra_node="ghost-9"), name="ghost")
    bob = c.new().login_as("bob")
    bob_t = topology(bob)
    trashed = topology(c, name="trashed")
    expect_json(c.delete(API + "/topologies/%d" % trashed["id"]), 200)
    cases = Cases()

    def refused(label, status, field, body_changes=None, params=None, word=None):
        body = {"type": "rca", "model_id": m["id"], "topology_id": t["id"], "dataset_id": ds["id"]}
        body.update(body_changes or {})
        if params is not None:
            body["params"] = params
        with cases(label):
            err = expect_error(c.post_json(API + "/jobs", body), status)
            if field:
                check(details(err).get("field") == field, "names %s" % field, err)
            if word:
                check(word in err["message"], "the message says %r" % word, err)

    refused("unknown model", 404, "model_id", {"model_id": 999999})
    refused("foreign topology", 404, "topology_id", {"topology_id": bob_t["id"]})
    refused("trashed topology", 404, "topology_id", {"topology_id": trashed["id"]}, word="trash")
    refused("unknown dataset", 404, "dataset_id", {"dataset_id": 999999})
    refused("missing topology", 400, "topology_id", {"topology_id": None})
    refused("samples, not incidents", 422, "dataset_id", {"dataset_id": plain["id"]}, word="not an incident file")
    refused("a KPI missing", 422, "dataset_id", {"dataset_id": nokpi["id"]}, word="feature5")
    refused("a node not in the topology", 422, "topology_id", {"dataset_id": stranger["id"]}, word="ghost-9")
    refused("no such normal class", 422, "params.normal", params={"normal": "healthy"}, word="normal")
    refused("top 0", 422, "params.top", params={"top": 0})
    refused("top 101", 422, "params.top", params={"top": 101})
    refused("top not a number", 400, "params.top", params={"top": "five"})
    refused("skew < 0", 422, "params.skew", params={"skew": -1})
    refused("hop_delay 0", 422, "params.hop_delay", params={"hop_delay": 0})
    refused("skew 1e308", 422, "params.skew", params={"skew": 1e308}, word="0..86400")
    refused("skew over a day", 422, "params.skew", params={"skew": 86401})
    refused("hop_delay 1e-300", 422, "params.hop_delay", params={"hop_delay": 1e-300}, word="0.001..")
    refused("hop_delay over a day", 422, "params.hop_delay", params={"hop_delay": 86401})
    refused("unknown parameter", 422, "params", params={"depth": 3}, word="depth")
    cases.done()
    jobs = harness.list_items(c, API + "/jobs")
    check(not any(j["type"] == "rca" for j in jobs), "no refused rca job was queued", jobs)


def check_incident_json(inc, what):
    has_fields(inc, ("incident_id", "observed", "abnormal", "ranks", "nodes"), what)
    for r in inc["ranks"]:
        has_fields(r, ("rank", "node", "observed", "fault", "confidence", "score", "evidence",
                       "explained", "timing", "onset", "onset_seconds", "path", "tree"), what + " rank")
        check(r["path"][0] == r["node"], "a path starts at its root", r)


def test_rca_run_results_and_downloads(c):
    c.login_as("alice")
    m, t, ds = rca_inputs(c, n_incidents=6)
    job, a = run_analysis(c, m, t, ds, params={"top": 3})
    check(job["type"] == "rca" and job["topology_id"] == t["id"] and job["dataset_id"] == ds["id"]
          and job["model_id"] == m["id"], "the JOB names its inputs", job)
    check(job["result"] == {"kind": "analysis", "id": job["analysis_id"]} and job["progress"] == 1,
          "its result is the analysis", job)
    check(job["rca"]["incidents_done"] == 6 and job["rca"]["incidents"] == 6, "every incident done", job)
    has_fields(a, ANALYSIS_FIELDS, "ANALYSIS")
    check((a["job_id"], a["model_id"], a["topology_id"], a["dataset_id"]) == (job["id"], m["id"], t["id"], ds["id"]),
          "the analysis names its job and inputs", a)
    check(a["normal"] == "normal" and a["top"] == 3 and a["incidents"] == 6 and a["topology_nodes"] == 4,
          "normal class, top, incidents, nodes", a)
    check(sum(a["summary"]["faults"].values()) + a["summary"]["no_abnormal"] + a["summary"]["unknown_faults"] == 6,
          "every incident's rank-1 counted once: a fault, none abnormal or an unknown fault", a)
    check(a["id"] in harness.list_ids(c, API + "/analyses"), "listed", a)
    check(a["class_names"] == {}, "the model has no class names yet", a)
    names = {"disk_full": {"name": "Disk full", "description": "The volume is full.",
                           "action": "Free space"}}
    expect_json(c.put_json(API + "/models/%d/class-names" % m["id"], {"class_names": names}), 200)
    again = expect_json(c.get(API + "/analyses/%d" % a["id"]), 200)
    check(again["class_names"]["disk_full"]["name"] == "Disk full",
          "the analysis shows its model's class names as they are now", again)

    page = expect_json(c.get(API + "/analyses/%d/incidents?offset=1&limit=2" % a["id"]), 200)
    check(page["total"] == 6 and page["offset"] == 1 and page["limit"] == 2 and len(page["items"]) == 2,
          "a page of incidents", page)
    first = page["items"][0]
    check(first["index"] == 1 and first["incident_id"] == "inc-001", "items by index", first)
    check(1 <= len(first["ranks"]) <= 3 and set(first["ranks"][0]) == {"rank", "node", "observed", "fault", "score", "onset", "path"},
          "ranks as the list shows them", first)
    found = expect_json(c.get(API + "/analyses/%d/incidents?q=INC-004" % a["id"]), 200)
    check(found["total"] == 1 and found["items"][0]["incident_id"] == "inc-004", "search by id, any case", found)
    node = first["ranks"][0]["node"]
    by_node = expect_json(c.get(API + "/analyses/%d/incidents?q=%s&limit=1000" % (a["id"], node)), 200)
    check(by_node["total"] >= 1 and all(i["ranks"][0]["node"] == node or node in i["incident_id"]
                                        for i in by_node["items"]), "search by rank-1 node", by_node)
    nothing = expect_json(c.get(API + "/analyses/%d/incidents?q=zzz" % a["id"]), 200)
    check(nothing["total"] == 0 and nothing["items"] == [], "a search that finds nothing", nothing)
    expect_error(c.get(API + "/analyses/%d/incidents?limit=0" % a["id"]), 400)

    one = expect_json(c.get(API + "/analyses/%d/incidents/0" % a["id"]), 200)
    check(one["index"] == 0 and one["total"] == 6 and one["incident_id"] == "inc-000", "incident 0", one)
    check_incident_json(one, "INCIDENT")
    check(len(one["nodes"]) == 4, "every observed node", one)
    expect_error(c.get(API + "/analyses/%d/incidents/6" % a["id"]), 404, "not_found")

    # The downloads are what `healer rca` writes for the same files.
    csv = ok(c.get(API + "/analyses/%d/download?format=csv" % a["id"]))
    check("analysis-%d-ranks.csv" % a["id"] in (csv.header("Content-Disposition") or ""), "attachment name", csv)
    js = ok(c.get(API + "/analyses/%d/download?format=json" % a["id"]))
    expect_error(c.get(API + "/analyses/%d/download?format=xml" % a["id"]), 400, "bad_request")
    paths = {}
    for key, url in (("model", "/models/%d/download" % m["id"]), ("topology", "/topologies/%d/download" % t["id"]),
                     ("data", "/datasets/%d/download" % ds["id"])):
        paths[key] = harness.tmp_path("%s-%s" % (key, harness.unique()))
        with open(paths[key], "wb") as f:
            f.write(ok(c.get(API + url)).body)
    out = harness.tmp_path("ranks-%s.csv" % harness.unique())
    p = harness.run_healer(["rca", "--model", paths["model"], "--topology", paths["topology"],
                            "--data", paths["data"], "--out", out, "--top", "3", "--json"])
    check(p.returncode == 0, "healer rca ran: %s" % p.stderr)
    with open(out, "rb") as f:
        check(csv.body == f.read(), "the CSV download equals healer rca's ranks.csv")
    check(json.loads(js.body) == json.loads(p.stdout), "the JSON download equals healer rca --json")
    whole = json.loads(js.body)
    check(dict(one, index=None, total=None) == dict(whole["incidents"][0], index=None, total=None),
          "incident 0 is the JSON's first incident")


def test_rca_progress_and_cancel(c):
    c.login_as("alice")
    m, t, ds = rca_inputs(c, n_incidents=2)
    # A busy worker keeps the rca job queued: its cancel is at once.
    long_job = harness.start_long_job(c)
    try:
        job = expect_json(submit(c, m, t, ds), 202)
        check(job["state"] == "queued" and job["topology_id"] == t["id"], "queued behind the training", job)
        r = expect_json(c.post_json(API + "/jobs/%d/cancel" % job["id"], {}), 200)
        done = harness.wait_job(c, job["id"], timeout=10)
        check(done["state"] == "cancelled" and done["analysis_id"] is None, "cancelled, no analysis", done)
    finally:
        harness.cancel_quietly(c, long_job["id"])
    # A run reports its stage and incidents as it goes, and ends at 1.
    job = expect_json(submit(c, m, t, ds), 202)
    done = harness.wait_job(c, job["id"], timeout=60)
    check(done["state"] == "succeeded" and done["progress"] == 1, "the run ends", done)
    check(done["rca"]["stage"] == "storing" and done["stage"] == "storing",
          "its last stage is shown: storing", done)
    check(done["rca"]["params"] == {"top": 5, "normal": "normal", "skew": 90.0, "hop_delay": 300.0},
          "the defaults it ran with", done)


def test_rca_cancel_running(c):
    # Enough incidents (10,000: 120,000 rows) that the run lasts seconds (2 s
    # uncancelled on an idle 2-core machine, of which reading is ~1 s): a
    # cancel while it reads or diagnoses ends it cancelled with nothing
    # stored.
    c.login_as("alice")
    m, t = model(c), topology(c)
    ds = harness.upload_dataset(c, incident_csv(n_incidents=10000), name="many.csv")
    job = expect_json(submit(c, m, t, ds), 202)
    # Its first stage is written just after the claim (the upload, over
    # ingest-async-kb, is ingested first): wait for a stage or an end.
    running = harness.wait_job(c, job["id"], ("running",) + harness.FINAL_STATES, timeout=30,
                               pred=lambda j: j["state"] != "running" or j["rca"]["stage"])
    check(running["state"] == "running" and running["rca"]["stage"] in ("reading", "diagnosing"),
          "the job runs, reading or diagnosing", running)
    expect_json(c.post_json(API + "/jobs/%d/cancel" % job["id"], {}), 200)
    done = harness.wait_job(c, job["id"], timeout=30)
    check(done["state"] == "cancelled" and done["analysis_id"] is None and done["result"] is None,
          "cancelled while running, no analysis", done)
    check(done["rca"]["stage"] in ("reading", "diagnosing") and done["rca"]["incidents_done"] < 10000,
          "it stopped before storing, short of the last incident", done)
    mine = expect_json(c.get(API + "/analyses"), 200)
    items = mine["items"] if isinstance(mine, dict) else mine
    check(all(a["job_id"] != job["id"] for a in items), "no analysis of the job is listed", mine)


def test_analysis_trash_access_and_model_trash(c):
    c.login_as("alice")
    m, t, ds = rca_inputs(c, n_incidents=2)
    _, a = run_analysis(c, m, t, ds)
    bob = c.new().login_as("bob")
    for path in ("", "/incidents", "/incidents/0", "/download"):
        expect_error(bob.get(API + "/analyses/%d%s" % (a["id"], path)), 404, "not_found")
    expect_error(bob.delete(API + "/analyses/%d" % a["id"]), 404, "not_found")
    admin = c.new().login_as("admin")
    expect_json(admin.get(API + "/analyses/%d" % a["id"]), 200, "an admin sees it")

    gone = expect_json(c.delete(API + "/analyses/%d" % a["id"]), 200)
    check(is_int(gone["deleted_at"]), "in the trash", gone)
    check(a["id"] not in harness.list_ids(c, API + "/analyses"), "out of the list", gone)
    check(a["id"] in harness.list_ids(c, API + "/analyses", "include_deleted=1"), "listed with the trash", gone)
    expect_json(c.get(API + "/analyses/%d/incidents/0" % a["id"]), 200, "a trashed analysis still reads")
    back = expect_json(c.post_json(API + "/analyses/%d/restore" % a["id"], {}), 200)
    check(back["deleted_at"] is None, "restored", back)

    # The model in the trash: the analysis says so and still downloads; no
    # new analysis uses the model until it is restored.
    expect_json(c.delete(API + "/models/%d" % m["id"]), 200)
    try:
        again = expect_json(c.get(API + "/analyses/%d" % a["id"]), 200)
        check(is_int(again["model_deleted_at"]), "model_deleted_at is set", again)
        ok(c.get(API + "/analyses/%d/download?format=csv" % a["id"]))
        err = expect_error(submit(c, m, t, ds), 404, "not_found")
        check(details(err).get("field") == "model_id" and "trash" in err["message"], "a trashed model is refused", err)
    finally:
        expect_json(c.post_json(API + "/models/%d/restore" % m["id"], {}), 200)


if __name__ == "__main__":
    harness.main(globals())
