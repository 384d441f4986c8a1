"""Scheduled digests: the channels file's ``digest`` setting, when a digest is due, and one digest sent end to end.

End to end (real loopback site with the seed story in three copies, real node, real webhook receivers): a channel
with ``digest: {every: hourly}`` receives nothing as alerts come, then, when due, ONE message listing the story
(3 sources) under both groups' watches; exactly those alerts are marked delivered on it; a second run, a second
pass and a second runner at the same moment send nothing more.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from notify.config import channels_from_config, load_channels
from notify.digest import Digest, DigestSchedule, DigestSection, DigestStory, parse_digest, schedule_of
from notify.errors import ChannelConfigError
from notify.guard import AddressRules
from notify.http_channels import SlackChannel
from notify.render import MAX_SLACK_TEXT
from notify.secret import Secret
from notify.smtp import EmailChannel
from tests.support.alerting import Receiver, SmtpSink
from tests.support.stories_site import StoriesSite
from wirewatch.digests import send_due_digests
from wirewatch.pipeline import close_channels, run_pass
from wirewatch.runtime import Runtime, build_runtime
from wirewatch.settings import load_settings
from wirewatch.summary import PassSummary

LOOPBACK = AddressRules(allow_loopback=True)
PUBLISHED = [datetime(2018, 2, 23, 9, 30, tzinfo=UTC) + timedelta(hours=h) for h in (0, 2, 5)]


# --- the setting -------------------------------------------------------------------------------------------
def _file_channel(tmp_path: Path, digest: Any) -> Any:
    entry = {"name": "desk", "type": "file", "path": str(tmp_path / "a.jsonl"), "digest": digest}
    return channels_from_config([entry], env={})["desk"]


def test_digest_true_still_batches_per_pass_and_has_no_schedule(tmp_path: Path) -> None:
    channel = _file_channel(tmp_path, True)
    assert channel.digest is True and schedule_of(channel) is None
    plain = _file_channel(tmp_path, None)
    assert plain.digest is False and schedule_of(plain) is None


def test_scheduled_digests_are_read_from_the_channels_file(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    # unquoted 08:00 is the YAML 1.1 number 480: read as the time it looks like
    path.write_text(
        "- {name: a, type: file, path: a.jsonl, digest: {every: hourly}}\n"
        "- {name: b, type: file, path: b.jsonl, digest: {daily_at: 08:00, timezone: Africa/Tripoli}}\n"
        "- {name: c, type: file, path: c.jsonl, digest: {every: 30m, timezone: Asia/Kolkata}}\n"
    )
    channels = load_channels(path, env={})
    assert schedule_of(channels["a"]) == DigestSchedule(every_s=3600)
    assert schedule_of(channels["b"]) == DigestSchedule(daily_at=time(8, 0), timezone="Africa/Tripoli")
    assert schedule_of(channels["c"]) == DigestSchedule(every_s=1800, timezone="Asia/Kolkata")


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ({"daily_at": "08:00", "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"daily_at": "25:00"}, "daily_at must be a time HH:MM"),
        ({"every": "hourly", "daily_at": "08:00"}, "exactly one of 'every'"),
        ({}, "exactly one of 'every'"),
        ({"every": "7m"}, "divide a day evenly"),
        ({"every": "2m"}, "at least 5m"),
        ({"every": "daily"}, "give daily_at"),
        ({"every": "weekly"}, "every must be hourly or a period"),
        ({"every": "hourly", "tz": "UTC"}, "unknown field(s) tz"),
        ("yes", "must be true, false"),
    ],
)
def test_bad_digest_settings_are_refused_with_the_channel_named(tmp_path: Path, digest: Any, message: str) -> None:
    with pytest.raises(ChannelConfigError) as caught:
        _file_channel(tmp_path, digest)
    assert "channel 'desk': digest" in str(caught.value) and message in str(caught.value)


def test_daily_digest_is_due_at_the_local_time_of_its_zone() -> None:
    schedule = parse_digest({"daily_at": "08:00", "timezone": "Africa/Tripoli"}, "x")  # UTC+2
    assert isinstance(schedule, DigestSchedule)
    assert schedule.next_due(datetime(2024, 5, 1, 5, 0, tzinfo=UTC)) == datetime(2024, 5, 1, 6, 0, tzinfo=UTC)
    # exactly at the due time: the next one is tomorrow (a digest is never due twice for one slot)
    assert schedule.next_due(datetime(2024, 5, 1, 6, 0, tzinfo=UTC)) == datetime(2024, 5, 2, 6, 0, tzinfo=UTC)


def test_hourly_digest_follows_the_zone_wall_clock_across_dst() -> None:
    kolkata = DigestSchedule(every_s=3600, timezone="Asia/Kolkata")  # UTC+5:30: local hours are :30 in UTC
    assert kolkata.next_due(datetime(2024, 5, 1, 5, 10, tzinfo=UTC)) == datetime(2024, 5, 1, 5, 30, tzinfo=UTC)
    paris = DigestSchedule(daily_at=time(2, 30), timezone="Europe/Paris")  # 02:30 does not exist on 31 March
    due = paris.next_due(datetime(2024, 3, 30, 12, 0, tzinfo=UTC))
    assert due == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)  # the instant that wall time maps to
    hourly = DigestSchedule(every_s=3600, timezone="Europe/Paris")
    start = datetime(2024, 10, 26, 22, 0, tzinfo=UTC)  # the night clocks go back: 02:00-03:00 happens twice
    times = [start]
    for _ in range(5):
        times.append(hourly.next_due(times[-1]))
    assert all(b > a for a, b in itertools.pairwise(times))  # always forward, never stuck


# --- rendering on real servers -----------------------------------------------------------------------------
def _digest(titles: list[str]) -> Digest:
    stories = tuple(
        DigestStory(alert_id=f"a{n}", title=t, url=f"https://news.example.org/{n}", sources=3,
                    first_seen="2018-02-23T09:30:00+00:00")
        for n, t in enumerate(titles)
    )  # fmt: skip
    return Digest(
        channel="desk", due_at="2024-05-01T06:00:00+00:00", schedule="hourly",
        sections=(DigestSection(watch="Islamic State", stories=stories),),
    )  # fmt: skip


def test_email_digest_is_one_message_with_the_titles_escaped() -> None:
    sink = SmtpSink()
    try:
        channel = EmailChannel(
            name="desk", host="127.0.0.1", port=sink.port, sender="ww@example.org", recipients=("d@example.org",),
            security="none", rules=LOOPBACK,
        )  # fmt: skip
        listed = channel.send_digest(_digest(["<script>alert(1)</script> & co", "Second story"]))
        assert listed.alert_ids == ["a0", "a1"]
        assert len(sink.messages) == 1
        message = sink.messages[0]
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html and "<script>" not in html
        assert "3 sources, first seen 2018-02-23 09:30" in html
        assert message["Subject"] == "[Wirewatch] digest: 2 stories (hourly)"
    finally:
        sink.stop()


def test_slack_digest_is_one_message_and_lists_only_what_fits(receiver: Receiver) -> None:
    channel = SlackChannel(name="slack", url=Secret(receiver.url), rules=LOOPBACK)
    titles = [f"Story {n} <!channel> " + "x" * 180 for n in range(60)]
    listed = channel.send_digest(_digest(titles))
    assert len(receiver.requests) == 1
    text = json.loads(receiver.requests[0].body)["text"]
    assert len(text) <= MAX_SLACK_TEXT and "<!channel>" not in text and "&lt;!channel&gt;" in text
    shown = len(listed.alert_ids)
    assert 1 < shown < 60 and listed.waiting == 60 - shown  # the rest stay pending for the next digest
    assert text.count("• ") == shown and f"{60 - shown} more alert(s) wait" in text
    channel.close()


# --- end to end on the real node ---------------------------------------------------------------------------
@pytest.fixture()
def site() -> Iterator[StoriesSite]:
    with StoriesSite(PUBLISHED) as running:
        yield running


@pytest.fixture()
def digest_receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def _runtime(es_url: str, prefix: str, site: StoriesSite, now_hook: str, digest_hook: str, tmp: Path) -> Runtime:
    feeds = tmp / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"feeds": site.feeds}))
    channels = tmp / "channels.yaml"
    channels.write_text(yaml.safe_dump({"channels": [
        {"name": "now", "type": "webhook", "url": now_hook},
        {"name": "digest", "type": "webhook", "url": digest_hook, "digest": {"every": "hourly"}},
    ]}))  # fmt: skip
    settings = load_settings(
        es_url=es_url, es_index_prefix=prefix, feeds_file=feeds, channels_file=channels,
        http_allow_loopback=True, delivery_allow_loopback=True, http_respect_robots=False,
        extract_workers=1, ner_enabled=False, delivery_backoff_s=0.01,
    )  # fmt: skip
    return build_runtime(settings)


def _deliveries(rt: Runtime, channel: str) -> dict[str, str]:
    rt.es.indices.refresh(index=rt.names.alerts)
    hits = rt.es.search(index=rt.names.alerts, size=20)["hits"]["hits"]
    out = {}
    for hit in hits:
        for entry in hit["_source"].get("deliveries") or ():
            if entry["channel"] == channel:
                out[hit["_id"]] = entry["state"]
    return out


def _send(rt: Runtime, now: datetime) -> int:
    channels = rt.channels()
    try:
        return send_due_digests(rt, PassSummary(), channels, now=now)
    finally:
        close_channels(channels)


@pytest.mark.slow
def test_digest_channel_gets_one_digest_listing_the_story_when_due(
    es_url: str, index_prefix: str, site: StoriesSite, receiver: Receiver, digest_receiver: Receiver, tmp_path: Path
) -> None:
    rt = _runtime(es_url, index_prefix, site, receiver.url, digest_receiver.url, tmp_path)
    try:
        with rt.tools(ner=False) as tools:
            summary = run_pass(rt, tools).to_dict()
        assert summary["entries"]["indexed"] == 3, summary
        assert len(receiver.requests) == 1  # the immediate channel: one message for the story, both groups in it
        assert digest_receiver.requests == []  # the digest channel: nothing before its time
        assert set(_deliveries(rt, "digest").values()) == {"pending"}

        state = rt.es.get(index=rt.names.checkpoints, id="digest-digest")["_source"]["position"]
        due = datetime.fromisoformat(state["next_due"])
        assert due > datetime.now(UTC) - timedelta(seconds=5) and due.minute == 0 and due.second == 0

        assert _send(rt, due - timedelta(seconds=1)) == 0 and digest_receiver.requests == []
        assert _send(rt, due + timedelta(seconds=1)) == 1
        assert len(digest_receiver.requests) == 1
        body = json.loads(digest_receiver.requests[0].body)
        assert body["type"] == "scheduled_digest" and body["stories"] == 2
        sections = {w["watch"]: w["stories"] for w in body["watches"]}
        assert len(sections) == 2  # one section per group watch
        for stories in sections.values():
            [story] = stories
            assert story["sources"] == 3 and story["first_seen"].startswith("2018-02-23T09:30")
            assert story["url"] == f"{site.base}/site0/story.html"
        assert digest_receiver.requests[0].headers["Idempotency-Key"].startswith("digest-")
        delivered = _deliveries(rt, "digest")
        assert set(delivered.values()) == {"delivered"}
        assert set(delivered) == {s["alert_id"] for stories in sections.values() for s in stories}

        # nothing twice: the same moment again, a later moment before the next slot, another whole pass
        assert _send(rt, due + timedelta(seconds=2)) == 0
        assert _send(rt, due + timedelta(minutes=59)) == 0
        with rt.tools(ner=False) as tools:
            run_pass(rt, tools, only_due=False)
        assert len(digest_receiver.requests) == 1 and len(receiver.requests) == 1
        # the next slot with nothing waiting: no empty digest
        assert _send(rt, due + timedelta(hours=1, seconds=1)) == 0 and len(digest_receiver.requests) == 1
    finally:
        rt.es.close()


@pytest.mark.slow
def test_two_runners_at_the_due_time_send_one_digest(
    es_url: str, index_prefix: str, site: StoriesSite, receiver: Receiver, digest_receiver: Receiver, tmp_path: Path
) -> None:
    rt = _runtime(es_url, index_prefix, site, receiver.url, digest_receiver.url, tmp_path)
    try:
        with rt.tools(ner=False) as tools:
            run_pass(rt, tools)
        due = datetime.fromisoformat(
            rt.es.get(index=rt.names.checkpoints, id="digest-digest")["_source"]["position"]["next_due"]
        )
        results: list[int] = []
        start = threading.Barrier(4)

        def runner() -> None:
            start.wait()
            results.append(_send(rt, due + timedelta(seconds=1)))

        threads = [threading.Thread(target=runner) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == [0, 0, 0, 1]
        assert len(digest_receiver.requests) == 1
    finally:
        rt.es.close()
