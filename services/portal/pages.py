"""Rendering pages: the templates, the filters they use (Chinese dates, labels, working-day
countdowns) and the navigation each role sees."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from services.portal.labels import label
from services.portal.session import Viewer
from shared import clock
from shared.problems import RETRY_AFTER_UNAVAILABLE
from shared.workdays import CHINA_TIME, WorkdayCalendar, china_date

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")
CALENDAR = WorkdayCalendar()
# Deadlines this close (working days) are shown as pressing.
PRESSING_WORKDAYS = 3


@dataclass(frozen=True)
class NavItem:
    """A link of the header; shown to a person holding one of `roles` (None: everyone
    signed in), with a department if `department` is set."""

    label: str
    path: str
    roles: tuple[str, ...] | None = None
    department: bool = False
    also: tuple[str, ...] = ()  # patterns of pages elsewhere in the site that belong here

    def shown_to(self, viewer: Viewer) -> bool:
        if self.department and not viewer.department:
            return False
        return self.roles is None or viewer.has_any(*self.roles)

    def claims(self, here: str) -> bool:
        """Whether the page at path `here` is one of those elsewhere that belong here."""
        return any(re.fullmatch(pattern, here) for pattern in self.also)

    def holds(self, here: str) -> bool:
        """Whether the page at path `here` is this link's or below it."""
        return here == self.path or (self.path != "/"
                                     and here.startswith(self.path.rstrip("/") + "/"))


# The staff pages; a new role's pages add their entry here.
NAVIGATION: list[NavItem] = [
    NavItem("工作台", "/"),
    NavItem("目录检索", "/catalog"),
    NavItem("本部门", "/department", roles=("catalog_editor", "request_reviewer",
                                            "data_operator"), department=True),
    NavItem("待答复申请", "/requests", roles=("request_reviewer",), department=True),
    NavItem("本部门目录", "/catalog/own", roles=("catalog_editor",), department=True,
            also=(r"/catalog/new", r"/catalog/triggers(/.*)?", r"/catalog/entries/.+/edit",
                  r"/catalog/(duplicates|databases|projects|workbook)(/.*)?")),
    NavItem("保密协议", "/agreements", roles=("request_reviewer",), department=True),
    NavItem("数据异议", "/objections", roles=("data_operator",), department=True),
    NavItem("效果反馈", "/usefulness", roles=("data_operator",), department=True),
    NavItem("协调裁决", "/arbitration", roles=("arbiter",)),
    NavItem("审计日志", "/audit", roles=("auditor",)),
    NavItem("目录监督", "/catalog/supervision", roles=("node_admin", "auditor")),
    NavItem("考核评估", "/evaluation"),
    NavItem("系统管理", "/admin", roles=("node_admin",)),
    NavItem("用户与角色", "/admin/users", roles=("security_admin",)),
    NavItem("开放数据", "/public"),
    NavItem("接口说明", "/public/api"),
    NavItem("通知邮箱", "/admin/notice-mail", roles=("node_admin",)),
]


def _section(shown: list[NavItem], here: str) -> str | None:
    """The link a page is under: the one claiming it, else the longest path above it."""
    claimed = [item.path for item in shown if item.claims(here)]
    return claimed[0] if claimed else max(
        (item.path for item in shown if item.holds(here)), key=len, default=None)


def navigation(viewer: Viewer | None) -> list[NavItem]:
    if viewer is None:
        return [NavItem("开放数据", "/public"), NavItem("接口说明", "/public/api")]
    return [item for item in NAVIGATION if item.shown_to(viewer)]


@dataclass(frozen=True)
class Countdown:
    """Working days left to a due date, as a person reads it."""

    text: str
    level: str  # ok, pressing, today, late: the CSS class


def countdown(due: date | str | None, today: date | None = None) -> Countdown | None:
    """How many working days are left until `due` (or how many it is late by)."""
    if due is None:
        return None
    due_day = date.fromisoformat(due) if isinstance(due, str) else due
    today = today or china_date(clock.now())
    if due_day > today:
        left = CALENDAR.workdays_between(today, due_day)
        return Countdown(f"剩余 {left} 个工作日",
                         "pressing" if left <= PRESSING_WORKDAYS else "ok")
    if due_day == today:
        return Countdown("今天到期", "today")
    return Countdown(f"已逾期 {CALENDAR.workdays_between(due_day, today)} 个工作日", "late")


def cn_date(value: date | datetime | str | None) -> str:
    """2026年10月16日 (a moment: its day in China)."""
    day = _day(value)
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def cn_datetime(value: datetime | str | None) -> str:
    """2026年10月16日 14:05, China time."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{cn_date(moment)} {moment.astimezone(CHINA_TIME):%H:%M}"


def _day(value: date | datetime | str | None) -> date | None:
    if not value:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    return china_date(value) if isinstance(value, datetime) else value


def page_query(request: Request, **changes: Any) -> str:
    """The current page's query string with `changes` (None removes a parameter)."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params += [(k, v) for k, v in changes.items() if v is not None]
    return "?" + urlencode(params)


TEMPLATES.env.filters.update(label=label, cn_date=cn_date, cn_datetime=cn_datetime,
                             countdown=countdown)
TEMPLATES.env.globals.update(page_query=page_query)


def render(request: Request, template: str, *, viewer: Viewer | None, status: int = 200,
           section: str | None = None, **context: Any) -> HTMLResponse:
    """The page `template` for `viewer`, with the header's navigation (`section`: the link
    it is under, when its path does not tell) and the form token."""
    shown = navigation(viewer)
    current = section or _section(shown, request.url.path)
    page = TEMPLATES.TemplateResponse(request, template, status_code=status, context={
        "viewer": viewer, "navigation": shown, "current": current,
        "today": china_date(clock.now()),
        "csrf_token": request.scope.get("state", {}).get("csrf_token", ""),
        "partial": request.headers.get("hx-request") == "true", **context})
    if status == 503:  # the platform is away for a moment, as the API says it: when to retry
        page.headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE
    return page
