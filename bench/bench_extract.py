"""Extraction speed: the project's path (ExtractPool, 1 and 2 workers) against plain ``trafilatura.extract``.

    .venv/bin/python bench/bench_extract.py [--pages 240] [--rounds 2]

All figures come from one run over the same pages (the bench corpus's generated news pages, several
layouts, 300-2,000 words each). Four measures, best of ``--rounds``:

- ``plain``: ``trafilatura.extract(html)`` in this process, defaults (the baseline the issue names);
- ``same work``: ``trafilatura.extract`` with the options the project needs (metadata, tables, precision):
  the fair baseline for the project's own overhead, since metadata extraction alone costs about 2x;
- ``inline``: the project's ``extract_article`` in this process (metadata, dates, canonical URL, ids):
  the cost of what we ask trafilatura to do, without any process machinery;
- ``pool x1`` / ``pool x2``: ``ExtractPool.run`` with 1 and 2 worker processes (pages pickled over pipes).

It prints pages/s and the ratios: the project's overhead at one worker (pool x1 vs plain, split into the
extraction options part and the process part) and the 2-vs-1 worker scaling. Nothing is asserted: timings
on a shared machine belong in a report, not in a test.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.corpus import SIZES, make_corpus, page_html
from ingest.extract import PageInput, extract_article
from ingest.pool import ExtractPool

BASE = "https://bench.example.org"


def best_rate(pages: int, rounds: int, work: Callable[[], None]) -> float:
    """Pages per second of the fastest of ``rounds`` runs of ``work``."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return pages / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=240, help="pages to extract per measure")
    parser.add_argument("--rounds", type=int, default=2, help="runs per measure; the best counts")
    args = parser.parse_args()

    import trafilatura

    corpus = make_corpus(SIZES["quick"])
    htmls = [page_html(article, BASE) for article in corpus.articles][: args.pages]
    now = datetime.now(UTC)
    inputs = [
        PageInput(html=h, url=f"{BASE}/p{i}", source="bench", fetched_at=now, min_chars=0) for i, h in enumerate(htmls)
    ]
    n = len(htmls)
    kb = sum(len(h) for h in htmls) / n / 1000
    print(
        f"{n} pages, {kb:.0f} kB of HTML on average; {os.cpu_count()} CPUs (shared); "
        f"trafilatura {trafilatura.__version__}"
    )

    for h in htmls[:3]:
        trafilatura.extract(h)  # warm imports and caches before any timing
    rates = {
        "plain": best_rate(n, args.rounds, lambda: [trafilatura.extract(h) for h in htmls] and None),
        "same work": best_rate(
            n, args.rounds, lambda: [_same_work(trafilatura, h, i) for i, h in enumerate(htmls)] and None
        ),
        "inline": best_rate(n, args.rounds, lambda: [extract_article(p) for p in inputs] and None),
    }
    for workers in (1, 2):
        with ExtractPool(workers=workers, deadline_s=60) as pool:
            pool.run(inputs[: workers * 2])  # workers started and warm
            failures = sum(1 for o in pool.run(inputs) if o.article is None)
            rates[f"pool x{workers}"] = best_rate(n, args.rounds, lambda pool=pool: pool.run(inputs) and None)
        if failures:
            print(f"  note: {failures} pages gave no article through the pool")

    for name, rate in rates.items():
        print(f"  {name:8s} {rate:7.1f} pages/s")
    plain, inline, one, two = rates["plain"], rates["inline"], rates["pool x1"], rates["pool x2"]
    print(
        f"overhead at 1 worker vs plain trafilatura.extract: {100 * (plain / one - 1):+.1f}% time per page "
        f"(options and metadata {100 * (plain / inline - 1):+.1f}%, process pool {100 * (inline / one - 1):+.1f}%)"
    )
    same = rates["same work"]
    print(
        "overhead at 1 worker vs trafilatura.extract doing the same work: "
        f"{100 * (same / one - 1):+.1f}% time per page"
    )
    print(f"2 workers vs 1: x{two / one:.2f}")


def _same_work(trafilatura: Any, html: str, index: int) -> None:
    """trafilatura.extract with the project's options (see ingest/extract.py)."""
    trafilatura.extract(
        html, url=f"{BASE}/p{index}", with_metadata=True, include_comments=False, include_tables=True,
        favor_precision=True, output_format="json",
    )


if __name__ == "__main__":
    main()
