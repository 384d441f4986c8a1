"""``wirewatch search`` and ``wirewatch es setup`` end to end against the real node."""

from __future__ import annotations

import json
import socket

import pytest
from click.testing import CliRunner
from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.names import IndexNames
from tests.support.search_docs import make_doc, seed_doc
from wirewatch.cli import cli as root
from wirewatch.cli.es_setup import cli as setup_cli
from wirewatch.cli.search import marked


@pytest.fixture()
def env(es_url: str, index_prefix: str) -> dict[str, str]:
    return {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": index_prefix, "COLUMNS": "160"}


@pytest.fixture()
def indexed(es: Elasticsearch, index_names: IndexNames, env: dict[str, str]) -> dict[str, str]:
    result = CliRunner().invoke(setup_cli, ["--json"], env=env)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["articles_index"] == index_names.articles_index(1)
    docs = [seed_doc("seed")] + [make_doc(f"n{i}", text=f"Routine item {i}.", source="wire") for i in range(3)]
    assert index_articles(es, index_names, docs).failed == {}
    es.indices.refresh(index=index_names.articles)
    return env


def test_setup_prints_a_table_and_is_idempotent(indexed: dict[str, str], index_names: IndexNames) -> None:
    result = CliRunner().invoke(setup_cli, [], env=indexed)
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert index_names.articles_index(1) in result.output


def test_search_json(indexed: dict[str, str]) -> None:
    result = CliRunner().invoke(root, ["search", "Belmokhtar", "--json"], env=indexed)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"total", "collapsed", "stories", "hits", "facets", "next"}
    assert data["total"] == 1
    assert data["hits"][0]["id"] == "seed"
    assert any("<em>Belmokhtar</em>" in p for p in data["hits"][0]["passages"])
    assert {b["value"] for b in data["facets"]["groups"]} == {"isis", "aqim"}


def test_search_table_shows_marked_passages_and_the_next_cursor(indexed: dict[str, str]) -> None:
    result = CliRunner().invoke(root, ["search", "--source", "wire", "--limit", "2", "--sort", "newest"], env=indexed)
    assert result.exit_code == 0, result.output
    assert "3 matching article(s)" in result.output
    cursor = result.output.split("--after ")[1].split()[0]
    page2 = CliRunner().invoke(
        root, ["search", "--source", "wire", "--sort", "newest", "--after", cursor, "--json"], env=indexed
    )
    assert len(json.loads(page2.output)["hits"]) == 1
    table = CliRunner().invoke(root, ["search", '"Libyan National Army"'], env=indexed)
    assert "Ajdabiya" in table.output
    assert "<em>" not in table.output


def test_marked_renders_matches_bold_and_unescapes() -> None:
    text = marked("a &lt;b&gt; <em>Belmokhtar</em> &amp; co")
    assert text.plain == "a <b> Belmokhtar & co"
    assert [(text.plain[s.start : s.end], s.style) for s in text.spans] == [("Belmokhtar", "bold yellow")]


def test_errors_are_one_line_with_a_hint(indexed: dict[str, str]) -> None:
    runner = CliRunner()
    bad = runner.invoke(root, ["search", "isis AND (daesh"], env=indexed)
    assert bad.exit_code == 2
    assert "unbalanced '('" in bad.output
    assert "^" in bad.output
    assert "Traceback" not in bad.output
    since = runner.invoke(root, ["search", "x", "--since", "last week"], env=indexed)
    assert since.exit_code == 2
    assert "--since" in since.output and "7d" in since.output
    cursor = runner.invoke(root, ["search", "x", "--after", "garbage"], env=indexed)
    assert cursor.exit_code == 2
    assert "cursor" in cursor.output


def test_missing_setup_and_unreachable_cluster(es_url: str, index_prefix: str) -> None:
    runner = CliRunner()
    env = {"WIREWATCH_ES_URL": es_url, "WIREWATCH_ES_INDEX_PREFIX": f"{index_prefix}none-"}
    missing = runner.invoke(root, ["search", "x"], env=env)
    assert missing.exit_code == 2
    assert "wirewatch es setup" in missing.output
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = {"WIREWATCH_ES_URL": f"http://127.0.0.1:{port}", "WIREWATCH_ES_MAX_RETRIES": "0"}
    for args in (["search", "x"], ["setup"]):
        command = setup_cli if args == ["setup"] else root
        result = runner.invoke(command, args if command is root else [], env=down)
        assert result.exit_code == 3, result.output
        assert "unreachable" in result.output
        assert "es start" in result.output
        assert "Traceback" not in result.output
