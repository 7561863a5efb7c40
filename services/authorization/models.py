"""Tables of the identity half of the authorization service (schema `authorization`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ARRAY, Boolean, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class Node(Timestamped, Base):
    """A deployment of govshare; exactly one row is the local node."""

    __tablename__ = "node"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6))
    zone: Mapped[str] = mapped_column(String(10))
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)


class SigningKeyRecord(Base):
    """A key the local node signs tokens with; the newest unretired one is active."""

    __tablename__ = "signing_key"

    kid: Mapped[str] = mapped_column(String(32), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Department(Timestamped, Base):
    """A government department, identified by its unified social credit code."""

    __tablename__ = "department"

    credit_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[str] = mapped_column(String(20))
    region_code: Mapped[str] = mapped_column(String(6), index=True)


class Client(Timestamped, Base):
    """A department system's client credentials (the secret is stored hashed)."""

    __tablename__ = "client"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(
        ForeignKey("department.credit_code"), index=True
    )
    secret_hash: Mapped[str] = mapped_column(String(128))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_reason: Mapped[str | None] = mapped_column(Text)


class User(Timestamped, Base):
    """A staff user; node admins of the competent authority may have no department."""

    __tablename__ = "user_account"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(200))
    department: Mapped[str | None] = mapped_column(
        ForeignKey("department.credit_code"), index=True
    )
    password_hash: Mapped[str] = mapped_column(String(256))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
