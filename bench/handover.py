"""The cost of handing a request to the write threads, old binary vs new.

    python3 bench/handover.py OLD_HEALER NEW_HEALER   (N=2000 ROUNDS=3)

For each round and each binary in turn (interleaved, so that a machine
shared with other work disturbs both alike): starts `healer serve` on a
fresh data directory, logs in, trains a small model (a simulated CSV of
2,000 rows x 20 KPIs, 50 rounds), then sends N requests one at a time on
one keep-alive connection for each of: a POST whose handler only reads
the store (a diagnosis of an unknown model: 404), a one-row diagnosis
with "store": false (200, nothing written) and GET /api/v1/auth/me; and
prints each one's p50 and p99 round trip in ms. One request at a time
measures the hand-over alone (two thread wake-ups), with no queueing.
Standard library only; loopback only; every request has a timeout.
"""
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

N = int(os.environ.get("N", "2000"))
ROUNDS = int(os.environ.get("ROUNDS", "3"))
PASSWORD = "pw-benchmark-1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    r = conn.getresponse()
    return r, r.read()


def setup(conn, csv_bytes):
    """Logs in and trains a model; (headers, body of a one-row diagnosis)."""
    r, data = call(conn, "POST", "/api/v1/auth/login",
                   json.dumps({"username": "bench", "password": PASSWORD}),
                   {"Content-Type": "application/json"})
    h = {"Cookie": r.getheader("Set-Cookie").split(";")[0],
         "X-CSRF-Token": json.loads(data)["csrf_token"], "Content-Type": "application/json"}
    b = "handover-boundary"
    form = (b"--" + b.encode() + b'\r\nContent-Disposition: form-data; name="file"; '
            b'filename="s.csv"\r\nContent-Type: text/csv\r\n\r\n' + csv_bytes +
            b"\r\n--" + b.encode() + b"--\r\n")
    _, data = call(conn, "POST", "/api/v1/datasets", form,
                   dict(h, **{"Content-Type": "multipart/form-data; boundary=" + b}))
    job = {"type": "train", "dataset_id": json.loads(data)["id"], "algo": "gbdt",
           "params": {"rounds": 50}}
    _, data = call(conn, "POST", "/api/v1/jobs", json.dumps(job), h)
    job = json.loads(data)
    deadline = time.monotonic() + 120
    while job["state"] not in ("succeeded", "failed", "cancelled"):
        if time.monotonic() > deadline:
            raise SystemExit("the training did not end within 120 s")
        time.sleep(0.1)
        _, data = call(conn, "GET", "/api/v1/jobs/%d" % job["id"], None, h)
        job = json.loads(data)
    lines = csv_bytes.decode().splitlines()
    row = {k: float(v) for k, v in zip(lines[0].split(","), lines[1].split(","))
           if k not in ("sample_id", "label")}
    return h, json.dumps({"model_id": job["model_id"], "store": False, "rows": [row]})


def measure(binary, csv_bytes):
    d = tempfile.mkdtemp(prefix="handover-")
    subprocess.run([binary, "user", "add", "bench", "--admin", "--data-dir", d],
                   input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    port = free_port()
    srv = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:%d" % port, "--data-dir", d,
                            "--web-dir", "", "--login-rate", "0"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        conn = None
        for _ in range(400):
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                call(conn, "GET", "/api/v1/health")
                break
            except OSError:
                conn = None
                time.sleep(0.05)
        if conn is None:
            raise SystemExit("%s did not start" % binary)
        h, diagnosis = setup(conn, csv_bytes)
        unknown = json.dumps({"model_id": 999999, "rows": [{"kpi": 1}]})
        out = {}
        for name, method, path, body in (("post_404", "POST", "/api/v1/diagnoses", unknown),
                                         ("diagnosis_nostore", "POST", "/api/v1/diagnoses", diagnosis),
                                         ("get_me", "GET", "/api/v1/auth/me", None)):
            lat = []
            for _ in range(N):
                t = time.perf_counter()
                call(conn, method, path, body, h)
                lat.append(time.perf_counter() - t)
            lat.sort()
            out[name] = (lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99)] * 1e3)
        return out
    finally:
        srv.terminate()
        srv.wait(30)
        shutil.rmtree(d, ignore_errors=True)


def main(argv):
    if len(argv) != 3:
        raise SystemExit(__doc__)
    tmp = tempfile.mkdtemp(prefix="handover-data-")
    try:
        path = os.path.join(tmp, "sim.csv")
        subprocess.run([argv[2], "simulate", "--out", path, "--samples", "2000", "--features",
                        "20", "--classes", "3", "--seed", "3"], check=True, capture_output=True)
        with open(path, "rb") as f:
            csv_bytes = f.read()
        for i in range(ROUNDS):
            for label, binary in (("old", argv[1]), ("new", argv[2])):
                o = measure(binary, csv_bytes)
                print("%s round %d: %s (load %.1f)" % (
                    label, i + 1, ", ".join("%s p50 %.3f p99 %.3f ms" % (k, a, b)
                                            for k, (a, b) in o.items()),
                    os.getloadavg()[0]), flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv)
