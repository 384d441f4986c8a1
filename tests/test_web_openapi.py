"""The HTTP API's OpenAPI description: every /api/ route has a response schema (a client could be generated from
it) and every body it reads a request schema; real answers over the real node fit the documented models."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from elasticsearch import Elasticsearch
from pydantic import BaseModel, TypeAdapter

from search.names import IndexNames
from tests.support.search_docs import make_doc
from tests.support.web import WebServer, add_users, fill, login, web_settings
from wirewatch.settings import load_settings
from wirewatch.web import schemas
from wirewatch.web.app import create_app


def _described(schema: dict[str, Any] | None) -> bool:
    """A schema that says something: a model ($ref), a type, a list of something, or a union of such."""
    if not schema:
        return False
    if "$ref" in schema:
        return True
    if "anyOf" in schema or "oneOf" in schema:
        return all(_described(s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if schema.get("type") == "array":
        return _described(schema.get("items"))
    return "type" in schema


def test_every_api_route_has_request_and_response_schemas() -> None:
    spec = create_app(load_settings(es_url="http://127.0.0.1:9"), setup=False).openapi()
    missing = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in item.items():
            answers = [r for status, r in op.get("responses", {}).items() if status.startswith("2")]
            if not any(_described(c.get("schema")) for r in answers for c in r.get("content", {}).values()):
                missing.append(f"{method.upper()} {path}: response")
            body = op.get("requestBody")
            if body and not all(_described(c.get("schema")) for c in body.get("content", {}).values()):
                missing.append(f"{method.upper()} {path}: request body")
            errors = op.get("responses", {}).get("400")
            if errors is None and op.get("parameters"):
                missing.append(f"{method.upper()} {path}: 400")
    assert missing == [], "routes without a schema: add responses=ok(Model) (wirewatch/web/schemas.py)"
    assert spec["components"]["schemas"]["SearchResponse"]["properties"]["hits"]["items"] == {
        "$ref": "#/components/schemas/Hit"
    }


@pytest.fixture(scope="module")
def ana(es: Elasticsearch, es_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    prefix = f"t{uuid.uuid4().hex[:10]}-"
    settings = web_settings(es_url, prefix, tmp_path_factory.mktemp("openapi"), auth=True)
    docs = [
        make_doc("o-1", title="Attaque près de Gao", language="fr", groups=["jnim"]),
        make_doc("o-2", title="Attack near Gao", groups=["jnim"], entities={"PERSON": ["Iyad Ag Ghaly"]}),
    ]
    try:
        with WebServer(settings) as srv:
            fill(es, IndexNames(prefix=prefix), docs)
            add_users(settings)
            client = login(srv.url, "ana")
            yield client
            client.close()
    finally:
        es.indices.delete(index=f"{prefix}*", ignore_unavailable=True, allow_no_indices=True, expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"{prefix}*")


def _fits(model: Any, body: Any) -> None:
    if isinstance(model, type) and issubclass(model, BaseModel):
        model.model_validate(body, strict=False)
    else:
        TypeAdapter(model).validate_python(body)


def test_real_answers_fit_the_documented_models(ana: httpx.Client) -> None:
    checks: list[tuple[Any, httpx.Response]] = [
        (schemas.SearchResponse, ana.get("/api/v1/search", params={"q": "Gao"})),
        (schemas.AttentionResponse, ana.get("/api/v1/attention", params={"q": "Gao"})),
        (schemas.CompareResponse, ana.get("/api/v1/compare", params=[("s", "group:jnim"), ("s", "lang:fr")])),
        (schemas.Article, ana.get("/api/v1/articles/o-2")),
        (schemas.Me, ana.get("/api/v1/me")),
        (list[schemas.WatchRow], ana.get("/api/v1/watches")),
        (list[schemas.Alert], ana.get("/api/v1/alerts")),
        (list[schemas.FeedHealth], ana.get("/api/v1/feeds")),
        (schemas.SavedSearch, ana.post("/api/v1/saved-searches", json={"name": "gao", "params": "q=Gao"})),
        (list[schemas.SavedSearch], ana.get("/api/v1/saved-searches")),
        (schemas.ErrorBody, ana.get("/api/v1/search", params={"q": "group:jnlm"})),
    ]
    for model, answer in checks:
        assert answer.status_code in (200, 201, 400), (answer.request.url, answer.text)
        _fits(model, answer.json())
