"""One measured pipeline pass over the benchmark site: throughput, peak RSS, CPU per stage, alert latency.

The pass is the real ``wirewatch.pipeline.run_pass`` on a fresh index prefix, with warm tools (extraction and
NER processes started and their imports and model loaded before the clock starts, as they are kept across
passes in production). Two thin subclasses mark stage boundaries on a CPU clock: the extraction pool's
``run`` (fetching is finished when it starts) and the tagger's ``tag_groups`` / ``tag``; the pipeline's
``on_step`` marks the rest. ``run_pass`` caps one pass at 500 deliveries and 1,000 NER articles (the rest is
the next pass's backlog), so the timed window also drains both backlogs, the way the next passes would.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from elasticsearch import Elasticsearch

from bench.measure import CpuClock, ProcessTree, RssSampler, elasticsearch_cpu_seconds, wait_until_idle
from enrich.tagger import Tagger
from enrich.tags import Tags
from ingest.extract import PageInput
from ingest.pool import ExtractPool, PageOutcome
from wirewatch.early import EarlyTagging
from wirewatch.pipeline import add_entities, deliver_alerts, ensure_indices, run_pass, sync_watches
from wirewatch.runtime import PassTools, Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.steps import Step
from wirewatch.summary import PassSummary

# run_pass's steps -> the stage whose CPU starts there (extraction and tagging mark themselves, see below)
STEP_STAGES = {
    Step.SETUP: "setup",
    Step.COLLECT: "fetch",
    Step.MATCH: "match",
    Step.DELIVER: "deliver",
    Step.NER: "index",  # NER marks itself "tag" when it starts; its bulk update of entities is index work
}
STAGES = ("fetch", "extract", "tag", "index", "match", "deliver", "setup")
WARM_PAGE = "<html><body><article><p>warm up</p></article></body></html>"


class MarkedPool(ExtractPool):
    """The real extraction pool; marks the start and end of extraction on the clock."""

    def __init__(self, clock: CpuClock, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock = clock

    def run(self, pages: Sequence[PageInput]) -> list[PageOutcome]:
        self.clock.mark("extract")
        try:
            return super().run(pages)
        finally:
            self.clock.mark("index")  # next: the known-ids check, then tagging marks itself


class MarkedTagger(Tagger):
    """The real tagger; ``ner_first`` makes ``tag_groups`` run NER too (the order the pipeline avoids)."""

    def __init__(self, clock: CpuClock, *, ner_first: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.clock, self.ner_first = clock, ner_first

    def tag_groups(self, texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[Tags]:
        self.clock.mark("tag")
        try:
            groups = super().tag_groups(texts, hints)
            return self.add_entities(texts, groups) if self.ner_first else groups
        finally:
            self.clock.mark("index")

    def tag(self, texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[Tags]:
        self.clock.mark("tag")
        try:
            return self.add_entities(texts, super().tag_groups(texts, hints))
        finally:
            self.clock.mark("index")


@dataclass(kw_only=True)
class PassResult:
    label: str
    order: str
    articles: int
    offered: int
    wall_s: float
    peak_rss_mb: float
    stage_cpu_s: dict[str, float]
    alerts: int
    delivered: int
    latency_from_write_s: list[float] = field(default_factory=list)
    latency_from_pass_start_s: list[float] = field(default_factory=list)
    latency_from_fetch_s: list[float] = field(default_factory=list)  # the article's page fetch -> webhook
    # the same alerts' latency in three legs: page fetched -> bulk write started (extraction and the writer's
    # queue), write -> alert created (write, refresh, matching), created -> webhook arrival (the outbox)
    legs_s: dict[str, list[float]] = field(default_factory=dict)
    failures: int = 0
    pipeline_stage_wall_s: dict[str, float] = field(default_factory=dict)
    es_cpu_s: float = 0.0  # Elasticsearch's CPU in the timed window (when it runs on this machine)
    cpu_by_process_s: dict[str, float] = field(default_factory=dict)  # main process, extraction, NER workers

    @property
    def articles_per_s(self) -> float:
        return self.articles / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_s(self) -> float:
        """CPU seconds of the whole tree (main process + workers) in the timed window."""
        return sum(self.stage_cpu_s.values())

    def machine_share(self, cores: int) -> float:
        """The share of the machine's CPU the pipeline got: well under 1 when others were busy too."""
        return self.cpu_s / (self.wall_s * cores) if self.wall_s else 0.0

    def cpu_per_article(self) -> dict[str, float]:
        n = max(1, self.articles)
        return {stage: round(self.stage_cpu_s.get(stage, 0.0) / n, 5) for stage in STAGES}


@dataclass(frozen=True, kw_only=True)
class PassSetup:
    """Where the pass reads from and writes to; ``workers`` is used for extraction and for NER."""

    es_url: str
    base_url: str
    hook_url: str
    workdir: Path
    workers: int
    per_feed: int
    exclude_pids: tuple[int, ...] = ()


def pass_settings(setup: PassSetup, feeds_file: Path, prefix: str) -> Any:
    channels = setup.workdir / "channels.yaml"
    channels.write_text(
        yaml.safe_dump([{"name": "hook", "type": "webhook", "url": setup.hook_url, "secret": "bench-only-secret"}]),
        encoding="utf-8",
    )
    return load_settings(
        es_url=setup.es_url,
        es_index_prefix=prefix,
        es_request_timeout_s=120,
        feeds_file=feeds_file,
        feeds_base_url=setup.base_url,
        http_allow_loopback=True,
        channels_file=channels,
        delivery_allow_loopback=True,
        extract_workers=setup.workers,
        ner_workers=setup.workers,
        feed_max_entries=setup.per_feed,
    )


def drop_prefix(es: Elasticsearch, prefix: str) -> None:
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def measured_pass(
    setup: PassSetup,
    feeds_file: Path,
    *,
    label: str,
    ner_first: bool = False,
    receipts: Callable[[], dict[str, float]],
    on_step: Callable[[str], None] = lambda step: None,
) -> PassResult:
    """One pass over ``feeds_file`` on a fresh prefix (deleted afterwards)."""
    prefix = f"bench{uuid.uuid4().hex[:8]}-"
    rt = build_runtime(pass_settings(setup, feeds_file, prefix))
    try:
        ensure_indices(rt)  # indices exist in production: their creation is not part of a pass
        sync_watches(rt, list(rt.channels()))
        return _timed_pass(rt, setup, label=label, ner_first=ner_first, receipts=receipts, on_step=on_step)
    finally:
        drop_prefix(rt.es, prefix)
        rt.es.close()


def _timed_pass(
    rt: Runtime,
    setup: PassSetup,
    *,
    label: str,
    ner_first: bool,
    receipts: Callable[[], dict[str, float]],
    on_step: Callable[[str], None],
) -> PassResult:
    s = rt.settings
    tree = ProcessTree(exclude=setup.exclude_pids)
    on_step("starting workers (not timed)")
    tagger_args = {
        "watchlist": rt.watchlist(),
        "model": s.ner_model,
        "batch_size": s.ner_batch_size,
        "workers": s.ner_workers,
        "worker_nice": s.ner_nice,  # as the runtime builds it: NER yields the cores to the alert path
    }
    clock = CpuClock(tree)
    with (
        rt.fetcher() as fetcher,
        MarkedPool(
            clock,
            workers=s.extract_workers,
            deadline_s=s.extract_deadline_s,
            after=EarlyTagging(rt.watchlist()) if s.extract_early_tags else None,
        ) as pool,
        MarkedTagger(clock, ner_first=ner_first, **tagger_args) as tagger,
    ):
        tagger.warm_up()
        ExtractPool.run(pool, [_warm_page()] * s.extract_workers)  # each worker imports trafilatura now
        wait_until_idle(tree)  # a pool worker may still be loading the model after warm_up returned
        clock.mark(None)
        clock.stages.clear()
        tools = PassTools(fetcher=fetcher, pool=pool, tagger=tagger)

        def step(step: Step, detail: str) -> None:
            clock.mark(STEP_STAGES[step])
            on_step(f"{step.label} {detail}".strip())

        with RssSampler(tree) as rss:
            began, es_began, roles_began = time.perf_counter(), elasticsearch_cpu_seconds(), tree.cpu_by_role()
            summary = run_pass(rt, tools, only_due=False, on_step=step)
            _drain_backlogs(rt, tools, summary, step)
            wall = time.perf_counter() - began
            clock.mark(None)
            es_cpu = elasticsearch_cpu_seconds() - es_began
            roles = {k: v - roles_began.get(k, 0.0) for k, v in tree.cpu_by_role().items()}
    if summary.fatal:
        raise RuntimeError(f"the pass could not run: {summary.fatal}")
    result = PassResult(
        label=label,
        order="ner_first" if ner_first else "gazetteer_first",
        articles=summary.entries["indexed"],
        offered=summary.offered,
        wall_s=wall,
        peak_rss_mb=rss.peak_mb,
        stage_cpu_s=dict(clock.stages),
        alerts=summary.alerts["created"],
        delivered=summary.deliveries["delivered"],
        failures=len(summary.failures),
        pipeline_stage_wall_s=dict(summary.stage_seconds),
        es_cpu_s=es_cpu,
        cpu_by_process_s=roles,
    )
    _add_latencies(rt, result, receipts(), summary.started_at)
    return result


def _drain_backlogs(rt: Runtime, tools: PassTools, summary: PassSummary, step: Callable[[Step, str], None]) -> None:
    """Deliver and NER-tag what one pass leaves for the next (its per-pass caps), as the next passes would."""
    for _ in range(100):  # bounded: a receiver that kept failing would leave deliveries pending forever
        before = sum(summary.deliveries.values())
        step(Step.DELIVER, "(backlog)")
        deliver_alerts(rt, summary)
        if sum(summary.deliveries.values()) == before:
            break
    while True:
        step(Step.NER, "(backlog)")
        rt.es.indices.refresh(index=rt.names.articles)  # what the next pass would see
        if add_entities(rt, tools.tagger, summary) == 0:
            break


def _add_latencies(rt: Runtime, result: PassResult, received: dict[str, float], pass_start: float) -> None:
    """Per alert: webhook receipt minus the article's bulk write (``indexed_at``), minus its page fetch
    (``fetched_at``: the engine stamps it when the fetch completes) and minus the pass start."""
    found = rt.es.search(
        index=rt.names.alerts, size=10_000, source_includes=["id", "indexed_at", "article_id", "created_at"],
        query={"match_all": {}},
    )  # fmt: skip
    hits = [h["_source"] for h in found["hits"]["hits"]]
    fetched = _fetched_at(rt, [doc.get("article_id") for doc in hits if doc.get("article_id")])
    for doc in hits:
        when = received.get(doc["id"])
        if when is None or not doc.get("indexed_at"):
            continue
        written = datetime.fromisoformat(doc["indexed_at"]).astimezone(UTC).timestamp()
        result.latency_from_write_s.append(when - written)
        result.latency_from_pass_start_s.append(when - pass_start)
        if doc.get("article_id") in fetched:
            result.latency_from_fetch_s.append(when - fetched[doc["article_id"]])
            created = datetime.fromisoformat(doc["created_at"]).astimezone(UTC).timestamp()
            for leg, value in (
                ("fetch_to_write", written - fetched[doc["article_id"]]),
                ("write_to_alert", created - written),
                ("alert_to_webhook", when - created),
            ):
                result.legs_s.setdefault(leg, []).append(value)


def _fetched_at(rt: Runtime, ids: list[str]) -> dict[str, float]:
    out: dict[str, float] = {}
    for start in range(0, len(ids), 1000):
        docs = rt.es.mget(index=rt.names.articles, ids=ids[start : start + 1000], source_includes=["fetched_at"])
        for doc in docs["docs"]:
            stamp = (doc.get("_source") or {}).get("fetched_at")
            if doc.get("found") and stamp:
                out[doc["_id"]] = datetime.fromisoformat(stamp).astimezone(UTC).timestamp()
    return out


def _warm_page() -> PageInput:
    return PageInput(html=WARM_PAGE, url="http://127.0.0.1/warm", source="warm", fetched_at=datetime.now(UTC))
