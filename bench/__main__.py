"""``python -m bench --size quick|full``: every figure of bench/README.md in one run.

Order: the main pass (its peak RSS is taken before anything else has grown this process), the scaling
passes, the NER-first pass, then the limit and the naive loop (they load the full spaCy model in this
process, so they come last). Elasticsearch is ``$WIREWATCH_ES_URL`` when set, else a local node on a free
port that is stopped at the end. Writes ``bench/results/latest.json`` and prints a table.
"""

from __future__ import annotations

import argparse
import os
import socket
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from bench.baselines import download, measure_limit, measure_naive
from bench.corpus import SIZES, WATCHLIST, CorpusSpec, make_corpus, write_feed_list
from bench.measure import machine_info
from bench.passes import PassResult, PassSetup, drop_prefix, measured_pass
from bench.report import build_results, print_table, write_results
from bench.server import CorpusServer
from enrich.ner import DEFAULT_MODEL
from enrich.watchlist import load_watchlist
from search.client import make_client
from wirewatch.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "latest.json"
WARM_ARTICLES = 240  # the untimed pass that warms the node up before the measured ones
BASELINE_SAMPLE = 600  # limit and naive run on at most this many articles (spread over the corpus)


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


@contextmanager
def elasticsearch_url(console: Console) -> Iterator[str]:
    url = os.environ.get("WIREWATCH_ES_URL")
    if url:
        yield url
        return
    from search.localnode import LocalNode

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    node = LocalNode(home=ROOT / ".cache" / "es", port=port, heap_mb=1024, data_name="bench")
    console.print(f"starting a local Elasticsearch node on port {port} (WIREWATCH_ES_URL is not set)")
    status = node.start(timeout_s=180)
    try:
        yield status.url
    finally:
        node.stop()


def run_benchmark(
    spec: CorpusSpec, *, size: str, es_url: str, workers: int, out: Path, console: Console
) -> dict[str, Any]:
    """Every figure for ``spec``; writes ``out`` and returns the results document."""
    began = time.perf_counter()
    machine = machine_info()
    watchlist = load_watchlist(WATCHLIST)
    with _progress(console) as progress:
        task = progress.add_task("generating the corpus", total=spec.articles)
        corpus = make_corpus(spec, watchlist=watchlist, progress=lambda n: progress.advance(task, n))
    stats = corpus.stats()
    step = max(1, len(corpus.articles) // BASELINE_SAMPLE)
    sample_paths = [a.path for a in corpus.articles[::step]][:BASELINE_SAMPLE]
    del corpus  # the pipeline's memory is measured next: do not carry the generated text around
    with (
        tempfile.TemporaryDirectory(prefix="wirewatch-bench-") as tmp,
        CorpusServer(spec, Path(tmp) / "receipts.jsonl") as server,
    ):
        workdir = Path(tmp)
        setup = PassSetup(
            es_url=es_url,
            base_url=server.base_url,
            hook_url=server.hook_url,
            workdir=workdir,
            workers=workers,
            per_feed=spec.per_feed,
            exclude_pids=(server.pid,) if server.pid else (),
        )
        feeds = {
            k: write_feed_list(workdir / f"feeds-{k}.yaml", max(1, spec.feeds * m // 4))
            for k, m in (("1x", 1), ("2x", 2), ("4x", 4))
        }

        def one_pass(label: str, feeds_file: Path, *, ner_first: bool = False) -> PassResult:
            server.clear_receipts()
            with _progress(console) as progress:
                task = progress.add_task(f"pass {label}", total=None)
                result = measured_pass(
                    setup,
                    feeds_file,
                    label=label,
                    ner_first=ner_first,
                    receipts=server.receipts,
                    on_step=lambda s: progress.update(task, description=f"pass {label}: {s}"),
                )
            console.print(
                f"pass {label}: {result.articles} articles in {result.wall_s:.1f} s "
                f"({result.articles_per_s:.1f}/s), peak RSS {result.peak_rss_mb} MB"
            )
            return result

        # Untimed: a node that has just started spends its first minute compiling and loading (measured: a quick
        # run straight after a start gave it 40 % of the machine, 15 % warm); a production node is long up.
        warm_feeds = max(1, min(spec.feeds, -(-WARM_ARTICLES // spec.per_feed)))
        one_pass("warm-up (not reported)", write_feed_list(workdir / "feeds-warm.yaml", warm_feeds))
        main = one_pass("4x (main)", feeds["4x"])
        scaling = {"1x": one_pass("1x", feeds["1x"]), "2x": one_pass("2x", feeds["2x"]), "4x": main}
        ner_first = one_pass("1x, NER before alerts", feeds["1x"], ner_first=True)
        urls = [server.base_url + path for path in sample_paths]
        with _progress(console) as progress:
            task = progress.add_task("downloading the baseline sample", total=len(urls))
            pages = download(urls, tick=lambda n: progress.advance(task, n))
            task = progress.add_task("limit: extraction + tagging alone", total=2 * len(urls))
            limit = measure_limit(
                pages,
                watchlist=watchlist,
                model=DEFAULT_MODEL,
                batch_size=Settings.model_fields["ner_batch_size"].default,  # the pass's batches
                cores=machine["cores"],
                tick=lambda n: progress.advance(task, n),
            )
            del pages
            task = progress.add_task("naive loop (GET, extract, full nlp, es.index)", total=len(urls))
            naive = _naive(es_url, urls, tick=lambda n: progress.advance(task, n))
    machine["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results = build_results(
        size=size,
        corpus=stats,
        main=main,
        scaling=scaling,
        ner_first=ner_first,
        gazetteer_first=scaling["1x"],
        limit=limit,
        naive=naive,
        naive_sampled=len(urls) < stats["articles"],
        machine=machine,
        extra={
            "workers": workers,
            "elasticsearch": "WIREWATCH_ES_URL"
            if os.environ.get("WIREWATCH_ES_URL")
            else "local node started by the benchmark",
            "duration_s": round(time.perf_counter() - began, 1),
        },
    )
    write_results(results, out)
    print_table(results, console)
    console.print(f"results written to {out}")
    return results


def _naive(es_url: str, urls: list[str], *, tick: Any) -> Any:
    es = make_client(url=es_url, request_timeout=120)
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    try:
        return measure_naive(urls, es=es, index=f"{prefix}naive", model=DEFAULT_MODEL, tick=tick)
    finally:
        drop_prefix(es, prefix)
        es.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="quick")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="extraction and NER processes (default: the cores)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    console = Console()
    with elasticsearch_url(console) as es_url:
        run_benchmark(
            SIZES[args.size], size=args.size, es_url=es_url, workers=args.workers, out=args.out, console=console
        )


if __name__ == "__main__":
    main()
