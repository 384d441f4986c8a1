"""HTTP channels: a signed JSON webhook and a Slack incoming webhook.

Both POST once per call and classify the answer: 2xx is delivered; 408, 425, 429 and 5xx are transient (with
the receiver's Retry-After); any other status is permanent. ``timeout_s`` bounds the whole POST (connect,
request, the answer's headers and body; ``netsafe.deadline``, as a fetch is bounded), so a receiver that
answers one byte at a time cannot hold a send (or a pass) longer than that. Errors name the channel and the
host only: a Slack webhook's path and a webhook's query string are credentials.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from netsafe import AddressRefused, DeadlineExceeded, deadline_in, parse_retry_after
from notify.digest import SLACK_DIGEST_LIMIT, Digest, DigestSchedule, digest_json, digest_slack, fit
from notify.errors import ChannelConfigError, PermanentDeliveryError, TransientDeliveryError
from notify.guard import AddressRules, blocked, guarded_client
from notify.model import Alert
from notify.render import json_body, one_story, slack_batches, slack_text
from notify.secret import Secret

TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
MAX_RESPONSE_BYTES = 4096  # we only need the status; never read a huge answer
USER_AGENT = "Wirewatch-Notify/0.1"


def _checked_url(name: str, url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelConfigError(f"channel {name!r}: url must be an http(s) URL with a host")
    return url


@contextmanager
def send_errors(label: str) -> Iterator[None]:
    """The one map from a POST's failures to delivery errors, for every HTTP channel (webhook, Slack, taxii)."""
    try:
        yield
    except DeadlineExceeded as exc:
        raise TransientDeliveryError(f"{label}: no complete answer within the send's deadline ({exc})") from exc
    except AddressRefused as exc:
        raise blocked(exc) from exc
    except httpx.TimeoutException as exc:
        raise TransientDeliveryError(f"{label}: timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransientDeliveryError(f"{label}: connection failed ({type(exc).__name__})") from exc


def _post(
    client: httpx.Client, url: str, body: bytes, headers: dict[str, str], label: str, deadline_s: float
) -> None:
    with (
        send_errors(label),
        deadline_in(deadline_s),
        client.stream("POST", url, content=body, headers=headers) as response,
    ):
        _drain(response)
    status = response.status_code
    if 200 <= status < 300:
        return
    if status in TRANSIENT_STATUSES or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise TransientDeliveryError(f"{label}: HTTP {status}", retry_after_s=retry_after)
    raise PermanentDeliveryError(f"{label}: HTTP {status} (the receiver rejected the message)")


def _drain(response: httpx.Response) -> None:
    read = 0
    for chunk in response.iter_raw():
        read += len(chunk)
        if read >= MAX_RESPONSE_BYTES:
            break


@dataclass(kw_only=True)
class WebhookChannel:
    """JSON POST with ``X-Wirewatch-Signature: sha256=<hex HMAC-SHA256 of body>`` and ``Idempotency-Key``."""

    name: str
    url: str = field(repr=False)  # may carry a token in its query string
    secret: Secret | None = field(default=None, repr=False)
    digest: bool = False
    timeout_s: float = 10.0
    rules: AddressRules = field(default_factory=AddressRules)
    digest_schedule: DigestSchedule | None = None  # a scheduled digest: notify.digest

    def __post_init__(self) -> None:
        _checked_url(self.name, self.url)
        self._client = guarded_client(rules=self.rules, timeout_s=self.timeout_s)

    def send(self, alerts: Sequence[Alert]) -> None:
        body = json_body(alerts, digest=self.digest)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": idempotency_key(alerts),
        }
        if self.secret is not None:
            headers["X-Wirewatch-Signature"] = "sha256=" + sign(body, self.secret.reveal())
        _post(self._client, self.url, body, headers, self._label, self.timeout_s)

    def send_digest(self, digest: Digest) -> Digest:
        """One signed JSON POST listing the whole digest."""
        body = digest_json(digest)
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, "Idempotency-Key": digest.key}
        if self.secret is not None:
            headers["X-Wirewatch-Signature"] = "sha256=" + sign(body, self.secret.reveal())
        _post(self._client, self.url, body, headers, self._label, self.timeout_s)
        return digest

    @property
    def _label(self) -> str:
        return f"webhook {self.name!r} ({urlsplit(self.url).hostname})"

    def close(self) -> None:
        self._client.close()


def sign(body: bytes, key: str) -> str:
    """Hex HMAC-SHA256 of ``body``: what a receiver recomputes to verify ``X-Wirewatch-Signature``."""
    return hmac.new(key.encode("utf-8"), body, hashlib.sha256).hexdigest()


def idempotency_key(alerts: Sequence[Alert]) -> str:
    """The alert id; for one story's alerts or a digest, a stable hash of the alert ids (a resend keeps its key)."""
    if len(alerts) == 1:
        return alerts[0].id
    joined = ",".join(sorted(a.id for a in alerts))
    kind = "story" if one_story(alerts) else "digest"
    return f"{kind}-" + hashlib.sha256(joined.encode()).hexdigest()[:32]


@dataclass(kw_only=True)
class SlackChannel:
    """A Slack incoming webhook (the URL is the credential). A 429 is retried after Retry-After.

    A digest is posted as several messages when it does not fit one (``digest_batches``): ``deliver`` sends
    and records each on its own, so no alert is counted delivered without being shown."""

    name: str
    url: Secret = field(repr=False)
    digest: bool = False
    timeout_s: float = 10.0
    rules: AddressRules = field(default_factory=AddressRules)
    digest_schedule: DigestSchedule | None = None  # a scheduled digest: notify.digest

    def __post_init__(self) -> None:
        _checked_url(self.name, self.url.reveal())
        self._client = guarded_client(rules=self.rules, timeout_s=self.timeout_s)

    def send(self, alerts: Sequence[Alert]) -> None:
        body = json.dumps({"text": slack_text(alerts), "unfurl_links": False}).encode("utf-8")
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        _post(self._client, self.url.reveal(), body, headers, f"slack {self.name!r}", self.timeout_s)

    def send_digest(self, digest: Digest) -> Digest:
        """One message: stories that do not fit are left out (and stay pending for the next digest)."""
        listed = fit(digest, digest_slack, SLACK_DIGEST_LIMIT)
        body = json.dumps({"text": digest_slack(listed)[:SLACK_DIGEST_LIMIT], "unfurl_links": False}).encode()
        _post(self._client, self.url.reveal(), body, {"Content-Type": "application/json", "User-Agent": USER_AGENT},
              f"slack {self.name!r}", self.timeout_s)  # fmt: skip
        return listed

    def digest_batches(self, alerts: Sequence[Alert]) -> list[list[Alert]]:
        return slack_batches(alerts)

    def close(self) -> None:
        self._client.close()
