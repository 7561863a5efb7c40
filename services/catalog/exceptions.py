"""Domain errors of the catalog service, each already a problem response."""

from __future__ import annotations

from shared.problems import Conflict, Forbidden, NotFound, ProblemError, Unprocessable


class RuleViolation(Unprocessable):
    """An entry breaks a catalog rule; names the field, the rule and the article."""

    slug, title = "catalog-rule-violation", "The entry breaks a catalog rule"

    def __init__(self, detail: str, *, field: str, rule: str, article: str) -> None:
        super().__init__(detail, field=field, rule=rule, article=article)


class UnknownProvider(Unprocessable):
    slug, title = "unknown-provider", "The providing department is not registered"


class EntryNotFound(NotFound):
    slug, title = "entry-not-found", "No such catalog entry"


class EntryNameTaken(Conflict):
    slug, title = "entry-name-taken", "The provider already has an entry of this name"


class IllegalTransition(Conflict):
    slug, title = "illegal-transition", "The entry cannot make this change in its state"


class NotTheProvidersEditor(Forbidden):
    slug, title = "not-providers-editor", "Only the provider's catalog editors may do this"


class TriggerNotFound(NotFound):
    slug, title = "trigger-not-found", "No such change trigger"


class TriggerNotAnswered(Unprocessable):
    slug, title = "trigger-not-answered", "No catalog change answers the trigger"


class RecordNotFound(NotFound):
    slug, title = "record-not-found", "No such registry record"


class NotTheLeadDepartment(Forbidden):
    slug, title = "not-lead-department", ("Only the base resource's lead department or the "
                                          "competent authority keeps its base items")


class BaseItemNotFound(NotFound):
    slug, title = "base-item-not-found", "No such base-item registration"


class BaseItemTaken(Conflict):
    slug, title = "base-item-taken", "The base resource registers an item of this code or name"


class ThesaurusVersionStale(Conflict):
    slug, title = "thesaurus-version-stale", "The thesaurus changed since the version edited"


class ThesaurusVersionNotFound(NotFound):
    slug, title = "thesaurus-version-not-found", "No such version of the thesaurus"


class ThesaurusTermTwice(Unprocessable):
    slug, title = "thesaurus-term-twice", "A term belongs to two groups of the thesaurus"


class DepartmentNotFound(NotFound):
    slug, title = "department-not-found", "No such department on this node"


class UnsupportedUpload(ProblemError):
    status, slug, title = 415, "unsupported-media-type", "Upload an .xlsx workbook"


class NotAWorkbook(Unprocessable):
    """W4: the upload is no workbook of the compilation template (or more than one upload
    should carry)."""

    slug, title = "not-a-workbook", "The upload is not a compilation workbook"


class WorkbookRefused(Unprocessable):
    """W4: rows of the workbook break rules; `errors` names each refused cell (sheet, row,
    column), with its field, rule and article. Nothing of the workbook was stored."""

    slug, title = "workbook-refused", "The workbook breaks catalog rules; nothing was stored"
