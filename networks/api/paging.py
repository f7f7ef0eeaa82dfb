"""Lists come in pages as the site's tables do: `?page=` (from 1) and `?per=`, Django's
Paginator underneath (a page past the last is the last, as on the pages)."""

from collections.abc import Callable, Iterable
from typing import Generic, TypeVar

from django.core.paginator import Paginator
from django.db.models import QuerySet
from ninja import Field, Schema

T = TypeVar("T")
PER_CHOICES = (50, 100, 250, 500)  # the pages' own sizes (networks.forms.filters.PAGE_SIZES)


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000)
    per: int = Field(50, ge=1, le=500)


class Page(Schema, Generic[T]):
    count: int  # rows in all pages
    page: int
    pages: int
    per: int
    results: list[T]


def paged(rows: QuerySet, query: PageQuery, serialize: Callable[[Iterable], list]) -> dict:
    """The page `query` asks for of `rows`, its rows made by `serialize` (one call, so it can
    read what they need in bulk)."""
    paginator = Paginator(rows, query.per)
    page = paginator.get_page(query.page)
    return {
        "count": paginator.count,
        "page": page.number,
        "pages": paginator.num_pages,
        "per": query.per,
        "results": serialize(page.object_list),
    }
