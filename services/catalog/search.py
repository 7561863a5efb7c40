"""Catalog search (C9): Chinese full text over names, classification names, item names and
abstracts (weighted in that order), read through the thesaurus, facets by classification,
provider, share type, share method, tier and region; published entries only, this node's own
or (scope `all`) also those aggregated from the nodes below it (F1).

Entries that match equally well (the same resource of thirteen cities, say) come in the order
a person looking for data would want: those holding data on the platform first, then the
most used, then the most recently loaded, and only then the newest published.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    DateTime,
    Select,
    String,
    cast,
    desc,
    func,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import Department, Entry, EntryActivity, FederatedEntry
from services.catalog.thesaurus import QueryPart, Thesaurus, text_query
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

    @property
    def chooses_entries(self) -> bool:
        """Whether a facet of the entries themselves is chosen, not only of their provider."""
        return bool(self.top_class or self.share_type or self.method)


FACETS = ("classification", "provider", "share_type", "method", "tier", "region")


class SearchScope(StrEnum):
    local = "local"  # this node's own catalog
    all = "all"  # and every entry aggregated from the nodes below (F1)


@dataclass(frozen=True)
class Hit:
    """One result: a local entry (`key` its id) or an aggregated one (`key` node and code)."""

    aggregated: bool
    key: str


@dataclass(frozen=True)
class SearchResult:
    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]]
    parts: list[QueryPart]  # how the query was read (none without one)


async def search_entries(
    session: AsyncSession, *, text: str | None, thesaurus: Thesaurus, filters: SearchFilters,
    order: SearchOrder, page: PageParams, scope: SearchScope = SearchScope.local,
) -> SearchResult:
    """A page of matching published entries, their total, and facet counts over all matches."""
    candidates = _candidates(scope)
    query = _filtered(select(candidates), candidates, filters)
    parts = thesaurus.interpret(text) if text else []
    rank = None
    if matching := text_match(candidates.c.search_vector, parts):
        condition, rank = matching
        query = query.where(condition)
    matches = query.subquery()
    total = int(await session.scalar(select(func.count()).select_from(matches)) or 0)
    columns = candidates.c
    ordering = [desc(rank), columns.data_since.is_not(None).desc(), columns.uses.desc(),
                columns.last_loaded_at.desc().nulls_last()] if (
        rank is not None and order is SearchOrder.relevance) else []
    rows = await session.execute(
        query.with_only_columns(columns.aggregated, columns.key)
        .order_by(*ordering, columns.published_at.desc(), columns.code)
        .limit(page.limit).offset(page.offset))
    return SearchResult([Hit(aggregated, key) for aggregated, key in rows], total,
                        await _facets(session, matches), parts)


def text_match(search_vector: Any, parts: list[QueryPart]) -> tuple[Any, Any] | None:
    """The condition that `search_vector` matches every part of a query (one of its terms)
    and the rank of a match; None when the query has nothing to look for."""
    query = text_query(parts)
    if query is None:
        return None
    return (search_vector.op("@@")(func.to_tsquery("simple", query.match)),
            func.ts_rank(search_vector, func.to_tsquery("simple", query.rank)))


def _candidates(scope: SearchScope) -> Any:
    """Published entries with the columns search needs, local ones and (scope all) those
    aggregated from other nodes, under the same names."""
    local = (select(literal(False).label("aggregated"), cast(Entry.id, String).label("key"),
                    Entry.code, Entry.provider, Department.tier,
                    Department.region_code.label("region"), Entry.top_class, Entry.share_type,
                    Entry.share_methods, Entry.search_vector, Entry.published_at,
                    EntryActivity.data_since, EntryActivity.last_loaded_at,
                    func.coalesce(EntryActivity.uses, 0).label("uses"))
             .join(Department, Department.credit_code == Entry.provider)
             .outerjoin(EntryActivity, EntryActivity.entry_code == Entry.code)
             .where(Entry.status == EntryStatus.published))
    if scope is SearchScope.local:
        return local.subquery()
    aggregated = (select(literal(True), FederatedEntry.origin_node + " " + FederatedEntry.code,
                         FederatedEntry.code, FederatedEntry.provider,
                         FederatedEntry.origin_tier, FederatedEntry.origin_region,
                         FederatedEntry.top_class, FederatedEntry.share_type,
                         FederatedEntry.share_methods, FederatedEntry.search_vector,
                         FederatedEntry.published_at,
                         # What another node's exchange holds is not known here.
                         cast(null(), DateTime(timezone=True)),
                         cast(null(), DateTime(timezone=True)), cast(literal(0), BigInteger))
                  .where(FederatedEntry.status == EntryStatus.published))
    return union_all(local, aggregated).subquery()


def _filtered(query: Select[Any], candidates: Any, filters: SearchFilters) -> Select[Any]:
    columns = candidates.c
    return query.where(
        *department_conditions(filters, provider=columns.provider, tier=columns.tier,
                               region=columns.region),
        *entry_conditions(filters, top_class=columns.top_class,
                          share_type=columns.share_type, share_methods=columns.share_methods))


def department_conditions(filters: SearchFilters, *, provider: Any, tier: Any,
                          region: Any) -> list[ColumnElement[bool]]:
    """The facets that choose departments (provider, tier, region), on these columns."""
    chosen = ((provider, filters.provider), (tier, filters.tier), (region, filters.region_code))
    return [column == value for column, value in chosen if value]


def entry_conditions(filters: SearchFilters, *, top_class: Any, share_type: Any,
                     share_methods: Any) -> list[ColumnElement[bool]]:
    """The facets that choose entries (classification, share type, method), on these
    columns."""
    chosen = ((top_class, filters.top_class), (share_type, filters.share_type))
    conditions = [column == value for column, value in chosen if value]
    if filters.method:
        conditions.append(share_methods.any(filters.method))
    return conditions


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
