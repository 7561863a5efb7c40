"""Dependency aliases of the authorization service's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.authorization.settings import AuthorizationSettings
from shared.deps import OutboxDep, SessionDep


def _settings(request: Request) -> AuthorizationSettings:
    return request.app.state.runtime.settings


SettingsDep = Annotated[AuthorizationSettings, Depends(_settings)]

__all__ = ["OutboxDep", "SessionDep", "SettingsDep"]
