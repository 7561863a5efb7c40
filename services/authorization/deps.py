"""Dependency aliases of the authorization service's routers, and who may see what."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from services.authorization.settings import AuthorizationSettings
from shared.auth import has_any_role, require_role
from shared.contracts import Role
from shared.deps import OutboxDep, SessionDep, runtime_settings
from shared.problems import Forbidden
from shared.tokens import TokenClaims

SettingsDep = Annotated[AuthorizationSettings, Depends(runtime_settings)]

Reviewer = Annotated[TokenClaims, Depends(require_role(Role.request_reviewer))]
"""A department's staff or system handling its sharing correspondence."""
Requester = Annotated[TokenClaims, Depends(require_role(Role.request_reviewer,
                                                        Role.data_operator))]
"""Who may file a request: reviewers, and data-using systems for unconditional data."""
ArbiterPrincipal = Annotated[TokenClaims, Depends(require_role(Role.arbiter))]
"""Staff of the competent authority or the coordinating body."""

OVERSIGHT = (Role.auditor, Role.node_admin, Role.arbiter)


def oversees(principal: TokenClaims) -> bool:
    """Oversight roles see every request, grant and agreement of the node."""
    return has_any_role(principal, OVERSIGHT)


def department_of(principal: TokenClaims) -> str:
    """The principal's department; Forbidden for principals that act for none."""
    if not principal.department:
        raise Forbidden("Only a department's staff or systems can do this.",
                        reason="no_department")
    return principal.department


__all__ = ["ArbiterPrincipal", "OutboxDep", "Requester", "Reviewer", "SessionDep",
           "SettingsDep", "department_of", "oversees"]
