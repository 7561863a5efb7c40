"""Dependency aliases of the portal's routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from services.portal.api import NodeApi
from services.portal.session import OptionalViewerDep, ViewerDep, with_role


def node_api(request: Request) -> NodeApi:
    return request.app.state.api


ApiDep = Annotated[NodeApi, Depends(node_api)]
PAGE_SIZE = 20

__all__ = ["PAGE_SIZE", "ApiDep", "OptionalViewerDep", "ViewerDep", "with_role"]
