"""W4: a department compiles its catalog from the Excel template, through the real gateway:
every draft created (and an entry changed) in one upload, or, for a workbook with a broken
row, nothing stored and each refused cell named with its rule and article; the template's
code lists are drop-downs; the current catalog downloads in the same layout and uploads
again unchanged."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from openpyxl import load_workbook

from tests.conftest import RunningNode
from tests.integration.conftest import (
    ENTRIES,
    bearer,
    conditional_entry,
    publish,
    register_department,
)
from tests.integration.workbooks import (
    ITEMS,
    RESOURCES,
    WORKBOOKS,
    XLSX,
    fill,
    insurance,
    population,
    rows,
    template,
    upload,
)

pytestmark = pytest.mark.integration


async def own_entries(gateway: httpx.AsyncClient, party: dict[str, str]) -> list[dict]:
    listed = await gateway.get(ENTRIES, headers=bearer(party["token"]),
                               params={"provider": party["credit_code"], "limit": 100})
    assert listed.status_code == 200, listed.text
    return listed.json()["items"]


async def current(gateway: httpx.AsyncClient, party: dict[str, str],
                  provider: str | None = None) -> bytes:
    response = await gateway.get(f"{WORKBOOKS}/current", headers=bearer(party["token"]),
                                 params={"provider": provider} if provider else {})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    return response.content


def column_of(sheet: object, header: str) -> int:
    return next(cell.column for cell in sheet[1] if cell.value == header)  # type: ignore[index]


async def test_a_broken_row_is_refused_at_its_cell_and_nothing_is_stored(
        gateway: httpx.AsyncClient, admin_token: str) -> None:
    editor = await register_department(gateway, admin_token, "catalog_editor")
    before = await own_entries(gateway, editor)
    base_item_on_conditions = population()
    base_item_on_conditions[1][1]["共享类型"] = "有条件共享"  # 公民身份号码, items row 5
    resources, items = rows(population(), base_item_on_conditions,
                            insurance(更新周期="随时"), insurance(信息资源摘要=None))
    book = await template(gateway, editor["token"])

    response = await upload(gateway, editor["token"], fill(book, resources, items))

    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/workbook-refused")
    refused = {(error["sheet"], error["row"], error["column"]): error
               for error in problem["errors"]}
    assert refused[(ITEMS, 5, "H")] | {"message": ""} == {
        "sheet": ITEMS, "row": 5, "column": "H", "header": "共享类型",
        "field": "items[1].share_type", "rule": "C3", "article": "51 §10(二)",
        "code": "catalog-rule-violation", "message": ""}
    cycle = refused[(RESOURCES, 4, "W")]
    assert (cycle["header"], cycle["code"], cycle["rule"]) == ("更新周期", "code_list", "W4")
    assert "随时" in cycle["message"] and "每月" in cycle["message"]
    abstract = refused[(RESOURCES, 5, "I")]
    assert (abstract["header"], abstract["field"], abstract["code"]) == (
        "信息资源摘要", "abstract", "missing")
    assert problem["refused"] == len(problem["errors"]) == 3
    assert await own_entries(gateway, editor) == before  # not even the good row


async def test_a_good_workbook_creates_every_draft_and_changes_the_entry_it_names(
        gateway: httpx.AsyncClient, admin_token: str) -> None:
    editor = await register_department(gateway, admin_token, "catalog_editor")
    [probe] = await own_entries(gateway, editor)
    book = load_workbook(io.BytesIO(await current(gateway, editor)))
    sheet = book[RESOURCES]
    assert sheet.cell(row=2, column=1).value == probe["code"]
    sheet.cell(row=2, column=column_of(sheet, "信息资源摘要"), value="按季度核对后的户籍人口信息。")
    new = [population(), insurance(), insurance()]
    new[2][1].append({"信息资源名称": new[2][0]["信息资源名称"], "信息项名称": "工作单位",
                      "信息项代码": "GZDW", "数据类型": "C 字符型", "共享类型": "不予共享",
                      "不予共享依据类型": "法律",
                      "不予共享依据": "《中华人民共和国个人信息保护法》第十三条"})

    response = await upload(gateway, editor["token"], fill(book, *rows(*new)))

    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"], report["unchanged"]) == (3, 1, 0)
    assert [(entry["row"], entry["outcome"]) for entry in report["entries"]] == [
        (2, "updated"), (3, "created"), (4, "created"), (5, "created")]
    stored = {entry["name"]: entry for entry in await own_entries(gateway, editor)}
    assert set(stored) == {probe["name"], *(row["信息资源名称"] for row, _ in new)}
    assert all(entry["status"] == "draft" for entry in stored.values())
    changed = stored[probe["name"]]
    assert (changed["code"], changed["version"], changed["abstract"]) == (
        probe["code"], 2, "按季度核对后的户籍人口信息。")
    assert changed["items"] == probe["items"]
    conditional = stored[new[1][0]["信息资源名称"]]
    assert conditional["share"] | {"conditions": None} == {
        "type": "conditional", "conditions": None, "legal_basis": None,
        "permitted_uses": ["data_verification", "administrative_basis"],
        "channel": "platform", "method_types": ["api"], "methods": ["online_query"],
        "sensitive": True}
    assert [(item["code"], item["data_type"], item["length"], item["identifies_subject"])
            for item in conditional["items"]] == [("GMSFHM", "C", 18, True),
                                                  ("JFJS", "Y", None, False)]
    held_back = stored[new[2][0]["信息资源名称"]]["items"][2]
    assert (held_back["share_type"], held_back["legal_basis"]) == ("not_shared", {
        "kind": "law", "title": "《中华人民共和国个人信息保护法》第十三条"})


async def test_the_template_offers_every_code_list_as_a_drop_down(
        gateway: httpx.AsyncClient, admin_token: str) -> None:
    editor = await register_department(gateway, admin_token, "catalog_editor")
    book = await template(gateway, editor["token"])
    codes = book["代码表"]
    assert codes.sheet_state == "hidden"

    def offered(title: str, header: str) -> list[str]:
        sheet = book[title]
        letter = sheet.cell(row=1, column=column_of(sheet, header)).column_letter
        [validation] = [each for each in sheet.data_validations.dataValidation
                        if f"{letter}2:{letter}1048576" in str(each.sqref)]
        assert validation.type == "list" and validation.showErrorMessage
        first, last = validation.formula1.split("!")[1].replace("$", "").split(":")
        return [cell.value for [cell] in codes[first:last]]

    assert offered(RESOURCES, "共享类型") == ["无条件共享", "有条件共享", "不予共享"]
    assert offered(RESOURCES, "信息资源分类（类）") == ["基础信息资源", "主题信息资源",
                                                     "部门信息资源"]
    assert offered(RESOURCES, "更新周期")[:3] == ["实时", "每日", "每周"]
    assert offered(RESOURCES, "是否涉密") == ["是", "否"]
    assert offered(ITEMS, "数据类型")[:2] == ["C 字符型", "N 数值型"]
    assert len(offered(ITEMS, "数据类型")) == 11
    assert book[RESOURCES].max_row == 1 and book[ITEMS].max_row == 1


async def test_the_current_catalog_uploads_again_unchanged_and_a_published_change_needs_why(
        gateway: httpx.AsyncClient, admin_token: str) -> None:
    editor = await register_department(gateway, admin_token, "catalog_editor")
    code = await publish(gateway, editor, conditional_entry())
    downloaded = await current(gateway, editor)

    again = await upload(gateway, editor["token"], downloaded)

    assert again.status_code == 200, again.text
    assert (again.json()["unchanged"], again.json()["created"], again.json()["updated"]) == (
        2, 0, 0)
    book = load_workbook(io.BytesIO(downloaded))
    sheet = book[RESOURCES]
    row = next(cells[0].row for cells in sheet.iter_rows(min_row=2) if cells[0].value == code)
    assert sheet.cell(row=row, column=column_of(sheet, "状态")).value == "已发布"
    sheet.cell(row=row, column=column_of(sheet, "共享条件"), value="仅限办理社保待遇资格认证时使用")
    changed = io.BytesIO()
    book.save(changed)
    without_reason = await upload(gateway, editor["token"], changed.getvalue())
    assert without_reason.status_code == 422, without_reason.text
    [error] = without_reason.json()["errors"]
    assert (error["row"], error["header"], error["rule"]) == (row, "变更原因", "C6")

    sheet.cell(row=row, column=column_of(sheet, "变更原因"), value="社保待遇认证方式调整")
    changed = io.BytesIO()
    book.save(changed)
    with_reason = await upload(gateway, editor["token"], changed.getvalue())
    assert with_reason.status_code == 200, with_reason.text
    assert with_reason.json()["updated"] == 1
    entry = (await gateway.get(f"{ENTRIES}/{code}", headers=bearer(editor["token"]))).json()
    assert (entry["status"], entry["version"], entry["share"]["conditions"]) == (
        "published", 3, "仅限办理社保待遇资格认证时使用")

    other = await register_department(gateway, admin_token, "catalog_editor")
    seen = load_workbook(io.BytesIO(await current(gateway, other, editor["credit_code"])))
    assert [cells[0].value for cells in seen[RESOURCES].iter_rows(min_row=2)] == [code]


async def test_what_is_no_workbook_is_refused_and_so_is_another_departments_row(
        gateway: httpx.AsyncClient, admin_token: str) -> None:
    editor = await register_department(gateway, admin_token, "catalog_editor")
    not_a_workbook = await upload(gateway, editor["token"], b"PK\x03\x04 not really a zip")
    assert not_a_workbook.status_code == 422
    assert not_a_workbook.json()["type"].endswith("/not-a-workbook")
    as_csv = await gateway.post(WORKBOOKS, content=b"a,b\n", headers={
        **bearer(editor["token"]), "Content-Type": "text/csv"})
    assert as_csv.status_code == 415, as_csv.text

    other = await register_department(gateway, admin_token, "catalog_editor")
    [theirs] = await own_entries(gateway, other)
    stolen = load_workbook(io.BytesIO(await current(gateway, other)))
    sheet = stolen[RESOURCES]
    sheet.cell(row=2, column=column_of(sheet, "信息资源摘要"), value="改写别的部门的目录。")
    written = io.BytesIO()
    stolen.save(written)
    refused = await upload(gateway, editor["token"], written.getvalue())
    assert refused.status_code == 422, refused.text
    assert {error["header"] for error in refused.json()["errors"]} == {"提供方代码"}
    assert [entry["abstract"] for entry in await own_entries(gateway, other)] == [
        theirs["abstract"]]


async def test_five_hundred_resources_load_in_one_upload(
        gateway: httpx.AsyncClient, admin_token: str) -> None:
    editor = await register_department(gateway, admin_token, "catalog_editor")
    resources, items = rows(*(insurance(f"参保信息{number:05d}") for number in range(500)))
    body = fill(await template(gateway, editor["token"]), resources, items)
    started = time.monotonic()

    response = await upload(gateway, editor["token"], body)

    took = time.monotonic() - started
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 500
    assert took < 30, f"500 resources took {took:.1f} s"


async def test_an_upload_whose_caller_stopped_waiting_stores_nothing(
        gateway: httpx.AsyncClient, node: RunningNode, admin_token: str) -> None:
    """As when the gateway gives up on a long upload: the caller never learns the outcome,
    so the catalog keeps none of it (a second upload of the same rows, which waits for the
    first's transaction on their codes' counter, then creates every one)."""
    editor = await register_department(gateway, admin_token, "catalog_editor")
    resources, items = rows(*(insurance(f"离开的上传{number:04d}") for number in range(300)))
    body = fill(await template(gateway, editor["token"]), resources, items)
    async with httpx.AsyncClient(base_url=node.service_urls["catalog"]) as catalog:
        with pytest.raises(httpx.ReadTimeout):
            await catalog.post("/workbooks", content=body, timeout=httpx.Timeout(60, read=0.5),
                               headers={**bearer(editor["token"]), "Content-Type": XLSX})

    again = await upload(gateway, editor["token"], body)

    assert again.status_code == 200, again.text
    assert again.json()["created"] == 300
