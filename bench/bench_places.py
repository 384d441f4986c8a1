"""Place resolution: what the table costs a tagging process, and what resolving costs per article.

1. Load: in a fresh process (``--runs`` of them), the seconds to read the table and build the name automaton
   (``default_resolver()``), wall and CPU time (the CPU time says what the load costs when the machine is
   shared), and the resident memory it adds. Targets: < 1 s, <= 100 MB per process.
2. Per article, by language: tagging (groups, language, events, and NER for English and French; Arabic has no
   model) and place resolution with the NER clean-up (the model's spans, the tracked people) timed apart on
   the same texts, in CPU time, bench_tag's corpus of about 3,000 characters an article. The share is of the
   tagging without them. Target: <= 10 %.

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
start, cpu = time.perf_counter(), time.process_time()
from enrich.places.resolve import default_resolver
resolver = default_resolver()
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu_seconds, "added_mb": (proc.memory_info().rss - before) / 2**20,
                  "places": len(resolver.table), "names": len(resolver.table.names)}))
"""


def measure_load(runs: int) -> list[dict[str, float]]:
    out = []
    for _ in range(runs):
        done = subprocess.run([sys.executable, "-c", _LOAD], capture_output=True, text=True, check=True, cwd=ROOT)
        out.append(json.loads(done.stdout))
    return out


def measure_articles(count: int, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Tagging (groups, language, NER, events) and place resolution plus the NER clean-up (tracked people,
    enrich/cleanup.py) timed apart on the same texts, in CPU seconds of this process (NER runs in it: one
    worker), the best of ``rounds`` each: the machine is shared, and CPU time is what the work costs."""
    from bench.bench_tag import make_language_corpus
    from enrich.cleanup import clean_entities
    from enrich.ner import extract_raw
    from enrich.places.resolve import Span, default_resolver
    from enrich.tagger import Tagger
    from enrich.watchlist import load_watchlist

    watchlist = load_watchlist(ROOT / "enrich" / "data" / "watchlist.yaml")
    tagger = Tagger(watchlist=watchlist)
    resolver = default_resolver()
    figures = {}
    for language in ("en", "fr", "ar"):
        texts = make_language_corpus(language, count)
        tagger.tag(texts[:4], [language] * 4)  # load the model outside the timing
        model = tagger.model_for(language)
        raw = extract_raw(texts, model=model) if model else [[] for _ in texts]
        tag_s, place_s = [], []
        for _ in range(rounds):
            start = time.process_time()
            tagger.tag(texts, [language] * len(texts))
            tag_s.append(time.process_time() - start)
            start = time.process_time()
            for text, found in zip(texts, raw, strict=True):
                places = resolver.resolve(text, [Span(r.label, r.start, r.end) for r in found])
                clean_entities(text, found, places, tagger.people_in(text))
            place_s.append(time.process_time() - start)
        tag_ms, place_ms = min(tag_s) / len(texts) * 1000, min(place_s) / len(texts) * 1000
        figures[language] = {
            "tag_cpu_ms_per_article": round(tag_ms, 2),
            "places_cleanup_cpu_ms_per_article": round(place_ms, 2),
            "share_pct": round(100 * place_ms / tag_ms, 1),
        }
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--articles", type=int, default=100)
    args = parser.parse_args()
    loads = measure_load(args.runs)
    for run in loads:
        size = f"{run['places']} places, {run['names']} names"
        print(f"load: {run['seconds']:.2f} s ({run['cpu_seconds']:.2f} s of CPU), +{run['added_mb']:.0f} MB ({size})")
    for language, fig in measure_articles(args.articles).items():
        print(f"{language}: {fig}")


if __name__ == "__main__":
    main()
