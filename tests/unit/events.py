"""Realistic payloads of the platform's events, for the handler tests of every service: each
builder takes the fields a test cares about and fills in the rest."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

from shared.contracts import DepartmentRegistered, DepartmentUpdated
from shared.contracts.catalog import DuplicateCollectionFlagged, EntrySnapshot
from shared.contracts.exchange import EntryStale, ObjectionSnapshot
from shared.contracts.sharing import AgreementSnapshot, GrantSnapshot, RequestSnapshot
from shared.workdays import end_of_day
from tests import factories

CONSUMER, PROVIDER = factories.credit_code(), factories.credit_code()
CODE = "101001/000001"
NODE = "320100-external"
WHEN = datetime(2026, 10, 12, 9, 0, tzinfo=UTC)

DepartmentAnnounced = DepartmentRegistered | DepartmentUpdated


def department(announced: type[DepartmentAnnounced] = DepartmentRegistered,
               **changes: Any) -> DepartmentAnnounced:
    """A department as identity announces it (registered, or updated)."""
    return announced.model_validate({**factories.department(), **changes})


def entry(**changes: Any) -> EntrySnapshot:
    return EntrySnapshot.model_validate({
        **factories.population_entry("人口基础信息"), "code": CODE, "provider": PROVIDER,
        "provider_name": "南京市公安局", "status": "published", "version": 2, "node": NODE,
        "published_at": WHEN, **changes})


def request(**changes: Any) -> RequestSnapshot:
    return RequestSnapshot.model_validate({
        "id": uuid.uuid4(), "node": NODE, "consumer": CONSUMER, "provider": PROVIDER,
        "entry_code": CODE, "entry_name": "人口基础信息", "share_type": "conditional",
        "legal_basis": "《社会保险法》第五十八条", "purpose": "data_verification",
        "items": ["GMSFHM"], "methods": ["online_query"], "valid_until": "2027-10-12",
        "status": "submitted", "version": 1, "submitted_by": "zhangwei",
        "submitted_at": WHEN, "due_on": "2026-10-26", "calendar_basis": ["library"],
        **changes})


def answer(approved: bool, **changes: Any) -> dict[str, Any]:
    """A provider's answer, as a request snapshot carries it."""
    return {"approved": approved, "reason": None if approved else "申请用途与职责无关",
            "answered_by": "liuyang", "answered_at": WHEN, "late": False, **changes}


def grant(**changes: Any) -> GrantSnapshot:
    valid_until = changes.get("valid_until", date(2027, 10, 12))
    return GrantSnapshot.model_validate({
        "id": uuid.uuid4(), "node": NODE, "request_id": uuid.uuid4(), "consumer": CONSUMER,
        "provider": PROVIDER, "entry_code": CODE, "purpose": "data_verification",
        "methods": ["online_query"], "items": ["XM", "GMSFHM"], "row_filter": [],
        "rate_limit_per_minute": None, "valid_from": date(2026, 10, 12),
        "valid_until": valid_until, "expires_at": end_of_day(valid_until), "sensitive": False,
        "status": "active", "version": 1, "issued_at": WHEN, **changes})


def agreement(**changes: Any) -> AgreementSnapshot:
    return AgreementSnapshot.model_validate({
        "id": uuid.uuid4(), "consumer": CONSUMER, "provider": PROVIDER, "entry_code": CODE,
        "reference": "宁公保〔2026〕12号", "document_sha256": "0" * 64,
        "signed_on": date(2026, 10, 1), "valid_until": date(2027, 9, 30),
        "status": "proposed", "version": 1, "proposer": PROVIDER, "proposed_by": "liuyang",
        "proposed_at": WHEN, **changes})


def objection(**changes: Any) -> ObjectionSnapshot:
    return ObjectionSnapshot.model_validate({
        "id": uuid.uuid4(), "entry_code": CODE, "record_key": [factories.id_number()],
        "consumer": CONSUMER, "provider": PROVIDER, "kind": "incorrect",
        "description": "出生日期与户籍登记不符", "evidence": None, "status": "raised",
        "raised_at": WHEN, "verifying_at": None, "resolved_at": None, "resolution": None,
        "correction": None, "version": 1, **changes})


def stale(**changes: Any) -> EntryStale:
    return EntryStale.model_validate({
        "entry_code": CODE, "provider": PROVIDER, "update_cycle": "daily",
        "last_update": datetime(2026, 10, 9, 2, 0, tzinfo=UTC), "detected_at": WHEN,
        **changes})


def duplicate_flag(**changes: Any) -> DuplicateCollectionFlagged:
    return DuplicateCollectionFlagged.model_validate({
        "entry_code": CODE, "provider": PROVIDER, "item_code": "GMSFHM",
        "item_name": "公民身份号码", "responsible_department": CONSUMER,
        "identifies_subject": True, **changes})
