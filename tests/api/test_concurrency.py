"""test_concurrency.py - many clients at once.

What: 8 clients in parallel threads (4 sessions of alice, 4 of bob), started
together by a barrier, each upload 3 distinct CSVs and create 3 diagnoses;
every request succeeds, every record gets its own id, every download equals
its upload byte for byte, every diagnosis holds the rows its client sent,
and each user's lists hold exactly their own records. Also 8 simultaneous
logins get 8 distinct working sessions.

Why: the server handles requests on several threads over one store; lost
updates, swapped blobs or a shared buffer would show up here first, and
not in any sequential test.

Run: python3 tests/api/test_concurrency.py [test_name...]
"""
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_json  # noqa: E402

SERVER = {}
THREADS = 8
PER_THREAD = 3


def run_threads(target, n, timeout=60):
    """Runs target(i) in n threads started together; returns the results;
    re-raises the first exception (with its thread number)."""
    barrier = threading.Barrier(n, timeout=timeout)
    results, errors = [None] * n, [None] * n

    def body(i):
        try:
            barrier.wait()
            results[i] = target(i)
        except BaseException as e:  # reported below, in the main thread
            errors[i] = e

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        check(not t.is_alive(), "a client thread did not finish within %s s" % timeout)
    for i, e in enumerate(errors):
        if e is not None:
            harness.fail("client thread %d failed: %s: %s" % (i, type(e).__name__, e))
    return results


@harness.timeout(90)
def test_parallel_uploads_and_diagnoses(c):
    owners = ["alice" if i % 2 == 0 else "bob" for i in range(THREADS)]
    models = {}
    for name in ("alice", "bob"):
        cl = c.new().login_as(name)
        _, _, m = harness.train_model(cl, harness.simulate(samples=300, features=6, classes=3, seed=70), {"rounds": 10})
        models[name] = m["id"]
    clients = [c.new().login_as(owners[i]) for i in range(THREADS)]
    base = harness.simulate(samples=300, features=6, classes=3, seed=70)
    header, rows = harness.parse_csv(base)
    # Distinct payloads, made before the threads start.
    payloads = {}
    for i in range(THREADS):
        for k in range(PER_THREAD):
            seed = 100 + i * PER_THREAD + k
            payloads[(i, k)] = harness.simulate(samples=80 + i * PER_THREAD + k, features=6, classes=3, seed=seed)

    def work(i):
        cl = clients[i]
        out = {"datasets": [], "diagnoses": []}
        for k in range(PER_THREAD):
            name = "t%d-u%d" % (i, k)
            r = cl.upload(API + "/datasets", {"name": name}, {"file": (name + ".csv", payloads[(i, k)])})
            check(r.status == 201, "thread %d upload %d" % (i, k), r)
            out["datasets"].append((r.json["id"], name, payloads[(i, k)]))
            sent = harness.rows_as_json(base, i * PER_THREAD + k, 3)
            for j, row in enumerate(sent):
                row["sample_id"] = "t%d-d%d-r%d" % (i, k, j)
            r = cl.post_json(API + "/diagnoses", {"model_id": models[owners[i]], "rows": sent, "name": "t%d-d%d" % (i, k)})
            check(r.status == 201, "thread %d diagnosis %d" % (i, k), r)
            out["diagnoses"].append((r.json["id"], "t%d-d%d" % (i, k), [x["sample_id"] for x in sent]))
        return out

    results = run_threads(work, THREADS)
    ds_ids = [d[0] for res in results for d in res["datasets"]]
    dg_ids = [d[0] for res in results for d in res["diagnoses"]]
    check(len(set(ds_ids)) == THREADS * PER_THREAD, "every upload got its own id", ds_ids)
    check(len(set(dg_ids)) == THREADS * PER_THREAD, "every diagnosis got its own id", dg_ids)
    for i, res in enumerate(results):
        cl = clients[i]
        for ds_id, name, data in res["datasets"]:
            meta = expect_json(cl.get(API + "/datasets/%d" % ds_id), 200)
            check(meta["name"] == name and meta["size_bytes"] == len(data), "dataset %d keeps its name and size" % ds_id, meta)
            r = cl.get(API + "/datasets/%d/download" % ds_id)
            check(r.status == 200 and r.body == data, "dataset %d downloads exactly what thread %d uploaded" % (ds_id, i), r)
        for dg_id, name, ids in res["diagnoses"]:
            d = expect_json(cl.get(API + "/diagnoses/%d" % dg_id), 200)
            check(d["name"] == name and d["rows"] == 3, "diagnosis %d keeps its name and 3 rows" % dg_id, d)
            got = [it["sample_id"] for it in d["results"]["items"]]
            check(got == ids, "diagnosis %d holds the rows thread %d sent" % (dg_id, i), got)
    for name in ("alice", "bob"):
        cl = c.new().login_as(name)
        listed = set(harness.list_ids(cl, API + "/datasets"))
        mine = {d[0] for i, res in enumerate(results) if owners[i] == name for d in res["datasets"]}
        theirs = {d[0] for i, res in enumerate(results) if owners[i] != name for d in res["datasets"]}
        check(mine <= listed and not (theirs & listed), "%s's list holds exactly %s uploads" % (name, name), sorted(listed))
        listed = set(harness.list_ids(cl, API + "/diagnoses"))
        mine = {d[0] for i, res in enumerate(results) if owners[i] == name for d in res["diagnoses"]}
        theirs = {d[0] for i, res in enumerate(results) if owners[i] != name for d in res["diagnoses"]}
        check(mine <= listed and not (theirs & listed), "%s's diagnoses list holds exactly theirs" % name, sorted(listed))


def test_parallel_logins(c):
    names = ["alice", "bob"] * (THREADS // 2)

    def login(i):
        cl = c.new()
        cl.login(names[i], c.server.password(names[i]))
        return cl

    clients = run_threads(login, THREADS)
    cookies = [cl.cookie for cl in clients]
    check(len(set(cookies)) == THREADS and all(cookies), "8 logins give 8 distinct sessions", cookies)

    def me(i):
        r = clients[i].get(API + "/auth/me")
        check(r.status == 200 and r.json["user"]["username"] == names[i], "session %d is %s's" % (i, names[i]), r)

    run_threads(me, THREADS)


def test_parallel_reads_while_writing(c):
    cl = c.new().login_as("alice")
    ds = harness.upload_dataset(cl, harness.simulate(samples=200, features=4, classes=2, seed=90), name="shared")
    want = harness.simulate(samples=200, features=4, classes=2, seed=90)

    def work(i):
        me = c.new().login_as("alice")
        for k in range(5):
            if i % 2:
                r = me.get(API + "/datasets/%d/download" % ds["id"])
                check(r.status == 200 and r.body == want, "concurrent download %d/%d is intact" % (i, k), r)
            else:
                r = me.upload(API + "/datasets", {"name": "w%d-%d" % (i, k)},
                              {"file": ("w.csv", harness.simulate(samples=50, features=4, classes=2, seed=91))})
                check(r.status == 201, "concurrent upload %d/%d" % (i, k), r)

    run_threads(work, THREADS)


if __name__ == "__main__":
    harness.main(globals())
