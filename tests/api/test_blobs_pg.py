"""test_blobs_pg.py - stored files in PostgreSQL: `--blobs postgresql`
(the store's database) and `--blobs postgresql://...` (one of their own).

What: on a throwaway cluster (pgcluster.py), a deployment whose
store and blobs are both in PostgreSQL (`--store postgresql://...
--blobs postgresql`: a web instance with --no-workers and a `healer
worker`) trains on a dataset uploaded through the web instance - the
worker reads it from the database and writes the model there - and the
model and the dataset download through the web instance. A server with the
default SQLite store and `--blobs postgresql://...` uploads a dataset and
downloads it byte for byte, through a restart; nothing lands in the data
directory's blobs/, the rows are in blob_store_* and encrypted (the
chunks start with the encrypting layer's magic, never the CSV); health's
`blobs` check passes, fails (503) while the database is stopped and passes
again once it is back, without a restart; the start-up orphan sweep
removes an unreferenced committed blob and a dead writer's rows, and keeps
what is recorded; `healer rekey --blobs URL` re-encrypts the blobs in the
database and the server reads them under the new key. Bad `--blobs`
values stop the server at start with exit 1 and a message saying what is
wrong, never a password.

Why: --blobs postgresql lets instances on several machines share stored
files without a shared file system; the upkeep that works on a directory
(the orphan sweep, the rekey, health) must work there too.

Run: python3 tests/api/test_blobs_pg.py [test_name...]
"""
import contextlib
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deployment  # noqa: E402
import harness  # noqa: E402
import pgcluster  # noqa: E402
from harness import API, check  # noqa: E402

_CLUSTER = None


class Database:
    def __init__(self, pg, url):
        self.pg, self.url = pg, url

    def sql(self, query):
        return self.pg.sql(query, self.url)


class Cluster(pgcluster.Cluster):
    """The module's cluster, with one database per deployment."""

    def database(self, name):
        """A new, empty database: one deployment's blobs (a data key of
        its own) per test."""
        self.sql("CREATE DATABASE %s" % name)
        return Database(self, self.url.rsplit("/", 1)[0] + "/" + name)


def cluster():
    """The module's cluster, started at first use."""
    global _CLUSTER
    if _CLUSTER is None:
        _CLUSTER = Cluster("healer-blobs-pg.")
        _CLUSTER.start()
    return _CLUSTER


def blob_server(name, db):
    return harness.Server(name=name, args=["--blobs", db.url])


@contextlib.contextmanager
def server_with_dataset(name, db, seed, samples=300, features=6):
    """A server storing its files in db, with one dataset uploaded by alice:
    yields (server, alice's client, the dataset, its bytes)."""
    data = harness.simulate(samples=samples, features=features, classes=3, seed=seed)
    with blob_server(name, db) as s:
        c = s.client().login_as("alice")
        yield s, c, harness.upload_dataset(c, data, name=name), data


def expect_download(s, ds, data, what, user="alice"):
    """Logs in afresh on s and downloads dataset ds: exactly `data`."""
    c = s.client().login_as(user)
    r = c.get(API + "/datasets/%d/download" % ds["id"])
    check(r.status == 200 and r.body == data, what, r)


def health(c):
    r = c.get(API + "/health")
    check(r.status in (200, 503), "health answers 200 or 503", r)
    return r.status, r.json


def local_blob_files(s):
    root = os.path.join(s.data_dir, "blobs")
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


@harness.timeout(120)
def test_upload_download_in_postgresql():
    pg = cluster().database("upload_download")
    with server_with_dataset("in-postgresql", pg, 5, samples=3000,
                             features=12) as (s, c, ds, data):
        expect_download(s, ds, data, "the dataset downloads byte for byte")
        check(local_blob_files(s) == [], "nothing is stored in the data directory's blobs/",
              local_blob_files(s))
        rows = int(pg.sql("SELECT count(*) FROM blob_store_blobs WHERE committed"))
        check(rows >= 1, "the upload is a committed row in blob_store_blobs", rows)
        magic = pg.sql("SELECT count(*) FROM blob_store_chunks WHERE idx = 0 AND "
                       "substring(data from 1 for 7) = 'HSCRYPT'::bytea")
        plain = pg.sql("SELECT count(*) FROM blob_store_chunks WHERE "
                       "position(%s::bytea in data) > 0"
                       % ("'\\x" + data[:40].hex() + "'"))
        check(int(magic) >= 1 and plain == "0",
              "the rows hold the encrypted file, not the CSV", magic, plain)
        status, body = health(c)
        check(status == 200 and body["checks"]["blobs"]["ok"],
              "health's blobs check passes on PostgreSQL", body)
        s.stop()
        s.start()
        expect_download(s, ds, data, "the dataset downloads after a restart")


@harness.timeout(120)
def test_health_follows_the_database():
    pg = cluster()
    with blob_server("health on postgresql", pg.database("health")) as s:
        c = s.client()
        # the stop is a crash (immediate mode): what was committed must be
        # on disk first, whatever the test cluster's commit settings
        pg.sql("CHECKPOINT")
        pg.stop()
        try:
            def failing():
                status, body = health(c)
                return status == 503 and "blobs" in body.get("failed", [])
            harness.wait_until(failing, 15, "health to fail its blobs check with the database down")
        finally:
            pg.start()

        def back():
            status, _ = health(c)
            return status == 200
        harness.wait_until(back, 20, "health to pass again once the database is back")


def committed_keys(pg):
    out = pg.sql("SELECT key FROM blob_store_blobs WHERE committed")
    return set(out.split()) if out else set()


@harness.timeout(120)
def test_orphans_swept_in_postgresql():
    pg = cluster().database("orphans")
    with server_with_dataset("kept", pg, 6) as (s, c, ds, data):
        kept = committed_keys(pg)
        orphan = "upload/" + "ab" * 16
        dead = "upload/" + "cd" * 16
        # a blob committed by a process killed before it recorded it, and
        # a writer killed mid-write; both written long ago
        pg.sql("INSERT INTO blob_store_blobs (key, size, chunk_bytes, committed, written_at) "
               "VALUES ('%s', 0, 1048576, true, 1), ('%s', 0, 1048576, false, 1)"
               % (orphan, dead))
        s.stop()
        s.args += ["--blob-grace-seconds", "0"]
        s.start()
        harness.wait_until(lambda: "orphan blobs removed" in s.stderr_text(), 15,
                           "the server to log the orphans it removed")
        left = committed_keys(pg)
        check(orphan not in left, "the unreferenced blob is removed", sorted(left))
        check(pg.sql("SELECT count(*) FROM blob_store_blobs WHERE key = '%s'" % dead) == "0",
              "the dead writer's rows are removed")
        expect_download(s, ds, data, "the recorded dataset is kept")
        check(kept <= left | {orphan}, "no recorded blob was removed", sorted(kept - left))


@harness.timeout(120)
def test_rekey_in_postgresql():
    pg = cluster().database("rekey")
    with server_with_dataset("rekeyed", pg, 7) as (s, c, ds, data):
        s.stop()
        new_key = os.path.join(s.root, "new.key")
        p = harness.run_healer(["key", "new", "--out", new_key])
        check(p.returncode == 0, "healer key new", p.stderr)
        first = pg.sql("SELECT encode(substring(c.data from 17 for 8), 'hex') FROM "
                       "blob_store_chunks c JOIN blob_store_blobs b ON b.id = c.blob "
                       "WHERE c.idx = 0 AND b.committed ORDER BY b.id DESC LIMIT 1")
        p = harness.run_healer(["rekey", "--data-dir", s.data_dir, "--blobs", pg.url,
                                "--new-key-file", new_key], timeout=120)
        check(p.returncode == 0 and "files re-encrypted" in p.stdout,
              "healer rekey --blobs postgresql://... re-encrypts the blobs in the database",
              p.returncode, p.stdout, p.stderr)
        then = pg.sql("SELECT encode(substring(c.data from 17 for 8), 'hex') FROM "
                      "blob_store_chunks c JOIN blob_store_blobs b ON b.id = c.blob "
                      "WHERE c.idx = 0 AND b.committed ORDER BY b.id DESC LIMIT 1")
        check(first != then, "the blob names another key id after the rekey", first, then)
        s.start()
        expect_download(s, ds, data, "the dataset reads under the new key")


@harness.timeout(180)
def test_deployment_all_in_postgresql():
    pg = cluster().database("deployment")
    saved = os.environ.get("HEALER_STORE_URL"), deployment.BACKEND[0]
    # deployment.fresh_store: with BACKEND "postgresql", a schema of the
    # server at HEALER_STORE_URL
    os.environ["HEALER_STORE_URL"] = pg.url
    deployment.BACKEND[0] = "postgresql"
    try:
        dep = deployment.Deployment()
    finally:
        if saved[0] is None:
            del os.environ["HEALER_STORE_URL"]
        else:
            os.environ["HEALER_STORE_URL"] = saved[0]
        deployment.BACKEND[0] = saved[1]
    dep.blobs = "postgresql"  # the store's database
    try:
        web = dep.serve("web")
        dep.worker("worker")
        c = web.client().login_as(deployment.ADMIN[0])
        data = harness.simulate(samples=600, features=8, classes=3, seed=8)
        ds, job, model = harness.train_model(c, data, {"rounds": 10}, timeout=90)
        r = c.get(API + "/models/%d/download" % model["id"])
        check(r.status == 200 and len(r.body) > 0, "the model the worker stored downloads", r)
        expect_download(web, ds, data, "the dataset downloads from the database",
                        user=deployment.ADMIN[0])
        rows = int(cluster().sql("SELECT count(*) FROM blob_store_blobs WHERE committed",
                                 dep.store))
        check(rows >= 2, "the dataset and the model are rows of the store's schema", rows)
        check(local_blob_files(web) == [], "nothing in the web instance's blobs/",
              local_blob_files(web))
    finally:
        dep.close()


@harness.timeout(60)
def test_bad_blobs_settings_stop_the_start():
    root = tempfile.mkdtemp(prefix="bad-blobs-", dir=harness.tmp_root())
    cases = [
        ("postgresql", "the store is not PostgreSQL"),
        ("var/blobs", "no scheme (a bare path?)"),
        ("file:", "names no directory"),
        ("s3://me:secret@bucket", "blobs URL scheme 's3' is not supported"),
        ("postgresql://me:secret@127.0.0.1:1/healer", "blobs: cannot connect to the database"),
    ]
    for i, (value, says) in enumerate(cases):
        p = harness.run_healer(["serve", "--listen", "127.0.0.1:%d" % harness.free_port(),
                                "--data-dir", os.path.join(root, str(i)), "--web-dir", "",
                                "--blobs", value], timeout=30)
        check(p.returncode == 1, "--blobs %s: exit 1" % value, p.returncode, p.stderr)
        check(says in p.stderr, "--blobs %s: says %r" % (value, says), p.stderr)
        check("secret" not in p.stderr, "--blobs %s: no password in the message" % value,
              p.stderr)
        check("listening" not in p.stdout, "--blobs %s: never listens" % value, p.stdout)


if __name__ == "__main__":
    try:
        harness.main(globals())
    finally:
        if _CLUSTER is not None:
            _CLUSTER.remove()
