"""The day of an event from the words of its sentence, relative to the article's publication day.

"on Sunday", "lundi", "الثلاثاء" name the last such weekday on or before publication (a Sunday article's
"Sunday" is that day); "yesterday"/"hier"/"امس" the day before; "today", "this morning", "aujourd'hui",
"اليوم" the day itself. With no such word the event is dated on the publication day; with no publication
day it has no date, and the phrase is kept for a later reader.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from enrich.events.tokens import PhraseMatcher, Token

_WEEKDAYS = {
    "en": ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "ar": ("الاثنين", "الثلاثاء", "الاربعاء", "الخميس", "الجمعه", "السبت", "الاحد"),
}
_DAYS_BACK = {
    "en": {"yesterday": 1, "last night": 1, "today": 0, "this morning": 0, "tonight": 0},
    "fr": {"hier": 1, "avant hier": 2, "aujourd hui": 0, "aujourdhui": 0, "ce matin": 0, "la veille": 1},
    "ar": {"امس": 1, "البارحه": 1, "اليوم": 0, "صباح اليوم": 0},
}


@dataclass(frozen=True, slots=True)
class RelativeDay:
    """What the sentence says about the day: a weekday (0 = Monday) or a number of days back."""

    phrase: str
    weekday: int | None = None
    days_back: int | None = None

    def resolve(self, published: date) -> date:
        if self.weekday is not None:
            return published - timedelta(days=(published.weekday() - self.weekday) % 7)
        return published - timedelta(days=self.days_back or 0)


class DateFinder:
    """Finds the relative day a sentence names, in one language."""

    def __init__(self, language: str) -> None:
        phrases: dict[str, list[str]] = {f"w{i}": [day] for i, day in enumerate(_WEEKDAYS[language])}
        phrases.update({f"b{back}_{phrase}": [phrase] for phrase, back in _DAYS_BACK[language].items()})
        self._matcher = PhraseMatcher(language, phrases)

    def find(self, tokens: list[Token], text: str) -> RelativeDay | None:
        """The first day word of the tokens; None when there is none."""
        hits = self._matcher.find(tokens)
        if not hits:
            return None
        hit = hits[0]
        phrase = text[tokens[hit.first].start : tokens[hit.last - 1].end]
        if hit.label.startswith("w"):
            return RelativeDay(phrase, weekday=int(hit.label[1:]))
        return RelativeDay(phrase, days_back=int(hit.label[1:].split("_", 1)[0]))


def event_date(day: RelativeDay | None, published: date | None) -> date | None:
    """The event's day: the relative day against publication, else the publication day, else None."""
    if published is None:
        return None
    return day.resolve(published) if day else published
