"""Catalog search (C9): Chinese full text over names, abstracts and item names, facets by
classification, provider, share type, share method, tier and region; published entries only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Department, Entry
from services.catalog.search_text import query_terms
from shared.contracts.catalog import EntryStatus
from shared.pagination import PageParams


class SearchOrder(StrEnum):
    relevance = "relevance"
    date = "date"


@dataclass(frozen=True)
class SearchFilters:
    top_class: str | None = None
    provider: str | None = None
    share_type: str | None = None
    method: str | None = None
    tier: str | None = None
    region_code: str | None = None


FACETS = ("classification", "provider", "share_type", "method", "tier", "region")


async def search_entries(
    session: AsyncSession, *, text: str | None, filters: SearchFilters, order: SearchOrder,
    page: PageParams,
) -> tuple[list[Entry], int, dict[str, dict[str, int]]]:
    """A page of matching published entries, their total, and facet counts over all matches."""
    query = _filtered(filters)
    rank = None
    if text and (terms := query_terms(text)):
        tsquery = func.to_tsquery("simple", " & ".join(
            f"{term}:*" if len(term) == 1 else term for term in terms))
        query = query.where(Entry.search_vector.op("@@")(tsquery))
        rank = func.ts_rank(Entry.search_vector, tsquery)
    matches = query.subquery()
    total = int(await session.scalar(select(func.count()).select_from(matches)) or 0)
    ordering = [desc(rank)] if rank is not None and order is SearchOrder.relevance else []
    rows = await session.scalars(
        query.order_by(*ordering, Entry.published_at.desc(), Entry.code)
        .limit(page.limit).offset(page.offset))
    return list(rows), total, await _facets(session, matches)


def _filtered(filters: SearchFilters) -> Select[tuple[Entry]]:
    query = (select(Entry).join(Department, Department.credit_code == Entry.provider)
             .where(Entry.status == EntryStatus.published))
    conditions = {
        Entry.top_class: filters.top_class, Entry.provider: filters.provider,
        Entry.share_type: filters.share_type, Department.tier: filters.tier,
        Department.region_code: filters.region_code,
    }
    for column, value in conditions.items():
        if value:
            query = query.where(column == value)
    if filters.method:
        query = query.where(Entry.share_methods.any(filters.method))
    return query


async def _facets(session: AsyncSession, matches: Any) -> dict[str, dict[str, int]]:
    departments = select(Department.credit_code, Department.tier,
                         Department.region_code).subquery()
    joined = matches.join(departments, departments.c.credit_code == matches.c.provider)
    columns = {
        "classification": matches.c.top_class, "provider": matches.c.provider,
        "share_type": matches.c.share_type, "tier": departments.c.tier,
        "region": departments.c.region_code,
    }
    facets: dict[str, dict[str, int]] = {}
    for name, column in columns.items():
        rows = await session.execute(select(column, func.count()).select_from(joined)
                                     .group_by(column))
        facets[name] = {str(value): count for value, count in rows if value is not None}
    method = func.unnest(matches.c.share_methods).label("method")
    methods = select(method).select_from(matches).subquery()
    rows = await session.execute(select(methods.c.method, func.count())
                                 .group_by(methods.c.method))
    facets["method"] = {str(value): count for value, count in rows}
    return facets
