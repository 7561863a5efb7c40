"""Catalog entries: draft → published → withdrawn, every change a version (C6).

Drafts stay with their department; publishing, changing a published entry and withdrawing
it each leave an event with the full snapshot through the outbox.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import base_items, federation
from services.catalog.codes import assign_code
from services.catalog.collection import (
    announce_published,
    clear_withdrawn,
    flag_duplicate_collection,
)
from services.catalog.exceptions import (
    EntryNameTaken,
    EntryNotFound,
    IllegalTransition,
    UnknownProvider,
)
from services.catalog.models import Department, Entry, EntryVersion
from services.catalog.rules import check_base_items, check_entry
from services.catalog.search_text import search_vector
from shared import clock
from shared.contracts import Zone
from shared.contracts.catalog import (
    EntryEvent,
    EntryPublished,
    EntrySnapshot,
    EntrySpec,
    EntryStatus,
    EntryUpdated,
    EntryWithdrawn,
)
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page

# Which states each change may start from: the entry state machine.
ALLOWED_FROM = {
    "update": {EntryStatus.draft, EntryStatus.published},
    "publish": {EntryStatus.draft},
    "withdraw": {EntryStatus.published},
}


async def create_draft(session: AsyncSession, outbox: Outbox, spec: EntrySpec, *,
                       provider: str, actor: str, zone: Zone) -> Entry:
    """Catalogue a new resource as a draft of `provider`, with a freshly assigned code."""
    if await session.get(Department, provider) is None:
        raise UnknownProvider(f"Department {provider} is not registered on this node.",
                              field="provider")
    check_entry(spec, zone, await base_items.register_of(session, spec))
    await _ensure_name_free(session, provider, spec.name)
    entry = Entry(code=await assign_code(session, spec.classification), provider=provider,
                  name=spec.name, status=EntryStatus.draft, version=1,
                  spec=spec.model_dump(mode="json"))
    _index(entry, spec)
    session.add(entry)
    await session.flush()
    _record_version(session, entry, actor, "created")
    await flag_duplicate_collection(session, outbox, entry, spec)
    return entry


async def update_entry(session: AsyncSession, outbox: Outbox, entry: Entry, spec: EntrySpec, *,
                       actor: str, reason: str | None, zone: Zone) -> Entry:
    """Change an entry's declaration; a published entry's change is announced."""
    _require(entry, "update")
    check_entry(spec, zone, await base_items.register_of(session, spec))
    if spec.classification.front_segment != entry.code.split("/")[0]:
        raise IllegalTransition("The classification decides the code; catalogue a new entry "
                                "instead of reclassifying this one.", field="classification")
    if spec.name != entry.name:
        await _ensure_name_free(session, entry.provider, spec.name)
    entry.name, entry.spec, entry.version = spec.name, spec.model_dump(mode="json"), \
        entry.version + 1
    _index(entry, spec)
    await flag_duplicate_collection(session, outbox, entry, spec)
    await _changed(session, outbox, entry, actor, reason,
                   EntryUpdated if entry.status == EntryStatus.published else None)
    return entry


async def publish_entry(session: AsyncSession, outbox: Outbox, entry: Entry, *,
                        actor: str) -> Entry:
    _require(entry, "publish")
    # The register may have grown since the draft was saved (C3).
    spec = EntrySpec.model_validate(entry.spec)
    check_base_items(spec, await base_items.register_of(session, spec))
    entry.status, entry.published_at = EntryStatus.published, clock.now()
    entry.version += 1
    await _changed(session, outbox, entry, actor, "published", EntryPublished)
    await announce_published(session, outbox, entry)
    return entry


async def withdraw_entry(session: AsyncSession, outbox: Outbox, entry: Entry, *, actor: str,
                         reason: str) -> Entry:
    _require(entry, "withdraw")
    entry.status = EntryStatus.withdrawn
    entry.version += 1
    await _changed(session, outbox, entry, actor, reason, EntryWithdrawn)
    await clear_withdrawn(session, outbox, entry)
    return entry


async def get_entry(session: AsyncSession, code: str, *, for_update: bool = False) -> Entry:
    query = select(Entry).where(Entry.code == code)
    entry = await session.scalar(query.with_for_update() if for_update else query)
    if entry is None:
        raise EntryNotFound(f"No catalog entry has code {code}.")
    return entry


async def versions_of(session: AsyncSession, entry: Entry) -> list[EntryVersion]:
    rows = await session.scalars(select(EntryVersion).where(EntryVersion.entry_id == entry.id)
                                 .order_by(EntryVersion.version))
    return list(rows)


async def list_entries(session: AsyncSession, page: PageParams, *, viewer_department: str | None,
                       provider: str | None = None, status: EntryStatus | None = None,
                       ) -> tuple[list[Entry], int]:
    """Entries a viewer may see: everything published or withdrawn, and its own drafts."""
    query = select(Entry)
    visible = Entry.status != EntryStatus.draft
    if viewer_department:
        visible = visible | (Entry.provider == viewer_department)
    query = query.where(visible)
    if provider:
        query = query.where(Entry.provider == provider)
    if status:
        query = query.where(Entry.status == status)
    return await fetch_page(session, query.order_by(Entry.code), page)


async def snapshot(session: AsyncSession, entry: Entry, node: str) -> EntrySnapshot:
    """The entry as the API shows it and events carry it."""
    names = await provider_names(session, {entry.provider})
    return EntrySnapshot(**entry.spec, **stored_fields(entry, node, names))


def stored_fields(entry: Entry, node: str, names: dict[str, str]) -> dict[str, Any]:
    """What an entry's snapshot holds besides its specification; `names` the providers'."""
    return {"code": entry.code, "provider": entry.provider,
            "provider_name": names.get(entry.provider, ""), "status": EntryStatus(entry.status),
            "version": entry.version, "node": node, "published_at": entry.published_at}


async def provider_names(session: AsyncSession, providers: set[str]) -> dict[str, str]:
    """The names of these departments (by credit code), in one query."""
    rows = await session.execute(select(Department.credit_code, Department.name)
                                 .where(Department.credit_code.in_(providers)))
    return dict(rows.tuples().all())


def _index(entry: Entry, spec: EntrySpec) -> None:
    """Keep the search columns (C9) in step with the declaration."""
    entry.top_class, entry.share_type = spec.classification.top, spec.share.type
    entry.share_methods = [str(method) for method in spec.share.methods]
    entry.search_vector = search_vector(
        name=spec.name, classification=spec.classification.model_dump(),
        items=(item.name for item in spec.items), abstract=spec.abstract)


def _require(entry: Entry, change: str) -> None:
    if entry.status not in ALLOWED_FROM[change]:
        raise IllegalTransition(f"A {entry.status} entry cannot be {change}d.",
                                current_state=entry.status)


async def _ensure_name_free(session: AsyncSession, provider: str, name: str) -> None:
    taken = await session.scalar(select(Entry.code).where(Entry.provider == provider,
                                                          Entry.name == name))
    if taken:
        raise EntryNameTaken(f"The provider already catalogues {name} as {taken}.",
                             field="name")


def _record_version(session: AsyncSession, entry: Entry, actor: str, reason: str | None) -> None:
    session.add(EntryVersion(entry_id=entry.id, version=entry.version, status=entry.status,
                             spec=entry.spec, changed_by=actor, reason=reason))


async def _changed(session: AsyncSession, outbox: Outbox, entry: Entry, actor: str,
                   reason: str | None, event: type[EntryEvent] | None) -> None:
    _record_version(session, entry, actor, reason)
    await session.flush()
    if event is not None:
        announced = await snapshot(session, entry, outbox.source.node)
        await outbox.add(session, entry.code, event(entry=announced, changed_by=actor,
                                                    reason=reason))
        if announced.status != EntryStatus.draft:  # the parent aggregates what is public
            await federation.feed_local_change(session, announced)
