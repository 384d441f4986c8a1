"""``wirewatch extract`` on files and on URLs served by a real loopback server."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from seeds.server import SeedServer, render

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
EXPECTED = json.loads((SEEDS / "expected.json").read_text(encoding="utf-8"))


def _wirewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    full_env = {**os.environ, "WIREWATCH_EXTRACT_WORKERS": "1", **(env or {})}
    return subprocess.run(
        [str(Path(sys.executable).parent / "wirewatch"), *args],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="module")
def seed_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pages") / "seed.html"
    path.write_bytes(render("article.html", "https://dispatch.example"))
    return path


def test_extract_json_from_file_and_url(seed_file: Path) -> None:
    with SeedServer() as server:
        result = _wirewatch(
            "extract", "--json", str(seed_file), server.article_url, env={"WIREWATCH_HTTP_ALLOW_LOOPBACK": "true"}
        )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == [str(seed_file), server.article_url]
    for line in lines:
        assert {"title", "author", "published_at", "language", "text", "canonical_url"} <= set(line)
        assert line["title"] == EXPECTED["title"] and line["published_at"] == EXPECTED["published_at"]
        assert " ".join(line["text"].split()) == " ".join(EXPECTED["text"].split())
    assert lines[0]["canonical_url"] == "https://dispatch.example/news/2018/02/isis-terror-path-libya.html"
    assert lines[1]["canonical_url"] == server.article_url


def test_extract_reports_each_failure_and_exits_non_zero(seed_file: Path) -> None:
    with SeedServer() as server:
        result = _wirewatch("extract", "--json", str(seed_file), "/no/such/page.html", server.article_url)
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert lines[0]["title"] == EXPECTED["title"]
    assert lines[1] == {"input": "/no/such/page.html", "error": "cannot read file: No such file or directory"}
    assert "loopback" in lines[2]["error"]  # the safe fetcher refused: loopback not allowed by default
    assert "Traceback" not in result.stderr


def test_extract_summary_without_json(seed_file: Path) -> None:
    result = _wirewatch("extract", str(seed_file))
    assert result.returncode == 0, result.stderr
    assert EXPECTED["title"] in result.stdout and "Desert Dispatch Staff" in result.stdout
