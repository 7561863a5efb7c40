"""Fakes of what a handler is given: a session that records statements, an outbox that keeps
events. Handlers run against them without a database (the integration tests do the wiring)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy.dialects import postgresql
from sqlalchemy.sql import Executable

from shared.events import EventData
from shared.outbox import Outbox


class RecordingResult:
    """What `execute` returns: the rows the test gave the session."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def all(self) -> list[tuple[Any, ...]]:
        return self.rows


@dataclass(frozen=True)
class Conflict:
    """What an insert does to the row already there: the columns it overwrites (none: it
    leaves the row as it is) and the condition it overwrites them on (None: always), with its
    values written in."""

    overwrites: frozenset[str]
    where: str | None = None


class RecordingSession:
    """Stands in for an AsyncSession: keeps every statement; `scalar` answers `scalar_result`,
    `execute` answers `rows` and `get` answers `got`."""

    def __init__(self, scalar_result: Any = None, *, rows: list[tuple[Any, ...]] | None = None,
                 got: Any = None) -> None:
        self.statements: list[Executable] = []
        self.added: list[Any] = []
        self.scalar_result = scalar_result
        self.rows = rows or []
        self.got = got

    async def execute(self, statement: Executable, *args: Any, **kwargs: Any) -> RecordingResult:
        self.statements.append(statement)
        return RecordingResult(self.rows)

    async def scalar(self, statement: Executable, *args: Any, **kwargs: Any) -> Any:
        self.statements.append(statement)
        return self.scalar_result

    async def get(self, model: Any, key: Any, **kwargs: Any) -> Any:
        return self.got

    def sql(self) -> list[str]:
        """Each statement's SQL, as PostgreSQL would receive it."""
        return [str(statement.compile(dialect=postgresql.dialect()))  # type: ignore[attr-defined]
                for statement in self.statements]

    def add(self, instance: Any) -> None:
        self.added.append(instance)

    def written(self) -> list[dict[str, Any]]:
        """The bound values of each statement, as PostgreSQL would receive them."""
        return [statement.compile(dialect=postgresql.dialect()).params  # type: ignore[attr-defined]
                for statement in self.statements]

    def conflicts(self) -> list[Conflict | None]:
        """What each statement does on a conflict with a stored row (None: no ON CONFLICT)."""
        return [_conflict(sql, params) for sql, params in zip(self.sql(), self.written(),
                                                               strict=True)]

    def tables(self) -> list[str]:
        return [statement.table.name for statement in self.statements]  # type: ignore[attr-defined]


def columns(model: type[Any]) -> frozenset[str]:
    """Every column of `model`'s table: what an upsert of a whole snapshot overwrites."""
    return frozenset(model.__table__.columns.keys())


# A bound parameter and its cast, as the PostgreSQL dialect renders them.
_PARAMETER = re.compile(r"%\((\w+)\)s(?:::\w+(?: WITH(?:OUT)? TIME ZONE)?)?")


def _conflict(sql: str, params: dict[str, Any]) -> Conflict | None:
    _, on_conflict, action = sql.partition(" ON CONFLICT ")
    if not on_conflict:
        return None
    _, update, assigned = action.partition(" RETURNING ")[0].partition(" DO UPDATE SET ")
    if not update:  # DO NOTHING
        return Conflict(frozenset())
    assignments, _, where = assigned.partition(" WHERE ")
    return Conflict(frozenset(re.findall(r"(\w+) = ", assignments)),
                    _PARAMETER.sub(lambda bound: str(params[bound[1]]), where) or None)


class RecordingOutbox(Outbox):
    """An outbox that keeps what handlers add instead of writing rows."""

    def __init__(self) -> None:
        super().__init__(node="test-node", service="test")
        self.events: list[tuple[str, EventData]] = []

    async def add(self, session: Any, key: str, payload: EventData) -> Any:  # type: ignore[override]
        self.events.append((key, payload))
