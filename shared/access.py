"""The access decision: may this department, for this purpose, have these items now?

One pure function over the grants the caller holds for an entry, so the authorization
service (its decision endpoint) and the exchange service (its read model of grant events)
decide alike. A grant is bound to its consumer and never transfers [51 §14]: grants of any
other department are not even looked at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.contracts.catalog import PermittedUse, ShareMethod
from shared.contracts.sharing import GrantSnapshot, GrantStatus


class Denial(StrEnum):
    """The condition that failed, most fundamental first."""

    no_grant = "no_grant"
    grant_not_active = "grant_not_active"
    purpose_not_granted = "purpose_not_granted"
    method_not_granted = "method_not_granted"
    items_not_granted = "items_not_granted"


@dataclass(frozen=True)
class AccessQuery:
    consumer: str
    entry_code: str
    purpose: PermittedUse
    method: ShareMethod
    items: frozenset[str] = frozenset()  # empty: every item the grant holds


@dataclass(frozen=True)
class AccessDecision:
    allowed: bool
    grant: GrantSnapshot | None = None
    denial: Denial | None = None
    detail: str = ""
    items: tuple[str, ...] = field(default=())  # what the consumer receives when allowed


def is_active(grant: GrantSnapshot, now: datetime) -> bool:
    """In force now: active, before its end, and on an agreement not yet ended (A5, A6)."""
    return _effective_status(grant, now) == GrantStatus.active


def decide(grants: Iterable[GrantSnapshot], query: AccessQuery, now: datetime) -> AccessDecision:
    """Allow with the first grant that satisfies every condition, or name the one that failed
    for the grant that came closest."""
    held = [g for g in grants if g.consumer == query.consumer and g.entry_code == query.entry_code]
    if not held:
        return _deny(Denial.no_grant, f"Department {query.consumer} holds no grant for "
                                      f"{query.entry_code}.")
    active = [g for g in held if is_active(g, now)]
    if not active:
        states = sorted({_effective_status(g, now) for g in held})
        return _deny(Denial.grant_not_active,
                     f"The grants for {query.entry_code} are not active: {', '.join(states)}.")
    for_purpose = [g for g in active if g.purpose == query.purpose]
    if not for_purpose:
        return _deny(Denial.purpose_not_granted,
                     f"No active grant is for the purpose {query.purpose}; granted for: "
                     f"{', '.join(sorted({g.purpose for g in active}))}.")
    by_method = [g for g in for_purpose if query.method in g.methods]
    if not by_method:
        return _deny(Denial.method_not_granted,
                     f"No grant for this purpose allows {query.method}.")
    for grant in by_method:
        if query.items <= set(grant.items):
            items = tuple(i for i in grant.items if not query.items or i in query.items)
            return AccessDecision(allowed=True, grant=grant, items=items)
    widest = max(by_method, key=lambda g: len(query.items & set(g.items)))
    missing = sorted(query.items - set(widest.items))
    return _deny(Denial.items_not_granted,
                 f"Items not granted: {', '.join(missing)}.", grant=widest)


def _effective_status(grant: GrantSnapshot, now: datetime) -> str:
    """What the clock has made of an active grant before any sweep says so."""
    if grant.status == GrantStatus.active and grant.expires_at <= now:
        return GrantStatus.expired
    if (grant.status == GrantStatus.active and grant.agreement_ends_at is not None
            and grant.agreement_ends_at <= now):
        return GrantStatus.suspended
    return grant.status


def _deny(denial: Denial, detail: str, grant: GrantSnapshot | None = None) -> AccessDecision:
    return AccessDecision(allowed=False, denial=denial, detail=detail, grant=grant)
