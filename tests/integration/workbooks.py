"""Compilation workbooks as a department fills them in (W4): the template the catalog hands
out, its rows filled under their Chinese headers, sent back through the gateway."""

from __future__ import annotations

import io
import random
from typing import Any

import httpx
from openpyxl import load_workbook
from openpyxl.workbook import Workbook

from tests.integration.conftest import bearer

WORKBOOKS = "/api/catalog/workbooks"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RESOURCES, ITEMS = "信息资源", "信息项"
Row = dict[str, Any]


async def template(gateway: httpx.AsyncClient, token: str) -> Workbook:
    response = await gateway.get(f"{WORKBOOKS}/template", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX
    return load_workbook(io.BytesIO(response.content))


def fill(book: Workbook, resources: list[Row], items: list[Row]) -> bytes:
    """The rows written under the headers they name, as a person types them."""
    for title, rows in ((RESOURCES, resources), (ITEMS, items)):
        sheet = book[title]
        column = {cell.value: cell.column for cell in sheet[1]}
        for number, row in enumerate(rows, start=sheet.max_row + 1):
            for header, value in row.items():
                sheet.cell(row=number, column=column[header], value=value)
    written = io.BytesIO()
    book.save(written)
    return written.getvalue()


async def upload(gateway: httpx.AsyncClient, token: str, body: bytes) -> httpx.Response:
    return await gateway.post(WORKBOOKS, content=body,
                              headers={**bearer(token), "Content-Type": XLSX})


def population(name: str | None = None, **cells: Any) -> tuple[Row, list[Row]]:
    """A base population resource (人口基础信息) as its row and its items' rows."""
    name = name or f"户籍人口基础信息{random.randint(100_000, 999_999)}"
    resource = {"信息资源名称": name, "信息资源分类（类）": "基础信息资源",
                "信息资源分类（项）": "01", "信息资源分类（目）": "001",
                "信息资源摘要": "本市户籍人口的姓名、公民身份号码、出生日期等基础信息。",
                "信息资源格式": "数据库", "格式类型": "postgresql", "共享类型": "无条件共享",
                "共享渠道": "共享平台", "共享方式": "联机查询、批量下载", "更新周期": "每日",
                **cells}
    items = [{"信息资源名称": name, "信息项名称": "姓名", "信息项代码": "XM",
              "数据类型": "C 字符型", "长度": 50, "是否基础信息项": "是", "共享类型": "无条件共享"},
             {"信息资源名称": name, "信息项名称": "公民身份号码", "信息项代码": "GMSFHM",
              "数据类型": "C 字符型", "长度": 18, "是否标识主体": "是", "是否基础信息项": "是",
              "共享类型": "无条件共享"}]
    return resource, items


def insurance(name: str | None = None, **cells: Any) -> tuple[Row, list[Row]]:
    """A theme resource (社会保障) shared on conditions."""
    name = name or f"城镇职工养老保险参保信息{random.randint(100_000, 999_999)}"
    resource = {"信息资源名称": name, "信息资源分类（类）": "主题信息资源",
                "信息资源分类（项）": "03", "信息资源分类（目）": "002",
                "信息资源摘要": "参保人员的参保状态、缴费基数和缴费记录。",
                "信息资源格式": "服务接口", "格式类型": "json", "共享类型": "有条件共享",
                "共享条件": "仅限办理社会保险相关业务时核验使用", "使用用途": "数据校核、行政依据",
                "共享渠道": "共享平台", "共享方式类型": "接口", "共享方式": "联机查询",
                "是否敏感": "是", "更新周期": "每月", **cells}
    items = [{"信息资源名称": name, "信息项名称": "公民身份号码", "信息项代码": "GMSFHM",
              "数据类型": "C 字符型", "长度": 18, "是否标识主体": "是", "共享类型": "有条件共享"},
             {"信息资源名称": name, "信息项名称": "缴费基数", "信息项代码": "JFJS",
              "数据类型": "Y 货币型", "共享类型": "有条件共享"}]
    return resource, items


def rows(*resources: tuple[Row, list[Row]]) -> tuple[list[Row], list[Row]]:
    """The resources' rows, and all their items' rows one after another."""
    return [row for row, _ in resources], [item for _, items in resources for item in items]
