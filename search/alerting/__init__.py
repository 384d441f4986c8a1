"""Watches, matching and the alert outbox (design invariant 3: exactly-once alerts).

Modules: ``watches`` (group and query watches in ``wirewatch-watches``), ``matching`` (``_msearch`` of every
watch over a batch of new articles: the local node has no percolator), ``alerts`` (alert documents created with
``op_type=create``), ``indices`` (the watches, alerts and checkpoint indices), ``outbox`` (pending deliveries and
their outcomes), ``reconcile`` (matching everything indexed since the checkpoint, so a crash loses nothing),
``snooze`` (a watch muted until a time).
"""

__all__ = ["alerts", "indices", "matching", "outbox", "reconcile", "snooze", "watches"]
