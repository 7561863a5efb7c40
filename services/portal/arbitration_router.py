"""The arbiter's pages (A3): the cases escalated to this node's competent authority or
coordinating body, each with both sides' messages and what each did; the arbiter writes to
the parties and decides: share (narrowed as the decision says) or not, with the reason.
Only an arbiter of a department seated for the body the case went to decides: the API says
so to any other."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import (
    REQUESTS,
    ROW_FILTER_ROWS,
    TERMS_INPUTS,
    department_names,
    narrowed_terms,
    request_with_entry,
    terms_typed,
)
from shared.deps import SessionDep

router = APIRouter(prefix="/arbitration", include_in_schema=False)

Arbiter = Annotated[Viewer, with_role("arbiter")]
# Cases waiting for a decision first, then those decided, latest first within each.
SHOWN = {"open": [("status", "escalated")], "decided": [("status", "decided")]}


@router.get("")
async def cases(request: Request, viewer: Arbiter, api: ApiDep, session: SessionDep,
                state: Annotated[str, Query(pattern="^(open|decided)$")] = "open",
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    page = await api.get(REQUESTS, token=viewer.token,
                         params=[*SHOWN[state], ("limit", PAGE_SIZE), ("offset", offset)])
    names = await department_names(session, (code for item in page["items"]
                                             for code in (item["consumer"], item["provider"])))
    return render(request, "arbitration_cases.html.j2", viewer=viewer, page=page,
                  names=names, state=state)


@router.get("/{request_id}")
async def case(request: Request, request_id: uuid.UUID, viewer: Arbiter, api: ApiDep,
               session: SessionDep) -> Response:
    return await _page(request, viewer, api, session, request_id)


@router.post("/{request_id}/decision")
async def decide(request: Request, request_id: uuid.UUID, viewer: Arbiter, api: ApiDep,
                 session: SessionDep) -> Response:
    """The final decision: to share, narrowed as the form says, or not; with its reason."""
    form = await request.form()
    grant = form.get("grant")
    reason = text(form, "reason")
    body: dict[str, Any] = {**({"grant": grant == "yes"} if grant in ("yes", "no") else {}),
                            **({"reason": reason} if reason else {}),
                            **(narrowed_terms(form) if grant == "yes" else {})}
    return await _act(request, viewer, api, session, request_id, "decision", body,
                      ("grant", "reason", *TERMS_INPUTS), {**terms_typed(form),
                                                            "grant": grant or ""})


@router.post("/{request_id}/message")
async def write(request: Request, request_id: uuid.UUID, viewer: Arbiter, api: ApiDep,
                session: SessionDep) -> Response:
    said = text(await request.form(), "body")
    return await _act(request, viewer, api, session, request_id, "messages",
                      {"body": said} if said else {}, ("body",), {"body": said or ""})


async def _act(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
               request_id: uuid.UUID, path: str, body: dict[str, Any],
               inputs: tuple[str, ...], typed: dict[str, Any]) -> Response:
    try:
        await api.post(f"{REQUESTS}/{request_id}/{path}", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, session, request_id, acted=path,
                           errors=field_errors(refused, inputs), typed=typed,
                           status=refused.status)
    return redirect(request, f"/arbitration/{request_id}?done={path}")


async def _page(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
                request_id: uuid.UUID, *, acted: str | None = None,
                errors: dict[str, str] | None = None, typed: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    shown = await request_with_entry(api, viewer, str(request_id), session)
    return render(request, "arbitration_case.html.j2", viewer=viewer, status=status, **shown,
                  acted=acted, errors=errors or {}, typed=typed or {}, rows=ROW_FILTER_ROWS)
