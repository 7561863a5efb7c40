"""Dependency aliases of the catalog service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.catalog.settings import CatalogSettings
from shared.deps import OutboxDep, SessionDep, runtime_settings

SettingsDep = Annotated[CatalogSettings, Depends(runtime_settings)]

__all__ = ["OutboxDep", "SessionDep", "SettingsDep"]
