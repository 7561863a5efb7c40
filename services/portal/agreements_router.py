"""Confidentiality agreements (保密协议, A6): a sensitive grant waits for one, proposed by
either party and confirmed by the other with the same signed document's SHA-256 (as
`sha256sum` prints it); one lapsing suspends its grants until a renewal is confirmed."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text, without_empty
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import department_names, entry_of
from shared.deps import SessionDep

router = APIRouter(prefix="/agreements", include_in_schema=False)

AGREEMENTS = "/api/authorization/agreements"
Reviewer = Annotated[Viewer, with_role("request_reviewer")]
TERMS = ("reference", "document_sha256", "signed_on", "valid_until")
EntryCode = Annotated[str, Query(pattern=r"^[0-9]{1,20}/[0-9]{6}$")]
CreditCode = Annotated[str, Query(pattern=r"^[0-9A-Z]{18}$")]


@router.get("")
async def agreements(request: Request, viewer: Reviewer, api: ApiDep, session: SessionDep,
                     status: Annotated[str, Query(pattern="^(proposed|in_force|)$")] = "",
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    params: list[tuple[str, Any]] = [("limit", PAGE_SIZE), ("offset", offset)]
    if status:
        params.append(("status", status))
    page = await api.get(AGREEMENTS, token=viewer.token, params=params)
    names = await department_names(session, (code for item in page["items"]
                                             for code in (item["consumer"], item["provider"])))
    return render(request, "agreements.html.j2", viewer=viewer, page=page, names=names,
                  status_shown=status)


@router.get("/new")
async def proposal_form(request: Request, viewer: Reviewer, api: ApiDep, session: SessionDep,
                        consumer: CreditCode, entry_code: EntryCode) -> Response:
    return await _proposal(request, viewer, api, session,
                           {"consumer": consumer, "entry_code": entry_code})


@router.post("/new")
async def propose(request: Request, viewer: Reviewer, api: ApiDep,
                  session: SessionDep) -> Response:
    form = await request.form()
    body = without_empty({name: text(form, name) for name in ("consumer", "entry_code",
                                                               *TERMS)})
    try:
        made = await api.post(AGREEMENTS, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _proposal(request, viewer, api, session, body, status=refused.status,
                               errors=field_errors(refused, TERMS))
    return redirect(request, f"/agreements/{made['id']}?done=proposed")


@router.get("/{agreement_id}")
async def agreement_page(request: Request, agreement_id: uuid.UUID, viewer: Reviewer,
                         api: ApiDep, session: SessionDep) -> Response:
    return await _page(request, viewer, api, session, agreement_id)


@router.post("/{agreement_id}/confirmation")
async def confirm(request: Request, agreement_id: uuid.UUID, viewer: Reviewer, api: ApiDep,
                  session: SessionDep) -> Response:
    """Confirm with the SHA-256 of one's own signed copy: it must be the proposal's."""
    given = text(await request.form(), "document_sha256")
    return await _act(request, viewer, api, session, agreement_id, "confirmation",
                      {"document_sha256": given} if given else {}, ("document_sha256",))


@router.post("/{agreement_id}/renewal")
async def renew(request: Request, agreement_id: uuid.UUID, viewer: Reviewer, api: ApiDep,
                session: SessionDep) -> Response:
    form = await request.form()
    return await _act(request, viewer, api, session, agreement_id, "renewal",
                      without_empty({name: text(form, name) for name in TERMS}), TERMS)


async def _act(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
               agreement_id: uuid.UUID, step: str, body: dict[str, Any],
               inputs: tuple[str, ...]) -> Response:
    try:
        made = await api.post(f"{AGREEMENTS}/{agreement_id}/{step}", token=viewer.token,
                              json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, session, agreement_id, acted=step,
                           typed=body, errors=field_errors(refused, inputs),
                           status=refused.status)
    return redirect(request, f"/agreements/{made['id']}?done={step}")


async def _page(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
                agreement_id: uuid.UUID, *, acted: str | None = None,
                typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Response:
    agreement = await api.get(f"{AGREEMENTS}/{agreement_id}", token=viewer.token)
    entry = await entry_of(api, viewer, agreement["entry_code"])
    names = await department_names(session, (agreement["consumer"], agreement["provider"]))
    return render(request, "agreement.html.j2", viewer=viewer, status=status,
                  agreement=agreement, entry=entry, names=names, acted=acted,
                  typed=typed or {}, errors=errors or {})


async def _proposal(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
                    typed: dict[str, Any], *, errors: dict[str, str] | None = None,
                    status: int = 200) -> Response:
    entry = await entry_of(api, viewer, str(typed.get("entry_code", "")))
    names = await department_names(session, (str(typed.get("consumer", "")),))
    return render(request, "agreement_new.html.j2", viewer=viewer, status=status,
                  typed=typed, entry=entry, names=names, errors=errors or {})
