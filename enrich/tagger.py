"""The enrich stage's entry point: texts in, :class:`~enrich.tags.Tags` out.

The pipeline calls :meth:`Tagger.tag_groups` first (the gazetteer only: about a millisecond per article), so a
group alert never waits for NER, then :meth:`Tagger.add_entities` on those records. :meth:`Tagger.tag` does
both. NER is by language: each text goes to the model of its language (``models``, English and French by
default); a text whose language has no model (Arabic, among others) gets no entities, and its record says so
(``ner_model`` None, ``ner_skipped``); a text whose language could not be told goes to the English model.
With ``workers > 1`` NER runs in a pool of processes (spawned, not forked: the callers may run threads), each
loading a model once, on its first text in that language.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from datetime import date
from types import TracebackType

from enrich.boilerplate import boilerplate_spans
from enrich.cleanup import PersonMention, clean_entities
from enrich.entities import RawEntity
from enrich.errors import TaggingError
from enrich.events.extract import extract_events
from enrich.events.model import Event, PlaceSpan
from enrich.gazetteer import GroupMatch, GroupMatcher
from enrich.language import detect_language
from enrich.ner import DEFAULT_MODEL, DEFAULT_MODELS, extract_raw, load_ner
from enrich.places.resolve import PlaceResolver, Span
from enrich.tags import GroupTag, Mention, Tags
from enrich.watchlist import Watchlist


class Tagger:
    """Tags texts with tracked groups (always) and named entities (when ``ner`` is on).

    ``model`` is the English model (also used for texts whose language cannot be told); ``models`` maps
    other languages to theirs (default: ``enrich.ner.DEFAULT_MODELS``). Texts in any other language skip NER.
    """

    def __init__(
        self,
        *,
        watchlist: Watchlist,
        model: str = DEFAULT_MODEL,
        batch_size: int = 8,
        ner: bool = True,
        workers: int = 1,
        models: Mapping[str, str] | None = None,
        worker_nice: int = 0,
        places: PlaceResolver | None = None,
    ) -> None:
        if batch_size < 1 or workers < 1:
            raise ValueError("batch_size and workers must be at least 1")
        self.watchlist = watchlist
        self.matcher = GroupMatcher(watchlist)
        self.people = GroupMatcher(watchlist, people=True)  # the watchlist's tracked people, the same rules
        self.model = model
        self.batch_size = batch_size
        self.ner = ner
        self.workers = workers
        self.models = {**(DEFAULT_MODELS if models is None else models), "en": model}
        self.worker_nice = worker_nice  # added to the NER processes' nice value: they yield the CPU first
        self._pool: ProcessPoolExecutor | None = None
        self.places = places  # resolves place mentions in add_entities (None: no places)

    # --- the gazetteer ------------------------------------------------------------------------------------
    def tag_groups(self, texts: Sequence[str], hints: Sequence[str | None] | None = None) -> list[Tags]:
        """Tracked groups and language only (``ner_done`` is False).

        ``hints``: the language each page declares (its ``lang`` attribute), or None; see enrich.language.
        """
        if hints is not None and len(hints) != len(texts):
            raise ValueError("texts and hints must have the same length")
        return [self._tag_groups_one(text, hints[i] if hints else None) for i, text in enumerate(texts)]

    def groups_of(self, texts: Sequence[str], languages: Sequence[str | None]) -> list[Tags]:
        """:meth:`tag_groups` for texts whose language was identified already (an indexed article's): the
        gazetteer runs, the language is taken as given; a text whose language is None is identified."""
        if len(languages) != len(texts):
            raise ValueError("texts and languages must have the same length")
        return [
            Tags(groups=self._groups_in(text), language=language) if language else self._tag_groups_one(text, None)
            for text, language in zip(texts, languages, strict=True)
        ]

    def _tag_groups_one(self, text: str, hint: str | None) -> Tags:
        return Tags(groups=self._groups_in(text), language=detect_language(text, hint=hint))

    def _groups_in(self, text: str) -> tuple[GroupTag, ...]:
        furniture = boilerplate_spans(text)
        return self._group_tags([m for m in self.matcher.find(text) if not _inside_any(m, furniture)])

    def _group_tags(self, matches: list[GroupMatch]) -> tuple[GroupTag, ...]:
        mentions: dict[str, list[Mention]] = {}
        for match in matches:
            mentions.setdefault(match.group_id, []).append(Mention(match.start, match.end, match.surface))
        tags = []
        for group_id, found in mentions.items():
            group = self.watchlist.get(group_id)
            assert group is not None  # the matcher only knows the watchlist's ids
            tags.append(GroupTag(group.id, group.name, group.parent, tuple(found)))
        return tuple(tags)

    # --- NER ----------------------------------------------------------------------------------------------
    def tag(
        self,
        texts: Sequence[str],
        hints: Sequence[str | None] | None = None,
        published: Sequence[date | None] | None = None,
    ) -> list[Tags]:
        """Tracked groups, events and, when NER is on, entities."""
        return self.add_entities(texts, self.tag_groups(texts, hints), published)

    def add_entities(
        self, texts: Sequence[str], partial: Sequence[Tags], published: Sequence[date | None] | None = None
    ) -> list[Tags]:
        """Complete :meth:`tag_groups` records with NER entities (a tracked-group match wins on overlap) and
        events (enrich/events: dated against ``published``, each text's publication day, when given)."""
        if len(texts) != len(partial) or (published is not None and len(published) != len(texts)):
            raise ValueError("texts, partial tags and publication days must have the same length")
        days = list(published) if published is not None else [None] * len(texts)
        return [
            replace(tags, events=tuple(_events(text, tags, day)))
            for text, tags, day in zip(texts, self._with_entities(texts, partial), days, strict=True)
        ]

    def _with_entities(self, texts: Sequence[str], partial: Sequence[Tags]) -> list[Tags]:
        if not self.ner:
            return [self._with_places(text, tags, []) for text, tags in zip(texts, partial, strict=True)]
        by_model: dict[str, list[int]] = {}
        for index, tags in enumerate(partial):
            model = self.model_for(tags.language)
            if model is not None:
                by_model.setdefault(model, []).append(index)
        raw: dict[int, list[RawEntity]] = {}
        for model, indices in by_model.items():
            raw.update(zip(indices, self._raw_entities(model, [texts[i] for i in indices]), strict=True))
        done = []
        for index, (text, tags) in enumerate(zip(texts, partial, strict=True)):
            blocked = [(m.start, m.end) for g in tags.groups for m in g.mentions] + boilerplate_spans(text)
            tags = self._with_places(text, tags, raw.get(index, []))
            people = self.people_in(text)
            entities = clean_entities(text, raw.get(index, []), tags.places, people, blocked)
            model = self.model_for(tags.language)
            skipped = None if model else f"no NER model for language {tags.language!r}"
            done.append(replace(tags, entities=entities, ner_done=True, ner_model=model, ner_skipped=skipped))
        return done

    def _with_places(self, text: str, tags: Tags, raw: list[RawEntity]) -> Tags:
        """``tags`` with the text's places (the NER spans help; tracked groups and furniture are not places)."""
        if self.places is None:
            return tags
        blocked = [(m.start, m.end) for g in tags.groups for m in g.mentions] + boilerplate_spans(text)
        spans = [Span(r.label, r.start, r.end) for r in raw]
        return replace(tags, places=self.places.resolve(text, spans, blocked))

    def people_in(self, text: str) -> list[PersonMention]:
        """The tracked people's mentions (any script), outside page furniture, named as the watchlist names them."""
        furniture = boilerplate_spans(text)
        found = []
        for match in self.people.find(text):
            person = self.watchlist.person(match.group_id)
            if person is not None and not _inside_any(match, furniture):
                found.append(PersonMention(person.name, match.start, match.end))
        return found

    def model_for(self, language: str | None) -> str | None:
        """The NER model for texts in ``language`` (English when unknown), None when there is none."""
        return self.models["en"] if language is None else self.models.get(language)

    def _raw_entities(self, model: str, texts: list[str]) -> list[list[RawEntity]]:
        if not texts:
            return []
        if self.workers == 1:
            return extract_raw(texts, model=model, batch_size=self.batch_size)
        pool = self._ensure_pool()
        batches = [texts[i : i + self.batch_size] for i in range(0, len(texts), self.batch_size)]
        futures: list[Future[list[list[RawEntity]]]] = [
            pool.submit(extract_raw, batch, model=model, batch_size=self.batch_size) for batch in batches
        ]
        try:
            return [entities for future in futures for entities in future.result()]
        except BrokenProcessPool as exc:
            self.close()  # the next call starts a fresh pool
            raise TaggingError(f"an NER worker process died ({exc}); the batch can be retried") from exc

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_start_worker,
                initargs=(self.model, self.worker_nice),
            )
        return self._pool

    def warm_up(self) -> None:
        """Load the English model now (in every worker with a pool) and the language identifier (in this
        process) instead of on the first batch: a first article is not held up by a second of loading."""
        self.tag_groups(["warm up"])
        if self.ner and self.workers == 1:
            load_ner(self.model)
        elif self.ner:
            pool = self._ensure_pool()
            for future in [pool.submit(load_ner, self.model) for _ in range(self.workers)]:
                future.result()

    def close(self) -> None:
        """Stop the worker processes, if any."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> Tagger:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _start_worker(model: str, nice: int) -> None:
    """A NER process: lower its CPU priority by ``nice`` (NER is background work: fetching, extraction,
    indexing and alerts on the same cores go first, and NER still takes every cycle they leave), then load
    the model."""
    if nice > 0 and hasattr(os, "nice"):
        os.nice(nice)
    load_ner(model)


def _events(text: str, tags: Tags, published: date | None) -> list[Event]:
    """The events of one text: its tracked-group mentions are the actors; the places are the resolved places
    (enrich/places: ids, so an event is placed by id in any language), or the GPE and LOC names NER found when
    place resolution is off (the nearest to a trigger is the event's place)."""
    groups = [(g.id, m.start, m.end) for g in tags.groups for m in g.mentions]
    places = [PlaceSpan(p.id, p.place.name, m.start, m.end) for p in tags.places for m in p.mentions]
    if not places:
        places = [
            PlaceSpan(None, e.canonical, m.start, m.end)
            for e in tags.entities
            if e.label in {"GPE", "LOC"}
            for m in e.mentions
        ]
    return extract_events(text, tags.language, groups=groups, places=places, published=published)


def _inside_any(match: GroupMatch, spans: list[tuple[int, int]]) -> bool:
    return any(start <= match.start and match.end <= end for start, end in spans)
