"""Turn alerts into message bodies: plain text, HTML (escaped), Slack mrkdwn (escaped) and JSON.

Article content is untrusted: every title, passage and URL is escaped for the target format before the
highlight markers (« ») become formatting, so an article cannot inject markup, links or mentions.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any

from notify.model import HIGHLIGHT_END, HIGHLIGHT_START, Alert, story_of

MAX_SLACK_TEXT = 3500  # Slack truncates a message's text near 40k; a digest is split to stay below this


def one_story(alerts: Sequence[Alert]) -> bool:
    """Whether ``alerts`` are one message about one story (every watch it matched), not a digest."""
    return bool(alerts) and len({story_of(a) for a in alerts}) == 1


def watch_names(alerts: Sequence[Alert]) -> str:
    """The watches a story matched, each once, in the alerts' order ("JNIM, AQIM, Ansar Dine")."""
    return ", ".join(dict.fromkeys(a.watch_name for a in alerts))


def subject(alerts: Sequence[Alert]) -> str:
    if one_story(alerts):
        return _one_line(f"[Wirewatch] {watch_names(alerts)}: {alerts[0].title}")[:200]
    return f"[Wirewatch] {len(alerts)} new alerts"


def _one_line(text: str) -> str:
    # header injection: a newline in a title must never start a new mail header
    return " ".join(text.split())


def _plain_passage(passage: str) -> str:
    return passage.replace(HIGHLIGHT_START, "").replace(HIGHLIGHT_END, "")


def text_body(alerts: Sequence[Alert]) -> str:
    if len(alerts) > 1 and one_story(alerts):
        return _story_text(alerts)
    blocks = []
    for alert in alerts:
        lines = [f"Watch: {alert.watch_name}"]
        if alert.group_name:
            lines.append(f"Group: {alert.group_name} ({alert.group_id})")
        lines += [f"Title: {alert.title}", f"URL: {alert.url}", f"Source: {alert.source or '-'}"]
        lines.append(f"Published: {alert.published_at or '-'}")
        if alert.event is not None:
            lines.append(f"Event: {_one_line(event_line(alert.event))}")
        elif alert.surface_forms:
            lines.append(f"Matched: {', '.join(alert.surface_forms)}")
        if alert.passage:
            lines.append(f"{'Sentence' if alert.event else 'Passage'}: {_plain_passage(alert.passage)}")
        lines.append(f"Alert id: {alert.id}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _story_text(alerts: Sequence[Alert]) -> str:
    first = alerts[0]
    lines = [f"Watches: {watch_names(alerts)}", f"Title: {first.title}", f"URL: {first.url}",
             f"Source: {first.source or '-'}", f"Published: {first.published_at or '-'}"]  # fmt: skip
    for alert in alerts:
        lines += ["", f"Watch: {alert.watch_name}"]
        if alert.group_name:
            lines.append(f"Group: {alert.group_name} ({alert.group_id})")
        if alert.surface_forms:
            lines.append(f"Matched: {', '.join(alert.surface_forms)}")
        if alert.passage:
            lines.append(f"Passage: {_plain_passage(alert.passage)}")
        lines.append(f"Alert id: {alert.id}")
    return "\n".join(lines) + "\n"


def _html_passage(passage: str) -> str:
    escaped = html.escape(passage)
    return escaped.replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_END, "</mark>")


RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})


def _lang_attrs(alert: Alert) -> str:
    """lang/dir of an event's sentence (the article's language), so an Arabic sentence reads right to left."""
    language = str((alert.event or {}).get("language") or "")
    if not language.isalpha() or len(language) > 8:
        return ""
    direction = "rtl" if language in RTL_LANGUAGES else "auto"
    return f' lang="{language}" dir="{direction}"'


def event_line(event: Mapping[str, Any]) -> str:
    """The event in one line: "attack by JNIM at Djibo (BF) on 2026-12-06, 12 killed, 3 wounded"."""
    line = str(event.get("type") or "event").replace("_", " ")
    if event.get("actors"):
        line += " by " + ", ".join(str(a) for a in event["actors"])
    place = event.get("place") or {}
    if place.get("name"):
        line += f" at {place['name']}" + (f" ({place['country']})" if place.get("country") else "")
    if event.get("date"):
        line += f" on {event['date']}"
    for key, word in (("fatalities", "killed"), ("wounded", "wounded")):
        if event.get(key) is not None:
            line += f", {event[key]} {word}"
    return line


def safe_href(url: str) -> str | None:
    # only web links become clickable: a javascript: or data: URL from a feed stays inert text
    return url if url.lower().startswith(("http://", "https://")) else None


def html_body(alerts: Sequence[Alert]) -> str:
    if len(alerts) > 1 and one_story(alerts):
        return _story_html(alerts)
    parts = ["<!DOCTYPE html><html><body>"]
    for alert in alerts:
        title = html.escape(alert.title)
        href = safe_href(alert.url)
        heading = f'<a href="{html.escape(href, quote=True)}">{title}</a>' if href else title
        parts.append(f"<h3>{heading}</h3><p>")
        parts.append(f"<b>Watch:</b> {html.escape(alert.watch_name)}<br>")
        if alert.group_name:
            parts.append(f"<b>Group:</b> {html.escape(alert.group_name)}<br>")
        parts.append(f"<b>Source:</b> {html.escape(alert.source or '-')}<br>")
        parts.append(f"<b>Published:</b> {html.escape(alert.published_at or '-')}<br>")
        if alert.event is not None:
            parts.append(f"<b>Event:</b> {html.escape(event_line(alert.event))}<br>")
        elif alert.surface_forms:
            parts.append(f"<b>Matched:</b> {html.escape(', '.join(alert.surface_forms))}<br>")
        parts.append("</p>")
        if alert.passage:
            parts.append(f"<blockquote{_lang_attrs(alert)}>{_html_passage(alert.passage)}</blockquote>")
        if not href:
            parts.append(f"<p>URL: {html.escape(alert.url)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def _story_html(alerts: Sequence[Alert]) -> str:
    first = alerts[0]
    href = safe_href(first.url)
    title = html.escape(first.title)
    heading = f'<a href="{html.escape(href, quote=True)}">{title}</a>' if href else title
    parts = [f"<!DOCTYPE html><html><body><h3>{heading}</h3><p><b>Watches:</b> {html.escape(watch_names(alerts))}<br>",
             f"<b>Source:</b> {html.escape(first.source or '-')}<br>",
             f"<b>Published:</b> {html.escape(first.published_at or '-')}</p>"]  # fmt: skip
    for alert in alerts:
        matched = html.escape(", ".join(alert.surface_forms) or "-")
        parts.append(f"<p><b>{html.escape(alert.watch_name)}</b>: {matched}</p>")
        if alert.passage:
            parts.append(f"<blockquote>{_html_passage(alert.passage)}</blockquote>")
    if not href:
        parts.append(f"<p>URL: {html.escape(first.url)}</p>")
    parts.append("</body></html>")
    return "".join(parts)


def slack_escape(text: str) -> str:
    """Slack's own escaping: &, < and > (so an article cannot write <!channel> or <url|link>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_passage(passage: str) -> str:
    # the markers become bold after escaping; stray * or _ in article text only affect styling
    return slack_escape(passage).replace(HIGHLIGHT_START, "*").replace(HIGHLIGHT_END, "*")


def _slack_link(alert: Alert) -> str:
    title = slack_escape(alert.title).replace("|", "¦")  # '|' would end the link text early
    href = safe_href(alert.url)
    return f"<{slack_escape(href)}|{title}>" if href else title


def _slack_meta(alert: Alert) -> str:
    return f"{slack_escape(alert.source or '-')} · {slack_escape(alert.published_at or '-')}"


def _slack_block(alert: Alert) -> str:
    block = f"*{slack_escape(alert.watch_name)}*: {_slack_link(alert)}\n{_slack_meta(alert)}"
    return f"{block}\n> {_slack_passage(alert.passage)}" if alert.passage else block


def _slack_story(alerts: Sequence[Alert]) -> str:
    # the article once, under the names of every watch it matched, then each watch's passage
    first = alerts[0]
    lines = [f"*{slack_escape(watch_names(alerts))}*: {_slack_link(first)}", _slack_meta(first)]
    lines += [f"> *{slack_escape(a.watch_name)}*: {_slack_passage(a.passage)}" for a in alerts if a.passage]
    return "\n".join(lines)


def _slack_heading(count: int) -> str:
    return f"*{count} new Wirewatch alerts*"


def slack_text(alerts: Sequence[Alert]) -> str:
    """One Slack message. Only a single alert longer than MAX_SLACK_TEXT is ever cut: a digest is first split
    with ``slack_batches`` so that every alert it holds is shown in full."""
    if len(alerts) > 1 and one_story(alerts):
        lines = [_slack_story(alerts)]
    else:
        lines = [_slack_heading(len(alerts))] if len(alerts) > 1 else []
        lines += [_slack_block(alert) for alert in alerts]
    text = "\n".join(lines)
    return text if len(text) <= MAX_SLACK_TEXT else text[: MAX_SLACK_TEXT - 1] + "…"


def slack_batches(alerts: Sequence[Alert]) -> list[list[Alert]]:
    """``alerts`` in order, cut into runs whose ``slack_text`` fits MAX_SLACK_TEXT (an alert too long for
    any message gets one of its own), so a digest never hides an alert it counts as delivered."""
    room = MAX_SLACK_TEXT - len(_slack_heading(len(alerts))) - 1  # a run's heading is never longer
    batches: list[list[Alert]] = []
    size = room + 1  # start a new batch with the first alert
    for alert in alerts:
        needed = len(_slack_block(alert)) + 1
        if size + needed > room:
            batches.append([])
            size = 0
        batches[-1].append(alert)
        size += needed
    return batches


def json_body(alerts: Sequence[Alert], *, digest: bool) -> bytes:
    """The webhook body: one alert, or a digest of the pass's alerts."""
    if digest:
        doc: dict[str, Any] = {"type": "digest", "alerts": [a.to_payload() for a in alerts]}
    else:
        doc = story_payload(alerts)
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")


def story_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """One message about one story: ``alert`` is the first (as for a single alert), ``watches`` names every
    watch the story matched and ``alerts`` holds each watch's own alert."""
    return {
        "type": "alert",
        "alert": alerts[0].to_payload(),
        "watches": list(dict.fromkeys(a.watch_name for a in alerts)),
        "alerts": [a.to_payload() for a in alerts],
    }
