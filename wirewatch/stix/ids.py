"""Deterministic STIX identifiers and the TLP markings.

A STIX id is ``<type>--<uuid5(NAMESPACE, key)>``: the same group, place, person, alert or story gets the same
id in every export, so a platform that pulls twice updates its objects instead of adding copies. The keys are
Wirewatch's own stable ids (the group id, the alert id, the story id) or a folded name (places, people,
organisations), never text that changes from one export to the next.
"""

from __future__ import annotations

import unicodedata
import uuid

from stix2 import TLP_AMBER, TLP_GREEN, TLP_RED, TLP_WHITE, MarkingDefinition

__all__ = ["NAMESPACE", "TLP_LEVELS", "fold", "stix_id", "tlp_marking"]

# Fixed for ever (uuid5 of the URL namespace and "https://wirewatch.example.org/stix"): changing it would give
# every object a new id and every platform a second copy.
NAMESPACE = uuid.UUID("62a35d3b-7eec-5163-8f8d-27be6f542f5f")

# STIX 2.1 defines the TLP 1.0 marking definitions with fixed ids that every platform knows. TLP 2.0's
# CLEAR is 1.0's WHITE renamed (same meaning), so it is exported as the spec's TLP:WHITE definition.
# AMBER+STRICT has no definition in the STIX 2.1 specification and is not offered.
TLP_LEVELS: dict[str, MarkingDefinition] = {
    "clear": TLP_WHITE,
    "white": TLP_WHITE,
    "green": TLP_GREEN,
    "amber": TLP_AMBER,
    "red": TLP_RED,
}


def fold(name: str) -> str:
    """A name as an id key: Unicode-normalised, case-folded, inner spaces collapsed."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def stix_id(kind: str, *parts: str) -> str:
    """``kind--uuid5`` of the parts (joined with a separator no part can contain unnoticed)."""
    key = "\x1f".join((kind, *parts))
    return f"{kind}--{uuid.uuid5(NAMESPACE, key)}"


def tlp_marking(level: str) -> MarkingDefinition:
    """The marking definition of a TLP level (clear, green, amber, red; ``TLP:`` prefix and case ignored).

    Raises ValueError naming the levels on offer."""
    key = level.strip().lower().removeprefix("tlp:")
    try:
        return TLP_LEVELS[key]
    except KeyError:
        raise ValueError(
            f"unknown TLP level {level!r}: use clear, green, amber or red (AMBER+STRICT has no STIX 2.1 definition)"
        ) from None
