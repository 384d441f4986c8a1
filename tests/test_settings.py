from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from wirewatch.cli import cli
from wirewatch.settings import SettingsError, load_settings, settings_table


def test_defaults_have_descriptions() -> None:
    rows = settings_table()
    assert len(rows) > 30
    assert all(desc for _, _, _, desc in rows)


def test_yaml_then_env_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "ww.yaml"
    cfg.write_text("local_es_port: 9300\nhttp_max_redirects: 3\nes_index_prefix: yaml-\n")
    monkeypatch.setenv("WIREWATCH_HTTP_MAX_REDIRECTS", "4")
    monkeypatch.delenv("WIREWATCH_ES_URL", raising=False)
    settings = load_settings(cfg, es_index_prefix="arg-")
    assert settings.local_es_port == 9300  # from YAML
    assert settings.http_max_redirects == 4  # env beats YAML
    assert settings.es_index_prefix == "arg-"  # explicit override beats both
    assert settings.es_url_or_local == "http://127.0.0.1:9300"


def test_bad_values_give_clear_errors(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("local_es_port: not-a-port\n")
    with pytest.raises(SettingsError, match=r"local_es_port.*WIREWATCH_LOCAL_ES_PORT"):
        load_settings(cfg)
    cfg.write_text("no_such_setting: 1\n")
    with pytest.raises(SettingsError, match="no_such_setting"):
        load_settings(cfg)
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "missing.yaml")


def test_settings_command_masks_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WIREWATCH_ES_PASSWORD", "hunter2-very-secret")
    result = CliRunner().invoke(cli, ["settings", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["es_password"] == "********"
    assert "hunter2" not in result.output
    table = CliRunner().invoke(cli, ["settings"])
    assert "hunter2" not in table.output and "es_password" in table.output


def test_settings_error_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("- a list\n")
    result = CliRunner().invoke(cli, ["--config", str(cfg), "settings"])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "must hold a mapping" in result.stderr
    assert "Traceback" not in result.output


def test_readme_lists_every_setting() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    missing = [env for _, env, _, _ in settings_table() if f"`{env}`" not in readme]
    assert not missing, f"README settings table is stale (wirewatch settings --markdown): {missing}"
