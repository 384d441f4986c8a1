"""Process-level helpers for the local node: the unprivileged user, ports, the pid file, signals, HTTP probes.

The node runs in its own session (process group) led by the pid we record, so the launcher JVM and the
server JVM it spawns are signalled together, and nothing else is.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

from search.errors import LocalNodeError

NODE_USER = "wirewatch-es"  # Elasticsearch refuses to run as root: the node runs as this system user
_NO_PROXY_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class NodeRecord:
    """What the pid file remembers: enough to recognise our process even after a pid is reused."""

    pid: int
    create_time: float
    port: int


def read_record(path: Path) -> NodeRecord | None:
    try:
        data = json.loads(path.read_text())
        return NodeRecord(
            pid=int(data["pid"]), create_time=float(data["create_time"]), port=int(data["port"])
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_record(path: Path, record: NodeRecord) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(record)) + "\n")
    tmp.replace(path)


def record_for(proc: subprocess.Popen[bytes], port: int) -> NodeRecord:
    return NodeRecord(pid=proc.pid, create_time=psutil.Process(proc.pid).create_time(), port=port)


def is_ours_and_alive(record: NodeRecord) -> bool:
    """True while the recorded process exists, is not a zombie and is the one we started (same start time)."""
    reap(record.pid)
    try:
        process = psutil.Process(record.pid)
        return (
            abs(process.create_time() - record.create_time) < 1.0
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.Error:
        return False


def reap(pid: int) -> None:
    """Collect the exit status if the process is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def group_alive(pgid: int) -> bool:
    reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # killpg(0) also succeeds for zombies; a group of zombies only is as good as gone
    return any(p.status() != psutil.STATUS_ZOMBIE for p in _group_members(pgid))


def _group_members(pgid: int) -> Iterable[psutil.Process]:
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, OSError):
            if os.getpgid(process.pid) == pgid:
                yield process


def end_group(pgid: int, *, timeout_s: float) -> None:
    """SIGTERM the node's process group, wait, then SIGKILL whatever is left."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    if wait_until(lambda: not group_alive(pgid), timeout_s):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    wait_until(lambda: not group_alive(pgid), 10.0)


def wait_until(condition: Any, timeout_s: float, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def port_is_free(port: int) -> bool:
    """Whether we can bind 127.0.0.1:port right now (SO_REUSEADDR: TIME_WAIT leftovers do not count)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def get_json(url: str, *, timeout_s: float = 2.0) -> dict[str, Any] | None:
    """GET a JSON document from the node; None when it does not answer (yet)."""
    try:
        with _NO_PROXY_OPENER.open(url, timeout=timeout_s) as response:
            data = json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def is_healthy(url: str) -> bool:
    health = get_json(f"{url}/_cluster/health")
    return health is not None and health.get("status") in ("yellow", "green")


def node_version(url: str) -> str | None:
    info = get_json(f"{url}/_nodes/_local")
    nodes = (info or {}).get("nodes") or {}
    for node in nodes.values():
        version = node.get("version")
        return str(version) if version else None
    return None


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock held for the block (released by the OS if the process dies)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_node_user() -> tuple[int, int]:
    """The uid/gid of the unprivileged system user the node runs as when we are root (created once)."""
    try:
        entry = pwd.getpwnam(NODE_USER)
    except KeyError:
        cmd = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", NODE_USER]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        # exit 9: another process created it in the meantime
        if result.returncode not in (0, 9):
            raise LocalNodeError(
                f"cannot create the system user {NODE_USER} to run Elasticsearch (it refuses root): "
                f"{result.stderr.strip()}"
            ) from None
        entry = pwd.getpwnam(NODE_USER)
    return entry.pw_uid, entry.pw_gid


def chown_tree(path: Path, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid, gid, follow_symlinks=False)


def drop_privileges_prefix(uid: int, gid: int) -> list[str]:
    """Command prefix that runs the rest as uid/gid (setpriv execs, so the recorded pid stays the node's)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", "--"]
