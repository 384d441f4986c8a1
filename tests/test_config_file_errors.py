"""A mistyped value in any settings file ends a real ``wirewatch`` process with one error line naming the file,
the entry and the field (and what to do next), never a traceback: the channels file, the settings YAML, the
feed list and the watchlist. Elasticsearch is pointed at a closed port: every file is read before it is used."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.test_crash_recovery import WIREWATCH


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {
        **os.environ,
        "WIREWATCH_ES_URL": f"http://127.0.0.1:{_closed_port()}",
        "WIREWATCH_ES_OUTAGE_PATIENCE_S": "1",
        "WIREWATCH_NER_ENABLED": "false",
        "WIREWATCH_EXTRACT_WORKERS": "1",
        "WIREWATCH_SUMMARY_FILE": str(tmp_path / "last-pass.json"),
        "WIREWATCH_ALERTS_FILE": str(tmp_path / "alerts.jsonl"),
    }
    return subprocess.run(
        [WIREWATCH, *args], env={**base, **env}, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )


def _error_line(result: subprocess.CompletedProcess[str]) -> str:
    out = result.stdout + result.stderr
    assert "Traceback" not in out, out[-2000:]
    assert result.returncode != 0, out[-2000:]
    errors = [line for line in out.splitlines() if line.startswith("error:") or "pass stopped" in line]
    assert errors, out[-2000:]
    return errors[-1]


def _channels(tmp_path: Path, entry: dict[str, object]) -> Path:
    path = tmp_path / "channels.yaml"
    path.write_text(yaml.safe_dump({"channels": [entry]}))
    return path


EMAIL = {"name": "desk", "type": "email", "host": "127.0.0.1", "sender": "ww@example.org", "to": "d@example.org"}
HOOK = {"name": "hook", "type": "webhook", "url": "https://hooks.example.org/ww"}


@pytest.mark.parametrize(
    ("entry", "field", "value"),
    [
        ({**EMAIL, "port": "notaport"}, "port", "notaport"),
        ({**HOOK, "timeout_s": "abc"}, "timeout_s", "abc"),
        ({**EMAIL, "timeout_s": -3}, "timeout_s", "-3"),
        ({**EMAIL, "to": {"a": 1}}, "to", "{'a': 1}"),
    ],
)
def test_a_mistyped_channel_field_is_one_line_naming_file_channel_and_field(
    tmp_path: Path, entry: dict[str, object], field: str, value: str
) -> None:
    channels = _channels(tmp_path, entry)
    line = _error_line(_run(["ingest", "--once"], tmp_path, WIREWATCH_CHANNELS_FILE=str(channels)))
    assert str(channels) in line and repr(entry["name"]) in line and repr(field) in line and value in line, line


def test_a_mistyped_setting_in_the_settings_file_is_one_line_naming_the_file(tmp_path: Path) -> None:
    config = tmp_path / "settings.yaml"
    config.write_text("es_request_timeout_s: abc\nhttp_max_redirects: 3\n")
    result = _run(["--config", str(config), "settings"], tmp_path)
    line = _error_line(result)
    assert result.returncode == 2
    assert str(config) in line and "es_request_timeout_s" in line and "'abc'" in line, line
    assert line == result.stderr.splitlines()[0]  # the whole error is that line (then the hint)


def test_a_mistyped_feed_field_is_one_line_naming_file_feed_and_field(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"feeds": [{"id": "wire", "url": "https://example.org/rss", "interval_s": "abc"}]}))
    line = _error_line(_run(["feeds"], tmp_path, WIREWATCH_FEEDS_FILE=str(feeds)))
    assert str(feeds) in line and "'wire'" in line and "'interval_s'" in line and "'abc'" in line, line


def test_a_mistyped_watchlist_field_is_one_line_naming_file_group_and_field(tmp_path: Path) -> None:
    watchlist = tmp_path / "watchlist.yaml"
    watchlist.write_text(yaml.safe_dump({"groups": [{"id": "aq", "name": "Al-Qaeda", "aliases": "Al-Qaeda"}]}))
    line = _error_line(_run(["watchlist", "check"], tmp_path, WIREWATCH_WATCHLIST_FILE=str(watchlist)))
    assert str(watchlist) in line and "groups[0]" in line and "aliases" in line, line
