"""Story clustering: the precision/recall curve that chose the threshold, cost per article, LSH memory.

The corpus (``bench/stories_corpus.py``) is fed in batches of ``--batch`` articles in first-seen order, each
batch assigned against an in-memory store holding every earlier batch (what Elasticsearch holds in
production). Scores are on pairs: a pair is true when both articles copy the same base story, predicted
when the clustering put them in one story.

Run: ``.venv/bin/python -m bench.bench_stories [--stories 150]``. Writes ``bench/results/stories.json``.
"""

from __future__ import annotations

import argparse
import json
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.stories_corpus import CorpusArticle, cluster_pairs, make_story_corpus, truth_pairs
from enrich.stories import (
    BANDS,
    NUM_PERM,
    SHINGLE_WORDS,
    THRESHOLD,
    Clustering,
    InMemoryStore,
    NewArticle,
    StoredMember,
    assign_stories,
    shingles,
    tokens,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "stories.json"
THRESHOLDS = (0.2, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9)


def run_clustering(
    corpus: Sequence[CorpusArticle], params: Clustering, *, batch: int = 50
) -> tuple[dict[str, str], float, InMemoryStore]:
    """{article id: story id}, seconds spent assigning, and the store it filled."""
    ordered = sorted(corpus, key=lambda a: (a.seen_at, a.id))
    store = InMemoryStore()
    story_of: dict[str, str] = {}
    spent = 0.0
    for start in range(0, len(ordered), batch):
        chunk = [NewArticle(id=a.id, text=a.text, seen_at=a.seen_at) for a in ordered[start : start + batch]]
        began = time.perf_counter()
        assigned = assign_stories(chunk, store, params)
        for a in assigned:
            member = StoredMember(
                article_id=a.article_id, story_id=a.story_id, signature=a.signature,
                story_first_seen=a.story_first_seen,
            )  # fmt: skip
            store.add(member, a.band_keys)
        spent += time.perf_counter() - began
        story_of.update({a.article_id: a.story_id for a in assigned})
    return story_of, spent, store


def scores(corpus: Sequence[CorpusArticle], story_of: dict[str, str]) -> dict[str, float]:
    truth, predicted = truth_pairs(list(corpus)), cluster_pairs(story_of)
    hits = len(truth & predicted)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(truth) if truth else 1.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "pairs_true": len(truth),
            "pairs_predicted": len(predicted)}  # fmt: skip


def jaccard_by_variant(corpus: Sequence[CorpusArticle], size: int) -> dict[str, dict[str, float]]:
    """Exact Jaccard of each variant's shingles against its story's original (the corpus' difficulty)."""
    originals = {a.story: shingles(tokens(a.text), size) for a in corpus if a.variant == "original"}
    by_variant: dict[str, list[float]] = {}
    for article in corpus:
        if article.variant == "original":
            continue
        story = article.story.split("-")[0]
        own, base = shingles(tokens(article.text), size), originals[story]
        by_variant.setdefault(article.variant, []).append(len(own & base) / len(own | base))
    return {
        v: {"min": round(min(js), 3), "mean": round(sum(js) / len(js), 3), "max": round(max(js), 3)}
        for v, js in sorted(by_variant.items())
    }


def lsh_memory_per_article(corpus: Sequence[CorpusArticle], params: Clustering) -> float:
    """Bytes of Python heap the in-memory LSH (band keys, members, signatures) holds per article."""
    assigned = assign_stories(
        [NewArticle(id=a.id, text=a.text, seen_at=a.seen_at) for a in corpus], InMemoryStore(), params
    )
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    store = InMemoryStore()
    for a in assigned:
        member = StoredMember(
            article_id=str(a.article_id), story_id=str(a.story_id), signature=bytes(a.signature),
            story_first_seen=a.story_first_seen,
        )  # fmt: skip
        store.add(member, [str(k) for k in a.band_keys])
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return (after - before) / len(assigned)


def elasticsearch_bytes_per_article(params: Clustering) -> int:
    """Raw bytes the article document gains: band keys (keyword) plus the base64 signature (binary)."""
    key_chars = len("00:") + 16
    signature_b64 = 4 * ((params.num_perm * 4 + 2) // 3)
    return params.bands * key_chars + signature_b64


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=150)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)

    began = time.perf_counter()
    corpus = make_story_corpus(args.stories)
    made = time.perf_counter() - began
    counts: dict[str, int] = {}
    for article in corpus:
        counts[article.variant] = counts.get(article.variant, 0) + 1
    results: dict[str, Any] = {"articles": len(corpus), "by_variant": counts, "corpus_seconds": round(made, 1)}
    results["jaccard_vs_original"] = {f"shingle{size}": jaccard_by_variant(corpus, size) for size in (1, 3, 5)}
    curves: dict[str, list[dict[str, float]]] = {}
    for shingle in (3, 5):
        for bands in (32, 16):
            label = f"shingle{shingle}_b{bands}r{NUM_PERM // bands}"
            curves[label] = []
            for threshold in THRESHOLDS:
                params = Clustering(threshold=threshold, bands=bands, shingle_words=shingle)
                story_of, _, _ = run_clustering(corpus, params, batch=args.batch)
                curves[label].append({"threshold": threshold, **scores(corpus, story_of)})
    results["curves"] = curves
    chosen = Clustering()
    story_of, spent, _ = run_clustering(corpus, chosen, batch=args.batch)
    per_article_ms = 1000 * spent / len(corpus)
    memory = lsh_memory_per_article(corpus, chosen)
    results["chosen"] = {
        "threshold": THRESHOLD, "bands": BANDS, "rows": NUM_PERM // BANDS, "shingle_words": SHINGLE_WORDS,
        **scores(corpus, story_of),
        "ms_per_article": round(per_article_ms, 3),
        "lsh_heap_bytes_per_article": round(memory),
        "lsh_heap_gb_per_million": round(memory * 1_000_000 / 1e9, 2),
        "es_raw_bytes_per_article": elasticsearch_bytes_per_article(chosen),
        "es_raw_gb_per_million": round(elasticsearch_bytes_per_article(chosen) * 1_000_000 / 1e9, 2),
    }  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
