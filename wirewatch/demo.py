"""``make run``: the whole job on the seed corpus, through real Airflow, then what an analyst would look at.

1. a local Elasticsearch node unless ``WIREWATCH_ES_URL`` is set (left running: ``wirewatch es stop``);
2. the seed corpus served on loopback at ``feeds_base_url`` (127.0.0.1:8765 by default);
3. the ingest DAG run once by ``airflow dags test`` with the project-local AIRFLOW_HOME;
4. the pass summary, a search for a tracked group with highlighted hits, the alerts delivered (a JSON-lines
   file channel unless ``WIREWATCH_CHANNELS_FILE`` names others), and how to go further;
5. the analysts' workbench (``wirewatch serve``) at http://127.0.0.1:8000 until Ctrl-C, with the seed server
   still up so the printed next steps work as printed; ``--no-serve`` (``make run NO_SERVE=1``) stops after 4.
"""

from __future__ import annotations

import argparse
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
from wirewatch.settings import PROJECT_ROOT, Settings, load_settings, masked_url

console = Console()
BIN = Path(sys.executable).parent


def ensure_node(settings: Settings) -> str:
    if settings.es_url:
        console.print(f"Using Elasticsearch at {masked_url(settings.es_url)} (WIREWATCH_ES_URL)")
        return settings.es_url
    from wirewatch.runtime import build_runtime

    node = build_runtime(settings).local_node()
    with console.status("starting the local Elasticsearch node (first start takes ~30 s)"):
        status = node.start(timeout_s=settings.local_es_start_timeout_s)
    console.print(f"Elasticsearch {status.version} at {status.url} (pid {status.pid})")
    return status.url


def ensure_pool(settings: Settings, env: dict[str, str], log_path: Path) -> None:
    """The pool the shard tasks run in (idempotent): ``dags test`` ignores pools, a scheduler does not."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a") as log:
        subprocess.run(
            [str(BIN / "airflow"), "pools", "set", settings.airflow_pool, str(settings.airflow_pool_size),
             "wirewatch shards: the shard tasks running at once"],
            env=env, stdout=log, stderr=subprocess.STDOUT, check=False,
        )  # fmt: skip


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wirewatch.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--no-serve", action="store_true", help="stop after the pass (scripts, CI)")
    args = parser.parse_args(argv)
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
        # the seed corpus is dated 2018: with the age bound on, it would be indexed and raise no alert at all
        env.setdefault("WIREWATCH_ALERT_MAX_AGE_DAYS", "0")
        if env["WIREWATCH_ALERT_MAX_AGE_DAYS"] in ("0", "0.0"):
            console.print("Alert age bound off for the demo (the seed is dated 2018): WIREWATCH_ALERT_MAX_AGE_DAYS=0")
        env.setdefault("AIRFLOW_HOME", str(PROJECT_ROOT / "airflow_home"))
        env.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
        env.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        log_path = run_dir / "airflow-dags-test.log"
        ensure_pool(settings, env, run_dir / "airflow-pool.log")
        if not run_dag(env, log_path):
            console.print(f"[red]The DAG run failed.[/] Its log: {log_path}")
            return 1
        show_results(settings, env)
        print_next_steps(es_url, seed.base_url, log_path, serving=not args.no_serve)
        if not args.no_serve:
            return serve(env)
    return 0


def show_results(settings: Settings, env: dict[str, str]) -> None:
    console.print(Rule("The pass"))
    render_summary(console, json.loads(settings.summary_file.read_text()))
    # one query across the three languages of the seed corpus
    cli("search", "Libya OR Libye OR ليبيا", "--group", "islamic-state", "--limit", "3", env=env)
    cli("alerts", "list", env=env)
    if settings.channels_file is None:
        console.print(f"Alerts were delivered to the file channel: {settings.alerts_file}")


def print_next_steps(es_url: str, seed_url: str, log_path: Path, *, serving: bool) -> None:
    # the variables the pass ran with: without them a later command polls nothing (the seed server is on
    # loopback, which the settings refuse by default) or looks for a node that is not there
    env = f"WIREWATCH_ES_URL={es_url} WIREWATCH_FEEDS_BASE_URL={seed_url} WIREWATCH_HTTP_ALLOW_LOOPBACK=true"
    console.print(Rule("Next"))
    lines = [
        "Search further:    .venv/bin/wirewatch search 'Belmokhtar' --entity 'Khalifa Haftar' --json",
        "Add a query watch: .venv/bin/wirewatch watch add libya-oil --query '\"Oil Crescent\" OR Ajdabiya'",
        f"Run the scheduler: {env} PATH=$PWD/.venv/bin:$PATH AIRFLOW_HOME=$PWD/airflow_home "
        "AIRFLOW__CORE__DAGS_FOLDER=$PWD/dags airflow standalone"
        + ("   (while the workbench below serves: the seed server is up until Ctrl-C)" if serving else ""),
        f"Airflow log:       {log_path}",
        "The workbench:     .venv/bin/wirewatch serve   (http://127.0.0.1:8000; users: wirewatch users add)",
        "Stop the node:     .venv/bin/wirewatch es stop",
    ]
    console.print("\n".join(lines), highlight=False)


def serve(env: dict[str, str]) -> int:
    """``wirewatch serve`` until Ctrl-C (which reaches it too: it shares the terminal's process group)."""
    console.print(Rule("The workbench"))
    try:
        done = subprocess.run([str(BIN / "wirewatch"), "serve"], env=env, check=False)
    except KeyboardInterrupt:
        console.print("stopped the workbench and the seed server")
        return 0
    return 0 if done.returncode in (0, -2, 130) else done.returncode


if __name__ == "__main__":
    sys.exit(main())
