"""The local node (search/localnode/node.py) with real Elasticsearch processes, each test on its own free port.

A node start costs ~15-20 s here, so the full lifecycle (start, idempotent start, index/search, restart with
data kept, clean start) shares one test.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.errors import NodeStartError, PortTakenError, ToolMissingError
from search.localnode import LocalNode
from search.localnode.config import NodeLayout, find_java_home, transport_port
from wirewatch.cli import cli as root_cli

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".cache" / "es"
RESERVED_PORTS = {9200, 9250, 9300, 9350}

pytestmark = pytest.mark.slow


def free_port() -> int:
    """A free loopback port whose derived transport port is free too, never the shared node's ports."""
    for _ in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port in RESERVED_PORTS or transport_port(port) in RESERVED_PORTS:
            continue
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", transport_port(port)))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair found")


def processes_using(config_dir: Path) -> list[psutil.Process]:
    """Processes started for this instance: the launcher and server both run with its ES_PATH_CONF."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.environ().get("ES_PATH_CONF") == str(config_dir) and process.status() != "zombie":
                found.append(process)
        except psutil.Error:
            continue
    return found


@pytest.fixture()
def data_name() -> Iterator[str]:
    """A data name no other test uses; its instance and data folders are removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    yield name
    layout = NodeLayout(home=HOME, data_name=name)
    LocalNode(home=HOME, data_name=name).stop(timeout_s=10)
    shutil.rmtree(layout.instance_dir, ignore_errors=True)
    shutil.rmtree(layout.data_dir, ignore_errors=True)


def count_docs(url: str, index: str) -> int:
    with Elasticsearch(url, request_timeout=30) as client:
        if not client.indices.exists(index=index):
            return 0
        client.indices.refresh(index=index)
        return int(client.count(index=index)["count"])


def test_lifecycle_start_index_search_restart_clean(data_name: str) -> None:
    port = free_port()
    node = LocalNode(home=HOME, port=port, heap_mb=512, data_name=data_name)

    status = node.start(timeout_s=180, clean=True)
    assert status.running and status.url == f"http://127.0.0.1:{port}"
    assert status.version == "8.19.21"
    assert status.pid is not None and status.data_path == HOME / "data" / data_name
    assert node.start(timeout_s=30).pid == status.pid  # idempotent: no second node
    assert node.status() == status

    started = processes_using(node.layout.config_dir)
    assert any("-Xmx512m" in process.cmdline() for process in started)
    if os.geteuid() == 0:  # Elasticsearch refuses root: it must run as the unprivileged user
        assert all(process.uids().effective != 0 for process in started)
    yml = (node.layout.config_dir / "elasticsearch.yml").read_text()
    assert "network.host: \"127.0.0.1\"" in yml and f"http.port: {port}" in yml

    with Elasticsearch(status.url, request_timeout=30) as client:
        client.index(index="kept", id="a1", document={"title": "Islamic State claims attack"}, refresh=True)
        hits = client.search(index="kept", query={"match": {"title": "islamic"}})["hits"]["hits"]
        assert [hit["_id"] for hit in hits] == ["a1"]

    assert node.stop() is True
    assert not node.status().running and node.status().pid is None
    assert processes_using(node.layout.config_dir) == []
    assert not node.layout.state_file.exists()
    assert node.stop() is False  # nothing left to stop

    assert node.start(timeout_s=180).running  # data survives a restart
    assert count_docs(node.url, "kept") == 1
    node.stop()

    assert node.start(timeout_s=180, clean=True).running  # clean wipes it
    assert count_docs(node.url, "kept") == 0
    node.stop()
    assert processes_using(node.layout.config_dir) == []


def test_port_taken_fails_at_once_with_a_clear_error(data_name: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = int(holder.getsockname()[1])
        node = LocalNode(home=HOME, port=port, data_name=data_name)
        with pytest.raises(PortTakenError, match=f"port {port} is taken"):
            node.start(timeout_s=30)
    assert not node.layout.state_file.exists()
    assert processes_using(node.layout.config_dir) == []


def test_node_that_cannot_start_reports_its_log_and_leaves_nothing(data_name: str) -> None:
    node = LocalNode(home=HOME, port=free_port(), data_name=data_name,
                     extra_settings={"wirewatch.no_such_setting": "x"})
    with pytest.raises(NodeStartError) as caught:
        node.start(timeout_s=120)
    assert "exited with code" in str(caught.value)
    assert "unknown setting [wirewatch.no_such_setting]" in caught.value.log_tail
    assert processes_using(node.layout.config_dir) == []
    assert not node.layout.state_file.exists()


def test_start_timeout_kills_what_it_started(data_name: str) -> None:
    node = LocalNode(home=HOME, port=free_port(), data_name=data_name)
    with pytest.raises(NodeStartError, match=r"did not become healthy .* within 2 s"):
        node.start(timeout_s=2)
    assert processes_using(node.layout.config_dir) == []
    assert not node.layout.state_file.exists()


def test_heap_is_clamped() -> None:
    assert LocalNode(home=HOME, heap_mb=64).heap_mb == 512
    assert LocalNode(home=HOME, heap_mb=8192).heap_mb == 1024
    assert LocalNode(home=HOME, heap_mb=700).heap_mb == 700


@pytest.fixture()
def cli_home() -> Iterator[Path]:
    """A home of its own (so the developer's `data` node is left alone) sharing the fetched distribution.

    Under the project's cache, not pytest's tmp_path: that is private to root, and the node may run as
    an unprivileged user."""
    home = HOME / f"cli-test-{uuid.uuid4().hex[:8]}"
    home.mkdir(parents=True)
    (home / "dist").symlink_to(HOME / "dist")
    yield home
    LocalNode(home=home).stop(timeout_s=10)
    shutil.rmtree(home, ignore_errors=True)


def test_cli_status_start_stop(cli_home: Path) -> None:
    home = cli_home
    port = free_port()
    env = {"WIREWATCH_LOCAL_ES_HOME": str(home), "WIREWATCH_LOCAL_ES_PORT": str(port)}
    runner = CliRunner()

    result = runner.invoke(root_cli, ["es", "status", "--json"], env=env)
    assert result.exit_code == 1 and json.loads(result.stdout)["running"] is False

    try:
        result = runner.invoke(root_cli, ["es", "start", "--heap-mb", "512", "--timeout", "180"], env=env)
        assert result.exit_code == 0, result.output
        assert f"running at http://127.0.0.1:{port}" in result.stdout

        result = runner.invoke(root_cli, ["es", "status", "--json"], env=env)
        shown = json.loads(result.stdout)
        assert result.exit_code == 0 and shown["running"] is True and shown["version"] == "8.19.21"

        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            taken = int(holder.getsockname()[1])
            result = runner.invoke(root_cli, ["es", "start", "--port", str(taken)], env=env)
        # the data folder's node already runs on another port: refused with what to do
        assert result.exit_code == 2 and "stop it first" in result.stderr
    finally:
        result = runner.invoke(root_cli, ["es", "stop"], env=env)
    assert result.exit_code == 0 and "stopped" in result.stdout
    assert processes_using(home / "nodes" / "data" / "config") == []


def test_missing_java_is_named(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no java, no mvn
    with pytest.raises(ToolMissingError, match="Java not found"):
        LocalNode(home=tmp_path / "es").fetch()


def test_cli_says_what_to_do_when_maven_is_missing(tmp_path: Path) -> None:
    env = {
        "PATH": str(tmp_path),
        "JAVA_HOME": str(find_java_home()),
        "WIREWATCH_LOCAL_ES_HOME": str(tmp_path / "es"),  # nothing fetched there yet: Maven is needed
    }
    result = CliRunner().invoke(root_cli, ["es", "fetch"], env=env)
    assert result.exit_code == 2
    assert "mvn not found" in result.stderr and "install Maven" in result.stderr
    assert "Traceback" not in result.output
