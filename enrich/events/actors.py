"""Who did it and who says so: actors from tracked-group mentions and named forces, and the claim status.

A group or force is an actor when it comes before the trigger (the subject: "JNIM fighters ambushed"), after
a "by" word ("kidnapped by gunmen", "revendiquée par", "من قبل"), in a claim phrase, right after an Arabic
verb trigger (verb-subject order: "هاجم مسلحون"), or on either side of a clash (both sides fight). Any other
mention after the trigger is a target ("an attack on army positions"), except a force or group right after
a remote-violence trigger, which fires it ("shelling by the army", "قصف الجيش").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from enrich.events.model import Actor
from enrich.events.tokens import Hit, Token

_BY_WINDOW = 3  # tokens between a "by" word and the name it introduces
_VERB_WINDOW = 2  # tokens between an Arabic verb trigger and its subject
# the only words allowed between a remote-violence trigger and its shooter: "frappe de l'armée"
_GENITIVE = frozenset({"of", "by", "the", "de", "du", "des", "d", "l", "la", "le", "les"})


@dataclass(frozen=True, slots=True)
class Candidate:
    """A group or force mention in the sentence, at tokens ``[first, last)``."""

    actor: Actor
    first: int
    last: int


def group_candidates(groups: Sequence[tuple[str, int, int]], tokens: Sequence[Token], text: str) -> list[Candidate]:
    """Tracked-group mentions (group id, start, end) that fall in the sentence's tokens."""
    found = []
    for group_id, start, end in groups:
        inside = [i for i, t in enumerate(tokens) if t.start < end and start < t.end]
        if inside:
            found.append(Candidate(Actor(group_id, "group", text[start:end], start, end), inside[0], inside[-1] + 1))
    return found


def force_candidates(
    hits: Sequence[Hit], tokens: Sequence[Token], text: str, taken: Sequence[Candidate]
) -> list[Candidate]:
    """Named-force mentions, the longest at each place, none inside a group mention ("JNIM fighters")."""
    found: list[Candidate] = []
    for hit in hits:
        if any(c.first < hit.last and hit.first < c.last for c in [*taken, *found]):
            continue
        start, end = tokens[hit.first].start, tokens[hit.last - 1].end
        found.append(Candidate(Actor(hit.label, "force", text[start:end], start, end), hit.first, hit.last))
    return found


def split_roles(
    candidates: Sequence[Candidate],
    tokens: Sequence[Token],
    trigger: Hit,
    by_hits: Sequence[Hit],
    claim_hits: Sequence[Hit],
    *,
    clash: bool,
    verb_first: bool,
    remote: bool,
) -> tuple[list[Actor], list[Actor]]:
    """(actors, targets) among the candidates, in text order."""
    actors: list[Actor] = []
    targets: list[Actor] = []
    introducers = [h.last for h in [*by_hits, *claim_hits]]
    for cand in sorted(candidates, key=lambda c: c.first):
        before = cand.last <= trigger.first
        introduced = any(0 <= cand.first - at <= _BY_WINDOW for at in introducers)
        # Arabic verb-subject order; and remote violence names its shooter right after: "shelling by the
        # army", "frappe de l'armée", "قصف الجيش"
        subject = verb_first and 0 <= cand.first - trigger.last <= _VERB_WINDOW
        between = tokens[trigger.last : cand.first]
        subject |= remote and cand.first >= trigger.last and all(t.norm in _GENITIVE for t in between)
        if clash or before or introduced or subject:
            actors.append(cand.actor)
        else:
            targets.append(cand.actor)
    return _distinct(actors), _distinct(targets)


def claim_status(hits: Sequence[Hit]) -> str | None:
    """denied over claimed over attributed: a denial of responsibility is the most specific statement."""
    labels = {h.label for h in hits}
    for status in ("denied", "claimed", "attributed"):
        if status in labels:
            return status
    return None


def _distinct(actors: list[Actor]) -> list[Actor]:
    seen: set[str] = set()
    kept = []
    for actor in actors:
        if actor.id not in seen:
            seen.add(actor.id)
            kept.append(actor)
    return kept
