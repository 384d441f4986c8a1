"""Stories: near-duplicate clustering of articles with MinHash signatures and LSH band keys.

The same wire story reaches many sites with other boilerplate, another headline and small edits. Each article's
extracted text becomes a set of word shingles (``SHINGLE_WORDS`` consecutive tokens; tokens are Unicode words,
case-folded, diacritics and Arabic tatweel removed, so French and Arabic copies compare like English ones). A
MinHash signature (``NUM_PERM`` values, ``datasketch``) estimates the Jaccard similarity of two shingle sets; the
signature cut into ``BANDS`` bands of ``ROWS`` values gives band keys: two articles sharing one key are
candidates, and a candidate whose estimated similarity reaches ``THRESHOLD`` is the same story.

An article joins the story of its most similar candidate; otherwise it starts a story whose id is its own
article id (so a story id is the id of its first-seen article). Within a batch the articles are taken in
(first-seen time, id) order, so the outcome does not depend on the order they arrived in.

Where earlier articles come from is a ``StoryStore``: anything that answers "which known articles share one
of these band keys" (``InMemoryStore`` here; the Elasticsearch one lives in ``search/``). This module imports
nothing of ours. Bands, rows and threshold come from the precision/recall curve in ``bench/README.md``.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Protocol

import numpy as np
from datasketch import MinHash

NUM_PERM = 128
BANDS = 32
ROWS = 4  # BANDS * ROWS == NUM_PERM; a pair at similarity s shares a band with probability 1 - (1 - s**ROWS)**BANDS
SHINGLE_WORDS = 3
THRESHOLD = 0.5
SEED = 20240301  # fixed, like the scheme: signatures stored in Elasticsearch must stay comparable across releases
SCHEME = "affine32"

_TATWEEL = "\u0640"
_WORD = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    """Words of ``text``: case-folded, without diacritics (NFKD minus combining marks, which also turns Arabic
    alef-with-hamza into a bare alef and drops the short vowels), tatweel removed; punctuation separates."""
    decomposed = unicodedata.normalize("NFKD", text.replace(_TATWEEL, ""))
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _WORD.findall(plain.casefold())


def shingles(words: Sequence[str], size: int = SHINGLE_WORDS) -> set[bytes]:
    """Every run of ``size`` consecutive words (the whole text when shorter), UTF-8 encoded."""
    if not words:
        return set()
    if len(words) < size:
        return {" ".join(words).encode()}
    return {" ".join(words[at : at + size]).encode() for at in range(len(words) - size + 1)}


@lru_cache(maxsize=4)
def _permutations(num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    # datasketch draws these from its seed on every MinHash(); drawing once keeps a signature under 1 ms
    perms: tuple[np.ndarray, np.ndarray] = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME).permutations
    return perms


def signature(text: str, *, num_perm: int = NUM_PERM, shingle_words: int = SHINGLE_WORDS) -> np.ndarray:
    """The MinHash signature (``num_perm`` unsigned 32-bit values) of ``text``'s shingles."""
    sketch = MinHash(num_perm=num_perm, seed=SEED, scheme=SCHEME, permutations=_permutations(num_perm))
    sketch.update_batch(sorted(shingles(tokens(text), shingle_words)))
    return np.asarray(sketch.hashvalues, dtype=np.uint32)


def band_keys(sig: np.ndarray, *, bands: int = BANDS) -> list[str]:
    """One short key per band: the band's number and a hash of its values (``"07:3f9a..."``)."""
    rows = len(sig) // bands
    keys = []
    for band in range(bands):
        chunk = np.ascontiguousarray(sig[band * rows : (band + 1) * rows], dtype="<u4").tobytes()
        keys.append(f"{band:02d}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
    return keys


def similarity(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> float:
    """The MinHash estimate of the Jaccard similarity of two signatures (share of equal positions)."""
    left, right = np.asarray(a, dtype=np.uint32), np.asarray(b, dtype=np.uint32)
    if left.shape != right.shape or not len(left):
        return 0.0
    return float(np.count_nonzero(left == right)) / len(left)


def encode_signature(sig: np.ndarray) -> bytes:
    """The signature as little-endian bytes (512 bytes for 128 values), for storage."""
    return np.ascontiguousarray(sig, dtype="<u4").tobytes()


def decode_signature(raw: bytes) -> np.ndarray:
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


class Member(Protocol):
    """An article already assigned to a story, as a ``StoryStore`` returns it."""

    @property
    def article_id(self) -> str: ...
    @property
    def story_id(self) -> str: ...
    @property
    def signature(self) -> bytes: ...  # encode_signature's bytes
    @property
    def story_first_seen(self) -> str | None: ...


class StoryStore(Protocol):
    """Where earlier articles' band keys live (the persistence of the LSH index)."""

    def members_sharing(self, keys: Sequence[str], *, exclude: Sequence[str] = ()) -> Iterable[Member]:
        """Known articles sharing at least one of ``keys``, except the ids in ``exclude``."""
        ...


@dataclass(frozen=True, kw_only=True)
class StoredMember:
    article_id: str
    story_id: str
    signature: bytes
    story_first_seen: str | None = None


@dataclass
class InMemoryStore:
    """A ``StoryStore`` in a dict: for one batch, the benchmark, and the tests."""

    by_key: dict[str, list[StoredMember]] = field(default_factory=dict)

    def add(self, member: StoredMember, keys: Sequence[str]) -> None:
        for key in keys:
            self.by_key.setdefault(key, []).append(member)

    def members_sharing(self, keys: Sequence[str], *, exclude: Sequence[str] = ()) -> list[StoredMember]:
        skip = set(exclude)
        found: dict[str, StoredMember] = {}
        for key in keys:
            for member in self.by_key.get(key, ()):
                if member.article_id not in skip:
                    found.setdefault(member.article_id, member)
        return list(found.values())


class CombinedStore:
    """The union of several stores (the first to name an article wins): the index, and what a writer knows
    it wrote that the index may not show yet."""

    def __init__(self, *stores: StoryStore) -> None:
        self.stores = stores

    def members_sharing(self, keys: Sequence[str], *, exclude: Sequence[str] = ()) -> list[Member]:
        found: dict[str, Member] = {}
        for store in self.stores:
            for member in store.members_sharing(keys, exclude=exclude):
                found.setdefault(member.article_id, member)
        return list(found.values())


@dataclass(frozen=True, kw_only=True)
class NewArticle:
    """An article to assign: its id, its text and when it was first seen (published, else fetched)."""

    id: str
    text: str
    seen_at: datetime | None = None
    # ``signature(text)`` with the default parameters when it was computed already (in another process)
    signature: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """The story of one article, with what ``search/`` stores so later articles can find it."""

    article_id: str
    story_id: str
    story_first_seen: str | None  # ISO time the story was first seen
    similarity: float  # to the article it joined (1.0 for a story's first article)
    band_keys: tuple[str, ...]
    signature: bytes


@dataclass(frozen=True, kw_only=True)
class Clustering:
    """The parameters of one clustering (defaults: the measured ones)."""

    threshold: float = THRESHOLD
    num_perm: int = NUM_PERM
    bands: int = BANDS
    shingle_words: int = SHINGLE_WORDS

    def __post_init__(self) -> None:
        if self.num_perm % self.bands:
            raise ValueError(f"num_perm ({self.num_perm}) must be a multiple of bands ({self.bands})")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError("threshold must be in (0, 1]")


def assign_stories(
    articles: Sequence[NewArticle], store: StoryStore, params: Clustering | None = None
) -> list[Assignment]:
    """The story of each article, in (first-seen time, id) order: deterministic whatever the input order.

    ``store`` is asked once for every earlier article sharing a band with the batch; articles of the batch
    join each other through an in-memory index, so copies within one batch form one story too.
    """
    params = params or Clustering()
    ordered = sorted(articles, key=_first_seen_order)
    sigs = {a.id: _signature_of(a, params) for a in ordered}
    keys = {aid: band_keys(sig, bands=params.bands) for aid, sig in sigs.items()}
    batch_ids = [a.id for a in ordered]
    all_keys = sorted({k for ks in keys.values() for k in ks})
    known = InMemoryStore()
    for member in store.members_sharing(all_keys, exclude=batch_ids):
        _index_member(known, member, params.bands)
    out: list[Assignment] = []
    for article in ordered:
        sig, own_keys = sigs[article.id], keys[article.id]
        best, score = _best_candidate(sig, known.members_sharing(own_keys), params.threshold)
        seen = article.seen_at.isoformat() if article.seen_at else None
        if best is None:
            story_id, first_seen, score = article.id, seen, 1.0
        else:
            story_id, first_seen = best.story_id, best.story_first_seen or seen
        encoded = encode_signature(sig)
        assignment = Assignment(
            article_id=article.id, story_id=story_id, story_first_seen=first_seen, similarity=score,
            band_keys=tuple(own_keys), signature=encoded,
        )  # fmt: skip
        out.append(assignment)
        member = StoredMember(article_id=article.id, story_id=story_id, signature=encoded, story_first_seen=first_seen)
        known.add(member, own_keys)
    return out


def _signature_of(article: NewArticle, params: Clustering) -> np.ndarray:
    """The precomputed signature when it was made with these parameters, else computed now."""
    defaults = params.num_perm == NUM_PERM and params.shingle_words == SHINGLE_WORDS
    if article.signature is not None and defaults:
        sig = decode_signature(article.signature)
        if len(sig) == NUM_PERM:
            return sig
    return signature(article.text, num_perm=params.num_perm, shingle_words=params.shingle_words)


def _first_seen_order(article: NewArticle) -> tuple[float, str]:
    stamp = article.seen_at.timestamp() if article.seen_at else float("inf")
    return stamp, article.id


def _index_member(index: InMemoryStore, member: Member, bands: int) -> None:
    stored = StoredMember(
        article_id=member.article_id, story_id=member.story_id, signature=member.signature,
        story_first_seen=member.story_first_seen,
    )  # fmt: skip
    index.add(stored, band_keys(decode_signature(member.signature), bands=bands))


def _best_candidate(
    sig: np.ndarray, candidates: Iterable[StoredMember], threshold: float
) -> tuple[StoredMember | None, float]:
    """The most similar candidate at or above ``threshold``; ties go to the smaller story id (determinism)."""
    best: StoredMember | None = None
    best_score = 0.0
    for member in sorted(candidates, key=lambda m: (m.story_id, m.article_id)):
        score = similarity(sig, decode_signature(member.signature))
        if score >= threshold and score > best_score:
            best, best_score = member, score
    return best, best_score
