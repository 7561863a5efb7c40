"""Compiling a department's catalog from a workbook (W4): each row of the resources sheet a
draft created or an entry changed, as the entries API would, in the caller's one
transaction; or, if any row is refused, nothing stored and every refusal named by its cell.

Each row is written as soon as it is read, so the rows after it are checked against it as
against the database (a name taken, a code not the department's), and is forgotten once
written: the session holds one entry at a time. A refused row has written nothing (the
entries API checks before it writes), so no savepoint is spent on each row: an upload of
thousands of rows is bound by its round trips to the database.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import IO

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import entries
from services.catalog.exceptions import (
    IllegalTransition,
    NotTheProvidersEditor,
    UnknownProvider,
    WorkbookRefused,
)
from services.catalog.models import Department
from services.catalog.schemas import CellRefusal, WorkbookEntry, WorkbookReport
from services.catalog.workbook_layout import (
    CODE_COLUMN,
    ITEM_COLUMNS,
    ITEMS,
    NAME_COLUMN,
    PROVIDER_COLUMN,
    REASON_COLUMN,
    RESOURCE_COLUMN,
    RESOURCE_COLUMNS,
    RESOURCES,
    Column,
)
from services.catalog.workbook_read import (
    HeldItems,
    ResourceRow,
    Sheet,
    attach_items,
    hold_items,
    open_workbook,
    refusal,
    resource_batches,
    sheet_of,
)
from shared.contracts import Zone
from shared.contracts.catalog import EntrySpec, EntryStatus
from shared.outbox import Outbox
from shared.problems import ProblemError, Unprocessable

# A report past this many refusals says how many more there were instead of naming them.
MAX_REPORTED = 1000
LIFE_CYCLE = ("C6", "51 §8, JS §9")
_INDEX = re.compile(r"\[(\d+)\]")


async def compile_workbook(session: AsyncSession, outbox: Outbox, source: IO[bytes], *,
                           provider: str, actor: str, zone: Zone) -> WorkbookReport:
    """Create or change the entries the workbook declares; WorkbookRefused names every cell
    refused, and the caller's transaction is then rolled back whole."""
    if await session.get(Department, provider) is None:
        raise UnknownProvider(f"Department {provider} is not registered on this node.",
                              field="provider")
    book = await asyncio.to_thread(open_workbook, source)
    try:
        resources, refused = sheet_of(book, RESOURCES, RESOURCE_COLUMNS)
        items, more_refused = sheet_of(book, ITEMS, ITEM_COLUMNS)
        if resources is None or items is None:
            raise _refused(refused + more_refused, len(refused) + len(more_refused))
        held = await asyncio.to_thread(hold_items, items)
        compilation = Compilation(session, outbox, provider=provider, actor=actor, zone=zone,
                                  resources=resources, items=items, held=held)
        return await compilation.run()
    finally:
        book.close()


@dataclass
class Compilation:
    """One upload's pass over its resources: what it did, and what it refused."""

    session: AsyncSession
    outbox: Outbox
    provider: str
    actor: str
    zone: Zone
    resources: Sheet
    items: Sheet
    held: HeldItems
    report: WorkbookReport = field(default_factory=lambda: WorkbookReport(
        created=0, updated=0, unchanged=0, entries=[]))
    refusals: list[CellRefusal] = field(default_factory=list)
    refused: int = 0
    rows_by_name: dict[str, int] = field(default_factory=dict)

    async def run(self) -> WorkbookReport:
        for held_refusal in self.held.refusals:
            self._refuse(held_refusal)
        batches = resource_batches(self.resources)
        while batch := await asyncio.to_thread(next, batches, None):
            for resource in batch:
                await self._compile(resource)
        self._refuse_orphans()
        if self.refused:
            raise _refused(self.refusals, self.refused)
        return self.report

    async def _compile(self, resource: ResourceRow) -> None:
        if resource.name and resource.name in self.rows_by_name:
            self._refuse(self._at(resource, NAME_COLUMN, code="duplicate_name", message=(
                f"{resource.name} is also the name of row {self.rows_by_name[resource.name]}: "
                "a provider's resources have distinct names.")))
            return
        self.rows_by_name[resource.name] = resource.row
        attach_items(resource, self.held.by_resource.pop(resource.name, []), self.items)
        if resource.provider and resource.provider != self.provider:
            resource.refusals.append(self._at(
                resource, PROVIDER_COLUMN, code="not-providers-editor",
                message=f"The row is {resource.provider}'s; upload your department's "
                        f"({self.provider}) catalog only."))
        spec = self._validated(resource)
        if spec is None:
            return
        try:
            done = await self._write(resource, spec)
        except ProblemError as problem:
            self._refuse(self._problem_at(resource, problem))
            return
        self.report.entries.append(done)
        await self.session.flush()
        self._forget_written()

    def _validated(self, resource: ResourceRow) -> EntrySpec | None:
        """The row's declaration, or None with its refusals recorded (a cell that could not
        be read is refused once, not again as the field it left empty)."""
        found = list(resource.refusals)
        try:
            spec = EntrySpec.model_validate(resource.body)
        except ValidationError as invalid:
            found += [self._error_at(resource, error) for error in invalid.errors()]
            spec = None
        cells: set[tuple[str, int | None, str | None]] = set()
        for each in found:
            if (each.sheet, each.row, each.column) not in cells:
                cells.add((each.sheet, each.row, each.column))
                self._refuse(each)
        return None if found else spec

    async def _write(self, resource: ResourceRow, spec: EntrySpec) -> WorkbookEntry:
        if resource.code is None:
            entry = await entries.create_draft(self.session, self.outbox, spec,
                                               provider=self.provider, actor=self.actor,
                                               zone=self.zone)
            return self._done(resource, entry.code, "created")
        entry = await entries.get_entry(self.session, resource.code, for_update=True)
        if entry.provider != self.provider:
            raise NotTheProvidersEditor(f"Entry {entry.code} is another department's.",
                                        field=CODE_COLUMN)
        if EntrySpec.model_validate(entry.spec) == spec:
            return self._done(resource, entry.code, "unchanged")
        if entry.status == EntryStatus.published and not resource.reason:
            raise Unprocessable("Changing a published entry needs a reason (C6).",
                                field=REASON_COLUMN, rule=LIFE_CYCLE[0], article=LIFE_CYCLE[1])
        await entries.update_entry(self.session, self.outbox, entry, spec, actor=self.actor,
                                   reason=resource.reason, zone=self.zone)
        return self._done(resource, entry.code, "updated")

    def _forget_written(self) -> None:
        """Let the rows written go from the session (they are in the transaction): it would
        hold every entry of the workbook otherwise. The provider stays, for the next row."""
        for written in list(self.session):
            if not isinstance(written, Department):
                self.session.expunge(written)

    def _done(self, resource: ResourceRow, code: str, outcome: str) -> WorkbookEntry:
        setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        return WorkbookEntry(row=resource.row, code=code, name=resource.name, outcome=outcome)

    def _refuse_orphans(self) -> None:
        link = next(column for column in ITEM_COLUMNS if column.field == RESOURCE_COLUMN)
        for name, rows in self.held.by_resource.items():
            for item in rows:
                self._refuse(refusal(ITEMS, item.row, link, self.items.letter(link),
                                     code="orphan_item", message=(
                                         f"No resource named {name} on sheet {RESOURCES}.")))

    def _refuse(self, found: CellRefusal) -> None:
        self.refused += 1
        if len(self.refusals) < MAX_REPORTED:
            self.refusals.append(found)

    def _error_at(self, resource: ResourceRow, error: ErrorDetails) -> CellRefusal:
        path = "".join(f"[{part}]" if isinstance(part, int) else f".{part}"
                       for part in error["loc"]).lstrip(".")
        if path == "items" and error["type"] == "too_short":
            return self._at(resource, NAME_COLUMN, code="no_items", message=(
                f"The resource has no info items: add rows on sheet {ITEMS} naming it."))
        return self._at(resource, path, code=error["type"], message=error["msg"])

    def _problem_at(self, resource: ResourceRow, problem: ProblemError) -> CellRefusal:
        """A refusal of the entries API at the cell of the field it names (the row's code
        for a refusal of the entry itself, its name for a new one)."""
        rule, article = LIFE_CYCLE if isinstance(problem, IllegalTransition) else (None, None)
        named = problem.extensions.get("field") or (CODE_COLUMN if resource.code
                                                    else NAME_COLUMN)
        return self._at(resource, str(named), code=problem.slug, message=problem.detail,
                        rule=problem.extensions.get("rule") or rule,
                        article=problem.extensions.get("article") or article)

    def _at(self, resource: ResourceRow, path: str, *, code: str, message: str,
            rule: str | None = None, article: str | None = None) -> CellRefusal:
        """The refusal at the cell a field of the row names: on the items sheet for an item's
        field, on the resource's row otherwise."""
        sheet, row, dotted = self.resources, resource.row, _INDEX.sub(r".\1", path)
        parts = dotted.split(".")
        if parts[0] == "items" and len(parts) > 1 and parts[1].isdigit():
            index = int(parts[1])
            sheet, dotted = self.items, ".".join(parts[2:])
            row = resource.item_rows[index] if index < len(resource.item_rows) else None
        column = _column_for(sheet, dotted)
        extra = {"rule": rule, "article": article} if rule and article else {}
        return refusal(sheet.title, row, column, sheet.letter(column) if column else None,
                       code=code, message=message, field=path, **extra)


def _column_for(sheet: Sheet, dotted: str) -> Column | None:
    """The column of a field: its own, the first of its parts (share.legal_basis), or the
    one it lies in (share.permitted_uses.1)."""
    shown = [column for column in sheet.columns if column.field in sheet.positions]
    for matches in (lambda name: name == dotted,
                    lambda name: name.startswith(dotted + "."),
                    lambda name: dotted.startswith(name + ".")):
        found = [column for column in shown if matches(column.field)]
        if found:
            return found[0]
    return None


def _refused(refusals: list[CellRefusal], total: int) -> WorkbookRefused:
    shown = f" (the first {len(refusals)} listed)" if total > len(refusals) else ""
    return WorkbookRefused(f"{total} cells of the workbook are refused{shown}; nothing was "
                           "stored.", refused=total,
                           errors=[each.model_dump() for each in refusals])
