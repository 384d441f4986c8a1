"""The analyst query language: what each construct becomes, and clear errors for malformed input."""

from __future__ import annotations

import json

import pytest

from search.errors import QuerySyntaxError
from search.querying.querylang import MAX_QUERY_CHARS, MAX_TERMS, parse_query, tokenize


def _fields(query: dict, *, languages: bool = False) -> list[str]:
    """Every (query type, field, value) leaf in a query, as compact strings, in order (without the French and
    Arabic subfields every word also searches, unless ``languages``)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for kind in ("match", "match_phrase", "prefix"):
                if kind in node:
                    ((field, spec),) = node[kind].items()
                    if not languages and field.endswith((".fr", ".ar")):
                        return
                    found.append(f"{kind}:{field}:{spec.get('query', spec.get('value'))}")
                    return
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(query)
    return found


def test_word_matches_boosted_title_and_text() -> None:
    query = parse_query("Belmokhtar")
    should = query["bool"]["should"]
    assert should[0]["match"]["title"]["query"] == "Belmokhtar"
    assert should[0]["match"]["title"]["boost"] > 1
    assert should[1]["match"]["text"]["query"] == "Belmokhtar"
    assert query["bool"]["minimum_should_match"] == 1


def test_phrase_uses_exact_subfields() -> None:
    assert _fields(parse_query('"Libyan  National Army"')) == [
        "match_phrase:title.exact:Libyan National Army",
        "match_phrase:text.exact:Libyan National Army",
    ]


def test_prefix_is_lowercased_on_exact_subfields() -> None:
    assert _fields(parse_query("Jihad*")) == ["prefix:title.exact:jihad", "prefix:text.exact:jihad"]


def test_adjacent_terms_are_anded() -> None:
    query = parse_query('isis "southern desert"')
    assert len(query["bool"]["must"]) == 2
    assert "must_not" not in query["bool"]


def test_or_binds_looser_than_and() -> None:
    query = parse_query("a b OR c")
    should = query["bool"]["should"]
    assert len(should) == 2
    assert len(should[0]["bool"]["must"]) == 2  # (a AND b)
    assert _fields(should[1]) == ["match:title:c", "match:text:c"]


def test_not_minus_and_plus() -> None:
    for text in ("isis NOT libya", "isis -libya", "+isis -libya", "isis AND NOT libya"):
        query = parse_query(text)
        assert _fields({"x": query["bool"]["must"]}) == ["match:title:isis", "match:text:isis"], text
        assert _fields({"x": query["bool"]["must_not"]}) == ["match:title:libya", "match:text:libya"], text


def test_double_negation_cancels() -> None:
    query = parse_query("NOT -isis")
    assert _fields(query) == ["match:title:isis", "match:text:isis"]
    assert "must_not" not in json.dumps(query)


def test_parentheses_group() -> None:
    query = parse_query("(isis OR daesh) -syria")
    group = query["bool"]["must"][0]
    assert len(group["bool"]["should"]) == 2
    assert _fields({"x": query["bool"]["must_not"]}) == ["match:title:syria", "match:text:syria"]


def test_hyphenated_words_and_lowercase_operators_are_words() -> None:
    assert _fields(parse_query("al-Qaeda")) == ["match:title:al-Qaeda", "match:text:al-Qaeda"]
    query = parse_query("bread and butter")
    assert len(query["bool"]["must"]) == 3


def test_lone_dash_is_a_word_not_an_operator() -> None:
    query = parse_query("isis - libya")
    assert "must_not" not in query["bool"]


def test_only_the_query_types_we_allow_are_emitted() -> None:
    text = json.dumps(parse_query('(a OR "b c") AND NOT dd* +e -(f g)'))
    for forbidden in ("query_string", "script", "wildcard", "regexp", "simple_query_string"):
        assert forbidden not in text


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, "empty query"),
        ("   ", 0, "empty query"),
        ('"Libyan army', 0, "unterminated phrase"),
        ('isis ""', 5, "empty phrase"),
        ("*jihad", 0, "leading wildcards are not allowed"),
        ("j*", 0, "at least 2 characters"),
        ("ji*ad", 2, "only allowed at the end"),
        ("jih?d", 3, "only allowed at the end"),
        ("isis AND", 8, "ends where a term was expected"),
        ("OR isis", 0, "OR needs a term"),
        ("isis AND OR daesh", 9, "OR needs a term"),
        ("(isis OR daesh", 0, "closing ')'"),
        ("isis)", 4, "no matching '('"),
        ("()", 0, "empty parentheses"),
        ("isis NOT", 8, "ends where a term was expected"),
    ],
)
def test_malformed_queries_name_the_problem_and_its_position(text: str, position: int, words: str) -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse_query(text)
    assert info.value.position == position
    assert words in str(info.value)
    assert f"character {position + 1}" in str(info.value)


def test_sizes_are_capped() -> None:
    with pytest.raises(QuerySyntaxError, match="too many terms"):
        parse_query(" ".join(f"w{i}" for i in range(MAX_TERMS + 1)))
    parse_query(" ".join(f"w{i}" for i in range(MAX_TERMS)))
    with pytest.raises(QuerySyntaxError, match="longer than"):
        parse_query("a" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(QuerySyntaxError, match="term is longer"):
        parse_query("x" * 101)
    with pytest.raises(QuerySyntaxError, match="nested deeper"):
        parse_query("(" * 20 + "a" + ")" * 20)


def test_tokens_carry_positions() -> None:
    tokens = tokenize('isis -"army outposts" (li*)')
    assert [(t.kind, t.pos) for t in tokens] == [
        ("WORD", 0),
        ("MINUS", 5),
        ("PHRASE", 6),
        ("LPAREN", 22),
        ("PREFIX", 23),
        ("RPAREN", 26),
        ("END", 27),
    ]


def test_words_search_every_language_subfield_phrases_and_prefixes_only_exact() -> None:
    assert _fields(parse_query("attaques"), languages=True) == [
        "match:title:attaques",
        "match:text:attaques",
        "match:title.fr:attaques",
        "match:text.fr:attaques",
        "match:title.ar:attaques",
        "match:text.ar:attaques",
    ]
    word = parse_query("son")["bool"]["should"]
    # an English stop word must not empty an AND; a French one ("son") must not match everything
    assert [next(iter(c["match"].values())).get("zero_terms_query") for c in word] == ["all", "all", *[None] * 4]
    assert _fields(parse_query('"État islamique" Sah*'), languages=True) == [
        "match_phrase:title.exact:État islamique",
        "match_phrase:text.exact:État islamique",
        "prefix:title.exact:sah",
        "prefix:text.exact:sah",
    ]
