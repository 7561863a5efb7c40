"""The catalog editor's pages: the department's entries (drafts too), compiling a new entry
and changing one (a new version), each rule's refusal at the input it names (C1–C5, F3);
publishing a draft and withdrawing a published entry with its reason."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.entry_form import NEW_ENTRY, entry_body, inputs_of, spec_of
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem
from services.portal.forms import field_errors, text
from services.portal.labels import LABELS
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/catalog", include_in_schema=False)

ENTRIES = "/api/catalog/entries"
Front = Annotated[str, Path(pattern=r"^[0-9]{1,20}$")]
Number = Annotated[str, Path(pattern=r"^[0-9]{6}$")]
Editor = Annotated[Viewer, with_role("catalog_editor")]
Status = Annotated[str | None, Query(pattern="^(draft|published|withdrawn)$")]


@router.get("/own")
async def own_entries(request: Request, viewer: Editor, api: ApiDep, status: Status = None,
                      offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    """The department's entries, drafts included, by code."""
    params: dict[str, Any] = {"provider": viewer.department, "limit": PAGE_SIZE,
                              "offset": offset}
    if status:
        params["entry_status"] = status
    page = await api.get(ENTRIES, token=viewer.token, params=params)
    return render(request, "catalog_own.html.j2", viewer=viewer, page=page,
                  entry_status=status)


@router.get("/new")
async def new_entry(request: Request, viewer: Editor) -> Response:
    return _form(request, viewer, spec=NEW_ENTRY)


@router.post("/new")
async def compile_entry(request: Request, viewer: Editor, api: ApiDep) -> Response:
    """Catalogue a draft of the department; the catalog gives its code."""
    spec = entry_body(await request.form())
    try:
        created = await api.post(ENTRIES, token=viewer.token, json=spec)
    except ApiProblem as refused:
        return _form(request, viewer, spec=spec, refused=refused)
    return redirect(request, f"/catalog/entries/{created['code']}/edit?done=created")


@router.get("/entries/{front}/{number}/edit")
async def edit_entry(request: Request, front: Front, number: Number, viewer: Editor,
                     api: ApiDep) -> Response:
    entry = await api.get(f"{ENTRIES}/{front}/{number}", token=viewer.token)
    return _form(request, viewer, spec=spec_of(entry), entry=entry)


@router.post("/entries/{front}/{number}/edit")
async def change_entry(request: Request, front: Front, number: Number, viewer: Editor,
                       api: ApiDep) -> Response:
    """A new version of the entry; a published one says why (C6)."""
    form = await request.form()
    spec = entry_body(form)
    reason = text(form, "reason")
    path = f"{ENTRIES}/{front}/{number}"
    try:
        await api.put(path, token=viewer.token, json={**spec, **({"reason": reason}
                                                                if reason else {})})
    except ApiProblem as refused:
        entry = await api.get(path, token=viewer.token)
        return _form(request, viewer, spec=spec, entry=entry, refused=refused, reason=reason)
    return redirect(request, f"/catalog/entries/{front}/{number}/edit?done=saved")


@router.post("/entries/{front}/{number}/publish")
@router.post("/entries/{front}/{number}/withdraw")
async def publish_or_withdraw(request: Request, front: Front, number: Number,
                              viewer: Editor, api: ApiDep) -> Response:
    """Publish the draft, or withdraw the published entry with its reason."""
    step = request.url.path.rsplit("/", 1)[1]
    path = f"{ENTRIES}/{front}/{number}"
    reason = text(await request.form(), "withdraw_reason")
    body = ({"reason": reason} if reason else {}) if step == "withdraw" else None
    try:
        await api.post(f"{path}/{step}", token=viewer.token, json=body)
    except ApiProblem as refused:
        entry = await api.get(path, token=viewer.token)
        errors = field_errors(refused, ("reason",))
        if "reason" in errors:
            errors["withdraw_reason"] = errors.pop("reason")
        return _form(request, viewer, spec=spec_of(entry), entry=entry, acted=step,
                     errors=errors, status=refused.status)
    return redirect(request, f"/catalog/entries/{front}/{number}/edit?done={step}")


def _form(request: Request, viewer: Viewer, *, spec: dict[str, Any],
          entry: dict[str, Any] | None = None, refused: ApiProblem | None = None,
          reason: str | None = None, acted: str | None = None,
          errors: dict[str, str] | None = None, status: int = 200) -> Response:
    """The entry's form; after a refusal, what was typed with each message at its input."""
    if refused is not None:
        errors, status = field_errors(refused, inputs_of(spec)), refused.status
    return render(request, "entry_form.html.j2", viewer=viewer, status=status, spec=spec,
                  entry=entry, errors=errors or {}, reason=reason or "", acted=acted,
                  labels=LABELS)
