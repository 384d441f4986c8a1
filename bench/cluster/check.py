"""The cluster check's run: start everything, trigger, kill a worker and a node mid-run, count, trigger again.

Steps (each part's log under .cache/cluster-check/logs):
1. three Elasticsearch nodes (one cluster, one replica per index), PostgreSQL, Redis, an SMTP server and a
   loopback feed farm of ``--feeds`` feeds (its /hook is the webhook channel);
2. ``wirewatch es setup``, ``airflow db migrate``, the pool; api-server, scheduler, dag-processor, two workers;
3. a triggered run: once two shards run, the worker running the most tasks is SIGKILLed (its whole process
   group, as a machine dies) and then one Elasticsearch node; its shards fail by heartbeat timeout and are
   retried on the other worker; the node is started again once the cluster was seen yellow;
4. the counts (``bench.cluster.counts``); a second trigger must leave them unchanged.
Everything started is ended on the way out, failures included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import yaml

from bench.cluster.airflowrun import MetaDb, airflow_env, prepare, start_services, trigger
from bench.cluster.counts import Mailbox, cluster_counts
from bench.cluster.escluster import EsCluster
from bench.cluster.procs import CheckError, Group, start_postgres, start_redis
from bench.corpus import CorpusSpec, feed_path
from bench.server import CorpusServer
from search.client import make_client
from search.names import IndexNames
from wirewatch.settings import PROJECT_ROOT, load_settings

WIREWATCH = str(Path(sys.executable).with_name("wirewatch"))
KILLED_NODE = 2  # the services' clients know every node (WIREWATCH_ES_URL) and must go on without this one


def wirewatch_env(run_dir: Path, es_url: str, site: CorpusServer, mailbox: Mailbox, feeds: int) -> dict[str, str]:
    channels = [
        {"name": "mail", "type": "email", "host": "127.0.0.1", "port": mailbox.port, "security": "none",
         "sender": "wirewatch@example.org", "to": ["desk@example.org"]},
        {"name": "hook", "type": "webhook", "url": site.hook_url},
    ]  # fmt: skip
    (run_dir / "channels.yaml").write_text(yaml.safe_dump({"channels": channels}))
    # due again a few seconds after a poll: the second trigger polls every feed again and must change nothing
    entries = [{"id": f"farm-f{i:03d}", "url": "{base}" + feed_path(i), "interval_s": 5} for i in range(feeds)]
    (run_dir / "feeds.yaml").write_text(yaml.safe_dump({"feeds": entries}, sort_keys=False))
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("WIREWATCH_", "AIRFLOW"))}
    return {
        **inherited,
        "PYTHONPATH": str(PROJECT_ROOT),
        "WIREWATCH_ES_URL": es_url,
        "WIREWATCH_FEEDS_FILE": str(run_dir / "feeds.yaml"),
        "WIREWATCH_FEEDS_BASE_URL": site.base_url,
        "WIREWATCH_HTTP_ALLOW_LOOPBACK": "true",
        "WIREWATCH_DELIVERY_ALLOW_LOOPBACK": "true",
        "WIREWATCH_CHANNELS_FILE": str(run_dir / "channels.yaml"),
        "WIREWATCH_EXTRACT_WORKERS": "1",
        "WIREWATCH_NER_ENABLED": "false",  # groups are still matched; spaCy in 4 shards would not fit 2 cores
        "WIREWATCH_ALERT_MAX_AGE_DAYS": "0",
        # a dead shard's leases and delivery claims lapse before its retry and the reconcile task start (the
        # heartbeat timeout and the retry delay come first): nothing it held waits for the next run
        "WIREWATCH_FEED_LEASE_TTL_S": "15",
        "WIREWATCH_DELIVERY_CLAIM_TTL_S": "20",
        "WIREWATCH_SUMMARY_FILE": str(run_dir / "last-pass.json"),
    }


def busiest(workers: list[Group]) -> Group:
    """The worker with the most processes under it: task supervisors and task processes are forked per task."""

    def load(group: Group) -> int:
        try:
            return len(psutil.Process(group.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            return -1

    return max(workers, key=load)


def disturb(db: MetaDb, run_id: str, workers: list[Group], cluster: EsCluster, facts: dict[str, Any]) -> None:
    """Kill one worker and one node while shards run; bring the node back once the cluster is yellow."""
    deadline = time.monotonic() + 300
    while db.running_shards(run_id) < 2:
        if time.monotonic() > deadline or db.run_state(run_id) in ("success", "failed"):
            raise CheckError(f"never saw two shards running: {db.tasks(run_id)}")
        time.sleep(0.3)
    victim = busiest(workers)
    victim.kill()
    facts["killed_worker"] = victim.name
    cluster.kill(KILLED_NODE)
    facts["killed_node"] = cluster.nodes[KILLED_NODE].layout.data_name
    seen = [cluster.health().get("status")]
    yellow_by = time.monotonic() + 60
    while "yellow" not in seen and "red" not in seen and time.monotonic() < yellow_by:
        time.sleep(0.2)
        seen.append(cluster.health().get("status"))
    facts["health_after_node_kill"] = sorted({str(s) for s in seen})
    # the remaining two nodes re-create the lost replicas (delayed_timeout 5 s): green without the node
    facts["seconds_to_green_on_two_nodes"] = round(cluster.wait_status("green", timeout_s=120, nodes=2), 1)
    cluster.restart(KILLED_NODE)
    facts["seconds_to_green_on_three_nodes"] = round(cluster.wait_status("green", timeout_s=180, nodes=3), 1)


def run_check(feeds: int, per_feed: int, http_ports: list[int]) -> dict[str, Any]:
    started = time.monotonic()
    settings = load_settings()
    run_dir = PROJECT_ROOT / ".cache" / "cluster-check"
    shutil.rmtree(run_dir, ignore_errors=True)
    logs = run_dir / "logs"
    logs.mkdir(parents=True)
    spec = CorpusSpec(feeds=feeds, per_feed=per_feed, mention_share=0.5, min_words=150, max_words=300)
    facts: dict[str, Any] = {"killed_worker": False, "killed_node": False}
    groups: list[int] = []  # every process group started, written out last (the test checks none is left)
    with ExitStack() as stack, ThreadPoolExecutor(1) as background:
        stack.callback(lambda: (run_dir / "groups.json").write_text(json.dumps(sorted(set(groups)))))
        cluster = EsCluster(settings.local_es_home, http_ports)
        stack.callback(cluster.stop)
        # the nodes start while Postgres, Redis, the database migration and Airflow do (both take minutes)
        nodes_up = background.submit(cluster.start)
        stack.callback(lambda: nodes_up.exception())  # on a failure, stop the nodes only once started
        pg, sql_url = start_postgres(run_dir / "pg", logs)
        stack.callback(pg.stop)
        redis, broker_url = start_redis(logs)
        stack.callback(redis.stop)
        groups += [pg.pid, redis.pid]
        mailbox = Mailbox()
        stack.callback(mailbox.stop)
        site = stack.enter_context(CorpusServer(spec, run_dir / "hook.jsonl"))
        env = airflow_env(wirewatch_env(run_dir, cluster.urls, site, mailbox, feeds), run_dir / "airflow_home",
                          sql_url, broker_url)  # fmt: skip
        prepare(env)
        core, workers = start_services(env, logs)
        for group in [*core, *workers]:
            stack.callback(group.stop)
            groups.append(group.pid)
        nodes_up.result()
        groups += cluster.pids()
        setup = subprocess.run([WIREWATCH, "es", "setup"], env=env, capture_output=True, text=True, check=False)
        if setup.returncode != 0:
            raise CheckError(f"wirewatch es setup failed: {setup.stderr[-2000:]}")
        cluster.settle_indices()
        facts["services_ready_s"] = round(time.monotonic() - started, 1)
        db = MetaDb(sql_url)
        first = time.monotonic()
        run_id = trigger(env)
        disturb(db, run_id, workers, cluster, facts)
        groups += cluster.pids()  # the restarted node
        facts["first_run"] = db.wait_run(run_id, timeout_s=1500)
        facts["first_run_s"] = round(time.monotonic() - first, 1)
        facts["shard_tries"] = sorted(int(t["try_number"]) for t in db.tasks(run_id) if t["task_id"] == "shard")
        es = make_client(url=cluster.url)
        names = IndexNames(prefix="")  # the services run without a prefix: the cluster is theirs alone
        counts = cluster_counts(es, names, articles_expected=spec.articles, feeds=feeds, mailbox=mailbox,
                                receipts=site.receipts_path)  # fmt: skip
        facts["replicas"] = sorted(set(cluster.replicas().values()))
        second = time.monotonic()
        again = trigger(env)
        facts["second_run"] = db.wait_run(again, timeout_s=600)
        facts["second_run_s"] = round(time.monotonic() - second, 1)
        after = cluster_counts(es, names, articles_expected=spec.articles, feeds=feeds, mailbox=mailbox,
                               receipts=site.receipts_path)  # fmt: skip
        facts["second_run_unchanged"] = after == counts
        facts["second_run_changes"] = {k: [v, after[k]] for k, v in counts.items() if after[k] != v}
        facts["summary_accounted"] = bool(json.loads((run_dir / "last-pass.json").read_text()).get("accounted"))
        es.close()
    facts["killed_worker"] = bool(facts["killed_worker"])
    facts["killed_node"] = bool(facts["killed_node"])
    return {**counts, **facts, "seconds": round(time.monotonic() - started, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=300, help="feeds in the loopback farm (default 300)")
    parser.add_argument("--per-feed", type=int, default=2, help="articles per feed (default 2)")
    parser.add_argument("--es-port", type=int, default=9270, help="HTTP port of the first node; +1, +2 the others")
    args = parser.parse_args(argv)
    # SIGTERM (a CI timeout, a test's kill) unwinds like an error: every process started is ended on the way out
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        result = run_check(args.feeds, args.per_feed, [args.es_port + i for i in range(3)])
    except CheckError as exc:
        print(f"cluster check failed: {exc}\nlogs: {PROJECT_ROOT / '.cache' / 'cluster-check' / 'logs'}",
              file=sys.stderr)  # fmt: skip
        return 1
    print(json.dumps(result, sort_keys=True))
    return 0
