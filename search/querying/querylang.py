"""The analyst query language, parsed by hand into an Elasticsearch query dict.

Syntax (operators are upper-case words; lower-case ``and``/``or``/``not`` are ordinary words)::

    query   := or_expr
    or_expr := and_expr ("OR" and_expr)*
    and_expr:= unary (["AND"] unary)*          adjacent terms are ANDed
    unary   := ("NOT" | "-" | "+") unary | primary
    primary := WORD | PREFIX* | "exact phrase" | near | field | "(" or_expr ")"
    near    := "near:" (PLACE | "place name") DISTANCE      near:Gao 100km, near:"Bordj Badji Mokhtar" 50km
    field   := NAME ":" (VALUE | "quoted value" | TYPE:"quoted value")   group:aqim, entity:PERSON:"Iyad Ag Ghaly"

Fields (``group``, ``lang``, ``source``, ``entity``, ``place``, ``country``, ``event``: search/querying/fields.py)
filter on the article's stored fields and combine with the operators like any term; an unknown field name is
an error that lists them.

``near:`` matches articles naming a place within DISTANCE (m, km or mi) of the place: a nested
``geo_distance`` on ``places.location``. The place name (or id, ``near:gn:2457163``) is turned into coordinates
by the ``locate`` function the caller passes (the search stage does not read the place table itself); without
one, or for a name it does not know, the query is a syntax error that says so.

Words are matched on ``title`` (boosted) and ``text`` with the English analyzer and on their ``.fr`` and
``.ar`` subfields with the French and Arabic ones (an article matches in whichever language its text is, so
"attaques" finds "attaqué" and "القاعدة" finds "قاعدة"); phrases on the ``.exact`` subfields (no stemming, so
word order and form matter; French elided articles and Arabic letter variants are normalised there);
``prefix*`` on the ``.exact`` subfields. Only the
query types below are emitted (bool, match, match_phrase, prefix; fields add term, nested and constant_score),
never query_string or scripts, so the syntax is ours and works in a percolator too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from search.errors import QuerySyntaxError
from search.mappings import LANGUAGE_SUBFIELDS
from search.querying.fields import FIELD_START, GroupResolver, field_clause, field_name

TITLE_BOOST = 3.0
MAX_QUERY_CHARS = 2000
MAX_TERMS = 64
MAX_TERM_CHARS = 100
MAX_DEPTH = 16
MIN_PREFIX_CHARS = 2

_OPERATORS = {"AND", "OR", "NOT"}
_SPECIAL = '()"'
NEAR = "near:"
MAX_DISTANCE_KM = 5000.0
_DISTANCE = re.compile(r"(\d{1,7}(?:\.\d{1,3})?)(km|mi|m)", re.IGNORECASE)
_TO_KM = {"km": 1.0, "m": 0.001, "mi": 1.609344}
NEAR_HINT = 'write near:PLACE DISTANCE, e.g. near:Gao 100km or near:"Bordj Badji Mokhtar" 50km'

# A place name or id -> (lat, lon), or None when the place table has no such place.
PlaceLocator = Callable[[str], tuple[float, float] | None]


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, PREFIX, PHRASE, NEAR, FIELD, AND, OR, NOT, PLUS, MINUS, LPAREN, RPAREN, END
    value: str  # NEAR: the place name; FIELD: the value
    pos: int  # 0-based character offset into the query text
    distance: str = ""  # NEAR: the distance as Elasticsearch reads it ("100km")
    field: str = ""  # FIELD: the canonical field name (group, lang...)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; raises QuerySyntaxError for quotes and wildcards we do not accept."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"query is longer than {MAX_QUERY_CHARS} characters", MAX_QUERY_CHARS)
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(Token("LPAREN" if ch == "(" else "RPAREN", ch, i))
            i += 1
        elif ch == '"':
            i = _read_phrase(text, i, tokens)
        elif text[i : i + len(NEAR)].lower() == NEAR:
            i = _read_near(text, i, tokens)
        elif prefix := FIELD_START.match(text, i):
            i = _read_field(text, prefix, tokens)
        elif ch in "+-" and _starts_operand(text, i + 1):
            # '+' / '-' are operators only when glued to the next operand; "a - b" keeps '-' as a word
            tokens.append(Token("PLUS" if ch == "+" else "MINUS", ch, i))
            i += 1
        else:
            i = _read_word(text, i, tokens)
    tokens.append(Token("END", "", len(text)))
    return tokens


def _starts_operand(text: str, i: int) -> bool:
    return i < len(text) and not text[i].isspace() and text[i] != ")"


def _read_phrase(text: str, start: int, tokens: list[Token]) -> int:
    end = text.find('"', start + 1)
    if end < 0:
        raise QuerySyntaxError("unterminated phrase: add the closing double quote", start)
    phrase = " ".join(text[start + 1 : end].split())
    if not phrase:
        raise QuerySyntaxError("empty phrase", start)
    if len(phrase) > MAX_TERM_CHARS * 4:
        raise QuerySyntaxError(f"phrase is longer than {MAX_TERM_CHARS * 4} characters", start)
    tokens.append(Token("PHRASE", phrase, start))
    return end + 1


def _read_near(text: str, start: int, tokens: list[Token]) -> int:
    """``near:PLACE DISTANCE``: the place is a word or a quoted phrase, the distance the next word."""
    i = start + len(NEAR)
    if i < len(text) and text[i] == '"':
        found: list[Token] = []
        i = _read_phrase(text, i, found)
        name = found[0].value
    else:
        end = i
        while end < len(text) and not text[end].isspace() and text[end] not in _SPECIAL:
            end += 1
        name, i = text[i:end], end
    if not name:
        raise QuerySyntaxError(f"near: needs a place: {NEAR_HINT}", start)
    while i < len(text) and text[i].isspace():
        i += 1
    end = i
    while end < len(text) and not text[end].isspace() and text[end] not in _SPECIAL:
        end += 1
    tokens.append(Token("NEAR", name, start, distance=parse_distance(text[i:end], i)))
    return end


def _read_field(text: str, found: re.Match[str], tokens: list[Token]) -> int:
    """``name:value``, ``name:"quoted value"`` or ``entity:TYPE:"quoted value"``."""
    start = found.start()
    name = field_name(found.group(1), start)
    i = found.end()
    end = i
    while end < len(text) and not text[end].isspace() and text[end] not in _SPECIAL:
        end += 1
    value, i = text[i:end], end
    if i < len(text) and text[i] == '"' and (not value or value.endswith(":")):
        quoted: list[Token] = []
        i = _read_phrase(text, i, quoted)
        value += quoted[0].value
    if len(value) > MAX_TERM_CHARS * 4:
        raise QuerySyntaxError(f"{name}: value is longer than {MAX_TERM_CHARS * 4} characters", start)
    tokens.append(Token("FIELD", value, start, field=name))
    return i


def parse_distance(text: str, pos: int = 0) -> str:
    """``100km``, ``5000m``, ``60mi`` -> the same, normalised (``100km``); QuerySyntaxError otherwise."""
    match = _DISTANCE.fullmatch(text.strip())
    if not match:
        shown = f"{text!r} is not a distance" if text else "the distance is missing"
        raise QuerySyntaxError(f"{shown}: {NEAR_HINT}", pos)
    amount, unit = float(match.group(1)), match.group(2).lower()
    if not 0 < amount * _TO_KM[unit] <= MAX_DISTANCE_KM:
        raise QuerySyntaxError(f"a distance must be above 0 and at most {MAX_DISTANCE_KM:g} km", pos)
    return f"{match.group(1)}{unit}"


def near_clause(lat: float, lon: float, distance: str) -> dict[str, Any]:
    """Articles naming a place within ``distance`` of (lat, lon): filter context, so it does not score."""
    within = {"geo_distance": {"distance": distance, "places.location": {"lat": lat, "lon": lon}}}
    return {"constant_score": {"filter": {"nested": {"path": "places", "query": within}}}}


def _read_word(text: str, start: int, tokens: list[Token]) -> int:
    i = start
    while i < len(text) and not text[i].isspace() and text[i] not in _SPECIAL:
        i += 1
    word = text[start:i]
    if word in _OPERATORS:
        tokens.append(Token(word, word, start))
        return i
    if len(word) > MAX_TERM_CHARS:
        raise QuerySyntaxError(f"term is longer than {MAX_TERM_CHARS} characters", start)
    if word.startswith("*"):
        raise QuerySyntaxError("leading wildcards are not allowed: put '*' at the end of a term", start)
    if "?" in word or "*" in word[:-1]:
        bad = start + min(p for p in (word.find("?"), word.find("*")) if p >= 0)
        raise QuerySyntaxError("wildcards are only allowed at the end of a term (prefix*)", bad)
    if word.endswith("*"):
        stem = word[:-1]
        if len(stem) < MIN_PREFIX_CHARS:
            raise QuerySyntaxError(
                f"a prefix needs at least {MIN_PREFIX_CHARS} characters before '*'",
                start,
            )
        tokens.append(Token("PREFIX", stem.lower(), start))
    else:
        tokens.append(Token("WORD", word, start))
    return i


class _Parser:
    """Recursive descent over the token list; builds the ES query while it goes."""

    def __init__(self, tokens: list[Token], locate: PlaceLocator | None, resolve_group: GroupResolver | None) -> None:
        self.tokens = tokens
        self.locate = locate
        self.resolve_group = resolve_group
        self.i = 0
        self.terms = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> dict[str, Any]:
        if self.peek.kind == "END":
            raise QuerySyntaxError("empty query", 0)
        query = self.or_expr()
        if self.peek.kind == "RPAREN":
            raise QuerySyntaxError("unbalanced ')': no matching '('", self.peek.pos)
        return query

    def or_expr(self) -> dict[str, Any]:
        clauses = [self.and_expr()]
        while self.peek.kind == "OR":
            self.take()
            clauses.append(self.and_expr())
        if len(clauses) == 1:
            return clauses[0]
        return {"bool": {"should": clauses, "minimum_should_match": 1}}

    def and_expr(self) -> dict[str, Any]:
        must: list[dict[str, Any]] = []
        must_not: list[dict[str, Any]] = []
        self.unary_into(must, must_not)
        while self.peek.kind not in ("OR", "RPAREN", "END"):
            if self.peek.kind == "AND":
                self.take()
            self.unary_into(must, must_not)
        if len(must) == 1 and not must_not:
            return must[0]
        body: dict[str, Any] = {}
        if must:
            body["must"] = must
        if must_not:
            body["must_not"] = must_not
        return {"bool": body}

    def unary_into(self, must: list[dict[str, Any]], must_not: list[dict[str, Any]]) -> None:
        negate = False
        while self.peek.kind in ("NOT", "MINUS", "PLUS"):
            if self.take().kind != "PLUS":
                negate = not negate
        clause = self.primary()
        (must_not if negate else must).append(clause)

    def primary(self) -> dict[str, Any]:
        token = self.take()
        if token.kind == "LPAREN":
            return self.group(token)
        if token.kind in ("WORD", "PREFIX", "PHRASE", "NEAR", "FIELD"):
            self.terms += 1
            if self.terms > MAX_TERMS:
                raise QuerySyntaxError(f"too many terms (at most {MAX_TERMS})", token.pos)
            if token.kind == "FIELD":
                return field_clause(token.field, token.value, token.pos, self.resolve_group)
            return self.near(token) if token.kind == "NEAR" else _leaf(token)
        if token.kind == "END":
            raise QuerySyntaxError("the query ends where a term was expected", token.pos)
        if token.kind == "RPAREN":
            raise QuerySyntaxError("')' where a term was expected", token.pos)
        raise QuerySyntaxError(f"{token.value} needs a term on both sides", token.pos)

    def near(self, token: Token) -> dict[str, Any]:
        if self.locate is None:
            raise QuerySyntaxError("near: is not available here (no place table): filter by place instead", token.pos)
        point = self.locate(token.value)
        if point is None:
            raise QuerySyntaxError(
                f"unknown place {token.value!r}: use a town or country name (Gao, Ménaka, ميناكا) or a place id "
                "(gn:2457163)",
                token.pos,
            )
        return near_clause(point[0], point[1], token.distance)

    def group(self, opener: Token) -> dict[str, Any]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QuerySyntaxError(f"parentheses nested deeper than {MAX_DEPTH}", opener.pos)
        if self.peek.kind == "RPAREN":
            raise QuerySyntaxError("empty parentheses", opener.pos)
        inner = self.or_expr()
        if self.peek.kind != "RPAREN":
            raise QuerySyntaxError("unbalanced '(': add the closing ')'", opener.pos)
        self.take()
        self.depth -= 1
        return inner


def _leaf(token: Token) -> dict[str, Any]:
    if token.kind == "PHRASE":
        return _either(
            {"match_phrase": {"title.exact": {"query": token.value, "boost": TITLE_BOOST}}},
            {"match_phrase": {"text.exact": {"query": token.value}}},
        )
    if token.kind == "PREFIX":
        return _either(
            {"prefix": {"title.exact": {"value": token.value, "boost": TITLE_BOOST}}},
            {"prefix": {"text.exact": {"value": token.value}}},
        )
    # zero_terms_query "all": an English stop word ("the") must not empty an AND. Only on the English fields:
    # on the others a word that is a stop word there ("son", "sur" in French) would match every article.
    return _either(
        {"match": {"title": {"query": token.value, "boost": TITLE_BOOST, "zero_terms_query": "all"}}},
        {"match": {"text": {"query": token.value, "zero_terms_query": "all"}}},
        *(
            clause
            for lang in LANGUAGE_SUBFIELDS
            for clause in (
                {"match": {f"title.{lang}": {"query": token.value, "boost": TITLE_BOOST}}},
                {"match": {f"text.{lang}": {"query": token.value}}},
            )
        ),
    )


def _either(*clauses: dict[str, Any]) -> dict[str, Any]:
    return {"bool": {"should": list(clauses), "minimum_should_match": 1}}


def parse_query(
    text: str, locate: PlaceLocator | None = None, resolve_group: GroupResolver | None = None
) -> dict[str, Any]:
    """The ES query for an analyst query string; raises QuerySyntaxError (with ``.position``) if malformed.
    ``locate`` gives the coordinates of a ``near:`` place; without it ``near:`` is an error. ``resolve_group``
    turns a ``group:`` value (id, name or alias) into the group's id; without it the value is taken as the id."""
    return _Parser(tokenize(text), locate, resolve_group).parse()
