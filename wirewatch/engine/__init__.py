"""The streaming engine: one pass, or the long-running service, as stages joined by bounded queues.

``run_engine(rt, tools, feeds, ...)`` runs one pass (the CLI's ``wirewatch ingest``, ``pipeline.run_pass``,
the Airflow shard tasks); ``Engine`` is the long-lived form the service (``wirewatch run``) feeds as feeds
come due. Module map: ``core`` (the engine: builds, wires and starts the stages), ``fetching`` (poll, page fetch),
``extracting`` (the process pool, fed continuously), ``writing`` (tags, documents, bulk writes),
``committing`` (feed state), ``matching`` (match per micro-batch, reconcile), ``delivering`` (the outbox),
``ner``, ``ledger`` (the feeds in flight and their entries), ``recent`` (refreshes), ``gate``
(Elasticsearch outages), ``queues``, ``progress``, ``options``, ``passes`` (one pass).
"""

from wirewatch.engine.core import Engine
from wirewatch.engine.options import EngineOptions
from wirewatch.engine.passes import run_engine
from wirewatch.engine.progress import Progress

__all__ = ["Engine", "EngineOptions", "Progress", "run_engine"]
