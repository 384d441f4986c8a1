"""Low-level HTTP: the guarded transport (address guard and deadline from ``netsafe``), and a bounded body decoder.

The guard lives in the network backend (``netsafe.GuardedBackend``), where httpcore opens the TCP connection,
so it sees the address that is actually dialled, after DNS, for the first request and for every redirect alike.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import httpx

from ingest.errors import PermanentFetchError
from netsafe import AddressRules, guarded_pool


def guarded_transport(*, rules: AddressRules, max_connections: int) -> httpx.HTTPTransport:
    """An httpx transport whose connections go through netsafe's guarded backend, with the given limit."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport = httpx.HTTPTransport(limits=limits, trust_env=False)
    # httpx does not expose httpcore's network_backend, so the pool is rebuilt with the same limits. An
    # environment proxy is deliberately never used (trust_env=False): it would dial on our behalf, unguarded.
    transport._pool = guarded_pool(rules=rules, max_connections=max_connections)
    return transport


def decoded_chunks(raw: Iterable[bytes], content_encoding: str, max_bytes: int) -> Iterator[bytes]:
    """Decompress ``raw`` chunks, raising PermanentFetchError as soon as the output would pass ``max_bytes``.

    zlib's ``max_length`` keeps each step's output bounded, so a gzip bomb costs at most ``max_bytes`` of
    memory before it is cut off, however high its ratio.
    """
    encoding = content_encoding.strip().lower()
    if encoding in ("", "identity"):
        yield from _capped(raw, max_bytes)
        return
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise PermanentFetchError(f"unsupported content-encoding {encoding!r}")
    yield from _inflate(raw, gzip=encoding != "deflate", max_bytes=max_bytes)


def _capped(raw: Iterable[bytes], max_bytes: int) -> Iterator[bytes]:
    total = 0
    for chunk in raw:
        total += len(chunk)
        if total > max_bytes:
            raise PermanentFetchError(f"body larger than the cap of {max_bytes} bytes")
        yield chunk


def _inflate(raw: Iterable[bytes], *, gzip: bool, max_bytes: int) -> Iterator[bytes]:
    decompressor: Any = None
    total = 0
    for chunk in raw:
        if decompressor is None:
            # "deflate" is zlib-wrapped by the RFC but raw DEFLATE in the wild: look at the first byte.
            wbits = 47 if gzip else (15 if chunk[:1] == b"\x78" else -15)
            decompressor = zlib.decompressobj(wbits)
        pending = chunk
        while pending:
            try:
                out = decompressor.decompress(pending, max_bytes - total + 1)
            except zlib.error as exc:
                raise PermanentFetchError(f"corrupt compressed body: {exc}") from exc
            total += len(out)
            if total > max_bytes:
                raise PermanentFetchError(f"decompressed body larger than the cap of {max_bytes} bytes")
            if out:
                yield out
            pending = decompressor.unconsumed_tail
    if decompressor is not None:
        tail = decompressor.flush()
        if total + len(tail) > max_bytes:
            raise PermanentFetchError(f"decompressed body larger than the cap of {max_bytes} bytes")
        if tail:
            yield tail
