"""test_crypt.py - encryption at rest: nothing readable on disk, damage told.

What: a simulated dataset (whose KPI values and names we know) is uploaded,
trained on and diagnosed through the API; then every file of the data
directory (healer.db, its WAL, every blob) is searched for those values:
none may be found, while the API still shows them. A stored file with a
flipped byte, cut short or with two chunks swapped answers 409
stored_data_damaged (never wrong data, never 500); a server given another
key file refuses to start and names the file; `healer rekey` rotates the
key (refused while a server runs; an interrupted run blocks the server
until it is run again) and everything still reads.

Why here: only the real process shows what lands on disk (SQLite's WAL
included) and what a client gets back.
"""

import glob
import os
import sqlite3
import subprocess
import time

import harness
from harness import API, check, expect, expect_error, expect_json

CHUNK = 65536          # HS_BLOB_CRYPT_CHUNK: content bytes per sealed chunk
STRIDE = CHUNK + 16    # a sealed chunk: ciphertext + tag
HEADER = 40            # the blob header (magic, version, key id, nonce)
KPIS = ["cpu_busy_qz", "disk_wait_qz", "net_retrans_qz", "heap_used_qz", "gc_pause_qz", "queue_len_qz"]


def kpi_data(samples=400, seed=11):
    """Simulated CSV bytes with distinctive KPI names."""
    data = harness.simulate(samples=samples, features=len(KPIS), classes=3, seed=seed)
    head, rest = data.split(b"\n", 1)
    cols = head.decode().split(",")
    cols[1:1 + len(KPIS)] = KPIS
    return (",".join(cols) + "\n").encode() + rest


def distinctive_cells(data, n=40):
    """KPI cells long enough that finding one by chance is impossible."""
    _, rows = harness.parse_csv(data)
    cells = []
    for row in rows:
        for v in row[1:1 + len(KPIS)]:
            if len(v) >= 8 and v not in cells:
                cells.append(v)
    check(len(cells) >= n, "enough distinctive cells in the data", len(cells))
    return cells[:n]


def data_files(server):
    out = []
    for root, _, files in os.walk(server.data_dir):
        out += [os.path.join(root, f) for f in files]
    return out


def blob_files(server, kind):
    return sorted(glob.glob(os.path.join(server.data_dir, "blobs", kind, "*")), key=os.path.getmtime)


def grep_plain(server, needles):
    """{needle: [files]} for every needle found in any file of the data dir."""
    found = {}
    for path in data_files(server):
        with open(path, "rb") as f:
            body = f.read()
        for n in needles:
            if n.encode() in body:
                found.setdefault(n, []).append(os.path.relpath(path, server.data_dir))
    return found


@harness.timeout(120)
def test_no_plaintext_at_rest():
    data = kpi_data()
    cells = distinctive_cells(data)
    with harness.Server() as s:
        c = s.client()
        c.login_as("alice")
        ds, job, model = harness.train_model(c, data, name="kpis")
        # The API shows the values: the preview and the model summary.
        detail = expect_json(c.get(API + "/datasets/%d" % ds["id"]), 200)
        text = repr(detail)
        check(any(v in text for v in cells), "the dataset's preview shows KPI values", detail)
        check(all(k in repr(model) for k in KPIS), "the model summary names the KPIs")
        _, rows = harness.parse_csv(data)
        diag = expect_json(c.post_json(API + "/diagnoses", {"model_id": model["id"], "rows": harness.rows_as_json(data, 0, 50)}), 201)
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        expect(r, 200)
        check(r.body == data, "the download is the upload, byte for byte")
        r = c.get(API + "/diagnoses/%d/download" % diag["id"])
        expect(r, 200)
        # On disk: none of it, in any file (the database, its WAL, blobs),
        # while the server still runs (the WAL holds the latest writes).
        found = grep_plain(s, cells + KPIS)
        check(not found, "no KPI value or name in plain on disk", found)
        check(blob_files(s, "upload") and blob_files(s, "model"), "blobs were written")
        for path in blob_files(s, "upload") + blob_files(s, "model"):
            with open(path, "rb") as f:
                check(f.read(7) == b"HSCRYPT", "blob %s starts with the header" % path)


def damaged_download(c, ds_id, what):
    r = c.get(API + "/datasets/%d/download" % ds_id)
    expect_error(r, 409, "stored_data_damaged", what)
    msg = r.json["error"]["message"]
    check("damaged" in msg and "upload/" in msg, "the message names the stored file", r)


@harness.timeout(90)
def test_tampered_blob():
    data = kpi_data(samples=4000, seed=12)
    check(len(data) > 3 * CHUNK, "the file spans several chunks", len(data))
    with harness.Server() as s:
        c = s.client()
        c.login_as("alice")
        ds = harness.upload_dataset(c, data, name="tamper")
        path = blob_files(s, "upload")[-1]
        with open(path, "rb") as f:
            good = f.read()
        cases = {
            "a flipped byte in a chunk": good[:HEADER + 100] + bytes([good[HEADER + 100] ^ 1]) + good[HEADER + 101:],
            "a flipped byte in the header": good[:20] + bytes([good[20] ^ 0x40]) + good[21:],
            "cut at a chunk boundary": good[:HEADER + 2 * STRIDE],
            "cut inside a chunk": good[:-5],
            "two chunks swapped": good[:HEADER] + good[HEADER + STRIDE:HEADER + 2 * STRIDE]
            + good[HEADER:HEADER + STRIDE] + good[HEADER + 2 * STRIDE:],
            "extended": good + good[HEADER:HEADER + STRIDE],
        }
        for what, bad in cases.items():
            with open(path, "wb") as f:
                f.write(bad)
            damaged_download(c, ds["id"], what)
        # Another dataset's file in its place (a whole-file swap).
        other = harness.upload_dataset(c, kpi_data(samples=50, seed=13), name="other")
        with open(blob_files(s, "upload")[-1], "rb") as f:
            swapped = f.read()
        with open(path, "wb") as f:
            f.write(swapped)
        damaged_download(c, ds["id"], "another blob's file")
        with open(path, "wb") as f:
            f.write(good)
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        expect(r, 200)
        check(r.body == data, "restored, it reads again")
        expect(c.get(API + "/datasets/%d/download" % other["id"]), 200)


def key_new(path):
    p = harness.run_healer(["key", "new", "--out", path])
    check(p.returncode == 0, "healer key new", p.stderr)
    check(oct(os.stat(path).st_mode & 0o777) == "0o600", "the key file is 0600", oct(os.stat(path).st_mode))
    return path


@harness.timeout(90)
def test_wrong_key_file_refused():
    key = key_new(harness.tmp_path(harness.unique("key")))
    other = key_new(harness.tmp_path(harness.unique("key")))
    with harness.Server(args=["--data-key-file", key]) as s:
        c = s.client()
        c.login_as("alice")
        ds = harness.upload_dataset(c, kpi_data(samples=50), name="k")
        check(not os.path.exists(os.path.join(s.data_dir, "data.key")), "no key made in the data dir when one is given")
        s.stop()
        s.args = ["--data-key-file", other]
        s.start(wait=False)
        rc = s.proc.wait(timeout=20)
        err = s.stderr_text()
        check(rc != 0 and other in err and "wrong key file" in err, "another key is refused, naming the file", rc, err)
        os.chmod(key, 0o640)
        s.args = ["--data-key-file", key]
        s.start(wait=False)
        rc = s.proc.wait(timeout=20)
        check(rc != 0 and "chmod 600" in s.stderr_text(), "a key readable by the group is refused", s.stderr_text())
        os.chmod(key, 0o600)
        s.start()
        c = s.client()
        c.login_as("alice")
        expect(c.get(API + "/datasets/%d/download" % ds["id"]), 200)


@harness.timeout(120)
def test_rekey_rotates():
    data = kpi_data(samples=300, seed=14)
    with harness.Server() as s:
        c = s.client()
        c.login_as("alice")
        ds, job, model = harness.train_model(c, data, name="rot")
        before = expect_json(c.get(API + "/models/%d" % model["id"]), 200)
        new = key_new(harness.tmp_path(harness.unique("new")))
        args = ["rekey", "--data-dir", s.data_dir, "--new-key-file", new]
        p = harness.run_healer(args)
        want = "healer rekey: error: data directory %s is in use by process %d" % (s.data_dir, s.proc.pid)
        check(p.returncode == 1 and p.stderr.strip() == want, "rekey refuses while the server runs, naming it",
              p.returncode, p.stderr)
        s.stop()
        # An interrupted rotation (its mark left) keeps the server from starting.
        open(os.path.join(s.data_dir, "rekey.pending"), "w").close()
        s.start(wait=False)
        rc = s.proc.wait(timeout=20)
        check(rc != 0 and "healer rekey" in s.stderr_text(), "a half-done rotation blocks the server", s.stderr_text())
        p = harness.run_healer(args)
        check(p.returncode == 0, "rekey succeeds", p.stdout, p.stderr)
        with open(os.path.join(s.data_dir, "data.key"), "rb") as f, open(new, "rb") as g:
            check(f.read() == g.read(), "the data dir's key is the new one")
        new_id = bytes.fromhex(p.stdout.split("data key is now ")[1][:16])
        for path in blob_files(s, "upload") + blob_files(s, "model"):
            with open(path, "rb") as f:
                check(f.read(40)[16:24] == new_id, "every blob is under the new key", path)
        p = harness.run_healer(args)
        check(p.returncode == 0 and "re-encrypted 0," in p.stdout, "a second run has nothing left to do", p.stdout)
        s.start()
        c = s.client()
        c.login_as("alice")
        after = expect_json(c.get(API + "/models/%d" % model["id"]), 200)
        check(after == before, "the model reads the same after the rotation")
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        check(r.status == 200 and r.body == data, "the dataset reads the same after the rotation", r.status)
        found = grep_plain(s, distinctive_cells(data, 20))
        check(not found, "still nothing in plain", found)


@harness.timeout(120)
def test_rekey_killed_then_resumed():
    """kill -9 of `healer rekey` while it rewrites a file loses nothing:
    the server refuses the half-rotated directory, the same command run
    again finishes, and every byte reads back."""
    big = kpi_data(samples=150000, seed=15)  # about 10 MB: rewritten for a while
    small = kpi_data(samples=200, seed=16)
    with harness.Server() as s:
        c = s.client()
        c.timeout = 120
        c.login_as("alice")
        ds_big = harness.upload_dataset(c, big, name="big")
        ds_small = harness.upload_dataset(c, small, name="small")
        s.stop()
        new = key_new(harness.tmp_path(harness.unique("new")))
        args = [harness.HEALER, "rekey", "--data-dir", s.data_dir, "--new-key-file", new]
        tmp = os.path.join(s.data_dir, "blobs", "tmp")
        check(not os.listdir(tmp), "no file is being written before the rekey")
        killed = False
        for _ in range(5):  # caught while a replacement is being written
            p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 20
            while p.poll() is None and time.monotonic() < deadline:
                if os.listdir(tmp):
                    p.kill()
                    killed = True
                    break
                time.sleep(0.001)
            p.wait(timeout=20)
            if killed:
                break
            # Finished before it was caught: rotate back to a fresh key.
            new = key_new(harness.tmp_path(harness.unique("new")))
            args[-1] = new
        check(killed, "rekey was caught mid-way")
        check(os.path.exists(os.path.join(s.data_dir, "rekey.pending")), "the mark is left")
        s.start(wait=False)
        rc = s.proc.wait(timeout=20)
        check(rc != 0 and "healer rekey" in s.stderr_text(), "the half-rotated directory is refused", s.stderr_text())
        p = harness.run_healer(args[1:])
        check(p.returncode == 0, "the same rekey finishes", p.stdout, p.stderr)
        s.start()
        c = s.client()
        c.timeout = 120
        c.login_as("alice")
        for ds, data in ((ds_big, big), (ds_small, small)):
            r = c.get(API + "/datasets/%d/download" % ds["id"])
            check(r.status == 200 and r.body == data, "dataset %d reads back whole" % ds["id"], r.status)
            expect_json(c.get(API + "/datasets/%d" % ds["id"]), 200)


@harness.timeout(120)
def test_plain_planted_refused():
    """In an encrypted directory, plain text put where encrypted data
    belongs is damage: a planted file and a plain sealed value answer 409,
    and `healer rekey` refuses them (naming them) instead of encrypting
    them into authenticated data."""
    data = kpi_data(samples=200, seed=15)
    with harness.Server() as s:
        c = s.client()
        c.login_as("alice")
        ds = harness.upload_dataset(c, data, name="planted")
        path = blob_files(s, "upload")[-1]
        blob_key = "upload/" + os.path.basename(path)
        with open(path, "rb") as f:
            good = f.read()
        with open(path, "wb") as f:
            f.write(data)
        r = c.get(API + "/datasets/%d/download" % ds["id"])
        expect_error(r, 409, "stored_data_damaged", "a plain file planted in an encrypted directory")
        check("not an encrypted file" in r.json["error"]["message"], "the message says why", r)
        db = sqlite3.connect(os.path.join(s.data_dir, "healer.db"), timeout=10, isolation_level=None)
        db.execute("UPDATE datasets SET profile_json = '{}' WHERE id = ?", (ds["id"],))
        db.close()
        r = c.get(API + "/datasets/%d" % ds["id"])
        expect_error(r, 409, "stored_data_damaged", "a sealed value replaced by plain text")
        s.stop()
        new = key_new(harness.tmp_path(harness.unique("new")))
        args = ["rekey", "--data-dir", s.data_dir, "--new-key-file", new]
        p = harness.run_healer(args)
        check(p.returncode == 1 and blob_key in p.stderr and "not encrypted" in p.stderr,
              "rekey refuses the planted file, naming it", p.returncode, p.stderr)
        with open(path, "rb") as f:
            check(f.read() == data, "the planted file was not encrypted")
        with open(path, "wb") as f:
            f.write(good)
        p = harness.run_healer(args)
        check(p.returncode == 1 and "datasets.profile_json" in p.stderr
              and "record %d" % ds["id"] in p.stderr,
              "rekey refuses the plain value, naming its record", p.returncode, p.stderr)


if __name__ == "__main__":
    harness.main(globals())
