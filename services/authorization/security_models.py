"""Tables of staff and client security (A7): the security audit trail and failed logins."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from services.authorization.models import Base


class SecurityEvent(Base):
    """One security-relevant act (a login, a role change, a rotation...): who, when, from
    where, on what, and how it ended. Appended only; the database refuses changes."""

    __tablename__ = "security_event"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    actor: Mapped[str] = mapped_column(String(200), index=True)
    actor_kind: Mapped[str] = mapped_column(String(12))
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    source: Mapped[str | None] = mapped_column(INET)
    reason: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSONB)
    request_id: Mapped[str | None] = mapped_column(Text)


class LoginThrottle(Base):
    """Failed logins for a user name tried, whether or not such a user exists (so that a
    lock-out tells nothing about which names are real)."""

    __tablename__ = "login_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
