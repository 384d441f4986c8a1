"""Per-article work done in the extraction processes, right after extraction: the page's language, its tracked
groups (the gazetteer) and its story signature (MinHash).

Why there: the engine's own process runs the network threads, the bulk writer, matching and delivery under
one interpreter lock; this work is a few milliseconds of pure CPU per article, and in a burst it queued every
article (and its alert) behind the ones before. In the extraction processes it runs in parallel with them and
with the writer. The writer uses what comes back (``Early``) and does the work itself for an article that has
none (an ``after`` step that failed, or a pool made without it), so nothing depends on it being there.

It is a setting (``extract_early_tags``, off by default) because it is a trade: each extraction process then
holds the language identifier, the gazetteer and the MinHash code (about 90 MB), and on the benchmark the
memory target wins; with memory to spare, it cuts the alerts' wait in a burst (bench/README.md, "The flow").

``EarlyTagging`` is sent to each extraction process when it starts (pickled: the watchlist travels with it);
its tagger is built there once, NER off (NER has its own processes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from enrich.tagger import Tagger
    from enrich.tags import Tags
    from enrich.watchlist import Watchlist
    from ingest.extract import Article


@dataclass(frozen=True)
class Early:
    """What the extraction process found in one article."""

    tags: Tags  # tracked groups and the language (no entities)
    signature: bytes  # enrich.stories.encode_signature of its MinHash signature


class EarlyTagging:
    """The extraction pool's ``after`` step: ``EarlyTagging(watchlist)(article) -> Early``."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.watchlist = watchlist
        self._tagger: Tagger | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"watchlist": self.watchlist}  # the tagger is built in the process that uses it

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.watchlist, self._tagger = state["watchlist"], None

    def tagger(self) -> Tagger:
        if self._tagger is None:
            from enrich.tagger import Tagger

            self._tagger = Tagger(watchlist=self.watchlist, ner=False)
        return self._tagger

    def warm_up(self) -> None:
        """Load the language identifier and the gazetteer and make the MinHash permutations now, before the
        first page (a second of loading is not billed to a page or its alert)."""
        from enrich.stories import signature

        self.tagger().tag_groups(["warm up"])
        signature("warm up")

    def __call__(self, article: Article) -> Early:
        from enrich.stories import encode_signature, signature

        tags = self.tagger().tag_groups([article.text], [article.language])[0]
        return Early(tags=tags, signature=encode_signature(signature(article.text)))
