"""Catalog supervision (监督考核, JS §9) without a node: it offers exactly the search's facets,
splits them between departments and entries, and its page is in the menu of the oversight
roles only."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.dialects import postgresql

from services.catalog import search_router, supervision_router
from services.catalog.models import Entry
from services.catalog.search import FACETS, SearchFilters, entry_conditions
from services.catalog.supervision import _departments
from services.portal.pages import _section, navigation
from services.portal.session import Viewer


def _parameters(document: dict[str, Any], path: str) -> dict[str, Any]:
    return {parameter["name"]: parameter["schema"]
            for parameter in document["paths"][path]["get"]["parameters"]}


def test_supervision_takes_the_search_facets_as_search_reads_them() -> None:
    app = FastAPI()
    app.include_router(search_router.router)
    app.include_router(supervision_router.router)
    document = app.openapi()
    search, supervision = _parameters(document, "/search"), _parameters(document, "/supervision")
    assert {name: supervision[name] for name in FACETS} == {name: search[name]
                                                            for name in FACETS}


def _sql(filters: SearchFilters) -> str:
    chosen = entry_conditions(filters, top_class=Entry.top_class, share_type=Entry.share_type,
                              share_methods=Entry.share_methods)
    return str(_departments(filters, chosen, date(2026, 11, 2)).compile(
        dialect=postgresql.dialect()))


def test_an_entry_facet_narrows_entries_and_flags_and_lists_only_departments_with_such(
) -> None:
    sql = _sql(SearchFilters(top_class="base"))
    triggers = sql[sql.index("(SELECT change_trigger"):sql.index("GROUP BY change_trigger")]
    assert sql.count("entry.top_class =") == 2  # the entries counted and the flags counted
    assert "top_class" not in triggers  # a trigger concerns the whole catalog
    assert sql.rstrip().endswith("IS NOT NULL")


def test_a_department_facet_chooses_departments_listed_with_or_without_entries() -> None:
    sql = _sql(SearchFilters(tier="municipal", region_code="320100"))
    assert "department.tier =" in sql and "department.region_code =" in sql
    assert "top_class" not in sql and "IS NOT NULL" not in sql


def _viewer(*roles: str) -> Viewer:
    return Viewer("t", "lina", "李娜", None, None, roles, 0)


@pytest.mark.parametrize(("roles", "shown"), [
    (("node_admin",), True), (("auditor",), True), (("catalog_editor",), False),
    (("arbiter",), False), (("security_admin",), False),
])
def test_the_supervision_page_is_in_the_menu_of_the_competent_authority_and_auditors(
    roles: tuple[str, ...], shown: bool
) -> None:
    assert ("/catalog/supervision" in [item.path for item in navigation(_viewer(*roles))]
            ) is shown


@pytest.mark.parametrize("here", ["/catalog/supervision",
                                  "/catalog/supervision/11320100MB1234567X"])
def test_a_supervision_page_lights_its_own_menu_link(here: str) -> None:
    assert _section(navigation(_viewer("auditor")), here) == "/catalog/supervision"
