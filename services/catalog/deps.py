"""Dependency aliases of the catalog service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.catalog.settings import CatalogSettings
from shared.deps import OutboxDep, SessionDep


def _settings(request: Request) -> CatalogSettings:
    return request.app.state.runtime.settings


SettingsDep = Annotated[CatalogSettings, Depends(_settings)]

__all__ = ["OutboxDep", "SessionDep", "SettingsDep"]
