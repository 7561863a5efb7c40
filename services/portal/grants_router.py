"""A grant's page (A5): what it allows and until when, for both departments; the provider's
reviewer revokes it with a reason or renews it to a later day; the consumer's data operator
reports how useful the data was (使用效果反馈), and both sides' data operators read it."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.portal.deps import ApiDep, ViewerDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem, NotPermitted
from services.portal.forms import FORM, field_errors, text, without_empty
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import GRANTS, grant_with_entry
from shared.deps import SessionDep

router = APIRouter(prefix="/grants", include_in_schema=False)

Reviewer = Annotated[Viewer, with_role("request_reviewer")]
Operator = Annotated[Viewer, with_role("data_operator")]
USEFULNESS = "/api/exchange/usefulness"
# The latest reports a grant's page shows; the rest are at /usefulness.
REPORTS_SHOWN = 5
# Each change of a grant: the API's path and the one input it takes.
CHANGES = {"revocation": "reason", "renewal": "valid_until"}
Change = Annotated[str, Path(pattern="^(revocation|renewal)$")]


@router.get("/{grant_id}")
async def grant_page(request: Request, grant_id: uuid.UUID, viewer: ViewerDep, api: ApiDep,
                     session: SessionDep) -> Response:
    return await _page(request, viewer, api, session, grant_id)


@router.post("/{grant_id}/usefulness")
async def report_usefulness(request: Request, grant_id: uuid.UUID, viewer: Operator,
                            api: ApiDep, session: SessionDep) -> Response:
    """Tell the provider how well the granted data served the department's duty."""
    form = await request.form()
    grant = await api.get(f"{GRANTS}/{grant_id}", token=viewer.token)
    typed = without_empty({"rating": text(form, "rating"), "comment": text(form, "comment")})
    try:
        await api.post(USEFULNESS, token=viewer.token,
                       json={"entry_code": grant["entry_code"], **typed})
    except ApiProblem as refused:
        errors, status = field_errors(refused, ("rating", "comment")), refused.status
    except NotPermitted:  # no active grant any more: the form says so, not a 403 page
        errors, status = {FORM: "本部门对此资源已没有有效授权，不能反馈使用效果。"}, 403
    else:
        return redirect(request, f"/grants/{grant_id}?done=usefulness")
    return await _page(request, viewer, api, session, grant_id, acted="usefulness",
                       errors=errors, typed=typed, status=status)


@router.post("/{grant_id}/{change}")
async def change_grant(request: Request, grant_id: uuid.UUID, change: Change,
                       viewer: Reviewer, api: ApiDep, session: SessionDep) -> Response:
    """Revoke (in force once answered) or renew; a refusal is shown at its input."""
    name = CHANGES[change]
    given = text(await request.form(), name)
    try:
        await api.post(f"{GRANTS}/{grant_id}/{change}", token=viewer.token,
                       json={name: given} if given else {})
    except ApiProblem as refused:
        return await _page(request, viewer, api, session, grant_id, acted=change,
                           errors=field_errors(refused, (name,)), typed={name: given or ""},
                           status=refused.status)
    return redirect(request, f"/grants/{grant_id}?done={change}")


async def _page(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
                grant_id: uuid.UUID, *, acted: str | None = None,
                errors: dict[str, str] | None = None, typed: dict[str, Any] | None = None,
                status: int = 200) -> Response:
    shown = await grant_with_entry(api, viewer, str(grant_id), session)
    provider = (viewer.department == shown["grant"]["provider"]
                and viewer.has_any("request_reviewer"))
    return render(request, "grant.html.j2", viewer=viewer, status=status, **shown,
                  provider=provider, reports=await _reports(api, viewer, shown["grant"]),
                  acted=acted, errors=errors or {}, typed=typed or {})


async def _reports(api: ApiDep, viewer: Viewer,
                   grant: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The latest usefulness reports of the grant's consumer on its entry, for either
    side's data operator (None: the viewer may not read them)."""
    if not (viewer.has_any("data_operator")
            and viewer.department in (grant["consumer"], grant["provider"])):
        return None
    page = await api.get(USEFULNESS, token=viewer.token,
                         params={"entry_code": grant["entry_code"], "limit": 50})
    return [report for report in page["items"]
            if report["consumer"] == grant["consumer"]][:REPORTS_SHOWN]
