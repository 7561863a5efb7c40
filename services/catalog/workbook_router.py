"""Compilation workbooks (W4): a department's catalog uploaded from Excel, and the same
layout downloaded, empty or holding the department's current catalog."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from services.catalog.deps import SessionDep, SettingsDep
from services.catalog.exceptions import DepartmentNotFound, UnsupportedUpload
from services.catalog.models import Department
from services.catalog.router import editor_department
from services.catalog.schemas import WorkbookReport
from services.catalog.workbook_layout import XLSX
from services.catalog.workbook_write import catalog_workbook, template_workbook
from services.catalog.workbooks import compile_workbook
from shared.auth import CurrentPrincipal
from shared.clock import now
from shared.db import transaction
from shared.problems import Conflict, Unprocessable
from shared.workdays import china_date

router = APIRouter(prefix="/workbooks", tags=["workbooks"])

SPOOLED_BYTES = 1024**2  # an upload past this waits on disk while it is read
CHUNK_BYTES = 64 * 1024
XLSX_FILE = {XLSX: {"schema": {"type": "string", "format": "binary"}}}
DOWNLOADED = {200: {"content": XLSX_FILE, "description": "The workbook (.xlsx)."}}
Provider = Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$", description=(
    "The department's unified social credit code; the caller's own when left out."))]

UPLOAD_DESCRIPTION = (
    "The body is a workbook of the compilation template (`GET /workbooks/template`): sheet "
    "信息资源 a resource a row, sheet 信息项 its info items, each naming its resource by "
    "信息资源名称. A row without 信息资源代码 becomes a new draft of the caller's department; "
    "a row with the code of one of its entries changes that entry, as `PUT /entries/{code}` "
    "does (a published one needs 变更原因), and a row declaring what the entry already holds "
    "leaves it as it is. Either every row is stored, in one transaction, or none is: the 422 "
    "problem `workbook-refused` lists in `errors` each refused cell (sheet, row, column, "
    "header), with the field, the rule and its article.")


@router.post("", response_model=WorkbookReport, description=UPLOAD_DESCRIPTION,
             summary="Compile the caller's department's catalog from a workbook (.xlsx)",
             openapi_extra={"requestBody": {"required": True, "content": XLSX_FILE}})
async def upload_workbook(request: Request, principal: CurrentPrincipal,
                          settings: SettingsDep) -> WorkbookReport:
    provider = editor_department(principal)
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != XLSX:
        raise UnsupportedUpload(f"Send the workbook as {XLSX}, not {media_type or 'nothing'}.",
                                headers={"Accept": XLSX})
    with tempfile.SpooledTemporaryFile(max_size=SPOOLED_BYTES) as upload:
        # Read whole before the transaction begins: a slow sender holds no connection.
        async for chunk in request.stream():
            upload.write(chunk)
        upload.seek(0)
        async with transaction(request.app.state.runtime.sessions) as session:
            report = await compile_workbook(session, request.app.state.runtime.outbox,
                                            upload, provider=provider, actor=principal.sub,
                                            zone=settings.node_zone)
            if await request.is_disconnected():
                # The caller (or the gateway, out of patience) is gone and will not learn the
                # outcome: store nothing rather than drafts it would upload again.
                raise Conflict("The caller left before the workbook was stored; nothing was "
                               "stored.")
            return report


@router.get("/template", response_class=StreamingResponse, responses=DOWNLOADED,
            summary="The empty compilation workbook, its code lists as drop-downs")
async def download_template(principal: CurrentPrincipal) -> StreamingResponse:
    return _download(template_workbook(), "目录编制模板.xlsx")


@router.get("/current", response_class=StreamingResponse, responses=DOWNLOADED,
            summary="A department's current catalog as a compilation workbook",
            description="Its published entries, and its drafts when the caller is of the "
                        "department; changed and uploaded again, it updates them.")
async def download_current(principal: CurrentPrincipal, session: SessionDep,
                           provider: Provider = None) -> StreamingResponse:
    provider = provider or principal.department
    if not provider:
        raise Unprocessable("Name the department (provider): the caller has none.",
                            field="provider")
    department = await session.get(Department, provider)
    if department is None:
        raise DepartmentNotFound(f"No department {provider} is registered on this node.")
    workbook = await catalog_workbook(session, provider=provider,
                                      provider_name=department.name,
                                      with_drafts=provider == principal.department)
    return _download(workbook, f"{department.name}-信息资源目录-"
                               f"{china_date(now()).isoformat()}.xlsx")


def _download(workbook: IO[bytes], filename: str) -> StreamingResponse:
    return StreamingResponse(_chunks(workbook), media_type=XLSX, headers={
        "Content-Disposition": f"attachment; filename=\"catalog.xlsx\"; "
                              f"filename*=UTF-8''{quote(filename)}"})


def _chunks(workbook: IO[bytes]) -> Iterator[bytes]:
    """The file a chunk at a time (Starlette reads a plain iterator in a thread)."""
    with workbook:
        while chunk := workbook.read(CHUNK_BYTES):
            yield chunk
