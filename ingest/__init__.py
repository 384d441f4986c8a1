"""ingest stage (see docs/design.md, Layout): feeds and pages in, clean ``Article`` records out.

Imports nothing of ours but ``netsafe``.

Modules, one task each:

- ``collect``  the entry point of a pass: ``collect(feeds, states, fetcher=, pool=, known_ids=, now=, options=)``
  -> ``IngestBatch`` (articles, per-entry outcomes, polls, proposed states; ``finish`` / ``states_to_commit``)
- ``feeds``    feed list YAML -> ``FeedSpec``; ``poll_feed`` (conditional GET, feedparser on bytes) -> ``FeedPoll``
- ``fetch``    the safe HTTP fetcher: ``Fetcher(FetchPolicy(...)).fetch(url, kind=)`` -> ``FetchResult``
- ``http``     the address guard in the connection layer, and the bounded decompressor
- ``robots``   robots.txt per host, cached
- ``state``    ``FeedState``, backoff, the ``FeedStateStore`` protocol and ``MemoryFeedStateStore``
- ``extract``  trafilatura -> ``Article``; ``pool``: ``ExtractPool`` with a deadline per page
- ``urls``     canonical URLs, ``article_id``, ``content_hash``; ``charset``: bytes -> text for pages
- ``outcomes`` the named final state of every entry, and their tally; ``errors``: the exception tree
"""
