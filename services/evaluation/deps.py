"""Dependency aliases of the evaluation service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from services.evaluation.periods import PERIOD_PATTERN, Period
from services.evaluation.settings import EvaluationSettings
from shared import clock
from shared.auth import CurrentPrincipal, has_any_role, require_role
from shared.contracts import Role
from shared.contracts.values import Year
from shared.deps import OutboxDep, SessionDep, runtime_settings
from shared.problems import Forbidden, Unprocessable
from shared.tokens import TokenClaims

SettingsDep = Annotated[EvaluationSettings, Depends(runtime_settings)]

OVERSIGHT = (Role.auditor, Role.node_admin, Role.arbiter)
Overseer = Annotated[TokenClaims, Depends(require_role(*OVERSIGHT))]
"""Auditors, operators and the competent authority's staff: every department's figures."""
Admin = Annotated[TokenClaims, Depends(require_role(Role.node_admin))]
Filer = Annotated[TokenClaims, Depends(require_role(Role.catalog_editor))]
"""A department's staff who file its information systems (备案)."""


def _period(period: Annotated[str, Query(
        pattern=PERIOD_PATTERN,
        description="YYYY, YYYY-Qn or YYYY-MM, years 2000–2099 (China Standard Time).",
        examples=["2026", "2026-Q3", "2026-07"])]) -> Period:
    parsed = Period.parse(period)
    if parsed.start > clock.now():
        raise Unprocessable(f"The period {period} has not begun.", field="period")
    return parsed


PeriodDep = Annotated[Period, Depends(_period)]


def _year(year: Year) -> Period:
    period = Period.year(year)
    if period.start > clock.now():
        raise Unprocessable(f"The year {year} has not begun.", field="year")
    return period


YearDep = Annotated[Period, Depends(_year)]


def visible_department(principal: TokenClaims, asked: str | None) -> str | None:
    """The department whose figures the caller may see: any (None = all) for oversight,
    otherwise its own."""
    if has_any_role(principal, OVERSIGHT):
        return asked
    if principal.department is None or asked not in (None, principal.department):
        raise Forbidden("A department sees its own figures only.", reason="not_own_department")
    return principal.department


__all__ = ["Admin", "CurrentPrincipal", "Filer", "OutboxDep", "Overseer", "PeriodDep",
           "SessionDep", "SettingsDep", "YearDep", "visible_department"]
