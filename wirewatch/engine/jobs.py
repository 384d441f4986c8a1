"""What travels on the queues between the stages: one entry of one feed, at its current stage."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.extract import Article, PageInput
    from ingest.feeds import FeedItem
    from ingest.feedwork import FeedWork
    from wirewatch.early import Early
    from wirewatch.engine.ahead import Ticket


@dataclass(frozen=True)
class PageJob:
    work: FeedWork
    item: FeedItem


@dataclass(frozen=True)
class ExtractJob:
    work: FeedWork
    item: FeedItem
    page: PageInput
    ticket: Ticket | None = None  # the page's place under the fetch-ahead bound (released once written)


@dataclass(frozen=True)
class ArticleJob:
    work: FeedWork
    item: FeedItem
    article: Article
    early: Early | None = None  # tags and story signature made in the extraction process
    ticket: Ticket | None = None
