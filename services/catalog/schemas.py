"""Request and response bodies of the catalog API (the entry itself lives in shared)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.catalog import EntrySnapshot, EntrySpec, EntryStatus

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000)]


class EntryChange(EntrySpec):
    """A new declaration for an existing entry, and why it changes."""

    reason: Reason | None = Field(None, description="Required once the entry is published.")


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class EntryPublic(EntrySnapshot):
    created_at: datetime
    updated_at: datetime


class EntryVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    status: EntryStatus
    spec: dict[str, object] = Field(description="The entry's declaration at this version.")
    changed_by: str
    reason: str | None
    changed_at: datetime
