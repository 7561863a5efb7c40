"""Catalog REST API: departments compile, publish, maintain and read their entries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalog import entries
from services.catalog.collection import flags_by_entry
from services.catalog.deps import OutboxDep, SessionDep, SettingsDep
from services.catalog.diff import FieldChange, diff_specs
from services.catalog.exceptions import EntryNotFound, NotTheProvidersEditor
from services.catalog.models import Entry
from services.catalog.schemas import (
    DuplicateCollectionPublic,
    EntryChange,
    EntryPublic,
    EntryVersionPublic,
    Withdrawal,
)
from shared.auth import CurrentPrincipal
from shared.contracts import Role
from shared.contracts.catalog import EntrySpec, EntryStatus
from shared.pagination import Page, PageDep
from shared.problems import Unprocessable
from shared.tokens import TokenClaims

router = APIRouter(prefix="/entries", tags=["entries"])

Front = Annotated[str, Path(pattern=r"^[0-9]+$", description="Front segment of the code.")]
Number = Annotated[str, Path(pattern=r"^[0-9]{6}$", description="Six-digit back segment.")]


def editor_department(principal: TokenClaims) -> str:
    if not principal.department or not principal.has_role(Role.catalog_editor):
        raise NotTheProvidersEditor("Cataloguing needs a department's catalog_editor role.",
                                    required_roles=[Role.catalog_editor])
    return principal.department


async def _editable(session: AsyncSession, code: str, principal: TokenClaims) -> Entry:
    entry = await entries.get_entry(session, code, for_update=True)
    if entry.provider != editor_department(principal):
        raise NotTheProvidersEditor("Only the providing department's catalog editors change "
                                    "its entries.")
    return entry


async def _visible(session: AsyncSession, code: str, principal: TokenClaims) -> Entry:
    """An entry the caller may read: drafts stay with their department (404 elsewhere)."""
    entry = await entries.get_entry(session, code)
    if entry.status == EntryStatus.draft and entry.provider != principal.department:
        raise EntryNotFound(f"No catalog entry has code {code}.")
    return entry


async def public_view(session: AsyncSession, entry: Entry, node: str) -> EntryPublic:
    return (await public_views(session, [entry], node))[0]


async def public_views(session: AsyncSession, shown: list[Entry],
                       node: str) -> list[EntryPublic]:
    """Entries as the API shows them, with their providers' names and duplicate-collection
    flags (a query each, whatever the number of entries)."""
    if not shown:
        return []
    flags = await flags_by_entry(session, shown)
    names = await entries.provider_names(session, {entry.provider for entry in shown})
    return [EntryPublic(**entry.spec, **entries.stored_fields(entry, node, names),
                        created_at=entry.created_at, updated_at=entry.updated_at,
                        duplicate_collection=[DuplicateCollectionPublic.model_validate(flag)
                                              for flag in flags.get(entry.id, [])])
            for entry in shown]


@router.post("", response_model=EntryPublic, status_code=status.HTTP_201_CREATED,
             summary="Catalogue a resource as a draft of the caller's department")
async def create_entry(body: EntrySpec, principal: CurrentPrincipal, session: SessionDep,
                       outbox: OutboxDep, settings: SettingsDep) -> EntryPublic:
    entry = await entries.create_draft(session, outbox, body,
                                       provider=editor_department(principal),
                                       actor=principal.sub, zone=settings.node_zone)
    return await public_view(session, entry, settings.node_id)


@router.get("", response_model=Page[EntryPublic], summary="List entries the caller may see")
async def list_entries(principal: CurrentPrincipal, session: SessionDep, settings: SettingsDep,
                       page: PageDep, provider: str | None = None,
                       entry_status: EntryStatus | None = None) -> dict[str, object]:
    items, total = await entries.list_entries(session, page, viewer_department=principal.department,
                                              provider=provider, status=entry_status)
    shown = await public_views(session, items, settings.node_id)
    return page.wrap(shown, total)


@router.get("/{front}/{number}", response_model=EntryPublic, summary="One entry by its code")
async def get_entry(front: Front, number: Number, principal: CurrentPrincipal,
                    session: SessionDep, settings: SettingsDep) -> EntryPublic:
    entry = await _visible(session, f"{front}/{number}", principal)
    return await public_view(session, entry, settings.node_id)


@router.put("/{front}/{number}", response_model=EntryPublic,
            summary="Change an entry's declaration (a new version)")
async def update_entry(front: Front, number: Number, body: EntryChange,
                       principal: CurrentPrincipal, session: SessionDep, outbox: OutboxDep,
                       settings: SettingsDep) -> EntryPublic:
    entry = await _editable(session, f"{front}/{number}", principal)
    if entry.status == EntryStatus.published and not body.reason:
        raise Unprocessable("Changing a published entry needs a reason (C6).", field="reason")
    spec = EntrySpec.model_validate(body.model_dump(exclude={"reason"}))
    await entries.update_entry(session, outbox, entry, spec, actor=principal.sub,
                               reason=body.reason, zone=settings.node_zone)
    return await public_view(session, entry, settings.node_id)


@router.post("/{front}/{number}/publish", response_model=EntryPublic,
             summary="Publish a draft: other departments can find and request it")
async def publish_entry(front: Front, number: Number, principal: CurrentPrincipal,
                        session: SessionDep, outbox: OutboxDep,
                        settings: SettingsDep) -> EntryPublic:
    entry = await _editable(session, f"{front}/{number}", principal)
    await entries.publish_entry(session, outbox, entry, actor=principal.sub)
    return await public_view(session, entry, settings.node_id)


@router.post("/{front}/{number}/withdraw", response_model=EntryPublic,
             summary="Withdraw a published entry (its code is never reused)")
async def withdraw_entry(front: Front, number: Number, body: Withdrawal,
                         principal: CurrentPrincipal, session: SessionDep, outbox: OutboxDep,
                         settings: SettingsDep) -> EntryPublic:
    entry = await _editable(session, f"{front}/{number}", principal)
    await entries.withdraw_entry(session, outbox, entry, actor=principal.sub, reason=body.reason)
    return await public_view(session, entry, settings.node_id)


@router.get("/{front}/{number}/versions", response_model=list[EntryVersionPublic],
            summary="Every version of an entry: who changed it, when and why")
async def entry_versions(front: Front, number: Number, principal: CurrentPrincipal,
                         session: SessionDep) -> list[object]:
    entry = await _visible(session, f"{front}/{number}", principal)
    return list(await entries.versions_of(session, entry))


@router.get("/{front}/{number}/diff", response_model=list[FieldChange],
            summary="What changed between two versions of an entry")
async def entry_diff(front: Front, number: Number, principal: CurrentPrincipal,
                     session: SessionDep,
                     from_version: Annotated[int, Query(alias="from", ge=1, le=2**31 - 1)],
                     to_version: Annotated[int, Query(alias="to", ge=1, le=2**31 - 1)]
                     ) -> list[FieldChange]:
    entry = await _visible(session, f"{front}/{number}", principal)
    by_number = {v.version: v for v in await entries.versions_of(session, entry)}
    missing = [n for n in (from_version, to_version) if n not in by_number]
    if missing:
        raise EntryNotFound(f"Entry {entry.code} has no version {missing[0]}.",
                            versions=sorted(by_number))
    return diff_specs(by_number[from_version].spec, by_number[to_version].spec)
