"""govshare's common library: contracts (events, ids, enums) and infrastructure.

Contracts: `events`, `contracts`, `identifiers`.
Infrastructure: `settings`, `db`, `migrations`, `kafka`, `outbox`, `consumer`, `tokens`,
`auth`, `problems`, `logs`, `web`, `runtime`.

Import from the module that owns a name (`from shared.outbox import Outbox`); this package
re-exports the names a service uses most.
"""

from shared.events import EventData, EventEnvelope, EventSource, topic_for
from shared.problems import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    Unauthorized,
    Unprocessable,
)

__all__ = [
    "BadRequest",
    "Conflict",
    "EventData",
    "EventEnvelope",
    "EventSource",
    "Forbidden",
    "NotFound",
    "ProblemError",
    "Unauthorized",
    "Unprocessable",
    "topic_for",
]
