"""Separation of the administrators' duties (三员分立; A7, GB/T 22239-2019 8.1.4 安全管理中心).

    system administrator   node_admin      the node, departments, clients, staff accounts,
                                           and every role but the two below
    security administrator security_admin  the oversight roles: grants and withdraws
                                           auditor and security_admin, administers their holders
    auditor                auditor         reads the audit trails; changes nothing

An oversight role is held alone: one person is at most one of the three, and an auditor
or security administrator does none of the work they oversee. Nobody changes their own
account (roles, disabling, lock-out). A role is given or taken only by the administrator
whose duty it is, and an account only by one who could give every role it holds: a system
administrator can neither make an auditor (a sock puppet reading the trail of their own
acts) nor disable the auditor watching them. Administrators are named people: a system's
client holds no administrator role (a department's audit system may read the exchange's
log as `auditor`; the security trail is for staff auditors only). The CLI, run at the
node's machine with its database, grants any role (that is how the first administrators
are made) but keeps the duties apart too.
"""

from __future__ import annotations

from collections.abc import Iterable

from services.authorization.exceptions import (
    DutiesConflict,
    NotYourDuty,
    OwnAccount,
)
from services.authorization.security_log import Actor, ActorKind
from shared.contracts import Role

OVERSIGHT_ROLES = frozenset({Role.security_admin, Role.auditor})
GRANTED_BY = {role: Role.security_admin if role in OVERSIGHT_ROLES else Role.node_admin
              for role in Role}
NOT_FOR_CLIENTS = frozenset({Role.node_admin, Role.security_admin})
ARTICLE = "GB/T 22239-2019 8.1.4; 《网络安全法》第二十一条"


def grantable_by(actor: Actor) -> frozenset[Role]:
    """The roles `actor` may give and take."""
    if actor.is_operator():
        return frozenset(Role)
    if actor.kind != ActorKind.user:  # administrative acts are a named person's
        return frozenset()
    return frozenset(role for role, duty in GRANTED_BY.items() if duty in actor.roles)


def check_duties_apart(roles: Iterable[str]) -> None:
    """One person, one administrator's duty; an oversight role held alone."""
    held = set(roles)
    oversight = sorted(OVERSIGHT_ROLES & held)
    if oversight and len(held) > 1:
        others = ", ".join(sorted(held - {oversight[0]}))
        raise DutiesConflict(
            f"{oversight[0]} is held alone (三员分立): an administrator's duty apart from the "
            f"others and from the work it oversees, not with {others}.",
            field="roles", reason="separation_of_duties", conflicting_roles=sorted(held),
            article=ARTICLE)


def check_may_administer(actor: Actor, username: str, roles: Iterable[str]) -> None:
    """`actor` may change `username`'s account, which holds `roles`."""
    if actor.kind == ActorKind.user and actor.name == username:
        raise OwnAccount("Nobody changes their own account: another administrator must.",
                         reason="own_account", article=ARTICLE)
    _check_grantable(actor, set(roles), what="administer a user holding")


def check_role_change(actor: Actor, username: str, before: Iterable[str],
                      after: Iterable[str]) -> None:
    """`actor` may change `username`'s roles from `before` to `after`."""
    check_may_administer(actor, username, before)
    _check_grantable(actor, set(before) ^ set(after), what="give or take")
    check_duties_apart(after)


def check_client_roles(roles: Iterable[str]) -> None:
    """A system's client acts for a department, never as an administrator."""
    refused = sorted(NOT_FOR_CLIENTS.intersection(roles))
    if refused:
        raise DutiesConflict(
            f"A system's client cannot hold {', '.join(refused)}: administrators are named "
            "staff users, accountable for what they do.", field="roles",
            reason="administrator_role_on_client", conflicting_roles=refused, article=ARTICLE)


def _check_grantable(actor: Actor, roles: set[str], *, what: str) -> None:
    beyond = sorted(roles - grantable_by(actor))
    if beyond:
        duties = sorted({GRANTED_BY[Role(role)] for role in beyond})
        raise NotYourDuty(
            f"Only a {' or '.join(duties)} may {what} {', '.join(beyond)}.",
            reason="not_your_duty", roles=beyond, required_roles=duties, article=ARTICLE)
