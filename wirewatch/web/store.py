"""The workbench's own state in Elasticsearch: users, API tokens, sessions, saved searches, acknowledgements.

Each lives in an index of its own named from the deployment's index prefix (``{prefix}wirewatch-web-users``...),
so tests and tenants stay apart like the stage's indices. Secrets are never stored: passwords as argon2 hashes,
session and API tokens as SHA-256 digests of random 256-bit values (a digest is enough for a random token and
lets a request be checked with one lookup by id).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from elasticsearch import ConflictError, Elasticsearch, NotFoundError

from wirewatch.web.backend import IndexNames, ensure_plain_index, es_errors, stable_id

Role = Literal["viewer", "analyst", "admin"]
ROLES: tuple[Role, ...] = ("viewer", "analyst", "admin")  # each role may do what the ones before it may
USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
MIN_PASSWORD = 10
MAX_SAVED = 500
_ACK_PAGE = 10_000  # acknowledgements read per request (the index result window)

_KEYWORD = {"type": "keyword"}
_DATE = {"type": "date"}
_MAPPINGS: dict[str, dict[str, Any]] = {
    "users": {"username": _KEYWORD, "password_hash": {"type": "keyword", "index": False}, "role": _KEYWORD,
              "created_at": _DATE},
    "tokens": {"username": _KEYWORD, "name": _KEYWORD, "created_at": _DATE, "prefix": _KEYWORD},
    "sessions": {"username": _KEYWORD, "created_at": _DATE, "expires_at": _DATE},
    "saved": {"id": _KEYWORD, "username": _KEYWORD, "name": _KEYWORD, "params": {"type": "keyword", "index": False},
              "created_at": _DATE},
    "acks": {"alert_id": _KEYWORD, "username": _KEYWORD, "at": _DATE, "team": {"type": "boolean"}},
    "assignments": {"alert_id": _KEYWORD, "assignee": _KEYWORD, "by": _KEYWORD, "at": _DATE},
}  # fmt: skip
_HASHER = PasswordHasher()


class WebStateError(Exception):
    """A request on the workbench's own state that cannot be done (unknown user, weak password...)."""


@dataclass(frozen=True, kw_only=True)
class User:
    username: str
    role: Role

    def may(self, role: Role) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def index_name(names: IndexNames, kind: str) -> str:
    return f"{names.prefix}wirewatch-web-{kind}"


def setup_web_indices(es: Elasticsearch, names: IndexNames) -> list[str]:
    """Create the workbench's indices when missing (idempotent); the names created."""
    created = []
    with es_errors("setting up the workbench indices"):
        for kind, properties in _MAPPINGS.items():
            name = index_name(names, kind)
            if ensure_plain_index(es, name, {"dynamic": "strict", "properties": properties}):
                created.append(name)
    return created


@functools.cache
def _dummy_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(32))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


class WebStore:
    def __init__(self, es: Elasticsearch, names: IndexNames) -> None:
        self.es = es
        self.names = names

    def _index(self, kind: str) -> str:
        return index_name(self.names, kind)

    def _get(self, kind: str, doc_id: str) -> dict[str, Any] | None:
        with es_errors(f"reading web {kind}"):
            try:
                found = self.es.get(index=self._index(kind), id=doc_id)
            except NotFoundError:
                return None
        return dict(found["_source"])

    def _delete_where(self, kind: str, query: dict[str, Any]) -> int:
        """Delete the documents matching ``query`` (the local node has no delete-by-query: it lacks reindex)."""
        found = self.es.search(index=self._index(kind), query=query, size=10_000, source=False)
        ids = [hit["_id"] for hit in found["hits"]["hits"]]
        if ids:
            self.es.bulk(operations=[{"delete": {"_index": self._index(kind), "_id": i}} for i in ids], refresh=True)
        return len(ids)

    # --- users -----------------------------------------------------------------------------------------
    def add_user(self, username: str, password: str, role: Role) -> User:
        if not USERNAME.fullmatch(username):
            raise WebStateError("a username is 1-64 letters, digits or _ . @ - (starting with a letter or digit)")
        if role not in ROLES:
            raise WebStateError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise WebStateError(f"a password needs at least {MIN_PASSWORD} characters")
        doc = {"username": username, "password_hash": _HASHER.hash(password), "role": role,
               "created_at": _now().isoformat()}  # fmt: skip
        with es_errors("adding a user"):
            try:
                self.es.index(index=self._index("users"), id=username, document=doc, op_type="create", refresh=True)
            except ConflictError as exc:
                raise WebStateError(f"user {username!r} already exists") from exc
        return User(username=username, role=role)

    def list_users(self) -> list[dict[str, Any]]:
        with es_errors("listing users"):
            found = self.es.search(
                index=self._index("users"), size=10_000, sort=[{"username": "asc"}],
                source_excludes=["password_hash"],
            )  # fmt: skip
        return [hit["_source"] for hit in found["hits"]["hits"]]

    def remove_user(self, username: str) -> None:
        """Delete the user with their sessions and tokens (saved searches and acknowledgements stay)."""
        with es_errors("removing a user"):
            try:
                self.es.delete(index=self._index("users"), id=username, refresh=True)
            except NotFoundError as exc:
                raise WebStateError(f"no user named {username!r}") from exc
            for kind in ("sessions", "tokens"):
                self._delete_where(kind, {"term": {"username": username}})

    def user(self, username: str) -> User | None:
        doc = self._get("users", username)
        return User(username=doc["username"], role=doc["role"]) if doc else None

    def check_password(self, username: str, password: str) -> User | None:
        """The user when the password is theirs; None otherwise (unknown user or wrong password alike)."""
        doc = self._get("users", username) if USERNAME.fullmatch(username) else None
        if doc is None:
            # the same work as a real check (a verify, against a hash of the same parameters), so the time an
            # answer takes does not tell which users exist
            with contextlib.suppress(VerifyMismatchError):
                _HASHER.verify(_dummy_hash(), password)
            return None
        try:
            _HASHER.verify(doc["password_hash"], password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        return User(username=doc["username"], role=doc["role"])

    # --- sessions --------------------------------------------------------------------------------------
    def create_session(self, user: User, hours: float) -> str:
        token = secrets.token_urlsafe(32)
        now = _now()
        doc = {"username": user.username, "created_at": now.isoformat(),
               "expires_at": (now + timedelta(hours=hours)).isoformat()}  # fmt: skip
        with es_errors("creating a session"):
            self.es.index(index=self._index("sessions"), id=_digest(token), document=doc, refresh=True)
        return token

    def session_user(self, token: str) -> User | None:
        doc = self._get("sessions", _digest(token))
        if doc is None or datetime.fromisoformat(doc["expires_at"]) <= _now():
            return None
        return self.user(doc["username"])

    def end_session(self, token: str) -> None:
        # NotFoundError: already gone, and the outcome asked for holds
        with es_errors("ending a session"), contextlib.suppress(NotFoundError):
            self.es.delete(index=self._index("sessions"), id=_digest(token), refresh=True)

    # --- API tokens ------------------------------------------------------------------------------------
    def create_token(self, username: str, name: str) -> str:
        """A new API token for ``username``; the only time its value is seen."""
        if self.user(username) is None:
            raise WebStateError(f"no user named {username!r}")
        token = "ww_" + secrets.token_urlsafe(32)
        doc = {"username": username, "name": name, "created_at": _now().isoformat(), "prefix": token[:10]}
        with es_errors("creating an API token"):
            self.es.index(index=self._index("tokens"), id=_digest(token), document=doc, refresh=True)
        return token

    def revoke_token(self, prefix_or_token: str) -> int:
        """Delete the tokens whose value or printed prefix is given; how many were deleted."""
        value = prefix_or_token.strip()
        with es_errors("revoking an API token"):
            if len(value) > 10:
                try:
                    self.es.delete(index=self._index("tokens"), id=_digest(value), refresh=True)
                    return 1
                except NotFoundError:
                    return 0
            return self._delete_where("tokens", {"term": {"prefix": value}})

    def list_tokens(self) -> list[dict[str, Any]]:
        with es_errors("listing API tokens"):
            found = self.es.search(index=self._index("tokens"), size=10_000, sort=[{"created_at": "asc"}])
        return [hit["_source"] for hit in found["hits"]["hits"]]

    def token_user(self, token: str) -> User | None:
        doc = self._get("tokens", _digest(token))
        return self.user(doc["username"]) if doc else None

    # --- saved searches --------------------------------------------------------------------------------
    def save_search(self, username: str, name: str, params: str) -> dict[str, Any]:
        name = name.strip()[:200]
        if not name:
            raise WebStateError("a saved search needs a name")
        doc = {"id": stable_id(username, name), "username": username, "name": name, "params": params[:4000],
               "created_at": _now().isoformat()}  # fmt: skip
        with es_errors("saving a search"):
            self.es.index(index=self._index("saved"), id=doc["id"], document=doc, refresh=True)
        return doc

    def saved_searches(self, username: str) -> list[dict[str, Any]]:
        with es_errors("listing saved searches"):
            found = self.es.search(
                index=self._index("saved"), query={"term": {"username": username}}, size=MAX_SAVED,
                sort=[{"name": "asc"}],
            )  # fmt: skip
        return [hit["_source"] for hit in found["hits"]["hits"]]

    def delete_saved(self, username: str, saved_id: str) -> bool:
        doc = self._get("saved", saved_id)
        if doc is None or doc["username"] != username:  # another user's search is as good as missing
            return False
        with es_errors("deleting a saved search"):
            self.es.delete(index=self._index("saved"), id=saved_id, refresh=True)
        return True

    # --- acknowledgements ---------------------------------------------------------------------------------
    # A user's own acknowledgement is one document per (user, alert); one for the team is one per alert (the
    # first one stands: it says who took the alert on for everybody) and counts for every user.
    def acknowledge(self, username: str, alert_id: str, *, team: bool = False) -> dict[str, Any]:
        """The acknowledgement stored (for the team: the one that already stood, when another user was first)."""
        doc = {"alert_id": alert_id, "username": username, "at": _now().isoformat(), "team": team}
        doc_id = _team_ack_id(alert_id) if team else stable_id(username, alert_id)
        with es_errors("acknowledging an alert"):
            try:
                self.es.index(
                    index=self._index("acks"), id=doc_id, document=doc, refresh=True, op_type="create" if team else None
                )  # fmt: skip
            except ConflictError:
                return self._get("acks", doc_id) or doc
        return doc

    def acknowledged(self, username: str, alert_ids: list[str]) -> dict[str, dict[str, Any]]:
        """{alert id: the acknowledgement} for those of ``alert_ids`` this user or the team acknowledged (the
        team's first: everybody sees who took the alert on)."""
        if not alert_ids:
            return {}
        ids = [_team_ack_id(a) for a in alert_ids] + [stable_id(username, a) for a in alert_ids]
        with es_errors("reading acknowledgements"):
            found = self.es.mget(index=self._index("acks"), ids=ids)
        out: dict[str, dict[str, Any]] = {}
        for doc in found["docs"]:
            if doc.get("found"):
                src = doc["_source"]
                out.setdefault(src["alert_id"], {**src, "team": bool(src.get("team"))})
        return out

    def acknowledged_ids(self, username: str) -> list[str]:
        """Every alert id this user or the team acknowledged (the inbox leaves them out in its query), read
        page by page."""
        ids: dict[str, None] = {}
        after: list[Any] | None = None
        mine_or_team = {"bool": {"should": [{"term": {"username": username}}, {"term": {"team": True}}]}}
        with es_errors("reading acknowledgements"):
            while True:
                found = self.es.search(
                    index=self._index("acks"), query=mine_or_team, size=_ACK_PAGE,
                    sort=[{"alert_id": "asc"}, {"username": "asc"}], source_includes=["alert_id"], search_after=after,
                )  # fmt: skip
                hits = found["hits"]["hits"]
                ids.update(dict.fromkeys(h["_source"]["alert_id"] for h in hits))
                if len(hits) < _ACK_PAGE:
                    return list(ids)
                after = hits[-1]["sort"]


    # --- assignments ------------------------------------------------------------------------------------------
    # One per alert, seen by every user: who is to deal with it. Assigning again replaces it; None clears it.
    def assign(self, alert_id: str, assignee: str | None, *, by: str) -> dict[str, Any]:
        """The alert's assignment now: ``{"alert_id", "assignee", "by", "at"}`` (assignee None: unassigned).
        Raises WebStateError for an assignee who is not a workbench user."""
        doc = {"alert_id": alert_id, "assignee": assignee, "by": by, "at": _now().isoformat()}
        doc_id = stable_id("\x00assign", alert_id)
        if assignee is None:
            with es_errors("unassigning an alert"):
                self.es.options(ignore_status=404).delete(index=self._index("assignments"), id=doc_id, refresh=True)
            return doc
        if self.user(assignee) is None:
            raise WebStateError(f"no workbench user {assignee!r}: `wirewatch users list` shows them")
        with es_errors("assigning an alert"):
            self.es.index(index=self._index("assignments"), id=doc_id, document=doc, refresh=True)
        return doc

    def assignments(self, alert_ids: list[str]) -> dict[str, dict[str, Any]]:
        """{alert id: its assignment} for those of ``alert_ids`` that are assigned."""
        if not alert_ids:
            return {}
        with es_errors("reading assignments"):
            found = self.es.mget(index=self._index("assignments"), ids=[stable_id("\x00assign", a) for a in alert_ids])
        return {d["_source"]["alert_id"]: d["_source"] for d in found["docs"] if d.get("found")}

    def assigned_ids(self, username: str) -> list[str]:
        """The ids of the alerts assigned to ``username`` (the inbox's "mine" filter puts them in its query)."""
        with es_errors("reading assignments"):
            found = self.es.search(
                index=self._index("assignments"), query={"term": {"assignee": username}}, size=_ACK_PAGE,
                source_includes=["alert_id"],
            )  # fmt: skip
        return [h["_source"]["alert_id"] for h in found["hits"]["hits"]]


def _team_ack_id(alert_id: str) -> str:
    # "\x00" cannot start a username (USERNAME), so no user's own acknowledgement has this id
    return stable_id("\x00team", alert_id)
