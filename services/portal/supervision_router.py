"""目录监督 (JS §9): the competent authority and the auditors see every department's catalog at
a glance, with the search's facets: entries published, drafts and withdrawn, change triggers
open and overdue (C6), duplicate-collection flags (C7) and base-item violations (C3), the
problems in red. A department's page lists its triggers, flags and violations; its entries
are the catalog search's, narrowed to it. The API decides who sees all this; a facet it
refuses is told at its input."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, without_empty
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import department_names
from services.portal.triggers_router import KINDS
from shared.deps import SessionDep

router = APIRouter(prefix="/catalog/supervision", include_in_schema=False)

SUPERVISION = "/api/catalog/supervision"
# The oversight roles the catalog's supervision answers (its Overseer).
SUPERVISORS = ("node_admin", "auditor")
Supervisor = Annotated[Viewer, with_role(*SUPERVISORS)]
Filter = Annotated[str, Query(max_length=100)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
CreditCode = Annotated[str, Path(pattern=r"^[0-9A-Z]{18}$")]
# The facets as the search names them: chosen from the API's values, or typed (codes).
CHOSEN_FACETS = ("classification", "share_type", "method", "tier")
TYPED_FACETS = ("provider", "region")
ORDERS = [("triggers_overdue", "逾期更新事项"), ("triggers_open", "未办结更新事项"),
          ("duplicate_collection_flags", "重复采集"), ("entries_published", "已发布目录"),
          ("entries_draft", "草稿"), ("entries_withdrawn", "已撤销目录"),
          ("department", "统一社会信用代码")]


@router.get("")
async def supervision(request: Request, viewer: Supervisor, api: ApiDep,
                      classification: Filter = "", share_type: Filter = "", method: Filter = "",
                      tier: Filter = "", provider: Filter = "", region: Filter = "",
                      order: Filter = "", offset: Offset = 0) -> Response:
    """Every department the facets choose, with its counts, the most overdue first."""
    chosen = without_empty({
        "classification": classification.strip(), "share_type": share_type.strip(),
        "method": method.strip(), "tier": tier.strip(), "provider": provider.strip(),
        "region": region.strip(), "order": order.strip()})
    page, errors, status = None, {}, 200
    try:
        page = await api.get(SUPERVISION, token=viewer.token,
                             params={**chosen, "limit": PAGE_SIZE, "offset": offset})
    except ApiProblem as refused:
        errors = field_errors(refused, (*CHOSEN_FACETS, *TYPED_FACETS, "order"))
        status = refused.status
    return render(request, "catalog_supervision.html.j2", viewer=viewer, status=status,
                  page=page, chosen=chosen, errors=errors, orders=ORDERS,
                  options={name: list(LABELS[name].items()) for name in CHOSEN_FACETS})


@router.get("/{department}")
async def department_page(request: Request, department: CreditCode, viewer: Supervisor,
                          api: ApiDep, session: SessionDep, offset: Offset = 0) -> Response:
    """One department's standing: its change triggers (unresolved first by due date), its
    duplicate-collection flags and the items that break the base-item register."""
    standing = await api.get(SUPERVISION, token=viewer.token,
                             params={"provider": department, "limit": 1})
    if not standing["items"]:
        raise HTTPException(404)
    triggers, flags, violations = await asyncio.gather(
        api.get("/api/catalog/triggers", token=viewer.token, params={
            "department": department, "limit": PAGE_SIZE, "offset": offset}),
        api.get("/api/catalog/duplicate-collection", token=viewer.token,
                params={"provider": department, "published": "true", "limit": PAGE_SIZE}),
        api.get("/api/catalog/base-items/violations", token=viewer.token,
                params={"provider": department, "limit": PAGE_SIZE}))
    names = await department_names(session, _responsible(flags))
    return render(request, "catalog_supervision_department.html.j2", viewer=viewer,
                  row=standing["items"][0], as_of=standing["as_of"], triggers=triggers,
                  flags=flags, violations=violations, names=names, kinds=dict(KINDS))


def _responsible(flags: dict[str, Any]) -> list[str]:
    return [flag["responsible_department"] for flag in flags["items"]]
