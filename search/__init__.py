"""search stage (see docs/design.md, Layout): everything Elasticsearch. Imports nothing of ours
but ``netsafe``.

At the top, what every role shares:

- ``client``     the Elasticsearch client from plain arguments; ``es_errors`` maps the client's errors
- ``names``      ``IndexNames``: every index and alias name, under an optional prefix
- ``errors``     the exception tree (drawn in its docstring)
- ``mappings``   the article mapping (the contract of docs/article-document.md) and the small state mappings
- ``analysis``   ``ww_english`` / ``ww_exact`` from the built-in analyzers or the project's plugin
- ``indices``    templates, the versioned articles index behind its alias, migration by copy and alias swap
- ``bulk``       idempotent article writes (content-hash mget, per-document retries); ``bulksend`` sends chunks
- ``leases``     one runner per feed: lease documents taken with ``op_type=create`` or sequence numbers
- ``feedstate``  ``EsFeedStateStore``: where each feed's ETag, Last-Modified, body hash and seen ids live
- ``known``      which article ids exist already
- ``stories``    story state in the index: band keys and signatures of earlier articles, for clustering
- ``reuse``      entities of an identical text (same ``content_hash``), so a copy does not pay for NER again

By role, in sub-packages:

- ``localnode/`` the local Elasticsearch node without Docker (fetch, start, stop, status)
- ``querying/``  the analyst query language and search (highlights, facets, paging)
- ``alerting/``  watches, matching with ``_msearch``, alert documents, the outbox, reconciliation
"""

__all__ = [
    "alerting",
    "analysis",
    "bulk",
    "bulksend",
    "client",
    "errors",
    "feedstate",
    "indices",
    "known",
    "leases",
    "localnode",
    "mappings",
    "names",
    "querying",
    "reuse",
    "stories",
]
