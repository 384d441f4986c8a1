"""ingest stage (see docs/design.md, Layout): feeds and pages in, clean ``Article`` records out.

Imports nothing of ours but ``netsafe``.

Modules, one task each:

- ``feedwork`` one feed's work entry by entry (triage, fetch, extract, accept, written, state to commit): the
  pieces the streaming engine (``wirewatch/engine``) drives as its stages finish
- ``feedcap``  a huge feed cut to its newest entries before feedparser reads it
- ``feeds``    feed list YAML -> ``FeedSpec``; ``poll_feed`` (conditional GET, feedparser on bytes) -> ``FeedPoll``
- ``fetch``    the safe HTTP fetcher: ``Fetcher(FetchPolicy(...)).fetch(url, kind=)`` -> ``FetchResult``
- ``http``     the guarded connection layer (``netsafe``) for httpx, and the bounded decompressor
- ``robots``   robots.txt per host, cached
- ``state``    ``FeedState``, backoff, the one due rule (``is_due``, ``due_feeds``), the ``FeedStateStore``
  protocol and ``MemoryFeedStateStore``
- ``extract``  trafilatura -> ``Article``; ``pool``: ``ExtractPool`` with a deadline per page
- ``urls``     canonical URLs, ``article_id``, ``content_hash``; ``charset``: bytes -> text for pages
- ``dates``    bounds on dates from outside: publication dates, Last-Modified
- ``outcomes`` the named final state of every entry, and their tally; ``errors``: the exception tree
"""
