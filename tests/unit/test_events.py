"""The event envelope: versioned types, topics per aggregate kind, JSON round trip."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.contracts import DepartmentRegistered, Tier
from shared.events import EventEnvelope, EventSource, topic_for


def test_topic_is_one_per_domain_and_aggregate() -> None:
    assert topic_for("identity.department.registered.v1") == "govshare.identity.department"
    assert topic_for("identity.department.updated.v2") == "govshare.identity.department"


def test_an_unversioned_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        EventEnvelope(type="identity.department.registered", key="k", data={},
                      source=EventSource(node="n", service="s"))


def test_envelope_round_trips_chinese_payloads() -> None:
    payload = DepartmentRegistered(credit_code="113201000141428938", name="南京市公安局",
                                   tier=Tier.municipal, region_code="320100")
    envelope = EventEnvelope(type=payload.event_type, key=payload.credit_code,
                             data=payload.model_dump(mode="json"),
                             source=EventSource(node="320100-external", service="authorization"))
    again = EventEnvelope.model_validate_json(envelope.model_dump_json())
    assert again == envelope
    assert DepartmentRegistered.model_validate(again.data).name == "南京市公安局"
