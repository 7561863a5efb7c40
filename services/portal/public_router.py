"""The open-data site (开放数据), for everyone without signing in: the entries the node opens
to the public (its DCAT catalog), an entry's description and terms of use, and how to use
the API. The public's data goes through the API's open-data path only."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, OptionalViewerDep
from services.portal.exceptions import ApiProblem
from services.portal.pages import render

router = APIRouter(prefix="/public", include_in_schema=False)

OPEN_CATALOG = "/open-data/catalog.jsonld"
FREQUENCY_CYCLE = {"UPDATE_CONT": "realtime", "DAILY": "daily", "WEEKLY": "weekly",
                   "MONTHLY": "monthly", "QUARTERLY": "quarterly", "ANNUAL_2": "half_yearly",
                   "ANNUAL": "yearly", "OTHER": "other"}


@router.get("")
async def open_entries(request: Request, viewer: OptionalViewerDep, api: ApiDep,
                       q: Annotated[str | None, Query(max_length=100)] = None,
                       offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset}
    if q:
        params["q"] = q
    catalog = await api.get(OPEN_CATALOG, token=None, params=params)
    datasets = [_dataset(d) for d in catalog.get("dcat:dataset", [])]
    template = ("public_results.html.j2" if request.headers.get("hx-target") == "results"
                else "public_index.html.j2")
    return render(request, template, viewer=viewer, q=q or "", datasets=datasets,
                  extent=catalog.get("dct:extent", {}), title=catalog.get("dct:title", ""))


@router.get("/entries/{front}/{number}")
async def open_entry(request: Request, viewer: OptionalViewerDep, api: ApiDep,
                     front: Annotated[str, Path(pattern=r"^[0-9]{1,20}$")],
                     number: Annotated[str, Path(pattern=r"^[0-9]{6}$")]) -> Response:
    catalog = await api.get(OPEN_CATALOG, token=None,
                            params={"code": f"{front}/{number}", "limit": 1})
    found = catalog.get("dcat:dataset", [])
    if not found:
        raise ApiProblem.from_body(404, {"type": "/not-found", "detail": "no open entry"})
    return render(request, "public_entry.html.j2", viewer=viewer, dataset=_dataset(found[0]))


@router.get("/api")
async def api_guide(request: Request, viewer: OptionalViewerDep) -> Response:
    return render(request, "public_api.html.j2", viewer=viewer,
                  base_url=str(request.base_url).rstrip("/"))


def _dataset(node: dict[str, Any]) -> dict[str, Any]:
    """A DCAT dataset as the page shows it."""
    frequency = str(node.get("dct:accrualPeriodicity", {}).get("@id", "")).rsplit("/", 1)[-1]
    publisher = node.get("dct:publisher", {})
    rights = node.get("dct:accessRights")
    distributions = node.get("dcat:distribution", [])
    return {
        "code": node.get("dct:identifier", ""),
        "title": node.get("dct:title", {}).get("@value", ""),
        "description": node.get("dct:description", {}).get("@value", ""),
        "publisher": publisher.get("foaf:name", ""),
        "publisher_code": publisher.get("dct:identifier", ""),
        "issued": node.get("dct:issued"), "modified": node.get("dct:modified"),
        "cycle": FREQUENCY_CYCLE.get(frequency, "other"),
        "theme": node.get("dcat:theme", ""),
        "keywords": node.get("dcat:keyword", []),
        "terms": None if rights in (None, "open") else rights,
        "formats": [d.get("dct:format", "") for d in distributions
                    if "dcat:downloadURL" not in d],
        "downloads": [{"format": d.get("dct:format", ""),
                       "url": d["dcat:downloadURL"].get("@id", ""),
                       "items": d.get("dct:description", "")}
                      for d in distributions if "dcat:downloadURL" in d],
    }
