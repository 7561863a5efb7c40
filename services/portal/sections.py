"""The tabs under a menu of the header (考核评估, 系统管理): each page of the menu shows them,
each tab to the roles its page lets in, so a person sees only the pages they may open.

Templates call `section_tabs` (`_tabs.html.j2`); it is registered with the templates when
this module is first imported, which the routers of these pages do.
"""

from __future__ import annotations

from services.portal.pages import TEMPLATES, NavItem
from services.portal.session import Viewer

# Every department's figures (V1, V2): the auditor, the node's operator and the competent
# authority's arbiters, as the evaluation's API allows.
OVERSIGHT = ("auditor", "node_admin", "arbiter")
ADMIN = ("node_admin",)

SECTIONS: dict[str, list[NavItem]] = {
    "evaluation": [
        NavItem("得分与排名", "/evaluation"),
        NavItem("考核指标", "/evaluation/indicators", roles=OVERSIGHT),
        NavItem("整改清单", "/evaluation/rectifications"),
        NavItem("僵尸系统", "/evaluation/systems", roles=OVERSIGHT),
        NavItem("经费资格", "/evaluation/funding", roles=OVERSIGHT),
        NavItem("年度报告", "/evaluation/reports", roles=OVERSIGHT),
    ],
    "admin": [
        NavItem("部门", "/admin/departments", roles=ADMIN),
        NavItem("系统接入凭证", "/admin/clients", roles=ADMIN),
        NavItem("用户与角色", "/admin/users", roles=("node_admin", "security_admin")),
        NavItem("通知邮箱", "/admin/notice-mail", roles=ADMIN),
        NavItem("节点与级联", "/admin/federation", roles=ADMIN),
        NavItem("考核办法", "/admin/scoring-method", roles=ADMIN),
        NavItem("节假日安排", "/admin/calendar", roles=ADMIN),
    ],
}


def section_tabs(section: str, viewer: Viewer | None, here: str
                 ) -> list[tuple[NavItem, bool]]:
    """The tabs of `section` `viewer` may open, each with whether the page at `here` is its
    (the longest tab path above the page)."""
    shown = [tab for tab in SECTIONS[section] if viewer and tab.shown_to(viewer)]
    current = max((tab.path for tab in shown if tab.holds(here)), key=len, default=None)
    return [(tab, tab.path == current) for tab in shown]


TEMPLATES.env.globals.update(section_tabs=section_tabs)
