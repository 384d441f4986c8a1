"""Channels from the ``channels_file`` YAML (``load_channels``) or from plain dicts (``channels_from_config``).

Each entry has ``name``, ``type`` (webhook, slack, email, file, taxii), an optional ``digest`` and the fields of its
type. ``digest: true`` batches the pass's alerts into one message; ``digest: {every: hourly}`` or ``digest:
{daily_at: "08:00", timezone: "Africa/Tripoli"}`` sends one digest of the waiting stories when due
(``notify.digest``). A secret is given by the NAME of an environment variable (``secret_env``, ``url_env``,
``password_env``), looked up in the ``env`` mapping the caller passes (this module never reads the process
environment itself), or falls back to ``fallback_secrets`` (keys ``webhook`` and ``smtp``: the settings'
``webhook_secret`` and ``smtp_password``). Unknown keys are refused, so a typo cannot silently disable
signing.

    - {name: hook, type: webhook, url: "https://hooks.example.org/ww", secret_env: WIREWATCH_WEBHOOK_SECRET}
    - {name: slack, type: slack, url_env: WIREWATCH_SLACK_URL, digest: true}
    - {name: morning, type: email, ..., digest: {daily_at: "08:00", timezone: Africa/Tripoli}}
    - {name: desk, type: email, host: smtp.example.org, port: 587, security: starttls, sender: ww@example.org,
       to: [desk@example.org], username: ww, password_env: WIREWATCH_SMTP_PASSWORD}
    - {name: file, type: file, path: run/alerts.jsonl}
    - {name: cti, type: taxii, url: "https://cti.example.org/taxii2/root/collections/<id>/", token_env: CTI_TOKEN,
       tlp: amber}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from notify.deliver import Channel
from notify.digest import DigestSchedule, parse_digest
from notify.errors import ChannelConfigError
from notify.file_channel import JsonlFileChannel
from notify.guard import AddressRules
from notify.http_channels import SlackChannel, WebhookChannel
from notify.secret import Secret
from notify.smtp import EmailChannel
from notify.taxii_channel import StixRender, TaxiiChannel

_COMMON = {"name", "type", "digest"}
_FIELDS = {
    "webhook": {"url", "secret", "secret_env", "timeout_s"},
    "slack": {"url", "url_env", "timeout_s"},
    "email": {
        "host",
        "port",
        "security",
        "sender",
        "to",
        "username",
        "password",
        "password_env",
        "timeout_s",
    },
    "file": {"path"},
    "taxii": {"url", "token", "token_env", "tlp", "timeout_s"},
}


def channels_from_config(
    entries: Sequence[Mapping[str, Any]] | Mapping[str, Any],
    *,
    env: Mapping[str, str],
    allow_loopback: bool = False,
    allow_private: bool = False,
    fallback_secrets: Mapping[str, str | None] | None = None,
    base_dir: Path | None = None,
    stix_render: StixRender | None = None,
) -> dict[str, Channel]:
    """Build every channel; raises ChannelConfigError naming the channel and field at the first problem.

    ``entries`` is the YAML's list, or a mapping with a ``channels`` list. Relative file paths resolve
    against ``base_dir`` (the YAML file's folder) when given.
    """
    if isinstance(entries, Mapping):
        entries = entries.get("channels") or []
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise ChannelConfigError("channels must be a list of channel definitions")
    rules = AddressRules(allow_loopback=allow_loopback, allow_private=allow_private)
    context = _Context(env=env, rules=rules, fallback=dict(fallback_secrets or {}), base_dir=base_dir)
    context.stix_render = stix_render
    channels: dict[str, Channel] = {}
    for index, entry in enumerate(entries):
        channel = _build(entry, index, context)
        if channel.name in channels:
            raise ChannelConfigError(f"channel {channel.name!r} is defined twice")
        channels[channel.name] = channel
    return channels


def load_channels(
    path: Path,
    *,
    env: Mapping[str, str],
    allow_loopback: bool = False,
    allow_private: bool = False,
    fallback_secrets: Mapping[str, str | None] | None = None,
    stix_render: StixRender | None = None,
) -> dict[str, Channel]:
    """Read the channels YAML file and build its channels (relative paths resolve beside the file).

    Raises ChannelConfigError naming the file, and the channel and field at the first problem."""
    try:
        entries = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ChannelConfigError(f"cannot read {path}: {exc}") from exc
    try:
        return channels_from_config(
            entries or [],
            env=env,
            allow_loopback=allow_loopback,
            allow_private=allow_private,
            fallback_secrets=fallback_secrets,
            base_dir=Path(path).parent,
            stix_render=stix_render,
        )
    except ChannelConfigError as exc:
        raise ChannelConfigError(f"channels file {path}: {exc}") from exc


def default_channels(alerts_file: Path) -> dict[str, Channel]:
    """The channel used when no channels file is configured: one JSON-lines file named ``file``."""
    return {"file": JsonlFileChannel(name="file", path=alerts_file)}


class _Context:
    def __init__(
        self,
        *,
        env: Mapping[str, str],
        rules: AddressRules,
        fallback: dict[str, str | None],
        base_dir: Path | None,
    ) -> None:
        self.env, self.rules, self.fallback, self.base_dir = env, rules, fallback, base_dir
        self.stix_render: StixRender | None = None  # makes a taxii channel's STIX objects (the composition root's)

    def secret(self, entry: Mapping[str, Any], name: str, key: str, fallback_key: str | None) -> Secret | None:
        """``entry[key]``, else the env var named by ``entry[key_env]``, else the fallback."""
        if entry.get(key):
            return Secret(str(entry[key]))
        env_name = entry.get(f"{key}_env")
        if env_name:
            value = self.env.get(str(env_name))
            if not value:
                raise ChannelConfigError(f"channel {name!r}: environment variable {env_name} is not set")
            return Secret(value)
        value = self.fallback.get(fallback_key) if fallback_key else None
        return Secret(value) if value else None


def _build(entry: Mapping[str, Any], index: int, ctx: _Context) -> Channel:
    if not isinstance(entry, Mapping):
        raise ChannelConfigError(f"channel #{index + 1} must be a mapping")
    name = str(entry.get("name") or "").strip()
    if not name:
        raise ChannelConfigError(f"channel #{index + 1} has no name")
    kind = entry.get("type")
    if kind not in _FIELDS:
        raise ChannelConfigError(f"channel {name!r}: type must be one of {', '.join(sorted(_FIELDS))}")
    unknown = set(entry) - _COMMON - _FIELDS[kind]
    if unknown:
        raise ChannelConfigError(f"channel {name!r}: unknown field(s) {', '.join(sorted(unknown))}")
    return _BUILDERS[kind](entry, name, ctx)


def _digest(entry: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The channel's ``digest`` (batches into one message) and ``digest_schedule`` (only when due) arguments."""
    setting = parse_digest(entry.get("digest"), name)
    schedule = setting if isinstance(setting, DigestSchedule) else None
    return {"digest": setting is not False, "digest_schedule": schedule}


def _required(entry: Mapping[str, Any], name: str, key: str) -> Any:
    if entry.get(key) in (None, ""):
        raise ChannelConfigError(f"channel {name!r}: field {key!r} is required")
    return entry[key]


def _webhook(entry: Mapping[str, Any], name: str, ctx: _Context) -> Channel:
    return WebhookChannel(
        name=name,
        url=str(_required(entry, name, "url")),
        secret=ctx.secret(entry, name, "secret", "webhook"),
        **_digest(entry, name),
        timeout_s=float(entry.get("timeout_s", 10.0)),
        rules=ctx.rules,
    )


def _slack(entry: Mapping[str, Any], name: str, ctx: _Context) -> Channel:
    url = ctx.secret(entry, name, "url", None)
    if url is None:
        raise ChannelConfigError(f"channel {name!r}: slack needs url or url_env")
    return SlackChannel(
        name=name, url=url, **_digest(entry, name),
        timeout_s=float(entry.get("timeout_s", 10.0)), rules=ctx.rules,
    )  # fmt: skip


def _email(entry: Mapping[str, Any], name: str, ctx: _Context) -> Channel:
    recipients = entry.get("to") or []
    if isinstance(recipients, str):
        recipients = [recipients]
    security = str(entry.get("security", "starttls"))
    default_port = {"ssl": 465, "starttls": 587}.get(security, 25)
    username = entry.get("username")
    return EmailChannel(
        name=name,
        host=str(_required(entry, name, "host")),
        port=int(entry.get("port", default_port)),
        sender=str(_required(entry, name, "sender")),
        recipients=tuple(str(r) for r in recipients),
        security=security,  # type: ignore[arg-type]  # validated by EmailChannel
        username=str(username) if username else None,
        password=ctx.secret(entry, name, "password", "smtp") if username else None,
        **_digest(entry, name),
        timeout_s=float(entry.get("timeout_s", 15.0)),
        rules=ctx.rules,
    )


def _file(entry: Mapping[str, Any], name: str, ctx: _Context) -> Channel:
    path = Path(str(_required(entry, name, "path")))
    if not path.is_absolute() and ctx.base_dir is not None:
        path = ctx.base_dir / path
    return JsonlFileChannel(name=name, path=path, **_digest(entry, name))


def _taxii(entry: Mapping[str, Any], name: str, ctx: _Context) -> Channel:
    if ctx.stix_render is None:
        raise ChannelConfigError(f"channel {name!r}: taxii channels need STIX export, which this program lacks")
    tlp = entry.get("tlp")
    return TaxiiChannel(
        name=name, url=str(_required(entry, name, "url")), render=ctx.stix_render,
        token=ctx.secret(entry, name, "token", None), tlp=str(tlp) if tlp else None, **_digest(entry, name),
        timeout_s=float(entry.get("timeout_s", 15.0)), rules=ctx.rules,
    )  # fmt: skip


_BUILDERS: dict[str, Callable[[Mapping[str, Any], str, _Context], Channel]] = {
    "webhook": _webhook,
    "slack": _slack,
    "email": _email,
    "file": _file,
    "taxii": _taxii,
}
