"""Measuring the pipeline's own processes: CPU seconds and peak RSS of the main process plus its children.

The children are the extraction and NER workers (spawned processes); the benchmark's site server is a child
too, and is left out by pid, as Elasticsearch is (it is not a child at all). CPU of a child that has exited
is kept at its last sampled value, so a worker replaced mid-pass is not lost entirely.
"""

from __future__ import annotations

import os
import platform
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil


class ProcessTree:
    """The main process and its descendants, minus ``exclude`` (pids whose whole subtree is left out)."""

    def __init__(self, exclude: Sequence[int] = (), *, relist_s: float = 1.0) -> None:
        self.root = psutil.Process()
        self.exclude = set(exclude)
        self._last_cpu: dict[int, float] = {}
        # Listing the descendants scans every process of the machine (psutil's ppid map); the RSS sampler asks
        # ten times a second, and on a shared machine the scans were half of the main process's CPU in a pass
        # (py-spy, bench/README.md). Workers start rarely: the list is reused for ``relist_s``.
        self.relist_s = relist_s
        self._listed: tuple[float, list[psutil.Process]] | None = None

    def members(self) -> list[psutil.Process]:
        now = time.monotonic()
        if self._listed is not None and now - self._listed[0] < self.relist_s:
            return [p for p in self._listed[1] if p.is_running()]
        listed = self._list()
        self._listed = (now, listed)
        return listed

    def _list(self) -> list[psutil.Process]:
        skipped: set[int] = set()
        for pid in self.exclude:
            try:
                skipped.add(pid)
                skipped.update(c.pid for c in psutil.Process(pid).children(recursive=True))
            except psutil.NoSuchProcess:
                continue
        return [self.root, *(c for c in self.root.children(recursive=True) if c.pid not in skipped)]

    def cpu_seconds(self) -> float:
        """User + system CPU of every member so far (exited members at their last sample)."""
        for proc in self._list():  # read a few times a pass: listed afresh
            try:
                times = proc.cpu_times()
            except psutil.Error:  # it exited between listing and reading
                continue
            self._last_cpu[proc.pid] = times.user + times.system
        return sum(self._last_cpu.values())

    def cpu_by_role(self) -> dict[str, float]:
        """CPU seconds so far of the main process, the extraction workers and the NER workers (the children
        running niced: ``ner_nice``; with it 0 every worker counts as extraction). With one NER worker the
        tagger runs NER in the main process, and it is billed there."""
        roles = {"main": 0.0, "extraction": 0.0, "ner": 0.0}
        for proc in self._list():
            try:
                times, nice = proc.cpu_times(), proc.nice()
            except psutil.Error:
                continue
            role = "main" if proc.pid == self.root.pid else "ner" if nice > self.root.nice() else "extraction"
            roles[role] += times.user + times.system
        return roles

    def rss_bytes(self) -> int:
        total = 0
        for proc in self.members():
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue
        return total


class RssSampler:
    """Samples the tree's total RSS in a thread; ``peak_mb`` is the highest sum seen."""

    def __init__(self, tree: ProcessTree, interval_s: float = 0.1) -> None:
        self.tree, self.interval_s = tree, interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.tree.rss_bytes())
            self._stop.wait(self.interval_s)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, self.tree.rss_bytes())

    @property
    def peak_mb(self) -> float:
        return round(self.peak / 2**20, 1)


class CpuClock:
    """Splits the tree's CPU seconds into named stages: ``clock.mark("stage")`` closes the running stage."""

    def __init__(self, tree: ProcessTree) -> None:
        self.tree = tree
        self.stages: dict[str, float] = {}
        self._current: str | None = None
        self._since = tree.cpu_seconds()
        self._lock = threading.Lock()

    def mark(self, next_stage: str | None) -> None:
        with self._lock:
            now = self.tree.cpu_seconds()
            if self._current is not None:
                self.stages[self._current] = self.stages.get(self._current, 0.0) + now - self._since
            self._current, self._since = next_stage, now


def elasticsearch_cpu_seconds() -> float:
    """User + system CPU of the Elasticsearch processes on this machine so far (0 when it runs elsewhere):
    the node shares the cores with the pass, and the limit leaves it out."""
    total = 0.0
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(proc.info["cmdline"] or [])
            if "org.elasticsearch." in cmdline:
                times = proc.cpu_times()
                total += times.user + times.system + times.children_user + times.children_system
        except psutil.Error:
            continue
    return total


def wait_until_idle(tree: ProcessTree, *, quiet_s: float = 0.5, timeout_s: float = 90.0) -> float:
    """Wait until the tree has used (almost) no CPU for ``quiet_s``: workers finished importing and loading
    their models, so none of that start-up is billed to the pass. Returns the seconds waited."""
    began = time.monotonic()
    last = tree.cpu_seconds()
    while time.monotonic() - began < timeout_s:
        time.sleep(quiet_s)
        now = tree.cpu_seconds()
        if now - last < 0.05 * quiet_s:
            break
        last = now
    return time.monotonic() - began


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q`` quantile (0-1) by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def machine_info() -> dict[str, Any]:
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count() or 1,
        "physical_cores": psutil.cpu_count(logical=False),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
