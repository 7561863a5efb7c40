"""Objections to shared data (数据异议, E6): a consumer's data operator flags a record as
doubtful or wrong; the provider verifies it and corrects the record or confirms it, with
what was done."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep, with_role
from services.portal.errors import redirect
from services.portal.exceptions import ApiProblem, NotPermitted
from services.portal.forms import FORM, field_errors, text, without_empty, words
from services.portal.pages import render
from services.portal.session import Viewer
from services.portal.sharing import department_names, entry_of
from shared.deps import SessionDep

router = APIRouter(prefix="/objections", include_in_schema=False)

OBJECTIONS = "/api/exchange/objections"
Operator = Annotated[Viewer, with_role("data_operator")]
EntryCode = Annotated[str, Query(pattern=r"^[0-9]{1,20}/[0-9]{6}$")]
RAISE = ("key", "kind", "description", "evidence")
RESOLVE = ("outcome", "resolution", "correction")


@router.get("")
async def objections(request: Request, viewer: Operator, api: ApiDep, session: SessionDep,
                     status: Annotated[str, Query(pattern="^(raised|verifying|)$")] = "",
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    params: list[tuple[str, Any]] = [("limit", PAGE_SIZE), ("offset", offset)]
    if status:
        params.append(("status", status))
    page = await api.get(OBJECTIONS, token=viewer.token, params=params)
    names = await department_names(session, (code for item in page["items"]
                                             for code in (item["consumer"], item["provider"])))
    return render(request, "objections.html.j2", viewer=viewer, page=page, names=names,
                  status_shown=status)


@router.get("/new")
async def objection_form(request: Request, viewer: Operator, api: ApiDep,
                         entry_code: EntryCode) -> Response:
    return await _new(request, viewer, api, {"entry_code": entry_code})


@router.post("/new")
async def raise_objection(request: Request, viewer: Operator, api: ApiDep) -> Response:
    form = await request.form()
    body = {"key": words(text(form, "key")), **without_empty({
        name: text(form, name) for name in ("entry_code", "kind", "description",
                                            "evidence")})}
    try:
        made = await api.post(OBJECTIONS, token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _new(request, viewer, api, body, status=refused.status,
                          errors=field_errors(refused, RAISE))
    except NotPermitted:  # no active grant on the entry: the form says so, not a 403 page
        return await _new(request, viewer, api, body, status=403, errors={
            FORM: "本部门对此资源没有有效授权，不能对其数据提出异议。"})
    return redirect(request, f"/objections/{made['id']}?done=raised")


@router.get("/{objection_id}")
async def objection_page(request: Request, objection_id: uuid.UUID, viewer: Operator,
                         api: ApiDep, session: SessionDep) -> Response:
    return await _page(request, viewer, api, session, objection_id)


@router.post("/{objection_id}/verification")
async def start_verifying(request: Request, objection_id: uuid.UUID, viewer: Operator,
                          api: ApiDep, session: SessionDep) -> Response:
    return await _act(request, viewer, api, session, objection_id, "verification", None, ())


@router.post("/{objection_id}/resolution")
async def resolve(request: Request, objection_id: uuid.UUID, viewer: Operator, api: ApiDep,
                  session: SessionDep) -> Response:
    """Correct the record (the new values, one `ITEM=value` a line) or confirm it."""
    form = await request.form()
    typed = text(form, "correction") or ""
    pairs = [line.split("=", 1) for line in typed.splitlines() if line.strip()]
    body = without_empty({"outcome": text(form, "outcome"),
                          "resolution": text(form, "resolution"),
                          "correction": {item.strip(): value.strip()
                                         for item, value in (p for p in pairs if len(p) == 2)}
                          or None})
    if any(len(pair) != 2 for pair in pairs):  # the page's own way of writing them
        return await _page(request, viewer, api, session, objection_id, acted="resolution",
                           typed={**body, "correction": typed}, status=422, errors={
                               "correction": "每行写作“信息项代码=更正后的值”。"})
    return await _act(request, viewer, api, session, objection_id, "resolution", body,
                      RESOLVE, typed={**body, "correction": typed})


async def _act(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
               objection_id: uuid.UUID, step: str, body: dict[str, Any] | None,
               inputs: tuple[str, ...], typed: dict[str, Any] | None = None) -> Response:
    try:
        await api.post(f"{OBJECTIONS}/{objection_id}/{step}", token=viewer.token, json=body)
    except ApiProblem as refused:
        return await _page(request, viewer, api, session, objection_id, acted=step,
                           typed=typed or {}, errors=field_errors(refused, inputs),
                           status=refused.status)
    return redirect(request, f"/objections/{objection_id}?done={step}")


async def _page(request: Request, viewer: Viewer, api: ApiDep, session: SessionDep,
                objection_id: uuid.UUID, *, acted: str | None = None,
                typed: dict[str, Any] | None = None, errors: dict[str, str] | None = None,
                status: int = 200) -> Response:
    objection = await api.get(f"{OBJECTIONS}/{objection_id}", token=viewer.token)
    entry = await entry_of(api, viewer, objection["entry_code"])
    names = await department_names(session, (objection["consumer"], objection["provider"]))
    return render(request, "objection.html.j2", viewer=viewer, status=status,
                  objection=objection, entry=entry, names=names, acted=acted,
                  typed=typed or {}, errors=errors or {})


async def _new(request: Request, viewer: Viewer, api: ApiDep, typed: dict[str, Any], *,
               errors: dict[str, str] | None = None, status: int = 200) -> Response:
    entry = await entry_of(api, viewer, str(typed.get("entry_code", "")))
    return render(request, "objection_new.html.j2", viewer=viewer, status=status,
                  typed=typed, entry=entry, errors=errors or {})
