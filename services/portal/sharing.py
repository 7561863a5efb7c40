"""What the sharing pages (requests, grants, cases) have in common: reading a request with
what it names, and the narrowed terms an approval or a decision gives (A2, A3)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData

from services.portal import inbox
from services.portal.api import NodeApi
from services.portal.exceptions import ApiProblem, NotPermitted
from services.portal.forms import text, texts, without_empty, words
from services.portal.notices import Names, department_named, entry_named
from services.portal.session import Viewer

REQUESTS = "/api/authorization/requests"
GRANTS = "/api/authorization/grants"
ENTRIES = "/api/catalog/entries"
# The inputs of the narrowed terms (the row filter's rows are named row_item/op/values).
TERMS_INPUTS = ("items", "row_filter", "rate_limit_per_minute", "valid_until")
ROW_FILTER_ROWS = 2
ENTRY_CODE = re.compile(r"^[0-9]{1,20}/[0-9]{6}$")


async def department_names(session: AsyncSession, codes: Iterable[str]) -> Mapping[str, str]:
    """The departments' names as the portal knows them (from the identity events)."""
    return (await names_of(session, departments=codes)).departments


async def names_of(session: AsyncSession, *, departments: Iterable[str] = (),
                   entries: Iterable[str] = ()) -> Names:
    """Departments' and entries' names as the portal knows them (from the events)."""
    marked = ([department_named(code) for code in set(departments) if code]
              + [entry_named(code) for code in set(entries) if code])
    return await inbox.names_for(session, marked)


async def entry_of(api: NodeApi, viewer: Viewer, code: str) -> dict[str, Any] | None:
    """The catalog entry a request or grant is for, if the viewer may still see it (and
    `code` is an entry's code at all: it becomes part of the API's path)."""
    if not ENTRY_CODE.match(code):
        return None
    try:
        return await api.get(f"{ENTRIES}/{code}", token=viewer.token)
    except (ApiProblem, NotPermitted):
        return None


async def request_with_entry(api: NodeApi, viewer: Viewer, request_id: str,
                             session: AsyncSession) -> dict[str, Any]:
    """A request with its history, its entry's items by name and its parties' names."""
    detail = await api.get(f"{REQUESTS}/{request_id}", token=viewer.token)
    entry = await entry_of(api, viewer, detail["entry_code"])
    names = await department_names(session, (detail["consumer"], detail["provider"],
                                             *(m["sender"] for m in detail["messages"])))
    item_names = {item["code"]: item["name"] for item in (entry or {}).get("items", [])}
    return {"sharing": detail, "entry": entry, "names": names, "item_names": item_names}


async def grant_with_entry(api: NodeApi, viewer: Viewer, grant_id: str,
                           session: AsyncSession) -> dict[str, Any]:
    grant = await api.get(f"{GRANTS}/{grant_id}", token=viewer.token)
    entry, names = await asyncio.gather(
        entry_of(api, viewer, grant["entry_code"]),
        department_names(session, (grant["consumer"], grant["provider"])))
    item_names = {item["code"]: item["name"] for item in (entry or {}).get("items", [])}
    return {"grant": grant, "entry": entry, "names": names, "item_names": item_names}


def narrowed_terms(form: FormData) -> dict[str, Any]:
    """The terms an approval or a decision gives, as typed: the items kept (all of them
    sent, so none kept is refused by the API, not read as "as asked"), the row filter's
    filled rows, the rate and the end date (empty: as asked)."""
    rows = [{"item": item.strip(), "op": op, "values": words(values)}
            for item, op, values in zip(form.getlist("row_item"), form.getlist("row_op"),
                                        form.getlist("row_values"), strict=False)
            if isinstance(item, str) and isinstance(values, str)
            and (item.strip() or values.strip())]
    return {"items": texts(form, "items"), **without_empty({
        "row_filter": rows, "rate_limit_per_minute": text(form, "rate_limit_per_minute"),
        "valid_until": text(form, "valid_until")})}


def terms_typed(form: FormData) -> dict[str, Any]:
    """The terms form as typed, to show it again with the API's refusal."""
    return {"items": texts(form, "items"), "row_item": form.getlist("row_item"),
            "row_op": form.getlist("row_op"), "row_values": form.getlist("row_values"),
            "rate_limit_per_minute": text(form, "rate_limit_per_minute") or "",
            "valid_until": text(form, "valid_until") or "", "reason": text(form, "reason")}
