"""Domain errors of the evaluation service, each already a problem response."""

from __future__ import annotations

from shared.problems import Conflict, NotFound, ProblemError, Unprocessable


class SystemNotFound(NotFound):
    slug, title = "system-not-found", "No such information system"


class RegistryViolation(Unprocessable):
    """A filing that names what its department does not own; names the field."""

    slug, title = "registry-violation", "The filing breaks a registry rule"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail, field=field)


class HistoryIncomplete(Conflict):
    slug, title = "history-incomplete", "The broker no longer holds the whole event history"


class RebuildUnavailable(ProblemError):
    status, slug, title = 503, "rebuild-unavailable", "The event consumer is not running"
