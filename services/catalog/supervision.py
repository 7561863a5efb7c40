"""Supervision (监督考核) of the catalog by the competent authority of a tier [JS §9]: per
department, how far its catalog is compiled (entries published, drafts, withdrawn), the
updates it owes (C6: change triggers open and past their due date [51 §8]) and the items it
collects that another department is responsible for (C7: duplicate-collection flags standing
[JS §25(六)]), narrowed by the search's facets.

The search's facets split in two. Provider, tier and region choose departments; a department
without any entry is listed too, since a catalog not compiled is what supervision looks for.
Classification, share type and method choose entries: the entries and flags counted are
theirs, and only departments with such an entry (in any state) are listed. Change triggers
concern a department's whole catalog, so they are counted whatever entry facet is chosen.

Every count is made in the database, a few grouped subqueries joined to the departments, so
a page costs the same whether the node has ten departments or ten thousand. Base-item
violations (C3) are matched by normalised name in Python, so they are counted for the
departments of the page only, and cannot order the list.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import base_items
from services.catalog.models import ChangeTrigger, Department, DuplicateCollectionFlag, Entry
from services.catalog.search import SearchFilters, department_conditions, entry_conditions
from shared.contracts.catalog import EntryStatus
from shared.pagination import PageParams


class SupervisionOrder(StrEnum):
    """What the list is ordered by: a count, the largest first, or the department's code."""

    triggers_overdue = "triggers_overdue"
    triggers_open = "triggers_open"
    duplicate_collection_flags = "duplicate_collection_flags"
    entries_published = "entries_published"
    entries_draft = "entries_draft"
    entries_withdrawn = "entries_withdrawn"
    department = "department"


COUNTS = ("entries_published", "entries_draft", "entries_withdrawn", "triggers_open",
          "triggers_overdue", "duplicate_collection_flags")


@dataclass(frozen=True)
class DepartmentStanding:
    """One department's row: who it is and its counts."""

    department: str
    name: str
    tier: str
    region: str
    entries_published: int
    entries_draft: int
    entries_withdrawn: int
    triggers_open: int
    triggers_overdue: int
    duplicate_collection_flags: int
    base_item_violations: int


async def supervise(session: AsyncSession, *, filters: SearchFilters, today: date,
                    order: SupervisionOrder, page: PageParams,
                    ) -> tuple[list[DepartmentStanding], int]:
    """A page of the departments the facets choose with their counts, triggers judged
    overdue on `today`, and how many departments the facets choose."""
    chosen_entries = entry_conditions(filters, top_class=Entry.top_class,
                                      share_type=Entry.share_type,
                                      share_methods=Entry.share_methods)
    listed = _departments(filters, chosen_entries, today).subquery()
    total = int(await session.scalar(select(func.count()).select_from(listed)) or 0)
    ordering = ([] if order is SupervisionOrder.department
                else [desc(listed.c[order.value])])
    rows = (await session.execute(select(listed).order_by(*ordering, listed.c.department)
                                  .limit(page.limit).offset(page.offset))).all()
    violations = await _violations(session, [row.department for row in rows], chosen_entries)
    return [DepartmentStanding(**row._mapping, base_item_violations=violations[row.department])
            for row in rows], total


def _departments(filters: SearchFilters, chosen_entries: list[ColumnElement[bool]],
                 today: date) -> Select[Any]:
    entries = _entry_counts(chosen_entries)
    triggers = _trigger_counts(today)
    flags = _flag_counts(chosen_entries)
    counts = [func.coalesce(subquery.c[name], 0).label(name)
              for subquery, names in ((entries, COUNTS[:3]), (triggers, COUNTS[3:5]),
                                      (flags, COUNTS[5:])) for name in names]
    query = (select(Department.credit_code.label("department"), Department.name,
                    Department.tier, Department.region_code.label("region"), *counts)
             .outerjoin(entries, entries.c.provider == Department.credit_code)
             .outerjoin(triggers, triggers.c.department == Department.credit_code)
             .outerjoin(flags, flags.c.provider == Department.credit_code)
             .where(*department_conditions(filters, provider=Department.credit_code,
                                           tier=Department.tier,
                                           region=Department.region_code)))
    if filters.chooses_entries:
        query = query.where(entries.c.provider.is_not(None))
    return query


def _entry_counts(chosen_entries: list[ColumnElement[bool]]) -> Any:
    def of(status: EntryStatus) -> Any:
        return func.count().filter(Entry.status == status)

    return (select(Entry.provider, of(EntryStatus.published).label("entries_published"),
                   of(EntryStatus.draft).label("entries_draft"),
                   of(EntryStatus.withdrawn).label("entries_withdrawn"))
            .where(*chosen_entries).group_by(Entry.provider).subquery())


def _trigger_counts(today: date) -> Any:
    """Unresolved triggers, and of them those past their due date on `today` (C6)."""
    unresolved = ChangeTrigger.resolved_at.is_(None)
    return (select(ChangeTrigger.department,
                   func.count().filter(unresolved).label("triggers_open"),
                   func.count().filter(unresolved, ChangeTrigger.due_on < today)
                   .label("triggers_overdue"))
            .group_by(ChangeTrigger.department).subquery())


def _flag_counts(chosen_entries: list[ColumnElement[bool]]) -> Any:
    """Flags of published entries: a draft collects nothing yet (C7)."""
    return (select(DuplicateCollectionFlag.provider,
                   func.count().label("duplicate_collection_flags"))
            .join(Entry, Entry.id == DuplicateCollectionFlag.entry_id)
            .where(Entry.status == EntryStatus.published, *chosen_entries)
            .group_by(DuplicateCollectionFlag.provider).subquery())


async def _violations(session: AsyncSession, departments: list[str],
                      chosen_entries: list[ColumnElement[bool]]) -> Counter[str]:
    """Items of these departments' published entries that break the base-item register."""
    if not departments:
        return Counter()
    found = await base_items.violations(
        session, provider=None, subject=None,
        where=[Entry.provider.in_(departments), *chosen_entries])
    return Counter(violation.entry.provider for violation in found)
