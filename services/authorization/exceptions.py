"""Domain errors of the authorization service, each already a problem response."""

from __future__ import annotations

from shared.problems import Conflict, NotFound, Unauthorized, Unprocessable


class NodeNotInitialized(Conflict):
    slug, title = "node-not-initialized", "The node has not been initialised"


class DepartmentExists(Conflict):
    slug, title = "department-exists", "The department is already registered"


class DepartmentNotFound(NotFound):
    slug, title = "department-not-found", "No such department"


class ClientNotFound(NotFound):
    slug, title = "client-not-found", "No such client"


class UserExists(Conflict):
    slug, title = "user-exists", "The user name is taken"


class UserNotFound(NotFound):
    slug, title = "user-not-found", "No such user"


class InvalidClient(Unauthorized):
    """OAuth2 `invalid_client` (RFC 6749 §5.2), as a problem."""

    slug, title = "invalid-client", "Client authentication failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, error="invalid_client")


class InvalidLogin(Unauthorized):
    slug, title = "invalid-login", "User authentication failed"


class UnsupportedGrant(Unprocessable):
    slug, title = "unsupported-grant-type", "Unsupported grant type"
