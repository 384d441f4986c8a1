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


def _dead_port() -> int:
    """A loopback port nothing listens on: bound once by the OS, then released."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_masked_url_hides_the_password_of_every_url_in_a_text() -> None:
    from wirewatch.settings import masked_url

    assert masked_url("http://elastic:hunter2@127.0.0.1:9200/") == "http://elastic:****@127.0.0.1:9200/"
    assert masked_url("https://s3cr3t-token@es.example.org") == "https://****@es.example.org"
    assert masked_url("a http://u:p%40ss@h/x and https://v:w@k?q=a@b") == "a http://u:****@h/x and https://v:****@k?q=a@b"
    assert masked_url("http://127.0.0.1:9200/x@y") == "http://127.0.0.1:9200/x@y"  # no userinfo: unchanged


def test_es_url_password_never_appears_in_settings_or_error_hints(tmp_path: Path) -> None:
    """Defect 9: `settings --json` and the "is Elasticsearch running at ...?" hint printed the password."""
    port = _dead_port()
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("feeds:\n  - {id: one, url: 'http://127.0.0.1:9/feed.xml'}\n")
    env = {
        "WIREWATCH_ES_URL": f"http://elastic:hunter2@127.0.0.1:{port}",
        "WIREWATCH_ES_MAX_RETRIES": "0",
        "WIREWATCH_ES_REQUEST_TIMEOUT_S": "2",
        "WIREWATCH_FEEDS_FILE": str(feeds),
        "WIREWATCH_CONFIG": "",
    }
    runner = CliRunner()

    shown = runner.invoke(cli, ["settings", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["es_url"] == f"http://elastic:****@127.0.0.1:{port}"
    table = runner.invoke(cli, ["settings"], env=env)
    assert table.exit_code == 0

    for command in (["feeds"], ["es", "setup"], ["alerts", "list"]):
        result = runner.invoke(cli, command, env=env)
        assert result.exit_code == 3, (command, result.output)
        assert f"is Elasticsearch running at http://elastic:****@127.0.0.1:{port}?" in result.stderr, command
        assert "hunter2" not in result.output and "hunter2" not in result.stderr, command
    assert "hunter2" not in shown.output and "hunter2" not in table.output
