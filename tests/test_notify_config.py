"""Channel configuration from plain dicts, secrets, escaping and Retry-After parsing (no network)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from netsafe import parse_retry_after as retry_after_seconds
from notify import (
    Alert,
    ChannelConfigError,
    EmailChannel,
    JsonlFileChannel,
    SlackChannel,
    WebhookChannel,
    channels_from_config,
    default_channels,
)
from notify.render import html_body, slack_text, subject, text_body

CONFIG = [
    {"name": "hook", "type": "webhook", "url": "https://hooks.example.org/ww", "secret_env": "WW_HOOK_KEY"},
    {"name": "slack", "type": "slack", "url_env": "WW_SLACK_URL", "digest": True},
    {
        "name": "desk", "type": "email", "host": "smtp.example.org", "sender": "ww@example.org",
        "to": "desk@example.org", "username": "ww", "password_env": "WW_SMTP",
    },
    {"name": "file", "type": "file", "path": "out/alerts.jsonl"},
]  # fmt: skip
ENV = {"WW_HOOK_KEY": "hook-key-1", "WW_SLACK_URL": "https://hooks.slack.com/services/T/B/tok3n", "WW_SMTP": "pw"}


def test_channels_are_built_with_secrets_from_the_named_env_vars(tmp_path: Path) -> None:
    channels = channels_from_config(CONFIG, env=ENV, base_dir=tmp_path)
    hook, slack, desk, file = (channels[n] for n in ("hook", "slack", "desk", "file"))
    assert isinstance(hook, WebhookChannel) and hook.secret is not None and hook.secret.reveal() == "hook-key-1"
    assert isinstance(slack, SlackChannel) and slack.digest and slack.url.reveal().endswith("tok3n")
    assert isinstance(desk, EmailChannel) and (desk.port, desk.security) == (587, "starttls")
    assert desk.recipients == ("desk@example.org",) and desk.password is not None
    assert isinstance(file, JsonlFileChannel) and file.path == tmp_path / "out" / "alerts.jsonl"
    shown = repr(channels)
    for secret in ("hook-key-1", "tok3n", "'pw'"):
        assert secret not in shown


def test_a_mapping_with_a_channels_key_is_accepted() -> None:
    assert list(channels_from_config({"channels": CONFIG[3:]}, env={})) == ["file"]


def test_fallback_secrets_fill_in_when_no_env_var_is_named() -> None:
    entry = {"name": "hook", "type": "webhook", "url": "https://hooks.example.org/ww"}
    [hook] = channels_from_config([entry], env={}, fallback_secrets={"webhook": "from-settings"}).values()
    assert isinstance(hook, WebhookChannel) and hook.secret is not None
    assert hook.secret.reveal() == "from-settings"


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([{"name": "hook", "type": "webhook", "url": "https://x.example", "secret_env": "MISSING"}], "MISSING"),
        ([{"name": "hook", "type": "webhook", "url": "https://x.example", "secret_envv": "X"}], "secret_envv"),
        ([{"name": "hook", "type": "pager"}], "type must be one of"),
        ([{"type": "file", "path": "x"}], "has no name"),
        ([{"name": "f", "type": "file", "path": "a"}, {"name": "f", "type": "file", "path": "b"}], "twice"),
        ([{"name": "hook", "type": "webhook", "url": "ftp://x.example"}], "http(s) URL"),
        ([{"name": "s", "type": "slack"}], "url or url_env"),
        ([{"name": "m", "type": "email", "host": "h", "sender": "a@b"}], "recipient"),
        ([{"name": "m", "type": "email", "host": "h", "sender": "a@b", "to": "c@d", "security": "tls"}], "security"),
    ],
)
def test_invalid_entries_say_which_channel_and_field(entries: list[dict[str, object]], message: str) -> None:
    with pytest.raises(ChannelConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        channels_from_config(entries, env={})


def test_the_default_channel_is_a_jsonl_file(tmp_path: Path) -> None:
    [channel] = default_channels(tmp_path / "alerts.jsonl").values()
    assert isinstance(channel, JsonlFileChannel) and channel.name == "file"


HOSTILE = Alert(
    id="a1", watch_id="w", watch_name="Watch <i>", article_id="x",
    title="<img src=x onerror=alert(1)> | <!channel>\nBcc: victim@example.org",
    url="javascript:alert(1)", source="s&p", passage="a «match» <b>bold</b>",
)  # fmt: skip


def test_html_escapes_article_content_and_never_links_non_web_urls() -> None:
    body = html_body([HOSTILE])
    assert "<img" not in body and "&lt;img src=x onerror=alert(1)&gt;" in body
    assert 'href="javascript' not in body and "<b>bold</b>" not in body and "<mark>match</mark>" in body
    assert "Watch &lt;i&gt;" in body and "s&amp;p" in body


def test_slack_text_cannot_ping_or_inject_links() -> None:
    text = slack_text([HOSTILE])
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<javascript" not in text and "*match*" in text


def test_subject_is_one_line_so_titles_cannot_add_mail_headers() -> None:
    assert "\n" not in subject([HOSTILE]) and "Bcc: victim" in subject([HOSTILE])
    other_story = replace(HOSTILE, id="a2", article_id="y")  # two stories: a digest's subject
    assert subject([HOSTILE, other_story]) == "[Wirewatch] 2 new alerts"
    two_watches = replace(HOSTILE, id="a3", watch_name="Watch\nBcc: x@example.org")  # one story, two watches
    assert "\n" not in subject([HOSTILE, two_watches]) and subject([HOSTILE, two_watches]).count("Watch") == 2
    assert "«" not in text_body([HOSTILE])


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds("Wed, 01 May 2024 12:00:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 01 May 2024 11:00:00 GMT", now=now) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
