"""C3 by register [51 §10(二), JS §11(二)]: which items of a base resource are base items.

The lead department of each base resource compiles and keeps its catalog [JS §11(二)], so the
items every department must share unconditionally are in its register, not in each
provider's tick: an item the register names, by code or by name once normalised (as C7's
register matches), is a base item of every entry of that base resource. The competent
authority (the node admin) appoints the lead departments and may keep a register itself.

A change of the register changes no entry. An entry published before it that now breaks C3
stays as its provider declared it and is listed as a violation for that provider to change;
its next change, and a draft's publication, are checked against the register as it stands.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog.collection import normalise_item_name
from services.catalog.exceptions import (
    BaseItemNotFound,
    BaseItemTaken,
    IllegalTransition,
    UnknownProvider,
)
from services.catalog.models import BaseItem, BaseSubjectLead, Department, Entry
from services.catalog.rules import NO_BASE_ITEMS, BaseItems
from shared import clock
from shared.contracts.catalog import (
    BaseSubject,
    EntrySpec,
    EntryStatus,
    InfoItem,
    ShareType,
    TopClass,
)
from shared.contracts.names import NAMES
from shared.problems import Unprocessable

# 人口, 法人单位, …: each base resource by its subject, from the one table of names.
SUBJECT_NAMES = {subject: NAMES["base_subject"][subject].removesuffix("基础信息")
                 for subject in BaseSubject}

# Published entries with an item shared otherwise than unconditionally: the only ones an item
# of the register can find in breach, so the rest of the catalog is never read.
_SHARES_AN_ITEM_CONDITIONALLY = Entry.spec.path_exists(
    '$.items[*] ? (@.share_type != "unconditional")')


@dataclass(frozen=True)
class Violation:
    """An item of a published entry that breaks the register (C3)."""

    entry: Entry
    index: int
    item: InfoItem
    base_item: BaseItem


async def appoint_lead(session: AsyncSession, *, subject: BaseSubject, department: str,
                       actor: str) -> BaseSubjectLead:
    """Make `department` the lead of a base resource (its register's keeper from now on)."""
    if await session.get(Department, department) is None:
        raise UnknownProvider(f"Department {department} is not registered on this node.",
                              field="department")
    values = {"subject": subject.value, "department": department, "appointed_by": actor,
              "appointed_at": clock.now()}
    await session.execute(insert(BaseSubjectLead).values(**values).on_conflict_do_update(
        index_elements=["subject"], set_=values))
    return await session.get(BaseSubjectLead, subject.value, populate_existing=True)


async def leads(session: AsyncSession) -> dict[str, BaseSubjectLead]:
    return {lead.subject: lead for lead in await session.scalars(select(BaseSubjectLead))}


async def register_item(session: AsyncSession, *, subject: BaseSubject, item_code: str,
                        item_name: str, reason: str, actor: str) -> BaseItem:
    """Register a base item; refused while the resource registers one of that code or name."""
    normalised = normalise_item_name(item_name)
    if not normalised:  # it would name every item whose name is punctuation alone
        raise Unprocessable("An item's name needs a letter or a digit, not only punctuation.",
                            field="item_name")
    # The partial unique indexes decide, so two registrations racing cannot both stand.
    item_id = await session.scalar(insert(BaseItem).values(
        id=uuid.uuid4(), subject=subject.value, item_code=item_code, item_name=item_name,
        normalised_name=normalised, reason=reason, registered_by=actor,
        registered_at=clock.now()).on_conflict_do_nothing().returning(BaseItem.id))
    if item_id is None:
        raise BaseItemTaken(f"The register of base resource {subject.value} already names "
                            f"an item {item_code} or {item_name}; remove it first to change it.",
                            field="item_code")
    return await get_item(session, item_id)


async def remove_item(session: AsyncSession, item: BaseItem, *, reason: str,
                      actor: str) -> BaseItem:
    """Take an item off the register, keeping who did it, when and why."""
    if item.removed_at is not None:
        raise IllegalTransition(f"Base item {item.item_code} was removed already.",
                                current_state="removed")
    item.removed_by, item.removed_at, item.removal_reason = actor, clock.now(), reason
    await session.flush()
    return item


async def get_item(session: AsyncSession, item_id: uuid.UUID, *,
                   lock: bool = False) -> BaseItem:
    item = await session.get(BaseItem, item_id, with_for_update=lock, populate_existing=True)
    if item is None:
        raise BaseItemNotFound(f"No base-item registration has id {item_id}.")
    return item


def items_query(*, subject: str | None, removed: bool) -> Select[tuple[BaseItem]]:
    """Registrations of a base resource (项 code), or of all, standing (by resource and code)
    or removed (latest first)."""
    query = select(BaseItem).where(BaseItem.removed_at.is_not(None) if removed
                                   else BaseItem.removed_at.is_(None))
    if subject is not None:
        query = query.where(BaseItem.subject == subject)
    if removed:
        return query.order_by(BaseItem.removed_at.desc(), BaseItem.id)
    return query.order_by(BaseItem.subject, BaseItem.item_code)


async def register_of(session: AsyncSession, spec: EntrySpec) -> BaseItems:
    """The register an entry's items are checked against: its base resource's, if it is one."""
    if spec.classification.top is not TopClass.base:
        return NO_BASE_ITEMS
    standing = await session.scalars(items_query(subject=spec.classification.item,
                                                 removed=False))
    return _as_rule(list(standing))


async def violations(session: AsyncSession, *, provider: str | None,
                     subject: BaseSubject | None,
                     where: Iterable[ColumnElement[bool]] = ()) -> list[Violation]:
    """Every item of a published entry (one `where` admits) that the register names a base
    item and that is not shared unconditionally, by entry code and item."""
    standing: dict[str, list[BaseItem]] = {}
    for item in await session.scalars(items_query(subject=subject, removed=False)):
        standing.setdefault(item.subject, []).append(item)
    query = select(Entry).where(
        Entry.status == EntryStatus.published, Entry.top_class == TopClass.base,
        Entry.spec["classification"]["item"].astext.in_(list(standing)),
        _SHARES_AN_ITEM_CONDITIONALLY, *where).order_by(Entry.code)
    if provider:
        query = query.where(Entry.provider == provider)
    found = []
    for entry in await session.scalars(query):
        spec = EntrySpec.model_validate(entry.spec)
        register = standing[spec.classification.item]
        for index, item in enumerate(spec.items):
            breaks = _breaks(register, item)
            if breaks is not None:
                found.append(Violation(entry, index, item, breaks))
    return found


def _breaks(register: list[BaseItem], item: InfoItem) -> BaseItem | None:
    if item.share_type is ShareType.unconditional:
        return None
    name = normalise_item_name(item.name)
    return next((base for base in register
                 if base.item_code == item.code or base.normalised_name == name), None)


def _as_rule(standing: list[BaseItem]) -> BaseItems:
    return BaseItems(codes=frozenset(item.item_code for item in standing),
                     names=frozenset(item.normalised_name for item in standing))
