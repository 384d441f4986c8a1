"""The ``taxii`` channel: each alert (or each digest) as a STIX 2.1 envelope POSTed to a TAXII 2.1 collection
elsewhere (OpenCTI, MISP, a sharing community's server), the TAXII "Add Objects" request.

``notify`` imports nothing of ours but ``netsafe``, so the STIX objects are made by a function the composition
root passes in (``StixRender``: alert ids and a TLP level -> the objects). The objects' ids are stable, so a
resend after a failure updates the same objects on the receiving side instead of adding copies. The answer is
classified like the webhooks' (2xx delivered; 408, 425, 429, 5xx transient with Retry-After; other statuses
permanent), and a status resource that lists failed objects makes the delivery fail for good with the
collection's first message: retrying the same objects cannot help. Errors name the channel and host only.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from netsafe import deadline_in, parse_retry_after
from notify.digest import Digest, DigestSchedule
from notify.errors import ChannelConfigError, PermanentDeliveryError, TransientDeliveryError
from notify.guard import AddressRules, guarded_client
from notify.http_channels import TRANSIENT_STATUSES, USER_AGENT, send_errors
from notify.model import Alert
from notify.secret import Secret

__all__ = ["TAXII_MEDIA_TYPE", "TLP_LEVELS", "StixRender", "TaxiiChannel"]

TAXII_MEDIA_TYPE = "application/taxii+json;version=2.1"
TLP_LEVELS = ("clear", "green", "amber", "red")
MAX_STATUS_BYTES = 65536  # a status resource lists failures; never read an unbounded answer

StixRender = Callable[[Sequence[str], str | None], list[dict[str, Any]]]


@dataclass(kw_only=True)
class TaxiiChannel:
    """POST ``{"objects": [...]}`` to ``<collection url>objects/`` with ``Authorization: Bearer <token>``."""

    name: str
    url: str = field(repr=False)  # the collection's URL, ending in its id and "/"
    render: StixRender = field(repr=False)
    token: Secret | None = field(default=None, repr=False)
    tlp: str | None = None  # the level of every report this channel sends; None: per watch (settings)
    digest: bool = False
    timeout_s: float = 15.0
    rules: AddressRules = field(default_factory=AddressRules)
    digest_schedule: DigestSchedule | None = None

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelConfigError(f"channel {self.name!r}: url must be the http(s) URL of a TAXII collection")
        if self.tlp is not None and self.tlp.lower().removeprefix("tlp:") not in TLP_LEVELS:
            raise ChannelConfigError(f"channel {self.name!r}: tlp must be one of {', '.join(TLP_LEVELS)}")
        self.url = self.url if self.url.endswith("/") else self.url + "/"
        self._client = guarded_client(rules=self.rules, timeout_s=self.timeout_s)

    @property
    def _label(self) -> str:
        return f"taxii {self.name!r} ({urlsplit(self.url).hostname})"

    def send(self, alerts: Sequence[Alert]) -> None:
        """One envelope: the reports of ``alerts`` (one alert, or a pass's digest) and what they name."""
        self._push([alert.id for alert in alerts])

    def send_digest(self, digest: Digest) -> Digest:
        """A scheduled digest as one envelope of its alerts' reports."""
        self._push(digest.alert_ids)
        return digest

    def _push(self, alert_ids: Sequence[str]) -> None:
        objects = self.render(alert_ids, self.tlp)
        if not objects:
            raise PermanentDeliveryError(f"{self._label}: none of the alerts could be read to make a report")
        body = json.dumps({"objects": objects}, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": TAXII_MEDIA_TYPE, "Accept": TAXII_MEDIA_TYPE, "User-Agent": USER_AGENT}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.reveal()}"
        status, answer, retry_after = self._post(body, headers)
        if 200 <= status < 300:
            _check_status(answer, self._label)
            return
        if status in TRANSIENT_STATUSES or status >= 500:
            raise TransientDeliveryError(f"{self._label}: HTTP {status}", retry_after_s=retry_after)
        hint = " (check the channel's token)" if status in (401, 403) else ""
        raise PermanentDeliveryError(f"{self._label}: HTTP {status}{hint} (the collection refused the objects)")

    def _post(self, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, float | None]:
        """(status, the answer's first bytes, Retry-After); sends run in parallel, so nothing is kept on self."""
        # timeout_s bounds the whole send, as for the webhooks: a collection that answers a byte at a time
        # would otherwise hold the delivery (and the pass) for as long as it likes
        with (
            send_errors(self._label),
            deadline_in(self.timeout_s),
            self._client.stream("POST", self.url + "objects/", content=body, headers=headers) as response,
        ):
            answer = b""
            for chunk in response.iter_bytes():
                answer += chunk
                if len(answer) >= MAX_STATUS_BYTES:
                    break
            return response.status_code, answer, parse_retry_after(response.headers.get("retry-after"))

    def close(self) -> None:
        self._client.close()


def _check_status(answer: bytes, label: str) -> None:
    """A status resource with failed objects is a permanent failure; an unreadable answer to a 2xx is not."""
    try:
        status = json.loads(answer)
    except ValueError:
        return
    if not isinstance(status, dict) or not status.get("failure_count"):
        return
    failures = status.get("failures") or [{}]
    first = str(failures[0].get("message") or "no reason given") if isinstance(failures[0], dict) else "?"
    count = status.get("failure_count")
    raise PermanentDeliveryError(f"{label}: the collection refused {count} object(s): {first[:200]}")
