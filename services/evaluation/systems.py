"""V3: the information-system registry (备案) [39 三(六)] and its zombies [39 (一)].

A department files each system with its funding, the catalog entries whose data it holds and
the client credentials it calls the platform with. Its use in a period is what the audit
chain recorded: calls made with its clients, and others' granted accesses to its entries. A
system used no more than the method allows is a zombie (僵尸): little used, yet funded.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Select, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.exceptions import RegistryViolation, SystemNotFound
from services.evaluation.models import CatalogEntry, InformationSystem, SystemClient, UsageFact
from services.evaluation.periods import Period
from shared import clock
from shared.contracts.catalog import EntryStatus
from shared.contracts.evaluation import (
    FundingSource,
    SystemEvent,
    SystemFiled,
    SystemRetired,
    SystemSnapshot,
    SystemStatus,
    SystemUpdated,
)
from shared.contracts.values import NOT_BLANK, Yuan
from shared.outbox import Outbox
from shared.pagination import PageParams
from shared.problems import IllegalTransition
from shared.workdays import china_date


class SystemFiling(BaseModel):
    """What a department declares about one of its systems."""

    name: str = Field(min_length=2, max_length=200, pattern=NOT_BLANK,
                      examples=["人口信息管理系统"])
    description: str = Field(min_length=1, max_length=4000, pattern=NOT_BLANK)
    funding_source: FundingSource
    construction_funding: Yuan = Field(description="Construction investment, yuan.")
    annual_om_funding: Yuan = Field(description="Yearly O&M funding, yuan.")
    resource_codes: list[str] = Field(default_factory=list, max_length=500, description=(
        "Codes of the department's catalog entries whose data the system holds."))
    client_ids: list[str] = Field(default_factory=list, max_length=50, description=(
        "Client credentials the system calls the platform with (its use is counted by them)."))


class SystemUsage(SystemSnapshot):
    """A filed system and its use in a period."""

    period: str
    calls_made: int = Field(description="Accesses made with the system's clients.")
    accesses_served: int = Field(description="Others' granted accesses to its entries.")
    zombie: bool = Field(description="Used no more than the method's zombie threshold.")


async def file_system(session: AsyncSession, outbox: Outbox, *, department: str,
                      filing: SystemFiling, actor: str) -> InformationSystem:
    await _require_owned(session, department, filing)
    system = InformationSystem(id=uuid.uuid4(), department=department, status=SystemStatus.filed,
                               filed_by=actor, filed_at=clock.now(), version=1,
                               **_declared(filing))
    session.add(system)
    await _announce(session, outbox, SystemFiled, system)
    return system


async def update_system(session: AsyncSession, outbox: Outbox, system: InformationSystem, *,
                        filing: SystemFiling) -> InformationSystem:
    if system.status == SystemStatus.retired:
        raise IllegalTransition("A retired system cannot be updated.",
                                current_state=system.status)
    await _require_owned(session, system.department, filing)
    for name, value in _declared(filing).items():
        setattr(system, name, value)
    system.version += 1
    await _announce(session, outbox, SystemUpdated, system)
    return system


async def retire_system(session: AsyncSession, outbox: Outbox, system: InformationSystem, *,
                        reason: str) -> InformationSystem:
    if system.status == SystemStatus.retired:
        raise IllegalTransition("The system is already retired.", current_state=system.status)
    system.status, system.retired_at = SystemStatus.retired, clock.now()
    system.version += 1
    await _announce(session, outbox, SystemRetired, system, reason=reason)
    return system


async def get_system(session: AsyncSession, system_id: uuid.UUID, *,
                     lock: bool = False) -> InformationSystem:
    query = select(InformationSystem).where(InformationSystem.id == system_id)
    system = await session.scalar(query.with_for_update() if lock else query)
    if system is None:
        raise SystemNotFound(f"No information system {system_id}.")
    return system


async def usage(session: AsyncSession, period: Period, *, now: datetime, zombie_max_uses: int,
                department: str | None = None, zombie: bool | None = None,
                status: SystemStatus | None = None, page: PageParams | None = None
                ) -> tuple[list[SystemUsage], int]:
    """Filed systems with their use in `period`; `zombie` keeps only (non-)zombies."""
    threshold = zombie_threshold(period, zombie_max_uses)
    query = _with_usage(period, now)
    if department:
        query = query.where(InformationSystem.department == department)
    if status:
        query = query.where(InformationSystem.status == status)
    if zombie is not None:
        total = query.selected_columns.calls_made + query.selected_columns.accesses_served
        query = query.where(total <= threshold if zombie else total > threshold)
    count = await session.scalar(select(func.count()).select_from(query.subquery()))
    query = query.order_by(InformationSystem.department, InformationSystem.name)
    if page:
        query = query.limit(page.limit).offset(page.offset)
    rows = (await session.execute(query)).all()
    return [_usage_of(row, period, threshold) for row in rows], int(count or 0)


def zombie_threshold(period: Period, yearly_max_uses: int) -> int:
    """The method's yearly threshold, in proportion for a shorter period."""
    days = (period.last_day - period.first_day).days + 1
    return yearly_max_uses if days >= 365 else math.floor(yearly_max_uses * days / 365)


def _with_usage(period: Period, now: datetime) -> Select[Any]:
    last_day = min(period.last_day, china_date(min(now, period.end)))
    within = and_(UsageFact.day >= period.first_day, UsageFact.day <= last_day)
    calls = select(func.coalesce(func.sum(UsageFact.accesses), 0)).where(
        within, UsageFact.actor == func.any(InformationSystem.client_ids)).scalar_subquery()
    served = select(func.coalesce(func.sum(UsageFact.accesses), 0)).where(
        within, UsageFact.denied.is_(None), UsageFact.consumer != InformationSystem.department,
        UsageFact.entry_code == func.any(InformationSystem.resource_codes)).scalar_subquery()
    return select(InformationSystem, calls.label("calls_made"),
                  served.label("accesses_served"))


def _usage_of(row: Any, period: Period, threshold: int) -> SystemUsage:
    system, calls_made, accesses_served = row
    return SystemUsage(**snapshot(system).model_dump(), period=period.label,
                       calls_made=calls_made, accesses_served=accesses_served,
                       zombie=calls_made + accesses_served <= threshold)


def snapshot(system: InformationSystem) -> SystemSnapshot:
    return SystemSnapshot.model_validate(system, from_attributes=True)


def _declared(filing: SystemFiling) -> dict[str, Any]:
    values = filing.model_dump()
    values["resource_codes"] = sorted(set(filing.resource_codes))
    values["client_ids"] = sorted(set(filing.client_ids))
    return values


async def _require_owned(session: AsyncSession, department: str, filing: SystemFiling) -> None:
    """The entries and clients a filing names must be the department's own."""
    if filing.resource_codes:
        owned = set(await session.scalars(select(CatalogEntry.code).where(
            CatalogEntry.code.in_(filing.resource_codes), CatalogEntry.provider == department,
            CatalogEntry.status != EntryStatus.withdrawn)))
        foreign = sorted(set(filing.resource_codes) - owned)
        if foreign:
            raise RegistryViolation(f"Not catalog entries of the department: "
                                    f"{', '.join(foreign)}.", field="resource_codes")
    if filing.client_ids:
        owned = set(await session.scalars(select(SystemClient.client_id).where(
            SystemClient.client_id.in_(filing.client_ids),
            SystemClient.department == department, SystemClient.revoked.is_(False))))
        foreign = sorted(set(filing.client_ids) - owned)
        if foreign:
            raise RegistryViolation(f"Not active clients of the department: "
                                    f"{', '.join(foreign)}.", field="client_ids")


async def _announce(session: AsyncSession, outbox: Outbox, event: type[SystemEvent],
                    system: InformationSystem, reason: str | None = None) -> None:
    await session.flush()
    await outbox.add(session, str(system.id), event(system=snapshot(system), reason=reason))
