"""V3 over HTTP: the information-system registry (备案) and its zombies."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from services.evaluation import systems
from services.evaluation.deps import (
    CurrentPrincipal,
    Filer,
    OutboxDep,
    PeriodDep,
    SessionDep,
    visible_department,
)
from services.evaluation.method import current_method
from services.evaluation.systems import SystemFiling, SystemUsage
from shared import clock
from shared.contracts.evaluation import SystemSnapshot, SystemStatus
from shared.contracts.values import NOT_BLANK
from shared.pagination import Page, PageDep
from shared.problems import Forbidden

router = APIRouter(prefix="/systems", tags=["systems"])


class Retirement(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, pattern=NOT_BLANK,
                        description="Why (整合, 清理…).")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SystemSnapshot)
async def file_system(filing: SystemFiling, session: SessionDep, outbox: OutboxDep,
                      principal: Filer) -> SystemSnapshot:
    """File (备案) one of the caller's department's systems, with its funding, the entries
    whose data it holds and the clients it uses [39 三(六)]."""
    department = _own_department(principal.department)
    system = await systems.file_system(session, outbox, department=department, filing=filing,
                                       actor=principal.sub)
    return systems.snapshot(system)


@router.get("", response_model=Page[SystemUsage])
async def list_systems(
    session: SessionDep, principal: CurrentPrincipal, period: PeriodDep, page: PageDep,
    department: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    zombie: Annotated[bool | None, Query(description="Only zombies, or only the others.")] = None,
    status: SystemStatus | None = None,
) -> dict[str, object]:
    """Filed systems with their use in the period; zombies are those used no more than the
    scoring method allows [39 (一)]."""
    department = visible_department(principal, department)
    _, method = await current_method(session)
    items, total = await systems.usage(session, period, now=clock.now(),
                                       zombie_max_uses=method.zombie_max_uses,
                                       department=department, zombie=zombie, status=status,
                                       page=page)
    return page.wrap(items, total)


@router.get("/{system_id}", response_model=SystemSnapshot)
async def get_system(system_id: uuid.UUID, session: SessionDep,
                     principal: CurrentPrincipal) -> SystemSnapshot:
    system = await systems.get_system(session, system_id)
    visible_department(principal, system.department)
    return systems.snapshot(system)


@router.put("/{system_id}", response_model=SystemSnapshot)
async def update_system(system_id: uuid.UUID, filing: SystemFiling, session: SessionDep,
                        outbox: OutboxDep, principal: Filer) -> SystemSnapshot:
    """Replace a filing's declared facts (a new version is announced)."""
    system = await _owned(session, system_id, principal.department)
    return systems.snapshot(await systems.update_system(session, outbox, system, filing=filing))


@router.post("/{system_id}/retirement", response_model=SystemSnapshot)
async def retire_system(system_id: uuid.UUID, retirement: Retirement, session: SessionDep,
                        outbox: OutboxDep, principal: Filer) -> SystemSnapshot:
    """Record that a system was merged or shut down (整合, 清理)."""
    system = await _owned(session, system_id, principal.department)
    return systems.snapshot(await systems.retire_system(session, outbox, system,
                                                        reason=retirement.reason))


def _own_department(department: str | None) -> str:
    if department is None:
        raise Forbidden("Only a department's staff file its systems.", reason="no_department")
    return department


async def _owned(session: SessionDep, system_id: uuid.UUID,
                 department: str | None) -> systems.InformationSystem:
    system = await systems.get_system(session, system_id, lock=True)
    if system.department != _own_department(department):
        raise Forbidden("The system belongs to another department.", reason="not_owner")
    return system
