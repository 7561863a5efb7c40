"""The catalog for the signed-in: search with facets, and an entry's page."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, ViewerDep
from services.portal.exceptions import ApiProblem, NotPermitted
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/catalog", include_in_schema=False)

Front = Annotated[str, Path(pattern=r"^[0-9]{1,20}$")]
Number = Annotated[str, Path(pattern=r"^[0-9]{6}$")]
Filter = Annotated[str | None, Query(max_length=100)]
# The facets in the order the page shows them, with the label kind of their values.
FACETS = [("classification", "classification", "信息资源分类"), ("share_type", "share_type",
          "共享类型"), ("method", "method", "共享方式"), ("tier", "tier", "层级"),
          ("provider", None, "提供部门"), ("region", None, "行政区划")]
OVERSIGHT = ("auditor", "node_admin", "arbiter")


@router.get("")
async def search(request: Request, viewer: ViewerDep, api: ApiDep, q: Filter = None,
                 classification: Filter = None, provider: Filter = None,
                 share_type: Filter = None, method: Filter = None, tier: Filter = None,
                 region: Filter = None, scope: Filter = None,
                 offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    filters = {"q": q, "classification": classification, "provider": provider,
               "share_type": share_type, "method": method, "tier": tier, "region": region,
               "scope": scope}
    chosen = {name: value for name, value in filters.items() if value}
    problem, results = None, None
    try:
        results = await api.get("/api/catalog/search", token=viewer.token,
                                params={**chosen, "limit": PAGE_SIZE, "offset": offset})
    except ApiProblem as refused:
        problem = refused
    template = ("catalog_results.html.j2" if request.headers.get("hx-target") == "results"
                else "catalog_search.html.j2")
    return render(request, template, viewer=viewer, chosen=chosen, results=results,
                  problem=problem, facets=FACETS, providers=_provider_names(results))


def _provider_names(results: dict[str, Any] | None) -> dict[str, str]:
    """Names of the providers the page shows (the facet counts name them by code)."""
    return {item["provider"]: item["provider_name"] for item in (results or {}).get("items", [])}


@router.get("/entries/{front}/{number}")
async def entry_page(request: Request, front: Front, number: Number, viewer: ViewerDep,
                     api: ApiDep) -> Response:
    path = f"/api/catalog/entries/{front}/{number}"
    entry, versions = await asyncio.gather(api.get(path, token=viewer.token),
                                           api.get(f"{path}/versions", token=viewer.token))
    return render(request, "catalog_entry.html.j2", viewer=viewer, entry=entry,
                  versions=list(reversed(versions)),
                  sees_freshness=_sees_freshness(viewer, entry["provider"]))


def _sees_freshness(viewer: Viewer, provider: str) -> bool:
    """The API tells an entry's freshness to its provider and the oversight roles."""
    return viewer.department == provider or viewer.has_any(*OVERSIGHT)


@router.get("/entries/{front}/{number}/freshness")
async def entry_freshness(request: Request, front: Front, number: Number, viewer: ViewerDep,
                          api: ApiDep) -> Response:
    """The entry page's freshness section, loaded after the page (the survey is the slow
    part of it, and the page is read without it)."""
    code = f"{front}/{number}"
    try:
        surveyed = await api.get("/api/exchange/freshness", token=viewer.token)
    except (ApiProblem, NotPermitted):
        surveyed = []
    freshness = next((f for f in surveyed if f["entry_code"] == code), None)
    return render(request, "catalog_freshness.html.j2", viewer=viewer, freshness=freshness)


@router.get("/entries/{front}/{number}/diff")
async def entry_diff(request: Request, front: Front, number: Number, viewer: ViewerDep,
                     api: ApiDep, from_version: Annotated[int, Query(alias="from", ge=1,
                                                                     le=2**31 - 1)],
                     to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)]
                     ) -> Response:
    changes = await api.get(f"/api/catalog/entries/{front}/{number}/diff", token=viewer.token,
                            params={"from": from_version, "to": to_version})
    return render(request, "catalog_diff.html.j2", viewer=viewer, changes=changes,
                  from_version=from_version, to_version=to_version)
