"""Staff login with lock-out (A7; GB/T 22239-2019 8.1.4.1 登录失败处理).

Failed logins are counted per user name tried, real or not. Each failure is answered a
little later than the one before, and `max_failures` of them within the window lock the
name out for `lockout`: every login is refused then, before its password is even checked,
so the answer says nothing about whether the password was right. The lock ends by itself or
when an administrator lifts it; a successful login clears the count.

An attempt is counted before its password is checked, in a transaction of its own holding
the name's row, so that guesses sent in parallel cannot pass the limit either.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.authorization import directory, duties, token_issuer
from services.authorization.exceptions import InvalidLogin, LoginLocked
from services.authorization.security_log import (
    WRONG_CREDENTIALS,
    Actor,
    ActorKind,
    Outcome,
    SecurityEventKind,
    record,
    refusals_recorded,
)
from services.authorization.security_models import LoginThrottle
from services.authorization.settings import AuthorizationSettings
from shared import clock
from shared.db import transaction


@dataclass(frozen=True)
class LoginPolicy:
    max_failures: int
    window: timedelta
    lockout: timedelta
    delay_per_failure: float

    @classmethod
    def of(cls, settings: AuthorizationSettings) -> LoginPolicy:
        return cls(settings.login_max_failures,
                   timedelta(seconds=settings.login_failure_window_seconds),
                   timedelta(seconds=settings.login_lockout_seconds),
                   settings.login_failure_delay_seconds)


@dataclass(frozen=True)
class Admission:
    failures: int
    """Failures counted on the name, this attempt included (it counts until it succeeds)."""
    locks_until: datetime | None
    """When this attempt, should it fail, locks the name until."""


async def log_in(sessions: async_sessionmaker[AsyncSession], username: str, password: str, *,
                 source: str | None, policy: LoginPolicy, ttl_seconds: int) -> str:
    """A token for the staff user, unless the name is locked out or the login fails; every
    attempt is recorded in the security trail."""
    actor = Actor(username, ActorKind.user, source=source)
    async with refusals_recorded(sessions, actor, SecurityEventKind.login, target=username):
        if "\x00" in username:  # no user has one, and PostgreSQL text cannot hold it
            raise InvalidLogin("The user name or password is wrong.", reason=WRONG_CREDENTIALS)
        async with transaction(sessions) as session:
            admission = await _admit(session, username, policy, clock.now())
    try:
        async with transaction(sessions) as session:
            token = await token_issuer.token_for_user(session, username, password, ttl_seconds)
            await session.execute(delete(LoginThrottle).where(LoginThrottle.username == username))
            record(session, actor, SecurityEventKind.login, target=username)
        return token
    except InvalidLogin as failure:
        await _record_failure(sessions, actor, failure, admission)
        await asyncio.sleep(policy.delay_per_failure * admission.failures)
        raise


async def _admit(session: AsyncSession, username: str, policy: LoginPolicy,
                 now: datetime) -> Admission:
    await session.execute(insert(LoginThrottle).values(
        username=username, failures=0, window_started_at=now).on_conflict_do_nothing())
    throttle = await session.scalar(select(LoginThrottle).where(
        LoginThrottle.username == username).with_for_update())
    assert throttle is not None
    if throttle.locked_until is not None and throttle.locked_until > now:
        wait = throttle.locked_until - now
        raise LoginLocked(
            f"Too many failed logins for this user name: logins are refused until "
            f"{throttle.locked_until.isoformat(timespec='seconds')}, or until an "
            "administrator lifts the lock.", reason="locked",
            locked_until=throttle.locked_until.isoformat(),
            headers={"Retry-After": str(max(1, int(wait.total_seconds()) + 1))})
    if throttle.locked_until is not None or throttle.window_started_at <= now - policy.window:
        throttle.failures, throttle.window_started_at, throttle.locked_until = 0, now, None
    throttle.failures += 1
    if throttle.failures >= policy.max_failures:
        # Locked from now on, unless this very attempt succeeds and clears the count.
        throttle.locked_until = now + policy.lockout
    return Admission(throttle.failures, throttle.locked_until)


async def _record_failure(sessions: async_sessionmaker[AsyncSession], actor: Actor,
                          failure: InvalidLogin, admission: Admission) -> None:
    reason = str(failure.extensions.get("reason", WRONG_CREDENTIALS))
    outcome = Outcome.failed if reason == WRONG_CREDENTIALS else Outcome.refused
    async with transaction(sessions) as session:
        record(session, actor, SecurityEventKind.login, outcome=outcome, target=actor.name,
               reason=reason, failures=admission.failures)
        if admission.locks_until is not None:
            record(session, actor, SecurityEventKind.lockout, outcome=Outcome.refused,
                   target=actor.name, reason="too_many_failures",
                   failures=admission.failures, until=admission.locks_until.isoformat())


@dataclass(frozen=True)
class LockState:
    username: str
    failures: int
    locked_until: datetime | None


async def lock_state(session: AsyncSession, username: str, policy: LoginPolicy) -> LockState:
    """The user's failed logins still counted, and until when they are locked out."""
    user = await directory.get_user(session, username)
    throttle = await session.get(LoginThrottle, user.username)
    now = clock.now()
    if throttle is None:
        return LockState(user.username, 0, None)
    if throttle.locked_until is not None:
        locked = throttle.locked_until > now
        return LockState(user.username, throttle.failures if locked else 0,
                         throttle.locked_until if locked else None)
    counted = throttle.window_started_at > now - policy.window
    return LockState(user.username, throttle.failures if counted else 0, None)


async def unlock(session: AsyncSession, actor: Actor, username: str,
                 policy: LoginPolicy) -> LockState:
    """Lift the user's lock-out and clear their failed logins."""
    before = await lock_state(session, username, policy)
    user = await directory.get_user(session, username)
    duties.check_may_administer(actor, user.username, user.roles)
    await session.execute(delete(LoginThrottle).where(LoginThrottle.username == user.username))
    record(session, actor, SecurityEventKind.unlock, target=user.username,
           failures=before.failures,
           locked_until=before.locked_until.isoformat() if before.locked_until else None)
    return LockState(user.username, 0, None)
