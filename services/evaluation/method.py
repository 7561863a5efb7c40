"""The scoring method: which indicators count, how much, and when a department must rectify.

Each node's competent authority may set its own (V2: configurable per tier); until it does,
the default for the node's tier applies. The defaults are drawn from the rules:
- the indicators are the points of 51 §24 and JS §25 that the platform can observe;
- a single lapse is a finding (the rules say "未及时", with no tolerance), so every
  threshold is 1.0, except use of shared data, which the rules encourage but do not punish;
- the yearly report is due by the end of February at the national tier [51 §18] and by the
  end of January in Jiangsu's provincial and municipal tiers [JS §19];
- a published entry shared through the platform must have its data there within 15 days
  (the rules say "及时" without a number; the grace keeps an entry published on the
  period's last days from counting before anyone could load it);
- a department below the pass mark, found using shared data beyond the purpose it was
  granted, or with an accepted project or a registered database whose resources are not in
  the shared catalog, does not qualify for project approval or O&M funding [51 §21,
  39 三(六)].
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.models import NodeProfile, ScoringMethodVersion
from shared.contracts import Tier
from shared.contracts.values import LARGEST_INTEGER, NOT_BLANK

RulePoint = Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=40,
                                              pattern=NOT_BLANK)]


class Indicator(StrEnum):
    catalog = "catalog"  # C6: catalog compiled and kept up to date on time
    provision = "provision"  # E7: resources provided and fresh against their cycle
    quality = "quality"  # E6: objections to its data settled in time
    responsiveness = "responsiveness"  # A2/A4: conditional requests answered in time, reasons
    use = "use"  # use made of shared data
    collection = "collection"  # C7: nothing collected again that could be shared
    purpose = "purpose"  # no access attempted beyond a grant's purpose


class IndicatorRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float = Field(ge=0, le=100, description="Share of the score (weights are "
                                                    "normalised to 100).")
    threshold: float = Field(ge=0, le=1, description="A rate below this puts the department "
                                                     "on the rectification list; 0 never does.")
    points: list[RulePoint] = Field(description="The points of the rules a finding violates.")
    blocks_funding: bool = Field(False, description="A finding alone makes the department "
                                                    "ineligible for project approval and O&M "
                                                    "funding [51 §21].")


class ScoringMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200,
                                           pattern=NOT_BLANK)]
    indicators: dict[Indicator, IndicatorRule]
    pass_score: float = Field(60, ge=0, le=100, description="Below it a department does not "
                                                            "qualify for approval or funding.")
    report_due_month: int = Field(ge=1, le=12, description="The yearly report is due by the "
                                                           "end of this month of the next year.")
    report_basis: RulePoint = Field(description="The rule that sets the report's due date.")
    rectification_days: int = Field(60, ge=1, le=365, description="Days after the report's "
                                                                  "due date to rectify.")
    objection_settle_days: int = Field(14, ge=1, le=365, description="Days a provider has to "
                                                                     "settle an objection.")
    zombie_max_uses: int = Field(12, ge=0, le=LARGEST_INTEGER, description=(
        "A system used no more than this in a year is a zombie [39 (一)]."))
    data_due_days: int = Field(15, ge=0, le=365, description=(
        "Days after publication by which an entry shared through the platform must have its "
        "data there (loaded, or served from the provider's API); later it counts as an "
        "entry without data [51 §24(二)]."))

    @model_validator(mode="after")
    def _complete(self) -> ScoringMethod:
        missing = set(Indicator) - set(self.indicators)
        if missing:
            raise ValueError(f"indicators missing: {', '.join(sorted(missing))}")
        if not any(rule.weight for rule in self.indicators.values()):
            raise ValueError("at least one indicator must carry weight")
        return self


POINT_TEXT = {
    "51 §24(一)": "未按要求编制或更新政务信息资源目录",
    "51 §24(二)": "未向共享平台及时提供共享信息",
    "51 §24(三)": "提供的数据和本部门所掌握信息不一致,未及时更新数据或数据不符合规范、无法使用",
    "51 §24(四)": "将共享信息用于履行本单位职责需要以外的目的",
    "51 §24(五)": "违反本办法规定的其他行为",
    "JS §25(一)": "未按要求编制或更新政务信息资源目录",
    "JS §25(二)": "未按规定向政务数据共享交换平台及时提供共享信息",
    "JS §25(三)": "无故不受理政务信息资源共享申请",
    "JS §25(四)": "提供的数据和本部门所掌握信息不一致，未及时更新数据或数据不符合规范、无法使用",
    "JS §25(五)": "将共享信息用于履行本部门职责需要以外的目的",
    "JS §25(六)": "可共享获得的数据仍重复采集，增加社会公众负担",
    "JS §25(七)": "违反本办法规定的其他行为",
}
"""The wording of each point, for the report's readers."""

WEIGHTS = {Indicator.catalog: 20, Indicator.provision: 20, Indicator.quality: 15,
           Indicator.responsiveness: 25, Indicator.use: 0, Indicator.collection: 10,
           Indicator.purpose: 10}

NATIONAL_POINTS = {
    Indicator.catalog: ["51 §24(一)"], Indicator.provision: ["51 §24(二)"],
    Indicator.quality: ["51 §24(三)"], Indicator.responsiveness: ["51 §24(五)"],
    Indicator.use: [], Indicator.collection: ["51 §24(五)"],
    Indicator.purpose: ["51 §24(四)"],
}
PROVINCIAL_POINTS = {
    Indicator.catalog: ["JS §25(一)", "51 §24(一)"],
    Indicator.provision: ["JS §25(二)", "51 §24(二)"],
    Indicator.quality: ["JS §25(四)", "51 §24(三)"],
    Indicator.responsiveness: ["JS §25(三)"], Indicator.use: [],
    Indicator.collection: ["JS §25(六)"], Indicator.purpose: ["JS §25(五)", "51 §24(四)"],
}


def default_method(tier: Tier) -> ScoringMethod:
    """The documented default of a tier (see the module's docstring)."""
    national = tier == Tier.national
    points = NATIONAL_POINTS if national else PROVINCIAL_POINTS
    return ScoringMethod(
        name=("国家政务信息资源共享评价方法（国发〔2016〕51号）" if national
              else "江苏省政务信息资源共享评价方法（苏政发〔2017〕133号）"),
        indicators={indicator: IndicatorRule(
            weight=WEIGHTS[indicator], threshold=0 if indicator == Indicator.use else 1.0,
            points=points[indicator], blocks_funding=indicator == Indicator.purpose)
            for indicator in Indicator},
        report_due_month=2 if national else 1,
        report_basis="51 §18" if national else "JS §19",
    )


async def current_method(session: AsyncSession) -> tuple[int | None, ScoringMethod]:
    """The method in force and its version; None is the tier's default."""
    stored = await session.scalar(select(ScoringMethodVersion)
                                  .order_by(ScoringMethodVersion.version.desc()).limit(1))
    if stored is not None:
        return stored.version, ScoringMethod.model_validate(stored.method)
    return None, default_method(await node_tier(session))


async def set_method(session: AsyncSession, method: ScoringMethod, *, actor: str) -> int:
    stored = ScoringMethodVersion(method=method.model_dump(mode="json"), set_by=actor)
    session.add(stored)
    await session.flush()
    return stored.version


async def node_tier(session: AsyncSession) -> Tier:
    """The tier of this node, as its identity announced it (national until it has)."""
    tier = await session.scalar(select(NodeProfile.tier).limit(1))
    return Tier(tier) if tier else Tier.national


async def node_issuer(session: AsyncSession) -> str:
    """Who issues this node's reports: its name as its identity announced it, else its id
    (empty before the identity has announced the node)."""
    node = (await session.execute(select(NodeProfile.name, NodeProfile.node_id).limit(1))).first()
    return (node.name or node.node_id) if node else ""
