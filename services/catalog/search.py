"""Catalog search (C9): Chinese full text over names, abstracts and item names, facets by
classification, provider, share type, share method, tier and region; published entries only,
this node's own or (scope `all`) also those aggregated from the nodes below it (F1).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, String, cast, desc, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Department, Entry, FederatedEntry
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


class SearchScope(StrEnum):
    local = "local"  # this node's own catalog
    all = "all"  # and every entry aggregated from the nodes below (F1)


@dataclass(frozen=True)
class Hit:
    """One result: a local entry (`key` its id) or an aggregated one (`key` node and code)."""

    aggregated: bool
    key: str


async def search_entries(
    session: AsyncSession, *, text: str | None, filters: SearchFilters, order: SearchOrder,
    page: PageParams, scope: SearchScope = SearchScope.local,
) -> tuple[list[Hit], int, dict[str, dict[str, int]]]:
    """A page of matching published entries, their total, and facet counts over all matches."""
    candidates = _candidates(scope)
    query = _filtered(select(candidates), candidates, filters)
    rank = None
    if text and (matching := text_match(candidates.c.search_vector, text)):
        condition, rank = matching
        query = query.where(condition)
    matches = query.subquery()
    total = int(await session.scalar(select(func.count()).select_from(matches)) or 0)
    ordering = [desc(rank)] if rank is not None and order is SearchOrder.relevance else []
    rows = await session.execute(
        query.with_only_columns(candidates.c.aggregated, candidates.c.key)
        .order_by(*ordering, candidates.c.published_at.desc(), candidates.c.code)
        .limit(page.limit).offset(page.offset))
    return [Hit(aggregated, key) for aggregated, key in rows], total, await _facets(
        session, matches)


def text_match(search_vector: Any, text: str) -> tuple[Any, Any] | None:
    """The condition that `search_vector` matches `text` (every word of it, a lone
    character as a prefix) and the rank of a match; None when `text` has no words."""
    terms = query_terms(text)
    if not terms:
        return None
    tsquery = func.to_tsquery("simple", " & ".join(
        f"{term}:*" if len(term) == 1 else term for term in terms))
    return search_vector.op("@@")(tsquery), func.ts_rank(search_vector, tsquery)


def _candidates(scope: SearchScope) -> Any:
    """Published entries with the columns search needs, local ones and (scope all) those
    aggregated from other nodes, under the same names."""
    local = (select(literal(False).label("aggregated"), cast(Entry.id, String).label("key"),
                    Entry.code, Entry.provider, Department.tier,
                    Department.region_code.label("region"), Entry.top_class, Entry.share_type,
                    Entry.share_methods, Entry.search_vector, Entry.published_at)
             .join(Department, Department.credit_code == Entry.provider)
             .where(Entry.status == EntryStatus.published))
    if scope is SearchScope.local:
        return local.subquery()
    aggregated = (select(literal(True), FederatedEntry.origin_node + " " + FederatedEntry.code,
                         FederatedEntry.code, FederatedEntry.provider,
                         FederatedEntry.origin_tier, FederatedEntry.origin_region,
                         FederatedEntry.top_class, FederatedEntry.share_type,
                         FederatedEntry.share_methods, FederatedEntry.search_vector,
                         FederatedEntry.published_at)
                  .where(FederatedEntry.status == EntryStatus.published))
    return union_all(local, aggregated).subquery()


def _filtered(query: Select[Any], candidates: Any, filters: SearchFilters) -> Select[Any]:
    columns = candidates.c
    conditions = {
        columns.top_class: filters.top_class, columns.provider: filters.provider,
        columns.share_type: filters.share_type, columns.tier: filters.tier,
        columns.region: filters.region_code,
    }
    for column, value in conditions.items():
        if value:
            query = query.where(column == value)
    if filters.method:
        query = query.where(columns.share_methods.any(filters.method))
    return query


async def _facets(session: AsyncSession, matches: Any) -> dict[str, dict[str, int]]:
    columns = {
        "classification": matches.c.top_class, "provider": matches.c.provider,
        "share_type": matches.c.share_type, "tier": matches.c.tier,
        "region": matches.c.region,
    }
    facets: dict[str, dict[str, int]] = {}
    for name, column in columns.items():
        rows = await session.execute(select(column, func.count()).select_from(matches)
                                     .group_by(column))
        facets[name] = {str(value): count for value, count in rows if value is not None}
    method = func.unnest(matches.c.share_methods).label("method")
    methods = select(method).select_from(matches).subquery()
    rows = await session.execute(select(methods.c.method, func.count())
                                 .group_by(methods.c.method))
    facets["method"] = {str(value): count for value, count in rows}
    return facets
