"""Watches, matching and the alert outbox (design invariant 3: exactly-once alerts).

Modules: ``watches`` (group and query watches in ``wirewatch-watches``), ``matching`` (``_msearch`` of every
watch over a batch of new articles: the local node has no percolator), ``alerts`` (alert documents created with
``op_type=create``), ``inbox`` (listing alerts: every filter in the query, ``search_after`` pages),
``indices`` (the watches, alerts and checkpoint indices), ``outbox`` (pending deliveries and
their outcomes), ``reconcile`` (matching everything indexed since the checkpoint, so a crash loses nothing),
``snooze`` (a watch muted until a time), ``digests`` (scheduled digests: due times and claims), ``spikes``
(mentions of a group against its last 14 days).
"""

__all__ = ["alerts", "digests", "inbox", "indices", "matching", "outbox", "reconcile", "snooze", "spikes", "watches"]
