"""Events from an article's text: sentence by sentence, a trigger, its gates, and the fields around it.

A sentence gives at most one event (the most specific trigger: a suicide bombing over an attack over a
killing). It gives none when a NEGATIVE cue is in it (history, threats, denials, sport, politics,
figurative use) or when it dates itself to another year; a strong trigger also needs an actor, a toll or a
target in the sentence ("an attack" alone is no report), a weak one ("killed") an actor.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from datetime import date
from functools import lru_cache

from enrich.events import cues, roles
from enrich.events.actors import claim_status, force_candidates, group_candidates, split_roles
from enrich.events.dates import DateFinder, event_date
from enrich.events.model import Event, PlaceSpan
from enrich.events.numbers import number_runs, words_of
from enrich.events.ontology import TRIGGERS, EventType, Trigger
from enrich.events.places import nearest_place
from enrich.events.tokens import Hit, Lexicons, PhraseMatcher, Token, tokenize

LANGUAGES = ("en", "fr", "ar")
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
_DECADE = re.compile(r"(?:19|20)\d0s")
_YEAR_WORDS = frozenset({"in", "en", "عام", "سنه", "since", "depuis", "منذ"})
_AGO = {
    "en": ({"years", "decades", "year"}, {"ago"}),
    "fr": ({"ans", "annees", "decennies"}, {"il"}),
    "ar": ({"عاما", "سنوات", "اعوام", "سنه", "عقود"}, {"قبل", "منذ"}),
}
_TOLL_BEFORE = 4  # words between a number and the casualty word after it: "12 soldiers were killed"
_TOLL_AFTER = 3
# casualty words a toll follows ("killing 12", "tuant sept", "مقتل سبعة"); other words follow their number
_LEADING = frozenset(
    {
        "killing",
        "wounding",
        "injuring",
        "death toll",
        "tuant",
        "blessant",
        "bilan",
        "مقتل",
        "مصرع",
        "اصابه",
        "حصيله",
        "اسفر عن مقتل",
        "قتل",
        "جرح",
    }
)  # words between a casualty word and the number after it: "killing at least 12"


class EventExtractor:
    """The rules of one language, compiled once."""

    def __init__(self, language: str) -> None:
        self.language = language
        trig = {f"t{i}": list(phrases) for i, phrases in enumerate(TRIGGERS[language].values())}
        self._triggers = list(TRIGGERS[language])
        self.trigger_matcher = PhraseMatcher(language, trig)
        self.lexicons = Lexicons(
            language,
            {
                "negative": cues.NEGATIVE[language],
                "claims": cues.CLAIMS[language],
                "deny": {"deny": cues.DENY[language]},
                "responsibility": {"responsibility": cues.RESPONSIBILITY[language]},
                "earlier": {"earlier": cues.EARLIER[language]},
                "forces": roles.FORCES[language],
                "by": {"by": roles.BY[language]},
                "civilians": {"civilians": roles.CIVILIANS[language]},
                "targets": {"target": roles.TARGETS[language]},
                "tolls": {"killed": roles.KILLED[language], "wounded": roles.WOUNDED[language]},
            },
        )
        self.dates = DateFinder(language)

    def extract(
        self,
        text: str,
        *,
        groups: Sequence[tuple[str, int, int]] = (),
        places: Sequence[PlaceSpan] = (),
        published: date | None = None,
    ) -> list[Event]:
        """The events of ``text``; ``groups`` are tracked-group mentions (id, start, end), ``places`` the
        places named in the text (the nearest to the trigger is the event's)."""
        tokens = tokenize(text, self.language)
        # one pass of the trigger words over the whole text: most sentences have none and cost nothing more
        triggered = {tokens[h.first].start for h in self.trigger_matcher.find(tokens)}
        if not triggered:
            return []
        starts = [t.start for t in tokens]
        events = []
        for start, end in sentence_spans(text):
            if not any(start <= at < end for at in triggered):
                continue
            inside = tokens[bisect_left(starts, start) : bisect_left(starts, end)]
            event = self._sentence_event(text, (start, end), inside, groups, places, published)
            if event is not None:
                events.append(event)
        return events

    def _sentence_event(
        self,
        text: str,
        span: tuple[int, int],
        tokens: list[Token],
        groups: Sequence[tuple[str, int, int]],
        places: Sequence[PlaceSpan],
        published: date | None,
    ) -> Event | None:
        scan = self.lexicons.scan(tokens)
        found = self._trigger(tokens, scan["earlier"])
        if found is None or scan["negative"] or self._elsewhere_in_time(tokens, published):
            return None
        hit, trigger = found
        denied = bool(scan["deny"])
        if denied and not scan["responsibility"]:
            return None  # "the army denied any attack": the event itself is denied
        claims = scan["claims"]
        cands = group_candidates(groups, tokens, text)
        cands += force_candidates(scan["forces"], tokens, text, cands)
        actors, target_actors = split_roles(
            cands,
            tokens,
            hit,
            scan["by"],
            claims,
            clash=trigger.type == EventType.ARMED_CLASH,
            verb_first=trigger.verb_first,
            remote=trigger.type == EventType.EXPLOSION,
        )
        civilians = [h for h in scan["civilians"] if h.first >= hit.first]
        targets = [h for h in scan["targets"] if h.first >= hit.first]
        fatalities, wounded = self._tolls(text, tokens, scan["tolls"])
        if not actors and (trigger.weak or (fatalities is None and wounded is None and not targets and not civilians)):
            return None
        kind = trigger.type
        if trigger.weak and civilians:
            kind = EventType.VIOLENCE_AGAINST_CIVILIANS
        t_start, t_end = tokens[hit.first].start, tokens[hit.last - 1].end
        day = self.dates.find(tokens, text)
        when = event_date(day, published)
        target_words = [a.id for a in target_actors] + [_surface(text, tokens, h) for h in civilians + targets]
        return Event(
            type=kind.value,
            subtype=trigger.subtype.value if trigger.subtype else None,
            trigger=text[t_start:t_end],
            trigger_start=t_start,
            trigger_end=t_end,
            actors=tuple(actors),
            targets=tuple(dict.fromkeys(target_words)),
            place=nearest_place(places, (t_start, t_end), span, paragraph_of(text, span)),
            date=when.isoformat() if when else None,
            date_phrase=day.phrase if day else None,
            fatalities=fatalities,
            wounded=wounded,
            claim="denied" if denied else claim_status(claims),
            sentence=text[span[0] : span[1]],
            sentence_start=span[0],
            sentence_end=span[1],
        )

    def _trigger(self, tokens: list[Token], earlier_hits: list[Hit]) -> tuple[Hit, Trigger] | None:
        hits = self.trigger_matcher.find(tokens)
        if not hits:
            return None
        scored = [(self._triggers[int(h.label[1:])], h) for h in hits]
        earlier = {h.first for h in earlier_hits}
        # a trigger just after "after"/"après"/"بعد" names an earlier event: any other trigger goes first
        trigger, hit = min(
            scored, key=lambda th: (any(th[1].first - e in (1, 2, 3) for e in earlier), th[0].rank, th[1].first)
        )
        return hit, trigger

    def _elsewhere_in_time(self, tokens: list[Token], published: date | None) -> bool:
        """ "twenty years ago", "il y a dix ans", "قبل عشرين عاما", "in 2012" (not the publication year)."""
        norms = [t.norm for t in tokens]
        units, markers = _AGO[self.language]
        for i, word in enumerate(norms):
            if word in units and any(m in norms[max(0, i - 4) : i + 2] for m in markers):
                return True
            if _DECADE.fullmatch(word):
                return True
            year = _YEAR.fullmatch(word) and i and norms[i - 1] in _YEAR_WORDS
            if year and (published is None or int(word) != published.year):
                return True
        return False

    def _tolls(self, text: str, tokens: list[Token], hits: list[Hit]) -> tuple[int | None, int | None]:
        words: list[str] = []
        owner: list[int] = []
        for index, token in enumerate(tokens):
            for word in words_of(text[token.start : token.end]) or [token.norm]:
                words.append(word)
                owner.append(index)
        runs = [(owner[a], owner[b - 1] + 1, value) for a, b, value in number_runs(words)]
        found: dict[str, int] = {}
        used: set[int] = set()
        for hit in hits:
            if hit.label in found:
                continue
            leading = " ".join(t.norm for t in tokens[hit.first : hit.last]) in _LEADING
            near = _number_near([r for r in runs if r[0] not in used], hit, leading)
            if near is not None:
                used.add(near[0])
                found[hit.label] = near[2]
        return found.get("killed"), found.get("wounded")


def _number_near(runs: list[tuple[int, int, int]], hit: Hit, leading: bool) -> tuple[int, int, int] | None:
    """The number a casualty word states: the one just after a leading word ("killing 12"), else the one
    just before ("12 killed"), else just after."""
    before = [r for r in runs if r[1] <= hit.first and hit.first - r[1] <= _TOLL_BEFORE]
    after = [r for r in runs if r[0] >= hit.last and r[0] - hit.last <= _TOLL_AFTER]
    if leading and after:
        return after[0]
    if before:
        return before[-1]
    return after[0] if after else None


def _surface(text: str, tokens: list[Token], hit: Hit) -> str:
    return text[tokens[hit.first].start : tokens[hit.last - 1].end]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, whitespace trimmed."""
    spans = []
    start = 0
    for match in [*_SENTENCE_END.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[start:end]
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            spans.append((start + lead, start + len(piece.rstrip())))
        if match:
            start = match.end()
    return spans


def paragraph_of(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """The paragraph (between blank lines or line breaks) holding the sentence."""
    start = text.rfind("\n", 0, span[0]) + 1
    end = text.find("\n", span[1])
    return start, len(text) if end < 0 else end


@lru_cache(maxsize=len(LANGUAGES))
def extractor_for(language: str) -> EventExtractor:
    """The extractor of ``language`` (compiled once per process)."""
    return EventExtractor(language)


def extract_events(
    text: str,
    language: str | None,
    *,
    groups: Sequence[tuple[str, int, int]] = (),
    places: Sequence[PlaceSpan] = (),
    published: date | None = None,
) -> list[Event]:
    """The events of ``text`` in ``language``; none for a language without rules (nor for unknown ones)."""
    if language not in LANGUAGES:
        return []
    return extractor_for(language).extract(text, groups=groups, places=places, published=published)
