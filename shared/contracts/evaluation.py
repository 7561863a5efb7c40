"""What the evaluation service announces: the information-system registry (备案, V3).

Other tiers' platforms and the finance side read these to know which systems exist, what
they cost and whether they are still in use.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, Field

from shared.events import EventData


class FundingSource(StrEnum):
    """经费渠道."""

    central_budget = "central_budget"  # 中央财政
    local_budget = "local_budget"  # 地方财政
    departmental = "departmental"  # 部门自筹
    other = "other"


class SystemStatus(StrEnum):
    filed = "filed"  # 已备案, in service
    retired = "retired"  # 已整合或清理


class SystemSnapshot(BaseModel):
    id: uuid.UUID
    name: str
    department: str = Field(description="Owner department's credit code.")
    description: str
    funding_source: FundingSource
    construction_funding: Decimal = Field(description="Construction investment, yuan.")
    annual_om_funding: Decimal = Field(description="Yearly operation and maintenance, yuan.")
    resource_codes: list[str]
    client_ids: list[str]
    status: SystemStatus
    filed_by: str
    filed_at: datetime
    retired_at: datetime | None
    version: int


class SystemEvent(EventData):
    system: SystemSnapshot
    reason: str | None = None


class SystemFiled(SystemEvent):
    event_type = "evaluation.system.filed.v1"


class SystemUpdated(SystemEvent):
    event_type = "evaluation.system.updated.v1"


class SystemRetired(SystemEvent):
    event_type = "evaluation.system.retired.v1"


class RectificationListed(EventData):
    """A department's finding on one indicator put it on a year's rectification list [51
    §24, JS §25]: announced once the year's report is due, once per department, year and
    indicator, so the department hears what to rectify and by when."""

    event_type = "evaluation.rectification.listed.v1"
    year: int
    department: str = Field(description="Credit code of the department to rectify.")
    indicator: str
    points: list[str] = Field(description="Points of 51 §24 / JS §25 violated.")
    evidence: str
    deadline: date = Field(description="Last day to rectify.")
