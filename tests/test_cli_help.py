"""Every command listed by `wirewatch --help` exists, explains itself, and loads nothing heavy to do so."""

from __future__ import annotations

import subprocess
import sys

import pytest
from click.testing import CliRunner

from wirewatch.cli import COMMANDS, cli


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_command_help(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output and len(result.output.splitlines()) > 4


def test_top_level_help_is_light() -> None:
    code = (
        "import sys; from wirewatch.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('spacy', 'trafilatura', 'elasticsearch', 'airflow') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().splitlines()[-1] == "[]"
