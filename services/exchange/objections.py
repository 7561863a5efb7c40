"""Objections (疑义/错误校核, E6) [51 §15, JS §18].

    raised ──(provider starts checking)──▶ verifying ──▶ corrected | confirmed

A consumer holding a grant flags a record as doubtful or wrong, with evidence; the
provider's data operators verify it and either correct the record (the correction is
written to the store, so subscribers receive it) or confirm it as it stands. Business goes
on meanwhile: the record stays available. Every state is kept with its time, and each step
is an event to both sides.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.exchange.exceptions import (
    AccessDenied,
    BadKey,
    NotTheProvider,
    ObjectionNotFound,
    RecordNotFound,
)
from services.exchange.loading import UPSERT, validator_for
from services.exchange.models import GrantView, Objection, Resource, StoredRecord
from services.exchange.validation import RowRejected
from shared import clock
from shared.access import is_active
from shared.contracts.exchange import (
    ObjectionEvent,
    ObjectionRaised,
    ObjectionResolved,
    ObjectionSnapshot,
    ObjectionStatus,
    ObjectionVerifying,
)
from shared.contracts.sharing import GrantSnapshot
from shared.outbox import Outbox
from shared.pagination import PageParams, fetch_page
from shared.problems import IllegalTransition

ALLOWED_FROM = {
    ObjectionStatus.verifying: {ObjectionStatus.raised},
    ObjectionStatus.corrected: {ObjectionStatus.raised, ObjectionStatus.verifying},
    ObjectionStatus.confirmed: {ObjectionStatus.raised, ObjectionStatus.verifying},
}


def snapshot(objection: Objection) -> ObjectionSnapshot:
    return ObjectionSnapshot.model_validate(objection, from_attributes=True)


async def raise_objection(session: AsyncSession, outbox: Outbox, resource: Resource, *,
                          consumer: str, key_values: list[str], kind: str, description: str,
                          evidence: str | None, actor: str) -> Objection:
    """Only a department that holds (or held) an active grant on the entry may object."""
    now = clock.now()
    if not await holds_grant(session, consumer, resource.code):
        raise AccessDenied("Only a consumer with an active grant may object to its records.",
                           denial="no_grant")
    key = _key(resource, key_values)
    if await session.get(StoredRecord, (resource.code, key)) is None:
        raise RecordNotFound(f"No record of {resource.code} has this key.")
    objection = Objection(
        entry_code=resource.code, record_key=key_values, consumer=consumer,
        provider=resource.provider, kind=kind, description=description, evidence=evidence,
        status=ObjectionStatus.raised, raised_by=actor, raised_at=now, version=1)
    session.add(objection)
    await _announce(session, outbox, objection, ObjectionRaised, actor)
    return objection


async def holds_grant(session: AsyncSession, consumer: str, entry_code: str) -> bool:
    """Whether `consumer` holds an active grant for the entry (of any purpose)."""
    grants = await session.scalars(select(GrantView.snapshot).where(
        GrantView.consumer == consumer, GrantView.entry_code == entry_code))
    now = clock.now()
    return any(is_active(GrantSnapshot.model_validate(g), now) for g in grants)


async def start_verifying(session: AsyncSession, outbox: Outbox, objection: Objection, *,
                          provider: str | None, actor: str) -> Objection:
    _require_provider(objection, provider)
    _move(objection, ObjectionStatus.verifying)
    objection.verifying_at = clock.now()
    await _announce(session, outbox, objection, ObjectionVerifying, actor)
    return objection


async def resolve(session: AsyncSession, outbox: Outbox, objection: Objection, *,
                  provider: str | None, actor: str, corrected: bool, resolution: str,
                  correction: dict[str, str] | None) -> Objection:
    """Correct the record (its new values go to the store) or confirm it as it stands."""
    _require_provider(objection, provider)
    target = ObjectionStatus.corrected if corrected else ObjectionStatus.confirmed
    _move(objection, target)
    if corrected:
        if not correction:
            raise BadKey("A correction names the items and their corrected values.",
                         field="correction")
        await _correct(session, objection, correction)
    objection.resolved_at, objection.resolved_by = clock.now(), actor
    objection.resolution, objection.correction = resolution, correction if corrected else None
    await _announce(session, outbox, objection, ObjectionResolved, actor)
    return objection


async def get(session: AsyncSession, objection_id: object, department: str | None,
              *, for_update: bool = False) -> Objection:
    objection = await session.get(Objection, objection_id, with_for_update=for_update)
    if objection is None or department not in (objection.consumer, objection.provider):
        raise ObjectionNotFound(f"No objection {objection_id} concerns your department.")
    return objection


async def list_objections(session: AsyncSession, page: PageParams, *, party: str | None,
                          status: list[ObjectionStatus], entry_code: str | None,
                          ) -> tuple[list[Objection], int]:
    query = select(Objection)
    if party:
        query = query.where((Objection.consumer == party) | (Objection.provider == party))
    if status:
        query = query.where(Objection.status.in_(status))
    if entry_code:
        query = query.where(Objection.entry_code == entry_code)
    return await fetch_page(session, query.order_by(Objection.raised_at.desc()), page)


async def _correct(session: AsyncSession, objection: Objection,
                   correction: dict[str, str]) -> None:
    resource = await session.get(Resource, objection.entry_code)
    assert resource is not None
    validator = validator_for(resource)
    key = _key(resource, objection.record_key)
    stored = await session.get(StoredRecord, (resource.code, key), with_for_update=True)
    if stored is None:
        raise RecordNotFound("The record is no longer in the store.")
    try:
        new_key, cleaned = validator.clean({**stored.data, **correction})
    except RowRejected as error:
        raise BadKey(f"The correction breaks a rule: {error}.", field="correction") from None
    if new_key != key:
        raise BadKey("A correction cannot change the record's key items.", field="correction")
    await session.execute(UPSERT, {"entry_code": resource.code, "keys": [key],
                                   "data": [json.dumps(cleaned, ensure_ascii=False)],
                                   "now": clock.now()})


def _key(resource: Resource, key_values: list[str]) -> str:
    try:
        return validator_for(resource).key_of(key_values)
    except RowRejected as error:
        raise BadKey(str(error), field="key") from None


def _require_provider(objection: Objection, provider: str | None) -> None:
    if provider != objection.provider:
        raise NotTheProvider("Only the provider's data operators verify an objection.")


def _move(objection: Objection, target: ObjectionStatus) -> None:
    if objection.status not in ALLOWED_FROM[target]:
        raise IllegalTransition(f"An objection that is {objection.status} cannot become "
                                f"{target}.", current_state=objection.status)
    objection.status, objection.version = target, objection.version + 1


async def _announce(session: AsyncSession, outbox: Outbox, objection: Objection,
                    event: type[ObjectionEvent], actor: str) -> None:
    await session.flush()
    await outbox.add(session, str(objection.id), event(objection=snapshot(objection),
                                                       actor=actor))
