"""The catalog entry as every service sees it (requirements §3: the 13 elements of the 2017 guide).

The same model is the body of the catalog API and the snapshot carried by catalog events, so
the authorization, exchange and evaluation services never call back for an entry.
"""

from __future__ import annotations

import uuid
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints

from shared.contracts.values import LARGEST_INTEGER, NOT_BLANK, Moment
from shared.events import EventData

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500,
                                         pattern=NOT_BLANK)]
CodeSegment = Annotated[str, StringConstraints(pattern=r"^[0-9]+$")]
CODE_FRONT, CODE_NUMBER = r"^[0-9]{1,20}$", r"^[0-9]{6}$"
"""The two segments of an entry code, as a path names them (`…/entries/{front}/{number}`)."""
EntryCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,20}/[0-9]{6}$")]
"""信息资源代码: the front segment, a slash, six digits (e.g. 101001/000001)."""
ItemCode = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,50}$")]
"""An info item's code; safe as an SQL identifier and a JSON key."""


class TopClass(StrEnum):
    """信息资源分类, 类: base 基础 (1), theme 主题 (2), department 部门 (3)."""

    base = "base"
    theme = "theme"
    department = "department"


TOP_CLASS_DIGIT = {TopClass.base: "1", TopClass.theme: "2", TopClass.department: "3"}


class BaseSubject(StrEnum):
    """The five base resources (基础信息资源) and their 项 codes [51 §10, JS §11]."""

    population = "01"  # 人口
    legal_entity = "02"  # 法人单位
    natural_resources = "03"  # 自然资源和空间地理
    social_credit = "04"  # 社会信用
    electronic_licence = "05"  # 电子证照


class Classification(BaseModel):
    """类/项/目/细目: the front segment of the resource code is built from it."""

    model_config = ConfigDict(extra="forbid")
    top: TopClass
    item: Annotated[str, StringConstraints(pattern=r"^[0-9]{2}$")] = Field(
        description="项, two digits; for base resources one of BaseSubject.")
    category: Annotated[str, StringConstraints(pattern=r"^[0-9]{3}$")] | None = Field(
        None, description="目, three digits.")
    subcategory: CodeSegment | None = Field(None, description="细目, any number of digits.")

    @property
    def front_segment(self) -> str:
        parts = [TOP_CLASS_DIGIT[self.top], self.item, self.category or "", self.subcategory or ""]
        return "".join(parts)


class FormatKind(StrEnum):
    """信息资源格式."""

    electronic_document = "electronic_document"
    spreadsheet = "spreadsheet"
    database = "database"
    image = "image"
    streaming_media = "streaming_media"
    self_describing = "self_describing"
    service_api = "service_api"


class ResourceFormat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: FormatKind
    sub_format: Annotated[str, StringConstraints(strip_whitespace=True, max_length=30)] | None = (
        Field(None, examples=["pdf", "ofd", "xlsx", "json"]))


class DataType(StrEnum):
    """The guide's data-type codes."""

    C = "C"  # string
    N = "N"  # numeric
    Y = "Y"  # currency
    D = "D"  # date
    T = "T"  # datetime
    L = "L"  # logical
    M = "M"  # memo
    G = "G"  # general / binary
    B = "B"  # double
    I = "I"  # integer  # noqa: E741
    F = "F"  # float


class ShareType(StrEnum):
    """C1 [51 §9]."""

    unconditional = "unconditional"
    conditional = "conditional"
    not_shared = "not_shared"


class PermittedUse(StrEnum):
    """C4 [51 §12, JS §15]."""

    administrative_basis = "administrative_basis"  # 行政依据
    work_reference = "work_reference"  # 工作参考
    data_verification = "data_verification"  # 数据校核
    business_collaboration = "business_collaboration"  # 业务协同


class ShareMethod(StrEnum):
    """C5 [51 §12]: how the platform delivers."""

    system_integration = "system_integration"  # 系统对接
    front_end_processor = "front_end_processor"  # 前置机共享
    online_query = "online_query"  # 联机查询
    bulk_download = "bulk_download"  # 批量下载


class ShareChannel(StrEnum):
    platform = "platform"
    mail = "mail"
    media = "media"


class ShareMethodType(StrEnum):
    """The share method's type [requirements §3, element 9]: what the consumer receives."""

    api = "api"
    database = "database"
    file = "file"


class LegalBasisKind(StrEnum):
    """C2 [51 §10(一)]: what may justify not sharing."""

    law = "law"
    administrative_regulation = "administrative_regulation"
    central_policy = "central_policy"


class UpdateCycle(StrEnum):
    realtime = "realtime"
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"
    quarterly = "quarterly"
    half_yearly = "half_yearly"
    yearly = "yearly"
    other = "other"


class LegalBasis(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: LegalBasisKind
    title: Text = Field(examples=["《中华人民共和国居民身份证法》第十三条"])


class InfoItem(BaseModel):
    """信息项."""

    model_config = ConfigDict(extra="forbid")
    name: Text = Field(examples=["公民身份号码"])
    code: ItemCode = Field(examples=["GMSFHM"])
    data_type: DataType
    length: int | None = Field(None, ge=1, le=1_000_000)
    identifies_subject: StrictBool = Field(
        False, description="Identifies the subject (e.g. ID no.).")
    is_base_item: StrictBool = Field(False, description=(
        "The provider holds it a base info item of a base resource (C3); the items the base "
        "resource's lead department registered are base items whether ticked or not."))
    share_type: ShareType
    # Left out when absent, so the snapshots (and federation's content hashes) of the items
    # catalogued before an item could carry one read as they did.
    legal_basis: LegalBasis | None = Field(
        None, exclude_if=lambda basis: basis is None,
        description="Why the item is not shared (C2), when the entry itself is shared.")


class ShareAttributes(BaseModel):
    """共享属性."""

    model_config = ConfigDict(extra="forbid")
    type: ShareType
    conditions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = (
        None)
    permitted_uses: list[PermittedUse] = Field(default_factory=list)
    legal_basis: LegalBasis | None = None
    channel: ShareChannel = ShareChannel.platform
    method_types: list[ShareMethodType] = Field(
        default_factory=list, description="Type of the share method: api, database, file.")
    methods: list[ShareMethod] = Field(default_factory=list)
    sensitive: StrictBool = Field(
        False, description="Sensitive (敏感): a security and confidentiality agreement "
                           "(保密协议) must be on file before a grant becomes active (A6).")


class OpenAttributes(BaseModel):
    """开放属性 [39 (五)]."""

    model_config = ConfigDict(extra="forbid")
    is_open: StrictBool = False
    conditions: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = (
        None)


class EntrySpec(BaseModel):
    """What a provider declares about one information resource."""

    model_config = ConfigDict(extra="forbid")
    classification: Classification
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200,
                                           pattern=NOT_BLANK)]
    abstract: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=4000, pattern=NOT_BLANK)]
    format: ResourceFormat
    items: list[InfoItem] = Field(min_length=1, max_length=500)
    share: ShareAttributes
    open: OpenAttributes = Field(default_factory=OpenAttributes)
    update_cycle: UpdateCycle
    related_codes: list[str] = Field(default_factory=list, max_length=50)
    classified: StrictBool = Field(False, description="涉密: exists only on an internal-zone node.")

    def open_items(self) -> list[str]:
        """What anyone may download without signing in (W2): of an entry its provider opened
        to the public, the items it shares unconditionally. Nothing of an entry that
        departments themselves get only on conditions, under a confidentiality agreement or
        not at all, of a classified one, or of the population base resource: sharing a
        person's identity between departments without conditions (C3) is not publishing it."""
        closed = (not self.open.is_open or self.classified or self.share.sensitive
                  or self.share.type != ShareType.unconditional
                  or (self.classification.top == TopClass.base
                      and self.classification.item == BaseSubject.population))
        if closed:
            return []
        return [item.code for item in self.items if item.share_type == ShareType.unconditional]


class EntryStatus(StrEnum):
    draft = "draft"
    published = "published"
    withdrawn = "withdrawn"


class EntrySnapshot(EntrySpec):
    """An entry as stored: the spec plus what the platform assigns."""

    model_config = ConfigDict(extra="ignore")
    code: str = Field(description="信息资源代码: front segment / six-digit sequence.")
    provider: str = Field(description="Provider's unified social credit code.")
    provider_name: str
    status: EntryStatus
    version: int = Field(ge=1, le=LARGEST_INTEGER)
    node: str = Field(description="Node the entry is catalogued on.")
    published_at: Moment | None = None


class EntryEvent(EventData):
    """Base of catalog entry events: the full snapshot and who changed it, why."""

    entry: EntrySnapshot
    changed_by: str
    reason: str | None = None


class EntryPublished(EntryEvent):
    event_type = "catalog.entry.published.v1"


class EntryUpdated(EntryEvent):
    event_type = "catalog.entry.updated.v1"


class EntryWithdrawn(EntryEvent):
    event_type = "catalog.entry.withdrawn.v1"


class TriggerRecorded(EventData):
    """C6: a department must update its catalog by `due_on` (announced again when a schedule
    the authority loads moves the due date)."""

    event_type = "catalog.trigger.recorded.v1"
    trigger_id: uuid.UUID
    department: str
    kind: str
    occurred_on: date
    due_on: date


class TriggerResolved(EventData):
    event_type = "catalog.trigger.resolved.v1"
    trigger_id: uuid.UUID
    department: str
    resolved_on: date
    due_on: date


class HolidayScheduleLoaded(EventData):
    """The competent authority loaded (or replaced) a year's State Council holiday schedule."""

    event_type = "catalog.calendar.schedule_loaded.v1"
    year: int
    holidays: list[date]
    adjusted_workdays: list[date]


class DuplicateCollectionFlagged(EventData):
    """C7 / JS §25(六): a provider's published entry collects an item another department is
    responsible for: said when the entry is published, and when a change of the entry or of
    the register raises the flag later (a draft collects nothing, and is not flagged here).
    The flag stands until a DuplicateCollectionCleared of the same entry, item and
    responsible department."""

    event_type = "catalog.collection.duplicate_flagged.v1"
    entry_code: str
    provider: str
    item_code: str
    item_name: str
    responsible_department: str
    identifies_subject: bool = Field(
        False, description="The item identifies the record's subject (an ID number, a credit "
                           "code): the key that links the record to the base resource.")


class ClearedBecause(StrEnum):
    """Why a duplicate-collection flag no longer stands."""

    entry_withdrawn = "entry_withdrawn"
    item_removed = "item_removed"  # the entry no longer has the item
    responsibility_changed = "responsibility_changed"  # the register names another department


class DuplicateCollectionCleared(EventData):
    """C7: the entry stopped collecting an item flagged as duplicate collection, or the
    register stopped making it one (for this responsible department)."""

    event_type = "catalog.collection.duplicate_cleared.v1"
    entry_code: str
    provider: str
    item_code: str
    responsible_department: str
    reason: ClearedBecause


class DatabaseRegistryChanged(EventData):
    """C8: a database was registered, updated or deregistered (status says which)."""

    event_type = "catalog.database.changed.v1"
    database_id: uuid.UUID
    department: str
    name: str
    status: str
    resource_codes: list[str]


class ProjectCatalogChanged(EventData):
    """C8 [51 §21]: a project filed its resource catalog, or attached it at acceptance."""

    event_type = "catalog.project.changed.v1"
    project_id: uuid.UUID
    department: str
    name: str
    status: str
    planned_resources: list[str]
    accepted_codes: list[str] | None
