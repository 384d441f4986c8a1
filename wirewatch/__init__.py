"""Wirewatch: news feeds -> clean articles -> entity tags -> Elasticsearch -> alerts on tracked groups."""

__version__ = "0.1.0"
