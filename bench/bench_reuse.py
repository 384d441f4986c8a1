"""NER CPU saved by reusing the entities of identical texts, on a corpus where 30 % of articles are
syndicated copies (the same text under another id and source).

Both runs use the real Tagger (NER in one worker process) and count the CPU of this process and its
children (``bench.measure.ProcessTree``): ``all`` tags every article's text; ``reuse`` runs the pipeline's
NER phase (``wirewatch.reuse.entity_updates``) over the same articles indexed in Elasticsearch
(``$WIREWATCH_ES_URL``, indices under a throwaway prefix, deleted afterwards). The model is loaded and warmed
up before either run is measured.

Run: ``WIREWATCH_ES_URL=http://127.0.0.1:9200 .venv/bin/python -m bench.bench_reuse [--articles 200]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import uuid
from pathlib import Path

from bench.corpus import WATCHLIST
from bench.measure import ProcessTree
from bench.passes import drop_prefix
from bench.textbank import article_paragraphs
from enrich.tagger import Tagger
from enrich.watchlist import load_watchlist
from ingest.urls import content_hash
from search.bulk import index_articles, update_entities
from search.client import make_client
from search.indices import setup_indices
from search.names import IndexNames
from search.reuse import articles_waiting_for_entities
from wirewatch.reuse import entity_updates


def corpus(articles: int, copy_share: float, seed: int = 30) -> list[dict[str, str]]:
    """Article docs: ``copy_share`` of them repeat the text of an earlier original."""
    rng = random.Random(seed)
    originals: list[str] = []
    docs = []
    for index in range(articles):
        if originals and rng.random() < copy_share:
            text = rng.choice(originals)
        else:
            text = "\n".join(article_paragraphs(rng, int(rng.triangular(250, 900, 400)), ()))
            originals.append(text)
        docs.append({"id": f"r{index:05d}", "text": text, "content_hash": content_hash(text)})
    return docs


def _document(doc: dict[str, str]) -> dict[str, object]:
    return {
        "id": doc["id"], "url": f"https://example.org/{doc['id']}", "canonical_url": f"https://example.org/{doc['id']}",
        "source": "bench", "title": "", "text": doc["text"], "content_hash": doc["content_hash"], "ner_done": False,
        "entities": [], "entity_names": {}, "groups": [], "group_ids": [], "language": "en",
    }  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--copies", type=float, default=0.3)
    args = parser.parse_args(argv)
    docs = corpus(args.articles, args.copies)
    copies = len(docs) - len({d["content_hash"] for d in docs})
    es = make_client(url=os.environ.get("WIREWATCH_ES_URL", "http://127.0.0.1:9200"))
    names = IndexNames(prefix=f"benchreuse-{uuid.uuid4().hex[:8]}-")
    tree = ProcessTree()
    try:
        setup_indices(es, names)
        index_articles(es, names, [_document(d) for d in docs])
        es.indices.refresh(index=names.articles)
        with Tagger(watchlist=load_watchlist(Path(WATCHLIST)), workers=1) as tagger:
            tagger.tag(["Khalifa Haftar visited Benghazi on Monday."])  # load the model outside the measurement
            before = tree.cpu_seconds()
            tagger.tag([d["text"] for d in docs])
            all_cpu = tree.cpu_seconds() - before
            before = tree.cpu_seconds()
            plan = entity_updates(es, names, tagger, articles_waiting_for_entities(es, names, limit=len(docs)))
            reuse_cpu = tree.cpu_seconds() - before
        update_entities(es, names, plan.updates)
    finally:
        drop_prefix(es, names.prefix)
        es.close()
    result = {
        "articles": len(docs), "syndicated_copies": copies, "copy_share": round(copies / len(docs), 3),
        "ner_runs_without_reuse": len(docs), "ner_runs_with_reuse": plan.tagged, "reused": plan.reused,
        "cpu_s_without_reuse": round(all_cpu, 2), "cpu_s_with_reuse": round(reuse_cpu, 2),
        "cpu_saved_share": round(1 - reuse_cpu / all_cpu, 3),
    }  # fmt: skip
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
