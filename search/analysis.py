"""English analysis for article text, built from whatever the cluster offers.

Two analyzers, the same on every cluster:

- ``ww_english``: standard tokenizer, English possessive ('s), lowercase, ASCII folding, English stop words,
  Porter stemmer. Lucene's EnglishAnalyzer chain plus folding, so "bombings" matches "bombing" and
  "Qaïda" matches "Qaida".
- ``ww_exact``: standard tokenizer, lowercase, ASCII folding; no stemming, for exact phrases.

Folding runs before stop words and stemming: the Porter stemmer only knows ASCII letters, so a folded
transliteration stems exactly like its plain spelling.

A full Elasticsearch (analysis-common module) has these filters built in. The local node (Elastic's integ-test
distribution) lacks that module; there the Wirewatch stable plugin (esplugin/) provides them under ``ww_*``
names. ``english_analysis`` probes the cluster and returns the index ``settings.analysis`` body for it.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from search.client import es_errors
from search.errors import AnalysisUnavailableError

# Chain order for ww_english, as logical steps; each source maps them to filter names.
_ENGLISH_STEPS = ("possessive", "lowercase", "folding", "stop", "stem")
_EXACT_STEPS = ("lowercase", "folding")

# A full cluster: index-level filters defined from analysis-common's types, plus its built-in filters.
_BUILTIN_FILTER_DEFS: dict[str, dict[str, Any]] = {
    "ww_english_possessive": {"type": "stemmer", "language": "possessive_english"},
    "ww_english_stop": {"type": "stop", "stopwords": "_english_"},
}
_BUILTIN_NAMES = {
    "possessive": "ww_english_possessive",
    "lowercase": "lowercase",
    "folding": "asciifolding",
    "stop": "ww_english_stop",
    "stem": "porter_stem",
}

# The local node: the plugin's global filters are used by name, nothing needs defining. (An index-level
# definition under the same name would shadow them.)
_PLUGIN_NAMES = {
    "possessive": "ww_english_possessive",
    "lowercase": "lowercase",  # lowercase is in the server itself, not analysis-common
    "folding": "ww_ascii_folding",
    "stop": "ww_english_stop",
    "stem": "ww_porter_stem",
}


def english_analysis(es: Elasticsearch) -> dict[str, Any]:
    """The ``settings.analysis`` body defining ``ww_english`` and ``ww_exact`` on this cluster.

    Raises ``AnalysisUnavailableError`` when the cluster has neither the built-in English analysis nor the
    Wirewatch analysis plugin, ``SearchUnavailable`` when it cannot be reached.
    """
    if _analyzes(es, {"analyzer": "english"}):
        return _analysis_body(_BUILTIN_NAMES, _BUILTIN_FILTER_DEFS)
    plugin_filters = [_PLUGIN_NAMES[step] for step in _ENGLISH_STEPS]
    if _analyzes(es, {"tokenizer": "standard", "filter": plugin_filters}):
        return _analysis_body(_PLUGIN_NAMES, {})
    raise AnalysisUnavailableError(
        "this Elasticsearch has neither the built-in 'english' analyzer (module analysis-common) nor the "
        "Wirewatch analysis plugin (filters ww_porter_stem, ...): use a full Elasticsearch 8, or the local "
        "node from `wirewatch es start`, whose `wirewatch es fetch` installs the plugin"
    )


def _analyzes(es: Elasticsearch, spec: dict[str, Any]) -> bool:
    """Whether the cluster knows the analyzer or filters in ``spec`` (an unknown name is a 400)."""
    with es_errors("probing the cluster's analysis components"):
        try:
            es.indices.analyze(text="bombings", **spec)
        except BadRequestError:
            return False
    return True


def _analysis_body(names: dict[str, str], filter_defs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    body: dict[str, Any] = {
        "analyzer": {
            "ww_english": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": [names[step] for step in _ENGLISH_STEPS],
            },
            "ww_exact": {
                "type": "custom",
                "tokenizer": "standard",
                "filter": [names[step] for step in _EXACT_STEPS],
            },
        }
    }
    if filter_defs:
        body["filter"] = {name: dict(definition) for name, definition in filter_defs.items()}
    return body
