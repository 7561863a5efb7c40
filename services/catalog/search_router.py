"""Finding resources: search across the published catalog, and its open part as DCAT (C9)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import thesaurus
from services.catalog.dcat import open_catalog
from services.catalog.deps import SearchCacheDep, SessionDep, SettingsDep
from services.catalog.models import Entry, FederatedEntry
from services.catalog.router import public_views
from services.catalog.schemas import EntryPublic, SearchPage
from services.catalog.search import Hit, SearchFilters, SearchOrder, SearchScope, search_entries
from services.catalog.search_cache import generation
from services.catalog.thesaurus_router import interpretation_of
from shared.auth import CurrentPrincipal
from shared.contracts import Tier
from shared.contracts.catalog import EntryCode, ShareMethod, ShareType, TopClass
from shared.pagination import PageDep

router = APIRouter(tags=["search"])


class JSONLDResponse(JSONResponse):
    media_type = "application/ld+json"


def search_filters(
    classification: TopClass | None = None,
    provider: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    share_type: ShareType | None = None,
    method: ShareMethod | None = None,
    tier: Tier | None = None,
    region: Annotated[str | None, Query(pattern=r"^[0-9]{6}$")] = None,
) -> SearchFilters:
    """The search's facets as query parameters, for every list that offers the same."""
    return SearchFilters(top_class=classification, provider=provider, share_type=share_type,
                         method=method, tier=tier, region_code=region)


FiltersDep = Annotated[SearchFilters, Depends(search_filters)]


@router.get("/search", response_model=SearchPage,
            summary="Search published entries in Chinese, with facets")
async def search(
    principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep, page: PageDep,
    filters: FiltersDep, cache: SearchCacheDep,
    q: Annotated[str | None, Query(max_length=100, description=(
        "e.g. 户籍, 婚姻登记, or everyday words (社保, 户口) the thesaurus leads to the "
        "official terms; every word must match."))] = None,
    order: SearchOrder = SearchOrder.relevance,
    scope: Annotated[SearchScope, Query(description=(
        "`local`: this node's catalog; `all`: also the entries aggregated from the rest of "
        "the network it may see (the nodes below, above and beside it), each with its origin "
        "node and path (F1, F6)."))] = SearchScope.local,
) -> Response:
    # Every caller gets the same answer: kept until the catalog changes.
    key = (await generation(session), q, filters, order, page.limit, page.offset, scope)
    answer = cache.get(key)
    if answer is None:
        in_force = await thesaurus.current(session)
        found = await search_entries(session, text=q, thesaurus=in_force, filters=filters,
                                     order=order, page=page, scope=scope)
        answer = SearchPage(
            items=await _views(session, found.hits, settings.node_id), total=found.total,
            facets=found.facets,
            interpretation=interpretation_of(in_force, found.parts) if q else None,
            **page.model_dump()).model_dump_json().encode()
        cache.put(key, answer)
    return Response(answer, media_type="application/json")


async def _views(session: AsyncSession, hits: list[Hit], node: str) -> list[EntryPublic]:
    """The hits as the API shows them, in their order: local entries with their flags,
    aggregated ones as their origin described them."""
    local_ids = [uuid.UUID(hit.key) for hit in hits if not hit.aggregated]
    found = list(await session.scalars(select(Entry).where(Entry.id.in_(local_ids))))
    views = {str(entry.id): view
             for entry, view in zip(found, await public_views(session, found, node),
                                    strict=True)}
    aggregated = [tuple(hit.key.split(" ", 1)) for hit in hits if hit.aggregated]
    for held in await session.scalars(select(FederatedEntry).where(
            tuple_(FederatedEntry.origin_node, FederatedEntry.code).in_(aggregated))
            ) if aggregated else []:
        views[f"{held.origin_node} {held.code}"] = EntryPublic(
            **held.snapshot, created_at=held.received_at, updated_at=held.received_at,
            aggregated_via=held.path)
    return [views[hit.key] for hit in hits if hit.key in views]


@router.get("/dcat", summary="The entries open to the public as a DCAT catalog (JSON-LD); "
            "no token needed, served by the gateway at /open-data/catalog.jsonld",
            response_class=JSONLDResponse)
async def dcat_catalog(
    session: SessionDep, settings: SettingsDep, page: PageDep,
    q: Annotated[str | None, Query(max_length=100, description="Words the open entries' "
                                   "names, abstracts or items hold, as in /search.")] = None,
    code: Annotated[EntryCode | None, Query(description="The one open entry of this "
                                            "code.")] = None,
) -> Any:
    return await open_catalog(session, page, title=f"govshare open data ({settings.node_id})",
                              text=q, code=code)
