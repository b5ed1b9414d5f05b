"""test_access.py - who may see and change which resource.

What: for every resource endpoint - datasets get/download/delete/restore,
jobs get/cancel, models get/download/report/delete, diagnoses
get/download/delete - an anonymous caller gets 401, the owner 2xx, another
user 404 (not 403: the resource's existence is not revealed, and nothing
changes) and an admin 2xx; lists show a user only their own items and an
admin everyone's; a user cannot train on or diagnose with another user's
dataset or model.

Why: a single endpoint that forgets the owner check leaks one customer's
data to another; the matrix is spelled out so that a new endpoint without
a row here stands out. Read-only checks share one set of resources per
user; destructive ones make their own.

Run: python3 tests/api/test_access.py [test_name...]
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import API, check, expect_error, expect_json  # noqa: E402

SERVER = {}
_WORLD = {}


def make_resources(c, seed):
    data = harness.simulate(samples=300, features=6, classes=3, seed=seed)
    ds, job, model = harness.train_model(c, data, {"rounds": 10})
    r = c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 3)})
    diag = expect_json(r, 201, "diagnosis")
    return {"data": data, "dataset": ds["id"], "job": job["id"], "model": model["id"], "diagnosis": diag["id"]}


def world(c):
    key = id(c.server)
    if key not in _WORLD:
        alice = c.new().login_as("alice")
        bob = c.new().login_as("bob")
        _WORLD[key] = {"alice": make_resources(alice, 51), "bob": make_resources(bob, 52),
                       "alice_id": alice.user["id"], "bob_id": bob.user["id"]}
    return _WORLD[key]


def callers(c):
    return {"anonymous": c.new(), "owner": c.new().login_as("alice"),
            "other": c.new().login_as("bob"), "admin": c.new().login_as("admin")}


def call(client, method, path):
    if method == "GET":
        return client.get(path)
    if method == "DELETE":
        return client.delete(path)
    return client.post_json(path, {})


def check_matrix(who, method, path, expect_owner=200, expect_admin=200, order=("anonymous", "other", "owner", "admin")):
    """Runs one request as each caller in order; checks 401 / 404 / 2xx."""
    for name in order:
        r = call(who[name], method, path)
        label = "%s %s as %s" % (method, path, name)
        if name == "anonymous":
            expect_error(r, 401, "unauthorized", label)
        elif name == "other":
            expect_error(r, 404, "not_found", label)
        elif name == "owner":
            check(r.status == expect_owner, "%s: expected %s" % (label, expect_owner), r)
        else:
            check(r.status == expect_admin, "%s: expected %s" % (label, expect_admin), r)


def test_dataset_read_access(c):
    w = world(c)["alice"]
    who = callers(c)
    check_matrix(who, "GET", API + "/datasets/%d" % w["dataset"])
    check_matrix(who, "GET", API + "/datasets/%d/download" % w["dataset"])
    r = who["admin"].get(API + "/datasets/%d/download" % w["dataset"])
    check(r.body == w["data"], "the admin downloads the same bytes", r)


def check_trash_access(who, resource, rec_id):
    """The trash's access rule, the same for datasets, models and diagnoses:
    the owner or an admin deletes and restores; others get 404."""
    path = API + "/%s/%d" % (resource, rec_id)
    listed = lambda: harness.list_ids(who["owner"], API + "/" + resource, "limit=1000")  # noqa: E731
    expect_error(who["anonymous"].delete(path), 401, "unauthorized")
    expect_error(who["other"].delete(path), 404, "not_found")
    check(rec_id in listed(), "a refused delete deletes nothing (%s)" % resource)
    expect_json(who["owner"].delete(path), 200, "owner deletes")
    expect_error(who["anonymous"].post_json(path + "/restore", {}), 401, "unauthorized")
    expect_error(who["other"].post_json(path + "/restore", {}), 404, "not_found")
    check(rec_id not in listed(), "a refused restore restores nothing (%s)" % resource)
    expect_json(who["admin"].post_json(path + "/restore", {}), 200, "admin restores")
    expect_json(who["admin"].delete(path), 200, "admin deletes")
    expect_json(who["owner"].post_json(path + "/restore", {}), 200, "owner restores")
    check(rec_id in listed(), "restored (%s)" % resource)
    bob_ids = harness.list_ids(who["other"], API + "/" + resource, "include_deleted=1&limit=1000")
    check(rec_id not in bob_ids, "bob's include_deleted list does not show alice's %s" % resource, bob_ids)


def test_dataset_delete_restore_access(c):
    who = callers(c)
    ds = harness.upload_dataset(who["owner"], harness.simulate(samples=60, features=4, classes=2, seed=53), name="acl")
    check_trash_access(who, "datasets", ds["id"])


def test_job_read_access(c):
    w = world(c)["alice"]
    check_matrix(callers(c), "GET", API + "/jobs/%d" % w["job"])


def test_model_read_access(c):
    w = world(c)["alice"]
    who = callers(c)
    for suffix in ("", "/download", "/report"):
        check_matrix(who, "GET", API + "/models/%d%s" % (w["model"], suffix))


def test_model_delete_access(c):
    who = callers(c)
    data = harness.simulate(samples=200, features=4, classes=2, seed=54)
    _, _, m1 = harness.train_model(who["owner"], data, {"rounds": 5})
    _, _, m2 = harness.train_model(who["owner"], data, {"rounds": 5})
    check_matrix(who, "DELETE", API + "/models/%d" % m1["id"], order=("anonymous", "other", "owner"))
    check(m2["id"] in harness.list_ids(who["owner"], API + "/models"), "bob's refused deletes left m2 alone")
    check_matrix(who, "DELETE", API + "/models/%d" % m2["id"], order=("anonymous", "other", "admin"))
    for m in (m1, m2):
        got = expect_json(who["owner"].get(API + "/models/%d" % m["id"]), 200, "a trashed model")
        check(harness.is_int(got["deleted_at"]), "deleted: in the trash", got)
    expect_json(who["owner"].post_json(API + "/models/%d/restore" % m1["id"], {}), 200, "restore")
    check_trash_access(who, "models", m1["id"])


def test_diagnosis_read_access(c):
    w = world(c)["alice"]
    who = callers(c)
    check_matrix(who, "GET", API + "/diagnoses/%d" % w["diagnosis"])
    check_matrix(who, "GET", API + "/diagnoses/%d/download?format=csv" % w["diagnosis"])
    check_matrix(who, "GET", API + "/diagnoses/%d/download?format=json" % w["diagnosis"])


def test_diagnosis_delete_access(c):
    w = world(c)["alice"]
    who = callers(c)
    ids = []
    for _ in range(2):
        r = who["owner"].post_json(API + "/diagnoses", {"model_id": w["model"], "rows": harness.rows_as_json(w["data"], 0, 2)})
        ids.append(expect_json(r, 201)["id"])
    check_matrix(who, "DELETE", API + "/diagnoses/%d" % ids[0], order=("anonymous", "other", "owner"))
    check(ids[1] in harness.list_ids(who["owner"], API + "/diagnoses"), "bob's refused deletes left it alone")
    check_matrix(who, "DELETE", API + "/diagnoses/%d" % ids[1], order=("anonymous", "other", "admin"))
    expect_json(who["owner"].post_json(API + "/diagnoses/%d/restore" % ids[0], {}), 200, "restore")
    check_trash_access(who, "diagnoses", ids[0])


def test_lists_own_vs_all(c):
    w = world(c)
    who = callers(c)
    for res, key in (("datasets", "dataset"), ("jobs", "job"), ("models", "model"), ("diagnoses", "diagnosis")):
        path = API + "/" + res
        a_items = harness.list_items(who["owner"], path)
        b_items = harness.list_items(who["other"], path)
        all_ids = harness.list_ids(who["admin"], path)
        check(all(x["owner_id"] == w["alice_id"] for x in a_items), "alice's %s list holds only hers" % res, a_items)
        check(all(x["owner_id"] == w["bob_id"] for x in b_items), "bob's %s list holds only his" % res, b_items)
        a_ids = [x["id"] for x in a_items]
        b_ids = [x["id"] for x in b_items]
        check(w["alice"][key] in a_ids and w["bob"][key] not in a_ids, "alice sees her %s, not bob's" % key, a_ids)
        check(w["bob"][key] in b_ids and w["alice"][key] not in b_ids, "bob sees his %s, not alice's" % key, b_ids)
        check(w["alice"][key] in all_ids and w["bob"][key] in all_ids, "the admin sees both users' %s" % res, all_ids)
        expect_error(who["anonymous"].get(path), 401, "unauthorized", "anonymous list of " + res)


def test_cross_user_references_404(c):
    w = world(c)
    bob = c.new().login_as("bob")
    r = bob.post_json(API + "/jobs", {"type": "train", "dataset_id": w["alice"]["dataset"], "algo": "gbdt",
                                       "params": {"rounds": 5}})
    expect_error(r, 404, "not_found", "bob training on alice's dataset")
    r = bob.post_json(API + "/diagnoses", {"model_id": w["alice"]["model"],
                                            "rows": harness.rows_as_json(w["alice"]["data"], 0, 1)})
    expect_error(r, 404, "not_found", "bob diagnosing with alice's model")


# Cancel last: a server that crashes on a refused cancel would take the
# other tests down with it.

@harness.timeout(60)
def test_job_cancel_access(c):
    who = callers(c)
    owner = who["owner"]
    ds = harness.upload_dataset(owner, harness.long_data(), name="acl-long")
    j1 = harness.create_job(owner, ds["id"], dict(harness.LONG_PARAMS), name="acl-1")
    j2 = harness.create_job(owner, ds["id"], dict(harness.LONG_PARAMS), name="acl-2")
    try:
        path = API + "/jobs/%d/cancel" % j1["id"]
        expect_error(who["anonymous"].post_json(path, {}), 401, "unauthorized")
        expect_error(who["other"].post_json(path, {}), 404, "not_found")
        j = harness.get_job(owner, j1["id"])
        check(j["cancel_requested"] is False and j["state"] in ("queued", "running"),
              "a refused cancel must not cancel", j)
        expect_json(owner.post_json(path, {}), 200, "owner cancels")
        expect_json(who["admin"].post_json(API + "/jobs/%d/cancel" % j2["id"], {}), 200, "admin cancels")
        for j in (j1, j2):
            done = harness.wait_job(owner, j["id"], timeout=10)
            check(done["state"] == "cancelled", "cancelled", done)
    finally:
        harness.cancel_quietly(owner, j1["id"])
        harness.cancel_quietly(owner, j2["id"])


if __name__ == "__main__":
    harness.main(globals())
