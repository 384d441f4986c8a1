"""The analysts' query language and search over the articles alias.

Modules: ``querylang`` (the query language -> an AST -> Elasticsearch DSL, syntax errors with a position),
``query`` (search with filters, highlights, facets and ``search_after`` paging), ``results`` (hits, facets,
cursors as plain records), ``histogram`` (date histograms with bounds and a bucket cap of their own).
"""

__all__ = ["histogram", "query", "querylang", "results"]
