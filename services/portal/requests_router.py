"""Sharing requests (A2–A4) as both departments work on them: the provider's queue of
requests to answer, oldest due first; a request's page, where the provider approves
(narrowed) or refuses with its reason, and the consumer follows it, negotiates, escalates
or withdraws; both write to each other there.

Each action is one API call as the signed-in person; what the API refuses is shown at the
input its problem names, in the form the person used, with what they typed.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, ViewerDep, with_role
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

router = APIRouter(prefix="/requests", include_in_schema=False)

Reviewer = Annotated[Viewer, with_role("request_reviewer")]
AWAITING = [("side", "provider"), ("status", "submitted"), ("status", "overdue"),
            ("status", "negotiating")]


@router.get("")
async def queue(request: Request, viewer: Reviewer, api: ApiDep, session: SessionDep,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    """The requests the department must answer, the most urgent due date first."""
    page = await api.get(REQUESTS, token=viewer.token,
                         params=[*AWAITING, ("limit", PAGE_SIZE), ("offset", offset)])
    names = await department_names(session, (item["consumer"] for item in page["items"]))
    return render(request, "requests_queue.html.j2", viewer=viewer, page=page, names=names)


@router.get("/{request_id}")
async def request_page(request: Request, request_id: uuid.UUID, viewer: ViewerDep,
                       api: ApiDep, session: SessionDep) -> Response:
    return await _page(request, viewer, api, session, request_id)


async def _page(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
                request_id: uuid.UUID, *, acted: str | None = None,
                errors: dict[str, str] | None = None, typed: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    """The request's page; after a refused action, that action's form with the refusal
    at its inputs and what was typed."""
    shown = await request_with_entry(api, viewer, str(request_id), session)
    sharing = shown["sharing"]
    side = ("provider" if viewer.department == sharing["provider"]
            else "consumer" if viewer.department == sharing["consumer"] else None)
    # The consumer follows its own request from its department's page, not the answer queue.
    return render(request, "request.html.j2", viewer=viewer, status=status, **shown,
                  section="/department" if side == "consumer" else None,
                  side=side if viewer.has_any("request_reviewer") else None,
                  acted=acted, errors=errors or {}, typed=typed or {},
                  rows=ROW_FILTER_ROWS)


@router.post("/{request_id}/answer")
async def answer(request: Request, request_id: uuid.UUID, viewer: Reviewer, api: ApiDep,
                 session: SessionDep) -> Response:
    """Approve, narrowed as the form says, or refuse with the reason given (A2): a refusal
    without one is the API's to refuse, and shown at the reason."""
    form = await request.form()
    approve = form.get("decision") == "approve"
    body: dict[str, Any] = ({"approve": True, **narrowed_terms(form)} if approve
                            else {"approve": False, "reason": text(form, "reason")})
    acted = "approve" if approve else "refuse"
    inputs = TERMS_INPUTS if approve else ("reason",)
    return await _act(request, viewer, api, session, request_id, acted, "answer", body,
                      inputs, terms_typed(form))


# The consumer's and both parties' steps: (action, API path, the body's one text input).
STEPS = {"negotiation": ("negotiation", "body"), "message": ("messages", "body"),
         "escalation": ("escalation", "reason"), "withdrawal": ("withdrawal", "reason")}


Step = Annotated[str, Path(pattern="^(" + "|".join(STEPS) + ")$")]


@router.post("/{request_id}/{step}")
async def take_step(request: Request, request_id: uuid.UUID, step: Step, viewer: Reviewer,
                    api: ApiDep, session: SessionDep) -> Response:
    """Open a negotiation, write, escalate or withdraw: each says why in one text (left
    empty, it is not sent: the API says it is needed, or takes none for a withdrawal)."""
    path, name = STEPS[step]
    form = await request.form()
    said = text(form, name)
    body = {name: said} if said else {}
    return await _act(request, viewer, api, session, request_id, step, path, body, (name,),
                      {name: said or ""})


async def _act(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
               request_id: uuid.UUID, acted: str, path: str, body: dict[str, Any],
               inputs: tuple[str, ...], typed: dict[str, Any]) -> Response:
    try:
        await api.post(f"{REQUESTS}/{request_id}/{path}", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, session, request_id, acted=acted,
                           errors=field_errors(refused, inputs), typed=typed,
                           status=refused.status if refused.status < 500 else 503)
    return redirect(request, f"/requests/{request_id}?done={acted}#result")
