"""Shards of the due feeds for the Airflow DAG: a stable hash of the feed id, every feed in exactly one shard."""

from __future__ import annotations

import subprocess
import sys

from wirewatch.airflow_tasks import shard_of, split_into_shards

FEEDS = [f"feed-{i:03d}" for i in range(200)]


def test_every_feed_lands_in_exactly_one_shard_and_no_shard_is_empty() -> None:
    shards = split_into_shards(FEEDS, 4)
    assert sorted(f for shard in shards for f in shard) == FEEDS
    assert len(shards) == 4 and all(shards)
    assert split_into_shards([], 4) == []
    assert split_into_shards(FEEDS[:1], 4) == [FEEDS[:1]]


def test_a_feed_keeps_its_shard_whatever_other_feeds_there_are() -> None:
    full = split_into_shards(FEEDS, 4)
    fewer = split_into_shards(FEEDS[::3], 4)  # two feeds in three removed
    for feed in FEEDS[::3]:
        home = next(shard for shard in full if feed in shard)
        again = next(shard for shard in fewer if feed in shard)
        assert set(again) == set(home) & set(FEEDS[::3])  # same companions, minus the removed feeds


def test_the_shard_is_the_same_in_another_process() -> None:
    # Python's hash() of a str changes from one process to the next (PYTHONHASHSEED); the shard must not
    code = "import sys; from wirewatch.airflow_tasks import shard_of; print([shard_of(f, 7) for f in sys.argv[1:]])"
    out = subprocess.run([sys.executable, "-c", code, *FEEDS[:20]], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str([shard_of(f, 7) for f in FEEDS[:20]])
