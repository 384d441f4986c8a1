"""The workbench on a real uvicorn server on 127.0.0.1, over a real node, with a small corpus and users."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from elasticsearch import Elasticsearch

from search.bulk import index_articles
from search.names import IndexNames
from tests.support.search_docs import make_doc, seed_doc
from wirewatch.settings import Settings, load_settings
from wirewatch.web.app import create_app
from wirewatch.web.store import WebStore

ROOT = Path(__file__).resolve().parent.parent.parent

PASSWORD = "correct horse battery"
HOSTILE_TITLE = '<script>window.__pwned=1</script>Breaking <img src=x onerror="window.__pwned=2">'
HOSTILE_TEXT = (
    "Officials said <script>window.__pwned=3</script> the Islamic State claimed it. "
    '<img src=x onerror="window.__pwned=4"> <a href="javascript:window.__pwned=5">click</a> '
    '<svg onload="window.__pwned=6"></svg>'
)


def corpus_without_seed() -> list[dict[str, Any]]:
    """``corpus()`` but the seed article, which ``seed_story`` writes as the first of a story."""
    return [doc for doc in corpus() if doc["id"] != "seed"]


def corpus() -> list[dict[str, Any]]:
    hostile = make_doc(
        "hostile", title=HOSTILE_TITLE, text=HOSTILE_TEXT, source="wire-evil",
        published_at="2024-05-04T09:00:00+00:00", groups=["isis"],
    )  # fmt: skip
    hostile["author"] = '<img src=x onerror="window.__pwned=7">Mallory'
    hostile["url"] = "javascript:window.__pwned=8"
    return [
        seed_doc("seed"),
        _with_mentions(make_doc(
            "army-day", title="Parade in Benghazi", source="wire-a", published_at="2024-05-03T09:00:00+00:00",
            text="The Libyan National Army held a parade. Khalifa Haftar spoke to the troops.",
            entities={"PERSON": ["Khalifa Haftar"], "ORG": ["Libyan National Army"]},
        ), {}),
        _with_mentions(make_doc(
            "sahel", title="Attack in the Sahel", source="wire-b", published_at="2024-05-10T09:00:00+00:00",
            text="Fighters of JNIM attacked an army post near Gao in Mali. The Islamic State claimed a second attack.",
            groups=["jnim", "isis"], entities={"ORG": ["JNIM"], "GPE": ["Mali"], "PERSON": ["Ag Ghaly"]},
        ), {"jnim": "JNIM", "isis": "Islamic State"}),
        make_doc(
            "somalia", title="Shabaab bombing in Mogadishu", source="wire-a", published_at="2024-06-01T09:00:00+00:00",
            text="Al-Shabaab bombings hit Mogadishu. Officials blamed the group for the attacks.",
            groups=["shabaab"], entities={"GPE": ["Somalia"]},
        ),
        hostile,
    ]  # fmt: skip


SEED_COPIES = (("seed-copy-1", "wire-c", "Islamic State regroups in Libya's south", "2018-02-01T10:00:00+00:00"),
               ("seed-copy-2", "wire-d", "Jihadists move south in Libya", "2018-02-01T13:00:00+00:00"))  # fmt: skip


def seed_story(es: Elasticsearch, names: IndexNames) -> None:
    """The seed article and two syndicated copies from other sources as ONE story (story_id ``seed``), and the
    AQIM group watch's one alert for it, with the two copies in its ``also_seen``. Call it before filling
    the rest of ``corpus()`` (without its plain ``seed``): a watch raises only on articles new to it."""
    from search.alerting.indices import setup_alert_indices
    from search.alerting.reconcile import alert_on_articles
    from search.alerting.watches import sync_group_watches

    seed = seed_doc("seed")
    docs = [seed]
    for doc_id, source, title, published in SEED_COPIES:
        docs.append({**seed, "id": doc_id, "url": f"http://127.0.0.1/{doc_id}", "canonical_url": f"http://127.0.0.1/{doc_id}",
                     "source": source, "title": title, "published_at": published})  # fmt: skip
    for doc in docs:
        doc.update(story_id="seed", story_first_seen=seed["published_at"])
    setup_alert_indices(es, names)
    # first the watch: a watch matches the articles indexed after it was made
    sync_group_watches(es, names, [{"id": "aqim", "name": "AQIM"}], channels=["file"])
    fill(es, names, docs)
    report = alert_on_articles(es, names, [d["id"] for d in docs])
    assert len(report.created) == 1, report
    also_seen = es.get(index=names.alerts, id=report.created[0])["_source"]["also_seen"]
    assert sorted(s["article_id"] for s in also_seen) == ["seed-copy-1", "seed-copy-2"], also_seen


def _with_mentions(doc: dict[str, Any], surfaces: dict[str, str]) -> dict[str, Any]:
    """Real offsets into the text for the groups and entities of ``doc`` (``surfaces``: id or name -> form)."""
    text = doc["text"]
    for item in [*doc["groups"], *doc["entities"]]:
        key = item.get("id") or item.get("canonical")
        surface = surfaces.get(key, item.get("canonical") or "")
        start = text.find(surface) if surface else -1
        item["mentions"] = [{"start": start, "end": start + len(surface), "surface": surface}] if start >= 0 else []
    return doc


def web_settings(es_url: str, prefix: str, tmp: Path, *, auth: bool) -> Settings:
    return load_settings(
        es_url=es_url, es_index_prefix=prefix, web_auth=auth, alerts_file=tmp / "alerts.jsonl",
        summary_file=tmp / "last-pass.json", web_page_size=2, web_export_max=3,
    )  # fmt: skip


def fill(es: Elasticsearch, names: IndexNames, docs: list[dict[str, Any]]) -> None:
    report = index_articles(es, names, docs)
    assert report.failed == {}
    es.indices.refresh(index=names.articles)


@contextmanager
def served_corpus(
    es: Elasticsearch, es_url: str, tmp: Path, docs: list[dict[str, Any]], **settings: Any
) -> Iterator[WebServer]:
    """A signed-in workbench (users vera, ana, adam) over ``docs`` in indices of their own, dropped afterwards;
    ``settings`` override the test defaults of :func:`web_settings`."""
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    config = web_settings(es_url, prefix, tmp, auth=True)
    config = config.model_copy(update=settings) if settings else config
    try:
        with WebServer(config) as srv:
            fill(es, IndexNames(prefix=prefix), docs)
            add_users(config)
            yield srv
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def add_users(settings: Settings) -> None:
    from wirewatch.runtime import build_runtime

    rt = build_runtime(settings)
    store = WebStore(rt.es, rt.names)
    for name, role in (("vera", "viewer"), ("ana", "analyst"), ("adam", "admin")):
        store.add_user(name, PASSWORD, role)  # type: ignore[arg-type]
    rt.es.close()


class WebServer:
    """uvicorn serving the app in a thread, on a loopback port chosen by the kernel."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._sock]}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> WebServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the workbench server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(10)
        self._sock.close()
        self.app.state.ctx.es.close()


def login(base_url: str, username: str) -> httpx.Client:
    """A client holding a session for ``username`` (signed in through the form, CSRF token and all)."""
    client = httpx.Client(base_url=base_url, follow_redirects=False, timeout=30)
    page = client.get("/login")
    csrf = csrf_of(page.text)
    done = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf, "next": "/"})
    assert done.status_code == 303, done.text
    return client


def csrf_of(html: str) -> str:
    marker = '<meta name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


class ServeProcess:
    """``wirewatch serve`` as a process of its own on a free loopback port, so its memory can be measured apart
    from the test's; ``settings`` are passed as ``WIREWATCH_*`` environment variables."""

    def __init__(self, settings: dict[str, str]) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **{f"WIREWATCH_{k.upper()}": v for k, v in settings.items()}}
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServeProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from wirewatch.cli import main; main()", "serve", "--port", str(self.port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{self.url}/login", timeout=5)
                return self
            except httpx.TransportError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"wirewatch serve stopped: {self.proc.communicate()[0]}") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("wirewatch serve did not answer within 60 s") from None
                time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()

    def memory_mib(self, field: str = "VmHWM") -> float:
        """The process's resident memory from /proc: its peak so far (VmHWM) or now (VmRSS), MiB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no {field} in /proc/{self.proc.pid}/status")
