"""Place resolution: what the table costs a tagging process, and what resolving costs per article.

1. Load: in a fresh process (``--runs`` of them), the seconds to read the table and build the name automaton
   (``default_resolver()``), and the resident memory it adds. Targets: < 1 s, <= 100 MB per process.
2. Per article, by language: tagging time without places and the extra time place resolution takes (with
   NER for English and French, the gazetteer only for Arabic) on bench_tag's corpus of about 3,000
   characters an article. Target: <= 10 % of tagging time.

Run: ``.venv/bin/python -m bench.bench_places [--runs 3] [--articles 100]``. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

_LOAD = """
import json, time, psutil
import enrich.tagger  # what a tagging process has imported before the table
proc = psutil.Process()
before = proc.memory_info().rss
start = time.perf_counter()
from enrich.places.resolve import default_resolver
resolver = default_resolver()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "added_mb": (proc.memory_info().rss - before) / 2**20,
                  "places": len(resolver.table), "names": len(resolver.table.names)}))
"""


def measure_load(runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True, check=True, cwd=ROOT)
        out.append(json.loads(done.stdout))
    return out


def measure_articles(count: int) -> dict[str, dict[str, float]]:
    from bench.bench_tag import make_language_corpus
    from enrich.places.resolve import default_resolver
    from enrich.tagger import Tagger
    from enrich.watchlist import load_watchlist

    watchlist = load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")
    plain = Tagger(watchlist=watchlist)
    placed = Tagger(watchlist=watchlist, places=default_resolver())
    figures = {}
    for language in ("en", "fr", "ar"):
        texts = make_language_corpus(language, count)
        plain.tag(texts[:4], [language] * 4)  # load the model outside the timing
        timings = {}
        for name, tagger in (("without", plain), ("with", placed)):
            start = time.perf_counter()
            tagger.tag(texts, [language] * len(texts))
            timings[name] = (time.perf_counter() - start) / len(texts) * 1000
        extra = timings["with"] - timings["without"]
        figures[language] = {
            "ms_per_article_without_places": round(timings["without"], 2),
            "ms_per_article_with_places": round(timings["with"], 2),
            "places_share_pct": round(100 * extra / timings["with"], 1),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=100)
    args = parser.parse_args()
    loads = measure_load(args.runs)
    for run in loads:
        print(f"load: {run['seconds']:.2f} s, +{run['added_mb']:.0f} MB ({run['places']} places, {run['names']} names)")
    for language, fig in measure_articles(args.articles).items():
        print(f"{language}: {fig}")


if __name__ == "__main__":
    main()
