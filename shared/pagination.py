"""Offset pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

T = TypeVar("T")

# PostgreSQL's bigint, the widest integer a query can take: a larger one overflows there.
MAX_OFFSET = 2**63 - 1


class PageParams(BaseModel):
    """Which slice of a list the caller wants."""

    limit: int = Field(50, ge=1, le=500, description="Items per page (1–500).")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Items to skip.")

    def wrap(self, items: Sequence[object], total: int) -> dict[str, object]:
        """The body of a `Page` response holding `items` of `total`."""
        return {"items": items, "total": total, "limit": self.limit, "offset": self.offset}


def _page_params(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (1–500).")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(_page_params)]


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total so a client can page through it."""

    items: list[T]
    total: int = Field(description="Items matching the filters, across all pages.")
    limit: int
    offset: int


async def fetch_page(
    session: AsyncSession, query: Select[tuple[T]], page: PageParams
) -> tuple[list[T], int]:
    """One page of `query`'s rows and the count of all of them."""
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    items = await session.scalars(query.limit(page.limit).offset(page.offset))
    return list(items), int(total or 0)
