"""Dependency aliases of the catalog service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.catalog.search_cache import SearchCache
from services.catalog.settings import CatalogSettings
from shared.auth import require_role
from shared.contracts import Role
from shared.deps import OutboxDep, SessionDep, runtime_settings
from shared.tokens import TokenClaims

SettingsDep = Annotated[CatalogSettings, Depends(runtime_settings)]


def search_cache(request: Request) -> SearchCache:
    """The process's recent search results."""
    cache: SearchCache = request.app.state.search_cache
    return cache


SearchCacheDep = Annotated[SearchCache, Depends(search_cache)]
# The competent authority (node admin) and the auditors: they watch every department.
Overseer = Annotated[TokenClaims, Depends(require_role(Role.node_admin, Role.auditor))]

__all__ = ["OutboxDep", "Overseer", "SearchCacheDep", "SessionDep", "SettingsDep"]
