"""Catalog search (C9): Chinese full text over names, classification names, item names and
abstracts (weighted in that order), read through the thesaurus, facets by classification,
provider, share type, share method, tier and region; published entries only, this node's own
or (scope `all`) also those aggregated from the rest of the network it may see (F1, F6).

Entries that match equally well (the same resource of thirteen cities, say) come in the order
a person looking for data would want: those holding data on the platform first, then the
most used, then the most recently loaded, and only then the newest published.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, select, tuple_
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.models import SearchDocument
from services.catalog.thesaurus import QueryPart, Thesaurus, text_query
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
    all = "all"  # and every entry aggregated from the rest of the network (F1, F6)


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
    parts = thesaurus.interpret(text) if text else []
    found = (await session.execute(search_statement(
        parts=parts, filters=filters, order=order, page=page, scope=scope))).one()
    facets = facets_from_rows(found[1] or [], found[2] or [])
    return SearchResult([Hit(aggregated, key) for aggregated, key in found[0] or []],
                        facets.pop("total", {}).get("", 0), facets, parts)


def search_statement(*, parts: list[QueryPart], filters: SearchFilters, order: SearchOrder,
                     page: PageParams, scope: SearchScope) -> Select[Any]:
    """One statement, which reads the matches once from the narrow search table and returns
    one row: the page's hits, the facets' counts with the total, the share methods' counts
    (each a JSON array)."""
    document = SearchDocument
    conditions = _filtered(filters)
    if scope is SearchScope.local:
        conditions.append(~document.aggregated)
    rank: Any = literal(0)
    if matching := text_match(document.search_vector, parts):
        conditions.append(matching[0])
        rank = matching[1] if order is SearchOrder.relevance else rank
    matches = (select(document.key, document.aggregated, document.code, document.published_at,
                      document.has_data, document.uses, document.last_loaded_at,
                      document.share_methods, *_FACET_COLUMNS, rank.label("rank"))
               .where(*conditions).cte("matches").prefix_with("materialized"))
    return select(
        _page(matches, page, ranked=matching is not None and order is SearchOrder.relevance),
        _facet_counts(matches), _method_counts(matches))


def text_match(search_vector: Any, parts: list[QueryPart]) -> tuple[Any, Any] | None:
    """The condition that `search_vector` matches every part of a query (one of its terms)
    and the rank of a match; None when the query has nothing to look for."""
    query = text_query(parts)
    if query is None:
        return None
    return (search_vector.op("@@")(func.to_tsquery("simple", query.match)),
            func.ts_rank(search_vector, func.to_tsquery("simple", query.rank)))


# The facets counted in one pass (grouping sets), named as the API names them.
_FACET_COLUMNS = (SearchDocument.top_class, SearchDocument.provider, SearchDocument.share_type,
                  SearchDocument.tier, SearchDocument.region)
_FACET_NAMES = ("classification", "provider", "share_type", "tier", "region")


def _page(matches: Any, page: PageParams, *, ranked: bool) -> Any:
    """The page's hits in order as a JSON array of [aggregated, key]: when `ranked`, the
    most relevant, then (equally relevant) those holding data, the most used, the latest
    loaded; the newest published after those, or alone."""

    def order(columns: Any) -> list[Any]:
        by_relevance = [columns.rank.desc(), columns.has_data.desc(), columns.uses.desc(),
                        columns.last_loaded_at.desc().nulls_last()] if ranked else []
        return [*by_relevance, columns.published_at.desc(), columns.code, columns.key]

    columns = matches.c
    shown = (select(columns.aggregated, columns.key, columns.rank, columns.has_data,
                    columns.uses, columns.last_loaded_at, columns.published_at, columns.code)
             .order_by(*order(columns)).limit(page.limit).offset(page.offset).subquery())
    # The page's order again in the aggregate: a sorted subquery's order is not promised.
    hit = func.json_build_array(shown.c.aggregated, shown.c.key)
    return (select(func.json_agg(aggregate_order_by(hit, *order(shown.c))))
            .scalar_subquery())


def _facet_counts(matches: Any) -> Any:
    """Every facet's counts and the total, as JSON [grouping, value, count] rows: the
    grouping bit says which facet a row counts (none set: the total)."""
    columns = [matches.c[column.key] for column in _FACET_COLUMNS]
    counts = (select(func.grouping(*columns).label("grouping"),
                     func.coalesce(*columns).label("value"), func.count().label("count"))
              .group_by(func.grouping_sets(*(tuple_(column) for column in columns),
                                           tuple_()))
              .subquery())
    return (select(func.json_agg(func.json_build_array(counts.c.grouping, counts.c.value,
                                                       counts.c.count)))
            .scalar_subquery())


def _method_counts(matches: Any) -> Any:
    method = func.unnest(matches.c.share_methods).column_valued("method")
    counts = select(method, func.count().label("count")).select_from(matches).group_by(
        method).subquery()
    return (select(func.json_agg(func.json_build_array(counts.c.method, counts.c.count)))
            .scalar_subquery())


def facets_from_rows(counts: list[list[Any]],
                     methods: list[list[Any]]) -> dict[str, dict[str, int]]:
    """The facets from the rows of `_facet_counts` (under "total" the count of all) and of
    `_method_counts`."""
    width = len(_FACET_NAMES)
    facets: dict[str, dict[str, int]] = {name: {} for name in ("total", *_FACET_NAMES)}
    for grouping, value, count in counts:
        # grouping() sets a bit for every column not grouped, the first column highest.
        grouped = [index for index in range(width) if not grouping >> (width - 1 - index) & 1]
        if not grouped:
            facets["total"][""] = count
        elif value is not None:
            facets[_FACET_NAMES[grouped[0]]][str(value)] = count
    facets["method"] = {str(value): count for value, count in methods}
    return facets


def _filtered(filters: SearchFilters) -> list[ColumnElement[bool]]:
    document = SearchDocument
    return [*department_conditions(filters, provider=document.provider, tier=document.tier,
                                   region=document.region),
            *entry_conditions(filters, top_class=document.top_class,
                              share_type=document.share_type,
                              share_methods=document.share_methods)]


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
