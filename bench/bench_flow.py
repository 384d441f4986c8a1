"""``python -m bench.bench_flow``: the engine's two flow figures (issue 13), on the loopback site.

- **Slow hosts**: a first pass over N one-entry feeds (default 500) of which 2 % are on hosts that answer
  after 8 s, against the same pass without them. Both passes index the same N articles: the slow feeds link
  the articles of the corpus feeds they replace. Target: ratio <= 1.5.
- **Steady state**: a pass over M feeds (default 2,000) that are all unchanged since a first (untimed) pass.
  Target: >= 200 feeds/s.

Each pass runs the real ``wirewatch.pipeline.run_pass`` (through the engine) on a fresh index prefix, with
warm tools (extraction workers and, for the slow-host passes, the NER model loaded before the clock starts).
Elasticsearch is ``$WIREWATCH_ES_URL``, else a local node started for the run. Writes ``bench/results/flow.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from bench.__main__ import elasticsearch_url
from bench.corpus import CorpusSpec, feed_path, feed_xml, make_corpus
from bench.farm import ENTRIES as FARM_ENTRIES
from bench.farm import FeedFarm
from bench.measure import ProcessTree, RssSampler, machine_info
from bench.passes import PassSetup, drop_prefix, pass_settings
from bench.server import CorpusServer
from wirewatch.pipeline import ensure_indices, run_pass, sync_watches
from wirewatch.runtime import build_runtime

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "flow.json"


class SlowHost:
    """One host (its own port) that answers its one feed after ``delay_s``."""

    def __init__(self, body: bytes, delay_s: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                time.sleep(delay_s)
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/feed.xml"
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def write_feeds(path: Path, corpus_feeds: list[int], extra: dict[str, str]) -> Path:
    rows = [{"id": f"bench-f{i:04d}", "url": "{base}" + feed_path(i), "interval_s": 60} for i in corpus_feeds]
    rows += [{"id": fid, "url": url, "interval_s": 60} for fid, url in extra.items()]
    path.write_text(yaml.safe_dump({"feeds": rows}, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def prepared(setup: PassSetup, feeds_file: Path, **overrides: Any) -> Iterator[Any]:
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    settings = pass_settings(setup, feeds_file, prefix).model_copy(update=overrides)
    rt = build_runtime(settings)
    try:
        ensure_indices(rt)
        sync_watches(rt, list(rt.channels()))
        yield rt
    finally:
        drop_prefix(rt.es, prefix)
        rt.es.close()


def timed_pass(rt: Any, tools: Any) -> tuple[float, Any]:
    began = time.perf_counter()
    summary = run_pass(rt, tools, only_due=False, deadline_s=3600)
    return time.perf_counter() - began, summary


def slow_hosts(
    es_url: str, workdir: Path, feeds: int, share: float, delay_s: float, console: Console
) -> dict[str, Any]:
    spec = CorpusSpec(feeds=feeds, per_feed=1)
    corpus = make_corpus(spec)
    n_slow = max(1, round(feeds * share))
    with CorpusServer(spec, workdir / "receipts.jsonl") as site:
        setup = PassSetup(es_url=es_url, base_url=site.base_url, hook_url=site.hook_url, workdir=workdir,
                          workers=2, per_feed=1)  # fmt: skip
        hosts = [SlowHost(feed_xml(i, corpus.feed_articles(i), site.base_url).encode(), delay_s)
                 for i in range(feeds - n_slow, feeds)]  # fmt: skip
        try:
            without = write_feeds(workdir / "without.yaml", list(range(feeds)), {})
            with_slow = write_feeds(workdir / "with.yaml", list(range(feeds - n_slow)),
                                    {f"slow-{k}": h.url for k, h in enumerate(hosts)})  # fmt: skip
            results: dict[str, Any] = {}
            for label, path in (("without_slow_hosts", without), ("with_slow_hosts", with_slow)):
                with prepared(setup, path) as rt, rt.tools() as tools:
                    tools.tagger.warm_up()
                    wall, summary = timed_pass(rt, tools)
                results[label] = {"wall_s": round(wall, 2), "indexed": summary.entries["indexed"],
                                  "feeds": dict(summary.feeds), "accounted": summary.accounted}  # fmt: skip
                console.print(f"slow hosts, {label}: {wall:.1f} s, {summary.entries['indexed']} indexed")
        finally:
            for host in hosts:
                host.close()
    ratio = results["with_slow_hosts"]["wall_s"] / results["without_slow_hosts"]["wall_s"]
    return {"feeds": feeds, "slow_feeds": n_slow, "delay_s": delay_s, **results, "ratio": round(ratio, 3),
            "target": "<= 1.5", "met": ratio <= 1.5}  # fmt: skip


def index_bytes(rt: Any) -> dict[str, Any]:
    """Bytes per article document on disk (primaries), as written and after a merge to one segment."""
    index = rt.names.articles
    rt.es.indices.refresh(index=index)
    rt.es.indices.flush(index=index)
    docs = int(rt.es.count(index=index)["count"])
    written = rt.es.indices.stats(index=index, metric="store")["_all"]["primaries"]["store"]["size_in_bytes"]
    rt.es.indices.forcemerge(index=index, max_num_segments=1)
    merged = rt.es.indices.stats(index=index, metric="store")["_all"]["primaries"]["store"]["size_in_bytes"]
    per = round(merged / max(1, docs))
    return {"docs": docs, "bytes_per_article_written": round(written / max(1, docs)), "bytes_per_article_merged": per}


def steady_state(es_url: str, workdir: Path, feeds: int, passes: int, console: Console) -> dict[str, Any]:
    """A first (untimed) pass, then ``passes`` timed passes over the same, unchanged feeds. Memory is the
    summed RSS of this process and its workers, sampled every 0.1 s: flat means the last pass peaks no higher
    than the first unchanged one (a leak per feed would grow with every pass)."""
    spec = CorpusSpec(feeds=feeds, per_feed=1, min_words=300, max_words=400)
    with CorpusServer(spec, workdir / "receipts-steady.jsonl") as site:
        tree = ProcessTree(exclude=[site.pid] if site.pid else [])
        setup = PassSetup(es_url=es_url, base_url=site.base_url, hook_url=site.hook_url, workdir=workdir,
                          workers=2, per_feed=1)  # fmt: skip
        path = write_feeds(workdir / "steady.yaml", list(range(feeds)), {})
        with prepared(setup, path, ner_enabled=False) as rt, rt.tools(ner=False) as tools:
            first_wall, first = timed_pass(rt, tools)  # every feed new: not timed
            console.print(f"steady state: first pass {first_wall:.1f} s, {first.entries['indexed']} indexed")
            index = index_bytes(rt)
            runs: list[dict[str, Any]] = []
            for _ in range(max(1, passes)):
                with RssSampler(tree) as rss:
                    wall, summary = timed_pass(rt, tools)
                runs.append({"wall_s": round(wall, 3), "feeds_per_s": round(feeds / wall, 1),
                             "peak_rss_mb": rss.peak_mb, "feeds_states": dict(summary.feeds)})  # fmt: skip
                console.print(f"steady state: {feeds} unchanged feeds in {wall:.2f} s = {feeds / wall:.0f} feeds/s,"
                              f" peak RSS {rss.peak_mb:.0f} MB")  # fmt: skip
    rate = min(r["feeds_per_s"] for r in runs)
    growth = runs[-1]["peak_rss_mb"] / max(1.0, runs[0]["peak_rss_mb"])
    target = 300 if feeds >= 20000 else 200
    return {"feeds": feeds, "wall_s": runs[-1]["wall_s"], "feeds_per_s": rate, "passes": runs,
            "rss_growth_first_to_last": round(growth, 3), "memory_flat": growth <= 1.05,
            "first_pass_wall_s": round(first_wall, 1), "first_pass_indexed": first.entries["indexed"],
            "index": index, "target": f">= {target}", "met": rate >= target and growth <= 1.05}  # fmt: skip


def feed_farm(es_url: str, workdir: Path, feeds: int, passes: int, hosts: int, console: Console) -> dict[str, Any]:
    """The farm (bench/farm.py): a first pass (untimed), then ``passes`` timed passes over the unchanged feeds,
    with the peak RSS of this process and its workers in each (the farm's process excluded). Flat: the last
    pass peaks no more than 5 % above the first unchanged one."""
    with FeedFarm(hosts) as farm:
        tree = ProcessTree(exclude=[farm.pid] if farm.pid else [])
        # per_feed: every entry taken in the first pass (entries left for later keep a feed's validators unsaved)
        setup = PassSetup(es_url=es_url, base_url=farm.bases[0], hook_url=farm.bases[0] + "/hook", workdir=workdir,
                          workers=2, per_feed=FARM_ENTRIES)  # fmt: skip
        path = farm.write_feeds(workdir / "farm.yaml", feeds)
        with prepared(setup, path, ner_enabled=False) as rt, rt.tools(ner=False) as tools:
            first_wall, first = timed_pass(rt, tools)
            console.print(f"farm: first pass {first_wall:.1f} s, feeds {dict(first.feeds)}")
            runs: list[dict[str, Any]] = []
            for _ in range(max(1, passes)):
                cpu = tree.cpu_seconds()
                with RssSampler(tree) as rss:
                    wall, summary = timed_pass(rt, tools)
                cpu_ms = (tree.cpu_seconds() - cpu) * 1000 / feeds
                load = [round(x, 2) for x in os.getloadavg()]
                runs.append({"wall_s": round(wall, 3), "feeds_per_s": round(feeds / wall, 1),
                             "peak_rss_mb": rss.peak_mb, "cpu_ms_per_feed": round(cpu_ms, 3), "load_average": load,
                             "feeds_states": dict(summary.feeds)})  # fmt: skip
                console.print(f"farm: {feeds} unchanged feeds in {wall:.2f} s = {feeds / wall:.0f} feeds/s,"
                              f" peak RSS {rss.peak_mb:.0f} MB")  # fmt: skip
    rate = min(r["feeds_per_s"] for r in runs)
    growth = runs[-1]["peak_rss_mb"] / max(1.0, runs[0]["peak_rss_mb"])
    return {"feeds": feeds, "hosts": len(farm.bases), "passes": runs, "feeds_per_s_min": rate,
            "rss_growth_first_to_last": round(growth, 3), "memory_flat": growth <= 1.05,
            "first_pass_wall_s": round(first_wall, 1), "first_pass_feeds": dict(first.feeds),
            "target": ">= 300 feeds/s, memory flat", "met": rate >= 300 and growth <= 1.05}  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bench_flow", description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500, help="one-entry feeds of the slow-host passes")
    parser.add_argument("--slow-share", type=float, default=0.02)
    parser.add_argument("--delay", type=float, default=8.0, help="seconds a slow host waits before answering")
    parser.add_argument("--steady", type=int, default=2000, help="unchanged feeds of the steady-state pass")
    parser.add_argument(
        "--feeds-farm",
        dest="farm",
        type=int,
        default=0,
        help="only the feed farm (bench/farm.py): this many unchanged feeds (20000: the >= 300/s target)",
    )
    parser.add_argument("--farm-hosts", type=int, default=100, help="loopback hosts (ports) the farm spreads over")
    parser.add_argument("--passes", type=int, default=1, help="timed unchanged passes (memory flat across them)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console()
    with elasticsearch_url(console) as es_url, tempfile.TemporaryDirectory(prefix="wirewatch-flow-") as tmp:
        if args.farm:
            farm = feed_farm(es_url, Path(tmp), args.farm, max(args.passes, 2), args.farm_hosts, console)
            results = {"feed_farm": farm}
        else:
            results = {
                "slow_hosts": slow_hosts(es_url, Path(tmp), args.feeds, args.slow_share, args.delay, console),
                "steady_state": steady_state(es_url, Path(tmp), args.steady, args.passes, console),
            }
    results["machine"] = machine_info()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    console.print_json(json.dumps(results))


if __name__ == "__main__":
    main()
