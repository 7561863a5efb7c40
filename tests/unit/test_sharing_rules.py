"""The sharing rules that need no database: the answer deadline (A2), the request state
machine, and the access decision every data access goes through (A5)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from services.authorization.deadlines import answer_due_on
from services.authorization.requests import OPEN, TRANSITIONS
from shared.access import AccessQuery, Denial, decide
from shared.contracts.catalog import PermittedUse, ShareMethod
from shared.contracts.sharing import GrantSnapshot, GrantStatus, RequestStatus
from shared.workdays import CHINA_TIME, Basis, HolidaySchedule, WorkdayCalendar, end_of_day

NOW = datetime(2026, 11, 22, 3, 0, tzinfo=UTC)
X, Y = "11320100MB0000001X", "11320100MB0000002Y"


def filed(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=CHINA_TIME)


def test_a_request_filed_2026_09_28_is_due_2026_10_16() -> None:
    # 29, 30 Sep (2); 1–7 Oct National Day off; 8, 9 Oct (4); Sat 10 Oct worked (5); 12–16 Oct.
    due_on, basis = answer_due_on(WorkdayCalendar(), filed(date(2026, 9, 28)), 10)
    assert due_on == date(2026, 10, 16)
    assert basis == [Basis.library]


def test_spring_festival_2026_is_skipped_and_its_adjusted_saturdays_count() -> None:
    # 11–13 Feb (3), Sat 14 Feb worked (4), 15–23 Feb off, 24–27 Feb (8), Sat 28 Feb (9), 2 Mar.
    due_on, _ = answer_due_on(WorkdayCalendar(), filed(date(2026, 2, 10)), 10)
    assert due_on == date(2026, 3, 2)


def test_the_day_of_filing_is_the_day_in_china_not_in_utc() -> None:
    late_evening_utc = datetime(2026, 9, 27, 20, 0, tzinfo=UTC)  # 28 Sep, 04:00 in Beijing
    due_on, _ = answer_due_on(WorkdayCalendar(), late_evening_utc, 10)
    assert due_on == date(2026, 10, 16)


def test_a_request_filed_2026_12_24_uses_the_loaded_2027_schedule() -> None:
    schedule_2027 = HolidaySchedule(year=2027, holidays=frozenset({date(2027, 1, 1)}))
    # 25, 28–31 Dec (5); 1 Jan 2027 a loaded holiday; 4–8 Jan (10).
    due_on, basis = answer_due_on(WorkdayCalendar([schedule_2027]),
                                  filed(date(2026, 12, 24)), 10)
    assert due_on == date(2027, 1, 8)
    assert basis == [Basis.library, Basis.loaded]


def test_without_a_2027_schedule_the_weekday_fallback_is_used_and_shown() -> None:
    due_on, basis = answer_due_on(WorkdayCalendar(), filed(date(2026, 12, 24)), 10)
    assert due_on == date(2027, 1, 7)
    assert Basis.weekday_fallback in basis


def test_a_tier_with_a_shorter_period_gets_an_earlier_date() -> None:
    due_on, _ = answer_due_on(WorkdayCalendar(), filed(date(2026, 9, 28)), 5)
    assert due_on == date(2026, 10, 10)  # the adjusted Saturday is the fifth working day


def test_terminal_states_accept_nothing_and_every_state_is_reachable() -> None:
    assert {s for s, targets in TRANSITIONS.items() if not targets} == {
        RequestStatus.approved, RequestStatus.decided, RequestStatus.withdrawn}
    reachable = {RequestStatus.submitted, RequestStatus.negotiating} | set().union(
        *TRANSITIONS.values())
    assert reachable == set(RequestStatus)
    assert RequestStatus.withdrawn in set().union(*(TRANSITIONS[s] for s in OPEN))
    # A refusal is not the end: the consumer may negotiate, then escalate.
    assert RequestStatus.negotiating in TRANSITIONS[RequestStatus.rejected]
    assert RequestStatus.escalated in TRANSITIONS[RequestStatus.negotiating]


def grant(**changes: object) -> GrantSnapshot:
    values: dict[str, object] = dict(
        id=uuid.uuid4(), node="n", request_id=uuid.uuid4(), consumer=X, provider=Y,
        entry_code="101001/000001", purpose=PermittedUse.data_verification,
        methods=[ShareMethod.online_query], items=["XM", "GMSFHM"], row_filter=[],
        rate_limit_per_minute=None, valid_from=date(2026, 11, 1),
        valid_until=date(2027, 11, 1), expires_at=end_of_day(date(2027, 11, 1)),
        sensitive=False, status=GrantStatus.active, version=1, issued_at=NOW)
    values.update(changes)
    return GrantSnapshot.model_validate(values)


def query(**changes: object) -> AccessQuery:
    values: dict[str, object] = dict(consumer=X, entry_code="101001/000001",
                                     purpose=PermittedUse.data_verification,
                                     method=ShareMethod.online_query,
                                     items=frozenset({"GMSFHM"}))
    values.update(changes)
    return AccessQuery(**values)  # type: ignore[arg-type]


def test_a_matching_grant_allows_exactly_the_items_asked_for() -> None:
    decision = decide([grant()], query(), NOW)
    assert decision.allowed and decision.items == ("GMSFHM",)
    assert decide([grant()], query(items=frozenset()), NOW).items == ("XM", "GMSFHM")


def test_a_grant_held_by_another_department_is_useless() -> None:
    decision = decide([grant()], query(consumer=Y), NOW)
    assert (decision.allowed, decision.denial) == (False, Denial.no_grant)


def test_each_failed_condition_is_named() -> None:
    cases = {
        Denial.purpose_not_granted: decide([grant()], query(
            purpose=PermittedUse.business_collaboration), NOW),
        Denial.method_not_granted: decide([grant()], query(
            method=ShareMethod.bulk_download), NOW),
        Denial.items_not_granted: decide([grant()], query(items=frozenset({"HJDZ"})), NOW),
        Denial.grant_not_active: decide([grant(status=GrantStatus.revoked)], query(), NOW),
    }
    for denial, decision in cases.items():
        assert (decision.allowed, decision.denial) == (False, denial), decision
    assert "HJDZ" in cases[Denial.items_not_granted].detail


def test_a_grant_past_its_end_is_refused_before_the_sweep_marks_it() -> None:
    ended = grant(valid_until=date(2026, 11, 21), expires_at=end_of_day(date(2026, 11, 21)))
    assert end_of_day(date(2026, 11, 21)) == datetime(2026, 11, 21, 16, tzinfo=UTC)
    decision = decide([ended], query(), NOW)
    assert (decision.denial, "expired" in decision.detail) == (Denial.grant_not_active, True)
    assert decide([ended], query(), NOW - timedelta(days=1)).allowed


def test_a_sensitive_grant_whose_agreement_ended_is_refused_before_the_lapse_is_swept() -> None:
    lapsed = grant(sensitive=True, agreement_ends_at=end_of_day(date(2026, 11, 21)))
    decision = decide([lapsed], query(), NOW)
    assert (decision.denial, "suspended" in decision.detail) == (Denial.grant_not_active, True)
    assert decide([lapsed], query(), NOW - timedelta(days=1)).allowed
