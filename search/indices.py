"""Create or migrate every index this stage owns; safe to run any number of times (``wirewatch es setup``).

Articles live in a versioned index (``...-articles-vN``) behind the ``articles`` alias, created from an index
template. When the wanted mapping or analysis differs from the live index (compared by fingerprint), setup
builds v(N+1): it blocks writes on vN (bulk indexing sees a transient failure and retries later, so nothing is
lost while copying), copies every document with scan + bulk (the local node has no reindex module), checks
the counts and moves the alias in one atomic ``update_aliases``. vN stays, read-only, for a rollback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from elasticsearch import ApiError, Elasticsearch, helpers

from search.analysis import article_analysis
from search.client import es_errors
from search.errors import MigrationError, SetupError
from search.mappings import articles_body, checkpoints_mappings, feeds_mappings
from search.names import IndexNames

TEMPLATE_PRIORITY = 200
COPY_CHUNK_DOCS = 500


@dataclass(frozen=True, kw_only=True)
class SetupReport:
    articles_alias: str
    articles_index: str  # the versioned index the alias points at after setup
    created: list[str] = field(default_factory=list)  # indices created by this run
    up_to_date: list[str] = field(default_factory=list)  # indices that needed nothing
    migrated_from: str | None = None  # the previous articles index, now read-only
    copied: int = 0  # documents copied into the new version

    def as_dict(self) -> dict[str, Any]:
        return {
            "articles_alias": self.articles_alias,
            "articles_index": self.articles_index,
            "created": self.created,
            "up_to_date": self.up_to_date,
            "migrated_from": self.migrated_from,
            "copied": self.copied,
        }


def setup_indices(es: Elasticsearch, names: IndexNames) -> SetupReport:
    """Template, articles index and alias, feed-state and checkpoint indices: created or migrated."""
    with es_errors("setting up indices"):
        body = articles_body(article_analysis(es))
        _put_articles_template(es, names, body)
        created: list[str] = []
        up_to_date: list[str] = []
        for name, mappings in ((names.feeds, feeds_mappings()), (names.checkpoints, checkpoints_mappings())):
            (created if ensure_plain_index(es, name, mappings) else up_to_date).append(name)
        current = _alias_target(es, names.articles)
        if current is None:
            index = _create_first_version(es, names, body)
            return SetupReport(
                articles_alias=names.articles,
                articles_index=index,
                created=[index, *created],
                up_to_date=up_to_date,
            )
        if _live_fingerprint(es, current) == body["mappings"]["_meta"]["fingerprint"]:
            return SetupReport(
                articles_alias=names.articles,
                articles_index=current,
                created=created,
                up_to_date=[current, *up_to_date],
            )
        new_index, copied = migrate_articles(es, names, current)
        return SetupReport(
            articles_alias=names.articles,
            articles_index=new_index,
            created=[new_index, *created],
            up_to_date=up_to_date,
            migrated_from=current,
            copied=copied,
        )


def _put_articles_template(es: Elasticsearch, names: IndexNames, body: dict[str, Any]) -> None:
    es.indices.put_index_template(
        name=names.articles_template,
        index_patterns=[_version_pattern(names)],
        priority=TEMPLATE_PRIORITY,
        template=body,
        meta={"managed_by": "wirewatch"},
    )


def _version_pattern(names: IndexNames) -> str:
    return names.articles_index(0).removesuffix("0") + "*"


def _version_of(names: IndexNames, index: str) -> int:
    match = re.fullmatch(re.escape(names.articles_index(0).removesuffix("0")) + r"(\d+)", index)
    if not match:
        raise SetupError(f"alias {names.articles} points at {index}, which is not a wirewatch articles index")
    return int(match.group(1))


def ensure_plain_index(es: Elasticsearch, name: str, mappings: dict[str, Any]) -> bool:
    """Create ``name`` or add new fields to it; True when created. A conflicting field change is an error."""
    if not es.indices.exists(index=name):
        try:
            es.indices.create(index=name, settings={"number_of_shards": 1}, mappings=mappings)
            return True
        except ApiError as exc:
            if exc.error != "resource_already_exists_exception":  # a concurrent setup won the race
                raise
    try:
        es.indices.put_mapping(index=name, **mappings)
    except ApiError as exc:
        if exc.status_code == 400:
            raise SetupError(f"index {name} has a mapping that cannot be updated in place: {exc.message}") from exc
        raise
    return False


def _alias_target(es: Elasticsearch, alias: str) -> str | None:
    """The index behind ``alias`` (its write index when several), None when the alias does not exist."""
    if es.indices.exists(index=alias) and not es.indices.exists_alias(name=alias):
        raise SetupError(
            f"{alias} is a concrete index, not an alias (probably auto-created by a write before setup); "
            f"copy what it holds elsewhere and delete it, then run setup again"
        )
    if not es.indices.exists_alias(name=alias):
        return None
    found = es.indices.get_alias(name=alias).body
    for index, info in found.items():
        if info["aliases"][alias].get("is_write_index", len(found) == 1):
            return str(index)
    raise SetupError(f"alias {alias} points at several indices and none is the write index")


def _live_fingerprint(es: Elasticsearch, index: str) -> str | None:
    mapping = es.indices.get_mapping(index=index).body[index]["mappings"]
    value = mapping.get("_meta", {}).get("fingerprint")
    return str(value) if value is not None else None


def _create_first_version(es: Elasticsearch, names: IndexNames, body: dict[str, Any]) -> str:
    existing = es.indices.get(index=_version_pattern(names), expand_wildcards="all").body
    version = max((_version_of(names, name) for name in existing), default=0) + 1
    index = names.articles_index(version)
    es.indices.create(index=index, aliases={names.articles: {"is_write_index": True}})
    return index


def migrate_articles(es: Elasticsearch, names: IndexNames, current: str) -> tuple[str, int]:
    """Build the next version from the template, copy ``current`` into it, swap the alias; (index, copied)."""
    new_index = names.articles_index(_version_of(names, current) + 1)
    es.indices.delete(index=new_index, ignore_unavailable=True)  # debris of an interrupted migration
    es.indices.create(index=new_index)
    es.indices.add_block(index=current, block="write")
    try:
        es.indices.refresh(index=current)  # the scan sees only refreshed documents
        copied = _copy_all(es, current, new_index)
        es.indices.update_aliases(
            actions=[
                {"remove": {"index": current, "alias": names.articles}},
                {"add": {"index": new_index, "alias": names.articles, "is_write_index": True}},
            ]
        )
    except Exception as exc:
        es.indices.delete(index=new_index, ignore_unavailable=True)
        es.indices.put_settings(index=current, settings={"index.blocks.write": False})
        if isinstance(exc, MigrationError):
            raise
        raise MigrationError(f"copying {current} into {new_index} failed, {current} left as it was: {exc}") from exc
    return new_index, copied


def _copy_all(es: Elasticsearch, source: str, target: str) -> int:
    # scan + bulk by hand: helpers.reindex asks the data-stream API, which the local node does not have
    hits = helpers.scan(es, index=source, size=COPY_CHUNK_DOCS, query={"query": {"match_all": {}}})
    # an article from before stories becomes a story of one, so collapsing by story keeps it
    actions = (
        {"_index": target, "_id": hit["_id"], "_source": {"story_id": hit["_id"], **hit["_source"]}} for hit in hits
    )
    helpers.bulk(es, actions, chunk_size=COPY_CHUNK_DOCS, max_retries=3, initial_backoff=0.5)
    es.indices.refresh(index=target)
    expected = int(es.count(index=source)["count"])
    copied = int(es.count(index=target)["count"])
    if copied != expected:
        raise MigrationError(f"copied {copied} of {expected} documents from {source} into {target}")
    return copied
