"""The portal's handlers, run against fakes: the names, deadlines and terms it mirrors (a
late event never rolls one back), and the notices each event posts, once per event and
addressee, and only while the event is news (tests/unit/test_portal_notices.py says what
each notice says)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from services.portal import handlers as portal
from services.portal.models import GrantTerm, RequestDeadline
from shared import clock
from shared.contracts import DepartmentRegistered, DepartmentUpdated
from shared.contracts.catalog import (
    EntryEvent,
    EntryPublished,
    EntryUpdated,
    EntryWithdrawn,
    HolidayScheduleLoaded,
)
from shared.contracts.evaluation import RectificationListed
from shared.contracts.exchange import (
    EntryStale,
    ObjectionEvent,
    ObjectionRaised,
    ObjectionResolved,
    ObjectionVerifying,
)
from shared.contracts.sharing import (
    AGREEMENT_EVENTS,
    GRANT_EVENTS,
    REQUEST_EVENTS,
    AgreementConfirmed,
    AgreementEvent,
    AgreementLapsed,
    AgreementProposed,
    AgreementSuperseded,
    GrantActivated,
    GrantAdjusted,
    GrantEnded,
    GrantEvent,
    GrantExpired,
    GrantIssued,
    GrantReinstated,
    GrantRenewed,
    GrantRevoked,
    GrantSuspended,
    NegotiationOpened,
    RequestAnswered,
    RequestDecided,
    RequestEscalated,
    RequestEvent,
    RequestMessagePosted,
    RequestOverdue,
    RequestSubmitted,
    RequestWithdrawn,
)
from shared.events import EventData
from shared.handlers import Event, Handler, event_of
from tests.unit import events
from tests.unit.events import CONSUMER, PROVIDER
from tests.unit.fakes import Conflict, RecordingOutbox, RecordingSession, columns

NOW = datetime(2026, 10, 12, 10, 0, tzinfo=UTC)
LAST_MONTH = NOW - timedelta(days=30, minutes=1)  # no longer news
REVIEWER, EDITOR, ARBITER = "request_reviewer", "catalog_editor", "arbiter"


class FixedClock:
    def now(self) -> datetime:
        return NOW


@pytest.fixture(autouse=True)
def fixed_clock() -> Iterator[None]:
    """The node's time is NOW: an event of the morning is news, one of last month is not."""
    clock.install(FixedClock())
    yield
    clock.install(clock.SystemClock())


def news(payload: EventData) -> Event[Any]:
    return event_of(payload, time=NOW - timedelta(hours=1))


ESCALATION = {"arbiter": "coordinating_body", "escalated_by": CONSUMER, "reason": "业务急需",
              "escalated_at": events.WHEN}
Posted = tuple[str, str | None, str | None]


def notices(session: RecordingSession) -> list[dict[str, Any]]:
    """The values of each notice stored."""
    return [values for table, values in zip(session.tables(), session.written(), strict=True)
            if table == "notice"]


def posted(session: RecordingSession) -> list[Posted]:
    """The notices stored: their kind, department and role."""
    return [(values["kind"], values["department"], values["role"])
            for values in notices(session)]


async def test_a_notice_is_keyed_by_its_event_and_addressee_and_stored_once() -> None:
    session = RecordingSession()
    event = news(RequestEscalated(request=events.request(status="escalated",
                                                         escalation=ESCALATION),
                                  actor="zhangwei"))
    await portal.request_changed(session, event, RecordingOutbox())
    # The arbiters' notice goes to no department: every arbiter of the node.
    assert [values["key"] for values in notices(session)] == [
        f"{event.id}/{PROVIDER}/{REVIEWER}", f"{event.id}/*/{ARBITER}"]
    assert {values["occurred_at"] for values in notices(session)} == {event.time}
    # A replay that forgot the event was applied finds the key taken and posts nothing.
    assert session.conflicts()[1:] == [Conflict(frozenset())] * 2


# --- what the notices name ----------------------------------------------------------------------

@pytest.mark.parametrize("announced", [DepartmentRegistered, DepartmentUpdated])
async def test_a_department_is_named_as_identity_last_said(
    announced: type[DepartmentRegistered | DepartmentUpdated]
) -> None:
    session = RecordingSession()
    department = events.department(announced, name="南京市人力资源和社会保障局")
    await portal.department_named(session, news(department), RecordingOutbox())
    assert session.tables() == ["department_name"]
    [written] = session.written()
    assert (written["credit_code"], written["name"]) == (department.credit_code,
                                                         "南京市人力资源和社会保障局")
    assert session.conflicts() == [Conflict(frozenset({"credit_code", "name"}))]


@pytest.mark.parametrize("changed", [EntryPublished, EntryUpdated, EntryWithdrawn])
async def test_an_entry_is_named_by_its_newest_version(changed: type[EntryEvent]) -> None:
    session = RecordingSession()
    entry = events.entry(name="常住人口基础信息", version=5)
    await portal.entry_named(session, news(changed(entry=entry, changed_by="liuyang")),
                             RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["entry_name"]
    assert (written["code"], written["name"], written["version"]) == (
        events.CODE, "常住人口基础信息", 5)
    assert session.conflicts() == [Conflict(frozenset({"code", "name", "version"}),
                                            where="entry_name.version < 5")]


async def test_a_loaded_schedule_replaces_the_years_schedule_for_the_reminders() -> None:
    session = RecordingSession()
    schedule = HolidayScheduleLoaded(year=2027, holidays=[date(2027, 1, 1)],
                                     adjusted_workdays=[date(2027, 2, 20)])
    await portal.schedule_loaded(session, news(schedule), RecordingOutbox())
    [written] = session.written()
    assert session.tables() == ["holiday_schedule"]
    assert (written["year"], written["holidays"], written["adjusted_workdays"]) == (
        2027, [date(2027, 1, 1)], [date(2027, 2, 20)])
    assert session.conflicts() == [Conflict(frozenset({"year", "holidays",
                                                       "adjusted_workdays"}))]


# --- requests (A2–A4) ----------------------------------------------------------------------------

DECISION = {"grant": True, "reason": "属履职必需", "decided_by": "wangfang",
            "decided_at": events.WHEN}

# Each request event, the request it carries, and who is told what.
REQUEST_NOTICES: list[tuple[RequestEvent, list[Posted]]] = [
    (RequestSubmitted(request=events.request(), actor="zhangwei"),
     [("request_submitted", PROVIDER, REVIEWER)]),
    (RequestOverdue(request=events.request(), actor="platform"),
     [("request_overdue", PROVIDER, REVIEWER)]),
    (RequestAnswered(request=events.request(status="approved", answer=events.answer(True)),
                     actor="liuyang"),
     [("request_answered", CONSUMER, REVIEWER)]),
    (NegotiationOpened(request=events.request(status="negotiating",
                                              answer=events.answer(False)), actor="zhangwei"),
     [("request_negotiation", PROVIDER, REVIEWER)]),
    (RequestMessagePosted(request=events.request(status="negotiating"), actor="liuyang",
                          sender=PROVIDER, body="请补充法律依据"),
     [("request_message", CONSUMER, REVIEWER)]),
    (RequestEscalated(request=events.request(status="escalated", escalation=ESCALATION),
                      actor="zhangwei"),
     [("request_escalated", PROVIDER, REVIEWER), ("request_escalated", None, ARBITER)]),
    (RequestDecided(request=events.request(status="decided", escalation=ESCALATION,
                                           decision=DECISION), actor="wangfang"),
     [("request_decided", CONSUMER, REVIEWER), ("request_decided", PROVIDER, REVIEWER)]),
    (RequestWithdrawn(request=events.request(status="withdrawn", closed_reason="目录已撤销"),
                      actor="platform"),
     [("request_withdrawn", PROVIDER, REVIEWER), ("request_withdrawn", CONSUMER, REVIEWER)]),
]


def test_every_request_event_has_its_notices() -> None:
    assert {type(change) for change, _ in REQUEST_NOTICES} == set(REQUEST_EVENTS)


def test_a_request_event_the_portal_has_no_notice_for_tells_nobody() -> None:
    assert portal._request_notices(RequestEvent(request=events.request(),
                                                actor="zhangwei")) == []


@pytest.mark.parametrize(("change", "told"), REQUEST_NOTICES,
                         ids=[type(change).__name__ for change, _ in REQUEST_NOTICES])
async def test_a_request_event_keeps_the_deadline_and_posts_its_notices(
    change: RequestEvent, told: list[Posted]
) -> None:
    session = RecordingSession()
    await portal.request_changed(session, news(change), RecordingOutbox())
    assert session.tables()[0] == "request_deadline"
    request = change.request
    assert {name: session.written()[0][name] for name in (
        "request_id", "provider", "consumer", "entry_name", "due_on", "status", "version")} \
        == {"request_id": request.id, "provider": PROVIDER, "consumer": CONSUMER,
            "entry_name": "人口基础信息", "due_on": date(2026, 10, 26),
            "status": request.status, "version": 1}
    assert posted(session) == told


async def test_a_late_request_event_leaves_a_newer_deadline_alone() -> None:
    session = RecordingSession()
    overdue = events.request(version=3)
    await portal.request_changed(session, news(RequestOverdue(request=overdue,
                                                              actor="platform")),
                                 RecordingOutbox())
    assert session.conflicts()[0] == Conflict(columns(RequestDeadline),
                                              where="request_deadline.version < 3")


async def test_a_request_granted_at_once_is_kept_but_asks_nobody_anything() -> None:
    session = RecordingSession()
    granted = events.request(status="approved", due_on=None, answer=events.answer(True))
    await portal.request_changed(session, news(RequestSubmitted(request=granted,
                                                                actor="zhangwei")),
                                 RecordingOutbox())
    assert session.tables() == ["request_deadline"]
    assert session.written()[0]["due_on"] is None


async def test_a_request_event_of_last_month_is_kept_but_tells_nobody() -> None:
    """A portal joining a running node, or reading a long history again, posts no stale
    notices."""
    session = RecordingSession()
    old = event_of(RequestSubmitted(request=events.request(), actor="zhangwei"),
                   time=LAST_MONTH)
    await portal.request_changed(session, old, RecordingOutbox())
    assert session.tables() == ["request_deadline"]


# --- grants and agreements (A1, A6) ---------------------------------------------------------------

GRANT_NOTICES: list[tuple[type[GrantEvent], str, list[str]]] = [
    (GrantIssued, "grant_issued", [CONSUMER]),
    (GrantActivated, "grant_changed", [CONSUMER]),
    (GrantRenewed, "grant_changed", [CONSUMER]),
    (GrantAdjusted, "grant_changed", [CONSUMER]),
    (GrantRevoked, "grant_revoked", [CONSUMER]),
    # The provider did not act: its grant's standing changed with the agreement.
    (GrantSuspended, "grant_suspended", [CONSUMER, PROVIDER]),
    (GrantReinstated, "grant_reinstated", [CONSUMER, PROVIDER]),
    (GrantExpired, "grant_ended", [CONSUMER]),
    (GrantEnded, "grant_ended", [CONSUMER]),
]


def test_every_grant_event_has_its_notice() -> None:
    assert {changed for changed, _, _ in GRANT_NOTICES} == set(GRANT_EVENTS)


@pytest.mark.parametrize(("changed", "kind", "parties"), GRANT_NOTICES,
                         ids=[changed.__name__ for changed, _, _ in GRANT_NOTICES])
async def test_a_grant_event_keeps_the_grants_term_and_tells_the_parties(
    changed: type[GrantEvent], kind: str, parties: list[str]
) -> None:
    session = RecordingSession()
    grant = events.grant(valid_until=date(2027, 6, 30), status="suspended", version=2)
    await portal.grant_changed(session, news(changed(grant=grant, actor="platform")),
                               RecordingOutbox())
    [term, *_] = session.written()
    assert session.tables()[0] == "grant_term"
    assert {name: term[name] for name in ("grant_id", "consumer", "provider", "entry_code",
                                          "valid_until", "status", "version")} == {
        "grant_id": grant.id, "consumer": CONSUMER, "provider": PROVIDER,
        "entry_code": events.CODE, "valid_until": date(2027, 6, 30), "status": "suspended",
        "version": 2}
    assert session.conflicts()[0] == Conflict(columns(GrantTerm),
                                              where="grant_term.version < 2")
    assert posted(session) == [(kind, party, REVIEWER) for party in parties]


async def test_a_revoked_grants_notice_says_why() -> None:
    session = RecordingSession()
    revoked = GrantRevoked(grant=events.grant(status="revoked", version=2), actor="liuyang",
                           reason="项目已结束")
    await portal.grant_changed(session, news(revoked), RecordingOutbox())
    assert session.written()[1]["body"].endswith("原因：项目已结束")


AGREEMENT_NOTICES: list[tuple[type[AgreementEvent], str | None, list[str]]] = [
    # The proposer (the provider here) waits for the other party, which alone is asked.
    (AgreementProposed, "agreement_proposed", [CONSUMER]),
    (AgreementConfirmed, "agreement_confirmed", [PROVIDER]),
    (AgreementLapsed, "agreement_lapsed", [CONSUMER, PROVIDER]),
    # A renewal that replaced it: the confirmation of the renewal says what there is to say.
    (AgreementSuperseded, None, []),
]


def test_every_agreement_event_is_considered() -> None:
    assert {changed for changed, _, _ in AGREEMENT_NOTICES} == set(AGREEMENT_EVENTS)


@pytest.mark.parametrize(("changed", "kind", "parties"), AGREEMENT_NOTICES,
                         ids=[changed.__name__ for changed, _, _ in AGREEMENT_NOTICES])
async def test_an_agreement_event_tells_the_parties_that_must_act_and_keeps_nothing(
    changed: type[AgreementEvent], kind: str | None, parties: list[str]
) -> None:
    session = RecordingSession()
    agreement = events.agreement(proposer=PROVIDER)
    await portal.agreement_changed(session, news(changed(agreement=agreement,
                                                         actor="liuyang")),
                                   RecordingOutbox())
    assert posted(session) == [(kind, party, REVIEWER) for party in parties]
    assert set(session.tables()) <= {"notice"}


# --- the exchange's findings, the catalog's flags, the yearly evaluation --------------------------

@pytest.mark.parametrize(("changed", "kind", "party"), [
    (ObjectionRaised, "objection_raised", PROVIDER),
    (ObjectionVerifying, "objection_progress", CONSUMER),
    (ObjectionResolved, "objection_progress", CONSUMER),
], ids=["raised", "verifying", "resolved"])  # the parties' codes are random: ids that are not
async def test_an_objection_is_told_to_the_party_that_waits_on_the_other(
    changed: type[ObjectionEvent], kind: str, party: str
) -> None:
    session = RecordingSession()
    objection = events.objection()
    await portal.objection_changed(session, news(changed(objection=objection,
                                                         actor="zhangwei")),
                                   RecordingOutbox())
    assert posted(session) == [(kind, party, REVIEWER)]
    assert session.written()[0]["link"] == f"/objections/{objection.id}"


async def test_a_stale_entry_is_told_to_the_providers_catalog_editors() -> None:
    session = RecordingSession()
    await portal.entry_stale(session, news(events.stale()), RecordingOutbox())
    assert posted(session) == [("entry_stale", PROVIDER, EDITOR)]
    assert session.written()[0]["link"] == f"/catalog/entries/{events.CODE}"


async def test_a_duplicate_collection_is_told_to_the_providers_catalog_editors() -> None:
    session = RecordingSession()
    await portal.duplicate_flagged(session, news(events.duplicate_flag()), RecordingOutbox())
    assert posted(session) == [("duplicate_collection", PROVIDER, EDITOR)]


async def test_a_rectification_item_is_told_to_everyone_of_the_department() -> None:
    session = RecordingSession()
    listed = RectificationListed(year=2025, department=CONSUMER, indicator="catalog",
                                 points=["JS §25(一)"], evidence="1 of 1 catalog changes late",
                                 deadline=date(2026, 4, 1))
    event = news(listed)
    await portal.rectification_listed(session, event, RecordingOutbox())
    assert posted(session) == [("rectification", CONSUMER, None)]
    assert session.written()[0]["key"] == f"{event.id}/{CONSUMER}/*"


NOTICE_ONLY: list[tuple[Handler, EventData]] = [
    (portal.agreement_changed, AgreementLapsed(agreement=events.agreement(), actor="platform")),
    (portal.objection_changed, ObjectionRaised(objection=events.objection(), actor="u")),
    (portal.entry_stale, events.stale()),
    (portal.duplicate_flagged, events.duplicate_flag()),
    (portal.rectification_listed, RectificationListed(
        year=2025, department=CONSUMER, indicator="use", points=["51 §24(三)"],
        evidence="no use of granted data", deadline=date(2026, 4, 1))),
]


@pytest.mark.parametrize(("handler", "payload"), NOTICE_ONLY,
                         ids=[type(payload).__name__ for _, payload in NOTICE_ONLY])
async def test_a_finding_of_last_month_tells_nobody(handler: Handler,
                                                    payload: EventData) -> None:
    session = RecordingSession()
    await handler(session, event_of(payload, time=LAST_MONTH),  # type: ignore[arg-type]
                  RecordingOutbox())
    assert session.statements == []
    fresh = RecordingSession()
    await handler(fresh, news(payload), RecordingOutbox())  # type: ignore[arg-type]
    assert set(fresh.tables()) == {"notice"}  # the same event, while news, is told


def test_the_portal_applies_the_events_its_notices_and_mirrors_need() -> None:
    assert portal.handlers.event_types == {
        DepartmentRegistered.event_type, DepartmentUpdated.event_type,
        EntryPublished.event_type, EntryUpdated.event_type, EntryWithdrawn.event_type,
        HolidayScheduleLoaded.event_type, RectificationListed.event_type,
        EntryStale.event_type, ObjectionRaised.event_type, ObjectionVerifying.event_type,
        ObjectionResolved.event_type, events.duplicate_flag().event_type,
        *(changed.event_type for changed in (*REQUEST_EVENTS, *GRANT_EVENTS,
                                             *AGREEMENT_EVENTS))}
