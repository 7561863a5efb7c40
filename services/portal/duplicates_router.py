"""The department's duplicate collection (重复采集, C7): the items its entries collect that
the register names another department responsible for, and the flags that went, with why.

The API offers nothing to do on a flag: it goes when the entry stops collecting the item
(the item removed, the entry withdrawn) or the register names the department itself. So
each flag leads to its entry, where the editor changes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from services.portal.deps import PAGE_SIZE, ApiDep
from services.portal.editor_router import Editor
from services.portal.pages import render
from services.portal.sharing import names_of
from shared.deps import SessionDep

router = APIRouter(prefix="/catalog/duplicates", include_in_schema=False)

FLAGS = "/api/catalog/duplicate-collection"
State = Annotated[str, Query(pattern="^(standing|cleared)$")]


@router.get("")
async def duplicates(request: Request, viewer: Editor, api: ApiDep, session: SessionDep,
                     state: State = "standing",
                     offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Response:
    page = await api.get(FLAGS, token=viewer.token, params={
        "provider": viewer.department, "state": state, "limit": PAGE_SIZE, "offset": offset})
    names = await names_of(session, departments=(flag["responsible_department"]
                                                 for flag in page["items"]),
                           entries=(flag["entry_code"] for flag in page["items"]))
    return render(request, "catalog_duplicates.html.j2", viewer=viewer, page=page,
                  state=state, names=names)
