"""V1: what each department did in a period, counted from the facts.

Everything is counted "as of" the earlier of the period's end and now, so a finished period
always gives the same numbers, and a running one counts only what is already due.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import (
    Numeric,
    Select,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.asyncio import AsyncSession

from services.evaluation.method import ScoringMethod
from services.evaluation.models import (
    CatalogEntry,
    CatalogTrigger,
    CrossCheckFact,
    DatabaseFact,
    Department,
    DuplicateClearance,
    DuplicateFlag,
    EntrySupply,
    ObjectionFact,
    ProjectFact,
    RequestFact,
    StaleFlag,
    UsageFact,
)
from services.evaluation.periods import Period
from shared.access import Denial
from shared.contracts.catalog import ShareChannel, ShareMethod, ShareType
from shared.workdays import china_date

# The share methods whose data the platform itself holds or serves (C5): an entry shared by
# them owes the platform its data; by system integration alone the consumer's system is
# connected to the provider's, and by mail or media the data travels outside.
SERVED_BY_PLATFORM = [str(method) for method in (
    ShareMethod.front_end_processor, ShareMethod.online_query, ShareMethod.bulk_download)]


class DepartmentIndicators(BaseModel):
    """One department's counts for one period."""

    department: str = Field(description="Unified social credit code.")
    name: str
    period: str
    entries_published: int = Field(0, description="Entries published at the period's end.")
    triggers_due: int = Field(0, description="Catalog updates due in the period (C6).")
    triggers_met: int = Field(0, description="…of them made by their due date.")
    entries_stale: int = Field(0, description="Entries found stale in the period (E7).")
    entries_without_data: int = Field(0, description=(
        "Published entries shared through the platform (conditionally or not, by front-end "
        "store, online query or download) with no data loaded, no source API registered and "
        "never served, past the method's data_due_days after publication (E1)."))
    objections_raised: int = Field(0, description="Objections to its data raised (E6).")
    objections_settled_in_time: int = 0
    objections_settled_late: int = 0
    objections_open_overdue: int = Field(0, description="Unsettled past the settle deadline.")
    mean_days_to_settle: float | None = None
    crosscheck_subjects: int = Field(0, description=(
        "Subjects of its data that cross-checks in the period compared with another source "
        "holding the same item (E7)."))
    crosscheck_mismatches: int = Field(0, description=(
        "…of them whose values differed: inconsistent data [51 §24(三)]."))
    requests_due: int = Field(0, description="Conditional requests whose answer fell due "
                                             "in the period (A2).")
    requests_answered_on_time: int = 0
    requests_answered_late: int = 0
    requests_unanswered: int = Field(0, description="Still unanswered (A4).")
    requests_refused: int = 0
    requests_refused_without_reason: int = 0
    accesses_made: int = Field(0, description="Its granted accesses to others' data.")
    records_received: int = 0
    accesses_served: int = Field(0, description="Others' granted accesses to its data.")
    records_served: int = 0
    consumers_served: int = 0
    duplicate_collections: int = Field(0, description=(
        "Items its published entries collected in the period that another department is "
        "responsible for: flags standing at some time in the period (C7)."))
    out_of_purpose_attempts: int = Field(0, description="Accesses refused because the "
                                                        "purpose was not granted.")
    denied_attempts: int = Field(0, description="All its refused accesses.")
    projects_without_catalog: int = Field(0, description=(
        "Its information projects accepted by the period's end whose resource catalog is not "
        "in the shared catalog then: nothing attached at acceptance, or an attached entry "
        "not published (C8) [51 §21]."))
    databases_without_catalog: int = Field(0, description=(
        "Its registered databases, not deregistered by the period's end, that back no entry "
        "published then (C8) [BJ 三(二)]."))
    catalog_lapses: list[str] = Field(default_factory=list, description=(
        "Each such project and database, by name, with the entries missing; any one makes "
        "the department ineligible for project approval and O&M funding [51 §21]."))


async def compute(session: AsyncSession, period: Period, method: ScoringMethod, *,
                  now: datetime, departments: list[str] | None = None
                  ) -> list[DepartmentIndicators]:
    """Indicators of every department registered by the period's end (or of those named)."""
    as_of = min(period.end, now)
    today = china_date(as_of - timedelta(microseconds=1))
    query = select(Department.credit_code, Department.name).where(
        Department.registered_at < period.end).order_by(Department.credit_code)
    if departments is not None:
        query = query.where(Department.credit_code.in_(departments))
    counts: dict[str, dict[str, Any]] = {
        code: {"department": code, "name": name, "period": period.label}
        for code, name in (await session.execute(query)).all()}
    if not counts:
        return []
    for gather in (_catalog, _stale, _requests, _collection):
        await _merge(session, counts, gather(period, as_of, today))
    await _merge(session, counts, _objections(period, as_of, method.objection_settle_days))
    await _merge(session, counts, _cross_checks(period, as_of))
    await _merge(session, counts, _without_data(as_of, today, method.data_due_days))
    for statement in _usage(period, today):
        await _merge(session, counts, statement)
    await _merge_catalog_lapses(session, counts, as_of)
    return [DepartmentIndicators(**values) for values in counts.values()]


async def _merge(session: AsyncSession, counts: dict[str, dict[str, Any]],
                 statement: Select[Any]) -> None:
    for row in (await session.execute(statement)).mappings():
        values = dict(row)
        target = counts.get(values.pop("department"))
        if target is not None:
            target.update({name: value for name, value in values.items() if value is not None})


async def _merge_catalog_lapses(session: AsyncSession, counts: dict[str, dict[str, Any]],
                                as_of: datetime) -> None:
    """No catalog, no approval [51 §21]: an accepted project, or a registered database, whose
    resources are not in the shared catalog at the period's end. A project the registry
    knows filed its planned catalog before approval (the catalog refuses it otherwise), so
    what can lapse is the catalog attached at acceptance."""
    projects = list(await session.scalars(select(ProjectFact).where(
        ProjectFact.department.in_(list(counts)), ProjectFact.accepted_at < as_of)))
    databases = list(await session.scalars(select(DatabaseFact).where(
        DatabaseFact.department.in_(list(counts)), DatabaseFact.registered_at < as_of,
        or_(DatabaseFact.deregistered_at.is_(None), DatabaseFact.deregistered_at >= as_of))))
    codes = {code for project in projects for code in project.accepted_codes or []} | {
        code for database in databases for code in database.resource_codes}
    published = set(await session.scalars(select(CatalogEntry.code).where(
        CatalogEntry.code.in_(codes), CatalogEntry.published_at < as_of,
        or_(CatalogEntry.withdrawn_at.is_(None), CatalogEntry.withdrawn_at >= as_of))))
    for project in projects:
        lapse = _project_lapse(project, published)
        if lapse:
            _note(counts[project.department], "projects_without_catalog", lapse)
    for database in databases:
        if not published.intersection(database.resource_codes):
            _note(counts[database.department], "databases_without_catalog",
                  f"database {database.name} backs no entry of the shared catalog "
                  f"({', '.join(database.resource_codes)}) [BJ 三(二), 51 §21]")


def _project_lapse(project: ProjectFact, published: set[str]) -> str | None:
    if not project.accepted_codes:
        return f"project {project.name} accepted without its resource catalog [51 §21]"
    missing = [code for code in project.accepted_codes if code not in published]
    if missing:
        return (f"project {project.name}: entries attached at acceptance not in the shared "
                f"catalog ({', '.join(missing)}) [51 §21]")
    return None


def _note(target: dict[str, Any], count: str, lapse: str) -> None:
    target[count] = target.get(count, 0) + 1
    target.setdefault("catalog_lapses", []).append(lapse)


def _count(condition: Any) -> Any:
    return func.count().filter(condition)


def _catalog(period: Period, as_of: datetime, today: date) -> Select[Any]:
    published = select(CatalogEntry.provider.label("department"),
                       func.count().label("entries_published")).where(
        CatalogEntry.published_at < as_of,
        or_(CatalogEntry.withdrawn_at.is_(None), CatalogEntry.withdrawn_at >= as_of),
    ).group_by(CatalogEntry.provider).subquery()
    due = and_(CatalogTrigger.due_on >= period.first_day, CatalogTrigger.due_on <= today)
    met = and_(due, CatalogTrigger.resolved_on.isnot(None),
               CatalogTrigger.resolved_on <= CatalogTrigger.due_on)
    triggers = select(CatalogTrigger.department.label("department"),
                      _count(due).label("triggers_due"),
                      _count(met).label("triggers_met")).group_by(
        CatalogTrigger.department).subquery()
    return select(func.coalesce(published.c.department, triggers.c.department)
                  .label("department"),
                  published.c.entries_published, triggers.c.triggers_due,
                  triggers.c.triggers_met).select_from(
        published.join(triggers, published.c.department == triggers.c.department,
                       full=True))


def _stale(period: Period, as_of: datetime, today: date) -> Select[Any]:
    return select(StaleFlag.provider.label("department"),
                  func.count(func.distinct(StaleFlag.entry_code)).label("entries_stale")
                  ).where(StaleFlag.detected_at >= period.start, StaleFlag.detected_at < as_of
                          ).group_by(StaleFlag.provider)


def _without_data(as_of: datetime, today: date, due_days: int) -> Select[Any]:
    """Entries that owe the platform their data and never gave it [51 §24(二), JS §25(二)]:
    published long enough ago, shared through the platform, and by the period's end neither
    loaded nor served from the provider's API, nor ever served to a consumer (served data
    was there, whichever way it came)."""
    owes = and_(CatalogEntry.published_at < as_of - timedelta(days=due_days),
                or_(CatalogEntry.withdrawn_at.is_(None), CatalogEntry.withdrawn_at >= as_of),
                CatalogEntry.share_type.in_([ShareType.unconditional, ShareType.conditional]),
                CatalogEntry.share_channel == ShareChannel.platform,
                array(SERVED_BY_PLATFORM).overlap(CatalogEntry.share_methods))
    supplied = select(EntrySupply.entry_code).where(
        EntrySupply.entry_code == CatalogEntry.code,
        or_(EntrySupply.first_loaded_at < as_of, EntrySupply.api_registered_at < as_of),
    ).exists()
    served = select(UsageFact.event_id).where(
        UsageFact.entry_code == CatalogEntry.code, UsageFact.denied.is_(None),
        UsageFact.records > 0, UsageFact.day <= today).exists()
    return select(CatalogEntry.provider.label("department"),
                  func.count().label("entries_without_data")).where(
        owes, ~supplied, ~served).group_by(CatalogEntry.provider)


def _requests(period: Period, as_of: datetime, today: date) -> Select[Any]:
    # Owed: an answer fell due in the period and the consumer had not withdrawn by then.
    deadline = func.timezone("Asia/Shanghai", RequestFact.due_on + literal(timedelta(days=1)))
    owed = and_(RequestFact.due_on >= period.first_day, RequestFact.due_on <= today,
                or_(RequestFact.withdrawn_at.is_(None), RequestFact.withdrawn_at >= deadline))
    answered = and_(owed, RequestFact.answered_at.isnot(None),
                    RequestFact.answered_at < as_of)
    on_time = and_(answered, RequestFact.answered_at < deadline)
    refused = and_(answered, RequestFact.approved.is_(False))
    no_reason = and_(refused, func.coalesce(func.trim(RequestFact.reason), "") == "")
    return select(RequestFact.provider.label("department"),
                  _count(owed).label("requests_due"),
                  _count(on_time).label("requests_answered_on_time"),
                  _count(and_(answered, ~on_time)).label("requests_answered_late"),
                  _count(and_(owed, ~answered)).label("requests_unanswered"),
                  _count(refused).label("requests_refused"),
                  _count(no_reason).label("requests_refused_without_reason"),
                  ).group_by(RequestFact.provider)


def _objections(period: Period, as_of: datetime, settle_days: int) -> Select[Any]:
    raised = and_(ObjectionFact.raised_at >= period.start, ObjectionFact.raised_at < as_of)
    allowed = literal(timedelta(days=settle_days))
    settled = and_(raised, ObjectionFact.resolved_at.isnot(None),
                   ObjectionFact.resolved_at < as_of)
    in_time = and_(settled, ObjectionFact.resolved_at - ObjectionFact.raised_at <= allowed)
    open_overdue = and_(raised, ~settled, ObjectionFact.raised_at + allowed < as_of)
    seconds = func.extract("epoch", ObjectionFact.resolved_at - ObjectionFact.raised_at)
    return select(ObjectionFact.provider.label("department"),
                  _count(raised).label("objections_raised"),
                  _count(in_time).label("objections_settled_in_time"),
                  _count(and_(settled, ~in_time)).label("objections_settled_late"),
                  _count(open_overdue).label("objections_open_overdue"),
                  func.round(cast(func.avg(case((settled, seconds / 86400.0))), Numeric), 2)
                  .label("mean_days_to_settle"),
                  ).group_by(ObjectionFact.provider)


def _cross_checks(period: Period, as_of: datetime) -> Select[Any]:
    """Every check run in the period counts against both providers (which source is right
    is for them, or an objection, to settle); a check of two entries of one provider counts
    once. Each run counts, as each stale flag does: a difference found stays found."""
    run = and_(CrossCheckFact.run_at >= period.start, CrossCheckFact.run_at < as_of)
    sides = union_all(
        select(CrossCheckFact.left_provider.label("department"), CrossCheckFact.compared,
               CrossCheckFact.mismatched).where(run),
        select(CrossCheckFact.right_provider, CrossCheckFact.compared,
               CrossCheckFact.mismatched).where(
            run, CrossCheckFact.right_provider != CrossCheckFact.left_provider),
    ).subquery()
    return select(sides.c.department, func.sum(sides.c.compared).label("crosscheck_subjects"),
                  func.sum(sides.c.mismatched).label("crosscheck_mismatches"),
                  ).group_by(sides.c.department)


def _collection(period: Period, as_of: datetime, today: date) -> Select[Any]:
    """Flagged items the department collects again [JS §25(六)]: flags standing at some time
    in the period, raised before its end and not cleared before its start, on an entry then
    published (flags of drafts announced before only published entries were flagged do not
    count). Not counted: the subject's identifier (the key every record needs to be linked
    to its subject), and items of a department whose data it did obtain by sharing in the
    period (it holds them from there)."""
    shared_from_owner = select(UsageFact.event_id).where(
        UsageFact.consumer == DuplicateFlag.provider,
        UsageFact.provider == DuplicateFlag.responsible_department,
        UsageFact.denied.is_(None), UsageFact.day >= period.first_day, UsageFact.day <= today,
    ).exists()
    cleared_before = select(DuplicateClearance.event_id).where(
        DuplicateClearance.entry_code == DuplicateFlag.entry_code,
        DuplicateClearance.item_code == DuplicateFlag.item_code,
        DuplicateClearance.responsible_department == DuplicateFlag.responsible_department,
        DuplicateClearance.cleared_at >= DuplicateFlag.flagged_at,
        DuplicateClearance.cleared_at < period.start,
    ).exists()
    published = select(CatalogEntry.code).where(
        CatalogEntry.code == DuplicateFlag.entry_code, CatalogEntry.published_at < as_of,
        or_(CatalogEntry.withdrawn_at.is_(None), CatalogEntry.withdrawn_at >= period.start),
    ).exists()
    return select(DuplicateFlag.provider.label("department"),
                  func.count(func.distinct(DuplicateFlag.entry_code + "/" +
                                           DuplicateFlag.item_code))
                  .label("duplicate_collections")).where(
        DuplicateFlag.flagged_at < as_of, ~cleared_before, published,
        DuplicateFlag.identifies_subject.is_(False),
        ~shared_from_owner,
    ).group_by(DuplicateFlag.provider)


def _usage(period: Period, today: date) -> list[Select[Any]]:
    within = and_(UsageFact.day >= period.first_day, UsageFact.day <= today)
    allowed = and_(within, UsageFact.denied.is_(None))
    denied = and_(within, UsageFact.denied.isnot(None))
    by_consumer = select(
        UsageFact.consumer.label("department"),
        func.sum(UsageFact.accesses).filter(allowed).label("accesses_made"),
        func.sum(UsageFact.records).filter(allowed).label("records_received"),
        func.sum(UsageFact.accesses).filter(
            and_(denied, UsageFact.denied == Denial.purpose_not_granted.value))
        .label("out_of_purpose_attempts"),
        func.sum(UsageFact.accesses).filter(denied).label("denied_attempts"),
    ).group_by(UsageFact.consumer)
    by_provider = select(
        UsageFact.provider.label("department"),
        func.sum(UsageFact.accesses).filter(allowed).label("accesses_served"),
        func.sum(UsageFact.records).filter(allowed).label("records_served"),
        func.count(func.distinct(case((allowed, UsageFact.consumer)))).label("consumers_served"),
    ).group_by(UsageFact.provider)
    return [by_consumer, by_provider]

