"""Domain errors of the evaluation service, each already a problem response."""

from __future__ import annotations

from shared.problems import (
    RETRY_AFTER_UNAVAILABLE,
    Conflict,
    NotFound,
    ProblemError,
    Unprocessable,
)


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


class SignatureUnavailable(ProblemError):
    """The report file cannot be signed now: the identity service holding the node's key
    did not answer (or the node has no key yet)."""

    status, slug, title = 503, "signature-unavailable", "The node's signature is unavailable"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": RETRY_AFTER_UNAVAILABLE})
