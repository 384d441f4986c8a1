"""Three Elasticsearch nodes of the project's distribution (search/localnode) forming one cluster.

Each node is a ``LocalNode`` (its own config, data, logs; the analysis plugin installed in the shared
distribution, so on every node) with the single-node discovery replaced by a three-node one: every node is
master-eligible and holds data, so one of them can die and the other two keep a quorum. Indices get one replica
through an index template (``index.number_of_replicas: 1`` for every index), which is what a cluster is for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from bench.cluster.procs import CheckError
from search.localnode import LocalNode
from search.localnode.config import transport_port

CLUSTER = "wirewatch-cluster-check"
HEAP_MB = 512  # the smallest heap LocalNode allows: three nodes on a shared two-core machine
# a node that left is replaced within seconds (the default waits a minute for it to come back)
INDEX_SETTINGS = {"number_of_replicas": 1, "unassigned.node_left.delayed_timeout": "5s"}
REPLICAS_TEMPLATE = {"index_patterns": ["*"], "priority": 1, "template": {"settings": {"index": INDEX_SETTINGS}}}


class EsCluster:
    """``EsCluster(home, ports)``: ``start()``, ``kill(i)``, ``restart(i)``, ``health()``, ``stop()``."""

    def __init__(self, home: Path, ports: list[int]) -> None:
        names = [f"cluster-check-{i}" for i in range(len(ports))]
        seeds = ",".join(f"127.0.0.1:{transport_port(p)}" for p in ports)
        self.ports = ports
        self.url = f"http://127.0.0.1:{ports[0]}"  # the check's own requests: node 0 is never killed
        self.urls = ",".join(f"http://127.0.0.1:{p}" for p in ports)  # the services': every node
        self.nodes = [
            LocalNode(
                home=home,
                port=port,
                heap_mb=HEAP_MB,
                data_name=name,
                extra_settings={
                    "cluster.name": CLUSTER,
                    "node.name": name,
                    "discovery.type": "multi-node",
                    "discovery.seed_hosts": seeds,
                    "cluster.initial_master_nodes": ",".join(names),
                },
            )
            for port, name in zip(ports, names, strict=True)
        ]

    def start(self, timeout_s: float = 240) -> None:
        """All nodes at once (each waits for the others to elect a master), then the replica template."""
        for node in self.nodes:
            node.stop()  # a node left over from an interrupted check would keep its port
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            futures = [pool.submit(node.start, timeout_s=timeout_s, clean=True) for node in self.nodes]
            for future in futures:
                future.result()
        self.wait_status("green", timeout_s=120, nodes=len(self.nodes))
        done = httpx.put(f"{self.url}/_index_template/wirewatch-cluster-check-replicas", json=REPLICAS_TEMPLATE,
                         timeout=30)  # fmt: skip
        if done.status_code != 200:
            raise CheckError(f"replica template refused: {done.text[:500]}")

    def settle_indices(self) -> None:
        """INDEX_SETTINGS on every index made so far: those made from the project's own templates (which win
        over ours, composable templates do not merge) too."""
        done = httpx.put(f"{self.url}/_all/_settings", json={"index": INDEX_SETTINGS}, timeout=30)
        if done.status_code != 200:
            raise CheckError(f"index settings refused: {done.text[:500]}")

    def health(self) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = httpx.get(f"{self.url}/_cluster/health", timeout=5).json()
        except (httpx.HTTPError, ValueError):
            return {"status": "unreachable"}
        return answer

    def wait_status(self, status: str, *, timeout_s: float, nodes: int | None = None) -> float:
        """Seconds until the cluster reports ``status`` (and ``nodes`` nodes); raises past ``timeout_s``."""
        start = time.monotonic()
        while True:
            health = self.health()
            if health.get("status") == status and (nodes is None or health.get("number_of_nodes") == nodes):
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                raise CheckError(f"cluster not {status} with {nodes} nodes within {timeout_s:.0f} s: {health}")
            time.sleep(0.5)

    def kill(self, index: int) -> None:
        """SIGKILL one node's process group (launcher and JVM): a machine that dies."""
        pid = self.nodes[index].status().pid
        if pid is None:
            raise CheckError(f"node {index} is not running: nothing to kill")
        os.killpg(pid, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.nodes[index].status().pid is not None:
            time.sleep(0.2)

    def pids(self) -> list[int]:
        """The process group of each running node (each node is started in a session of its own)."""
        return [pid for node in self.nodes if (pid := node.status().pid) is not None]

    def restart(self, index: int) -> None:
        self.nodes[index].start(timeout_s=300)  # a JVM start takes minutes on a loaded two-core machine

    def replicas(self) -> dict[str, int]:
        """Index name -> number_of_replicas, for every index of ours (not the system ones)."""
        answer = httpx.get(f"{self.url}/_all/_settings/index.number_of_replicas", timeout=30).json()
        return {name: int(body["settings"]["index"]["number_of_replicas"])
                for name, body in answer.items() if not name.startswith(".")}  # fmt: skip

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop(timeout_s=20)
