"""Dependency aliases of the exchange service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.exchange.settings import ExchangeSettings
from shared.auth import has_any_role, require_role
from shared.contracts import Role
from shared.deps import OutboxDep, SessionDep, runtime_settings
from shared.runtime import ServiceRuntime
from shared.tokens import TokenClaims

SettingsDep = Annotated[ExchangeSettings, Depends(runtime_settings)]

Operator = Annotated[TokenClaims, Depends(require_role(Role.data_operator))]
"""A department's data system: loads its own entries, uses what it is granted."""
Overseer = Annotated[TokenClaims, Depends(require_role(Role.auditor, Role.node_admin))]
"""The platform's auditors and operators: the whole audit log, quality checks."""

OVERSIGHT = (Role.auditor, Role.node_admin)


def oversees(principal: TokenClaims) -> bool:
    return has_any_role(principal, OVERSIGHT)


def runtime_of(request: Request) -> ServiceRuntime:
    return request.app.state.runtime


__all__ = ["Operator", "OutboxDep", "Overseer", "SessionDep", "SettingsDep", "oversees",
           "runtime_of"]
