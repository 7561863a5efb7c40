"""Domain errors of the authorization service, each already a problem response."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shared.problems import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)

if TYPE_CHECKING:
    from services.authorization.node_keys import IdentityChange


class NodeNotInitialized(Conflict):
    slug, title = "node-not-initialized", "The node has not been initialised"


class NodeIdentityRefused(Conflict):
    """Initialising the node again would change what may not change; `change` says what."""

    def __init__(self, change: IdentityChange) -> None:
        changes = ", ".join(f"{name} {now} → {then}" for name, now, then in change.fields)
        super().__init__(f"{change.current_id}: {changes}")
        self.change = change


class NodeAlreadyInitialized(NodeIdentityRefused):
    slug, title = "node-already-initialized", "The node is already initialised"


class NodeIdentityFixed(NodeIdentityRefused):
    slug, title = "node-identity-fixed", "The node's id cannot change"


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


class InvalidDpopProof(BadRequest):
    """OAuth2 `invalid_dpop_proof` (RFC 9449 §5.2), as a problem."""

    slug, title = "invalid-dpop-proof", "The DPoP proof is not valid"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, error="invalid_dpop_proof")


class InvalidLogin(Unauthorized):
    slug, title = "invalid-login", "User authentication failed"


class UnsupportedGrant(Unprocessable):
    slug, title = "unsupported-grant-type", "Unsupported grant type"


# --- Staff and client security (A7) -------------------------------------------------------


class ClientAuthFailed(InvalidClient):
    """OAuth2 `invalid_client` with a `reason`: wrong credentials, or right ones a rule
    refuses (revoked, expired, from outside the client's networks)."""

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail)
        self.extensions["reason"] = reason


class ClientSecretExpired(ClientAuthFailed):
    slug, title = "client-secret-expired", "The client secret has expired"


class ClientNetworkRefused(ClientAuthFailed):
    slug, title = "client-network-refused", "Not from a network this client may call from"


class ClientRevoked(Conflict):
    slug, title = "client-revoked", "The client credentials were revoked"


class LoginLocked(TooManyRequests):
    """Too many failed logins for a user name: refused, right password or not, until the
    lock-out ends (Retry-After) or an administrator lifts it."""

    slug, title = "login-locked", "Too many failed logins"


class DutiesConflict(Unprocessable):
    slug, title = "duties-conflict", "Separate administrators' duties (三员分立)"


class NotYourDuty(Forbidden):
    slug, title = "not-your-duty", "Another administrator's duty"


class OwnAccount(Forbidden):
    slug, title = "own-account", "Not on one's own account"


class TrailRefused(Forbidden):
    slug, title = "trail-refused", "Only staff auditors read the security trail"


# --- Sharing ----------------------------------------------------------------------------------


class ResourceUnknown(Unprocessable):
    slug, title = "resource-unknown", "No published catalog entry has this code"


class ResourceWithdrawn(Conflict):
    slug, title = "resource-withdrawn", "The catalog entry was withdrawn"


class SharingRuleViolation(Unprocessable):
    """A request, answer or decision breaks a sharing rule; names the field, rule, article."""

    slug, title = "sharing-rule-violation", "The request breaks a sharing rule"

    def __init__(self, detail: str, *, field: str, rule: str, article: str,
                 **extensions: Any) -> None:
        super().__init__(detail, field=field, rule=rule, article=article, **extensions)


class RequestNotFound(NotFound):
    slug, title = "request-not-found", "No such request"


class GrantNotFound(NotFound):
    slug, title = "grant-not-found", "No such grant"



class NotAParty(Forbidden):
    slug, title = "not-a-party", "Only a party to the request may do this"


class AgreementExists(Conflict):
    slug, title = "agreement-exists", "This agreement is already on file"


class AgreementNotFound(NotFound):
    slug, title = "agreement-not-found", "No such agreement"


class AgreementConfirmedMeanwhile(Conflict):
    slug, title = "agreement-confirmed-meanwhile", "Another agreement was confirmed meanwhile"


class NotTheArbiter(Forbidden):
    """An arbiter who may not decide this dispute (A3): `reason` says why."""

    slug, title = "not-the-arbiter", "Not an arbiter of this dispute"


class ArbitrationSeatNotFound(NotFound):
    slug, title = "arbitration-seat-not-found", "The department does not sit for this body"


class InvitationInvalid(Forbidden):
    slug, title = "invitation-invalid", "The link invitation is not valid"


class NodeNotLinked(NotFound):
    slug, title = "node-not-linked", "No such linked node"


class NodeUnknown(NotFound):
    slug, title = "node-unknown", "No such node in the network"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, reason="node_unknown")


class ZoneBoundary(Forbidden):
    """Refused by `node` (the hop that applied the rule, F3)."""

    slug, title = "zone-boundary", "Not across the boundary between network zones"

    def __init__(self, detail: str, *, node: str | None = None) -> None:
        super().__init__(detail, reason="zone_boundary", **({"node": node} if node else {}))


class DelegationRefused(Forbidden):
    """A linked node's call for a department it cannot speak for."""

    slug, title = "delegation-refused", "The node cannot act for this department here"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, reason="delegation_refused")


class RouteRefused(Forbidden):
    """A relayed call whose path of nodes this node does not carry further (F5)."""

    slug, title = "route-refused", "The call's route through the network is refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, reason="route_refused")
