"""A grant's page (A5): what it allows and until when, for both departments; the provider's
reviewer revokes it with a reason or renews it to a later day."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.responses import Response

from services.portal.deps import ApiDep, ViewerDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import GRANTS, grant_with_entry
from shared.deps import SessionDep

router = APIRouter(prefix="/grants", include_in_schema=False)

Reviewer = Annotated[Viewer, with_role("request_reviewer")]
# Each change of a grant: the API's path and the one input it takes.
CHANGES = {"revocation": "reason", "renewal": "valid_until"}
Change = Annotated[str, Path(pattern="^(revocation|renewal)$")]


@router.get("/{grant_id}")
async def grant_page(request: Request, grant_id: uuid.UUID, viewer: ViewerDep, api: ApiDep,
                     session: SessionDep) -> Response:
    return await _page(request, viewer, api, session, grant_id)


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
                  provider=provider, acted=acted, errors=errors or {}, typed=typed or {})
