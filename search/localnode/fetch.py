"""Fetching the local node once: the distribution from Maven Central, unpacked, with our analysis plugin.

Every step is idempotent and skipped when its result is already in the cache; a file lock keeps two
processes (a test session and a CLI call) from unpacking or installing at the same time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from search.errors import LocalNodeError, ToolMissingError
from search.localnode.config import NodeLayout

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PLUGIN_NAME = "wirewatch-analysis"
_OUTPUT_TAIL_LINES = 20


def run_tool(cmd: list[str], *, what: str, env: dict[str, str] | None = None, timeout_s: float = 900) -> None:
    """Run a build/install command; on failure say which step failed and show the end of its output."""
    try:
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LocalNodeError(f"{what} did not finish within {timeout_s:.0f} s: {' '.join(cmd)}") from exc
    except OSError as exc:
        raise LocalNodeError(f"{what} could not run {cmd[0]}: {exc}") from exc
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()
        tail = "\n".join(output[-_OUTPUT_TAIL_LINES:])
        raise LocalNodeError(f"{what} failed (exit {result.returncode}): {' '.join(cmd)}\n{tail}")


def _mvn() -> str:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissingError("mvn not found: install Maven (e.g. apt-get install maven) and retry")
    return mvn


def download_distribution(layout: NodeLayout, *, pom: Path) -> None:
    """Let Maven fetch the integ-test zip (it keeps its own ~/.m2 cache too)."""
    if layout.zip_path.is_file():
        return
    run_tool(
        [_mvn(), "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
         f"-DoutputDirectory={layout.dist_dir}"],
        what="fetching Elasticsearch from Maven Central",
    )
    if not layout.zip_path.is_file():
        raise LocalNodeError(f"Maven ran but {layout.zip_path.name} is not in {layout.dist_dir}: check {pom}")


def _extract_with_modes(archive: zipfile.ZipFile, target: Path) -> None:
    """Like ``extractall`` but keeps Unix permissions (bin/ scripts must stay executable)."""
    for info in archive.infolist():
        path = Path(archive.extract(info, target))
        mode = (info.external_attr >> 16) & 0o777
        if mode:
            path.chmod(mode)
        elif path.is_dir():
            path.chmod(0o755)


def unpack_distribution(layout: NodeLayout) -> None:
    """Unpack the zip once, into a temporary folder renamed at the end (a half-unpacked tree never counts)."""
    if (layout.es_home / "bin" / "elasticsearch").is_file():
        return
    staging = layout.dist_dir / ".unpacking"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        with zipfile.ZipFile(layout.zip_path) as archive:
            _extract_with_modes(archive, staging)
    except (zipfile.BadZipFile, OSError) as exc:
        raise LocalNodeError(f"cannot unpack {layout.zip_path}: {exc}; delete it and fetch again") from exc
    unpacked = staging / layout.es_home.name
    if not unpacked.is_dir():
        raise LocalNodeError(f"{layout.zip_path.name} does not contain {layout.es_home.name}/")
    shutil.rmtree(layout.es_home, ignore_errors=True)
    unpacked.rename(layout.es_home)
    shutil.rmtree(staging, ignore_errors=True)


def _newest_mtime(folder: Path) -> float:
    return max((path.stat().st_mtime for path in folder.rglob("*") if path.is_file()), default=0.0)


def build_plugin(plugin_dir: Path) -> Path:
    """Build the plugin zip with Maven when it is missing or older than its sources."""
    zip_path = plugin_dir / "target" / f"{PLUGIN_NAME}-1.0.0.zip"
    if not (plugin_dir / "pom.xml").is_file():
        raise LocalNodeError(f"the analysis plugin's sources are missing ({plugin_dir}/pom.xml): "
                             "run from a checkout of the Wirewatch repository")
    sources_mtime = max(_newest_mtime(plugin_dir / "src"), (plugin_dir / "pom.xml").stat().st_mtime)
    if zip_path.is_file() and zip_path.stat().st_mtime >= sources_mtime:
        return zip_path
    run_tool([_mvn(), "-q", "-B", "-f", str(plugin_dir / "pom.xml"), "package"],
             what="building the Wirewatch analysis plugin")
    if not zip_path.is_file():
        raise LocalNodeError(f"the plugin build ran but produced no {zip_path}")
    return zip_path


def plugin_installed(layout: NodeLayout) -> bool:
    return (layout.es_home / "plugins" / PLUGIN_NAME / "stable-plugin-descriptor.properties").is_file()


def install_plugin(layout: NodeLayout, plugin_zip: Path, *, java_home: Path) -> None:
    """Install (or replace) the plugin in the unpacked distribution, unless this very zip is installed."""
    digest = hashlib.sha256(plugin_zip.read_bytes()).hexdigest()
    marker = layout.dist_dir / f".{PLUGIN_NAME}.sha256"
    installed = layout.es_home / "plugins" / PLUGIN_NAME
    if installed.is_dir() and marker.is_file() and marker.read_text().strip() == digest:
        return
    tool = str(layout.es_home / "bin" / "elasticsearch-plugin")
    env = {key: value for key, value in os.environ.items() if not key.startswith("ES_")}
    env["ES_JAVA_HOME"] = str(java_home)
    if installed.is_dir():
        run_tool([tool, "remove", PLUGIN_NAME], what="removing the old analysis plugin", env=env)
    run_tool([tool, "install", "--batch", plugin_zip.resolve().as_uri()],
             what="installing the analysis plugin", env=env)
    marker.write_text(digest + "\n")
