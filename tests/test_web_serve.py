"""``wirewatch serve`` as a real process: it serves on the loopback port it was given and stops on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_runs_until_ctrl_c(es_url: str, index_prefix: str, tmp_path: Path) -> None:
    port = _free_port()
    env = {**os.environ, "WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix,
           "WIREWATCH_ALERTS_FILE": str(tmp_path / "alerts.jsonl"), "PYTHONPATH": str(ROOT)}  # fmt: skip
    proc = subprocess.Popen(
        [sys.executable, "-c", "from wirewatch.cli import main; main()", "serve", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/search", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[0]
                assert time.monotonic() < deadline, "wirewatch serve did not answer within 60 s"
                time.sleep(0.2)
        assert page.status_code == 200 and "local (admin)" in page.text  # no sign-in on loopback by default
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert f"Workbench at http://127.0.0.1:{port}" in output and "Traceback" not in output
