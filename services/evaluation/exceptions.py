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


class NoParentNode(Conflict):
    slug, title = "no-parent-node", "This node has no parent node"


class ParentRefused(ProblemError):
    """The parent node did not take a submission (F7): down, or refusing it (`detail`)."""

    status, slug, title = 502, "parent-refused", "The parent node did not take the submission"


class SubmissionRefused(Unprocessable):
    """A child's submission whose signature, figures or file do not hold (F7)."""

    slug, title = "submission-refused", "The submission is not what its node signed"

    def __init__(self, detail: str, *, reason: str) -> None:
        super().__init__(detail, reason=reason)


class SubmissionNotFound(NotFound):
    slug, title = "submission-not-found", "No such report submission"
