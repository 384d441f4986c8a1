"""Analysis for article text in English, French and Arabic, built from whatever the cluster offers.

Four analyzers, the same on every cluster:

- ``ww_english``: standard tokenizer, English possessive ('s), lowercase, ASCII folding, English stop words,
  Porter stemmer. Lucene's EnglishAnalyzer chain plus folding, so "bombings" matches "bombing" and
  "Qaïda" matches "Qaida".
- ``ww_french``: standard tokenizer, elision (l', d', qu'...), lowercase, French stop words, the light French
  stemmer, ASCII folding. So "attaques" matches "attaque" and "l'État" matches "Etat".
- ``ww_arabic``: standard tokenizer, lowercase (for Latin words inside Arabic text), decimal digits folded
  (٢٠١٨ -> 2018), Arabic stop words, Arabic normalisation (alef forms, ta marbuta, alef maqsura, tashkeel,
  tatweel), the light Arabic stemmer (the article and attached prefixes ال وال بال كال فال لل و, common
  suffixes). Lucene's ArabicAnalyzer chain: "القاعدة" and "قاعدة" and "بالقاعدة" are one term.
- ``ww_exact``: standard tokenizer, French elision, lowercase, Arabic normalisation, ASCII folding; no
  stemming, for exact phrases ("État islamique" finds "l'État islamique", "تنظيم القاعدة" finds it written
  with vowel marks; neither step touches an English word).

In English, folding runs before stop words and stemming: the Porter stemmer only knows ASCII letters, so a
folded transliteration stems exactly like its plain spelling. In French it runs after: the light stemmer
knows French accents and strips them itself where they inflect.

A full Elasticsearch (analysis-common module) has these filters built in. The local node (Elastic's integ-test
distribution) lacks that module; there the Wirewatch stable plugin (esplugin/) provides Lucene's own filters
under ``ww_*`` names. ``article_analysis`` probes the cluster and returns the index ``settings.analysis`` body.
"""

from __future__ import annotations

from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from search.client import es_errors
from search.errors import AnalysisUnavailableError

# Chain order of each analyzer, as logical steps; each source maps them to filter names.
ANALYZER_STEPS: dict[str, tuple[str, ...]] = {
    "ww_english": ("possessive", "lowercase", "folding", "stop", "stem"),
    "ww_french": ("fr_elision", "lowercase", "fr_stop", "fr_stem", "folding"),
    "ww_arabic": ("lowercase", "digits", "ar_stop", "ar_normalization", "ar_stem"),
    "ww_exact": ("fr_elision", "lowercase", "ar_normalization", "folding"),
}

# A full cluster: index-level filters defined from analysis-common's types, plus its built-in filters.
_BUILTIN_FILTER_DEFS: dict[str, dict[str, Any]] = {
    "ww_english_possessive": {"type": "stemmer", "language": "possessive_english"},
    "ww_english_stop": {"type": "stop", "stopwords": "_english_"},
    # Lucene's FrenchAnalyzer.DEFAULT_ARTICLES, as the built-in french analyzer defines them
    "ww_french_elision": {
        "type": "elision",
        "articles_case": True,
        "articles": ["l", "m", "t", "qu", "n", "s", "j", "d", "c", "jusqu", "quoiqu", "lorsqu", "puisqu"],
    },
    "ww_french_stop": {"type": "stop", "stopwords": "_french_"},
    "ww_french_stem": {"type": "stemmer", "language": "light_french"},
    "ww_arabic_stop": {"type": "stop", "stopwords": "_arabic_"},
    "ww_arabic_stem": {"type": "stemmer", "language": "arabic"},
}
_BUILTIN_NAMES = {
    "possessive": "ww_english_possessive",
    "lowercase": "lowercase",
    "folding": "asciifolding",
    "stop": "ww_english_stop",
    "stem": "porter_stem",
    "fr_elision": "ww_french_elision",
    "fr_stop": "ww_french_stop",
    "fr_stem": "ww_french_stem",
    "digits": "decimal_digit",
    "ar_stop": "ww_arabic_stop",
    "ar_normalization": "arabic_normalization",
    "ar_stem": "ww_arabic_stem",
}

# The local node: the plugin's global filters are used by name, nothing needs defining. (An index-level
# definition under the same name would shadow them.)
_PLUGIN_NAMES = {
    "possessive": "ww_english_possessive",
    "lowercase": "lowercase",  # lowercase is in the server itself, not analysis-common
    "folding": "ww_ascii_folding",
    "stop": "ww_english_stop",
    "stem": "ww_porter_stem",
    "fr_elision": "ww_french_elision",
    "fr_stop": "ww_french_stop",
    "fr_stem": "ww_french_light_stem",
    "digits": "ww_decimal_digit",
    "ar_stop": "ww_arabic_stop",
    "ar_normalization": "ww_arabic_normalization",
    "ar_stem": "ww_arabic_stem",
}


def article_analysis(es: Elasticsearch) -> dict[str, Any]:
    """The ``settings.analysis`` body defining ``ww_english``, ``ww_french``, ``ww_arabic`` and ``ww_exact``.

    Raises ``AnalysisUnavailableError`` when the cluster has neither the built-in language analysis nor the
    (current) Wirewatch analysis plugin, ``SearchUnavailable`` when it cannot be reached.
    """
    if all(_analyzes(es, {"analyzer": name}) for name in ("english", "french", "arabic")):
        return _analysis_body(_BUILTIN_NAMES, _BUILTIN_FILTER_DEFS)
    plugin_filters = sorted({_PLUGIN_NAMES[step] for steps in ANALYZER_STEPS.values() for step in steps})
    if _analyzes(es, {"tokenizer": "standard", "filter": plugin_filters}):
        return _analysis_body(_PLUGIN_NAMES, {})
    raise AnalysisUnavailableError(
        "this Elasticsearch has neither the built-in 'english', 'french' and 'arabic' analyzers (module "
        "analysis-common) nor the current Wirewatch analysis plugin (filters ww_porter_stem, "
        "ww_french_light_stem, ww_arabic_stem, ...): use a full Elasticsearch 8, or the local node from "
        "`wirewatch es start`, whose `wirewatch es fetch` builds and installs the plugin"
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
            analyzer: {"type": "custom", "tokenizer": "standard", "filter": [names[step] for step in steps]}
            for analyzer, steps in ANALYZER_STEPS.items()
        }
    }
    if filter_defs:
        body["filter"] = {name: dict(definition) for name, definition in filter_defs.items()}
    return body
