"""A real Elasticsearch 8 node on this machine without Docker: fetch, start, stop, status.

The node is Elastic's integration-test distribution from Maven Central (see pom.xml), unpacked once under
``home`` with the Wirewatch analysis plugin (esplugin/) installed. Each instance (one ``data_name``) has its
own config, logs, data and pid file; it binds 127.0.0.1 only, with a bounded heap. File layout:
search/localnode/config.py.

    node = LocalNode(home=Path(".cache/es"), port=9200)
    status = node.start()          # idempotent: returns the running node's status if it is already up
    node.stop()                    # ends only the pid we recorded
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from search.errors import LocalNodeError, NodeStartError, PortTakenError
from search.localnode import fetch as fetching
from search.localnode import process as proc
from search.localnode.config import (
    NodeLayout,
    clamp_heap,
    elasticsearch_yml,
    find_java_home,
    node_environment,
    transport_port,
    write_config,
)

__all__ = ["LocalNode", "NodeStatus"]


@dataclass(frozen=True)
class NodeStatus:
    running: bool
    url: str
    pid: int | None
    version: str | None
    data_path: Path


class LocalNode:
    """One local node instance. Nothing happens until a method is called."""

    def __init__(
        self,
        *,
        home: Path,
        port: int = 9200,
        heap_mb: int = 768,
        data_name: str = "data",
        java_home: Path | None = None,
        extra_settings: dict[str, str | int | bool] | None = None,
        pom: Path = fetching.PROJECT_ROOT / "pom.xml",
        plugin_dir: Path = fetching.PROJECT_ROOT / "esplugin",
    ) -> None:
        self.layout = NodeLayout(home=Path(home).resolve(), data_name=data_name)
        self.port = port
        self.heap_mb = clamp_heap(heap_mb)
        self.url = f"http://127.0.0.1:{port}"
        self._java_home = java_home
        self._extra_settings = dict(extra_settings or {})
        self._pom = pom
        self._plugin_dir = plugin_dir

    # --- fetch ---------------------------------------------------------------------------------------------

    def fetch(self) -> Path:
        """Download, unpack and add the analysis plugin, each only if not done yet. Returns ES_HOME."""
        java_home = find_java_home(self._java_home)
        with proc.file_lock(self.layout.dist_dir / ".fetch.lock"):
            fetching.download_distribution(self.layout, pom=self._pom)
            fetching.unpack_distribution(self.layout)
            # an installed copy without the project's sources at hand (e.g. a wheel install) stays as it is
            if fetching.plugin_installed(self.layout) and not self._plugin_dir.is_dir():
                return self.layout.es_home
            plugin_zip = fetching.build_plugin(self._plugin_dir)
            fetching.install_plugin(self.layout, plugin_zip, java_home=java_home)
        return self.layout.es_home

    # --- status --------------------------------------------------------------------------------------------

    def status(self) -> NodeStatus:
        record = self._live_record()
        running = record is not None and proc.is_healthy(self._url_for(record))
        url = self._url_for(record) if record else self.url
        return NodeStatus(
            running=running,
            url=url,
            pid=record.pid if record else None,
            version=proc.node_version(url) if running else None,
            data_path=self.layout.data_dir,
        )

    # --- start ---------------------------------------------------------------------------------------------

    def start(self, *, timeout_s: float = 120, clean: bool = False) -> NodeStatus:
        """Start the node and wait until its cluster health is yellow or green.

        Returns at once if the node we recorded is already up. Raises ``PortTakenError`` when the port is
        bound by someone else, ``NodeStartError`` (with the log's last lines) when the node dies or is not
        healthy within ``timeout_s``; in both failure cases everything this call started is ended.
        Two concurrent starts of one instance are serialised: the second finds the first's node and adopts it.
        """
        with proc.file_lock(self.layout.home / "nodes" / f".{self.layout.data_name}.lock"):
            return self._start_locked(timeout_s=timeout_s, clean=clean)

    def _start_locked(self, *, timeout_s: float, clean: bool) -> NodeStatus:
        existing = self._live_record()
        if existing is not None:
            return self._adopt(existing, timeout_s=timeout_s, clean=clean)
        self.layout.state_file.unlink(missing_ok=True)
        for port in (self.port, transport_port(self.port)):
            if not proc.port_is_free(port):
                raise PortTakenError(port)
        java_home = find_java_home(self._java_home)
        self.fetch()
        self._prepare_files(clean=clean)
        process = self._spawn(java_home)
        proc.write_record(self.layout.state_file, proc.record_for(process, self.port))
        try:
            self._wait_healthy(process, timeout_s)
        except BaseException:
            proc.end_group(process.pid, timeout_s=10)
            process.wait()
            self.layout.state_file.unlink(missing_ok=True)
            raise
        return self.status()

    def _adopt(self, record: proc.NodeRecord, *, timeout_s: float, clean: bool) -> NodeStatus:
        """A node from our pid file is running: reuse it rather than start a second one."""
        if record.port != self.port:
            raise LocalNodeError(
                f"the node for data '{self.layout.data_name}' already runs on port {record.port} "
                f"(pid {record.pid}); stop it first to start it on port {self.port}"
            )
        if clean:
            raise LocalNodeError("the node is running: stop it before starting with clean=True")
        url = self._url_for(record)
        if not proc.wait_until(lambda: proc.is_healthy(url), timeout_s, interval_s=0.5):
            raise NodeStartError(
                f"the node (pid {record.pid}) is running but not healthy after {timeout_s:.0f} s",
                proc.log_tail(self.layout.console_log),
            )
        return self.status()

    def _prepare_files(self, *, clean: bool) -> None:
        if clean and self.layout.data_dir.exists():
            shutil.rmtree(self.layout.data_dir)
        settings = elasticsearch_yml(self.layout, port=self.port, extra=self._extra_settings)
        self.layout.instance_dir.mkdir(parents=True, exist_ok=True)
        write_config(self.layout, settings)
        for folder in (self.layout.logs_dir, self.layout.tmp_dir, self.layout.data_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.layout.console_log.write_bytes(b"")  # the tail shown on failure is this start's only

    def _spawn(self, java_home: Path) -> subprocess.Popen[bytes]:
        env = node_environment(self.layout, heap_mb=self.heap_mb, java_home=java_home)
        cmd = [str(self.layout.es_home / "bin" / "elasticsearch")]
        if os.geteuid() == 0:
            uid, gid = proc.ensure_node_user()
            for folder in (self.layout.instance_dir, self.layout.data_dir):
                proc.chown_tree(folder, uid, gid)
            cmd = proc.drop_privileges_prefix(uid, gid) + cmd
        with self.layout.console_log.open("ab") as console:
            # own session: the launcher and the server JVM share a process group we can signal as one
            return subprocess.Popen(
                cmd,
                env=env,
                cwd=self.layout.instance_dir,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_healthy(self, process: subprocess.Popen[bytes], timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            code = process.poll()
            if code is not None:
                raise NodeStartError(
                    f"Elasticsearch exited with code {code} while starting on port {self.port}",
                    proc.log_tail(self.layout.console_log),
                )
            if proc.is_healthy(self.url):
                return
            time.sleep(0.5)
        raise NodeStartError(
            f"Elasticsearch did not become healthy on port {self.port} within {timeout_s:.0f} s",
            proc.log_tail(self.layout.console_log),
        )

    # --- stop ----------------------------------------------------------------------------------------------

    def stop(self, *, timeout_s: float = 30) -> bool:
        """End the node we recorded (SIGTERM, then SIGKILL after ``timeout_s``). False if none was running."""
        record = proc.read_record(self.layout.state_file)
        if record is None:
            return False
        was_running = proc.is_ours_and_alive(record)
        if was_running:
            proc.end_group(record.pid, timeout_s=timeout_s)
        self.layout.state_file.unlink(missing_ok=True)
        return was_running

    # --- helpers -------------------------------------------------------------------------------------------

    def _live_record(self) -> proc.NodeRecord | None:
        record = proc.read_record(self.layout.state_file)
        if record is not None and proc.is_ours_and_alive(record):
            return record
        return None

    @staticmethod
    def _url_for(record: proc.NodeRecord) -> str:
        return f"http://127.0.0.1:{record.port}"
