"""``make run``: the whole job on the seed corpus, through real Airflow, then what an analyst would look at.

1. a local Elasticsearch node unless ``WIREWATCH_ES_URL`` is set (left running: ``wirewatch es stop``);
2. the seed corpus served on loopback at ``feeds_base_url`` (127.0.0.1:8765 by default);
3. the ingest DAG run once by ``airflow dags test`` with the project-local AIRFLOW_HOME;
4. the pass summary, a search for a tracked group with highlighted hits, the alerts delivered (a JSON-lines
   file channel unless ``WIREWATCH_CHANNELS_FILE`` names others), and how to go further.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from rich.console import Console
from rich.rule import Rule

from seeds.server import SeedServer
from wirewatch.cli.render import render_summary
from wirewatch.settings import PROJECT_ROOT, Settings, load_settings

console = Console()
BIN = Path(sys.executable).parent


def ensure_node(settings: Settings) -> str:
    if settings.es_url:
        console.print(f"Using Elasticsearch at {settings.es_url} (WIREWATCH_ES_URL)")
        return settings.es_url
    from search.localnode import LocalNode

    node = LocalNode(
        home=settings.local_es_home, port=settings.local_es_port, heap_mb=settings.local_es_heap_mb
    )
    with console.status("starting the local Elasticsearch node (first start takes ~30 s)"):
        status = node.start(timeout_s=settings.local_es_start_timeout_s)
    console.print(f"Elasticsearch {status.version} at {status.url} (pid {status.pid})")
    return status.url


def run_dag(env: dict[str, str], log_path: Path) -> bool:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with console.status("running the wirewatch_ingest DAG through Airflow (airflow dags test)"), log_path.open(
        "w"
    ) as log:
        done = subprocess.run(
            [str(BIN / "airflow"), "dags", "test", "wirewatch_ingest"],
            env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip
    return done.returncode == 0


def cli(*args: str, env: dict[str, str]) -> None:
    console.print(Rule(f"wirewatch {' '.join(args)}"))
    subprocess.run([str(BIN / "wirewatch"), *args], env=env, check=False)


def main() -> int:
    settings = load_settings()
    es_url = ensure_node(settings)
    run_dir = PROJECT_ROOT / "run"
    # A fixed port (from feeds_base_url), so article URLs and ids stay the same from one run to the next.
    port = urlsplit(settings.feeds_base_url or "").port or 8765
    with SeedServer(port) as seed:
        console.print(
            f"Seed corpus served at {seed.base_url} (rss.xml, atom.xml; French fr/rss.xml, Arabic ar/rss.xml)"
        )
        env = {
            **os.environ,
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "WIREWATCH_ES_URL": es_url,
            "WIREWATCH_FEEDS_BASE_URL": seed.base_url,
            "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        }
        env.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / "airflow_home"))
        env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
        env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        log_path = run_dir / "airflow-dags-test.log"
        ok = run_dag(env, log_path)
    if not ok:
        console.print(f"[red]The DAG run failed.[/] Its log: {log_path}")
        return 1
    console.print(Rule("The pass"))
    render_summary(console, json.loads(settings.summary_file.read_text()))
    # one query across the three languages of the seed corpus
    cli("search", "Libya OR Libye OR ليبيا", "--group", "islamic-state", "--limit", "3", env=env)
    cli("alerts", "list", env=env)
    if settings.channels_file is None:
        console.print(f"Alerts were delivered to the file channel: {settings.alerts_file}")
    console.print(Rule("Next"))
    console.print(
        "Search further:    .venv/bin/wirewatch search 'Belmokhtar' --entity 'Khalifa Haftar' --json\n"
        "Add a query watch: .venv/bin/wirewatch watch add libya-oil --query '\"Oil Crescent\" OR Ajdabiya'\n"
        "Run the scheduler: PATH=$PWD/.venv/bin:$PATH AIRFLOW_HOME=$PWD/airflow_home "
        "AIRFLOW__CORE__DAGS_FOLDER=$PWD/dags airflow standalone\n"
        f"Airflow log:       {log_path}\n"
        "Stop the node:     .venv/bin/wirewatch es stop",
        highlight=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
