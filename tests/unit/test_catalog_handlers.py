"""The catalog's handlers of identity's events, run against fakes: its read models of the
departments (who may provide an entry) and of the linked nodes (where the catalog is
aggregated, F1)."""

from __future__ import annotations

import pytest

from services.catalog import handlers as catalog
from shared.contracts import DepartmentRegistered, DepartmentUpdated, NodeLinked
from shared.contracts.identity import LinkedNode
from shared.handlers import event_of
from tests.unit import events
from tests.unit.fakes import Conflict, RecordingOutbox, RecordingSession


@pytest.mark.parametrize("announced", [DepartmentRegistered, DepartmentUpdated])
async def test_a_department_is_kept_as_identity_last_said_it(
    announced: type[DepartmentRegistered | DepartmentUpdated]
) -> None:
    session, outbox = RecordingSession(), RecordingOutbox()
    department = events.department(announced, tier="county", region_code="320102")
    await catalog.upsert_department(session, event_of(department), outbox)
    [written] = session.written()
    assert session.tables() == ["department"]
    assert {name: written[name] for name in ("credit_code", "name", "tier", "region_code")} \
        == {"credit_code": department.credit_code, "name": department.name,
            "tier": "county", "region_code": "320102"}
    # A renamed or moved department overwrites what was kept, whatever the event.
    assert session.conflicts() == [Conflict(frozenset(
        {"credit_code", "name", "tier", "region_code"}))]
    assert outbox.events == []


async def test_a_linked_node_is_kept_with_where_to_reach_it() -> None:
    session, outbox = RecordingSession(), RecordingOutbox()
    parent = LinkedNode(node_id="320000-external", name="江苏省政务数据共享平台",
                        tier="provincial", region_code="320000", zone="external",
                        relation="parent", gateway_url="https://gateway.js.gov.cn",
                        jwks_url="https://gateway.js.gov.cn/.well-known/jwks.json")
    await catalog.node_linked(session, event_of(NodeLinked(node=parent)), outbox)
    [written] = session.written()
    assert session.tables() == ["linked_node"]
    assert {name: written[name] for name in parent.model_dump()} == parent.model_dump(
        mode="json")
    assert session.conflicts() == [Conflict(frozenset(parent.model_dump()))]
    assert outbox.events == []


def test_each_identity_event_reaches_its_own_handler() -> None:
    assert {event_type: catalog.handlers.route_for(event_type).handler  # type: ignore[union-attr]
            for event_type in catalog.handlers.event_types} == {
        DepartmentRegistered.event_type: catalog.upsert_department,
        DepartmentUpdated.event_type: catalog.upsert_department,
        NodeLinked.event_type: catalog.node_linked}
