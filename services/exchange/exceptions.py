"""Domain errors of the exchange service, each already a problem response."""

from __future__ import annotations

from typing import Any

from shared.problems import (
    Conflict,
    Forbidden,
    NotFound,
    ProblemError,
    TooManyRequests,
    Unprocessable,
)


class EntryUnknown(NotFound):
    slug, title = "entry-unknown", "No published catalog entry has this code"


class OpenDataBusy(TooManyRequests):
    slug, title = "open-data-busy", "Too many open-data downloads at once"


class NotOpenData(NotFound):
    slug, title = "not-open-data", "No entry open to the public has this code"


class NotTheProvider(Forbidden):
    slug, title = "not-the-provider", "Only the providing department may do this"


class SourceApiRefused(Unprocessable):
    slug, title = "source-api-refused", "The provider's API may not be called there"


class BadUpload(Unprocessable):
    slug, title = "bad-upload", "The upload cannot be read as the entry's records"


class BadKey(Unprocessable):
    slug, title = "bad-key", "The key does not fit the entry's key items"


class AccessDenied(Forbidden):
    """A data access refused by the grant decision; names the failed condition only."""

    slug, title = "access-denied", "No grant allows this access"

    def __init__(self, detail: str, *, denial: str, **extensions: Any) -> None:
        super().__init__(detail, denial=denial, **extensions)


class GrantRateExceeded(TooManyRequests):
    slug, title = "grant-rate-exceeded", "Over the rate the grant allows"


class RecordNotFound(NotFound):
    slug, title = "record-not-found", "No record with this key is available to you"


class WebhookUnanswered(ProblemError):
    """A department's webhook did not take changes another node sent for it (F5)."""

    status, slug, title = 502, "webhook-unanswered", "The webhook did not take the changes"


class SourceUnavailable(ProblemError):
    status, slug, title = 502, "source-unavailable", "The provider's system did not answer"


class LoadNotFound(NotFound):
    slug, title = "load-not-found", "No such load of your department"


class LoadNotResumable(Conflict):
    slug, title = "load-not-resumable", "This load cannot be resumed"


class LoadRunning(Conflict):
    slug, title = "load-running", "The load is running"


class SubscriptionNotFound(NotFound):
    slug, title = "subscription-not-found", "No such subscription"


class ObjectionNotFound(NotFound):
    slug, title = "objection-not-found", "No such objection"


class HeadRewritten(Conflict):
    slug, title = "audit-head-rewritten", "Another hash is anchored for this audit position"


class IdentityUnavailable(ProblemError):
    status, slug, title = (503, "identity-unavailable",
                           "The node's identity service did not answer")
