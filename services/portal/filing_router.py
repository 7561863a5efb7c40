"""Filing a sharing request from an entry's page (A1–A3): the purpose from the uses the
entry permits, the items picked from its items, the methods it offers, the period and the
legal basis. The API decides the path (granted at once, due in 10 working days, or to be
negotiated) and refuses what breaks a rule, shown at the input it names."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.portal.deps import ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text, texts, without_empty
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import ENTRIES, REQUESTS
from shared import clock
from shared.workdays import china_date

router = APIRouter(prefix="/catalog/entries", include_in_schema=False)

Front = Annotated[str, Path(pattern=r"^[0-9]{1,20}$")]
Number = Annotated[str, Path(pattern=r"^[0-9]{6}$")]
Requester = Annotated[Viewer, with_role("request_reviewer")]
# The form's inputs; what the API says of anything else (the entry itself) is told above it.
INPUTS = ("purpose", "items", "methods", "valid_until", "legal_basis", "message")


@router.get("/{front}/{number}/request")
async def filing_form(request: Request, front: Front, number: Number, viewer: Requester,
                      api: ApiDep) -> Response:
    entry = await api.get(f"{ENTRIES}/{front}/{number}", token=viewer.token)
    return _form(request, viewer, entry, typed={
        "valid_until": (china_date(clock.now()) + timedelta(days=365)).isoformat()})


@router.post("/{front}/{number}/request")
async def file_request(request: Request, front: Front, number: Number, viewer: Requester,
                       api: ApiDep) -> Response:
    code = f"{front}/{number}"
    form = await request.form()
    # The lists are sent even when none is ticked: the API says at least one is needed.
    body: dict[str, Any] = {
        "entry_code": code, "items": texts(form, "items"), "methods": texts(form, "methods"),
        **without_empty({"purpose": text(form, "purpose"),
                         "valid_until": text(form, "valid_until"),
                         "legal_basis": text(form, "legal_basis"),
                         "message": text(form, "message")})}
    try:
        filed = await api.post(REQUESTS, token=viewer.token, json=body)
    except ApiProblem as refused:
        entry = await api.get(f"{ENTRIES}/{code}", token=viewer.token)
        return _form(request, viewer, entry, typed=body, status=refused.status,
                     errors=field_errors(refused, INPUTS))
    return redirect(request, f"/requests/{filed['id']}?done=filed")


def _form(request: Request, viewer: Viewer, entry: dict[str, Any], *, typed: dict[str, Any],
          errors: dict[str, str] | None = None, status: int = 200) -> Response:
    share = entry["share"]
    # An entry that names no uses or methods limits none: every one is offered (C4, C5).
    purposes = share.get("permitted_uses") or list(LABELS["purpose"])
    methods = share.get("methods") or list(LABELS["method"])
    return render(request, "request_new.html.j2", viewer=viewer, status=status, entry=entry,
                  purposes=purposes, methods=methods, typed=typed, errors=errors or {})
