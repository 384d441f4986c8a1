"""``wirewatch tag`` and ``wirewatch watchlist`` through the real CLI (click's runner, real files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wirewatch.cli import cli

ROOT = Path(__file__).resolve().parent.parent
SEED = json.loads((ROOT / "seeds" / "expected_tags.json").read_text(encoding="utf-8"))


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    # settings come from the environment: keep a developer's WIREWATCH_* out of the test
    for name in ("WIREWATCH_WATCHLIST_FILE", "WIREWATCH_NER_ENABLED", "WIREWATCH_NER_MODEL", "WIREWATCH_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    return CliRunner()


def test_tag_file_as_json(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "seed.txt"
    path.write_text(SEED["text"], encoding="utf-8")
    result = runner.invoke(cli, ["tag", str(path), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["group_ids"] == ["islamic-state", "al-qaeda"] and doc["groups"] == SEED["groups"]
    assert doc["ner_done"] is True and doc["language"] == "en"
    assert "Thomas Waldhauser" in doc["entity_names"]["person"]


def test_tag_stdin_without_ner(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["tag", "-", "--json", "--no-ner"], input="ISWAP and Boko Haram clashed.")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["group_ids"] == ["iswap", "boko-haram"] and doc["entities"] == [] and doc["ner_done"] is False


def test_tag_prints_tables(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["tag", "--no-ner"], input="Daesh claimed it.")
    assert result.exit_code == 0, result.output
    assert "islamic-state" in result.stdout and "Daesh" in result.stdout and "NER not run" in result.stdout


def test_tag_missing_file_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["tag", str(tmp_path / "missing.txt")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr and "Traceback" not in result.output


def test_tag_with_a_missing_model_says_what_to_do(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_NER_MODEL", "no_such_spacy_model_xyz")
    result = runner.invoke(cli, ["tag", "-"], input="Haftar went to Sabha.")
    assert result.exit_code == 2
    assert "pip install" in result.stderr and "--no-ner" in result.stderr


def test_watchlist_check_default_passes(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["watchlist", "check"])
    assert result.exit_code == 0, result.output
    assert "0 errors" in result.stdout


def test_watchlist_check_fails_with_clear_errors(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "groups:\n  - id: a\n    name: A Front\n    aliases: [al-Qaida]\n"
        "  - id: b\n    name: ''\n    parent: zzz\n    aliases: [Al Qa'ida]\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("WIREWATCH_WATCHLIST_FILE", str(path))
    result = runner.invoke(cli, ["watchlist", "check"])
    assert result.exit_code == 1
    assert "b: name is empty" in result.stderr
    assert "parent 'zzz' is not a group" in result.stderr
    assert "'al qaida' is also a form of 'a'" in result.stderr


def test_watchlist_check_unreadable_file(runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("groups: [", encoding="utf-8")
    monkeypatch.setenv("WIREWATCH_WATCHLIST_FILE", str(path))
    result = runner.invoke(cli, ["watchlist", "check"])
    assert result.exit_code == 1 and "not valid YAML" in result.stderr and "hint" in result.stderr


def test_watchlist_show(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["watchlist", "show", "--json"])
    assert result.exit_code == 0, result.output
    groups = {g["id"]: g for g in json.loads(result.stdout)}
    assert groups["islamic-state"]["wikidata"] == "Q2429253" and "ISIS" in groups["islamic-state"]["case_sensitive"]
    table = runner.invoke(cli, ["watchlist", "show"])
    assert table.exit_code == 0 and "al-Qaeda" in table.stdout
