"""What the portal's pages compute themselves: Chinese dates, working-day countdowns over
the State Council's holidays, and CSRF tokens bound to the session."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

import pytest

from services.portal.csrf import CsrfTokens
from services.portal.errors import safe_next
from services.portal.exceptions import ApiProblem
from services.portal.labels import LABELS
from services.portal.pages import _section, cn_date, cn_datetime, countdown, navigation
from services.portal.session import Viewer
from shared.contracts.catalog import (
    ClearedBecause,
    DataType,
    EntryStatus,
    FormatKind,
    LegalBasisKind,
    PermittedUse,
    ShareChannel,
    ShareMethod,
    ShareMethodType,
    ShareType,
    TopClass,
    UpdateCycle,
)
from shared.contracts.exchange import AccessKind
from shared.contracts.identity import Role, Tier
from shared.contracts.sharing import GrantStatus, RequestStatus


def test_dates_read_as_chinese_dates_in_china_time() -> None:
    assert cn_date("2026-10-16") == "2026年10月16日"
    assert cn_date(date(2026, 3, 5)) == "2026年3月5日"
    # 20:30 UTC on the 15th is the 16th in Beijing.
    assert cn_date(datetime(2026, 10, 15, 20, 30, tzinfo=UTC)) == "2026年10月16日"
    assert cn_datetime("2026-10-15T20:30:00+00:00") == "2026年10月16日 04:30"
    assert cn_date(None) == "—"


def test_the_countdown_skips_the_national_day_holiday() -> None:
    left = countdown("2025-10-10", today=date(2025, 9, 30))
    assert left is not None and left.text == "剩余 2 个工作日" and left.level == "pressing"


def test_the_countdown_says_due_today_and_how_late_counting_an_adjusted_saturday() -> None:
    today = countdown("2025-10-10", today=date(2025, 10, 10))
    # Late by Friday the 10th, Saturday the 11th (a working day, 调休) and Monday the 13th.
    late = countdown("2025-10-09", today=date(2025, 10, 13))
    assert today is not None and today.text == "今天到期"
    assert late is not None and late.text == "已逾期 3 个工作日" and late.level == "late"
    assert countdown(None) is None


def test_a_csrf_token_holds_only_for_its_nonce_and_its_session() -> None:
    tokens = CsrfTokens(b"k" * 32)
    token = tokens.token("nonce", "session")
    assert tokens.valid("nonce", "session", token)
    assert not tokens.valid("nonce", "another session", token)
    assert not tokens.valid("another nonce", "session", token)
    assert not CsrfTokens(b"x" * 32).valid("nonce", "session", token)


def test_sign_in_sends_people_only_to_pages_of_this_site() -> None:
    assert safe_next("/catalog?q=户籍") == "/catalog?q=户籍"
    for elsewhere in ("//evil.example/", "/\\evil.example", "https://evil.example/", "", None):
        assert safe_next(elsewhere) == "/"


def test_a_rule_the_api_names_is_told_in_chinese_at_the_field_it_names() -> None:
    problem = ApiProblem.from_body(422, {
        "type": "https://govshare.example/problems/catalog-rule-violation", "status": 422,
        "detail": "Base info items must be shared unconditionally.",
        "field": "items[1].share_type", "rule": "C3", "article": "51 §10(二)"})
    assert problem.fields == {
        "items[1].share_type": "基础信息资源的基础信息项必须无条件共享（C3）。"}
    assert problem.message == problem.fields["items[1].share_type"]


def test_each_invalid_input_is_told_at_its_own_field() -> None:
    problem = ApiProblem.from_body(422, {
        "type": "https://govshare.example/problems/validation-error", "status": 422,
        "detail": "Invalid input: body.legal_basis, body.items.", "errors": [
            {"field": "body.legal_basis", "message": "Field required", "code": "missing"},
            {"field": "body.items", "message": "too short", "code": "too_short"}]})
    assert problem.fields == {"legal_basis": "此项必填。", "items": "至少选择一项。"}
    assert problem.message == "填写的内容不符合要求。"


@pytest.mark.parametrize(("table", "codes"), [
    ("role", Role), ("classification", TopClass), ("share_type", ShareType),
    ("method", ShareMethod), ("method_type", ShareMethodType), ("channel", ShareChannel),
    ("purpose", PermittedUse), ("tier", Tier), ("update_cycle", UpdateCycle),
    ("format", FormatKind), ("data_type", DataType), ("legal_basis", LegalBasisKind),
    ("entry_status", EntryStatus), ("request_status", RequestStatus),
    ("grant_status", GrantStatus), ("access_kind", AccessKind),
    ("cleared_because", ClearedBecause),
])
def test_every_code_the_api_speaks_has_its_chinese_name(table: str, codes: type[StrEnum]
                                                        ) -> None:
    assert set(LABELS[table]) >= {code.value for code in codes}


EDITOR = Viewer("t", "wangfang", "王芳", "11320100MB1234567X", "南京市民政局",
                ("catalog_editor", "request_reviewer"), 0)


@pytest.mark.parametrize(("here", "under"), [
    ("/catalog", "/catalog"), ("/catalog/entries/101001/000001", "/catalog"),
    ("/catalog/own", "/catalog/own"), ("/catalog/new", "/catalog/own"),
    ("/catalog/entries/101001/000001/edit", "/catalog/own"),
    ("/catalog/triggers", "/catalog/own"), ("/requests/4f1c", "/requests"), ("/", "/"),
    ("/catalog/duplicates", "/catalog/own"), ("/catalog/databases/4f1c", "/catalog/own"),
    ("/catalog/projects", "/catalog/own"),
])
def test_a_page_lights_the_menu_link_it_belongs_under(here: str, under: str) -> None:
    assert _section(navigation(EDITOR), here) == under
