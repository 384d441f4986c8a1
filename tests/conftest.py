"""Shared fixtures: a real Elasticsearch for the whole session, and an index prefix per test.

The node is the one at ``WIREWATCH_ES_URL`` when that is set; otherwise the project's local node
(search/localnode/node.py) is started once for the session on ``WIREWATCH_TEST_ES_PORT`` (default 9250, so a
developer's node on 9200 is left alone) and stopped at the end.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from search.names import IndexNames
from seeds.server import SeedServer
from tests.support.alerting import Receiver

ROOT = Path(__file__).resolve().parent.parent
# the fixtures' articles are dated 2018-2024 and fetched now: the suite runs with the alert age bound off (it
# reaches subprocesses through the environment); tests of the bound set alert_max_age_days themselves
os.environ.setdefault("WIREWATCH_ALERT_MAX_AGE_DAYS", "0")


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    url = os.environ.get("WIREWATCH_ES_URL")
    if url:
        yield url
        return
    from search.localnode import LocalNode

    port = int(os.environ.get("WIREWATCH_TEST_ES_PORT", "9250"))
    node = LocalNode(home=ROOT / ".cache" / "es", port=port, heap_mb=768, data_name=f"test-{port}")
    status = node.start(timeout_s=180)
    try:
        yield status.url
    finally:
        node.stop()


@pytest.fixture(scope="session")
def es(es_url: str) -> Iterator[Elasticsearch]:
    client = Elasticsearch(es_url, request_timeout=30)
    yield client
    client.close()


@pytest.fixture()
def index_prefix(es: Elasticsearch) -> Iterator[str]:
    """A prefix no other test uses; everything created under it is deleted afterwards."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    yield prefix
    es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
    es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


@pytest.fixture()
def index_names(index_prefix: str) -> IndexNames:
    return IndexNames(prefix=index_prefix)


@pytest.fixture()
def seed_server() -> Iterator[SeedServer]:
    """The seed corpus (page, RSS, Atom) served on a free loopback port."""
    with SeedServer() as server:
        yield server


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    """A real webhook receiver on loopback that records every request."""
    rec = Receiver()
    yield rec
    rec.stop()
