"""Processes the check starts: each in its own session (process group), so one signal ends all it forked.

PostgreSQL refuses to run as root and so does Elasticsearch: as root, both run as the unprivileged system user
the local Elasticsearch node already uses (search/localnode), with ``setpriv`` (the pid stays the server's).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from search.localnode import process as nodeproc


class CheckError(RuntimeError):
    """A part of the cluster check did not start or did not behave; the message says which and where to look."""


class Group:
    """One started process (and everything it forks), its output in ``log``."""

    def __init__(self, name: str, cmd: Sequence[str], *, log: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> None:  # fmt: skip
        self.name = name
        self.log = log
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(list(cmd), env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole group at once, as a machine that dies (no warm shutdown, no goodbye)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self, timeout_s: float = 20) -> None:
        """SIGTERM the group, then SIGKILL what is left; never raises (used in cleanup)."""
        nodeproc.end_group(self.proc.pid, timeout_s=timeout_s)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(what: str, condition: Callable[[], bool], timeout_s: float, *, group: Group | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if group is not None and not group.alive():
            raise CheckError(f"{group.name} exited ({group.proc.returncode}) before {what}: {group.tail()}")
        if time.monotonic() > deadline:
            raise CheckError(f"{what}: not within {timeout_s:.0f} s" + (f"; log {group.log}" if group else ""))
        time.sleep(0.5)


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def unprivileged(path: Path) -> list[str]:
    """The command prefix that runs as the node user when we are root (and hands it ``path``)."""
    if os.geteuid() != 0:
        return []
    uid, gid = nodeproc.ensure_node_user()
    nodeproc.chown_tree(path, uid, gid)
    return nodeproc.drop_privileges_prefix(uid, gid)


def postgres_bin() -> Path:
    """Debian's PostgreSQL binaries (not on PATH: postgresql-common wraps them), the newest major version."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    if not found:
        raise CheckError("PostgreSQL not found: `make cluster-tools` installs Debian's postgresql")
    return found[-1].parent


def start_postgres(folder: Path, logs: Path) -> tuple[Group, str]:
    """A fresh cluster in ``folder`` on a free port; returns the server and Airflow's SQLAlchemy URL."""
    pg = postgres_bin()
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    prefix = unprivileged(folder)
    data = folder / "data"
    done = subprocess.run([*prefix, str(pg / "initdb"), "-D", str(data), "-U", "airflow", "--auth=trust",
                           "-E", "UTF8"], capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise CheckError(f"initdb failed: {done.stderr[-2000:]}")
    port = free_port()
    # fsync off: a throw-away metadata database; the socket in our folder, not /var/run/postgresql
    server = Group("postgres", [*prefix, str(pg / "postgres"), "-D", str(data), "-p", str(port), "-k", str(folder),
                                "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200"],
                   log=logs / "postgres.log")  # fmt: skip
    wait_for("PostgreSQL accepting connections", lambda: _pg_ready(pg, port), 60, group=server)
    made = subprocess.run([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "airflow", "airflow"],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if made.returncode != 0:
        raise CheckError(f"createdb failed: {made.stderr[-2000:]}")
    return server, f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"


def _pg_ready(pg: Path, port: int) -> bool:
    return subprocess.run([str(pg / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True,
                          check=False).returncode == 0  # fmt: skip


def start_redis(logs: Path) -> tuple[Group, str]:
    """Redis as a broker only: no snapshots, no append-only file (the tasks' truth is in PostgreSQL)."""
    exe = shutil.which("redis-server")
    if exe is None:
        raise CheckError("redis-server not found: `make cluster-tools` installs Debian's redis-server")
    port = free_port()
    server = Group("redis", [exe, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--daemonize", "no"], log=logs / "redis.log")  # fmt: skip
    wait_for("Redis listening", lambda: port_open(port), 30, group=server)
    return server, f"redis://127.0.0.1:{port}/0"
