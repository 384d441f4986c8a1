"""Where a local node keeps its files, and the configuration it runs with.

Everything lives under one ``home`` folder (the jar cache)::

    <home>/dist/elasticsearch-<ver>.zip      the integ-test distribution, as Maven fetched it
    <home>/dist/elasticsearch-<ver>/         unpacked once, with the Wirewatch analysis plugin installed
    <home>/nodes/<data_name>/config/         this instance's ES_PATH_CONF (copied from the distribution)
    <home>/nodes/<data_name>/logs/           path.logs, the console log, GC logs
    <home>/nodes/<data_name>/node.json       the pid file (pid, start time, port) of the node we started
    <home>/data/<data_name>/                 path.data: survives restarts, ``clean`` wipes it
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from search.errors import ToolMissingError

ES_VERSION = "8.19.21"
HEAP_MIN_MB = 512
HEAP_MAX_MB = 1024
# The transport port is the HTTP port plus this (9200 -> 9300, as Elasticsearch's own defaults).
TRANSPORT_OFFSET = 100


@dataclass(frozen=True, kw_only=True)
class NodeLayout:
    """The paths of one node instance (one ``data_name``) under ``home``."""

    home: Path
    data_name: str = "data"
    version: str = ES_VERSION

    @property
    def dist_dir(self) -> Path:
        return self.home / "dist"

    @property
    def zip_path(self) -> Path:
        return self.dist_dir / f"elasticsearch-{self.version}.zip"

    @property
    def es_home(self) -> Path:
        return self.dist_dir / f"elasticsearch-{self.version}"

    @property
    def instance_dir(self) -> Path:
        return self.home / "nodes" / self.data_name

    @property
    def config_dir(self) -> Path:
        return self.instance_dir / "config"

    @property
    def logs_dir(self) -> Path:
        return self.instance_dir / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.instance_dir / "tmp"

    @property
    def console_log(self) -> Path:
        return self.logs_dir / "console.log"

    @property
    def state_file(self) -> Path:
        return self.instance_dir / "node.json"

    @property
    def data_dir(self) -> Path:
        return self.home / "data" / self.data_name


def clamp_heap(heap_mb: int) -> int:
    """The heap actually used: bounded so a node neither starves nor eats a shared machine."""
    return max(HEAP_MIN_MB, min(HEAP_MAX_MB, heap_mb))


def transport_port(http_port: int) -> int:
    """A transport port derived from the HTTP port, kept inside the valid port range."""
    port = http_port + TRANSPORT_OFFSET
    return port if port <= 65535 else http_port - TRANSPORT_OFFSET


def elasticsearch_yml(
    layout: NodeLayout, *, port: int, extra: dict[str, str | int | bool] | None = None
) -> dict[str, str | int | bool]:
    """The node's settings: loopback only, one node, no security, its own data and logs."""
    settings: dict[str, str | int | bool] = {
        "cluster.name": f"wirewatch-{layout.data_name}",
        "node.name": f"wirewatch-{layout.data_name}",
        "network.host": "127.0.0.1",
        "http.port": port,
        "transport.port": transport_port(port),
        "discovery.type": "single-node",
        "xpack.security.enabled": False,
        "path.data": str(layout.data_dir),
        "path.logs": str(layout.logs_dir),
        # Big shared disks are often >90% full: without this every new shard would stay unassigned.
        "cluster.routing.allocation.disk.threshold_enabled": False,
        # A development node: tests clean up with wildcard deletes (`DELETE <prefix>*`), refused by default.
        "action.destructive_requires_name": False,
    }
    settings.update(extra or {})
    return settings


def _yml_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(layout: NodeLayout, settings: dict[str, str | int | bool]) -> None:
    """A fresh ES_PATH_CONF for this instance: the distribution's files plus our elasticsearch.yml.

    Rewritten on every start so a changed port or setting never meets a stale file. The GC log and JVM
    error files are pointed at the instance's logs (the integ-test jvm.options writes them to the cwd).
    """
    if layout.config_dir.exists():
        shutil.rmtree(layout.config_dir)
    shutil.copytree(layout.es_home / "config", layout.config_dir)
    lines = ["# Written by search/localnode/node.py on every start; edits here are lost."]
    lines += [f"{key}: {_yml_value(value)}" for key, value in settings.items()]
    (layout.config_dir / "elasticsearch.yml").write_text("\n".join(lines) + "\n")
    jvm_options = layout.config_dir / "jvm.options"
    text = jvm_options.read_text()
    logs = str(layout.logs_dir)
    text = re.sub(r"file=gc\.log:", f"file={logs}/gc.log:", text)
    text = text.replace("filecount=32,filesize=64m", "filecount=2,filesize=16m")
    text = text.replace("-XX:ErrorFile=hs_err_pid%p.log", f"-XX:ErrorFile={logs}/hs_err_pid%p.log")
    jvm_options.write_text(text)


def find_java_home(java_home: Path | None = None) -> Path:
    """The Java installation to run the node with: the given one, else JAVA_HOME, else ``java`` on PATH."""
    candidates: list[Path] = []
    if java_home is not None:
        candidates.append(java_home)
    if os.environ.get("JAVA_HOME"):
        candidates.append(Path(os.environ["JAVA_HOME"]))
    java_on_path = shutil.which("java")
    if java_on_path:
        # /usr/bin/java is usually a chain of symlinks into <java home>/bin/java
        candidates.append(Path(java_on_path).resolve().parent.parent)
    for candidate in candidates:
        if (candidate / "bin" / "java").is_file():
            return candidate
    raise ToolMissingError(
        "Java not found: install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) "
        "or set JAVA_HOME"
    )


def node_environment(layout: NodeLayout, *, heap_mb: int, java_home: Path) -> dict[str, str]:
    """The environment of the node process: bounded heap, our config, our tmp dir, our Java."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("ES_")}
    heap = clamp_heap(heap_mb)
    env.update(
        ES_JAVA_HOME=str(java_home),
        ES_PATH_CONF=str(layout.config_dir),
        ES_TMPDIR=str(layout.tmp_dir),
        ES_JAVA_OPTS=f"-Xms{heap}m -Xmx{heap}m",
        HOME=str(layout.instance_dir),
    )
    env.pop("JAVA_TOOL_OPTIONS", None)  # it would apply to the launcher and the server alike
    return env
