"""The event contract every service speaks: a versioned envelope around a typed payload.

An event type reads `<domain>.<aggregate>.<verb>.v<N>` (`identity.department.registered.v1`).
All events of one aggregate kind share a topic (`govshare.identity.department`) and use the
aggregate id as the Kafka key, so one aggregate's events stay in order.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared import clock

EVENT_TYPE_PATTERN = re.compile(r"^[a-z_]+\.[a-z_]+\.[a-z_]+\.v[0-9]+$")
TOPIC_PREFIX = "govshare."


class EventSource(BaseModel):
    """Where an event was produced."""

    node: str = Field(description="Id of the node that produced the event.")
    service: str = Field(description="Service that produced the event.")


class EventEnvelope(BaseModel):
    """The CloudEvents-like envelope carried on every topic."""

    model_config = ConfigDict(frozen=True)

    id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique event id.")
    type: str = Field(description="Versioned event type, e.g. identity.department.registered.v1.")
    source: EventSource
    # Business time: the evaluation counts an event in the period it happened in.
    time: datetime = Field(default_factory=clock.now)
    key: str = Field(description="Aggregate id; the Kafka partition key.")
    data: dict[str, Any] = Field(description="The type's payload.")

    @field_validator("type")
    @classmethod
    def _versioned(cls, value: str) -> str:
        if not EVENT_TYPE_PATTERN.match(value):
            raise ValueError("event type must read <domain>.<aggregate>.<verb>.v<N>")
        return value

    @property
    def topic(self) -> str:
        return topic_for(self.type)


class EventData(BaseModel):
    """Base of every event payload; subclasses name their versioned type."""

    event_type: ClassVar[str]


def topic_for(event_type: str) -> str:
    """The topic that carries an event type: one per domain and aggregate kind."""
    domain, aggregate, *_ = event_type.split(".")
    return f"{TOPIC_PREFIX}{domain}.{aggregate}"
