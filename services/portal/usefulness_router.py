"""Usefulness reports (使用效果反馈): how well shared data served the department that
received it. A consumer's data operator files one from the grant's page; here the data
operators of both sides read them, those the department filed and those on its data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep
from services.portal.grants_router import USEFULNESS, Operator
from services.portal.pages import render
from services.portal.sharing import names_of
from shared.deps import SessionDep

router = APIRouter(prefix="/usefulness", include_in_schema=False)

EntryCode = Annotated[str, Query(pattern=r"^([0-9]{1,20}/[0-9]{6})?$")]


@router.get("")
async def usefulness(request: Request, viewer: Operator, api: ApiDep, session: SessionDep,
                     entry_code: EntryCode = "",
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    params: dict[str, Any] = {"limit": PAGE_SIZE, "offset": offset}
    if entry_code:
        params["entry_code"] = entry_code
    page = await api.get(USEFULNESS, token=viewer.token, params=params)
    names = await names_of(session, departments=(code for report in page["items"]
                                                 for code in (report["consumer"],
                                                              report["provider"])),
                           entries=[*(report["entry_code"] for report in page["items"]),
                                    entry_code])
    return render(request, "usefulness.html.j2", viewer=viewer, page=page, names=names,
                  entry_code=entry_code)
