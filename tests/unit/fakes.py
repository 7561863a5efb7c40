"""Fakes of what a handler is given: a session that records statements, an outbox that keeps
events. Handlers run against them without a database (the integration tests do the wiring)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Executable

from shared.events import EventData
from shared.outbox import Outbox


class RecordingSession:
    """Stands in for an AsyncSession: keeps every statement; `scalar` answers `scalar_result`."""

    def __init__(self, scalar_result: Any = None) -> None:
        self.statements: list[Executable] = []
        self.added: list[Any] = []
        self.scalar_result = scalar_result

    async def execute(self, statement: Executable, *args: Any, **kwargs: Any) -> None:
        self.statements.append(statement)

    async def scalar(self, statement: Executable, *args: Any, **kwargs: Any) -> Any:
        self.statements.append(statement)
        return self.scalar_result

    def add(self, instance: Any) -> None:
        self.added.append(instance)

    def written(self) -> list[dict[str, Any]]:
        """The bound values of each statement, as PostgreSQL would receive them."""
        return [statement.compile(dialect=postgresql.dialect()).params  # type: ignore[attr-defined]
                for statement in self.statements]

    def tables(self) -> list[str]:
        return [statement.table.name for statement in self.statements]  # type: ignore[attr-defined]


class RecordingOutbox(Outbox):
    """An outbox that keeps what handlers add instead of writing rows."""

    def __init__(self) -> None:
        super().__init__(node="test-node", service="test")
        self.events: list[tuple[str, EventData]] = []

    async def add(self, session: Any, key: str, payload: EventData) -> Any:  # type: ignore[override]
        self.events.append((key, payload))
