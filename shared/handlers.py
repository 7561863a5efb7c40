"""Event handlers: a typed registry from payload class to handler.

Each service declares what it does with other services' events in its own `handlers.py`:

    handlers = Handlers()

    @handlers.on(EntryPublished, EntryUpdated)
    async def apply_entry(session: AsyncSession, event: Event[EntryEvent],
                          outbox: Outbox) -> None: ...

The consumer parses the envelope and its payload before a handler runs, so a handler sees
only well-formed, typed events; whatever the handler raises is a failure to retry, never a
reason to skip (see `shared.consumer`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events import EventData, EventEnvelope, EventSource, topic_for
from shared.outbox import Outbox

Payload = TypeVar("Payload", bound=EventData)


@dataclass(frozen=True)
class Event(Generic[Payload]):
    """An event as a handler sees it: the envelope's facts and its payload, parsed."""

    id: uuid.UUID
    type: str
    time: datetime
    key: str
    source: EventSource
    payload: Payload


Handler = Callable[[AsyncSession, Event[Any], Outbox], Awaitable[None]]
HandlerT = TypeVar("HandlerT", bound=Handler)


class MalformedEvent(Exception):
    """An envelope, or its payload, that does not match the contract of its type."""


@dataclass(frozen=True)
class Route:
    """What one event type is parsed into and who handles it."""

    payload: type[EventData]
    handler: Handler

class Handlers:
    """The events a service applies, each type with its payload class and one handler."""

    def __init__(self) -> None:
        self._routes: dict[str, Route] = {}
        self._unversioned: set[str] = set()

    def on(self, *payloads: type[EventData]) -> Callable[[HandlerT], HandlerT]:
        """Register the decorated handler for each payload class's event type."""

        def register(handler: HandlerT) -> HandlerT:
            for payload in payloads:
                self.add(payload, handler)
            return handler

        return register

    def add(self, payload: type[EventData], handler: Handler) -> None:
        """Register `handler` for `payload`'s event type; one handler per type."""
        if payload.event_type in self._routes:
            raise ValueError(f"{payload.event_type} already has a handler")
        self._routes[payload.event_type] = Route(payload, handler)
        self._unversioned.add(_unversioned(payload.event_type))

    def include(self, other: Handlers) -> Handlers:
        """Also apply every event `other` registers (returns self, for chaining)."""
        for route in other._routes.values():
            self.add(route.payload, route.handler)
        return self

    @property
    def event_types(self) -> frozenset[str]:
        return frozenset(self._routes)

    @property
    def topics(self) -> list[str]:
        return sorted({topic_for(event_type) for event_type in self._routes})

    def route_for(self, event_type: str) -> Route | None:
        return self._routes.get(event_type)

    def parse(self, envelope: EventEnvelope,
              topic: str | None = None) -> tuple[Route, Event[Any]] | None:
        """The route and typed event for `envelope` (read from `topic`); None when its type is
        not handled here. Raises MalformedEvent when the type does not belong on the topic
        (whoever may write the ingest topic must not pass off a grant), when it is a version
        of a handled event this service does not know, or when the payload breaks its
        type's contract."""
        if topic is not None and topic_for(envelope.type) != topic:
            raise MalformedEvent(f"a {envelope.type} event does not belong on {topic}")
        route = self._routes.get(envelope.type)
        if route is None:
            if _unversioned(envelope.type) in self._unversioned:
                raise MalformedEvent(f"no handler for {envelope.type} (another version)")
            return None
        try:
            payload = route.payload.model_validate(envelope.data)
        except ValidationError as error:
            # Field names and error kinds only: the input may be a person's data.
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}"
                                 for e in error.errors(include_input=False))
            raise MalformedEvent(f"{envelope.type} payload: {problems}") from error
        return route, Event(id=envelope.id, type=envelope.type, time=envelope.time,
                            key=envelope.key, source=envelope.source, payload=payload)


def _unversioned(event_type: str) -> str:
    return event_type.rsplit(".", 1)[0]


def parse_envelope(raw: bytes) -> EventEnvelope:
    """The envelope in `raw`; raises MalformedEvent when it is not one."""
    try:
        return EventEnvelope.model_validate_json(raw)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['type']}"
                             for e in error.errors(include_input=False))
        raise MalformedEvent(f"envelope: {problems}") from error


def event_of(payload: Payload, *, key: str = "", source: EventSource | None = None,
             time: datetime | None = None, event_id: uuid.UUID | None = None) -> Event[Payload]:
    """An event carrying `payload`, as the consumer would hand it over (for tests and tools)."""
    envelope = EventEnvelope(
        type=payload.event_type, key=key, data=payload.model_dump(mode="json"),
        source=source or EventSource(node="test", service="test"),
        **({"time": time} if time else {}), **({"id": event_id} if event_id else {}))
    return Event(id=envelope.id, type=envelope.type, time=envelope.time, key=envelope.key,
                 source=envelope.source, payload=payload)
