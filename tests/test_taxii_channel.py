"""The ``taxii`` channel: each alert pushed as its STIX report to a TAXII 2.1 collection (a writable inbox on
loopback, tests/support/taxii_inbox.py), through the real outbox; faults from the inbox; the request matches
what the reference client (taxii2-client) sends, and what it wrote reads back with that client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import stix2
from elasticsearch import Elasticsearch
from stix2validator import validate_string
from taxii2client.v21 import Collection

from notify import (
    AddressRules,
    BlockedAddressError,
    ChannelConfigError,
    Delivery,
    Secret,
    TaxiiChannel,
    alert_from_doc,
    channels_from_config,
)
from notify import deliver as deliver_now
from notify.model import Alert
from search.alerting.alerts import list_alerts
from search.names import IndexNames
from tests.support.stix import alerted, places_article, write_watchlist
from tests.support.taxii_inbox import MEDIA, TaxiiInbox
from tests.test_taxii import Bearer
from wirewatch.pipeline import deliver_alerts
from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary

TOKEN = "cti-token-7f3a"


def _runtime(
    es_url: str, names: IndexNames, tmp: Path, inbox: TaxiiInbox, *, tlp: str = "amber", digest: bool = False
) -> Runtime:
    channels = tmp / "channels.yaml"
    channels.write_text(json.dumps([{"name": "cti", "type": "taxii", "url": inbox.collection_url, "token": TOKEN,
                                     "tlp": tlp, "digest": digest}]), encoding="utf-8")  # fmt: skip
    settings = load_settings(
        es_url=es_url, es_index_prefix=names.prefix, channels_file=channels, delivery_allow_loopback=True,
        watchlist_file=write_watchlist(tmp), delivery_backoff_s=0.05, summary_file=tmp / "last.json",
    )  # fmt: skip
    return build_runtime(settings)


def test_an_alert_is_pushed_once_as_its_report_and_reads_back(
    es_url: str, es: Elasticsearch, index_names: IndexNames, tmp_path: Path
) -> None:
    with TaxiiInbox(TOKEN, statuses=[503]) as inbox:  # busy once: retried within the pass
        rt = _runtime(es_url, index_names, tmp_path, inbox)
        (aid,) = alerted(es, index_names, [places_article("push-1")],
                         [{"id": "islamic-state", "name": "Islamic State"}], channels=("cti",))  # fmt: skip
        summary = PassSummary()
        deliver_alerts(rt, summary)
        assert summary.deliveries["delivered"] == 1, summary.failures
        (post,) = inbox.posts
        assert post["headers"]["Content-Type"] == MEDIA and post["headers"]["Accept"] == MEDIA
        bundle_text = json.dumps({"type": "bundle", "id": "bundle--5b0f1d9e-1111-4c6e-9c1b-2b7c8e0a9d01",
                                  **post["envelope"]})  # fmt: skip
        assert validate_string(bundle_text).is_valid
        bundle = stix2.parse(bundle_text, allow_custom=False)
        (report,) = [o for o in bundle.objects if o.type == "report"]
        assert report.object_marking_refs == [stix2.TLP_AMBER.id]  # the channel's level
        assert any(o.type == "intrusion-set" and o.name == "Islamic State" for o in bundle.objects)
        (alert,) = list_alerts(es, index_names)
        assert alert["id"] == aid and alert["deliveries"][0]["state"] == "delivered"

        deliver_alerts(rt, PassSummary())  # nothing pending: nothing sent again
        assert len(inbox.posts) == 1
        stored = len(inbox.objects)
        channel = rt.channels()["cti"]
        channel.send([alert_from_doc(alert)])  # a resend (after a lost answer) updates the same objects
        channel.close()
        assert len(inbox.objects) == stored

        reader = Collection(inbox.collection_url, auth=Bearer(TOKEN))
        read_back = {o["id"] for o in reader.get_objects()["objects"]}
        assert report.id in read_back and read_back == {o.id for o in bundle.objects}
        # the reference client adds the same envelope with the same request: same media type, same result
        reader.add_objects(post["envelope"])
        assert inbox.posts[-1]["headers"]["Content-Type"].replace(" ", "") == MEDIA
        assert len(inbox.objects) == stored
        rt.close()


def test_a_digest_channel_pushes_one_envelope_per_pass(
    es_url: str, es: Elasticsearch, index_names: IndexNames, tmp_path: Path
) -> None:
    with TaxiiInbox(TOKEN) as inbox:
        rt = _runtime(es_url, index_names, tmp_path, inbox, tlp="green", digest=True)
        docs = [places_article("dg-1"), places_article("dg-2")]
        assert len(alerted(es, index_names, docs, [{"id": "islamic-state", "name": "Islamic State"}],
                           channels=("cti",))) == 2  # fmt: skip
        summary = PassSummary()
        deliver_alerts(rt, summary)
        rt.close()
    assert summary.deliveries["delivered"] == 2, summary.failures
    (post,) = inbox.posts
    objects = post["envelope"]["objects"]
    assert sorted(o["name"] for o in objects if o["type"] == "report") == sorted(d["title"] for d in docs)
    assert len({o["id"] for o in objects}) == len(objects)  # the group, Libya, the people: once each
    assert {o["object_marking_refs"][0] for o in objects if "object_marking_refs" in o} == {stix2.TLP_GREEN.id}


def _render_one(alert_ids: object, tlp: str | None) -> list[dict[str, object]]:
    identity = stix2.Identity(name="x", identity_class="system", id="identity--0d2f4b5e-6a7c-4e8f-9a1b-2c3d4e5f6a7b")
    return [json.loads(identity.serialize())]


@pytest.mark.parametrize(
    ("inbox_kwargs", "token", "state", "error"),
    [
        ({}, "wrong", "failed", "HTTP 401 (check the channel's token)"),
        ({"refuse": ("identity",)}, TOKEN, "failed", "refused 1 object(s): identity is not accepted here"),
        ({"statuses": [503, 503, 503, 503]}, TOKEN, "pending", "HTTP 503"),
    ],
)
def test_faults_are_classified(inbox_kwargs: dict, token: str, state: str, error: str) -> None:
    alert = Alert(id="a1", watch_id="w", watch_name="w", article_id="x", title="t", url="https://e.org/x")
    with TaxiiInbox(TOKEN, **inbox_kwargs) as inbox:
        channel = TaxiiChannel(name="cti", url=inbox.collection_url, render=_render_one,
                               token=Secret(token), rules=AddressRules(allow_loopback=True))  # fmt: skip
        (outcome,) = deliver_now([Delivery(alert=alert, channel="cti")], {"cti": channel}, backoff_s=0.01)
        channel.close()
    assert outcome.state == state and error in (outcome.error or ""), outcome
    assert TOKEN not in (outcome.error or "")


def test_channel_configuration_errors() -> None:
    entry = {"name": "cti", "type": "taxii", "url": "https://cti.example.org/taxii2/api/collections/x/"}
    with pytest.raises(ChannelConfigError, match="need STIX export"):
        channels_from_config([entry], env={})
    with pytest.raises(ChannelConfigError, match="tlp must be one of"):
        channels_from_config([{**entry, "tlp": "purple"}], env={}, stix_render=_render_one)
    with pytest.raises(ChannelConfigError, match="TAXII collection"):
        channels_from_config([{**entry, "url": "ftp://x/"}], env={}, stix_render=_render_one)
    with pytest.raises(ChannelConfigError, match="CTI_TOKEN is not set"):
        channels_from_config([{**entry, "token_env": "CTI_TOKEN"}], env={}, stix_render=_render_one)
    with pytest.raises(BlockedAddressError):  # loopback is refused unless delivery_allow_loopback
        (channel,) = channels_from_config([{**entry, "url": "http://127.0.0.1:9/c/"}], env={},
                                          stix_render=_render_one).values()  # fmt: skip
        channel.send([Alert(id="a", watch_id="w", watch_name="w", article_id="x", title="t", url="u")])
