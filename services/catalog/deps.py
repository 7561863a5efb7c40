"""Dependency aliases of the catalog service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.catalog.settings import CatalogSettings
from shared.auth import require_role
from shared.contracts import Role
from shared.deps import OutboxDep, SessionDep, runtime_settings
from shared.tokens import TokenClaims

SettingsDep = Annotated[CatalogSettings, Depends(runtime_settings)]
# The competent authority (node admin) and the auditors: they watch every department.
Overseer = Annotated[TokenClaims, Depends(require_role(Role.node_admin, Role.auditor))]

__all__ = ["OutboxDep", "Overseer", "SessionDep", "SettingsDep"]
