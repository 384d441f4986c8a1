"""The bench's process tree: the RSS sampler's frequent reads reuse the listing (each listing scans every process
of the machine); the CPU reads, a few per pass, list afresh so no worker is missed."""

from __future__ import annotations

import subprocess
import sys

from bench.measure import ProcessTree


def test_frequent_reads_reuse_the_listing_and_cpu_reads_list_afresh() -> None:
    tree = ProcessTree(relist_s=3600)
    # this process and any children it has (the suite's own node under CI): only the new child matters here
    assert tree.root.pid in {p.pid for p in tree.members()}
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        reused = {p.pid for p in tree.members()}  # within relist_s: the listing is reused, so no child in it
        assert tree.root.pid in reused and child.pid not in reused
        assert child.pid in {p.pid for p in tree._list()}
        tree.relist_s = 0.0
        assert child.pid in {p.pid for p in tree.members()}
    finally:
        child.kill()
        child.wait()
