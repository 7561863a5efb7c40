"""Request and response bodies of the catalog API (the entry itself lives in shared)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.catalog import (
    BaseSubject,
    EntrySnapshot,
    EntrySpec,
    EntryStatus,
    ItemCode,
    ShareType,
)
from shared.contracts.values import NOT_BLANK, Day

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000,
                                           pattern=NOT_BLANK)]


class EntryChange(EntrySpec):
    """A new declaration for an existing entry, and why it changes."""

    reason: Reason | None = Field(None, description="Required once the entry is published.")


class Withdrawal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason


class DuplicateCollectionPublic(BaseModel):
    """C7: an item of this entry that another department is responsible for collecting."""

    model_config = ConfigDict(from_attributes=True)
    item_code: str
    item_name: str
    provider: str
    responsible_department: str
    flagged_at: datetime


class DuplicateCollectionListed(DuplicateCollectionPublic):
    """A flag in the list of flags: its entry, and when and why it was cleared, if it was."""

    entry_code: str
    cleared_at: datetime | None = Field(None, description="Set on a cleared flag only.")
    cleared_because: str | None = Field(None, description=(
        "entry_withdrawn, item_removed or responsibility_changed (the register names another "
        "department); set on a cleared flag only."))


class EntryPublic(EntrySnapshot):
    created_at: datetime
    updated_at: datetime
    duplicate_collection: list[DuplicateCollectionPublic] = Field(
        default_factory=list, description="Items flagged as duplicate collection (C7).")
    aggregated_via: list[str] | None = Field(
        None, description="For an entry aggregated from another node (F1): the nodes it came "
                          "through, its origin (`node`) first; empty for this node's own.")


class ResponsibilityRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_name: Reason = Field(examples=["公民身份号码"])
    department: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")]


class ResponsibilityPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    item_code: str
    item_name: str
    department: str
    registered_by: str
    registered_at: datetime


class EntryVersionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    status: EntryStatus
    spec: dict[str, object] = Field(description="The entry's declaration at this version.")
    changed_by: str
    reason: str | None
    changed_at: datetime


class TriggerKind(StrEnum):
    """What obliges a catalog update within 15 working days (C6)."""

    law_revised = "law_revised"
    functions_changed = "functions_changed"


class TriggerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")] = Field(
        description="Credit code of the department that must update its catalog.")
    kind: TriggerKind
    description: Reason = Field(examples=["《中华人民共和国户口登记条例》修订"])
    occurred_on: Day = Field(description="When the law or the functions changed.")


class TriggerResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_code: Annotated[str, StringConstraints(pattern=r"^[0-9]+/[0-9]{6}$")] = Field(
        description="The department's entry whose change answers the trigger: it must have "
                    "been published, updated or withdrawn on or after the trigger's "
                    "occurred_on (C6: the catalog is updated, not only declared so).",
        examples=["101001/000001"])
    note: Reason


class TriggerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    department: str
    kind: TriggerKind
    description: str
    occurred_on: date
    due_on: date = Field(description="15 working days after occurred_on.")
    calendar_basis: list[str] = Field(
        description="Sources of the working days counted: loaded, library, weekday_fallback.")
    recorded_by: str
    recorded_at: datetime
    resolved_at: datetime | None
    resolution: str | None
    answered_by_entry: str | None = Field(
        description="The entry whose change resolved the trigger.")
    answered_by_version: int | None = Field(
        description="Its version that answered: the first made on or after occurred_on.")


class ScheduleLoad(BaseModel):
    """A year's State Council schedule (国务院办公厅关于…部分节假日安排的通知)."""

    model_config = ConfigDict(extra="forbid")
    holidays: list[Day] = Field(description="Weekdays that are days off.", max_length=60)
    adjusted_workdays: list[Day] = Field(description="Weekend days that are working days.",
                                          max_length=30)


class ScheduleView(BaseModel):
    year: int
    basis: str = Field(description="loaded, library or weekday_fallback for this year.")
    holidays: list[date]
    adjusted_workdays: list[date]


class SearchPage(BaseModel):
    """One page of search results and the facet counts over every match."""

    items: list[EntryPublic]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]] = Field(
        description="classification, provider, share_type, method, tier, region → value → "
                    "count of matching entries.")
    interpretation: QueryInterpretation | None = Field(None, description=(
        "How the query was read: its words and the thesaurus's terms looked for each."))


ResourceCodes = list[Annotated[str, StringConstraints(pattern=r"^[0-9]+/[0-9]{6}$")]]


class DatabaseRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Reason = Field(examples=["全市人口基础信息库"])
    dbms: Reason = Field(examples=["PostgreSQL 16"])
    description: Reason
    resource_codes: ResourceCodes = Field(description="Entries this database backs.")


class Deregistration(Withdrawal):
    """Why a database leaves the registry."""


class DatabaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: Reason
    resource_codes: ResourceCodes


class DatabasePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    department: str
    name: str
    dbms: str
    description: str
    resource_codes: list[str]
    status: str = Field(description="registered, updated or deregistered.")
    reason: str | None
    registered_at: datetime
    updated_at: datetime


class ProjectFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Reason = Field(examples=["智慧民政综合信息平台建设项目"])
    planned_resources: list[Reason] = Field(min_length=1,
                                            description="Resources the project will build.")


class ProjectAcceptance(BaseModel):
    model_config = ConfigDict(extra="forbid")
    entry_codes: ResourceCodes = Field(min_length=1)


class ProjectPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    department: str
    name: str
    planned_resources: list[str]
    accepted_codes: list[str] | None
    status: str = Field(description="filed (before approval) or accepted.")
    filed_at: datetime
    accepted_at: datetime | None


CreditCode = Annotated[str, StringConstraints(pattern=r"^[0-9A-Z]{18}$")]


class LeadAppointment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    department: CreditCode = Field(description="Credit code of the lead department.")


class BaseSubjectPublic(BaseModel):
    """A base resource and the department that leads it (JS §11(二)), if one is appointed."""

    subject: BaseSubject = Field(description="项 code: 01 population … 05 electronic licences.")
    name: str = Field(examples=["人口"])
    lead_department: str | None
    appointed_by: str | None
    appointed_at: datetime | None


class BaseItemRegistration(BaseModel):
    model_config = ConfigDict(extra="forbid")
    subject: BaseSubject = Field(description="The base resource (项 code).")
    item_code: ItemCode = Field(examples=["GMSFHM"])
    item_name: Reason = Field(examples=["公民身份号码"])
    reason: Reason = Field(description="Why the item is a base item: its source.",
                           examples=["《中华人民共和国居民身份证法》第三条"])


class BaseItemRemoval(Withdrawal):
    """Why an item is no longer a base item."""


class BaseItemPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    subject: BaseSubject
    item_code: str
    item_name: str
    reason: str
    registered_by: str
    registered_at: datetime
    removed_by: str | None = Field(description="Set on a removed registration only.")
    removed_at: datetime | None
    removal_reason: str | None


class BaseItemViolation(BaseModel):
    """An item of a published entry shared otherwise than unconditionally although the
    register names it a base item of the entry's base resource (C3): its provider changes it."""

    entry_code: str
    entry_name: str
    provider: str
    subject: BaseSubject
    field: str = Field(description="Where the entry breaks C3.", examples=["items[1].share_type"])
    item_code: str
    item_name: str
    share_type: ShareType
    base_item: BaseItemPublic = Field(description="The registration the item breaks.")


# --- the search thesaurus (C9) -------------------------------------------------------------

ThesaurusTerm = Annotated[str, StringConstraints(
    strip_whitespace=True, min_length=2, max_length=30, pattern=r"^[0-9A-Za-z\u3400-\u9fff]+$")]


class ThesaurusGroup(BaseModel):
    """Words a search treats as one: the preferred (official) term and its synonyms or
    common names, each finding the others; and terms it also finds, one way only."""

    model_config = ConfigDict(extra="forbid")
    preferred: ThesaurusTerm = Field(examples=["社会保险"])
    terms: list[ThesaurusTerm] = Field([], max_length=50, examples=[["社保"]],
                                       description="Synonyms and common names.")
    also_finds: list[ThesaurusTerm] = Field(
        [], max_length=50, examples=[["养老保险", "失业保险", "医疗保险"]],
        description="Found by a search for the group, but not finding it: narrower kinds, "
                    "or the records a document comes from (户口本 → 户籍).")


class ThesaurusReplace(BaseModel):
    """The whole thesaurus as it is to be, put in force as its next version."""

    model_config = ConfigDict(extra="forbid")
    replaces: int = Field(ge=0, le=2**31 - 1, description=(
        "The version this edit was made from: refused with 409 if another has been put in "
        "force since."))
    reason: Reason = Field(examples=["增加“新农合”等群众常用说法"])
    groups: list[ThesaurusGroup] = Field(max_length=2000)


class ThesaurusVersionListed(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: int
    changed_by: str = Field(description="Who put it in force (`shipped` for the node's own).")
    changed_at: datetime
    reason: str


class ThesaurusPublic(ThesaurusVersionListed):
    groups: list[ThesaurusGroup]


class QueryPartPublic(BaseModel):
    """How a search read one word of its query."""

    model_config = ConfigDict(from_attributes=True)
    asked: str = Field(examples=["社保"])
    terms: list[str] = Field(description="Every term a match may hold for it.",
                             examples=[["社保", "社会保险", "养老保险"]])


class QueryInterpretation(BaseModel):
    thesaurus_version: int
    parts: list[QueryPartPublic] = Field(description="Each must be matched by one of its terms.")


class CellRefusal(BaseModel):
    """W4: one refusal of an uploaded workbook, at the cell it concerns."""

    sheet: str = Field(examples=["信息项"])
    row: int | None = Field(None, description="The sheet's row (1 is the headers); none when "
                                              "the refusal is of a whole sheet.")
    column: str | None = Field(None, examples=["H"], description="The column's letter.")
    header: str | None = Field(None, examples=["共享类型"])
    field: str | None = Field(None, examples=["items[1].share_type"],
                              description="The field of the entry, as the entries API names it.")
    rule: str = Field(examples=["C3"])
    article: str = Field(examples=["51 §10(二)"])
    code: str = Field(description="What kind of refusal: the problem type or validation error "
                                  "the entries API would answer, code_list, header_missing, "
                                  "duplicate_name, orphan_item.")
    message: str


class WorkbookEntry(BaseModel):
    """W4: what an upload did with one row of the resources sheet."""

    row: int
    code: str
    name: str
    outcome: str = Field(description="created (a new draft), updated (a new version) or "
                                     "unchanged (the row declares what the entry holds).")


class WorkbookReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    entries: list[WorkbookEntry]
