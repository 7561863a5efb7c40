"""The node admin's page of the scoring method (考核办法, V2): the method in force and its
version, changed through a form the API judges (each refusal at the input it names), or
filled from a tier's documented default first. Scores, rankings and reports use the new
method from the moment it is saved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.admin_router import Admin
from services.portal.deps import ApiDep
from services.portal.errors import redirect
from services.portal.evaluation_router import EVALUATION
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors
from services.portal.labels import LABELS
from services.portal.method_form import INDICATORS, INPUTS, method_body, method_inputs
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/admin/scoring-method", include_in_schema=False)

METHOD = f"{EVALUATION}/scoring-method"
Tier = Annotated[str | None, Query(pattern="^(national|provincial|municipal|county)$")]


@router.get("")
async def scoring_method(request: Request, viewer: Admin, api: ApiDep,
                         defaults: Tier = None) -> Response:
    """The method in force; with `defaults`, the form filled with that tier's default."""
    in_force = await api.get(METHOD, token=viewer.token)
    shown = (await api.get(f"{METHOD}/defaults/{defaults}", token=viewer.token) if defaults
             else in_force["method"])
    return _page(request, viewer, in_force, values=method_inputs(shown), defaults=defaults)


@router.post("")
async def change_method(request: Request, viewer: Admin, api: ApiDep) -> Response:
    form = await request.form()
    try:
        await api.put(METHOD, token=viewer.token, json=method_body(form))
    except ApiProblem as refused:
        in_force = await api.get(METHOD, token=viewer.token)
        typed = {name: form.get(name, "") for name in INPUTS}
        return _page(request, viewer, in_force, values=typed, status=refused.status,
                     errors=field_errors(refused, INPUTS))
    return redirect(request, "/admin/scoring-method?saved=1")


def _page(request: Request, viewer: Viewer, in_force: dict[str, Any], *,
          values: dict[str, Any], defaults: str | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return render(request, "admin_method.html.j2", viewer=viewer, status=status,
                  in_force=in_force, values=values, defaults=defaults, errors=errors or {},
                  indicators=INDICATORS, labels=LABELS)
