"""The catalog editor's compilation workbook (W4, 从Excel导入): the empty template and the
department's current catalog downloaded, a filled-in workbook uploaded; its report shows
each draft made or entry changed, or each refused cell with what is wrong with it, the rule
and its article (nothing is stored then)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from services.portal.deps import ApiDep, with_role
from services.portal.exceptions import ApiProblem
from services.portal.messages import BY_VALIDATION_CODE, field_message, problem_message
from services.portal.pages import render
from services.portal.session import Viewer

router = APIRouter(prefix="/catalog/workbook", include_in_schema=False)

WORKBOOKS = "/api/catalog/workbooks"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Editor = Annotated[Viewer, with_role("catalog_editor")]
# The catalog reads and checks the whole workbook before it answers: thousands of rows take
# longer than a page's call may (the gateway gives it a minute of silence).
UPLOAD_SECONDS = 90.0
CHUNK_BYTES = 64 * 1024
SHOWN_ENTRIES = 200  # of a large workbook's report, the rows listed on the page
OUTCOMES = {"created": "新编草稿", "updated": "已修改", "unchanged": "未变"}
# The refusals only a workbook has (the catalog's rules read as the entry form shows them).
CELL_MESSAGES = {
    "code_list": "不在代码表中：请从下拉列表中选择。",
    "header_missing": "缺少此列：请在平台下载的模板中填写。",
    "sheet_missing": "缺少此工作表：请在平台下载的模板中填写。",
    "duplicate_name": "与本表另一行的信息资源名称重复。",
    "orphan_item": "“信息资源”表中没有这个名称的信息资源。",
    "no_items": "该信息资源没有信息项：请在“信息项”表中填写。",
    "not-providers-editor": "只能导入本部门的目录。",
    "entry-not-found": "本部门没有这个代码的目录。",
}
UPLOAD_MESSAGES = {
    "not-a-workbook": "这不是按目录编制模板填写的 Excel 工作簿（.xlsx），或其行数超出一次导入"
                      "的上限。",
    "unsupported-media-type": "请上传 Excel 工作簿（.xlsx）。",
    "payload-too-large": "文件过大：请分成几个工作簿导入。",
}


@router.get("")
async def workbook_page(request: Request, viewer: Editor) -> Response:
    return _page(request, viewer)


@router.post("")
async def import_workbook(request: Request, viewer: Editor, api: ApiDep) -> Response:
    """Send the workbook on to the catalog as it is read; show what it made, or refused."""
    form = await request.form()
    try:
        upload = form.get("workbook")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return _page(request, viewer, status=422,
                         errors={"workbook": "请选择要导入的 Excel 工作簿（.xlsx）。"})
        try:
            report = await api.upload(WORKBOOKS, token=viewer.token, content=_chunks(upload),
                                      media_type=XLSX, seconds=UPLOAD_SECONDS)
        except ApiProblem as refused:
            return _refused(request, viewer, refused, upload.filename)
        return _page(request, viewer, report=report, filename=upload.filename,
                     shown=report["entries"][:SHOWN_ENTRIES])
    finally:
        await form.close()


@router.get("/template")
async def download_template(viewer: Editor, api: ApiDep) -> Response:
    return await _download(api, viewer, f"{WORKBOOKS}/template")


@router.get("/current")
async def download_current(viewer: Editor, api: ApiDep) -> Response:
    return await _download(api, viewer, f"{WORKBOOKS}/current")


async def _download(api: ApiDep, viewer: Viewer, path: str) -> Response:
    answer = await api.download(path, token=viewer.token)
    return Response(answer.content, media_type=XLSX, headers={
        "Content-Disposition": answer.headers.get("content-disposition", "attachment")})


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK_BYTES):
        yield chunk


def _refused(request: Request, viewer: Viewer, refused: ApiProblem,
             filename: str) -> Response:
    """The refused cells as a table, or what is wrong with the file itself at its input."""
    cells = refused.body.get("errors") if refused.slug == "workbook-refused" else None
    if not isinstance(cells, list):
        message = UPLOAD_MESSAGES.get(refused.slug, refused.message)
        return _page(request, viewer, status=refused.status, filename=filename,
                     errors={"workbook": message}, detail=refused.detail)
    return _page(request, viewer, status=refused.status, filename=filename,
                 refusals=[{**cell, "explained": cell_message(cell)} for cell in cells
                           if isinstance(cell, dict)],
                 refused=refused.body.get("refused", len(cells)))


def cell_message(cell: dict[str, Any]) -> str:
    """What a refused cell means, in Chinese: as the entry form says it for the same field."""
    code, rule, field = str(cell.get("code")), cell.get("rule"), cell.get("field")
    if code in CELL_MESSAGES:
        return CELL_MESSAGES[code]
    if rule == "C6" and field == "reason":
        return "修改已发布的目录须填写变更原因（C6）。"
    if code in BY_VALIDATION_CODE:
        return field_message(code)
    return problem_message(422, code, cell)


def _page(request: Request, viewer: Viewer, *, status: int = 200,
          **context: Any) -> Response:
    context.setdefault("errors", {})
    return render(request, "catalog_workbook.html.j2", viewer=viewer, status=status,
                  outcomes=OUTCOMES, **context)
