"""The pipeline's steps: one name each, used everywhere a step is named.

The pass times its steps and records failures under these names (``PassSummary``), the CLI shows them as
progress, the Airflow DAG names its tasks after them and the bench charges CPU to them. A new step is added
here first.
"""

from __future__ import annotations

from enum import StrEnum


class Step(StrEnum):
    SETUP = "setup"  # indices created or migrated, one watch per tracked group
    POLL = "poll"  # a feed fetched with conditional GET and parsed
    COLLECT = "collect"  # poll, fetch and extract, interleaved per feed (an entry's failure is recorded here)
    FETCH = "fetch"  # an entry's page fetched (the streaming engine names a page's failure here)
    EXTRACT = "extract"  # an entry's page extracted in the process pool (the engine names its failure here)
    TAG = "tag"  # tracked groups from the gazetteer (fast: alerts do not wait for NER)
    STORIES = "stories"  # near copies clustered into stories (MinHash + LSH band keys in the index)
    INDEX = "index"  # article documents written in bulk
    COMMIT = "commit"  # feed state saved once its articles are durable
    MATCH = "match"  # watches matched against what was indexed since the checkpoint; alerts created
    DELIVER = "deliver"  # pending alerts sent from the outbox
    NER = "ner"  # named entities added to articles indexed with group tags only
    SUMMARY = "summary"  # the pass's summary written
    RECONCILE = "reconcile"  # after the shards: match since the checkpoint, deliver, NER leftovers, summary

    @property
    def label(self) -> str:
        """What the step does, for progress lines."""
        return _LABELS[self]


_LABELS = {
    Step.SETUP: "checking indices and watches",
    Step.POLL: "polling feeds",
    Step.COLLECT: "polling feeds, fetching and extracting pages",
    Step.FETCH: "fetching pages",
    Step.EXTRACT: "extracting pages",
    Step.TAG: "tagging tracked groups",
    Step.STORIES: "clustering near copies into stories",
    Step.INDEX: "indexing articles",
    Step.COMMIT: "committing feed state",
    Step.MATCH: "matching watches and creating alerts",
    Step.DELIVER: "delivering alerts",
    Step.NER: "adding named entities",
    Step.SUMMARY: "writing the summary",
    Step.RECONCILE: "matching and delivering what the shards left, writing the summary",
}

# The steps a feed batch goes through before its state is committed (one mapped Airflow task: "ingest").
INGEST_STEPS = (Step.COLLECT, Step.TAG, Step.STORIES, Step.INDEX, Step.COMMIT)
