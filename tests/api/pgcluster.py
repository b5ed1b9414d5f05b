"""pgcluster.py - a private PostgreSQL cluster for one test module, through
tests/pg/cluster.sh (initdb and pg_ctl as an unprivileged user, on a
private port): the one Python view of that script, for the modules that
start, stop and restart a cluster (deployment.py, test_pg_outage.py,
test_scaleout.py, test_blobs_pg.py).

Why a directory right under /tmp: the server runs as nobody, who cannot
reach the harness' private (0700) temporary directory.
"""

import os
import shutil
import subprocess
import tempfile

import harness
from harness import check

CLUSTER_SH = os.path.join(harness.ROOT, "tests", "pg", "cluster.sh")


class Cluster:
    """A cluster in a directory of its own; the same port and data across a
    stop and a start. `url` is set once it has started."""

    def __init__(self, prefix="healer-pg-"):
        self.dir = tempfile.mkdtemp(prefix=prefix)
        self.url = None

    def run(self, cmd, timeout=120):
        """cluster.sh CMD DIR (start, stop); its output (start: the URL)."""
        p = subprocess.run(["sh", CLUSTER_SH, cmd, self.dir], capture_output=True, text=True,
                           timeout=timeout)
        check(p.returncode == 0, "tests/pg/cluster.sh %s failed: %s" % (cmd, p.stderr.strip()))
        return p.stdout.strip()

    def start(self):
        self.url = self.run("start")
        return self.url

    def stop(self):
        self.run("stop")

    def sql(self, query, url=None):
        """One statement through psql (ON_ERROR_STOP); its unaligned output."""
        p = subprocess.run(["psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1",
                            url or self.url, "-c", query],
                           capture_output=True, text=True, timeout=60)
        check(p.returncode == 0, "psql: %s" % query, p.stderr)
        return p.stdout.strip()

    def remove(self):
        """Stops it (whatever its state) and deletes its directory."""
        subprocess.run(["sh", CLUSTER_SH, "stop", self.dir], capture_output=True, timeout=90)
        shutil.rmtree(self.dir, ignore_errors=True)
